//! Channel membership, direct messages and read markers.

use axum::extract::State;
use axum::http::StatusCode;
use hearth_core::permission;
use hearth_core::value::ValidationError;
use hearth_proto as wire;

use crate::api::access::{self, not_found_as};
use crate::api::users::{PageParams, next_cursor};
use crate::auth::CurrentUser;
use crate::convert;
use crate::error::{ApiError, ApiResult, NotFound};
use crate::extract::{Json, Path, Query};
use crate::state::AppState;

/// The most accounts one `add members` call takes.
const MAX_ADD: usize = 100;
/// The most other people in a group DM (Slack's limit).
const MAX_DM_OTHERS: usize = 8;

#[utoipa::path(
    get, path = "/api/v1/channels/{id}/members", tag = "members",
    params(("id" = String, Path, description = "channel id"), PageParams),
    responses((status = 200, body = wire::MemberList), (status = 404, body = wire::ErrorBody)),
    security(("bearer" = []))
)]
pub async fn list_members(
    State(state): State<AppState>,
    me: CurrentUser,
    Path(id): Path<String>,
    Query(page): Query<PageParams>,
) -> ApiResult<Json<wire::MemberList>> {
    let visible = access::channel(&state, &me.user, &id).await?;
    let (after, limit) = page.parse()?;
    let members = state
        .store
        .list_members(
            &me.user.workspace_id,
            &visible.channel.id,
            after.as_ref(),
            limit,
        )
        .await?;
    let next_cursor = next_cursor(members.last().map(|m| &m.user.id), members.len(), limit);
    Ok(Json(wire::MemberList {
        members: members.iter().map(convert::member).collect(),
        next_cursor,
    }))
}

#[utoipa::path(
    post, path = "/api/v1/channels/{id}/members", tag = "members",
    params(("id" = String, Path, description = "channel id")),
    request_body = wire::AddMembersRequest,
    responses(
        (status = 200, body = wire::AddMembersResponse),
        (status = 403, body = wire::ErrorBody),
        (status = 404, description = "channel_not_found or user_not_found", body = wire::ErrorBody),
        (status = 422, description = "invalid_user_ids", body = wire::ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn add_members(
    State(state): State<AppState>,
    me: CurrentUser,
    Path(id): Path<String>,
    Json(req): Json<wire::AddMembersRequest>,
) -> ApiResult<Json<wire::AddMembersResponse>> {
    let visible = access::channel(&state, &me.user, &id).await?;
    if req.user_ids.is_empty() || req.user_ids.len() > MAX_ADD {
        return Err(ValidationError::new(
            "invalid_user_ids",
            format!("Add between 1 and {MAX_ADD} people at a time."),
        )
        .into());
    }
    permission::can_add_members(&visible.channel, visible.membership.as_ref())?;
    let ids = access::user_ids(&req.user_ids)?;
    let added = state
        .store
        .add_members(&me.user.workspace_id, &visible.channel.id, &ids)
        .await
        .map_err(|e| not_found_as(NotFound::User)(e.into()))?;
    Ok(Json(wire::AddMembersResponse {
        added: added.value.iter().map(ToString::to_string).collect(),
    }))
}

#[utoipa::path(
    delete, path = "/api/v1/channels/{id}/members/{user_id}", tag = "members",
    params(
        ("id" = String, Path, description = "channel id"),
        ("user_id" = String, Path, description = "the member to remove"),
    ),
    responses(
        (status = 204, description = "removed"),
        (status = 403, body = wire::ErrorBody),
        (status = 404, description = "channel_not_found or user_not_found (also: not a member)", body = wire::ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn remove_member(
    State(state): State<AppState>,
    me: CurrentUser,
    Path((id, user_id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let visible = access::channel(&state, &me.user, &id).await?;
    let target = access::user(&state, &me.user, &user_id).await?;
    permission::can_remove_member(
        &me.user,
        &visible.channel,
        visible.membership.as_ref(),
        &target,
    )?;
    let removed = state
        .store
        .remove_member(&me.user.workspace_id, &visible.channel.id, &target.id)
        .await?;
    if !removed.value {
        return Err(ApiError::not_found(NotFound::User));
    }
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    post, path = "/api/v1/dms", tag = "members",
    request_body = wire::OpenDmRequest,
    responses(
        (status = 200, body = wire::Channel),
        (status = 404, description = "user_not_found", body = wire::ErrorBody),
        (status = 422, description = "too_many_members", body = wire::ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn open_dm(
    State(state): State<AppState>,
    me: CurrentUser,
    Json(req): Json<wire::OpenDmRequest>,
) -> ApiResult<Json<wire::Channel>> {
    let mut ids = access::user_ids(&req.user_ids)?;
    ids.retain(|id| *id != me.user.id);
    ids.sort();
    ids.dedup();
    if ids.len() > MAX_DM_OTHERS {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "too_many_members",
            format!("Group DMs have at most {MAX_DM_OTHERS} other people."),
        ));
    }
    ids.push(me.user.id.clone());
    let channel = state
        .store
        .open_conversation(&me.user.workspace_id, &me.user.id, &ids)
        .await
        .map_err(|e| not_found_as(NotFound::User)(e.into()))?;
    Ok(Json(convert::channel(&channel.value)))
}

#[utoipa::path(
    post, path = "/api/v1/channels/{id}/read", tag = "members",
    params(("id" = String, Path, description = "channel id")),
    request_body = wire::MarkReadRequest,
    responses(
        (status = 200, body = wire::ReadMarker),
        (status = 403, description = "not_in_channel", body = wire::ErrorBody),
        (status = 404, body = wire::ErrorBody),
        (status = 422, description = "invalid_seq", body = wire::ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn mark_read(
    State(state): State<AppState>,
    me: CurrentUser,
    Path(id): Path<String>,
    Json(req): Json<wire::MarkReadRequest>,
) -> ApiResult<Json<wire::ReadMarker>> {
    let visible = access::channel(&state, &me.user, &id).await?;
    permission::must_be_member(visible.membership.as_ref())?;
    let membership = state
        .store
        .mark_read(
            &me.user.workspace_id,
            &visible.channel.id,
            &me.user.id,
            req.seq,
        )
        .await?;
    Ok(Json(wire::ReadMarker {
        channel_id: visible.channel.id.to_string(),
        last_read_seq: membership.value.last_read_seq,
    }))
}
