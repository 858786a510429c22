//! [`Notifier`]: the node's notification workers and what the API needs of them.
//!
//! Two tasks per node: the expander (log to notifications, [`super::expand`]) and the
//! deliverer (notifications to targets, [`super::deliver`]). Each waits for a poke (a
//! send on this node) or the poll interval, then works until there is nothing left. The
//! tasks hold the notifier weakly and end once every handle (every `AppState`) is gone.
//!
//! Notification work must never slow sending down. Nothing of it runs on the send path,
//! but on a saturated node the workers would share its cores and database with the
//! senders, so the expander steps aside while sends queue: after each step that ran while
//! the node was busy with senders ([`NotifySettings::busy_sends`]), it rests long enough
//! to keep to [`NotifySettings::busy_share`] of the time. The deliverer follows: it only
//! delivers what the expander has made. Pushes then wait for the node to have room, but
//! not for ever: once the expander is [`NotifySettings::busy_max_lag`] behind the
//! messages, it stops resting until it has caught up that far.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use argon2::password_hash::rand_core::{OsRng, RngCore};
use hearth_core::Timestamp;
use hearth_core::notify::Lease;
use hearth_core::store::{Store, StoreError};
use tokio::sync::{Notify, OnceCell};
use tokio::time::Instant;

use super::email::Mailer;
use super::targets::http_client;
use super::webpush::VapidKeys;
use super::{Attention, NotifySettings};
use crate::gateway::hub::Hub;
use crate::sending::{Mark, Sending};

/// How often a resting expander looks whether the sends have stopped queueing.
const REST_SLICE: Duration = Duration::from_millis(50);

/// The name of the VAPID key pair among the server's secrets.
const VAPID_SECRET: &str = "vapid_pkcs8";

/// A handle to this node's notification workers; cheap to clone.
#[derive(Clone)]
pub struct Notifier {
    inner: Arc<Inner>,
}

pub(super) struct Inner {
    pub(super) store: Arc<dyn Store>,
    pub(super) hub: Hub,
    pub(super) attention: Arc<Attention>,
    /// The node's sends in flight, which the expander steps aside for.
    sending: Arc<Sending>,
    /// When the last message the expander went past was posted (milliseconds since the
    /// epoch; 0 before the first page): how far behind it is.
    expanded_through: AtomicI64,
    pub(super) settings: NotifySettings,
    /// This node's name in leases, random per start.
    pub(super) owner: String,
    pub(super) http: reqwest::Client,
    pub(super) mailer: Option<Mailer>,
    vapid: OnceCell<VapidKeys>,
    /// Deliveries reading the database at once (see `NotifySettings::db_concurrency`).
    pub(super) db_slots: tokio::sync::Semaphore,
    expand_wake: Notify,
    pub(super) deliver_wake: Notify,
}

impl Notifier {
    pub fn new(
        store: Arc<dyn Store>,
        hub: Hub,
        attention: Arc<Attention>,
        sending: Arc<Sending>,
        settings: NotifySettings,
    ) -> anyhow::Result<Self> {
        let mailer = match &settings.smtp {
            Some(smtp) => Some(Mailer::new(smtp)?),
            None => None,
        };
        let db_slots = tokio::sync::Semaphore::new(settings.db_concurrency.max(1));
        let inner = Inner {
            http: http_client(settings.targets, settings.request_timeout),
            owner: format!("node-{:016x}", OsRng.next_u64()),
            store,
            hub,
            attention,
            sending,
            expanded_through: AtomicI64::new(0),
            mailer,
            settings,
            vapid: OnceCell::new(),
            db_slots,
            expand_wake: Notify::new(),
            deliver_wake: Notify::new(),
        };
        Ok(Self {
            inner: Arc::new(inner),
        })
    }

    /// Starts the workers, if this node runs them. Call inside a Tokio runtime.
    pub fn start(&self) {
        if !self.inner.settings.workers {
            return;
        }
        let weak = Arc::downgrade(&self.inner);
        tokio::spawn(run(
            weak.clone(),
            |inner| &inner.expand_wake,
            Pacing {
                settle: self.inner.settings.expand_settle,
                yields_to_sends: true,
            },
            |inner| Box::pin(async move { super::expand::run_once(&inner).await }),
        ));
        tokio::spawn(run(
            weak,
            |inner| &inner.deliver_wake,
            Pacing {
                settle: Duration::ZERO,
                yields_to_sends: false,
            },
            |inner| Box::pin(async move { super::deliver::run_once(&inner).await }),
        ));
    }

