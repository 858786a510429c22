//! How the store's methods reach the database: a write batched under its workspace's
//! lock, a write that appends nothing, a plain read, or a read snapshot.
//!
//! A write is a job: a closure that owns its inputs and runs a module function on the
//! connection of a transaction. A write that may append to a log goes to its workspace's
//! batcher ([`PgStore::write`], the `batch` module), which runs it under the workspace
//! lock, in a savepoint of its own, with the seq counter and the time read after the lock,
//! so timestamps follow commit order as seqs do. If the job fails, its savepoint rolls
//! back whole: in PostgreSQL a failed statement aborts the transaction until then, so
//! module functions check before they write rather than catch errors and carry on. New
//! messages go to the batcher as themselves, so a run of them can be written together.
//!
//! # Cancellation
//!
//! A caller may stop waiting at any point (a client disconnects, a timeout fires), which
//! drops its future. Dropping sqlx futures part-way is not safe: a `begin()` dropped while
//! its `BEGIN` is in flight returns the connection to the pool *inside* a transaction
//! (sqlx 0.9.0, transact-rs/sqlx#4393), so the next borrower's `BEGIN` is ignored and its
//! statements run in the leftover transaction, possibly a read-only snapshot; and an
//! `acquire()` dropped while it checks or opens a connection throws that connection away,
//! so callers that keep timing out make the pool reconnect over and over. So nothing here
//! is cancelled half-way: a write runs to its end (commit or rollback) on a task that is
//! not the caller's (its workspace's batcher, or a task of its own), as on SQLite, where a
//! queued job commits and only its answer is dropped; and reads take their connection or
//! snapshot on a task, so a cancelled read gives back a whole connection or a
//! `Transaction` whose drop rolls back.

use futures::future::BoxFuture;
use hearth_core::Timestamp;
use hearth_core::id::WorkspaceId;
use hearth_core::store::{StoreError, StoreResult};
use sqlx::pool::PoolConnection;
use sqlx::{PgConnection, PgPool, Postgres, Transaction};
use tokio::sync::oneshot;

use crate::PgStore;
use crate::batch::{self, Job};
use crate::error::db;
use crate::log::Seqs;

/// The isolation of multi-statement reads: every statement sees the snapshot of the first.
const SNAPSHOT: &str = "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY";

impl PgStore {
    /// Runs a write job that may append to `ws`'s log in the next batch of that workspace
    /// (see the `batch` module): under the workspace's lock, in a savepoint of its own;
    /// returns once the batch committed.
    pub(crate) async fn write<T, F>(&self, ws: WorkspaceId, job: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(
                &'c mut PgConnection,
                &'c mut Seqs,
                Timestamp,
            ) -> BoxFuture<'c, StoreResult<T>>
            + Send
            + 'static,
    {
        let (reply, answer) = oneshot::channel();
        self.submit(&ws, Job::Run(batch::run(job, reply)), answer)
            .await
    }

    /// Queues `job` and waits for the answer it sends to `answer`. A caller that stops
    /// waiting leaves the job queued: it still runs, only the answer goes unheard.
    pub(crate) async fn submit<T>(
        &self,
        ws: &WorkspaceId,
        job: Job,
        answer: oneshot::Receiver<StoreResult<T>>,
    ) -> StoreResult<T>
    where
        T: Send + 'static,
    {
        self.queue(ws, job, answer).await?.await
    }

    /// Queues `job` and returns once it is queued, with the wait for the answer it sends
    /// to `answer`. Jobs of one workspace run in the order they were queued.
    pub(crate) async fn queue<T>(
        &self,
        ws: &WorkspaceId,
        job: Job,
        answer: oneshot::Receiver<StoreResult<T>>,
    ) -> StoreResult<impl Future<Output = StoreResult<T>> + Send + 'static + use<T>>
    where
        T: Send + 'static,
    {
        self.batchers.submit(ws, job).await?;
        Ok(async move {
            // The sender is dropped unused only if the job never ran: its batch failed
            // before reaching it.
            answer.await.unwrap_or_else(|_| {
                Err(StoreError::Unavailable(
                    "the write was not committed".to_owned(),
                ))
            })
        })
    }

    /// Runs a write job that appends no event (sessions, invites, a new workspace), so it
    /// needs no workspace lock.
    pub(crate) async fn write_unlogged<T, F>(&self, job: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut PgConnection, Timestamp) -> BoxFuture<'c, StoreResult<T>>
            + Send
            + 'static,
    {
        detached(transaction(self.pool.clone(), job)).await
    }

    /// A pooled connection for reads that need no snapshot across statements.
    pub(crate) async fn read(&self) -> StoreResult<PoolConnection<Postgres>> {
        let pool = self.pool.clone();
        detached(async move { pool.acquire().await.map_err(db) }).await
    }

    /// A read-only transaction in which every statement sees the same snapshot.
    pub(crate) async fn snapshot(&self) -> StoreResult<Transaction<'static, Postgres>> {
        let pool = self.pool.clone();
        detached(async move { pool.begin_with(SNAPSHOT).await.map_err(db) }).await
    }
}

/// Begins, reads the clock, runs the job, commits: a write that takes no workspace lock.
async fn transaction<T, F>(pool: PgPool, job: F) -> StoreResult<T>
where
    F: for<'c> FnOnce(&'c mut PgConnection, Timestamp) -> BoxFuture<'c, StoreResult<T>>,
{
    let mut tx = pool.begin().await.map_err(db)?;
    let now = Timestamp::now();
    match job(&mut tx, now).await {
        Ok(out) => {
            tx.commit().await.map_err(db)?;
            Ok(out)
        }
        Err(e) => {
            // Rolled back here rather than when the connection returns to the pool, so its
            // row locks are free before the caller hears of the failure. If the rollback
            // fails the connection is broken, and closing it rolls back too.
            let _ = tx.rollback().await;
            Err(e)
        }
    }
}

/// Runs `work` to its end on a task of its own, whether or not the caller still waits
/// (see the module docs).
async fn detached<T: Send + 'static>(
    work: impl Future<Output = StoreResult<T>> + Send + 'static,
) -> StoreResult<T> {
    tokio::spawn(work)
        .await
        .map_err(|e| StoreError::Internal(format!("store task failed: {e}")))?
}
