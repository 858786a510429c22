//! What a shard tells the other nodes and hears from them, when there are any (a
//! [`PresenceLink`](super::link::PresenceLink)): heartbeats with its own statuses, the
//! other nodes' reports and typing notices, and the answers to presence lookups.

use hearth_core::id::{ChannelId, UserId, WorkspaceId};
use tokio::time::Instant;

use super::link::{NodeId, RemoteStatus, Report};
use super::shard::Shard;
use super::signals::{presence_frame, relay_typing};
use crate::gateway::outbox::ConnId;

impl Shard {
    /// Every third of `presence_ttl`, tells the other nodes every status this node holds,
    /// workspace by workspace: that keeps its statuses alive for them, and repairs any
    /// change they missed.
    pub(super) fn heartbeat(&mut self, now: Instant) {
        let Some(link) = &self.link else {
            return;
        };
        if now < self.next_heartbeat {
            return;
        }
        self.next_heartbeat = now + self.config.presence_ttl / 3;
        for (ws_id, ws) in &self.workspaces {
            let statuses = ws.presence.local_statuses();
            if !statuses.is_empty() {
                link.heartbeat(ws_id, &statuses);
            }
        }
    }

    /// Another node's report: that node counts as alive for `presence_ttl` from now.
    pub(super) fn heard(&mut self, ws_id: &WorkspaceId, node: NodeId, report: Report) {
        let Some(ws) = self.workspaces.get_mut(ws_id) else {
            return;
        };
        let until = Instant::now() + self.config.presence_ttl;
        ws.presence.heard(node, report, until);
        self.flush_presence(ws_id);
    }

    /// A typing notice another node accepted, for this node's connections in the channel.
    pub(super) fn remote_typing(
        &mut self,
        ws_id: &WorkspaceId,
        channel: &ChannelId,
        user: &UserId,
    ) {
        if let Some(ws) = self.workspaces.get(ws_id) {
            relay_typing(ws, channel, user, &self.config);
        }
    }

    /// The answer to the lookup `lookup` of connection `id`: what it found goes into the
    /// view (and out to other watchers as changes), then the connection gets the current
    /// state of everyone it watches, unless a newer subscription superseded this one.
    /// A failed lookup still answers, with what this node knows.
    pub(super) fn looked_up(
        &mut self,
        ws_id: &WorkspaceId,
        id: ConnId,
        lookup: u64,
        found: Result<Vec<RemoteStatus>, String>,
    ) {
        let now = Instant::now();
        let Some(ws) = self.workspaces.get_mut(ws_id) else {
            return;
        };
        match found {
            Ok(found) => ws.presence.looked_up(found, now),
            Err(error) => {
                tracing::warn!(workspace = %ws_id, %error, "looking presence up failed");
            }
        }
        self.flush_presence(ws_id);
        let Some(ws) = self.workspaces.get_mut(ws_id) else {
            return;
        };
        let Some(conn) = ws.conns.get_mut(&id) else {
            return;
        };
        if conn.presence_lookup != Some(lookup) {
            return;
        }
        conn.presence_lookup = None;
        for user in &conn.watching {
            conn.outbox
                .push(presence_frame(user, ws.presence.status(user)));
        }
    }
}
