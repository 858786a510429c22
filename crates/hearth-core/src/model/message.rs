//! Messages, thread replies and reactions.

use serde::{Deserialize, Serialize};

use super::Attachment;
use crate::Timestamp;
use crate::id::{ChannelId, MessageId, UserId, WorkspaceId};
use crate::value::Emoji;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    pub id: MessageId,
    pub workspace_id: WorkspaceId,
    pub channel_id: ChannelId,
    /// The workspace seq of this message's creation: its position in the channel.
    pub seq: i64,
    pub user_id: UserId,
    /// Empty once deleted: a deleted message is a tombstone that keeps its place.
    pub text: String,
    pub created_at: Timestamp,
    pub edited_at: Option<Timestamp>,
    pub deleted: bool,
    pub thread_root_id: Option<MessageId>,
    /// For a thread root: how many replies it has (deleted replies excluded).
    pub reply_count: i64,
    pub last_reply_at: Option<Timestamp>,
    pub reactions: Vec<ReactionSummary>,
    /// The files it shares, in the order they were given; empty once deleted.
    #[serde(default)]
    pub files: Vec<Attachment>,
    pub client_msg_id: Option<String>,
}

/// All reactions of one emoji on one message, in the order people reacted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReactionSummary {
    pub emoji: Emoji,
    pub count: i64,
    pub user_ids: Vec<UserId>,
}
