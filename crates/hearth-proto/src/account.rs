//! Workspaces, authentication, invites and user profiles.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Workspace {
    pub id: String,
    pub name: String,
    pub slug: String,
    pub created_at: String,
}

/// An account as other members of its workspace see it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct User {
    pub id: String,
    pub handle: String,
    pub display_name: String,
    pub email: String,
    /// `owner`, `admin`, `member` or `guest`.
    pub role: String,
    pub status_text: String,
    pub status_emoji: Option<String>,
    pub deactivated: bool,
    pub created_at: String,
}

/// `POST /api/v1/workspaces`: a new workspace and its owner.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateWorkspaceRequest {
    pub name: String,
    pub slug: String,
    pub email: String,
    pub password: String,
    pub display_name: String,
    /// Defaults to the email's local part.
    #[serde(default)]
    pub handle: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CreateWorkspaceResponse {
    pub workspace: Workspace,
    pub user: User,
    /// A session token for `Authorization: Bearer`. Absent when the request asked for a
    /// cookie session (`X-Hearth-Session: cookie`): the browser then holds the token in an
    /// HttpOnly cookie that scripts cannot read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// With a cookie session only: the value to send as `X-CSRF-Token` on every request
    /// that is not GET or HEAD (also set as the readable `hearth_csrf` cookie).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub csrf_token: Option<String>,
}

/// `POST /api/v1/auth/login`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    /// The workspace's slug.
    pub workspace: String,
    pub email: String,
    pub password: String,
}

/// A signed-in session: `POST /api/v1/auth/login` and `POST /api/v1/auth/signup`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SessionResponse {
    pub workspace: Workspace,
    pub user: User,
    /// A session token for `Authorization: Bearer`. Absent when the request asked for a
    /// cookie session (`X-Hearth-Session: cookie`): the browser then holds the token in an
    /// HttpOnly cookie that scripts cannot read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// With a cookie session only: the value to send as `X-CSRF-Token` on every request
    /// that is not GET or HEAD (also set as the readable `hearth_csrf` cookie).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub csrf_token: Option<String>,
}

/// `POST /api/v1/auth/signup`: join a workspace with an invite code.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignupRequest {
    pub workspace: String,
    pub invite_code: String,
    pub email: String,
    pub password: String,
    pub display_name: String,
    #[serde(default)]
    pub handle: Option<String>,
}

/// `POST /api/v1/invites`. With an email the invite is single-use and only that address
/// may redeem it; without one it is a link anyone may use until it expires.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateInviteRequest {
    #[serde(default)]
    pub email: Option<String>,
    /// `member` (default), `guest` or `admin`.
    #[serde(default)]
    pub role: Option<String>,
    /// 1 to 720 hours; default 168 (7 days).
    #[serde(default)]
    pub expires_in_hours: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct InviteResponse {
    /// The secret code, shown only once.
    pub code: String,
    pub email: Option<String>,
    pub role: String,
    pub expires_at: String,
}

/// `GET /api/v1/me`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct MeResponse {
    pub workspace: Workspace,
    pub user: User,
}

/// `GET /api/v1/users`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct UserList {
    pub users: Vec<User>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// `PATCH /api/v1/users/me`: change one's own profile. Absent fields stay as they are.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateProfileRequest {
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub handle: Option<String>,
    #[serde(default)]
    pub status_text: Option<String>,
    /// An emoji shortcode, or `""` to clear it.
    #[serde(default)]
    pub status_emoji: Option<String>,
}

/// `PATCH /api/v1/users/{id}` (admins): change a role or (de)activate an account.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AdminUpdateUserRequest {
    /// `owner`, `admin`, `member` or `guest`.
    #[serde(default)]
    pub role: Option<String>,
    /// Deactivating signs the account out everywhere at once.
    #[serde(default)]
    pub deactivated: Option<bool>,
}
