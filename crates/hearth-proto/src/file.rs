//! Files: what an upload returns, what messages carry, and the file endpoints' bodies.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A file, as `POST /api/v1/files` returns it, `GET /api/v1/files/{id}/info` shows it and
/// messages carry it in `files`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct File {
    pub id: String,
    /// The name it was uploaded with (display only; never a path).
    pub name: String,
    /// In bytes.
    pub size: i64,
    /// Detected from the content, not from the name or the uploader's claim.
    pub mime_type: String,
    /// Images only: pixels, after EXIF orientation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height: Option<u32>,
    /// `GET` streams the bytes (with the session's credentials).
    pub url: String,
    /// Images the server could decode: a 360 px wide thumbnail (`?size=64` for 64 px).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thumb_url: Option<String>,
}

/// `GET /api/v1/files/{id}/info`: the file and who uploaded it when.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct FileInfo {
    #[serde(flatten)]
    pub file: File,
    pub uploader_id: String,
    pub created_at: String,
}
