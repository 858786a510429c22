//! What every request handler can reach.

use std::sync::Arc;
use std::time::Duration;

use hearth_core::store::Store;

use crate::auth::{LoginThrottle, PasswordHasher};

/// Shared state, cheap to clone (everything is behind an `Arc`).
#[derive(Clone)]
pub struct AppState {
    /// The durable record: the only place the server keeps anything that must survive.
    pub store: Arc<dyn Store>,
    /// Argon2id hashing on the blocking pool, with bounded concurrency.
    pub passwords: Arc<PasswordHasher>,
    /// Failed-login counts per account, for 429s.
    pub login_throttle: Arc<LoginThrottle>,
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
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            session_ttl: Duration::from_secs(30 * 24 * 3600),
            event_retention: Duration::from_secs(7 * 24 * 3600),
            max_body_bytes: 1024 * 1024,
        }
    }
}

impl AppState {
    pub fn new(store: Arc<dyn Store>, settings: Settings) -> Self {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Self {
            store,
            passwords: Arc::new(PasswordHasher::new(cores)),
            login_throttle: Arc::new(LoginThrottle::default()),
            settings: Arc::new(settings),
        }
    }
}
