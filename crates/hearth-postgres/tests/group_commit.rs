//! Group commit: writes of one workspace that arrive together share a transaction (see the
//! crate's `batch` module). What callers must not notice, except in throughput: each write
//! succeeds or fails on its own, seqs stay gap-free and in order, nothing is acknowledged
//! twice or lost, and a batcher does not outlive its workspace's traffic.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use futures::future::{BoxFuture, join_all};
use hearth_core::event::EventPayload;
use hearth_core::id::{ChannelId, MessageId};
use hearth_core::model::ChannelKind;
use hearth_core::store::StoreError;
use hearth_core::testing::{Fixture, events_of, new_channel, new_message};
use hearth_postgres::testing::ScratchDatabase;
use hearth_postgres::{PgOptions, PgStore};
use tokio::task::JoinSet;

async fn store(db: &ScratchDatabase) -> Arc<PgStore> {
    let options = PgOptions {
        max_connections: 4,
        ..Default::default()
    };
    Arc::new(PgStore::connect(db.url(), options).await.unwrap())
}

/// On a current-thread runtime the batcher cannot run until every write below is queued,
/// so they all land in one batch, in this order (the batcher checks its time limit only
/// after the run of posts that follows the failing write, when it has run its minimum).
#[tokio::test]
async fn a_failing_write_fails_alone_in_its_batch() {
    let db = ScratchDatabase::create().await;
    let pg = store(&db).await;
    let f = Fixture::new(pg.clone()).await;
    let general = f.channel(&f.owner, "general", &[&f.bob]).await;
    let ws = f.ws_id();
    let before = f.store.last_seq(ws).await.unwrap();
    let stats = pg.write_stats();

    let post = |text: &str| {
        f.store
            .post_message(ws, new_message(&general.id, &f.owner.id, text))
    };
    let calls: Vec<BoxFuture<'_, Result<Vec<i64>, StoreError>>> = vec![
        Box::pin(async { Ok(seqs(post("one").await?.events)) }),
        Box::pin(async { Ok(seqs(post("two, for @bob").await?.events)) }),
        // Fails on PostgreSQL's unique index, which aborts the transaction: without its
        // savepoint it would take the whole batch down.
        Box::pin(async {
            let channel = new_channel(ChannelKind::Public, "general");
            Ok(seqs(
                f.store.create_channel(ws, &f.bob.id, channel).await?.events,
            ))
        }),
        Box::pin(async { Ok(seqs(post("three").await?.events)) }),
        // Fails its checks in the middle of a run of posts written together.
        Box::pin(async {
            let lost = new_message(&ChannelId::generate(), &f.owner.id, "nowhere");
            Ok(seqs(f.store.post_message(ws, lost).await?.events))
        }),
        Box::pin(async { Ok(seqs(post("four").await?.events)) }),
    ];
    let results = join_all(calls).await;

    let after = pg.write_stats();
    assert_eq!(after.commits - stats.commits, 1, "not one batch: {after:?}");
    assert_eq!(after.jobs - stats.jobs, results.len() as u64);
    assert!(
        matches!(results[2], Err(StoreError::Conflict("name_taken"))),
        "{:?}",
        results[2]
    );
    assert!(
        matches!(results[4], Err(StoreError::NotFound)),
        "{:?}",
        results[4]
    );

    // The others committed, with the seqs right after one another, in submission order.
    let acknowledged: Vec<i64> = results
        .iter()
        .filter_map(|r| r.as_ref().ok())
        .flatten()
        .copied()
        .collect();
    let last = f.store.last_seq(ws).await.unwrap();
    assert_eq!(acknowledged, ((before + 1)..=last).collect::<Vec<_>>());
    let (events, _) = events_of(f.store.log_after(ws, before, 100).await.unwrap());
    assert_eq!(
        events.iter().map(|e| e.seq).collect::<Vec<_>>(),
        acknowledged
    );
    assert!(
        events
            .windows(2)
            .all(|w| w[0].created_at <= w[1].created_at),
        "timestamps out of seq order"
    );

    // The failed channel left nothing behind; the mention written with the group counts.
    let bobs = f.store.list_user_channels(ws, &f.bob.id).await.unwrap();
    let names: Vec<_> = bobs.iter().map(|s| s.channel.name.clone()).collect();
    assert_eq!(bobs.len(), 1, "{names:?}");
    let mentions = bobs.iter().find(|s| s.channel.id == general.id).unwrap();
    assert_eq!(mentions.mention_count, 1);
}

