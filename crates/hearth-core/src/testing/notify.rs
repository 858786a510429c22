//! Notifications, first what users asked for: account-wide preferences, each member's
//! level and mute for a channel, push targets, and the server secret nodes agree on.
//! The pipeline's durable work is checked in `notify_expansion` (cursors over the event
//! log, the messages and members a worker reads, recording what it decided) and
//! `notify_delivery` (deliveries, retries, dead letters, email lists, pruning), with the
//! helpers below.
//!
//! Leases and notifications carry times the tests choose (seconds after [`T0`], long
//! before the real time that stamps events), so a lease lapses by asking at a later
//! instant, never by waiting.

use std::collections::HashSet;
use std::sync::Arc;

use crate::Timestamp;
use crate::id::{ChannelId, NotificationId, PushTargetId, UserId, WorkspaceId};
use crate::model::{Message, User};
use crate::notify::{
    ChannelNotify, Delivery, DeliveryOutcome, Lease, NewNotification, NewPushTarget, NotifyCursor,
    NotifyLevel, NotifyPrefs, PushKind, PushTarget, QuietHours, Reason, TimeZone,
};
use crate::store::{MAX_PUSH_TARGETS, Store};

use super::*;

/// The tests' epoch (September 2001): every lease and notification time is after it,
/// and far before the real clock that stamps events.
pub(crate) const T0: Timestamp = Timestamp(1_000_000_000_000);

pub(crate) fn at(secs: i64) -> Timestamp {
    T0.plus_secs(secs)
}

/// `owner`'s lease taken at `now` (seconds after T0) for `secs` seconds.
pub(crate) fn lease(owner: &str, now: i64, secs: i64) -> Lease {
    Lease {
        owner: owner.to_owned(),
        now: at(now),
        until: at(now + secs),
    }
}

pub(crate) fn webpush(endpoint: &str, created: i64) -> NewPushTarget {
    NewPushTarget {
        id: PushTargetId::generate(),
        kind: PushKind::WebPush,
        endpoint: format!("https://push.example.test/{endpoint}"),
        // The store keeps keys as the API checked them; these need not be real.
        p256dh: Some("BPublicKey".to_owned()),
        auth: Some("authSecret".to_owned()),
        created_at: at(created),
    }
}

pub(crate) async fn target(f: &Fixture, user: &User, endpoint: &str) -> PushTarget {
    let added = f
        .store
        .add_push_target(f.ws_id(), &user.id, webpush(endpoint, 0));
    added.await.expect("add_push_target")
}

/// The worker's decision that `message` concerns `user`, taken at `now`.
pub(crate) fn decided(
    user: &User,
    message: &Message,
    now: i64,
    email_at: Option<i64>,
) -> NewNotification {
    NewNotification {
        id: NotificationId::generate(),
        user_id: user.id.clone(),
        channel_id: message.channel_id.clone(),
        message_id: message.id.clone(),
        seq: message.seq,
        reason: Reason::Mention,
        created_at: at(now),
        email_at: email_at.map(at),
    }
}

/// Claims the fixture's cursor for `lease` (claiming past any other workspace's).
pub(crate) async fn claim_cursor(f: &Fixture, lease: &Lease) -> NotifyCursor {
    for _ in 0..10 {
        match f
            .store
            .claim_notify_cursor(lease)
            .await
            .expect("claim_notify_cursor")
        {
            Some(cursor) if cursor.workspace_id == f.ws.id => return cursor,
            Some(_) => continue,
            None => panic!("the workspace's cursor was not claimable"),
        }
    }
    panic!("claimed ten other cursors");
}

/// Records `notifications` as a worker does at `now`: claims the cursor, records, and
/// releases it where it was.
pub(crate) async fn record(f: &Fixture, now: i64, notifications: &[NewNotification]) {
    let lease = lease("expander", now, 30);
    let cursor = claim_cursor(f, &lease).await;
    let recorded = f
        .store
        .record_notifications(&lease, &cursor, notifications, true);
    assert!(
        recorded.await.expect("record_notifications"),
        "the lease held"
    );
}

pub(crate) async fn claim(store: &Arc<dyn Store>, lease: &Lease) -> Vec<Delivery> {
    store
        .claim_deliveries(lease, 100)
        .await
        .expect("claim_deliveries")
}

