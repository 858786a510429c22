//! The fan-out hub: which local connections belong to which channels, and the delivery of
//! every committed event to exactly those connections, in seq order.
//!
//! The hub is sharded by workspace over a few tasks (one per core). Each shard task owns
//! all state of its workspaces (connection index, reorder buffer, presence, typing), so
//! nothing is locked: every change arrives as a [`Command`] on the shard's queue.
//!
//! Per workspace a shard keeps `delivered`, the newest seq it has processed. Events
//! published out of order (two requests committing and publishing concurrently) wait in
//! a reorder buffer; a hole that stays open longer than `gap_wait` (an event the bus lost)
//! is filled from the store's log. Each event is encoded once; the same bytes go to every
//! recipient's [`Outbox`].
//!
//! A connection starts *pending*: the hub buffers what it processes for it while the
//! connection reads its [`Subscription`](hearth_core::store::Subscription) (its channels
//! and the seq `M` they were read at). On `Activate` the connection goes live from `M`:
//! buffered events after `M` are routed to it by the same visibility rules, and it never
//! receives an event at or before `M` (those come from the replay, if it resumes). When
//! several connections start in a workspace where none is live (every client reconnecting
//! after a restart), the first to activate sets where the stream starts; the events between
//! an earlier snapshot and that point are handed to the others from the reorder buffer.
//!
//! Presence and typing are the shards' own state too (see [`presence`]). With several
//! nodes, the hub also tells the others about its users over a [`PresenceLink`] and
//! hears theirs back as commands (see [`remote`]); on a single node there is no link.

mod fill;
#[cfg(test)]
mod gap_tests;
pub mod link;
mod presence;
mod remote;
#[cfg(test)]
mod remote_tests;
mod shard;
mod signals;
#[cfg(test)]
mod tests;

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use hearth_core::event::{Event, EventPage, EventPayload};
use hearth_core::id::{ChannelId, UserId, WorkspaceId};
use hearth_core::secret::SecretHash;
use hearth_core::store::Store;
use tokio::sync::mpsc;

use self::link::{NodeId, PresenceLink, RemoteStatus, Report};
use super::outbox::{ConnId, Outbox};
use crate::api::access_cache::AccessCache;
use crate::auth::SessionCache;

/// The hub's tunables; the defaults are the product's behaviour.
#[derive(Debug, Clone)]
pub struct HubConfig {
    /// Typing notices per user per channel are relayed at most this often.
    pub typing_throttle: Duration,
    /// How long a client shows a typing notice unless refreshed.
    pub typing_ttl: Duration,
    /// A connected user with no activity for this long is `away`.
    pub idle_after: Duration,
    /// A user whose last connection closed is shown `offline` only after this long, so a
    /// page reload does not flap their presence.
    pub offline_grace: Duration,
    /// How long a hole in the seq sequence may stay open before it is read from the log.
    pub gap_wait: Duration,
    /// Most events buffered for a connection that is still starting.
    pub pending_limit: usize,
    /// How often to read the log's tail for events the bus never delivered, in each
    /// workspace with live connections; `None` when the bus cannot lose an event (the
    /// in-process bus). A lossy bus (Redis) needs it: a lost *last* event leaves no later
    /// event behind it to reveal the hole.
    pub tail_check: Option<Duration>,
    /// With several nodes: how long what a node says of its users' presence holds unless
    /// it says it again. Each node repeats it (its heartbeat) every third of this, so a
    /// node that dies has its users shown offline elsewhere within this long.
    pub presence_ttl: Duration,
}

impl Default for HubConfig {
    fn default() -> Self {
        Self {
            typing_throttle: Duration::from_secs(3),
            typing_ttl: Duration::from_secs(6),
            idle_after: Duration::from_secs(10 * 60),
            offline_grace: Duration::from_secs(3),
            gap_wait: Duration::from_millis(300),
            pending_limit: 10_000,
            tail_check: None,
            presence_ttl: Duration::from_secs(30),
        }
    }
}

