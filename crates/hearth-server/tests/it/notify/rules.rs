//! Who is notified of what, and why, as offline users see it at their webhooks.

use std::collections::HashSet;

use serde_json::{Value, json};

use super::hooks::Hook;
use super::{QUIET, WAIT, add_webhook, office, spawn_fast};
use crate::realtime::client::WsClient;

/// The reasons `name` was notified for, in message order (deliveries run concurrently,
/// so they may arrive in any order; each carries its message's seq).
fn reasons(hooks: &[Hook], name: &str) -> Vec<String> {
    let mut mine: Vec<&Hook> = hooks
        .iter()
        .filter(|h| h.endpoint.ends_with(&format!("/hook/{name}")))
        .collect();
    mine.sort_by_key(|h| h.body["message"]["seq"].as_i64());
    mine.iter()
        .map(|h| h.body["reason"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn mentions_conversations_broadcasts_keywords_threads_and_levels() {
    let app = spawn_fast().await;
    let o = office(&app, &["bob", "carol", "dave"]).await;
    let (carol, dave) = (&o.people[1], &o.people[2]);
    app.put_json(
        dave,
        "/api/v1/notifications/prefs",
        json!({"keywords": ["deploy"]}),
    )
    .await
    .ok();

    // A mention by handle reaches Bob only, with who, where and what.
    let hi = app.send(&o.owner, &o.general, "hi @bob, see *this*").await;
    let first = o.hooks.wait_for(1, WAIT).await;
    let hook = &first[0];
    assert!(hook.endpoint.ends_with("/hook/bob"));
    assert_eq!(hook.body["reason"], "mention");
    assert_eq!(
        hook.body["channel"],
        json!({"id": o.general, "name": "general", "kind": "public"})
    );
    assert_eq!(hook.body["sender"]["handle"], "owner");
    assert_eq!(hook.body["message"]["id"], hi["id"]);
    assert_eq!(hook.body["message"]["excerpt"], "hi @bob, see *this*");
    assert_eq!(hook.id, hook.body["id"].as_str().unwrap());

    // A DM reaches its other participant; the id form of a mention works too.
    let dm = app
        .post(
            &o.owner,
            "/api/v1/dms",
            json!({"user_ids": [carol.user_id]}),
        )
        .await
        .ok();
    app.send(&o.owner, dm["id"].as_str().unwrap(), "lunch?")
        .await;
    app.send(&o.owner, &o.general, &format!("<@{}> ping", dave.user_id))
        .await;
    // @channel reaches every member but the author.
    app.send(&o.owner, &o.general, "@channel standup in 5")
        .await;
    // A keyword reaches Dave, in any case, as a whole word.
    app.send(&o.owner, &o.general, "The DEPLOY is done").await;
    app.send(&o.owner, &o.general, "redeploying nothing").await;

    let all = o.hooks.wait_for(1 + 1 + 1 + 3 + 1, WAIT).await;
    assert_eq!(reasons(&all, "bob"), ["mention", "channel"]);
    assert_eq!(reasons(&all, "carol"), ["dm", "channel"]);
    assert_eq!(reasons(&all, "dave"), ["mention", "channel", "keyword"]);
    o.hooks.expect_no_more(7, QUIET).await;

    // Each notification arrived once, with its own id.
    let ids: HashSet<&str> = all.iter().map(|h| h.id.as_str()).collect();
    assert_eq!(ids.len(), all.len());
}

#[tokio::test]
async fn thread_replies_levels_and_mute() {
    let app = spawn_fast().await;
    let o = office(&app, &["bob", "carol", "dave"]).await;
    let (bob, carol, dave) = (&o.people[0], &o.people[1], &o.people[2]);

    // Bob starts a thread and Carol replies: both follow it; Dave does not.
    let root = app.send(bob, &o.general, "which release?").await;
    let reply = |text: &str| json!({"text": text, "thread_root_id": root["id"]});
    app.post(
        carol,
        &format!("/api/v1/channels/{}/messages", o.general),
        reply("2.1"),
    )
    .await
    .expect(201, "");
    // Bob is told of Carol's reply to his thread.
    let got = o.hooks.wait_for(1, WAIT).await;
    assert_eq!(reasons(&got, "bob"), ["thread"]);

    // Dave hears every top-level message of the channel, not its threads; Carol mutes it.
    let level = format!("/api/v1/channels/{}/notifications", o.general);
    app.put_json(dave, &level, json!({"level": "all"}))
        .await
        .ok();
    app.put_json(carol, &level, json!({"level": "mentions", "muted": true}))
        .await
        .ok();
    app.post(
        &o.owner,
        &format!("/api/v1/channels/{}/messages", o.general),
        reply("2.2 is out"),
    )
    .await
    .expect(201, "");
    app.send(&o.owner, &o.general, "release notes are up @carol")
        .await;

    let all = o.hooks.wait_for(3, WAIT).await;
    assert_eq!(reasons(&all, "bob"), ["thread", "thread"]);
    assert_eq!(reasons(&all, "dave"), ["all"]);
    assert!(reasons(&all, "carol").is_empty(), "muted, mention included");

    // Bob turns thread notifications off; Dave sets his level to nothing.
    app.put_json(
        bob,
        "/api/v1/notifications/prefs",
        json!({"thread_replies": false}),
    )
    .await
    .ok();
    app.put_json(dave, &level, json!({"level": "nothing"}))
        .await
        .ok();
    app.post(
        &o.owner,
        &format!("/api/v1/channels/{}/messages", o.general),
        reply("and 2.3"),
    )
    .await
    .expect(201, "");
    app.send(&o.owner, &o.general, "@dave @bob?").await;
    let all = o.hooks.wait_for(4, WAIT).await;
    assert_eq!(reasons(&all, "bob"), ["thread", "thread", "mention"]);
    o.hooks.expect_no_more(4, QUIET).await;
}

#[tokio::test]
async fn nobody_is_pushed_what_they_are_reading_and_here_means_active() {
    let app = spawn_fast().await;
    let o = office(&app, &["bob", "carol", "dave"]).await;
    let (bob, carol) = (&o.people[0], &o.people[1]);

    // Bob is at his client: a mention reaches his screen, not his phone.
    let (mut bob_ws, _) = WsClient::open(&app, bob).await;
    app.send(&o.owner, &o.general, "@bob are you there?").await;
    bob_ws.expect_event("message.created").await;
    o.hooks.expect_no_more(0, QUIET).await;

    // He switches to another window: the next one is pushed.
    bob_ws
        .send_json(json!({"op": "focus", "focused": false}))
        .await;
    app.send(&o.owner, &o.general, "@bob ping").await;
    let got = o.hooks.wait_for(1, WAIT).await;
    assert_eq!(reasons(&got, "bob"), ["mention"]);

    // @here: Carol is online (connected, not away) but in another window, so she is
    // notified; Dave is offline, so he is not. Bob is online too.
    let (mut carol_ws, _) = WsClient::open(&app, carol).await;
    carol_ws
        .send_json(json!({"op": "focus", "focused": false}))
        .await;
    // A round trip, so the focus frame is handled before the send.
    carol_ws.send_json(json!({"op": "ping", "id": 1})).await;
    carol_ws.expect("pong").await;
    app.send(&o.owner, &o.general, "@here cake in the kitchen")
        .await;
    let got = o.hooks.wait_for(3, WAIT).await;
    assert_eq!(reasons(&got, "carol"), ["here"]);
    assert_eq!(reasons(&got, "bob"), ["mention", "here"]);
    assert!(reasons(&got, "dave").is_empty());
    o.hooks.expect_no_more(3, QUIET).await;
    drop((bob_ws, carol_ws));
}

#[tokio::test]
async fn history_from_before_a_target_and_other_workspaces_are_never_notified() {
    let app = spawn_fast().await;
    let o = office(&app, &["bob"]).await;
    // Another workspace with its own Bob-like user and webhook at the same receiver.
    let other = app.create_workspace("other").await;
    let general = app.create_channel(&other, "general", false).await;
    let ann = app.add_user(&other, "bob@other.test", "member").await;
    app.join(&ann, &general).await;
    add_webhook(&app, &ann, &o.hooks, "ann").await;

    app.send(&o.owner, &o.general, "@bob one").await;
    app.send(&other, &general, "@bob two").await;
    let got = o.hooks.wait_for(2, WAIT).await;
    let by_endpoint: Vec<(String, Value)> = got
        .iter()
        .map(|h| {
            (
                h.endpoint.rsplit('/').next().unwrap().to_owned(),
                h.body["workspace_id"].clone(),
            )
        })
        .collect();
    assert!(by_endpoint.iter().any(|(e, _)| e == "bob"));
    assert!(by_endpoint.iter().any(|(e, _)| e == "ann"));
    let bob_hook = got.iter().find(|h| h.endpoint.ends_with("/bob")).unwrap();
    let ann_hook = got.iter().find(|h| h.endpoint.ends_with("/ann")).unwrap();
    assert_ne!(bob_hook.body["workspace_id"], ann_hook.body["workspace_id"]);
    assert_eq!(bob_hook.body["message"]["excerpt"], "@bob one");
    assert_eq!(ann_hook.body["message"]["excerpt"], "@bob two");
    o.hooks.expect_no_more(2, QUIET).await;
}