pub(crate) async fn finish(
    store: &Arc<dyn Store>,
    lease: &Lease,
    d: &Delivery,
    outcome: DeliveryOutcome,
) -> bool {
    let finished = store.finish_delivery(lease, &d.id, &outcome).await;
    finished.expect("finish_delivery")
}

pub(crate) fn sent() -> DeliveryOutcome {
    DeliveryOutcome::Sent { through_seq: None }
}

pub(crate) async fn unread(f: &Fixture, user: &User, channel: &ChannelId) -> Vec<NotificationId> {
    let list = f
        .store
        .unread_notifications(f.ws_id(), &user.id, channel, 100)
        .await;
    list.expect("unread_notifications")
        .into_iter()
        .map(|n| n.id)
        .collect()
}

pub async fn prefs_default_and_round_trip(store: Arc<dyn Store>) {
    let f = Fixture::new(store.clone()).await;
    let other = Fixture::with_slug(store.clone(), "globex").await;
    let ws = f.ws_id();
    let defaults = store.notify_prefs(ws, &f.bob.id).await.unwrap();
    assert_eq!(defaults, NotifyPrefs::default(), "never set: the defaults");

    let keywords = ["Deploy".to_owned(), "on call".to_owned(), "café".to_owned()];
    let prefs = NotifyPrefs {
        keywords: NotifyPrefs::keywords(&keywords).unwrap(),
        dnd_until: Some(at(3600)),
        quiet_hours: Some(QuietHours::parse("22:30", "07:00").unwrap()),
        time_zone: TimeZone::parse("America/New_York").unwrap(),
        thread_replies: false,
        email: false,
    };
    store.set_notify_prefs(ws, &f.bob.id, &prefs).await.unwrap();
    assert_eq!(store.notify_prefs(ws, &f.bob.id).await.unwrap(), prefs);
    assert_eq!(
        store.notify_prefs(ws, &f.cy.id).await.unwrap(),
        NotifyPrefs::default()
    );

    // Saving replaces everything: no keywords and no schedule any more.
    let plain = NotifyPrefs {
        thread_replies: false,
        ..NotifyPrefs::default()
    };
    store.set_notify_prefs(ws, &f.bob.id, &plain).await.unwrap();
    assert_eq!(store.notify_prefs(ws, &f.bob.id).await.unwrap(), plain);

    // Accounts are per workspace: bob is nobody in globex.
    assert_not_found(store.notify_prefs(other.ws_id(), &f.bob.id).await);
    assert_not_found(
        store
            .set_notify_prefs(other.ws_id(), &f.bob.id, &prefs)
            .await,
    );
    assert_not_found(store.notify_prefs(ws, &UserId::generate()).await);
    assert_eq!(store.notify_prefs(ws, &f.bob.id).await.unwrap(), plain);
    assert_eq!(
        store
            .notify_prefs(other.ws_id(), &other.bob.id)
            .await
            .unwrap(),
        NotifyPrefs::default(),
        "globex's bob is another account"
    );
}

