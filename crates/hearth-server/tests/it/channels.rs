//! Channels: creating, naming rules, browsing, joining and leaving, settings, archiving.
//! Membership management and DMs are in `members`.

use serde_json::{Value, json};

use crate::support::TestApp;

fn browse_entry(list: &Value, id: &str) -> Option<Value> {
    list["channels"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .cloned()
}

#[tokio::test]
async fn public_and_private_channels_are_created_with_their_creator_inside() {
    let app = TestApp::spawn().await;
    let owner = app.create_workspace("acme").await;
    for (name, private, kind) in [("general", false, "public"), ("secret", true, "private")] {
        let channel = app
            .post(
                &owner,
                "/api/v1/channels",
                json!({"name": name, "private": private, "topic": "t", "purpose": "p"}),
            )
            .await
            .expect(201, "");
        assert_eq!(channel["name"], name);
        assert_eq!(channel["kind"], kind);
        assert_eq!(channel["topic"], "t");
        assert_eq!(channel["purpose"], "p");
        assert_eq!(channel["created_by"], owner.user_id.as_str());
        let id = channel["id"].as_str().unwrap();
        let mine = app.my_channel(&owner, id).await.expect("in my channels");
        assert_eq!(mine["unread_count"], 0);
        let got = app
            .get(&owner, &format!("/api/v1/channels/{id}"))
            .await
            .ok();
        assert_eq!(got["is_member"], true);
        assert_eq!(got["channel"]["name"], name);
    }
}

#[tokio::test]
async fn channel_names_follow_slacks_rules() {
    let app = TestApp::spawn().await;
    let owner = app.create_workspace("acme").await;
    let too_long = "a".repeat(81);
    for bad in ["General", "has space", too_long.as_str(), ""] {
        app.post(&owner, "/api/v1/channels", json!({"name": bad}))
            .await
            .expect(422, "invalid_channel_name");
    }
    app.create_channel(&owner, &"a".repeat(80), false).await;
    app.create_channel(&owner, "dev-ops_2", false).await;
    let list = app.get(&owner, "/api/v1/channels").await.ok();
    assert_eq!(list["channels"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn a_name_is_taken_once_per_workspace() {
    let app = TestApp::spawn().await;
    let owner = app.create_workspace("acme").await;
    app.create_channel(&owner, "general", false).await;
    for private in [false, true] {
        app.post(
            &owner,
            "/api/v1/channels",
            json!({"name": "general", "private": private}),
        )
        .await
        .expect(409, "name_taken");
    }
    // Another workspace has its own names.
    let beta = app.create_workspace("beta").await;
    app.create_channel(&beta, "general", false).await;
}

#[tokio::test]
async fn browsing_lists_public_channels_and_joining_and_leaving_show_there() {
    let app = TestApp::spawn().await;
    let owner = app.create_workspace("acme").await;
    let bob = app.add_user(&owner, "bob@acme.test", "member").await;
    let general = app.create_channel(&owner, "general", false).await;
    let secret = app.create_channel(&owner, "secret", true).await;

    let list = app.get(&bob, "/api/v1/channels/browse").await.ok();
    assert!(
        browse_entry(&list, &secret).is_none(),
        "private channels are not listed"
    );
    let entry = browse_entry(&list, &general).expect("public channel listed");
    assert_eq!(
        (entry["member_count"].clone(), entry["is_member"].clone()),
        (json!(1), json!(false))
    );
    assert!(app.my_channel(&bob, &general).await.is_none());

    let joined = app
        .post(&bob, &format!("/api/v1/channels/{general}/join"), json!({}))
        .await
        .ok();
    assert_eq!(joined["id"], general.as_str());
    let list = app.get(&bob, "/api/v1/channels/browse").await.ok();
    let entry = browse_entry(&list, &general).unwrap();
    assert_eq!(
        (entry["member_count"].clone(), entry["is_member"].clone()),
        (json!(2), json!(true))
    );
    assert!(app.my_channel(&bob, &general).await.is_some());
    // Joining twice changes nothing.
    app.join(&bob, &general).await;
    let list = app.get(&owner, "/api/v1/channels/browse").await.ok();
    assert_eq!(browse_entry(&list, &general).unwrap()["member_count"], 2);

    let left = app
        .post(
            &bob,
            &format!("/api/v1/channels/{general}/leave"),
            json!({}),
        )
        .await;
    assert_eq!(left.status, 204);
    let list = app.get(&bob, "/api/v1/channels/browse").await.ok();
    let entry = browse_entry(&list, &general).unwrap();
    assert_eq!(
        (entry["member_count"].clone(), entry["is_member"].clone()),
        (json!(1), json!(false))
    );
    assert!(app.my_channel(&bob, &general).await.is_none());
}

#[tokio::test]
async fn a_private_channel_is_invisible_to_non_members() {
    let app = TestApp::spawn().await;
    let owner = app.create_workspace("acme").await;
    let bob = app.add_user(&owner, "bob@acme.test", "member").await;
    let secret = app.create_channel(&owner, "secret", true).await;
    app.post(&bob, &format!("/api/v1/channels/{secret}/join"), json!({}))
        .await
        .expect(404, "channel_not_found");
    app.get(&bob, &format!("/api/v1/channels/{secret}"))
        .await
        .expect(404, "channel_not_found");
    assert!(app.my_channel(&bob, &secret).await.is_none());

    // Added, bob sees it; once he leaves, it is gone for him again.
    app.post(
        &owner,
        &format!("/api/v1/channels/{secret}/members"),
        json!({"user_ids": [bob.user_id]}),
    )
    .await
    .ok();
    assert!(app.my_channel(&bob, &secret).await.is_some());
    let left = app
        .post(&bob, &format!("/api/v1/channels/{secret}/leave"), json!({}))
        .await;
    assert_eq!(left.status, 204);
    app.get(&bob, &format!("/api/v1/channels/{secret}"))
        .await
        .expect(404, "channel_not_found");
}

#[tokio::test]
async fn guests_neither_create_nor_browse_channels() {
    let app = TestApp::spawn().await;
    let owner = app.create_workspace("acme").await;
    let guest = app.add_user(&owner, "guest@acme.test", "guest").await;
    let general = app.create_channel(&owner, "general", false).await;

    app.post(&guest, "/api/v1/channels", json!({"name": "mine"}))
        .await
        .expect(403, "guests_cannot_create_channels");
    let list = app.get(&guest, "/api/v1/channels/browse").await.ok();
    assert_eq!(list["channels"], json!([]));
    // A public channel they were not added to does not exist for them.
    app.post(
        &guest,
        &format!("/api/v1/channels/{general}/join"),
        json!({}),
    )
    .await
    .expect(404, "channel_not_found");
    // Once added, they take part.
    app.post(
        &owner,
        &format!("/api/v1/channels/{general}/members"),
        json!({"user_ids": [guest.user_id]}),
    )
    .await
    .ok();
    app.send(&guest, &general, "hello from a guest").await;
}

#[tokio::test]
async fn members_set_the_topic_and_channel_admins_rename_and_archive() {
    let app = TestApp::spawn().await;
    let owner = app.create_workspace("acme").await;
    let bob = app.add_user(&owner, "bob@acme.test", "member").await;
    let carol = app.add_user(&owner, "carol@acme.test", "member").await;
    let dave = app.add_user(&owner, "dave@acme.test", "member").await;
    // Bob, a plain member of the workspace, creates the channel and so administers it.
    let channel = app.create_channel(&bob, "project", false).await;
    let path = format!("/api/v1/channels/{channel}");
    app.join(&carol, &channel).await;

    let updated = app
        .patch(
            &carol,
            &path,
            json!({"topic": "Ship it", "purpose": "Plans"}),
        )
        .await
        .ok();
    assert_eq!(updated["topic"], "Ship it");
    assert_eq!(
        app.get(&bob, &path).await.ok()["channel"]["purpose"],
        "Plans"
    );
    app.patch(&dave, &path, json!({"topic": "not a member"}))
        .await
        .expect(403, "not_in_channel");

    for body in [json!({"name": "renamed"}), json!({"archived": true})] {
        app.patch(&carol, &path, body)
            .await
            .expect(403, "not_channel_admin");
    }
    let renamed = app
        .patch(&bob, &path, json!({"name": "project-x"}))
        .await
        .ok();
    assert_eq!(renamed["name"], "project-x");
    let again = app.get(&carol, &path).await.ok();
    assert_eq!(again["channel"]["name"], "project-x");
    assert_eq!(
        again["channel"]["topic"], "Ship it",
        "renaming keeps the topic"
    );

    let archived = app.patch(&bob, &path, json!({"archived": true})).await.ok();
    assert_eq!(archived["archived"], true);
    app.post(
        &carol,
        &format!("{path}/messages"),
        json!({"text": "hello?"}),
    )
    .await
    .expect(403, "channel_archived");
    app.post(&dave, &format!("{path}/join"), json!({}))
        .await
        .expect(403, "channel_archived");
    let history = app.history(&bob, &channel, "").await;
    assert_eq!(history["messages"], json!([]));

    // Unarchived, it takes posts again.
    app.patch(&bob, &path, json!({"archived": false}))
        .await
        .ok();
    app.send(&carol, &channel, "back").await;
}

#[tokio::test]
async fn renaming_to_a_taken_or_invalid_name_is_refused() {
    let app = TestApp::spawn().await;
    let owner = app.create_workspace("acme").await;
    app.create_channel(&owner, "general", false).await;
    let other = app.create_channel(&owner, "random", false).await;
    let path = format!("/api/v1/channels/{other}");
    app.patch(&owner, &path, json!({"name": "general"}))
        .await
        .expect(409, "name_taken");
    app.patch(&owner, &path, json!({"name": "Not Valid"}))
        .await
        .expect(422, "invalid_channel_name");
    assert_eq!(
        app.get(&owner, &path).await.ok()["channel"]["name"],
        "random"
    );
}
