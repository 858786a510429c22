//! Reactions: adding and removing them, and loading them for a page of messages in one
//! query rather than one per message.

use std::collections::HashMap;

use hearth_core::Timestamp;
use hearth_core::event::EventPayload;
use hearth_core::id::{ChannelId, MessageId, UserId, WorkspaceId};
use hearth_core::model::{Committed, Message, ReactionSummary};
use hearth_core::store::{StoreError, StoreResult};
use hearth_core::value::Emoji;
use sqlx::{FromRow, PgConnection};

use crate::accounts;
use crate::error::db;
use crate::log;
use crate::messages;
use crate::rows::{MessageRow, text_array};

#[derive(FromRow)]
struct ReactionRow {
    message_id: String,
    user_id: String,
    emoji: String,
}

/// Turns rows into messages with their reactions: per message, one summary per emoji in
/// the order the emoji was first used, its users in the order they reacted.
pub(crate) async fn attach(
    conn: &mut PgConnection,
    ws: &WorkspaceId,
    rows: Vec<MessageRow>,
) -> StoreResult<Vec<Message>> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let reactions: Vec<ReactionRow> = sqlx::query_as(
        "SELECT message_id, user_id, emoji FROM reactions \
         WHERE workspace_id = $1 AND message_id = ANY($2) \
         ORDER BY created_at, id",
    )
    .bind(ws.as_str())
    .bind(text_array(rows.iter().map(|r| r.id.as_str())))
    .fetch_all(conn)
    .await
    .map_err(db)?;

    let mut by_message: HashMap<String, Vec<ReactionSummary>> = HashMap::new();
    for r in reactions {
        let summaries = by_message.entry(r.message_id).or_default();
        let user = UserId::from_trusted(r.user_id);
        match summaries.iter_mut().find(|s| s.emoji.as_str() == r.emoji) {
            Some(summary) => {
                summary.count += 1;
                summary.user_ids.push(user);
            }
            None => summaries.push(ReactionSummary {
                emoji: Emoji::from_trusted(r.emoji),
                count: 1,
                user_ids: vec![user],
            }),
        }
    }
    rows.into_iter()
        .map(|row| {
            let reactions = by_message.remove(&row.id).unwrap_or_default();
            Ok(Message {
                reactions,
                ..row.into_message()?
            })
        })
        .collect()
}

pub(crate) async fn add_reaction(
    conn: &mut PgConnection,
    seqs: &mut crate::log::Seqs,
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
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
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
    finish(
        conn,
        seqs,
        ws,
        row,
        inserted.rows_affected() > 0,
        event,
        now,
    )
    .await
}

pub(crate) async fn remove_reaction(
    conn: &mut PgConnection,
    seqs: &mut crate::log::Seqs,
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
         WHERE workspace_id = $1 AND message_id = $2 AND user_id = $3 AND emoji = $4",
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
    finish(conn, seqs, ws, row, deleted.rows_affected() > 0, event, now).await
}

/// The message with its reactions as they are now and, if the change took effect, the
/// event that records it; an idempotent repeat appends nothing.
async fn finish(
    conn: &mut PgConnection,
    seqs: &mut crate::log::Seqs,
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
    let event = log::append(conn, seqs, ws, now, event).await?;
    Ok(Committed {
        value: snapshot,
        events: vec![event],
    })
}
