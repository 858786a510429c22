//! Group commit per workspace: the writes of one workspace that arrive together share one
//! transaction, one take of the workspace lock and one commit.
//!
//! # Why
//!
//! Every write that appends to a workspace's log holds the workspace row's lock through
//! its commit (see the crate docs), so the writes of one workspace run one after another,
//! each paying its round trips and a WAL flush while the others wait: about one write per
//! commit latency, whatever the number of writers or nodes. Writes that queue meanwhile can
//! share the next transaction instead, as the SQLite writer does.
//!
//! # A batch
//!
//! Each [`PgStore`](crate::PgStore) keeps one batcher task per workspace that has writes
//! in flight, fed by a bounded queue. The task waits for a job, then takes whatever else is
//! *already* queued (at most [`MAX_BATCH`]; it never waits for more, so a lone write
//! commits at once), and runs them, stopping early once it has run [`MIN_BATCH`] and spent
//! [`MAX_BATCH_TIME`] (the rest go first in the next batch), so that a node flooded with
//! writes holds the workspace lock only briefly at a time:
//!
//! ```text
//! BEGIN; SELECT last_seq ... FOR NO KEY UPDATE          (the lock, once)
//!   SAVEPOINT job; <job 1>; RELEASE job                 (Ok)
//!   SAVEPOINT job; <job 2>; ROLLBACK TO job; RELEASE job (Err: only job 2 is undone)
//!   SAVEPOINT posts; <new messages 3..9, a few statements for all>; RELEASE posts
//!   ...
//! UPDATE workspaces SET last_seq = ...; COMMIT          (once)
//! ```
//!
//! Seqs are counted in memory from the `last_seq` the lock read ([`Seqs`]); a job rolled
//! back to its savepoint gives its seqs back, so the log keeps no hole. The savepoint is
//! what lets one job fail alone: in PostgreSQL a failed statement aborts the transaction
//! until it is rolled back to a savepoint. Runs of new top-level messages go through the
//! `posts` module, which writes them with one statement for the lot.
//!
//! Only once `COMMIT` has returned does any caller hear back (durable first). If anything
//! at the batch level fails (`BEGIN`, the lock, a savepoint, the final `UPDATE` or `COMMIT`,
//! a lost connection, a panicking job), the transaction is rolled back and every job of the
//! batch fails, including those that had succeeded on their own.
//!
//! Across nodes nothing changes: each node's batcher takes the workspace lock per batch,
//! so batches of different nodes run one after another and seq order stays commit order.
//! The clock is read after the lock, per job, and never goes back within a batch, so
//! timestamps follow seqs.
//!
//! # Lifecycle and cancellation
//!
//! A batcher starts with the first write of its workspace and exits after [`IDLE`] without
//! one, so the number of tasks and queues follows the workspaces being written to, not all
//! that ever were. A write submitted as its batcher retires finds the queue closed and
//! starts the next batcher, which runs nothing until the retiring one has finished what it
//! took: jobs of a workspace commit in the order they were queued, so one connection's
//! sends in flight keep their order (`Store::queue_post`). Once queued, a job runs to its
//! end on the batcher task whether or not its caller still waits: dropping sqlx futures
//! part-way is not safe (see the `transactions` module), and a caller that gives up only
//! drops its answer.

use std::collections::{HashMap, VecDeque};
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::FutureExt;
use futures::future::BoxFuture;
use hearth_core::Timestamp;
use hearth_core::id::WorkspaceId;
use hearth_core::store::{StoreError, StoreResult};
use sqlx::{PgConnection, PgPool};
use tokio::sync::mpsc::error::SendError;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

use crate::error::db;
use crate::log::{self, Seqs};
use crate::posts::{self, Post};

/// The most jobs committed together. Bounds how long one transaction holds the workspace
/// lock and how many callers one failed commit can fail.
const MAX_BATCH: usize = 256;

/// How long a batch keeps running jobs before it commits and leaves the rest to the next
/// one. Other nodes' writers of the workspace wait for the lock meanwhile, so one node
/// flooded with writes must not hold it for a whole [`MAX_BATCH`] of slow jobs.
const MAX_BATCH_TIME: Duration = Duration::from_millis(20);

