//! Open-loop sending into one room or many and collecting every delivery: the machinery
//! of the small-room, big-room, small-rooms and fanout scenarios.
//!
//! With several rooms, message `i` goes to room `i % rooms`, from that room's senders in
//! turn, and is owed to every connected member of that room but its sender; a delivery
//! to a connection outside the room is counted as misrouted (a leak), never as received.
//!
//! Message `i` is due at `start + i * period` and is sent then, whatever happened to the
//! ones before (open loop). Every latency is measured from that due time, not from when
//! the send actually left, so a stalled server shows up as latency instead of silently
//! slowing the load (no coordinated omission). The sender runs on a thread of its own
//! with `std::thread::sleep` plus a short spin, because tokio's timer rounds every sleep
//! up to the next millisecond, which would add up to 1 ms of the load generator's own
//! lateness to every latency (more than the whole fan-out costs on the baseline). The
//! collector waits until every expected delivery arrived, or until the grace period after
//! the last due time ran out.

use std::time::Duration;

use clap::ValueEnum;
use serde::Serialize;
use tokio::sync::mpsc::UnboundedReceiver;
use tokio::time::Instant;

use crate::api::{Account, Api};
use crate::client::{Client, Counters, Observation, Observed, Observer, client_msg_id};
use crate::progress;
use crate::scenarios::Room;
use crate::stats::{DeliveryCounts, DeliveryLedger, Latency};

/// How messages are sent.
/// The delivery options every fan-out scenario shares.
#[derive(Debug, Clone, clap::Args)]
pub struct DeliveryArgs {
    /// Send over the sender's WebSocket or over REST.
    #[arg(long, value_enum, default_value = "ws")]
    pub via: SendVia,
    /// Message length in bytes.
    #[arg(long, default_value_t = 100)]
    pub text_bytes: usize,
    /// Seconds to wait after the last send for late deliveries before calling them lost.
    #[arg(long, default_value_t = 5)]
    pub grace: u64,
    /// Also run against the bare broadcast baseline and report the ratio.
    #[arg(long)]
    pub baseline: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SendVia {
    /// `{"op":"send"}` over the sender's own WebSocket, answered with `ack`.
    Ws,
    /// `POST /api/v1/channels/{id}/messages`.
    Rest,
}

/// When each message is due.
/// Messages are numbered `first..first + messages`, so successive schedules of one run
/// (the steps of a ramp) never reuse a number.
#[derive(Debug, Clone, Copy)]
pub struct Schedule {
    pub start: Instant,
    pub period: Duration,
    pub messages: u64,
    pub first: u64,
}

impl Schedule {
    pub fn due(&self, msg: u64) -> Instant {
        self.start + self.period.mul_f64(msg.saturating_sub(self.first) as f64)
    }

    /// When the last message is due.
    pub fn end(&self) -> Instant {
        self.due(self.first + self.messages.saturating_sub(1))
    }

    /// The position of `msg` in this schedule, if it belongs to it.
    fn index(&self, msg: u64) -> Option<usize> {
        let i = msg.checked_sub(self.first)?;
        (i < self.messages).then_some(i as usize)
    }
}

/// One room's channel and the members that take turns sending to it.
pub struct SendRoom {
    pub channel_id: String,
    /// Each sender's connection and account.
    pub senders: Vec<(Client, Account)>,
}

/// Who sends message `i`: room `i % rooms`, from that room's senders in turn. Owned,
/// because it moves to the sender's thread.
pub struct SendPlan {
    pub rooms: Vec<SendRoom>,
    /// For sending over REST.
    pub api: Option<Api>,
    pub via: SendVia,
    /// Message text length in bytes.
    pub text_bytes: usize,
}

impl SendPlan {
    /// A plan where the first `senders` members of `room` take turns.
    pub fn new(
        room: &Room,
        clients: &[Client],
        senders: usize,
        via: SendVia,
        text_bytes: usize,
    ) -> Self {
        let senders = clients
            .iter()
            .zip(&room.members)
            .take(senders.max(1))
            .map(|(c, a)| (c.clone(), a.clone()))
            .collect();
        let rooms = vec![SendRoom {
            channel_id: room.channel_id.clone(),
            senders,
        }];
        Self::of_rooms(rooms, room.api.clone(), via, text_bytes)
    }

