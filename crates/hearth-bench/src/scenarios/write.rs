//! `write`: durable sends per second from many active channels, and the storage limit
//! under them.
//!
//! `--writers` REST clients post closed loop (each sends its next message as soon as the
//! previous one is acknowledged) for `--duration` seconds, round-robin over `--channels`
//! channels of one workspace; a `201` means the message is committed (durable first), so
//! acknowledged sends per second is the durable write rate. Closed loop on purpose: the
//! question is the most the store sustains, not the latency at a chosen rate. Each
//! acknowledged message's seq must be new (no two commits share one) and it must carry
//! back our channel and `client_msg_id`; any refusal is an error, and an unclean run fails.
//!
//! With `--via ws` the same load goes over the realtime gateway instead, each writer a
//! socket of its own keeping `--window` sends in flight (see `write_ws`).
//!
//! The server runs on whatever the run gives it (SQLite by default, PostgreSQL with
//! `--postgres`). `--baseline` then runs the storage limit of that same backend in this
//! process ([`crate::storage_limit`]): a bare insert loop on Hearth's own schema, with as
//! many writer connections as the run has REST writers on PostgreSQL, one on SQLite.
//!
//! The server's CPU per acknowledged post is reported beside the rate, with the share of
//! SQLite's writer thread, the thread every SQLite write goes through (see `cpu`): on
//! these shared cores the rate moves with the machine, the CPU per post much less.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Args;
use serde::Serialize;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::api::{Account, Api, Population};
use crate::client::client_msg_id;
use crate::cpu::{CpuMeter, ServerCpu};
use crate::scenarios::fanout::SendVia;
use crate::scenarios::run_tag;
use crate::scenarios::write_ws::SocketLoad;
use crate::server::{LogSummary, ProcessMemory, Target, server_lines};
use crate::stats::{Latency, LatencySummary};
use crate::storage_limit::{self, LimitArgs, Storage, WriteBaseline};
/// The most sends a socket keeps in flight: what the gateway takes from one connection
/// before it waits for the oldest (`SENDS_IN_FLIGHT` in hearth-server's `connection`).
const MAX_WINDOW: usize = 64;
/// Refusals kept verbatim for the report.
pub(crate) const KEPT_ERRORS: usize = 10;

#[derive(Debug, Clone, Args)]
pub struct WriteArgs {
    /// Active channels, posted to round-robin.
    #[arg(long, default_value_t = 1000)]
    pub channels: usize,
    /// Concurrent writers, each posting closed loop: REST clients, or sockets with
    /// `--via ws`.
    #[arg(long, default_value_t = 32)]
    pub writers: usize,
    /// Post over REST, or over the realtime gateway (each writer an account with one
    /// socket, member of its share of the channels).
    #[arg(long, value_enum, default_value = "rest")]
    pub via: SendVia,
    /// With `--via ws`: sends each socket keeps in flight (the next goes as soon as one
    /// is acknowledged).
    #[arg(long, default_value_t = 1)]
    pub window: usize,
    /// Seconds of posting (the baseline runs as long).
    #[arg(long, default_value_t = 10)]
    pub duration: u64,
    /// Message length in bytes.
    #[arg(long, default_value_t = 100)]
    pub text_bytes: usize,
    /// Also run the raw insert loop of the server's backend (SQLite, or PostgreSQL with
    /// `--postgres`) and report the ratio.
    #[arg(long)]
    pub baseline: bool,
}

/// Hearth's figures.
#[derive(Debug, Clone, Serialize)]
pub struct WriteOurs {
    pub acknowledged: u64,
    pub errors: u64,
    /// Acknowledged messages whose seq another acknowledged message already had, or
    /// whose channel or `client_msg_id` came back wrong.
    pub inconsistent: u64,
    pub sends_per_s: f64,
    /// From sending each request to its answer.
    pub ack: LatencySummary,
    pub first_errors: Vec<String>,
    /// Over the load, with SQLite's writer thread apart (the busiest on SQLite).
    pub server_cpu: Option<ServerCpu>,
    pub server_memory: Option<ProcessMemory>,
    pub server_log: Option<LogSummary>,
}

