//! The notification pipeline's records, as the store keeps and returns them.
//!
//! A message becomes [`Notification`]s (one per user it concerns) when the worker expands
//! it; each notification becomes one [`Delivery`] per push target the user had then, and
//! the user's unread notifications of one conversation share one email [`Delivery`].

use serde::{Deserialize, Serialize};

use crate::Timestamp;
use crate::id::{
    ChannelId, DeliveryId, MessageId, NotificationId, PushTargetId, UserId, WorkspaceId,
};
use crate::mention::Broadcast;
use crate::model::{Channel, Message};
use crate::notify::{ChannelNotify, NotifyPrefs};

/// Why a user is notified of a message, strongest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// A message in a DM or group DM they are in.
    Dm,
    /// They were mentioned by name.
    Mention,
    /// `@channel` or `@everyone`.
    Channel,
    /// `@here`, while they were active.
    Here,
    /// A reply in a thread they started or replied to.
    Thread,
    /// One of their keywords.
    Keyword,
    /// The channel is set to notify of every message.
    All,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Dm => "dm",
            Reason::Mention => "mention",
            Reason::Channel => "channel",
            Reason::Here => "here",
            Reason::Thread => "thread",
            Reason::Keyword => "keyword",
            Reason::All => "all",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "dm" => Reason::Dm,
            "mention" => Reason::Mention,
            "channel" => Reason::Channel,
            "here" => Reason::Here,
            "thread" => Reason::Thread,
            "keyword" => Reason::Keyword,
            "all" => Reason::All,
            _ => return None,
        })
    }
}

/// A message the worker has yet to expand into notifications.
#[derive(Debug, Clone, PartialEq)]
pub struct NotifySource {
    pub message: Message,
    pub channel: Channel,
    /// Accounts the text mentions by id or handle, resolved when it was posted.
    pub mentioned: Vec<UserId>,
    pub broadcast: Option<Broadcast>,
}

impl NotifySource {
    /// Whether every member is a candidate (a conversation, or a broadcast mention); if
    /// not, only members that something could concern are (see
    /// [`crate::store::NotifyStore::notify_candidates`]).
    pub fn concerns_everyone(&self) -> bool {
        self.channel.kind.is_conversation() || self.broadcast.is_some()
    }
}

/// A page of messages to expand, read from the event log after a cursor.
#[derive(Debug, Clone, PartialEq)]
pub struct NotifySources {
    /// Messages (top-level and replies, not deleted) created after the cursor, oldest
    /// first.
    pub sources: Vec<NotifySource>,
    /// Everything up to this seq has been read: the cursor may move here once `sources`
    /// are expanded (events that are not new messages need no work).
    pub through_seq: i64,
}

/// A channel member who might be notified of a message, with everything the decision
/// needs.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    pub user_id: UserId,
    pub notify: ChannelNotify,
    pub prefs: NotifyPrefs,
    pub last_read_seq: i64,
    /// For a reply: whether they wrote the thread's root or an earlier reply.
    pub thread_participant: bool,
}

/// Where the worker is in a workspace's log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotifyCursor {
    pub workspace_id: WorkspaceId,
    /// Every message created at or before this seq has been expanded.
    pub seq: i64,
    /// The first message after `seq` is expanded for candidates up to this user id
    /// (a large channel is expanded in batches, each committed with its position).
    pub member_after: Option<UserId>,
}

/// A worker's claim on a piece of work: it holds until `until` unless renewed, so a
/// worker that dies lets another take over, and a worker whose claim lapsed cannot
/// record anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// Identifies the worker (a node and task), random per start.
    pub owner: String,
    pub now: Timestamp,
    pub until: Timestamp,
}

