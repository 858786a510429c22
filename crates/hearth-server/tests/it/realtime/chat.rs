//! Two people chatting: messages posted over REST and over the socket reach every member
//! as events in seq order; `send` is acknowledged with the stored message and is
//! idempotent by `client_msg_id`; edits, deletes and reactions arrive as events.

use std::time::Duration;

use futures::future::join_all;
use serde_json::{Value, json};

use super::client::WsClient;
use super::{id, message_path, seq, team};
use crate::support::{TestApp, texts};

#[tokio::test]
async fn both_members_receive_every_message_in_seq_order() {
    let app = TestApp::spawn().await;
    let t = team(&app).await;
    let (mut alice_ws, _) = WsClient::open(&app, &t.alice).await;
    let (mut bob_ws, _) = WsClient::open(&app, &t.bob).await;

    // Concurrent posts commit in some order; everyone must see them in that order.
    let texts: Vec<String> = (0..8).map(|i| format!("burst {i}")).collect();
    let posts = texts
        .iter()
        .map(|text| app.send(&t.alice, &t.general, text));
    let posted: Vec<Value> = join_all(posts).await;
    let mut expected: Vec<(i64, String)> = posted.iter().map(|m| (seq(m), id(m))).collect();
    expected.sort();

    for ws in [&mut bob_ws, &mut alice_ws] {
        let mut seen = Vec::new();
        for _ in 0..posted.len() {
            let event = ws.expect_event("message.created").await;
            assert_eq!(event["event"]["channel_id"], t.general.as_str());
            assert_eq!(seq(&event), seq(&event["event"]["message"]));
            seen.push((seq(&event), id(&event["event"]["message"])));
        }
        assert_eq!(seen, expected, "every message once, in seq order");
    }

    // And the other way round.
    let reply = app.send(&t.bob, &t.general, "hi Alice").await;
    let event = alice_ws.expect_event("message.created").await;
    assert_eq!(event["event"]["message"]["text"], "hi Alice");
    assert_eq!(event["event"]["message"]["user_id"], t.bob.user_id.as_str());
    assert_eq!(seq(&event), seq(&reply));
    assert_eq!(
        id(&bob_ws.expect_event("message.created").await["event"]["message"]),
        id(&reply)
    );
}

#[tokio::test]
async fn send_is_acked_with_the_stored_message_and_retries_are_idempotent() {
    let app = TestApp::spawn().await;
    let t = team(&app).await;
    let (mut alice_ws, _) = WsClient::open(&app, &t.alice).await;
    let (mut bob_ws, _) = WsClient::open(&app, &t.bob).await;
    let send = json!({
        "op": "send",
        "channel_id": t.general,
        "text": "over the socket",
        "client_msg_id": "c-1",
    });

    alice_ws.send_json(send.clone()).await;
    // The ack and Alice's own event travel separate paths; either may come first.
    let mut frames = vec![alice_ws.recv().await, alice_ws.recv().await];
    frames.sort_by_key(|f| f["type"].as_str().unwrap().to_owned());
    let [ack, event] = <[Value; 2]>::try_from(frames).unwrap();
    assert_eq!(ack["type"], "ack", "{ack}");
    assert_eq!(ack["client_msg_id"], "c-1");
    let message = &ack["message"];
    assert_eq!(message["text"], "over the socket");
    assert_eq!(message["client_msg_id"], "c-1");
    assert_eq!(message["user_id"], t.alice.user_id.as_str());
    assert_eq!(event["event"]["kind"], "message.created");
    assert_eq!(event["event"]["message"], *message);
    assert_eq!(seq(&event), seq(message));
    // Acknowledged means stored: REST serves the same message.
    let stored = app.get(&t.alice, &message_path(message)).await.ok();
    assert_eq!(stored, *message);
    let bobs = bob_ws.expect_event("message.created").await;
    assert_eq!(bobs["event"]["message"], *message);

    // A retry (the ack was lost, say) gets the same message back, not a second one.
    alice_ws.send_json(send).await;
    let again = alice_ws.expect("ack").await;
    assert_eq!(again["client_msg_id"], "c-1");
    assert_eq!(id(&again["message"]), id(message));
    let history = app.history(&t.alice, &t.general, "").await;
    assert_eq!(history["messages"].as_array().unwrap().len(), 1);
    // Nobody gets a second message.created: the next event each sees is the fence.
    let fence = app.send(&t.alice, &t.general, "fence").await;
    for ws in [&mut alice_ws, &mut bob_ws] {
        let events = ws.events_through(seq(&fence)).await;
        assert_eq!(events.len(), 1, "{events:?}");
    }
}

