//! The durable event log over `GET /api/v1/events`: order, what each user may see, resync
//! and paging.

use std::collections::HashSet;

use serde_json::{Value, json};

use crate::support::{Session, TestApp};

/// Every event `s` may see after `after`, in pages of `limit`.
async fn all_events(app: &TestApp, s: &Session, after: i64, limit: u32) -> Vec<Value> {
    let mut events = Vec::new();
    let mut after = after;
    for _ in 0..100 {
        let page = app
            .get(s, &format!("/api/v1/events?after={after}&limit={limit}"))
            .await
            .ok();
        let batch = page["events"].as_array().unwrap();
        assert!(batch.len() <= limit as usize);
        events.extend(batch.iter().cloned());
        let last_seq = page["last_seq"].as_i64().unwrap();
        assert!(last_seq >= after, "last_seq never goes back");
        after = last_seq;
        if page["has_more"] == false {
            return events;
        }
    }
    panic!("event paging does not end");
}

fn kinds(events: &[Value]) -> Vec<&str> {
    events
        .iter()
        .map(|e| e["event"]["kind"].as_str().unwrap())
        .collect()
}

fn of_channel<'a>(events: &'a [Value], channel: &str) -> Vec<&'a Value> {
    events
        .iter()
        .filter(|e| e["event"]["channel_id"] == channel)
        .collect()
}

fn assert_strictly_increasing(events: &[Value]) {
    let seqs: Vec<i64> = events.iter().map(|e| e["seq"].as_i64().unwrap()).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");
}

#[tokio::test]
async fn without_after_the_answer_says_where_the_log_is() {
    let app = TestApp::spawn().await;
    let owner = app.create_workspace("acme").await;
    let channel = app.create_channel(&owner, "general", false).await;
    let msg = app.send(&owner, &channel, "hi").await;

    let now = app.get(&owner, "/api/v1/events").await.ok();
    assert_eq!(now["events"], json!([]));
    let last_seq = now["last_seq"].as_i64().unwrap();
    assert!(last_seq >= msg["seq"].as_i64().unwrap());
    // Following from there shows only what happens next.
    let next = app.send(&owner, &channel, "next").await;
    let events = all_events(&app, &owner, last_seq, 50).await;
    assert_eq!(kinds(&events), ["message.created"]);
    assert_eq!(events[0]["event"]["message"]["id"], next["id"]);
}

#[tokio::test]
async fn the_log_lists_what_happened_in_order() {
    let app = TestApp::spawn().await;
    let owner = app.create_workspace("acme").await;
    let channel = app.create_channel(&owner, "general", false).await;
    let msg = app.send(&owner, &channel, "hello").await;
    let bob = app.add_user(&owner, "bob@acme.test", "member").await;
    app.join(&bob, &channel).await;

    let events = all_events(&app, &owner, 0, 200).await;
    assert_strictly_increasing(&events);
    assert_eq!(
        kinds(&events),
        [
            "user.created",
            "channel.created",
            "member.joined",
            "message.created",
            "user.created",
            "member.joined"
        ]
    );
    assert_eq!(events[0]["event"]["user"]["id"], owner.user_id.as_str());
    assert_eq!(events[1]["event"]["channel_id"], channel.as_str());
    assert_eq!(events[3]["event"]["message"]["id"], msg["id"]);
    // A message's seq is the seq of its creation event.
    assert_eq!(events[3]["seq"], msg["seq"]);
    assert_eq!(events[5]["event"]["user_id"], bob.user_id.as_str());
}

#[tokio::test]
async fn channel_events_are_for_its_members_only() {
    let app = TestApp::spawn().await;
    let owner = app.create_workspace("acme").await;
    let bob = app.add_user(&owner, "bob@acme.test", "member").await;
    let secret = app.create_channel(&owner, "secret", true).await;
    app.send(&owner, &secret, "classified").await;
    let public = app.create_channel(&owner, "general", false).await;
    app.send(&owner, &public, "public words").await;
    let carol = app.add_user(&owner, "carol@acme.test", "member").await;

    let events = all_events(&app, &bob, 0, 200).await;
    assert!(of_channel(&events, &secret).is_empty(), "{events:?}");
    assert!(
        of_channel(&events, &public).is_empty(),
        "public events go to members only"
    );
    // Workspace-wide events reach everyone.
    assert!(events.iter().any(|e| e["event"]["kind"] == "user.created"
        && e["event"]["user"]["id"] == carol.user_id.as_str()));
    // Another workspace's log is its own.
    let beta = app.create_workspace("beta").await;
    let theirs = all_events(&app, &beta, 0, 200).await;
    assert_eq!(kinds(&theirs), ["user.created"]);
}

