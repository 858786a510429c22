//! Reactions: adding and removing them, and loading them for a page of messages in one
//! query rather than one per message.

use std::collections::HashMap;

use hearth_core::Timestamp;
use hearth_core::event::EventPayload;
use hearth_core::id::{ChannelId, MessageId, UserId, WorkspaceId};
use hearth_core::model::{Committed, Message};
use hearth_core::store::{StoreError, StoreResult, summarize};
use hearth_core::value::Emoji;
use sqlx::{FromRow, SqliteConnection};

use crate::accounts;
use crate::error::db;
use crate::log;
use crate::messages;
use crate::rows::{MessageRow, json_list};

#[derive(FromRow)]
struct ReactionRow {
    message_id: String,
    user_id: String,
    emoji: String,
}

/// Turns rows into messages with their reactions: per message, one summary per emoji in
/// the order the emoji was first used, its users in the order they reacted.
pub(crate) async fn attach(
    conn: &mut SqliteConnection,
    ws: &WorkspaceId,
    rows: Vec<MessageRow>,
) -> StoreResult<Vec<Message>> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let reactions: Vec<ReactionRow> = sqlx::query_as(
        "SELECT message_id, user_id, emoji FROM reactions \
         WHERE workspace_id = ? AND message_id IN (SELECT value FROM json_each(?)) \
         ORDER BY created_at, rowid",
    )
    .bind(ws.as_str())
    .bind(json_list(rows.iter().map(|r| r.id.as_str())))
    .fetch_all(conn)
    .await
    .map_err(db)?;

    let mut by_message: HashMap<String, Vec<(UserId, Emoji)>> = HashMap::new();
    for r in reactions {
        by_message.entry(r.message_id).or_default().push((
            UserId::from_trusted(r.user_id),
            Emoji::from_trusted(r.emoji),
        ));
    }
    rows.into_iter()
        .map(|row| {
            let reactions = summarize(by_message.remove(&row.id).unwrap_or_default());
            Ok(Message {
                reactions,
                ..row.into_message()?
            })
        })
        .collect()
}

pub(crate) async fn add_reaction(
    conn: &mut SqliteConnection,
    ws: &WorkspaceId,
    message: &MessageId,
    user: &UserId,
    emoji: &Emoji,
    now: Timestamp,
) -> StoreResult<Committed<Message>> {
    let row = messages::row(conn, ws, message)
        .await?
        .ok_or(StoreError::NotFound)?;
    if row.deleted {
        return Err(StoreError::Invalid("message_deleted"));
    }
    if !accounts::is_active(conn, ws, user).await? {
        return Err(StoreError::NotFound);
    }
    let inserted = sqlx::query(
        "INSERT INTO reactions (workspace_id, message_id, user_id, emoji, created_at) \
         VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
    )
    .bind(ws.as_str())
    .bind(message.as_str())
    .bind(user.as_str())
    .bind(emoji.as_str())
    .bind(now.0)
    .execute(&mut *conn)
    .await
    .map_err(db)?;
    let event = EventPayload::ReactionAdded {
        channel_id: ChannelId::from_trusted(row.channel_id.clone()),
        message_id: message.clone(),
        user_id: user.clone(),
        emoji: emoji.clone(),
    };
    finish(conn, ws, row, inserted.rows_affected() > 0, event, now).await
}

pub(crate) async fn remove_reaction(
    conn: &mut SqliteConnection,
    ws: &WorkspaceId,
    message: &MessageId,
    user: &UserId,
    emoji: &Emoji,
    now: Timestamp,
) -> StoreResult<Committed<Message>> {
    let row = messages::row(conn, ws, message)
        .await?
        .ok_or(StoreError::NotFound)?;
    let deleted = sqlx::query(
        "DELETE FROM reactions \
         WHERE workspace_id = ? AND message_id = ? AND user_id = ? AND emoji = ?",
    )
    .bind(ws.as_str())
    .bind(message.as_str())
    .bind(user.as_str())
    .bind(emoji.as_str())
    .execute(&mut *conn)
    .await
    .map_err(db)?;
    let event = EventPayload::ReactionRemoved {
        channel_id: ChannelId::from_trusted(row.channel_id.clone()),
        message_id: message.clone(),
        user_id: user.clone(),
        emoji: emoji.clone(),
    };
    finish(conn, ws, row, deleted.rows_affected() > 0, event, now).await
}

/// The message with its reactions as they are now and, if the change took effect, the
/// event that records it; an idempotent repeat appends nothing.
async fn finish(
    conn: &mut SqliteConnection,
    ws: &WorkspaceId,
    row: MessageRow,
    changed: bool,
    event: EventPayload,
    now: Timestamp,
) -> StoreResult<Committed<Message>> {
    let snapshot = messages::with_reactions(conn, ws, row).await?;
    if !changed {
        return Ok(Committed::unchanged(snapshot));
    }
    let event = log::append(conn, ws, now, event).await?;
    Ok(Committed {
        value: snapshot,
        events: vec![event],
    })
}
