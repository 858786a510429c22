//! Messages: posting, history paging, idempotent retries, size limits, edits and deletes.
//! Threads, reactions and read markers are in `threads`.

use serde_json::{Value, json};

use crate::support::{Session, TestApp};

/// A workspace with a public channel its owner is in, and a member of the workspace who
/// has joined it.
async fn setup(app: &TestApp) -> (Session, Session, String) {
    let owner = app.create_workspace("acme").await;
    let bob = app.add_user(&owner, "bob@acme.test", "member").await;
    let channel = app.create_channel(&owner, "general", false).await;
    app.join(&bob, &channel).await;
    (owner, bob, channel)
}

fn seqs(page: &Value) -> Vec<i64> {
    page["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["seq"].as_i64().unwrap())
        .collect()
}

#[tokio::test]
async fn a_posted_message_can_be_read_back() {
    let app = TestApp::spawn().await;
    let (owner, bob, channel) = setup(&app).await;
    let posted = app.send(&bob, &channel, "Hello *world*").await;
    assert_eq!(posted["text"], "Hello *world*");
    assert_eq!(posted["user_id"], bob.user_id.as_str());
    assert_eq!(posted["channel_id"], channel.as_str());
    assert!(posted["seq"].as_i64().unwrap() > 0);
    assert_eq!(posted["deleted"], false);
    assert!(posted["edited_at"].is_null());
    assert!(posted["thread_root_id"].is_null());
    assert_eq!(posted["reply_count"], 0);
    assert_eq!(posted["reactions"], json!([]));

    let id = posted["id"].as_str().unwrap();
    let got = app
        .get(&owner, &format!("/api/v1/messages/{id}"))
        .await
        .ok();
    assert_eq!(got, posted);
    let history = app.history(&owner, &channel, "").await;
    assert_eq!(history["messages"], json!([posted]));
    assert_eq!(history["has_more"], false);
    let mine = app.my_channel(&owner, &channel).await.unwrap();
    assert_eq!(mine["last_seq"], posted["seq"]);
}

#[tokio::test]
async fn history_pages_backwards_and_forwards_by_seq() {
    let app = TestApp::spawn().await;
    let (owner, bob, channel) = setup(&app).await;
    let mut all = Vec::new();
    for i in 0..7 {
        all.push(
            app.send(&bob, &channel, &format!("m{i}")).await["seq"]
                .as_i64()
                .unwrap(),
        );
    }

    // Backwards from the newest: each page oldest first, the next one before its oldest.
    let mut pages = Vec::new();
    let mut query = "limit=3".to_owned();
    loop {
        let page = app.history(&owner, &channel, &query).await;
        let page_seqs = seqs(&page);
        assert!(
            page_seqs.windows(2).all(|w| w[0] < w[1]),
            "oldest first: {page_seqs:?}"
        );
        pages.push(page_seqs.clone());
        if page["has_more"] == false {
            break;
        }
        assert!(pages.len() < 5, "paging does not end");
        query = format!("limit=3&before={}", page_seqs[0]);
    }
    assert_eq!(pages.len(), 3);
    assert_eq!(pages[0], all[4..]);
    assert_eq!(pages[2], all[..1]);
    assert_eq!(pages.concat().len(), 7);
    let mut walked: Vec<i64> = pages.concat();
    walked.sort_unstable();
    assert_eq!(walked, all);

    // Forwards from a known seq.
    let page = app
        .history(&owner, &channel, &format!("after={}&limit=3", all[1]))
        .await;
    assert_eq!(seqs(&page), all[2..5]);
    assert_eq!(page["has_more"], true);
    let page = app
        .history(&owner, &channel, &format!("after={}&limit=3", all[4]))
        .await;
    assert_eq!(seqs(&page), all[5..]);
    assert_eq!(page["has_more"], false);
}

#[tokio::test]
async fn history_parameters_are_checked() {
    let app = TestApp::spawn().await;
    let (owner, _, channel) = setup(&app).await;
    let path = format!("/api/v1/channels/{channel}/messages");
    for limit in [0, 201] {
        app.get(&owner, &format!("{path}?limit={limit}"))
            .await
            .expect(400, "invalid_limit");
    }
    app.get(&owner, &format!("{path}?limit=200")).await.ok();
    let reply = app.get(&owner, &format!("{path}?before=5&after=1")).await;
    assert_eq!(reply.status, 400, "{}", reply.body);
    assert!(!reply.code().is_empty());
}

#[tokio::test]
async fn a_retried_send_returns_the_original_message() {
    let app = TestApp::spawn().await;
    let (owner, bob, channel) = setup(&app).await;
    let path = format!("/api/v1/channels/{channel}/messages");
    let body = json!({"text": "only once", "client_msg_id": "c-1"});

    let first = app.post(&bob, &path, body.clone()).await.expect(201, "");
    assert_eq!(first["client_msg_id"], "c-1");
    let retry = app.post(&bob, &path, body).await;
    assert_eq!(retry.status, 200, "a replay is 200, not 201");
    assert_eq!(retry.body["id"], first["id"]);
    assert_eq!(retry.body["seq"], first["seq"]);

    app.post(
        &bob,
        &path,
        json!({"text": "something else", "client_msg_id": "c-1"}),
    )
    .await
    .expect(422, "idempotency_key_reused");
    let history = app.history(&owner, &channel, "").await;
    assert_eq!(history["messages"].as_array().unwrap().len(), 1);
    assert_eq!(history["messages"][0]["text"], "only once");
}

#[tokio::test]
async fn message_text_is_bounded_and_not_blank() {
    let app = TestApp::spawn().await;
    let (owner, bob, channel) = setup(&app).await;
    let path = format!("/api/v1/channels/{channel}/messages");

    // Counted in characters, not bytes.
    let longest = "é".repeat(40_000);
    let posted = app.send(&bob, &channel, &longest).await;
    assert_eq!(posted["text"].as_str().unwrap().chars().count(), 40_000);
    app.post(&bob, &path, json!({"text": "x".repeat(40_001)}))
        .await
        .expect(422, "text_too_long");
    for blank in ["", "   \n\t "] {
        app.post(&bob, &path, json!({"text": blank}))
            .await
            .expect(422, "empty_text");
    }
    let history = app.history(&owner, &channel, "").await;
    assert_eq!(history["messages"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn only_members_post() {
    let app = TestApp::spawn().await;
    let (owner, _, channel) = setup(&app).await;
    let carol = app.add_user(&owner, "carol@acme.test", "member").await;
    app.post(
        &carol,
        &format!("/api/v1/channels/{channel}/messages"),
        json!({"text": "hi"}),
    )
    .await
    .expect(403, "not_in_channel");
    // A public channel's history is readable before joining, and shows nothing was posted.
    let history = app.history(&carol, &channel, "").await;
    assert_eq!(history["messages"], json!([]));
}

#[tokio::test]
async fn authors_edit_their_own_messages() {
    let app = TestApp::spawn().await;
    let (owner, bob, channel) = setup(&app).await;
    let msg = app.send(&bob, &channel, "teh typo").await;
    let path = format!("/api/v1/messages/{}", msg["id"].as_str().unwrap());

    let edited = app
        .patch(&bob, &path, json!({"text": "the typo"}))
        .await
        .ok();
    assert_eq!(edited["text"], "the typo");
    assert!(edited["edited_at"].is_string(), "{edited}");
    assert_eq!(
        edited["seq"], msg["seq"],
        "an edit keeps the message's place"
    );
    assert_eq!(app.get(&owner, &path).await.ok()["text"], "the typo");

    // Not even an admin edits someone else's words.
    app.patch(&owner, &path, json!({"text": "owner was here"}))
        .await
        .expect(403, "not_message_author");
    app.patch(&bob, &path, json!({"text": " "}))
        .await
        .expect(422, "empty_text");
    assert_eq!(app.get(&owner, &path).await.ok()["text"], "the typo");
}

#[tokio::test]
async fn deleting_leaves_a_tombstone() {
    let app = TestApp::spawn().await;
    let (owner, bob, channel) = setup(&app).await;
    let carol = app.add_user(&owner, "carol@acme.test", "member").await;
    app.join(&carol, &channel).await;
    let own = app.send(&bob, &channel, "oops").await;
    let other = app.send(&carol, &channel, "carol's words").await;
    let own_path = format!("/api/v1/messages/{}", own["id"].as_str().unwrap());
    let other_path = format!("/api/v1/messages/{}", other["id"].as_str().unwrap());

    app.delete(&bob, &other_path)
        .await
        .expect(403, "not_message_author");
    assert_eq!(
        app.get(&bob, &other_path).await.ok()["text"],
        "carol's words"
    );

    let tombstone = app.delete(&bob, &own_path).await.ok();
    assert_eq!(
        (tombstone["deleted"].clone(), tombstone["text"].clone()),
        (json!(true), json!(""))
    );
    let seen = app.get(&carol, &own_path).await.ok();
    assert_eq!(
        (seen["deleted"].clone(), seen["text"].clone()),
        (json!(true), json!(""))
    );
    app.patch(&bob, &own_path, json!({"text": "back"}))
        .await
        .expect(403, "message_deleted");

    // A workspace admin deletes anyone's message.
    let removed = app.delete(&owner, &other_path).await.ok();
    assert_eq!(removed["deleted"], true);
    let history = app.history(&carol, &channel, "").await;
    for m in history["messages"].as_array().unwrap() {
        assert_eq!(
            (m["deleted"].clone(), m["text"].clone()),
            (json!(true), json!("")),
            "{m}"
        );
    }
}
