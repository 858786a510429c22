//! Channels: the caller's list, browsing, creating, viewing, changing, joining, leaving.

use axum::extract::State;
use axum::http::StatusCode;
use hearth_core::model::ChannelKind;
use hearth_core::permission;
use hearth_core::store::{ChannelPatch, NewChannel};
use hearth_core::value::{ChannelName, ChannelPurpose, ChannelTopic};
use hearth_proto as wire;

use crate::api::access;
use crate::auth::CurrentUser;
use crate::convert;
use crate::error::ApiResult;
use crate::extract::{Json, Path};
use crate::state::AppState;

#[utoipa::path(
    get, path = "/api/v1/channels", tag = "channels",
    responses((status = 200, body = wire::MyChannelList)),
    security(("bearer" = []))
)]
pub async fn list_my_channels(
    State(state): State<AppState>,
    me: CurrentUser,
) -> ApiResult<Json<wire::MyChannelList>> {
    let channels = state
        .store
        .list_user_channels(&me.user.workspace_id, &me.user.id)
        .await?;
    Ok(Json(wire::MyChannelList {
        channels: channels.iter().map(convert::my_channel).collect(),
    }))
}

#[utoipa::path(
    get, path = "/api/v1/channels/browse", tag = "channels",
    responses((status = 200, body = wire::BrowseList)),
    security(("bearer" = []))
)]
pub async fn browse(
    State(state): State<AppState>,
    me: CurrentUser,
) -> ApiResult<Json<wire::BrowseList>> {
    let ws = &me.user.workspace_id;
    // Guests see only what they were added to; the public directory is not for them.
    if me.user.role == hearth_core::model::Role::Guest {
        return Ok(Json(wire::BrowseList { channels: vec![] }));
    }
    let mine: std::collections::HashSet<_> = state
        .store
        .list_user_channels(ws, &me.user.id)
        .await?
        .into_iter()
        .map(|s| s.channel.id)
        .collect();
    let channels = state.store.browse_channels(ws).await?;
    Ok(Json(wire::BrowseList {
        channels: channels
            .iter()
            .map(|(c, member_count)| wire::BrowseItem {
                channel: convert::channel(c),
                member_count: *member_count,
                is_member: mine.contains(&c.id),
            })
            .collect(),
    }))
}

#[utoipa::path(
    post, path = "/api/v1/channels", tag = "channels",
    request_body = wire::CreateChannelRequest,
    responses(
        (status = 201, body = wire::Channel),
        (status = 403, description = "guests_cannot_create_channels", body = wire::ErrorBody),
        (status = 409, description = "name_taken", body = wire::ErrorBody),
        (status = 422, description = "invalid_channel_name, invalid_topic, invalid_purpose", body = wire::ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn create_channel(
    State(state): State<AppState>,
    me: CurrentUser,
    Json(req): Json<wire::CreateChannelRequest>,
) -> ApiResult<(StatusCode, Json<wire::Channel>)> {
    permission::can_create_channel(&me.user)?;
    let channel = NewChannel {
        kind: if req.private {
            ChannelKind::Private
        } else {
            ChannelKind::Public
        },
        name: ChannelName::parse(&req.name)?,
        topic: ChannelTopic::parse(req.topic.as_deref().unwrap_or_default())?,
        purpose: ChannelPurpose::parse(req.purpose.as_deref().unwrap_or_default())?,
    };
    let created = state
        .store
        .create_channel(&me.user.workspace_id, &me.user.id, channel)
        .await?;
    Ok((StatusCode::CREATED, Json(convert::channel(&created.value))))
}

#[utoipa::path(
    get, path = "/api/v1/channels/{id}", tag = "channels",
    params(("id" = String, Path, description = "channel id")),
    responses((status = 200, body = wire::ChannelResponse), (status = 404, body = wire::ErrorBody)),
    security(("bearer" = []))
)]
pub async fn get_channel(
    State(state): State<AppState>,
    me: CurrentUser,
    Path(id): Path<String>,
) -> ApiResult<Json<wire::ChannelResponse>> {
    let visible = access::channel(&state, &me.user, &id).await?;
    Ok(Json(wire::ChannelResponse {
        channel: convert::channel(&visible.channel),
        is_member: visible.membership.is_some(),
        last_read_seq: visible.membership.map(|m| m.last_read_seq),
    }))
}

#[utoipa::path(
    patch, path = "/api/v1/channels/{id}", tag = "channels",
    params(("id" = String, Path, description = "channel id")),
    request_body = wire::UpdateChannelRequest,
    responses(
        (status = 200, body = wire::Channel),
        (status = 403, body = wire::ErrorBody),
        (status = 404, body = wire::ErrorBody),
        (status = 409, description = "name_taken", body = wire::ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn update_channel(
    State(state): State<AppState>,
    me: CurrentUser,
    Path(id): Path<String>,
    Json(req): Json<wire::UpdateChannelRequest>,
) -> ApiResult<Json<wire::Channel>> {
    let visible = access::channel(&state, &me.user, &id).await?;
    let patch = ChannelPatch {
        name: req.name.as_deref().map(ChannelName::parse).transpose()?,
        topic: req.topic.as_deref().map(ChannelTopic::parse).transpose()?,
        purpose: req
            .purpose
            .as_deref()
            .map(ChannelPurpose::parse)
            .transpose()?,
        archived: req.archived,
    };
    permission::can_update_channel(
        &me.user,
        &visible.channel,
        visible.membership.as_ref(),
        patch.renames_or_archives(),
    )?;
    let updated = state
        .store
        .update_channel(&me.user.workspace_id, &visible.channel.id, patch)
        .await?;
    Ok(Json(convert::channel(&updated.value)))
}

#[utoipa::path(
    post, path = "/api/v1/channels/{id}/join", tag = "channels",
    params(("id" = String, Path, description = "channel id")),
    responses(
        (status = 200, body = wire::Channel),
        (status = 403, description = "cannot_join or channel_archived", body = wire::ErrorBody),
        (status = 404, body = wire::ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn join(
    State(state): State<AppState>,
    me: CurrentUser,
    Path(id): Path<String>,
) -> ApiResult<Json<wire::Channel>> {
    let visible = access::channel(&state, &me.user, &id).await?;
    if visible.membership.is_none() {
        permission::can_join(&me.user, &visible.channel)?;
        state
            .store
            .add_members(
                &me.user.workspace_id,
                &visible.channel.id,
                std::slice::from_ref(&me.user.id),
            )
            .await?;
    }
    Ok(Json(convert::channel(&visible.channel)))
}

#[utoipa::path(
    post, path = "/api/v1/channels/{id}/leave", tag = "channels",
    params(("id" = String, Path, description = "channel id")),
    responses(
        (status = 204, description = "left (or was not a member)"),
        (status = 403, description = "cannot_modify_dm", body = wire::ErrorBody),
        (status = 404, body = wire::ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn leave(
    State(state): State<AppState>,
    me: CurrentUser,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let visible = access::channel(&state, &me.user, &id).await?;
    permission::can_remove_member(
        &me.user,
        &visible.channel,
        visible.membership.as_ref(),
        &me.user,
    )?;
    state
        .store
        .remove_member(&me.user.workspace_id, &visible.channel.id, &me.user.id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