/// How many jobs a batch runs (if it has them) before [`MAX_BATCH_TIME`] applies, so that
/// on a starved machine, where every job is slow, writes still share their commits.
const MIN_BATCH: usize = 4;

/// How many jobs may wait for a workspace's batcher before submitters wait for room.
const QUEUE: usize = 1024;

/// How long a batcher waits for work before it exits.
const IDLE: Duration = Duration::from_secs(2);

/// Runs one job inside the open transaction. It reports whether the job succeeded (so the
/// batcher knows to release or roll back its savepoint) and returns how to deliver the
/// job's result once the batch's fate is known.
pub(crate) type Run = Box<
    dyn for<'c> FnOnce(
            &'c mut PgConnection,
            &'c mut Seqs,
            Timestamp,
        ) -> BoxFuture<'c, (bool, Deliver)>
        + Send,
>;

/// Sends a job's result to its caller, given the outcome of the batch's commit.
pub(crate) type Deliver = Box<dyn FnOnce(StoreResult<()>) + Send>;

/// A write waiting for its batch.
pub(crate) enum Job {
    /// Any write, run alone in its savepoint.
    Run(Run),
    /// A new top-level message, which may be written together with its neighbours. Boxed:
    /// it is much larger than a `Run`, and queues hold many jobs.
    Post(Box<Post>),
}

/// Wraps a write as a [`Run`] whose result goes to `reply`.
pub(crate) fn run<T, F>(job: F, reply: oneshot::Sender<StoreResult<T>>) -> Run
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
    Box::new(move |conn, seqs, now| {
        Box::pin(async move {
            let result = job(conn, seqs, now).await;
            (result.is_ok(), deliver(result, reply))
        })
    })
}

/// How to hand `result` to `reply` after the commit: the job's own error wins; otherwise
/// its value only if the batch committed. Nobody may be listening any more (a cancelled
/// request): that is fine.
pub(crate) fn deliver<T: Send + 'static>(
    result: StoreResult<T>,
    reply: oneshot::Sender<StoreResult<T>>,
) -> Deliver {
    Box::new(move |commit| {
        let _ = reply.send(result.and_then(|value| commit.map(|()| value)));
    })
}

/// How many transactions the batchers committed, how many jobs they carried, and how many
/// batchers are running.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WriteStats {
    /// Batches whose `COMMIT` succeeded.
    pub commits: u64,
    /// Jobs in those batches (succeeded or rolled back to their savepoint).
    pub jobs: u64,
    /// Workspaces with a batcher task right now.
    pub batchers: usize,
}

/// The batchers of one store, one per workspace being written to.
pub(crate) struct Batchers {
    shared: Arc<Shared>,
}

/// What the store's handle and its batcher tasks share.
struct Shared {
    pool: PgPool,
    /// How long a submitter waits for room in a full queue before giving up.
    queue_timeout: Duration,
    /// Each running batcher's queue, by workspace. A retiring batcher closes its queue
    /// (a submitter then finds it closed and starts the next batcher, which waits for
    /// this one to finish) and removes its entry when it ends, unless a later batcher
    /// replaced it.
    queues: Mutex<HashMap<WorkspaceId, Queue>>,
    next_id: AtomicU64,
    commits: AtomicU64,
    jobs: AtomicU64,
}

struct Queue {
    /// Tells this batcher from a later one of the same workspace.
    id: u64,
    sender: mpsc::Sender<Job>,
    /// Answers (closed) once this batcher has ended. Its successor waits for it before
    /// its first batch, so that a job queued after another of the same workspace never
    /// commits before it, even when the first went to a batcher that was retiring.
    ended: Option<oneshot::Receiver<()>>,
}

impl Batchers {
    pub(crate) fn new(pool: PgPool, queue_timeout: Duration) -> Self {
        Self {
            shared: Arc::new(Shared {
                pool,
                queue_timeout,
                queues: Mutex::new(HashMap::new()),
                next_id: AtomicU64::new(0),
                commits: AtomicU64::new(0),
                jobs: AtomicU64::new(0),
            }),
        }
    }

