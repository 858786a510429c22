//! One hub shard: the state of its workspaces and the rules that route events.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::extract::ws::Utf8Bytes;
use hearth_core::event::{Audience, Event, EventPayload};
use hearth_core::id::{ChannelId, UserId, WorkspaceId};
use hearth_core::secret::SecretHash;
use hearth_core::store::Store;
use hearth_proto::{ServerFrame, close_code};
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::link::PresenceLink;
use super::presence::Presence;
use super::{Command, HubConfig, HubStats};
use crate::convert;
use crate::gateway::outbox::{ConnId, Outbox, Pushed};

/// How often a shard checks timers (gaps, presence, typing).
const TICK: Duration = Duration::from_millis(250);

/// An event and its frame, encoded once and shared by every recipient.
pub(super) struct Encoded {
    event: Event,
    frame: Utf8Bytes,
}

pub(super) enum Phase {
    /// Starting: events processed since registration, to route once the subscription is
    /// known.
    Pending(Vec<Arc<Encoded>>),
    Live,
}

pub(super) struct Conn {
    pub(super) user: UserId,
    /// The session it signed in with; logout closes it.
    session: SecretHash,
    pub(super) outbox: Outbox,
    phase: Phase,
    /// The channels this connection receives, as of the newest processed event.
    pub(super) channels: HashSet<ChannelId>,
    /// Events at or before this seq are the replay's business, never the live stream's.
    live_from: i64,
    /// Users whose presence this connection subscribed to.
    pub(super) watching: Vec<UserId>,
    /// The presence lookup this connection's initial states wait for, if any.
    pub(super) presence_lookup: Option<u64>,
}

impl Conn {
    pub(super) fn is_live(&self) -> bool {
        matches!(self.phase, Phase::Live)
    }
}

/// Everything a shard knows about one workspace with local connections.
#[derive(Default)]
pub(super) struct Workspace {
    /// The newest seq processed in order; `None` until the first connection goes live.
    pub(super) delivered: Option<i64>,
    pub(super) reorder: BTreeMap<i64, Event>,
    pub(super) gap_since: Option<Instant>,
    /// A read of the log is in flight (a gap fill or a tail check).
    pub(super) filling: bool,
    /// When the log's tail was last read (see `HubConfig::tail_check`).
    pub(super) tail_checked: Option<Instant>,
    pub(super) conns: HashMap<ConnId, Conn>,
    /// Live connections per channel: the index that makes a 10-member channel cost 10
    /// pushes, not a scan.
    pub(super) channels: HashMap<ChannelId, HashSet<ConnId>>,
    /// Connections per user, live or pending.
    pub(super) users: HashMap<UserId, Vec<ConnId>>,
    pub(super) presence: Presence,
}

pub(super) struct Shard {
    pub(super) store: Arc<dyn Store>,
    /// For gap fills and presence lookups to report back to this shard. Weak, so that
    /// the shard's task ends once every [`Hub`](super::Hub) handle is gone.
    pub(super) inbox: mpsc::WeakUnboundedSender<Command>,
    pub(super) config: HubConfig,
    pub(super) stats: Arc<HubStats>,
    /// The other nodes, for presence and typing; `None` on a single node.
    pub(super) link: Option<Arc<dyn PresenceLink>>,
    /// Numbers presence lookups, so that an answer superseded by a newer subscription is
    /// recognised.
    pub(super) lookups: u64,
    /// When this shard next sends its heartbeat over the link.
    pub(super) next_heartbeat: Instant,
    /// Workspaces with local connections, or with users in their offline grace period.
    pub(super) workspaces: HashMap<WorkspaceId, Workspace>,
}

pub(super) fn spawn(
    store: Arc<dyn Store>,
    config: HubConfig,
    stats: Arc<HubStats>,
    link: Option<Arc<dyn PresenceLink>>,
) -> mpsc::UnboundedSender<Command> {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let mut shard = Shard {
        store,
        inbox: tx.downgrade(),
        config,
        stats,
        link,
        lookups: 0,
        next_heartbeat: Instant::now(),
        workspaces: HashMap::new(),
    };
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(TICK);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                command = rx.recv() => match command {
                    Some(command) => shard.handle(command),
                    None => break,
                },
                _ = ticker.tick() => shard.tick(Instant::now()),
            }
        }
    });
    tx
}

pub(super) use crate::gateway::encode;

