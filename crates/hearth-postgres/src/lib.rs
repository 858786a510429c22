//! Hearth's shared store: the [`Store`](hearth_core::store::Store) port on PostgreSQL, for
//! running several server nodes against one database.
//!
//! It keeps the SQLite backend's schema (same tables and columns, in `migrations/`) and
//! its semantics, checked by the same conformance suite. What differs is concurrency:
//! SQLite has one writer, PostgreSQL has many, on many nodes.
//!
//! # Seqs under many writers
//!
//! The event log promises, per workspace, that seqs strictly increase in *commit* order
//! with no gaps, and that no reader ever sees seq N+1 committed without seq N. A reader
//! that follows the log from the last seq it saw relies on this: an event committed later
//! at a lower seq would be skipped for good.
//!
//! A sequence (or any counter handed out outside the transaction) breaks that: writer A
//! takes 41, writer B takes 42, B commits first, a reader sees 42 and moves on, then A's
//! 41 commits behind it. So the counter is `workspaces.last_seq`, and every transaction
//! that may append to a workspace's log starts by locking that workspace's row
//! (`SELECT ... FOR NO KEY UPDATE`, in the `log` module), counts its seqs on from the
//! `last_seq` it read, writes the new `last_seq` back, and holds the lock until it commits.
//! The next writer of that workspace, on this node or another, blocks on the row until
//! then, and reads `last_seq` (and everything else) as committed:
//!
//! - seqs are handed out in commit order, and without gaps, because a transaction that
//!   rolls back also rolls back its new `last_seq`;
//! - a reader's snapshot that contains seq N+1 contains N, because N committed before the
//!   transaction that took N+1 could even take the lock;
//! - writes in one workspace see each other's effects, so the get-or-create and
//!   idempotency checks (conversations, `client_msg_id`, single-use invites) are
//!   race-free under the default READ COMMITTED, with no retry loops;
//! - every such write takes the same lock first, so they cannot deadlock on each other;
//! - the clock is read after the lock is taken, so timestamps follow seq order (across
//!   nodes, as far as their clocks agree).
//!
//! # Group commit
//!
//! Holding the lock through the commit makes the writes of one workspace run one after
//! another, each paying its round trips and a WAL flush: alone, about a hundred writes a
//! second on a loaded machine. So each node runs the writes of one workspace through a
//! batcher (the `batch` module): the writes queued together share one transaction, one
//! take of the lock and one commit, each in a savepoint of its own so that it still
//! succeeds or fails alone, and a run of new messages is written with a couple of
//! statements for all of them (the `posts` module). Different workspaces do not wait for
//! each other. Writes that append nothing (sessions, invites, a new workspace) take no
//! lock and are not batched.
//!
//! Reads that must agree across statements (a log page and its `last_seq`, a subscription's
//! channels and its seq, a message and its reactions) run in a `REPEATABLE READ, READ ONLY`
//! transaction: one snapshot for all their statements.
//!
//! # Plans that do not depend on statistics
//!
//! A table's statistics lag its growth (a new deployment's first minute, a bot's burst,
//! an import), and on a table believed small every index looks like one row. Queries on
//! the send path and the notification worker's are written so that the planner has only
//! the right path: checks as `LATERAL ... LIMIT 1` probes (`posts::CHECK`), keys whose
//! columns no other index leads with (migration 0006, and the workspace compared as
//! `|| ''` where the channel or the id is known: `members::membership`), the sources page
//! read without sorts, the candidates planned once (`notify::sources`). Each has a test
//! that analyzes its tables small, grows them, and checks the plan.
//!
//! A write, once started, runs to its end even if its caller stops waiting, as on SQLite;
//! the `transactions` module explains why (sqlx is not safe to cancel inside a transaction).
//!
//! # Layout
//!
//! `store` maps each trait method to how it runs (`transactions`: a write batched under
//! the workspace lock by `batch`, an unlocked write, a read or a snapshot) and to the
//! function of the module that owns that part of the schema: `accounts` (workspaces,
//! users), `access` (sessions, invites), `channels`, `members` (memberships,
//! conversations, read markers), `messages` (with `posts`, the batched path of new
//! messages), `files` (uploads, and the messages that share them), `reactions` and `log`;
//! `index` builds a message's search vector (and fills in the backlog of messages stored
//! without one) and `search` runs searches. `rows` turns rows into domain types and
//! `error` turns sqlx errors into [`StoreError`]s.
//! `notify`: notifications (preferences, push targets, log cursors, deliveries).
//! [`PgStore::connect`] applies the migrations. With the `testing` feature,
//! `testing::ScratchDatabase` gives each test a database of its own.

mod access;
mod accounts;
mod batch;
mod channels;
mod error;
mod files;
mod index;
mod log;
mod members;
mod messages;
mod notify;
mod posts;
mod reactions;
mod rows;
mod search;
#[cfg(test)]
mod stale_statistics;
mod store;
mod transactions;

#[cfg(feature = "testing")]
pub mod testing;

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use hearth_core::store::{StoreError, StoreResult};
use sqlx::postgres::PgPoolOptions;
use sqlx::{Connection, PgConnection, PgPool};

