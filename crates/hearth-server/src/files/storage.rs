//! Where uploaded bytes go: the local disk or an S3 bucket, behind one small API.
//!
//! A thin wrapper over the `object_store` crate. Uploads stream through
//! [`FileStorage::put_stream`] in multipart parts, so memory stays bounded whatever the
//! file's size; the size limit, the SHA-256 and the first bytes (for MIME sniffing) are
//! taken on the way through, in one pass.
//!
//! Lifecycle of an upload: a failed upload (too large, the client's stream broke, storage
//! failed) is aborted, which removes what was written: the staging file on disk, the
//! multipart upload's parts on S3. An upload whose future is dropped half-way (the request
//! task was cancelled) leaves on S3 an incomplete multipart upload, never a visible object;
//! a bucket lifecycle rule ("abort incomplete multipart uploads after a day") collects those.

use std::ops::Range;
use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use bytes::Bytes;
use futures::stream::BoxStream;
use futures::{Stream, StreamExt};
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::{GetOptions, GetResultPayload, ObjectStore, ObjectStoreExt, WriteMultipart};
use sha2::{Digest, Sha256};
use url::Url;

use super::key::{StorageKey, hex};

/// How much of a local file one blocking read takes while streaming a download.
const READ_STEP: u64 = 256 * 1024;

/// Streams `range` of a local file, [`READ_STEP`] bytes per blocking read.
fn read_file(
    file: std::fs::File,
    range: Range<u64>,
) -> BoxStream<'static, Result<Bytes, object_store::Error>> {
    use std::io::{Read, Seek, SeekFrom};
    let failed = |source: std::io::Error| object_store::Error::Generic {
        store: "LocalFileSystem",
        source: Box::new(source),
    };
    futures::stream::try_unfold(
        (file, range.start, range.end),
        move |(mut file, at, end)| async move {
            if at >= end {
                return Ok(None);
            }
            let step = (end - at).min(READ_STEP);
            let read = tokio::task::spawn_blocking(move || {
                file.seek(SeekFrom::Start(at))?;
                let mut buffer = Vec::with_capacity(usize::try_from(step).unwrap_or(0));
                (&mut file).take(step).read_to_end(&mut buffer)?;
                Ok::<_, std::io::Error>((file, buffer))
            })
            .await
            .map_err(|e| failed(std::io::Error::other(e)))?;
            let (file, buffer) = read.map_err(failed)?;
            if buffer.is_empty() {
                let cut = std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "file shrank");
                return Err(failed(cut));
            }
            let next = at + buffer.len() as u64;
            Ok(Some((Bytes::from(buffer), (file, next, end))))
        },
    )
    .boxed()
}

/// How many bytes of a file's start [`Stored::head`] keeps, for MIME sniffing.
pub const HEAD_LEN: usize = 8 * 1024;

/// The size of a multipart part: S3's minimum (every part but the last must be at least
/// 5 MiB). With [`PARTS_IN_FLIGHT`], an upload holds at most about
/// `PART_SIZE * (PARTS_IN_FLIGHT + 1)` bytes in memory.
const PART_SIZE: usize = 5 * 1024 * 1024;

/// Parts being sent at once; the client's stream is not read further until one is done.
const PARTS_IN_FLIGHT: usize = 2;

/// Uploaded files' bytes, on the local disk or in an S3 bucket.
#[derive(Debug, Clone)]
pub struct FileStorage {
    store: Arc<dyn ObjectStore>,
}

/// What [`FileStorage::put_stream`] stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    /// The file's size in bytes.
    pub size: u64,
    /// The SHA-256 of the file's bytes, in lower-case hexadecimal.
    pub sha256: String,
    /// The first [`HEAD_LEN`] bytes (all of them for a smaller file), for MIME sniffing.
    pub head: Vec<u8>,
}

