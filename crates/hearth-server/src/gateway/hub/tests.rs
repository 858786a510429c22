//! The hub with paused time: a real hub (its shard tasks and timers) with fake
//! connections whose outboxes the tests read directly. Presence and typing timers, and
//! the ordering rules that are hard to provoke over sockets: going live from a
//! subscription snapshot, and reordering events published out of order.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::Utf8Bytes;
use hearth_core::Timestamp;
use hearth_core::event::{Event, EventPayload};
use hearth_core::id::{ChannelId, UserId, WorkspaceId};
use hearth_sqlite::{SqliteOptions, SqliteStore};
use serde_json::{Value, json};
use tempfile::TempDir;
use tokio::sync::mpsc;

use super::link::PresenceLink;
use super::{Command, Hub, HubConfig};
use crate::gateway::outbox::{ConnId, KillSwitch, Outbox};

pub(super) struct Fixture {
    pub(super) hub: Hub,
    pub(super) ws: WorkspaceId,
    next_id: ConnId,
    _dir: TempDir,
}

/// One fake connection: what the hub queued for it.
pub(super) struct Conn {
    id: ConnId,
    queue: mpsc::Receiver<Utf8Bytes>,
    kill: Arc<KillSwitch>,
}

impl Conn {
    /// Every frame queued so far.
    pub(super) fn frames(&mut self) -> Vec<Value> {
        let mut frames = Vec::new();
        while let Ok(frame) = self.queue.try_recv() {
            frames.push(serde_json::from_str(frame.as_str()).unwrap());
        }
        frames
    }

    /// The code the hub closed this connection with, if it did.
    fn closed_with(&self) -> Option<u16> {
        futures::FutureExt::now_or_never(self.kill.killed())
    }
}

/// A hub on a fresh store, with time paused from here on. Presence and typing never
/// touch the store; it is there because the hub needs one for gap fills.
async fn fixture() -> Fixture {
    fixture_with(None).await
}

/// A hub as [`fixture`]'s, linked to other nodes through `link` when given.
pub(super) async fn fixture_with(link: Option<Arc<dyn PresenceLink>>) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("hub.db"), SqliteOptions::default())
        .await
        .unwrap();
    tokio::time::pause();
    let store = Arc::new(store);
    let config = HubConfig::default();
    Fixture {
        hub: match link {
            None => Hub::start(store, config),
            Some(link) => Hub::start_linked(store, config, link),
        },
        ws: WorkspaceId::generate(),
        next_id: 0,
        _dir: dir,
    }
}

impl Fixture {
    /// A live connection of `user` in `channels`.
    pub(super) fn connect(&mut self, user: &UserId, channels: &[&ChannelId]) -> Conn {
        let conn = self.register(user);
        self.activate(&conn, channels, 0);
        conn
    }

    /// A connection that has registered but not yet read its subscription.
    pub(super) fn register(&mut self, user: &UserId) -> Conn {
        self.next_id += 1;
        let id = self.next_id;
        let (outbox, queue, kill) = Outbox::new(64);
        self.send(Command::Register {
            ws: self.ws.clone(),
            conn: id,
            user: user.clone(),
            session: hearth_core::secret::SecretHash::of(&format!("session-{id}")),
            outbox,
        });
        Conn { id, queue, kill }
    }

    /// Goes live with the subscription read at `live_from`.
    pub(super) fn activate(&self, conn: &Conn, channels: &[&ChannelId], live_from: i64) {
        self.send(Command::Activate {
            ws: self.ws.clone(),
            conn: conn.id,
            channels: channels.iter().map(|c| (*c).clone()).collect(),
            live_from,
        });
    }

    fn publish(&self, events: Vec<Event>) {
        self.hub.publish(&self.ws, events.into());
    }

    pub(super) fn disconnect(&self, conn: Conn) {
        self.send(Command::Unregister {
            ws: self.ws.clone(),
            conn: conn.id,
        });
    }

    pub(super) fn watch(&self, conn: &Conn, users: &[&UserId]) {
        self.send(Command::PresenceSub {
            ws: self.ws.clone(),
            conn: conn.id,
            users: users.iter().map(|u| (*u).clone()).collect(),
        });
    }

    pub(super) fn typing(&self, conn: &Conn, channel: &ChannelId) {
        self.send(Command::Typing {
            ws: self.ws.clone(),
            conn: conn.id,
            channel: channel.clone(),
        });
    }

    fn activity(&self, conn: &Conn) {
        self.send(Command::Activity {
            ws: self.ws.clone(),
            conn: conn.id,
        });
    }

