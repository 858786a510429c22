//! The storage limit of `history`: the server's own page query, run in a bare loop on the
//! same database, without HTTP, sessions, the access check or JSON.
//!
//! Each reader owns one connection (read-only on SQLite) and asks, closed loop, for the
//! latest page of a random channel with the statement the server runs for it: the newest
//! `PAGE + 1` top-level messages, each with its reactions aggregated into one column. The
//! rows are read whole; nothing is decoded into messages. `ours / baseline` is then what
//! the server adds to the bare query.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::Context;
use serde::Serialize;
use sqlx::Connection;
use tokio::time::Instant;

use super::{PAGE, Rng};
use crate::scenarios::search::{Backend, sqlite_reader};
use crate::stats::{Latency, LatencySummary};

/// hearth-sqlite's history page (`messages::list_messages`, `rows::message_reactions`),
/// with the limit (`PAGE + 1`) written in: SQLite (3.47 and later) prepares a statement
/// with `LIMIT ?` again each time the limit is bound unless the connection turns on the
/// query planner stability guarantee, as the server's do; a literal keeps this loop's
/// one prepared statement as the server keeps its own.
const SQLITE_PAGE: &str = "SELECT m.id, m.workspace_id, m.channel_id, m.seq, m.user_id, \
     m.text, m.created_at, m.edited_at, m.deleted, m.thread_root_id, m.reply_count, \
     m.last_reply_at, m.client_msg_id, m.files, \
     (SELECT json_group_array(json_array(r.user_id, r.emoji) ORDER BY r.created_at, r.rowid) \
      FROM reactions r WHERE r.message_id = m.id AND r.workspace_id = m.workspace_id \
      HAVING count(*) > 0) AS reactions \
     FROM messages m WHERE m.workspace_id = ? AND m.channel_id = ? \
     AND m.thread_root_id IS NULL AND m.seq < ? ORDER BY m.seq DESC LIMIT 51";
const _: () = assert!(PAGE + 1 == 51, "SQLITE_PAGE's limit is PAGE + 1");

/// hearth-postgres's history page, the same on PostgreSQL.
const POSTGRES_PAGE: &str = "SELECT m.id, m.workspace_id, m.channel_id, m.seq, m.user_id, \
     m.text, m.created_at, m.edited_at, m.deleted, m.thread_root_id, m.reply_count, \
     m.last_reply_at, m.client_msg_id, m.files, \
     (SELECT json_agg(json_build_array(r.user_id, r.emoji) ORDER BY r.created_at, r.id)::text \
      FROM reactions r WHERE r.message_id = m.id AND r.workspace_id = m.workspace_id) \
      AS reactions \
     FROM messages m WHERE m.workspace_id = $1 AND m.channel_id = $2 \
     AND m.thread_root_id IS NULL AND m.seq < $3 ORDER BY m.seq DESC LIMIT $4";

#[derive(Debug, Clone, Serialize)]
pub struct ReadBaseline {
    pub storage: String,
    pub readers: usize,
    pub reads: u64,
    pub reads_per_s: f64,
    /// Pages with fewer rows than the channel's page should have.
    pub short_pages: u64,
    pub latency: LatencySummary,
}

#[derive(Default)]
struct Tally {
    latency: Latency,
    reads: u64,
    short: u64,
}

/// Runs the page query on `backend` for `duration`, `readers` at a time, over `channels`
/// (each with the number of top-level messages it holds).
pub async fn run(
    backend: &Backend,
    channels: &[(String, u64)],
    readers: usize,
    duration: Duration,
    cap: u64,
) -> anyhow::Result<ReadBaseline> {
    let channels = Arc::new(channels.to_vec());
    let issued = Arc::new(AtomicU64::new(0));
    let begin = Instant::now();
    let end = begin + duration;
    let mut tasks = Vec::new();
    for reader in 0..readers {
        let (backend, channels, issued) = (backend.clone(), channels.clone(), issued.clone());
        tasks.push(tokio::spawn(async move {
            let mut rng = Rng(0xBA5E_1157 ^ (reader as u64 + 1));
            let mut tally = Tally::default();
            let more = || Instant::now() < end && issued.fetch_add(1, Ordering::Relaxed) < cap;
            let limit = i64::from(PAGE) + 1;
            match backend {
                Backend::Sqlite(path) => {
                    let mut conn = sqlite_reader(&path).await?;
                    let ws: String =
                        sqlx::query_scalar("SELECT workspace_id FROM channels WHERE id = ?")
                            .bind(&channels[0].0)
                            .fetch_one(&mut conn)
                            .await?;
                    while more() {
                        let (channel, count) = &channels[rng.below(channels.len())];
                        let sent = Instant::now();
                        let rows = sqlx::query(SQLITE_PAGE)
                            .bind(&ws)
                            .bind(channel)
                            .bind(i64::MAX)
                            .fetch_all(&mut conn)
                            .await?;
                        tally.record(sent, rows.len(), *count);
                    }
                    conn.close().await?;
                }
                Backend::Postgres(url) => {
                    let mut conn = sqlx::PgConnection::connect(&url).await?;
                    let ws: String =
                        sqlx::query_scalar("SELECT workspace_id FROM channels WHERE id = $1")
                            .bind(&channels[0].0)
                            .fetch_one(&mut conn)
                            .await?;
                    while more() {
                        let (channel, count) = &channels[rng.below(channels.len())];
                        let sent = Instant::now();
                        let rows = sqlx::query(POSTGRES_PAGE)
                            .bind(&ws)
                            .bind(channel)
                            .bind(i64::MAX)
                            .bind(limit)
                            .fetch_all(&mut conn)
                            .await?;
                        tally.record(sent, rows.len(), *count);
                    }
                    conn.close().await?;
                }
            }
            anyhow::Ok(tally)
        }));
    }
    let mut total = Tally::default();
    for task in tasks {
        let one = task.await.context("a baseline reader panicked")??;
        total.latency.merge(&one.latency);
        total.reads += one.reads;
        total.short += one.short;
    }
    let storage = match backend {
        Backend::Sqlite(_) => {
            "the server's page statement on the same SQLite file, one read-only connection \
             per reader"
        }
        Backend::Postgres(_) => {
            "the server's page statement on the same PostgreSQL database, one connection per \
             reader"
        }
    };
    Ok(ReadBaseline {
        storage: storage.to_owned(),
        readers,
        reads: total.reads,
        reads_per_s: total.reads as f64 / begin.elapsed().as_secs_f64(),
        short_pages: total.short,
        latency: total.latency.summary(),
    })
}

impl Tally {
    fn record(&mut self, sent: Instant, rows: usize, posted: u64) {
        self.latency.record(sent.elapsed());
        self.reads += 1;
        // One row past the page tells the server whether there are more.
        if (rows as u64) < posted.min(u64::from(PAGE) + 1) {
            self.short += 1;
        }
    }
}
