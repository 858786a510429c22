//! Resume: a client that reconnects with `resume_from` gets exactly the events it missed,
//! in order, then `resumed`, then live events, with no gap and no duplicate across the
//! switch, even while others keep writing; or `resync_required` when the log cannot
//! serve it (a seq in the future or past the retention), never a partial replay.

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use serde_json::{Value, json};

use super::client::WsClient;
use super::{add_member, id, message_path, remove_member, seq, team};
use crate::support::{Session, TestApp};

/// Reads a resume's replay: events until `resumed`, whose seq is returned.
async fn read_replay(ws: &mut WsClient) -> (Vec<Value>, i64) {
    let mut events = Vec::new();
    loop {
        let frame = ws.recv().await;
        match frame["type"].as_str().unwrap() {
            "event" => events.push(frame),
            "resumed" => {
                let upto = seq(&frame);
                assert!(events.iter().all(|e| seq(e) <= upto), "{events:?}");
                return (events, upto);
            }
            _ => panic!("unexpected frame during a replay: {frame} after {events:?}"),
        }
    }
}

/// The messages of a channel as events describe them: the newest copy of each message,
/// with reactions applied.
#[derive(Default)]
struct Messages(BTreeMap<String, Value>);

impl Messages {
    fn apply(&mut self, channel: &str, frame: &Value) {
        let event = &frame["event"];
        if event["channel_id"] != channel {
            return;
        }
        match event["kind"].as_str().unwrap() {
            "message.created" | "message.updated" | "message.deleted" => {
                self.0
                    .insert(id(&event["message"]), event["message"].clone());
            }
            kind @ ("reaction.added" | "reaction.removed") => {
                let message = self
                    .0
                    .get_mut(event["message_id"].as_str().unwrap())
                    .expect("a reaction to a known message");
                let reactions = message["reactions"].as_array_mut().unwrap();
                let emoji = &event["emoji"];
                if !reactions.iter().any(|r| r["emoji"] == *emoji) {
                    reactions.push(json!({"emoji": emoji, "count": 0, "user_ids": []}));
                }
                let reaction = reactions.iter_mut().find(|r| r["emoji"] == *emoji).unwrap();
                let users = reaction["user_ids"].as_array_mut().unwrap();
                if kind == "reaction.added" {
                    users.push(event["user_id"].clone());
                } else {
                    users.retain(|u| *u != event["user_id"]);
                }
                reaction["count"] = json!(users.len());
                reactions.retain(|r| r["count"] != 0);
            }
            _ => {}
        }
    }

    /// Sorted, with reactions and their users in a canonical order.
    fn normalized(&self) -> Vec<Value> {
        self.0.values().map(normalize).collect()
    }
}

fn normalize(message: &Value) -> Value {
    let mut message = message.clone();
    let reactions = message["reactions"].as_array_mut().unwrap();
    for reaction in reactions.iter_mut() {
        let users = reaction["user_ids"].as_array_mut().unwrap();
        users.sort_by_key(|u| u.as_str().unwrap().to_owned());
    }
    reactions.sort_by_key(|r| r["emoji"].as_str().unwrap().to_owned());
    message
}

/// A channel's messages as REST returns them, normalized like [`Messages::normalized`].
async fn rest_messages(app: &TestApp, s: &Session, channel: &str) -> Vec<Value> {
    let page = app.history(s, channel, "limit=200").await;
    let mut messages: Vec<Value> = page["messages"].as_array().unwrap().clone();
    messages.sort_by_key(id);
    messages.iter().map(normalize).collect()
}

