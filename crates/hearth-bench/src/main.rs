//! `hearth-bench`: Hearth's load generator.
//!
//! Each scenario is a subcommand. By default the tool starts the server itself
//! (`--server-bin`, on a free loopback port with a fresh data directory) so it can read
//! the server's memory and CPU, and kills it at the end; `--server URL` targets a running
//! one instead. With `--postgres` the servers it starts run on PostgreSQL, in a scratch
//! database created for the run and dropped at its end ([`scratch_db`]). Fan-out scenarios
//! take `--baseline` to run the same load against the bare broadcast server of
//! [`baseline`] in the same invocation and report the ratio; `write --baseline` runs the
//! raw insert loop of the server's backend ([`storage_limit`]). Every run is bounded by
//! its counts and durations, prints a plain summary, and with `--json PATH` writes the
//! figures as JSON.

mod api;
mod baseline;
mod client;
mod cpu;
mod generate;
mod markdown;
mod progress;
mod scenarios;
mod scratch_db;
mod server;
mod stats;
mod storage_limit;

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand};
use serde::Serialize;
use serde_json::json;

use crate::generate::GenerateArgs;
use crate::markdown::Row;
use crate::scenarios::big_room::{self, BigRoomArgs};
use crate::scenarios::cross_node::{self, CrossNodeArgs};
use crate::scenarios::fanout::SendVia;
use crate::scenarios::fanout_ramp::{self, FanoutArgs};
use crate::scenarios::files::{self, FilesArgs};
use crate::scenarios::history::{self, HistoryArgs};
use crate::scenarios::idle::{self, IdleArgs};
use crate::scenarios::idle_workers::{self, IdleWorkerArgs};
use crate::scenarios::multi_node::{self, MultiNodeArgs, MultiNodeLoad};
use crate::scenarios::notify::{self, NotifyArgs};
use crate::scenarios::reconnect::{self, ReconnectArgs};
use crate::scenarios::search::{self, SearchArgs};
use crate::scenarios::small_room::{self, SmallRoomArgs};
use crate::scenarios::small_rooms::{self, SmallRoomsArgs};
use crate::scenarios::write::{self, WriteArgs};
use crate::scratch_db::ScratchDatabase;
use crate::server::{ServerProcess, Target};
use crate::stats::{LatencySummary, Ratios};
use crate::storage_limit::Storage;

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
    /// Run the servers this tool starts on PostgreSQL, in a scratch database created on
    /// this server for the run and dropped at its end (`--postgres` alone:
    /// postgres://postgres@127.0.0.1:5432/postgres). `write --baseline` then measures
    /// PostgreSQL's limit, in a scratch database of its own.
    #[arg(
        long,
        global = true,
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = scratch_db::DEFAULT_SERVER,
        value_name = "URL"
    )]
    postgres: Option<String>,
    /// Also write the results as JSON to this file.
    #[arg(long, global = true)]
    json: Option<PathBuf>,
    /// Also append the run as a row of a Markdown table to this file (header when new).
    #[arg(long, global = true)]
    markdown: Option<PathBuf>,
    /// Pin the servers this tool starts to the first core and the load generator to the
    /// others (with `taskset`), so they do not steal each other's cycles.
    #[arg(long, global = true)]
    pin: bool,
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
    /// Many small channels chatting at once: send-to-deliver latency at a steady rate.
    SmallRooms(SmallRoomsArgs),
    /// Many channels, the rate ramped until p99 passes a limit: deliveries per core-second.
    Fanout(FanoutArgs),
    /// Durable sends per second from many channels, and the raw storage limit (`--baseline`).
    Write(WriteArgs),
    /// Many connected clients, the server crashes and restarts: time until every client
    /// resumed and has every message.
    Reconnect(ReconnectArgs),
    /// Small-room delivery within one node and across two nodes (PostgreSQL and Redis).
    CrossNode(CrossNodeArgs),
    /// Small-rooms or big-room on several nodes (PostgreSQL and Redis): every client on
    /// one node against the clients spread over all of them.
    MultiNode(MultiNodeArgs),
    /// The latest page of a random channel's history, in a filled workspace.
    History(HistoryArgs),
    /// Full-text search over a generated workspace, by kind of query, against the raw
    /// index lookup; and how long the server takes to index the generated messages.
    Search(SearchArgs),
    /// Upload and download throughput of a large file and the server's memory meanwhile,
    /// against the filesystem; and the time thumbnails add to a photo's upload.
    Files(FilesArgs),
    /// Notifications for offline users: commit-to-push latency at their webhooks, and
    /// send throughput with notifications on against off.
    Notify(NotifyArgs),
    /// Fill a new data directory with a realistic workspace, fast (for history, search
    /// and timing `hearth migrate-data`).
    Generate(GenerateArgs),
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
    /// Microseconds of server CPU per delivery, when the scenario measured it.
    fn cpu_per_delivery_us(&self) -> Option<f64> {
        None
    }
}

