//! People: listing with cursor paging, profiles, and what admins may change (roles,
//! deactivation) and may not (owners, the last owner).

use std::collections::HashSet;

use serde_json::json;

use crate::support::{PASSWORD, TestApp, ids};

#[tokio::test]
async fn listing_users_walks_every_page_once() {
    let app = TestApp::spawn().await;
    let owner = app.create_workspace("acme").await;
    let mut everyone = HashSet::from([owner.user_id.clone()]);
    for name in ["b", "c", "d", "e"] {
        let user = app
            .add_user(&owner, &format!("{name}@acme.test"), "member")
            .await;
        everyone.insert(user.user_id);
    }
    // Another workspace's people never appear.
    app.create_workspace("beta").await;

    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let query = match &cursor {
            Some(c) => format!("?limit=2&cursor={c}"),
            None => "?limit=2".to_owned(),
        };
        let page = app.get(&owner, &format!("/api/v1/users{query}")).await.ok();
        let page_ids = ids(&page["users"], None);
        assert!(page_ids.len() <= 2, "a page holds at most `limit` users");
        seen.extend(page_ids);
        pages += 1;
        assert!(pages <= 5, "paging does not end");
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen.len(), 5, "no duplicates: {seen:?}");
    assert_eq!(seen.into_iter().collect::<HashSet<_>>(), everyone);
}

#[tokio::test]
async fn a_user_can_be_viewed_by_id() {
    let app = TestApp::spawn().await;
    let owner = app.create_workspace("acme").await;
    let bob = app.add_user(&owner, "bob@acme.test", "member").await;
    let user = app
        .get(&owner, &format!("/api/v1/users/{}", bob.user_id))
        .await
        .ok();
    assert_eq!(user["id"], bob.user_id.as_str());
    assert_eq!(user["handle"], "bob");
    assert_eq!(user["display_name"], "bob");
    assert_eq!(user["role"], "member");
    assert_eq!(user["deactivated"], false);
}

#[tokio::test]
async fn people_edit_their_own_profile() {
    let app = TestApp::spawn().await;
    let owner = app.create_workspace("acme").await;
    let bob = app.add_user(&owner, "bob@acme.test", "member").await;
    let path = format!("/api/v1/users/{}", bob.user_id);

    let user = app
        .patch(
            &bob,
            "/api/v1/users/me",
            json!({"display_name": "Bob B.", "status_text": "On holiday", "status_emoji": "palm_tree"}),
        )
        .await
        .ok();
    assert_eq!(user["display_name"], "Bob B.");
    let seen = app.get(&owner, &path).await.ok();
    assert_eq!(seen["display_name"], "Bob B.");
    assert_eq!(seen["status_text"], "On holiday");
    assert_eq!(seen["status_emoji"], "palm_tree");

    // Absent fields stay; "" clears the emoji.
    app.patch(&bob, "/api/v1/users/me", json!({"status_emoji": ""}))
        .await
        .ok();
    let seen = app.get(&owner, &path).await.ok();
    assert!(seen["status_emoji"].is_null(), "{seen}");
    assert_eq!(seen["status_text"], "On holiday");
    assert_eq!(seen["display_name"], "Bob B.");

    app.patch(&bob, "/api/v1/users/me", json!({"handle": "bobby"}))
        .await
        .ok();
    assert_eq!(app.get(&owner, &path).await.ok()["handle"], "bobby");

    // The owner's handle is "owner".
    app.patch(&bob, "/api/v1/users/me", json!({"handle": "owner"}))
        .await
        .expect(409, "handle_taken");
    app.patch(
        &bob,
        "/api/v1/users/me",
        json!({"status_emoji": "Not An Emoji"}),
    )
    .await
    .expect(422, "invalid_emoji");
    assert_eq!(app.get(&owner, &path).await.ok()["handle"], "bobby");
}

#[tokio::test]
async fn a_role_change_applies_to_the_next_request_of_open_sessions() {
    let app = TestApp::spawn().await;
    let owner = app.create_workspace("acme").await;
    let bob = app.add_user(&owner, "bob@acme.test", "admin").await;
    let path = format!("/api/v1/users/{}", bob.user_id);
    // Bob's session is in use (and remembered by the node) before each change.
    for role in ["member", "admin", "member"] {
        app.get(&bob, "/api/v1/me").await.ok();
        app.patch(&owner, &path, json!({ "role": role })).await.ok();
        assert_eq!(app.get(&bob, "/api/v1/me").await.ok()["user"]["role"], role);
    }
    // Demoted, Bob may no longer do what admins do.
    let owner_path = format!("/api/v1/users/{}", owner.user_id);
    app.patch(&bob, &owner_path, json!({"role": "member"}))
        .await
        .expect(403, "not_admin");
}