    pub(super) fn set_away(&self, conn: &Conn, away: bool) {
        self.send(Command::SetAway {
            ws: self.ws.clone(),
            conn: conn.id,
            away,
        });
    }

    fn send(&self, command: Command) {
        self.hub.send(&self.ws, command);
    }
}

/// Lets the hub process what it was sent, and its timers fire, for `d` of paused time.
pub(super) async fn pass(d: Duration) {
    tokio::time::sleep(d.max(Duration::from_millis(1))).await;
}

pub(super) fn presence(user: &UserId, status: &str) -> Value {
    json!({"type": "presence", "user_id": user.as_str(), "presence": status})
}

pub(super) fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

#[tokio::test]
async fn an_idle_user_turns_away_after_ten_minutes_and_back_when_active() {
    let mut f = fixture().await;
    let (alice, bob) = (UserId::generate(), UserId::generate());
    let mut watcher = f.connect(&alice, &[]);
    f.watch(&watcher, &[&bob]);
    pass(Duration::ZERO).await;
    assert_eq!(watcher.frames(), [presence(&bob, "offline")]);

    let bobs = f.connect(&bob, &[]);
    pass(Duration::ZERO).await;
    assert_eq!(watcher.frames(), [presence(&bob, "active")]);
    pass(secs(10 * 60) - secs(1)).await;
    assert!(
        watcher.frames().is_empty(),
        "still active just before ten minutes"
    );
    pass(secs(2)).await;
    assert_eq!(watcher.frames(), [presence(&bob, "away")]);
    f.activity(&bobs);
    pass(Duration::ZERO).await;
    assert_eq!(watcher.frames(), [presence(&bob, "active")]);

    // Set away, a user stays away whatever they do until set back to auto.
    f.set_away(&bobs, true);
    pass(Duration::ZERO).await;
    assert_eq!(watcher.frames(), [presence(&bob, "away")]);
    f.activity(&bobs);
    pass(secs(60)).await;
    assert!(watcher.frames().is_empty());
    f.set_away(&bobs, false);
    pass(Duration::ZERO).await;
    assert_eq!(watcher.frames(), [presence(&bob, "active")]);
}

#[tokio::test]
async fn offline_comes_after_the_grace_period_and_quick_reconnects_do_not_flap() {
    let mut f = fixture().await;
    let (alice, bob) = (UserId::generate(), UserId::generate());
    let mut watcher = f.connect(&alice, &[]);
    let phone = f.connect(&bob, &[]);
    f.watch(&watcher, &[&bob]);
    pass(Duration::ZERO).await;
    assert_eq!(watcher.frames(), [presence(&bob, "active")]);

    // One of two connections closing changes nothing.
    let laptop = f.connect(&bob, &[]);
    f.disconnect(phone);
    pass(secs(10)).await;
    assert!(watcher.frames().is_empty());

    // A reload: the last connection closes and another opens within the grace period.
    f.disconnect(laptop);
    pass(secs(2)).await;
    let laptop = f.connect(&bob, &[]);
    pass(secs(10)).await;
    assert!(watcher.frames().is_empty(), "no offline/active flap");

    // Gone: offline once the 3 s grace period is over, not before.
    f.disconnect(laptop);
    pass(Duration::from_millis(2700)).await;
    assert!(watcher.frames().is_empty());
    pass(secs(1)).await;
    assert_eq!(watcher.frames(), [presence(&bob, "offline")]);
    pass(secs(60)).await;
    assert!(watcher.frames().is_empty(), "said once");

    // Back again: active at once.
    let _back = f.connect(&bob, &[]);
    pass(Duration::ZERO).await;
    assert_eq!(watcher.frames(), [presence(&bob, "active")]);
}

