//! Open-loop sending into one room and collecting every delivery: the machinery of the
//! small-room and big-room scenarios.
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
#[derive(Debug, Clone, Copy)]
pub struct Schedule {
    pub start: Instant,
    pub period: Duration,
    pub messages: u64,
}

impl Schedule {
    pub fn due(&self, msg: u64) -> Instant {
        self.start + self.period.mul_f64(msg as f64)
    }

    /// When the last message is due.
    pub fn end(&self) -> Instant {
        self.due(self.messages.saturating_sub(1))
    }
}

/// Who sends message `i`: the `senders`, in turn. Owned, because it moves to the
/// sender's thread.
pub struct SendPlan {
    pub channel_id: String,
    /// Each sender's connection and account.
    pub senders: Vec<(Client, Account)>,
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
        Self {
            channel_id: room.channel_id.clone(),
            senders,
            api: room.api.clone(),
            // The baseline has no REST API: its messages always go over the socket.
            via: if room.api.is_some() { via } else { SendVia::Ws },
            text_bytes,
        }
    }

    /// The connection of each sender, in turn order.
    pub fn sender_conns(&self) -> Vec<u32> {
        self.senders.iter().map(|(c, _)| c.conn).collect()
    }
}

/// Which connection sent message `msg` when `conns` take turns.
pub fn turn(conns: &[u32], msg: u64) -> u32 {
    conns[(msg % conns.len() as u64) as usize]
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
    let runtime = tokio::runtime::Handle::current();
    let (done, finished) = tokio::sync::oneshot::channel();
    let thread = std::thread::Builder::new()
        .name("hearth-bench-sender".into())
        .spawn(move || {
            for msg in 0..schedule.messages {
                wait_until(schedule.due(msg));
                send(msg, &plan, &observer, &runtime);
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
    let (client, account) = &plan.senders[(msg % plan.senders.len() as u64) as usize];
    let body = text(msg, plan.text_bytes);
    match (plan.via, &plan.api) {
        (SendVia::Rest, Some(api)) => {
            let api = api.clone();
            let account = account.clone();
            let channel_id = plan.channel_id.clone();
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
            if let Err(e) = client.send(&plan.channel_id, body, msg) {
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

/// Gathers deliveries until all `recipients` per message arrived or `grace` after the
/// last due time passed. `sender_conn(msg)` is the connection that sent `msg`, whose own
/// copy of the event is not a delivery.
pub async fn collect(
    observations: &mut UnboundedReceiver<Observation>,
    schedule: Schedule,
    sender_conn: impl Fn(u64) -> u32,
    recipients: u64,
    grace: Duration,
    counters: &Counters,
) -> Collected {
    let deadline = schedule.end() + grace;
    let mut ledger = DeliveryLedger::default();
    let mut deliver = Latency::default();
    let mut ack = Latency::default();
    let mut per_message = vec![Vec::new(); schedule.messages as usize];
    let mut answered = vec![false; schedule.messages as usize];
    let mut answers = 0u64;
    let mut refused = 0u64;
    let mut refusals = Vec::new();
    let mut stray_deliveries = 0u64;
    loop {
        let owed = (schedule.messages - refused) * recipients;
        if answers == schedule.messages && ledger.received() >= owed {
            break;
        }
        let observation = tokio::select! {
            o = observations.recv() => match o {
                Some(o) => o,
                None => break,
            },
            () = tokio::time::sleep_until(deadline) => break,
        };
        match observation.kind {
            Observed::Delivered { msg, .. } if msg < schedule.messages => {
                if observation.conn == sender_conn(msg) {
                    continue;
                }
                if ledger.record(observation.conn, msg) {
                    let latency = observation.at.saturating_duration_since(schedule.due(msg));
                    deliver.record(latency);
                    per_message[msg as usize].push(latency.as_micros() as u64);
                }
            }
            Observed::Delivered { .. } => stray_deliveries += 1,
            Observed::Acked { msg } if msg < schedule.messages => {
                if !std::mem::replace(&mut answered[msg as usize], true) {
                    answers += 1;
                    ack.record(observation.at.saturating_duration_since(schedule.due(msg)));
                }
            }
            Observed::Refused { msg, code } if msg < schedule.messages => {
                if !std::mem::replace(&mut answered[msg as usize], true) {
                    answers += 1;
                    refused += 1;
                    if refusals.len() < 10 {
                        refusals.push(format!("message {msg}: {code}"));
                    }
                }
            }
            Observed::Acked { .. } | Observed::Refused { .. } => {}
        }
    }
    let expected = (schedule.messages - refused) * recipients;
    let received = ledger.received();
    let seq_duplicates = Counters::get(&counters.duplicate_seqs);
    if stray_deliveries > 0 {
        refusals.push(format!("{stray_deliveries} deliveries of unknown messages"));
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
        let got = collect(
            &mut rx,
            schedule,
            |_| 0,
            2,
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
}
