//! `GET /api/v1/realtime`: the WebSocket upgrade.
//!
//! Browsers authenticate the upgrade with their session cookie; because a cookie rides
//! along with cross-site requests, such an upgrade must come from the server's own origin
//! (403 otherwise). Other clients send a token in their first frame. A token in the URL is
//! refused before this handler runs (see `app::reject_tokens_in_urls`).

use axum::extract::State;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use hearth_core::secret::SecretHash;

use super::connection::{self, Authenticated};
use crate::error::ApiError;
use crate::state::AppState;

/// The session cookie set by the web client's sign-in.
pub const SESSION_COOKIE: &str = "hearth_session";

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
    let cookie = match cookie_token(&headers) {
        None => None,
        Some(token) => {
            if !origin_allowed(&headers, state.settings.gateway.origin.as_deref()) {
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

fn cookie_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value.to_owned())
}

/// The `Origin` must be the configured public origin, or, when none is configured, the
/// origin of the `Host` the request was sent to.
fn origin_allowed(headers: &HeaderMap, configured: Option<&str>) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    match configured {
        Some(expected) => origin.trim_end_matches('/') == expected.trim_end_matches('/'),
        None => {
            let Some(host) = headers.get(header::HOST).and_then(|v| v.to_str().ok()) else {
                return false;
            };
            origin == format!("http://{host}") || origin == format!("https://{host}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn reads_the_session_cookie_among_others() {
        let h = headers(&[("cookie", "a=1; hearth_session=tok; b=2")]);
        assert_eq!(cookie_token(&h).as_deref(), Some("tok"));
        assert_eq!(
            cookie_token(&headers(&[("cookie", "hearth_sessionx=1")])),
            None
        );
    }

    #[test]
    fn origin_must_match() {
        let same = headers(&[
            ("host", "chat.example:8080"),
            ("origin", "http://chat.example:8080"),
        ]);
        assert!(origin_allowed(&same, None));
        let evil = headers(&[
            ("host", "chat.example:8080"),
            ("origin", "https://evil.example"),
        ]);
        assert!(!origin_allowed(&evil, None));
        assert!(
            !origin_allowed(&headers(&[("host", "x")]), None),
            "no Origin, no cookie auth"
        );
        let configured = headers(&[("origin", "https://chat.example")]);
        assert!(origin_allowed(&configured, Some("https://chat.example/")));
        assert!(!origin_allowed(&same, Some("https://chat.example")));
    }
}
