//! Re-checks read together: the deliverer's group read.
//!
//! Each push is re-checked just before it is sent (see [`super::deliver`]). The pushes of
//! a claimed batch go out many at a time, so many want their re-check at once. They ask
//! a [`Checks`] instead of the store: while one read is running, the asks that arrive
//! wait and go together in the next ([`NotifyStore::push_checks`]), as concurrent writes
//! share a commit. Under load one read serves a few dozen pushes, where each cost a
//! hand-off to a read connection's thread and a snapshot of its own; a lone push still
//! reads at once. One read runs at a time, holding one of the node's database slots
//! (`NotifySettings::db_concurrency`), so pushes yield to senders as before.
//!
//! [`NotifyStore::push_checks`]: hearth_core::store::NotifyStore::push_checks

use hearth_core::notify::{Notification, PushCheck};
use hearth_core::store::{StoreError, StoreResult};
use tokio::sync::{mpsc, oneshot};

use super::worker::Inner;

/// Re-checks read at most together.
const MAX_TOGETHER: usize = 64;

type Ask = (
    Notification,
    oneshot::Sender<StoreResult<Option<PushCheck>>>,
);

/// Where a batch's pushes ask for their re-check; cheap to clone.
#[derive(Clone)]
pub(super) struct Checks {
    asks: mpsc::UnboundedSender<Ask>,
}

impl Checks {
    /// The asking end, and the reader that answers until every [`Checks`] is dropped.
    pub(super) fn new(inner: &Inner) -> (Self, impl Future<Output = ()> + '_) {
        let (asks, waiting) = mpsc::unbounded_channel();
        (Self { asks }, read(inner, waiting))
    }

    /// What [`NotifyStore::push_check`](hearth_core::store::NotifyStore::push_check) says
    /// of `n` now.
    pub(super) async fn check(&self, n: &Notification) -> StoreResult<Option<PushCheck>> {
        let (reply, answer) = oneshot::channel();
        self.asks
            .send((n.clone(), reply))
            .map_err(|_| StoreError::Internal("the re-check reader stopped".to_owned()))?;
        answer
            .await
            .map_err(|_| StoreError::Internal("the re-check reader dropped an ask".to_owned()))?
    }
}

/// Answers the asks, those waiting at each moment together, until every asker is gone.
async fn read(inner: &Inner, mut waiting: mpsc::UnboundedReceiver<Ask>) {
    let mut asks: Vec<Ask> = Vec::new();
    while waiting.recv_many(&mut asks, MAX_TOGETHER).await > 0 {
        let ns: Vec<&Notification> = asks.iter().map(|(n, _)| n).collect();
        let read = {
            let _slot = inner.db_slots.acquire().await;
            inner.store.push_checks(&ns).await
        };
        let error = match read {
            Ok(checks) if checks.len() == asks.len() => {
                for ((_, reply), check) in asks.drain(..).zip(checks) {
                    let _ = reply.send(Ok(check));
                }
                continue;
            }
            Ok(checks) => format!("{} re-checks for {} pushes", checks.len(), asks.len()),
            Err(e) => e.to_string(),
        };
        for (_, reply) in asks.drain(..) {
            let _ = reply.send(Err(StoreError::Internal(error.clone())));
        }
    }
}
