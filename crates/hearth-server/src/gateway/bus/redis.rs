//! The Redis bus: cross-node fan-out over Redis pub/sub, one channel per workspace.
//!
//! Each committed transaction's events go to this node's own hub at once (local delivery
//! never waits for, nor depends on, Redis) and are published once to
//! `hearth:ws:<workspace id>`. Every node pattern-subscribes to `hearth:ws:*` and hands
//! what other nodes published to its hub, which ignores workspaces without local
//! connections and seqs it has already processed, so a message that arrives twice (or
//! our own, echoed) is harmless.
//!
//! Redis pub/sub is at-most-once: a publish while Redis is down, or a message sent while
//! our subscription was broken, is simply gone. Nothing is lost for clients because the
//! hub treats the bus as a hint: a hole before a later event is filled from the store's
//! log after `gap_wait`, a hole at the tail (no later event to reveal it) is found by the
//! hub's periodic tail check (`HubConfig::tail_check`), and every time the subscription is
//! (re)established the hub catches every workspace up from the log at once.
//!
//! Two tasks own the two connections: the publisher drains a bounded queue (a full queue
//! drops, never blocks a request) and pipelines `PUBLISH`es; the subscriber reconnects
//! with a short backoff for as long as the node runs. Both end when the [`RedisBus`] is
//! dropped.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use futures::StreamExt;
use hearth_core::event::Event;
use hearth_core::id::WorkspaceId;
use hearth_core::secret::SecretHash;
use redis::aio::MultiplexedConnection;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use super::Bus;
use crate::gateway::hub::Hub;

/// The prefix of every workspace channel; the node subscribes to `PREFIX*`.
const PREFIX: &str = "hearth:ws:";
/// Messages waiting for the publisher before new ones are dropped.
const QUEUE: usize = 65_536;
/// The most messages pipelined in one round trip.
const PIPELINE: usize = 256;
/// How long one connection attempt or one pipeline may take before it counts as failed.
const IO_TIMEOUT: Duration = Duration::from_secs(2);
/// The pause between reconnection attempts.
const BACKOFF: Duration = Duration::from_millis(250);

/// What travels on a workspace channel.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum Envelope {
    /// One committed transaction's events, in seq order.
    Events { node: u64, events: Vec<Event> },
    /// A session ended: close its sockets.
    EndSession { node: u64, session: SecretHash },
}

impl Envelope {
    fn node(&self) -> u64 {
        match self {
            Envelope::Events { node, .. } | Envelope::EndSession { node, .. } => *node,
        }
    }
}

/// Counters for tests and metrics.
#[derive(Debug, Default)]
pub struct RedisBusStats {
    /// Messages handed to Redis.
    pub published: AtomicU64,
    /// Messages dropped: the queue was full or Redis could not be reached.
    pub dropped: AtomicU64,
    /// Messages from other nodes handed to the hub.
    pub received: AtomicU64,
    /// Times the subscription was (re)established.
    pub subscribed: AtomicU64,
}

pub struct RedisBus {
    hub: Hub,
    /// Tells this node's own messages from other nodes'.
    node: u64,
    queue: mpsc::Sender<(String, String)>,
    stats: Arc<RedisBusStats>,
}

impl RedisBus {
    /// Starts the publisher and subscriber tasks for the Redis at `url`. Only a malformed
    /// URL is an error: an unreachable Redis is retried in the background, and meanwhile
    /// this node still serves its own connections.
    pub fn start(url: &str, hub: Hub) -> anyhow::Result<Self> {
        let client = redis::Client::open(url)?;
        let node = node_id();
        let stats = Arc::new(RedisBusStats::default());
        let (queue, rx) = mpsc::channel(QUEUE);
        tokio::spawn(publisher(client.clone(), rx, stats.clone()));
        tokio::spawn(subscriber(
            client,
            hub.clone(),
            node,
            queue.downgrade(),
            stats.clone(),
        ));
        Ok(Self {
            hub,
            node,
            queue,
            stats,
        })
    }

    pub fn stats(&self) -> &RedisBusStats {
        &self.stats
    }

    fn send(&self, ws: &WorkspaceId, envelope: &Envelope) {
        let payload = match serde_json::to_string(envelope) {
            Ok(payload) => payload,
            Err(e) => {
                tracing::error!(error = %e, "encoding a bus message");
                return;
            }
        };
        if self
            .queue
            .try_send((format!("{PREFIX}{ws}"), payload))
            .is_err()
        {
            // The other nodes' tail checks repair this.
            self.stats.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }
}

impl Bus for RedisBus {
    fn publish(&self, ws: &WorkspaceId, events: Arc<[Event]>) {
        self.hub.publish(ws, events.clone());
        self.send(
            ws,
            &Envelope::Events {
                node: self.node,
                events: events.to_vec(),
            },
        );
    }

