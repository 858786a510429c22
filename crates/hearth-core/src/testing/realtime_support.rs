//! What the realtime gateway builds on: a subscription (the user's channels and the seq
//! to follow the log from, read in one snapshot) and the unfiltered log a fan-out node
//! reads to fill gaps in what the bus delivered.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use crate::event::{Event, EventPage, EventPayload};
use crate::id::{ChannelId, UserId, WorkspaceId};
use crate::model::{Channel, ChannelKind, User};
use crate::store::{ChannelPatch, Store, Subscription, UserPatch};

use super::*;

async fn subscribe(f: &Fixture, user: &User) -> Subscription {
    f.store
        .subscription(f.ws_id(), &user.id)
        .await
        .expect("subscription")
}

/// The ids of `channels`, sorted as a subscription lists them.
fn sorted_ids(channels: &[&Channel]) -> Vec<ChannelId> {
    let mut ids: Vec<ChannelId> = channels.iter().map(|c| c.id.clone()).collect();
    ids.sort();
    ids
}

/// The whole log after `after`, read with `log_after` in pages of `limit`, checking each
/// page's bounds and `last_seq` on the way; and the final `last_seq`.
async fn whole_log(store: &Arc<dyn Store>, ws: &WorkspaceId, after: i64, limit: u32) -> Vec<Event> {
    let end = store.last_seq(ws).await.expect("last_seq");
    let mut after = after;
    let mut all = Vec::new();
    for _ in 0..10_000 {
        let page = store.log_after(ws, after, limit).await.expect("log_after");
        let (events, last_seq) = events_of(page);
        assert!(events.len() <= limit as usize, "limit {limit} respected");
        assert!(
            events.iter().all(|e| e.seq > after),
            "only events after {after}: {:?}",
            seqs(&events)
        );
        assert_strictly_increasing(&events);
        match events.last() {
            Some(last) if events.len() == limit as usize => assert_eq!(
                last_seq, last.seq,
                "a full page resumes right after its last event"
            ),
            _ => assert_eq!(last_seq, end, "a short page reaches the log's end"),
        }
        all.extend(events);
        if last_seq == end {
            return all;
        }
        after = last_seq;
    }
    panic!("log_after never reached the end of the log");
}

pub async fn subscription_lists_exactly_the_users_channels(store: Arc<dyn Store>) {
    let f = Fixture::new(store.clone()).await;
    let ws = f.ws_id();
    let general = f.channel(&f.owner, "general", &[&f.bob, &f.cy]).await;
    let secret = f.private_channel(&f.bob, "secret", &[&f.cy]).await;
    let bobs = f.channel(&f.bob, "bobs-corner", &[]).await;
    let left = f.channel(&f.owner, "left-behind", &[&f.cy]).await;
    store.remove_member(ws, &left.id, &f.cy.id).await.unwrap();
    let old = f.channel(&f.owner, "old-news", &[&f.cy]).await;
    let archive = ChannelPatch {
        archived: Some(true),
        ..ChannelPatch::default()
    };
    store.update_channel(ws, &old.id, archive).await.unwrap();
    let dm = f.dm(&[&f.bob, &f.cy]).await;
    let group = f.dm(&[&f.owner, &f.bob, &f.cy]).await;
    let self_dm = f.dm(&[&f.cy]).await;
    let dee = f.member("dee").await;
    let last = f.last_seq().await;

    let cys = subscribe(&f, &f.cy).await;
    assert_eq!(
        cys.channel_ids,
        sorted_ids(&[&general, &secret, &old, &dm, &group, &self_dm]),
        "cy's channels, private, archived and conversations included, not the one cy left"
    );
    assert_eq!(cys.last_seq, last);
    let bobs_sub = subscribe(&f, &f.bob).await;
    assert_eq!(
        bobs_sub.channel_ids,
        sorted_ids(&[&general, &secret, &bobs, &dm, &group])
    );
    assert_eq!(bobs_sub.last_seq, last);
    let adas = subscribe(&f, &f.owner).await;
    assert_eq!(
        adas.channel_ids,
        sorted_ids(&[&general, &left, &old, &group]),
        "not even the owner is subscribed to channels she is not in"
    );
    let dees = subscribe(&f, &dee).await;
    assert_eq!(
        dees,
        Subscription {
            channel_ids: Vec::new(),
            last_seq: last
        }
    );
}

pub async fn unknown_or_foreign_ids_are_not_found(store: Arc<dyn Store>) {
    let f = Fixture::new(store.clone()).await;
    let other = Fixture::with_slug(store.clone(), "globex").await;
    other.channel(&other.owner, "general", &[&other.bob]).await;
    f.channel(&f.owner, "general", &[&f.bob]).await;

    assert_not_found(store.subscription(f.ws_id(), &UserId::generate()).await);
    assert_not_found(store.subscription(f.ws_id(), &other.bob.id).await);
    assert_not_found(store.subscription(other.ws_id(), &f.bob.id).await);
    assert_not_found(
        store
            .subscription(&WorkspaceId::generate(), &f.bob.id)
            .await,
    );
    assert_not_found(store.log_after(&WorkspaceId::generate(), 0, 10).await);
    // A deactivated account is still an account: the caller decides who may connect.
    let deactivate = UserPatch {
        deactivated: Some(true),
        ..UserPatch::default()
    };
    store
        .update_user(f.ws_id(), &f.cy.id, deactivate)
        .await
        .unwrap();
    let cys = store.subscription(f.ws_id(), &f.cy.id).await.unwrap();
    assert_eq!(cys.last_seq, f.last_seq().await);
}

