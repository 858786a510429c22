//! Checkpoints off the writer's path: a task with a connection of its own copies the
//! write-ahead log back into the database file while the writer goes on committing.
//!
//! # Why
//!
//! By default SQLite checkpoints inside the `COMMIT` that takes the log past 1,000 pages:
//! that commit copies the log into the file and fsyncs both before it returns, and every
//! caller of its batch (and of the batches queued behind it) waits for that. Under a
//! steady stream of posts it is one commit in four or five. The writer connection turns
//! that off (`wal_autocheckpoint=0`) and this task does the copying instead.
//!
//! # How
//!
//! After each commit the writer calls [`Log::committed`], which wakes the task. It runs a
//! `PASSIVE` checkpoint, which copies what it can without waiting for the writer or the
//! readers, notes how long the log is, then rests [`PAUSE`] before the next, so a busy
//! writer costs a few checkpoints a second, not one per commit.
//!
//! The log starts over from its beginning only when a write begins with everything in it
//! already copied, which a checkpoint beside a busy writer never achieves: new commits
//! land while it copies. So when a commit takes the log past
//! [`CheckpointOptions::restart_pages`] (SQLite tells the writer's connection the log's
//! size after each commit), the writer checkpoints once itself before its next batch
//! ([`Log::committed`] again): only what was committed since the task's last checkpoint
//! is left to copy, and the next batch writes the log from its start. The log file then
//! stops growing at about that size plus a batch.
//!
//! The task ends when the store closes, before the writer's connection, which closes last
//! and checkpoints whatever is left.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sqlx::{Connection, SqliteConnection};
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;

/// The least time between two checkpoints.
pub(crate) const PAUSE: Duration = Duration::from_millis(100);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckpointOptions {
    /// Past this many pages in the log (4 KiB each), the writer lets the log start over.
    pub restart_pages: i64,
}

impl Default for CheckpointOptions {
    fn default() -> Self {
        // 64 MiB of log.
        Self {
            restart_pages: 16_384,
        }
    }
}

/// What the writer and the task share.
pub(crate) struct Log {
    commits: Notify,
    /// How many pages the log holds, as of the writer's last commit (SQLite's commit hook
    /// on the writer's connection writes it: `raw::track_log_pages`).
    pages: Arc<AtomicI64>,
    /// The size at which the writer next checkpoints to restart the log.
    restart_at: AtomicI64,
    restart_pages: i64,
}

impl Log {
    /// Where the writer's connection reports the log's size after each commit.
    pub(crate) fn pages(&self) -> Arc<AtomicI64> {
        self.pages.clone()
    }

    /// The writer's part, after each of its commits on `conn`: wakes the task, and when
    /// the log has grown past the restart size, checkpoints on the writer's connection so
    /// that the next batch starts it over. If readers keep it from starting over, the
    /// writer tries again only once the log has grown by the restart size again.
    pub(crate) async fn committed(&self, conn: &mut SqliteConnection) {
        self.commits.notify_one();
        let pages = self.pages.load(Ordering::Relaxed);
        let at = self.restart_at.load(Ordering::Relaxed);
        if pages < at - self.restart_pages {
            // The log started over.
            self.restart_at.store(self.restart_pages, Ordering::Relaxed);
        } else if pages >= at {
            self.restart_at
                .store(pages + self.restart_pages, Ordering::Relaxed);
            if let Err(e) = checkpoint(conn, "PRAGMA wal_checkpoint(PASSIVE)").await {
                tracing::warn!(error = %e, "checkpointing the SQLite log to restart it");
            }
        }
    }
}

/// The checkpointing task and how to reach it.
pub(crate) struct Checkpointer {
    log: Arc<Log>,
    stop: watch::Sender<bool>,
    task: Mutex<Option<JoinHandle<()>>>,
}

impl Checkpointer {
    /// Starts the task on `conn`, a read-write connection to the store's file.
    pub(crate) fn start(conn: SqliteConnection, options: CheckpointOptions) -> Self {
        let log = Arc::new(Log {
            commits: Notify::new(),
            pages: Arc::new(AtomicI64::new(0)),
            restart_at: AtomicI64::new(options.restart_pages),
            restart_pages: options.restart_pages,
        });
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(run(conn, log.clone(), stopped));
        Self {
            log,
            stop,
            task: Mutex::new(Some(task)),
        }
    }

    /// What the writer tells of its commits.
    pub(crate) fn log(&self) -> Arc<Log> {
        self.log.clone()
    }

    /// Ends the task (after the checkpoint in progress, if any) and closes its connection.
    pub(crate) async fn stop(&self) {
        let _ = self.stop.send(true);
        let task = self.task.lock().expect("checkpointer lock").take();
        if let Some(task) = task
            && let Err(e) = task.await
        {
            tracing::error!(error = %e, "the SQLite checkpointer failed");
        }
    }
}

async fn run(mut conn: SqliteConnection, log: Arc<Log>, mut stopped: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            () = log.commits.notified() => {}
            _ = stopped.changed() => break,
        }
        if let Err(e) = checkpoint(&mut conn, "PRAGMA wal_checkpoint(PASSIVE)").await {
            tracing::warn!(error = %e, "checkpointing the SQLite log");
        }
        tokio::select! {
            () = tokio::time::sleep(PAUSE) => {}
            _ = stopped.changed() => break,
        }
    }
    if let Err(e) = conn.close().await {
        tracing::warn!(error = %e, "closing the SQLite checkpointer's connection");
    }
}

/// Runs a checkpoint (`PRAGMA wal_checkpoint(...)`); returns how many pages the log held.
async fn checkpoint(conn: &mut SqliteConnection, sql: &'static str) -> Result<i64, sqlx::Error> {
    // (busy, pages in the log, pages copied into the file)
    let (_busy, log_pages, _copied): (i64, i64, i64) =
        sqlx::query_as(sql).fetch_one(&mut *conn).await?;
    Ok(log_pages)
}