    /// A message was committed on this node: expand it now rather than at the next poll.
    pub fn message_committed(&self) {
        self.inner.expand_wake.notify_one();
    }

    /// The server's VAPID key pair: made and stored on first use, then the same on every
    /// node and after every restart (browsers' subscriptions are bound to it).
    pub async fn vapid_keys(&self) -> Result<&VapidKeys, StoreError> {
        self.inner.vapid_keys().await
    }

    pub fn settings(&self) -> &NotifySettings {
        &self.inner.settings
    }
}

impl Inner {
    pub(super) async fn vapid_keys(&self) -> Result<&VapidKeys, StoreError> {
        self.vapid
            .get_or_try_init(|| async {
                let fresh = VapidKeys::generate()
                    .map_err(|e| StoreError::Internal(format!("VAPID key generation: {e}")))?;
                let stored = self
                    .store
                    .server_secret(VAPID_SECRET, &fresh.to_pkcs8_base64())
                    .await?;
                VapidKeys::from_pkcs8_base64(&stored)
                    .map_err(|e| StoreError::Internal(format!("stored VAPID key: {e}")))
            })
            .await
    }

    /// The expander went past a message posted at `at` (`None`: past every message).
    pub(super) fn expanded_through(&self, at: Option<Timestamp>) {
        let at = at.unwrap_or_else(Timestamp::now);
        self.expanded_through.store(at.0, Ordering::Relaxed);
    }

    /// Whether the expander is further behind the messages than pacing may leave it.
    fn too_far_behind(&self) -> bool {
        let through = self.expanded_through.load(Ordering::Relaxed);
        let behind = Timestamp::now().0.saturating_sub(through);
        behind >= self.settings.busy_max_lag.as_millis() as i64
    }

    /// A lease from now for the configured time.
    pub(super) fn lease(&self) -> Lease {
        let now = Timestamp::now();
        Lease {
            owner: self.owner.clone(),
            now,
            until: Timestamp(now.0 + self.settings.lease.as_millis() as i64),
        }
    }

    /// The same lease, checked against the clock now (a worker that took too long finds
    /// it lapsed, and writes nothing).
    pub(super) fn renewed_now(&self, lease: &Lease) -> Lease {
        Lease {
            now: Timestamp::now(),
            ..lease.clone()
        }
    }
}

type Step = fn(Arc<Inner>) -> futures::future::BoxFuture<'static, Result<bool, StoreError>>;

/// How a worker spaces its steps.
struct Pacing {
    /// Woken from idle by a poke, the worker waits this long before starting, so that
    /// work arriving together is done together.
    settle: Duration,
    /// Whether it rests while the node is busy with senders (see the module's doc).
    yields_to_sends: bool,
}

/// When a node is busy with senders, and how much of the time a worker then takes.
struct Busy {
    /// Sends in flight on average (see [`NotifySettings::busy_sends`]).
    sends: f64,
    /// See [`NotifySettings::busy_share`].
    share: f64,
}

impl Busy {
    /// After a step that took `worked` from `mark`: if the node was busy with senders
    /// meanwhile (at least `sends` in flight on average), rest so that the worker keeps to its share of the time, and stop
    /// resting as soon as the sends no longer queue.
    async fn rest(&self, sending: &Sending, mark: Mark, worked: Duration) {
        if sending.average_since(&mark) < self.sends {
            return;
        }
        let mut rest = rest_after(worked, self.share);
        while !rest.is_zero() {
            let slice = rest.min(REST_SLICE);
            let mark = sending.mark();
            tokio::time::sleep(slice).await;
            rest -= slice;
            if sending.average_since(&mark) < self.sends {
                return;
            }
        }
    }
}

/// How long to rest after working `worked` to keep to `share` of the time.
fn rest_after(worked: Duration, share: f64) -> Duration {
    // A NaN share becomes 1 %: `clamp` would keep it, and `mul_f64` panic.
    let share = if share.is_nan() {
        0.01
    } else {
        share.clamp(0.01, 1.0)
    };
    worked.mul_f64((1.0 - share) / share)
}