pub async fn channel_notify_needs_membership(store: Arc<dyn Store>) {
    let f = Fixture::new(store.clone()).await;
    let other = Fixture::with_slug(store.clone(), "globex").await;
    let ws = f.ws_id();
    let channel = f.channel(&f.owner, "general", &[&f.bob]).await;
    let get = |user: &User| {
        let (store, ws) = (store.clone(), ws.clone());
        let (channel, user) = (channel.id.clone(), user.id.clone());
        async move { store.channel_notify(&ws, &channel, &user).await }
    };
    assert_eq!(get(&f.bob).await.unwrap(), Some(ChannelNotify::default()));
    assert_eq!(get(&f.cy).await.unwrap(), None, "not a member");

    let loud = ChannelNotify {
        level: NotifyLevel::All,
        muted: false,
    };
    let muted = ChannelNotify {
        level: NotifyLevel::Mentions,
        muted: true,
    };
    store
        .set_channel_notify(ws, &channel.id, &f.bob.id, loud)
        .await
        .unwrap();
    store
        .set_channel_notify(ws, &channel.id, &f.owner.id, muted)
        .await
        .unwrap();
    assert_eq!(get(&f.bob).await.unwrap(), Some(loud));
    assert_eq!(get(&f.owner).await.unwrap(), Some(muted), "per member");
    let elsewhere = f.channel(&f.owner, "random", &[&f.bob]).await;
    let there = store
        .channel_notify(ws, &elsewhere.id, &f.bob.id)
        .await
        .unwrap();
    assert_eq!(there, Some(ChannelNotify::default()), "per channel");

    assert_not_found(
        store
            .set_channel_notify(ws, &channel.id, &f.cy.id, loud)
            .await,
    );
    let unknown = ChannelId::generate();
    assert_not_found(
        store
            .set_channel_notify(ws, &unknown, &f.bob.id, loud)
            .await,
    );
    assert_not_found(
        store
            .set_channel_notify(other.ws_id(), &channel.id, &f.bob.id, muted)
            .await,
    );
    let foreign = store
        .channel_notify(other.ws_id(), &channel.id, &f.bob.id)
        .await;
    assert_eq!(foreign.unwrap(), None);
    assert_eq!(
        get(&f.bob).await.unwrap(),
        Some(loud),
        "foreign writes changed nothing"
    );

    store
        .remove_member(ws, &channel.id, &f.bob.id)
        .await
        .unwrap();
    assert_eq!(
        get(&f.bob).await.unwrap(),
        None,
        "settings go with the membership"
    );
    assert_not_found(
        store
            .set_channel_notify(ws, &channel.id, &f.bob.id, loud)
            .await,
    );
}

pub async fn push_targets_upsert_limit_and_delete(store: Arc<dyn Store>) {
    let f = Fixture::new(store.clone()).await;
    let other = Fixture::with_slug(store.clone(), "globex").await;
    let ws = f.ws_id();
    let bob = &f.bob.id;
    let first = store
        .add_push_target(ws, bob, webpush("1", 1))
        .await
        .unwrap();
    assert_eq!((&first.user_id, first.kind), (bob, PushKind::WebPush));
    assert_eq!(first.endpoint, "https://push.example.test/1");

    // The browser re-subscribes: same endpoint, new keys, same target.
    let mut again = webpush("1", 2);
    again.p256dh = Some("BNewKey".to_owned());
    let renewed = store.add_push_target(ws, bob, again).await.unwrap();
    assert_eq!(
        (&renewed.id, renewed.created_at),
        (&first.id, first.created_at)
    );
    assert_eq!(renewed.p256dh.as_deref(), Some("BNewKey"));
    assert_eq!(
        store.push_targets(ws, bob).await.unwrap(),
        vec![renewed.clone()]
    );

    for i in 2..=MAX_PUSH_TARGETS {
        let mut hook = webpush(&i.to_string(), i64::try_from(i).unwrap());
        (hook.kind, hook.p256dh, hook.auth) = (PushKind::Webhook, None, None);
        store.add_push_target(ws, bob, hook).await.unwrap();
    }
    let listed = store.push_targets(ws, bob).await.unwrap();
    assert_eq!(listed.len(), MAX_PUSH_TARGETS);
    assert_eq!(listed[0], renewed, "oldest first");
    assert!(listed.windows(2).all(|w| w[0].created_at < w[1].created_at));
    assert_invalid(
        store
            .add_push_target(ws, bob, webpush("one too many", 99))
            .await,
        "too_many_push_targets",
    );
    let at_limit = store.add_push_target(ws, bob, webpush("1", 99)).await;
    assert_eq!(
        at_limit.unwrap().id,
        first.id,
        "renewing is allowed at the limit"
    );

    // Only bob can delete bob's targets, and globex cannot see them.
    assert!(
        !store
            .delete_push_target(ws, &f.cy.id, &first.id)
            .await
            .unwrap()
    );
    assert!(
        !store
            .delete_push_target(other.ws_id(), bob, &first.id)
            .await
            .unwrap()
    );
    assert!(
        store
            .push_targets(other.ws_id(), bob)
            .await
            .unwrap()
            .is_empty()
    );
    assert_not_found(
        store
            .add_push_target(other.ws_id(), bob, webpush("x", 1))
            .await,
    );
    assert_not_found(
        store
            .add_push_target(ws, &UserId::generate(), webpush("x", 1))
            .await,
    );
    // A webhook may serve several users (a browser may not: see the next test).
    let mut shared_hook = webpush("2", 1);
    (shared_hook.kind, shared_hook.p256dh, shared_hook.auth) = (PushKind::Webhook, None, None);
    let cys = store
        .add_push_target(ws, &f.cy.id, shared_hook)
        .await
        .unwrap();
    assert_ne!(
        cys.id, listed[1].id,
        "bob's webhook endpoint is another target for cy"
    );
    assert_eq!(
        store.push_targets(ws, bob).await.unwrap().len(),
        MAX_PUSH_TARGETS
    );

    assert!(store.delete_push_target(ws, bob, &first.id).await.unwrap());
    assert!(
        !store.delete_push_target(ws, bob, &first.id).await.unwrap(),
        "once"
    );
    let left = store.push_targets(ws, bob).await.unwrap();
    assert_eq!(left.len(), MAX_PUSH_TARGETS - 1);
    assert!(left.iter().all(|t| t.id != first.id));
    store
        .add_push_target(ws, bob, webpush("room again", 100))
        .await
        .unwrap();
    assert_eq!(store.push_targets(ws, &f.cy.id).await.unwrap(), vec![cys]);
}

