//! Channel membership (adding, listing with cursor paging, removing) and DMs and group DMs
//! (get-or-create, size limit, privacy, fixed membership).

use std::collections::HashSet;

use serde_json::{Value, json};

use crate::support::{Session, TestApp, ids, session_from};

/// Every member id of `channel`, walking pages of `limit`.
async fn all_members(app: &TestApp, s: &Session, channel: &str, limit: u32) -> Vec<String> {
    let mut seen = Vec::new();
    let mut cursor = String::new();
    for _ in 0..20 {
        let page = app
            .get(
                s,
                &format!("/api/v1/channels/{channel}/members?limit={limit}{cursor}"),
            )
            .await
            .ok();
        let page_ids = ids(&page["members"], Some("user"));
        assert!(page_ids.len() <= limit as usize);
        seen.extend(page_ids);
        match page["next_cursor"].as_str() {
            Some(next) => cursor = format!("&cursor={next}"),
            None => return seen,
        }
    }
    panic!("member paging does not end");
}

fn set(ids: &[&str]) -> HashSet<String> {
    ids.iter().map(|s| (*s).to_owned()).collect()
}

#[tokio::test]
async fn members_are_added_listed_and_removed() {
    let app = TestApp::spawn().await;
    let owner = app.create_workspace("acme").await;
    let bob = app.add_user(&owner, "bob@acme.test", "member").await;
    let carol = app.add_user(&owner, "carol@acme.test", "member").await;
    let channel = app.create_channel(&owner, "team", true).await;
    let members_path = format!("/api/v1/channels/{channel}/members");

    let added = app
        .post(
            &owner,
            &members_path,
            json!({"user_ids": [bob.user_id, carol.user_id]}),
        )
        .await
        .ok();
    let added: HashSet<String> = added["added"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(added, set(&[&bob.user_id, &carol.user_id]));
    let again = app
        .post(&owner, &members_path, json!({"user_ids": [bob.user_id]}))
        .await
        .ok();
    assert_eq!(
        again["added"],
        json!([]),
        "adding a member twice adds nobody"
    );

    let listed = all_members(&app, &owner, &channel, 2).await;
    assert_eq!(listed.len(), 3, "no duplicates: {listed:?}");
    assert_eq!(
        listed.iter().cloned().collect::<HashSet<_>>(),
        set(&[&owner.user_id, &bob.user_id, &carol.user_id])
    );
    // The new members see the private channel now.
    app.send(&bob, &channel, "hi").await;

    // A plain member removes only themself.
    app.delete(&bob, &format!("{members_path}/{}", carol.user_id))
        .await
        .expect(403, "not_channel_admin");
    let reply = app
        .delete(&owner, &format!("{members_path}/{}", carol.user_id))
        .await;
    assert_eq!(reply.status, 204);
    let listed = all_members(&app, &owner, &channel, 50).await;
    assert_eq!(
        listed.into_iter().collect::<HashSet<_>>(),
        set(&[&owner.user_id, &bob.user_id])
    );
    app.get(&carol, &format!("/api/v1/channels/{channel}"))
        .await
        .expect(404, "channel_not_found");
    // Removing someone who is not a member is a 404.
    app.delete(&owner, &format!("{members_path}/{}", carol.user_id))
        .await
        .expect(404, "user_not_found");
}

#[tokio::test]
async fn a_user_of_another_workspace_cannot_be_added() {
    let app = TestApp::spawn().await;
    let owner = app.create_workspace("acme").await;
    let bob = app.add_user(&owner, "bob@acme.test", "member").await;
    let stranger = app.create_workspace("beta").await;
    let channel = app.create_channel(&owner, "team", true).await;
    let members_path = format!("/api/v1/channels/{channel}/members");

    app.post(
        &owner,
        &members_path,
        json!({"user_ids": [bob.user_id, stranger.user_id]}),
    )
    .await
    .expect(404, "user_not_found");
    let listed = all_members(&app, &owner, &channel, 50).await;
    assert_eq!(listed, vec![owner.user_id.clone()], "nothing was added");
    app.get(&stranger, &format!("/api/v1/channels/{channel}"))
        .await
        .expect(404, "channel_not_found");
}

async fn open_dm(app: &TestApp, s: &Session, others: &[&str]) -> Value {
    app.post(s, "/api/v1/dms", json!({"user_ids": others}))
        .await
        .ok()
}

#[tokio::test]
async fn a_dm_is_the_same_conversation_from_both_sides() {
    let app = TestApp::spawn().await;
    let alice = app.create_workspace("acme").await;
    let bob = app.add_user(&alice, "bob@acme.test", "member").await;
    let carol = app.add_user(&alice, "carol@acme.test", "member").await;

    let dm = open_dm(&app, &alice, &[&bob.user_id]).await;
    assert_eq!(dm["kind"], "dm");
    assert!(dm["name"].is_null());
    let id = dm["id"].as_str().unwrap();
    assert_eq!(open_dm(&app, &bob, &[&alice.user_id]).await["id"], id);
    assert_eq!(open_dm(&app, &alice, &[&bob.user_id]).await["id"], id);

    app.send(&alice, id, "psst").await;
    let mine = app.my_channel(&bob, id).await.expect("bob has the DM");
    assert_eq!(mine["unread_count"], 1);
    assert!(
        mine["member_ids"]
            .as_array()
            .unwrap()
            .contains(&json!(alice.user_id))
    );

    // A third person cannot see it, read it or write to it.
    for path in [
        format!("/api/v1/channels/{id}"),
        format!("/api/v1/channels/{id}/messages"),
    ] {
        app.get(&carol, &path)
            .await
            .expect(404, "channel_not_found");
    }
    app.post(
        &carol,
        &format!("/api/v1/channels/{id}/messages"),
        json!({"text": "hi"}),
    )
    .await
    .expect(404, "channel_not_found");
    assert!(app.my_channel(&carol, id).await.is_none());

    // Its membership is fixed.
    app.post(&bob, &format!("/api/v1/channels/{id}/leave"), json!({}))
        .await
        .expect(403, "cannot_modify_dm");
    app.post(
        &bob,
        &format!("/api/v1/channels/{id}/members"),
        json!({"user_ids": [carol.user_id]}),
    )
    .await
    .expect(403, "cannot_modify_dm");
    app.patch(
        &bob,
        &format!("/api/v1/channels/{id}"),
        json!({"topic": "x"}),
    )
    .await
    .expect(403, "cannot_modify_dm");
}

#[tokio::test]
async fn a_note_to_self_is_a_dm_with_oneself() {
    let app = TestApp::spawn().await;
    let alice = app.create_workspace("acme").await;
    let note = open_dm(&app, &alice, &[]).await;
    assert_eq!(note["kind"], "dm");
    assert_eq!(
        open_dm(&app, &alice, &[&alice.user_id]).await["id"],
        note["id"]
    );
    app.send(&alice, note["id"].as_str().unwrap(), "remember the milk")
        .await;
}

#[tokio::test]
async fn group_dms_hold_up_to_nine_people() {
    let app = TestApp::spawn().await;
    let alice = app.create_workspace("acme").await;
    let code = app.invite(&alice, None, "member").await;
    let mut people = Vec::new();
    for i in 0..9 {
        let email = format!("user{i}@acme.test");
        let body = app.signup("acme", &code, &email).await.expect(201, "");
        people.push(session_from(&body, "acme", &email));
    }
    let others: Vec<&str> = people.iter().map(|p| p.user_id.as_str()).collect();

    let trio = open_dm(&app, &alice, &others[..2]).await;
    assert_eq!(trio["kind"], "group_dm");
    // The same people, asked for by another of them in another order, is the same one.
    let from_other = open_dm(&app, &people[1], &[others[0], &alice.user_id]).await;
    assert_eq!(from_other["id"], trio["id"]);
    assert_ne!(open_dm(&app, &alice, &others[..3]).await["id"], trio["id"]);

    let nine = open_dm(&app, &alice, &others[..8]).await;
    assert_eq!(nine["kind"], "group_dm");
    app.post(&alice, "/api/v1/dms", json!({"user_ids": others}))
        .await
        .expect(422, "too_many_members");
}

/// Posting and reading history check access through the node's access cache: a change of
/// membership or of the channel must apply to the very next request, even one made right
/// after the same user's requests filled the cache.
#[tokio::test]
async fn access_changes_apply_to_the_next_post_and_history_read() {
    let app = TestApp::spawn().await;
    let owner = app.create_workspace("acme").await;
    let bob = app.add_user(&owner, "bob@acme.test", "member").await;
    let carol = app.add_user(&owner, "carol@acme.test", "member").await;
    let secret = app.create_channel(&owner, "secret", true).await;
    let members_path = format!("/api/v1/channels/{secret}/members");
    app.post(&owner, &members_path, json!({"user_ids": [bob.user_id]}))
        .await
        .ok();
    let history = |channel: &str| format!("/api/v1/channels/{channel}/messages");

    // Bob posts and reads, then is removed: both are refused at once.
    app.send(&bob, &secret, "hi").await;
    app.get(&bob, &history(&secret)).await.ok();
    let removed = app
        .delete(&owner, &format!("{members_path}/{}", bob.user_id))
        .await;
    assert_eq!(removed.status, 204);
    app.post(&bob, &history(&secret), json!({"text": "still here?"}))
        .await
        .expect(404, "channel_not_found");
    app.get(&bob, &history(&secret))
        .await
        .expect(404, "channel_not_found");

    // Carol reads a public channel she has not joined, may not post, joins, and posts.
    let open = app.create_channel(&owner, "open", false).await;
    app.get(&carol, &history(&open)).await.ok();
    app.post(&carol, &history(&open), json!({"text": "may I?"}))
        .await
        .expect(403, "not_in_channel");
    app.join(&carol, &open).await;
    app.send(&carol, &open, "joined").await;

    // Once the channel is archived, her next post is refused.
    app.patch(
        &owner,
        &format!("/api/v1/channels/{open}"),
        json!({"archived": true}),
    )
    .await
    .ok();
    app.post(&carol, &history(&open), json!({"text": "one more"}))
        .await
        .expect(403, "channel_archived");
}
