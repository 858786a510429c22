//! `TestApp`: a real server on 127.0.0.1:0 with its own database, and a client with one
//! helper per common call. Tests speak JSON values so they assert exactly what a client
//! would see on the wire.
//!
//! The backend is SQLite unless `HEARTH_TEST_BACKEND=postgres`, which runs the same tests
//! on a fresh PostgreSQL database per test (see [`TestData`]); `scripts/test` runs both.

use std::net::SocketAddr;
use std::sync::Arc;

use hearth_core::store::Store;
use hearth_postgres::testing::ScratchDatabase;
use hearth_postgres::{PgOptions, PgStore};
use hearth_server::{AppState, Settings};
use hearth_sqlite::{SqliteOptions, SqliteStore};
use reqwest::{Method, RequestBuilder, StatusCode};
use serde_json::{Value, json};
use tempfile::TempDir;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// The password every test account gets.
pub const PASSWORD: &str = "correct horse battery";

pub struct TestApp {
    pub addr: SocketAddr,
    pub client: reqwest::Client,
    /// The server's own state, for what only the server can see or do (the hub's
    /// counters, pruning the event log); `None` for a server in another process.
    state: Option<AppState>,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<std::io::Result<()>>>,
    /// A `hearth serve` process this app talks to instead (killed on drop).
    process: Option<tokio::process::Child>,
    /// The database when this server owns it (deleted on drop); `None` when the caller
    /// keeps it to reopen the same database later.
    _data: Option<TestData>,
}

/// Where a test's data lives: a temporary directory for SQLite, or a scratch PostgreSQL
/// database, chosen by `HEARTH_TEST_BACKEND` (`sqlite`, the default, or `postgres`).
/// Dropping it deletes the data.
pub enum TestData {
    Sqlite(TempDir),
    Postgres(Box<ScratchDatabase>),
}

impl TestData {
    pub async fn new() -> Self {
        if postgres_selected() {
            Self::postgres().await
        } else {
            TestData::Sqlite(tempfile::tempdir().expect("temp dir"))
        }
    }

    /// A scratch PostgreSQL database whatever the backend selected (multi-node tests).
    pub async fn postgres() -> Self {
        TestData::Postgres(Box::new(ScratchDatabase::create().await))
    }

    /// The `--database` URL a `hearth serve` process would use.
    pub fn url(&self) -> String {
        match self {
            TestData::Sqlite(dir) => format!("sqlite://{}", dir.path().join("hearth.db").display()),
            TestData::Postgres(db) => db.url().to_owned(),
        }
    }

    /// Opens a store on this data, as a server starting on it would.
    pub async fn open(&self) -> Arc<dyn Store> {
        match self {
            TestData::Sqlite(dir) => Arc::new(
                SqliteStore::open(&dir.path().join("hearth.db"), SqliteOptions::default())
                    .await
                    .expect("open the SQLite store"),
            ),
            TestData::Postgres(db) => {
                let options = PgOptions {
                    max_connections: 4,
                    ..PgOptions::default()
                };
                Arc::new(
                    PgStore::connect(db.url(), options)
                        .await
                        .expect("open the PostgreSQL store"),
                )
            }
        }
    }
}

/// Another program's transaction holding every write of a server on the same data back
/// (see [`TestData::hold_writes`]) until [`WritesHeld::release`].
pub enum WritesHeld {
    Sqlite(sqlx::SqliteConnection),
    Postgres(sqlx::PgConnection),
}

impl TestData {
    /// Takes the locks every commit of a message needs, as a long transaction of another
    /// program would: SQLite's write lock (the server's writer waits for it, up to its
    /// busy timeout of 5 s), or every workspace row's lock on PostgreSQL.
    pub async fn hold_writes(&self) -> WritesHeld {
        use sqlx::Connection;
        match self {
            TestData::Sqlite(_) => {
                let mut conn = sqlx::SqliteConnection::connect(&self.url())
                    .await
                    .expect("connect");
                sqlx::raw_sql("BEGIN IMMEDIATE")
                    .execute(&mut conn)
                    .await
                    .expect("take the write lock");
                WritesHeld::Sqlite(conn)
            }
            TestData::Postgres(_) => {
                let mut conn = sqlx::PgConnection::connect(&self.url())
                    .await
                    .expect("connect");
                sqlx::raw_sql("BEGIN; SELECT 1 FROM workspaces FOR UPDATE")
                    .execute(&mut conn)
                    .await
                    .expect("lock the workspaces");
                WritesHeld::Postgres(conn)
            }
        }
    }
}

impl WritesHeld {
    /// Ends the transaction: the writes held back go ahead.
    pub async fn release(self) {
        let rollback = sqlx::raw_sql("ROLLBACK");
        let released = match self {
            WritesHeld::Sqlite(mut conn) => rollback.execute(&mut conn).await.map(drop),
            WritesHeld::Postgres(mut conn) => rollback.execute(&mut conn).await.map(drop),
        };
        released.expect("release the lock");
    }
}