fn seqs(events: Vec<hearth_core::event::Event>) -> Vec<i64> {
    events.into_iter().map(|e| e.seq).collect()
}

const TASKS: usize = 32;
const POSTS: usize = 20;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_posts_are_each_logged_once_in_order() {
    let db = ScratchDatabase::create().await;
    let pg = store(&db).await;
    let f = Fixture::new(pg.clone()).await;
    let general = f.channel(&f.owner, "general", &[&f.bob]).await;
    let random = f.channel(&f.owner, "random", &[&f.bob]).await;
    let before = f.store.last_seq(f.ws_id()).await.unwrap();
    let stats = pg.write_stats();

    let mut tasks = JoinSet::new();
    for t in 0..TASKS {
        let (store, ws) = (f.store.clone(), f.ws.id.clone());
        let channel = [&general, &random][t % 2].id.clone();
        let author = [&f.owner, &f.bob][t % 2].id.clone();
        tasks.spawn(async move {
            let mut mine = Vec::new();
            for i in 0..POSTS {
                let mut message = new_message(&channel, &author, &format!("task {t} post {i}"));
                message.client_msg_id = Some(format!("{t}-{i}"));
                // Every third post is sent twice at once, as a client retrying too early:
                // usually in one batch, where the second must find the first; exactly one
                // of them stores the message.
                let posted = if i % 3 == 0 {
                    let (a, b) = tokio::join!(
                        store.post_message(&ws, message.clone()),
                        store.post_message(&ws, message)
                    );
                    let (a, b) = (a.unwrap(), b.unwrap());
                    assert_eq!(a.message.id, b.message.id);
                    assert!(a.replayed != b.replayed, "stored twice or not at all");
                    if a.replayed { b } else { a }
                } else {
                    let posted = store.post_message(&ws, message).await.unwrap();
                    assert!(!posted.replayed);
                    posted
                };
                mine.push((posted.message.seq, posted.message.id));
            }
            mine
        });
    }
    let mut acknowledged: HashMap<MessageId, i64> = HashMap::new();
    while let Some(mine) = tasks.join_next().await {
        let mine = mine.expect("posting task");
        // One task's posts, each sent after the previous was acknowledged, are in order.
        assert!(mine.windows(2).all(|w| w[0].0 < w[1].0), "{mine:?}");
        acknowledged.extend(mine.into_iter().map(|(seq, id)| (id, seq)));
    }
    assert_eq!(acknowledged.len(), TASKS * POSTS);

    // The log holds exactly the acknowledged messages, once each, at their seqs, gap-free.
    let (events, last_seq) = events_of(f.store.log_after(f.ws_id(), before, 10_000).await.unwrap());
    assert_eq!(last_seq, before + (TASKS * POSTS) as i64);
    for (n, event) in events.iter().enumerate() {
        assert_eq!(event.seq, before + 1 + n as i64, "the log has a hole");
        let EventPayload::MessageCreated { message } = &event.payload else {
            panic!("unexpected event {event:?}");
        };
        assert_eq!(acknowledged.get(&message.id), Some(&event.seq));
    }
    assert_eq!(events.len(), TASKS * POSTS);

    // They shared transactions.
    let after = pg.write_stats();
    let (commits, jobs) = (after.commits - stats.commits, after.jobs - stats.jobs);
    eprintln!("{jobs} writes in {commits} commits");
    assert!(
        commits < jobs,
        "no batching: {jobs} writes in {commits} commits"
    );
}

#[tokio::test]
async fn batchers_of_idle_workspaces_exit() {
    let db = ScratchDatabase::create().await;
    let pg = store(&db).await;
    let f = Fixture::new(pg.clone()).await;
    let other = Fixture::with_slug(pg.clone(), "globex").await;
    f.channel(&f.owner, "general", &[]).await;
    other.channel(&other.owner, "general", &[]).await;
    assert_eq!(pg.write_stats().batchers, 2);

    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while pg.write_stats().batchers > 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "batchers never exited"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // And writing again starts a new one.
    f.channel(&f.owner, "random", &[]).await;
    assert_eq!(pg.write_stats().batchers, 1);
}