#[tokio::test]
async fn typing_is_relayed_to_the_others_once_per_three_seconds_per_channel() {
    let mut f = fixture().await;
    let (alice, bob, carol) = (UserId::generate(), UserId::generate(), UserId::generate());
    let (general, random) = (ChannelId::generate(), ChannelId::generate());
    let mut alices = f.connect(&alice, &[&general, &random]);
    let mut bobs = f.connect(&bob, &[&general, &random]);
    let mut carols = f.connect(&carol, &[&random]);
    let typing = |channel: &ChannelId, ttl_ms: u64| {
        json!({
            "type": "typing",
            "channel_id": channel.as_str(),
            "user_id": bob.as_str(),
            "ttl_ms": ttl_ms,
        })
    };

    f.typing(&bobs, &general);
    pass(Duration::ZERO).await;
    assert_eq!(alices.frames(), [typing(&general, 6000)]);
    assert!(bobs.frames().is_empty(), "not to the typist");
    assert!(carols.frames().is_empty(), "not to non-members");

    // Throttled per user per channel: more within 3 s is not relayed...
    for _ in 0..3 {
        pass(Duration::from_millis(900)).await;
        f.typing(&bobs, &general);
    }
    pass(Duration::ZERO).await;
    assert!(alices.frames().is_empty());
    // ...but another channel has its own throttle.
    f.typing(&bobs, &random);
    pass(Duration::ZERO).await;
    assert_eq!(alices.frames(), [typing(&random, 6000)]);
    assert_eq!(carols.frames(), [typing(&random, 6000)]);

    // Three seconds after the last relayed notice, the next is relayed again.
    pass(Duration::from_millis(400)).await;
    f.typing(&bobs, &general);
    pass(Duration::ZERO).await;
    assert_eq!(alices.frames(), [typing(&general, 6000)]);

    // Typing where one is not a member is refused, to the typist only.
    f.typing(&carols, &general);
    pass(Duration::ZERO).await;
    let refused = carols.frames();
    assert_eq!(refused.len(), 1);
    assert_eq!(refused[0]["code"], "not_in_channel");
    assert!(alices.frames().is_empty());
}

#[tokio::test]
async fn typing_keeps_a_user_active() {
    let mut f = fixture().await;
    let (alice, bob) = (UserId::generate(), UserId::generate());
    let general = ChannelId::generate();
    let mut watcher = f.connect(&alice, &[&general]);
    let bobs = f.connect(&bob, &[&general]);
    f.watch(&watcher, &[&bob]);
    pass(Duration::ZERO).await;
    assert_eq!(watcher.frames(), [presence(&bob, "active")]);

    pass(secs(9 * 60)).await;
    f.typing(&bobs, &general);
    pass(secs(9 * 60)).await;
    let frames = watcher.frames();
    assert_eq!(frames.len(), 1, "only the typing notice: {frames:?}");
    assert_eq!(frames[0]["type"], "typing");
    pass(secs(2 * 60)).await;
    assert_eq!(watcher.frames(), [presence(&bob, "away")]);
}

fn joined(seq: i64, channel: &ChannelId, user: &UserId) -> Event {
    Event {
        seq,
        created_at: Timestamp(0),
        payload: EventPayload::MemberJoined {
            channel_id: channel.clone(),
            user_id: user.clone(),
        },
    }
}

fn left(seq: i64, channel: &ChannelId, user: &UserId) -> Event {
    Event {
        seq,
        created_at: Timestamp(0),
        payload: EventPayload::MemberLeft {
            channel_id: channel.clone(),
            user_id: user.clone(),
        },
    }
}

fn seqs(frames: &[Value]) -> Vec<i64> {
    frames.iter().map(|f| f["seq"].as_i64().unwrap()).collect()
}

#[tokio::test]
async fn a_starting_connection_goes_live_from_its_snapshot_without_gap_or_overlap() {
    let mut f = fixture().await;
    let (alice, bob, carol) = (UserId::generate(), UserId::generate(), UserId::generate());
    let general = ChannelId::generate();
    let mut alices = f.register(&alice);
    f.activate(&alices, &[&general], 10);
    // Bob's connection registers, then reads its subscription; meanwhile 11 and 12
    // commit and reach the hub, and his snapshot happens to include 11.
    let mut bobs = f.register(&bob);
    f.publish(vec![joined(11, &general, &carol)]);
    f.publish(vec![joined(12, &general, &UserId::generate())]);
    pass(Duration::ZERO).await;
    f.activate(&bobs, &[&general], 11);
    f.publish(vec![joined(13, &general, &UserId::generate())]);
    pass(Duration::ZERO).await;

    assert_eq!(seqs(&alices.frames()), [11, 12, 13]);
    assert_eq!(
        seqs(&bobs.frames()),
        [12, 13],
        "11 is the replay's, 12 on are live"
    );
}

