//! The push receiver: a webhook endpoint in this process that the server's notification
//! workers POST to, recording when each request arrived and for whom.
//!
//! Each recipient registers `http://127.0.0.1:PORT/hook/{user_id}`, so the path says
//! whose target a request was for. Every request is answered `204` at once, whatever it
//! holds: a slow or failing answer would make the server retry, and a `404` or `410` would
//! make it delete the target. What arrived is judged afterwards ([`super::tally`]), not
//! here; the receiver only keeps the few fields the judgement reads, so a long run's
//! tens of thousands of pushes stay small.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use hearth_proto::NotificationPayload;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio::time::Instant;

/// The header that names a notification (the payload's `id` too).
const ID_HEADER: &str = "x-hearth-notification-id";
/// How often a waiter looks at the count; arrival times are taken by the handler, so
/// this only decides how soon the wait ends.
const POLL: Duration = Duration::from_millis(10);

/// One request the receiver got.
#[derive(Debug, Clone)]
pub struct Arrival {
    /// When its handler ran (the body read).
    pub at: Instant,
    /// The user the path names; `None` for any other path.
    pub user: Option<String>,
    /// The `x-hearth-notification-id` header.
    pub header_id: Option<String>,
    /// The payload's `id` and `message.id`, when the body was a `NotificationPayload`.
    pub payload: Option<(String, String)>,
}

#[derive(Default)]
struct Inbox {
    arrivals: Vec<Arrival>,
    /// Distinct notification ids (of any payload that parsed).
    ids: HashSet<String>,
}

/// A running receiver; stops accepting when dropped.
pub struct Receiver {
    addr: SocketAddr,
    inbox: Arc<Mutex<Inbox>>,
    task: JoinHandle<()>,
}

impl Receiver {
    /// Binds `127.0.0.1:0` and serves until dropped.
    pub async fn start() -> anyhow::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .context("binding the webhook receiver")?;
        let addr = listener.local_addr()?;
        let inbox = Arc::new(Mutex::new(Inbox::default()));
        let app = Router::new().fallback(receive).with_state(inbox.clone());
        let task = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                eprintln!("the webhook receiver stopped: {e}");
            }
        });
        Ok(Self { addr, inbox, task })
    }

    /// The endpoint `user_id`'s webhook target points at.
    pub fn endpoint(&self, user_id: &str) -> String {
        format!("http://{}/hook/{user_id}", self.addr)
    }

    /// Distinct notification ids received so far.
    pub fn distinct(&self) -> u64 {
        self.inbox.lock().expect("inbox lock poisoned").ids.len() as u64
    }

    /// Waits until `expected` distinct notifications arrived or `deadline` passed; true
    /// when they all did.
    pub async fn wait_for(&self, expected: u64, deadline: Instant) -> bool {
        loop {
            if self.distinct() >= expected {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Everything received so far, in arrival order.
    pub fn arrivals(&self) -> Vec<Arrival> {
        self.inbox
            .lock()
            .expect("inbox lock poisoned")
            .arrivals
            .clone()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        // Connections already accepted end when the server that opened them stops.
        self.task.abort();
    }
}

/// Every request, whatever its method and path: recorded, answered `204`.
async fn receive(
    State(inbox): State<Arc<Mutex<Inbox>>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let at = Instant::now();
    let user = uri
        .path()
        .strip_prefix("/hook/")
        .filter(|u| !u.is_empty() && !u.contains('/'))
        .map(str::to_owned);
    let header_id = headers
        .get(ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let payload = serde_json::from_slice::<NotificationPayload>(&body)
        .ok()
        .map(|p| (p.id, p.message.id));
    let mut inbox = inbox.lock().expect("inbox lock poisoned");
    if let Some((id, _)) = &payload {
        inbox.ids.insert(id.clone());
    }
    inbox.arrivals.push(Arrival {
        at,
        user,
        header_id,
        payload,
    });
    StatusCode::NO_CONTENT
}

#[cfg(test)]
mod tests {
    use super::*;

    fn payload(id: &str, message_id: &str) -> serde_json::Value {
        serde_json::json!({
            "id": id,
            "workspace_id": "T1",
            "reason": "mention",
            "channel": { "id": "C1", "name": "general", "kind": "public" },
            "sender": { "id": "U1", "handle": "ada", "display_name": "Ada" },
            "message": { "id": message_id, "seq": 7, "excerpt": "hi" },
            "created_at": "2026-01-01T00:00:00Z"
        })
    }

    #[tokio::test]
    async fn records_every_request_and_answers_no_content() {
        let receiver = Receiver::start().await.unwrap();
        let http = reqwest::Client::new();
        let endpoint = receiver.endpoint("U2");
        for (id, path) in [("N1", endpoint.as_str()), ("N1", endpoint.as_str())] {
            let resp = http
                .post(path)
                .header(ID_HEADER, id)
                .json(&payload(id, "M1"))
                .send()
                .await
                .unwrap();
            assert_eq!(resp.status(), StatusCode::NO_CONTENT);
        }
        let stray = endpoint.replace("/hook/U2", "/elsewhere");
        let resp = http.post(stray).body("junk").send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::NO_CONTENT, "never a 404");
        assert!(receiver.wait_for(1, Instant::now()).await);
        let arrivals = receiver.arrivals();
        assert_eq!((receiver.distinct(), arrivals.len()), (1, 3));
        assert_eq!(arrivals[0].user.as_deref(), Some("U2"));
        assert_eq!(arrivals[0].header_id.as_deref(), Some("N1"));
        assert_eq!(arrivals[0].payload, Some(("N1".into(), "M1".into())));
        assert_eq!(
            (arrivals[2].user.as_ref(), arrivals[2].payload.as_ref()),
            (None, None)
        );
    }
}