pub async fn log_after_is_the_whole_log_unfiltered(store: Arc<dyn Store>) {
    let f = Fixture::new(store.clone()).await;
    let other = Fixture::with_slug(store.clone(), "globex").await;
    let (ws, theirs) = (f.ws_id(), other.ws_id());
    let start = f.last_seq().await;
    let their_start = other.last_seq().await;
    let mut ours: Vec<Event> = Vec::new();
    let mut their: Vec<Event> = Vec::new();

    // Each step in `acme` is followed by one in `globex`, so the two logs interleave.
    let secret = store
        .create_channel(ws, &f.bob.id, new_channel(ChannelKind::Private, "secret"))
        .await
        .unwrap();
    ours.extend(secret.events);
    let secret = secret.value;
    let their_channel = store
        .create_channel(
            theirs,
            &other.owner.id,
            new_channel(ChannelKind::Private, "secret"),
        )
        .await
        .unwrap();
    their.extend(their_channel.events);
    let their_channel = their_channel.value;
    let added = store
        .add_members(ws, &secret.id, std::slice::from_ref(&f.cy.id))
        .await
        .unwrap();
    ours.extend(added.events);
    let posted = store
        .post_message(ws, new_message(&secret.id, &f.bob.id, "ada must not know"))
        .await
        .unwrap();
    ours.extend(posted.events);
    let their_post = new_message(&their_channel.id, &other.owner.id, "globex only");
    their.extend(store.post_message(theirs, their_post).await.unwrap().events);
    let dm = store
        .open_conversation(ws, &f.bob.id, &[f.bob.id.clone(), f.cy.id.clone()])
        .await
        .unwrap();
    ours.extend(dm.events);
    let dm = dm.value;
    let whisper = store
        .post_message(ws, new_message(&dm.id, &f.cy.id, "psst"))
        .await
        .unwrap();
    ours.extend(whisper.events);
    // Readers mark what others wrote, so each marker moves and appends an event.
    for (user, channel, seq) in [
        (&f.cy, &secret, posted.message.seq),
        (&f.bob, &dm, whisper.message.seq),
    ] {
        let marked = store.mark_read(ws, &channel.id, &user.id, seq).await;
        ours.extend(marked.unwrap().events);
    }
    let left = store.remove_member(ws, &secret.id, &f.cy.id).await.unwrap();
    ours.extend(left.events);
    let patch = UserPatch {
        display_name: Some(display_name("Bob B.")),
        ..UserPatch::default()
    };
    ours.extend(
        store
            .update_user(ws, &f.bob.id, patch)
            .await
            .unwrap()
            .events,
    );

    let read_markers: HashSet<&UserId> = ours
        .iter()
        .filter_map(|e| match &e.payload {
            EventPayload::ReadMarkerUpdated { user_id, .. } => Some(user_id),
            _ => None,
        })
        .collect();
    assert_eq!(
        read_markers.len(),
        2,
        "two users' read markers were committed"
    );
    assert!(ours.iter().any(|e| in_channel(e, &secret)));
    assert!(ours.iter().any(|e| in_channel(e, &dm)));

    let log = whole_log(&store, ws, start, 1000).await;
    assert_eq!(
        log, ours,
        "every committed event, private channels, DMs and everyone's read markers included, \
         and nothing of another workspace"
    );
    let their_log = whole_log(&store, theirs, their_start, 1000).await;
    assert_eq!(their_log, their, "and the other way round");
    let (rest, last_seq) = events_of(store.log_after(ws, f.last_seq().await, 10).await.unwrap());
    assert!(rest.is_empty());
    assert_eq!(last_seq, f.last_seq().await);
}

pub async fn log_after_pages_walk_the_log_once(store: Arc<dyn Store>) {
    let f = Fixture::new(store.clone()).await;
    let channel = f.channel(&f.owner, "general", &[&f.bob]).await;
    let hidden = f.private_channel(&f.bob, "hidden", &[&f.cy]).await;
    let start = f.last_seq().await;
    let mut committed = Vec::new();
    for i in 0..5 {
        let (target, author) = if i % 2 == 0 {
            (&channel, &f.owner)
        } else {
            (&hidden, &f.cy)
        };
        let message = new_message(&target.id, &author.id, &format!("m{i}"));
        let posted = store.post_message(f.ws_id(), message).await.unwrap();
        committed.extend(posted.events);
        // bob is in both channels and reads what the others wrote.
        let marked = store
            .mark_read(f.ws_id(), &target.id, &f.bob.id, posted.message.seq)
            .await
            .unwrap();
        committed.extend(marked.events);
    }
    assert_eq!(committed.len(), 10);

    for limit in [1, 3, 4, 10, 11] {
        let log = whole_log(&store, f.ws_id(), start, limit).await;
        assert_eq!(
            log, committed,
            "pages of {limit} walk every event exactly once, in order"
        );
    }
    // From the very beginning too: the whole log, in seq order, ends at the newest seq.
    let log = whole_log(&store, f.ws_id(), 0, 7).await;
    assert_strictly_increasing(&log);
    assert!(log.ends_with(&committed));
    assert_eq!(log.last().map(|e| e.seq), Some(f.last_seq().await));
}

