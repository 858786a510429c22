//! The bus: how committed events, and the few signals every node must hear, reach the
//! fan-out hub of every node.
//!
//! The bus is a hint, never the record: it may lose or reorder events, and each node's
//! hub fills holes from the store's log. In the embedded default the bus is this process's
//! own hub ([`LocalBus`]); the scale-out mode adds Redis pub/sub ([`redis::RedisBus`]).

pub mod redis;

use std::sync::Arc;

use hearth_core::event::Event;
use hearth_core::id::WorkspaceId;
use hearth_core::secret::SecretHash;

use super::hub::Hub;

pub trait Bus: Send + Sync + 'static {
    /// Publishes one transaction's events, after it committed. Never blocks, never fails:
    /// a lost publish is repaired by the hubs' gap fill.
    fn publish(&self, ws: &WorkspaceId, events: Arc<[Event]>);

    /// A session has ended (logout): every node closes the sockets signed in with it.
    /// Best effort across nodes, like `publish`; the session is already gone from the
    /// store, so a socket that missed this signal can no longer resume or reconnect.
    fn end_session(&self, ws: &WorkspaceId, session: SecretHash);
}

/// The in-process bus: straight into this node's hub.
pub struct LocalBus {
    hub: Hub,
}

impl LocalBus {
    pub fn new(hub: Hub) -> Self {
        Self { hub }
    }
}

impl Bus for LocalBus {
    fn publish(&self, ws: &WorkspaceId, events: Arc<[Event]>) {
        self.hub.publish(ws, events);
    }

    fn end_session(&self, ws: &WorkspaceId, session: SecretHash) {
        self.hub.end_session(ws, session);
    }
}