impl Shard {
    fn handle(&mut self, command: Command) {
        match command {
            Command::Publish { ws, events } => self.publish(&ws, events.iter().cloned()),
            Command::Register {
                ws,
                conn,
                user,
                session,
                outbox,
            } => self.register(ws, conn, user, session, outbox),
            Command::Activate {
                ws,
                conn,
                channels,
                live_from,
            } => self.activate(&ws, conn, channels, live_from),
            Command::Unregister { ws, conn } => self.unregister(&ws, conn),
            Command::Typing { ws, conn, channel } => self.typing(&ws, conn, channel),
            Command::PresenceSub { ws, conn, users } => self.presence_sub(&ws, conn, users),
            Command::SetAway { ws, conn, away } => self.set_away(&ws, conn, away),
            Command::Activity { ws, conn } => self.activity(&ws, conn),
            Command::Statuses { ws, users, reply } => {
                // What this node shows, which includes what other nodes reported to it.
                let statuses = match self.workspaces.get(&ws) {
                    Some(w) => users.iter().map(|u| w.presence.status(u)).collect(),
                    None => vec![super::link::Status::Offline; users.len()],
                };
                let _ = reply.send(statuses);
            }
            Command::Filled { ws, page } => self.filled(&ws, page),
            Command::CatchUp => {
                let now = Instant::now();
                let ids: Vec<WorkspaceId> = self.workspaces.keys().cloned().collect();
                for ws_id in ids {
                    self.read_log(&ws_id, now);
                    // Presence reports were missed too; until every node's next heartbeat
                    // has come in, subscriptions look users up.
                    if let Some(ws) = self.workspaces.get_mut(&ws_id) {
                        ws.presence.listen_from(now, &self.config);
                    }
                }
            }
            Command::Heard { ws, node, report } => self.heard(&ws, node, report),
            Command::RemoteTyping { ws, channel, user } => self.remote_typing(&ws, &channel, &user),
            Command::LookedUp {
                ws,
                conn,
                lookup,
                found,
            } => self.looked_up(&ws, conn, lookup, found),
            Command::EndSession { ws, session } => {
                for conn in self
                    .workspaces
                    .get(&ws)
                    .into_iter()
                    .flat_map(|w| w.conns.values())
                {
                    if conn.session == session {
                        conn.outbox.kill(close_code::AUTH_FAILED);
                    }
                }
            }
            Command::CloseAll { code } => {
                for ws in self.workspaces.values() {
                    for conn in ws.conns.values() {
                        conn.outbox.kill(code);
                    }
                }
            }
        }
    }

    pub(super) fn publish(&mut self, ws_id: &WorkspaceId, events: impl Iterator<Item = Event>) {
        // No local connection in this workspace: nothing to deliver, nothing to track.
        let Some(ws) = self
            .workspaces
            .get_mut(ws_id)
            .filter(|ws| !ws.conns.is_empty())
        else {
            return;
        };
        for event in events {
            if ws.delivered.is_none_or(|d| event.seq > d) {
                ws.reorder.insert(event.seq, event);
            }
        }
        if ws.delivered.is_none() && ws.reorder.len() > self.config.pending_limit {
            // Nobody has gone live for a long time; start over rather than grow. Every
            // connection here is pending and would miss what is dropped: each is closed
            // as a slow consumer, and resumes from the log.
            ws.reorder.clear();
            for conn in ws.conns.values() {
                conn.outbox.kill(close_code::SLOW_CONSUMER);
            }
        }
        self.drain(ws_id);
    }

    /// Processes buffered events in seq order for as long as they are contiguous.
    fn drain(&mut self, ws_id: &WorkspaceId) {
        let Some(ws) = self.workspaces.get_mut(ws_id) else {
            return;
        };
        let Some(mut delivered) = ws.delivered else {
            return;
        };
        while let Some(entry) = ws.reorder.first_entry() {
            let seq = *entry.key();
            if seq <= delivered {
                entry.remove();
            } else if seq == delivered + 1 {
                let event = entry.remove();
                process(ws, event, &self.stats, self.config.pending_limit);
                delivered = seq;
            } else {
                break;
            }
        }
        ws.delivered = Some(delivered);
        if ws.reorder.is_empty() {
            ws.gap_since = None;
        } else if ws.gap_since.is_none() {
            ws.gap_since = Some(Instant::now());
        }
    }

    fn register(
        &mut self,
        ws_id: WorkspaceId,
        id: ConnId,
        user: UserId,
        session: SecretHash,
        outbox: Outbox,
    ) {
        let now = Instant::now();
        let ws = self.workspaces.entry(ws_id.clone()).or_insert_with(|| {
            // New here: what other nodes said before now was not heard.
            let mut ws = Workspace::default();
            ws.presence.listen_from(now, &self.config);
            ws
        });
        ws.users.entry(user.clone()).or_default().push(id);
        ws.conns.insert(
            id,
            Conn {
                user: user.clone(),
                session,
                outbox,
                phase: Phase::Pending(Vec::new()),
                channels: HashSet::new(),
                live_from: i64::MAX,
                watching: Vec::new(),
                presence_lookup: None,
            },
        );
        ws.presence.connected(&user, now, &self.config);
        self.flush_presence(&ws_id);
    }

