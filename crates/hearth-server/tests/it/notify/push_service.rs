//! A stand-in for a browser's push service (RFC 8030) that checks every push the way a real
//! one and the browser behind it would: the VAPID token (RFC 8292) and the encrypted payload
//! (RFC 8291), decrypted with the subscription's private key.
//!
//! It is an independent implementation on the RustCrypto crates (p256, hkdf, aes-gcm), so
//! the server's encryption is checked by code that shares none of it. A push that fails a
//! check is answered 400, 401 or 403, as a push service would, and the reason is kept in
//! `failures()`, which a test asserts is empty.

// Test support: not every test uses every helper.
#![allow(dead_code)]

mod decryption;
mod vapid;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State as Shared};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand_core::{OsRng, RngCore as _};
use tokio::sync::Notify;
use tokio::task::JoinHandle;

use decryption::{Keys, decrypt};
use vapid::verify_vapid;

/// A running push service. Clones share it; it stops when the last clone is dropped.
#[derive(Clone)]
pub struct PushService {
    shared: Arc<Inner>,
    _server: Arc<AbortOnDrop>,
}

/// A subscription as the browser hands it to the application: base64url without padding.
#[derive(Debug, Clone)]
pub struct TestSubscription {
    pub endpoint: String,
    pub p256dh: String,
    pub auth: String,
}

/// One push the service verified.
#[derive(Debug, Clone)]
pub struct ReceivedPush {
    pub endpoint: String,
    /// The decrypted JSON.
    pub payload: serde_json::Value,
    pub ttl: Option<u32>,
    pub topic: Option<String>,
    pub urgency: Option<String>,
    /// The VAPID token's `sub` claim.
    pub vapid_subject: String,
    pub received_at: Instant,
    /// The status the push was answered with.
    pub attempt_status: u16,
}

struct Inner {
    /// `http://127.0.0.1:PORT`: every endpoint's origin, so every token's `aud`.
    origin: String,
    state: Mutex<State>,
    /// Woken on every accepted push, for `wait_for`.
    arrived: Notify,
}

#[derive(Default)]
struct State {
    /// By endpoint.
    subscriptions: HashMap<String, Keys>,
    /// By endpoint: the status later pushes get instead of 201.
    statuses: HashMap<String, u16>,
    /// By endpoint: the `Retry-After` seconds sent with a non-2xx status.
    retry_after: HashMap<String, u64>,
    expected_vapid_key: Option<String>,
    received: Vec<ReceivedPush>,
    rejected: Vec<ReceivedPush>,
    failures: Vec<String>,
}

