//! Presence and typing across nodes: two nodes in this process (and, to crash one, a
//! `hearth serve` process) on one PostgreSQL database and a Redis of the test's own, with
//! timings shrunk. What a user must not notice: which node the people they watch or type
//! with are connected to, or that a node holding some of them died.

use std::process::Stdio;
use std::time::{Duration, Instant};

use hearth_server::{AppState, Settings};
use serde_json::{Value, json};
use tokio::process::{Child, Command};

use crate::realtime::client::WsClient;
use crate::realtime::team;
use crate::support::{S3_ENV, Session, TestApp, TestData, s3_files_url};

/// How long a node's word on presence holds without a heartbeat.
const TTL: Duration = Duration::from_millis(1500);
const GRACE: Duration = Duration::from_millis(500);
/// How long a node or Redis may take to start.
const START: Duration = Duration::from_secs(20);

fn settings() -> Settings {
    let mut settings = Settings::default();
    settings.gateway.hub.offline_grace = GRACE;
    settings.gateway.hub.presence_ttl = TTL;
    settings
}

/// A `redis-server` of this test's own on a free port, killed on drop.
struct Redis {
    port: u16,
    _process: Child,
}

impl Redis {
    async fn start() -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        drop(listener);
        let process = Command::new("redis-server")
            .args(["--port", &port.to_string()])
            .args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("redis-server on PATH (scripts/services installs it)");
        let redis = Redis {
            port,
            _process: process,
        };
        let deadline = Instant::now() + START;
        while redis.connection().await.is_none() {
            assert!(Instant::now() < deadline, "redis did not start");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        redis
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    async fn connection(&self) -> Option<redis::aio::MultiplexedConnection> {
        let client = redis::Client::open(self.url()).ok()?;
        let mut conn = client.get_multiplexed_async_connection().await.ok()?;
        let pong: String = redis::cmd("PING").query_async(&mut conn).await.ok()?;
        (pong == "PONG").then_some(conn)
    }

    /// Waits until `nodes` nodes listen to the workspace channels, so that no message
    /// of the test is published before someone hears it.
    async fn wait_for_subscribers(&self, nodes: usize) {
        let mut conn = self.connection().await.expect("redis answers");
        let deadline = Instant::now() + START;
        loop {
            let clients: String = redis::cmd("CLIENT")
                .arg("LIST")
                .query_async(&mut conn)
                .await
                .expect("CLIENT LIST");
            if clients.lines().filter(|c| c.contains(" psub=1 ")).count() >= nodes {
                return;
            }
            assert!(Instant::now() < deadline, "nodes did not subscribe");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// A node in this process.
async fn node(data: &TestData, redis: &Redis) -> TestApp {
    let state = AppState::with_redis(data.open().await, settings(), &redis.url())
        .expect("a valid Redis URL");
    TestApp::start(state, None).await
}

/// A `hearth serve` node in a process of its own (to kill it as a crash would); returns
/// once it listens.
async fn process_node(data: &TestData, redis: &Redis) -> TestApp {
    let mut command = Command::new(env!("CARGO_BIN_EXE_hearth"));
    command
        .args(["serve", "--listen", "127.0.0.1:0"])
        .args(["--database", &data.url(), "--bus", &redis.url()])
        .args(["--db-max-connections", "4"])
        .args(["--presence-ttl-ms", &TTL.as_millis().to_string()])
        .args(["--files", &s3_files_url().await])
        .envs(S3_ENV);
    TestApp::serve_process(command).await
}

/// Two nodes in this process, listening to each other. Fields drop in order: the nodes
/// stop before Redis and the database go.
struct Cluster {
    a: TestApp,
    b: TestApp,
    _redis: Redis,
    _data: TestData,
}

async fn cluster() -> Cluster {
    let data = TestData::postgres().await;
    let redis = Redis::start().await;
    let a = node(&data, &redis).await;
    let b = node(&data, &redis).await;
    redis.wait_for_subscribers(2).await;
    Cluster {
        a,
        b,
        _redis: redis,
        _data: data,
    }
}

fn presence(user: &Session, state: &str) -> Value {
    json!({"type": "presence", "user_id": user.user_id, "presence": state})
}

async fn watch(client: &mut WsClient, user: &Session) {
    client
        .send_json(json!({"op": "presence_sub", "user_ids": [user.user_id]}))
        .await;
}

async fn set_presence(client: &mut WsClient, presence: &str) {
    client
        .send_json(json!({"op": "set_presence", "presence": presence}))
        .await;
}

#[tokio::test]
async fn a_user_on_one_node_is_seen_from_the_other_through_every_change() {
    let c = cluster().await;
    let t = team(&c.a).await;
    let carol = c.a.add_user(&t.alice, "carol@acme.test", "member").await;

    // Bob connects to A. Carol, on A too, sees him active: A has taken him in.
    let (mut bob, _) = WsClient::open(&c.a, &t.bob).await;
    let (mut carol_a, _) = WsClient::open(&c.a, &carol).await;
    watch(&mut carol_a, &t.bob).await;
    assert_eq!(carol_a.recv().await, presence(&t.bob, "active"));

    // Alice is the workspace's first connection on B, so B has heard nothing of Bob;
    // still her first word on him is the truth, not a passing `offline`.
    let (mut alice, _) = WsClient::open(&c.b, &t.alice).await;
    watch(&mut alice, &t.bob).await;
    assert_eq!(alice.recv().await, presence(&t.bob, "active"));

    set_presence(&mut bob, "away").await;
    assert_eq!(alice.recv().await, presence(&t.bob, "away"));
    set_presence(&mut bob, "auto").await;
    assert_eq!(alice.recv().await, presence(&t.bob, "active"));

    // Gone: offline on B too, once A's grace period is over.
    bob.close().await;
    let closed = Instant::now();
    assert_eq!(alice.recv().await, presence(&t.bob, "offline"));
    assert!(
        closed.elapsed() >= GRACE - Duration::from_millis(100),
        "{:?}",
        closed.elapsed()
    );

    // Watching first, then he connects to A again: B hears it.
    let (mut carol_b, _) = WsClient::open(&c.b, &carol).await;
    watch(&mut carol_b, &t.bob).await;
    assert_eq!(carol_b.recv().await, presence(&t.bob, "offline"));
    let (_bob, _) = WsClient::open(&c.a, &t.bob).await;
    assert_eq!(carol_b.recv().await, presence(&t.bob, "active"));
    assert_eq!(alice.recv().await, presence(&t.bob, "active"));
}

#[tokio::test]
async fn a_user_on_both_nodes_stays_active_while_one_connection_closes() {
    let c = cluster().await;
    let t = team(&c.a).await;
    let carol = c.a.add_user(&t.alice, "carol@acme.test", "member").await;
    let (bob_a, _) = WsClient::open(&c.a, &t.bob).await;
    let (bob_b, _) = WsClient::open(&c.b, &t.bob).await;
    let (mut alice, _) = WsClient::open(&c.a, &t.alice).await;
    let (mut carol, _) = WsClient::open(&c.b, &carol).await;
    for watcher in [&mut alice, &mut carol] {
        watch(watcher, &t.bob).await;
        assert_eq!(watcher.recv().await, presence(&t.bob, "active"));
    }

    // His connection to A closes: A's grace passes and A says he is offline there, but
    // he is still on B, on both nodes' view.
    bob_a.close().await;
    let quiet = GRACE + TTL / 2;
    tokio::join!(alice.expect_silence(quiet), carol.expect_silence(quiet));

    // The last one closes: offline everywhere.
    bob_b.close().await;
    assert_eq!(alice.recv().await, presence(&t.bob, "offline"));
    assert_eq!(carol.recv().await, presence(&t.bob, "offline"));
}

#[tokio::test]
async fn the_users_of_a_node_that_dies_go_offline_elsewhere_within_the_ttl() {
    let data = TestData::postgres().await;
    let redis = Redis::start().await;
    let b = node(&data, &redis).await;
    let a = process_node(&data, &redis).await;
    redis.wait_for_subscribers(2).await;
    let t = team(&b).await;
    let carol = b.add_user(&t.alice, "carol@acme.test", "member").await;
    let (mut alice, _) = WsClient::open(&b, &t.alice).await;
    watch(&mut alice, &t.bob).await;
    assert_eq!(alice.recv().await, presence(&t.bob, "offline"));

    // Bob is active on A, and away on B (set so on his connection there).
    let (_bob_a, _) = WsClient::open(&a, &t.bob).await;
    assert_eq!(alice.recv().await, presence(&t.bob, "active"));
    let (mut bob_b, _) = WsClient::open(&b, &t.bob).await;
    set_presence(&mut bob_b, "away").await;

    // A is killed: it closes nothing and tells no one. B stops hearing its heartbeats
    // and, within the TTL (give or take a tick of its timers), A's word on Bob lapses: what is
    // left is B's own.
    a.kill().await;
    let killed = Instant::now();
    assert_eq!(alice.recv().await, presence(&t.bob, "away"));
    assert!(
        killed.elapsed() <= TTL + Duration::from_secs(1),
        "{:?}",
        killed.elapsed()
    );

    // A node starting now knows nothing and reads Redis, where A's `active` is still in
    // Bob's entry (B keeps that entry alive): it must not believe a dead node.
    let c = node(&data, &redis).await;
    let (mut carol, _) = WsClient::open(&c, &carol).await;
    watch(&mut carol, &t.bob).await;
    assert_eq!(carol.recv().await, presence(&t.bob, "away"));
}

#[tokio::test]
async fn typing_on_one_node_reaches_the_channels_members_on_the_other_only() {
    let c = cluster().await;
    let t = team(&c.a).await;
    // Carol is in the workspace but not in `general`.
    let carol = c.a.add_user(&t.alice, "carol@acme.test", "member").await;
    let (mut alice_a, _) = WsClient::open(&c.a, &t.alice).await;
    let (mut alice_b, _) = WsClient::open(&c.b, &t.alice).await;
    let (mut bob, _) = WsClient::open(&c.b, &t.bob).await;
    let (mut carol, _) = WsClient::open(&c.b, &carol).await;

    alice_a
        .send_json(json!({"op": "typing", "channel_id": t.general}))
        .await;
    let notice = bob.expect("typing").await;
    assert_eq!(notice["channel_id"], t.general.as_str());
    assert_eq!(notice["user_id"], t.alice.user_id.as_str());
    // B relayed it to its connections at once: whoever did not get it by now never will.
    let quiet = Duration::from_millis(300);
    tokio::join!(carol.expect_silence(quiet), alice_b.expect_silence(quiet));

    // And the other way round, from B to A.
    bob.send_json(json!({"op": "typing", "channel_id": t.general}))
        .await;
    assert_eq!(
        alice_a.expect("typing").await["user_id"],
        t.bob.user_id.as_str()
    );
}

/// Whether a user is reading at a client is shared between nodes: a user focused on a
/// client of node A gets no push from the notification worker of node B, and does once
/// they switch away.
#[tokio::test]
async fn attention_on_one_node_holds_pushes_made_by_another() {
    let redis = Redis::start().await;
    let data = TestData::postgres().await;
    // Node A serves Bob's socket and runs no notification workers; node B does.
    let mut quiet = settings();
    quiet.notify = crate::notify::fast();
    quiet.notify.workers = false;
    let state = AppState::with_redis(data.open().await, quiet, &redis.url()).expect("redis URL");
    let a = TestApp::start(state, None).await;
    let mut working = settings();
    working.notify = crate::notify::fast();
    let state = AppState::with_redis(data.open().await, working, &redis.url()).expect("redis URL");
    let b = TestApp::start(state, None).await;
    redis.wait_for_subscribers(2).await;

    let t = team(&a).await;
    let hooks = crate::notify::hooks::Hooks::spawn().await;
    crate::notify::add_webhook(&a, &t.bob, &hooks, "bob").await;
    let (mut bob_ws, _) = WsClient::open(&a, &t.bob).await;

    b.send(&t.alice, &t.general, "@bob are you there?").await;
    bob_ws.expect_event("message.created").await;
    hooks.expect_no_more(0, crate::notify::QUIET).await;

    bob_ws
        .send_json(json!({"op": "focus", "focused": false}))
        .await;
    bob_ws.send_json(json!({"op": "ping", "id": 1})).await;
    bob_ws.expect("pong").await;
    b.send(&t.alice, &t.general, "@bob ping").await;
    let got = hooks.wait_for(1, crate::notify::WAIT).await;
    assert_eq!(got[0].body["message"]["excerpt"], "@bob ping");
    hooks.expect_no_more(1, crate::notify::QUIET).await;
}
