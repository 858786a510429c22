//! Group commit: one task owns the write connection and commits concurrent writes together.
//!
//! # Why
//!
//! With `synchronous=FULL` every commit costs an fsync, and with one writer connection the
//! fsyncs happen one after another, so durable throughput is one write per fsync. Writes
//! that arrive while a commit is in flight can share the next one: the task runs them one
//! after another inside a single transaction and commits once, so a batch of 100 sends
//! costs one fsync instead of 100.
//!
//! # A batch
//!
//! The task waits for a job, then takes whatever else is *already* queued (at most
//! [`MAX_BATCH`]; it never waits for more, so a lone write is committed at once and latency
//! does not grow at low load). Then:
//!
//! ```text
//! BEGIN IMMEDIATE
//!   SAVEPOINT job; <job 1>; RELEASE job            (Ok)
//!   SAVEPOINT job; <job 2>; ROLLBACK TO job; RELEASE job   (Err: only job 2 is undone)
//!   <raw job 3>                                     (Ok, or Err before its first write)
//!   ...
//! COMMIT
//! ```
//!
//! and only once `COMMIT` has returned does any caller get its result (durable first:
//! nothing is acknowledged that is not committed). If anything at the batch level fails
//! (`BEGIN`, `COMMIT`, a savepoint statement, a panicking job, a raw job that fails after
//! it wrote or whose error made SQLite roll the transaction back), the whole transaction
//! is rolled back and every job of the batch gets that error, including jobs that had
//! succeeded on their own.
//!
//! A job is either a sqlx closure (`Writer::write`) or a synchronous closure on the raw
//! handle (`Writer::queue_raw`, see `raw`). A run of consecutive raw jobs shares one
//! `lock_handle` and runs on the writer's own thread, with the batch's `BEGIN` or
//! `COMMIT` when the run opens or closes the batch. The writer task runs on a thread of
//! its own (with a single-threaded runtime), so those calls, the fsync of `COMMIT`
//! included, never block the server's async workers.
//!
//! A raw job has no savepoint. It makes every check before its first write, so a job
//! its checks refuse has written nothing and its error is its own; the writer tells by
//! the connection's count of changed rows, and by the transaction still being open
//! (SQLite rolls it all back by itself on an I/O error or a full disk). A savepoint would
//! have SQLite copy every page the job is first to change into its statement journal,
//! which was the largest single cost of a post. The price: a raw job that fails after it
//! wrote (a disk error, a bug) fails its whole batch, whose callers may retry.
//!
//! A raw job may defer work to the end of its run (`Raw::defer`): it runs after the
//! run's last job, in the same transaction, and is dropped with a job that fails. Posts
//! defer their search index row this way. The full-text index writes what it has
//! gathered as a new segment of the index at every savepoint, so indexing a post before
//! the savepoint of a later sqlx job would write a segment for a few messages; deferred,
//! a run's messages make one segment at `COMMIT`. Deferred work runs before any later
//! sqlx job of the batch, so a message posted and edited or deleted in one batch is
//! indexed before the edit or delete sees the index.
//!
//! Jobs run strictly one after another on the one connection, so the log's guarantees are
//! those of the single writer: each job bumps `workspaces.last_seq` inside the transaction,
//! so seqs increase in commit order; a job undone (rolled back to its savepoint, or a raw
//! job refused before its first write) leaves no seq bump behind, so the log has no gaps.
//! Each job reads the clock when it starts, so timestamps follow seq order too.
//!
//! # Lifecycle
//!
//! [`Writer::start`] starts the task, on its thread, with the connection. It lives until either every
//! [`Writer`] handle is dropped (the queue closes) or [`Writer::stop`] is called, which
//! queues a stop after everything already submitted: the task finishes those jobs, refuses
//! new ones (`Unavailable`), and hands the connection back so the caller can close it last.
//! A caller that stops waiting for its result (a cancelled request) does not cancel its
//! job: once queued, a job runs and commits; only the answer is dropped.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use futures::FutureExt;
use futures::future::BoxFuture;
use hearth_core::store::{StoreError, StoreResult};
use sqlx::{Connection, SqliteConnection};
use tokio::sync::{mpsc, oneshot};

