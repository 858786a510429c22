//! Writes racing each other: seqs stay unique and in commit order, retries and
//! get-or-create stay single, uniqueness rules hold under contention.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::task::JoinSet;

use crate::Timestamp;
use crate::event::EventPayload;
use crate::id::MessageId;
use crate::model::{ChannelKind, Message, Role};
use crate::store::{HistoryRange, Store, StoreError};

use super::*;

const WRITERS: usize = 8;
const POSTS_EACH: usize = 25;

pub async fn concurrent_posts_get_distinct_seqs_in_commit_order(store: Arc<dyn Store>) {
    let f = Fixture::new(store.clone()).await;
    let channel = f.channel(&f.owner, "general", &[&f.bob, &f.cy]).await;
    let start = f.last_seq().await;
    let done = Arc::new(AtomicBool::new(false));

    // A reader polling the log while it grows must never be handed a seq at or below one
    // it has already seen: that event would have committed behind its back.
    let reader = {
        let (store, ws, reader, done) = (
            store.clone(),
            f.ws.id.clone(),
            f.owner.id.clone(),
            done.clone(),
        );
        tokio::spawn(async move {
            let mut after = start;
            let mut seen: Vec<MessageId> = Vec::new();
            loop {
                let finished = done.load(Ordering::Acquire);
                let page = store.events_after(&ws, &reader, after, 50).await.unwrap();
                let (events, last_seq) = events_of(page);
                for event in &events {
                    assert!(
                        event.seq > after,
                        "seq {} handed out after {after}",
                        event.seq
                    );
                    after = event.seq;
                    if let EventPayload::MessageCreated { message } = &event.payload {
                        seen.push(message.id.clone());
                    }
                }
                assert!(last_seq >= after);
                after = last_seq;
                if events.is_empty() {
                    if finished {
                        return seen;
                    }
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
            }
        })
    };

    let authors = [f.owner.id.clone(), f.bob.id.clone(), f.cy.id.clone()];
    let mut writers = JoinSet::new();
    for w in 0..WRITERS {
        let (store, ws, channel) = (store.clone(), f.ws.id.clone(), channel.id.clone());
        let author = authors[w % authors.len()].clone();
        writers.spawn(async move {
            let mut posted = Vec::new();
            for i in 0..POSTS_EACH {
                let message = new_message(&channel, &author, &format!("writer {w} post {i}"));
                let result = store.post_message(&ws, message).await;
                let result = result.unwrap_or_else(|e| panic!("writer {w} post {i}: {e:?}"));
                assert_eq!(result.events[0].seq, result.message.seq);
                posted.push(result.message);
            }
            posted
        });
    }
    let mut posted: Vec<Message> = Vec::new();
    while let Some(batch) = writers.join_next().await {
        posted.extend(batch.expect("writer task"));
    }
    done.store(true, Ordering::Release);
    let seen_live = reader.await.expect("reader task");

    assert_eq!(posted.len(), WRITERS * POSTS_EACH);
    let seqs: HashSet<i64> = posted.iter().map(|m| m.seq).collect();
    assert_eq!(seqs.len(), posted.len(), "every message has its own seq");

    let (events, _) = f.events(&f.owner, start).await;
    assert_strictly_increasing(&events);
    let created: Vec<(i64, MessageId)> = events
        .iter()
        .filter_map(|e| match &e.payload {
            EventPayload::MessageCreated { message } => Some((e.seq, message.id.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(
        created.len(),
        posted.len(),
        "each message's event exactly once"
    );
    let by_id: HashSet<(i64, MessageId)> = posted.iter().map(|m| (m.seq, m.id.clone())).collect();
    assert_eq!(created.iter().cloned().collect::<HashSet<_>>(), by_id);

    let live: HashSet<&MessageId> = seen_live.iter().collect();
    assert_eq!(
        live.len(),
        seen_live.len(),
        "the live reader saw no duplicates"
    );
    let missed: Vec<_> = posted
        .iter()
        .filter(|m| !live.contains(&m.id))
        .map(|m| m.seq)
        .collect();
    assert!(missed.is_empty(), "the live reader skipped seqs {missed:?}");
}

/// One connection's sends in flight: queued one after another without waiting for their
/// commits, they are stored in the order queued, whatever order their commits are awaited
/// in, on every path a post takes (top-level, thread reply, a retry of a known key).
pub async fn queued_posts_are_stored_in_the_order_queued(store: Arc<dyn Store>) {
    let f = Fixture::new(store.clone()).await;
    let channel = f.channel(&f.owner, "general", &[&f.bob]).await;
    let root = f.post(&channel, &f.bob, "a thread").await;
    let mut queued = Vec::new();
    for i in 0..30 {
        let mut send = new_message(&channel.id, &f.owner.id, &format!("in flight {i}"));
        send.client_msg_id = Some(format!("key-{i}"));
        if i % 5 == 3 {
            send.thread_root_id = Some(root.id.clone());
        }
        queued.push((i, store.queue_post(f.ws_id(), send).await.expect("queued")));
    }
    // A retry of the first key, queued behind the rest: the original comes back.
    let mut retry = new_message(&channel.id, &f.owner.id, "in flight 0");
    retry.client_msg_id = Some("key-0".to_owned());
    let retry = store.queue_post(f.ws_id(), retry).await.expect("queued");

    let mut seqs = vec![0; queued.len()];
    for (i, post) in queued.into_iter().rev() {
        let posted = post.await.expect("committed");
        assert!(!posted.replayed);
        assert_eq!(posted.message.text, format!("in flight {i}"));
        seqs[i] = posted.message.seq;
    }
    assert!(
        seqs.windows(2).all(|pair| pair[0] < pair[1]),
        "seqs follow the order queued: {seqs:?}"
    );
    let retry = retry.await.expect("the retry is answered");
    assert!(retry.replayed && retry.events.is_empty());
    assert_eq!(retry.message.seq, seqs[0]);

    let range = HistoryRange::After {
        after: 0,
        limit: 50,
    };
    let texts: Vec<String> = store
        .list_messages(f.ws_id(), &channel.id, range)
        .await
        .unwrap()
        .messages
        .into_iter()
        .map(|m| m.text)
        .collect();
    let mut expected = vec!["a thread".to_owned()];
    expected.extend(
        (0..30)
            .filter(|i| i % 5 != 3)
            .map(|i| format!("in flight {i}")),
    );
    assert_eq!(texts, expected);
}

pub async fn concurrent_retries_store_one_message(store: Arc<dyn Store>) {
    let f = Fixture::new(store.clone()).await;
    let channel = f.channel(&f.owner, "general", &[]).await;
    let mut send = new_message(&channel.id, &f.owner.id, "sent on a flaky network");
    send.client_msg_id = Some("retry-me".to_owned());
    let mut tasks = JoinSet::new();
    for _ in 0..WRITERS {
        let (store, ws, send) = (store.clone(), f.ws.id.clone(), send.clone());
        tasks.spawn(async move { store.post_message(&ws, send).await });
    }
    let mut results = Vec::new();
    while let Some(result) = tasks.join_next().await {
        results.push(result.expect("task").expect("every retry succeeds"));
    }
    let originals = results.iter().filter(|p| !p.replayed).count();
    assert_eq!(originals, 1, "exactly one send stored the message");
    let ids: HashSet<_> = results.iter().map(|p| p.message.id.clone()).collect();
    assert_eq!(ids.len(), 1, "every retry returned the same message");
    let events: usize = results.iter().map(|p| p.events.len()).sum();
    assert_eq!(events, 1);
    let range = HistoryRange::After {
        after: 0,
        limit: 50,
    };
    let history = store
        .list_messages(f.ws_id(), &channel.id, range)
        .await
        .unwrap();
    assert_eq!(history.messages.len(), 1);
}

pub async fn concurrent_get_or_create_and_uniqueness(store: Arc<dyn Store>) {
    let f = Fixture::new(store.clone()).await;
    let expires = Timestamp::now().plus_secs(3600);
    let (_, code) = f
        .invite("for dee", Some("dee@example.test"), Role::Member, expires)
        .await;
    let mut dms = JoinSet::new();
    let mut channels = JoinSet::new();
    let mut signups = JoinSet::new();
    for i in 0..WRITERS {
        let (store, ws) = (store.clone(), f.ws.id.clone());
        let (a, b) = (f.owner.id.clone(), f.bob.id.clone());
        let people = if i % 2 == 0 { vec![a, b] } else { vec![b, a] };
        dms.spawn(async move { store.open_conversation(&ws, &people[0], &people).await });

        let (store, ws, creator) = (f.store.clone(), f.ws.id.clone(), f.cy.id.clone());
        let input = new_channel(ChannelKind::Public, "general");
        channels.spawn(async move { store.create_channel(&ws, &creator, input).await });

        let (store, ws, code) = (f.store.clone(), f.ws.id.clone(), code.clone());
        let user = new_user("dee@example.test", Role::Member);
        signups.spawn(async move { store.redeem_invite(&ws, &code, user).await });
    }

    let mut dm_ids = HashSet::new();
    while let Some(result) = dms.join_next().await {
        dm_ids.insert(result.expect("task").expect("open_conversation").value.id);
    }
    assert_eq!(dm_ids.len(), 1, "one conversation for one set of people");

    let mut created = 0;
    while let Some(result) = channels.join_next().await {
        match result.expect("task") {
            Ok(_) => created += 1,
            Err(StoreError::Conflict("name_taken")) => {}
            Err(other) => panic!("create_channel race: expected name_taken, got {other:?}"),
        }
    }
    assert_eq!(created, 1, "one channel per name");

    let mut redeemed = 0;
    while let Some(result) = signups.join_next().await {
        match result.expect("task") {
            Ok(_) => redeemed += 1,
            // Losers may be told the invite is used up or that the address just signed up.
            Err(StoreError::Invalid("invalid_invite") | StoreError::Conflict("email_taken")) => {}
            Err(other) => panic!("redeem_invite race: got {other:?}"),
        }
    }
    assert_eq!(redeemed, 1, "a single-use invite is used once");

    let mine = store
        .list_user_channels(f.ws_id(), &f.bob.id)
        .await
        .unwrap();
    assert_eq!(
        mine.len(),
        1,
        "bob is in exactly one conversation: {mine:?}"
    );
    assert_eq!(
        store
            .list_user_channels(f.ws_id(), &f.cy.id)
            .await
            .unwrap()
            .len(),
        1
    );
}
