//! Files over HTTP: uploads (raw and multipart) and downloads byte for byte, ranges,
//! limits and quotas, who can see a file from every angle, hostile names, HTML and SVG
//! that must never render as pages, image bombs and broken images, and deletion down to
//! the bytes. The storage-dependent tests run twice: on local disk and on S3 (moto).

use std::io::Cursor;
use std::time::Duration;

use hearth_server::Settings;
use hearth_server::files::{FileSettings, FileStorage, StorageKey};
use reqwest::Method;
use reqwest::header::{self, HeaderMap};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::support::{Session, TestApp, missing_id, png, s3_storage};

/// Where a test's files go.
#[derive(Debug, Clone, Copy)]
enum Place {
    Disk,
    S3,
}

/// A server storing its files under `_dir` (on disk). Keep `_dir` bound for the whole
/// test: dropped, it deletes the directory, and the store would quietly make it again
/// outside any test's cleanup.
struct FilesApp {
    app: TestApp,
    storage: FileStorage,
    _dir: tempfile::TempDir,
}

async fn spawn(place: Place, tweak: impl FnOnce(&mut FileSettings)) -> FilesApp {
    let dir = tempfile::tempdir().expect("tempdir");
    let storage = match place {
        Place::Disk => FileStorage::from_url(None, dir.path()).expect("local storage"),
        Place::S3 => s3_storage().await,
    };
    let mut settings = Settings::default();
    settings.files.storage = storage.clone();
    tweak(&mut settings.files);
    FilesApp {
        app: TestApp::spawn_with(settings).await,
        storage,
        _dir: dir,
    }
}

/// Bytes that are not any known file type and compress badly.
fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect()
}