/// Why an upload was not stored. Nothing is left in storage in any case.
#[derive(Debug, thiserror::Error)]
pub enum PutError {
    /// The body passed the size limit; the upload stopped there.
    #[error("the file is larger than the limit")]
    TooLarge,
    /// The client's body stream failed (for example the connection dropped).
    #[error("the upload was interrupted: {0}")]
    Body(String),
    /// The storage backend failed.
    #[error("storage failed: {0}")]
    Storage(#[from] object_store::Error),
}

/// Why a stored object could not be read.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// No object has this key.
    #[error("no such object")]
    NotFound,
    /// [`FileStorage::read_all`]: the object is larger than the caller's limit.
    #[error("the object is larger than {max} bytes")]
    TooLarge { max: u64 },
    /// The storage backend failed.
    #[error("storage failed: {0}")]
    Backend(object_store::Error),
}

impl From<object_store::Error> for StorageError {
    fn from(error: object_store::Error) -> Self {
        match error {
            object_store::Error::NotFound { .. } => StorageError::NotFound,
            other => StorageError::Backend(other),
        }
    }
}

/// A download in progress: [`FileStorage::get`].
pub struct Download {
    /// The whole object's size (for `Content-Range`).
    pub object_size: u64,
    /// The bytes `body` yields: the requested range, or the whole object.
    pub range: Range<u64>,
    /// The bytes, as storage sends them.
    pub body: BoxStream<'static, Result<Bytes, object_store::Error>>,
}

impl FileStorage {
    /// The storage a server's configuration names: `None` is the local directory
    /// `<data_dir>/files` (created when missing); `s3://BUCKET` is an S3 bucket, with
    /// optional query parameters `endpoint` (an S3-compatible server such as MinIO;
    /// `http://` is allowed there) and `region`. Credentials and anything else come from
    /// the usual `AWS_*` environment variables.
    pub fn from_url(url: Option<&str>, data_dir: &Path) -> anyhow::Result<FileStorage> {
        let Some(url) = url else {
            let root = data_dir.join("files");
            std::fs::create_dir_all(&root)
                .with_context(|| format!("creating the files directory {}", root.display()))?;
            let local = LocalFileSystem::new_with_prefix(&root)?.with_automatic_cleanup(true);
            return Ok(FileStorage::new(Arc::new(local)));
        };
        let s3 = s3_builder(url)?
            .build()
            .with_context(|| format!("configuring S3 storage from {url}"))?;
        Ok(FileStorage::new(Arc::new(s3)))
    }

    /// Storage on any `object_store` backend (tests use this with their own S3
    /// credentials).
    pub fn new(store: Arc<dyn ObjectStore>) -> FileStorage {
        FileStorage { store }
    }

    /// Streams `body` to `key`, stopping with [`PutError::TooLarge`] as soon as it passes
    /// `max_bytes`. The object becomes visible only once the whole body is stored.
    pub async fn put_stream<S, E>(
        &self,
        key: &StorageKey,
        mut body: S,
        max_bytes: u64,
    ) -> Result<Stored, PutError>
    where
        S: Stream<Item = Result<Bytes, E>> + Unpin,
        E: std::fmt::Display,
    {
        let upload = self.store.put_multipart(&key.path()).await?;
        let mut writer = WriteMultipart::new_with_chunk_size(upload, PART_SIZE);
        let mut digest = Sha256::new();
        let mut size: u64 = 0;
        let mut head = Vec::with_capacity(HEAD_LEN);
        while let Some(chunk) = body.next().await {
            let chunk = match chunk {
                Ok(chunk) => chunk,
                Err(error) => return Err(abort(writer, PutError::Body(error.to_string())).await),
            };
            size += chunk.len() as u64;
            if size > max_bytes {
                return Err(abort(writer, PutError::TooLarge).await);
            }
            digest.update(&chunk);
            let wanted = (HEAD_LEN - head.len()).min(chunk.len());
            head.extend_from_slice(&chunk[..wanted]);
            // Back pressure: the client's body is read no faster than storage takes it.
            if let Err(error) = writer.wait_for_capacity(PARTS_IN_FLIGHT).await {
                return Err(abort(writer, error.into()).await);
            }
            writer.put(chunk);
        }
        // `finish` aborts the upload itself when completing it fails.
        writer.finish().await?;
        Ok(Stored {
            size,
            sha256: hex(&digest.finalize()),
            head,
        })
    }

