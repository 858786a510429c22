//! Files: recording uploads under a quota, sharing them in messages (`message_files` and
//! the attachments copied into `messages.files`), deleting them, and handing deleted ones
//! to the purger until their bytes are gone.
//!
//! # Who waits for whom
//!
//! - Sharing a file (`share`, in a post's transaction) sets `shared` with an `UPDATE` of
//!   the file's row, which locks it until the post commits. Deleting it (`delete`, or a
//!   message's deletion) also updates that row, so the two serialize: a post that comes
//!   second finds the file deleted and stores nothing, a delete that comes second finds
//!   the message's `message_files` row and removes the attachment again. Both run under
//!   the workspace lock anyway; the purger does not.
//! - The purger (`to_purge`) collects orphans across workspaces without any workspace
//!   lock: it skips rows locked right now (a post sharing them), and re-checks `shared`
//!   on the rows it takes, so it never deletes a file that a committed post shares.
//! - Creating a file appends no event, so it takes no workspace lock; the quota is kept
//!   by a transaction-scoped advisory lock per workspace instead (see [`create`]).

use std::collections::HashMap;

use hearth_core::Timestamp;
use hearth_core::event::{Event, EventPayload};
use hearth_core::id::{ChannelId, FileId, MessageId, WorkspaceId};
use hearth_core::model::{Attachment, Committed, File, Message, PurgeFile};
use hearth_core::store::{NewFile, StoreError, StoreResult};
use sqlx::{FromRow, PgConnection};

use crate::accounts;
use crate::error::db;
use crate::index;
use crate::log::{self, Seqs};
use crate::reactions;
use crate::rows::{
    FileRow, MessageRow, attachments_column, file_columns, message_columns, text_array,
};

/// The first key of the advisory lock that serializes a workspace's uploads (the second
/// is a hash of the workspace id). Advisory locks with two keys are a key space of their
/// own, apart from the one-key locks such as the migrator's.
const QUOTA_LOCK: i32 = 0x6669_6c65; // "file"

/// Records an uploaded file. With a quota, the check and the insert happen under the
/// workspace's upload lock, so two uploads racing for the last free bytes cannot both
/// pass; a deletion running meanwhile only frees space, so it needs no lock.
pub(crate) async fn create(
    conn: &mut PgConnection,
    ws: &WorkspaceId,
    new: NewFile,
    quota: Option<u64>,
    now: Timestamp,
) -> StoreResult<File> {
    if !accounts::is_active(conn, ws, &new.uploader).await? {
        return Err(StoreError::NotFound);
    }
    if let Some(quota) = quota {
        sqlx::query("SELECT pg_advisory_xact_lock($1, hashtext($2))")
            .bind(QUOTA_LOCK)
            .bind(ws.as_str())
            .execute(&mut *conn)
            .await
            .map_err(db)?;
        // Under READ COMMITTED this statement's snapshot is taken after the lock was
        // granted, so it sees every upload that held the lock before.
        let used = usage(conn, ws).await?;
        let size = u64::try_from(new.size).unwrap_or(0);
        if used.saturating_add(size) > quota {
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
    let (width, height) = match file.image {
        Some(size) => (Some(i64::from(size.width)), Some(i64::from(size.height))),
        None => (None, None),
    };
    sqlx::query(
        "INSERT INTO files (id, workspace_id, uploader_id, name, size, mime_type, width, \
         height, has_thumbnail, storage_key, sha256, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
    )
    .bind(file.id.as_str())
    .bind(ws.as_str())
    .bind(file.uploader_id.as_str())
    .bind(file.name.as_str())
    .bind(file.size)
    .bind(&file.mime_type)
    .bind(width)
    .bind(height)
    .bind(file.has_thumbnail)
    .bind(&file.storage_key)
    .bind(&file.sha256)
    .bind(now.0)
    .execute(&mut *conn)
    .await
    .map_err(db)?;
    Ok(file)
}

pub(crate) async fn file(
    conn: &mut PgConnection,
    ws: &WorkspaceId,
    id: &FileId,
) -> StoreResult<Option<File>> {
    let row: Option<FileRow> = sqlx::query_as(concat!(
        "SELECT ",
        file_columns!(),
        " FROM files f WHERE f.workspace_id = $1 AND f.id = $2 AND f.deleted_at IS NULL"
    ))
    .bind(ws.as_str())
    .bind(id.as_str())
    .fetch_optional(conn)
    .await
    .map_err(db)?;
    row.map(FileRow::into_file).transpose()
}

/// Only live messages have `message_files` rows, so these are the channels where one
/// shares the file.
pub(crate) async fn channels(
    conn: &mut PgConnection,
    ws: &WorkspaceId,
    id: &FileId,
) -> StoreResult<Vec<ChannelId>> {
    let ids: Vec<String> = sqlx::query_scalar(
        "SELECT DISTINCT channel_id FROM message_files WHERE workspace_id = $1 AND file_id = $2 \
         ORDER BY channel_id",
    )
    .bind(ws.as_str())
    .bind(id.as_str())
    .fetch_all(conn)
    .await
    .map_err(db)?;
    Ok(ids.into_iter().map(ChannelId::from_trusted).collect())
}

/// The bytes of the workspace's files that are not deleted.
pub(crate) async fn usage(conn: &mut PgConnection, ws: &WorkspaceId) -> StoreResult<u64> {
    // SUM of BIGINT is NUMERIC: back to BIGINT, which the sizes of a workspace fit in.
    let used: i64 = sqlx::query_scalar(
        "SELECT COALESCE(SUM(size), 0)::BIGINT FROM files \
         WHERE workspace_id = $1 AND deleted_at IS NULL",
    )
    .bind(ws.as_str())
    .fetch_one(conn)
    .await
    .map_err(db)?;
    Ok(u64::try_from(used).unwrap_or(0))
}

/// Marks the files of `ids` shared and returns their attachments in the order of `ids`,
/// in a post's transaction. The `UPDATE` locks the files until the post commits (see the
/// module docs). `Invalid("file_not_found")` if any is missing, deleted or of another
/// workspace; the caller's savepoint then rolls back the marks with everything else.
pub(crate) async fn share(
    conn: &mut PgConnection,
    ws: &WorkspaceId,
    ids: &[FileId],
) -> StoreResult<Vec<Attachment>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let rows: Vec<FileRow> = sqlx::query_as(concat!(
        "UPDATE files f SET shared = TRUE \
         WHERE f.workspace_id = $1 AND f.id = ANY($2) AND f.deleted_at IS NULL RETURNING ",
        file_columns!()
    ))
    .bind(ws.as_str())
    .bind(text_array(ids.iter().map(FileId::as_str)))
    .fetch_all(&mut *conn)
    .await
    .map_err(db)?;
    let mut found = HashMap::with_capacity(rows.len());
    for row in rows {
        let file = row.into_file()?;
        found.insert(file.id.clone(), file);
    }
    ids.iter()
        .map(|id| {
            found
                .get(id)
                .map(File::attachment)
                .ok_or(StoreError::Invalid("file_not_found"))
        })
        .collect()
}

/// Records that the new `message` shares its files: who may see them follows its channel.
pub(crate) async fn link(conn: &mut PgConnection, message: &Message) -> StoreResult<()> {
    if message.files.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO message_files (workspace_id, file_id, message_id, channel_id) \
         SELECT $1, file_id, $3, $4 FROM UNNEST($2::text[]) AS f(file_id) \
         ON CONFLICT DO NOTHING",
    )
    .bind(message.workspace_id.as_str())
    .bind(text_array(message.files.iter().map(|f| f.id.as_str())))
    .bind(message.id.as_str())
    .bind(message.channel_id.as_str())
    .execute(conn)
    .await
    .map_err(db)?;
    Ok(())
}

