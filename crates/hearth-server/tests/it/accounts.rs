//! Workspaces, sign-in and sign-out, login throttling, invites and sign-up.

use serde_json::json;

use crate::support::{PASSWORD, TestApp};

fn new_workspace(slug: &str, email: &str, password: &str) -> serde_json::Value {
    json!({
        "name": "Acme",
        "slug": slug,
        "email": email,
        "password": password,
        "display_name": "Ada",
    })
}

#[tokio::test]
async fn creating_a_workspace_makes_its_owner_and_signs_them_in() {
    let app = TestApp::spawn().await;
    let body = app
        .post_anon(
            "/api/v1/workspaces",
            new_workspace("acme", "ada@acme.test", PASSWORD),
        )
        .await
        .expect(201, "");
    assert_eq!(body["workspace"]["slug"], "acme");
    assert_eq!(body["workspace"]["name"], "Acme");
    assert_eq!(body["user"]["role"], "owner");
    assert_eq!(body["user"]["email"], "ada@acme.test");
    assert_eq!(
        body["user"]["handle"], "ada",
        "the handle defaults to the local part"
    );

    let token = body["token"].as_str().unwrap();
    let me = app
        .call(reqwest::Method::GET, "/api/v1/me", Some(token), None)
        .await
        .ok();
    assert_eq!(me["user"]["id"], body["user"]["id"]);
    assert_eq!(me["workspace"]["id"], body["workspace"]["id"]);
}

#[tokio::test]
async fn a_slug_belongs_to_one_workspace() {
    let app = TestApp::spawn().await;
    app.create_workspace("acme").await;
    app.post_anon(
        "/api/v1/workspaces",
        new_workspace("acme", "someone@else.test", PASSWORD),
    )
    .await
    .expect(409, "slug_taken");
}

#[tokio::test]
async fn invalid_workspace_fields_are_refused_with_their_code() {
    let app = TestApp::spawn().await;
    let cases = [
        (
            new_workspace("Bad Slug", "ada@acme.test", PASSWORD),
            "invalid_slug",
        ),
        (
            new_workspace("-acme", "ada@acme.test", PASSWORD),
            "invalid_slug",
        ),
        (
            new_workspace("acme", "not-an-email", PASSWORD),
            "invalid_email",
        ),
        (
            new_workspace("acme", "ada@acme.test", "short"),
            "weak_password",
        ),
    ];
    for (body, code) in cases {
        app.post_anon("/api/v1/workspaces", body)
            .await
            .expect(422, code);
    }
    // None of the refusals reserved the slug.
    app.create_workspace("acme").await;
}

#[tokio::test]
async fn login_accepts_the_right_password_only() {
    let app = TestApp::spawn().await;
    let owner = app.create_workspace("acme").await;

    let body = app.login("acme", &owner.email, PASSWORD).await.ok();
    assert_eq!(body["user"]["id"], owner.user_id.as_str());
    let token = body["token"].as_str().unwrap();
    assert_ne!(token, owner.token, "each login is a new session");
    app.call(reqwest::Method::GET, "/api/v1/me", Some(token), None)
        .await
        .ok();
    // Emails are compared without regard to case.
    app.login("acme", "OWNER@Acme.Test", PASSWORD).await.ok();

    let wrong = app.login("acme", &owner.email, "wrong password").await;
    let wrong_body = wrong.raw.clone();
    wrong.expect(401, "invalid_credentials");
    // An unknown workspace or email must not be distinguishable from a wrong password.
    for (slug, email) in [
        ("nowhere", owner.email.as_str()),
        ("acme", "nobody@acme.test"),
    ] {
        let reply = app.login(slug, email, PASSWORD).await;
        assert_eq!(reply.status, 401);
        assert_eq!(reply.raw, wrong_body, "{slug} {email}");
    }
}

#[tokio::test]
async fn repeated_failed_logins_are_throttled_even_with_the_right_password() {
    let app = TestApp::spawn().await;
    let owner = app.create_workspace("acme").await;
    let other = app.add_user(&owner, "bob@acme.test", "member").await;

    for _ in 0..5 {
        app.login("acme", &owner.email, "wrong password")
            .await
            .expect(401, "invalid_credentials");
    }
    let reply = app.login("acme", &owner.email, PASSWORD).await;
    let retry_after: u64 = reply
        .headers
        .get("retry-after")
        .expect("a Retry-After header")
        .to_str()
        .unwrap()
        .parse()
        .expect("Retry-After in seconds");
    assert!(retry_after > 0);
    reply.expect(429, "too_many_attempts");

    // The throttle is per account: others still sign in, and existing sessions still work.
    app.login("acme", &other.email, PASSWORD).await.ok();
    app.get(&owner, "/api/v1/me").await.ok();
}