    /// Queues `job` for `ws`'s next batch, starting a batcher if none runs.
    pub(crate) async fn submit(&self, ws: &WorkspaceId, mut job: Job) -> StoreResult<()> {
        let deadline = Instant::now() + self.shared.queue_timeout;
        loop {
            let queue = self.shared.queue(ws);
            // A full queue for this long means the database cannot keep up: answer
            // `Unavailable` rather than let requests pile up without bound.
            match tokio::time::timeout_at(deadline, queue.send(job)).await {
                Ok(Ok(())) => return Ok(()),
                // The batcher retired between the lookup and the send: start another.
                Ok(Err(SendError(back))) => job = back,
                Err(_) => {
                    return Err(StoreError::Unavailable(
                        "the workspace's write queue stayed full".to_owned(),
                    ));
                }
            }
        }
    }

    pub(crate) fn stats(&self) -> WriteStats {
        WriteStats {
            commits: self.shared.commits.load(Ordering::Relaxed),
            jobs: self.shared.jobs.load(Ordering::Relaxed),
            batchers: self.shared.queues.lock().expect("batcher map").len(),
        }
    }
}

impl Shared {
    /// The queue of `ws`'s batcher, started if there is none (or it is gone).
    fn queue(self: &Arc<Self>, ws: &WorkspaceId) -> mpsc::Sender<Job> {
        let mut queues = self.queues.lock().expect("batcher map");
        if let Some(queue) = queues.get(ws)
            && !queue.sender.is_closed()
        {
            return queue.sender.clone();
        }
        let previous = queues.remove(ws).and_then(|queue| queue.ended);
        let (sender, receiver) = mpsc::channel(QUEUE);
        let (end, ended) = oneshot::channel();
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        queues.insert(
            ws.clone(),
            Queue {
                id,
                sender: sender.clone(),
                ended: Some(ended),
            },
        );
        let turn = Turn {
            id,
            after: previous,
            _end: end,
        };
        tokio::spawn(batcher(self.clone(), ws.clone(), turn, receiver));
        sender
    }

    /// Removes batcher `id`'s queue from the map, unless a later one replaced it.
    fn forget(&self, ws: &WorkspaceId, id: u64) {
        let mut queues = self.queues.lock().expect("batcher map");
        if queues.get(ws).is_some_and(|queue| queue.id == id) {
            queues.remove(ws);
        }
    }
}

/// A batcher's place among the batchers of its workspace, one after another.
struct Turn {
    id: u64,
    /// The previous batcher's end, if it may still be running.
    after: Option<oneshot::Receiver<()>>,
    /// Dropped when this batcher ends, which tells its successor.
    _end: oneshot::Sender<()>,
}

/// A workspace's batcher: once the previous one has ended, commits batches until it has
/// been idle for [`IDLE`], then retires, finishing whatever was queued before its queue
/// closed.
async fn batcher(
    shared: Arc<Shared>,
    ws: WorkspaceId,
    turn: Turn,
    mut receiver: mpsc::Receiver<Job>,
) {
    if let Some(previous) = turn.after {
        // Answers when the previous batcher ends, which drops its sender.
        let _ = previous.await;
    }
    // Jobs a batch left for the next (out of time) stay at the front, in order.
    let mut batch = VecDeque::with_capacity(MAX_BATCH);
    loop {
        if batch.is_empty() {
            match tokio::time::timeout(IDLE, receiver.recv()).await {
                Ok(Some(job)) => batch.push_back(job),
                Ok(None) => {
                    shared.forget(&ws, turn.id);
                    return;
                }
                Err(_) => {
                    // Closed, so a submitter holding this queue gets its job back and a
                    // new write finds it closed and starts the next batcher (which waits
                    // for this one). What was queued before still runs, and `recv`
                    // answers `None` after it.
                    receiver.close();
                    continue;
                }
            }
        }
        while batch.len() < MAX_BATCH {
            match receiver.try_recv() {
                Ok(job) => batch.push_back(job),
                Err(_) => break,
            }
        }
        commit_batch(&shared, &ws, &mut batch).await;
    }
}