    pub fn of_rooms(
        rooms: Vec<SendRoom>,
        api: Option<Api>,
        via: SendVia,
        text_bytes: usize,
    ) -> Self {
        Self {
            rooms,
            // The baseline has no REST API: its messages always go over the socket.
            via: if api.is_some() { via } else { SendVia::Ws },
            api,
            text_bytes,
        }
    }

    /// The connection of each room's senders, in turn order.
    pub fn sender_conns(&self) -> Vec<Vec<u32>> {
        self.rooms
            .iter()
            .map(|r| r.senders.iter().map(|(c, _)| c.conn).collect())
            .collect()
    }

    fn pick(&self, msg: u64) -> (&SendRoom, &(Client, Account)) {
        let n = self.rooms.len() as u64;
        let room = &self.rooms[(msg % n) as usize];
        let sender = &room.senders[((msg / n) % room.senders.len() as u64) as usize];
        (room, sender)
    }
}

/// Which connections message `msg` is owed to, and which one sent it.
#[derive(Debug, Clone)]
pub struct Route {
    /// Each room's sender connections, in turn order.
    senders: Vec<Vec<u32>>,
    /// Each room's member connections, sorted; `None` when every one of `everyone`
    /// connections is a member of the one room.
    members: Option<Vec<Vec<u32>>>,
    everyone: u64,
}

impl Route {
    /// One room holding all `members` connections.
    pub fn one_room(senders: Vec<u32>, members: u64) -> Self {
        Self {
            senders: vec![senders],
            members: None,
            everyone: members,
        }
    }

    /// Several rooms, each with its senders and its member connections.
    pub fn rooms(senders: Vec<Vec<u32>>, mut members: Vec<Vec<u32>>) -> Self {
        for m in &mut members {
            m.sort_unstable();
        }
        Self {
            senders,
            members: Some(members),
            everyone: 0,
        }
    }

    fn room(&self, msg: u64) -> usize {
        (msg % self.senders.len() as u64) as usize
    }

    pub fn sender(&self, msg: u64) -> u32 {
        let n = self.senders.len() as u64;
        let senders = &self.senders[self.room(msg)];
        senders[((msg / n) % senders.len() as u64) as usize]
    }

    /// Deliveries owed for `msg`: its room's members but the sender.
    pub fn owed(&self, msg: u64) -> u64 {
        match &self.members {
            Some(members) => members[self.room(msg)].len() as u64 - 1,
            None => self.everyone - 1,
        }
    }

    fn is_member(&self, msg: u64, conn: u32) -> bool {
        match &self.members {
            Some(members) => members[self.room(msg)].binary_search(&conn).is_ok(),
            None => true,
        }
    }
}

/// The text of message `msg`, padded to `bytes`.
fn text(msg: u64, bytes: usize) -> String {
    let mut text = format!("hearth-bench message {msg} ");
    while text.len() < bytes {
        text.push('x');
    }
    text
}

/// The last stretch before a due time is spun rather than slept: sleeping wakes up
/// tens of microseconds late.
const SPIN: Duration = Duration::from_micros(200);

/// Blocks until `due`, to within a few microseconds.
#[expect(
    clippy::disallowed_methods,
    reason = "runs on the sender's own thread, never on an async worker"
)]
fn wait_until(due: Instant) {
    let due = due.into_std();
    loop {
        let now = std::time::Instant::now();
        let Some(left) = due.checked_duration_since(now).filter(|d| !d.is_zero()) else {
            return;
        };
        if left > SPIN {
            std::thread::sleep(left - SPIN);
        } else {
            std::hint::spin_loop();
        }
    }
}

/// Sends every message at its due time, from a thread of its own; resolves when the
/// last one is sent.
pub async fn drive(schedule: Schedule, plan: SendPlan, observer: Observer) {
    let (steps, schedules) = std::sync::mpsc::channel();
    let (sent, _) = tokio::sync::mpsc::unbounded_channel();
    let _ = steps.send(schedule);
    drop(steps);
    drive_each(schedules, sent, plan, observer).await;
}

