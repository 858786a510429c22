//! The same storage assertions on the local disk and on S3 (moto on 127.0.0.1:9000,
//! started by `scripts/s3-test-server` when it does not answer; the S3 tests fail, never
//! skip, when it cannot be started).

use std::net::TcpStream;
use std::path::PathBuf;
use std::sync::Mutex;

use argon2::password_hash::rand_core::{OsRng, RngCore};
use futures::stream;
use tempfile::TempDir;

use super::*;

const MOTO: &str = "127.0.0.1:9000";

/// A storage under test and where to look for anything it left behind.
struct Target {
    storage: FileStorage,
    place: Place,
}

enum Place {
    Local(TempDir),
    S3 { bucket: String },
}

impl Target {
    fn local() -> Target {
        let dir = tempfile::tempdir().unwrap();
        let storage = FileStorage::from_url(None, dir.path()).unwrap();
        Target {
            storage,
            place: Place::Local(dir),
        }
    }

    async fn s3() -> Target {
        ensure_moto();
        let mut random = [0u8; 8];
        OsRng.fill_bytes(&mut random);
        let bucket = format!("hearth-test-{}", hex(&random));
        // moto creates buckets on an unsigned PUT; object_store cannot create buckets.
        let created = reqwest::Client::new()
            .put(format!("http://{MOTO}/{bucket}"))
            .send()
            .await
            .unwrap();
        assert!(created.status().is_success(), "{}", created.status());
        let url = format!("s3://{bucket}?endpoint=http://{MOTO}&region=us-east-1");
        let s3 = s3_builder(&url)
            .unwrap()
            .with_access_key_id("test")
            .with_secret_access_key("test")
            .build()
            .unwrap();
        Target {
            storage: FileStorage::new(Arc::new(s3)),
            place: Place::S3 { bucket },
        }
    }

    /// Everything in storage: files on disk (staging files included), or objects and
    /// unfinished multipart uploads in the bucket.
    async fn contents(&self) -> Vec<String> {
        match &self.place {
            Place::Local(dir) => files_under(dir.path().to_path_buf()),
            Place::S3 { bucket } => {
                let mut found: Vec<String> = self
                    .storage
                    .store
                    .list(None)
                    .map(|meta| meta.unwrap().location.to_string())
                    .collect()
                    .await;
                let uploads = reqwest::get(format!("http://{MOTO}/{bucket}?uploads"))
                    .await
                    .unwrap()
                    .text()
                    .await
                    .unwrap();
                if uploads.contains("<Upload>") {
                    found.push(format!("unfinished multipart upload: {uploads}"));
                }
                found
            }
        }
    }
}

fn files_under(dir: PathBuf) -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            found.extend(files_under(path));
        } else {
            found.push(path.display().to_string());
        }
    }
    found
}

/// Starts moto once per test process when nothing answers on its port.
fn ensure_moto() {
    static STARTING: Mutex<()> = Mutex::new(());
    let _guard = STARTING
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if TcpStream::connect(MOTO).is_ok() {
        return;
    }
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scripts/s3-test-server");
    let status = std::process::Command::new("bash")
        .arg(&script)
        .status()
        .unwrap_or_else(|error| panic!("running {}: {error}", script.display()));
    assert!(
        status.success(),
        "{} failed ({status}): the S3 tests need moto on {MOTO}",
        script.display()
    );
}

/// Deterministic noise (xorshift), so a failure reproduces.
fn random_bytes(len: usize) -> Vec<u8> {
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15 ^ len as u64;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect()
}

/// `data` as a client's body: chunks of an odd size, so they straddle part boundaries.
fn body(data: &[u8]) -> impl Stream<Item = Result<Bytes, String>> + Unpin + use<> {
    let chunks: Vec<Result<Bytes, String>> = data
        .chunks(64 * 1024 + 7)
        .map(|chunk| Ok(Bytes::copy_from_slice(chunk)))
        .collect();
    stream::iter(chunks)
}

async fn read(download: Download) -> Vec<u8> {
    let chunks: Vec<Bytes> = download.body.map(|chunk| chunk.unwrap()).collect().await;
    chunks.concat()
}

async fn round_trip_keeps_every_byte(target: Target) {
    let data = random_bytes(12 * 1024 * 1024 + 123);
    let key = StorageKey::generate("W1");
    let stored = target
        .storage
        .put_stream(&key, body(&data), 20 * 1024 * 1024)
        .await
        .unwrap();
    assert_eq!(stored.size, data.len() as u64);
    assert_eq!(stored.sha256, hex(&Sha256::digest(&data)));
    assert_eq!(stored.head, data[..HEAD_LEN]);

    let download = target.storage.get(&key, None).await.unwrap();
    assert_eq!(download.object_size, data.len() as u64);
    assert_eq!(download.range, 0..data.len() as u64);
    assert!(read(download).await == data, "the bytes read back differ");
}

async fn range_read_returns_only_the_range(target: Target) {
    let data = random_bytes(6 * 1024 * 1024);
    let key = StorageKey::generate("W1");
    let limit = data.len() as u64;
    target
        .storage
        .put_stream(&key, body(&data), limit)
        .await
        .unwrap();

    // Across the first part boundary.
    let range = (PART_SIZE as u64 - 10)..(PART_SIZE as u64 + 10);
    let download = target.storage.get(&key, Some(range.clone())).await.unwrap();
    assert_eq!(download.object_size, data.len() as u64);
    assert_eq!(download.range, range);
    assert_eq!(read(download).await, data[PART_SIZE - 10..PART_SIZE + 10]);
}

