//! Web Push end to end: a browser's subscription registered through the API, a
//! notification encrypted per RFC 8291 and signed per RFC 8292, decrypted and verified by
//! an independent implementation (`push_service`).

use serde_json::json;

use super::push_service::PushService;
use super::{QUIET, WAIT, spawn_fast};
use crate::support::TestApp;

#[tokio::test]
async fn a_subscription_receives_encrypted_signed_pushes_until_it_is_gone() {
    let app = spawn_fast().await;
    let owner = app.create_workspace("acme").await;
    let bob = app.add_user(&owner, "bob@acme.test", "member").await;
    let general = app.create_channel(&owner, "general", false).await;
    app.join(&bob, &general).await;

    let service = PushService::spawn().await;
    let vapid = app.get(&bob, "/api/v1/notifications/vapid").await.ok();
    service.expect_vapid_key(vapid["public_key"].as_str().unwrap());
    let browser = service.subscribe();
    app.post(
        &bob,
        "/api/v1/notifications/targets",
        json!({"kind": "webpush", "endpoint": browser.endpoint,
               "keys": {"p256dh": browser.p256dh, "auth": browser.auth}}),
    )
    .await
    .expect(201, "");

    let message = app
        .send(&owner, &general, "@bob the <b>build</b> is green")
        .await;
    let pushes = service.wait_for(1, WAIT).await;
    let push = &pushes[0];
    assert_eq!(push.payload["reason"], "mention");
    assert_eq!(push.payload["message"]["id"], message["id"]);
    assert_eq!(
        push.payload["message"]["excerpt"],
        "@bob the <b>build</b> is green"
    );
    assert_eq!(push.payload["sender"]["display_name"], "Owner");
    assert!(push.ttl.is_some_and(|ttl| ttl > 0));
    assert!(push.vapid_subject.starts_with("mailto:"));
    assert!(service.failures().is_empty(), "{:?}", service.failures());

    // The browser unsubscribed: the push service answers 410 and the target goes away.
    service.set_status(&browser.endpoint, 410);
    app.send(&owner, &general, "@bob again").await;
    let start = std::time::Instant::now();
    loop {
        let targets = app.get(&bob, "/api/v1/notifications/targets").await.ok();
        if targets["targets"].as_array().unwrap().is_empty() {
            break;
        }
        assert!(
            start.elapsed() < WAIT,
            "the gone subscription was not removed"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    app.send(&owner, &general, "@bob and again").await;
    tokio::time::sleep(QUIET).await;
    assert_eq!(service.received().len(), 1);
    assert!(service.failures().is_empty(), "{:?}", service.failures());
}

#[tokio::test]
async fn the_vapid_key_survives_a_restart() {
    let data = crate::support::TestData::new().await;
    let first = TestApp::spawn_on(&data).await;
    let owner = first.create_workspace("acme").await;
    let key = first.get(&owner, "/api/v1/notifications/vapid").await.ok();
    first.stop().await;
    let second = TestApp::spawn_on(&data).await;
    let again = second.get(&owner, "/api/v1/notifications/vapid").await.ok();
    assert_eq!(key, again, "browsers' subscriptions are bound to the key");
}