    fn activate(
        &mut self,
        ws_id: &WorkspaceId,
        id: ConnId,
        channels: Vec<ChannelId>,
        live_from: i64,
    ) {
        let Some(ws) = self.workspaces.get_mut(ws_id) else {
            return;
        };
        let Some(conn) = ws.conns.get_mut(&id) else {
            return;
        };
        let Phase::Pending(buffered) = std::mem::replace(&mut conn.phase, Phase::Live) else {
            return;
        };
        conn.live_from = live_from;
        for channel in &channels {
            ws.channels.entry(channel.clone()).or_default().insert(id);
        }
        conn.channels = channels.into_iter().collect();
        // Route what was processed while the subscription was read, by the same rules as
        // `process`, for this one connection.
        for encoded in &buffered {
            route_to_one(ws, id, encoded, &self.stats);
        }
        if ws.delivered.is_none() {
            // The first connection of the workspace to go live: the stream starts after
            // its snapshot. Others still pending may have read theirs earlier, and need
            // what lies between: it is all in the reorder buffer (each such event
            // committed after their snapshot, so it reached the hub after their
            // registration), and goes to them now, as it would have had the stream
            // started earlier.
            let after = ws.reorder.split_off(&(live_from + 1));
            let before = std::mem::replace(&mut ws.reorder, after);
            for event in before.into_values() {
                let encoded = encoded(event, &self.stats);
                buffer_for_pending(ws, &encoded, self.config.pending_limit);
            }
            // The subscription was read at `live_from`: the tail is known up to there,
            // so the first tail check is due one period from now.
            ws.delivered = Some(live_from);
            ws.tail_checked = Some(Instant::now());
        }
        self.drain(ws_id);
    }

    fn unregister(&mut self, ws_id: &WorkspaceId, id: ConnId) {
        let Some(ws) = self.workspaces.get_mut(ws_id) else {
            return;
        };
        let Some(conn) = ws.conns.remove(&id) else {
            return;
        };
        for channel in &conn.channels {
            remove_from_index(&mut ws.channels, channel, id);
        }
        if let Some(conns) = ws.users.get_mut(&conn.user) {
            conns.retain(|c| *c != id);
            if conns.is_empty() {
                ws.users.remove(&conn.user);
            }
        }
        ws.presence.unwatch(id, &conn.watching);
        ws.presence.disconnected(&conn.user, Instant::now());
        self.flush_presence(ws_id);
        let Some(ws) = self.workspaces.get_mut(ws_id) else {
            return;
        };
        if ws.conns.is_empty() {
            // The last local connection of the workspace: forget its delivery state, so
            // that whoever connects next starts from a fresh subscription. Its presence
            // stays until the grace periods are over (see `tick`): other nodes must still
            // hear those users go offline.
            if ws.presence.is_idle() {
                self.workspaces.remove(ws_id);
            } else {
                let presence = std::mem::take(&mut ws.presence);
                *ws = Workspace {
                    presence,
                    ..Workspace::default()
                };
            }
        }
    }

    pub(super) fn tick(&mut self, now: Instant) {
        let ids: Vec<WorkspaceId> = self.workspaces.keys().cloned().collect();
        for ws_id in ids {
            self.check_gap(&ws_id, now);
            self.presence_tick(&ws_id, now);
        }
        self.heartbeat(now);
        self.workspaces
            .retain(|_, ws| !ws.conns.is_empty() || !ws.presence.is_idle());
    }
}

pub(super) fn remove_from_index(
    index: &mut HashMap<ChannelId, HashSet<ConnId>>,
    channel: &ChannelId,
    id: ConnId,
) {
    if let Some(conns) = index.get_mut(channel) {
        conns.remove(&id);
        if conns.is_empty() {
            index.remove(channel);
        }
    }
}

