//! The notification tables' rows, and how they become hearth-core's notify types.
//!
//! As in `crate::rows`, column lists are macros (so SQL stays `&'static str` through
//! `concat!`) over fixed aliases: `np` notify_prefs, `t` push_targets, `n` notifications,
//! `d` deliveries. Values were validated when written; one that no longer parses means a
//! corrupt row.

use hearth_core::Timestamp;
use hearth_core::id::{
    ChannelId, DeliveryId, MessageId, NotificationId, PushTargetId, UserId, WorkspaceId,
};
use hearth_core::mention::Broadcast;
use hearth_core::notify::{
    ChannelNotify, Delivery, DeliveryKind, DeliveryState, Notification, NotifyLevel, NotifyPrefs,
    PushKind, PushTarget, Reason, StoredPrefs,
};
use hearth_core::store::{StoreError, StoreResult};
use sqlx::FromRow;

use crate::error::corrupt;

/// Nullable: selected through a `LEFT JOIN`, where a user without a row has the defaults.
macro_rules! prefs_columns {
    () => {
        "np.keywords, np.dnd_until, np.quiet_start, np.quiet_end, np.time_zone, \
         np.thread_replies, np.email"
    };
}

macro_rules! push_target_columns {
    () => {
        "t.id, t.workspace_id, t.user_id, t.kind, t.endpoint, t.p256dh, t.auth, t.created_at"
    };
}

macro_rules! notification_columns {
    () => {
        "n.id, n.workspace_id, n.user_id, n.channel_id, n.message_id, n.seq, n.reason, \
         n.created_at"
    };
}

/// A delivery with its notification (`n`, push only) and target (`t`, push only, gone
/// once deleted), both `LEFT JOIN`ed on the delivery's workspace.
macro_rules! delivery_columns {
    () => {
        "d.id, d.workspace_id, d.user_id, d.channel_id, d.kind, d.state, d.attempts, \
         d.due_at, d.created_at, d.last_error, \
         n.id AS n_id, n.user_id AS n_user_id, n.channel_id AS n_channel_id, \
         n.message_id AS n_message_id, n.seq AS n_seq, n.reason AS n_reason, \
         n.created_at AS n_created_at, \
         t.id AS t_id, t.user_id AS t_user_id, t.kind AS t_kind, t.endpoint AS t_endpoint, \
         t.p256dh AS t_p256dh, t.auth AS t_auth, t.created_at AS t_created_at"
    };
}

/// The joins [`delivery_columns`] reads from, after `FROM deliveries d` (or a CTE named
/// `d`).
macro_rules! delivery_joins {
    () => {
        " LEFT JOIN notifications n \
           ON n.workspace_id = d.workspace_id AND n.id = d.notification_id \
         LEFT JOIN push_targets t ON t.workspace_id = d.workspace_id AND t.id = d.target_id"
    };
}

pub(super) use {
    delivery_columns, delivery_joins, notification_columns, prefs_columns, push_target_columns,
};

/// The `broadcast` column of a message (written by `messages::broadcast_name`).
pub(super) fn broadcast(name: &str) -> StoreResult<Broadcast> {
    match name {
        "everyone" => Ok(Broadcast::Everyone),
        "channel" => Ok(Broadcast::Channel),
        "here" => Ok(Broadcast::Here),
        other => Err(corrupt("broadcast", other)),
    }
}

pub(super) fn level(s: &str) -> StoreResult<NotifyLevel> {
    NotifyLevel::parse(s).map_err(|_| corrupt("notify level", s))
}

pub(super) fn channel_notify(level_name: &str, muted: bool) -> StoreResult<ChannelNotify> {
    Ok(ChannelNotify {
        level: level(level_name)?,
        muted,
    })
}

/// A `notify_prefs` row, all NULL when the user has none.
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

#[derive(FromRow)]
pub(super) struct PushTargetRow {
    id: String,
    workspace_id: String,
    user_id: String,
    kind: String,
    endpoint: String,
    p256dh: Option<String>,
    auth: Option<String>,
    created_at: i64,
}

impl PushTargetRow {
    pub(super) fn into_target(self) -> StoreResult<PushTarget> {
        Ok(PushTarget {
            kind: PushKind::parse(&self.kind).ok_or_else(|| corrupt("push kind", &self.kind))?,
            id: PushTargetId::from_trusted(self.id),
            workspace_id: WorkspaceId::from_trusted(self.workspace_id),
            user_id: UserId::from_trusted(self.user_id),
            endpoint: self.endpoint,
            p256dh: self.p256dh,
            auth: self.auth,
            created_at: Timestamp(self.created_at),
        })
    }
}