pub async fn a_browser_belongs_to_the_last_user_who_registered_it(store: Arc<dyn Store>) {
    let f = Fixture::new(store.clone()).await;
    let other = Fixture::with_slug(store.clone(), "globex").await;
    let ws = f.ws_id();
    let channel = f.channel(&f.owner, "general", &[&f.bob]).await;
    let targets = |ws: &WorkspaceId, user: &User| {
        let (store, ws, user) = (store.clone(), ws.clone(), user.id.clone());
        async move { store.push_targets(&ws, &user).await.unwrap() }
    };
    let phone = target(&f, &f.bob, "phone").await;
    target(&f, &f.bob, "shared").await;
    let globex_bobs = target(&other, &other.bob, "shared").await;
    // A push of bob's is on its way to that browser (and one to his phone).
    let m = f.post(&channel, &f.owner, "@bob the salaries are in").await;
    record(&f, 0, &[decided(&f.bob, &m, 0, None)]).await;

    // cy signs in on that browser: it is cy's now, and bob's pushes stop going there.
    let cys = target(&f, &f.cy, "shared").await;
    assert_eq!(targets(ws, &f.bob).await, vec![phone.clone()]);
    assert_eq!(targets(ws, &f.cy).await, vec![cys.clone()]);
    let due = claim(&store, &lease("w", 1, 30)).await;
    let to: Vec<_> = due.iter().map(|d| d.target.clone()).collect();
    assert_eq!(
        to,
        [Some(phone.clone())],
        "bob's push to cy's browser is not sent"
    );
    assert_eq!(
        targets(other.ws_id(), &other.bob).await,
        vec![globex_bobs.clone()],
        "another workspace's registration of it stays"
    );

    // bob signs back in there: it is his again.
    let bobs = target(&f, &f.bob, "shared").await;
    assert_ne!(bobs.id, cys.id);
    assert!(targets(ws, &f.cy).await.is_empty());
    assert_eq!(targets(ws, &f.bob).await.len(), 2);
    assert_eq!(targets(other.ws_id(), &other.bob).await, vec![globex_bobs]);
}

pub async fn server_secret_first_writer_wins(store: Arc<dyn Store>) {
    assert_eq!(
        store.server_secret("vapid", "first").await.unwrap(),
        "first"
    );
    assert_eq!(
        store.server_secret("vapid", "second").await.unwrap(),
        "first"
    );
    assert_eq!(store.server_secret("other", "own").await.unwrap(), "own");

    // Nodes starting together all go on with the same one.
    let starts: Vec<_> = (0..8)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move { store.server_secret("race", &format!("key {i}")).await })
        })
        .collect();
    let mut agreed = HashSet::new();
    for start in starts {
        agreed.insert(start.await.unwrap().unwrap());
    }
    assert_eq!(agreed.len(), 1, "{agreed:?}");
    assert!(agreed.iter().all(|v| v.starts_with("key ")));
}
