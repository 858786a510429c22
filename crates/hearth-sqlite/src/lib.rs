//! Hearth's embedded store: the [`Store`](hearth_core::store::Store) port on one SQLite file.
//!
//! # Durability
//!
//! The database runs in WAL mode. By default it uses `synchronous=FULL`: every commit is
//! fsynced before the store returns, so an acknowledged write survives a power loss.
//! [`Synchronous::Normal`] skips the fsync per commit (WAL is synced at checkpoints): a
//! process crash still loses nothing, but a power loss or kernel panic may roll back the
//! last commits, which clients had already been told were stored. It is much faster on
//! slow disks; choose it only when that trade is acceptable.
//!
//! # One writer
//!
//! All writes go through exactly one connection, owned by a writer task (the `writer`
//! module), and run inside `BEGIN IMMEDIATE`, so writes run one after another and never
//! fail on a lock upgrade. That is what makes the event log simple: the seq is a counter on
//! the workspace row bumped inside the transaction, so seq order is commit order and the
//! log has no gaps (see the `log` module). The task commits concurrent writes together
//! (group commit): each in its own savepoint (a post checks before it writes and needs
//! none), one `COMMIT` and one fsync for the batch, and no caller hears back before that
//! commit.
//!
//! sqlx runs each statement on the connection's own worker thread, a round trip per
//! statement; with about nine statements a post, those hand-offs, not SQLite, were the
//! write rate's limit. So top-level posts (`post`) run directly on the connection's
//! handle while the writer holds its lock (`raw`, the crate's only unsafe code), with
//! prepared statements kept for the connection's life: a run of posts in a batch costs
//! one hand-off. Everything else still goes through sqlx inside the same transaction.
//!
//! Reads use a separate pool of read-only connections, which WAL lets run alongside the
//! writer; a reader sees every transaction committed before its read began. A
//! checkpointer task on a connection of its own copies the log into the file after
//! commits (`checkpoint`), so commits do not.
//!
//! # Layout
//!
//! `store` maps each trait method to a writer job, a read or a read snapshot, and a function of the module that owns
//! that part of the schema: `accounts` (workspaces, users), `access` (sessions, invites),
//! `channels`, `members` (memberships, conversations, read markers), `messages`,
//! `reactions` and `log`; `post` is the raw path of a top-level post over `raw`;
//! `writer` the group commit and `checkpoint` the log's copying. `rows`
//! turns rows into domain types and `error` turns sqlx
//! errors into [`StoreError`]s. The schema itself is in `migrations/`, applied by
//! [`SqliteStore::open`].
//! `notify`: notifications (preferences, push targets, log cursors, deliveries).

mod access;
mod accounts;
mod channels;
mod checkpoint;
mod error;
mod files;
mod log;
mod members;
mod messages;
mod notify;
mod post;
mod raw;
mod reactions;
mod rows;
mod search;
mod store;
mod writer;

#[cfg(test)]
mod smoke;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use hearth_core::store::{StoreError, StoreResult};
use sqlx::pool::PoolConnection;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{ConnectOptions, Sqlite, SqliteConnection, Transaction};

pub use crate::checkpoint::CheckpointOptions;
use crate::checkpoint::Checkpointer;
use crate::error::db;
pub use crate::writer::WriteStats;
use crate::writer::Writer;

/// How hard SQLite works to make each commit survive a power loss.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Synchronous {
    /// fsync on every commit: acknowledged writes survive power loss.
    #[default]
    Full,
    /// fsync only at checkpoints: survives a process crash, but power loss may lose the
    /// most recent commits.
    Normal,
}

#[derive(Debug, Clone)]
pub struct SqliteOptions {
    pub synchronous: Synchronous,
    /// How many read-only connections may query at once.
    pub read_connections: u32,
    /// When the log is copied back into the file (see `checkpoint`).
    pub checkpoint: CheckpointOptions,
}

impl Default for SqliteOptions {
    fn default() -> Self {
        Self {
            synchronous: Synchronous::Full,
            read_connections: 8,
            checkpoint: CheckpointOptions::default(),
        }
    }
}

/// How long a statement waits for a lock held by another process before giving up with
/// `Unavailable`. Within this process the single writer never waits on itself.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// How long a request waits for a pooled read connection or for room in the writer's
/// queue; a queue longer than this means the database cannot keep up, which callers see as
/// `Unavailable`.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);

/// How much of the database file the read connections map into memory. A mapped page is
/// read in place; without the map each page a query touches beyond the connection's own
/// small cache is a `read()` copying it out of the OS page cache. SQLite's build caps the
/// map at just under 2 GiB; a bigger file reads the rest as before.
const READ_MMAP_BYTES: &str = "2147418112";

