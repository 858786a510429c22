//! Threads, emoji reactions, and read markers with the unread and mention badges they
//! drive in the channel list.

use serde_json::{Value, json};

use crate::support::{Session, TestApp, texts};

async fn setup(app: &TestApp) -> (Session, Session, String) {
    let owner = app.create_workspace("acme").await;
    let bob = app.add_user(&owner, "bob@acme.test", "member").await;
    let channel = app.create_channel(&owner, "general", false).await;
    app.join(&bob, &channel).await;
    (owner, bob, channel)
}

async fn reply(app: &TestApp, s: &Session, channel: &str, root: &str, text: &str) -> Value {
    app.post(
        s,
        &format!("/api/v1/channels/{channel}/messages"),
        json!({"text": text, "thread_root_id": root}),
    )
    .await
    .expect(201, "")
}

#[tokio::test]
async fn replies_live_in_their_thread() {
    let app = TestApp::spawn().await;
    let (owner, bob, channel) = setup(&app).await;
    let root = app.send(&owner, &channel, "root").await;
    let root_id = root["id"].as_str().unwrap();

    let first = reply(&app, &bob, &channel, root_id, "r1").await;
    assert_eq!(first["thread_root_id"], root_id);
    let root_now = app
        .get(&owner, &format!("/api/v1/messages/{root_id}"))
        .await
        .ok();
    assert_eq!(root_now["reply_count"], 1);
    assert!(root_now["last_reply_at"].is_string(), "{root_now}");
    for text in ["r2", "r3"] {
        reply(&app, &owner, &channel, root_id, text).await;
    }
    let root_now = app
        .get(&bob, &format!("/api/v1/messages/{root_id}"))
        .await
        .ok();
    assert_eq!(root_now["reply_count"], 3);

    // Replies page forwards, oldest first.
    let replies = format!("/api/v1/messages/{root_id}/replies");
    let page = app.get(&bob, &format!("{replies}?limit=2")).await.ok();
    assert_eq!(texts(&page), ["r1", "r2"]);
    assert_eq!(page["has_more"], true);
    let last = page["messages"][1]["seq"].as_i64().unwrap();
    let page = app
        .get(&bob, &format!("{replies}?limit=2&after={last}"))
        .await
        .ok();
    assert_eq!(texts(&page), ["r3"]);
    assert_eq!(page["has_more"], false);

    // The channel's history shows the root only.
    let history = app.history(&bob, &channel, "").await;
    assert_eq!(texts(&history), ["root"]);
    assert_eq!(history["messages"][0]["reply_count"], 3);

    // Threads are one level deep.
    let first_id = first["id"].as_str().unwrap();
    app.post(
        &bob,
        &format!("/api/v1/channels/{channel}/messages"),
        json!({"text": "nested", "thread_root_id": first_id}),
    )
    .await
    .expect(422, "invalid_thread_root");
    // And a root belongs to the channel the reply is posted in.
    let other = app.create_channel(&owner, "other", false).await;
    app.post(
        &owner,
        &format!("/api/v1/channels/{other}/messages"),
        json!({"text": "elsewhere", "thread_root_id": root_id}),
    )
    .await
    .expect(422, "invalid_thread_root");
    assert_eq!(
        app.get(&bob, &format!("/api/v1/messages/{root_id}"))
            .await
            .ok()["reply_count"],
        3
    );
}

