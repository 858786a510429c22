//! Presence and typing state: ephemeral, kept in memory only and never stored.
//!
//! Presence is `active` while a user has a connection and was active in the last
//! `idle_after` (connecting, sending, typing or an `activity` frame count), `away` when
//! idle or set away by the user, `offline` once the last connection has been gone for
//! `offline_grace`. Only changes are sent, and only to connections that subscribed to that
//! user (`presence_sub`), so a large workspace does not broadcast every change to all.
//!
//! With several nodes, each node works out its *own* status of each user from its own
//! connections, by exactly those rules, and tells the other nodes (see [`super::link`]).
//! The status shown is the most present over all nodes (active over away over offline),
//! so a user connected to two nodes stays active while one of the connections closes.
//! What another node said lapses when that node has not been heard from for
//! `presence_ttl`: a node that dies takes its users offline with it.

use std::collections::{HashMap, HashSet};

use hearth_core::id::{ChannelId, UserId};
use serde::{Deserialize, Serialize};
use tokio::time::Instant;

use super::HubConfig;
use super::link::{NodeId, RemoteStatus, Report};
use crate::gateway::outbox::ConnId;

/// The most users one connection may watch.
pub const MAX_WATCHED: usize = 500;

/// Ordered from least to most present: the status shown is the greatest over all nodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Offline,
    Away,
    Active,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Active => "active",
            Status::Away => "away",
            Status::Offline => "offline",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "active" => Some(Status::Active),
            "away" => Some(Status::Away),
            "offline" => Some(Status::Offline),
            _ => None,
        }
    }
}

/// One user's connections on this node, and what this node makes of them.
struct Local {
    conns: usize,
    last_activity: Instant,
    /// Set away by the user; stays away until set back to auto.
    away: bool,
    /// This node's own status of the user.
    status: Status,
    disconnected_at: Option<Instant>,
}

/// What another node has told us.
struct RemoteNode {
    /// When the node is presumed dead, unless heard from again; all it said lapses then.
    until: Instant,
    /// Whether it has sent a full report (a heartbeat): from then on what we heard is
    /// newer than anything a lookup could read.
    complete: bool,
    /// Its statuses of users; absent means offline there.
    users: HashMap<UserId, Status>,
}

/// One workspace's presence and typing state.
#[derive(Default)]
pub(super) struct Presence {
    local: HashMap<UserId, Local>,
    remote: HashMap<NodeId, RemoteNode>,
    /// What watchers were last told; absent means offline.
    shown: HashMap<UserId, Status>,
    watchers: HashMap<UserId, HashSet<ConnId>>,
    /// Changes of `shown` not yet sent to watchers.
    changed: Vec<(UserId, Status)>,
    /// Changes of this node's own statuses not yet told to the other nodes.
    reported: Vec<(UserId, Status)>,
    /// When a user's typing in a channel was last relayed.
    typing: HashMap<(UserId, ChannelId), Instant>,
    /// Until then this view may lack what other nodes said before it began to listen
    /// (the workspace is new here, or the bus subscription was just made again), so
    /// presence subscriptions look users up. By then every live node has sent a heartbeat.
    partial_until: Option<Instant>,
}

impl Presence {
    pub(super) fn status(&self, user: &UserId) -> Status {
        self.shown.get(user).copied().unwrap_or(Status::Offline)
    }

    pub(super) fn connected(&mut self, user: &UserId, now: Instant, config: &HubConfig) {
        let entry = self.local.entry(user.clone()).or_insert(Local {
            conns: 0,
            last_activity: now,
            away: false,
            status: Status::Offline,
            disconnected_at: None,
        });
        entry.conns += 1;
        entry.last_activity = now;
        entry.disconnected_at = None;
        self.recompute(user, now, config);
    }

    /// The offline change itself waits for `offline_grace` (see [`Presence::tick`]).
    pub(super) fn disconnected(&mut self, user: &UserId, now: Instant) {
        if let Some(entry) = self.local.get_mut(user) {
            entry.conns = entry.conns.saturating_sub(1);
            if entry.conns == 0 {
                entry.disconnected_at = Some(now);
            }
        }
    }

    pub(super) fn activity(&mut self, user: &UserId, now: Instant, config: &HubConfig) {
        if let Some(entry) = self.local.get_mut(user) {
            entry.last_activity = now;
        }
        self.recompute(user, now, config);
    }

    pub(super) fn set_away(&mut self, user: &UserId, away: bool, now: Instant, config: &HubConfig) {
        if let Some(entry) = self.local.get_mut(user) {
            entry.away = away;
            if !away {
                entry.last_activity = now;
            }
        }
        self.recompute(user, now, config);
    }

    pub(super) fn watch(&mut self, conn: ConnId, old: &[UserId], new: &[UserId]) {
        self.unwatch(conn, old);
        for user in new {
            self.watchers.entry(user.clone()).or_default().insert(conn);
        }
    }

    pub(super) fn unwatch(&mut self, conn: ConnId, watching: &[UserId]) {
        for user in watching {
            if let Some(set) = self.watchers.get_mut(user) {
                set.remove(&conn);
                if set.is_empty() {
                    self.watchers.remove(user);
                }
            }
        }
    }

    pub(super) fn watchers(&self, user: &UserId) -> impl Iterator<Item = &ConnId> {
        self.watchers.get(user).into_iter().flatten()
    }