#[tokio::test]
async fn events_published_out_of_order_are_delivered_in_seq_order() {
    let mut f = fixture().await;
    let alice = UserId::generate();
    let general = ChannelId::generate();
    let mut alices = f.register(&alice);
    f.activate(&alices, &[&general], 10);
    let someone = |seq| joined(seq, &general, &UserId::generate());

    // Two requests committed 11 and 12 but published in the other order.
    f.publish(vec![someone(12)]);
    pass(Duration::from_millis(100)).await;
    assert!(alices.frames().is_empty(), "12 waits for 11");
    f.publish(vec![someone(11)]);
    f.publish(vec![someone(13), someone(14)]);
    // A late duplicate (a bus redelivery) is dropped.
    f.publish(vec![someone(12)]);
    pass(Duration::ZERO).await;
    assert_eq!(seqs(&alices.frames()), [11, 12, 13, 14]);
}

#[tokio::test]
async fn membership_changes_route_the_channels_events_from_the_join_to_the_leave() {
    let mut f = fixture().await;
    let (bob, carol) = (UserId::generate(), UserId::generate());
    let general = ChannelId::generate();
    let mut bobs = f.register(&bob);
    f.activate(&bobs, &[], 10);

    f.publish(vec![joined(11, &general, &carol)]);
    f.publish(vec![
        joined(12, &general, &bob),
        joined(13, &general, &carol),
    ]);
    f.publish(vec![left(14, &general, &bob)]);
    f.publish(vec![joined(15, &general, &UserId::generate())]);
    pass(Duration::ZERO).await;
    assert_eq!(
        seqs(&bobs.frames()),
        [12, 13, 14],
        "from his join through his own leave"
    );
}

#[tokio::test]
async fn connections_starting_together_each_get_every_event_after_their_own_snapshot() {
    // Nobody in the workspace is live yet, as after a restart when every client
    // reconnects at once. Alice read her subscription at 10; 11 and 12 committed; Bob read
    // his at 11, and his connection goes live first.
    let mut f = fixture().await;
    let (alice, bob, carol) = (UserId::generate(), UserId::generate(), UserId::generate());
    let general = ChannelId::generate();
    let mut alices = f.register(&alice);
    let mut bobs = f.register(&bob);
    f.publish(vec![joined(11, &general, &carol)]);
    f.publish(vec![joined(12, &general, &UserId::generate())]);
    pass(Duration::ZERO).await;
    f.activate(&bobs, &[&general], 11);
    f.activate(&alices, &[&general], 10);
    f.publish(vec![joined(13, &general, &UserId::generate())]);
    pass(Duration::ZERO).await;

    assert_eq!(
        seqs(&alices.frames()),
        [11, 12, 13],
        "11 is after Alice's snapshot even though Bob went live past it"
    );
    assert_eq!(seqs(&bobs.frames()), [12, 13]);
}

#[tokio::test]
async fn an_event_before_the_snapshot_does_not_undo_a_later_membership() {
    // Bob left #general at 10 and rejoined at 11; both connections read their
    // subscriptions at 11, which have him in it. The rejoin was published while the
    // workspace had no connection here, the leave only after Bob's had registered.
    let mut f = fixture().await;
    let (alice, bob) = (UserId::generate(), UserId::generate());
    let general = ChannelId::generate();
    f.publish(vec![joined(11, &general, &bob)]);
    pass(Duration::ZERO).await;
    let mut bobs = f.register(&bob);
    let mut alices = f.register(&alice);
    f.publish(vec![left(10, &general, &bob)]);
    pass(Duration::ZERO).await;
    f.activate(&alices, &[&general], 11);
    f.activate(&bobs, &[&general], 11);
    f.publish(vec![joined(12, &general, &UserId::generate())]);
    pass(Duration::ZERO).await;

    assert_eq!(seqs(&alices.frames()), [12]);
    assert_eq!(
        seqs(&bobs.frames()),
        [12],
        "his leave at 10 is older than his subscription"
    );
}

#[tokio::test]
async fn starting_connections_are_closed_when_nobody_goes_live_before_the_buffer_overflows() {
    // The hub gives up buffering for a workspace where no connection has gone live. What
    // it drops, the pending connections would never get: they are closed, to resume.
    let mut f = fixture().await;
    let general = ChannelId::generate();
    let alices = f.register(&UserId::generate());
    let limit = HubConfig::default().pending_limit as i64;
    f.publish(
        (1..=limit)
            .map(|seq| joined(seq, &general, &UserId::generate()))
            .collect(),
    );
    pass(Duration::ZERO).await;
    assert_eq!(alices.closed_with(), None, "still within the limit");
    f.publish(vec![joined(limit + 1, &general, &UserId::generate())]);
    pass(Duration::ZERO).await;
    assert_eq!(
        alices.closed_with(),
        Some(hearth_proto::close_code::SLOW_CONSUMER)
    );
}
