//! Messages, threads and reactions.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Message {
    pub id: String,
    pub channel_id: String,
    /// The workspace seq of its creation: its position in the channel.
    pub seq: i64,
    pub user_id: String,
    /// Empty once deleted.
    pub text: String,
    pub created_at: String,
    pub edited_at: Option<String>,
    pub deleted: bool,
    pub thread_root_id: Option<String>,
    pub reply_count: i64,
    pub last_reply_at: Option<String>,
    pub reactions: Vec<Reaction>,
    /// The files it shares; a file deleted since is no longer listed.
    pub files: Vec<crate::File>,
    pub client_msg_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Reaction {
    pub emoji: String,
    pub count: i64,
    pub user_ids: Vec<String>,
}

/// `POST /api/v1/channels/{id}/messages`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PostMessageRequest {
    /// 1 to 40,000 characters of Slack-style mrkdwn; may be empty when `file_ids` is not.
    #[serde(default)]
    pub text: String,
    /// Makes retries safe: a repeat with the same id returns the original message.
    /// 1 to 64 characters.
    #[serde(default)]
    pub client_msg_id: Option<String>,
    #[serde(default)]
    pub thread_root_id: Option<String>,
    /// Up to 10 uploaded files to share, each one the sender can see; repeats count once.
    #[serde(default)]
    pub file_ids: Vec<String>,
}

/// `PATCH /api/v1/messages/{id}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EditMessageRequest {
    pub text: String,
}

/// A page of messages, oldest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct MessagePage {
    pub messages: Vec<Message>,
    /// More messages exist beyond this page in the direction that was read.
    pub has_more: bool,
}