    fn end_session(&self, ws: &WorkspaceId, session: SecretHash) {
        self.hub.end_session(ws, session.clone());
        self.send(
            ws,
            &Envelope::EndSession {
                node: self.node,
                session,
            },
        );
    }
}

/// A random id for this process, so it can skip its own messages.
fn node_id() -> u64 {
    let mut bytes = [0u8; 8];
    let secret = hearth_core::secret::generate_secret();
    for (i, b) in secret.bytes().take(8).enumerate() {
        bytes[i] = b;
    }
    u64::from_le_bytes(bytes) ^ u64::from(std::process::id())
}

/// Drains the queue into `PUBLISH`es, pipelined, reconnecting as needed. While Redis is
/// unreachable, messages are dropped rather than held: they would be stale by the time
/// Redis returns, and the hubs' catch-up on resubscription reads the log instead.
async fn publisher(
    client: redis::Client,
    mut rx: mpsc::Receiver<(String, String)>,
    stats: Arc<RedisBusStats>,
) {
    let mut conn: Option<MultiplexedConnection> = None;
    let mut batch = Vec::with_capacity(PIPELINE);
    let mut retry_at = tokio::time::Instant::now();
    while rx.recv_many(&mut batch, PIPELINE).await > 0 {
        if conn.is_none() && tokio::time::Instant::now() >= retry_at {
            conn = connect(&client).await;
            if conn.is_none() {
                retry_at = tokio::time::Instant::now() + BACKOFF;
            }
        }
        let Some(c) = conn.as_mut() else {
            stats
                .dropped
                .fetch_add(batch.len() as u64, Ordering::Relaxed);
            batch.clear();
            continue;
        };
        let mut pipe = redis::pipe();
        for (channel, payload) in &batch {
            pipe.publish(channel, payload).ignore();
        }
        match tokio::time::timeout(IO_TIMEOUT, pipe.exec_async(c)).await {
            Ok(Ok(())) => {
                stats
                    .published
                    .fetch_add(batch.len() as u64, Ordering::Relaxed);
            }
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "publishing to Redis failed; reconnecting");
                stats
                    .dropped
                    .fetch_add(batch.len() as u64, Ordering::Relaxed);
                conn = None;
            }
            Err(_) => {
                tracing::warn!("publishing to Redis timed out; reconnecting");
                stats
                    .dropped
                    .fetch_add(batch.len() as u64, Ordering::Relaxed);
                conn = None;
            }
        }
        batch.clear();
    }
}

async fn connect(client: &redis::Client) -> Option<MultiplexedConnection> {
    match tokio::time::timeout(IO_TIMEOUT, client.get_multiplexed_async_connection()).await {
        Ok(Ok(conn)) => Some(conn),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "cannot reach Redis to publish");
            None
        }
        Err(_) => {
            tracing::warn!("connecting to Redis timed out");
            None
        }
    }
}

/// Subscribes to every workspace channel and feeds the hub, for as long as the bus lives
/// (`alive` upgrades). After every (re)subscription the hub catches up from the log,
/// since anything published while we were not subscribed is gone.
async fn subscriber(
    client: redis::Client,
    hub: Hub,
    node: u64,
    alive: mpsc::WeakSender<(String, String)>,
    stats: Arc<RedisBusStats>,
) {
    let mut failing = false;
    while alive.upgrade().is_some() {
        let subscribed = async {
            let mut pubsub = client.get_async_pubsub().await?;
            pubsub.psubscribe(format!("{PREFIX}*")).await?;
            Ok::<_, redis::RedisError>(pubsub)
        };
        let mut pubsub = match tokio::time::timeout(IO_TIMEOUT, subscribed).await {
            Ok(Ok(pubsub)) => pubsub,
            outcome => {
                if !failing {
                    let error = match outcome {
                        Ok(Err(e)) => e.to_string(),
                        _ => "timed out".to_owned(),
                    };
                    tracing::warn!(%error, "cannot subscribe to Redis; retrying");
                    failing = true;
                }
                tokio::time::sleep(BACKOFF).await;
                continue;
            }
        };
        if failing {
            tracing::info!("subscribed to Redis again");
        }
        stats.subscribed.fetch_add(1, Ordering::Relaxed);
        hub.catch_up_all();

        let mut messages = pubsub.on_message();
        while let Some(message) = messages.next().await {
            let Some(ws) = message
                .get_channel_name()
                .strip_prefix(PREFIX)
                .and_then(WorkspaceId::parse)
            else {
                continue;
            };
            let envelope: Envelope = match serde_json::from_slice(message.get_payload_bytes()) {
                Ok(envelope) => envelope,
                Err(e) => {
                    tracing::warn!(error = %e, "ignoring a malformed bus message");
                    continue;
                }
            };
            if envelope.node() == node {
                continue;
            }
            stats.received.fetch_add(1, Ordering::Relaxed);
            match envelope {
                Envelope::Events { events, .. } => hub.publish(&ws, events.into()),
                Envelope::EndSession { session, .. } => hub.end_session(&ws, session),
            }
        }
        tracing::warn!("lost the Redis subscription; reconnecting");
        failing = true;
    }
}