#[tokio::test]
async fn logout_ends_only_that_session() {
    let app = TestApp::spawn().await;
    let first = app.create_workspace("acme").await;
    let second = app.login_as(&first).await;

    let reply = app.post(&first, "/api/v1/auth/logout", json!({})).await;
    assert_eq!(reply.status, 204);
    app.get(&first, "/api/v1/me")
        .await
        .expect(401, "invalid_token");
    app.get(&second, "/api/v1/me").await.ok();
}

#[tokio::test]
async fn an_email_invite_is_single_use_and_for_that_address_only() {
    let app = TestApp::spawn().await;
    let owner = app.create_workspace("acme").await;

    let code = app.invite(&owner, Some("bob@acme.test"), "member").await;
    app.signup("acme", &code, "eve@acme.test")
        .await
        .expect(422, "invalid_invite");
    let bob = app
        .signup("acme", &code, "bob@acme.test")
        .await
        .expect(201, "");
    assert_eq!(bob["user"]["email"], "bob@acme.test");
    let token = bob["token"].as_str().unwrap();
    app.call(reqwest::Method::GET, "/api/v1/me", Some(token), None)
        .await
        .ok();

    app.signup("acme", &code, "bob@acme.test")
        .await
        .expect(422, "invalid_invite");
    app.signup("acme", "not-a-code", "carol@acme.test")
        .await
        .expect(422, "invalid_invite");
    for hours in [0, 721] {
        app.post(
            &owner,
            "/api/v1/invites",
            json!({"expires_in_hours": hours}),
        )
        .await
        .expect(422, "invalid_expiry");
    }
}

#[tokio::test]
async fn an_open_invite_can_be_used_by_several_people() {
    let app = TestApp::spawn().await;
    let owner = app.create_workspace("acme").await;
    let code = app.invite(&owner, None, "member").await;
    for email in ["bob@acme.test", "carol@acme.test"] {
        let body = app.signup("acme", &code, email).await.expect(201, "");
        assert_eq!(body["user"]["role"], "member");
    }
    // An invite of one workspace does not open another.
    app.create_workspace("beta").await;
    app.signup("beta", &code, "dave@acme.test")
        .await
        .expect(422, "invalid_invite");
}

#[tokio::test]
async fn who_may_invite_whom() {
    let app = TestApp::spawn().await;
    let owner = app.create_workspace("acme").await;
    let guest = app.add_user(&owner, "guest@acme.test", "guest").await;
    let member = app.add_user(&owner, "bob@acme.test", "member").await;

    app.post(&guest, "/api/v1/invites", json!({"role": "guest"}))
        .await
        .expect(403, "guests_cannot_invite");
    app.post(&member, "/api/v1/invites", json!({"role": "admin"}))
        .await
        .expect(403, "not_admin");
    app.post(&owner, "/api/v1/invites", json!({"role": "owner"}))
        .await
        .expect(403, "cannot_invite_owner");
    // Members may invite members and guests.
    app.invite(&member, None, "member").await;
    app.invite(&member, None, "guest").await;
}

#[tokio::test]
async fn signing_up_gives_the_invites_role() {
    let app = TestApp::spawn().await;
    let owner = app.create_workspace("acme").await;
    for (email, role) in [("a@acme.test", "admin"), ("g@acme.test", "guest")] {
        let user = app.add_user(&owner, email, role).await;
        let me = app.get(&user, "/api/v1/me").await.ok();
        assert_eq!(me["user"]["role"], role);
        assert_eq!(me["workspace"]["id"], owner.workspace_id.as_str());
    }
}

#[tokio::test]
async fn an_account_is_per_workspace() {
    let app = TestApp::spawn().await;
    let acme = app.create_workspace("acme").await;
    let beta = app.create_workspace("beta").await;
    // The same address may hold an account in each workspace, with separate passwords.
    let code = app.invite(&beta, None, "member").await;
    app.signup("beta", &code, &acme.email).await.expect(201, "");
    app.login("beta", &acme.email, PASSWORD).await.ok();
    // And an address is taken only once within a workspace.
    let code = app.invite(&acme, None, "member").await;
    app.signup("acme", &code, &acme.email)
        .await
        .expect(409, "email_taken");
}
