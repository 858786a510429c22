//! Messages and thread replies: posting (idempotent by `client_msg_id`, sharing files),
//! reading history, editing, deleting into tombstones, and the mention rows that badges
//! are counted from. Every write that changes a message's text writes its search vector
//! and word pairs (see `index`) in the same statement, built by the caller before the
//! workspace lock is taken.

use hearth_core::Timestamp;
use hearth_core::event::EventPayload;
use hearth_core::id::{ChannelId, MessageId, UserId, WorkspaceId};
use hearth_core::mention::{Broadcast, Mentions};
use hearth_core::model::{Committed, Message};
use hearth_core::store::{HistoryRange, MessagePage, NewMessage, Posted, StoreError, StoreResult};
use hearth_core::value::MessageText;
use sqlx::PgConnection;

use crate::accounts;
use crate::error::db;
use crate::files;
use crate::index::Indexed;
use crate::log;
use crate::reactions;
use crate::rows::{
    MessageRow, PageRow, attachments_column, message_columns, message_reactions, text_array,
};

/// One message row, without reactions.
pub(crate) async fn row(
    conn: &mut PgConnection,
    ws: &WorkspaceId,
    id: &MessageId,
) -> StoreResult<Option<MessageRow>> {
    sqlx::query_as(concat!(
        "SELECT ",
        message_columns!(),
        " FROM messages m WHERE m.workspace_id = $1 AND m.id = $2"
    ))
    .bind(ws.as_str())
    .bind(id.as_str())
    .fetch_optional(conn)
    .await
    .map_err(db)
}

pub(crate) async fn with_reactions(
    conn: &mut PgConnection,
    ws: &WorkspaceId,
    row: MessageRow,
) -> StoreResult<Message> {
    reactions::attach(conn, ws, vec![row])
        .await?
        .pop()
        .ok_or_else(|| StoreError::Internal("message lost its row".to_owned()))
}

pub(crate) async fn message(
    conn: &mut PgConnection,
    ws: &WorkspaceId,
    id: &MessageId,
) -> StoreResult<Option<Message>> {
    match row(conn, ws, id).await? {
        Some(row) => Ok(Some(with_reactions(conn, ws, row).await?)),
        None => Ok(None),
    }
}

/// Binds `$1` workspace, `$2` author, `$3` client_msg_id: the author's earlier send with
/// that key. The author is compared as `user_id || ''`, the expression of the unique index
/// `messages_client_key`, so that no other index can serve the probe (see migration 0006).
pub(crate) const EARLIER_SEND: &str = concat!(
    "SELECT ",
    message_columns!(),
    " FROM messages m WHERE m.workspace_id = $1 AND m.client_msg_id = $3 \
     AND (m.user_id || '') = $2"
);

