//! Uploaded files, the part that needs no database: where the bytes go, what they are,
//! and their thumbnails.
//!
//! The upload path, as the HTTP routes use it:
//! 1. [`StorageKey::generate`] a key (never from the file's name);
//! 2. [`FileStorage::put_stream`] the request body to it, under the size limit: it returns
//!    the size, the SHA-256 and the first bytes;
//! 3. [`sniff`] the type from those first bytes (the client's `Content-Type` is ignored);
//! 4. for an image, [`Thumbnailer::make`] the thumbnails from the stored bytes
//!    ([`FileStorage::read_all`]) and [`FileStorage::put_small`] them under
//!    [`StorageKey::thumb_large`] and [`StorageKey::thumb_small`]; an image without
//!    thumbnails (too large, corrupt) is still a fine upload.
//!
//! Downloads stream with [`FileStorage::get`], optionally a byte range. Only types for
//! which [`is_inline_safe`] holds may be served inline; everything else is an attachment.
//!
//! ```text
//! FileStorage::from_url(None, data_dir)                    -> <data_dir>/files on disk
//! FileStorage::from_url(Some("s3://bucket?endpoint=..&region=.."), _) -> S3
//! put_stream(&key, body, max_bytes) -> Stored { size, sha256, head } | PutError
//! get(&key, Option<Range<u64>>)     -> Download { object_size, range, body }
//! read_all(&key, max) / put_small(&key, bytes) / delete(&key)
//! sniff(head) -> &'static str;  is_inline_safe(mime) -> bool
//! Thumbnailer::new(n).make(bytes, mime) -> Option<Thumbnails { width, height, large, small, mime_type }>
//! ```

pub mod download;
mod key;
mod service;
pub mod sniff;
mod storage;
pub mod thumbnail;

pub use key::StorageKey;
pub use service::{FileSettings, Files, Upload};
pub use sniff::{is_inline_safe, sniff};
pub use storage::{Download, FileStorage, HEAD_LEN, PutError, StorageError, Stored};
pub use thumbnail::{ThumbError, Thumbnailer, Thumbnails};