/// Sends each schedule received from `schedules` in turn, every message at its due time,
/// from a thread of its own, reporting on `sent` when a schedule's last message went
/// out; resolves when `schedules` closed and the thread ended.
pub async fn drive_each(
    schedules: std::sync::mpsc::Receiver<Schedule>,
    sent: tokio::sync::mpsc::UnboundedSender<()>,
    plan: SendPlan,
    observer: Observer,
) {
    let runtime = tokio::runtime::Handle::current();
    let (done, finished) = tokio::sync::oneshot::channel();
    let thread = std::thread::Builder::new()
        .name("hearth-bench-sender".into())
        .spawn(move || {
            while let Ok(schedule) = schedules.recv() {
                let bar = progress::bar(schedule.messages, "sending");
                for msg in schedule.first..schedule.first + schedule.messages {
                    wait_until(schedule.due(msg));
                    send(msg, &plan, &observer, &runtime);
                    bar.inc(1);
                }
                bar.finish_and_clear();
                let _ = sent.send(());
            }
            let _ = done.send(());
        });
    match thread {
        Ok(_) => {
            let _ = finished.await;
        }
        Err(e) => eprintln!("could not start the sender thread: {e}"),
    }
}

fn send(msg: u64, plan: &SendPlan, observer: &Observer, runtime: &tokio::runtime::Handle) {
    let (room, (client, account)) = plan.pick(msg);
    let body = text(msg, plan.text_bytes);
    match (plan.via, &plan.api) {
        (SendVia::Rest, Some(api)) => {
            let api = api.clone();
            let account = account.clone();
            let channel_id = room.channel_id.clone();
            let id = client_msg_id(&observer.run_tag, msg);
            let observer = observer.clone();
            let conn = client.conn;
            runtime.spawn(async move {
                let outcome = api.post_message(&account, &channel_id, body, id).await;
                let kind = match outcome {
                    Ok(true) => Observed::Acked { msg },
                    Ok(false) => Observed::Refused {
                        msg,
                        code: "http_error".into(),
                    },
                    Err(e) => Observed::Refused {
                        msg,
                        code: format!("{e:#}"),
                    },
                };
                observer.report(conn, Instant::now(), kind);
            });
        }
        _ => {
            if let Err(e) = client.send(&room.channel_id, body, msg) {
                let code = e.to_string();
                observer.report(client.conn, Instant::now(), Observed::Refused { msg, code });
            }
        }
    }
}

/// Everything the collector saw.
pub struct Collected {
    pub counts: DeliveryCounts,
    /// Due time to arrival, every delivery to a connection other than the sender's.
    pub deliver: Latency,
    /// Due time to `ack` (or HTTP answer) at the sender.
    pub ack: Latency,
    /// Per message, the delivery latencies in microseconds.
    pub per_message: Vec<Vec<u64>>,
    /// The first refusal codes.
    pub refusals: Vec<String>,
}

