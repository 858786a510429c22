//! `big-room`: one channel with thousands of online members; one member posts a message
//! every `--interval-ms`, and we time how long each takes to reach the last member.
//!
//! Per message: the latency to the last recipient (the fan-out's cost), and the median
//! and p99 across recipients. A message that some member never received has no "last";
//! it counts as lost instead.

use std::time::Duration;

use anyhow::bail;
use clap::Args;
use serde::Serialize;
use tokio::time::Instant;

use crate::client::Observer;
use crate::scenarios::fanout::{self, DeliveryArgs, Route, Schedule, SendPlan, SendVia};
use crate::scenarios::{Health, Room, connect_all, dialers, node_of, on_nodes, run_tag};
use crate::server::Target;
use crate::stats::{DeliveryCounts, Latency, LatencySummary, Micros};

#[derive(Debug, Clone, Args)]
pub struct BigRoomArgs {
    /// Members of the channel, each online with one connection.
    #[arg(long, default_value_t = 5000)]
    pub members: usize,
    /// Messages to post.
    #[arg(long, default_value_t = 10)]
    pub messages: u64,
    /// Milliseconds between messages.
    #[arg(long, default_value_t = 1000)]
    pub interval_ms: u64,
    #[command(flatten)]
    pub delivery: DeliveryArgs,
}

/// One message's fan-out.
#[derive(Debug, Clone, Serialize)]
pub struct MessageFanout {
    pub msg: u64,
    pub received: usize,
    /// Latency to the last recipient; absent when some recipient never got it.
    pub last_us: Option<u64>,
    pub p50_us: u64,
    pub p99_us: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct BigRoomReport {
    pub target: &'static str,
    /// Nodes the members were spread over (1 unless `multi-node`).
    pub nodes: usize,
    /// The share of deliveries whose recipient is on another node than the sender.
    pub cross_node_share: f64,
    pub members: usize,
    pub messages: u64,
    pub interval_ms: u64,
    pub via: SendVia,
    pub connect_seconds: f64,
    pub deliveries: DeliveryCounts,
    /// Over messages: the latency to each one's last recipient.
    pub time_to_last: LatencySummary,
    /// Over every delivery.
    pub send_to_deliver: LatencySummary,
    pub send_to_ack: LatencySummary,
    pub per_message: Vec<MessageFanout>,
    pub refusals: Vec<String>,
    pub health: Health,
}

impl BigRoomReport {
    pub fn lines(&self) -> Vec<String> {
        let mut lines = vec![
            format!(
                "big-room on {}{}: {} members online (connected in {:.1} s), {} messages {} ms apart via {:?}",
                self.target,
                on_nodes(self.nodes, self.cross_node_share),
                self.members,
                self.connect_seconds,
                self.messages,
                self.interval_ms,
                self.via
            ),
            format!("deliveries: {}", self.deliveries),
            format!("time to last member: {}", self.time_to_last),
            format!("send-to-deliver (all members): {}", self.send_to_deliver),
            format!("send-to-ack: {}", self.send_to_ack),
        ];
        for m in &self.per_message {
            let last = m
                .last_us
                .map_or("incomplete".to_owned(), |us| Micros(us).to_string());
            lines.push(format!(
                "  message {}: {} received, last {}, p50 {}, p99 {}",
                m.msg,
                m.received,
                last,
                Micros(m.p50_us),
                Micros(m.p99_us)
            ));
        }
        lines.extend(self.refusals.iter().map(|r| format!("  refused: {r}")));
        lines.extend(self.health.lines());
        lines
    }