/// Routes one event, in seq order, to the workspace's live connections, keeping the
/// channel index equal to membership at this seq: founding members and joiners receive
/// the event that made them members; a leaver receives its own `member.left` and nothing
/// after it. Pending connections buffer the event to route it on activation.
fn process(ws: &mut Workspace, event: Event, stats: &HubStats, pending_limit: usize) {
    let encoded = encoded(event, stats);
    buffer_for_pending(ws, &encoded, pending_limit);

    for (channel, user) in joins(&encoded.event.payload) {
        for id in ws.users.get(user).into_iter().flatten() {
            if let Some(conn) = ws.conns.get_mut(id).filter(|c| c.is_live()) {
                conn.channels.insert(channel.clone());
                ws.channels.entry(channel.clone()).or_default().insert(*id);
            }
        }
    }

    let recipients: Vec<ConnId> = match encoded.event.payload.audience() {
        Audience::Channel(channel) => ws
            .channels
            .get(&channel)
            .map(|c| c.iter().copied().collect())
            .unwrap_or_default(),
        Audience::User(user) => ws.users.get(&user).cloned().unwrap_or_default(),
        Audience::Workspace => ws.conns.keys().copied().collect(),
    };
    for id in recipients {
        if let Some(conn) = ws.conns.get(&id) {
            deliver(conn, &encoded, stats);
        }
    }

    if let EventPayload::MemberLeft {
        channel_id,
        user_id,
    } = &encoded.event.payload
    {
        for id in ws.users.get(user_id).into_iter().flatten() {
            if let Some(conn) = ws.conns.get_mut(id) {
                conn.channels.remove(channel_id);
            }
            remove_from_index(&mut ws.channels, channel_id, *id);
        }
    }

    if let EventPayload::UserUpdated { user } = &encoded.event.payload
        && user.deactivated
    {
        // Deactivation revokes every session: close the sockets too.
        for id in ws.users.get(&user.id).into_iter().flatten() {
            if let Some(conn) = ws.conns.get(id) {
                conn.outbox.kill(close_code::AUTH_FAILED);
            }
        }
    }
}

/// Encodes an event's frame, once for all its recipients.
fn encoded(event: Event, stats: &HubStats) -> Arc<Encoded> {
    let frame = encode(&ServerFrame::Event(convert::event(&event)));
    stats.events_encoded.fetch_add(1, Ordering::Relaxed);
    Arc::new(Encoded { event, frame })
}

/// Keeps an event for every pending connection, to route when it goes live; a
/// connection that has buffered `pending_limit` is closed as a slow consumer (it resumes).
fn buffer_for_pending(ws: &mut Workspace, encoded: &Arc<Encoded>, pending_limit: usize) {
    for conn in ws.conns.values_mut() {
        if let Phase::Pending(buffer) = &mut conn.phase {
            if buffer.len() >= pending_limit {
                conn.outbox.kill(close_code::SLOW_CONSUMER);
            } else {
                buffer.push(encoded.clone());
            }
        }
    }
}

/// The (channel, user) memberships an event starts.
fn joins(payload: &EventPayload) -> Vec<(&ChannelId, &UserId)> {
    match payload {
        EventPayload::ChannelCreated {
            channel,
            member_ids,
        } => member_ids.iter().map(|u| (&channel.id, u)).collect(),
        EventPayload::MemberJoined {
            channel_id,
            user_id,
        } => vec![(channel_id, user_id)],
        _ => Vec::new(),
    }
}

/// The per-connection form of [`process`]'s rules, for events buffered while pending.
///
/// Events at or before the connection's snapshot are skipped whole: its channels were
/// read at that seq, and a membership change that reached the hub late must not be
/// replayed over a newer one already in them.
fn route_to_one(ws: &mut Workspace, id: ConnId, encoded: &Encoded, stats: &HubStats) {
    let Some(conn) = ws.conns.get_mut(&id) else {
        return;
    };
    if encoded.event.seq <= conn.live_from {
        return;
    }
    for (channel, user) in joins(&encoded.event.payload) {
        if *user == conn.user {
            conn.channels.insert(channel.clone());
            ws.channels.entry(channel.clone()).or_default().insert(id);
        }
    }
    let visible = match encoded.event.payload.audience() {
        Audience::Channel(channel) => conn.channels.contains(&channel),
        Audience::User(user) => user == conn.user,
        Audience::Workspace => true,
    };
    if visible {
        deliver(conn, encoded, stats);
    }
    if let EventPayload::MemberLeft {
        channel_id,
        user_id,
    } = &encoded.event.payload
        && *user_id == conn.user
    {
        conn.channels.remove(channel_id);
        remove_from_index(&mut ws.channels, channel_id, id);
    }
}

fn deliver(conn: &Conn, encoded: &Encoded, stats: &HubStats) {
    if !conn.is_live() || encoded.event.seq <= conn.live_from {
        return;
    }
    match conn.outbox.push(encoded.frame.clone()) {
        Pushed::Queued => {
            stats.deliveries.fetch_add(1, Ordering::Relaxed);
        }
        Pushed::Killed => {
            stats.slow_consumers.fetch_add(1, Ordering::Relaxed);
        }
        Pushed::Skipped | Pushed::Gone => {}
    }
}