pub async fn log_after_resyncs_ahead_of_the_log_or_behind_pruning(store: Arc<dyn Store>) {
    let f = Fixture::new(store.clone()).await;
    let channel = f.channel(&f.owner, "general", &[&f.bob]).await;
    let ws = f.ws_id();
    let last = f.last_seq().await;
    assert_eq!(
        store.log_after(ws, last + 1, 10).await.unwrap(),
        EventPage::ResyncRequired
    );
    assert_eq!(
        store.log_after(ws, last, 10).await.unwrap(),
        EventPage::Events {
            events: Vec::new(),
            last_seq: last
        }
    );

    let old = f.post(&channel, &f.bob, "old").await;
    tokio::time::sleep(Duration::from_millis(30)).await;
    let kept = store
        .post_message(ws, new_message(&channel.id, &f.bob.id, "kept"))
        .await
        .unwrap();
    let cut = kept.events[0].created_at;
    assert!(store.prune_events(cut).await.unwrap() > 0);

    assert_eq!(
        store.log_after(ws, 0, 10).await.unwrap(),
        EventPage::ResyncRequired
    );
    assert_eq!(
        store.log_after(ws, old.seq - 1, 10).await.unwrap(),
        EventPage::ResyncRequired,
        "an event after this point was pruned"
    );
    let (events, last_seq) = events_of(store.log_after(ws, old.seq, 10).await.unwrap());
    assert_eq!(events, kept.events);
    assert_eq!(last_seq, kept.message.seq);
}

pub async fn events_after_a_subscription_are_newer_than_it(store: Arc<dyn Store>) {
    let f = Fixture::new(store.clone()).await;
    let ws = f.ws_id();
    let general = f.channel(&f.owner, "general", &[&f.bob]).await;
    let sub = subscribe(&f, &f.bob).await;
    assert_eq!(sub.channel_ids, std::slice::from_ref(&general.id));

    let posted = store
        .post_message(
            ws,
            new_message(&general.id, &f.owner.id, "after subscribing"),
        )
        .await
        .unwrap();
    let created = store
        .create_channel(ws, &f.bob.id, new_channel(ChannelKind::Private, "fresh"))
        .await
        .unwrap();
    let new_events: Vec<Event> = posted.events.into_iter().chain(created.events).collect();
    for event in &new_events {
        assert!(
            event.seq > sub.last_seq,
            "{} at seq {} is not after the subscription's seq {}",
            event.payload.kind(),
            event.seq,
            sub.last_seq
        );
    }
    // What the gateway does next: follow the log from the subscription's seq.
    let (events, _) = events_of(store.log_after(ws, sub.last_seq, 100).await.unwrap());
    assert_eq!(events, new_events, "following from there misses nothing");
}

pub async fn subscription_is_one_snapshot_while_channels_are_created(store: Arc<dyn Store>) {
    const CHANNELS: usize = 30;
    let f = Fixture::new(store.clone()).await;
    let general = f.channel(&f.owner, "general", &[&f.bob]).await;
    // bob founds channel after channel while subscriptions are taken.
    let writer = {
        let (store, ws, bob) = (store.clone(), f.ws.id.clone(), f.bob.id.clone());
        tokio::spawn(async move {
            let mut joined = Vec::new();
            for i in 0..CHANNELS {
                let channel = new_channel(ChannelKind::Private, &format!("room-{i}"));
                let created = store.create_channel(&ws, &bob, channel).await.unwrap();
                let joined_at = created.events.iter().find_map(|e| match &e.payload {
                    EventPayload::MemberJoined { user_id, .. } if *user_id == bob => Some(e.seq),
                    _ => None,
                });
                joined.push((created.value.id, joined_at.expect("bob's member.joined")));
            }
            joined
        })
    };
    let mut subscriptions = Vec::new();
    while !writer.is_finished() {
        subscriptions.push(subscribe(&f, &f.bob).await);
        tokio::task::yield_now().await;
    }
    let joined = writer.await.unwrap();
    subscriptions.push(subscribe(&f, &f.bob).await);

    for sub in &subscriptions {
        // Exactly the channels bob had joined by the subscription's seq: one missing would
        // never be followed, one extra would have its joining events before the seq.
        let mut expected: Vec<ChannelId> = joined
            .iter()
            .filter(|(_, seq)| *seq <= sub.last_seq)
            .map(|(id, _)| id.clone())
            .chain([general.id.clone()])
            .collect();
        expected.sort();
        assert_eq!(sub.channel_ids, expected, "at seq {}", sub.last_seq);
    }
    assert_eq!(
        subscriptions.last().unwrap().channel_ids.len(),
        CHANNELS + 1
    );
}
