//! Recording how attempts ended, a few at a time.
//!
//! Every outcome used to be its own write (a job on SQLite's single writer, a transaction
//! on PostgreSQL), which under load cost the server about as much as the send that caused
//! it. Here the outcomes of one claimed batch gather as their attempts end and are written
//! together ([`finish_deliveries`](hearth_core::store::NotifyStore::finish_deliveries)):
//! at most [`FLUSH_AFTER`] after the first of them ended, as soon as [`FLUSH_AT`] are
//! waiting, or at once when the batch's last attempt ended. One write at a time:
//! outcomes that end while one is being written wait for the next.
//!
//! What a crash costs: a node that dies loses the outcomes not yet written, besides the
//! attempts in flight. Their deliveries stay pending under the lapsed lease and are tried
//! again, so a push that did arrive may arrive twice (it carries the same notification
//! id, `x-hearth-notification-id` for a webhook); none is lost. Those are the outcomes
//! that ended in the last [`FLUSH_AFTER`] plus one write's time, at most one claimed
//! batch's worth. When each outcome was its own write the window was that write's time
//! alone (its wait in the writer's queue included), so the difference is those few
//! milliseconds.

use std::time::Duration;

use hearth_core::id::DeliveryId;
use hearth_core::notify::{DeliveryOutcome, Lease};
use hearth_core::store::StoreError;
use tokio::sync::mpsc::UnboundedReceiver;
use tokio::time::{Instant, timeout_at};

use super::worker::Inner;

/// The longest an outcome waits for others before it is written.
pub(super) const FLUSH_AFTER: Duration = Duration::from_millis(5);
/// Outcomes written at once without waiting further.
const FLUSH_AT: usize = 32;

/// Writes the outcomes arriving on `finished` under `lease` (checked against the clock at
/// each write), until every sender is dropped and all are written. A write that fails
/// leaves its deliveries to be tried again once the lease lapses; the others are still
/// written, and the first error is returned at the end.
pub(super) async fn record(
    inner: &Inner,
    lease: &Lease,
    mut finished: UnboundedReceiver<(DeliveryId, DeliveryOutcome)>,
) -> Result<(), StoreError> {
    let mut failed = None;
    while let Some(first) = finished.recv().await {
        let mut batch = vec![first];
        let deadline = Instant::now() + FLUSH_AFTER;
        while batch.len() < FLUSH_AT {
            match timeout_at(deadline, finished.recv()).await {
                Ok(Some(outcome)) => batch.push(outcome),
                // The last attempt ended, or the first outcome waited long enough.
                Ok(None) | Err(_) => break,
            }
        }
        let now = inner.renewed_now(lease);
        // A delivery whose lease lapsed is not recorded (false): whoever holds it now
        // records its own attempt.
        if let Err(e) = inner.store.finish_deliveries(&now, &batch).await {
            failed.get_or_insert(e);
        }
    }
    failed.map_or(Ok(()), Err)
}
