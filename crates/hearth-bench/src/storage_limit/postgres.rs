//! The PostgreSQL storage limit: `writers` connections, each committing one message per
//! transaction in a loop, all in one workspace (the `write` scenario's REST writers post
//! into one workspace too), in a scratch database on the run's PostgreSQL server.
//!
//! Each transaction does what the server's post does under its workspace lock: it locks
//! the workspace row first (`FOR NO KEY UPDATE`, the server's lock: it excludes the other
//! writers and lets foreign-key checks through), bumps `last_seq`, inserts the message,
//! sets the channel's `last_message_seq` and inserts the event, then commits. So writers
//! of one workspace commit one after another, each holding the row lock until its commit
//! is durable; the loop measures what that order allows on this server, with none of the
//! server's own work.

use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::{Context, bail};
use futures::future::try_join_all;
use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, Connection, PgConnection};
use tokio::time::Instant;

use super::{LimitArgs, Post, USER, WORKSPACE, WriteBaseline, baseline_id, now_millis};
use crate::client::client_msg_id;
use crate::scenarios::run_tag;
use crate::scratch_db::ScratchDatabase;
use crate::stats::Latency;

/// Hearth's PostgreSQL schema, exactly as the server migrates it.
const SCHEMA: &str = include_str!("../../../hearth-postgres/migrations/0001_initial.sql");

/// Runs the loop in a scratch database on `server`, dropped afterwards.
pub async fn run(server: &str, args: &LimitArgs) -> anyhow::Result<WriteBaseline> {
    let db = ScratchDatabase::create(server, "baseline").await?;
    let result = run_in(db.url(), args).await;
    db.drop_database().await;
    result
}

async fn run_in(url: &str, args: &LimitArgs) -> anyhow::Result<WriteBaseline> {
    let options = PgConnectOptions::from_str(url)?;
    let mut setup = options
        .connect()
        .await
        .context("connecting to the baseline database")?;
    sqlx::raw_sql(SCHEMA)
        .execute(&mut setup)
        .await
        .context("creating Hearth's schema")?;
    let channels = Arc::new(seed(&mut setup, args.channels).await?);
    let settings = durability(&mut setup).await?;

    let writers = args.writers.max(1);
    let conns = try_join_all((0..writers).map(|_| options.connect()))
        .await
        .with_context(|| format!("opening {writers} writer connections"))?;
    let (next, tag) = (Arc::new(AtomicU64::new(0)), Arc::<str>::from(run_tag()));
    let text: Arc<str> = "x".repeat(args.text_bytes.max(1)).into();
    let begin = Instant::now();
    let end = begin + Duration::from_secs(args.duration_s);
    let tasks = conns.into_iter().map(|conn| {
        let (channels, next, tag, text) =
            (channels.clone(), next.clone(), tag.clone(), text.clone());
        tokio::spawn(writer(conn, end, channels, next, tag, text))
    });
    let mut latency = Latency::default();
    for task in try_join_all(tasks).await.context("a writer panicked")? {
        latency.merge(&task?);
    }
    let elapsed = begin.elapsed().as_secs_f64();
    let committed = latency.summary().count;
    check_log(&mut setup, committed).await?;
    setup.close().await?;
    Ok(WriteBaseline {
        storage: format!(
            "raw PostgreSQL ({settings}), 1 txn/message under the workspace row lock, \
             {writers} writer connections"
        ),
        writers,
        committed,
        inserts_per_s: committed as f64 / elapsed,
        commit: latency.summary(),
    })
}

/// One writer connection's loop; returns its commit latencies.
async fn writer(
    mut conn: PgConnection,
    end: Instant,
    channels: Arc<Vec<String>>,
    next: Arc<AtomicU64>,
    tag: Arc<str>,
    text: Arc<str>,
) -> anyhow::Result<Latency> {
    let mut latency = Latency::default();
    while Instant::now() < end {
        let n = next.fetch_add(1, Ordering::Relaxed);
        let channel = &channels[(n % channels.len() as u64) as usize];
        let started = Instant::now();
        let mut tx = conn.begin().await?;
        sqlx::query("SELECT last_seq FROM workspaces WHERE id = $1 FOR NO KEY UPDATE")
            .bind(WORKSPACE)
            .fetch_one(&mut *tx)
            .await?;
        let seq: i64 = sqlx::query_scalar(
            "UPDATE workspaces SET last_seq = last_seq + 1 WHERE id = $1 RETURNING last_seq",
        )
        .bind(WORKSPACE)
        .fetch_one(&mut *tx)
        .await?;
        // Like the server, the clock is read under the lock, so timestamps follow seqs.
        let post = Post {
            id: baseline_id('M', n),
            channel,
            seq,
            text: &text,
            created_at: now_millis(),
            client_msg_id: client_msg_id(&tag, n),
        };
        insert(&mut tx, &post).await?;
        tx.commit().await?;
        latency.record(started.elapsed());
    }
    conn.close().await?;
    Ok(latency)
}

