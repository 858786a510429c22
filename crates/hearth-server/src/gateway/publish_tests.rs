//! [`PublishingStore`] publishes every committed post, including one whose caller stopped
//! waiting for its commit (a socket that closed with sends in flight).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use hearth_core::event::Event;
use hearth_core::id::WorkspaceId;
use hearth_core::secret::SecretHash;
use hearth_core::store::Store;
use hearth_core::testing::{Fixture, new_message};
use hearth_sqlite::{SqliteOptions, SqliteStore};

use super::bus::Bus;
use super::publish::PublishingStore;

/// A bus that keeps the seqs published to it.
#[derive(Default)]
struct Recorded(Mutex<Vec<i64>>);

impl Bus for Recorded {
    fn publish(&self, _ws: &WorkspaceId, events: Arc<[Event]>) {
        let mut seqs = self.0.lock().unwrap();
        seqs.extend(events.iter().map(|e| e.seq));
    }

    fn end_session(&self, _ws: &WorkspaceId, _session: SecretHash) {}
}

#[tokio::test]
async fn a_queued_post_is_published_though_nobody_awaits_its_commit() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("publish.db");
    let inner: Arc<dyn Store> = Arc::new(
        SqliteStore::open(&path, SqliteOptions::default())
            .await
            .unwrap(),
    );
    let f = Fixture::new(inner.clone()).await;
    let channel = f.channel(&f.owner, "general", &[]).await;
    let bus = Arc::new(Recorded::default());
    let store = PublishingStore::new(inner, bus.clone());

    let message = new_message(&channel.id, &f.owner.id, "sent, then the socket closed");
    let queued = store.queue_post(f.ws_id(), message).await.unwrap();
    drop(queued);

    let published = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            let first = bus.0.lock().unwrap().first().copied();
            if let Some(seq) = first {
                return seq;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("the committed post was published");
    assert_eq!(published, f.last_seq().await, "its message.created");
}