async fn small_objects_and_read_limits(target: Target) {
    let key = StorageKey::generate("W1").thumb_small();
    let thumb = Bytes::from_static(b"not really a jpeg");
    target.storage.put_small(&key, thumb.clone()).await.unwrap();
    assert_eq!(target.storage.read_all(&key, 1024).await.unwrap(), thumb);
    assert!(matches!(
        target.storage.read_all(&key, 4).await,
        Err(StorageError::TooLarge { max: 4 })
    ));
    let missing = StorageKey::generate("W1");
    assert!(matches!(
        target.storage.read_all(&missing, 1024).await,
        Err(StorageError::NotFound)
    ));
}

async fn empty_file_is_stored(target: Target) {
    let key = StorageKey::generate("W1");
    let stored = target
        .storage
        .put_stream(&key, body(&[]), 10)
        .await
        .unwrap();
    assert_eq!(stored.size, 0);
    assert_eq!(stored.sha256, hex(&Sha256::digest(b"")));
    assert!(
        read(target.storage.get(&key, None).await.unwrap())
            .await
            .is_empty()
    );
}

async fn too_large_stops_early_and_leaves_nothing(target: Target) {
    let data = random_bytes(16 * 1024 * 1024);
    let max = 6 * 1024 * 1024;
    let mut polled = 0u64;
    let counted = body(&data).inspect(|chunk| polled += chunk.as_ref().unwrap().len() as u64);
    let key = StorageKey::generate("W1");
    let result = target.storage.put_stream(&key, counted, max).await;
    assert!(matches!(result, Err(PutError::TooLarge)), "{result:?}");
    assert!(
        polled <= max + 64 * 1024 + 7,
        "read {polled} bytes past the limit"
    );
    assert!(matches!(
        target.storage.get(&key, None).await,
        Err(StorageError::NotFound)
    ));
    assert_eq!(target.contents().await, Vec::<String>::new());
}

async fn broken_body_leaves_nothing(target: Target) {
    let data = random_bytes(7 * 1024 * 1024);
    let broken = body(&data).chain(stream::iter([Err("connection reset".to_string())]));
    let key = StorageKey::generate("W1");
    let result = target.storage.put_stream(&key, broken, u64::MAX).await;
    match result {
        Err(PutError::Body(message)) => assert!(message.contains("connection reset")),
        other => panic!("expected a body error, got {other:?}"),
    }
    assert!(matches!(
        target.storage.get(&key, None).await,
        Err(StorageError::NotFound)
    ));
    assert_eq!(target.contents().await, Vec::<String>::new());
}

async fn delete_is_idempotent(target: Target) {
    let key = StorageKey::generate("W1");
    target
        .storage
        .put_stream(&key, body(b"hello"), 10)
        .await
        .unwrap();
    target.storage.delete(&key).await.unwrap();
    assert!(matches!(
        target.storage.get(&key, None).await,
        Err(StorageError::NotFound)
    ));
    target.storage.delete(&key).await.unwrap();
    target
        .storage
        .delete(&StorageKey::generate("W2"))
        .await
        .unwrap();
    assert_eq!(target.contents().await, Vec::<String>::new());
}

/// One test per assertion and backend: `local::round_trip_keeps_every_byte`,
/// `s3::round_trip_keeps_every_byte`, ...
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod local {
            $(#[tokio::test]
            async fn $name() {
                super::$name(super::Target::local()).await;
            })*
        }
        mod s3 {
            $(#[tokio::test]
            async fn $name() {
                super::$name(super::Target::s3().await).await;
            })*
        }
    };
}

on_both_backends!(
    round_trip_keeps_every_byte,
    range_read_returns_only_the_range,
    small_objects_and_read_limits,
    empty_file_is_stored,
    too_large_stops_early_and_leaves_nothing,
    broken_body_leaves_nothing,
    delete_is_idempotent,
);

#[test]
fn local_storage_creates_its_directory() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");
    FileStorage::from_url(None, &data_dir).unwrap();
    assert!(data_dir.join("files").is_dir());
}

#[test]
fn storage_urls_other_than_s3_are_refused_clearly() {
    let dir = tempfile::tempdir().unwrap();
    for (url, expected) in [
        ("gs://bucket", "unsupported storage URL"),
        ("file:///tmp/x", "unsupported storage URL"),
        ("s3://", "names no bucket"),
        ("s3://bucket/prefix", "has a path"),
        ("s3://bucket?endpint=http://x", "unknown parameter endpint"),
    ] {
        let error = FileStorage::from_url(Some(url), dir.path()).unwrap_err();
        assert!(format!("{error:#}").contains(expected), "{url}: {error:#}");
    }
}

#[test]
fn s3_urls_configure_bucket_endpoint_and_region() {
    let builder = s3_builder("s3://files?endpoint=http://127.0.0.1:9000&region=eu-west-3").unwrap();
    use object_store::aws::AmazonS3ConfigKey as Key;
    assert_eq!(builder.get_config_value(&Key::Bucket).unwrap(), "files");
    assert_eq!(
        builder.get_config_value(&Key::Endpoint).unwrap(),
        "http://127.0.0.1:9000"
    );
    assert_eq!(builder.get_config_value(&Key::Region).unwrap(), "eu-west-3");
    assert_eq!(
        builder
            .get_config_value(&Key::Client(object_store::ClientConfigKey::AllowHttp))
            .unwrap(),
        "true"
    );
}