/// Whether `HEARTH_TEST_BACKEND` asks for PostgreSQL.
pub fn postgres_selected() -> bool {
    std::env::var_os("HEARTH_TEST_BACKEND").is_some_and(|v| v == "postgres")
}

/// A signed-in account.
#[derive(Debug, Clone)]
pub struct Session {
    pub token: String,
    pub user_id: String,
    pub workspace_id: String,
    pub slug: String,
    pub email: String,
}

/// A response as a client sees it.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
    /// The body's bytes exactly as sent, for byte-for-byte comparisons.
    pub raw: Vec<u8>,
}

impl Reply {
    /// The error code of an error body, or "" for a success body.
    pub fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or_default()
    }

    #[track_caller]
    pub fn ok(self) -> Value {
        assert!(
            self.status.is_success(),
            "expected success, got {} {}",
            self.status,
            self.body
        );
        self.body
    }

    #[track_caller]
    pub fn expect(self, status: u16, code: &str) -> Value {
        assert_eq!(
            (self.status.as_u16(), self.code()),
            (status, code),
            "unexpected reply: {}",
            self.body
        );
        self.body
    }
}

/// A PNG of the given size, drawn with a gradient.
pub fn png(width: u32, height: u32) -> Vec<u8> {
    let img = image::RgbImage::from_fn(width, height, |x, y| image::Rgb([x as u8, y as u8, 90]));
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

/// A syntactically valid id of the given kind (`C`, `M`, `U`...) that names nothing.
pub fn missing_id(kind: char) -> String {
    format!("{kind}{}", "0".repeat(26))
}

/// The texts of a page of messages (`{"messages": [...]}`), in its order.
pub fn texts(page: &Value) -> Vec<&str> {
    page["messages"]
        .as_array()
        .expect("a page of messages")
        .iter()
        .map(|m| m["text"].as_str().expect("a text"))
        .collect()
}

/// The `id` strings of a JSON array of objects, at `key` inside each when given.
pub fn ids(list: &Value, key: Option<&str>) -> Vec<String> {
    list.as_array()
        .expect("a JSON array")
        .iter()
        .map(|item| {
            let item = key.map_or(item, |k| &item[k]);
            item["id"].as_str().expect("an id").to_owned()
        })
        .collect()
}

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_with(Settings::default()).await
    }

    pub async fn spawn_with(settings: Settings) -> Self {
        let data = TestData::new().await;
        let store = data.open().await;
        Self::start(AppState::new(store, settings), Some(data)).await
    }

    /// A server on `data`, which the caller keeps: stopping this server and spawning
    /// another on the same `data` reopens the same database.
    pub async fn spawn_on(data: &TestData) -> Self {
        Self::start(AppState::new(data.open().await, Settings::default()), None).await
    }

    /// A server on the given state (a store and bus the test built itself).
    pub async fn start(state: AppState, owned: Option<TestData>) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (tx, rx) = oneshot::channel::<()>();
        let server = tokio::spawn(hearth_server::run(listener, state.clone(), async {
            let _ = rx.await;
        }));
        Self {
            addr,
            client: reqwest::Client::new(),
            state: Some(state),
            shutdown: Some(tx),
            server: Some(server),
            process: None,
            _data: owned,
        }
    }

    /// An app for a `hearth serve` process already listening on `addr`; the process is
    /// killed when the app is dropped.
    pub fn attach(addr: SocketAddr, process: tokio::process::Child) -> Self {
        Self {
            addr,
            client: reqwest::Client::new(),
            state: None,
            shutdown: None,
            server: None,
            process: Some(process),
            _data: None,
        }
    }

    /// Starts `command` (a `hearth serve ... --listen 127.0.0.1:0` process, killed with
    /// the app) and waits until it says where it listens.
    pub async fn serve_process(mut command: tokio::process::Command) -> Self {
        use tokio::io::AsyncBufReadExt;
        let mut process = command
            .env("HEARTH_LOG", "error")
            .stdout(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("start a node");
        let stdout = process.stdout.take().expect("stdout");
        let mut lines = tokio::io::BufReader::new(stdout).lines();
        let addr = tokio::time::timeout(std::time::Duration::from_secs(20), async {
            while let Some(line) = lines.next_line().await.expect("read stdout") {
                if let Some(url) = line.strip_prefix("Hearth is listening on http://") {
                    return url.parse::<SocketAddr>().expect("an address");
                }
            }
            panic!("the node exited before listening");
        })
        .await
        .expect("the node started in time");
        Self::attach(addr, process)
    }

    /// The data of a server that owns it (one from [`TestApp::spawn`]).
    #[track_caller]
    pub fn data(&self) -> &TestData {
        self._data.as_ref().expect("a server that owns its data")
    }

    /// The in-process server's state.
    #[track_caller]
    pub fn state(&self) -> &AppState {
        self.state.as_ref().expect("a server in this process")
    }

    /// Kills the server's process at once (SIGKILL: no graceful close, as in a crash).
    pub async fn kill(mut self) {
        if let Some(mut process) = self.process.take() {
            process.kill().await.expect("kill the node");
        }
    }

    /// Stops the server gracefully and waits for it to finish.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(server) = self.server.take() {
            server.await.expect("server task").expect("server io");
        }
    }

    /// Deletes the events logged before `before`, as the retention upkeep does.
    pub async fn prune_events(&self, before: hearth_core::Timestamp) -> u64 {
        self.state()
            .store
            .prune_events(before)
            .await
            .expect("prune events")
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// A request to build by hand (odd headers or bodies); send it with [`Self::send_request`].
    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.client.request(method, self.url(path))
    }

    /// Sends a request; every answer of this API must be empty or JSON.
    pub async fn send_request(&self, req: RequestBuilder) -> Reply {
        let res = req.send().await.expect("request");
        let status = res.status();
        let headers = res.headers().clone();
        let raw = res.bytes().await.expect("body").to_vec();
        let body = if raw.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&raw).unwrap_or_else(|_| {
                panic!(
                    "non-JSON body ({status}): {}",
                    String::from_utf8_lossy(&raw)
                )
            })
        };
        Reply {
            status,
            headers,
            body,
            raw,
        }
    }

    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Reply {
        let mut req = self.request(method, path);
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        if let Some(body) = body {
            req = req.json(&body);
        }
        self.send_request(req).await
    }

    pub async fn get(&self, s: &Session, path: &str) -> Reply {
        self.call(Method::GET, path, Some(&s.token), None).await
    }

    pub async fn post(&self, s: &Session, path: &str, body: Value) -> Reply {
        self.call(Method::POST, path, Some(&s.token), Some(body))
            .await
    }

    pub async fn patch(&self, s: &Session, path: &str, body: Value) -> Reply {
        self.call(Method::PATCH, path, Some(&s.token), Some(body))
            .await
    }

    pub async fn put(&self, s: &Session, path: &str) -> Reply {
        self.call(Method::PUT, path, Some(&s.token), None).await
    }

    pub async fn put_json(&self, s: &Session, path: &str, body: Value) -> Reply {
        self.call(Method::PUT, path, Some(&s.token), Some(body))
            .await
    }

    pub async fn delete(&self, s: &Session, path: &str) -> Reply {
        self.call(Method::DELETE, path, Some(&s.token), None).await
    }

    /// `POST` without a session.
    pub async fn post_anon(&self, path: &str, body: Value) -> Reply {
        self.call(Method::POST, path, None, Some(body)).await
    }

    /// Creates a workspace `slug` whose owner is `owner@<slug>.test`.
    pub async fn create_workspace(&self, slug: &str) -> Session {
        let email = format!("owner@{slug}.test");
        let body = self
            .post_anon(
                "/api/v1/workspaces",
                json!({
                    "name": format!("Workspace {slug}"),
                    "slug": slug,
                    "email": email,
                    "password": PASSWORD,
                    "display_name": "Owner",
                }),
            )
            .await
            .expect(201, "");
        session_from(&body, slug, &email)
    }

    pub async fn login(&self, slug: &str, email: &str, password: &str) -> Reply {
        self.post_anon(
            "/api/v1/auth/login",
            json!({"workspace": slug, "email": email, "password": password}),
        )
        .await
    }

    /// A new session for an account that already exists.
    pub async fn login_as(&self, s: &Session) -> Session {
        let body = self.login(&s.slug, &s.email, PASSWORD).await.ok();
        session_from(&body, &s.slug, &s.email)
    }

    /// Creates an invite and returns its code.
    pub async fn invite(&self, s: &Session, email: Option<&str>, role: &str) -> String {
        let body = self
            .post(s, "/api/v1/invites", json!({"email": email, "role": role}))
            .await
            .expect(201, "");
        body["code"].as_str().expect("invite code").to_owned()
    }

    pub async fn signup(&self, slug: &str, code: &str, email: &str) -> Reply {
        self.post_anon(
            "/api/v1/auth/signup",
            json!({
                "workspace": slug,
                "invite_code": code,
                "email": email,
                "password": PASSWORD,
                "display_name": email.split('@').next().unwrap(),
            }),
        )
        .await
    }

    /// Invites `email` (as `role`) and signs it up; returns its session. The handle is the
    /// email's local part.
    pub async fn add_user(&self, admin: &Session, email: &str, role: &str) -> Session {
        let code = self.invite(admin, Some(email), role).await;
        let body = self.signup(&admin.slug, &code, email).await.expect(201, "");
        session_from(&body, &admin.slug, email)
    }

    /// Creates a channel and returns its id.
    pub async fn create_channel(&self, s: &Session, name: &str, private: bool) -> String {
        let body = self
            .post(
                s,
                "/api/v1/channels",
                json!({"name": name, "private": private}),
            )
            .await
            .expect(201, "");
        body["id"].as_str().unwrap().to_owned()
    }

    /// Posts a message and returns it.
    pub async fn send(&self, s: &Session, channel: &str, text: &str) -> Value {
        self.post(
            s,
            &format!("/api/v1/channels/{channel}/messages"),
            json!({"text": text}),
        )
        .await
        .expect(201, "")
    }

    /// Uploads `bytes` as a file named `name` (letters, digits and `.-_` only); the file
    /// object.
    pub async fn upload_file(&self, s: &Session, name: &str, bytes: &[u8]) -> Value {
        let req = self
            .request(Method::POST, &format!("/api/v1/files?name={name}"))
            .bearer_auth(&s.token)
            .body(bytes.to_vec());
        self.send_request(req).await.ok()
    }

    pub async fn join(&self, s: &Session, channel: &str) {
        self.post(s, &format!("/api/v1/channels/{channel}/join"), json!({}))
            .await
            .ok();
    }

    /// A page of a channel's history; `query` is the URL's query string, possibly empty.
    pub async fn history(&self, s: &Session, channel: &str, query: &str) -> Value {
        self.get(s, &format!("/api/v1/channels/{channel}/messages?{query}"))
            .await
            .ok()
    }

    /// The caller's entry for `channel` in `GET /api/v1/channels`.
    pub async fn my_channel(&self, s: &Session, channel: &str) -> Option<Value> {
        let list = self.get(s, "/api/v1/channels").await.ok();
        list["channels"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == channel)
            .cloned()
    }
}

