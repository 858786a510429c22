//! The SQLite storage limit: one writer (SQLite has one), WAL and `synchronous=FULL` as
//! the server runs it, each message in its own `BEGIN IMMEDIATE` transaction, in a fresh
//! database on the same file system as the server's data directory (the system's
//! temporary directory).

use std::str::FromStr;
use std::time::Duration;

use anyhow::Context;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use sqlx::{ConnectOptions, Connection, SqliteConnection};
use tokio::time::Instant;

use super::{LimitArgs, Post, USER, WORKSPACE, WriteBaseline, baseline_id, now_millis};
use crate::client::client_msg_id;
use crate::scenarios::run_tag;
use crate::stats::Latency;

/// Hearth's SQLite schema, exactly as the server migrates it.
const SCHEMA: &str = include_str!("../../../hearth-sqlite/migrations/0001_initial.sql");

/// Commits messages for `args.duration_s` seconds and reports the rate.
pub async fn run(args: &LimitArgs) -> anyhow::Result<WriteBaseline> {
    let dir = tempfile::Builder::new()
        .prefix("hearth-bench-sqlite-")
        .tempdir()
        .context("creating the baseline's directory")?;
    let mut conn = SqliteConnectOptions::from_str("sqlite://")?
        .filename(dir.path().join("baseline.db"))
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
    let channels = seed(&mut conn, args.channels).await?;

    let text = "x".repeat(args.text_bytes.max(1));
    let tag = run_tag();
    let mut latency = Latency::default();
    let begin = Instant::now();
    let end = begin + Duration::from_secs(args.duration_s);
    let mut committed = 0u64;
    while Instant::now() < end {
        let started = Instant::now();
        let channel = &channels[(committed % channels.len() as u64) as usize];
        sqlx::raw_sql("BEGIN IMMEDIATE").execute(&mut conn).await?;
        let seq: i64 = sqlx::query_scalar(
            "UPDATE workspaces SET last_seq = last_seq + 1 WHERE id = ? RETURNING last_seq",
        )
        .bind(WORKSPACE)
        .fetch_one(&mut conn)
        .await?;
        let post = Post {
            id: baseline_id('M', committed),
            channel,
            seq,
            text: &text,
            created_at: now_millis(),
            client_msg_id: client_msg_id(&tag, committed),
        };
        insert(&mut conn, &post).await?;
        sqlx::raw_sql("COMMIT").execute(&mut conn).await?;
        latency.record(started.elapsed());
        committed += 1;
    }
    let elapsed = begin.elapsed().as_secs_f64();
    conn.close().await?;
    Ok(WriteBaseline {
        storage: "raw SQLite, WAL, synchronous=FULL, 1 txn/message, 1 writer".into(),
        writers: 1,
        committed,
        inserts_per_s: committed as f64 / elapsed,
        commit: latency.summary(),
    })
}

/// A workspace, its owner and `count` channels; returns the channels' ids.
async fn seed(conn: &mut SqliteConnection, count: usize) -> anyhow::Result<Vec<String>> {
    let mut tx = conn.begin().await?;
    sqlx::query("INSERT INTO workspaces (id, name, slug, created_at) VALUES (?, 'b', 'b', 0)")
        .bind(WORKSPACE)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "INSERT INTO users (id, workspace_id, email, handle, display_name, role, \
         password_hash, created_at) VALUES (?, ?, 'b@b.example', 'b', 'B', 'owner', 'x', 0)",
    )
    .bind(USER)
    .bind(WORKSPACE)
    .execute(&mut *tx)
    .await?;
    let channels: Vec<String> = (0..count.max(1) as u64)
        .map(|i| baseline_id('C', i))
        .collect();
    for (i, id) in channels.iter().enumerate() {
        sqlx::query(
            "INSERT INTO channels (id, workspace_id, kind, name, created_by, created_at) \
             VALUES (?, ?, 'public', ?, ?, 0)",
        )
        .bind(id)
        .bind(WORKSPACE)
        .bind(format!("w-{i}"))
        .bind(USER)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(channels)
}

/// The message, the channel's `last_message_seq` and the event, after the seq bump.
async fn insert(conn: &mut SqliteConnection, post: &Post<'_>) -> anyhow::Result<()> {
    sqlx::query(
        "INSERT INTO messages (id, workspace_id, channel_id, seq, user_id, text, created_at, \
         thread_root_id, client_msg_id, broadcast) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(&post.id)
    .bind(WORKSPACE)
    .bind(post.channel)
    .bind(post.seq)
    .bind(USER)
    .bind(post.text)
    .bind(post.created_at)
    .bind(None::<String>)
    .bind(&post.client_msg_id)
    .bind(None::<String>)
    .execute(&mut *conn)
    .await?;
    sqlx::query("UPDATE channels SET last_message_seq = ? WHERE workspace_id = ? AND id = ?")
        .bind(post.seq)
        .bind(WORKSPACE)
        .bind(post.channel)
        .execute(&mut *conn)
        .await?;
    sqlx::query(
        "INSERT INTO events (workspace_id, seq, kind, channel_id, audience_user_id, \
         payload, created_at) VALUES (?, ?, 'message.created', ?, NULL, ?, ?)",
    )
    .bind(WORKSPACE)
    .bind(post.seq)
    .bind(post.channel)
    .bind(post.event_payload())
    .bind(post.created_at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_sqlite_limit_commits_on_hearths_schema() {
        let args = LimitArgs {
            channels: 10,
            writers: 1,
            duration_s: 1,
            text_bytes: 50,
        };
        let b = run(&args).await.unwrap();
        assert!(b.committed > 0);
        assert_eq!(b.commit.count, b.committed);
    }
}
