//! Files: the rows that describe uploaded bytes, which messages share them, the quota,
//! and deletion down to the purge of the bytes (see migrations/0003_files.sql).
//!
//! Every write runs on the single writer, so the quota check and the insert, or a post
//! and the deletion of a file it shares, can never interleave.

use std::collections::HashMap;

use hearth_core::Timestamp;
use hearth_core::event::{Event, EventPayload};
use hearth_core::id::{ChannelId, FileId, MessageId, UserId, WorkspaceId};
use hearth_core::model::{Attachment, Committed, File, ImageSize, Message, PurgeFile};
use hearth_core::store::{NewFile, StoreError, StoreResult};
use hearth_core::value::FileName;
use sqlx::{FromRow, SqliteConnection};

use crate::accounts;
use crate::error::db;
use crate::log;
use crate::messages;
use crate::rows::{attachments_column, json_list};
use crate::search::{self, IndexRow};

const FILE_COLUMNS: &str = "id, workspace_id, uploader_id, name, size, mime_type, width, \
     height, has_thumbnail, storage_key, sha256, created_at";

#[derive(FromRow)]
struct FileRow {
    id: String,
    workspace_id: String,
    uploader_id: String,
    name: String,
    size: i64,
    mime_type: String,
    width: Option<i64>,
    height: Option<i64>,
    has_thumbnail: bool,
    storage_key: String,
    sha256: String,
    created_at: i64,
}

impl FileRow {
    fn into_file(self) -> File {
        let image = match (self.width, self.height) {
            (Some(w), Some(h)) => Some(ImageSize {
                width: u32::try_from(w).unwrap_or_default(),
                height: u32::try_from(h).unwrap_or_default(),
            }),
            _ => None,
        };
        File {
            id: FileId::from_trusted(self.id),
            workspace_id: WorkspaceId::from_trusted(self.workspace_id),
            uploader_id: UserId::from_trusted(self.uploader_id),
            name: FileName::from_trusted(self.name),
            size: self.size,
            mime_type: self.mime_type,
            image,
            has_thumbnail: self.has_thumbnail,
            storage_key: self.storage_key,
            sha256: self.sha256,
            created_at: Timestamp(self.created_at),
        }
    }
}

pub(crate) async fn usage(conn: &mut SqliteConnection, ws: &WorkspaceId) -> StoreResult<u64> {
    let bytes: i64 = sqlx::query_scalar(
        "SELECT COALESCE(SUM(size), 0) FROM files WHERE workspace_id = ? AND deleted_at IS NULL",
    )
    .bind(ws.as_str())
    .fetch_one(conn)
    .await
    .map_err(db)?;
    Ok(u64::try_from(bytes).unwrap_or_default())
}

