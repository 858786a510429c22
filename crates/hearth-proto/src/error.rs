//! The one error body every failing request gets.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// `{"error": {"code": "channel_not_found", "message": "..."}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable snake_case code for programs, e.g. `not_found`, `invalid_channel_name`.
    pub code: String,
    /// A sentence for people; may change between versions.
    pub message: String,
}

impl ErrorBody {
    pub fn new(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            error: ErrorDetail {
                code: code.into(),
                message: message.into(),
            },
        }
    }
}