impl Report for small_room::SmallRoomReport {
    fn lines(&self) -> Vec<String> {
        self.lines()
    }
    fn headline(&self) -> LatencySummary {
        self.send_to_deliver
    }
    fn failures(&self) -> Vec<String> {
        self.failures()
    }
}

impl Report for small_rooms::SmallRoomsReport {
    fn lines(&self) -> Vec<String> {
        self.lines()
    }
    fn headline(&self) -> LatencySummary {
        self.send_to_deliver
    }
    fn failures(&self) -> Vec<String> {
        self.failures()
    }
    fn cpu_per_delivery_us(&self) -> Option<f64> {
        self.server_cpu?.per_delivery_us(self.deliveries.received)
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
        self.failures()
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let global = &cli.global;
    match &cli.command {
        Command::BaselineBroadcast { listen } => return baseline::bind_and_serve(*listen).await,
        Command::IdleWorker(args) => return idle_workers::serve(args, global.sources).await,
        Command::Generate(args) => {
            if global.server.is_some() || global.postgres.is_some() {
                bail!("generate starts its own server on SQLite: drop --server and --postgres");
            }
            return generate::run(&global.server_bin, &global.server_arg, args).await;
        }
        _ => {}
    }
    if global.pin {
        server::pin_cores()?;
    }
    let command_line = std::env::args().collect::<Vec<_>>().join(" ");
    let storage = Storage::of_run(global.postgres.as_deref(), &global.server_arg);
    // The servers this run starts share one scratch database, dropped whatever happens.
    let database = match (&global.postgres, &global.server) {
        (Some(server), None) => {
            let database = ScratchDatabase::create(server, "run").await?;
            eprintln!("created the scratch database {}", database.name());
            Some(database)
        }
        _ => None,
    };
    let servers = Servers::of(global, database.as_ref())?;
    let outcome = run_scenario(&cli.command, global, &servers, &storage, &command_line).await;
    if let Some(database) = database {
        database.drop_database().await;
    }
    // Why the run failed its correctness checks; reported after the figures are out.
    let (output, failures, row) = outcome?;
    if let Some(path) = &global.markdown {
        markdown::append(path, &row, &command_line)?;
        eprintln!("appended a row to {}", path.display());
    }
    if let Some(path) = &global.json {
        let text = serde_json::to_string_pretty(&output)?;
        std::fs::write(path, text + "\n").with_context(|| format!("writing {}", path.display()))?;
        eprintln!("wrote {}", path.display());
    }
    if !failures.is_empty() {
        for failure in &failures {
            eprintln!("FAILED: {failure}");
        }
        bail!("the run was not clean ({} problems)", failures.len());
    }
    Ok(())
}

/// Runs one measuring scenario; returns its JSON, why it is not clean, and its row.
async fn run_scenario(
    command: &Command,
    global: &Global,
    servers: &Servers,
    storage: &Storage,
    command_line: &str,
) -> anyhow::Result<(serde_json::Value, Vec<String>, Row)> {
    let mut failures = Vec::new();
    let mut row = Row::default();
    let output = match command {
        Command::BaselineBroadcast { .. } | Command::IdleWorker(_) | Command::Generate(_) => {
            bail!("not a measuring scenario")
        }
        Command::Idle(args) => {
            let mut target = servers.start(&[]).await?;
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
            row = Row::new(
                "idle",
                format!(
                    "{} KiB per connection ({} connections), idle CPU {} %",
                    report
                        .per_connection_kib
                        .map_or("?".to_owned(), |k| format!("{k:.2}")),
                    report.connected,
                    report
                        .idle_cpu_percent
                        .map_or("?".to_owned(), |c| format!("{c:.1}"))
                ),
            );
            json!({ "scenario": "idle", "command": command_line, "ours": report })
        }
        Command::SmallRoom(args) => {
            let scenario = async |t: &mut Target| small_room::run(t, args, global.sources).await;
            let target = servers.start(&[]).await?;
            let (ours, baseline) =
                ours_then_baseline(target, args.delivery.baseline, scenario).await?;
            compare(
                "small-room",
                command_line,
                ours,
                baseline,
                &mut failures,
                &mut row,
            )
        }
        Command::BigRoom(args) => {
            let scenario = async |t: &mut Target| big_room::run(t, args, global.sources).await;
            let target = servers.start(&[]).await?;
            let (ours, baseline) =
                ours_then_baseline(target, args.delivery.baseline, scenario).await?;
            compare(
                "big-room",
                command_line,
                ours,
                baseline,
                &mut failures,
                &mut row,
            )
        }
        Command::SmallRooms(args) => {
            let scenario = async |t: &mut Target| small_rooms::run(t, args, global.sources).await;
            let target = servers.start(&args.rooms.server_args(args.rate)).await?;
            let (ours, baseline) =
                ours_then_baseline(target, args.rooms.delivery.baseline, scenario).await?;
            compare(
                "small-rooms",
                command_line,
                ours,
                baseline,
                &mut failures,
                &mut row,
            )
        }
        Command::Fanout(args) => {
            let scenario = async |t: &mut Target| fanout_ramp::run(t, args, global.sources).await;
            let extra = args.rooms.server_args(args.max_rate);
            let ours = run_on(servers.start(&extra).await?, scenario).await?;
            print_lines(&ours.lines());
            failures.extend(ours.failures());
            let baseline = match args.rooms.delivery.baseline {
                true => Some(run_on_baseline(scenario).await?),
                false => None,
            };
            fanout_ramp::compare(command_line, ours, baseline, &mut failures, &mut row)
        }
        Command::Write(args) => {
            let scenario = async |t: &mut Target| write::run(t, args, storage).await;
            let mut report = run_on(servers.start(&args.server_args()).await?, scenario).await?;
            if args.baseline {
                report = write::with_baseline(report, args, storage).await?;
            }
            print_lines(&report.lines());
            failures = report.failures();
            let via = match report.via {
                SendVia::Rest => String::new(),
                SendVia::Ws => format!(", sockets with {} in flight", report.window),
            };
            row = Row::new(
                &format!("write ({}{via})", report.database),
                format!(
                    "{:.0} sends/s, ack {}",
                    report.ours.sends_per_s,
                    markdown::latency(&report.ours.ack)
                ),
            );
            if let Some(b) = &report.baseline {
                let ratio = report.ratio.map(|r| format!("{r:.2}x sends/s"));
                row = row.against(format!("{}: {:.0}/s", b.storage, b.inserts_per_s), ratio);
            }
            json!({ "scenario": "write", "command": command_line, "report": report })
        }
        Command::CrossNode(args) => {
            let (mut a, b) = servers.two_nodes(args).await?;
            let report = cross_node::run(&mut a, &b, args, global.sources).await;
            a.stop().await;
            b.stop().await;
            let report = report?;
            print_lines(&report.lines());
            failures = report.failures();
            row = Row::new(
                "cross-node (posted to B, delivered on A)",
                markdown::latency(&report.cross_node.send_to_deliver),
            )
            .against(
                format!(
                    "single node: {}",
                    markdown::latency(&report.single_node.send_to_deliver)
                ),
                Some(report.ratio.to_string()),
            );
            json!({ "scenario": "cross-node", "command": command_line, "report": report })
        }
        Command::MultiNode(args) => {
            args.check()?;
            let mut nodes = servers.nodes(args.nodes, &args.node_args()).await?;
            let sources = global.sources;
            let outcome = match &args.load {
                MultiNodeLoad::SmallRooms(load) => {
                    let leg = async |a: &mut Target, others: &[Target]| {
                        small_rooms::run_spread(a, others, load, sources).await
                    };
                    multi_node::legs(&mut nodes, leg)
                        .await
                        .map(|(one, spread)| {
                            compare_nodes(args, command_line, one, spread, &mut failures, &mut row)
                        })
                }
                MultiNodeLoad::BigRoom(load) => {
                    let leg = async |a: &mut Target, others: &[Target]| {
                        big_room::run_spread(a, others, load, sources).await
                    };
                    multi_node::legs(&mut nodes, leg)
                        .await
                        .map(|(one, spread)| {
                            compare_nodes(args, command_line, one, spread, &mut failures, &mut row)
                        })
                }
            };
            for node in nodes {
                node.stop().await;
            }
            outcome?
        }
        Command::Reconnect(args) => {
            let scenario = async |t: &mut Target| reconnect::run(t, args, global.sources).await;
            let report = run_on(servers.start(&[]).await?, scenario).await?;
            print_lines(&report.lines());
            failures = report.failures();
            row = Row::new(
                "reconnect",
                format!(
                    "{} clients: server back {:.2} s after the kill, all resumed after {}, \
                     all caught up after {}",
                    report.connections,
                    report.restart_s,
                    report
                        .all_resumed_s
                        .map_or("never".to_owned(), |s| format!("{s:.2} s")),
                    report
                        .all_caught_up_s
                        .map_or("never".to_owned(), |s| format!("{s:.2} s"))
                ),
            );
            json!({ "scenario": "reconnect", "command": command_line, "ours": report })
        }
        Command::History(args) => {
            let database = servers.database_url.as_deref();
            let scenario = async |t: &mut Target| history::run(t, args, database).await;
            let target = match &args.data {
                Some(dir) => servers.start_in(dir).await?,
                None => servers.start(&[]).await?,
            };
            let report = run_on(target, scenario).await?;
            print_lines(&report.lines());
            failures = report.failures();
            row = Row::new(
                &format!("history ({} messages)", report.messages),
                markdown::latency(&report.latency),
            );
            if let Some(b) = &report.baseline {
                row = row.against(
                    format!("bare page statement: {}", markdown::latency(&b.latency)),
                    report.ratio.map(|r| r.to_string()),
                );
            }
            json!({ "scenario": "history", "command": command_line, "ours": report })
        }
        Command::Search(args) => {
            if servers.external.is_some() {
                bail!("search starts its own server on --data: drop --server");
            }
            let (backend, migrate_seconds) = match &servers.database_url {
                None => (search::Backend::Sqlite(args.data.join("hearth.db")), None),
                Some(url) => {
                    let secs = search::migrate(&servers.bin, &args.data, url).await?;
                    (search::Backend::Postgres(url.clone()), Some(secs))
                }
            };
            let backlog = backend.unindexed().await?;
            let started = tokio::time::Instant::now();
            let target = match &backend {
                search::Backend::Sqlite(_) => servers.start_in(&args.data).await?,
                search::Backend::Postgres(_) => servers.start(&[]).await?,
            };
            let scenario =
                async |t: &mut Target| search::run(t, args, &backend, backlog, started).await;
            let mut report = run_on(target, scenario).await?;
            report.migrate_seconds = migrate_seconds;
            let report = search::with_baseline(report, args, &backend).await?;
            print_lines(&report.lines());
            failures = report.failures();
            let word = report.kind(search::Kind::Word).map(|k| k.latency);
            row = Row::new(
                &format!("search ({}, {} messages)", report.backend, report.messages),
                format!(
                    "word {}; all kinds p50 {:.2} ms, p99 {:.2} ms; index {}",
                    word.map_or("?".to_owned(), |w| markdown::latency(&w)),
                    report.all.p50_us as f64 / 1e3,
                    report.all.p99_us as f64 / 1e3,
                    report
                        .index
                        .as_ref()
                        .map_or("already built".to_owned(), |i| format!(
                            "{:.0} msg/s",
                            i.per_s
                        ))
                ),
            );
            if let Some(b) = &report.baseline {
                row = row.against(
                    format!("raw index lookup: {}", markdown::latency(&b.latency)),
                    report.ratio.map(|r| r.to_string()),
                );
            }
            json!({ "scenario": "search", "command": command_line, "ours": report })
        }
        Command::Notify(args) => {
            let start = async |extra: &[String]| servers.start(extra).await;
            let external = servers.external.is_some();
            let report =
                notify::run(start, external, &global.server_arg, args, storage.name()).await?;
            print_lines(&report.lines());
            failures = report.failures();
            row = report.row();
            json!({ "scenario": "notify", "command": command_line, "report": report })
        }
        Command::Files(args) => {
            let scenario = async |t: &mut Target| files::run(t, args).await;
            let report = run_on(servers.start(&args.server_args()).await?, scenario).await?;
            print_lines(&report.lines());
            failures = report.failures();
            let (t, th) = (&report.transfer, &report.thumbs);
            let growth = t
                .growth_kib()
                .map_or("?".to_owned(), |k| format!("{:.1}", k as f64 / 1024.0));
            row = Row::new(
                &format!("files ({} MiB, local disk)", args.size_mib),
                format!(
                    "upload {:.1} MiB/s, download {:.1} MiB/s, server RSS +{growth} MiB; \
                     {}x{} JPEG thumbnails {:.1} ms",
                    t.upload, t.download, th.width, th.height, th.thumbnail_ms
                ),
            )
            .against(
                format!(
                    "disk write {:.1} MiB/s, read {:.1} MiB/s; in-process thumbnails {:.1} ms",
                    t.baseline_write, t.baseline_read, th.baseline_median_ms
                ),
                Some(format!(
                    "upload {:.2}x, download {:.2}x, thumbnails {:.2}x",
                    t.upload_ratio, t.download_ratio, th.ratio
                )),
            );
            json!({ "scenario": "files", "command": command_line, "ours": report })
        }
    };
    Ok((output, failures, row))
}

/// The servers a run measures: started here from `--server-bin`, or running at `--server`.
struct Servers {
    bin: PathBuf,
    /// Every started server's extra arguments: `--server-arg`s, and the scratch database.
    args: Vec<String>,
    external: Option<String>,
    /// The scratch database the servers run on, with `--postgres`.
    database_url: Option<String>,
}

impl Servers {
    fn of(global: &Global, database: Option<&ScratchDatabase>) -> anyhow::Result<Self> {
        let mut args = global.server_arg.clone();
        if let Some(database) = database {
            if args.iter().any(|a| a.starts_with("--database")) {
                bail!("--postgres gives the servers their database: drop --server-arg --database");
            }
            args.extend(["--database".to_owned(), database.url().to_owned()]);
        }
        Ok(Self {
            bin: global.server_bin.clone(),
            args,
            external: global.server.clone(),
            database_url: database.map(|d| d.url().to_owned()),
        })
    }