    /// Why the run is not clean (lost, duplicated or reordered deliveries, refused sends,
    /// failed connections); empty when it is.
    pub fn failures(&self) -> Vec<String> {
        let mut failures = self.health.failures();
        if !self.deliveries.is_clean() {
            failures.push(format!("deliveries not clean: {}", self.deliveries));
        }
        failures
    }
}

pub async fn run(
    target: &mut Target,
    args: &BigRoomArgs,
    sources: usize,
) -> anyhow::Result<BigRoomReport> {
    run_spread(target, &[], args, sources).await
}

/// Big-room with the members spread over `target` (node A) and `others`, the other nodes
/// of one deployment ([`node_of`]). The sender is member 0: every node but the sender's
/// gets each message over the bus and fans it out to its own members.
pub async fn run_spread(
    target: &mut Target,
    others: &[Target],
    args: &BigRoomArgs,
    sources: usize,
) -> anyhow::Result<BigRoomReport> {
    if args.members < 2 || args.messages == 0 {
        bail!("big-room needs at least 2 members and 1 message");
    }
    let room = Room::prepare(target, "big-room", args.members).await?;
    let dialers = dialers(target, others, sources).await?;
    let (observer, mut observations) = Observer::new(&run_tag());
    eprintln!(
        "connecting {} members to {} node(s)",
        args.members,
        dialers.len()
    );
    let connected = connect_all(
        &dialers,
        args.members,
        |i| room.members[i].token.clone(),
        &observer,
    )
    .await;
    if connected.failures > 0 {
        bail!(
            "{} of {} members could not connect: {:?}",
            connected.failures,
            args.members,
            connected.first_errors
        );
    }
    eprintln!("connected in {:.1} s", connected.elapsed.as_secs_f64());
    tokio::time::sleep(Duration::from_secs(2)).await;

    let plan = SendPlan::new(
        &room,
        &connected.clients,
        1,
        args.delivery.via,
        args.delivery.text_bytes,
    );
    let via = plan.via;
    let schedule = Schedule {
        start: Instant::now() + Duration::from_millis(100),
        period: Duration::from_millis(args.interval_ms),
        messages: args.messages,
        first: 0,
    };
    let mut conns = plan.sender_conns();
    let route = Route::one_room(conns.remove(0), args.members as u64);
    let ((), collected) = tokio::join!(
        fanout::drive(schedule, plan, observer.clone()),
        fanout::collect(
            &mut observations,
            schedule,
            &route,
            Duration::from_secs(args.delivery.grace),
            &observer.counters,
        )
    );
    let health = Health::gather(target, &connected, &observer.counters).with_nodes(others);
    let connect_seconds = connected.elapsed.as_secs_f64();
    drop(connected);

    let mut time_to_last = Latency::default();
    let per_message = collected
        .per_message
        .iter()
        .enumerate()
        .map(|(msg, latencies)| {
            let fanout = message_fanout(msg as u64, latencies, args.members as u64 - 1);
            if let Some(us) = fanout.last_us {
                time_to_last.record(Duration::from_micros(us));
            }
            fanout
        })
        .collect();
    Ok(BigRoomReport {
        target: if target.baseline {
            "baseline"
        } else {
            "hearth"
        },
        nodes: 1 + others.len(),
        cross_node_share: cross_node_share(args.members, 1 + others.len()),
        members: args.members,
        messages: args.messages,
        interval_ms: args.interval_ms,
        via,
        connect_seconds,
        deliveries: collected.counts,
        time_to_last: time_to_last.summary(),
        send_to_deliver: collected.deliver.summary(),
        send_to_ack: collected.ack.summary(),
        per_message,
        refusals: collected.refusals,
        health,
    })
}

/// The share of the recipients (members `1..members`) on another node than the sender,
/// member 0, with the members spread over `nodes` nodes by [`node_of`].
fn cross_node_share(members: usize, nodes: usize) -> f64 {
    let sender = node_of(0, nodes);
    let crossing = (1..members)
        .filter(|&i| node_of(i, nodes) != sender)
        .count();
    crossing as f64 / members.saturating_sub(1).max(1) as f64
}

fn message_fanout(msg: u64, latencies: &[u64], recipients: u64) -> MessageFanout {
    let mut sorted = latencies.to_vec();
    sorted.sort_unstable();
    let at = |q: f64| {
        if sorted.is_empty() {
            return 0;
        }
        let rank = ((sorted.len() as f64 * q).ceil() as usize).clamp(1, sorted.len());
        sorted[rank - 1]
    };
    MessageFanout {
        msg,
        received: sorted.len(),
        last_us: (sorted.len() as u64 == recipients)
            .then(|| sorted.last().copied())
            .flatten(),
        p50_us: at(0.50),
        p99_us: at(0.99),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fanout_has_a_last_only_when_complete() {
        let lat: Vec<u64> = (1..=100).collect();
        let full = message_fanout(0, &lat, 100);
        assert_eq!(full.last_us, Some(100));
        assert_eq!(full.p50_us, 50);
        assert_eq!(full.p99_us, 99);
        let partial = message_fanout(1, &lat, 101);
        assert_eq!(partial.last_us, None);
        assert_eq!(message_fanout(2, &[], 3).p99_us, 0);
    }
}