#[tokio::test]
async fn owners_promote_and_admins_cannot_touch_owners() {
    let app = TestApp::spawn().await;
    let owner = app.create_workspace("acme").await;
    let bob = app.add_user(&owner, "bob@acme.test", "member").await;
    let carol = app.add_user(&owner, "carol@acme.test", "member").await;

    let user = app
        .patch(
            &owner,
            &format!("/api/v1/users/{}", bob.user_id),
            json!({"role": "admin"}),
        )
        .await
        .ok();
    assert_eq!(user["role"], "admin");
    assert_eq!(
        app.get(&bob, "/api/v1/me").await.ok()["user"]["role"],
        "admin"
    );

    let owner_path = format!("/api/v1/users/{}", owner.user_id);
    for body in [json!({"role": "member"}), json!({"deactivated": true})] {
        app.patch(&bob, &owner_path, body)
            .await
            .expect(403, "not_owner");
    }
    app.patch(
        &bob,
        &format!("/api/v1/users/{}", carol.user_id),
        json!({"role": "owner"}),
    )
    .await
    .expect(403, "not_owner");
    assert_eq!(
        app.get(&owner, "/api/v1/me").await.ok()["user"]["role"],
        "owner"
    );

    // Members change nobody's role.
    app.patch(
        &carol,
        &format!("/api/v1/users/{}", bob.user_id),
        json!({"role": "member"}),
    )
    .await
    .expect(403, "not_admin");
    app.patch(&carol, "/api/v1/users/me", json!({"role": "admin"}))
        .await
        .expect(400, "invalid_body");
    assert_eq!(
        app.get(&carol, "/api/v1/me").await.ok()["user"]["role"],
        "member"
    );
}

#[tokio::test]
async fn deactivation_signs_the_account_out_at_once() {
    let app = TestApp::spawn().await;
    let owner = app.create_workspace("acme").await;
    let bob = app.add_user(&owner, "bob@acme.test", "member").await;
    let bob_again = app.login_as(&bob).await;
    // Both sessions have just been used, so this node remembers them (the session cache):
    // deactivation must still end them on the very next request.
    for session in [&bob, &bob_again] {
        app.get(session, "/api/v1/me").await.ok();
    }

    let user = app
        .patch(
            &owner,
            &format!("/api/v1/users/{}", bob.user_id),
            json!({"deactivated": true}),
        )
        .await
        .ok();
    assert_eq!(user["deactivated"], true);
    for session in [&bob, &bob_again] {
        app.get(session, "/api/v1/me")
            .await
            .expect(401, "invalid_token");
    }
    app.login("acme", &bob.email, PASSWORD)
        .await
        .expect(401, "invalid_credentials");

    // Reactivated, the account signs in again (its old sessions stay revoked).
    app.patch(
        &owner,
        &format!("/api/v1/users/{}", bob.user_id),
        json!({"deactivated": false}),
    )
    .await
    .ok();
    app.login("acme", &bob.email, PASSWORD).await.ok();
    app.get(&bob, "/api/v1/me")
        .await
        .expect(401, "invalid_token");
}

#[tokio::test]
async fn the_last_owner_cannot_step_down() {
    let app = TestApp::spawn().await;
    let owner = app.create_workspace("acme").await;
    let path = format!("/api/v1/users/{}", owner.user_id);
    app.patch(&owner, &path, json!({"role": "admin"}))
        .await
        .expect(422, "last_owner");
    app.patch(&owner, &path, json!({"deactivated": true}))
        .await
        .expect(422, "last_owner");
    app.get(&owner, "/api/v1/me").await.ok();

    // With a second owner, the first may step down.
    let bob = app.add_user(&owner, "bob@acme.test", "admin").await;
    app.patch(
        &owner,
        &format!("/api/v1/users/{}", bob.user_id),
        json!({"role": "owner"}),
    )
    .await
    .ok();
    let user = app
        .patch(&owner, &path, json!({"role": "admin"}))
        .await
        .ok();
    assert_eq!(user["role"], "admin");
}