struct AbortOnDrop(JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl PushService {
    pub async fn spawn() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let shared = Arc::new(Inner {
            origin: format!("http://127.0.0.1:{port}"),
            state: Mutex::new(State::default()),
            arrived: Notify::new(),
        });
        let app = Router::new()
            .route("/push/{id}", post(push))
            .with_state(shared.clone());
        let server = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Self {
            shared,
            _server: Arc::new(AbortOnDrop(server)),
        }
    }

    /// A new browser subscription: its own key pair and auth secret.
    pub fn subscribe(&self) -> TestSubscription {
        let keys = Keys::generate();
        let mut id = [0u8; 12];
        OsRng.fill_bytes(&mut id);
        let endpoint = format!("{}/push/{}", self.shared.origin, URL_SAFE_NO_PAD.encode(id));
        let subscription = TestSubscription {
            endpoint: endpoint.clone(),
            p256dh: URL_SAFE_NO_PAD.encode(&keys.public),
            auth: URL_SAFE_NO_PAD.encode(keys.auth),
        };
        self.state().subscriptions.insert(endpoint, keys);
        subscription
    }

    /// What later pushes to `endpoint` are answered with (201 until this is called): 410
    /// to have the subscription expire, 500 or 429 to make the sender retry.
    pub fn set_status(&self, endpoint: &str, status: u16) {
        self.state().statuses.insert(endpoint.to_owned(), status);
    }

    /// Sends `Retry-After: seconds` with the non-2xx answers to `endpoint` (429 or 503).
    pub fn set_retry_after(&self, endpoint: &str, seconds: u64) {
        self.state()
            .retry_after
            .insert(endpoint.to_owned(), seconds);
    }

    /// From now on, refuse (403) pushes signed with any other VAPID key, as a push service
    /// does for a subscription made with this `applicationServerKey`.
    pub fn expect_vapid_key(&self, public_key_base64url: &str) {
        self.state().expected_vapid_key = Some(public_key_base64url.to_owned());
    }

    /// Pushes accepted (answered 2xx) so far, in arrival order.
    pub fn received(&self) -> Vec<ReceivedPush> {
        self.state().received.clone()
    }

    /// Pushes that passed every check but were answered with a non-2xx `set_status`.
    pub fn rejected(&self) -> Vec<ReceivedPush> {
        self.state().rejected.clone()
    }

    /// Every check that failed so far, one line each.
    pub fn failures(&self) -> Vec<String> {
        self.state().failures.clone()
    }

    /// Waits until `n` pushes have been accepted, and returns them; panics after `timeout`
    /// with what did arrive. Real time, so it works under `tokio::time::pause()` too.
    pub async fn wait_for(&self, n: usize, timeout: Duration) -> Vec<ReceivedPush> {
        let deadline = Instant::now() + timeout;
        loop {
            let notified = self.shared.arrived.notified();
            {
                let state = self.state();
                if state.received.len() >= n {
                    return state.received.clone();
                }
                if Instant::now() >= deadline {
                    panic!(
                        "waited {timeout:?} for {n} pushes, got {}: {:#?}\nrejected: {:#?}\nfailures: {:#?}",
                        state.received.len(),
                        state.received,
                        state.rejected,
                        state.failures,
                    );
                }
            }
            // A short real-time poll as well as the notification: under a paused clock,
            // tokio's timers cannot be trusted to measure the deadline.
            let _ = tokio::time::timeout(Duration::from_millis(20), notified).await;
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.shared.state()
    }
}

impl Inner {
    fn state(&self) -> MutexGuard<'_, State> {
        // A panicking test thread must not hide what was received from the others.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// A refused push: the status to answer with and why.
struct Refusal(StatusCode, String);

impl Refusal {
    fn bad_request(reason: impl Into<String>) -> Self {
        Self(StatusCode::BAD_REQUEST, reason.into())
    }
    fn unauthorized(reason: impl Into<String>) -> Self {
        Self(StatusCode::UNAUTHORIZED, reason.into())
    }
}

async fn push(
    Shared(shared): Shared<Arc<Inner>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let endpoint = format!("{}/push/{id}", shared.origin);
    let mut state = shared.state();
    match verify(&shared.origin, &state, &endpoint, &headers, &body) {
        Ok(mut push) => {
            let status = state.statuses.get(&endpoint).copied().unwrap_or(201);
            push.attempt_status = status;
            let status = StatusCode::from_u16(status).unwrap();
            if status.is_success() {
                state.received.push(push);
                drop(state);
                shared.arrived.notify_waiters();
                let location = format!("{}/message/{}", shared.origin, id);
                (status, [(header::LOCATION, location)]).into_response()
            } else {
                state.rejected.push(push);
                let mut response = (status, "status set by the test").into_response();
                if let Some(seconds) = state.retry_after.get(&endpoint) {
                    response
                        .headers_mut()
                        .insert(header::RETRY_AFTER, seconds.to_string().parse().unwrap());
                }
                response
            }
        }
        Err(Refusal(status, reason)) => {
            state.failures.push(format!("{endpoint}: {reason}"));
            (status, reason).into_response()
        }
    }
}

/// Every check of one push, in the order a push service and then the browser make them.
fn verify(
    origin: &str,
    state: &State,
    endpoint: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<ReceivedPush, Refusal> {
    let Some(keys) = state.subscriptions.get(endpoint) else {
        return Err(Refusal(
            StatusCode::NOT_FOUND,
            "no such subscription".into(),
        ));
    };
    let text = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };

    if text("content-encoding").as_deref() != Some("aes128gcm") {
        let got = text("content-encoding");
        return Err(Refusal::bad_request(format!(
            "Content-Encoding is {got:?}, not aes128gcm"
        )));
    }
    let ttl = match text("ttl") {
        Some(ttl) => match ttl.parse::<u32>() {
            Ok(ttl) => Some(ttl),
            Err(_) => return Err(Refusal::bad_request(format!("TTL {ttl:?} is not a number"))),
        },
        None => return Err(Refusal::bad_request("no TTL header")),
    };
    let urgency = text("urgency");
    if let Some(urgency) = &urgency
        && !matches!(urgency.as_str(), "very-low" | "low" | "normal" | "high")
    {
        return Err(Refusal::bad_request(format!("Urgency {urgency:?}")));
    }
    let topic = text("topic");
    if let Some(topic) = &topic {
        let base64url = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
        if topic.is_empty() || topic.len() > 32 || !topic.chars().all(base64url) {
            return Err(Refusal::bad_request(format!("Topic {topic:?}")));
        }
    }

    let authorization = text("authorization").unwrap_or_default();
    let vapid = verify_vapid(&authorization, origin, now())?;
    if let Some(expected) = &state.expected_vapid_key
        && *expected != vapid.key
    {
        let reason = format!("signed with VAPID key {}, not {expected}", vapid.key);
        return Err(Refusal(StatusCode::FORBIDDEN, reason));
    }

    let plaintext = decrypt(body, keys).map_err(Refusal::bad_request)?;
    let payload = serde_json::from_slice(&plaintext).map_err(|e| {
        let text = String::from_utf8_lossy(&plaintext);
        Refusal::bad_request(format!("the payload is not JSON ({e}): {text:?}"))
    })?;
    Ok(ReceivedPush {
        endpoint: endpoint.to_owned(),
        payload,
        ttl,
        topic,
        urgency,
        vapid_subject: vapid.subject,
        received_at: Instant::now(),
        attempt_status: 0,
    })
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}