use crate::ACQUIRE_TIMEOUT;
use crate::checkpoint::Log;
use crate::error::db;
use crate::raw::{self, Raw, Statements};

/// The most jobs committed together. Bounds how long one transaction holds the write lock
/// and how many callers one failed commit can fail.
const MAX_BATCH: usize = 256;

/// How many submitted jobs may wait for the task before submitters wait for room.
const QUEUE: usize = 1024;

/// Runs one job inside the open transaction, in its savepoint. It reports whether the job
/// succeeded (so the task knows to release or roll back the savepoint) and returns how to
/// deliver the job's result once the batch's fate is known.
type Run =
    Box<dyn for<'c> FnOnce(&'c mut SqliteConnection) -> BoxFuture<'c, (bool, Deliver)> + Send>;

/// Like [`Run`], for a job that runs synchronously on the connection's raw handle (see
/// the `raw` module): consecutive raw jobs share one hand-off to sqlx's worker thread.
/// It reports the job's error, if any, as text (for the log, should it fail the batch).
type RunRaw = Box<dyn for<'r, 'a> FnOnce(&'r mut Raw<'a>) -> (Option<String>, Deliver) + Send>;

enum Job {
    Sqlx(Run),
    Raw(RunRaw),
}

/// Sends a job's result to its caller, given the outcome of the batch's commit.
type Deliver = Box<dyn FnOnce(StoreResult<()>) + Send>;

enum Command {
    Run(Job),
    Stop,
}

/// How many transactions the writer committed and how many jobs they carried.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WriteStats {
    /// Batches whose `COMMIT` succeeded.
    pub commits: u64,
    /// Jobs in those batches (succeeded or undone on their own).
    pub jobs: u64,
}

#[derive(Default)]
struct Counters {
    commits: AtomicU64,
    jobs: AtomicU64,
}

/// The handle through which store methods submit writes to the writer task.
pub(crate) struct Writer {
    queue: mpsc::Sender<Command>,
    /// Hands the connection back when the writer's thread ends.
    task: Mutex<Option<oneshot::Receiver<SqliteConnection>>>,
    counters: Arc<Counters>,
}

impl Writer {
    /// Starts the writer task on a thread of its own; it owns `conn` from now on.
    /// It tells `log` (the checkpointer) of each commit.
    pub(crate) fn start(conn: SqliteConnection, log: Arc<Log>) -> Self {
        let (queue, rx) = mpsc::channel(QUEUE);
        let counters = Arc::new(Counters::default());
        let (done, task) = oneshot::channel();
        let thread_counters = counters.clone();
        // Its own thread, so the batches' SQLite calls (the fsync of `COMMIT` among them)
        // block neither the runtime's workers nor wait behind their tasks for a turn.
        std::thread::Builder::new()
            .name("sqlite-writer".to_owned())
            .spawn(move || {
                // Timers on, so a job may time out what it waits for like any task.
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_time()
                    .build()
                    .expect("a runtime for the SQLite writer");
                let conn = runtime.block_on(run(conn, rx, thread_counters, log));
                let _ = done.send(conn);
            })
            .expect("spawning the SQLite writer thread");
        Self {
            queue,
            task: Mutex::new(Some(task)),
            counters,
        }
    }

    /// Runs `job` in the next batch and returns its result once that batch has committed.
    /// `job` reads the clock itself, so that it is taken after `BEGIN IMMEDIATE`.
    pub(crate) async fn write<T, F>(&self, job: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut SqliteConnection) -> BoxFuture<'c, StoreResult<T>>
            + Send
            + 'static,
    {
        self.queue(job).await?.await
    }

