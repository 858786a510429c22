//! The durable event log as clients receive it.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::{Channel, Message, User};

/// One event of the workspace's log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Event {
    /// Strictly increasing per workspace, in commit order.
    pub seq: i64,
    pub created_at: String,
    pub event: EventBody,
}

/// What happened, tagged by `kind`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "kind")]
pub enum EventBody {
    #[serde(rename = "message.created")]
    MessageCreated {
        channel_id: String,
        message: Message,
    },
    #[serde(rename = "message.updated")]
    MessageUpdated {
        channel_id: String,
        message: Message,
    },
    #[serde(rename = "message.deleted")]
    MessageDeleted {
        channel_id: String,
        message: Message,
    },
    #[serde(rename = "reaction.added")]
    ReactionAdded {
        channel_id: String,
        message_id: String,
        user_id: String,
        emoji: String,
    },
    #[serde(rename = "reaction.removed")]
    ReactionRemoved {
        channel_id: String,
        message_id: String,
        user_id: String,
        emoji: String,
    },
    /// `member_ids`: the founding members.
    #[serde(rename = "channel.created")]
    ChannelCreated {
        channel_id: String,
        channel: Channel,
        member_ids: Vec<String>,
    },
    #[serde(rename = "channel.updated")]
    ChannelUpdated {
        channel_id: String,
        channel: Channel,
    },
    #[serde(rename = "member.joined")]
    MemberJoined { channel_id: String, user_id: String },
    #[serde(rename = "member.left")]
    MemberLeft { channel_id: String, user_id: String },
    /// Sent only to the reader's own devices.
    #[serde(rename = "read_marker.updated")]
    ReadMarkerUpdated {
        channel_id: String,
        last_read_seq: i64,
    },
    #[serde(rename = "user.created")]
    UserCreated { user: User },
    #[serde(rename = "user.updated")]
    UserUpdated { user: User },
}

/// `GET /api/v1/events?after=SEQ`: the caller's view of the log. When `after` is older
/// than the log's retention or newer than the log, the answer is instead 410 with code
/// `resync_required`: reload state over REST, then follow from `GET /api/v1/events`'s
/// `last_seq`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct EventList {
    pub events: Vec<Event>,
    /// Pass as `after` next time; may be past the last event listed when the events in
    /// between were not visible to the caller.
    pub last_seq: i64,
    /// More events are waiting: ask again straight away.
    pub has_more: bool,
}
