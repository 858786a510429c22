//! What re-checking a push reads, in one statement: the channel and the recipient's
//! membership (no row when either is gone), then, each `NULL` when missing, the message,
//! the recipient's account and preferences, and the message's author. One trip to a read
//! connection instead of one per table.

use hearth_core::Timestamp;
use hearth_core::id::{MessageId, UserId};
use hearth_core::notify::{Notification, PushCheck, PushMessage, PushSender};
use hearth_core::store::StoreResult;
use hearth_core::value::{DisplayName, Handle};
use sqlx::{FromRow, SqliteConnection};

use super::prefs::{PrefsRow, prefs_columns};
use crate::error::db;
use crate::rows::{ChannelRow, channel_columns};

/// Binds `?1` workspace, `?2` channel, `?3` recipient, `?4` message.
const PUSH_CHECK: &str = concat!(
    "SELECT ",
    channel_columns!(),
    ", mb.last_read_seq, mb.muted, \
       m.id AS message_id, m.seq AS message_seq, m.thread_root_id AS message_thread_root_id, \
       m.text AS message_text, m.created_at AS message_created_at, \
       m.deleted AS message_deleted, \
       u.deactivated AS recipient_deactivated, ",
    prefs_columns!(),
    ", s.id AS sender_id, s.handle AS sender_handle, s.display_name AS sender_display_name \
     FROM channels c \
     JOIN memberships mb ON mb.workspace_id = c.workspace_id AND mb.channel_id = c.id \
       AND mb.user_id = ?3 \
     LEFT JOIN messages m ON m.workspace_id = ?1 AND m.id = ?4 \
     LEFT JOIN users u ON u.workspace_id = ?1 AND u.id = ?3 \
     LEFT JOIN notify_prefs np ON np.workspace_id = ?1 AND np.user_id = ?3 \
     LEFT JOIN users s ON s.workspace_id = ?1 AND s.id = m.user_id \
     WHERE c.workspace_id = ?1 AND c.id = ?2"
);

#[derive(FromRow)]
struct PushCheckRow {
    #[sqlx(flatten)]
    channel: ChannelRow,
    last_read_seq: i64,
    muted: bool,
    message_id: Option<String>,
    message_seq: Option<i64>,
    message_thread_root_id: Option<String>,
    message_text: Option<String>,
    message_created_at: Option<i64>,
    message_deleted: Option<bool>,
    recipient_deactivated: Option<bool>,
    #[sqlx(flatten)]
    prefs: PrefsRow,
    sender_id: Option<String>,
    sender_handle: Option<String>,
    sender_display_name: Option<String>,
}

pub(super) async fn push_check(
    conn: &mut SqliteConnection,
    n: &Notification,
) -> StoreResult<Option<PushCheck>> {
    let row: Option<PushCheckRow> = sqlx::query_as(PUSH_CHECK)
        .bind(n.workspace_id.as_str())
        .bind(n.channel_id.as_str())
        .bind(n.user_id.as_str())
        .bind(n.message_id.as_str())
        .fetch_optional(conn)
        .await
        .map_err(db)?;
    let Some(row) = row else {
        return Ok(None);
    };
    let message = match (
        row.message_id,
        row.message_seq,
        row.message_text,
        row.message_created_at,
        row.message_deleted,
    ) {
        (Some(id), Some(seq), Some(text), Some(created_at), Some(deleted)) => Some(PushMessage {
            id: MessageId::from_trusted(id),
            seq,
            thread_root_id: row.message_thread_root_id.map(MessageId::from_trusted),
            text,
            created_at: Timestamp(created_at),
            deleted,
        }),
        _ => None,
    };
    let sender = match (row.sender_id, row.sender_handle, row.sender_display_name) {
        (Some(id), Some(handle), Some(display_name)) => Some(PushSender {
            id: UserId::from_trusted(id),
            handle: Handle::from_trusted(handle),
            display_name: DisplayName::from_trusted(display_name),
        }),
        _ => None,
    };
    Ok(Some(PushCheck {
        channel: row.channel.into_channel()?,
        last_read_seq: row.last_read_seq,
        muted: row.muted,
        message,
        recipient_deactivated: row.recipient_deactivated,
        prefs: row.prefs.into_prefs()?,
        sender,
    }))
}
