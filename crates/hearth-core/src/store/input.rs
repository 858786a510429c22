//! What callers hand the store (validated inputs, partial updates) and the composite
//! results some of its methods return.

use crate::Timestamp;
use crate::id::{ChannelId, FileId, MessageId, UserId, WorkspaceId};
use crate::mention::Mentions;
use crate::model::{ChannelKind, ImageSize, Message, Role};
use crate::secret::SecretHash;
use crate::value::{
    ChannelName, ChannelPurpose, ChannelTopic, DisplayName, Email, Emoji, FileName, Handle,
    MessageText, StatusText, WorkspaceName, WorkspaceSlug,
};

#[derive(Debug, Clone)]
pub struct NewWorkspace {
    pub name: WorkspaceName,
    pub slug: WorkspaceSlug,
}

/// A new account. Without a `handle`, one is derived from the email and, if taken, the
/// store appends the smallest number that makes it unique (`ada2`). An explicitly chosen
/// handle that is taken is `Conflict("handle_taken")` instead.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub email: Email,
    pub handle: Option<Handle>,
    pub display_name: DisplayName,
    pub role: Role,
    /// The Argon2id PHC string.
    pub password_hash: String,
}

#[derive(Debug, Clone)]
pub struct NewSession {
    pub workspace_id: WorkspaceId,
    pub user_id: UserId,
    pub token: SecretHash,
    pub expires_at: Timestamp,
}

#[derive(Debug, Clone)]
pub struct NewInvite {
    pub workspace_id: WorkspaceId,
    pub code: SecretHash,
    pub email: Option<Email>,
    pub role: Role,
    pub created_by: UserId,
    pub expires_at: Timestamp,
}

/// A partial update of an account; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct UserPatch {
    pub display_name: Option<DisplayName>,
    pub handle: Option<Handle>,
    pub status_text: Option<StatusText>,
    /// `Some(None)` clears the status emoji.
    pub status_emoji: Option<Option<Emoji>>,
    pub role: Option<Role>,
    pub deactivated: Option<bool>,
}

#[derive(Debug, Clone)]
pub struct NewChannel {
    /// Public or private; conversations are made by `open_conversation`.
    pub kind: ChannelKind,
    pub name: ChannelName,
    pub topic: ChannelTopic,
    pub purpose: ChannelPurpose,
}

/// A partial update of a channel; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct ChannelPatch {
    pub name: Option<ChannelName>,
    pub topic: Option<ChannelTopic>,
    pub purpose: Option<ChannelPurpose>,
    pub archived: Option<bool>,
}

impl ChannelPatch {
    pub fn renames_or_archives(&self) -> bool {
        self.name.is_some() || self.archived.is_some()
    }
}

#[derive(Debug, Clone)]
pub struct NewMessage {
    pub channel_id: ChannelId,
    pub author: UserId,
    pub text: MessageText,
    /// Parsed from `text` by the caller; the store resolves handles to accounts.
    pub mentions: Mentions,
    pub client_msg_id: Option<String>,
    pub thread_root_id: Option<MessageId>,
    /// Files to share, at most [`crate::model::MAX_FILES_PER_MESSAGE`], without repeats;
    /// the caller has checked that the author may see each one. With files, `text` may
    /// be empty.
    pub file_ids: Vec<FileId>,
}

impl NewMessage {
    /// Whether this send, which reuses the `client_msg_id` of `original`, can be a retry
    /// of it: the same channel and thread, and while the original is untouched (neither
    /// edited nor deleted, which a retry could not know of) the same text and files. A
    /// file deleted since is gone from the original, so the files it still has must be
    /// the ones named, in order, less any deleted.
    pub fn may_retry(&self, original: &Message) -> bool {
        let untouched = original.edited_at.is_none() && !original.deleted;
        let mut named = self.file_ids.iter();
        let same_files = original
            .files
            .iter()
            .all(|kept| named.any(|id| *id == kept.id));
        let same_content = !untouched || (original.text == self.text.as_str() && same_files);
        same_content
            && original.channel_id == self.channel_id
            && original.thread_root_id == self.thread_root_id
    }
}

/// A file whose bytes are already in object storage, to record.
#[derive(Debug, Clone)]
pub struct NewFile {
    pub uploader: UserId,
    pub name: FileName,
    pub size: i64,
    pub mime_type: String,
    pub image: Option<ImageSize>,
    pub has_thumbnail: bool,
    pub storage_key: String,
    pub sha256: String,
}

/// The outcome of `post_message`.
#[derive(Debug, Clone)]
pub struct Posted {
    pub message: Message,
    /// True when `client_msg_id` matched an earlier send: nothing new was stored.
    pub replayed: bool,
    pub events: Vec<crate::event::Event>,
}

/// Which part of a channel's history to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HistoryRange {
    /// The newest `limit` messages with seq below `before` (`i64::MAX` for the latest).
    Before { before: i64, limit: u32 },
    /// The oldest `limit` messages with seq above `after`.
    After { after: i64, limit: u32 },
}

/// A page of messages, oldest first, and whether more exist beyond it in the direction
/// that was read.
#[derive(Debug, Clone, PartialEq)]
pub struct MessagePage {
    pub messages: Vec<Message>,
    pub has_more: bool,
}

/// Where a realtime connection starts (see [`Store::subscription`](super::Store::subscription)):
/// the user's channels and the seq to follow the log from, read in one snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscription {
    /// Every channel, private channel, DM and group DM the user is a member of, sorted.
    pub channel_ids: Vec<ChannelId>,
    /// The workspace's newest seq when the memberships were read: every event after it
    /// committed later, so following the log from here misses no change to them.
    pub last_seq: i64,
}
