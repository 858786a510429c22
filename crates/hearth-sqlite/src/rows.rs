//! Rows as SQLite returns them, and how they become domain types.
//!
//! Queries select the column lists defined here (as macros, so SQL stays `&'static str`
//! through `concat!`) with fixed table aliases: `u` users, `c` channels, `mb`
//! memberships, `m` messages. Values read back were validated when written, so they are
//! rebuilt with `from_trusted`; an enum we cannot parse means a corrupt row.

use hearth_core::Timestamp;
use hearth_core::id::{ChannelId, InviteId, MessageId, UserId, WorkspaceId};
use hearth_core::model::{
    Attachment, Channel, ChannelKind, ChannelRole, Invite, Membership, Message, Role, User,
    Workspace,
};
use hearth_core::store::{StoreResult, reactions_column};
use hearth_core::value::{
    ChannelName, ChannelPurpose, ChannelTopic, DisplayName, Email, Emoji, Handle, StatusText,
    WorkspaceName, WorkspaceSlug,
};
use sqlx::FromRow;

use crate::error::corrupt;

macro_rules! user_columns {
    () => {
        "u.id, u.workspace_id, u.email, u.handle, u.display_name, u.role, u.status_text, \
         u.status_emoji, u.deactivated, u.created_at"
    };
}

macro_rules! channel_columns {
    () => {
        "c.id, c.workspace_id, c.kind, c.name, c.topic, c.purpose, c.archived, c.created_by, \
         c.created_at, c.last_message_seq"
    };
}

/// `role` is renamed because member lists select it next to the account's role.
macro_rules! membership_columns {
    () => {
        "mb.channel_id, mb.user_id, mb.role AS channel_role, mb.last_read_seq, mb.joined_at"
    };
}

macro_rules! message_columns {
    () => {
        "m.id, m.workspace_id, m.channel_id, m.seq, m.user_id, m.text, m.created_at, \
         m.edited_at, m.deleted, m.thread_root_id, m.reply_count, m.last_reply_at, \
         m.client_msg_id, m.files"
    };
}

/// A message's reactions as one column: a JSON array of `[user_id, emoji]` pairs in the
/// order they were made, NULL when there are none (read by
/// `hearth_core::store::reactions_column`).
macro_rules! message_reactions {
    () => {
        "(SELECT json_group_array(json_array(r.user_id, r.emoji) ORDER BY r.created_at, r.rowid) \
         FROM reactions r WHERE r.message_id = m.id AND r.workspace_id = m.workspace_id \
         HAVING count(*) > 0) AS reactions"
    };
}

pub(crate) use {
    channel_columns, membership_columns, message_columns, message_reactions, user_columns,
};

/// A list as a JSON array, so it binds as one parameter (read back with `json_each`) and
/// the SQL stays static whatever the list's length.
pub(crate) fn json_list<'a>(items: impl IntoIterator<Item = &'a str>) -> String {
    let items: Vec<&str> = items.into_iter().collect();
    // Serialising strings cannot fail.
    serde_json::to_string(&items).unwrap_or_default()
}

/// A message's `files` column: its attachments as JSON.
pub(crate) fn attachments(json: &str) -> StoreResult<Vec<Attachment>> {
    serde_json::from_str(json).map_err(|_| corrupt("message files", json))
}

/// The `files` column of a message with these attachments: NULL when there are none.
pub(crate) fn attachments_column(files: &[Attachment]) -> Option<String> {
    // Serialising plain data cannot fail.
    (!files.is_empty()).then(|| serde_json::to_string(files).unwrap_or_default())
}

fn role(s: &str) -> StoreResult<Role> {
    Role::parse(s).ok_or_else(|| corrupt("role", s))
}

#[derive(FromRow)]
pub(crate) struct WorkspaceRow {
    id: String,
    name: String,
    slug: String,
    created_at: i64,
}

impl WorkspaceRow {
    pub(crate) fn into_workspace(self) -> Workspace {
        Workspace {
            id: WorkspaceId::from_trusted(self.id),
            name: WorkspaceName::from_trusted(self.name),
            slug: WorkspaceSlug::from_trusted(self.slug),
            created_at: Timestamp(self.created_at),
        }
    }
}

#[derive(FromRow)]
pub(crate) struct UserRow {
    id: String,
    workspace_id: String,
    email: String,
    handle: String,
    display_name: String,
    role: String,
    status_text: String,
    status_emoji: Option<String>,
    deactivated: bool,
    created_at: i64,
}

impl UserRow {
    pub(crate) fn into_user(self) -> StoreResult<User> {
        Ok(User {
            role: role(&self.role)?,
            id: UserId::from_trusted(self.id),
            workspace_id: WorkspaceId::from_trusted(self.workspace_id),
            email: Email::from_trusted(self.email),
            handle: Handle::from_trusted(self.handle),
            display_name: DisplayName::from_trusted(self.display_name),
            status_text: StatusText::from_trusted(self.status_text),
            status_emoji: self.status_emoji.map(Emoji::from_trusted),
            deactivated: self.deactivated,
            created_at: Timestamp(self.created_at),
        })
    }
}