/// The write connection's page cache, in KiB (SQLite's negative `cache_size`): room for
/// the pages a full batch changes, with the B-trees' upper levels besides.
const WRITER_CACHE_KIB: &str = "-16384";

/// The SQLite implementation of [`hearth_core::store::Store`].
pub struct SqliteStore {
    /// The task that owns the one write connection and runs every write on it.
    writer: Arc<Writer>,
    /// Read-only connections for queries.
    reader: SqlitePool,
    /// The task that copies the write-ahead log into the file.
    checkpointer: Checkpointer,
}

impl SqliteStore {
    /// Opens (creating if needed) the database file at `path`, applies migrations.
    pub async fn open(path: &Path, options: SqliteOptions) -> Result<Self, StoreError> {
        let synchronous = match options.synchronous {
            Synchronous::Full => SqliteSynchronous::Full,
            Synchronous::Normal => SqliteSynchronous::Normal,
        };
        let base = SqliteConnectOptions::new()
            .filename(path)
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT)
            .synchronous(synchronous);

        // The writer opens first: it creates the file and switches it to WAL, which the
        // read-only connections cannot do themselves.
        let mut writer = base
            .clone()
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // A batch runs each sqlx job in a savepoint, and SQLite keeps what a savepoint
            // would restore in a statement journal, which spills to a temporary file past
            // 64 KiB: a file created, written page by page and deleted for every batch.
            // In memory it is a copy; a batch's journal is bounded by the batch.
            .pragma("temp_store", "memory")
            // The checkpointer's task copies the log into the file, not the commits.
            .pragma("wal_autocheckpoint", "0")
            // A batch of posts changes hundreds of pages (each channel's end of the history
            // index is a page of its own). Past the page cache (2 MiB by default) SQLite
            // writes changed pages into the log before the commit and reads them back.
            // (Each commit also scans the cache's hash table, so bigger is not free.)
            .pragma("cache_size", WRITER_CACHE_KIB)
            .connect()
            .await
            .map_err(db)?;
        raw::keep_plans(&mut writer).await.map_err(db)?;
        sqlx::migrate!("./migrations")
            .run(&mut writer)
            .await
            .map_err(|e| StoreError::Internal(format!("migrating the database: {e}")))?;

        let checkpointer = Checkpointer::start(
            base.clone().connect().await.map_err(db)?,
            options.checkpoint,
        );
        raw::track_log_pages(&mut writer, checkpointer.log().pages())
            .await
            .map_err(db)?;
        let reader = SqlitePoolOptions::new()
            .max_connections(options.read_connections.max(1))
            .acquire_timeout(ACQUIRE_TIMEOUT)
            // A connection to a local file cannot go stale, and sqlx's test is a ping:
            // a round trip to the connection's worker thread before every query.
            .test_before_acquire(false)
            .after_connect(|conn, _| Box::pin(raw::keep_plans(conn)))
            .connect_with(base.read_only(true).pragma("mmap_size", READ_MMAP_BYTES))
            .await
            .map_err(db)?;

        tracing::info!(path = %path.display(), synchronous = ?options.synchronous, "opened SQLite store");
        Ok(Self {
            writer: Arc::new(Writer::start(writer, checkpointer.log())),
            reader,
            checkpointer,
        })
    }

    /// Graceful shutdown: commits every write already submitted (later ones fail with
    /// `Unavailable`), stops the writer task and the checkpointer, closes the read pool,
    /// then the write connection last so that it checkpoints the WAL into the file.
    pub async fn close(&self) {
        let writer = self.writer.stop().await;
        self.checkpointer.stop().await;
        self.reader.close().await;
        if let Some(writer) = writer {
            writer::close(writer).await;
        }
    }

    /// How many commits the writer made and how many writes they carried: with concurrent
    /// writers, fewer commits than writes means group commit is at work.
    pub fn write_stats(&self) -> WriteStats {
        self.writer.stats()
    }

    /// Runs a write job (a module function on the write connection) in the writer's next
    /// batch; returns once that batch has committed.
    async fn write<T, F>(&self, job: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut SqliteConnection) -> BoxFuture<'c, StoreResult<T>>
            + Send
            + 'static,
    {
        self.writer.write(job).await
    }

    /// A read-only connection for queries that need no snapshot across statements.
    async fn read(&self) -> StoreResult<PoolConnection<Sqlite>> {
        self.reader.acquire().await.map_err(db)
    }

    /// A read transaction: every statement in it sees the same snapshot.
    async fn snapshot(&self) -> StoreResult<Transaction<'static, Sqlite>> {
        self.reader.begin().await.map_err(db)
    }
}