    /// Idle users become away; users gone for the grace period become offline; what
    /// nodes not heard from lately said lapses.
    pub(super) fn tick(&mut self, now: Instant, config: &HubConfig) {
        let lapsed: Vec<NodeId> = self
            .remote
            .iter()
            .filter(|(_, node)| node.until <= now)
            .map(|(id, _)| *id)
            .collect();
        for id in lapsed {
            if let Some(node) = self.remote.remove(&id) {
                for user in node.users.into_keys() {
                    self.reshow(&user);
                }
            }
        }
        let users: Vec<UserId> = self.local.keys().cloned().collect();
        for user in users {
            self.recompute(&user, now, config);
        }
        self.local
            .retain(|_, p| !(p.conns == 0 && p.status == Status::Offline));
        self.typing
            .retain(|_, at| now.duration_since(*at) < config.typing_throttle);
    }

    /// Whether this node has nothing left to say of anyone here: no connection, and no
    /// user in their grace period.
    pub(super) fn is_idle(&self) -> bool {
        self.local.is_empty()
    }

    fn recompute(&mut self, user: &UserId, now: Instant, config: &HubConfig) {
        if let Some(entry) = self.local.get_mut(user) {
            let status = if entry.conns == 0 {
                match entry.disconnected_at {
                    Some(at) if now.duration_since(at) >= config.offline_grace => Status::Offline,
                    _ => entry.status,
                }
            } else if entry.away || now.duration_since(entry.last_activity) >= config.idle_after {
                Status::Away
            } else {
                Status::Active
            };
            if status != entry.status {
                entry.status = status;
                self.reported.push((user.clone(), status));
            }
        }
        self.reshow(user);
    }

    /// Works out the status to show from this node's and every other node's, and queues
    /// a change for the watchers if it differs from what they were told.
    fn reshow(&mut self, user: &UserId) {
        let local = self.local.get(user).map_or(Status::Offline, |l| l.status);
        let best = self
            .remote
            .values()
            .filter_map(|node| node.users.get(user).copied())
            .fold(local, Status::max);
        if best != self.status(user) {
            if best == Status::Offline {
                self.shown.remove(user);
            } else {
                self.shown.insert(user.clone(), best);
            }
            self.changed.push((user.clone(), best));
        }
    }

    /// Changes to send to watchers since the last call.
    pub(super) fn take_changed(&mut self) -> Vec<(UserId, Status)> {
        std::mem::take(&mut self.changed)
    }

    /// Changes of this node's own statuses since the last call.
    pub(super) fn take_reported(&mut self) -> Vec<(UserId, Status)> {
        std::mem::take(&mut self.reported)
    }

    /// This node's own statuses, offline ones left out (for its heartbeat).
    pub(super) fn local_statuses(&self) -> Vec<(UserId, Status)> {
        self.local
            .iter()
            .filter(|(_, l)| l.status != Status::Offline)
            .map(|(user, l)| (user.clone(), l.status))
            .collect()
    }

    /// Takes in what another node reported; it counts as alive until `until`.
    pub(super) fn heard(&mut self, node: NodeId, report: Report, until: Instant) {
        let entry = self.remote.entry(node).or_insert_with(|| RemoteNode {
            until,
            complete: false,
            users: HashMap::new(),
        });
        entry.until = entry.until.max(until);
        let touched: Vec<UserId> = match report {
            Report::Changed(user, status) => {
                if status == Status::Offline {
                    entry.users.remove(&user);
                } else {
                    entry.users.insert(user.clone(), status);
                }
                vec![user]
            }
            Report::All(statuses) => {
                entry.complete = true;
                let now: HashMap<UserId, Status> = statuses
                    .into_iter()
                    .filter(|(_, status)| *status != Status::Offline)
                    .collect();
                let before = std::mem::replace(&mut entry.users, now);
                before
                    .into_keys()
                    .chain(entry.users.keys().cloned())
                    .collect()
            }
        };
        for user in touched {
            self.reshow(&user);
        }
    }

    /// Takes in what a lookup read. It only fills in what the bus has not told us: a
    /// node's own reports are at least as new. (A status a node withdrew between the read
    /// and now can come back from the read; that node's next heartbeat corrects it.)
    pub(super) fn looked_up(&mut self, found: Vec<RemoteStatus>, now: Instant) {
        for found in found {
            if found.status == Status::Offline {
                continue;
            }
            let node = self.remote.entry(found.node).or_insert_with(|| RemoteNode {
                until: now,
                complete: false,
                users: HashMap::new(),
            });
            node.until = node.until.max(now + found.valid_for);
            if node.complete {
                continue;
            }
            node.users.entry(found.user.clone()).or_insert(found.status);
            self.reshow(&found.user);
        }
    }

    /// Marks this view as possibly missing what other nodes said before now (see
    /// `partial_until`).
    pub(super) fn listen_from(&mut self, now: Instant, config: &HubConfig) {
        self.partial_until = Some(now + config.presence_ttl);
    }

    pub(super) fn is_partial(&self, now: Instant) -> bool {
        self.partial_until.is_some_and(|until| now < until)
    }

    /// Whether a typing notice may be relayed now, recording it if so.
    pub(super) fn typing_allowed(
        &mut self,
        user: &UserId,
        channel: &ChannelId,
        now: Instant,
        config: &HubConfig,
    ) -> bool {
        let key = (user.clone(), channel.clone());
        match self.typing.get(&key) {
            Some(at) if now.duration_since(*at) < config.typing_throttle => false,
            _ => {
                self.typing.insert(key, now);
                true
            }
        }
    }
}
