//! Seq order across nodes: writers on separate `PgStore`s (separate pools, as on separate
//! server nodes) write into one workspace at once while readers follow its log. No reader
//! may ever see `last_seq` go backwards, nor a gap in the log that fills in later: a
//! fan-out node that read up to seq N would never look below N again, so an event
//! committed there afterwards would be lost to every connection it serves.
//!
//! One node's callers give up on most of their calls part-way (a timeout drops the
//! future), as disconnecting clients do: a write given up on must still commit whole or
//! not at all, leaving no hole, and a read given up on must not leave its pooled
//! connection inside a transaction that the node's next write would run in.

use std::sync::Arc;
use std::time::Duration;

use hearth_core::id::{ChannelId, MessageId, UserId, WorkspaceId};
use hearth_core::store::{Store, StoreError};
use hearth_core::testing::{Fixture, emoji, events_of, new_message};
use hearth_postgres::testing::ScratchDatabase;
use hearth_postgres::{PgOptions, PgStore};
use tokio::task::JoinSet;
use tokio::time::Instant;

/// Writer nodes, each with its own pool.
const WRITERS: usize = 4;
/// How long the writers keep writing.
const WRITING: Duration = Duration::from_secs(3);
/// Page size for reading the log back.
const PAGE: u32 = 500;

