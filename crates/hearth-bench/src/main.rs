//! `hearth-bench`: Hearth's load generator.
//!
//! Each scenario is a subcommand. By default the tool starts the server itself
//! (`--server-bin`, on a free loopback port with a fresh data directory) so it can read
//! the server's memory and CPU, and kills it at the end; `--server URL` targets a running
//! one instead. Fan-out scenarios take `--baseline` to run the same load against the bare
//! broadcast server of [`baseline`] in the same invocation and report the ratio. Every run
//! is bounded by its counts and durations, prints a plain summary, and with `--json PATH`
//! writes the figures as JSON.

mod api;
mod baseline;
mod client;
mod scenarios;
mod server;
mod stats;

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use serde::Serialize;
use serde_json::json;

use crate::scenarios::Health;
use crate::scenarios::big_room::{self, BigRoomArgs};
use crate::scenarios::history::{self, HistoryArgs};
use crate::scenarios::idle::{self, IdleArgs};
use crate::scenarios::idle_workers::{self, IdleWorkerArgs};
use crate::scenarios::small_room::{self, SmallRoomArgs};
use crate::scenarios::write::{self, WriteArgs};
use crate::server::{ServerProcess, Target};
use crate::stats::{DeliveryCounts, LatencySummary, Ratios};

#[derive(Debug, Parser)]
#[command(name = "hearth-bench", version, about = "Hearth's load generator")]
struct Cli {
    #[command(flatten)]
    global: Global,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Args)]
struct Global {
    /// The `hearth` binary to start for the run.
    #[arg(long, global = true, default_value = "target/release/hearth")]
    server_bin: PathBuf,
    /// An extra argument for `hearth serve` (repeatable), e.g. `--server-arg=--log-format=json`.
    #[arg(long, global = true, allow_hyphen_values = true)]
    server_arg: Vec<String>,
    /// Target a running server at this URL instead of starting one (no memory or CPU figures).
    #[arg(long, global = true)]
    server: Option<String>,
    /// Also write the results as JSON to this file.
    #[arg(long, global = true)]
    json: Option<PathBuf>,
    /// Loopback source addresses to spread client connections over (127.0.0.2, ...).
    #[arg(long, global = true, default_value_t = 8)]
    sources: usize,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Many idle authenticated connections: server memory per connection and idle CPU.
    Idle(IdleArgs),
    /// A channel of a few members chatting: send-to-deliver latency.
    SmallRoom(SmallRoomArgs),
    /// A channel of thousands of online members: time for a message to reach the last one.
    BigRoom(BigRoomArgs),
    /// Durable sends per second from many channels, and the raw SQLite limit (`--baseline`).
    Write(WriteArgs),
    /// The latest page of a random channel's history, in a filled workspace.
    History(HistoryArgs),
    /// Hold idle connections for a parent `idle` run (started by `idle` itself).
    #[command(hide = true)]
    IdleWorker(IdleWorkerArgs),
    /// Serve the bare broadcast baseline (what `--baseline` starts).
    BaselineBroadcast {
        #[arg(long, default_value = "127.0.0.1:0")]
        listen: SocketAddr,
    },
}

/// What a fan-out scenario reports, for comparing with the baseline.
trait Report: Serialize {
    fn lines(&self) -> Vec<String>;
    /// The latency the ratio is taken of.
    fn headline(&self) -> LatencySummary;
    /// Why the run is not clean (lost, duplicated or reordered deliveries, connections
    /// that failed); empty when it is.
    fn failures(&self) -> Vec<String>;
}

impl Report for small_room::SmallRoomReport {
    fn lines(&self) -> Vec<String> {
        self.lines()
    }
    fn headline(&self) -> LatencySummary {
        self.send_to_deliver
    }
    fn failures(&self) -> Vec<String> {
        delivery_failures(&self.deliveries, &self.health)
    }
}

impl Report for big_room::BigRoomReport {
    fn lines(&self) -> Vec<String> {
        self.lines()
    }
    fn headline(&self) -> LatencySummary {
        self.time_to_last
    }
    fn failures(&self) -> Vec<String> {
        delivery_failures(&self.deliveries, &self.health)
    }
}

