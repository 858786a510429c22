//! The settings APIs: account preferences, per-channel levels, push targets, the VAPID
//! key and the dead letters, with every refusal's code.

use serde_json::json;

use super::{add_webhook, hooks::Hooks, spawn_fast};
use crate::support::TestApp;

#[tokio::test]
async fn preferences_round_trip_and_bad_values_are_refused() {
    let app = spawn_fast().await;
    let owner = app.create_workspace("acme").await;
    let defaults = app.get(&owner, "/api/v1/notifications/prefs").await.ok();
    assert_eq!(
        defaults,
        json!({"keywords": [], "dnd_until": null, "quiet_hours": null, "time_zone": "UTC",
               "thread_replies": true, "email": true})
    );

    let prefs = json!({
        "keywords": ["Deploy", "on call", "deploy"],
        "dnd_until": "2030-01-01T08:00:00.000Z",
        "quiet_hours": {"start": "22:30", "end": "07:00"},
        "time_zone": "Europe/Paris",
        "thread_replies": false,
        "email": false,
    });
    let put = app
        .put_json(&owner, "/api/v1/notifications/prefs", prefs)
        .await
        .ok();
    assert_eq!(
        put["keywords"],
        json!(["deploy", "on call"]),
        "lowercased, repeats dropped"
    );
    let got = app.get(&owner, "/api/v1/notifications/prefs").await.ok();
    assert_eq!(got, put);
    assert_eq!(
        got["quiet_hours"],
        json!({"start": "22:30", "end": "07:00"})
    );
    assert_eq!(got["time_zone"], "Europe/Paris");

    for (body, code) in [
        (json!({"time_zone": "Mars/Olympus"}), "invalid_time_zone"),
        (json!({"keywords": [" "]}), "invalid_keyword"),
        (
            json!({"keywords": (0..31).map(|i| format!("k{i}")).collect::<Vec<_>>()}),
            "too_many_keywords",
        ),
        (
            json!({"quiet_hours": {"start": "25:00", "end": "07:00"}}),
            "invalid_quiet_hours",
        ),
        (json!({"dnd_until": "tomorrow"}), "invalid_timestamp"),
    ] {
        app.put_json(&owner, "/api/v1/notifications/prefs", body)
            .await
            .expect(422, code);
    }
    app.put_json(
        &owner,
        "/api/v1/notifications/prefs",
        json!({"sound": true}),
    )
    .await
    .expect(400, "invalid_body");
    // Nothing of the refused bodies was kept.
    assert_eq!(
        app.get(&owner, "/api/v1/notifications/prefs").await.ok(),
        put
    );
}

#[tokio::test]
async fn channel_levels_need_membership_and_stay_in_their_workspace() {
    let app = spawn_fast().await;
    let owner = app.create_workspace("acme").await;
    let bob = app.add_user(&owner, "bob@acme.test", "member").await;
    let general = app.create_channel(&owner, "general", false).await;
    let secret = app.create_channel(&owner, "secret", true).await;
    let path = format!("/api/v1/channels/{general}/notifications");

    assert_eq!(
        app.get(&owner, &path).await.ok(),
        json!({"level": "default", "muted": false})
    );
    let set = json!({"level": "all", "muted": true});
    assert_eq!(app.put_json(&owner, &path, set.clone()).await.ok(), set);
    assert_eq!(app.get(&owner, &path).await.ok(), set);
    app.put_json(&owner, &path, json!({"level": "loud"}))
        .await
        .expect(422, "invalid_notify_level");

    // A public channel Bob has not joined, a private one he cannot see, another
    // workspace's: all the same 404.
    app.get(&bob, &path).await.expect(404, "channel_not_found");
    app.put_json(&bob, &path, json!({"level": "all"}))
        .await
        .expect(404, "channel_not_found");
    let secret_path = format!("/api/v1/channels/{secret}/notifications");
    app.get(&bob, &secret_path)
        .await
        .expect(404, "channel_not_found");
    let eve = app.create_workspace("evil").await;
    app.get(&eve, &path).await.expect(404, "channel_not_found");
}

