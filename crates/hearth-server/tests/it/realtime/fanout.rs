//! Fan-out: a never-reading client is cut off as a slow consumer without delaying anyone
//! else, and resumes without loss; each event is encoded once and the same bytes go to
//! every recipient.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use hearth_server::Settings;
use hearth_server::gateway::hub::HubStats;
use serde_json::{Value, json};

use super::client::{Incoming, WAIT, WsClient};
use super::{Team, id, seq, team};
use crate::support::TestApp;

/// How long the healthy client may wait for each message while another client stalls.
const PROMPT: Duration = Duration::from_secs(1);

/// Posts big messages (so a stalled socket's buffers fill after a few dozen) until the
/// hub has cut a slow consumer off, then `after_cut` more; checks on the way that each
/// reaches `healthy` within [`PROMPT`]. Returns the ids posted, in order.
async fn post_until_cut_off(
    app: &TestApp,
    t: &Team,
    healthy: &mut WsClient,
    after_cut: usize,
) -> Vec<String> {
    let stats = app.state().hub.stats();
    let body = "lorem ipsum ".repeat(3200);
    let mut posted = Vec::new();
    let mut cut_at = None;
    while cut_at.is_none_or(|at| posted.len() < at + after_cut) {
        assert!(posted.len() < 400, "the stalled client was never cut off");
        let text = format!("{} {body}", posted.len());
        let message = app.send(&t.alice, &t.general, &text).await;
        let sent = Instant::now();
        match healthy.next(PROMPT).await {
            Incoming::Frame(event) => {
                assert_eq!(event["event"]["message"]["id"], message["id"]);
            }
            other => panic!(
                "message {} took over {PROMPT:?} to reach the healthy client: {other:?}",
                posted.len()
            ),
        }
        assert!(sent.elapsed() < PROMPT);
        posted.push(id(&message));
        if cut_at.is_none() && HubStats::get(&stats.slow_consumers) > 0 {
            cut_at = Some(posted.len());
        }
    }
    posted
}

fn small_queue() -> Settings {
    let mut settings = Settings::default();
    settings.gateway.queue_capacity = 16;
    settings.gateway.hub.offline_grace = Duration::from_millis(300);
    settings
}

#[tokio::test]
async fn a_never_reading_client_is_closed_while_others_keep_their_pace_and_it_resumes() {
    let app = TestApp::spawn_with(small_queue()).await;
    let t = team(&app).await;
    let mut stalled = WsClient::connect_small_buffer(&app).await;
    let hello = stalled.auth(&t.bob.token, None).await;
    let (mut healthy, _) = WsClient::open(&app, &t.alice).await;

    let posted = post_until_cut_off(&app, &t, &mut healthy, 5).await;

    // What the stalled client finds when it finally reads: the events that made it into
    // its buffers, then the end of the connection, with 4008 when the close frame
    // itself could still be written.
    let (code, frames) = stalled.expect_close(WAIT).await;
    assert!(
        matches!(code, None | Some(4008)),
        "closed with {code:?} after {} frames",
        frames.len()
    );
    assert!(frames.len() < posted.len(), "it was cut off before the end");
    let mut seen: Vec<String> = frames.iter().map(|f| id(&f["event"]["message"])).collect();
    let last = stalled
        .last_seq
        .unwrap_or_else(|| hello["last_seq"].as_i64().unwrap());

    // It resumes from the last event it processed and misses nothing.
    let (mut resumed, _) = WsClient::resume(&app, &t.bob, last).await;
    loop {
        let frame = resumed.recv().await;
        if frame["type"] == "resumed" {
            break;
        }
        assert!(seq(&frame) > last);
        seen.push(id(&frame["event"]["message"]));
    }
    assert_eq!(
        seen, posted,
        "every message once, in order, across the resume"
    );
}

/// A client that stopped reading for good (a frozen laptop) must not hold its
/// connection forever: once cut off, the server frees it, and its user goes offline.
#[tokio::test]
async fn a_frozen_client_is_freed_once_cut_off() {
    let app = TestApp::spawn_with(small_queue()).await;
    let t = team(&app).await;
    let (mut alice_ws, _) = WsClient::open(&app, &t.alice).await;
    alice_ws
        .send_json(json!({"op": "presence_sub", "user_ids": [t.bob.user_id]}))
        .await;
    assert_eq!(alice_ws.expect("presence").await["presence"], "offline");
    let mut frozen = WsClient::connect_small_buffer(&app).await;
    frozen.auth(&t.bob.token, None).await;
    assert_eq!(alice_ws.expect("presence").await["presence"], "active");

    post_until_cut_off(&app, &t, &mut alice_ws, 0).await;
    // The close frame may not fit (1 s), then the grace period (300 ms).
    let gone = alice_ws.expect("presence").await;
    assert_eq!(gone["presence"], "offline");
}

#[tokio::test]
async fn an_event_is_encoded_once_and_every_recipient_gets_the_same_bytes() {
    let app = TestApp::spawn().await;
    let t = team(&app).await;
    let carol = app.add_user(&t.alice, "carol@acme.test", "member").await;
    app.join(&carol, &t.general).await;
    // Dave is online but not in the channel: he costs nothing.
    let dave = app.add_user(&t.alice, "dave@acme.test", "member").await;
    let mut sockets = Vec::new();
    for s in [&t.alice, &t.bob, &carol] {
        sockets.push(WsClient::open(&app, s).await.0);
    }
    let (mut dave_ws, _) = WsClient::open(&app, &dave).await;
    let stats = app.state().hub.stats();
    let encoded = HubStats::get(&stats.events_encoded);
    let deliveries = HubStats::get(&stats.deliveries);

    let message = app.send(&t.alice, &t.general, "to all three").await;
    let mut raws = HashSet::new();
    for ws in &mut sockets {
        let event: Value = ws.expect_event("message.created").await;
        assert_eq!(event["event"]["message"]["id"], message["id"]);
        raws.insert(ws.last_raw.clone());
    }
    assert_eq!(raws.len(), 1, "the same bytes for everyone");
    assert_eq!(HubStats::get(&stats.events_encoded) - encoded, 1);
    assert_eq!(HubStats::get(&stats.deliveries) - deliveries, 3);
    dave_ws.expect_silence(Duration::from_millis(200)).await;
}