#[derive(FromRow)]
pub(crate) struct ChannelRow {
    id: String,
    workspace_id: String,
    kind: String,
    name: Option<String>,
    topic: String,
    purpose: String,
    archived: bool,
    created_by: String,
    created_at: i64,
    last_message_seq: i64,
}

impl ChannelRow {
    pub(crate) fn into_channel(self) -> StoreResult<Channel> {
        Ok(Channel {
            kind: ChannelKind::parse(&self.kind).ok_or_else(|| corrupt("kind", &self.kind))?,
            id: ChannelId::from_trusted(self.id),
            workspace_id: WorkspaceId::from_trusted(self.workspace_id),
            name: self.name.map(ChannelName::from_trusted),
            topic: ChannelTopic::from_trusted(self.topic),
            purpose: ChannelPurpose::from_trusted(self.purpose),
            archived: self.archived,
            created_by: UserId::from_trusted(self.created_by),
            created_at: Timestamp(self.created_at),
            last_message_seq: self.last_message_seq,
        })
    }
}

#[derive(FromRow)]
pub(crate) struct MembershipRow {
    pub(crate) channel_id: String,
    pub(crate) user_id: String,
    pub(crate) channel_role: String,
    pub(crate) last_read_seq: i64,
    pub(crate) joined_at: i64,
}

impl MembershipRow {
    pub(crate) fn into_membership(self) -> StoreResult<Membership> {
        Ok(Membership {
            role: ChannelRole::parse(&self.channel_role)
                .ok_or_else(|| corrupt("channel role", &self.channel_role))?,
            channel_id: ChannelId::from_trusted(self.channel_id),
            user_id: UserId::from_trusted(self.user_id),
            last_read_seq: self.last_read_seq,
            joined_at: Timestamp(self.joined_at),
        })
    }
}

/// A message without its reactions, which [`crate::reactions::attach`] loads for a whole
/// page at once.
#[derive(FromRow)]
pub(crate) struct MessageRow {
    pub(crate) id: String,
    workspace_id: String,
    pub(crate) channel_id: String,
    seq: i64,
    user_id: String,
    text: String,
    created_at: i64,
    edited_at: Option<i64>,
    pub(crate) deleted: bool,
    pub(crate) thread_root_id: Option<String>,
    reply_count: i64,
    last_reply_at: Option<i64>,
    client_msg_id: Option<String>,
    files: Option<String>,
}

impl MessageRow {
    pub(crate) fn into_message(self) -> StoreResult<Message> {
        let files = match &self.files {
            Some(json) => attachments(json)?,
            None => Vec::new(),
        };
        Ok(Message {
            id: MessageId::from_trusted(self.id),
            workspace_id: WorkspaceId::from_trusted(self.workspace_id),
            channel_id: ChannelId::from_trusted(self.channel_id),
            seq: self.seq,
            user_id: UserId::from_trusted(self.user_id),
            text: self.text,
            created_at: Timestamp(self.created_at),
            edited_at: self.edited_at.map(Timestamp),
            deleted: self.deleted,
            thread_root_id: self.thread_root_id.map(MessageId::from_trusted),
            reply_count: self.reply_count,
            last_reply_at: self.last_reply_at.map(Timestamp),
            reactions: Vec::new(),
            files,
            client_msg_id: self.client_msg_id,
        })
    }
}

/// A message of a history page with its reactions aggregated into one column (see
/// [`crate::messages::list_messages`]), so a page is one statement.
#[derive(FromRow)]
pub(crate) struct PageRow {
    #[sqlx(flatten)]
    message: MessageRow,
    reactions: Option<String>,
}

impl PageRow {
    pub(crate) fn into_message(self) -> StoreResult<Message> {
        Ok(Message {
            reactions: reactions_column(self.reactions.as_deref())?,
            ..self.message.into_message()?
        })
    }
}

#[derive(FromRow)]
pub(crate) struct InviteRow {
    id: String,
    workspace_id: String,
    email: Option<String>,
    role: String,
    created_by: String,
    expires_at: i64,
    created_at: i64,
}

impl InviteRow {
    pub(crate) fn into_invite(self) -> StoreResult<Invite> {
        Ok(Invite {
            role: role(&self.role)?,
            id: InviteId::from_trusted(self.id),
            workspace_id: WorkspaceId::from_trusted(self.workspace_id),
            email: self.email.map(Email::from_trusted),
            created_by: UserId::from_trusted(self.created_by),
            expires_at: Timestamp(self.expires_at),
            created_at: Timestamp(self.created_at),
        })
    }
}
