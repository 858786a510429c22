//! Background upkeep that runs in every node: pruning the event log past its retention,
//! indexing for search the messages stored without an index row, and removing deleted
//! files' bytes from storage.

use std::sync::Arc;
use std::time::Duration;

use hearth_core::Timestamp;
use hearth_core::store::Store;

use crate::files::Files;

/// How often the log is pruned. Retention is measured in days, so hourly is plenty.
const PRUNE_EVERY: Duration = Duration::from_secs(3600);

/// Prunes events older than `retention` now and then every hour, forever. Spawn it and
/// abort the task on shutdown; a prune interrupted mid-way is rolled back by the store.
pub async fn prune_events_forever(store: Arc<dyn Store>, retention: Duration) {
    let mut ticker = tokio::time::interval(PRUNE_EVERY);
    loop {
        ticker.tick().await;
        let secs = i64::try_from(retention.as_secs()).unwrap_or(i64::MAX);
        let before = Timestamp::now().plus_secs(-secs);
        match store.prune_events(before).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(pruned = n, "pruned events past retention"),
            Err(e) => tracing::warn!(error = %e, "pruning the event log failed"),
        }
    }
}

/// Pauses between backlog steps, so live writes go between them.
const INDEX_PAUSE: Duration = Duration::from_millis(5);
/// How long to wait after a failed step before trying again.
const INDEX_RETRY: Duration = Duration::from_secs(10);

/// Indexes the search backlog in steps until it is empty, then returns. A database
/// copied by `migrate-data`, upgraded from before search, or filled by a data generator
/// is searchable as far as this has come; every message written while it runs is
/// indexed with its write.
pub async fn index_search_backlog(store: Arc<dyn Store>) {
    let started = std::time::Instant::now();
    let mut indexed = 0u64;
    loop {
        match store.index_search_backlog().await {
            Ok(0) => break,
            Ok(n) => {
                indexed += n;
                if indexed % 100_000 < n {
                    tracing::info!(indexed, "indexing messages for search");
                }
                tokio::time::sleep(INDEX_PAUSE).await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "indexing messages for search failed; retrying");
                tokio::time::sleep(INDEX_RETRY).await;
            }
        }
    }
    if indexed > 0 {
        let secs = started.elapsed().as_secs_f64();
        tracing::info!(indexed, secs, "search index complete");
    }
}

/// How often deleted files' bytes are removed.
const PURGE_EVERY: Duration = Duration::from_secs(60);
/// How long an uploaded file may stay unshared before it is collected.
pub const ORPHAN_AFTER: Duration = Duration::from_secs(24 * 3600);
/// Files purged per step.
const PURGE_STEP: u32 = 100;

/// Every minute, removes the bytes of deleted files (and of uploads never shared within a
/// day) from storage, in steps, forever. Several nodes may run it at once: removing bytes
/// twice is harmless, and a file is forgotten only after its bytes are gone.
pub async fn purge_files_forever(store: Arc<dyn Store>, files: Files) {
    let mut ticker = tokio::time::interval(PURGE_EVERY);
    loop {
        ticker.tick().await;
        // A full step may leave more behind; a short one means the backlog is done.
        loop {
            match files.purge(&*store, ORPHAN_AFTER, PURGE_STEP).await {
                Ok(0) => break,
                Ok(n) => {
                    tracing::info!(purged = n, "removed deleted files' bytes");
                    if n < PURGE_STEP as usize {
                        break;
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "purging deleted files failed");
                    break;
                }
            }
        }
    }
}