    /// Queues `job` (as [`Writer::write`]) and returns once it is queued, with the wait
    /// for its result. Jobs run in the order they were queued.
    pub(crate) async fn queue<T, F>(
        &self,
        job: F,
    ) -> StoreResult<impl Future<Output = StoreResult<T>> + Send + 'static + use<T, F>>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut SqliteConnection) -> BoxFuture<'c, StoreResult<T>>
            + Send
            + 'static,
    {
        let (tx, rx) = oneshot::channel();
        let run: Run = Box::new(move |conn| {
            Box::pin(async move {
                let result = job(conn).await;
                let ok = result.is_ok();
                let deliver: Deliver = Box::new(move |commit| {
                    // The job's own error wins; otherwise its value only if the batch committed.
                    // Nobody may be listening any more (a cancelled request): that is fine.
                    let _ = tx.send(result.and_then(|value| commit.map(|()| value)));
                });
                (ok, deliver)
            })
        });
        self.enqueue(Job::Sqlx(run)).await?;
        Ok(answer(rx))
    }

    /// Runs a job on the raw handle (see [`Writer::queue_raw`]) and returns its result
    /// once its batch has committed.
    #[cfg(test)]
    pub(crate) async fn write_raw<T, F>(&self, job: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: for<'r, 'a> FnOnce(&'r mut Raw<'a>) -> StoreResult<T> + Send + 'static,
    {
        self.queue_raw(job).await?.await
    }

    /// Like [`Writer::queue`], for a job on the raw handle: it must not block on anything
    /// but SQLite, since it holds the write connection (and runs on the writer's thread),
    /// and it must make every check before its first write, since it runs without a
    /// savepoint: an error after it wrote fails its whole batch. Returns once the job is
    /// queued, with the wait for its result. Jobs run in the order they were queued, so a
    /// job queued after this one returned runs after it, in the same batch or a later one.
    pub(crate) async fn queue_raw<T, F>(
        &self,
        job: F,
    ) -> StoreResult<impl Future<Output = StoreResult<T>> + Send + 'static + use<T, F>>
    where
        T: Send + 'static,
        F: for<'r, 'a> FnOnce(&'r mut Raw<'a>) -> StoreResult<T> + Send + 'static,
    {
        let (tx, rx) = oneshot::channel();
        let run: RunRaw = Box::new(move |raw| {
            let result = job(raw);
            let failure = result.as_ref().err().map(ToString::to_string);
            let deliver: Deliver = Box::new(move |commit| {
                let _ = tx.send(result.and_then(|value| commit.map(|()| value)));
            });
            (failure, deliver)
        });
        self.enqueue(Job::Raw(run)).await?;
        Ok(answer(rx))
    }

    /// Queues a job, behind every job queued before it.
    async fn enqueue(&self, job: Job) -> StoreResult<()> {
        // A full queue for this long means the disk cannot keep up: answer `Unavailable`
        // rather than let requests pile up without bound.
        match tokio::time::timeout(ACQUIRE_TIMEOUT, self.queue.send(Command::Run(job))).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) => Err(closed()),
            Err(_) => Err(StoreError::Unavailable(
                "the write queue stayed full".to_owned(),
            )),
        }
    }

    /// Finishes every job submitted so far, stops the task and returns its connection
    /// (`None` if it was already stopped).
    pub(crate) async fn stop(&self) -> Option<SqliteConnection> {
        let task = self.task.lock().expect("writer task lock").take()?;
        // Fails only if the task is gone already; joining it below tells the rest.
        let _ = self.queue.send(Command::Stop).await;
        match task.await {
            Ok(conn) => Some(conn),
            Err(_) => {
                tracing::error!("the SQLite writer thread failed");
                None
            }
        }
    }

    /// How many commands wait in the queue (tests use it to line up a batch).
    #[cfg(test)]
    pub(crate) fn queued(&self) -> usize {
        self.queue.max_capacity() - self.queue.capacity()
    }

    pub(crate) fn stats(&self) -> WriteStats {
        WriteStats {
            commits: self.counters.commits.load(Ordering::Relaxed),
            jobs: self.counters.jobs.load(Ordering::Relaxed),
        }
    }
}

