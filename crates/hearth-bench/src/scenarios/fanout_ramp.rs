//! `fanout`: the many-rooms load of [`rooms`] with the rate ramped step by step (each
//! step `--factor` times the last) until a step's send-to-deliver p99 passes `--p99-ms`,
//! deliveries stop being complete, or `--max-rate` is reached. The figure is the best
//! step within the limit: deliveries per second, and per second of server CPU (what one
//! core delivers), read from the server's own CPU time during the step.
//!
//! Each step is a schedule of its own, numbered after the last, and waits for its
//! deliveries (or the grace period) before the next starts, so steps do not overlap.

use std::time::Duration;

use anyhow::bail;
use clap::Args;
use serde::Serialize;
use tokio::time::Instant;

use crate::client::Observer;
use crate::cpu::CpuMeter;
use crate::markdown::Row;
use crate::scenarios::fanout::{self, Schedule};
use crate::scenarios::rooms::{self, RoomsArgs};
use crate::scenarios::{Health, run_tag};
use crate::server::Target;
use crate::stats::{DeliveryCounts, LatencySummary};

#[derive(Debug, Clone, Args)]
pub struct FanoutArgs {
    #[command(flatten)]
    pub rooms: RoomsArgs,
    /// Messages per second of the first step.
    #[arg(long, default_value_t = 250.0)]
    pub start_rate: f64,
    /// Each step's rate is the last one's times this.
    #[arg(long, default_value_t = 1.5)]
    pub factor: f64,
    /// Seconds of sending per step.
    #[arg(long, default_value_t = 5)]
    pub step_seconds: u64,
    /// Stop after the step whose p99 passes this many milliseconds.
    #[arg(long, default_value_t = 1_000)]
    pub p99_ms: u64,
    /// Never send faster than this many messages per second.
    #[arg(long, default_value_t = 50_000.0)]
    pub max_rate: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Step {
    pub rate: f64,
    pub deliveries: DeliveryCounts,
    pub send_to_deliver: LatencySummary,
    pub deliveries_per_s: f64,
    /// Server CPU time over the step's wall time (cores busy); absent for a server this
    /// tool did not start.
    pub server_cores: Option<f64>,
    /// Deliveries per second of server CPU time.
    pub deliveries_per_core_s: Option<f64>,
}

impl Step {
    fn within(&self, p99_ms: u64) -> bool {
        self.deliveries.is_clean() && self.send_to_deliver.p99_us <= p99_ms * 1_000
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct FanoutReport {
    pub target: &'static str,
    pub channels: usize,
    pub members: usize,
    pub users: usize,
    pub p99_limit_ms: u64,
    pub steps: Vec<Step>,
    /// The fastest step within the p99 limit with every delivery made.
    pub best: Option<Step>,
    pub health: Health,
}

impl FanoutReport {
    pub fn lines(&self) -> Vec<String> {
        let mut lines = vec![format!(
            "fanout on {}: {} channels of {} members ({} users online), ramped until p99 > \
             {} ms",
            self.target, self.channels, self.members, self.users, self.p99_limit_ms
        )];
        for s in &self.steps {
            lines.push(format!(
                "  {:>8.0} msg/s: {:>9.0} deliveries/s, {} | p50 {:.2} ms, p99 {:.2} ms | {}",
                s.rate,
                s.deliveries_per_s,
                per_core(s),
                s.send_to_deliver.p50_us as f64 / 1_000.0,
                s.send_to_deliver.p99_us as f64 / 1_000.0,
                if s.deliveries.is_clean() {
                    "complete".to_owned()
                } else {
                    s.deliveries.to_string()
                }
            ));
        }
        match &self.best {
            Some(b) => lines.push(format!(
                "best within the limit: {:.0} msg/s, {:.0} deliveries/s, {}",
                b.rate,
                b.deliveries_per_s,
                per_core(b)
            )),
            None => lines.push("no step stayed within the limit".to_owned()),
        }
        lines.extend(self.health.lines());
        lines
    }

    pub fn failures(&self) -> Vec<String> {
        let mut failures = self.health.failures();
        for s in &self.steps {
            let d = &s.deliveries;
            if d.lost > 0 || d.duplicated > 0 || d.out_of_order > 0 || d.misrouted > 0 {
                failures.push(format!("step at {:.0} msg/s: {d}", s.rate));
            }
        }
        failures
    }
}

fn per_core(s: &Step) -> String {
    match (s.deliveries_per_core_s, s.server_cores) {
        (Some(d), Some(c)) => format!("{d:.0} deliveries per core-second ({c:.2} cores busy)"),
        _ => "server CPU unknown".to_owned(),
    }
}

pub async fn run(
    target: &mut Target,
    args: &FanoutArgs,
    sources: usize,
) -> anyhow::Result<FanoutReport> {
    if args.start_rate <= 0.0 || args.factor <= 1.0 || args.step_seconds == 0 {
        bail!("fanout needs a positive start rate, a factor above 1 and a step duration");
    }
    let (observer, mut observations) = Observer::new(&run_tag());
    let setup = rooms::prepare(target, &[], &args.rooms, sources, &observer).await?;
    let route = setup.route.clone();
    // The sender thread owns the plan for the whole ramp; steps are fed to it in turn.
    let (steps_tx, steps_rx) = std::sync::mpsc::channel::<Schedule>();
    let (done_tx, mut done_rx) = tokio::sync::mpsc::unbounded_channel();
    let driver = tokio::spawn(fanout::drive_each(
        steps_rx,
        done_tx,
        setup.plan,
        observer.clone(),
    ));
    let mut steps = Vec::new();
    let (mut rate, mut first) = (args.start_rate, 0u64);
    while rate <= args.max_rate {
        let schedule = Schedule {
            start: Instant::now() + Duration::from_millis(100),
            period: Duration::from_secs_f64(1.0 / rate),
            messages: (rate * args.step_seconds as f64).round().max(1.0) as u64,
            first,
        };
        first += schedule.messages;
        eprintln!("step: {rate:.0} msg/s for {} s", args.step_seconds);
        let meter = CpuMeter::start(target);
        if steps_tx.send(schedule).is_err() {
            bail!("the sender thread stopped");
        }
        let collected = fanout::collect(
            &mut observations,
            schedule,
            &route,
            Duration::from_secs(args.rooms.delivery.grace),
            &observer.counters,
        )
        .await;
        let _ = done_rx.recv().await;
        let cpu = meter.stop(target);
        let received = collected.counts.received as f64;
        let step = Step {
            rate,
            deliveries: collected.counts,
            send_to_deliver: collected.deliver.summary(),
            // Over the sending time: the rate the step sustained.
            deliveries_per_s: received / args.step_seconds as f64,
            server_cores: cpu.map(|c| c.cores()),
            deliveries_per_core_s: cpu
                .filter(|c| c.core_seconds > 0.0)
                .map(|c| received / c.core_seconds),
        };
        let go_on = step.within(args.p99_ms);
        steps.push(step);
        if !go_on {
            break;
        }
        rate *= args.factor;
    }
    drop(steps_tx);
    let _ = driver.await;
    let best = steps
        .iter()
        .filter(|s| s.within(args.p99_ms))
        .max_by(|a, b| a.rate.total_cmp(&b.rate))
        .cloned();
    let health = Health::gather(target, &setup.connected, &observer.counters);
    Ok(FanoutReport {
        target: if target.baseline {
            "baseline"
        } else {
            "hearth"
        },
        channels: args.rooms.channels,
        members: args.rooms.members,
        users: args.rooms.users,
        p99_limit_ms: args.p99_ms,
        steps,
        best,
        health,
    })
}

/// Prints the baseline's ramp and the ratio of the best deliveries per core-second;
/// returns the JSON of the run.
pub fn compare(
    command_line: &str,
    ours: FanoutReport,
    baseline: Option<FanoutReport>,
    failures: &mut Vec<String>,
    row: &mut Row,
) -> serde_json::Value {
    let best = |r: &FanoutReport| {
        r.best
            .as_ref()
            .map_or("no step within the limit".to_owned(), |b| {
                format!(
                    "{:.0} msg/s, {:.0} deliveries/s, {}",
                    b.rate,
                    b.deliveries_per_s,
                    per_core(b)
                )
            })
    };
    *row = Row::new("fanout", best(&ours));
    let Some(baseline) = baseline else {
        return serde_json::json!({ "scenario": "fanout", "command": command_line, "ours": ours });
    };
    println!();
    for line in baseline.lines() {
        println!("{line}");
    }
    failures.extend(
        baseline
            .failures()
            .into_iter()
            .map(|f| format!("baseline: {f}")),
    );
    let per_core_s = |r: &FanoutReport| r.best.as_ref().and_then(|b| b.deliveries_per_core_s);
    let ratio = per_core_s(&ours)
        .zip(per_core_s(&baseline))
        .map(|(o, b)| o / b);
    *row = row.clone().against(
        best(&baseline),
        ratio.map(|r| format!("{r:.2}x deliveries per core-second")),
    );
    match ratio {
        Some(r) => println!("\nours / baseline, best deliveries per core-second: {r:.2}x"),
        None => println!("\nours / baseline: no ratio (a ramp had no step within the limit)"),
    }
    serde_json::json!({
        "scenario": "fanout",
        "command": command_line,
        "ours": ours,
        "baseline": baseline,
        "ratio_deliveries_per_core_s": ratio,
    })
}