/// Gathers deliveries until every message's owed deliveries ([`Route`]) arrived or
/// `grace` after the last due time passed. The sender's own copy of its event is not a
/// delivery; a copy at a connection outside the message's room is misrouted.
pub async fn collect(
    observations: &mut UnboundedReceiver<Observation>,
    schedule: Schedule,
    route: &Route,
    grace: Duration,
    counters: &Counters,
) -> Collected {
    let deadline = schedule.end() + grace;
    let messages = schedule.messages as usize;
    let all_owed: u64 = (schedule.first..schedule.first + schedule.messages)
        .map(|msg| route.owed(msg))
        .sum();
    let mut ledger = DeliveryLedger::default();
    let mut deliver = Latency::default();
    let mut ack = Latency::default();
    let mut per_message = vec![Vec::new(); messages];
    let mut answered = vec![false; messages];
    let mut answers = 0usize;
    let mut refused_owed = 0u64;
    let mut refused = 0u64;
    let mut refusals = Vec::new();
    let (mut stray_deliveries, mut misrouted) = (0u64, 0u64);
    loop {
        if answers == messages && ledger.received() >= all_owed - refused_owed {
            break;
        }
        let observation = tokio::select! {
            o = observations.recv() => match o {
                Some(o) => o,
                None => break,
            },
            () = tokio::time::sleep_until(deadline) => break,
        };
        let (conn, at) = (observation.conn, observation.at);
        match observation.kind {
            Observed::Delivered { msg } => match schedule.index(msg) {
                Some(_) if conn == route.sender(msg) => {}
                Some(_) if !route.is_member(msg, conn) => misrouted += 1,
                Some(i) => {
                    if ledger.record(conn, msg) {
                        let latency = at.saturating_duration_since(schedule.due(msg));
                        deliver.record(latency);
                        per_message[i].push(latency.as_micros() as u64);
                    }
                }
                None => stray_deliveries += 1,
            },
            Observed::Acked { msg } => {
                if let Some(i) = schedule.index(msg)
                    && !std::mem::replace(&mut answered[i], true)
                {
                    answers += 1;
                    ack.record(at.saturating_duration_since(schedule.due(msg)));
                }
            }
            Observed::Refused { msg, code } => {
                if let Some(i) = schedule.index(msg)
                    && !std::mem::replace(&mut answered[i], true)
                {
                    answers += 1;
                    refused += 1;
                    refused_owed += route.owed(msg);
                    if refusals.len() < 10 {
                        refusals.push(format!("message {msg}: {code}"));
                    }
                }
            }
        }
    }
    let expected = all_owed - refused_owed;
    let received = ledger.received();
    let seq_duplicates = Counters::get(&counters.duplicate_seqs);
    if stray_deliveries > 0 {
        refusals.push(format!(
            "{stray_deliveries} deliveries of messages outside this schedule"
        ));
    }
    Collected {
        counts: DeliveryCounts {
            sent: schedule.messages,
            send_errors: refused,
            expected,
            received,
            lost: expected.saturating_sub(received),
            duplicated: seq_duplicates.max(ledger.duplicates()),
            out_of_order: Counters::get(&counters.out_of_order_seqs),
            misrouted,
        },
        deliver,
        ack,
        per_message,
        refusals,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::Observer;

    #[test]
    fn texts_have_the_asked_length() {
        assert_eq!(text(7, 100).len(), 100);
        assert!(text(123_456, 5).starts_with("hearth-bench message 123456"));
    }

    #[tokio::test]
    async fn collect_counts_losses_duplicates_and_skips_the_sender() {
        let (observer, mut rx) = Observer::new("t");
        let start = Instant::now();
        let schedule = Schedule {
            start,
            period: Duration::from_millis(10),
            messages: 2,
            first: 0,
        };
        let at = start + Duration::from_millis(3);
        let deliver = |msg| Observed::Delivered { msg };
        for (conn, kind) in [
            (0, Observed::Acked { msg: 0 }),
            (0, Observed::Acked { msg: 1 }),
            (0, deliver(0)), // the sender's own copy
            (1, deliver(0)),
            (2, deliver(0)),
            (1, deliver(0)), // a duplicate
            (1, deliver(1)), // message 1 never reaches connection 2
        ] {
            observer.report(conn, at, kind);
        }
        let route = Route::one_room(vec![0], 3);
        let got = collect(
            &mut rx,
            schedule,
            &route,
            Duration::from_millis(50),
            &observer.counters,
        )
        .await;
        assert_eq!(got.counts.expected, 4);
        assert_eq!(got.counts.received, 3);
        assert_eq!(got.counts.lost, 1);
        assert_eq!(got.counts.duplicated, 1);
        assert_eq!(got.deliver.summary().count, 3);
        assert_eq!(got.per_message[0], vec![3_000, 3_000]);
    }

    #[tokio::test]
    async fn a_delivery_outside_the_room_is_misrouted_not_received() {
        let (observer, mut rx) = Observer::new("t");
        let start = Instant::now();
        let schedule = Schedule {
            start,
            period: Duration::from_millis(1),
            messages: 2,
            first: 10,
        };
        // Room 0 (even messages): connections 0 and 1; room 1: connections 2 and 3.
        let route = Route::rooms(vec![vec![0], vec![2]], vec![vec![1, 0], vec![3, 2]]);
        let at = start + Duration::from_millis(3);
        for (conn, kind) in [
            (0, Observed::Acked { msg: 10 }),
            (2, Observed::Acked { msg: 11 }),
            (1, Observed::Delivered { msg: 10 }),
            (3, Observed::Delivered { msg: 10 }), // not a member of room 0
            (3, Observed::Delivered { msg: 11 }),
            (3, Observed::Delivered { msg: 9 }), // not of this schedule
        ] {
            observer.report(conn, at, kind);
        }
        let got = collect(
            &mut rx,
            schedule,
            &route,
            Duration::from_millis(50),
            &observer.counters,
        )
        .await;
        assert_eq!(got.counts.expected, 2);
        assert_eq!(got.counts.received, 2);
        assert_eq!(got.counts.misrouted, 1);
        assert!(!got.counts.is_clean());
        assert_eq!(got.per_message[0], vec![3_000]);
    }
}
