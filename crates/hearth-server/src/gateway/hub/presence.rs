//! Presence and typing: ephemeral state, kept in memory only and never stored.
//!
//! Presence is `active` while a user has a connection and was active in the last
//! `idle_after` (connecting, sending, typing or an `activity` frame count), `away` when
//! idle or set away by the user, `offline` once the last connection has been gone for
//! `offline_grace`. Only changes are sent, and only to connections that subscribed to that
//! user (`presence_sub`), so a large workspace does not broadcast every change to all.

use std::collections::{HashMap, HashSet};

use hearth_core::id::{ChannelId, UserId, WorkspaceId};
use hearth_proto::ServerFrame;
use tokio::time::Instant;

use super::HubConfig;
use super::shard::{Shard, encode};
use crate::gateway::outbox::ConnId;

/// The most users one connection may watch.
pub const MAX_WATCHED: usize = 500;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Active,
    Away,
    Offline,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Active => "active",
            Status::Away => "away",
            Status::Offline => "offline",
        }
    }
}

struct UserPresence {
    conns: usize,
    last_activity: Instant,
    /// Set away by the user; stays away until set back to auto.
    away: bool,
    /// What watchers were last told.
    shown: Status,
    disconnected_at: Option<Instant>,
}

/// One workspace's presence and typing state.
#[derive(Default)]
pub(super) struct Presence {
    users: HashMap<UserId, UserPresence>,
    watchers: HashMap<UserId, HashSet<ConnId>>,
    /// Changes not yet sent to watchers.
    changed: Vec<(UserId, Status)>,
    /// When a user's typing in a channel was last relayed.
    typing: HashMap<(UserId, ChannelId), Instant>,
}

impl Presence {
    pub(super) fn status(&self, user: &UserId) -> Status {
        self.users.get(user).map_or(Status::Offline, |p| p.shown)
    }

    pub(super) fn connected(&mut self, user: &UserId, now: Instant, config: &HubConfig) {
        let entry = self.users.entry(user.clone()).or_insert(UserPresence {
            conns: 0,
            last_activity: now,
            away: false,
            shown: Status::Offline,
            disconnected_at: None,
        });
        entry.conns += 1;
        entry.last_activity = now;
        entry.disconnected_at = None;
        self.recompute(user, now, config);
    }

    /// The offline change itself waits for `offline_grace` (see [`Presence::tick`]).
    pub(super) fn disconnected(&mut self, user: &UserId, now: Instant) {
        if let Some(entry) = self.users.get_mut(user) {
            entry.conns = entry.conns.saturating_sub(1);
            if entry.conns == 0 {
                entry.disconnected_at = Some(now);
            }
        }
    }

    pub(super) fn activity(&mut self, user: &UserId, now: Instant, config: &HubConfig) {
        if let Some(entry) = self.users.get_mut(user) {
            entry.last_activity = now;
        }
        self.recompute(user, now, config);
    }

