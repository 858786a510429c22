//! Workspaces, accounts, sessions and invites.

use serde::{Deserialize, Serialize};

use crate::Timestamp;
use crate::id::{InviteId, UserId, WorkspaceId};
use crate::value::{DisplayName, Email, Emoji, Handle, StatusText, WorkspaceName, WorkspaceSlug};

/// A tenant. Nothing of one workspace is ever visible from another.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Workspace {
    pub id: WorkspaceId,
    pub name: WorkspaceName,
    pub slug: WorkspaceSlug,
    pub created_at: Timestamp,
}

/// What an account may do in its workspace, most powerful first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Owner,
    Admin,
    Member,
    /// Sees only the channels it was added to; cannot browse, join or create channels.
    Guest,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Admin => "admin",
            Role::Member => "member",
            Role::Guest => "guest",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "owner" => Some(Role::Owner),
            "admin" => Some(Role::Admin),
            "member" => Some(Role::Member),
            "guest" => Some(Role::Guest),
            _ => None,
        }
    }

    /// Owners and admins administer the workspace.
    pub fn is_admin(self) -> bool {
        matches!(self, Role::Owner | Role::Admin)
    }
}

/// An account. Accounts belong to one workspace, as in Slack.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct User {
    pub id: UserId,
    pub workspace_id: WorkspaceId,
    pub email: Email,
    pub handle: Handle,
    pub display_name: DisplayName,
    pub role: Role,
    pub status_text: StatusText,
    pub status_emoji: Option<Emoji>,
    pub deactivated: bool,
    pub created_at: Timestamp,
}

/// What login needs: the account and its Argon2id PHC hash. Never leaves the server.
#[derive(Debug, Clone)]
pub struct Credentials {
    pub user: User,
    pub password_hash: String,
}

/// A signed-in device. The token itself is never stored, only its SHA-256.
#[derive(Debug, Clone)]
pub struct Session {
    pub user: User,
    pub expires_at: Timestamp,
}

/// An invitation to join a workspace. With an `email`, it is single-use and only that
/// address may redeem it; without one it is a shareable link, valid until it expires.
#[derive(Debug, Clone, PartialEq)]
pub struct Invite {
    pub id: InviteId,
    pub workspace_id: WorkspaceId,
    pub email: Option<Email>,
    pub role: Role,
    pub created_by: UserId,
    pub expires_at: Timestamp,
    pub created_at: Timestamp,
}