pub(crate) async fn create_file(
    conn: &mut SqliteConnection,
    ws: &WorkspaceId,
    new: NewFile,
    quota: Option<u64>,
    now: Timestamp,
) -> StoreResult<File> {
    if !accounts::is_active(conn, ws, &new.uploader).await? {
        return Err(StoreError::NotFound);
    }
    if let Some(quota) = quota {
        let used = usage(conn, ws).await?;
        if used.saturating_add(u64::try_from(new.size).unwrap_or(u64::MAX)) > quota {
            return Err(StoreError::Invalid("quota_exceeded"));
        }
    }
    let file = File {
        id: FileId::generate(),
        workspace_id: ws.clone(),
        uploader_id: new.uploader,
        name: new.name,
        size: new.size,
        mime_type: new.mime_type,
        image: new.image,
        has_thumbnail: new.has_thumbnail,
        storage_key: new.storage_key,
        sha256: new.sha256,
        created_at: now,
    };
    sqlx::query(
        "INSERT INTO files (id, workspace_id, uploader_id, name, size, mime_type, width, \
         height, has_thumbnail, storage_key, sha256, created_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(file.id.as_str())
    .bind(ws.as_str())
    .bind(file.uploader_id.as_str())
    .bind(file.name.as_str())
    .bind(file.size)
    .bind(&file.mime_type)
    .bind(file.image.map(|i| i64::from(i.width)))
    .bind(file.image.map(|i| i64::from(i.height)))
    .bind(file.has_thumbnail)
    .bind(&file.storage_key)
    .bind(&file.sha256)
    .bind(now.0)
    .execute(conn)
    .await
    .map_err(db)?;
    Ok(file)
}

pub(crate) async fn file(
    conn: &mut SqliteConnection,
    ws: &WorkspaceId,
    id: &FileId,
) -> StoreResult<Option<File>> {
    let sql = format!(
        "SELECT {FILE_COLUMNS} FROM files \
         WHERE workspace_id = ? AND id = ? AND deleted_at IS NULL"
    );
    let row: Option<FileRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(ws.as_str())
        .bind(id.as_str())
        .fetch_optional(conn)
        .await
        .map_err(db)?;
    Ok(row.map(FileRow::into_file))
}

pub(crate) async fn file_channels(
    conn: &mut SqliteConnection,
    ws: &WorkspaceId,
    id: &FileId,
) -> StoreResult<Vec<ChannelId>> {
    let ids: Vec<String> = sqlx::query_scalar(
        "SELECT DISTINCT mf.channel_id FROM message_files mf \
         JOIN files f ON f.id = mf.file_id AND f.workspace_id = mf.workspace_id \
         WHERE mf.workspace_id = ? AND mf.file_id = ? AND f.deleted_at IS NULL \
         ORDER BY mf.channel_id",
    )
    .bind(ws.as_str())
    .bind(id.as_str())
    .fetch_all(conn)
    .await
    .map_err(db)?;
    Ok(ids.into_iter().map(ChannelId::from_trusted).collect())
}

/// Marks the files a new message shares as shared and returns their attachments in the
/// order of `ids`; `Invalid("file_not_found")` unless every one is a live file of `ws`.
pub(crate) async fn share(
    conn: &mut SqliteConnection,
    ws: &WorkspaceId,
    ids: &[FileId],
) -> StoreResult<Vec<Attachment>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "UPDATE files SET shared = 1 WHERE workspace_id = ? AND deleted_at IS NULL \
         AND id IN (SELECT value FROM json_each(?)) RETURNING {FILE_COLUMNS}"
    );
    let rows: Vec<FileRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(ws.as_str())
        .bind(json_list(ids.iter().map(FileId::as_str)))
        .fetch_all(conn)
        .await
        .map_err(db)?;
    let mut found: HashMap<String, File> = rows
        .into_iter()
        .map(|r| (r.id.clone(), r.into_file()))
        .collect();
    ids.iter()
        .map(|id| {
            found
                .remove(id.as_str())
                .map(|f| f.attachment())
                .ok_or(StoreError::Invalid("file_not_found"))
        })
        .collect()
}

/// Records that `message` (just inserted) shares its files.
pub(crate) async fn link(conn: &mut SqliteConnection, message: &Message) -> StoreResult<()> {
    if message.files.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO message_files (workspace_id, file_id, message_id, channel_id) \
         SELECT ?, value, ?, ? FROM json_each(?)",
    )
    .bind(message.workspace_id.as_str())
    .bind(message.id.as_str())
    .bind(message.channel_id.as_str())
    .bind(json_list(message.files.iter().map(|f| f.id.as_str())))
    .execute(conn)
    .await
    .map_err(db)?;
    Ok(())
}

/// A message was deleted: it shares nothing any more, and each of its files that no
/// other live message shares is deleted with it.
pub(crate) async fn unlink(
    conn: &mut SqliteConnection,
    ws: &WorkspaceId,
    message: &MessageId,
    now: Timestamp,
) -> StoreResult<()> {
    let files: Vec<String> = sqlx::query_scalar(
        "DELETE FROM message_files WHERE workspace_id = ? AND message_id = ? RETURNING file_id",
    )
    .bind(ws.as_str())
    .bind(message.as_str())
    .fetch_all(&mut *conn)
    .await
    .map_err(db)?;
    if files.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "UPDATE files SET deleted_at = ?1 WHERE workspace_id = ?2 AND deleted_at IS NULL \
         AND id IN (SELECT value FROM json_each(?3)) \
         AND NOT EXISTS (SELECT 1 FROM message_files mf \
                         WHERE mf.workspace_id = ?2 AND mf.file_id = files.id)",
    )
    .bind(now.0)
    .bind(ws.as_str())
    .bind(json_list(files.iter().map(String::as_str)))
    .execute(conn)
    .await
    .map_err(db)?;
    Ok(())
}