    /// The server to measure, with `extra` arguments if this tool starts it.
    async fn start(&self, extra: &[String]) -> anyhow::Result<Target> {
        if let Some(url) = &self.external {
            return Ok(Target::external(url));
        }
        let args: Vec<String> = self.args.iter().chain(extra).cloned().collect();
        let target = ServerProcess::start_hearth(&self.bin, &args).await?;
        eprintln!("started {} at {}", self.bin.display(), target.base_url);
        Ok(target)
    }

    /// The server to measure, started on the data directory `dir` (kept afterwards).
    async fn start_in(&self, dir: &std::path::Path) -> anyhow::Result<Target> {
        if self.external.is_some() || self.args.iter().any(|a| a.starts_with("--database")) {
            bail!("--data runs the server this tool starts on that directory's SQLite database");
        }
        let target = ServerProcess::start_hearth_in(&self.bin, dir, &self.args).await?;
        eprintln!(
            "started {} on {} at {}",
            self.bin.display(),
            dir.display(),
            target.base_url
        );
        Ok(target)
    }

    /// Nodes A and B of one deployment: both running (`--server`, `--second-server`), or
    /// both started here on the run's scratch database and the given Redis.
    async fn two_nodes(&self, args: &CrossNodeArgs) -> anyhow::Result<(Target, Target)> {
        match (&self.external, &args.second_server) {
            (Some(a), Some(b)) => return Ok((Target::external(a), Target::external(b))),
            (None, None) => {}
            _ => bail!(
                "cross-node: give both --server (node A) and --second-server (node B), or neither"
            ),
        }
        let mut nodes = self.nodes(2, &args.node_args()).await?.into_iter();
        let (Some(a), Some(b)) = (nodes.next(), nodes.next()) else {
            bail!("two nodes were started, fewer came back");
        };
        Ok((a, b))
    }

