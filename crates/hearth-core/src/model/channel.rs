//! Channels, DMs and group DMs, and who is in them.

use serde::{Deserialize, Serialize};

use crate::Timestamp;
use crate::id::{ChannelId, UserId, WorkspaceId};
use crate::model::User;
use crate::value::{ChannelName, ChannelPurpose, ChannelTopic};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChannelKind {
    /// Any non-guest member of the workspace can see, read and join it.
    Public,
    /// Visible only to its members; exists for everyone else only as "not found".
    Private,
    /// A conversation between two people (or one person and themself).
    Dm,
    /// A conversation between three to nine people.
    GroupDm,
}

impl ChannelKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ChannelKind::Public => "public",
            ChannelKind::Private => "private",
            ChannelKind::Dm => "dm",
            ChannelKind::GroupDm => "group_dm",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "public" => Some(ChannelKind::Public),
            "private" => Some(ChannelKind::Private),
            "dm" => Some(ChannelKind::Dm),
            "group_dm" => Some(ChannelKind::GroupDm),
            _ => None,
        }
    }

    pub fn is_conversation(self) -> bool {
        matches!(self, ChannelKind::Dm | ChannelKind::GroupDm)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Channel {
    pub id: ChannelId,
    pub workspace_id: WorkspaceId,
    pub kind: ChannelKind,
    /// None for DMs and group DMs, which are named by their members.
    pub name: Option<ChannelName>,
    pub topic: ChannelTopic,
    pub purpose: ChannelPurpose,
    pub archived: bool,
    pub created_by: UserId,
    pub created_at: Timestamp,
    /// The seq of the newest top-level message, 0 when there is none.
    pub last_message_seq: i64,
}

/// A member's standing within one channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChannelRole {
    /// Created the channel (or was made its admin): may rename, archive, remove members.
    Admin,
    Member,
}

impl ChannelRole {
    pub fn as_str(self) -> &'static str {
        match self {
            ChannelRole::Admin => "admin",
            ChannelRole::Member => "member",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "admin" => Some(ChannelRole::Admin),
            "member" => Some(ChannelRole::Member),
            _ => None,
        }
    }
}

/// One user's membership in one channel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Membership {
    pub channel_id: ChannelId,
    pub user_id: UserId,
    pub role: ChannelRole,
    /// Everything up to and including this seq has been read.
    pub last_read_seq: i64,
    pub joined_at: Timestamp,
}

/// A channel as it appears in its member's sidebar.
#[derive(Debug, Clone, PartialEq)]
pub struct ChannelSummary {
    pub channel: Channel,
    pub membership: Membership,
    /// Top-level messages by others after the read marker, not deleted.
    pub unread_count: i64,
    /// Of those, the ones that mention this user, @channel/@everyone/@here, or any message
    /// in a DM or group DM.
    pub mention_count: i64,
    /// For DMs and group DMs: the other participants, so the client can name them.
    pub member_ids: Vec<UserId>,
}

/// A row of a channel's member list.
#[derive(Debug, Clone, PartialEq)]
pub struct Member {
    pub user: User,
    pub membership: Membership,
}
