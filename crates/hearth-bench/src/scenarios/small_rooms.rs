//! `small-rooms`: many small channels chatting at once (by default 1,000 channels of 10
//! members from 1,000 online users, 2,000 messages a second in all, each stored durably
//! before it fans out); the send-to-deliver latency every other member sees.

use std::time::Duration;

use anyhow::bail;
use clap::Args;
use serde::Serialize;
use tokio::time::Instant;

use crate::client::Observer;
use crate::cpu::{CpuMeter, ServerCpu};
use crate::scenarios::fanout::{self, Schedule, SendVia};
use crate::scenarios::rooms::{self, RoomsArgs};
use crate::scenarios::{Health, on_nodes, run_tag};
use crate::server::Target;
use crate::stats::{DeliveryCounts, LatencySummary};

#[derive(Debug, Clone, Args)]
pub struct SmallRoomsArgs {
    #[command(flatten)]
    pub rooms: RoomsArgs,
    /// Messages per second, across all channels.
    #[arg(long, default_value_t = 2_000.0)]
    pub rate: f64,
    /// Seconds of sending.
    #[arg(long, default_value_t = 20)]
    pub duration: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct SmallRoomsReport {
    pub target: &'static str,
    /// Nodes the users were spread over (1 unless `multi-node`).
    pub nodes: usize,
    /// The share of deliveries whose recipient is on another node than the sender.
    pub cross_node_share: f64,
    pub channels: usize,
    pub members: usize,
    pub users: usize,
    pub rate: f64,
    pub duration_s: u64,
    pub via: SendVia,
    pub setup_seconds: f64,
    pub deliveries: DeliveryCounts,
    /// From each message's due time to its arrival at each other member.
    pub send_to_deliver: LatencySummary,
    /// From each message's due time to the sender's `ack` (or HTTP answer).
    pub send_to_ack: LatencySummary,
    /// The server's CPU from the first send until the last delivery was collected (node A
    /// only on several nodes); absent for a server this tool did not start.
    pub server_cpu: Option<ServerCpu>,
    pub refusals: Vec<String>,
    pub health: Health,
}

impl SmallRoomsReport {
    pub fn lines(&self) -> Vec<String> {
        let mut lines = vec![
            format!(
                "small-rooms on {}{}: {} channels of {} members ({} users online), {} msg/s \
                 for {} s via {:?} (set up in {:.1} s)",
                self.target,
                on_nodes(self.nodes, self.cross_node_share),
                self.channels,
                self.members,
                self.users,
                self.rate,
                self.duration_s,
                self.via,
                self.setup_seconds
            ),
            format!("deliveries: {}", self.deliveries),
            format!("send-to-deliver: {}", self.send_to_deliver),
            format!("send-to-ack:     {}", self.send_to_ack),
        ];
        lines.extend(
            self.server_cpu
                .map(|cpu| cpu.line(self.deliveries.received)),
        );
        lines.extend(self.refusals.iter().map(|r| format!("  refused: {r}")));
        lines.extend(self.health.lines());
        lines
    }

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
    args: &SmallRoomsArgs,
    sources: usize,
) -> anyhow::Result<SmallRoomsReport> {
    run_spread(target, &[], args, sources).await
}

/// Small-rooms with the users spread over `target` (node A) and `others`, the other nodes
/// of one deployment ([`node_of`](crate::scenarios::node_of)); each sends over its own
/// socket, so a message reaches the members on other nodes over the bus.
pub async fn run_spread(
    target: &mut Target,
    others: &[Target],
    args: &SmallRoomsArgs,
    sources: usize,
) -> anyhow::Result<SmallRoomsReport> {
    if args.rate <= 0.0 || args.duration == 0 {
        bail!("small-rooms needs a positive rate and a duration");
    }
    let (observer, mut observations) = Observer::new(&run_tag());
    let setup = rooms::prepare(target, others, &args.rooms, sources, &observer).await?;
    let schedule = Schedule {
        start: Instant::now() + Duration::from_millis(100),
        period: Duration::from_secs_f64(1.0 / args.rate),
        messages: (args.rate * args.duration as f64).round() as u64,
        first: 0,
    };
    eprintln!(
        "sending {} messages at {} msg/s over {} channels",
        schedule.messages, args.rate, args.rooms.channels
    );
    let via = setup.plan.via;
    let meter = CpuMeter::start(target);
    let ((), collected) = tokio::join!(
        fanout::drive(schedule, setup.plan, observer.clone()),
        fanout::collect(
            &mut observations,
            schedule,
            &setup.route,
            Duration::from_secs(args.rooms.delivery.grace),
            &observer.counters,
        )
    );
    let server_cpu = meter.stop(target);
    let health = Health::gather(target, &setup.connected, &observer.counters).with_nodes(others);
    Ok(SmallRoomsReport {
        target: if target.baseline {
            "baseline"
        } else {
            "hearth"
        },
        nodes: 1 + others.len(),
        cross_node_share: args
            .rooms
            .cross_node_share(schedule.messages, 1 + others.len()),
        channels: args.rooms.channels,
        members: args.rooms.members,
        users: args.rooms.users,
        rate: args.rate,
        duration_s: args.duration,
        via,
        setup_seconds: setup.setup_seconds,
        deliveries: collected.counts,
        send_to_deliver: collected.deliver.summary(),
        send_to_ack: collected.ack.summary(),
        server_cpu,
        refusals: collected.refusals,
        health,
    })
}
