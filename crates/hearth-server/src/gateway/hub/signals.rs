//! A shard's handling of the ephemeral signals its own connections send: presence
//! subscriptions, `set_presence`, activity and typing; and the delivery of presence
//! changes to watchers (and, with a [`PresenceLink`](super::link::PresenceLink), to the
//! other nodes).

use axum::extract::ws::Utf8Bytes;
use hearth_core::id::{ChannelId, UserId, WorkspaceId};
use hearth_proto::ServerFrame;
use tokio::time::Instant;

use super::presence::{MAX_WATCHED, Presence, Status};
use super::shard::{Shard, Workspace, encode};
use super::{Command, HubConfig};
use crate::gateway::outbox::ConnId;

pub(super) fn presence_frame(user: &UserId, status: Status) -> Utf8Bytes {
    encode(&ServerFrame::Presence {
        user_id: user.to_string(),
        presence: status.as_str().to_owned(),
    })
}

/// Relays a typing notice to the connections that receive `channel`, except the
/// typist's own.
pub(super) fn relay_typing(ws: &Workspace, channel: &ChannelId, user: &UserId, config: &HubConfig) {
    let frame = encode(&ServerFrame::Typing {
        channel_id: channel.to_string(),
        user_id: user.to_string(),
        ttl_ms: u64::try_from(config.typing_ttl.as_millis()).unwrap_or(u64::MAX),
    });
    for id in ws.channels.get(channel).into_iter().flatten() {
        if let Some(conn) = ws.conns.get(id).filter(|c| c.user != *user) {
            conn.outbox.push_ephemeral(frame.clone());
        }
    }
}

impl Shard {
    /// Sends pending presence changes to their watchers, one encoding per change, and
    /// this node's own changes to the other nodes.
    pub(super) fn flush_presence(&mut self, ws_id: &WorkspaceId) {
        let Some(ws) = self.workspaces.get_mut(ws_id) else {
            return;
        };
        for (user, status) in ws.presence.take_changed() {
            let mut frame = None;
            for id in ws.presence.watchers(&user) {
                // A connection waiting for a lookup gets the state as of its answer;
                // a change before that would arrive ahead of the initial state.
                if let Some(conn) = ws.conns.get(id).filter(|c| c.presence_lookup.is_none()) {
                    let frame = frame.get_or_insert_with(|| presence_frame(&user, status));
                    conn.outbox.push_ephemeral(frame.clone());
                }
            }
        }
        let reported = ws.presence.take_reported();
        if let Some(link) = &self.link {
            for (user, status) in reported {
                link.status_changed(ws_id, &user, status);
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
            relay_typing(ws, &channel, &user, &self.config);
            if let Some(link) = &self.link {
                link.typing(ws_id, &channel, &user);
            }
        }
        self.flush_presence(ws_id);
    }

    /// Replaces the users a connection watches and sends it their current state; changes
    /// follow. While this view of the other nodes may be partial, the current state is
    /// first looked up, and sent once the answer is in.
    pub(super) fn presence_sub(&mut self, ws_id: &WorkspaceId, id: ConnId, users: Vec<UserId>) {
        let now = Instant::now();
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

        let inbox = self.inbox.upgrade();
        if let (Some(link), Some(inbox)) = (&self.link, inbox)
            && ws.presence.is_partial(now)
            && !users.is_empty()
        {
            self.lookups += 1;
            let lookup = self.lookups;
            conn.presence_lookup = Some(lookup);
            let answer = link.look_up(ws_id, users);
            let ws_id = ws_id.clone();
            tokio::spawn(async move {
                let found = answer.await;
                let _ = inbox.send(Command::LookedUp {
                    ws: ws_id,
                    conn: id,
                    lookup,
                    found,
                });
            });
            return;
        }
        conn.presence_lookup = None;
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
