//! The durable event log's vocabulary.
//!
//! Every durable change appends one or more events in the transaction that makes it, each
//! with a per-workspace `seq` strictly increasing in commit order. The log is the record
//! that realtime delivery and resume replay from; the bus only hints that it grew.
//!
//! Who may see an event is decided by its [`Audience`], evaluated against channel
//! membership *at the event's seq*: a member sees a channel's events from the first event
//! of the operation that made them a member (so a creator sees its `channel.created`,
//! which precedes their `member.joined`) through their own `member.left`, and nothing
//! after it.

use serde::{Deserialize, Serialize};

use crate::Timestamp;
use crate::id::{ChannelId, MessageId, UserId};
use crate::model::{Channel, Message, User};
use crate::value::Emoji;

/// One entry of a workspace's log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub seq: i64,
    pub created_at: Timestamp,
    pub payload: EventPayload,
}

/// Who may receive an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Audience {
    /// Every account of the workspace (profile changes, new accounts).
    Workspace,
    /// Whoever was a member of this channel at the event's seq.
    Channel(ChannelId),
    /// Only this user's own devices (read markers).
    User(UserId),
}

/// What happened. Snapshots (`message`, `channel`, `user`) are the state right after the
/// change, so replaying the log reproduces what REST would have returned at that point.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind")]
pub enum EventPayload {
    #[serde(rename = "message.created")]
    MessageCreated { message: Message },
    #[serde(rename = "message.updated")]
    MessageUpdated { message: Message },
    #[serde(rename = "message.deleted")]
    MessageDeleted { message: Message },
    #[serde(rename = "reaction.added")]
    ReactionAdded {
        channel_id: ChannelId,
        message_id: MessageId,
        user_id: UserId,
        emoji: Emoji,
    },
    #[serde(rename = "reaction.removed")]
    ReactionRemoved {
        channel_id: ChannelId,
        message_id: MessageId,
        user_id: UserId,
        emoji: Emoji,
    },
    /// `member_ids` are the founding members (sorted), who see the channel from this
    /// event on; their `member.joined` events follow in the same transaction.
    #[serde(rename = "channel.created")]
    ChannelCreated {
        channel: Channel,
        member_ids: Vec<UserId>,
    },
    #[serde(rename = "channel.updated")]
    ChannelUpdated { channel: Channel },
    #[serde(rename = "member.joined")]
    MemberJoined {
        channel_id: ChannelId,
        user_id: UserId,
    },
    #[serde(rename = "member.left")]
    MemberLeft {
        channel_id: ChannelId,
        user_id: UserId,
    },
    #[serde(rename = "read_marker.updated")]
    ReadMarkerUpdated {
        channel_id: ChannelId,
        user_id: UserId,
        last_read_seq: i64,
    },
    #[serde(rename = "user.created")]
    UserCreated { user: User },
    #[serde(rename = "user.updated")]
    UserUpdated { user: User },
}

impl EventPayload {
    /// The stable name of this kind of event, as on the wire.
    pub fn kind(&self) -> &'static str {
        match self {
            EventPayload::MessageCreated { .. } => "message.created",
            EventPayload::MessageUpdated { .. } => "message.updated",
            EventPayload::MessageDeleted { .. } => "message.deleted",
            EventPayload::ReactionAdded { .. } => "reaction.added",
            EventPayload::ReactionRemoved { .. } => "reaction.removed",
            EventPayload::ChannelCreated { .. } => "channel.created",
            EventPayload::ChannelUpdated { .. } => "channel.updated",
            EventPayload::MemberJoined { .. } => "member.joined",
            EventPayload::MemberLeft { .. } => "member.left",
            EventPayload::ReadMarkerUpdated { .. } => "read_marker.updated",
            EventPayload::UserCreated { .. } => "user.created",
            EventPayload::UserUpdated { .. } => "user.updated",
        }
    }

    /// Who may see this event.
    pub fn audience(&self) -> Audience {
        match self {
            EventPayload::MessageCreated { message }
            | EventPayload::MessageUpdated { message }
            | EventPayload::MessageDeleted { message } => {
                Audience::Channel(message.channel_id.clone())
            }
            EventPayload::ReactionAdded { channel_id, .. }
            | EventPayload::ReactionRemoved { channel_id, .. }
            | EventPayload::MemberJoined { channel_id, .. }
            | EventPayload::MemberLeft { channel_id, .. } => Audience::Channel(channel_id.clone()),
            EventPayload::ChannelCreated { channel, .. }
            | EventPayload::ChannelUpdated { channel } => Audience::Channel(channel.id.clone()),
            EventPayload::ReadMarkerUpdated { user_id, .. } => Audience::User(user_id.clone()),
            EventPayload::UserCreated { .. } | EventPayload::UserUpdated { .. } => {
                Audience::Workspace
            }
        }
    }
}

/// A page of the log as one user may see it.
#[derive(Debug, Clone, PartialEq)]
pub enum EventPage {
    /// Visible events after the requested seq, oldest first, and the seq the reader has
    /// now caught up to (pass it as the next `after`), which may be past the last visible
    /// event when the events in between were not for this reader.
    Events { events: Vec<Event>, last_seq: i64 },
    /// The requested seq is older than the log's retention or newer than the log: the
    /// client must reload its state over REST. Never a silent partial replay.
    ResyncRequired,
}
