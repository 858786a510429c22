//! Messages: posting (idempotent with `client_msg_id`), history, threads, edits, deletes.

use axum::extract::State;
use axum::http::StatusCode;
use hearth_core::cursor;
use hearth_core::mention;
use hearth_core::permission;
use hearth_core::store::HistoryRange;
use hearth_core::value::{MessageText, ValidationError};
use hearth_proto as wire;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::api::access::{self, not_found_as};
use crate::api::posting;
use crate::auth::CurrentUser;
use crate::convert;
use crate::error::{ApiResult, NotFound};
use crate::extract::{Json, Path, Query};
use crate::state::AppState;

#[utoipa::path(
    post, path = "/api/v1/channels/{id}/messages", tag = "messages",
    params(("id" = String, Path, description = "channel id")),
    request_body = wire::PostMessageRequest,
    responses(
        (status = 201, description = "stored", body = wire::Message),
        (status = 200, description = "a retry of a known client_msg_id: the original message", body = wire::Message),
        (status = 403, description = "not_in_channel or channel_archived", body = wire::ErrorBody),
        (status = 404, description = "channel_not_found, message_not_found (the thread root), file_not_found", body = wire::ErrorBody),
        (status = 422, description = "empty_text, text_too_long, idempotency_key_reused, invalid_thread_root, too_many_files", body = wire::ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn post_message(
    State(state): State<AppState>,
    me: CurrentUser,
    Path(id): Path<String>,
    Json(req): Json<wire::PostMessageRequest>,
) -> ApiResult<(StatusCode, Json<wire::Message>)> {
    let posted = posting::post(&state, &me.user, &id, req).await?;
    let status = if posted.replayed {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((status, Json(convert::message(&posted.message))))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct HistoryParams {
    /// Messages with seq below this (newest of them); the default is the latest page.
    pub before: Option<i64>,
    /// Messages with seq above this (oldest of them). Not with `before`.
    pub after: Option<i64>,
    /// 1 to 200, default 50.
    pub limit: Option<u32>,
}

impl HistoryParams {
    fn range(&self) -> Result<HistoryRange, ValidationError> {
        let limit = cursor::page_limit(self.limit)?;
        match (self.before, self.after) {
            (Some(_), Some(_)) => Err(ValidationError::new(
                "invalid_cursor",
                "Give before or after, not both.",
            )),
            (None, Some(after)) => Ok(HistoryRange::After {
                after: cursor::seq(after)?,
                limit,
            }),
            (before, None) => Ok(HistoryRange::Before {
                before: cursor::seq(before.unwrap_or(i64::MAX))?,
                limit,
            }),
        }
    }
}

#[utoipa::path(
    get, path = "/api/v1/channels/{id}/messages", tag = "messages",
    params(("id" = String, Path, description = "channel id"), HistoryParams),
    responses((status = 200, body = wire::MessagePage), (status = 404, body = wire::ErrorBody)),
    security(("bearer" = []))
)]
pub async fn list_messages(
    State(state): State<AppState>,
    me: CurrentUser,
    Path(id): Path<String>,
    Query(params): Query<HistoryParams>,
) -> ApiResult<Json<wire::MessagePage>> {
    let visible = access::channel_to_use(&state, &me.user, &id).await?;
    let range = params.range()?;
    let page = state
        .store
        .list_messages(&me.user.workspace_id, &visible.channel.id, range)
        .await?;
    Ok(Json(wire::MessagePage {
        messages: page.messages.iter().map(convert::message).collect(),
        has_more: page.has_more,
    }))
}

#[utoipa::path(
    get, path = "/api/v1/messages/{id}", tag = "messages",
    params(("id" = String, Path, description = "message id")),
    responses((status = 200, body = wire::Message), (status = 404, body = wire::ErrorBody)),
    security(("bearer" = []))
)]
pub async fn get_message(
    State(state): State<AppState>,
    me: CurrentUser,
    Path(id): Path<String>,
) -> ApiResult<Json<wire::Message>> {
    let (message, _) = access::message(&state, &me.user, &id).await?;
    Ok(Json(convert::message(&message)))
}

#[utoipa::path(
    patch, path = "/api/v1/messages/{id}", tag = "messages",
    params(("id" = String, Path, description = "message id")),
    request_body = wire::EditMessageRequest,
    responses(
        (status = 200, body = wire::Message),
        (status = 403, description = "not_message_author, message_deleted, channel_archived", body = wire::ErrorBody),
        (status = 404, body = wire::ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn edit_message(
    State(state): State<AppState>,
    me: CurrentUser,
    Path(id): Path<String>,
    Json(req): Json<wire::EditMessageRequest>,
) -> ApiResult<Json<wire::Message>> {
    let (message, visible) = access::message(&state, &me.user, &id).await?;
    permission::can_edit_message(&me.user, &message)?;
    permission::can_post(&visible.channel, visible.membership.as_ref())?;
    // A message that shares files may lose its caption, as it could be posted without.
    let text = if message.files.is_empty() {
        MessageText::parse(&req.text)?
    } else {
        MessageText::parse_caption(&req.text)?
    };
    let mentions = mention::parse(text.as_str());
    let edited = state
        .store
        .edit_message(&me.user.workspace_id, &message.id, text, mentions)
        .await
        .map_err(|e| not_found_as(NotFound::Message)(e.into()))?;
    Ok(Json(convert::message(&edited.value)))
}

#[utoipa::path(
    delete, path = "/api/v1/messages/{id}", tag = "messages",
    params(("id" = String, Path, description = "message id")),
    responses(
        (status = 200, description = "the tombstone", body = wire::Message),
        (status = 403, description = "not_message_author", body = wire::ErrorBody),
        (status = 404, body = wire::ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn delete_message(
    State(state): State<AppState>,
    me: CurrentUser,
    Path(id): Path<String>,
) -> ApiResult<Json<wire::Message>> {
    let (message, _) = access::message(&state, &me.user, &id).await?;
    permission::can_delete_message(&me.user, &message)?;
    let deleted = state
        .store
        .delete_message(&me.user.workspace_id, &message.id)
        .await
        .map_err(|e| not_found_as(NotFound::Message)(e.into()))?;
    Ok(Json(convert::message(&deleted.value)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct RepliesParams {
    /// Replies with seq above this; default 0 (from the first reply).
    pub after: Option<i64>,
    /// 1 to 200, default 50.
    pub limit: Option<u32>,
}

#[utoipa::path(
    get, path = "/api/v1/messages/{id}/replies", tag = "messages",
    params(("id" = String, Path, description = "thread root message id"), RepliesParams),
    responses((status = 200, body = wire::MessagePage), (status = 404, body = wire::ErrorBody)),
    security(("bearer" = []))
)]
pub async fn list_replies(
    State(state): State<AppState>,
    me: CurrentUser,
    Path(id): Path<String>,
    Query(params): Query<RepliesParams>,
) -> ApiResult<Json<wire::MessagePage>> {
    let (root, _) = access::message(&state, &me.user, &id).await?;
    let limit = cursor::page_limit(params.limit)?;
    let after = cursor::seq(params.after.unwrap_or(0))?;
    let page = state
        .store
        .list_replies(&me.user.workspace_id, &root.id, after, limit)
        .await?;
    Ok(Json(wire::MessagePage {
        messages: page.messages.iter().map(convert::message).collect(),
        has_more: page.has_more,
    }))
}