/// One worker: `step` does a unit of work and says whether there may be more.
async fn run(weak: Weak<Inner>, wake: fn(&Inner) -> &Notify, pacing: Pacing, step: Step) {
    loop {
        let Some(inner) = weak.upgrade() else {
            return;
        };
        let (mark, started) = (inner.sending.mark(), Instant::now());
        let result = step(inner.clone()).await;
        // Only between steps of a backlog: an idle or failing worker pauses anyway.
        if pacing.yields_to_sends && matches!(result, Ok(true)) && !inner.too_far_behind() {
            let busy = Busy {
                sends: inner.settings.busy_sends,
                share: inner.settings.busy_share,
            };
            busy.rest(&inner.sending, mark, started.elapsed()).await;
        }
        let pause = match result {
            Ok(true) => continue,
            Ok(false) => inner.settings.poll,
            Err(e) => {
                tracing::warn!(error = %e, "notification worker: store error, retrying");
                inner.settings.poll.max(Duration::from_secs(1))
            }
        };
        // Wait for a poke or the poll interval. The task holds the notifier for at most
        // that long (or a rest, which ends within a slice once no sends are in flight):
        // once the last `AppState` is gone, the next upgrade fails and it ends.
        let poked = tokio::time::timeout(pause, wake(&inner).notified()).await;
        if poked.is_ok() && !pacing.settle.is_zero() {
            tokio::time::sleep(pacing.settle).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_worker_rests_to_keep_to_its_share() {
        let ms = |share: f64| rest_after(Duration::from_millis(20), share).as_secs_f64() * 1e3;
        assert!((ms(0.1) - 180.0).abs() < 1e-6);
        assert!((ms(0.5) - 20.0).abs() < 1e-6);
        assert_eq!(ms(1.0), 0.0);
        // A share of nothing would never work again: it is held to 1 %.
        assert!((ms(0.0) - 1_980.0).abs() < 1e-6);
        assert!((ms(f64::NAN) - 1_980.0).abs() < 1e-6);
    }

    #[tokio::test(start_paused = true)]
    async fn a_worker_rests_from_as_many_sends_in_flight_as_its_threshold() {
        let sending = Sending::default();
        let rest = rest_after_working(&sending, 2, Duration::from_millis(20)).await;
        assert_eq!(rest.as_millis(), 180);
    }

    const BUSY: Busy = Busy {
        sends: 2.0,
        share: 0.1,
    };

    /// Works for `worked` with `sends` in flight, then rests; how long the rest took.
    async fn rest_after_working(sending: &Sending, sends: usize, worked: Duration) -> Duration {
        let mark = sending.mark();
        let held: Vec<_> = (0..sends).map(|_| sending.start()).collect();
        tokio::time::sleep(worked).await;
        let resting = Instant::now();
        BUSY.rest(sending, mark, worked).await;
        drop(held);
        resting.elapsed()
    }

    #[tokio::test(start_paused = true)]
    async fn a_worker_does_not_rest_while_sends_do_not_queue() {
        let sending = Sending::default();
        let rest = rest_after_working(&sending, 1, Duration::from_millis(20)).await;
        assert_eq!(rest, Duration::ZERO);
    }

    #[tokio::test(start_paused = true)]
    async fn a_worker_rests_while_sends_queue() {
        let sending = Sending::default();
        let rest = rest_after_working(&sending, 3, Duration::from_millis(20)).await;
        assert_eq!(rest.as_millis(), 180);
    }

    #[tokio::test(start_paused = true)]
    async fn a_worker_stops_resting_soon_after_the_sends_stop_queueing() {
        let sending = Sending::default();
        let mark = sending.mark();
        let held: Vec<_> = (0..3).map(|_| sending.start()).collect();
        tokio::time::sleep(Duration::from_millis(100)).await;
        let resting = Instant::now();
        // A step of 100 ms would rest 900; the sends end 120 ms into it.
        let sends_end = async {
            tokio::time::sleep(Duration::from_millis(120)).await;
            drop(held);
        };
        tokio::join!(
            BUSY.rest(&sending, mark, Duration::from_millis(100)),
            sends_end
        );
        let rest = resting.elapsed();
        assert!(
            rest >= Duration::from_millis(120) && rest <= Duration::from_millis(120) + REST_SLICE,
            "rested {rest:?}"
        );
    }
}