fn percent(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

async fn upload(app: &TestApp, s: &Session, name: &str, bytes: Vec<u8>) -> crate::support::Reply {
    let req = app
        .request(
            Method::POST,
            &format!("/api/v1/files?name={}", percent(name)),
        )
        .bearer_auth(&s.token)
        .body(bytes);
    app.send_request(req).await
}

/// A `multipart/form-data` body with one part named `file`, as a browser sends it.
fn multipart(file_name: &str, content_type: &str, bytes: &[u8]) -> (String, Vec<u8>) {
    let boundary = "----hearth-test-boundary-7MA4YWxkTrZu0gW";
    let mut body = Vec::new();
    body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
    body.extend_from_slice(b"Content-Disposition: form-data; name=\"comment\"\r\n\r\nignored\r\n");
    body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
    body.extend_from_slice(
        format!(
            "Content-Disposition: form-data; name=\"file\"; filename=\"{file_name}\"\r\n\
             Content-Type: {content_type}\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// A download: status, headers and the exact bytes.
async fn fetch(
    app: &TestApp,
    s: &Session,
    path: &str,
    headers: &[(&str, &str)],
) -> (u16, HeaderMap, Vec<u8>) {
    let mut req = app.request(Method::GET, path).bearer_auth(&s.token);
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    let res = req.send().await.expect("download");
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    (status, headers, res.bytes().await.expect("body").to_vec())
}

fn file_path(file: &Value) -> String {
    format!("/api/v1/files/{}", file["id"].as_str().unwrap())
}

fn jpeg(width: u32, height: u32) -> Vec<u8> {
    let img = image::RgbImage::from_fn(width, height, |x, y| image::Rgb([x as u8, 30, y as u8]));
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Jpeg).unwrap();
    out.into_inner()
}

/// A PNG whose header claims 20,000 x 20,000 pixels (1.6 GB decoded), with a little data.
fn png_bomb() -> Vec<u8> {
    fn chunk(out: &mut Vec<u8>, kind: &[u8], data: &[u8]) {
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let mut crc_input = kind.to_vec();
        crc_input.extend_from_slice(data);
        out.extend_from_slice(&crc_input);
        out.extend_from_slice(&crc32(&crc_input).to_be_bytes());
    }
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&20_000u32.to_be_bytes());
    ihdr.extend_from_slice(&20_000u32.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    chunk(&mut out, b"IHDR", &ihdr);
    // A zlib stream of a few zero bytes: a real bomb would carry ~1.6 GB of zeros in ~1.6 MB.
    chunk(
        &mut out,
        b"IDAT",
        &[0x78, 0x9c, 0x63, 0x60, 0x00, 0x00, 0x00, 0x02, 0x00, 0x01],
    );
    chunk(&mut out, b"IEND", &[]);
    out
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &byte in data {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// Sends a request by hand on a fresh connection and reads the answer: for bodies that
/// a normal client would insist on sending whole.
async fn raw_http(app: &TestApp, head: &str, body: &[u8]) -> (u16, String) {
    let mut conn = tokio::net::TcpStream::connect(app.addr)
        .await
        .expect("connect");
    conn.write_all(head.as_bytes()).await.expect("write head");
    conn.write_all(body).await.expect("write body");
    let mut answer = Vec::new();
    let mut buf = [0u8; 8192];
    let read = async {
        loop {
            match conn.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => answer.extend_from_slice(&buf[..n]),
            }
            if answer.ends_with(b"}}") {
                break;
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(10), read)
        .await
        .expect("an answer within 10 s");
    let text = String::from_utf8_lossy(&answer).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {text:?}"));
    (status, text)
}

macro_rules! on_disk_and_s3 {
    ($($name:ident),* $(,)?) => {
        mod disk {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name(super::Place::Disk).await;
                }
            )*
        }
        mod s3 {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name(super::Place::S3).await;
                }
            )*
        }
    };
}

on_disk_and_s3!(
    round_trip_is_byte_exact_with_safe_headers,
    ranges_are_served,
    large_files_stream_whole,
    images_get_thumbnails,
    deleted_files_lose_their_bytes,
);

async fn round_trip_is_byte_exact_with_safe_headers(place: Place) {
    let FilesApp { app, _dir, .. } = spawn(place, |_| {}).await;
    let owner = app.create_workspace("acme").await;
    let bytes = noise(3 * 1024 * 1024 + 17, 1);
    let file = upload(&app, &owner, "build log.bin", bytes.clone()).await;
    assert_eq!(file.status, 201);
    let file = file.body;
    assert_eq!(file["name"], "build log.bin");
    assert_eq!(file["size"], bytes.len());
    assert_eq!(file["mime_type"], "application/octet-stream");
    assert!(file.get("thumb_url").is_none());
    assert_eq!(file["url"], file_path(&file));

    let (status, headers, body) = fetch(&app, &owner, &file_path(&file), &[]).await;
    assert_eq!(status, 200);
    assert!(body == bytes, "the bytes come back exactly");
    let etag = format!("\"{}\"", hex(&Sha256::digest(&bytes)));
    assert_eq!(headers[header::ETAG], etag.as_str());
    assert_eq!(headers[header::CACHE_CONTROL], "private, no-cache");
    assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    assert!(
        headers[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap()
            .starts_with("sandbox")
    );
    assert_eq!(
        headers[header::CONTENT_DISPOSITION],
        "attachment; filename=\"build log.bin\"; filename*=UTF-8''build%20log.bin"
    );
    assert_eq!(
        headers[header::CONTENT_LENGTH],
        bytes.len().to_string().as_str()
    );

    let (status, _, body) =
        fetch(&app, &owner, &file_path(&file), &[("if-none-match", &etag)]).await;
    assert_eq!(
        (status, body.len()),
        (304, 0),
        "a current copy is not sent again"
    );

    let info = app
        .get(&owner, &format!("{}/info", file_path(&file)))
        .await
        .ok();
    assert_eq!(info["id"], file["id"]);
    assert_eq!(info["uploader_id"], owner.user_id.as_str());
    assert!(info["created_at"].is_string());

    // Multipart, as a browser's form sends it, takes the part's file name.
    let (content_type, body) = multipart("notes.txt", "application/x-evil", b"plain words\n");
    let req = app
        .request(Method::POST, "/api/v1/files")
        .bearer_auth(&owner.token)
        .header(header::CONTENT_TYPE, content_type)
        .body(body);
    let text = app.send_request(req).await;
    assert_eq!(text.status, 201, "{}", text.body);
    assert_eq!(text.body["name"], "notes.txt");
    assert_eq!(
        text.body["mime_type"], "text/plain; charset=utf-8",
        "sniffed, not declared"
    );
    let (_, _, body) = fetch(&app, &owner, &file_path(&text.body), &[]).await;
    assert_eq!(body, b"plain words\n");
}

async fn ranges_are_served(place: Place) {
    let FilesApp { app, _dir, .. } = spawn(place, |_| {}).await;
    let owner = app.create_workspace("acme").await;
    let bytes = noise(100_000, 2);
    let file = upload(&app, &owner, "r.bin", bytes.clone()).await.ok();
    let path = file_path(&file);

    let (status, headers, body) = fetch(&app, &owner, &path, &[("range", "bytes=10-19")]).await;
    assert_eq!(status, 206);
    assert_eq!(body, &bytes[10..20]);
    assert_eq!(headers[header::CONTENT_RANGE], "bytes 10-19/100000");
    assert_eq!(headers[header::ACCEPT_RANGES], "bytes");

    let (status, headers, body) = fetch(&app, &owner, &path, &[("range", "bytes=99990-")]).await;
    assert_eq!((status, body.as_slice()), (206, &bytes[99_990..]));
    assert_eq!(headers[header::CONTENT_RANGE], "bytes 99990-99999/100000");

    let (status, _, body) = fetch(&app, &owner, &path, &[("range", "bytes=-5")]).await;
    assert_eq!((status, body.as_slice()), (206, &bytes[99_995..]));

    let (status, headers, _) = fetch(&app, &owner, &path, &[("range", "bytes=100000-")]).await;
    assert_eq!(status, 416);
    assert_eq!(headers[header::CONTENT_RANGE], "bytes */100000");

    // Several ranges, or a stale If-Range: the whole file.
    let (status, _, body) = fetch(&app, &owner, &path, &[("range", "bytes=0-1,5-6")]).await;
    assert_eq!((status, body.len()), (200, bytes.len()));
    let stale = [("range", "bytes=0-1"), ("if-range", "\"stale\"")];
    let (status, _, body) = fetch(&app, &owner, &path, &stale).await;
    assert_eq!((status, body.len()), (200, bytes.len()));

    // An empty file is a file too; no range of it exists.
    let empty = upload(&app, &owner, "empty.txt", Vec::new()).await.ok();
    assert_eq!(empty["size"], 0);
    let (status, _, body) = fetch(&app, &owner, &file_path(&empty), &[]).await;
    assert_eq!((status, body.len()), (200, 0));
    let (status, _, _) = fetch(&app, &owner, &file_path(&empty), &[("range", "bytes=0-")]).await;
    assert_eq!(status, 416);
}

async fn large_files_stream_whole(place: Place) {
    let FilesApp { app, _dir, .. } = spawn(place, |_| {}).await;
    let owner = app.create_workspace("acme").await;
    let bytes = noise(40 * 1024 * 1024 + 3, 3);
    let digest = Sha256::digest(&bytes);
    let file = upload(&app, &owner, "big.bin", bytes).await.ok();
    assert_eq!(file["size"], 40 * 1024 * 1024 + 3);
    let (status, _, body) = fetch(&app, &owner, &file_path(&file), &[]).await;
    assert_eq!(status, 200);
    assert_eq!(body.len(), 40 * 1024 * 1024 + 3);
    assert!(
        Sha256::digest(&body) == digest,
        "a 40 MiB file comes back whole"
    );
}

async fn images_get_thumbnails(place: Place) {
    let FilesApp { app, _dir, .. } = spawn(place, |_| {}).await;
    let owner = app.create_workspace("acme").await;
    let (content_type, body) = multipart("photo.png", "image/png", &png(800, 600));
    let req = app
        .request(Method::POST, "/api/v1/files")
        .bearer_auth(&owner.token)
        .header(header::CONTENT_TYPE, content_type)
        .body(body);
    let file = app.send_request(req).await.ok();
    assert_eq!(file["mime_type"], "image/png");
    assert_eq!(
        (file["width"].as_u64(), file["height"].as_u64()),
        (Some(800), Some(600))
    );
    let thumb_url = file["thumb_url"].as_str().expect("a thumbnail").to_owned();

    let (_, headers, _) = fetch(&app, &owner, &file_path(&file), &[]).await;
    assert!(
        headers[header::CONTENT_DISPOSITION]
            .to_str()
            .unwrap()
            .starts_with("inline;"),
        "safe images show inline"
    );
    for (query, width) in [("", 360), ("?size=64", 64)] {
        let (status, headers, body) =
            fetch(&app, &owner, &format!("{thumb_url}{query}"), &[]).await;
        assert_eq!(status, 200);
        assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
        let thumb = image::load_from_memory(&body).expect("a decodable thumbnail");
        assert_eq!((thumb.width(), thumb.height()), (width, width * 3 / 4));
    }
    app.get(&owner, &format!("{thumb_url}?size=65"))
        .await
        .expect(400, "invalid_thumb_size");

    // A file that is no image has no thumbnail.
    let other = upload(&app, &owner, "x.bin", noise(10, 4)).await.ok();
    app.get(&owner, &format!("{}/thumb", file_path(&other)))
        .await
        .expect(404, "thumbnail_not_found");
}

async fn deleted_files_lose_their_bytes(place: Place) {
    let FilesApp { app, storage, _dir } = spawn(place, |_| {}).await;
    let owner = app.create_workspace("acme").await;
    let general = app.create_channel(&owner, "general", false).await;
    let file = upload(&app, &owner, "gone.png", png(100, 100)).await.ok();
    let message = app
        .post(
            &owner,
            &format!("/api/v1/channels/{general}/messages"),
            json!({"text": "", "file_ids": [file["id"]]}),
        )
        .await
        .ok();
    app.delete(
        &owner,
        &format!("/api/v1/messages/{}", message["id"].as_str().unwrap()),
    )
    .await
    .ok();
    app.get(&owner, &format!("{}/info", file_path(&file)))
        .await
        .expect(404, "file_not_found");

    let key = key_of(&app, &owner, &file).await;
    assert!(
        storage.get(&key, None).await.is_ok(),
        "the bytes are still there"
    );
    let state = app.state();
    let purged = state
        .files
        .purge(&*state.store, Duration::from_secs(3600), 100)
        .await
        .unwrap();
    assert_eq!(purged, 1);
    for key in [key.clone(), key.thumb_large(), key.thumb_small()] {
        assert!(
            storage.get(&key, None).await.is_err(),
            "{} removed",
            key.as_str()
        );
    }
}

/// Where the store says a file's bytes are (asked directly: the API never tells).
async fn key_of(app: &TestApp, owner: &Session, file: &Value) -> StorageKey {
    let state = app.state();
    let me = state
        .store
        .user(
            &hearth_core::id::WorkspaceId::parse(&owner.workspace_id).unwrap(),
            &hearth_core::id::UserId::parse(&owner.user_id).unwrap(),
        )
        .await
        .unwrap()
        .unwrap();
    let id = hearth_core::id::FileId::parse(file["id"].as_str().unwrap()).unwrap();
    // Deleted files are no longer visible through the store's `file`; purge lists them.
    let pending = state
        .store
        .files_to_purge(hearth_core::Timestamp(0), 100)
        .await
        .unwrap();
    let found = pending
        .into_iter()
        .find(|p| p.id == id && p.workspace_id == me.workspace_id);
    StorageKey::from_stored(
        found
            .expect("the deleted file awaits its purge")
            .storage_key,
    )
}

/// Every file under `dir`, recursively.
fn stored_files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(stored_files(&path));
        } else {
            found.push(path);
        }
    }
    found
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[tokio::test]
async fn limits_and_quotas_refuse_before_storing() {
    let FilesApp { app, _dir: dir, .. } = spawn(Place::Disk, |f| {
        f.max_upload_bytes = 1024 * 1024;
        f.workspace_quota = Some(3 * 1024 * 1024);
    })
    .await;
    let owner = app.create_workspace("acme").await;
    let host = app.addr;

    // A declared length over the limit: refused before a byte of the body is read.
    let head = format!(
        "POST /api/v1/files?name=big HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/octet-stream\r\nContent-Length: {}\r\n\r\n",
        owner.token,
        200 * 1024 * 1024
    );
    let (status, text) = raw_http(&app, &head, b"").await;
    assert_eq!(status, 413, "{text}");
    assert!(text.contains("file_too_large"), "{text}");

    // No length declared (chunked): refused once the stream passes the limit.
    let head = format!(
        "POST /api/v1/files?name=big HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {}\r\n\
         Transfer-Encoding: chunked\r\n\r\n",
        owner.token
    );
    let mut chunks = Vec::new();
    for _ in 0..17 {
        chunks.extend_from_slice(format!("{:x}\r\n", 65_536).as_bytes());
        chunks.extend_from_slice(&noise(65_536, 5));
        chunks.extend_from_slice(b"\r\n");
    }
    let (status, text) = raw_http(&app, &head, &chunks).await;
    assert_eq!(status, 413, "{text}");
    assert!(text.contains("file_too_large"), "{text}");

    assert!(
        stored_files(dir.path()).is_empty(),
        "a refused upload leaves nothing"
    );

    // Exactly at the limit is fine; the quota then runs out.
    upload(&app, &owner, "a", noise(1024 * 1024, 6)).await.ok();
    upload(&app, &owner, "b", noise(1024 * 1024, 7)).await.ok();
    let c = upload(&app, &owner, "c", noise(1024 * 1024 - 10, 8))
        .await
        .ok();
    upload(&app, &owner, "d", noise(11, 9))
        .await
        .expect(413, "quota_exceeded");
    assert_eq!(
        stored_files(dir.path()).len(),
        3,
        "one object per stored upload"
    );
    // Another workspace has its own quota.
    let other = app.create_workspace("globex").await;
    upload(&app, &other, "e", noise(1024 * 1024, 10)).await.ok();
    // Deleting frees the room at once.
    app.delete(&owner, &file_path(&c)).await.ok();
    upload(&app, &owner, "f", noise(1024, 11)).await.ok();
}

#[tokio::test]
async fn files_are_seen_only_where_they_are_shared() {
    let FilesApp { app, _dir, .. } = spawn(Place::Disk, |_| {}).await;
    let owner = app.create_workspace("acme").await;
    let bob = app.add_user(&owner, "bob@acme.test", "member").await;
    let cy = app.add_user(&owner, "cy@acme.test", "member").await;
    let guest = app.add_user(&owner, "gus@acme.test", "guest").await;
    let outsider = app.create_workspace("globex").await;
    let secret = app.create_channel(&owner, "secret", true).await;
    app.post(
        &owner,
        &format!("/api/v1/channels/{secret}/members"),
        json!({"user_ids": [bob.user_id]}),
    )
    .await
    .ok();
    let file = upload(&app, &owner, "plan.png", png(40, 30)).await.ok();
    let path = file_path(&file);
    let paths = [
        path.clone(),
        format!("{path}/thumb"),
        format!("{path}/info"),
    ];
    let can = |s: &Session| {
        let (app, paths) = (&app, &paths);
        let token = s.token.clone();
        async move {
            let mut seen = Vec::new();
            for p in paths {
                let res = app
                    .request(Method::GET, p)
                    .bearer_auth(&token)
                    .send()
                    .await
                    .unwrap();
                let status = res.status().as_u16();
                if status == 404 {
                    let body: Value = res.json().await.unwrap();
                    assert_eq!(body["error"]["code"], "file_not_found", "{p}");
                }
                seen.push(status);
            }
            assert!(seen.iter().all(|s| *s == seen[0]), "{seen:?}");
            seen[0] == 200
        }
    };
    // Unshared: its uploader only.
    assert!(can(&owner).await);
    for s in [&bob, &cy, &guest, &outsider] {
        assert!(!can(s).await);
    }
    // Shared in a private channel: its members.
    let shared = app
        .post(
            &owner,
            &format!("/api/v1/channels/{secret}/messages"),
            json!({"text": "the plan", "file_ids": [file["id"]]}),
        )
        .await
        .ok();
    assert_eq!(shared["files"][0]["id"], file["id"]);
    assert_eq!(shared["files"][0]["name"], "plan.png");
    assert!(can(&bob).await);
    for s in [&cy, &guest, &outsider] {
        assert!(!can(s).await);
    }
    // A member who can see it cannot pass it on into a channel others read... they can:
    // sharing is what files are for. But someone who cannot see it cannot share it.
    let general = app.create_channel(&cy, "general", false).await;
    app.post(
        &cy,
        &format!("/api/v1/channels/{general}/messages"),
        json!({"text": "stolen", "file_ids": [file["id"]]}),
    )
    .await
    .expect(404, "file_not_found");
    // Only the uploader or an admin deletes it; bob sees it but may not.
    app.delete(&bob, &path).await.expect(403, "not_file_owner");
    app.delete(&outsider, &path)
        .await
        .expect(404, "file_not_found");
    // Deleting the only message that shares it removes access at once, for everyone.
    app.delete(
        &owner,
        &format!("/api/v1/messages/{}", shared["id"].as_str().unwrap()),
    )
    .await
    .ok();
    for s in [&owner, &bob] {
        assert!(!can(s).await);
    }
}

#[tokio::test]
async fn messages_share_files_and_lose_deleted_ones() {
    let FilesApp { app, _dir, .. } = spawn(Place::Disk, |_| {}).await;
    let owner = app.create_workspace("acme").await;
    let bob = app.add_user(&owner, "bob@acme.test", "member").await;
    let general = app.create_channel(&owner, "general", false).await;
    app.join(&bob, &general).await;
    let post = |s: &Session, body: Value| {
        let path = format!("/api/v1/channels/{general}/messages");
        let (app, s) = (&app, s.clone());
        async move { app.post(&s, &path, body).await }
    };
    let mine = upload(&app, &bob, "a.txt", b"a".to_vec()).await.ok();
    let extra = upload(&app, &bob, "b.txt", b"b".to_vec()).await.ok();

    // Text may be empty with files, not without; repeats count once.
    post(&bob, json!({"text": "  "}))
        .await
        .expect(422, "empty_text");
    let m = post(
        &bob,
        json!({"text": "", "file_ids": [mine["id"], extra["id"], mine["id"]]}),
    )
    .await
    .ok();
    let names: Vec<_> = m["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].clone())
        .collect();
    assert_eq!(names, [json!("a.txt"), json!("b.txt")]);
    assert_eq!(m["text"], "");
    let m_path = format!("/api/v1/messages/{}", m["id"].as_str().unwrap());
    let captioned = app
        .patch(&bob, &m_path, json!({"text": "both files"}))
        .await
        .ok();
    assert_eq!(captioned["files"].as_array().unwrap().len(), 2);
    app.patch(&bob, &m_path, json!({"text": ""})).await.ok();
    let plain = post(&bob, json!({"text": "words only"})).await.ok();
    let plain_path = format!("/api/v1/messages/{}", plain["id"].as_str().unwrap());
    app.patch(&bob, &plain_path, json!({"text": " "}))
        .await
        .expect(422, "empty_text");

    let eleven: Vec<Value> = (0..11).map(|i| json!(format!("F{i:026}"))).collect();
    post(&bob, json!({"text": "x", "file_ids": eleven}))
        .await
        .expect(422, "too_many_files");
    // Ten distinct ids, repeated: one of each counts (and none exists).
    let repeated: Vec<Value> = (0..40).map(|i| json!(format!("F{:026}", i % 10))).collect();
    post(&bob, json!({"text": "x", "file_ids": repeated}))
        .await
        .expect(404, "file_not_found");

    // A retry still gets its original after one of its files was deleted meanwhile.
    let kept = upload(&app, &bob, "kept.txt", b"k".to_vec()).await.ok();
    let doomed = upload(&app, &bob, "doomed.txt", b"d".to_vec()).await.ok();
    let send = json!({"text": "two", "client_msg_id": "retry-1",
                      "file_ids": [kept["id"], doomed["id"]]});
    let first = post(&bob, send.clone()).await;
    assert_eq!(first.status, 201);
    app.delete(&bob, &file_path(&doomed)).await.ok();
    let again = post(&bob, send).await;
    assert_eq!(again.status, 200, "{}", again.body);
    assert_eq!(again.body["id"], first.body["id"]);
    assert_eq!(again.body["files"].as_array().unwrap().len(), 1);
    // A new send cannot name the deleted file.
    post(
        &bob,
        json!({"text": "x", "client_msg_id": "retry-2", "file_ids": [doomed["id"]]}),
    )
    .await
    .expect(404, "file_not_found");
    post(&bob, json!({"text": "x", "file_ids": [missing_id('F')]}))
        .await
        .expect(404, "file_not_found");
    post(&bob, json!({"text": "x", "file_ids": ["../../etc/passwd"]}))
        .await
        .expect(404, "file_not_found");
    // The owner's own unshared upload cannot be shared by bob.
    let owners = upload(&app, &owner, "o.txt", b"o".to_vec()).await.ok();
    post(&bob, json!({"text": "x", "file_ids": [owners["id"]]}))
        .await
        .expect(404, "file_not_found");

    // Deleting a file takes it out of the message, live, and from history.
    let after = app
        .get(&owner, "/api/v1/events?after=0&limit=200")
        .await
        .ok()["last_seq"]
        .as_i64()
        .unwrap();
    app.delete(&owner, &file_path(&extra)).await.ok();
    let message = app
        .get(
            &bob,
            &format!("/api/v1/messages/{}", m["id"].as_str().unwrap()),
        )
        .await
        .ok();
    assert_eq!(message["files"].as_array().unwrap().len(), 1);
    assert_eq!(message["files"][0]["id"], mine["id"]);
    let events = app
        .get(&bob, &format!("/api/v1/events?after={after}"))
        .await
        .ok();
    let kinds: Vec<_> = events["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"]["kind"].clone())
        .collect();
    assert_eq!(kinds, [json!("message.updated")]);
    app.get(&bob, &format!("{}/info", file_path(&extra)))
        .await
        .expect(404, "file_not_found");
    let page = app.history(&bob, &general, "").await;
    assert_eq!(page["messages"][0]["files"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn hostile_names_are_data_and_never_paths() {
    let FilesApp { app, _dir: dir, .. } = spawn(Place::Disk, |_| {}).await;
    let owner = app.create_workspace("acme").await;
    let sneaky = upload(&app, &owner, "../../x", b"x".to_vec()).await.ok();
    assert_eq!(sneaky["name"], "../../x");
    let (_, headers, body) = fetch(&app, &owner, &file_path(&sneaky), &[]).await;
    assert_eq!(body, b"x");
    assert_eq!(
        headers[header::CONTENT_DISPOSITION],
        "attachment; filename=\"../../x\"; filename*=UTF-8''..%2F..%2Fx"
    );
    // Nothing was written outside the files directory, nor under the given name.
    assert!(!dir.path().join("x").exists());
    assert!(!dir.path().parent().unwrap().join("x").exists());
    let quoted = upload(&app, &owner, "say \"hi\".txt", b"hi".to_vec())
        .await
        .ok();
    let (_, headers, _) = fetch(&app, &owner, &file_path(&quoted), &[]).await;
    assert!(
        headers[header::CONTENT_DISPOSITION]
            .to_str()
            .unwrap()
            .starts_with("attachment; filename=\"say _hi_.txt\"")
    );

    for bad in [
        "a\0b",
        &"n".repeat(256),
        "evil\u{202E}gnp.exe",
        "",
        "line\nbreak",
    ] {
        upload(&app, &owner, bad, b"x".to_vec())
            .await
            .expect(422, "invalid_file_name");
    }
    let req = app
        .request(Method::POST, "/api/v1/files")
        .bearer_auth(&owner.token)
        .body("x");
    app.send_request(req).await.expect(400, "file_name_missing");
    let long = "ü".repeat(255);
    assert_eq!(
        upload(&app, &owner, &long, b"x".to_vec()).await.ok()["name"],
        long.as_str()
    );
}

#[tokio::test]
async fn html_and_svg_are_never_served_as_pages() {
    let FilesApp { app, _dir, .. } = spawn(Place::Disk, |_| {}).await;
    let owner = app.create_workspace("acme").await;
    let html = b"<!DOCTYPE html><html><script>alert(document.cookie)</script></html>".to_vec();
    let svg = br#"<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>alert(2)</script></svg>"#.to_vec();
    for (name, bytes) in [
        ("page.html", html),
        ("logo.svg", svg),
        ("pic.png", b"<html>not a png".to_vec()),
    ] {
        let file = upload(&app, &owner, name, bytes.clone()).await.ok();
        let mime = file["mime_type"].as_str().unwrap();
        assert!(!mime.starts_with("image/"), "{name} is no image: {mime}");
        assert!(file.get("thumb_url").is_none(), "{name}");
        let (status, headers, body) = fetch(&app, &owner, &file_path(&file), &[]).await;
        assert_eq!((status, body), (200, bytes));
        let disposition = headers[header::CONTENT_DISPOSITION].to_str().unwrap();
        assert!(
            disposition.starts_with("attachment;"),
            "{name}: {disposition}"
        );
        assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
        assert!(
            headers[header::CONTENT_SECURITY_POLICY]
                .to_str()
                .unwrap()
                .contains("sandbox")
        );
        let content_type = headers[header::CONTENT_TYPE].to_str().unwrap();
        assert!(
            !content_type.contains("html") && !content_type.contains("svg"),
            "{content_type}"
        );
    }
}

#[tokio::test]
async fn image_bombs_and_broken_images_get_no_thumbnail_and_harm_nothing() {
    let FilesApp { app, _dir, .. } = spawn(Place::Disk, |_| {}).await;
    let owner = app.create_workspace("acme").await;
    let bomb = upload(&app, &owner, "bomb.png", png_bomb()).await.ok();
    assert_eq!(bomb["mime_type"], "image/png");
    assert!(
        bomb.get("thumb_url").is_none() && bomb.get("width").is_none(),
        "{bomb}"
    );
    let whole = jpeg(640, 480);
    let truncated = whole[..whole.len() / 2].to_vec();
    let broken = upload(&app, &owner, "cut.jpg", truncated.clone())
        .await
        .ok();
    assert_eq!(broken["mime_type"], "image/jpeg");
    assert!(broken.get("thumb_url").is_none(), "{broken}");
    let (_, _, body) = fetch(&app, &owner, &file_path(&broken), &[]).await;
    assert_eq!(body, truncated, "the file itself is kept as uploaded");

    // The server is unharmed: the next image gets its thumbnails.
    let fine = upload(&app, &owner, "ok.jpg", jpeg(640, 480)).await.ok();
    assert!(fine["thumb_url"].is_string());
    app.get(&owner, "/api/v1/me").await.ok();
}