/// A retry racing the original send waits on the workspace lock, then finds the original
/// by its `client_msg_id` and replays it. `indexed` must have been built with the file
/// flag when `new` shares files.
pub(crate) async fn post_message(
    conn: &mut PgConnection,
    seqs: &mut crate::log::Seqs,
    ws: &WorkspaceId,
    new: NewMessage,
    indexed: &Indexed,
    now: Timestamp,
) -> StoreResult<Posted> {
    if let Some(key) = &new.client_msg_id {
        let earlier: Option<MessageRow> = sqlx::query_as(EARLIER_SEND)
            .bind(ws.as_str())
            .bind(new.author.as_str())
            .bind(key)
            .fetch_optional(&mut *conn)
            .await
            .map_err(db)?;
        if let Some(earlier) = earlier {
            return replay(with_reactions(conn, ws, earlier).await?, &new);
        }
    }

    let channel_exists: Option<i32> =
        sqlx::query_scalar("SELECT 1 FROM channels WHERE workspace_id = $1 AND id = $2")
            .bind(ws.as_str())
            .bind(new.channel_id.as_str())
            .fetch_optional(&mut *conn)
            .await
            .map_err(db)?;
    if channel_exists.is_none() || !accounts::is_active(conn, ws, &new.author).await? {
        return Err(StoreError::NotFound);
    }
    if let Some(root) = &new.thread_root_id {
        let root = row(conn, ws, root).await?.ok_or(StoreError::NotFound)?;
        if root.thread_root_id.is_some() || root.channel_id != new.channel_id.as_str() {
            return Err(StoreError::Invalid("invalid_thread_root"));
        }
    }
    // Checked last among the refusals: it writes (the files' `shared` mark), which a
    // refusal rolls back with the job's savepoint.
    let attachments = files::share(conn, ws, &new.file_ids).await?;

    let seq = seqs.next()?;
    let message = Message {
        id: MessageId::generate(),
        workspace_id: ws.clone(),
        channel_id: new.channel_id,
        seq,
        user_id: new.author,
        text: new.text.as_str().to_owned(),
        created_at: now,
        edited_at: None,
        deleted: false,
        thread_root_id: new.thread_root_id,
        reply_count: 0,
        last_reply_at: None,
        reactions: Vec::new(),
        files: attachments,
        client_msg_id: new.client_msg_id,
    };
    sqlx::query(
        "INSERT INTO messages (id, workspace_id, channel_id, seq, user_id, text, created_at, \
         thread_root_id, client_msg_id, broadcast, search_vector, files, search_pairs) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11::tsvector, $12, $13::tsvector)",
    )
    .bind(message.id.as_str())
    .bind(ws.as_str())
    .bind(message.channel_id.as_str())
    .bind(seq)
    .bind(message.user_id.as_str())
    .bind(&message.text)
    .bind(now.0)
    .bind(message.thread_root_id.as_ref().map(MessageId::as_str))
    .bind(message.client_msg_id.as_deref())
    .bind(new.mentions.broadcast.map(broadcast_name))
    .bind(&indexed.vector)
    .bind(attachments_column(&message.files)?)
    .bind(&indexed.pairs)
    .execute(&mut *conn)
    .await
    .map_err(db)?;
    insert_mentions(conn, &message, &new.mentions).await?;
    files::link(conn, &message).await?;

    match &message.thread_root_id {
        Some(root) => {
            sqlx::query(
                "UPDATE messages SET reply_count = reply_count + 1, last_reply_at = $1 \
                 WHERE workspace_id = $2 AND id = $3",
            )
            .bind(now.0)
            .bind(ws.as_str())
            .bind(root.as_str())
            .execute(&mut *conn)
            .await
            .map_err(db)?;
        }
        None => {
            sqlx::query(
                "UPDATE channels SET last_message_seq = $1 WHERE workspace_id = $2 AND id = $3",
            )
            .bind(seq)
            .bind(ws.as_str())
            .bind(message.channel_id.as_str())
            .execute(&mut *conn)
            .await
            .map_err(db)?;
        }
    }

    let created = EventPayload::MessageCreated {
        message: message.clone(),
    };
    let mut events = vec![log::record(conn, ws, seq, now, created).await?];
    if let Some(root) = &message.thread_root_id {
        events.push(root_updated(conn, seqs, ws, root, now).await?);
    }
    Ok(Posted {
        message,
        replayed: false,
        events,
    })
}

/// A retry of an earlier send returns the original (see [`NewMessage::may_retry`]).
fn replay(original: Message, new: &NewMessage) -> StoreResult<Posted> {
    if !new.may_retry(&original) {
        return Err(StoreError::Invalid("idempotency_key_reused"));
    }
    Ok(Posted {
        message: original,
        replayed: true,
        events: Vec::new(),
    })
}

/// Appends `message.updated` with a thread root's new reply count.
async fn root_updated(
    conn: &mut PgConnection,
    seqs: &mut crate::log::Seqs,
    ws: &WorkspaceId,
    root: &MessageId,
    now: Timestamp,
) -> StoreResult<hearth_core::event::Event> {
    let root = message(conn, ws, root).await?.ok_or(StoreError::NotFound)?;
    log::append(
        conn,
        seqs,
        ws,
        now,
        EventPayload::MessageUpdated { message: root },
    )
    .await
}

pub(crate) fn broadcast_name(b: Broadcast) -> &'static str {
    match b {
        Broadcast::Everyone => "everyone",
        Broadcast::Channel => "channel",
        Broadcast::Here => "here",
    }
}

/// Records whom a message mentions: ids and handles that name accounts of this workspace
/// (others are plain text), resolved and inserted in one statement.
async fn insert_mentions(
    conn: &mut PgConnection,
    message: &Message,
    mentions: &Mentions,
) -> StoreResult<()> {
    if mentions.user_ids.is_empty() && mentions.handles.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO message_mentions (workspace_id, channel_id, message_id, seq, user_id) \
         SELECT $1, $2, $3, $4, u.id FROM users u WHERE u.workspace_id = $1 \
           AND (u.id = ANY($5) OR u.handle = ANY($6))",
    )
    .bind(message.workspace_id.as_str())
    .bind(message.channel_id.as_str())
    .bind(message.id.as_str())
    .bind(message.seq)
    .bind(text_array(mentions.user_ids.iter().map(UserId::as_str)))
    .bind(text_array(mentions.handles.iter().map(|h| h.as_str())))
    .execute(conn)
    .await
    .map_err(db)?;
    Ok(())
}

