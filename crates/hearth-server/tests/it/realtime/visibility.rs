//! Who receives what: events follow channel membership at the event's seq, on every open
//! connection of a user; read markers stay with their owner; a deactivated account's
//! sockets are closed.
//!
//! "Nothing arrived" is checked with a fence: a message posted afterwards in a channel
//! the client does see; events reach a connection in seq order, so anything leaked would
//! have been read before the fence.

use serde_json::{Value, json};

use super::client::WsClient;
use super::{add_member, message_path, remove_member, seq, team};
use crate::support::TestApp;

fn kinds(events: &[Value]) -> Vec<&str> {
    events
        .iter()
        .map(|e| e["event"]["kind"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn a_non_member_gets_nothing_of_a_private_channel() {
    let app = TestApp::spawn().await;
    let t = team(&app).await;
    let (mut bob_ws, _) = WsClient::open(&app, &t.bob).await;
    let (mut alice_ws, _) = WsClient::open(&app, &t.alice).await;

    let secret = app.create_channel(&t.alice, "secret", true).await;
    let message = app.send(&t.alice, &secret, "classified").await;
    app.patch(
        &t.alice,
        &message_path(&message),
        json!({"text": "redacted"}),
    )
    .await
    .ok();
    app.put(
        &t.alice,
        &format!("{}/reactions/eyes", message_path(&message)),
    )
    .await
    .ok();
    app.patch(
        &t.alice,
        &format!("/api/v1/channels/{secret}"),
        json!({"topic": "plans"}),
    )
    .await
    .ok();
    let fence = app.send(&t.alice, &t.general, "fence").await;

    let bobs = bob_ws.events_through(seq(&fence)).await;
    assert_eq!(kinds(&bobs), ["message.created"], "{bobs:?}");
    // The member saw all of it.
    let alices = alice_ws.events_through(seq(&fence)).await;
    assert_eq!(
        kinds(&alices),
        [
            "channel.created",
            "member.joined",
            "message.created",
            "message.updated",
            "reaction.added",
            "channel.updated",
            "message.created"
        ]
    );
}

#[tokio::test]
async fn a_removed_member_gets_its_member_left_and_nothing_after() {
    let app = TestApp::spawn().await;
    let t = team(&app).await;
    let project = app.create_channel(&t.alice, "project", true).await;
    add_member(&app, &t.alice, &project, &t.bob).await;
    let (mut bob_ws, _) = WsClient::open(&app, &t.bob).await;
    let before = app.send(&t.alice, &project, "before").await;
    assert_eq!(
        bob_ws.expect_event("message.created").await["event"]["message"]["id"],
        before["id"]
    );

    remove_member(&app, &t.alice, &project, &t.bob).await;
    // Everything from here on happens after the removal was acknowledged.
    app.send(&t.alice, &project, "after").await;
    app.put(
        &t.alice,
        &format!("{}/reactions/wave", message_path(&before)),
    )
    .await
    .ok();
    app.patch(
        &t.alice,
        &format!("/api/v1/channels/{project}"),
        json!({"topic": "without bob"}),
    )
    .await
    .ok();
    let fence = app.send(&t.alice, &t.general, "fence").await;

    let events = bob_ws.events_through(seq(&fence)).await;
    assert_eq!(
        kinds(&events),
        ["member.left", "message.created"],
        "{events:?}"
    );
    assert_eq!(events[0]["event"]["channel_id"], project.as_str());
    assert_eq!(events[0]["event"]["user_id"], t.bob.user_id.as_str());
    assert_eq!(events[1]["event"]["channel_id"], t.general.as_str());
}

#[tokio::test]
async fn joining_starts_the_channels_events_at_once_on_every_connection() {
    let app = TestApp::spawn().await;
    let t = team(&app).await;
    let random = app.create_channel(&t.alice, "random", false).await;
    app.send(&t.alice, &random, "before Bob").await;
    let (mut phone, _) = WsClient::open(&app, &t.bob).await;
    let laptop_session = app.login_as(&t.bob).await;
    let (mut laptop, _) = WsClient::open(&app, &laptop_session).await;

    app.join(&t.bob, &random).await;
    let hello = app.send(&t.alice, &random, "welcome, Bob").await;

    for ws in [&mut phone, &mut laptop] {
        let joined = ws.expect_event("member.joined").await;
        assert_eq!(joined["event"]["channel_id"], random.as_str());
        assert_eq!(joined["event"]["user_id"], t.bob.user_id.as_str());
        let message = ws.expect_event("message.created").await;
        assert_eq!(message["event"]["message"]["id"], hello["id"]);
    }
}

#[tokio::test]
async fn read_markers_reach_only_the_readers_own_connections() {
    let app = TestApp::spawn().await;
    let t = team(&app).await;
    let (mut phone, _) = WsClient::open(&app, &t.bob).await;
    let (mut laptop, _) = WsClient::open(&app, &app.login_as(&t.bob).await).await;
    let (mut alice_ws, _) = WsClient::open(&app, &t.alice).await;
    let message = app.send(&t.alice, &t.general, "read me").await;
    for ws in [&mut phone, &mut laptop, &mut alice_ws] {
        ws.expect_event("message.created").await;
    }

    app.post(
        &t.bob,
        &format!("/api/v1/channels/{}/read", t.general),
        json!({"seq": seq(&message)}),
    )
    .await
    .ok();
    for ws in [&mut phone, &mut laptop] {
        let marker = ws.expect_event("read_marker.updated").await;
        assert_eq!(marker["event"]["channel_id"], t.general.as_str());
        assert_eq!(marker["event"]["last_read_seq"], message["seq"]);
    }
    let fence = app.send(&t.bob, &t.general, "fence").await;
    let alices = alice_ws.events_through(seq(&fence)).await;
    assert_eq!(kinds(&alices), ["message.created"], "{alices:?}");
}

#[tokio::test]
async fn deactivation_closes_the_accounts_sockets() {
    let app = TestApp::spawn().await;
    let t = team(&app).await;
    let (mut phone, _) = WsClient::open(&app, &t.bob).await;
    let (mut laptop, _) = WsClient::open(&app, &app.login_as(&t.bob).await).await;
    let (mut alice_ws, _) = WsClient::open(&app, &t.alice).await;

    app.patch(
        &t.alice,
        &format!("/api/v1/users/{}", t.bob.user_id),
        json!({"deactivated": true}),
    )
    .await
    .ok();
    for ws in [&mut phone, &mut laptop] {
        ws.expect_closed_with(4001, &["event"]).await;
    }
    let updated = alice_ws.expect_event("user.updated").await;
    assert_eq!(updated["event"]["user"]["deactivated"], true);
    // The revoked session cannot come back either.
    let mut again = WsClient::connect(&app).await;
    again
        .send_json(json!({"op": "auth", "token": t.bob.token}))
        .await;
    again.expect_closed_with(4001, &[]).await;
}
