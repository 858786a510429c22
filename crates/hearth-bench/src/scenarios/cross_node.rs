//! `cross-node`: what delivery across nodes costs. Small-room's load, measured twice in
//! one invocation against two nodes A and B of one deployment (one PostgreSQL database,
//! one Redis bus), every member connected to A both times:
//!
//! - (a) single-node: each message posted over REST to A, delivered by A's own hub;
//! - (b) cross-node: each message posted over REST to B, which commits it and publishes
//!   it on Redis, whence A's subscriber hands it to A's hub.
//!
//! Both legs post over REST, so the only difference is the node the post lands on; the
//! ratio (b) / (a) is the price of the Redis hop. Both legs run on the same deployment
//! (A publishes to Redis in (a) too, and every post commits on PostgreSQL), one after the
//! other, each with a room of its own (a fresh workspace and fresh connections), so
//! neither leg's messages or sessions can be mistaken for the other's. Every delivery is
//! checked as in small-room: any loss, duplicate or reordering fails the run.
//!
//! A separate scenario rather than a `--send-url` on small-room: the question is a
//! comparison, which needs both legs in one invocation on the same two nodes, and the
//! started nodes need a shared database and bus that small-room never needs.

use clap::Args;
use serde::Serialize;

use crate::scenarios::fanout::{DeliveryArgs, SendVia};
use crate::scenarios::small_room::{self, SmallRoomArgs, SmallRoomReport};
use crate::server::{LogSummary, Target};
use crate::stats::Ratios;

#[derive(Debug, Clone, Args)]
pub struct CrossNodeArgs {
    /// Members of the channel, each online with one connection to node A.
    #[arg(long, default_value_t = 10)]
    pub members: usize,
    /// Messages per second, across all senders.
    #[arg(long, default_value_t = 100.0)]
    pub rate: f64,
    /// Seconds of sending, for each leg.
    #[arg(long, default_value_t = 20)]
    pub duration: u64,
    /// How many members take turns sending (default: all of them).
    #[arg(long)]
    pub senders: Option<usize>,
    /// Message length in bytes.
    #[arg(long, default_value_t = 100)]
    pub text_bytes: usize,
    /// Seconds to wait after the last send for late deliveries before calling them lost.
    #[arg(long, default_value_t = 5)]
    pub grace: u64,
    /// The Redis bus of the two nodes this tool starts (their `--bus`).
    #[arg(long, default_value = "redis://127.0.0.1:6379")]
    pub redis: String,
    /// Node B's URL, when `--server` names node A: two running nodes of one deployment
    /// instead of two started here.
    #[arg(long)]
    pub second_server: Option<String>,
}

impl CrossNodeArgs {
    /// Each leg's load: small-room over REST.
    fn leg(&self) -> SmallRoomArgs {
        SmallRoomArgs {
            members: self.members,
            rate: self.rate,
            duration: self.duration,
            senders: self.senders,
            delivery: DeliveryArgs {
                via: SendVia::Rest,
                text_bytes: self.text_bytes,
                grace: self.grace,
                baseline: false,
            },
        }
    }

    /// The arguments that make a started node one of the deployment (besides the
    /// database, which every started server of the run shares).
    pub fn node_args(&self) -> Vec<String> {
        vec!["--bus".into(), self.redis.clone()]
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct CrossNodeReport {
    /// (a) sent to A, received on A.
    pub single_node: SmallRoomReport,
    /// (b) sent to B, received on A.
    pub cross_node: SmallRoomReport,
    /// Send-to-deliver percentiles, cross-node over single-node.
    pub ratio: Ratios,
    /// What node B logged, when this tool started it (A's is in each leg's health).
    pub node_b_log: Option<LogSummary>,
}

impl CrossNodeReport {
    pub fn lines(&self) -> Vec<String> {
        let mut lines = vec!["(a) single-node: sent to A over REST, received on A".to_owned()];
        lines.extend(
            self.single_node
                .lines()
                .into_iter()
                .map(|l| format!("  {l}")),
        );
        lines.push("(b) cross-node: sent to B over REST, received on A (via Redis)".to_owned());
        lines.extend(
            self.cross_node
                .lines()
                .into_iter()
                .map(|l| format!("  {l}")),
        );
        if let Some(log) = &self.node_b_log {
            lines.push(format!(
                "node B log: {} warnings, {} errors",
                log.warnings, log.errors
            ));
            lines.extend(log.first_lines.iter().take(5).map(|l| format!("  {l}")));
        }
        lines.push(format!(
            "cross-node / single-node (send-to-deliver): {}",
            self.ratio
        ));
        lines
    }

    /// Why either leg is not clean; empty when both are.
    pub fn failures(&self) -> Vec<String> {
        let single = self.single_node.failures().into_iter();
        let cross = self.cross_node.failures().into_iter();
        single
            .map(|f| format!("single-node: {f}"))
            .chain(cross.map(|f| format!("cross-node: {f}")))
            .collect()
    }
}

/// Runs leg (a) then leg (b); members connect to `a`, posts go to `a`, then to `b`.
pub async fn run(
    a: &mut Target,
    b: &Target,
    args: &CrossNodeArgs,
    sources: usize,
) -> anyhow::Result<CrossNodeReport> {
    let leg = args.leg();
    eprintln!("(a) single-node: posting to A at {}", a.base_url);
    let single_node = small_room::run_sending_to(a, None, &leg, sources).await?;
    eprintln!("(b) cross-node: posting to B at {}", b.base_url);
    let cross_node = small_room::run_sending_to(a, Some(&b.base_url), &leg, sources).await?;
    Ok(CrossNodeReport {
        ratio: Ratios::of(&cross_node.send_to_deliver, &single_node.send_to_deliver),
        single_node,
        cross_node,
        node_b_log: b.log_summary(),
    })
}
