//! What each user asked to be notified of: account-wide preferences (`notify_prefs`, no
//! row meaning the defaults) and per-channel settings (two columns of `memberships`).
//!
//! Each write is one statement that finds its user or membership itself, so "not an
//! account here" and "not a member" need no read before the write.

use hearth_core::id::{ChannelId, UserId, WorkspaceId};
use hearth_core::notify::{ChannelNotify, NotifyPrefs, StoredPrefs};
use hearth_core::store::{StoreError, StoreResult};
use sqlx::PgConnection;

use super::rows::{self, PrefsRow, prefs_columns};
use crate::error::db;

pub(crate) async fn prefs(
    conn: &mut PgConnection,
    ws: &WorkspaceId,
    user: &UserId,
) -> StoreResult<NotifyPrefs> {
    // A row for every account: NULL preferences when it has none.
    let row: Option<PrefsRow> = sqlx::query_as(concat!(
        "SELECT ",
        prefs_columns!(),
        " FROM users u LEFT JOIN notify_prefs np \
           ON np.workspace_id = u.workspace_id AND np.user_id = u.id \
         WHERE u.workspace_id = $1 AND u.id = $2"
    ))
    .bind(ws.as_str())
    .bind(user.as_str())
    .fetch_optional(conn)
    .await
    .map_err(db)?;
    row.ok_or(StoreError::NotFound)?.into_prefs()
}

pub(crate) async fn set_prefs(
    conn: &mut PgConnection,
    ws: &WorkspaceId,
    user: &UserId,
    prefs: &NotifyPrefs,
) -> StoreResult<()> {
    let row = StoredPrefs::from_prefs(prefs);
    let written = sqlx::query(
        "INSERT INTO notify_prefs (workspace_id, user_id, keywords, dnd_until, quiet_start, \
           quiet_end, time_zone, thread_replies, email) \
         SELECT u.workspace_id, u.id, $3, $4, $5, $6, $7, $8, $9 FROM users u \
         WHERE u.workspace_id = $1 AND u.id = $2 \
         ON CONFLICT (user_id) DO UPDATE SET keywords = EXCLUDED.keywords, \
           dnd_until = EXCLUDED.dnd_until, quiet_start = EXCLUDED.quiet_start, \
           quiet_end = EXCLUDED.quiet_end, time_zone = EXCLUDED.time_zone, \
           thread_replies = EXCLUDED.thread_replies, email = EXCLUDED.email",
    )
    .bind(ws.as_str())
    .bind(user.as_str())
    .bind(row.keywords)
    .bind(row.dnd_until)
    .bind(row.quiet_start)
    .bind(row.quiet_end)
    .bind(row.time_zone)
    .bind(row.thread_replies)
    .bind(row.email)
    .execute(conn)
    .await
    .map_err(db)?
    .rows_affected();
    if written == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

pub(crate) async fn channel_notify(
    conn: &mut PgConnection,
    ws: &WorkspaceId,
    channel: &ChannelId,
    user: &UserId,
) -> StoreResult<Option<ChannelNotify>> {
    let row: Option<(String, bool)> = sqlx::query_as(
        "SELECT notify_level, muted FROM memberships \
         WHERE workspace_id = $1 AND channel_id = $2 AND user_id = $3",
    )
    .bind(ws.as_str())
    .bind(channel.as_str())
    .bind(user.as_str())
    .fetch_optional(conn)
    .await
    .map_err(db)?;
    row.map(|(level, muted)| rows::channel_notify(&level, muted))
        .transpose()
}

/// Changes the membership row that the workspace's writers also update (read markers):
/// one short statement, so a batch that needs the row waits for it no longer than that.
pub(crate) async fn set_channel_notify(
    conn: &mut PgConnection,
    ws: &WorkspaceId,
    channel: &ChannelId,
    user: &UserId,
    notify: ChannelNotify,
) -> StoreResult<()> {
    let written = sqlx::query(
        "UPDATE memberships SET notify_level = $4, muted = $5 \
         WHERE workspace_id = $1 AND channel_id = $2 AND user_id = $3",
    )
    .bind(ws.as_str())
    .bind(channel.as_str())
    .bind(user.as_str())
    .bind(notify.level.as_str())
    .bind(notify.muted)
    .execute(conn)
    .await
    .map_err(db)?
    .rows_affected();
    if written == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}