/// Runs `batch` in one transaction and delivers every result; jobs it had no time for
/// stay in `batch`.
async fn commit_batch(shared: &Shared, ws: &WorkspaceId, batch: &mut VecDeque<Job>) {
    let mut delivers = Vec::with_capacity(batch.len());
    // A panic inside a job leaves the transaction in an unknown state: fail the batch (the
    // dropped transaction rolls back).
    let outcome = AssertUnwindSafe(run_batch(&shared.pool, ws, batch, &mut delivers))
        .catch_unwind()
        .await
        .unwrap_or_else(|_| Err(StoreError::Internal("a write panicked".to_owned())));
    let jobs = delivers.len();
    match &outcome {
        Ok(()) => {
            // Counted before anyone hears back, so a caller that got its answer sees it.
            shared.commits.fetch_add(1, Ordering::Relaxed);
            shared.jobs.fetch_add(jobs as u64, Ordering::Relaxed);
        }
        Err(e) => {
            tracing::error!(error = %e, jobs, "a write batch failed; none of it was committed");
            // Jobs that never ran (the batch failed before them) are dropped: their
            // callers' oneshots close, which the store turns into `Unavailable`.
            batch.clear();
        }
    }
    for deliver in delivers {
        deliver(match &outcome {
            Ok(()) => Ok(()),
            Err(e) => Err(batch_error(e)),
        });
    }
}

/// What each job of a failed batch is told (`StoreError` is not `Clone`): a busy or
/// unreachable database stays worth a retry, anything else is the server's problem.
fn batch_error(error: &StoreError) -> StoreError {
    match error {
        StoreError::Unavailable(m) => StoreError::Unavailable(m.clone()),
        other => StoreError::Internal(format!("write batch not committed: {other}")),
    }
}

/// `BEGIN`, the lock, the jobs of `batch` (taken from its front) until they or the time
/// run out, the new `last_seq`, `COMMIT`. Collects each job's deliverer in `delivers`.
async fn run_batch(
    pool: &PgPool,
    ws: &WorkspaceId,
    batch: &mut VecDeque<Job>,
    delivers: &mut Vec<Deliver>,
) -> StoreResult<()> {
    let mut tx = pool.begin().await.map_err(db)?;
    let result = async {
        let mut seqs = log::lock(&mut tx, ws).await?;
        let started = Instant::now();
        let mut clock = Clock(Timestamp(i64::MIN));
        while let Some(job) = batch.pop_front() {
            match job {
                Job::Run(run) => run_one(&mut tx, &mut seqs, clock.now(), run, delivers).await?,
                Job::Post(first) => {
                    let mut group = vec![*first];
                    while let Some(Job::Post(next)) = batch.front()
                        && posts::joins(&group, next)
                    {
                        let Some(Job::Post(next)) = batch.pop_front() else {
                            unreachable!("a post was in front");
                        };
                        group.push(*next);
                    }
                    let now = clock.now();
                    posts::run_group(&mut tx, &mut seqs, ws, now, group, delivers).await?;
                }
            }
            if delivers.len() >= MIN_BATCH && started.elapsed() >= MAX_BATCH_TIME {
                break;
            }
        }
        seqs.save(&mut tx, ws).await
    }
    .await;
    match result {
        Ok(()) => tx.commit().await.map_err(db),
        Err(e) => {
            // Rolled back here rather than when the connection returns to the pool, so the
            // workspace lock is free before the callers hear of the failure. If the
            // rollback fails the connection is broken, and closing it rolls back too.
            let _ = tx.rollback().await;
            Err(e)
        }
    }
}

/// Runs one job in its own savepoint; a failed job is rolled back alone, seqs included.
pub(crate) async fn run_one(
    conn: &mut PgConnection,
    seqs: &mut Seqs,
    now: Timestamp,
    run: Run,
    delivers: &mut Vec<Deliver>,
) -> StoreResult<()> {
    exec(conn, "SAVEPOINT job").await?;
    let mark = seqs.mark();
    let (ok, deliver) = run(conn, seqs, now).await;
    delivers.push(deliver);
    if ok {
        exec(conn, "RELEASE job").await
    } else {
        seqs.reset(mark);
        exec(conn, "ROLLBACK TO job; RELEASE job").await
    }
}

pub(crate) async fn exec(conn: &mut PgConnection, sql: &'static str) -> StoreResult<()> {
    sqlx::raw_sql(sql).execute(conn).await.map_err(db)?;
    Ok(())
}

/// The time each job of a batch is given: read after the lock, and never earlier than the
/// previous job's, so timestamps follow seqs even if the system clock steps back.
struct Clock(Timestamp);

impl Clock {
    fn now(&mut self) -> Timestamp {
        self.0 = self.0.max(Timestamp::now());
        self.0
    }
}