/// A notification the worker decided on.
#[derive(Debug, Clone, PartialEq)]
pub struct NewNotification {
    pub id: NotificationId,
    pub user_id: UserId,
    pub channel_id: ChannelId,
    pub message_id: MessageId,
    pub seq: i64,
    pub reason: Reason,
    pub created_at: Timestamp,
    /// When the user's email for this conversation falls due, if they get email.
    pub email_at: Option<Timestamp>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Notification {
    pub id: NotificationId,
    pub workspace_id: WorkspaceId,
    pub user_id: UserId,
    pub channel_id: ChannelId,
    pub message_id: MessageId,
    pub seq: i64,
    pub reason: Reason,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PushKind {
    /// A browser's Web Push subscription (RFC 8030, payload encrypted per RFC 8291).
    WebPush,
    /// A plain HTTPS endpoint that receives the notification as JSON (UnifiedPush
    /// distributors, mobile relays, integrations).
    Webhook,
}

impl PushKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PushKind::WebPush => "webpush",
            PushKind::Webhook => "webhook",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "webpush" => Some(PushKind::WebPush),
            "webhook" => Some(PushKind::Webhook),
            _ => None,
        }
    }
}

/// A place a user registered to receive notifications.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushTarget {
    pub id: PushTargetId,
    pub workspace_id: WorkspaceId,
    pub user_id: UserId,
    pub kind: PushKind,
    /// The URL notifications are POSTed to.
    pub endpoint: String,
    /// Web Push only: the subscription's P-256 public key and auth secret (base64url).
    pub p256dh: Option<String>,
    pub auth: Option<String>,
    pub created_at: Timestamp,
}

/// A push target to register; the API has checked the URL and keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPushTarget {
    pub id: PushTargetId,
    pub kind: PushKind,
    pub endpoint: String,
    pub p256dh: Option<String>,
    pub auth: Option<String>,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeliveryKind {
    /// One notification to one push target.
    Push,
    /// The user's unread notifications of one conversation, in one email.
    Email,
}

impl DeliveryKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryKind::Push => "push",
            DeliveryKind::Email => "email",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "push" => Some(DeliveryKind::Push),
            "email" => Some(DeliveryKind::Email),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeliveryState {
    /// Waiting for `due_at` (first try or a retry).
    Pending,
    Sent,
    /// Checked at delivery time and not sent: read meanwhile, removed from the channel,
    /// message deleted, user active or in do-not-disturb.
    Skipped,
    /// Failed for good: the last attempt failed, or the endpoint refused it for good.
    Dead,
}

impl DeliveryState {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Pending => "pending",
            DeliveryState::Sent => "sent",
            DeliveryState::Skipped => "skipped",
            DeliveryState::Dead => "dead",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "pending" => Some(DeliveryState::Pending),
            "sent" => Some(DeliveryState::Sent),
            "skipped" => Some(DeliveryState::Skipped),
            "dead" => Some(DeliveryState::Dead),
            _ => None,
        }
    }
}

/// One delivery, with what the worker needs to carry it out.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    pub id: DeliveryId,
    pub workspace_id: WorkspaceId,
    pub user_id: UserId,
    pub channel_id: ChannelId,
    pub kind: DeliveryKind,
    pub state: DeliveryState,
    /// Push deliveries: the notification and its target (`None` if the target was
    /// deleted since; the delivery is then skipped).
    pub notification: Option<Notification>,
    pub target: Option<PushTarget>,
    /// Attempts started so far, this one included once claimed.
    pub attempts: u32,
    pub due_at: Timestamp,
    pub created_at: Timestamp,
    pub last_error: Option<String>,
}

/// How an attempt ended.
#[derive(Debug, Clone, PartialEq)]
pub enum DeliveryOutcome {
    /// Delivered. For an email, `through_seq` is the newest notification it listed: the
    /// next email of the conversation starts after it.
    Sent { through_seq: Option<i64> },
    /// Not sent, on purpose; the reason is kept (for example `read`, `active`).
    Skipped { reason: String },
    /// Failed; try again at `at`.
    Retry { at: Timestamp, error: String },
    /// Failed for good: kept as a dead letter for admins.
    Dead { error: String },
    /// The push service says the subscription no longer exists (404/410): the target is
    /// deleted, with its other pending deliveries.
    TargetGone { error: String },
}
