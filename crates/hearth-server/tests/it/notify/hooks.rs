//! A webhook receiver on 127.0.0.1:0 that records what the server POSTs to it, and can be
//! told to fail (a status per endpoint for the next attempts) or to hold requests
//! unanswered (to catch a node dying mid-delivery).

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use serde_json::Value;
use tokio::sync::watch;

/// One request the receiver got.
#[derive(Debug, Clone)]
pub struct Hook {
    pub endpoint: String,
    /// The `x-hearth-notification-id` header.
    pub id: String,
    pub body: Value,
    /// What the receiver answered.
    pub status: u16,
}

#[derive(Default)]
struct HookState {
    requests: Mutex<Vec<Hook>>,
    /// Requests held unanswered right now.
    waiting: std::sync::atomic::AtomicUsize,
    plans: Mutex<HashMap<String, VecDeque<u16>>>,
}

#[derive(Clone)]
pub struct Hooks {
    base: String,
    state: Arc<HookState>,
    /// While true, requests wait (unanswered) until it turns false.
    hold: watch::Sender<bool>,
}

impl Hooks {
    pub async fn spawn() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let state = Arc::new(HookState::default());
        let (hold, _) = watch::channel(false);
        let hooks = Self { base, state, hold };
        let app = Router::new()
            .route("/hook/{name}", post(receive))
            .with_state(hooks.clone());
        tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        hooks
    }

    pub fn endpoint(&self, name: &str) -> String {
        format!("{}/hook/{name}", self.base)
    }

    /// The next attempts at `name` are answered with these statuses, then 200.
    pub fn respond(&self, name: &str, statuses: &[u16]) {
        self.state
            .plans
            .lock()
            .unwrap()
            .insert(self.endpoint(name), statuses.iter().copied().collect());
    }

    pub fn hold(&self, on: bool) {
        self.hold.send_replace(on);
    }

    /// How many requests are held unanswered now.
    pub fn waiting(&self) -> usize {
        self.state.waiting.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Every request so far, answered or not, in arrival order.
    pub fn all(&self) -> Vec<Hook> {
        self.state.requests.lock().unwrap().clone()
    }

    /// The requests answered with a 2xx: the notifications delivered.
    pub fn delivered(&self) -> Vec<Hook> {
        self.all()
            .into_iter()
            .filter(|h| (200..300).contains(&h.status))
            .collect()
    }

    /// Waits until `n` notifications were delivered in all; panics with what came after
    /// `timeout`.
    pub async fn wait_for(&self, n: usize, timeout: Duration) -> Vec<Hook> {
        let start = Instant::now();
        loop {
            let delivered = self.delivered();
            if delivered.len() >= n {
                return delivered;
            }
            if start.elapsed() > timeout {
                panic!(
                    "expected {n} webhook deliveries, got {}: {delivered:#?}",
                    delivered.len()
                );
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Asserts that nothing more than `n` deliveries arrive within `quiet`.
    pub async fn expect_no_more(&self, n: usize, quiet: Duration) {
        tokio::time::sleep(quiet).await;
        let delivered = self.delivered();
        assert_eq!(delivered.len(), n, "unexpected deliveries: {delivered:#?}");
    }
}

async fn receive(
    State(hooks): State<Hooks>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let mut held = hooks.hold.subscribe();
    if *held.borrow_and_update() {
        // Counted while held; a client that goes away (a killed node) cancels this
        // handler, and the request is never recorded as answered.
        let waiting = Waiting::new(&hooks.state.waiting);
        while *held.borrow_and_update() {
            if held.changed().await.is_err() {
                break;
            }
        }
        drop(waiting);
    }
    let endpoint = hooks.endpoint(&name);
    let status = hooks
        .state
        .plans
        .lock()
        .unwrap()
        .get_mut(&endpoint)
        .and_then(VecDeque::pop_front)
        .unwrap_or(200);
    let hook = Hook {
        endpoint,
        id: headers
            .get("x-hearth-notification-id")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned(),
        body: serde_json::from_slice(&body).unwrap_or(Value::Null),
        status,
    };
    hooks.state.requests.lock().unwrap().push(hook);
    StatusCode::from_u16(status).unwrap()
}

/// Counts a held request for as long as it lives.
struct Waiting<'a>(&'a std::sync::atomic::AtomicUsize);

impl<'a> Waiting<'a> {
    fn new(count: &'a std::sync::atomic::AtomicUsize) -> Self {
        count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Self(count)
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
    }
}
