//! A PostgreSQL outage as a user sees it: while the database is gone, requests fail fast
//! with 503 and `Retry-After` (never a hang), and once it is back the node recovers by
//! itself, without a restart, losing nothing it acknowledged.
//!
//! The outage is made by a TCP proxy between the node and PostgreSQL that the test can
//! cut: every open connection is closed and new ones are dropped at once, as when the
//! database restarts.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use hearth_postgres::{PgOptions, PgStore};
use hearth_server::{AppState, Settings};
use serde_json::json;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use crate::support::{TestApp, TestData, texts};

/// Where the test databases live (see `ScratchDatabase`).
const POSTGRES: &str = "127.0.0.1:5432";
/// How long a request may wait for a connection before it is answered 503.
const ACQUIRE: Duration = Duration::from_secs(2);

/// A proxy that forwards to PostgreSQL until cut.
struct Proxy {
    addr: SocketAddr,
    up: Arc<AtomicBool>,
    /// Bumped on every cut: each forwarding task ends when it changes.
    cuts: watch::Sender<u64>,
}

impl Proxy {
    async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let up = Arc::new(AtomicBool::new(true));
        let (cuts, _) = watch::channel(0u64);
        let (accept_up, accept_cuts) = (up.clone(), cuts.clone());
        tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                if !accept_up.load(Ordering::SeqCst) {
                    continue; // dropped: the connection closes at once
                }
                let mut cut = accept_cuts.subscribe();
                tokio::spawn(async move {
                    let Ok(mut server) = TcpStream::connect(POSTGRES).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                        _ = cut.changed() => {}
                    }
                });
            }
        });
        Proxy { addr, up, cuts }
    }

    /// The database goes away: open connections close, new ones are refused.
    fn cut(&self) {
        self.up.store(false, Ordering::SeqCst);
        self.cuts.send_modify(|n| *n += 1);
    }

    fn restore(&self) {
        self.up.store(true, Ordering::SeqCst);
    }

    /// `url` (a scratch database's) with the proxy in front of the server.
    fn route(&self, url: &str) -> String {
        assert!(
            url.contains(POSTGRES),
            "a test database on {POSTGRES}: {url}"
        );
        url.replace(POSTGRES, &self.addr.to_string())
    }
}

#[tokio::test]
async fn a_database_outage_answers_503_quickly_and_the_node_recovers_by_itself() {
    let data = TestData::postgres().await;
    let proxy = Proxy::start().await;
    let options = PgOptions {
        max_connections: 4,
        acquire_timeout: ACQUIRE,
    };
    let store = PgStore::connect(&proxy.route(&data.url()), options)
        .await
        .expect("connect through the proxy");
    let app = TestApp::start(AppState::new(Arc::new(store), Settings::default()), None).await;
    let owner = app.create_workspace("acme").await;
    let channel = app.create_channel(&owner, "general", false).await;
    let before = app.send(&owner, &channel, "before the outage").await;

    proxy.cut();
    let path = format!("/api/v1/channels/{channel}/messages");
    // Bounded well above the acquire timeout: what matters is an answer, not a hang.
    let reply = tokio::time::timeout(
        ACQUIRE * 5,
        app.post(&owner, &path, json!({"text": "during the outage"})),
    )
    .await
    .expect("an answer while the database is down, not a hang");
    assert!(
        reply.headers.contains_key(reqwest::header::RETRY_AFTER),
        "a 503 says when to retry"
    );
    reply.expect(503, "unavailable");
    let ready = app.call(reqwest::Method::GET, "/readyz", None, None).await;
    assert_eq!(ready.status, 503, "not ready while the database is down");

    // The database returns: the same node serves again without a restart.
    proxy.restore();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    let after = loop {
        let reply = app
            .post(&owner, &path, json!({"text": "after the outage"}))
            .await;
        if reply.status == 201 {
            break reply.body;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "still failing after the database came back: {}",
            reply.body
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };

    let history = app.history(&owner, &channel, "").await;
    assert_eq!(texts(&history), ["before the outage", "after the outage"]);
    assert!(after["seq"].as_i64() > before["seq"].as_i64());
}