/// The name of hearth-sqlite's writer thread.
const SQLITE_WRITER: &str = "sqlite-writer";

impl WriteArgs {
    /// Extra `hearth serve` arguments: over the gateway, no command limit in the way.
    pub fn server_args(&self) -> Vec<String> {
        match self.via {
            SendVia::Rest => Vec::new(),
            SendVia::Ws => vec!["--ws-commands-per-minute=100000000".to_owned()],
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct WriteReport {
    /// The backend the server stored in (SQLite or PostgreSQL).
    pub database: &'static str,
    pub channels: usize,
    pub writers: usize,
    pub via: SendVia,
    /// Sends in flight per socket (1 over REST).
    pub window: usize,
    pub duration_s: u64,
    pub text_bytes: usize,
    pub ours: WriteOurs,
    pub baseline: Option<WriteBaseline>,
    /// Our sends per second over the baseline's inserts per second.
    pub ratio: Option<f64>,
}

impl WriteReport {
    pub fn lines(&self) -> Vec<String> {
        let o = &self.ours;
        let mut lines = vec![
            format!(
                "write on hearth ({}): {} channels, {} closed-loop writers {}, {} s, \
                 {}-byte messages",
                self.database,
                self.channels,
                self.writers,
                match self.via {
                    SendVia::Rest => "over REST".to_owned(),
                    SendVia::Ws => format!("over sockets, {} sends in flight each", self.window),
                },
                self.duration_s,
                self.text_bytes
            ),
            format!(
                "acknowledged {} ({:.0} sends/s) | errors {} | inconsistent {} | {}",
                o.acknowledged,
                o.sends_per_s,
                o.errors,
                o.inconsistent,
                if self.failures().is_empty() {
                    "OK"
                } else {
                    "NOT CLEAN"
                }
            ),
            format!("ack latency: {}", o.ack),
        ];
        if let Some(cpu) = &o.server_cpu {
            lines.push(cpu.line_per(o.acknowledged, "post"));
        }
        lines.extend(o.first_errors.iter().map(|e| format!("  error: {e}")));
        lines.extend(server_lines(
            o.server_memory.as_ref(),
            o.server_log.as_ref(),
        ));
        if let Some(b) = &self.baseline {
            lines.push(format!(
                "baseline ({}): {} committed, {:.0} inserts/s",
                b.storage, b.committed, b.inserts_per_s
            ));
            lines.push(format!("baseline commit latency: {}", b.commit));
        }
        if let Some(r) = self.ratio {
            lines.push(format!("ours / baseline (sends/s): {r:.2}x"));
        }
        lines
    }

    /// Why the run is not clean; empty when it is.
    pub fn failures(&self) -> Vec<String> {
        let o = &self.ours;
        let mut failures = Vec::new();
        if o.acknowledged == 0 {
            failures.push("no message was acknowledged".to_owned());
        }
        if o.errors > 0 {
            failures.push(format!("{} sends failed", o.errors));
        }
        if o.inconsistent > 0 {
            failures.push(format!("{} acknowledgements inconsistent", o.inconsistent));
        }
        if self.baseline.as_ref().is_some_and(|b| b.committed == 0) {
            failures.push("the baseline committed nothing".to_owned());
        }
        failures
    }
}

/// One message of a closed-loop load, acknowledged.
pub struct Posted {
    /// Its number in the load (its `client_msg_id` is `{tag}-{msg}`).
    pub msg: u64,
    /// The channel it was posted to.
    pub channel: String,
    /// When the request left and when its `201` came back.
    pub sent_at: Instant,
    pub acked_at: Instant,
    /// What the server answered.
    pub id: String,
    pub seq: i64,
    pub channel_id: String,
    pub client_msg_id: Option<String>,
}

/// A closed-loop posting load: `writers` REST clients posting as `author`, round-robin
/// over `channels`, each its next message as soon as the previous one is acknowledged,
/// until `duration` has passed. Message `i` goes to channel `i % channels` with the text
/// `text(i)`. What `write` measures, and what `notify` runs with notifications off and on.
pub struct ClosedLoop {
    pub author: Account,
    pub channels: Arc<Vec<String>>,
    pub writers: usize,
    pub duration: Duration,
    /// The run's tag, for `client_msg_id`s.
    pub tag: String,
    pub text: Arc<dyn Fn(u64) -> String + Send + Sync>,
}

/// What a [`ClosedLoop`] ended with.
#[derive(Default)]
pub struct Posting {
    pub posted: Vec<Posted>,
    /// From sending each request to its answer.
    pub latency: Latency,
    pub errors: u64,
    pub first_errors: Vec<String>,
    /// From the first send until the last writer stopped.
    pub elapsed: Duration,
}

impl Posting {
    /// What every writer's task ended with, together; `begin` is when the load started.
    pub async fn gather(
        tasks: Vec<JoinHandle<Posting>>,
        begin: Instant,
    ) -> anyhow::Result<Posting> {
        let mut all = Posting::default();
        for task in tasks {
            let tally = task.await.context("a writer panicked")?;
            all.latency.merge(&tally.latency);
            all.errors += tally.errors;
            all.first_errors.extend(tally.first_errors);
            all.posted.extend(tally.posted);
        }
        all.elapsed = begin.elapsed();
        all.first_errors.truncate(KEPT_ERRORS);
        Ok(all)
    }

    pub fn sends_per_s(&self) -> f64 {
        self.posted.len() as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// Acknowledged messages whose seq another acknowledged message already had, or
    /// whose channel or `client_msg_id` came back wrong.
    pub fn inconsistent(&self, tag: &str) -> u64 {
        let mut seqs = HashSet::new();
        let mut inconsistent = 0;
        for p in &self.posted {
            let fresh = seqs.insert(p.seq);
            let expected_key = client_msg_id(tag, p.msg);
            if !fresh
                || p.channel_id != p.channel
                || p.client_msg_id.as_deref() != Some(&expected_key)
            {
                inconsistent += 1;
            }
        }
        inconsistent
    }
}

impl ClosedLoop {
    /// Runs the load against the server at `base_url`.
    pub async fn run(&self, base_url: &str) -> anyhow::Result<Posting> {
        let api = Api::with_pool(base_url, self.writers)?;
        let next = Arc::new(AtomicU64::new(0));
        let begin = Instant::now();
        let end = begin + self.duration;
        let mut tasks = Vec::with_capacity(self.writers);
        for _ in 0..self.writers {
            let (api, author, channels, next, tag, text) = (
                api.clone(),
                self.author.clone(),
                self.channels.clone(),
                next.clone(),
                self.tag.clone(),
                self.text.clone(),
            );
            tasks.push(tokio::spawn(async move {
                let mut tally = Posting::default();
                while Instant::now() < end {
                    let msg = next.fetch_add(1, Ordering::Relaxed);
                    let channel = &channels[(msg % channels.len() as u64) as usize];
                    let sent_at = Instant::now();
                    let result = api
                        .post_message_stored(&author, channel, text(msg), client_msg_id(&tag, msg))
                        .await;
                    match result {
                        Ok(m) => {
                            let acked_at = Instant::now();
                            tally.latency.record(acked_at - sent_at);
                            tally.posted.push(Posted {
                                msg,
                                channel: channel.clone(),
                                sent_at,
                                acked_at,
                                id: m.id,
                                seq: m.seq,
                                channel_id: m.channel_id,
                                client_msg_id: m.client_msg_id,
                            });
                        }
                        Err(e) => {
                            tally.errors += 1;
                            if tally.first_errors.len() < KEPT_ERRORS {
                                tally.first_errors.push(format!("message {msg}: {e:#}"));
                            }
                        }
                    }
                }
                tally
            }));
        }
        Posting::gather(tasks, begin).await
    }
}

pub async fn run(
    target: &mut Target,
    args: &WriteArgs,
    storage: &Storage,
) -> anyhow::Result<WriteReport> {
    if target.baseline {
        bail!("write runs against Hearth; its baseline is the in-process storage loop");
    }
    if args.channels == 0 || args.writers == 0 || args.duration == 0 {
        bail!("write needs at least one channel, one writer and a duration");
    }
    if args.via == SendVia::Ws && args.writers > args.channels {
        bail!("write --via ws needs a channel for each writer");
    }
    if args.window == 0 || args.window > MAX_WINDOW {
        bail!("--window is 1 to {MAX_WINDOW}: the sends one connection may have in flight");
    }
    let api = Api::new(&target.base_url)?;
    let started = Instant::now();
    eprintln!("setting up: a workspace and {} channels", args.channels);
    let accounts = match args.via {
        SendVia::Rest => 1,
        SendVia::Ws => args.writers + 1,
    };
    let population = Population::create(&api, "write", accounts).await?;
    let owner = population.owner().clone();
    let channels = Arc::new(api.create_channels(&owner, "w", args.channels).await?);
    let writers = &population.accounts[1..];
    if args.via == SendVia::Ws {
        for (i, channel) in channels.iter().enumerate() {
            let writer = writers[i % writers.len()].clone();
            api.add_members(&owner, channel, &[writer]).await?;
        }
    }
    eprintln!("set up in {:.1} s", started.elapsed().as_secs_f64());

    let tag = run_tag();
    let text = "x".repeat(args.text_bytes.max(1));
    let duration = Duration::from_secs(args.duration);
    eprintln!(
        "posting for {} s from {} writers",
        args.duration, args.writers
    );
    let cpu = CpuMeter::start_with_thread(target, SQLITE_WRITER);
    let posting = match args.via {
        SendVia::Rest => {
            let load = ClosedLoop {
                author: owner,
                channels,
                writers: args.writers,
                duration,
                tag: tag.clone(),
                text: Arc::new(move |_| text.clone()),
            };
            load.run(&target.base_url).await?
        }
        SendVia::Ws => {
            let load = SocketLoad {
                writers: writers.to_vec(),
                channels,
                window: args.window,
                duration,
                tag: tag.clone(),
                text,
            };
            load.run(&target.realtime_url()).await?
        }
    };
    let server_cpu = cpu.stop(target);
    Ok(WriteReport {
        database: storage.name(),
        channels: args.channels,
        writers: args.writers,
        via: args.via,
        window: match args.via {
            SendVia::Rest => 1,
            SendVia::Ws => args.window,
        },
        duration_s: args.duration,
        text_bytes: args.text_bytes,
        ours: WriteOurs {
            acknowledged: posting.posted.len() as u64,
            errors: posting.errors,
            inconsistent: posting.inconsistent(&tag),
            sends_per_s: posting.sends_per_s(),
            ack: posting.latency.summary(),
            first_errors: posting.first_errors,
            server_cpu,
            server_memory: target.memory(),
            server_log: target.log_summary(),
        },
        baseline: None,
        ratio: None,
    })
}

/// Adds the storage baseline of `storage` and the ratio to a report.
pub async fn with_baseline(
    mut report: WriteReport,
    args: &WriteArgs,
    storage: &Storage,
) -> anyhow::Result<WriteReport> {
    let limit = LimitArgs {
        channels: args.channels,
        writers: args.writers,
        duration_s: args.duration,
        text_bytes: args.text_bytes,
    };
    eprintln!(
        "baseline: raw {} inserts for {} s on Hearth's schema",
        storage.name(),
        args.duration
    );
    let baseline: WriteBaseline = match storage {
        Storage::Sqlite => storage_limit::sqlite::run(&limit).await?,
        Storage::Postgres { server } => storage_limit::postgres::run(server, &limit).await?,
    };
    report.ratio =
        (baseline.inserts_per_s > 0.0).then(|| report.ours.sends_per_s / baseline.inserts_per_s);
    report.baseline = Some(baseline);
    Ok(report)
}
