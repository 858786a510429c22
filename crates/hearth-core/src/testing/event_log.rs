//! The event log: seqs in commit order, paging that never skips, and resync at both
//! edges of the log (ahead of it, or behind what was pruned).

use std::sync::Arc;
use std::time::Duration;

use crate::Timestamp;
use crate::event::EventPage;
use crate::mention::Mentions;
use crate::model::ChannelKind;
use crate::store::{PRUNE_STEP, Store, UserPatch};

use super::*;

pub async fn seqs_strictly_increase_and_match_committed_events(store: Arc<dyn Store>) {
    let f = Fixture::new(store.clone()).await;
    let ws = f.ws_id();
    let before = f.last_seq().await;
    let mut committed = Vec::new();
    let channel = store
        .create_channel(ws, &f.owner.id, new_channel(ChannelKind::Public, "general"))
        .await;
    let channel = channel.unwrap();
    committed.extend(channel.events);
    let channel = channel.value;
    committed.extend(
        store
            .add_members(ws, &channel.id, std::slice::from_ref(&f.bob.id))
            .await
            .unwrap()
            .events,
    );
    let root = store
        .post_message(ws, new_message(&channel.id, &f.bob.id, "hi"))
        .await
        .unwrap();
    committed.extend(root.events);
    let mut reply = new_message(&channel.id, &f.owner.id, "hello");
    reply.thread_root_id = Some(root.message.id.clone());
    committed.extend(store.post_message(ws, reply).await.unwrap().events);
    let id = &root.message.id;
    committed.extend(
        store
            .add_reaction(ws, id, &f.owner.id, &emoji("wave"))
            .await
            .unwrap()
            .events,
    );
    let edit = store
        .edit_message(ws, id, text("hi all"), Mentions::default())
        .await
        .unwrap();
    committed.extend(edit.events);
    committed.extend(
        store
            .mark_read(ws, &channel.id, &f.owner.id, root.message.seq)
            .await
            .unwrap()
            .events,
    );
    let patch = UserPatch {
        display_name: Some(display_name("Ada L.")),
        ..UserPatch::default()
    };
    committed.extend(
        store
            .update_user(ws, &f.owner.id, patch)
            .await
            .unwrap()
            .events,
    );
    committed.extend(store.delete_message(ws, id).await.unwrap().events);

    assert_eq!(committed.len(), 11);
    assert!(committed[0].seq > before);
    assert_strictly_increasing(&committed);
    assert_eq!(f.last_seq().await, committed.last().unwrap().seq);
    let (seen, last_seq) = f.events(&f.owner, before).await;
    assert_eq!(
        seen, committed,
        "the log replays exactly what was committed, in order"
    );
    assert_eq!(last_seq, committed.last().unwrap().seq);
}

pub async fn events_after_pages_without_skipping(store: Arc<dyn Store>) {
    let f = Fixture::new(store.clone()).await;
    let channel = f.channel(&f.owner, "general", &[&f.bob]).await;
    let start = f.last_seq().await;
    let mut posted = Vec::new();
    for i in 0..7 {
        posted.push(f.post(&channel, &f.bob, &format!("m{i}")).await.id);
    }
    // Events ada may not see end the log.
    let hidden = f.private_channel(&f.bob, "hidden", &[]).await;
    f.post(&hidden, &f.bob, "not for ada").await;
    let end = f.last_seq().await;

    let mut after = start;
    let mut seen = Vec::new();
    loop {
        let page = store
            .events_after(f.ws_id(), &f.owner.id, after, 3)
            .await
            .unwrap();
        let (events, last_seq) = events_of(page);
        assert!(events.len() <= 3, "limit respected");
        assert!(
            events.iter().all(|e| e.seq > after),
            "only events after `after`"
        );
        assert_strictly_increasing(&events);
        if events.len() == 3 {
            assert_eq!(
                last_seq, events[2].seq,
                "a full page resumes right after its last event"
            );
        } else {
            assert_eq!(
                last_seq, end,
                "a partial page skips what the reader cannot see"
            );
        }
        seen.extend(events);
        if last_seq == end {
            break;
        }
        after = last_seq;
    }
    assert_eq!(created(&seen), posted, "every message once, in order");
    assert!(seen.iter().all(|e| in_channel(e, &channel)));
    let (rest, last_seq) = events_of(
        store
            .events_after(f.ws_id(), &f.owner.id, end, 3)
            .await
            .unwrap(),
    );
    assert!(rest.is_empty());
    assert_eq!(last_seq, end);
}

pub async fn resync_when_after_is_newer_than_log(store: Arc<dyn Store>) {
    let f = Fixture::new(store.clone()).await;
    let channel = f.channel(&f.owner, "general", &[]).await;
    let message = f.post(&channel, &f.owner, "the newest event").await;
    let last = f.last_seq().await;
    assert_eq!(last, message.seq);
    let ahead = store
        .events_after(f.ws_id(), &f.owner.id, last + 1, 10)
        .await
        .unwrap();
    assert_eq!(ahead, EventPage::ResyncRequired);
    let caught_up = store
        .events_after(f.ws_id(), &f.owner.id, last, 10)
        .await
        .unwrap();
    assert_eq!(
        caught_up,
        EventPage::Events {
            events: Vec::new(),
            last_seq: last
        }
    );
}

