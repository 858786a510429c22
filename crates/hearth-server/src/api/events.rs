//! The durable event stream over plain HTTP, for bots and integrations. The realtime
//! gateway replays from the same log.

use axum::extract::State;
use axum::http::StatusCode;
use hearth_core::cursor;
use hearth_core::event::EventPage;
use hearth_proto as wire;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::auth::CurrentUser;
use crate::convert;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Query};
use crate::state::AppState;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct EventsParams {
    /// The last seq already seen. Without it, the answer is empty and `last_seq` tells
    /// where the log is now.
    pub after: Option<i64>,
    /// 1 to 200, default 50.
    pub limit: Option<u32>,
}

#[utoipa::path(
    get, path = "/api/v1/events", tag = "events", params(EventsParams),
    responses(
        (status = 200, body = wire::EventList),
        (status = 410, description = "resync_required: `after` is past retention or in the future", body = wire::ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn list_events(
    State(state): State<AppState>,
    me: CurrentUser,
    Query(params): Query<EventsParams>,
) -> ApiResult<Json<wire::EventList>> {
    let limit = cursor::page_limit(params.limit)?;
    let ws = &me.user.workspace_id;
    let Some(after) = params.after else {
        let last_seq = state.store.last_seq(ws).await?;
        return Ok(Json(wire::EventList {
            events: vec![],
            last_seq,
            has_more: false,
        }));
    };
    let after = cursor::seq(after)?;
    match state
        .store
        .events_after(ws, &me.user.id, after, limit)
        .await?
    {
        EventPage::Events { events, last_seq } => Ok(Json(wire::EventList {
            has_more: events.len() == limit as usize,
            events: events.iter().map(convert::event).collect(),
            last_seq,
        })),
        EventPage::ResyncRequired => Err(ApiError::new(
            StatusCode::GONE,
            "resync_required",
            "Those events are no longer available: reload state, then follow from last_seq.",
        )),
    }
}