/// A client may send before its earlier sends are acknowledged: the server reads and
/// queues each while the ones before wait for their commit, so they share commits, and
/// still stores and acknowledges them in the order sent.
#[tokio::test]
async fn sends_in_flight_on_one_socket_are_stored_and_acked_in_the_order_sent() {
    let app = TestApp::spawn().await;
    let t = team(&app).await;
    let (mut alice_ws, _) = WsClient::open(&app, &t.alice).await;
    let held = app.data().hold_writes().await;
    for i in 0..5 {
        alice_ws
            .send_json(json!({
                "op": "send", "channel_id": t.general, "text": format!("in flight {i}"),
                "client_msg_id": format!("f-{i}"),
            }))
            .await;
    }
    // The first send waits for its commit, held back by the lock; the others are read
    // and queued meanwhile.
    let sending = &app.state().sending;
    let all_in_flight = tokio::time::timeout(Duration::from_secs(4), async {
        while sending.in_flight() < 5 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    let most = sending.in_flight();
    held.release().await;
    assert!(all_in_flight.is_ok(), "{most} of 5 sends in flight");

    let mut acks = Vec::new();
    while acks.len() < 5 {
        let frame = alice_ws.recv().await;
        match frame["type"].as_str() {
            Some("ack") => acks.push(frame),
            Some("event") => {}
            _ => panic!("unexpected {frame}"),
        }
    }
    let keys: Vec<&str> = acks
        .iter()
        .map(|a| a["client_msg_id"].as_str().unwrap())
        .collect();
    assert_eq!(
        keys,
        ["f-0", "f-1", "f-2", "f-3", "f-4"],
        "acks in the order sent"
    );
    let seqs: Vec<i64> = acks.iter().map(|a| seq(&a["message"])).collect();
    assert!(
        seqs.windows(2).all(|p| p[0] < p[1]),
        "stored in the order sent: {seqs:?}"
    );
    let history = app.history(&t.alice, &t.general, "").await;
    assert_eq!(
        texts(&history),
        [
            "in flight 0",
            "in flight 1",
            "in flight 2",
            "in flight 3",
            "in flight 4"
        ]
    );
}

#[tokio::test]
async fn a_refused_send_answers_an_error_naming_the_client_msg_id() {
    let app = TestApp::spawn().await;
    let t = team(&app).await;
    let secret = app.create_channel(&t.alice, "secret", true).await;
    let (mut bob_ws, _) = WsClient::open(&app, &t.bob).await;

    bob_ws
        .send_json(json!({
            "op": "send", "channel_id": secret, "text": "let me in", "client_msg_id": "c-9",
        }))
        .await;
    let error = bob_ws.expect("error").await;
    assert_eq!(error["code"], "channel_not_found", "{error}");
    assert_eq!(error["client_msg_id"], "c-9");
    bob_ws
        .send_json(json!({"op": "send", "channel_id": t.general, "text": "   "}))
        .await;
    let error = bob_ws.expect("error").await;
    assert_eq!(error["code"], "empty_text", "{error}");
    // The connection is still fine.
    bob_ws
        .send_json(json!({"op": "send", "channel_id": t.general, "text": "ok"}))
        .await;
    let mut types: Vec<String> = Vec::new();
    for _ in 0..2 {
        types.push(bob_ws.recv().await["type"].as_str().unwrap().to_owned());
    }
    types.sort();
    assert_eq!(types, ["ack", "event"]);
}

#[tokio::test]
async fn edits_deletes_and_reactions_arrive_as_events() {
    let app = TestApp::spawn().await;
    let t = team(&app).await;
    let (mut alice_ws, _) = WsClient::open(&app, &t.alice).await;
    let (mut bob_ws, _) = WsClient::open(&app, &t.bob).await;
    let message = app.send(&t.alice, &t.general, "first draft").await;
    let path = message_path(&message);
    let reaction_path = format!("{path}/reactions/thumbsup");
    for ws in [&mut alice_ws, &mut bob_ws] {
        ws.expect_event("message.created").await;
    }

    app.patch(&t.alice, &path, json!({"text": "final"}))
        .await
        .ok();
    app.put(&t.bob, &reaction_path).await.ok();
    app.delete(&t.bob, &reaction_path).await.ok();
    app.delete(&t.alice, &path).await.ok();

    for ws in [&mut bob_ws, &mut alice_ws] {
        let updated = ws.expect_event("message.updated").await;
        assert_eq!(updated["event"]["message"]["id"], message["id"]);
        assert_eq!(updated["event"]["message"]["text"], "final");
        assert!(updated["event"]["message"]["edited_at"].is_string());
        for kind in ["reaction.added", "reaction.removed"] {
            let reaction = ws.expect_event(kind).await;
            assert_eq!(reaction["event"]["message_id"], message["id"]);
            assert_eq!(reaction["event"]["user_id"], t.bob.user_id.as_str());
            assert_eq!(reaction["event"]["emoji"], "thumbsup");
            assert_eq!(reaction["event"]["channel_id"], t.general.as_str());
        }
        let deleted = ws.expect_event("message.deleted").await;
        assert_eq!(deleted["event"]["message"]["id"], message["id"]);
        assert_eq!(deleted["event"]["message"]["deleted"], true);
        assert_ne!(deleted["event"]["message"]["text"], "final");
    }
}