#[tokio::test]
async fn one_reaction_per_person_per_emoji() {
    let app = TestApp::spawn().await;
    let (owner, bob, channel) = setup(&app).await;
    let msg = app.send(&owner, &channel, "ship it?").await;
    let path = format!(
        "/api/v1/messages/{}/reactions/thumbsup",
        msg["id"].as_str().unwrap()
    );

    app.put(&owner, &path).await.ok();
    let twice = app.put(&owner, &path).await.ok();
    assert_eq!(
        twice["reactions"],
        json!([{"emoji": "thumbsup", "count": 1, "user_ids": [owner.user_id]}])
    );

    let both = app.put(&bob, &path).await.ok();
    let reaction = &both["reactions"][0];
    assert_eq!(reaction["count"], 2);
    let mut users: Vec<&str> = reaction["user_ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u.as_str().unwrap())
        .collect();
    users.sort_unstable();
    let mut expected = vec![owner.user_id.as_str(), bob.user_id.as_str()];
    expected.sort_unstable();
    assert_eq!(users, expected);

    let after = app.delete(&owner, &path).await.ok();
    assert_eq!(
        after["reactions"],
        json!([{"emoji": "thumbsup", "count": 1, "user_ids": [bob.user_id]}])
    );
    app.delete(&bob, &path).await.ok();
    let got = app
        .get(
            &owner,
            &format!("/api/v1/messages/{}", msg["id"].as_str().unwrap()),
        )
        .await
        .ok();
    assert_eq!(got["reactions"], json!([]));

    app.delete(
        &owner,
        &format!("/api/v1/messages/{}", msg["id"].as_str().unwrap()),
    )
    .await
    .ok();
    app.put(&bob, &path).await.expect(422, "message_deleted");

    let bad = format!(
        "/api/v1/messages/{}/reactions/Thumbs%20Up",
        msg["id"].as_str().unwrap()
    );
    app.put(&owner, &bad).await.expect(422, "invalid_emoji");
}

#[tokio::test]
async fn read_markers_drive_unread_counts() {
    let app = TestApp::spawn().await;
    let (owner, bob, channel) = setup(&app).await;
    let mut seqs = Vec::new();
    for text in ["one", "two", "three"] {
        seqs.push(
            app.send(&owner, &channel, text).await["seq"]
                .as_i64()
                .unwrap(),
        );
    }
    let mine = app.my_channel(&bob, &channel).await.unwrap();
    assert_eq!(mine["unread_count"], 3);
    assert_eq!(mine["last_read_seq"], 0);
    // The author has nothing unread in their own words.
    assert_eq!(
        app.my_channel(&owner, &channel).await.unwrap()["unread_count"],
        0
    );

    let read = format!("/api/v1/channels/{channel}/read");
    let marker = app.post(&bob, &read, json!({"seq": seqs[1]})).await.ok();
    assert_eq!(marker["last_read_seq"], seqs[1]);
    let mine = app.my_channel(&bob, &channel).await.unwrap();
    assert_eq!(mine["unread_count"], 1);
    assert_eq!(mine["last_read_seq"], seqs[1]);
    let got = app
        .get(&bob, &format!("/api/v1/channels/{channel}"))
        .await
        .ok();
    assert_eq!(got["last_read_seq"], seqs[1]);

    app.post(&bob, &read, json!({"seq": seqs[2] + 1000}))
        .await
        .expect(422, "invalid_seq");
    app.post(&bob, &read, json!({"seq": seqs[2]})).await.ok();
    assert_eq!(
        app.my_channel(&bob, &channel).await.unwrap()["unread_count"],
        0
    );
    // Marking unread again moves the marker back.
    app.post(&bob, &read, json!({"seq": seqs[0]})).await.ok();
    assert_eq!(
        app.my_channel(&bob, &channel).await.unwrap()["unread_count"],
        2
    );

    // Non-members have no marker to move.
    let carol = app.add_user(&owner, "carol@acme.test", "member").await;
    app.post(&carol, &read, json!({"seq": seqs[0]}))
        .await
        .expect(403, "not_in_channel");
}

#[tokio::test]
async fn mentions_count_handles_channel_broadcasts_and_dms() {
    let app = TestApp::spawn().await;
    let (owner, bob, channel) = setup(&app).await;
    let carol = app.add_user(&owner, "carol@acme.test", "member").await;
    app.join(&carol, &channel).await;

    app.send(&owner, &channel, "hey @bob, look").await;
    app.send(&owner, &channel, "@channel deploy at noon").await;
    app.send(&owner, &channel, "nothing for anyone").await;
    app.send(&owner, &channel, &format!("ping <@{}>", bob.user_id))
        .await;
    app.send(&owner, &channel, "`@bob` in code is not a mention")
        .await;

    let mine = app.my_channel(&bob, &channel).await.unwrap();
    assert_eq!(mine["unread_count"], 5);
    assert_eq!(mine["mention_count"], 3);
    let theirs = app.my_channel(&carol, &channel).await.unwrap();
    assert_eq!(theirs["mention_count"], 1, "only @channel is for carol");

    // Every DM message counts as a mention.
    let dm = app
        .post(&owner, "/api/v1/dms", json!({"user_ids": [bob.user_id]}))
        .await
        .ok();
    let dm_id = dm["id"].as_str().unwrap();
    app.send(&owner, dm_id, "psst").await;
    let last = app.send(&owner, dm_id, "still there?").await;
    let mine = app.my_channel(&bob, dm_id).await.unwrap();
    assert_eq!(
        (mine["unread_count"].clone(), mine["mention_count"].clone()),
        (json!(2), json!(2))
    );

    // Reading clears mentions too.
    app.post(
        &bob,
        &format!("/api/v1/channels/{dm_id}/read"),
        json!({"seq": last["seq"]}),
    )
    .await
    .ok();
    let mine = app.my_channel(&bob, dm_id).await.unwrap();
    assert_eq!(
        (mine["unread_count"].clone(), mine["mention_count"].clone()),
        (json!(0), json!(0))
    );
}
