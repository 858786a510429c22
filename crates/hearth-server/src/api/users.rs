//! Listing people, viewing them, editing one's profile, and admin changes to accounts.

use axum::extract::State;
use hearth_core::cursor;
use hearth_core::id::UserId;
use hearth_core::model::Role;
use hearth_core::permission;
use hearth_core::store::UserPatch;
use hearth_core::value::{DisplayName, Emoji, Handle, StatusText, ValidationError};
use hearth_proto as wire;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::api::access::{self, not_found_as};
use crate::auth::CurrentUser;
use crate::convert;
use crate::error::{ApiResult, NotFound};
use crate::extract::{Json, Path, Query};
use crate::state::AppState;

/// Cursor paging for lists ordered by id.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct PageParams {
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// 1 to 200, default 50.
    pub limit: Option<u32>,
}

impl PageParams {
    /// The id to continue after and the page size.
    pub fn parse(&self) -> Result<(Option<UserId>, u32), ValidationError> {
        let limit = cursor::page_limit(self.limit)?;
        let after = match &self.cursor {
            None => None,
            Some(c) => Some(UserId::parse(&cursor::decode(c)?).ok_or_else(|| {
                ValidationError::new("invalid_cursor", "The cursor is not valid.")
            })?),
        };
        Ok((after, limit))
    }
}

/// The cursor for the page after `items`, if it was full.
pub fn next_cursor(last: Option<&UserId>, returned: usize, limit: u32) -> Option<String> {
    (returned == limit as usize)
        .then(|| last.map(|id| cursor::encode(id.as_str())))
        .flatten()
}

#[utoipa::path(
    get, path = "/api/v1/users", tag = "users", params(PageParams),
    responses((status = 200, body = wire::UserList), (status = 400, body = wire::ErrorBody)),
    security(("bearer" = []))
)]
pub async fn list_users(
    State(state): State<AppState>,
    me: CurrentUser,
    Query(page): Query<PageParams>,
) -> ApiResult<Json<wire::UserList>> {
    let (after, limit) = page.parse()?;
    let users = state
        .store
        .list_users(&me.user.workspace_id, after.as_ref(), limit)
        .await?;
    let next_cursor = next_cursor(users.last().map(|u| &u.id), users.len(), limit);
    Ok(Json(wire::UserList {
        users: users.iter().map(convert::user).collect(),
        next_cursor,
    }))
}

#[utoipa::path(
    get, path = "/api/v1/users/{id}", tag = "users",
    params(("id" = String, Path, description = "user id")),
    responses((status = 200, body = wire::User), (status = 404, body = wire::ErrorBody)),
    security(("bearer" = []))
)]
pub async fn get_user(
    State(state): State<AppState>,
    me: CurrentUser,
    Path(id): Path<String>,
) -> ApiResult<Json<wire::User>> {
    let user = access::user(&state, &me.user, &id).await?;
    Ok(Json(convert::user(&user)))
}

#[utoipa::path(
    patch, path = "/api/v1/users/me", tag = "users",
    request_body = wire::UpdateProfileRequest,
    responses(
        (status = 200, body = wire::User),
        (status = 409, description = "handle_taken", body = wire::ErrorBody),
        (status = 422, body = wire::ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn update_me(
    State(state): State<AppState>,
    me: CurrentUser,
    Json(req): Json<wire::UpdateProfileRequest>,
) -> ApiResult<Json<wire::User>> {
    let patch = UserPatch {
        display_name: req
            .display_name
            .as_deref()
            .map(DisplayName::parse)
            .transpose()?,
        handle: req.handle.as_deref().map(Handle::parse).transpose()?,
        status_text: req
            .status_text
            .as_deref()
            .map(StatusText::parse)
            .transpose()?,
        status_emoji: match req.status_emoji.as_deref() {
            None => None,
            Some("") => Some(None),
            Some(raw) => Some(Some(Emoji::parse(raw)?)),
        },
        role: None,
        deactivated: None,
    };
    let user = state
        .store
        .update_user(&me.user.workspace_id, &me.user.id, patch)
        .await?;
    Ok(Json(convert::user(&user.value)))
}

#[utoipa::path(
    patch, path = "/api/v1/users/{id}", tag = "users",
    params(("id" = String, Path, description = "user id")),
    request_body = wire::AdminUpdateUserRequest,
    responses(
        (status = 200, body = wire::User),
        (status = 403, description = "not_admin or not_owner", body = wire::ErrorBody),
        (status = 404, body = wire::ErrorBody),
        (status = 422, description = "last_owner or invalid_role", body = wire::ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn admin_update_user(
    State(state): State<AppState>,
    me: CurrentUser,
    Path(id): Path<String>,
    Json(req): Json<wire::AdminUpdateUserRequest>,
) -> ApiResult<Json<wire::User>> {
    let target = access::user(&state, &me.user, &id).await?;
    let role = req
        .role
        .as_deref()
        .map(|raw| {
            Role::parse(raw).ok_or_else(|| {
                ValidationError::new(
                    "invalid_role",
                    "role must be owner, admin, member or guest.",
                )
            })
        })
        .transpose()?;
    permission::can_administer(&me.user, &target, role)?;
    let patch = UserPatch {
        role,
        deactivated: req.deactivated,
        ..UserPatch::default()
    };
    let user = state
        .store
        .update_user(&me.user.workspace_id, &target.id, patch)
        .await
        .map_err(|e| not_found_as(NotFound::User)(e.into()))?;
    if req.deactivated == Some(true) {
        tracing::info!(user = %target.id, by = %me.user.id, "account deactivated, sessions revoked");
    }
    Ok(Json(convert::user(&user.value)))
}