#[tokio::test]
async fn a_removed_member_sees_its_removal_and_nothing_after() {
    let app = TestApp::spawn().await;
    let owner = app.create_workspace("acme").await;
    let bob = app.add_user(&owner, "bob@acme.test", "member").await;
    let channel = app.create_channel(&owner, "team", true).await;
    app.post(
        &owner,
        &format!("/api/v1/channels/{channel}/members"),
        json!({"user_ids": [bob.user_id]}),
    )
    .await
    .ok();
    let before = app.send(&owner, &channel, "before").await;
    let reply = app
        .delete(
            &owner,
            &format!("/api/v1/channels/{channel}/members/{}", bob.user_id),
        )
        .await;
    assert_eq!(reply.status, 204);
    app.send(&owner, &channel, "after").await;
    app.patch(
        &owner,
        &format!("/api/v1/channels/{channel}"),
        json!({"topic": "secret"}),
    )
    .await
    .ok();

    let events = all_events(&app, &bob, 0, 200).await;
    let seen = of_channel(&events, &channel);
    let seen_kinds: Vec<&str> = seen
        .iter()
        .map(|e| e["event"]["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        seen_kinds,
        ["member.joined", "message.created", "member.left"]
    );
    assert_eq!(seen[1]["event"]["message"]["id"], before["id"]);
    assert_eq!(seen[2]["event"]["user_id"], bob.user_id.as_str());
    // The owner, still a member, sees all of it.
    let all = all_events(&app, &owner, 0, 200).await;
    let owner_kinds: Vec<&str> = of_channel(&all, &channel)
        .iter()
        .map(|e| e["event"]["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        &owner_kinds[owner_kinds.len() - 2..],
        ["message.created", "channel.updated"]
    );
}

#[tokio::test]
async fn read_markers_are_private_to_their_owner() {
    let app = TestApp::spawn().await;
    let owner = app.create_workspace("acme").await;
    let bob = app.add_user(&owner, "bob@acme.test", "member").await;
    let channel = app.create_channel(&owner, "general", false).await;
    app.join(&bob, &channel).await;
    let msg = app.send(&owner, &channel, "read me").await;
    app.post(
        &bob,
        &format!("/api/v1/channels/{channel}/read"),
        json!({"seq": msg["seq"]}),
    )
    .await
    .ok();

    let is_marker = |e: &&Value| e["event"]["kind"] == "read_marker.updated";
    let bobs = all_events(&app, &bob, 0, 200).await;
    let markers: Vec<&Value> = bobs.iter().filter(is_marker).collect();
    assert_eq!(markers.len(), 1, "{bobs:?}");
    assert_eq!(markers[0]["event"]["channel_id"], channel.as_str());
    assert_eq!(markers[0]["event"]["last_read_seq"], msg["seq"]);
    let owners = all_events(&app, &owner, 0, 200).await;
    assert_eq!(owners.iter().filter(is_marker).count(), 0);
}

#[tokio::test]
async fn resuming_from_the_future_requires_a_resync() {
    let app = TestApp::spawn().await;
    let owner = app.create_workspace("acme").await;
    let last = app.get(&owner, "/api/v1/events").await.ok()["last_seq"]
        .as_i64()
        .unwrap();
    app.get(&owner, &format!("/api/v1/events?after={last}"))
        .await
        .ok();
    app.get(&owner, &format!("/api/v1/events?after={}", last + 1))
        .await
        .expect(410, "resync_required");
}

#[tokio::test]
async fn paging_walks_the_whole_log_once() {
    let app = TestApp::spawn().await;
    let owner = app.create_workspace("acme").await;
    let channel = app.create_channel(&owner, "general", false).await;
    for i in 0..6 {
        app.send(&owner, &channel, &format!("m{i}")).await;
    }
    let whole = all_events(&app, &owner, 0, 200).await;
    assert_eq!(whole.len(), 9);
    let paged = all_events(&app, &owner, 0, 2).await;
    assert_strictly_increasing(&paged);
    assert_eq!(paged, whole);
    let distinct: HashSet<i64> = paged.iter().map(|e| e["seq"].as_i64().unwrap()).collect();
    assert_eq!(distinct.len(), paged.len());

    app.get(&owner, "/api/v1/events?after=0&limit=0")
        .await
        .expect(400, "invalid_limit");
    let page = app.get(&owner, "/api/v1/events?after=0&limit=2").await.ok();
    assert_eq!(page["has_more"], true);
    assert_eq!(page["events"].as_array().unwrap().len(), 2);
}
