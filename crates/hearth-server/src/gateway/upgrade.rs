//! `GET /api/v1/realtime`: the WebSocket upgrade.
//!
//! Browsers authenticate the upgrade with their session cookie; because a cookie rides
//! along with cross-site requests, such an upgrade must come from the server's own origin
//! (403 otherwise). Other clients send a token in their first frame. A token in the URL is
//! refused before this handler runs (see `app::reject_tokens_in_urls`).

use axum::extract::State;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use hearth_core::secret::SecretHash;

use super::connection::{self, Authenticated};
use crate::auth::cookie;
use crate::error::ApiError;
use crate::state::AppState;

#[utoipa::path(
    get, path = "/api/v1/realtime", tag = "realtime",
    responses(
        (status = 101, description = "Switching to the realtime protocol (see hearth-proto's realtime frames)"),
        (status = 403, description = "origin_not_allowed: a cookie-authenticated upgrade from another origin", body = hearth_proto::ErrorBody),
        (status = 426, description = "websocket_required", body = hearth_proto::ErrorBody),
    )
)]
pub async fn realtime(
    State(state): State<AppState>,
    headers: HeaderMap,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    let upgrade = match upgrade {
        Ok(upgrade) => upgrade,
        Err(_) => {
            return ApiError::new(
                StatusCode::UPGRADE_REQUIRED,
                "websocket_required",
                "This endpoint speaks WebSocket only.",
            )
            .into_response();
        }
    };
    let cookie = match cookie::read_cookie(&headers, cookie::SESSION_COOKIE) {
        None => None,
        Some(token) => {
            if !cookie::origin_allowed(&headers, state.settings.gateway.origin.as_deref()) {
                return ApiError::new(
                    StatusCode::FORBIDDEN,
                    "origin_not_allowed",
                    "A cookie-authenticated connection must come from this server's own pages.",
                )
                .into_response();
            }
            cookie_session(&state, &token).await
        }
    };
    let limits = &state.settings.gateway;
    upgrade
        // Small buffers keep an idle connection cheap (tungstenite's 128 KiB defaults
        // would cost ~138 KB per socket); frames above the limit close with 1009.
        .read_buffer_size(limits.buffer_bytes)
        .write_buffer_size(limits.buffer_bytes)
        // A ceiling, not an allocation: the largest event (a 40,000-character message,
        // ~170 KB of JSON) must fit, since outgoing frames are not split.
        .max_write_buffer_size(1024 * 1024)
        .max_message_size(limits.max_frame_bytes)
        .max_frame_size(limits.max_frame_bytes)
        .on_upgrade(move |socket| connection::serve(socket, state, cookie))
}

async fn cookie_session(state: &AppState, token: &str) -> Option<Authenticated> {
    if token.is_empty() || token.len() > 256 {
        return None;
    }
    let hash = SecretHash::of(token);
    let session = state.store.session(&hash).await.ok()??;
    Some(Authenticated {
        user: session.user,
        session: hash,
    })
}
