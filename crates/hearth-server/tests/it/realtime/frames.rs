//! Keeping a connection healthy and bounded: heartbeats and `ping`/`pong`, frames that
//! are not commands (an error, and the connection carries on), binary and oversized
//! frames (closed), the per-connection command rate limit, and going away on shutdown.

use std::time::{Duration, Instant};

use hearth_server::Settings;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use super::client::{WAIT, WsClient};
use super::team;
use crate::support::TestApp;

const HEARTBEAT: Duration = Duration::from_millis(300);

fn fast_heartbeat() -> Settings {
    let mut settings = Settings::default();
    settings.gateway.heartbeat = HEARTBEAT;
    settings
}

#[tokio::test]
async fn a_silent_client_is_closed_with_4000_after_one_and_a_half_heartbeats() {
    let app = TestApp::spawn_with(fast_heartbeat()).await;
    let t = team(&app).await;
    let (mut ws, hello) = WsClient::open(&app, &t.bob).await;
    let start = Instant::now();
    assert_eq!(hello["heartbeat_ms"], 300);

    ws.expect_closed_with(4000, &[]).await;
    let silent = start.elapsed();
    // 450 ms by the rule; the upper bound leaves room for a busy machine.
    assert!(
        silent >= Duration::from_millis(400) && silent < Duration::from_millis(1200),
        "closed after {silent:?}"
    );
}

#[tokio::test]
async fn a_client_that_pings_stays_and_gets_its_pongs() {
    let app = TestApp::spawn_with(fast_heartbeat()).await;
    let t = team(&app).await;
    let (mut ws, _) = WsClient::open(&app, &t.bob).await;

    // Four heartbeat intervals, pinging every half interval.
    for id in 0..8 {
        tokio::time::sleep(HEARTBEAT / 2).await;
        ws.send_json(json!({"op": "ping", "id": id})).await;
        assert_eq!(ws.recv().await, json!({"type": "pong", "id": id}));
    }
    // Still connected: events flow.
    let message = app.send(&t.alice, &t.general, "still there?").await;
    assert_eq!(
        ws.expect_event("message.created").await["event"]["message"]["id"],
        message["id"]
    );
}

#[tokio::test]
async fn frames_that_are_not_commands_get_an_error_and_the_connection_carries_on() {
    let app = TestApp::spawn().await;
    let t = team(&app).await;
    let (mut ws, _) = WsClient::open(&app, &t.bob).await;

    let bad = [
        "not json".to_owned(),
        json!({"op": "dance"}).to_string(),
        json!({"type": "ping"}).to_string(),
        json!({"op": "ping", "id": 1, "extra": true}).to_string(),
        json!({"op": "send", "channel_id": t.general}).to_string(),
        json!([1, 2, 3]).to_string(),
    ];
    for text in bad {
        ws.send(Message::text(text.clone())).await;
        let error = ws.expect("error").await;
        assert_eq!(error["code"], "invalid_frame", "{text} -> {error}");
    }
    ws.send_json(json!({"op": "auth", "token": t.bob.token}))
        .await;
    assert_eq!(ws.expect("error").await["code"], "already_authenticated");
    ws.send_json(json!({"op": "ping", "id": 2})).await;
    assert_eq!(ws.recv().await, json!({"type": "pong", "id": 2}));
}

#[tokio::test]
async fn a_binary_frame_closes_with_1002() {
    let app = TestApp::spawn().await;
    let t = team(&app).await;
    let (mut ws, _) = WsClient::open(&app, &t.bob).await;
    ws.send(Message::binary(b"{\"op\":\"ping\"}".to_vec()))
        .await;
    ws.expect_closed_with(1002, &[]).await;
}

#[tokio::test]
async fn a_frame_over_64_kib_closes_with_1009() {
    let app = TestApp::spawn().await;
    let t = team(&app).await;
    let (mut ws, _) = WsClient::open(&app, &t.bob).await;

    // Just under the limit is read (and refused as a command).
    let under = json!({"op": "ping", "id": 1, "pad": "x".repeat(60 * 1024)}).to_string();
    assert!(under.len() < 64 * 1024);
    ws.send(Message::text(under)).await;
    assert_eq!(ws.expect("error").await["code"], "invalid_frame");

    let over = json!({"op": "send", "channel_id": t.general, "text": "x".repeat(65 * 1024)});
    ws.send_json(over).await;
    ws.expect_closed_with(1009, &[]).await;
    let history = app.history(&t.alice, &t.general, "").await;
    assert_eq!(history["messages"], json!([]));
}

#[tokio::test]
async fn too_many_commands_are_refused_then_the_connection_is_closed() {
    let app = TestApp::spawn().await;
    let t = team(&app).await;
    let (mut ws, _) = WsClient::open(&app, &t.bob).await;

    // A burst of 125 within a moment: the first 120 run, the rest are refused.
    for id in 0..125 {
        ws.send_json(json!({"op": "ping", "id": id})).await;
    }
    let mut answers: Vec<Value> = Vec::new();
    while answers.len() < 125 {
        answers.push(ws.recv().await);
    }
    let pongs = answers.iter().filter(|f| f["type"] == "pong").count();
    let refused = answers
        .iter()
        .filter(|f| f["type"] == "error" && f["code"] == "rate_limited")
        .count();
    // One more token may have trickled in (two a second) on a slow machine.
    assert!((120..=121).contains(&pongs), "{pongs} pongs");
    assert_eq!(pongs + refused, 125, "{answers:?}");
    assert_eq!(answers[0], json!({"type": "pong", "id": 0}));

    // Keeping on regardless gets the connection closed (after 20 refusals in a row).
    for _ in 0..40 {
        if !ws.try_send(Message::text(r#"{"op":"ping"}"#)).await {
            break;
        }
    }
    ws.expect_closed_with(1008, &["error", "pong"]).await;
}

#[tokio::test]
async fn stopping_the_server_tells_clients_to_go_away() {
    let app = TestApp::spawn().await;
    let t = team(&app).await;
    let (mut alice_ws, _) = WsClient::open(&app, &t.alice).await;
    let (mut bob_ws, _) = WsClient::open(&app, &t.bob).await;

    let stopped = tokio::time::timeout(WAIT, app.stop());
    let (stopped, ..) = tokio::join!(
        stopped,
        alice_ws.expect_closed_with(1001, &[]),
        bob_ws.expect_closed_with(1001, &[]),
    );
    stopped.expect("the server stops without waiting for its sockets");
}