    pub(super) fn set_away(&mut self, user: &UserId, away: bool, now: Instant, config: &HubConfig) {
        if let Some(entry) = self.users.get_mut(user) {
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

    /// Idle users become away; users gone for the grace period become offline.
    pub(super) fn tick(&mut self, now: Instant, config: &HubConfig) {
        let users: Vec<UserId> = self.users.keys().cloned().collect();
        for user in users {
            self.recompute(&user, now, config);
        }
        self.users
            .retain(|_, p| !(p.conns == 0 && p.shown == Status::Offline));
        self.typing
            .retain(|_, at| now.duration_since(*at) < config.typing_throttle);
    }

    fn recompute(&mut self, user: &UserId, now: Instant, config: &HubConfig) {
        let Some(entry) = self.users.get_mut(user) else {
            return;
        };
        let status = if entry.conns == 0 {
            match entry.disconnected_at {
                Some(at) if now.duration_since(at) >= config.offline_grace => Status::Offline,
                _ => entry.shown,
            }
        } else if entry.away || now.duration_since(entry.last_activity) >= config.idle_after {
            Status::Away
        } else {
            Status::Active
        };
        if status != entry.shown {
            entry.shown = status;
            self.changed.push((user.clone(), status));
        }
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

fn presence_frame(user: &UserId, status: Status) -> axum::extract::ws::Utf8Bytes {
    encode(&ServerFrame::Presence {
        user_id: user.to_string(),
        presence: status.as_str().to_owned(),
    })
}

impl Shard {
    /// Sends pending presence changes to their watchers, one encoding per change.
    pub(super) fn flush_presence(&mut self, ws_id: &WorkspaceId) {
        let Some(ws) = self.workspaces.get_mut(ws_id) else {
            return;
        };
        for (user, status) in std::mem::take(&mut ws.presence.changed) {
            let Some(watchers) = ws.presence.watchers.get(&user) else {
                continue;
            };
            let frame = presence_frame(&user, status);
            for id in watchers {
                if let Some(conn) = ws.conns.get(id) {
                    conn.outbox.push_ephemeral(frame.clone());
                }
            }
        }
    }

    pub(super) fn presence_tick(&mut self, ws_id: &WorkspaceId, now: Instant) {
        if let Some(ws) = self.workspaces.get_mut(ws_id) {
            ws.presence.tick(now, &self.config);
        }
        self.flush_presence(ws_id);
    }

    pub(super) fn typing(&mut self, ws_id: &WorkspaceId, id: ConnId, channel: ChannelId) {
        let now = Instant::now();
        let Some(ws) = self.workspaces.get_mut(ws_id) else {
            return;
        };
        let Some(conn) = ws.conns.get(&id) else {
            return;
        };
        let user = conn.user.clone();
        if !conn.is_live() || !conn.channels.contains(&channel) {
            conn.outbox.push(encode(&ServerFrame::Error {
                code: "not_in_channel".into(),
                message: "Join the channel first.".into(),
                client_msg_id: None,
            }));
            return;
        }
        ws.presence.activity(&user, now, &self.config);
        if ws
            .presence
            .typing_allowed(&user, &channel, now, &self.config)
        {
            let frame = encode(&ServerFrame::Typing {
                channel_id: channel.to_string(),
                user_id: user.to_string(),
                ttl_ms: u64::try_from(self.config.typing_ttl.as_millis()).unwrap_or(u64::MAX),
            });
            for other in ws.channels.get(&channel).into_iter().flatten() {
                if let Some(conn) = ws.conns.get(other).filter(|c| c.user != user) {
                    conn.outbox.push_ephemeral(frame.clone());
                }
            }
        }
        self.flush_presence(ws_id);
    }

    pub(super) fn presence_sub(&mut self, ws_id: &WorkspaceId, id: ConnId, users: Vec<UserId>) {
        let Some(ws) = self.workspaces.get_mut(ws_id) else {
            return;
        };
        let Some(conn) = ws.conns.get_mut(&id) else {
            return;
        };
        let mut users = users;
        users.sort();
        users.dedup();
        users.truncate(MAX_WATCHED);
        let old = std::mem::replace(&mut conn.watching, users.clone());
        ws.presence.watch(id, &old, &users);
        // The current state of each, so the client starts right; changes follow.
        for user in &users {
            conn.outbox
                .push(presence_frame(user, ws.presence.status(user)));
        }
    }

    pub(super) fn set_away(&mut self, ws_id: &WorkspaceId, id: ConnId, away: bool) {
        self.with_user(ws_id, id, |presence, user, now, config| {
            presence.set_away(user, away, now, config)
        });
    }

    pub(super) fn activity(&mut self, ws_id: &WorkspaceId, id: ConnId) {
        self.with_user(ws_id, id, |presence, user, now, config| {
            presence.activity(user, now, config)
        });
    }

    fn with_user(
        &mut self,
        ws_id: &WorkspaceId,
        id: ConnId,
        change: impl FnOnce(&mut Presence, &UserId, Instant, &HubConfig),
    ) {
        let Some(ws) = self.workspaces.get_mut(ws_id) else {
            return;
        };
        let Some(user) = ws.conns.get(&id).map(|c| c.user.clone()) else {
            return;
        };
        change(&mut ws.presence, &user, Instant::now(), &self.config);
        self.flush_presence(ws_id);
    }
}
