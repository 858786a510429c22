//! Channels, DMs, membership and read markers.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::User;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Channel {
    pub id: String,
    /// `public`, `private`, `dm` or `group_dm`.
    pub kind: String,
    /// Absent for DMs and group DMs.
    pub name: Option<String>,
    pub topic: String,
    pub purpose: String,
    pub archived: bool,
    pub created_by: String,
    pub created_at: String,
    /// The seq of the newest top-level message; 0 when there is none.
    pub last_seq: i64,
}

/// A channel in the caller's sidebar, with its badges.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct MyChannel {
    #[serde(flatten)]
    pub channel: Channel,
    pub last_read_seq: i64,
    pub unread_count: i64,
    pub mention_count: i64,
    /// For DMs and group DMs: the other participants.
    pub member_ids: Vec<String>,
}

/// `GET /api/v1/channels`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct MyChannelList {
    pub channels: Vec<MyChannel>,
}

/// `GET /api/v1/channels/browse`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct BrowseList {
    pub channels: Vec<BrowseItem>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct BrowseItem {
    #[serde(flatten)]
    pub channel: Channel,
    pub member_count: i64,
    /// Whether the caller is a member.
    pub is_member: bool,
}

/// `POST /api/v1/channels`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateChannelRequest {
    pub name: String,
    #[serde(default)]
    pub private: bool,
    #[serde(default)]
    pub topic: Option<String>,
    #[serde(default)]
    pub purpose: Option<String>,
}

/// `PATCH /api/v1/channels/{id}`. Absent fields stay as they are.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateChannelRequest {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub topic: Option<String>,
    #[serde(default)]
    pub purpose: Option<String>,
    #[serde(default)]
    pub archived: Option<bool>,
}

/// `GET /api/v1/channels/{id}`: the channel and the caller's membership, if any.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ChannelResponse {
    pub channel: Channel,
    pub is_member: bool,
    pub last_read_seq: Option<i64>,
}

/// `POST /api/v1/channels/{id}/members`: add up to 100 accounts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddMembersRequest {
    pub user_ids: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AddMembersResponse {
    /// The accounts that were not members before.
    pub added: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Member {
    pub user: User,
    /// `admin` or `member` of this channel.
    pub role: String,
    pub joined_at: String,
}

/// `GET /api/v1/channels/{id}/members`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct MemberList {
    pub members: Vec<Member>,
    pub next_cursor: Option<String>,
}

/// `POST /api/v1/dms`: the DM or group DM with these people (the caller is implied).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OpenDmRequest {
    /// 0 (a note to self) to 8 other accounts.
    pub user_ids: Vec<String>,
}

/// `POST /api/v1/channels/{id}/read`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MarkReadRequest {
    /// Everything up to and including this seq is read. May move backwards (mark unread).
    pub seq: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ReadMarker {
    pub channel_id: String,
    pub last_read_seq: i64,
}
