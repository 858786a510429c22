//! What users asked to be notified of: account-wide preferences (`notify_prefs`, no row
//! meaning the defaults) and each member's level and mute for a channel (columns of
//! `memberships`).

use hearth_core::id::{ChannelId, UserId, WorkspaceId};
use hearth_core::notify::{ChannelNotify, NotifyLevel, NotifyPrefs, StoredPrefs};
use hearth_core::store::{StoreError, StoreResult};
use sqlx::{FromRow, SqliteConnection};

use crate::accounts;
use crate::error::{corrupt, db};

/// The preference columns, read through a `LEFT JOIN notify_prefs np`: all NULL when the
/// user never saved any.
macro_rules! prefs_columns {
    () => {
        "np.keywords, np.dnd_until, np.quiet_start, np.quiet_end, np.time_zone, \
         np.thread_replies, np.email"
    };
}

pub(super) use prefs_columns;

#[derive(FromRow)]
pub(super) struct PrefsRow {
    keywords: Option<String>,
    dnd_until: Option<i64>,
    quiet_start: Option<i64>,
    quiet_end: Option<i64>,
    time_zone: Option<String>,
    thread_replies: Option<bool>,
    email: Option<bool>,
}

impl PrefsRow {
    pub(super) fn into_prefs(self) -> StoreResult<NotifyPrefs> {
        StoredPrefs {
            keywords: self.keywords,
            dnd_until: self.dnd_until,
            quiet_start: self.quiet_start,
            quiet_end: self.quiet_end,
            time_zone: self.time_zone,
            thread_replies: self.thread_replies,
            email: self.email,
        }
        .into_prefs()
        .map_err(|what| StoreError::Internal(format!("corrupt notify_prefs row: {what}")))
    }
}

pub(super) fn level(s: &str) -> StoreResult<NotifyLevel> {
    NotifyLevel::parse(s).map_err(|_| corrupt("notify level", s))
}

pub(super) async fn notify_prefs(
    conn: &mut SqliteConnection,
    ws: &WorkspaceId,
    user: &UserId,
) -> StoreResult<NotifyPrefs> {
    let row: Option<PrefsRow> = sqlx::query_as(concat!(
        "SELECT ",
        prefs_columns!(),
        " FROM users u LEFT JOIN notify_prefs np \
           ON np.user_id = u.id AND np.workspace_id = u.workspace_id \
         WHERE u.workspace_id = ? AND u.id = ?"
    ))
    .bind(ws.as_str())
    .bind(user.as_str())
    .fetch_optional(conn)
    .await
    .map_err(db)?;
    row.ok_or(StoreError::NotFound)?.into_prefs()
}

pub(super) async fn set_notify_prefs(
    conn: &mut SqliteConnection,
    ws: &WorkspaceId,
    user: &UserId,
    prefs: &NotifyPrefs,
) -> StoreResult<()> {
    if !accounts::is_account(conn, ws, user).await? {
        return Err(StoreError::NotFound);
    }
    let row = StoredPrefs::from_prefs(prefs);
    sqlx::query(
        "INSERT INTO notify_prefs (workspace_id, user_id, keywords, dnd_until, quiet_start, \
           quiet_end, time_zone, thread_replies, email) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) \
         ON CONFLICT (user_id) DO UPDATE SET keywords = excluded.keywords, \
           dnd_until = excluded.dnd_until, quiet_start = excluded.quiet_start, \
           quiet_end = excluded.quiet_end, time_zone = excluded.time_zone, \
           thread_replies = excluded.thread_replies, email = excluded.email",
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
    .map_err(db)?;
    Ok(())
}

pub(super) async fn channel_notify(
    conn: &mut SqliteConnection,
    ws: &WorkspaceId,
    channel: &ChannelId,
    user: &UserId,
) -> StoreResult<Option<ChannelNotify>> {
    let row: Option<(String, bool)> = sqlx::query_as(
        "SELECT notify_level, muted FROM memberships \
         WHERE workspace_id = ? AND channel_id = ? AND user_id = ?",
    )
    .bind(ws.as_str())
    .bind(channel.as_str())
    .bind(user.as_str())
    .fetch_optional(conn)
    .await
    .map_err(db)?;
    row.map(|(l, muted)| {
        Ok(ChannelNotify {
            level: level(&l)?,
            muted,
        })
    })
    .transpose()
}

pub(super) async fn set_channel_notify(
    conn: &mut SqliteConnection,
    ws: &WorkspaceId,
    channel: &ChannelId,
    user: &UserId,
    notify: ChannelNotify,
) -> StoreResult<()> {
    let updated = sqlx::query(
        "UPDATE memberships SET notify_level = ?, muted = ? \
         WHERE workspace_id = ? AND channel_id = ? AND user_id = ?",
    )
    .bind(notify.level.as_str())
    .bind(notify.muted)
    .bind(ws.as_str())
    .bind(channel.as_str())
    .bind(user.as_str())
    .execute(conn)
    .await
    .map_err(db)?;
    if updated.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}
