//! Several nodes: real `hearth serve` processes sharing one PostgreSQL database and one
//! Redis, as the scale-out mode runs. What a user must never notice: which node they are
//! on, Redis restarting, or the node they were connected to dying.
//!
//! Each test starts its own `redis-server` on a free port (so it can restart it without
//! disturbing anyone) and its own scratch database.

use std::process::Stdio;
use std::time::Duration;

use hearth_server::{AppState, Settings};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::process::{Child, Command};

use crate::realtime::client::WsClient;
use crate::realtime::{seq, team};
use crate::support::{S3_ENV, TestApp, TestData, s3_files_url};

/// How long a node or Redis may take to start.
const START: Duration = Duration::from_secs(20);

/// A `redis-server` of this test's own, on a fixed port so it can be restarted in place.
struct Redis {
    port: u16,
    process: Option<Child>,
}

impl Redis {
    async fn start() -> Self {
        let port = free_port();
        let mut redis = Redis {
            port,
            process: None,
        };
        redis.restart().await;
        redis
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Kills Redis (as a crash would: everything in flight is lost).
    async fn kill(&mut self) {
        if let Some(mut process) = self.process.take() {
            process.kill().await.expect("kill redis");
        }
    }

    /// Starts Redis (again) on the same port and waits until it answers.
    async fn restart(&mut self) {
        self.kill().await;
        let process = Command::new("redis-server")
            .args(["--port", &self.port.to_string()])
            .args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("redis-server on PATH (scripts/services installs it)");
        self.process = Some(process);
        let deadline = tokio::time::Instant::now() + START;
        while !self.answers().await {
            assert!(
                tokio::time::Instant::now() < deadline,
                "redis did not start"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn answers(&self) -> bool {
        let Ok(mut stream) = TcpStream::connect(("127.0.0.1", self.port)).await else {
            return false;
        };
        let mut reply = [0u8; 7];
        stream.write_all(b"PING\r\n").await.is_ok()
            && stream.read_exact(&mut reply).await.is_ok()
            && &reply == b"+PONG\r\n"
    }
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr").port()
}

/// Starts a `hearth serve` node on `data` and `redis`, with its files in S3 (a bucket of
/// its own unless `files` names the one of another node); returns once it listens.
async fn node(data: &TestData, redis: &Redis) -> TestApp {
    node_on(data, redis, &s3_files_url().await).await
}

async fn node_on(data: &TestData, redis: &Redis, files: &str) -> TestApp {
    let mut command = Command::new(env!("CARGO_BIN_EXE_hearth"));
    command
        .args(["serve", "--listen", "127.0.0.1:0"])
        .args(["--database", &data.url(), "--bus", &redis.url()])
        .args(["--files", files])
        .envs(S3_ENV)
        .args(["--db-max-connections", "4"]);
    TestApp::serve_process(command).await
}

/// Posts `texts` to `channel` through `app` as `s`; returns the last message's seq.
async fn send_all(
    app: &TestApp,
    s: &crate::support::Session,
    channel: &str,
    texts: &[String],
) -> i64 {
    let mut last = 0;
    for text in texts {
        last = seq(&app.send(s, channel, text).await);
    }
    last
}

/// The texts of the `message.created` events among `frames`, in order.
fn created_texts(frames: &[Value]) -> Vec<String> {
    frames
        .iter()
        .filter(|f| f["event"]["kind"] == "message.created")
        .map(|f| f["event"]["message"]["text"].as_str().unwrap().to_owned())
        .collect()
}

fn texts(prefix: &str, n: usize) -> Vec<String> {
    (0..n).map(|i| format!("{prefix} {i}")).collect()
}

#[tokio::test]
async fn messages_sent_through_one_node_reach_the_other_in_order_across_a_redis_restart() {
    let data = TestData::postgres().await;
    let mut redis = Redis::start().await;
    let a = node(&data, &redis).await;
    let b = node(&data, &redis).await;
    let t = team(&a).await;
    let (mut bob, _) = WsClient::open(&a, &t.bob).await;

    // Alice writes through B; Bob listens on A.
    let before = texts("before", 20);
    let fence = send_all(&b, &t.alice, &t.general, &before).await;
    let mut seen = created_texts(&bob.events_through(fence).await);
    assert_eq!(seen, before, "delivered through Redis, in order");

    // Redis dies: writes still succeed, and once it is back nothing is missing.
    redis.kill().await;
    let during = texts("during", 10);
    send_all(&b, &t.alice, &t.general, &during).await;
    redis.restart().await;
    let after = texts("after", 10);
    let fence = send_all(&b, &t.alice, &t.general, &after).await;
    seen.extend(created_texts(&bob.events_through(fence).await));

    let everything: Vec<String> = [before, during, after].concat();
    assert_eq!(seen, everything, "every message once, in order");
}

#[tokio::test]
async fn clients_of_a_dead_node_resume_on_another_without_loss() {
    let data = TestData::postgres().await;
    let redis = Redis::start().await;
    let a = node(&data, &redis).await;
    let b = node(&data, &redis).await;
    let t = team(&b).await;
    let (mut bob, _) = WsClient::open(&a, &t.bob).await;

    let first = texts("first", 5);
    let fence = send_all(&b, &t.alice, &t.general, &first).await;
    let mut seen = created_texts(&bob.events_through(fence).await);
    let resume_from = bob.last_seq.expect("events were read");

    // Node A crashes; Alice keeps writing through B meanwhile.
    a.kill().await;
    let (code, _) = bob.expect_close(Duration::from_secs(10)).await;
    assert_eq!(code, None, "a crashed node sends no close frame");
    let missed = texts("missed", 5);
    send_all(&b, &t.alice, &t.general, &missed).await;

    // Bob reconnects to B and resumes: the replay, then live events.
    let (mut bob, _) = WsClient::resume(&b, &t.bob, resume_from).await;
    loop {
        let frame = bob.recv().await;
        match frame["type"].as_str().unwrap() {
            "event" => seen.extend(created_texts(std::slice::from_ref(&frame))),
            "resumed" => break,
            other => panic!("unexpected {other} during the replay: {frame}"),
        }
    }
    let live = texts("live", 5);
    let fence = send_all(&b, &t.alice, &t.general, &live).await;
    seen.extend(created_texts(&bob.events_through(fence).await));

    assert_eq!(
        seen,
        [first, missed, live].concat(),
        "nothing lost or repeated"
    );
}

#[tokio::test]
async fn redis_alone_carries_events_between_nodes() {
    let data = TestData::postgres().await;
    let redis = Redis::start().await;
    // No tail checks: whatever reaches node A from node B came over Redis.
    let mut settings = Settings::default();
    settings.gateway.hub.tail_check = Some(Duration::from_secs(3600));
    let in_process = |settings: Settings| async {
        let state =
            AppState::with_redis(data.open().await, settings, &redis.url()).expect("a Redis URL");
        TestApp::start(state, None).await
    };
    let a = in_process(settings.clone()).await;
    let b = in_process(settings).await;
    let t = team(&a).await;
    let (mut bob, _) = WsClient::open(&a, &t.bob).await;

    let sent = texts("over redis", 10);
    let fence = send_all(&b, &t.alice, &t.general, &sent).await;
    assert_eq!(created_texts(&bob.events_through(fence).await), sent);
}

#[tokio::test]
async fn files_uploaded_through_one_node_are_served_by_another() {
    let data = TestData::postgres().await;
    let redis = Redis::start().await;
    let bucket = s3_files_url().await;
    let a = node_on(&data, &redis, &bucket).await;
    let b = node_on(&data, &redis, &bucket).await;
    let t = team(&a).await;

    let bytes: Vec<u8> = (0..3_000_000u32).map(|i| (i * 7 + i / 251) as u8).collect();
    let file = a.upload_file(&t.alice, "dump.bin", &bytes).await;
    let id = file["id"].as_str().unwrap();
    a.post(
        &t.alice,
        &format!("/api/v1/channels/{}/messages", t.general),
        serde_json::json!({"text": "the dump", "file_ids": [id]}),
    )
    .await
    .ok();

    // Bob, on the other node, reads it byte for byte from the shared bucket.
    let res = b
        .request(reqwest::Method::GET, &format!("/api/v1/files/{id}"))
        .bearer_auth(&t.bob.token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(
        res.bytes().await.unwrap() == bytes,
        "the same bytes on every node"
    );

    // Deleted through B: gone through A at once.
    b.delete(&t.alice, &format!("/api/v1/files/{id}"))
        .await
        .ok();
    a.get(&t.bob, &format!("/api/v1/files/{id}/info"))
        .await
        .expect(404, "file_not_found");
}
