//! `idle`: many authenticated connections doing nothing but heartbeats; what each costs
//! the server in memory, and what the server burns while they idle.
//!
//! The workspace has `--users` users, each a member of `--channels` channels, so every
//! connection sits in the gateway's channel index like a real one would. Connections are
//! spread over the users (connection `i` signs in as user `i % users`). Memory per
//! connection is the server's RSS growth from before the first connection to after the
//! last one settled, divided by the connections (the server is restarted between the
//! set-up and the first connection, so the Argon2 work of the sign-ups leaves no freed
//! memory behind for connections to reuse unseen); idle CPU is the server's user plus system
//! time over a quiet window, as a percentage of one core.
//!
//! One process holds at most `--per-process` connections; the rest go to child
//! processes ([`idle_workers`](super::idle_workers)), since every process here may open
//! only 20,000 files.

use std::time::Duration;

use anyhow::bail;
use clap::Args;
use serde::Serialize;
use tokio::time::Instant;

use crate::api::{Api, Population};
use crate::client::{Dialer, Observer};
use crate::scenarios::idle_workers::Workers;
use crate::scenarios::{Health, connect_all, run_tag};
use crate::server::{Target, clock_ticks_per_second, own_rss_kib};

#[derive(Debug, Clone, Args)]
pub struct IdleArgs {
    /// Connections to open.
    #[arg(long, default_value_t = 10_000)]
    pub connections: usize,
    /// Users the connections are spread over.
    #[arg(long, default_value_t = 100)]
    pub users: usize,
    /// Channels every user is a member of.
    #[arg(long, default_value_t = 10)]
    pub channels: usize,
    /// Seconds to let the server settle after the last connection before measuring.
    #[arg(long, default_value_t = 5)]
    pub settle: u64,
    /// Seconds over which idle CPU is measured.
    #[arg(long, default_value_t = 10)]
    pub cpu_window: u64,
    /// Connections this process holds; child processes hold the rest.
    #[arg(long, default_value_t = 15_000)]
    pub per_process: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct IdleReport {
    pub connections: usize,
    pub connected: usize,
    pub users: usize,
    pub channels: usize,
    pub connect_seconds: f64,
    /// Child processes that held connections besides this one.
    pub worker_processes: usize,
    pub server_rss_before_kib: Option<u64>,
    pub server_rss_after_kib: Option<u64>,
    /// (after - before) / connected.
    pub per_connection_kib: Option<f64>,
    /// Server CPU over the window, in percent of one core.
    pub idle_cpu_percent: Option<f64>,
    pub cpu_window_s: u64,
    /// The load generator's own RSS with every connection open.
    pub bench_rss_kib: Option<u64>,
    pub health: Health,
}

impl IdleReport {
    pub fn lines(&self) -> Vec<String> {
        let kib = |v: Option<u64>| v.map_or("n/a".to_owned(), |v| format!("{v} KiB"));
        let mut lines = vec![
            format!(
                "idle: {} of {} connections up in {:.1} s ({} users, {} channels each; {} worker processes)",
                self.connected,
                self.connections,
                self.connect_seconds,
                self.users,
                self.channels,
                self.worker_processes
            ),
            format!(
                "server RSS: before {}, after {}",
                kib(self.server_rss_before_kib),
                kib(self.server_rss_after_kib)
            ),
            format!(
                "per connection: {}",
                self.per_connection_kib
                    .map_or("n/a".to_owned(), |v| format!("{v:.2} KiB"))
            ),
            format!(
                "idle server CPU over {} s: {}",
                self.cpu_window_s,
                self.idle_cpu_percent
                    .map_or("n/a".to_owned(), |v| format!("{v:.2}% of one core"))
            ),
            format!("load generator RSS: {}", kib(self.bench_rss_kib)),
        ];
        lines.extend(self.health.lines());
        lines
    }
}

pub async fn run(
    target: &mut Target,
    args: &IdleArgs,
    sources: usize,
) -> anyhow::Result<IdleReport> {
    if target.baseline {
        bail!("idle has no baseline yet");
    }
    if args.users == 0 || args.connections == 0 {
        bail!("idle needs at least one user and one connection");
    }
    let api = Api::new(&target.base_url)?;
    eprintln!(
        "setting up: {} users in {} channels",
        args.users, args.channels
    );
    let population = Population::create(&api, "idle", args.users).await?;
    for c in 0..args.channels {
        population
            .channel_with_everyone(&api, &format!("idle-{c}"))
            .await?;
    }
    target.restart().await?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss_before = target.rss_kib();

    let url = target.realtime_url();
    let dialer = Dialer::new(&url, sources).await?;
    let (observer, _observations) = Observer::new(&run_tag());
    eprintln!("connecting {} clients", args.connections);
    let started = Instant::now();
    let local = args.connections.min(args.per_process.max(1));
    let tokens: Vec<String> = population
        .accounts
        .iter()
        .map(|a| a.token.clone())
        .collect();
    let workers = match args.connections - local {
        0 => None,
        rest => Some(
            Workers::start(&url, &tokens, local, rest, args.per_process.max(1), sources).await?,
        ),
    };
    let connected = connect_all(
        std::slice::from_ref(&dialer),
        local,
        |i| tokens[i % tokens.len()].clone(),
        &observer,
    )
    .await;
    let connect_seconds = started.elapsed().as_secs_f64();
    let up = connected.clients.len() + workers.as_ref().map_or(0, |w| w.connected);
    eprintln!(
        "{up} connected in {connect_seconds:.1} s; settling {} s",
        args.settle
    );
    tokio::time::sleep(Duration::from_secs(args.settle)).await;
    let rss_after = target.rss_kib();
    let per_connection_kib = match (rss_before, rss_after) {
        (Some(before), Some(after)) if up > 0 => Some((after as f64 - before as f64) / up as f64),
        _ => None,
    };

    eprintln!("measuring idle CPU for {} s", args.cpu_window);
    let idle_cpu_percent = match &target.process {
        Some(process) => {
            let before = process.cpu_ticks()?;
            tokio::time::sleep(Duration::from_secs(args.cpu_window)).await;
            let ticks = process.cpu_ticks()?.saturating_sub(before);
            let seconds = ticks as f64 / clock_ticks_per_second() as f64;
            Some(100.0 * seconds / args.cpu_window as f64)
        }
        None => {
            tokio::time::sleep(Duration::from_secs(args.cpu_window)).await;
            None
        }
    };
    let bench_rss_kib = own_rss_kib();
    let mut health = Health::gather(target, &connected, &observer.counters);
    drop(connected);
    let worker_processes = workers.as_ref().map_or(0, Workers::len);
    if let Some(workers) = workers {
        health.connect_failures += workers.failures;
        health.notes.extend(workers.errors.iter().cloned());
        let done = workers.stop().await;
        health.disconnects += done.disconnects;
        health.error_frames += done.error_frames;
        health.notes.extend(done.notes);
    }
    Ok(IdleReport {
        connections: args.connections,
        connected: up,
        users: args.users,
        channels: args.channels,
        connect_seconds,
        worker_processes,
        server_rss_before_kib: rss_before,
        server_rss_after_kib: rss_after,
        per_connection_kib,
        idle_cpu_percent,
        cpu_window_s: args.cpu_window,
        bench_rss_kib,
        health,
    })
}
