//! Ephemeral signals over real sockets: typing is relayed to the channel's other members,
//! throttled and never stored; presence reaches only the connections that subscribed,
//! current state first, then changes, with a grace period before `offline`. (Idle and
//! timer edge cases run with paused time in the hub's unit tests.)

use std::time::{Duration, Instant};

use hearth_server::Settings;
use serde_json::json;

use super::client::WsClient;
use super::{seq, team};
use crate::support::TestApp;

const THROTTLE: Duration = Duration::from_millis(800);
const GRACE: Duration = Duration::from_millis(600);

fn settings() -> Settings {
    let mut settings = Settings::default();
    settings.gateway.hub.typing_throttle = THROTTLE;
    settings.gateway.hub.offline_grace = GRACE;
    settings
}

#[tokio::test]
async fn typing_reaches_the_other_members_throttled_and_is_never_stored() {
    let app = TestApp::spawn_with(settings()).await;
    let t = team(&app).await;
    let secret = app.create_channel(&t.alice, "secret", true).await;
    let (mut alice_ws, _) = WsClient::open(&app, &t.alice).await;
    let (mut bob_ws, _) = WsClient::open(&app, &t.bob).await;
    let last_seq = app.get(&t.bob, "/api/v1/events").await.ok()["last_seq"].clone();
    let typing = json!({"op": "typing", "channel_id": t.general});

    bob_ws.send_json(typing.clone()).await;
    let first = Instant::now();
    let notice = alice_ws.expect("typing").await;
    assert_eq!(notice["channel_id"], t.general.as_str());
    assert_eq!(notice["user_id"], t.bob.user_id.as_str());
    assert_eq!(notice["ttl_ms"], 6000);

    // Within the throttle, more typing is not relayed. The pong proves the server has
    // taken Bob's frames in; the fence then follows them through the hub.
    bob_ws.send_json(typing.clone()).await;
    bob_ws.send_json(typing.clone()).await;
    bob_ws.send_json(json!({"op": "ping", "id": 1})).await;
    assert_eq!(bob_ws.expect("pong").await["id"], 1);
    let fence = app.send(&t.alice, &t.general, "fence").await;
    // Neither Alice (throttled) nor Bob (his own typing) read anything but the fence.
    assert!(
        first.elapsed() < THROTTLE,
        "the machine is too slow for this test"
    );
    for ws in [&mut alice_ws, &mut bob_ws] {
        assert_eq!(ws.events_through(seq(&fence)).await.len(), 1);
    }

    // After the throttle it is relayed again.
    tokio::time::sleep(THROTTLE.saturating_sub(first.elapsed()) + Duration::from_millis(100)).await;
    bob_ws.send_json(typing).await;
    assert_eq!(
        alice_ws.expect("typing").await["user_id"],
        t.bob.user_id.as_str()
    );

    // Typing where one is not a member is refused.
    for channel in [secret.as_str(), "not-a-channel"] {
        bob_ws
            .send_json(json!({"op": "typing", "channel_id": channel}))
            .await;
        assert_eq!(bob_ws.expect("error").await["code"], "not_in_channel");
    }

    // Nothing of it reached the log.
    let page = app
        .get(&t.bob, &format!("/api/v1/events?after={last_seq}"))
        .await
        .ok();
    let kinds: Vec<&str> = page["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"]["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["message.created"]);
}

#[tokio::test]
async fn presence_subscribers_see_the_current_state_then_each_change() {
    let app = TestApp::spawn_with(settings()).await;
    let t = team(&app).await;
    let carol = app.add_user(&t.alice, "carol@acme.test", "member").await;
    let (mut alice_ws, _) = WsClient::open(&app, &t.alice).await;
    let (mut carol_ws, _) = WsClient::open(&app, &carol).await;
    let presence =
        |state: &str| json!({"type": "presence", "user_id": t.bob.user_id, "presence": state});

    alice_ws
        .send_json(json!({"op": "presence_sub", "user_ids": [t.bob.user_id, "garbage"]}))
        .await;
    assert_eq!(alice_ws.recv().await, presence("offline"));

    let (mut bob_ws, _) = WsClient::open(&app, &t.bob).await;
    assert_eq!(alice_ws.recv().await, presence("active"));
    bob_ws
        .send_json(json!({"op": "set_presence", "presence": "away"}))
        .await;
    assert_eq!(alice_ws.recv().await, presence("away"));
    bob_ws
        .send_json(json!({"op": "set_presence", "presence": "auto"}))
        .await;
    assert_eq!(alice_ws.recv().await, presence("active"));
    bob_ws
        .send_json(json!({"op": "set_presence", "presence": "busy"}))
        .await;
    assert_eq!(bob_ws.expect("error").await["code"], "invalid_presence");

    // A reload (close and reconnect within the grace period) does not flap.
    bob_ws.close().await;
    let (bob_ws, _) = WsClient::open(&app, &t.bob).await;
    alice_ws
        .expect_silence(GRACE + Duration::from_millis(400))
        .await;

    // Gone for good: offline, once the grace period is over.
    bob_ws.close().await;
    let closed = Instant::now();
    assert_eq!(alice_ws.recv().await, presence("offline"));
    assert!(
        closed.elapsed() >= GRACE - Duration::from_millis(100),
        "{:?}",
        closed.elapsed()
    );

    // Carol never subscribed: she heard none of it.
    carol_ws.expect_silence(Duration::from_millis(100)).await;
}