/// Counters for tests and metrics.
#[derive(Debug, Default)]
pub struct HubStats {
    /// Events encoded to bytes (once per event per node, whatever the recipients).
    pub events_encoded: AtomicU64,
    /// Event frames queued to connections.
    pub deliveries: AtomicU64,
    /// Connections closed because their queue was full.
    pub slow_consumers: AtomicU64,
    /// Gaps filled from the log.
    pub gaps_filled: AtomicU64,
}

impl HubStats {
    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }
}

/// What a shard is asked to do.
pub(crate) enum Command {
    /// Committed events of one workspace, in seq order within the batch.
    Publish {
        ws: WorkspaceId,
        events: Arc<[Event]>,
    },
    Register {
        ws: WorkspaceId,
        conn: ConnId,
        user: UserId,
        session: SecretHash,
        outbox: Outbox,
    },
    Activate {
        ws: WorkspaceId,
        conn: ConnId,
        channels: Vec<ChannelId>,
        live_from: i64,
    },
    Unregister {
        ws: WorkspaceId,
        conn: ConnId,
    },
    Typing {
        ws: WorkspaceId,
        conn: ConnId,
        channel: ChannelId,
    },
    PresenceSub {
        ws: WorkspaceId,
        conn: ConnId,
        users: Vec<UserId>,
    },
    SetAway {
        ws: WorkspaceId,
        conn: ConnId,
        away: bool,
    },
    Activity {
        ws: WorkspaceId,
        conn: ConnId,
    },
    /// The shown presence of these users, as this node knows it.
    Statuses {
        ws: WorkspaceId,
        users: Vec<UserId>,
        reply: tokio::sync::oneshot::Sender<Vec<link::Status>>,
    },
    /// Closes the connections signed in with this session (logout).
    EndSession {
        ws: WorkspaceId,
        session: SecretHash,
    },
    /// Closes every connection (server shutdown).
    CloseAll {
        code: u16,
    },
    /// Reads every workspace's log tail now: the bus may have lost events (a broken
    /// Redis subscription was just re-established).
    CatchUp,
    /// The answer to a gap fill the shard started.
    Filled {
        ws: WorkspaceId,
        page: Result<EventPage, String>,
    },
    /// Another node's presence report.
    Heard {
        ws: WorkspaceId,
        node: NodeId,
        report: Report,
    },
    /// A typing notice another node accepted.
    RemoteTyping {
        ws: WorkspaceId,
        channel: ChannelId,
        user: UserId,
    },
    /// The answer to a presence lookup the shard started for a connection.
    LookedUp {
        ws: WorkspaceId,
        conn: ConnId,
        lookup: u64,
        found: Result<Vec<RemoteStatus>, String>,
    },
}

/// A handle to the hub; cheap to clone.
#[derive(Clone)]
pub struct Hub {
    shards: Arc<[mpsc::UnboundedSender<Command>]>,
    stats: Arc<HubStats>,
    /// The node's session lookups. The hub keeps it because every committed event and
    /// every session end, this node's and the other nodes', passes through `publish` and
    /// `end_session` here, which is what the cache must forget on (see its docs).
    sessions: Arc<SessionCache>,
    /// The node's channel access lookups, kept by the hub for the same reason.
    access: Arc<AccessCache>,
    /// The other nodes, for presence lookups; `None` on a single node.
    link: Option<Arc<dyn PresenceLink>>,
}

impl Hub {
    /// Starts one shard task per core, for a single node. The tasks end when every handle
    /// is dropped.
    pub fn start(store: Arc<dyn Store>, config: HubConfig) -> Self {
        Self::spawn(store, config, None)
    }

    /// Starts the hub of one of several nodes, which shares presence and typing with the
    /// others over `link`.
    pub fn start_linked(
        store: Arc<dyn Store>,
        config: HubConfig,
        link: Arc<dyn PresenceLink>,
    ) -> Self {
        Self::spawn(store, config, Some(link))
    }

    fn spawn(
        store: Arc<dyn Store>,
        config: HubConfig,
        link: Option<Arc<dyn PresenceLink>>,
    ) -> Self {
        let count = crate::cores();
        let stats = Arc::new(HubStats::default());
        let shards: Vec<_> = (0..count)
            .map(|_| shard::spawn(store.clone(), config.clone(), stats.clone(), link.clone()))
            .collect();
        // With a link this is one of several nodes, whose bus may lose a signal.
        let ttl = crate::memo::ttl(link.is_some());
        Self {
            shards: shards.into(),
            stats,
            sessions: Arc::new(SessionCache::new(ttl)),
            access: Arc::new(AccessCache::new(ttl)),
            link,
        }
    }

