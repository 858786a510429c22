//! `write`: durable sends per second from many active channels, and the storage limit
//! under them.
//!
//! `--writers` REST clients post closed loop (each sends its next message as soon as the
//! previous one is acknowledged) for `--duration` seconds, round-robin over `--channels`
//! channels; a `201` means the message is committed (durable first), so acknowledged
//! sends per second is the durable write rate. Closed loop on purpose: the question is the
//! most the store sustains, not the latency at a chosen rate. Each acknowledged message's
//! seq must be new (no two commits share one) and it must carry back our channel and
//! `client_msg_id`; any refusal is an error, and an unclean run fails.
//!
//! `--baseline` then runs the storage limit in this process: a bare SQLite insert loop on
//! Hearth's own schema (the server's migration, read from its file) doing what a message
//! post writes (the workspace seq bump, the `messages` row, the channel's
//! `last_message_seq`, the `events` row) in one `BEGIN IMMEDIATE` transaction per message,
//! one writer, WAL and `synchronous=FULL`, in a fresh database on the same file system as
//! the server's. It skips what the server also does per post (the session and membership
//! reads, the idempotency lookup, JSON, HTTP), so the ratio is the whole cost of the
//! server over the bare commit.

use std::collections::HashSet;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Args;
use serde::Serialize;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use sqlx::{ConnectOptions, Connection};
use tokio::time::Instant;

use crate::api::{Api, Population};
use crate::client::client_msg_id;
use crate::scenarios::run_tag;
use crate::server::{LogSummary, ProcessMemory, Target};
use crate::stats::{Latency, LatencySummary};

/// Hearth's SQLite schema, exactly as the server migrates it.
const SCHEMA: &str = include_str!("../../../hearth-sqlite/migrations/0001_initial.sql");
/// Refusals kept verbatim for the report.
const KEPT_ERRORS: usize = 10;

#[derive(Debug, Clone, Args)]
pub struct WriteArgs {
    /// Active channels, posted to round-robin.
    #[arg(long, default_value_t = 1000)]
    pub channels: usize,
    /// Concurrent REST clients, each posting closed loop.
    #[arg(long, default_value_t = 32)]
    pub writers: usize,
    /// Seconds of posting (the baseline runs as long).
    #[arg(long, default_value_t = 10)]
    pub duration: u64,
    /// Message length in bytes.
    #[arg(long, default_value_t = 100)]
    pub text_bytes: usize,
    /// Also run the raw SQLite insert loop and report the ratio.
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
    pub server_memory: Option<ProcessMemory>,
    pub server_log: Option<LogSummary>,
}

/// The bare SQLite loop's figures.
#[derive(Debug, Clone, Serialize)]
pub struct WriteBaseline {
    pub committed: u64,
    pub inserts_per_s: f64,
    /// One transaction, from `BEGIN` to the end of `COMMIT`.
    pub commit: LatencySummary,
}