/// Forgets which files the message (being deleted) shares, and deletes those that no
/// other live message shares. Runs under the workspace lock, as every post does, so no
/// post can share one of them in between.
pub(crate) async fn unlink_deleted_message(
    conn: &mut PgConnection,
    ws: &WorkspaceId,
    message: &MessageId,
    now: Timestamp,
) -> StoreResult<()> {
    let unlinked: Vec<String> = sqlx::query_scalar(
        "DELETE FROM message_files WHERE workspace_id = $1 AND message_id = $2 \
         RETURNING file_id",
    )
    .bind(ws.as_str())
    .bind(message.as_str())
    .fetch_all(&mut *conn)
    .await
    .map_err(db)?;
    if unlinked.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "UPDATE files f SET deleted_at = $3 \
         WHERE f.workspace_id = $1 AND f.id = ANY($2) AND f.deleted_at IS NULL \
           AND NOT EXISTS (SELECT 1 FROM message_files mf \
             WHERE mf.workspace_id = f.workspace_id AND mf.file_id = f.id)",
    )
    .bind(ws.as_str())
    .bind(&unlinked)
    .bind(now.0)
    .execute(conn)
    .await
    .map_err(db)?;
    Ok(())
}

/// Deletes a file and removes its attachment from every live message that shares it, each
/// appending `message.updated` (in seq order). Those messages are re-indexed: one left
/// without files loses its `has:file` flag. They are few, so tokenizing them under the
/// workspace lock is fine.
pub(crate) async fn delete(
    conn: &mut PgConnection,
    seqs: &mut Seqs,
    ws: &WorkspaceId,
    id: &FileId,
    now: Timestamp,
) -> StoreResult<Committed<()>> {
    let deleted = sqlx::query(
        "UPDATE files SET deleted_at = $3 \
         WHERE workspace_id = $1 AND id = $2 AND deleted_at IS NULL",
    )
    .bind(ws.as_str())
    .bind(id.as_str())
    .bind(now.0)
    .execute(&mut *conn)
    .await
    .map_err(db)?;
    if deleted.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    let sharing: Vec<String> = sqlx::query_scalar(
        "DELETE FROM message_files WHERE workspace_id = $1 AND file_id = $2 \
         RETURNING message_id",
    )
    .bind(ws.as_str())
    .bind(id.as_str())
    .fetch_all(&mut *conn)
    .await
    .map_err(db)?;
    if sharing.is_empty() {
        return Ok(Committed {
            value: (),
            events: Vec::new(),
        });
    }
    let rows: Vec<MessageRow> = sqlx::query_as(concat!(
        "SELECT ",
        message_columns!(),
        " FROM messages m WHERE m.workspace_id = $1 AND m.id = ANY($2) ORDER BY m.seq"
    ))
    .bind(ws.as_str())
    .bind(&sharing)
    .fetch_all(&mut *conn)
    .await
    .map_err(db)?;
    let messages = reactions::attach(conn, ws, rows).await?;
    let mut events = Vec::with_capacity(messages.len());
    for mut message in messages {
        message.files.retain(|f| f.id != *id);
        events.push(rewrite(conn, seqs, &message, now).await?);
    }
    Ok(Committed { value: (), events })
}