async fn node(db: &ScratchDatabase) -> Arc<dyn Store> {
    let options = PgOptions {
        max_connections: 2,
        ..Default::default()
    };
    Arc::new(PgStore::connect(db.url(), options).await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn seqs_follow_commit_order_across_nodes() {
    let db = ScratchDatabase::create().await;
    let f = Fixture::new(node(&db).await).await;
    let channel = f.channel(&f.owner, "general", &[&f.bob, &f.cy]).await;
    let root = f
        .post(&channel, &f.owner, "the thread everyone replies to")
        .await;
    let authors = [f.owner.id.clone(), f.bob.id.clone(), f.cy.id.clone()];
    let deadline = Instant::now() + WRITING;

    let mut writers = JoinSet::new();
    for w in 0..WRITERS {
        let store = node(&db).await;
        let (ws, channel, root) = (f.ws.id.clone(), channel.id.clone(), root.id.clone());
        let author = authors[w % authors.len()].clone();
        // The last writer gives up on most of its writes and reads part-way.
        let impatient = w == WRITERS - 1;
        writers.spawn(async move {
            let mut acknowledged = 0;
            let mut i = 0;
            while Instant::now() < deadline {
                let write = write_one(&*store, &ws, &channel, &root, &author, w, i);
                i += 1;
                if impatient {
                    let patience = Duration::from_micros(500 * (i % 8) as u64);
                    if let Ok(result) = tokio::time::timeout(patience, write).await {
                        result.unwrap_or_else(|e| panic!("writer {w} write {i}: {e:?}"));
                        acknowledged += 1;
                    }
                    // A snapshot read given up on, on the same pool as the writes.
                    let read = store.log_after(&ws, 0, 10);
                    let _ = tokio::time::timeout(patience, read).await;
                } else {
                    write
                        .await
                        .unwrap_or_else(|e| panic!("writer {w} write {i}: {e:?}"));
                    acknowledged += 1;
                }
            }
            acknowledged
        });
    }

    let mut readers = JoinSet::new();
    for _ in 0..2 {
        let (store, ws) = (node(&db).await, f.ws.id.clone());
        readers.spawn(async move { whole_log_reader(&*store, &ws, deadline).await });
        let (store, ws) = (node(&db).await, f.ws.id.clone());
        readers.spawn(async move { follower(&*store, &ws, deadline).await });
    }

    let mut acknowledged = 0;
    while let Some(count) = writers.join_next().await {
        acknowledged += count.expect("writer task");
    }
    let mut checks = 0;
    while let Some(count) = readers.join_next().await {
        checks += count.expect("reader task");
    }
    assert!(
        acknowledged > 50,
        "the writers barely wrote: {acknowledged}"
    );
    assert!(checks > 20, "the readers barely read: {checks}");

    // The writes the impatient writer gave up on may still be committing, so the log can
    // grow during this read: it must hold at least every seq up to the last_seq read
    // before it, and no more than the last_seq read after it.
    let before = f.store.last_seq(f.ws_id()).await.unwrap();
    let seqs = read_log(&*f.store, f.ws_id(), before).await;
    let after = f.store.last_seq(f.ws_id()).await.unwrap();
    assert!(seqs.len() as i64 <= after, "events past last_seq {after}");
    eprintln!("{acknowledged} writes acknowledged, {after} events, {checks} reader checks");
}

/// One write of a mix: a post, a reply (two events in one transaction), a reaction.
async fn write_one(
    store: &dyn Store,
    ws: &WorkspaceId,
    channel: &ChannelId,
    root: &MessageId,
    author: &UserId,
    writer: usize,
    i: usize,
) -> Result<(), StoreError> {
    let body = format!("writer {writer} write {i}");
    match i % 3 {
        0 => {
            store
                .post_message(ws, new_message(channel, author, &body))
                .await?;
        }
        1 => {
            let mut reply = new_message(channel, author, &body);
            reply.thread_root_id = Some(root.clone());
            store.post_message(ws, reply).await?;
        }
        _ => {
            let emoji = emoji(["tada", "eyes", "fire"][(i / 3) % 3]);
            store.remove_reaction(ws, root, author, &emoji).await?;
            store.add_reaction(ws, root, author, &emoji).await?;
        }
    }
    Ok(())
}

/// Reads `last_seq`, then the whole log from the start, over and over: every seq up to the
/// one just seen must be there. Returns how many times it checked.
async fn whole_log_reader(store: &dyn Store, ws: &WorkspaceId, deadline: Instant) -> usize {
    let mut newest = 0;
    let mut checks = 0;
    // One more round after the writers stop, to check the final state too.
    while Instant::now() < deadline + Duration::from_millis(200) {
        let seen = store.last_seq(ws).await.unwrap();
        assert!(seen >= newest, "last_seq went back from {newest} to {seen}");
        newest = seen;
        let seqs = read_log(store, ws, seen).await;
        assert!(seqs.len() as i64 >= seen);
        checks += 1;
    }
    checks
}

/// Follows the log as a fan-out node does, resuming from the `last_seq` of each page: the
/// next event must always be exactly the next seq. Returns how many pages it read.
async fn follower(store: &dyn Store, ws: &WorkspaceId, deadline: Instant) -> usize {
    let mut after = 0;
    let mut pages = 0;
    while Instant::now() < deadline + Duration::from_millis(200) {
        let (events, last_seq) = events_of(store.log_after(ws, after, PAGE).await.unwrap());
        for event in &events {
            assert_eq!(event.seq, after + 1, "the log jumped from seq {after}");
            after = event.seq;
        }
        assert!(
            last_seq >= after,
            "page ends at {after} but says {last_seq}"
        );
        // Resuming from last_seq skips nothing only because no seq at or below it can
        // still commit; the next page checks that.
        after = last_seq;
        pages += 1;
        if events.is_empty() {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }
    pages
}

/// The seqs of the log from the start, page by page, at least through `through`; panics
/// unless they are exactly 1, 2, 3, ... with none missing.
async fn read_log(store: &dyn Store, ws: &WorkspaceId, through: i64) -> Vec<i64> {
    let mut seqs = Vec::new();
    let mut after = 0;
    loop {
        let (events, last_seq) = events_of(store.log_after(ws, after, PAGE).await.unwrap());
        for event in &events {
            assert_eq!(
                event.seq,
                seqs.len() as i64 + 1,
                "seq {} missing while last_seq was {through}",
                seqs.len() + 1
            );
            seqs.push(event.seq);
        }
        after = last_seq;
        if events.is_empty() || after >= through {
            break;
        }
    }
    assert!(
        seqs.len() as i64 >= through,
        "the log ends at {} but last_seq was {through}",
        seqs.len()
    );
    seqs
}