/// The first `limit` rows as a page, learning from the row past them whether more exist.
fn page(rows: Vec<PageRow>, limit: u32) -> StoreResult<MessagePage> {
    let has_more = rows.len() > limit as usize;
    let messages = rows
        .into_iter()
        .take(limit as usize)
        .map(PageRow::into_message)
        .collect::<StoreResult<_>>()?;
    Ok(MessagePage { messages, has_more })
}

/// A page of a channel's history in one statement, each message with its reactions, so
/// it needs no transaction to be consistent: one round trip.
/// Reads one row past the limit to learn whether more exist.
pub(crate) async fn list_messages(
    conn: &mut PgConnection,
    ws: &WorkspaceId,
    channel: &ChannelId,
    range: HistoryRange,
) -> StoreResult<MessagePage> {
    match range {
        HistoryRange::Before { before, limit } => {
            let rows: Vec<PageRow> = sqlx::query_as(concat!(
                "SELECT ",
                message_columns!(),
                ", ",
                message_reactions!(),
                " FROM messages m WHERE m.workspace_id = $1 AND m.channel_id = $2 \
                 AND m.thread_root_id IS NULL AND m.seq < $3 ORDER BY m.seq DESC LIMIT $4"
            ))
            .bind(ws.as_str())
            .bind(channel.as_str())
            .bind(before)
            .bind(i64::from(limit) + 1)
            .fetch_all(&mut *conn)
            .await
            .map_err(db)?;
            let mut page = page(rows, limit)?;
            page.messages.reverse();
            Ok(page)
        }
        HistoryRange::After { after, limit } => {
            let rows: Vec<PageRow> = sqlx::query_as(concat!(
                "SELECT ",
                message_columns!(),
                ", ",
                message_reactions!(),
                " FROM messages m WHERE m.workspace_id = $1 AND m.channel_id = $2 \
                 AND m.thread_root_id IS NULL AND m.seq > $3 ORDER BY m.seq LIMIT $4"
            ))
            .bind(ws.as_str())
            .bind(channel.as_str())
            .bind(after)
            .bind(i64::from(limit) + 1)
            .fetch_all(&mut *conn)
            .await
            .map_err(db)?;
            page(rows, limit)
        }
    }
}

/// A page of a thread's replies, in one statement as [`list_messages`].
pub(crate) async fn list_replies(
    conn: &mut PgConnection,
    ws: &WorkspaceId,
    root: &MessageId,
    after: i64,
    limit: u32,
) -> StoreResult<MessagePage> {
    let rows: Vec<PageRow> = sqlx::query_as(concat!(
        "SELECT ",
        message_columns!(),
        ", ",
        message_reactions!(),
        " FROM messages m WHERE m.workspace_id = $1 AND m.thread_root_id = $2 AND m.seq > $3 \
         ORDER BY m.seq LIMIT $4"
    ))
    .bind(ws.as_str())
    .bind(root.as_str())
    .bind(after)
    .bind(i64::from(limit) + 1)
    .fetch_all(&mut *conn)
    .await
    .map_err(db)?;
    page(rows, limit)
}

/// A message's new text, with what goes with it: its mentions and its search index.
pub(crate) struct NewText {
    text: MessageText,
    mentions: Mentions,
    /// The vector without and with the file flag: whether the message shares files is
    /// only known under the lock (a file's deletion may just have removed the last one).
    vectors: [String; 2],
    /// Its word pairs, which do not depend on files.
    pairs: String,
}

impl NewText {
    /// Tokenizes the text for the index: done by the caller, before the workspace lock.
    /// Twice: edits are rare enough to afford it.
    pub(crate) fn new(text: MessageText, mentions: Mentions) -> Self {
        let [without_files, with_files] =
            [false, true].map(|has_files| Indexed::of(text.as_str(), has_files));
        Self {
            text,
            mentions,
            vectors: [without_files.vector, with_files.vector],
            pairs: without_files.pairs,
        }
    }
}

