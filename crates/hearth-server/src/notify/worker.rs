//! [`Notifier`]: the node's notification workers and what the API needs of them.
//!
//! Two tasks per node: the expander (log to notifications, [`super::expand`]) and the
//! deliverer (notifications to targets, [`super::deliver`]). Each waits for a poke (a
//! send on this node) or the poll interval, then works until there is nothing left. The
//! tasks hold the notifier weakly and end once every handle (every `AppState`) is gone.

use std::sync::{Arc, Weak};
use std::time::Duration;

use argon2::password_hash::rand_core::{OsRng, RngCore};
use hearth_core::Timestamp;
use hearth_core::notify::Lease;
use hearth_core::store::{Store, StoreError};
use tokio::sync::{Notify, OnceCell};

use super::email::Mailer;
use super::targets::http_client;
use super::webpush::VapidKeys;
use super::{Attention, NotifySettings};
use crate::gateway::hub::Hub;

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
            self.inner.settings.expand_settle,
            |inner| Box::pin(async move { super::expand::run_once(&inner).await }),
        ));
        tokio::spawn(run(
            weak,
            |inner| &inner.deliver_wake,
            Duration::ZERO,
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

/// One worker: `step` does a unit of work and says whether there may be more. Woken from
/// idle by a poke, it waits `settle` before starting, so that work arriving together is
/// done together.
async fn run(weak: Weak<Inner>, wake: fn(&Inner) -> &Notify, settle: Duration, step: Step) {
    loop {
        let Some(inner) = weak.upgrade() else {
            return;
        };
        let result = step(inner.clone()).await;
        let pause = match result {
            Ok(true) => continue,
            Ok(false) => inner.settings.poll,
            Err(e) => {
                tracing::warn!(error = %e, "notification worker: store error, retrying");
                inner.settings.poll.max(Duration::from_secs(1))
            }
        };
        // Wait for a poke or the poll interval. The task holds the notifier for at most
        // that long: once the last `AppState` is gone, the next upgrade fails and it ends.
        let poked = tokio::time::timeout(pause, wake(&inner).notified()).await;
        if poked.is_ok() && !settle.is_zero() {
            tokio::time::sleep(settle).await;
        }
    }
}
