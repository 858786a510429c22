//! `hearth migrate-data`: a team's SQLite installation, built through the API and copied
//! into PostgreSQL by the real binary, looks the same to every member there and carries on
//! from where it was. The tool refuses what it must (a target that already holds data, a
//! source that is not a Hearth database) and leaves the target as it found it when it
//! fails.

use std::path::PathBuf;
use std::process::Output;
use std::sync::Arc;

use hearth_core::Timestamp;
use hearth_core::id::{ChannelId, PushTargetId, UserId, WorkspaceId};
use hearth_core::notify::{
    ChannelNotify, NewPushTarget, NotifyLevel, NotifyPrefs, PushKind, PushTarget, QuietHours,
    TimeZone,
};
use hearth_core::store::NotifyStore;
use hearth_postgres::testing::ScratchDatabase;
use hearth_postgres::{PgOptions, PgStore};
use hearth_server::{AppState, Settings};
use hearth_sqlite::{SqliteOptions, SqliteStore};
use serde_json::{Value, json};
use sqlx::{AssertSqlSafe, Connection};
use tempfile::TempDir;

use crate::support::{PASSWORD, Session, TestApp, png};

/// Hearth's tables, for looking at the target from outside.
const TABLES: &[&str] = &[
    "workspaces",
    "users",
    "sessions",
    "invites",
    "channels",
    "memberships",
    "membership_spans",
    "events",
    "messages",
    "message_mentions",
    "reactions",
    "notify_prefs",
    "push_targets",
    "notify_cursors",
    "notifications",
    "deliveries",
    "server_secrets",
];

/// Texts that `COPY`'s text format gives meaning to, and some it does not.
const TRICKY_TEXTS: &[&str] = &[
    "a\ttab",
    "two\nlines\n\nand a blank one",
    "back\\slash and \\t not a tab",
    "\\N",
    "\\",
    "quotes \" ' and , commas; pipes |",
    "héllo wörld 👋🏽 日本語",
];

/// Runs `hearth migrate-data` with `args` and returns what it did.
async fn migrate_data(args: &[&str]) -> Output {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_hearth"))
        .arg("migrate-data")
        .args(args)
        .env_remove("HEARTH_MIGRATE_FROM")
        .env_remove("HEARTH_MIGRATE_TO")
        .output()
        .await
        .expect("run hearth migrate-data")
}

