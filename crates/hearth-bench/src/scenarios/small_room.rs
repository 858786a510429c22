//! `small-room`: one channel of a few online members chatting at a steady rate; the
//! send-to-deliver latency every other member sees.
//!
//! The members send in turn (or only the first `--senders`), open loop at `--rate`
//! messages per second for `--duration` seconds. Each message is owed to every member's
//! connection except its sender's. [`run_sending_to`] posts the messages to a node of the
//! same deployment other than the one the members are connected to (`cross-node`).

use std::time::Duration;

use anyhow::bail;
use clap::Args;
use serde::Serialize;
use tokio::time::Instant;

use crate::api::Api;
use crate::client::{Dialer, Observer};
use crate::scenarios::fanout::{self, DeliveryArgs, Route, Schedule, SendPlan, SendVia};
use crate::scenarios::{Health, Room, connect_all, run_tag};
use crate::server::Target;
use crate::stats::{DeliveryCounts, LatencySummary};

#[derive(Debug, Clone, Args)]
pub struct SmallRoomArgs {
    /// Members of the channel, each online with one connection.
    #[arg(long, default_value_t = 10)]
    pub members: usize,
    /// Messages per second, across all senders.
    #[arg(long, default_value_t = 100.0)]
    pub rate: f64,
    /// Seconds of sending.
    #[arg(long, default_value_t = 20)]
    pub duration: u64,
    /// How many members take turns sending (default: all of them).
    #[arg(long)]
    pub senders: Option<usize>,
    #[command(flatten)]
    pub delivery: DeliveryArgs,
}

#[derive(Debug, Clone, Serialize)]
pub struct SmallRoomReport {
    pub target: &'static str,
    pub members: usize,
    pub rate: f64,
    pub duration_s: u64,
    pub senders: usize,
    pub via: SendVia,
    pub deliveries: DeliveryCounts,
    /// From each message's due time to its arrival at each other member.
    pub send_to_deliver: LatencySummary,
    /// From each message's due time to the sender's `ack` (or HTTP answer).
    pub send_to_ack: LatencySummary,
    pub refusals: Vec<String>,
    pub health: Health,
}

impl SmallRoomReport {
    pub fn lines(&self) -> Vec<String> {
        let mut lines = vec![
            format!(
                "small-room on {}: {} members, {} msg/s for {} s from {} senders via {:?}",
                self.target, self.members, self.rate, self.duration_s, self.senders, self.via
            ),
            format!("deliveries: {}", self.deliveries),
            format!("send-to-deliver: {}", self.send_to_deliver),
            format!("send-to-ack:     {}", self.send_to_ack),
        ];
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
    args: &SmallRoomArgs,
    sources: usize,
) -> anyhow::Result<SmallRoomReport> {
    run_sending_to(target, None, args, sources).await
}

/// Small-room with every member connected to `target`, and the messages posted over REST
/// to the node at `send_to` when given (another node on the same database and bus), so
/// each delivery crosses from that node to `target`.
pub async fn run_sending_to(
    target: &mut Target,
    send_to: Option<&str>,
    args: &SmallRoomArgs,
    sources: usize,
) -> anyhow::Result<SmallRoomReport> {
    if args.members < 2 || args.rate <= 0.0 || args.duration == 0 {
        bail!("small-room needs at least 2 members, a positive rate and a duration");
    }
    if target.baseline && send_to.is_some() {
        bail!("the baseline is one process: there is no other node to send to");
    }
    let room = Room::prepare(target, "small-room", args.members).await?;
    let dialer = Dialer::new(&target.realtime_url(), sources).await?;
    let (observer, mut observations) = Observer::new(&run_tag());
    let connected = connect_all(
        std::slice::from_ref(&dialer),
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
    tokio::time::sleep(Duration::from_secs(1)).await;

    let senders = args.senders.unwrap_or(args.members).clamp(1, args.members);
    let mut plan = SendPlan::new(
        &room,
        &connected.clients,
        senders,
        args.delivery.via,
        args.delivery.text_bytes,
    );
    if let Some(url) = send_to {
        // Sessions live in the shared database, so the members' tokens work on any node.
        plan.api = Some(Api::new(url)?);
        plan.via = SendVia::Rest;
    }
    let via = plan.via;
    let schedule = Schedule {
        start: Instant::now() + Duration::from_millis(100),
        period: Duration::from_secs_f64(1.0 / args.rate),
        messages: (args.rate * args.duration as f64).round() as u64,
        first: 0,
    };
    eprintln!(
        "sending {} messages at {} msg/s",
        schedule.messages, args.rate
    );
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
    let health = Health::gather(target, &connected, &observer.counters);
    drop(connected);
    Ok(SmallRoomReport {
        target: if target.baseline {
            "baseline"
        } else {
            "hearth"
        },
        members: args.members,
        rate: args.rate,
        duration_s: args.duration,
        senders,
        via,
        deliveries: collected.counts,
        send_to_deliver: collected.deliver.summary(),
        send_to_ack: collected.ack.summary(),
        refusals: collected.refusals,
        health,
    })
}
