//! The bus: how committed events reach the fan-out hub of every node.
//!
//! The bus is a hint, never the record: it may lose or reorder events, and each node's
//! hub fills holes from the store's log. In the embedded default the bus is this process's
//! own hub; the scale-out mode publishes to Redis instead.

use std::sync::Arc;

use hearth_core::event::Event;
use hearth_core::id::WorkspaceId;

use super::hub::Hub;

pub trait Bus: Send + Sync + 'static {
    /// Publishes one transaction's events, after it committed. Never blocks, never fails:
    /// a lost publish is repaired by the hubs' gap fill.
    fn publish(&self, ws: &WorkspaceId, events: Arc<[Event]>);
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
}
