//! The hub's line to the other nodes for presence and typing.
//!
//! Events need no such line: they reach every node over the bus and are backed by the
//! store's log. Presence and typing are never stored, so with several nodes each hub
//! tells the others what it knows of its own users through a [`PresenceLink`] and hears
//! theirs back as commands on its shards' queues. With the in-process bus there is no link
//! and the hub is exactly the single node it always was.
//!
//! The link is the hub's port; Redis is one adapter of it
//! ([`crate::gateway::bus::redis::RedisPresence`]), and a test can plug in another.

use std::time::Duration;

use futures::future::BoxFuture;
use hearth_core::id::{ChannelId, UserId, WorkspaceId};

pub use super::presence::Status;

/// Identifies one running node (one `hearth serve` process), random at each start.
pub type NodeId = u64;

/// What a lookup found: what one other node says of one user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteStatus {
    pub user: UserId,
    pub node: NodeId,
    /// Never `Offline`: a node that has nothing to say of a user says nothing.
    pub status: Status,
    /// How long that node stays alive for us unless we hear from it again.
    pub valid_for: Duration,
}

/// Another node's report, as its shards heard it.
#[derive(Debug, Clone)]
pub enum Report {
    /// That node's own status of one user changed (`Offline`: it no longer has them).
    Changed(UserId, Status),
    /// Its heartbeat: every status it holds in the workspace; anyone absent is offline
    /// there.
    All(Vec<(UserId, Status)>),
}

/// How a hub reaches the other nodes. Every method but [`PresenceLink::look_up`] must
/// return at once (queue and forget): a shard never waits on the network.
pub trait PresenceLink: Send + Sync + 'static {
    /// This node's own status of `user` changed; `Offline` withdraws it.
    fn status_changed(&self, ws: &WorkspaceId, user: &UserId, status: Status);

    /// This node's heartbeat in `ws`, with every status it holds there (none offline):
    /// refreshes them wherever they are kept and tells the other nodes it is alive.
    fn heartbeat(&self, ws: &WorkspaceId, statuses: &[(UserId, Status)]);

    /// A typing notice this node accepted (after its throttle), for the other nodes'
    /// connections in that channel.
    fn typing(&self, ws: &WorkspaceId, channel: &ChannelId, user: &UserId);

    /// What the other nodes currently say of `users`. The future resolves in bounded
    /// time, with an error if the answer cannot be had.
    fn look_up(
        &self,
        ws: &WorkspaceId,
        users: Vec<UserId>,
    ) -> BoxFuture<'static, Result<Vec<RemoteStatus>, String>>;
}