/// A queued job's result, once its batch has committed.
async fn answer<T>(rx: oneshot::Receiver<StoreResult<T>>) -> StoreResult<T> {
    // The sender is dropped unused only if the job never ran: its batch failed before
    // reaching it, or the task is gone.
    rx.await.unwrap_or_else(|_| {
        Err(StoreError::Unavailable(
            "the write was not committed".to_owned(),
        ))
    })
}

fn closed() -> StoreError {
    StoreError::Unavailable("the store is closed".to_owned())
}

/// The writer task: batches until the queue closes or a stop arrives, then drains what is
/// left and returns the connection.
async fn run(
    mut conn: SqliteConnection,
    mut rx: mpsc::Receiver<Command>,
    counters: Arc<Counters>,
    log: Arc<Log>,
) -> SqliteConnection {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    let mut statements = Statements::default();
    while let Some(command) = rx.recv().await {
        match command {
            Command::Run(job) => batch.push(job),
            // Refuse new jobs; the loop still drains those already queued.
            Command::Stop => rx.close(),
        }
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(Command::Run(job)) => batch.push(job),
                Ok(Command::Stop) => rx.close(),
                Err(_) => break,
            }
        }
        if !batch.is_empty()
            && commit_batch(&mut conn, &mut statements, &mut batch, &counters).await
        {
            log.committed(&mut conn).await;
        }
    }
    // The prepared statements must go before the connection can close cleanly.
    match conn.lock_handle().await {
        Ok(_locked) => statements.finalize(),
        Err(e) => tracing::error!(error = %e, "cannot finalize the writer's statements"),
    }
    if let Err(e) = raw::untrack_log_pages(&mut conn).await {
        tracing::error!(error = %e, "cannot remove the writer's commit hook");
    }
    conn
}

/// Runs `batch` (emptying it) in one transaction and delivers every result; whether it
/// committed.
async fn commit_batch(
    conn: &mut SqliteConnection,
    statements: &mut Statements,
    batch: &mut Vec<Job>,
    counters: &Counters,
) -> bool {
    let jobs = batch.len();
    let mut delivers = Vec::with_capacity(jobs);
    let outcome = run_batch(conn, statements, batch, &mut delivers).await;
    if outcome.is_ok() {
        // Counted before anyone hears back, so a caller that got its answer sees its batch.
        counters.commits.fetch_add(1, Ordering::Relaxed);
        counters.jobs.fetch_add(jobs as u64, Ordering::Relaxed);
    }
    if let Err(e) = &outcome {
        tracing::error!(error = %e, jobs, "a write batch failed; none of it was committed");
        // Leave the connection outside any transaction for the next batch. This fails
        // harmlessly when SQLite already rolled back (or never began).
        let _ = sqlx::raw_sql("ROLLBACK").execute(&mut *conn).await;
    }
    for deliver in delivers {
        deliver(match &outcome {
            Ok(()) => Ok(()),
            Err(e) => Err(batch_error(e)),
        });
    }
    // Jobs that never ran (the batch failed before them) were dropped with the batch: their
    // callers' oneshots closed, which `Writer::write` turns into `Unavailable`.
    batch.clear();
    outcome.is_ok()
}

/// What each job of a failed batch is told (`StoreError` is not `Clone`): a busy or
/// unreachable database stays worth a retry, anything else is the server's problem.
fn batch_error(error: &StoreError) -> StoreError {
    match error {
        StoreError::Unavailable(m) => StoreError::Unavailable(m.clone()),
        other => StoreError::Internal(format!("write batch not committed: {other}")),
    }
}

