//! What every request handler can reach.

use std::sync::Arc;
use std::time::Duration;

use hearth_core::store::Store;

use crate::auth::{LoginThrottle, PasswordHasher};
use crate::files::{FileSettings, Files};
use crate::gateway::GatewayConfig;
use crate::gateway::bus::redis::RedisBus;
use crate::gateway::bus::{Bus, LocalBus};
use crate::gateway::hub::{Hub, HubConfig};
use crate::gateway::outbox::ConnIds;
use crate::gateway::publish::PublishingStore;
use crate::notify::{Attention, Notifier, NotifySettings};
use crate::sending::Sending;

/// Shared state, cheap to clone (everything is behind an `Arc`).
#[derive(Clone)]
pub struct AppState {
    /// The durable record: the only place the server keeps anything that must survive.
    /// Every committed change's events are published to the bus on their way out.
    pub store: Arc<dyn Store>,
    /// This node's fan-out to its WebSocket connections.
    pub hub: Hub,
    /// How committed events and session ends reach every node's hub (this one's included).
    pub bus: Arc<dyn Bus>,
    /// Numbers this node's connections.
    pub conn_ids: Arc<ConnIds>,
    /// Argon2id hashing on the blocking pool, with bounded concurrency.
    pub passwords: Arc<PasswordHasher>,
    /// Failed-login counts per account, for 429s.
    pub login_throttle: Arc<LoginThrottle>,
    /// Uploaded files: their storage, thumbnails and limits.
    pub files: Files,
    /// Whether each user is at a client right now (no pushes for what they can see).
    pub attention: Arc<Attention>,
    /// This node's notification workers (started with the state).
    pub notifier: Notifier,
    /// The sends this node is working on: the notification workers step aside while
    /// they queue.
    pub sending: Arc<Sending>,
    /// Tunables read from the configuration at start-up.
    pub settings: Arc<Settings>,
}

/// The API's tunables.
#[derive(Debug, Clone)]
pub struct Settings {
    /// How long a session token stays valid.
    pub session_ttl: Duration,
    /// How long the event log keeps events; resuming from older seqs needs a resync.
    pub event_retention: Duration,
    /// The largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// The realtime gateway's limits and timings.
    pub gateway: GatewayConfig,
    /// Where files go and how large they may be.
    pub files: FileSettings,
    /// Notification workers, push targets and email.
    pub notify: NotifySettings,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            session_ttl: Duration::from_secs(30 * 24 * 3600),
            event_retention: Duration::from_secs(7 * 24 * 3600),
            max_body_bytes: 1024 * 1024,
            gateway: GatewayConfig::default(),
            files: FileSettings::default(),
            notify: NotifySettings::default(),
        }
    }
}

impl AppState {
    /// Wires the state around a backend with the in-process bus (one node). Starts the
    /// hub's tasks, so call it inside a Tokio runtime.
    pub fn new(backend: Arc<dyn Store>, settings: Settings) -> Self {
        Self::build(backend, settings, None, |store, config| {
            let hub = Hub::start(store, config);
            Ok((hub.clone(), Arc::new(LocalBus::new(hub))))
        })
        .expect("the local bus cannot fail")
    }

    /// Wires the state for one of several nodes sharing a Redis bus at `redis_url`. The
    /// bus may lose messages, so the hub also checks each workspace's log tail (every
    /// `settings.gateway.hub.tail_check`, one second unless set). Presence and typing
    /// are shared with the other nodes through the same Redis.
    pub fn with_redis(
        backend: Arc<dyn Store>,
        mut settings: Settings,
        redis_url: &str,
    ) -> anyhow::Result<Self> {
        let hub = &mut settings.gateway.hub;
        hub.tail_check = hub.tail_check.or(Some(Duration::from_secs(1)));
        Self::build(backend, settings, Some(redis_url), |store, config| {
            let bus = RedisBus::start(redis_url, store, config)?;
            Ok((bus.hub().clone(), Arc::new(bus)))
        })
    }

    /// `hub_and_bus` starts the hub on the store and its config, and the bus that feeds it.
    /// The notification workers start too; attention is shared over `redis_url` if any.
    fn build(
        backend: Arc<dyn Store>,
        settings: Settings,
        redis_url: Option<&str>,
        hub_and_bus: impl FnOnce(Arc<dyn Store>, HubConfig) -> anyhow::Result<(Hub, Arc<dyn Bus>)>,
    ) -> anyhow::Result<Self> {
        let cores = crate::cores();
        let (hub, bus) = hub_and_bus(backend.clone(), settings.gateway.hub.clone())?;
        let attention = crate::notify::attention(&settings.notify, redis_url)?;
        let sending = Arc::new(Sending::default());
        let notifier = Notifier::new(
            backend.clone(),
            hub.clone(),
            attention.clone(),
            sending.clone(),
            settings.notify.clone(),
        )?;
        notifier.start();
        Ok(Self {
            store: Arc::new(PublishingStore::new(backend, bus.clone())),
            hub,
            bus,
            conn_ids: Arc::new(ConnIds::default()),
            passwords: Arc::new(PasswordHasher::new(cores)),
            login_throttle: Arc::new(LoginThrottle::default()),
            files: Files::new(&settings.files),
            attention,
            notifier,
            sending,
            settings: Arc::new(settings),
        })
    }
}
