//! The one error type every handler returns, and how each layer's errors map onto it.
//!
//! Every failure becomes `{"error": {"code", "message"}}` with a stable snake_case code and
//! the matching status. A server-side failure is logged with its cause and shown to the
//! client only as `internal_error`.

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use hearth_core::permission::Denied;
use hearth_core::store::StoreError;
use hearth_core::value::ValidationError;
use hearth_proto::ErrorBody;

#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    /// Seconds, for 429 and 503.
    pub retry_after: Option<u64>,
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            retry_after: None,
        }
    }

    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// The answer for anything the caller cannot see, whether it exists or not: the body
    /// depends only on the kind of object the route names, never on why.
    pub fn not_found(kind: NotFound) -> Self {
        let (code, message) = match kind {
            NotFound::Channel => ("channel_not_found", "Channel not found."),
            NotFound::Message => ("message_not_found", "Message not found."),
            NotFound::User => ("user_not_found", "User not found."),
            NotFound::File => ("file_not_found", "File not found."),
            NotFound::PushTarget => ("push_target_not_found", "Push target not found."),
            NotFound::Route => ("not_found", "No such endpoint."),
        };
        Self::new(StatusCode::NOT_FOUND, code, message)
    }

    pub fn unauthenticated(code: &'static str, message: &str) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, code, message)
    }

    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(%cause, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "Something went wrong on our side.",
        )
    }

    pub fn with_retry_after(mut self, secs: u64) -> Self {
        self.retry_after = Some(secs);
        self
    }
}

/// The kinds of object a route can fail to find.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotFound {
    Channel,
    Message,
    User,
    File,
    PushTarget,
    Route,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = axum::Json(ErrorBody::new(self.code, self.message));
        let mut response = (self.status, body).into_response();
        if let Some(secs) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

impl From<ValidationError> for ApiError {
    fn from(e: ValidationError) -> Self {
        // Malformed paging parameters and search queries are a broken request; everything
        // else is a value the server understood and refuses.
        let status = match e.code {
            "invalid_cursor" | "invalid_limit" | "invalid_seq" | "invalid_sort" => {
                StatusCode::BAD_REQUEST
            }
            code if code.starts_with("search_") => StatusCode::BAD_REQUEST,
            _ => StatusCode::UNPROCESSABLE_ENTITY,
        };
        Self::new(status, e.code, e.message)
    }
}

impl From<Denied> for ApiError {
    fn from(d: Denied) -> Self {
        Self::new(StatusCode::FORBIDDEN, d.code, d.message)
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            // Handlers map NotFound to the kind they were looking for; this is the fallback.
            StoreError::NotFound => Self::new(StatusCode::NOT_FOUND, "not_found", "Not found."),
            StoreError::Conflict(code) => {
                Self::new(StatusCode::CONFLICT, code, conflict_message(code))
            }
            StoreError::Invalid(code) => Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                code,
                invalid_message(code),
            ),
            StoreError::Unavailable(cause) => {
                tracing::warn!(%cause, "store unavailable");
                Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    "The server is busy; try again shortly.",
                )
                .with_retry_after(1)
            }
            StoreError::Internal(cause) => Self::internal(cause),
        }
    }
}

fn conflict_message(code: &str) -> &'static str {
    match code {
        "slug_taken" => "That workspace slug is taken.",
        "name_taken" => "A channel with that name already exists.",
        "email_taken" => "An account with that email already exists in this workspace.",
        "handle_taken" => "That handle is taken.",
        _ => "That conflicts with something that already exists.",
    }
}

fn invalid_message(code: &str) -> &'static str {
    match code {
        "invalid_invite" => "This invite is not valid: it may have expired or been used.",
        "last_owner" => "A workspace must keep at least one active owner.",
        "idempotency_key_reused" => "This client_msg_id was already used for a different message.",
        "invalid_thread_root" => "Replies can only be made to top-level messages of this channel.",
        "invalid_seq" => "That seq is past the channel's newest message.",
        "too_many_members" => "Conversations have at most 9 people.",
        "message_deleted" => "This message was deleted.",
        "too_many_push_targets" => {
            "You have registered the most push targets allowed; delete one first."
        }
        _ => "The request cannot be carried out.",
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        match rejection {
            JsonRejection::JsonSyntaxError(e) => Self::bad_request(
                "malformed_json",
                format!("The request body is not valid JSON: {}", e.body_text()),
            ),
            JsonRejection::JsonDataError(e) => Self::bad_request(
                "invalid_body",
                format!("The request body does not match: {}", e.body_text()),
            ),
            JsonRejection::MissingJsonContentType(_) => Self::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "Send JSON with Content-Type: application/json.",
            ),
            other if other.status() == StatusCode::PAYLOAD_TOO_LARGE => payload_too_large(),
            other => Self::bad_request("invalid_body", other.body_text()),
        }
    }
}

pub fn payload_too_large() -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
        "The request body is too large.",
    )
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        Self::bad_request("invalid_query", rejection.body_text())
    }
}

impl From<PathRejection> for ApiError {
    fn from(rejection: PathRejection) -> Self {
        Self::bad_request("invalid_path", rejection.body_text())
    }
}