/// `BEGIN IMMEDIATE`, every sqlx job in its savepoint (raw jobs without), `COMMIT`.
/// Collects each job's deliverer in `delivers`; an error means the transaction must be
/// rolled back.
///
/// `BEGIN` and `COMMIT` go with the jobs next to them: on the raw handle, under the lock
/// already held for a run of raw jobs, or through sqlx with a sqlx job. A batch of posts
/// alone is then one hand-off to sqlx's worker thread in all.
async fn run_batch(
    conn: &mut SqliteConnection,
    statements: &mut Statements,
    batch: &mut Vec<Job>,
    delivers: &mut Vec<Deliver>,
) -> StoreResult<()> {
    let mut jobs = batch.drain(..).peekable();
    let mut begun = false;
    while let Some(job) = jobs.next() {
        match job {
            Job::Sqlx(job) => {
                if !std::mem::replace(&mut begun, true) {
                    exec(conn, BEGIN).await?;
                }
                exec(conn, "SAVEPOINT job").await?;
                // A panic inside a job leaves the transaction in an unknown state: fail the
                // batch.
                let (ok, deliver) = AssertUnwindSafe(job(conn))
                    .catch_unwind()
                    .await
                    .map_err(|_| panicked())?;
                delivers.push(deliver);
                if !ok {
                    // Undo this job only (its rows and its seq bump); its error goes to its
                    // caller.
                    exec(conn, "ROLLBACK TO job").await?;
                }
                exec(conn, "RELEASE job").await?;
                if jobs.peek().is_none() {
                    return exec(conn, "COMMIT").await;
                }
            }
            Job::Raw(first) => {
                // This raw job and every raw job right after it, under one lock.
                let mut locked = conn.lock_handle().await.map_err(db)?;
                let mut raw = Raw::new(&mut locked, statements);
                if !std::mem::replace(&mut begun, true) {
                    raw.run(BEGIN, &[])?;
                }
                run_raw(&mut raw, first, delivers)?;
                while let Some(Job::Raw(_)) = jobs.peek() {
                    if let Some(Job::Raw(next)) = jobs.next() {
                        run_raw(&mut raw, next, delivers)?;
                    }
                }
                raw.run_deferred()?;
                if jobs.peek().is_none() {
                    return raw.run("COMMIT", &[]);
                }
            }
        }
    }
    // Only an empty batch gets here: it has nothing to commit.
    Ok(())
}

/// Opens a batch's transaction, taking the write lock at once: a job never finds the
/// database locked halfway through.
const BEGIN: &str = "BEGIN IMMEDIATE";

/// One raw job, without a savepoint (see the module docs): a job that fails after it
/// wrote fails the batch, as does one whose error made SQLite roll back the whole
/// transaction (an I/O error, a full disk), since the jobs after it would each commit
/// on their own.
fn run_raw(raw: &mut Raw<'_>, job: RunRaw, delivers: &mut Vec<Deliver>) -> StoreResult<()> {
    let changes = raw.total_changes();
    let deferred = raw.deferred_len();
    let (failure, deliver) =
        std::panic::catch_unwind(AssertUnwindSafe(|| job(raw))).map_err(|_| panicked())?;
    delivers.push(deliver);
    if let Some(failure) = failure {
        if raw.total_changes() != changes || !raw.in_transaction() {
            return Err(StoreError::Unavailable(format!(
                "a write of the same batch failed halfway ({failure}), so none of the batch \
                 was committed"
            )));
        }
        raw.forget_deferred_since(deferred);
    }
    Ok(())
}

fn panicked() -> StoreError {
    StoreError::Internal("a write panicked".to_owned())
}

async fn exec(conn: &mut SqliteConnection, sql: &'static str) -> StoreResult<()> {
    sqlx::raw_sql(sql).execute(&mut *conn).await.map_err(db)?;
    Ok(())
}

/// Closes the connection the task returned; the last connection to close checkpoints the
/// WAL into the database file.
pub(crate) async fn close(conn: SqliteConnection) {
    if let Err(e) = conn.close().await {
        tracing::warn!(error = %e, "closing the SQLite writer connection");
    }
}
