//! Liveness, readiness and the API's own description.

use std::sync::Arc;

use axum::Extension;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use hearth_proto as wire;

use crate::extract::Json;
use crate::state::AppState;

#[utoipa::path(
    get, path = "/healthz", tag = "operations",
    responses((status = 200, description = "the process is up", body = wire::Health))
)]
pub async fn healthz() -> Json<wire::Health> {
    Json(wire::Health {
        status: "ok".into(),
    })
}

#[utoipa::path(
    get, path = "/readyz", tag = "operations",
    responses(
        (status = 200, description = "ready to serve", body = wire::Health),
        (status = 503, description = "the database does not answer", body = wire::Health),
    )
)]
pub async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<wire::Health>) {
    match state.store.ping().await {
        Ok(()) => (
            StatusCode::OK,
            Json(wire::Health {
                status: "ok".into(),
            }),
        ),
        Err(e) => {
            tracing::warn!(error = %e, "not ready");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(wire::Health {
                    status: "unavailable".into(),
                }),
            )
        }
    }
}

/// The OpenAPI document, rendered once at start-up.
#[derive(Clone)]
pub struct OpenApiJson(pub Arc<String>);

#[utoipa::path(
    get, path = "/api/v1/openapi.json", tag = "operations",
    responses((status = 200, description = "this API's OpenAPI 3.1 description"))
)]
pub async fn openapi(Extension(doc): Extension<OpenApiJson>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        doc.0.as_str().to_owned(),
    )
}
