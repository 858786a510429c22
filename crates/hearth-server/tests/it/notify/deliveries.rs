//! Deliveries: re-checked when they are made, retried with backoff, dead-lettered, and
//! targets the push service says are gone are removed.

use std::time::{Duration, Instant};

use serde_json::json;

use hearth_server::Settings;
use hearth_server::notify::NotifySettings;

use super::{QUIET, WAIT, fast, office, spawn_fast};
use crate::realtime::{id, seq};
use crate::support::TestApp;

/// Waits until `name` was attempted `n` times (answered with anything).
async fn attempted(hooks: &super::hooks::Hooks, name: &str, n: usize) {
    let endpoint = hooks.endpoint(name);
    let start = Instant::now();
    while hooks
        .all()
        .iter()
        .filter(|h| h.endpoint == endpoint)
        .count()
        < n
    {
        assert!(start.elapsed() < WAIT, "{name} was not attempted {n} times");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// A server whose first retry comes a second or so after the failed attempt, so that
/// what a test changes in between lands before it even on a loaded machine (with
/// `fast()`'s 50–150 ms it sometimes did not).
async fn spawn_slow_retry() -> TestApp {
    TestApp::spawn_with(Settings {
        notify: NotifySettings {
            retry_base: Duration::from_millis(1_000),
            retry_max: Duration::from_millis(1_000),
            ..fast()
        },
        ..Settings::default()
    })
    .await
}

#[tokio::test]
async fn what_changed_before_delivery_is_not_sent() {
    let app = spawn_slow_retry().await;
    let o = office(&app, &["bob", "carol", "dave", "erin"]).await;
    let (bob, carol) = (&o.people[0], &o.people[1]);
    // Every first attempt fails, so each notification waits for its retry.
    for name in ["bob", "carol", "dave", "erin"] {
        o.hooks.respond(name, &[503]);
    }

    app.send(&o.owner, &o.general, "@bob you are about to be removed")
        .await;
    let read = app
        .send(&o.owner, &o.general, "@carol you will read this")
        .await;
    let deleted = app
        .send(&o.owner, &o.general, "@dave this will be deleted")
        .await;
    app.send(&o.owner, &o.general, "@erin this one stays").await;
    for name in ["bob", "carol", "dave", "erin"] {
        attempted(&o.hooks, name, 1).await;
    }

    // Between the failed attempt and the retry: Bob leaves the channel, Carol reads it,
    // the message to Dave is deleted.
    app.delete(
        &o.owner,
        &format!("/api/v1/channels/{}/members/{}", o.general, bob.user_id),
    )
    .await
    .expect(204, "");
    app.post(
        carol,
        &format!("/api/v1/channels/{}/read", o.general),
        json!({"seq": seq(&read)}),
    )
    .await
    .ok();
    app.delete(&o.owner, &format!("/api/v1/messages/{}", id(&deleted)))
        .await
        .ok();

    let delivered = o.hooks.wait_for(1, WAIT).await;
    assert!(delivered[0].endpoint.ends_with("/erin"));
    assert_eq!(
        delivered[0].body["message"]["excerpt"],
        "@erin this one stays"
    );
    o.hooks.expect_no_more(1, QUIET).await;
}

#[tokio::test]
async fn do_not_disturb_and_quiet_hours_hold_everything() {
    let app = spawn_fast().await;
    let o = office(&app, &["bob", "carol"]).await;
    let (bob, carol) = (&o.people[0], &o.people[1]);
    let prefs = "/api/v1/notifications/prefs";
    app.put_json(bob, prefs, json!({"dnd_until": "2999-01-01T00:00:00Z"}))
        .await
        .ok();
    // Quiet from an hour ago to an hour from now, in Tokyo time.
    let tokyo = chrono::Utc::now().with_timezone(&chrono::FixedOffset::east_opt(9 * 3600).unwrap());
    let clock = |t: chrono::DateTime<chrono::FixedOffset>| t.format("%H:%M").to_string();
    let quiet = json!({
        "time_zone": "Asia/Tokyo",
        "quiet_hours": {"start": clock(tokyo - chrono::Duration::hours(1)),
                         "end": clock(tokyo + chrono::Duration::hours(1))},
    });
    app.put_json(carol, prefs, quiet).await.ok();

    app.send(&o.owner, &o.general, "@bob @carol urgent?").await;
    o.hooks.expect_no_more(0, QUIET).await;

    // Once do-not-disturb is over, new messages notify again.
    app.put_json(bob, prefs, json!({})).await.ok();
    app.send(&o.owner, &o.general, "@bob now?").await;
    let got = o.hooks.wait_for(1, WAIT).await;
    assert_eq!(got[0].body["message"]["excerpt"], "@bob now?");
}

#[tokio::test]
async fn failures_retry_with_backoff_then_become_dead_letters() {
    let app = spawn_fast().await;
    let o = office(&app, &["bob", "carol", "dave"]).await;
    // Bob's endpoint fails twice then takes it; Carol's always fails; Dave's refuses.
    o.hooks.respond("bob", &[500, 502]);
    o.hooks.respond("carol", &[500, 500, 500, 500]);
    o.hooks.respond("dave", &[400]);

    app.send(&o.owner, &o.general, "@bob @carol @dave status?")
        .await;
    let got = o.hooks.wait_for(1, WAIT).await;
    assert!(got[0].endpoint.ends_with("/bob"));
    attempted(&o.hooks, "carol", 3).await;
    o.hooks.expect_no_more(1, QUIET).await;
    let carol_attempts = o
        .hooks
        .all()
        .iter()
        .filter(|h| h.endpoint.ends_with("/carol"))
        .count();
    assert_eq!(carol_attempts, 3, "max_attempts is 3");
    assert_eq!(
        o.hooks
            .all()
            .iter()
            .filter(|h| h.endpoint.ends_with("/dave"))
            .count(),
        1
    );

    let letters = app
        .get(&o.owner, "/api/v1/admin/notifications/dead-letters")
        .await
        .ok();
    let letters = letters["dead_letters"].as_array().unwrap().clone();
    assert_eq!(letters.len(), 2, "{letters:#?}");
    let carol = letters
        .iter()
        .find(|l| l["user_id"] == o.people[1].user_id.as_str())
        .unwrap();
    assert_eq!(carol["attempts"], 3);
    assert_eq!(carol["kind"], "push");
    assert!(
        carol["last_error"].as_str().unwrap().contains("500"),
        "{carol}"
    );
    assert_eq!(carol["target"]["endpoint"], o.hooks.endpoint("carol"));
    let dave = letters
        .iter()
        .find(|l| l["user_id"] == o.people[2].user_id.as_str())
        .unwrap();
    assert_eq!(dave["attempts"], 1, "a 400 is final");

    // Another workspace's admin sees none of them.
    let other = app.create_workspace("other").await;
    let theirs = app
        .get(&other, "/api/v1/admin/notifications/dead-letters")
        .await
        .ok();
    assert!(theirs["dead_letters"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn a_target_that_is_gone_is_removed() {
    let app = spawn_fast().await;
    let o = office(&app, &["bob"]).await;
    let bob = &o.people[0];
    o.hooks.respond("bob", &[410]);
    app.send(&o.owner, &o.general, "@bob one").await;
    attempted(&o.hooks, "bob", 1).await;
    let start = Instant::now();
    loop {
        let list = app.get(bob, "/api/v1/notifications/targets").await.ok();
        if list["targets"].as_array().unwrap().is_empty() {
            break;
        }
        assert!(start.elapsed() < WAIT, "the gone target was not removed");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    app.send(&o.owner, &o.general, "@bob two").await;
    o.hooks.expect_no_more(0, QUIET).await;
    assert_eq!(o.hooks.all().len(), 1, "nothing more was sent to it");
}

#[tokio::test]
async fn settings_changed_before_delivery_hold_it() {
    let app = spawn_slow_retry().await;
    let o = office(&app, &["bob", "carol", "dave", "erin"]).await;
    let (bob, carol, dave) = (&o.people[0], &o.people[1], &o.people[2]);
    for name in ["bob", "carol", "dave", "erin"] {
        o.hooks.respond(name, &[503]);
    }
    app.send(&o.owner, &o.general, "@bob @carol @dave @erin standup?")
        .await;
    for name in ["bob", "carol", "dave", "erin"] {
        attempted(&o.hooks, name, 1).await;
    }

    // Between the failed attempt and the retry: Bob mutes the channel, Carol's account
    // is deactivated, Dave turns on do-not-disturb.
    let level = format!("/api/v1/channels/{}/notifications", o.general);
    app.put_json(bob, &level, json!({"level": "default", "muted": true}))
        .await
        .ok();
    app.patch(
        &o.owner,
        &format!("/api/v1/users/{}", carol.user_id),
        json!({"deactivated": true}),
    )
    .await
    .ok();
    app.put_json(
        dave,
        "/api/v1/notifications/prefs",
        json!({"dnd_until": "2999-01-01T00:00:00Z"}),
    )
    .await
    .ok();

    // Only Erin's retry goes out, with everything the payload shows.
    let delivered = o.hooks.wait_for(1, WAIT).await;
    assert!(delivered[0].endpoint.ends_with("/erin"));
    let body = &delivered[0].body;
    assert_eq!(
        body["message"]["excerpt"],
        "@bob @carol @dave @erin standup?"
    );
    assert_eq!(body["channel"]["name"], "general");
    assert_eq!(body["sender"]["id"], o.owner.user_id.as_str());
    assert_eq!(body["reason"], "mention");
    o.hooks.expect_no_more(1, QUIET).await;
    assert_eq!(o.hooks.all().len(), 5, "four failed attempts, one retry");
}
