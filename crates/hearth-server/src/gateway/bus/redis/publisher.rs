//! The node's writing side of Redis: one bounded queue of commands (bus messages and
//! presence writes) drained by one task over one connection, so that Redis applies them
//! in the order they were queued (a presence key is written before the message that
//! announces the change).

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use redis::Cmd;
use redis::aio::MultiplexedConnection;
use tokio::sync::mpsc;

use super::{Envelope, IO_TIMEOUT, PREFIX, RedisBusStats};
use crate::gateway::hub::link::NodeId;
use hearth_core::id::WorkspaceId;

/// Commands waiting for the publisher before new ones are dropped.
const QUEUE: usize = 65_536;
/// The most commands pipelined in one round trip.
const PIPELINE: usize = 256;
/// The pause between reconnection attempts.
pub(super) const BACKOFF: Duration = Duration::from_millis(250);

/// A handle to the publisher task; cheap to clone. The task ends when every handle is
/// gone.
#[derive(Clone)]
pub(super) struct Publisher {
    /// Tells this node's own messages from other nodes'.
    node: NodeId,
    queue: mpsc::Sender<Cmd>,
    stats: Arc<RedisBusStats>,
}

impl Publisher {
    pub(super) fn start(client: redis::Client, stats: Arc<RedisBusStats>) -> Self {
        let (queue, rx) = mpsc::channel(QUEUE);
        tokio::spawn(run(client, rx, stats.clone()));
        Self {
            node: node_id(),
            queue,
            stats,
        }
    }

    pub(super) fn node(&self) -> NodeId {
        self.node
    }

    /// Queues commands without waiting. A full queue drops them: everything sent here is
    /// repaired later (by the hubs' log reads, or the next presence heartbeat).
    pub(super) fn send(&self, commands: impl IntoIterator<Item = Cmd>) {
        for command in commands {
            if self.queue.try_send(command).is_err() {
                self.stats.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// The `PUBLISH` of `envelope` on the workspace's channel.
    pub(super) fn publish(&self, ws: &WorkspaceId, envelope: &Envelope) -> Option<Cmd> {
        match serde_json::to_string(envelope) {
            Ok(payload) => Some(Cmd::publish(format!("{PREFIX}{ws}"), payload)),
            Err(e) => {
                tracing::error!(error = %e, "encoding a bus message");
                None
            }
        }
    }
}

/// A random id for this process, so it can skip its own messages.
fn node_id() -> NodeId {
    let mut bytes = [0u8; 8];
    let secret = hearth_core::secret::generate_secret();
    for (i, b) in secret.bytes().take(8).enumerate() {
        bytes[i] = b;
    }
    u64::from_le_bytes(bytes) ^ u64::from(std::process::id())
}

/// Drains the queue into pipelines, reconnecting as needed. While Redis is unreachable,
/// commands are dropped rather than held: they would be stale by the time Redis returns,
/// and the hubs' catch-up on resubscription reads the log instead.
async fn run(client: redis::Client, mut rx: mpsc::Receiver<Cmd>, stats: Arc<RedisBusStats>) {
    let mut conn: Option<MultiplexedConnection> = None;
    let mut batch = Vec::with_capacity(PIPELINE);
    let mut retry_at = tokio::time::Instant::now();
    while rx.recv_many(&mut batch, PIPELINE).await > 0 {
        let count = batch.len() as u64;
        if conn.is_none() && tokio::time::Instant::now() >= retry_at {
            conn = connect(&client).await;
            if conn.is_none() {
                retry_at = tokio::time::Instant::now() + BACKOFF;
            }
        }
        let Some(c) = conn.as_mut() else {
            stats.dropped.fetch_add(count, Ordering::Relaxed);
            batch.clear();
            continue;
        };
        let mut pipe = redis::pipe();
        for command in batch.drain(..) {
            pipe.add_command(command).ignore();
        }
        match tokio::time::timeout(IO_TIMEOUT, pipe.exec_async(c)).await {
            Ok(Ok(())) => {
                stats.published.fetch_add(count, Ordering::Relaxed);
            }
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "writing to Redis failed; reconnecting");
                stats.dropped.fetch_add(count, Ordering::Relaxed);
                conn = None;
            }
            Err(_) => {
                tracing::warn!("writing to Redis timed out; reconnecting");
                stats.dropped.fetch_add(count, Ordering::Relaxed);
                conn = None;
            }
        }
    }
}

pub(super) async fn connect(client: &redis::Client) -> Option<MultiplexedConnection> {
    match tokio::time::timeout(IO_TIMEOUT, client.get_multiplexed_async_connection()).await {
        Ok(Ok(conn)) => Some(conn),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "cannot reach Redis");
            None
        }
        Err(_) => {
            tracing::warn!("connecting to Redis timed out");
            None
        }
    }
}
