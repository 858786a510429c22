//! [`Files`]: uploads from a request body to a recorded file, and the purge of deleted
//! files' bytes. The HTTP routes (`api::files`) decide who may do what; this decides
//! how it is stored.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::Stream;
use hearth_core::Timestamp;
use hearth_core::model::{File, ImageSize, PurgeFile, User};
use hearth_core::store::{NewFile, Store, StoreError};
use hearth_core::value::FileName;
use tokio::sync::Semaphore;

use super::{FileStorage, PutError, StorageKey, Thumbnailer, sniff};
use crate::error::{ApiError, ApiResult};

/// Images larger than this get no thumbnail (they would be read whole into memory).
const MAX_THUMBNAIL_SOURCE: u64 = 64 * 1024 * 1024;

/// The file limits of a server.
#[derive(Debug, Clone)]
pub struct FileSettings {
    /// Where the bytes go.
    pub storage: FileStorage,
    /// The largest upload accepted, in bytes.
    pub max_upload_bytes: u64,
    /// The most bytes one workspace's files may take up; `None` for no limit.
    pub workspace_quota: Option<u64>,
    /// Images decoded at once for thumbnails.
    pub thumbnail_concurrency: usize,
}

impl Default for FileSettings {
    /// Object storage in memory, for tests and embedding; `hearth serve` always configures
    /// a directory or a bucket.
    fn default() -> Self {
        Self {
            storage: FileStorage::new(Arc::new(object_store::memory::InMemory::new())),
            max_upload_bytes: 100 * 1024 * 1024,
            workspace_quota: None,
            thumbnail_concurrency: 2,
        }
    }
}

/// Uploads and purges, shared by every request.
#[derive(Clone)]
pub struct Files {
    pub storage: FileStorage,
    thumbnailer: Thumbnailer,
    /// Images read into memory for their thumbnails at once: as many as decode at once,
    /// so images waiting for a decode wait before they are read, not after.
    sources: Arc<Semaphore>,
    max_upload_bytes: u64,
    workspace_quota: Option<u64>,
}

/// An upload as the route received it.
pub struct Upload<S> {
    pub name: FileName,
    /// The body's length when the request declared it (a raw body with
    /// `Content-Length`), so an upload that cannot fit is refused before it is read.
    pub declared_len: Option<u64>,
    pub body: S,
}

fn too_large(max: u64) -> ApiError {
    ApiError::new(
        axum::http::StatusCode::PAYLOAD_TOO_LARGE,
        "file_too_large",
        format!("Files can be at most {} MiB.", max / (1024 * 1024)),
    )
}

fn quota_exceeded() -> ApiError {
    ApiError::new(
        axum::http::StatusCode::PAYLOAD_TOO_LARGE,
        "quota_exceeded",
        "This workspace has no room left for this file; delete some files first.",
    )
}

impl Files {
    pub fn new(settings: &FileSettings) -> Self {
        Self {
            storage: settings.storage.clone(),
            thumbnailer: Thumbnailer::new(settings.thumbnail_concurrency),
            sources: Arc::new(Semaphore::new(settings.thumbnail_concurrency.max(1))),
            max_upload_bytes: settings.max_upload_bytes,
            workspace_quota: settings.workspace_quota,
        }
    }

    /// The largest upload accepted, in bytes.
    pub fn max_upload_bytes(&self) -> u64 {
        self.max_upload_bytes
    }

