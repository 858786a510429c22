//! Emoji reactions: one per person per emoji per message.

use axum::extract::State;
use hearth_core::permission;
use hearth_core::value::Emoji;
use hearth_proto as wire;

use crate::api::access::{self, not_found_as};
use crate::auth::CurrentUser;
use crate::convert;
use crate::error::{ApiResult, NotFound};
use crate::extract::{Json, Path};
use crate::state::AppState;

#[utoipa::path(
    put, path = "/api/v1/messages/{id}/reactions/{emoji}", tag = "messages",
    params(
        ("id" = String, Path, description = "message id"),
        ("emoji" = String, Path, description = "shortcode, e.g. thumbsup"),
    ),
    responses(
        (status = 200, description = "the message with its reactions (adding twice is a no-op)", body = wire::Message),
        (status = 403, body = wire::ErrorBody),
        (status = 404, body = wire::ErrorBody),
        (status = 422, description = "invalid_emoji or message_deleted", body = wire::ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn add_reaction(
    State(state): State<AppState>,
    me: CurrentUser,
    Path((id, emoji)): Path<(String, String)>,
) -> ApiResult<Json<wire::Message>> {
    let (message, visible) = access::message(&state, &me.user, &id).await?;
    permission::can_post(&visible.channel, visible.membership.as_ref())?;
    let emoji = Emoji::parse(&emoji)?;
    let updated = state
        .store
        .add_reaction(&me.user.workspace_id, &message.id, &me.user.id, &emoji)
        .await
        .map_err(|e| not_found_as(NotFound::Message)(e.into()))?;
    Ok(Json(convert::message(&updated.value)))
}

#[utoipa::path(
    delete, path = "/api/v1/messages/{id}/reactions/{emoji}", tag = "messages",
    params(
        ("id" = String, Path, description = "message id"),
        ("emoji" = String, Path, description = "shortcode, e.g. thumbsup"),
    ),
    responses(
        (status = 200, description = "the message with its reactions", body = wire::Message),
        (status = 404, body = wire::ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn remove_reaction(
    State(state): State<AppState>,
    me: CurrentUser,
    Path((id, emoji)): Path<(String, String)>,
) -> ApiResult<Json<wire::Message>> {
    let (message, visible) = access::message(&state, &me.user, &id).await?;
    permission::must_be_member(visible.membership.as_ref())?;
    let emoji = Emoji::parse(&emoji)?;
    let updated = state
        .store
        .remove_reaction(&me.user.workspace_id, &message.id, &me.user.id, &emoji)
        .await
        .map_err(|e| not_found_as(NotFound::Message)(e.into()))?;
    Ok(Json(convert::message(&updated.value)))
}