/// The message, the channel's `last_message_seq` and the event, after the seq bump.
async fn insert(conn: &mut PgConnection, post: &Post<'_>) -> anyhow::Result<()> {
    sqlx::query(
        "INSERT INTO messages (id, workspace_id, channel_id, seq, user_id, text, created_at, \
         thread_root_id, client_msg_id, broadcast) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, NULL, $8, NULL)",
    )
    .bind(&post.id)
    .bind(WORKSPACE)
    .bind(post.channel)
    .bind(post.seq)
    .bind(USER)
    .bind(post.text)
    .bind(post.created_at)
    .bind(&post.client_msg_id)
    .execute(&mut *conn)
    .await?;
    sqlx::query("UPDATE channels SET last_message_seq = $1 WHERE workspace_id = $2 AND id = $3")
        .bind(post.seq)
        .bind(WORKSPACE)
        .bind(post.channel)
        .execute(&mut *conn)
        .await?;
    sqlx::query(
        "INSERT INTO events (workspace_id, seq, kind, channel_id, audience_user_id, \
         payload, created_at) VALUES ($1, $2, 'message.created', $3, NULL, $4, $5)",
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

/// A workspace, its owner and `count` channels; returns the channels' ids.
async fn seed(conn: &mut PgConnection, count: usize) -> anyhow::Result<Vec<String>> {
    let mut tx = conn.begin().await?;
    sqlx::query("INSERT INTO workspaces (id, name, slug, created_at) VALUES ($1, 'b', 'b', 0)")
        .bind(WORKSPACE)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "INSERT INTO users (id, workspace_id, email, handle, display_name, role, \
         password_hash, created_at) VALUES ($1, $2, 'b@b.example', 'b', 'B', 'owner', 'x', 0)",
    )
    .bind(USER)
    .bind(WORKSPACE)
    .execute(&mut *tx)
    .await?;
    let ids: Vec<String> = (0..count.max(1) as u64)
        .map(|i| baseline_id('C', i))
        .collect();
    let names: Vec<String> = (0..ids.len()).map(|i| format!("w-{i}")).collect();
    sqlx::query(
        "INSERT INTO channels (id, workspace_id, kind, name, created_by, created_at) \
         SELECT id, $3, 'public', name, $4, 0 FROM UNNEST($1::text[], $2::text[]) AS c(id, name)",
    )
    .bind(&ids)
    .bind(&names)
    .bind(WORKSPACE)
    .bind(USER)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(ids)
}

/// The server's settings that decide what a commit waits for, for the report.
async fn durability(conn: &mut PgConnection) -> anyhow::Result<String> {
    let mut parts = Vec::new();
    for setting in ["synchronous_commit", "fsync", "commit_delay"] {
        let value: String = sqlx::query_scalar("SELECT current_setting($1)")
            .bind(setting)
            .fetch_one(&mut *conn)
            .await?;
        parts.push(format!("{setting}={value}"));
    }
    Ok(parts.join(", "))
}

/// Every committed message left exactly one event, at seqs 1..=committed: the loop did
/// what the server's log promises, or its rate would mean nothing.
async fn check_log(conn: &mut PgConnection, committed: u64) -> anyhow::Result<()> {
    let (events, max_seq, last_seq): (i64, Option<i64>, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM events), (SELECT max(seq) FROM events), \
         (SELECT last_seq FROM workspaces WHERE id = $1)",
    )
    .bind(WORKSPACE)
    .fetch_one(conn)
    .await?;
    let committed = committed as i64;
    if events != committed || max_seq.unwrap_or(0) != committed || last_seq != committed {
        bail!(
            "the baseline's log is off: {committed} commits, {events} events, \
             max seq {max_seq:?}, last_seq {last_seq}"
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scratch_db::DEFAULT_SERVER;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_postgres_limit_commits_on_hearths_schema_from_several_writers() {
        let args = LimitArgs {
            channels: 10,
            writers: 3,
            duration_s: 1,
            text_bytes: 50,
        };
        let b = run(DEFAULT_SERVER, &args).await.unwrap();
        assert!(b.committed > 0);
        assert_eq!(b.commit.count, b.committed);
        assert_eq!(b.writers, 3);
        assert!(b.storage.contains("synchronous_commit="), "{}", b.storage);
    }
}