pub(crate) async fn edit_message(
    conn: &mut PgConnection,
    seqs: &mut crate::log::Seqs,
    ws: &WorkspaceId,
    id: &MessageId,
    new: NewText,
    now: Timestamp,
) -> StoreResult<Committed<Message>> {
    let NewText {
        text,
        mentions,
        vectors: [without_files, with_files],
        pairs,
    } = new;
    let mut message = message(conn, ws, id).await?.ok_or(StoreError::NotFound)?;
    if message.deleted {
        return Err(StoreError::Invalid("message_deleted"));
    }
    // Saving the same text again (a retried request) is not an edit.
    if message.text == text.as_str() {
        return Ok(Committed::unchanged(message));
    }
    message.text = text.as_str().to_owned();
    message.edited_at = Some(now);
    let vector = if message.files.is_empty() {
        without_files
    } else {
        with_files
    };
    sqlx::query(
        "UPDATE messages SET text = $1, edited_at = $2, broadcast = $3, \
         search_vector = $4::tsvector, search_pairs = $7::tsvector \
         WHERE workspace_id = $5 AND id = $6",
    )
    .bind(&message.text)
    .bind(now.0)
    .bind(mentions.broadcast.map(broadcast_name))
    .bind(&vector)
    .bind(ws.as_str())
    .bind(id.as_str())
    .bind(&pairs)
    .execute(&mut *conn)
    .await
    .map_err(db)?;
    delete_mentions(conn, ws, id).await?;
    insert_mentions(conn, &message, &mentions).await?;
    let event = log::append(
        conn,
        seqs,
        ws,
        now,
        EventPayload::MessageUpdated {
            message: message.clone(),
        },
    )
    .await?;
    Ok(Committed {
        value: message,
        events: vec![event],
    })
}

async fn delete_mentions(
    conn: &mut PgConnection,
    ws: &WorkspaceId,
    id: &MessageId,
) -> StoreResult<()> {
    sqlx::query("DELETE FROM message_mentions WHERE workspace_id = $1 AND message_id = $2")
        .bind(ws.as_str())
        .bind(id.as_str())
        .execute(conn)
        .await
        .map_err(db)?;
    Ok(())
}

/// A deleted message stays as a tombstone so it keeps its place in history and its
/// thread; its text, reactions, mentions, files and search terms go (its vector is the
/// empty one: indexed, matching nothing). A file no other live message shares is deleted
/// with it.
pub(crate) async fn delete_message(
    conn: &mut PgConnection,
    seqs: &mut crate::log::Seqs,
    ws: &WorkspaceId,
    id: &MessageId,
    now: Timestamp,
) -> StoreResult<Committed<Message>> {
    let mut message = message(conn, ws, id).await?.ok_or(StoreError::NotFound)?;
    if message.deleted {
        return Ok(Committed::unchanged(message));
    }
    message.deleted = true;
    message.text.clear();
    message.reactions.clear();
    message.files.clear();
    sqlx::query(
        "UPDATE messages SET text = '', deleted = TRUE, broadcast = NULL, search_vector = '', \
         search_pairs = '', \
         files = NULL WHERE workspace_id = $1 AND id = $2",
    )
    .bind(ws.as_str())
    .bind(id.as_str())
    .execute(&mut *conn)
    .await
    .map_err(db)?;
    sqlx::query("DELETE FROM reactions WHERE workspace_id = $1 AND message_id = $2")
        .bind(ws.as_str())
        .bind(id.as_str())
        .execute(&mut *conn)
        .await
        .map_err(db)?;
    delete_mentions(conn, ws, id).await?;
    files::unlink_deleted_message(conn, ws, id, now).await?;

    let deleted = EventPayload::MessageDeleted {
        message: message.clone(),
    };
    let mut events = vec![log::append(conn, seqs, ws, now, deleted).await?];
    if let Some(root) = &message.thread_root_id {
        // The root's latest reply is recomputed from the replies still standing.
        sqlx::query(
            "UPDATE messages SET reply_count = GREATEST(reply_count - 1, 0), last_reply_at = ( \
                 SELECT MAX(r.created_at) FROM messages r \
                 WHERE r.workspace_id = $1 AND r.thread_root_id = $2 AND NOT r.deleted) \
             WHERE workspace_id = $1 AND id = $2",
        )
        .bind(ws.as_str())
        .bind(root.as_str())
        .execute(&mut *conn)
        .await
        .map_err(db)?;
        events.push(root_updated(conn, seqs, ws, root, now).await?);
    }
    Ok(Committed {
        value: message,
        events,
    })
}
