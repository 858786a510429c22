//! Uploaded files and the attachments messages carry.
//!
//! A file's bytes live in object storage under a generated key; the database keeps what
//! is known about them. A file is visible to its uploader and to whoever can read a live
//! message that shares it (see [`crate::permission::can_see_file`]); it is deleted when its
//! uploader or an admin deletes it, or when the last message sharing it is deleted, and
//! its bytes are removed soon after.

use serde::{Deserialize, Serialize};

use crate::Timestamp;
use crate::id::{FileId, UserId, WorkspaceId};
use crate::value::FileName;

/// The most files one message can share.
pub const MAX_FILES_PER_MESSAGE: usize = 10;

/// An uploaded file, as the store keeps it.
#[derive(Debug, Clone, PartialEq)]
pub struct File {
    pub id: FileId,
    pub workspace_id: WorkspaceId,
    pub uploader_id: UserId,
    pub name: FileName,
    /// In bytes.
    pub size: i64,
    /// Detected from the content, never taken from the client.
    pub mime_type: String,
    /// For images: the size after EXIF orientation.
    pub image: Option<ImageSize>,
    /// Whether thumbnails were made (images the thumbnailer could decode).
    pub has_thumbnail: bool,
    /// Where the bytes are in object storage; generated, never derived from the name.
    pub storage_key: String,
    /// Hex SHA-256 of the bytes: the download's ETag.
    pub sha256: String,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageSize {
    pub width: u32,
    pub height: u32,
}

impl File {
    /// What a message that shares this file carries of it.
    pub fn attachment(&self) -> Attachment {
        Attachment {
            id: self.id.clone(),
            name: self.name.as_str().to_owned(),
            size: self.size,
            mime_type: self.mime_type.clone(),
            image: self.image,
            has_thumbnail: self.has_thumbnail,
        }
    }
}

/// A file as a message shares it: a copy of the file's immutable facts, stored with the
/// message (and its events) so that history reads need no join. A file deleted later is
/// removed from every message that shares it, in the same transaction.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attachment {
    pub id: FileId,
    pub name: String,
    pub size: i64,
    pub mime_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<ImageSize>,
    #[serde(default)]
    pub has_thumbnail: bool,
}

/// A deleted file whose bytes are still in object storage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PurgeFile {
    pub workspace_id: WorkspaceId,
    pub id: FileId,
    pub storage_key: String,
    /// Whether thumbnails exist to remove too.
    pub has_thumbnail: bool,
}