    /// Streams the object at `key`: the whole of it, or only `range` (byte offsets, end
    /// exclusive; the caller checks it against the file's size first).
    pub async fn get(
        &self,
        key: &StorageKey,
        range: Option<Range<u64>>,
    ) -> Result<Download, StorageError> {
        let options = GetOptions::new().with_range(range);
        let result = self.store.get_opts(&key.path(), options).await?;
        let object_size = result.meta.size;
        let range = result.range.clone();
        let body = match result.payload {
            // object_store reads a local file in 8 KiB steps, one blocking task each;
            // larger steps serve a download several times faster.
            GetResultPayload::File(file, _) => read_file(file, range.clone()),
            GetResultPayload::Stream(stream) => stream,
        };
        Ok(Download {
            object_size,
            range,
            body,
        })
    }

    /// The whole object at `key` in memory, when it is at most `max` bytes (thumbnails, and
    /// images to make them from).
    pub async fn read_all(&self, key: &StorageKey, max: u64) -> Result<Bytes, StorageError> {
        let result = self.store.get(&key.path()).await?;
        if result.meta.size > max {
            return Err(StorageError::TooLarge { max });
        }
        Ok(result.bytes().await?)
    }

    /// Stores a small object (a thumbnail) in one request.
    pub async fn put_small(&self, key: &StorageKey, bytes: Bytes) -> Result<(), StorageError> {
        self.store.put(&key.path(), bytes.into()).await?;
        Ok(())
    }

    /// Deletes the object at `key`; an object that is already gone is fine.
    pub async fn delete(&self, key: &StorageKey) -> Result<(), StorageError> {
        match self.store.delete(&key.path()).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(error) => Err(StorageError::Backend(error)),
        }
    }
}

/// Aborts an upload because of `cause`, which it returns. Aborting removes the parts
/// written so far; when that fails too, the cause still matters more to the caller.
async fn abort(writer: WriteMultipart, cause: PutError) -> PutError {
    if let Err(error) = writer.abort().await {
        tracing::warn!(%error, %cause, "could not abort a failed upload");
    }
    cause
}

/// An S3 configuration from `s3://BUCKET?endpoint=URL&region=REGION`, on top of the
/// `AWS_*` environment variables.
fn s3_builder(url: &str) -> anyhow::Result<AmazonS3Builder> {
    let parsed = Url::parse(url).with_context(|| format!("parsing the storage URL {url}"))?;
    anyhow::ensure!(
        parsed.scheme() == "s3",
        "unsupported storage URL {url}: use s3://BUCKET, or no URL for the local disk"
    );
    let bucket = parsed
        .host_str()
        .filter(|bucket| !bucket.is_empty())
        .with_context(|| format!("the storage URL {url} names no bucket (s3://BUCKET)"))?;
    anyhow::ensure!(
        matches!(parsed.path(), "" | "/"),
        "the storage URL {url} has a path; only s3://BUCKET is supported"
    );
    let mut builder = AmazonS3Builder::from_env().with_bucket_name(bucket);
    for (name, value) in parsed.query_pairs() {
        match &*name {
            "endpoint" => {
                // A custom endpoint (MinIO, moto, ...) takes path-style requests, and a
                // local one often speaks plain HTTP.
                builder = builder
                    .with_allow_http(value.starts_with("http://"))
                    .with_virtual_hosted_style_request(false)
                    .with_endpoint(value.into_owned());
            }
            "region" => builder = builder.with_region(value.into_owned()),
            other => anyhow::bail!(
                "unknown parameter {other} in the storage URL {url} (known: endpoint, region)"
            ),
        }
    }
    Ok(builder)
}

#[cfg(test)]
mod tests;