pub(crate) async fn delete_file(
    conn: &mut SqliteConnection,
    ws: &WorkspaceId,
    id: &FileId,
    now: Timestamp,
) -> StoreResult<Committed<()>> {
    let deleted = sqlx::query(
        "UPDATE files SET deleted_at = ? WHERE workspace_id = ? AND id = ? AND deleted_at IS NULL",
    )
    .bind(now.0)
    .bind(ws.as_str())
    .bind(id.as_str())
    .execute(&mut *conn)
    .await
    .map_err(db)?;
    if deleted.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    let sharing: Vec<String> = sqlx::query_scalar(
        "DELETE FROM message_files WHERE workspace_id = ? AND file_id = ? RETURNING message_id",
    )
    .bind(ws.as_str())
    .bind(id.as_str())
    .fetch_all(&mut *conn)
    .await
    .map_err(db)?;
    let mut events: Vec<Event> = Vec::with_capacity(sharing.len());
    let mut sharing: Vec<MessageId> = sharing.into_iter().map(MessageId::from_trusted).collect();
    sharing.sort();
    for message_id in sharing {
        let Some(mut message) = messages::message(conn, ws, &message_id).await? else {
            continue;
        };
        message.files.retain(|f| f.id != *id);
        sqlx::query("UPDATE messages SET files = ? WHERE workspace_id = ? AND id = ?")
            .bind(attachments_column(&message.files))
            .bind(ws.as_str())
            .bind(message_id.as_str())
            .execute(&mut *conn)
            .await
            .map_err(db)?;
        search::index(conn, &message_id, &IndexRow::message(&message)).await?;
        let payload = EventPayload::MessageUpdated { message };
        events.push(log::append(conn, ws, now, payload).await?);
    }
    Ok(Committed { value: (), events })
}

#[derive(FromRow)]
struct PurgeRow {
    workspace_id: String,
    id: String,
    storage_key: String,
    has_thumbnail: bool,
}

pub(crate) async fn files_to_purge(
    conn: &mut SqliteConnection,
    orphan_before: Timestamp,
    limit: u32,
    now: Timestamp,
) -> StoreResult<Vec<PurgeFile>> {
    sqlx::query(
        "UPDATE files SET deleted_at = ? \
         WHERE deleted_at IS NULL AND shared = 0 AND created_at < ?",
    )
    .bind(now.0)
    .bind(orphan_before.0)
    .execute(&mut *conn)
    .await
    .map_err(db)?;
    let rows: Vec<PurgeRow> = sqlx::query_as(
        "SELECT workspace_id, id, storage_key, has_thumbnail FROM files \
         WHERE deleted_at IS NOT NULL ORDER BY deleted_at, id LIMIT ?",
    )
    .bind(i64::from(limit))
    .fetch_all(conn)
    .await
    .map_err(db)?;
    Ok(rows
        .into_iter()
        .map(|r| PurgeFile {
            workspace_id: WorkspaceId::from_trusted(r.workspace_id),
            id: FileId::from_trusted(r.id),
            storage_key: r.storage_key,
            has_thumbnail: r.has_thumbnail,
        })
        .collect())
}

pub(crate) async fn forget_files(
    conn: &mut SqliteConnection,
    files: &[PurgeFile],
) -> StoreResult<()> {
    for file in files {
        for sql in [
            "DELETE FROM message_files WHERE workspace_id = ? AND file_id = ?",
            "DELETE FROM files WHERE workspace_id = ? AND id = ? AND deleted_at IS NOT NULL",
        ] {
            sqlx::query(sql)
                .bind(file.workspace_id.as_str())
                .bind(file.id.as_str())
                .execute(&mut *conn)
                .await
                .map_err(db)?;
        }
    }
    Ok(())
}
