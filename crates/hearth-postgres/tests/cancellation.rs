//! Calls given up on part-way, as when a client disconnects or a request times out: the
//! caller's future is dropped at whatever point it had reached. The store must come out
//! of it whole: no pooled connection left inside a transaction (sqlx 0.9.0 leaves one if
//! a `BEGIN` is cancelled in flight, transact-rs/sqlx#4393, and the next write's `BEGIN`
//! is then ignored, so it runs inside the leftover read-only snapshot), and no write half
//! done.

use std::sync::Arc;
use std::time::Duration;

use hearth_core::event::EventPayload;
use hearth_core::store::{HistoryRange, Store};
use hearth_core::testing::{Fixture, events_of, new_message};
use hearth_postgres::testing::ScratchDatabase;
use hearth_postgres::{PgOptions, PgStore};
use tokio::time::timeout;

const ROUNDS: u64 = 300;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_given_up_on_leave_no_transaction_behind() {
    let db = ScratchDatabase::create().await;
    // One connection, so every call after one given up on gets the same connection.
    let options = PgOptions {
        max_connections: 1,
        ..Default::default()
    };
    let store: Arc<dyn Store> = Arc::new(PgStore::connect(db.url(), options).await.unwrap());
    let f = Fixture::new(store.clone()).await;
    let channel = f.channel(&f.owner, "general", &[]).await;
    let ws = f.ws_id();

    let mut acknowledged = Vec::new();
    for i in 0..ROUNDS {
        // From nothing to a few round trips: every point of a call gets its turn.
        let patience = Duration::from_micros(150 * (i % 20));
        let _ = timeout(patience, store.log_after(ws, 0, 10)).await;
        let abandoned = new_message(&channel.id, &f.bob.id, &format!("abandoned {i}"));
        let _ = timeout(patience, store.post_message(ws, abandoned)).await;

        let kept = new_message(&channel.id, &f.owner.id, &format!("kept {i}"));
        let posted = store.post_message(ws, kept).await;
        let posted = posted.unwrap_or_else(|e| panic!("a write after round {i}: {e:?}"));
        acknowledged.push(posted.message.id);
    }

    // Every acknowledged write is there, and every message in the log is whole: each
    // message.created event has its message, each message its event.
    let history = store
        .list_messages(
            ws,
            &channel.id,
            HistoryRange::After {
                after: 0,
                limit: 1000,
            },
        )
        .await
        .unwrap()
        .messages;
    for id in &acknowledged {
        assert!(history.iter().any(|m| m.id == *id), "lost {id:?}");
    }
    let (events, _) = events_of(store.log_after(ws, 0, 10_000).await.unwrap());
    let created: Vec<_> = events
        .iter()
        .filter_map(|e| match &e.payload {
            EventPayload::MessageCreated { message } => Some((e.seq, message.id.clone())),
            _ => None,
        })
        .collect();
    let stored: Vec<_> = history.iter().map(|m| (m.seq, m.id.clone())).collect();
    assert_eq!(created, stored, "messages and their events disagree");
    for (n, event) in events.iter().enumerate() {
        assert_eq!(event.seq, n as i64 + 1, "the log has a hole");
    }
}