/// Writes a message's remaining attachments and its search vector, and appends
/// `message.updated`.
async fn rewrite(
    conn: &mut PgConnection,
    seqs: &mut Seqs,
    message: &Message,
    now: Timestamp,
) -> StoreResult<Event> {
    let vector = index::vector(&message.text, !message.files.is_empty());
    sqlx::query(
        "UPDATE messages SET files = $1, search_vector = $2::tsvector \
         WHERE workspace_id = $3 AND id = $4",
    )
    .bind(attachments_column(&message.files)?)
    .bind(&vector)
    .bind(message.workspace_id.as_str())
    .bind(message.id.as_str())
    .execute(&mut *conn)
    .await
    .map_err(db)?;
    let updated = EventPayload::MessageUpdated {
        message: message.clone(),
    };
    log::append(conn, seqs, &message.workspace_id, now, updated).await
}

#[derive(FromRow)]
struct PurgeRow {
    workspace_id: String,
    id: String,
    storage_key: String,
    has_thumbnail: bool,
}

/// Deletes the orphans uploaded before `orphan_before` (of every workspace), then returns
/// up to `limit` deleted files, oldest deletion first. Orphans locked right now are being
/// shared by a post: they are skipped, and the `FOR UPDATE` re-checks `shared` on a row
/// whose lock was just released, so a file a post shared is never taken.
pub(crate) async fn to_purge(
    conn: &mut PgConnection,
    orphan_before: Timestamp,
    limit: u32,
    now: Timestamp,
) -> StoreResult<Vec<PurgeFile>> {
    sqlx::query(
        "UPDATE files SET deleted_at = $2 WHERE id IN ( \
           SELECT id FROM files \
           WHERE deleted_at IS NULL AND NOT shared AND created_at < $1 \
           FOR UPDATE SKIP LOCKED)",
    )
    .bind(orphan_before.0)
    .bind(now.0)
    .execute(&mut *conn)
    .await
    .map_err(db)?;
    let rows: Vec<PurgeRow> = sqlx::query_as(
        "SELECT workspace_id, id, storage_key, has_thumbnail FROM files \
         WHERE deleted_at IS NOT NULL ORDER BY deleted_at, id LIMIT $1",
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

/// Forgets deleted files whose bytes are gone. Only deleted ones: a file that is somehow
/// live again keeps its row.
pub(crate) async fn forget(conn: &mut PgConnection, files: &[PurgeFile]) -> StoreResult<()> {
    if files.is_empty() {
        return Ok(());
    }
    let workspaces = text_array(files.iter().map(|f| f.workspace_id.as_str()));
    let ids = text_array(files.iter().map(|f| f.id.as_str()));
    // A deleted file has no `message_files` rows left; any that did remain would only
    // block the delete below.
    sqlx::query(
        "WITH gone AS (SELECT * FROM UNNEST($1::text[], $2::text[]) AS g(workspace_id, id)) \
         DELETE FROM message_files mf USING gone, files f \
         WHERE mf.workspace_id = gone.workspace_id AND mf.file_id = gone.id \
           AND f.workspace_id = gone.workspace_id AND f.id = gone.id \
           AND f.deleted_at IS NOT NULL",
    )
    .bind(&workspaces)
    .bind(&ids)
    .execute(&mut *conn)
    .await
    .map_err(db)?;
    sqlx::query(
        "WITH gone AS (SELECT * FROM UNNEST($1::text[], $2::text[]) AS g(workspace_id, id)) \
         DELETE FROM files f USING gone \
         WHERE f.workspace_id = gone.workspace_id AND f.id = gone.id \
           AND f.deleted_at IS NOT NULL",
    )
    .bind(&workspaces)
    .bind(&ids)
    .execute(conn)
    .await
    .map_err(db)?;
    Ok(())
}