use crate::batch::Batchers;
pub use crate::batch::WriteStats;
use crate::error::db;

#[derive(Debug, Clone)]
pub struct PgOptions {
    /// The most connections this node holds open. Every node has its own pool, and the
    /// server's `max_connections` must cover all of them.
    pub max_connections: u32,
    /// How long a request waits for a pooled connection before giving up with
    /// `Unavailable`: a longer wait means the database cannot keep up.
    pub acquire_timeout: Duration,
}

impl Default for PgOptions {
    fn default() -> Self {
        Self {
            max_connections: 16,
            acquire_timeout: Duration::from_secs(5),
        }
    }
}

/// The PostgreSQL implementation of [`hearth_core::store::Store`].
pub struct PgStore {
    /// Every read and write takes a connection from here for one statement or transaction.
    pool: PgPool,
    /// The per-workspace batchers that run every write appending to a log.
    batchers: Batchers,
    /// Whether this node indexed search backlog since the backlog was last empty, so the
    /// table is vacuumed and its statistics refreshed once it is.
    backlog_indexed: AtomicBool,
    /// Whether every message is known to have its word pairs, so phrases go by them (see
    /// [`PgStore::by_pairs`]).
    pairs_complete: AtomicBool,
}

impl PgStore {
    /// Connects, then applies migrations. The migrator holds a PostgreSQL advisory lock
    /// while it runs, so nodes starting together apply each migration once, in turn.
    pub async fn connect(url: &str, options: PgOptions) -> Result<PgStore, StoreError> {
        let pool = PgPoolOptions::new()
            .max_connections(options.max_connections.max(1))
            .acquire_timeout(options.acquire_timeout)
            .connect(url)
            .await
            .map_err(db)?;
        migrate(&pool).await?;
        // Not the URL: it may carry a password.
        tracing::info!(
            max_connections = options.max_connections,
            "connected to PostgreSQL store"
        );
        let batchers = Batchers::new(pool.clone(), options.acquire_timeout);
        Ok(Self {
            pool,
            batchers,
            backlog_indexed: AtomicBool::new(false),
            pairs_complete: AtomicBool::new(false),
        })
    }

    /// Graceful shutdown: waits for connections in use to come back, then closes them all.
    /// Later calls fail with `Unavailable`.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// How many batches the workspaces' batchers committed and how many writes they
    /// carried (their ratio is the average batch), and how many batchers run now.
    pub fn write_stats(&self) -> WriteStats {
        self.batchers.stats()
    }

    /// Whether a search may find phrases by word pairs: once every message has its pairs.
    /// Until this node has seen that, each search asks, in its own snapshot (a lookup in
    /// the backlog's partial index, empty once the backlog is done); then it is
    /// remembered, as the server writes no message without its pairs.
    pub(crate) async fn by_pairs(&self, conn: &mut PgConnection) -> StoreResult<bool> {
        if self.pairs_complete.load(Ordering::Relaxed) {
            return Ok(true);
        }
        let complete = index::pairs_complete(conn).await?;
        if complete {
            self.pairs_complete.store(true, Ordering::Relaxed);
        }
        Ok(complete)
    }

    /// The connection pool, for tools that work on the tables directly (data migration,
    /// benchmarks). The server itself goes through [`Store`](hearth_core::store::Store).
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }
}

/// Applies the migrations not applied yet, on a connection of its own with sqlx's
/// statement logging off: a migration that builds an index on a large table takes
/// minutes, and is not a slow query to warn about with its whole text. The migrator holds
/// a PostgreSQL advisory lock on that connection while it runs.
///
/// When this call applied any, it then vacuums and analyzes `messages`: a migration may
/// rewrite rows (0008 rewrote every vector with a flag), and until a vacuum every index
/// keeps the old versions, which searches then read and discard (a search for a word the
/// old versions held took 230 ms instead of 2 ms on 1M messages). Autovacuum would wait
/// for a fifth of the table to be dead. A node that finds nothing to apply does nothing.
async fn migrate(pool: &PgPool) -> Result<(), StoreError> {
    let started = Instant::now();
    let mut conn = index::maintenance_connection(pool).await?;
    let before = applied_migrations(&mut conn).await?;
    sqlx::migrate!("./migrations")
        .run(&mut conn)
        .await
        .map_err(error::migrate)?;
    let applied = applied_migrations(&mut conn).await? - before;
    if applied > 0 {
        index::vacuum_messages(&mut conn).await?;
    }
    conn.close().await.map_err(db)?;
    tracing::info!(
        applied,
        secs = started.elapsed().as_secs_f64(),
        "database schema up to date"
    );
    Ok(())
}

/// How many migrations the database has applied (none before sqlx's table exists).
async fn applied_migrations(conn: &mut PgConnection) -> Result<i64, StoreError> {
    let exists: bool = sqlx::query_scalar("SELECT to_regclass('_sqlx_migrations') IS NOT NULL")
        .fetch_one(&mut *conn)
        .await
        .map_err(db)?;
    if !exists {
        return Ok(0);
    }
    sqlx::query_scalar("SELECT count(*) FROM _sqlx_migrations WHERE success")
        .fetch_one(&mut *conn)
        .await
        .map_err(db)
}