pub async fn prune_forces_resync_only_before_pruned_seq(store: Arc<dyn Store>) {
    let f = Fixture::new(store.clone()).await;
    let other = Fixture::with_slug(store.clone(), "globex").await;
    let channel = f.channel(&f.owner, "general", &[&f.bob]).await;
    let post = |body: &'static str| {
        let (store, ws, message) = (
            store.clone(),
            f.ws.id.clone(),
            new_message(&channel.id, &f.bob.id, body),
        );
        async move { store.post_message(&ws, message).await.unwrap() }
    };
    let old: Vec<_> = vec![post("old 1").await, post("old 2").await];
    tokio::time::sleep(Duration::from_millis(30)).await;
    let kept: Vec<_> = vec![post("kept 1").await, post("kept 2").await];
    let cut = kept[0].events[0].created_at;
    assert!(
        old[1].events[0].created_at < cut,
        "the two batches have distinct times"
    );
    let last = f.last_seq().await;
    let (visible_before_cut, _) = f.events(&f.owner, 0).await;
    let visible_before_cut = visible_before_cut
        .iter()
        .filter(|e| e.created_at < cut)
        .count();

    let deleted = store.prune_events(cut).await.unwrap();
    assert!(
        deleted >= visible_before_cut as u64,
        "deleted {deleted} of at least {visible_before_cut}"
    );
    assert_eq!(
        store.prune_events(cut).await.unwrap(),
        0,
        "nothing older is left"
    );
    assert_eq!(f.last_seq().await, last);

    let from = |after: i64| store.events_after(f.ws_id(), &f.owner.id, after, 100);
    assert_eq!(from(0).await.unwrap(), EventPage::ResyncRequired);
    let pruned_seq = old[1].message.seq;
    assert_eq!(
        from(pruned_seq - 1).await.unwrap(),
        EventPage::ResyncRequired
    );
    let (events, last_seq) = events_of(from(pruned_seq).await.unwrap());
    assert_eq!(
        created(&events),
        [kept[0].message.id.clone(), kept[1].message.id.clone()]
    );
    assert_eq!(last_seq, last);
    // Pruning covers every workspace.
    let theirs = store
        .events_after(other.ws_id(), &other.owner.id, 0, 100)
        .await
        .unwrap();
    assert_eq!(theirs, EventPage::ResyncRequired);
}

/// A backlog of several [`PRUNE_STEP`]s goes in steps, all of it, and the resync
/// boundary ends up exactly after the last pruned event.
pub async fn prune_clears_a_backlog_larger_than_one_step(store: Arc<dyn Store>) {
    let f = Fixture::new(store.clone()).await;
    let channel = f.channel(&f.owner, "general", &[]).await;
    let backlog = 2 * PRUNE_STEP as usize + PRUNE_STEP as usize / 2;
    // 32 posters at once, so group commit makes this quick.
    let posters: Vec<_> = (0..32)
        .map(|poster| {
            let (store, ws) = (store.clone(), f.ws.id.clone());
            let (channel, owner) = (channel.id.clone(), f.owner.id.clone());
            tokio::spawn(async move {
                let mut newest = 0;
                for i in (poster..backlog).step_by(32) {
                    let message = new_message(&channel, &owner, &format!("old {i}"));
                    newest =
                        newest.max(store.post_message(&ws, message).await.unwrap().message.seq);
                }
                newest
            })
        })
        .collect();
    let mut newest_old = 0;
    for poster in posters {
        newest_old = newest_old.max(poster.await.unwrap());
    }
    tokio::time::sleep(Duration::from_millis(30)).await;
    let kept = f.post(&channel, &f.owner, "kept").await;
    let cut = store
        .message(f.ws_id(), &kept.id)
        .await
        .unwrap()
        .unwrap()
        .created_at;

    let deleted = store.prune_events(cut).await.unwrap();
    assert!(deleted >= backlog as u64, "deleted {deleted} of {backlog}");
    let from = |after: i64| store.events_after(f.ws_id(), &f.owner.id, after, 100);
    assert_eq!(
        from(newest_old - 1).await.unwrap(),
        EventPage::ResyncRequired
    );
    let (events, _) = events_of(from(newest_old).await.unwrap());
    assert_eq!(created(&events), std::slice::from_ref(&kept.id));
}

pub async fn seqs_are_not_reused_after_prune(store: Arc<dyn Store>) {
    let f = Fixture::new(store.clone()).await;
    let channel = f.channel(&f.owner, "general", &[]).await;
    let message = f.post(&channel, &f.owner, "soon pruned").await;
    let last = f.last_seq().await;
    let newest = store
        .message(f.ws_id(), &message.id)
        .await
        .unwrap()
        .unwrap()
        .created_at;
    let cut = Timestamp::now().plus_secs(1).max(Timestamp(newest.0 + 1));
    assert!(store.prune_events(cut).await.unwrap() > 0);

    let from = |after: i64| store.events_after(f.ws_id(), &f.owner.id, after, 100);
    assert_eq!(from(0).await.unwrap(), EventPage::ResyncRequired);
    assert_eq!(
        from(last).await.unwrap(),
        EventPage::Events {
            events: Vec::new(),
            last_seq: last
        }
    );
    assert_eq!(
        f.last_seq().await,
        last,
        "an empty log still knows its newest seq"
    );

    let next = f.post(&channel, &f.owner, "after the prune").await;
    assert!(
        next.seq > last,
        "seq {} reused after prune (last was {last})",
        next.seq
    );
    let (events, _) = events_of(from(last).await.unwrap());
    assert_eq!(created(&events), [next.id]);
}