fn delivery_failures(deliveries: &DeliveryCounts, health: &Health) -> Vec<String> {
    let mut failures = health.failures();
    if !deliveries.is_clean() {
        failures.push(format!("deliveries not clean: {deliveries}"));
    }
    failures
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let command_line = std::env::args().collect::<Vec<_>>().join(" ");
    let global = &cli.global;
    // Why the run failed its correctness checks; reported after the figures are out.
    let mut failures = Vec::new();
    let output = match &cli.command {
        Command::BaselineBroadcast { listen } => return baseline::bind_and_serve(*listen).await,
        Command::IdleWorker(args) => return idle_workers::serve(args, global.sources).await,
        Command::Idle(args) => {
            let mut target = start(global).await?;
            let report = idle::run(&mut target, args, global.sources).await;
            target.stop().await;
            let report = report?;
            print_lines(&report.lines());
            failures = report.health.failures();
            if report.connected < report.connections {
                failures.push(format!(
                    "only {} of {} connections held",
                    report.connected, report.connections
                ));
            }
            json!({ "scenario": "idle", "command": command_line, "ours": report })
        }
        Command::SmallRoom(args) => {
            let scenario = async |t: &mut Target| small_room::run(t, args, global.sources).await;
            let ours = run_on(start(global).await?, scenario).await?;
            let baseline = match args.delivery.baseline {
                true => Some(run_on_baseline(scenario).await?),
                false => None,
            };
            compare("small-room", &command_line, ours, baseline, &mut failures)
        }
        Command::BigRoom(args) => {
            let scenario = async |t: &mut Target| big_room::run(t, args, global.sources).await;
            let ours = run_on(start(global).await?, scenario).await?;
            let baseline = match args.delivery.baseline {
                true => Some(run_on_baseline(scenario).await?),
                false => None,
            };
            compare("big-room", &command_line, ours, baseline, &mut failures)
        }
        Command::Write(args) => {
            let scenario = async |t: &mut Target| write::run(t, args).await;
            let mut report = run_on(start(global).await?, scenario).await?;
            if args.baseline {
                report = write::with_baseline(report, args).await?;
            }
            print_lines(&report.lines());
            failures = report.failures();
            json!({ "scenario": "write", "command": command_line, "report": report })
        }
        Command::History(args) => {
            let scenario = async |t: &mut Target| history::run(t, args).await;
            let report = run_on(start(global).await?, scenario).await?;
            print_lines(&report.lines());
            failures = report.failures();
            json!({ "scenario": "history", "command": command_line, "ours": report })
        }
    };
    if let Some(path) = &global.json {
        let text = serde_json::to_string_pretty(&output)?;
        std::fs::write(path, text + "\n").with_context(|| format!("writing {}", path.display()))?;
        eprintln!("wrote {}", path.display());
    }
    if !failures.is_empty() {
        for failure in &failures {
            eprintln!("FAILED: {failure}");
        }
        anyhow::bail!("the run was not clean ({} problems)", failures.len());
    }
    Ok(())
}

/// The server to measure: started here, or the one at `--server`.
async fn start(global: &Global) -> anyhow::Result<Target> {
    match &global.server {
        Some(url) => Ok(Target::external(url)),
        None => {
            let target =
                ServerProcess::start_hearth(&global.server_bin, &global.server_arg).await?;
            eprintln!(
                "started {} at {}",
                global.server_bin.display(),
                target.base_url
            );
            Ok(target)
        }
    }
}

/// Runs a scenario on `target`, then stops the target whatever the outcome.
async fn run_on<R>(
    mut target: Target,
    scenario: impl AsyncFnOnce(&mut Target) -> anyhow::Result<R>,
) -> anyhow::Result<R> {
    let result = scenario(&mut target).await;
    target.stop().await;
    result
}

/// Runs a scenario on a freshly started baseline server.
async fn run_on_baseline<R>(
    scenario: impl AsyncFnOnce(&mut Target) -> anyhow::Result<R>,
) -> anyhow::Result<R> {
    let target = ServerProcess::start_baseline().await?;
    eprintln!("started the baseline at {}", target.base_url);
    run_on(target, scenario).await
}

/// Prints ours, the baseline's (run after ours, never at the same time) and their ratio.
fn compare<R: Report>(
    scenario: &str,
    command_line: &str,
    ours: R,
    baseline: Option<R>,
    failures: &mut Vec<String>,
) -> serde_json::Value {
    print_lines(&ours.lines());
    failures.extend(ours.failures());
    if let Some(b) = &baseline {
        failures.extend(b.failures().into_iter().map(|f| format!("baseline: {f}")));
    }
    let Some(baseline) = baseline else {
        return json!({ "scenario": scenario, "command": command_line, "ours": ours });
    };
    println!();
    print_lines(&baseline.lines());
    let ratios = Ratios::of(&ours.headline(), &baseline.headline());
    println!();
    println!("ours / baseline: {ratios}");
    json!({
        "scenario": scenario,
        "command": command_line,
        "ours": ours,
        "baseline": baseline,
        "ratio": ratios,
    })
}

fn print_lines(lines: &[String]) {
    for line in lines {
        println!("{line}");
    }
}
