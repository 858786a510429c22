//! Background upkeep that runs in every node: pruning the event log past its retention.

use std::sync::Arc;
use std::time::Duration;

use hearth_core::Timestamp;
use hearth_core::store::Store;

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
