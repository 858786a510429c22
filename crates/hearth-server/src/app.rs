//! Assembling the HTTP service and serving it.
//!
//! [`router`] is separate from [`run`] so tests can drive the API in-process, and [`run`]
//! takes a bound listener so the caller picks the port (tests bind `127.0.0.1:0`).

use std::future::Future;
use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, Request};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::serve::ListenerExt;
use axum::{Extension, Router};
use tokio::net::TcpListener;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

use crate::api;
use crate::api::health::OpenApiJson;
use crate::error::ApiError;
use crate::state::AppState;

/// The whole HTTP service.
pub fn router(state: AppState) -> Router {
    let max_body = state.settings.max_body_bytes;
    let (routes, openapi) = api::routes().split_for_parts();
    let openapi = openapi
        .to_pretty_json()
        .expect("the OpenAPI document serialises");
    routes
        // GETs outside the API are the browser client's (`web`); the rest is a JSON 404.
        .fallback(crate::web::fallback)
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "This endpoint does not take that method.",
            )
        })
        .layer(Extension(OpenApiJson(Arc::new(openapi))))
        .layer(DefaultBodyLimit::max(max_body))
        .layer(middleware::from_fn(reject_tokens_in_urls))
        .layer(CatchPanicLayer::custom(|_panic| {
            ApiError::internal("a request handler panicked").into_response()
        }))
        .layer(TraceLayer::new_for_http())
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .with_state(state)
}

/// Query parameter names that would carry a credential. A URL is logged, cached and sent
/// in `Referer`, so a request that puts a token there is refused outright, whatever else
/// it asks, and the token is never looked up.
const CREDENTIAL_PARAMS: [&str; 4] = ["token", "access_token", "auth_token", "session"];

async fn reject_tokens_in_urls(request: Request, next: Next) -> Response {
    let has_token = request.uri().query().is_some_and(|q| {
        q.split('&').any(|pair| {
            let name = pair.split('=').next().unwrap_or_default();
            CREDENTIAL_PARAMS
                .iter()
                .any(|p| name.eq_ignore_ascii_case(p))
        })
    });
    if has_token {
        return ApiError::bad_request(
            "token_in_url",
            "Tokens are never accepted in URLs; send Authorization: Bearer <token>.",
        )
        .into_response();
    }
    next.run(request).await
}

/// Serves the API on `listener` until `shutdown` resolves, then lets in-flight requests
/// finish before returning. WebSocket connections are told to go away (1001) at once:
/// they hold no request in flight, and their clients resume elsewhere without loss.
pub async fn run(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let hub = state.hub.clone();
    let shutdown = async move {
        shutdown.await;
        hub.close_all(hearth_proto::close_code::GOING_AWAY);
    };
    // Chat frames are small and latency-bound: without TCP_NODELAY, Nagle's algorithm
    // and delayed ACKs add up to ~40 ms to a delivery.
    let listener = listener.tap_io(|tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::warn!(error = %e, "could not set TCP_NODELAY");
        }
    });
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await
}