    /// `count` nodes of one deployment, started here on the run's PostgreSQL database
    /// with `extra` arguments (their bus); stopped again if one fails to start.
    async fn nodes(&self, count: usize, extra: &[String]) -> anyhow::Result<Vec<Target>> {
        if self.external.is_some() {
            bail!("several nodes are started here: drop --server");
        }
        if Storage::of_run(None, &self.args) == Storage::Sqlite {
            bail!(
                "several nodes share one PostgreSQL database: pass --postgres[=URL] \
                 (or --server-arg --database --server-arg postgres://...)"
            );
        }
        let mut nodes = Vec::with_capacity(count);
        for _ in 0..count {
            match self.start(extra).await {
                Ok(node) => nodes.push(node),
                Err(e) => {
                    for node in nodes {
                        node.stop().await;
                    }
                    return Err(e);
                }
            }
        }
        Ok(nodes)
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

/// Runs a scenario on `target`, then, when `baseline` is asked for, on a freshly started
/// baseline server (after ours, never at the same time).
async fn ours_then_baseline<R>(
    target: Target,
    baseline: bool,
    scenario: impl AsyncFn(&mut Target) -> anyhow::Result<R> + Copy,
) -> anyhow::Result<(R, Option<R>)> {
    let ours = run_on(target, scenario).await?;
    let baseline = match baseline {
        true => Some(run_on_baseline(scenario).await?),
        false => None,
    };
    Ok((ours, baseline))
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
    row: &mut Row,
) -> serde_json::Value {
    *row = Row::new(scenario, markdown::latency(&ours.headline()));
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
    *row = row.clone().against(
        markdown::latency(&baseline.headline()),
        Some(ratios.to_string()),
    );
    println!();
    println!("ours / baseline: {ratios}");
    let cpu_ratio = ours
        .cpu_per_delivery_us()
        .zip(baseline.cpu_per_delivery_us())
        .filter(|&(_, b)| b > 0.0)
        .map(|(o, b)| o / b);
    if let Some(r) = cpu_ratio {
        println!("server CPU per delivery, ours / baseline: {r:.2}x");
    }
    json!({
        "scenario": scenario,
        "command": command_line,
        "ours": ours,
        "baseline": baseline,
        "ratio": ratios,
        "cpu_per_delivery_ratio": cpu_ratio,
    })
}

/// Prints both legs of a multi-node run and the ratio spread / one node.
fn compare_nodes<R: Report>(
    args: &MultiNodeArgs,
    command_line: &str,
    one: R,
    spread: R,
    failures: &mut Vec<String>,
    row: &mut Row,
) -> serde_json::Value {
    let name = args.name();
    println!("(a) one node: every client on node A");
    print_lines(&one.lines());
    println!();
    println!("(b) spread: the clients over {} nodes", args.nodes);
    print_lines(&spread.lines());
    failures.extend(one.failures().into_iter().map(|f| format!("one node: {f}")));
    failures.extend(
        spread
            .failures()
            .into_iter()
            .map(|f| format!("spread: {f}")),
    );
    let ratios = Ratios::of(&spread.headline(), &one.headline());
    println!();
    println!("spread / one node: {ratios}");
    *row = Row::new(
        &format!("{name} ({} nodes)", args.nodes),
        markdown::latency(&spread.headline()),
    )
    .against(
        format!("one node: {}", markdown::latency(&one.headline())),
        Some(ratios.to_string()),
    );
    json!({
        "scenario": name,
        "command": command_line,
        "nodes": args.nodes,
        "one_node": one,
        "spread": spread,
        "ratio": ratios,
    })
}

fn print_lines(lines: &[String]) {
    for line in lines {
        println!("{line}");
    }
}