async fn migrate(from: &str, to: &str) -> Output {
    migrate_data(&["--from", from, "--to", to]).await
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[track_caller]
fn assert_succeeded(out: &Output) {
    assert!(
        out.status.success(),
        "migrate-data failed ({}):\n{}",
        out.status,
        stderr(out)
    );
}

#[track_caller]
fn assert_failed_saying(out: &Output, words: &str) {
    assert!(
        !out.status.success(),
        "migrate-data succeeded:\n{}",
        stderr(out)
    );
    assert!(
        stderr(out).contains(words),
        "expected {words:?} in the error:\n{}",
        stderr(out)
    );
}

/// A server on SQLite in `dir`, whatever backend the rest of the suite runs on, as the
/// embedded default runs.
struct SqliteServer {
    app: TestApp,
    store: Arc<SqliteStore>,
}

impl SqliteServer {
    async fn start(dir: &TempDir) -> Self {
        let store = SqliteStore::open(&db_file(dir), SqliteOptions::default())
            .await
            .expect("open the SQLite store");
        let store = Arc::new(store);
        let app = TestApp::start(AppState::new(store.clone(), Settings::default()), None).await;
        Self { app, store }
    }

    /// Stops the server and closes the store as `hearth serve` does on shutdown: the
    /// write-ahead log is checkpointed into the file and nothing holds it open.
    async fn stop(self) {
        self.app.stop().await;
        self.store.close().await;
    }
}

fn db_file(dir: &TempDir) -> PathBuf {
    dir.path().join("hearth.db")
}

fn sqlite_url(dir: &TempDir) -> String {
    format!("sqlite://{}", db_file(dir).display())
}

/// A server on PostgreSQL at `url`, as a node of the scale-out mode would start.
async fn serve_postgres(url: &str) -> TestApp {
    let options = PgOptions {
        max_connections: 4,
        ..PgOptions::default()
    };
    let store = PgStore::connect(url, options).await.expect("connect");
    TestApp::start(AppState::new(Arc::new(store), Settings::default()), None).await
}

/// Each Hearth table's row count in the database at `url`.
async fn row_counts(url: &str) -> Vec<(&'static str, i64)> {
    let mut conn = sqlx::PgConnection::connect(url).await.expect("connect");
    let mut counts = Vec::new();
    for table in TABLES {
        let sql = format!("SELECT count(*) FROM {table}");
        let n: i64 = sqlx::query_scalar(AssertSqlSafe(sql))
            .fetch_one(&mut conn)
            .await
            .expect("count rows");
        counts.push((*table, n));
    }
    counts
}

/// How many tables the database at `url` has: 0 for one nothing has touched.
async fn table_count(url: &str) -> i64 {
    let mut conn = sqlx::PgConnection::connect(url).await.expect("connect");
    sqlx::query_scalar(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'",
    )
    .fetch_one(&mut conn)
    .await
    .expect("count tables")
}

/// The people and places of the installation under test.
struct Team {
    owner: Session,
    bob: Session,
    carol: Session,
    /// Deactivated: can no longer log in.
    dave_id: String,
    dave_email: String,
    /// An invite no one has redeemed yet.
    open_invite: String,
    general: String,
    /// The message with a thread and reactions.
    root: String,
}

/// Builds a realistic installation through the API: channels of every kind, members
/// coming and going, messages with threads, edits, deletions, reactions, mentions and
/// read markers, and a second workspace alongside.
async fn build_team(app: &TestApp) -> Team {
    let owner = app.create_workspace("acme").await;
    let bob = app.add_user(&owner, "bob@acme.test", "member").await;
    let carol = app.add_user(&owner, "carol@acme.test", "admin").await;
    let dave = app.add_user(&owner, "dave@acme.test", "member").await;
    let open_invite = app.invite(&owner, None, "member").await;
    app.patch(
        &bob,
        "/api/v1/users/me",
        json!({"status_text": "on call \\ back soon", "status_emoji": "pager"}),
    )
    .await
    .ok();

    let other = app.create_workspace("other").await;
    let elsewhere = app.create_channel(&other, "elsewhere", false).await;
    app.send(&other, &elsewhere, "another team entirely").await;

    let general = app.create_channel(&owner, "general", false).await;
    for s in [&bob, &carol, &dave] {
        app.join(s, &general).await;
    }
    app.patch(
        &owner,
        &format!("/api/v1/channels/{general}"),
        json!({"topic": "Everything \\ nothing", "purpose": "Company-wide"}),
    )
    .await
    .ok();
    let secret = app.create_channel(&owner, "secret", true).await;
    app.post(
        &owner,
        &format!("/api/v1/channels/{secret}/members"),
        json!({"user_ids": [bob.user_id]}),
    )
    .await
    .ok();
    let random = app.create_channel(&carol, "random", false).await;
    app.join(&bob, &random).await;
    app.send(&bob, &random, "brb").await;
    app.post(&bob, &format!("/api/v1/channels/{random}/leave"), json!({}))
        .await
        .ok();
    app.patch(
        &carol,
        &format!("/api/v1/channels/{random}"),
        json!({"archived": true}),
    )
    .await
    .ok();

    for text in TRICKY_TEXTS {
        app.send(&owner, &general, text).await;
    }
    // Files: an image (with its size) and a document, shared; one left unshared.
    let image = app.upload_file(&owner, "chart.png", &png(64, 48)).await;
    let doc = app.upload_file(&bob, "notes.txt", b"minutes").await;
    app.upload_file(&carol, "draft.txt", b"unshared").await;
    app.post(
        &owner,
        &format!("/api/v1/channels/{general}/messages"),
        json!({"text": "", "file_ids": [image["id"], doc["id"]]}),
    )
    .await
    .expect(404, "file_not_found");
    app.post(
        &owner,
        &format!("/api/v1/channels/{general}/messages"),
        json!({"text": "the chart", "file_ids": [image["id"]]}),
    )
    .await
    .ok();
    app.post(
        &bob,
        &format!("/api/v1/channels/{general}/messages"),
        json!({"text": "", "file_ids": [doc["id"]]}),
    )
    .await
    .ok();
    let root = app.send(&owner, &general, "release on friday? @bob").await;
    let root = root["id"].as_str().unwrap().to_owned();
    let mut replies = Vec::new();
    for (n, (s, text)) in [
        (&bob, "yes\tif the tests pass".to_owned()),
        (&carol, format!("<@{}> fine by me", owner.user_id)),
        (&owner, "@channel ship it".to_owned()),
    ]
    .into_iter()
    .enumerate()
    {
        let reply = app
            .post(
                s,
                &format!("/api/v1/channels/{general}/messages"),
                json!({"text": text, "thread_root_id": root, "client_msg_id": format!("reply-{n}")}),
            )
            .await
            .expect(201, "");
        replies.push(reply["id"].as_str().unwrap().to_owned());
    }
    app.patch(
        &bob,
        &format!("/api/v1/messages/{}", replies[0]),
        json!({"text": "yes, once\nthe tests pass"}),
    )
    .await
    .ok();
    let doomed = app.send(&dave, &general, "oops, wrong channel").await;
    app.delete(
        &dave,
        &format!("/api/v1/messages/{}", doomed["id"].as_str().unwrap()),
    )
    .await
    .ok();
    // Reactions in an order people made them in, one taken back.
    for (s, emoji) in [
        (&bob, "thumbsup"),
        (&carol, "tada"),
        (&owner, "thumbsup"),
        (&carol, "thumbsup"),
        (&dave, "eyes"),
        (&bob, "tada"),
    ] {
        app.put(s, &format!("/api/v1/messages/{root}/reactions/{emoji}"))
            .await
            .ok();
    }
    app.delete(
        &owner,
        &format!("/api/v1/messages/{root}/reactions/thumbsup"),
    )
    .await
    .ok();

    app.send(&owner, &secret, "the plan, between us").await;
    let dm = app
        .post(&owner, "/api/v1/dms", json!({"user_ids": [bob.user_id]}))
        .await
        .ok();
    let dm = dm["id"].as_str().unwrap().to_owned();
    app.send(&owner, &dm, "psst").await;
    app.send(&bob, &dm, "what?").await;
    let group = app
        .post(
            &carol,
            "/api/v1/dms",
            json!({"user_ids": [owner.user_id, bob.user_id]}),
        )
        .await
        .ok();
    app.send(&carol, group["id"].as_str().unwrap(), "lunch?")
        .await;

    // Read markers: bob read the first messages of #general, carol everything there.
    let read = format!("/api/v1/channels/{general}/read");
    let history = app.history(&carol, &general, "limit=200").await;
    let seqs: Vec<i64> = history["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["seq"].as_i64().unwrap())
        .collect();
    app.post(&bob, &read, json!({"seq": seqs[2]})).await.ok();
    app.post(&carol, &read, json!({"seq": seqs.last().unwrap()}))
        .await
        .ok();

    app.patch(
        &owner,
        &format!("/api/v1/users/{}", dave.user_id),
        json!({"deactivated": true}),
    )
    .await
    .ok();

    Team {
        owner,
        bob,
        carol,
        dave_id: dave.user_id,
        dave_email: dave.email,
        open_invite,
        general,
        root,
    }
}

/// What bob asked to be notified of: keywords, a quiet schedule, #general muted, and a
/// browser to push to.
type NotifySettings = (NotifyPrefs, Option<ChannelNotify>, Vec<PushTarget>);

/// Sets bob's notification settings through the store (and the server's VAPID key).
async fn set_notify_settings(store: &dyn NotifyStore, team: &Team) {
    let (ws, bob, general) = notify_ids(team);
    let prefs = NotifyPrefs {
        keywords: NotifyPrefs::keywords(&["deploy".into(), "on call".into()]).unwrap(),
        dnd_until: Some(Timestamp(1_900_000_000_000)),
        quiet_hours: Some(QuietHours::parse("22:00", "07:00").unwrap()),
        time_zone: TimeZone::parse("Europe/Paris").unwrap(),
        thread_replies: false,
        email: true,
    };
    store.set_notify_prefs(&ws, &bob, &prefs).await.unwrap();
    let muted = ChannelNotify {
        level: NotifyLevel::All,
        muted: true,
    };
    store
        .set_channel_notify(&ws, &general, &bob, muted)
        .await
        .unwrap();
    let browser = NewPushTarget {
        id: PushTargetId::generate(),
        kind: PushKind::WebPush,
        endpoint: "https://push.example.test/sub/\\tricky\ttab".into(),
        p256dh: Some("BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-Ts1XbjhazAkj7I99e8QcYP7DkM".into()),
        auth: Some("tBHItJI5svbpez7KI4CCXg".into()),
        created_at: Timestamp::now(),
    };
    store.add_push_target(&ws, &bob, browser).await.unwrap();
    store
        .server_secret("migrate_data_test", "the SQLite server's key")
        .await
        .unwrap();
}

async fn notify_settings(store: &dyn NotifyStore, team: &Team) -> NotifySettings {
    let (ws, bob, general) = notify_ids(team);
    (
        store.notify_prefs(&ws, &bob).await.unwrap(),
        store.channel_notify(&ws, &general, &bob).await.unwrap(),
        store.push_targets(&ws, &bob).await.unwrap(),
    )
}

fn notify_ids(team: &Team) -> (WorkspaceId, UserId, ChannelId) {
    (
        WorkspaceId::parse(&team.bob.workspace_id).unwrap(),
        UserId::parse(&team.bob.user_id).unwrap(),
        ChannelId::parse(&team.general).unwrap(),
    )
}

/// Every event `s` may see after `after`, following the log page by page.
async fn events_after(app: &TestApp, s: &Session, after: i64) -> Vec<Value> {
    let mut events = Vec::new();
    let mut after = after;
    loop {
        let page = app
            .get(s, &format!("/api/v1/events?after={after}&limit=7"))
            .await
            .ok();
        events.extend(page["events"].as_array().unwrap().iter().cloned());
        after = page["last_seq"].as_i64().unwrap();
        if page["has_more"] == false {
            return events;
        }
    }
}

/// A channel's whole history as `s` pages through it, newest page first.
async fn history_pages(app: &TestApp, s: &Session, channel: &str) -> Vec<Value> {
    let mut pages = vec![app.history(s, channel, "limit=3").await];
    while pages.last().unwrap()["has_more"] == true {
        let oldest = pages.last().unwrap()["messages"][0]["seq"]
            .as_i64()
            .unwrap();
        pages.push(
            app.history(s, channel, &format!("limit=3&before={oldest}"))
                .await,
        );
    }
    pages
}

/// What each member sees, screen by screen, keyed by what it is.
async fn what_members_see(app: &TestApp, team: &Team) -> Vec<(String, Value)> {
    let mut seen = Vec::new();
    for s in [&team.owner, &team.bob, &team.carol] {
        let who = &s.email;
        for path in [
            "/api/v1/me",
            "/api/v1/users",
            "/api/v1/channels",
            "/api/v1/channels/browse",
        ] {
            seen.push((format!("{who} {path}"), app.get(s, path).await.ok()));
        }
        let mine = app.get(s, "/api/v1/channels").await.ok();
        for channel in mine["channels"].as_array().unwrap() {
            let id = channel["id"].as_str().unwrap();
            let pages = history_pages(app, s, id).await;
            seen.push((format!("{who} history of {id}"), Value::from(pages)));
        }
        let replies = format!("/api/v1/messages/{}/replies?limit=2", team.root);
        seen.push((format!("{who} {replies}"), app.get(s, &replies).await.ok()));
        let root = format!("/api/v1/messages/{}", team.root);
        seen.push((format!("{who} {root}"), app.get(s, &root).await.ok()));
        let log = events_after(app, s, 0).await;
        seen.push((format!("{who} event log"), Value::from(log)));
    }
    seen
}

#[tokio::test]
async fn a_team_moves_to_postgres_and_sees_the_same_workspace() {
    let dir = TempDir::new().unwrap();
    let sqlite = SqliteServer::start(&dir).await;
    let app = &sqlite.app;
    let team = build_team(app).await;
    set_notify_settings(sqlite.store.as_ref(), &team).await;
    let notify_before = notify_settings(sqlite.store.as_ref(), &team).await;
    let before = what_members_see(app, &team).await;
    let last_seq = app.get(&team.bob, "/api/v1/events").await.ok()["last_seq"]
        .as_i64()
        .unwrap();
    let root_seq = app
        .get(&team.bob, &format!("/api/v1/messages/{}", team.root))
        .await
        .ok()["seq"]
        .as_i64()
        .unwrap();
    let bob_since_root = events_after(app, &team.bob, root_seq).await;
    let dave_login = app.login("acme", &team.dave_email, PASSWORD).await;
    sqlite.stop().await;

    let source_bytes = std::fs::read(db_file(&dir)).expect("read the source");
    let target = ScratchDatabase::create().await;
    let out = migrate(&sqlite_url(&dir), target.url()).await;
    assert_succeeded(&out);
    let summary = String::from_utf8_lossy(&out.stdout);
    assert!(summary.contains("messages"), "{summary}");
    assert_eq!(
        std::fs::read(db_file(&dir)).expect("read the source"),
        source_bytes,
        "the source changed"
    );

    // Notification settings came along: what bob asked for, where he is pushed to, and
    // the key his browser's subscription was made with.
    let pg = PgStore::connect(target.url(), PgOptions::default())
        .await
        .expect("connect");
    assert_eq!(notify_settings(&pg, &team).await, notify_before);
    assert_eq!(
        pg.server_secret("migrate_data_test", "a new key")
            .await
            .unwrap(),
        "the SQLite server's key"
    );
    pg.close().await;

    let app = serve_postgres(target.url()).await;
    // The same sessions are still signed in, and the same passwords sign in.
    let after = what_members_see(&app, &team).await;
    assert_eq!(before.len(), after.len());
    for ((what, was), (_, is)) in before.iter().zip(&after) {
        assert_eq!(was, is, "{what} changed");
    }
    for s in [&team.owner, &team.bob, &team.carol] {
        app.login_as(s).await;
    }
    let refused = app.login("acme", &team.dave_email, PASSWORD).await;
    assert_eq!(
        (refused.status, refused.body),
        (dave_login.status, dave_login.body)
    );
    app.signup("acme", &team.open_invite, "erin@acme.test")
        .await
        .expect(201, "");

    // The log carries on from where it was: new seqs above the copied ones, and a client
    // resuming from an old seq gets what it missed, then what is new.
    let new = app
        .send(&team.owner, &team.general, "first on PostgreSQL")
        .await;
    assert!(new["seq"].as_i64().unwrap() > last_seq, "{new}");
    let resumed = events_after(&app, &team.bob, root_seq).await;
    assert_eq!(resumed[..bob_since_root.len()], bob_since_root[..]);
    let latest = resumed.last().unwrap();
    assert_eq!(latest["event"]["kind"], "message.created");
    assert_eq!(latest["event"]["message"]["id"], new["id"]);

    // A new reaction goes after the copied ones.
    let reacted = app
        .put(
            &team.carol,
            &format!("/api/v1/messages/{}/reactions/eyes", team.root),
        )
        .await
        .ok();
    let (b, c, d) = (&team.bob.user_id, &team.carol.user_id, &team.dave_id);
    assert_eq!(
        reacted["reactions"],
        json!([
            {"emoji": "thumbsup", "count": 2, "user_ids": [b, c]},
            {"emoji": "tada", "count": 2, "user_ids": [c, b]},
            {"emoji": "eyes", "count": 2, "user_ids": [d, c]},
        ])
    );
}

#[tokio::test]
async fn a_second_run_into_the_filled_target_is_refused_and_changes_nothing() {
    let dir = TempDir::new().unwrap();
    let sqlite = SqliteServer::start(&dir).await;
    let owner = sqlite.app.create_workspace("acme").await;
    let general = sqlite.app.create_channel(&owner, "general", false).await;
    sqlite.app.send(&owner, &general, "hello").await;
    sqlite.stop().await;
    let target = ScratchDatabase::create().await;
    assert_succeeded(&migrate(&sqlite_url(&dir), target.url()).await);
    let counts = row_counts(target.url()).await;

    // The same source again, given through the environment this time.
    let again = tokio::process::Command::new(env!("CARGO_BIN_EXE_hearth"))
        .arg("migrate-data")
        .env("HEARTH_MIGRATE_FROM", sqlite_url(&dir))
        .env("HEARTH_MIGRATE_TO", target.url())
        .output()
        .await
        .expect("run hearth migrate-data");
    assert_failed_saying(&again, "the target database is not empty");
    assert_eq!(row_counts(target.url()).await, counts);
}

#[tokio::test]
async fn what_is_not_a_hearth_sqlite_database_is_refused() {
    let target = ScratchDatabase::create().await;
    let dir = TempDir::new().unwrap();

    let out = migrate(target.url(), target.url()).await;
    assert_failed_saying(&out, "expected sqlite://PATH");

    let missing = dir.path().join("missing.db");
    let out = migrate(&format!("sqlite://{}", missing.display()), target.url()).await;
    assert_failed_saying(&out, "there is no database at");
    assert!(!missing.exists(), "the missing source was created");

    let garbage = dir.path().join("notes.txt");
    std::fs::write(&garbage, "these are my notes, not a database\n".repeat(200)).unwrap();
    let out = migrate(&format!("sqlite://{}", garbage.display()), target.url()).await;
    assert_failed_saying(&out, "is not a Hearth database");

    let other_app = dir.path().join("other.db");
    let url = format!("sqlite://{}?mode=rwc", other_app.display());
    let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
    sqlx::query("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)")
        .execute(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
    let out = migrate(&format!("sqlite://{}", other_app.display()), target.url()).await;
    assert_failed_saying(&out, "it has no `workspaces` table");

    // None of these got as far as the target.
    assert_eq!(table_count(target.url()).await, 0);
}

#[tokio::test]
async fn a_copy_that_fails_half_way_leaves_the_target_empty() {
    let dir = TempDir::new().unwrap();
    let sqlite = SqliteServer::start(&dir).await;
    let owner = sqlite.app.create_workspace("acme").await;
    let general = sqlite.app.create_channel(&owner, "general", false).await;
    sqlite.app.send(&owner, &general, "hello").await;
    sqlite.stop().await;
    // A flag PostgreSQL's BOOLEAN cannot hold, in a table copied after most others.
    let url = format!("{}?mode=rw", sqlite_url(&dir));
    let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
    sqlx::query("UPDATE messages SET deleted = 2")
        .execute(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();

    let target = ScratchDatabase::create().await;
    let out = migrate(&sqlite_url(&dir), target.url()).await;
    assert_failed_saying(&out, "copying table messages");
    assert!(stderr(&out).contains("rolled back"), "{}", stderr(&out));
    let counts = row_counts(target.url()).await;
    assert!(counts.iter().all(|(_, n)| *n == 0), "{counts:?}");
}

#[tokio::test]
async fn reactions_made_in_the_same_millisecond_keep_their_order() {
    let dir = TempDir::new().unwrap();
    let sqlite = SqliteServer::start(&dir).await;
    let owner = sqlite.app.create_workspace("acme").await;
    let mut people = vec![owner.clone()];
    for name in ["bob", "carol", "dave"] {
        let email = format!("{name}@acme.test");
        people.push(sqlite.app.add_user(&owner, &email, "member").await);
    }
    let general = sqlite.app.create_channel(&owner, "general", false).await;
    for s in &people[1..] {
        sqlite.app.join(s, &general).await;
    }
    let msg = sqlite.app.send(&owner, &general, "vote").await;
    let path = format!("/api/v1/messages/{}", msg["id"].as_str().unwrap());
    // Reverse order of user ids, so that no other column sorts them the same way.
    for (s, emoji) in people.iter().rev().zip(["eyes", "tada", "eyes", "tada"]) {
        sqlite
            .app
            .put(s, &format!("{path}/reactions/{emoji}"))
            .await
            .ok();
    }
    sqlite.stop().await;
    // Made at one instant: only the order they were stored in tells them apart.
    let url = format!("{}?mode=rw", sqlite_url(&dir));
    let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
    sqlx::query("UPDATE reactions SET created_at = (SELECT min(created_at) FROM reactions)")
        .execute(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();

    let sqlite = SqliteServer::start(&dir).await;
    let before = sqlite.app.get(&owner, &path).await.ok()["reactions"].clone();
    sqlite.stop().await;
    let target = ScratchDatabase::create().await;
    assert_succeeded(&migrate(&sqlite_url(&dir), target.url()).await);
    let app = serve_postgres(target.url()).await;
    let after = app.get(&owner, &path).await.ok()["reactions"].clone();
    assert_eq!(after, before);
    let ids = |i: usize| json!(people[i].user_id);
    assert_eq!(
        before,
        json!([
            {"emoji": "eyes", "count": 2, "user_ids": [ids(3), ids(1)]},
            {"emoji": "tada", "count": 2, "user_ids": [ids(2), ids(0)]},
        ])
    );
}