    /// Stores an upload and records it. The limits are checked before anything is
    /// stored when the length is declared, and while streaming otherwise; an upload that
    /// fails for any reason leaves nothing behind.
    pub async fn upload<S, E>(
        &self,
        store: Arc<dyn Store>,
        me: &User,
        upload: Upload<S>,
    ) -> ApiResult<File>
    where
        S: Stream<Item = Result<Bytes, E>> + Unpin,
        E: std::fmt::Display,
    {
        let ws = &me.workspace_id;
        let room = match self.workspace_quota {
            Some(quota) => Some(quota.saturating_sub(store.file_usage(ws).await?)),
            None => None,
        };
        let limit = room.map_or(self.max_upload_bytes, |r| r.min(self.max_upload_bytes));
        let refusal = || match room {
            Some(room) if room < self.max_upload_bytes => quota_exceeded(),
            _ => too_large(self.max_upload_bytes),
        };
        if upload.declared_len.is_some_and(|len| len > limit) {
            return Err(refusal());
        }

        let key = StorageKey::generate(ws.as_str());
        let stored = match self.storage.put_stream(&key, upload.body, limit).await {
            Ok(stored) => stored,
            Err(PutError::TooLarge) => return Err(refusal()),
            Err(PutError::Body(cause)) => {
                return Err(ApiError::bad_request(
                    "upload_interrupted",
                    format!("The upload did not arrive whole: {cause}"),
                ));
            }
            Err(e @ PutError::Storage(_)) => return Err(ApiError::internal(e)),
        };
        // The bytes are stored: from here on the upload ends with a row or with the bytes
        // deleted, even if the client goes away (which drops this future), so the rest
        // runs as a task of its own.
        let files = self.clone();
        let (ws, uploader, name) = (ws.clone(), me.id.clone(), upload.name);
        let finish = tokio::spawn(async move {
            let mime_type = sniff(&stored.head);
            let (image, has_thumbnail) = files.thumbnails(&key, mime_type, stored.size).await;
            let new = NewFile {
                uploader,
                name,
                size: i64::try_from(stored.size).unwrap_or(i64::MAX),
                mime_type: mime_type.to_owned(),
                image,
                has_thumbnail,
                storage_key: key.as_str().to_owned(),
                sha256: stored.sha256,
            };
            let created = store.create_file(&ws, new, files.workspace_quota).await;
            if created.is_err() {
                files.remove(&key).await;
            }
            created
        });
        match finish.await.map_err(ApiError::internal)? {
            Ok(file) => Ok(file),
            Err(StoreError::Invalid("quota_exceeded")) => Err(quota_exceeded()),
            Err(other) => Err(other.into()),
        }
    }

    /// Makes and stores an image's thumbnails; the image's size and whether thumbnails
    /// exist. An image that cannot be decoded, or is too large to, simply has none.
    async fn thumbnails(
        &self,
        key: &StorageKey,
        mime: &str,
        size: u64,
    ) -> (Option<ImageSize>, bool) {
        if !Thumbnailer::decodes(mime) || size > MAX_THUMBNAIL_SOURCE {
            return (None, false);
        }
        let Ok(_reading) = self.sources.acquire().await else {
            return (None, false);
        };
        let bytes = match self.storage.read_all(key, MAX_THUMBNAIL_SOURCE).await {
            Ok(bytes) => bytes,
            Err(e) => {
                tracing::warn!(error = %e, "reading an upload back for its thumbnails failed");
                return (None, false);
            }
        };
        let thumbs = match self.thumbnailer.make(bytes, mime).await {
            Ok(Some(thumbs)) => thumbs,
            Ok(None) => return (None, false),
            Err(e) => {
                tracing::info!(reason = %e, mime, "an uploaded image gets no thumbnail");
                return (None, false);
            }
        };
        let image = Some(ImageSize {
            width: thumbs.width,
            height: thumbs.height,
        });
        let stored = async {
            self.storage
                .put_small(&key.thumb_large(), thumbs.large)
                .await?;
            self.storage
                .put_small(&key.thumb_small(), thumbs.small)
                .await
        };
        match stored.await {
            Ok(()) => (image, true),
            Err(e) => {
                tracing::warn!(error = %e, "storing thumbnails failed");
                (image, false)
            }
        }
    }

    /// Deletes a file's bytes and thumbnails from storage (both thumbnail keys always: one
    /// may have been stored without the other).
    async fn remove(&self, key: &StorageKey) -> bool {
        let mut removed = true;
        for key in [key.clone(), key.thumb_large(), key.thumb_small()] {
            if let Err(e) = self.storage.delete(&key).await {
                tracing::warn!(error = %e, key = key.as_str(), "deleting stored bytes failed");
                removed = false;
            }
        }
        removed
    }

    /// Removes from storage the bytes of up to `limit` deleted files (collecting files
    /// never shared since `orphan_after` as deleted first), then forgets them. Returns
    /// how many were purged.
    pub async fn purge(
        &self,
        store: &dyn Store,
        orphan_after: Duration,
        limit: u32,
    ) -> anyhow::Result<usize> {
        let secs = i64::try_from(orphan_after.as_secs()).unwrap_or(i64::MAX);
        let orphan_before = Timestamp::now().plus_secs(-secs);
        let pending: Vec<PurgeFile> = store.files_to_purge(orphan_before, limit).await?;
        let mut removed = Vec::with_capacity(pending.len());
        // A file whose bytes cannot be deleted now stays listed, to be tried again; the
        // others are forgotten.
        for file in pending {
            if self
                .remove(&StorageKey::from_stored(file.storage_key.clone()))
                .await
            {
                removed.push(file);
            }
        }
        store.forget_files(&removed).await?;
        Ok(removed.len())
    }
}