    pub fn stats(&self) -> &HubStats {
        &self.stats
    }

    /// The session lookups this node remembers, kept true by what the hub hears.
    pub fn sessions(&self) -> &SessionCache {
        &self.sessions
    }

    /// The channel access lookups this node remembers, kept true by what the hub hears.
    pub fn access(&self) -> &AccessCache {
        &self.access
    }

    /// Sends a command to the shard that owns `ws`. The queue is unbounded on purpose:
    /// publishing must never block a request nor drop a committed event; its length is
    /// bounded by the store's write rate.
    pub(crate) fn send(&self, ws: &WorkspaceId, command: Command) {
        let mut hasher = DefaultHasher::new();
        ws.hash(&mut hasher);
        let index = (hasher.finish() % self.shards.len() as u64) as usize;
        // A closed shard means the runtime is shutting down; nothing left to deliver to.
        let _ = self.shards[index].send(command);
    }

    /// Closes every connection of this node with `code` (1001 at shutdown, so clients
    /// reconnect, to another node if there is one, and resume).
    pub fn close_all(&self, code: u16) {
        for shard in self.shards.iter() {
            let _ = shard.send(Command::CloseAll { code });
        }
    }

    /// Catches every workspace with live connections up from the log, on every shard.
    pub fn catch_up_all(&self) {
        for shard in self.shards.iter() {
            let _ = shard.send(Command::CatchUp);
        }
    }

    /// Closes this node's connections that signed in with `session`, which has just
    /// ended: a signed-out device must stop receiving at once.
    pub fn end_session(&self, ws: &WorkspaceId, session: SecretHash) {
        self.sessions.forget_session(&session);
        self.send(
            ws,
            Command::EndSession {
                ws: ws.clone(),
                session,
            },
        );
    }

    /// Hands another node's presence report to the hub.
    pub fn heard(&self, ws: &WorkspaceId, node: NodeId, report: Report) {
        self.send(
            ws,
            Command::Heard {
                ws: ws.clone(),
                node,
                report,
            },
        );
    }

    /// Hands a typing notice accepted by another node to the hub.
    pub fn remote_typing(&self, ws: &WorkspaceId, channel: ChannelId, user: UserId) {
        self.send(
            ws,
            Command::RemoteTyping {
                ws: ws.clone(),
                channel,
                user,
            },
        );
    }

    /// The presence of `users` now (for `@here`): what this node shows, raised by what
    /// the other nodes say of them when this node has not heard it (its view of a
    /// workspace without local connections is empty).
    pub async fn statuses(&self, ws: &WorkspaceId, users: Vec<UserId>) -> Vec<link::Status> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        self.send(
            ws,
            Command::Statuses {
                ws: ws.clone(),
                users: users.clone(),
                reply,
            },
        );
        let mut statuses = answer
            .await
            .unwrap_or_else(|_| vec![link::Status::Offline; users.len()]);
        if let Some(link) = &self.link {
            match link.look_up(ws, users.clone()).await {
                Ok(found) => {
                    for remote in found {
                        if let Some(i) = users.iter().position(|u| *u == remote.user) {
                            statuses[i] = statuses[i].max(remote.status);
                        }
                    }
                }
                Err(e) => tracing::debug!(error = %e, "presence lookup failed"),
            }
        }
        statuses
    }

    /// Hands committed events to the hub (the in-process bus).
    pub fn publish(&self, ws: &WorkspaceId, events: Arc<[Event]>) {
        // Before anything else: the change's author hears back only after this returns.
        for event in events.iter() {
            if let EventPayload::UserUpdated { user } = &event.payload {
                self.sessions.forget_user(ws, &user.id);
            }
            self.access.forget_on(ws, &event.payload);
        }
        if !events.is_empty() {
            self.send(
                ws,
                Command::Publish {
                    ws: ws.clone(),
                    events,
                },
            );
        }
    }
}