#[derive(Debug, Clone, Serialize)]
pub struct WriteReport {
    pub channels: usize,
    pub writers: usize,
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
                "write on hearth: {} channels, {} closed-loop REST writers, {} s, {}-byte messages",
                self.channels, self.writers, self.duration_s, self.text_bytes
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
        lines.extend(o.first_errors.iter().map(|e| format!("  error: {e}")));
        if let Some(m) = &o.server_memory {
            lines.push(format!(
                "server memory: RSS {} KiB (peak {} KiB)",
                m.rss_kib, m.peak_rss_kib
            ));
        }
        if let Some(log) = &o.server_log {
            lines.push(format!(
                "server log: {} warnings, {} errors",
                log.warnings, log.errors
            ));
            lines.extend(log.first_lines.iter().take(5).map(|l| format!("  {l}")));
        }
        if let Some(b) = &self.baseline {
            lines.push(format!(
                "baseline (raw SQLite, WAL, synchronous=FULL, 1 txn/message, 1 writer): \
                 {} committed, {:.0} inserts/s",
                b.committed, b.inserts_per_s
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

/// What each writer task ends with.
#[derive(Default)]
struct WriterTally {
    latency: Latency,
    acks: Vec<(u64, String, Ack)>,
    errors: u64,
    first_errors: Vec<String>,
}

/// The parts of an acknowledged message the consistency check reads.
struct Ack {
    seq: i64,
    channel_id: String,
    client_msg_id: Option<String>,
}

pub async fn run(target: &mut Target, args: &WriteArgs) -> anyhow::Result<WriteReport> {
    if target.baseline {
        bail!("write runs against Hearth; its baseline is the in-process SQLite loop");
    }
    if args.channels == 0 || args.writers == 0 || args.duration == 0 {
        bail!("write needs at least one channel, one writer and a duration");
    }
    let api = Api::new(&target.base_url)?;
    let started = Instant::now();
    eprintln!("setting up: a workspace and {} channels", args.channels);
    let population = Population::create(&api, "write", 1).await?;
    let owner = population.owner().clone();
    let channels = Arc::new(api.create_channels(&owner, "w", args.channels).await?);
    eprintln!("set up in {:.1} s", started.elapsed().as_secs_f64());

    let api = Api::with_pool(&target.base_url, args.writers)?;
    let tag = run_tag();
    let next = Arc::new(AtomicU64::new(0));
    let text = "x".repeat(args.text_bytes.max(1));
    let begin = Instant::now();
    let end = begin + Duration::from_secs(args.duration);
    eprintln!(
        "posting for {} s from {} writers",
        args.duration, args.writers
    );
    let mut tasks = Vec::with_capacity(args.writers);
    for _ in 0..args.writers {
        let (api, owner, channels, next, tag, text) = (
            api.clone(),
            owner.clone(),
            channels.clone(),
            next.clone(),
            tag.clone(),
            text.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut tally = WriterTally::default();
            while Instant::now() < end {
                let msg = next.fetch_add(1, Ordering::Relaxed);
                let channel = &channels[(msg % channels.len() as u64) as usize];
                let sent = Instant::now();
                let result = api
                    .post_message_stored(&owner, channel, text.clone(), client_msg_id(&tag, msg))
                    .await;
                match result {
                    Ok(m) => {
                        tally.latency.record(sent.elapsed());
                        let ack = Ack {
                            seq: m.seq,
                            channel_id: m.channel_id,
                            client_msg_id: m.client_msg_id,
                        };
                        tally.acks.push((msg, channel.clone(), ack));
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
    let mut latency = Latency::default();
    let (mut acknowledged, mut errors, mut inconsistent) = (0u64, 0u64, 0u64);
    let mut first_errors = Vec::new();
    let mut seqs = HashSet::new();
    for task in tasks {
        let tally = task.await.context("a writer panicked")?;
        latency.merge(&tally.latency);
        errors += tally.errors;
        first_errors.extend(tally.first_errors);
        for (msg, channel, ack) in tally.acks {
            acknowledged += 1;
            let fresh = seqs.insert(ack.seq);
            let expected_key = client_msg_id(&tag, msg);
            if !fresh
                || ack.channel_id != channel
                || ack.client_msg_id.as_deref() != Some(&expected_key)
            {
                inconsistent += 1;
            }
        }
    }
    let elapsed = begin.elapsed().as_secs_f64();
    first_errors.truncate(KEPT_ERRORS);
    Ok(WriteReport {
        channels: args.channels,
        writers: args.writers,
        duration_s: args.duration,
        text_bytes: args.text_bytes,
        ours: WriteOurs {
            acknowledged,
            errors,
            inconsistent,
            sends_per_s: acknowledged as f64 / elapsed,
            ack: latency.summary(),
            first_errors,
            server_memory: target.memory(),
            server_log: target.log_summary(),
        },
        baseline: None,
        ratio: None,
    })
}

/// Adds the storage baseline and the ratio to a report.
pub async fn with_baseline(
    mut report: WriteReport,
    args: &WriteArgs,
) -> anyhow::Result<WriteReport> {
    eprintln!(
        "baseline: raw SQLite inserts for {} s on Hearth's schema",
        args.duration
    );
    let baseline = sqlite_baseline(args).await?;
    report.ratio =
        (baseline.inserts_per_s > 0.0).then(|| report.ours.sends_per_s / baseline.inserts_per_s);
    report.baseline = Some(baseline);
    Ok(report)
}

/// A fixed-width id like Hearth's: a prefix and 26 characters, time-ordered.
fn baseline_id(prefix: char, n: u64) -> String {
    let millis = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    format!("{prefix}{millis:013}{n:013}")
}

/// The bare insert loop: what a message post commits, nothing else.
pub async fn sqlite_baseline(args: &WriteArgs) -> anyhow::Result<WriteBaseline> {
    let dir = tempfile::Builder::new()
        .prefix("hearth-bench-sqlite-")
        .tempdir()
        .context("creating the baseline's directory")?;
    let path = dir.path().join("baseline.db");
    let mut conn = SqliteConnectOptions::from_str("sqlite://")?
        .filename(&path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .foreign_keys(true)
        .connect()
        .await
        .context("opening the baseline database")?;
    sqlx::raw_sql(SCHEMA)
        .execute(&mut conn)
        .await
        .context("creating Hearth's schema")?;

    let (ws, user) = ("T0000000000000000000000000", "U0000000000000000000000000");
    sqlx::query("INSERT INTO workspaces (id, name, slug, created_at) VALUES (?, 'b', 'b', 0)")
        .bind(ws)
        .execute(&mut conn)
        .await?;
    sqlx::query(
        "INSERT INTO users (id, workspace_id, email, handle, display_name, role, \
         password_hash, created_at) VALUES (?, ?, 'b@b.example', 'b', 'B', 'owner', 'x', 0)",
    )
    .bind(user)
    .bind(ws)
    .execute(&mut conn)
    .await?;
    let channels: Vec<String> = (0..args.channels as u64)
        .map(|i| baseline_id('C', i))
        .collect();
    let mut tx = conn.begin().await?;
    for (i, id) in channels.iter().enumerate() {
        sqlx::query(
            "INSERT INTO channels (id, workspace_id, kind, name, created_by, created_at) \
             VALUES (?, ?, 'public', ?, ?, 0)",
        )
        .bind(id)
        .bind(ws)
        .bind(format!("w-{i}"))
        .bind(user)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;

    let text = "x".repeat(args.text_bytes.max(1));
    let tag = run_tag();
    let mut latency = Latency::default();
    let begin = Instant::now();
    let end = begin + Duration::from_secs(args.duration);
    let mut committed = 0u64;
    while Instant::now() < end {
        let started = Instant::now();
        let channel = &channels[(committed % channels.len() as u64) as usize];
        let id = baseline_id('M', committed);
        let cmid = client_msg_id(&tag, committed);
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64);
        sqlx::raw_sql("BEGIN IMMEDIATE").execute(&mut conn).await?;
        let seq: i64 = sqlx::query_scalar(
            "UPDATE workspaces SET last_seq = last_seq + 1 WHERE id = ? RETURNING last_seq",
        )
        .bind(ws)
        .fetch_one(&mut conn)
        .await?;
        sqlx::query(
            "INSERT INTO messages (id, workspace_id, channel_id, seq, user_id, text, created_at, \
             thread_root_id, client_msg_id, broadcast) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&id)
        .bind(ws)
        .bind(channel)
        .bind(seq)
        .bind(user)
        .bind(&text)
        .bind(now)
        .bind(None::<String>)
        .bind(&cmid)
        .bind(None::<String>)
        .execute(&mut conn)
        .await?;
        sqlx::query("UPDATE channels SET last_message_seq = ? WHERE workspace_id = ? AND id = ?")
            .bind(seq)
            .bind(ws)
            .bind(channel)
            .execute(&mut conn)
            .await?;
        // A payload of the shape and size the server logs for message.created.
        let payload = serde_json::json!({
            "type": "message.created",
            "message": {
                "id": id, "workspace_id": ws, "channel_id": channel, "seq": seq,
                "user_id": user, "text": text, "created_at": now, "edited_at": null,
                "deleted": false, "thread_root_id": null, "reply_count": 0,
                "last_reply_at": null, "reactions": [], "file_ids": [],
                "client_msg_id": cmid,
            }
        })
        .to_string();
        sqlx::query(
            "INSERT INTO events (workspace_id, seq, kind, channel_id, audience_user_id, \
             payload, created_at) VALUES (?, ?, 'message.created', ?, NULL, ?, ?)",
        )
        .bind(ws)
        .bind(seq)
        .bind(channel)
        .bind(payload)
        .bind(now)
        .execute(&mut conn)
        .await?;
        sqlx::raw_sql("COMMIT").execute(&mut conn).await?;
        latency.record(started.elapsed());
        committed += 1;
    }
    let elapsed = begin.elapsed().as_secs_f64();
    conn.close().await?;
    Ok(WriteBaseline {
        committed,
        inserts_per_s: committed as f64 / elapsed,
        commit: latency.summary(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_sqlite_baseline_commits_on_hearths_schema() {
        let args = WriteArgs {
            channels: 10,
            writers: 1,
            duration: 1,
            text_bytes: 50,
            baseline: true,
        };
        let b = sqlite_baseline(&args).await.unwrap();
        assert!(b.committed > 0);
        assert_eq!(b.commit.count, b.committed);
    }
}