/// The session in a sign-up, login or workspace creation reply.
pub fn session_from(body: &Value, slug: &str, email: &str) -> Session {
    Session {
        token: body["token"].as_str().expect("token").to_owned(),
        user_id: body["user"]["id"].as_str().expect("user id").to_owned(),
        workspace_id: body["workspace"]["id"]
            .as_str()
            .expect("workspace id")
            .to_owned(),
        slug: slug.to_owned(),
        email: email.to_owned(),
    }
}

/// Where the S3 tests find an S3-compatible server: moto, which `scripts/s3-test-server`
/// installs and starts when nothing answers here. The tests fail, never skip, without it.
const MOTO: &str = "127.0.0.1:9000";

/// The credentials moto accepts (any), for `hearth serve` processes: `--files` S3 reads
/// them from the environment.
pub const S3_ENV: [(&str, &str); 2] = [
    ("AWS_ACCESS_KEY_ID", "test"),
    ("AWS_SECRET_ACCESS_KEY", "test"),
];

/// A new, empty bucket of the local S3-compatible server (started if need be).
pub async fn s3_bucket() -> String {
    static STARTING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    {
        let _guard = STARTING.lock().await;
        if tokio::net::TcpStream::connect(MOTO).await.is_err() {
            let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../scripts/s3-test-server");
            let status = tokio::process::Command::new("bash")
                .arg(script)
                .status()
                .await
                .expect("running scripts/s3-test-server");
            assert!(status.success(), "the S3 tests need moto on {MOTO}");
        }
    }
    let bucket = format!("hearth-it-{}", hearth_core::id::FileId::generate()).to_lowercase();
    // moto creates a bucket on an unsigned PUT; object_store cannot create buckets.
    let created = reqwest::Client::new()
        .put(format!("http://{MOTO}/{bucket}"))
        .send()
        .await
        .expect("creating a bucket");
    assert!(created.status().is_success(), "{}", created.status());
    bucket
}

/// `--files` for `hearth serve` nodes sharing a new bucket (with [`S3_ENV`]).
pub async fn s3_files_url() -> String {
    let bucket = s3_bucket().await;
    format!("s3://{bucket}?endpoint=http://{MOTO}&region=us-east-1")
}

/// File storage in a new, empty bucket of the local S3-compatible server.
pub async fn s3_storage() -> hearth_server::files::FileStorage {
    let s3 = object_store::aws::AmazonS3Builder::new()
        .with_bucket_name(s3_bucket().await)
        .with_endpoint(format!("http://{MOTO}"))
        .with_allow_http(true)
        .with_virtual_hosted_style_request(false)
        .with_region("us-east-1")
        .with_access_key_id("test")
        .with_secret_access_key("test")
        .build()
        .expect("an S3 client");
    hearth_server::files::FileStorage::new(Arc::new(s3))
}