#[tokio::test]
async fn push_targets_are_checked_listed_and_deleted() {
    let app = spawn_fast().await;
    let owner = app.create_workspace("acme").await;
    let bob = app.add_user(&owner, "bob@acme.test", "member").await;
    let hooks = Hooks::spawn().await;
    let target = add_webhook(&app, &bob, &hooks, "bob").await;
    assert_eq!(target["kind"], "webhook");
    // The same endpoint again is the same target.
    let again = add_webhook(&app, &bob, &hooks, "bob").await;
    assert_eq!(again["id"], target["id"]);
    let list = app.get(&bob, "/api/v1/notifications/targets").await.ok();
    assert_eq!(list["targets"].as_array().unwrap().len(), 1);
    assert!(
        app.get(&owner, "/api/v1/notifications/targets").await.ok()["targets"]
            .as_array()
            .unwrap()
            .is_empty()
    );

    let targets = "/api/v1/notifications/targets";
    for (body, code) in [
        (
            json!({"kind": "pigeon", "endpoint": "https://push.example.com/x"}),
            "invalid_push_kind",
        ),
        (
            json!({"kind": "webhook", "endpoint": "not a url"}),
            "invalid_endpoint",
        ),
        (
            json!({"kind": "webpush", "endpoint": "https://push.example.com/x"}),
            "invalid_push_keys",
        ),
        (
            json!({"kind": "webpush", "endpoint": "https://push.example.com/x",
                   "keys": {"p256dh": "AAAA", "auth": "AAAA"}}),
            "invalid_push_keys",
        ),
    ] {
        app.post(&bob, targets, body).await.expect(422, code);
    }

    let id = target["id"].as_str().unwrap();
    app.delete(&owner, &format!("{targets}/{id}"))
        .await
        .expect(404, "push_target_not_found");
    app.delete(&bob, &format!("{targets}/{id}"))
        .await
        .expect(204, "");
    app.delete(&bob, &format!("{targets}/{id}"))
        .await
        .expect(404, "push_target_not_found");

    // Twenty per user at most.
    for i in 0..20 {
        add_webhook(&app, &bob, &hooks, &format!("h{i}")).await;
    }
    app.post(
        &bob,
        targets,
        json!({"kind": "webhook", "endpoint": hooks.endpoint("h20")}),
    )
    .await
    .expect(422, "too_many_push_targets");
}

#[tokio::test]
async fn by_default_endpoints_must_be_public_https() {
    let app = TestApp::spawn().await;
    let owner = app.create_workspace("acme").await;
    for endpoint in [
        "http://push.example.com/x",
        "https://127.0.0.1:9/x",
        "https://10.0.0.8/x",
        "https://169.254.169.254/latest/meta-data",
        "https://localhost/x",
    ] {
        app.post(
            &owner,
            "/api/v1/notifications/targets",
            json!({"kind": "webhook", "endpoint": endpoint}),
        )
        .await
        .expect(422, "invalid_endpoint");
    }
    app.post(
        &owner,
        "/api/v1/notifications/targets",
        json!({"kind": "webhook", "endpoint": "https://push.example.com/hook"}),
    )
    .await
    .expect(201, "");
}

#[tokio::test]
async fn the_vapid_key_is_stable_and_dead_letters_are_for_admins() {
    let app = spawn_fast().await;
    let owner = app.create_workspace("acme").await;
    let bob = app.add_user(&owner, "bob@acme.test", "member").await;
    let key = app.get(&bob, "/api/v1/notifications/vapid").await.ok();
    let key = key["public_key"].as_str().unwrap().to_owned();
    assert_eq!(key.len(), 87, "a 65-byte point in base64url: {key}");
    let again = app.get(&owner, "/api/v1/notifications/vapid").await.ok();
    assert_eq!(again["public_key"], key.as_str());

    app.get(&bob, "/api/v1/admin/notifications/dead-letters")
        .await
        .expect(403, "not_admin");
    let letters = app
        .get(&owner, "/api/v1/admin/notifications/dead-letters")
        .await
        .ok();
    assert_eq!(letters, json!({"dead_letters": [], "has_more": false}));
}