fn kinds_in(events: &[Value], channel: &str) -> Vec<String> {
    events
        .iter()
        .filter(|e| e["event"]["channel_id"] == channel)
        .map(|e| e["event"]["kind"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn a_resumed_client_gets_what_it_missed_and_ends_with_the_state_rest_returns() {
    let app = TestApp::spawn().await;
    let t = team(&app).await;
    let (alice, bob) = (&t.alice, &t.bob);
    let secret = app.create_channel(alice, "secret", true).await;
    let mut state = Messages::default();

    let (mut bob_ws, _) = WsClient::open(&app, bob).await;
    let first = app.send(alice, &t.general, "one").await;
    let seen = bob_ws.expect_event("message.created").await;
    state.apply(&t.general, &seen);
    let last = bob_ws.last_seq.unwrap();
    bob_ws.close().await;

    // While Bob is away: messages, an edit, a delete, reactions, a DM with him, a
    // channel he is added to, removed from and added back to, and a channel he is not in.
    let two = app.send(alice, &t.general, "two").await;
    let three = app.send(alice, &t.general, "three").await;
    app.patch(alice, &message_path(&two), json!({"text": "two, edited"}))
        .await
        .ok();
    app.delete(alice, &message_path(&three)).await.ok();
    for (message, emoji) in [(&first, "thumbsup"), (&two, "tada"), (&two, "eyes")] {
        let path = format!("{}/reactions/{emoji}", message_path(message));
        app.put(alice, &path).await.ok();
    }
    app.delete(alice, &format!("{}/reactions/eyes", message_path(&two)))
        .await
        .ok();
    app.send(alice, &secret, "classified").await;
    let dm = app
        .post(alice, "/api/v1/dms", json!({"user_ids": [bob.user_id]}))
        .await
        .ok();
    let dm = id(&dm);
    app.send(alice, &dm, "psst").await;
    let project = app.create_channel(alice, "project", true).await;
    add_member(&app, alice, &project, bob).await;
    app.send(alice, &project, "welcome").await;
    remove_member(&app, alice, &project, bob).await;
    let hidden = app.send(alice, &project, "while you were out").await;
    add_member(&app, alice, &project, bob).await;
    app.send(alice, &project, "welcome back").await;

    let (mut bob_ws, hello) = WsClient::resume(&app, bob, last).await;
    let (replayed, upto) = read_replay(&mut bob_ws).await;
    assert_eq!(
        upto,
        hello["last_seq"].as_i64().unwrap(),
        "resumed up to where the live stream starts"
    );

    // Exactly the visible events after `last`: the same list the durable log serves.
    let page = app
        .get(bob, &format!("/api/v1/events?after={last}&limit=200"))
        .await
        .ok();
    let logged: Vec<Value> = page["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let mut frame = e.clone();
            frame["type"] = json!("event");
            frame
        })
        .collect();
    assert_eq!(replayed, logged);
    assert!(replayed.iter().all(|e| seq(e) > last));
    assert_eq!(
        kinds_in(&replayed, &t.general),
        [
            "message.created",
            "message.created",
            "message.updated",
            "message.deleted",
            "reaction.added",
            "reaction.added",
            "reaction.added",
            "reaction.removed"
        ]
    );
    assert_eq!(
        kinds_in(&replayed, &dm),
        [
            "channel.created",
            "member.joined",
            "member.joined",
            "message.created"
        ]
    );
    assert_eq!(
        kinds_in(&replayed, &project),
        [
            "member.joined",
            "message.created",
            "member.left",
            "member.joined",
            "message.created"
        ]
    );
    assert!(kinds_in(&replayed, &secret).is_empty(), "{replayed:?}");
    assert!(
        !replayed
            .iter()
            .any(|e| e["event"]["message"]["id"] == hidden["id"]),
        "nothing of a channel while removed from it"
    );

    // Live events follow the replay.
    let four = app.send(alice, &t.general, "four").await;
    let live = bob_ws.expect_event("message.created").await;
    assert_eq!(live["event"]["message"]["id"], four["id"]);
    assert!(seq(&live) > upto);

    let mut dm_state = Messages::default();
    for event in replayed.iter().chain([&live]) {
        state.apply(&t.general, event);
        dm_state.apply(&dm, event);
    }
    assert_eq!(
        state.normalized(),
        rest_messages(&app, bob, &t.general).await
    );
    assert_eq!(dm_state.normalized(), rest_messages(&app, bob, &dm).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resuming_while_others_post_misses_nothing_and_repeats_nothing() {
    const MESSAGES: usize = 60;
    let app = TestApp::spawn().await;
    let t = team(&app).await;
    let (ws, hello) = WsClient::open(&app, &t.bob).await;

    let poster = async {
        let mut posted = Vec::new();
        for i in 0..MESSAGES {
            posted.push(id(&app.send(&t.alice, &t.general, &format!("m{i}")).await));
        }
        posted
    };
    let reader = async {
        let mut ws = ws;
        let mut seen: Vec<(i64, String)> = Vec::new();
        let mut reconnects = 0;
        let mut last = hello["last_seq"].as_i64().unwrap();
        while seen.len() < MESSAGES {
            // Reconnect every few messages, in the middle of the stream of writes.
            if seen.len() >= 8 * (reconnects + 1) && reconnects < 5 {
                reconnects += 1;
                ws.close().await;
                let (resumed_ws, hello) = WsClient::resume(&app, &t.bob, last).await;
                ws = resumed_ws;
                let (replayed, upto) = read_replay(&mut ws).await;
                assert_eq!(upto, hello["last_seq"].as_i64().unwrap());
                for event in replayed {
                    assert!(seq(&event) > last, "a duplicate across the resume");
                    last = seq(&event);
                    seen.push((last, id(&event["event"]["message"])));
                }
                continue;
            }
            let event = ws.expect_event("message.created").await;
            assert!(seq(&event) > last, "a duplicate across the resume");
            last = seq(&event);
            seen.push((last, id(&event["event"]["message"])));
        }
        (seen, reconnects)
    };
    let (posted, (seen, reconnects)) = tokio::join!(poster, reader);

    // Usually 5; fewer only if a replay caught up with the whole burst.
    assert!(reconnects >= 3, "{reconnects} reconnects");
    let seen_ids: Vec<String> = seen.iter().map(|(_, id)| id.clone()).collect();
    assert_eq!(seen_ids, posted, "every message exactly once, in order");
    let distinct: HashSet<i64> = seen.iter().map(|(s, _)| *s).collect();
    assert_eq!(distinct.len(), MESSAGES);
}

#[tokio::test]
async fn resuming_from_the_future_requires_a_resync_then_goes_live() {
    let app = TestApp::spawn().await;
    let t = team(&app).await;
    let last = app.get(&t.bob, "/api/v1/events").await.ok()["last_seq"]
        .as_i64()
        .unwrap();

    let (mut ws, hello) = WsClient::resume(&app, &t.bob, last + 100).await;
    assert_eq!(hello["last_seq"].as_i64().unwrap(), last);
    ws.expect("resync_required").await;
    let message = app.send(&t.alice, &t.general, "after the resync").await;
    let event = ws.expect_event("message.created").await;
    assert_eq!(event["event"]["message"]["id"], message["id"]);

    // Resuming from exactly the present is no resync, just nothing to replay.
    let (mut ws, hello) = WsClient::resume(&app, &t.bob, seq(&message)).await;
    assert_eq!(ws.expect("resumed").await["seq"], hello["last_seq"]);
}

#[tokio::test]
async fn resuming_from_before_the_retention_requires_a_resync_never_a_partial_replay() {
    let app = TestApp::spawn().await;
    let t = team(&app).await;
    let old = app.send(&t.alice, &t.general, "old").await;
    let older = app.send(&t.alice, &t.general, "older").await;
    tokio::time::sleep(Duration::from_millis(20)).await;
    let cut = hearth_core::Timestamp::now();
    tokio::time::sleep(Duration::from_millis(20)).await;
    let kept = app.send(&t.alice, &t.general, "kept").await;
    assert!(app.prune_events(cut).await > 0);

    let (mut ws, _) = WsClient::resume(&app, &t.bob, seq(&old)).await;
    ws.expect("resync_required").await;
    app.get(&t.bob, &format!("/api/v1/events?after={}", seq(&old)))
        .await
        .expect(410, "resync_required");
    // Live events still follow a resync.
    let live = app.send(&t.alice, &t.general, "live").await;
    assert_eq!(
        ws.expect_event("message.created").await["event"]["message"]["id"],
        live["id"]
    );

    // From the newest pruned seq on, the log is whole: a normal replay.
    let (mut ws, _) = WsClient::resume(&app, &t.bob, seq(&older)).await;
    let (replayed, _) = read_replay(&mut ws).await;
    let ids: Vec<&Value> = replayed
        .iter()
        .map(|e| &e["event"]["message"]["id"])
        .collect();
    assert_eq!(ids, [&kept["id"], &live["id"]]);
}