fn reason(s: &str) -> StoreResult<Reason> {
    Reason::parse(s).ok_or_else(|| corrupt("reason", s))
}

#[derive(FromRow)]
pub(super) struct NotificationRow {
    id: String,
    workspace_id: String,
    user_id: String,
    channel_id: String,
    message_id: String,
    seq: i64,
    reason: String,
    created_at: i64,
}

impl NotificationRow {
    pub(super) fn into_notification(self) -> StoreResult<Notification> {
        Ok(Notification {
            reason: reason(&self.reason)?,
            id: NotificationId::from_trusted(self.id),
            workspace_id: WorkspaceId::from_trusted(self.workspace_id),
            user_id: UserId::from_trusted(self.user_id),
            channel_id: ChannelId::from_trusted(self.channel_id),
            message_id: MessageId::from_trusted(self.message_id),
            seq: self.seq,
            created_at: Timestamp(self.created_at),
        })
    }
}

/// A row of [`delivery_columns`].
#[derive(FromRow)]
pub(super) struct DeliveryRow {
    id: String,
    workspace_id: String,
    user_id: String,
    channel_id: String,
    kind: String,
    state: String,
    attempts: i64,
    due_at: i64,
    created_at: i64,
    last_error: Option<String>,
    n_id: Option<String>,
    n_user_id: Option<String>,
    n_channel_id: Option<String>,
    n_message_id: Option<String>,
    n_seq: Option<i64>,
    n_reason: Option<String>,
    n_created_at: Option<i64>,
    t_id: Option<String>,
    t_user_id: Option<String>,
    t_kind: Option<String>,
    t_endpoint: Option<String>,
    t_p256dh: Option<String>,
    t_auth: Option<String>,
    t_created_at: Option<i64>,
}

impl DeliveryRow {
    pub(super) fn into_delivery(self) -> StoreResult<Delivery> {
        let notification = match (
            self.n_id,
            self.n_user_id,
            self.n_channel_id,
            self.n_message_id,
            self.n_seq,
            self.n_reason,
            self.n_created_at,
        ) {
            (
                Some(id),
                Some(user_id),
                Some(channel_id),
                Some(message_id),
                Some(seq),
                Some(r),
                Some(at),
            ) => Some(Notification {
                reason: reason(&r)?,
                id: NotificationId::from_trusted(id),
                workspace_id: WorkspaceId::from_trusted(self.workspace_id.clone()),
                user_id: UserId::from_trusted(user_id),
                channel_id: ChannelId::from_trusted(channel_id),
                message_id: MessageId::from_trusted(message_id),
                seq,
                created_at: Timestamp(at),
            }),
            _ => None,
        };
        let target = match (
            self.t_id,
            self.t_user_id,
            self.t_kind,
            self.t_endpoint,
            self.t_created_at,
        ) {
            (Some(id), Some(user_id), Some(kind), Some(endpoint), Some(at)) => Some(PushTarget {
                kind: PushKind::parse(&kind).ok_or_else(|| corrupt("push kind", &kind))?,
                id: PushTargetId::from_trusted(id),
                workspace_id: WorkspaceId::from_trusted(self.workspace_id.clone()),
                user_id: UserId::from_trusted(user_id),
                endpoint,
                p256dh: self.t_p256dh,
                auth: self.t_auth,
                created_at: Timestamp(at),
            }),
            _ => None,
        };
        Ok(Delivery {
            kind: DeliveryKind::parse(&self.kind)
                .ok_or_else(|| corrupt("delivery kind", &self.kind))?,
            state: DeliveryState::parse(&self.state)
                .ok_or_else(|| corrupt("delivery state", &self.state))?,
            attempts: u32::try_from(self.attempts)
                .map_err(|_| corrupt("attempts", &self.attempts.to_string()))?,
            id: DeliveryId::from_trusted(self.id),
            workspace_id: WorkspaceId::from_trusted(self.workspace_id),
            user_id: UserId::from_trusted(self.user_id),
            channel_id: ChannelId::from_trusted(self.channel_id),
            notification,
            target,
            due_at: Timestamp(self.due_at),
            created_at: Timestamp(self.created_at),
            last_error: self.last_error,
        })
    }
}
