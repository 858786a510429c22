//! Notifications: preferences, push targets, dead letters, and the payload a push
//! target receives.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// `GET`/`PUT /api/v1/notifications/prefs`: a user's account-wide preferences. `PUT`
/// replaces them; an omitted field takes its default.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NotifyPrefs {
    /// Words or phrases (at most 30, 50 characters each) that notify wherever they are
    /// written in your channels; matched as whole words in any case.
    #[serde(default)]
    pub keywords: Vec<String>,
    /// Do not disturb: nothing is sent before this RFC 3339 instant.
    #[serde(default)]
    pub dnd_until: Option<String>,
    /// A daily quiet period in `time_zone`; nothing is sent during it.
    #[serde(default)]
    pub quiet_hours: Option<QuietHours>,
    /// An IANA time zone name, such as `Europe/Paris`; `UTC` by default.
    #[serde(default = "utc")]
    pub time_zone: String,
    /// Whether replies in threads you took part in notify you (default true).
    #[serde(default = "yes")]
    pub thread_replies: bool,
    /// Whether unread notifications are also emailed, one email per conversation after
    /// a delay (default true; needs the server's SMTP settings).
    #[serde(default = "yes")]
    pub email: bool,
}

fn utc() -> String {
    "UTC".to_owned()
}

fn yes() -> bool {
    true
}

/// `HH:MM` to `HH:MM` local time; may wrap past midnight.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QuietHours {
    pub start: String,
    pub end: String,
}

/// `GET`/`PUT /api/v1/channels/{id}/notifications`: your settings for one channel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChannelNotify {
    /// `default` (everything in DMs, mentions in channels), `all`, `mentions` or `nothing`.
    pub level: String,
    /// A muted channel notifies of nothing; its unread badge still counts.
    #[serde(default)]
    pub muted: bool,
}

/// `POST /api/v1/notifications/targets`: a place to receive pushes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPushTarget {
    /// `webpush` (a browser's `PushSubscription`) or `webhook` (any HTTPS endpoint that
    /// accepts the notification as JSON, e.g. a UnifiedPush distributor).
    pub kind: String,
    pub endpoint: String,
    /// Web Push only: the subscription's keys, as `PushSubscription.toJSON()` gives them.
    #[serde(default)]
    pub keys: Option<PushKeys>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PushKeys {
    pub p256dh: String,
    pub auth: String,
}

/// A registered push target (its keys are never shown again).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PushTarget {
    pub id: String,
    pub kind: String,
    pub endpoint: String,
    pub created_at: String,
}

/// `GET /api/v1/notifications/targets`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PushTargetList {
    pub targets: Vec<PushTarget>,
}

/// `GET /api/v1/notifications/vapid`: the server's VAPID public key, the browser's
/// `applicationServerKey` (base64url, uncompressed P-256 point).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct VapidKey {
    pub public_key: String,
}

/// A delivery that failed for good, for admins.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct DeadLetter {
    pub id: String,
    pub user_id: String,
    pub channel_id: String,
    /// `push` or `email`.
    pub kind: String,
    /// Push deliveries: where it was going (absent if the target was deleted since).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<PushTarget>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
    pub attempts: u32,
    pub last_error: Option<String>,
    pub created_at: String,
}

/// `GET /api/v1/admin/notifications/dead-letters`: newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct DeadLetterList {
    pub dead_letters: Vec<DeadLetter>,
    pub has_more: bool,
}

/// What a push target receives: POSTed as JSON to a webhook, or encrypted (RFC 8291) as
/// a Web Push message's payload. `id` identifies the notification: a receiver that gets
/// the same id twice (a retry after a lost answer) has it already.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct NotificationPayload {
    pub id: String,
    pub workspace_id: String,
    /// `dm`, `mention`, `channel`, `here`, `thread`, `keyword` or `all`.
    pub reason: String,
    pub channel: PayloadChannel,
    pub sender: PayloadSender,
    pub message: PayloadMessage,
    pub created_at: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PayloadChannel {
    pub id: String,
    /// Absent for DMs and group DMs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub kind: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PayloadSender {
    pub id: String,
    pub handle: String,
    pub display_name: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PayloadMessage {
    pub id: String,
    pub seq: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thread_root_id: Option<String>,
    /// At most 200 characters of plain text.
    pub excerpt: String,
}
