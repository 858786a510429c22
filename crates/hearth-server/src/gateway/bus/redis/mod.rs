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
//! Presence and typing ride the same channels (see [`presence`]): the hub's
//! [`PresenceLink`] is [`RedisPresence`], and what other nodes say arrives here.
//!
//! Two tasks own the two connections: the [`publisher`] drains a bounded queue (a full
//! queue drops, never blocks a request) and pipelines its commands; the subscriber
//! reconnects with a short backoff for as long as the node runs. The subscriber ends when
//! the [`RedisBus`] is dropped, the publisher once the hub is gone too.

mod presence;
mod publisher;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use futures::StreamExt;
use hearth_core::event::Event;
use hearth_core::id::{ChannelId, UserId, WorkspaceId};
use hearth_core::secret::SecretHash;
use hearth_core::store::Store;
use serde::{Deserialize, Serialize};
use tokio::sync::oneshot;

pub use self::presence::RedisPresence;
use self::publisher::{BACKOFF, Publisher};
use super::Bus;
use crate::gateway::hub::link::{NodeId, PresenceLink, Report, Status};
use crate::gateway::hub::{Hub, HubConfig};

/// The prefix of every workspace channel; the node subscribes to `PREFIX*`.
const PREFIX: &str = "hearth:ws:";
/// How long one connection attempt or one round trip may take before it counts as failed.
const IO_TIMEOUT: Duration = Duration::from_secs(2);

/// What travels on a workspace channel.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum Envelope {
    /// One committed transaction's events, in seq order.
    Events { node: NodeId, events: Vec<Event> },
    /// A session ended: close its sockets.
    EndSession { node: NodeId, session: SecretHash },
    /// The node's own status of a user changed (`offline`: it no longer has them).
    Presence {
        node: NodeId,
        user: UserId,
        status: Status,
    },
    /// The node's heartbeat in this workspace: every status it holds here.
    Heartbeat {
        node: NodeId,
        statuses: Vec<(UserId, Status)>,
    },
    /// A typing notice the node accepted.
    Typing {
        node: NodeId,
        channel: ChannelId,
        user: UserId,
    },
}

impl Envelope {
    fn node(&self) -> NodeId {
        match self {
            Envelope::Events { node, .. }
            | Envelope::EndSession { node, .. }
            | Envelope::Presence { node, .. }
            | Envelope::Heartbeat { node, .. }
            | Envelope::Typing { node, .. } => *node,
        }
    }
}

/// Counters for tests and metrics.
#[derive(Debug, Default)]
pub struct RedisBusStats {
    /// Commands (messages and presence writes) handed to Redis.
    pub published: AtomicU64,
    /// Commands dropped: the queue was full or Redis could not be reached.
    pub dropped: AtomicU64,
    /// Messages from other nodes handed to the hub.
    pub received: AtomicU64,
    /// Times the subscription was (re)established.
    pub subscribed: AtomicU64,
}

pub struct RedisBus {
    hub: Hub,
    publisher: Publisher,
    stats: Arc<RedisBusStats>,
    /// Dropped with the bus, which ends the subscriber.
    _stop: oneshot::Sender<()>,
}

impl RedisBus {
    /// Starts this node's hub, linked to the other nodes' through the Redis at `url`,
    /// and the tasks that publish to and subscribe from Redis. Only a malformed URL is
    /// an error: an unreachable Redis is retried in the background, and meanwhile this
    /// node still serves its own connections.
    pub fn start(url: &str, store: Arc<dyn Store>, config: HubConfig) -> anyhow::Result<Self> {
        let client = redis::Client::open(url)?;
        let stats = Arc::new(RedisBusStats::default());
        let publisher = Publisher::start(client.clone(), stats.clone());
        let link: Arc<dyn PresenceLink> = Arc::new(RedisPresence::new(
            client.clone(),
            publisher.clone(),
            config.presence_ttl,
        ));
        let hub = Hub::start_linked(store, config, link);
        let (stop, stopped) = oneshot::channel();
        tokio::spawn(subscriber(
            client,
            hub.clone(),
            publisher.node(),
            stopped,
            stats.clone(),
        ));
        Ok(Self {
            hub,
            publisher,
            stats,
            _stop: stop,
        })
    }

    /// The hub this bus feeds.
    pub fn hub(&self) -> &Hub {
        &self.hub
    }

    pub fn stats(&self) -> &RedisBusStats {
        &self.stats
    }

    fn send(&self, ws: &WorkspaceId, envelope: &Envelope) {
        // A lost message is repaired by the other nodes' tail checks.
        self.publisher.send(self.publisher.publish(ws, envelope));
    }
}

impl Bus for RedisBus {
    fn publish(&self, ws: &WorkspaceId, events: Arc<[Event]>) {
        self.hub.publish(ws, events.clone());
        self.send(
            ws,
            &Envelope::Events {
                node: self.publisher.node(),
                events: events.to_vec(),
            },
        );
    }

    fn end_session(&self, ws: &WorkspaceId, session: SecretHash) {
        self.hub.end_session(ws, session.clone());
        self.send(
            ws,
            &Envelope::EndSession {
                node: self.publisher.node(),
                session,
            },
        );
    }
}

/// Subscribes to every workspace channel and feeds the hub, until the bus is dropped
/// (`stop`). After every (re)subscription the hub catches up from the log, since anything
/// published while we were not subscribed is gone.
async fn subscriber(
    client: redis::Client,
    hub: Hub,
    node: NodeId,
    mut stop: oneshot::Receiver<()>,
    stats: Arc<RedisBusStats>,
) {
    let mut failing = false;
    loop {
        let subscribed = async {
            let mut pubsub = client.get_async_pubsub().await?;
            pubsub.psubscribe(format!("{PREFIX}*")).await?;
            Ok::<_, redis::RedisError>(pubsub)
        };
        let outcome = tokio::select! {
            _ = &mut stop => return,
            outcome = tokio::time::timeout(IO_TIMEOUT, subscribed) => outcome,
        };
        let mut pubsub = match outcome {
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
                tokio::select! {
                    _ = &mut stop => return,
                    () = tokio::time::sleep(BACKOFF) => continue,
                }
            }
        };
        if failing {
            tracing::info!("subscribed to Redis again");
        }
        stats.subscribed.fetch_add(1, Ordering::Relaxed);
        hub.catch_up_all();

        let mut messages = pubsub.on_message();
        loop {
            let message = tokio::select! {
                _ = &mut stop => return,
                message = messages.next() => message,
            };
            let Some(message) = message else {
                break;
            };
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
            dispatch(&hub, &ws, envelope);
        }
        tracing::warn!("lost the Redis subscription; reconnecting");
        failing = true;
    }
}

/// Hands another node's message to this node's hub.
fn dispatch(hub: &Hub, ws: &WorkspaceId, envelope: Envelope) {
    match envelope {
        Envelope::Events { events, .. } => hub.publish(ws, events.into()),
        Envelope::EndSession { session, .. } => hub.end_session(ws, session),
        Envelope::Presence { node, user, status } => {
            hub.heard(ws, node, Report::Changed(user, status));
        }
        Envelope::Heartbeat { node, statuses } => hub.heard(ws, node, Report::All(statuses)),
        Envelope::Typing { channel, user, .. } => hub.remote_typing(ws, channel, user),
    }
}
