//! Statements on the write connection's own SQLite handle, run on the writer task's
//! thread instead of sqlx's worker thread.
//!
//! # Why
//!
//! sqlx runs every statement of a `SqliteConnection` on that connection's worker thread:
//! each statement is a round trip between the calling task and that thread (two context
//! switches). A post is about nine statements, and the writer runs every post one after
//! another, so the hand-offs, not SQLite, set the write rate. While the writer holds the
//! connection's lock (`SqliteConnection::lock_handle`) sqlx's thread is parked and the
//! writer may call SQLite directly; a run of such jobs then costs one hand-off in all.
//!
//! # Safety
//!
//! [`keep_plans`], which every connection runs once when it opens, and the writer's log
//! size hook ([`track_log_pages`]) are here for the same reason: sqlx has no call for
//! them, so they go to the handle directly.
//!
//! This is the crate's only unsafe code (the crate denies it elsewhere). [`Raw`] borrows a
//! `LockedSqliteHandle`, which gives this thread exclusive use of the `sqlite3` handle for
//! as long as the `Raw` lives. The prepared statements in [`Statements`] belong to the
//! writer's one connection; they are used only under its lock and finalized (under it
//! too) before the connection is closed.

#![allow(unsafe_code)]

use std::collections::HashMap;
use std::ffi::{CStr, c_char, c_int, c_void};
use std::ptr::{self, NonNull};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use hearth_core::store::{StoreError, StoreResult};
use libsqlite3_sys as ffi;
use sqlx::SqliteConnection;
use sqlx::sqlite::LockedSqliteHandle;

/// A value bound to a statement parameter.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Param<'a> {
    Int(i64),
    Text(&'a str),
    Null,
}

impl<'a> From<Option<&'a str>> for Param<'a> {
    fn from(value: Option<&'a str>) -> Self {
        value.map_or(Param::Null, Param::Text)
    }
}

/// The write connection's prepared statements, by SQL text. Preparing a statement costs
/// more than running it; the writer runs the same few statements all day.
#[derive(Default)]
pub(crate) struct Statements(HashMap<&'static str, NonNull<ffi::sqlite3_stmt>>);

// SAFETY: the statements are only touched through `Raw`, which exists only while the
// owning task holds the connection's lock (see the module docs); moving the map between
// threads with the writer task is then no different from moving the connection.
unsafe impl Send for Statements {}

impl Statements {
    /// Finalizes every statement. Must run under the connection's lock before the
    /// connection closes: an unfinalized statement keeps SQLite from closing the file.
    pub(crate) fn finalize(&mut self) {
        for (_, stmt) in self.0.drain() {
            // SAFETY: each pointer came from `sqlite3_prepare_v3` and is finalized once.
            unsafe { ffi::sqlite3_finalize(stmt.as_ptr()) };
        }
    }
}

/// Work a job leaves for after the last job of its run (see [`Raw::defer`]).
pub(crate) type Deferred = Box<dyn for<'r, 'a> FnOnce(&'r mut Raw<'a>) -> StoreResult<()> + Send>;

/// The write connection's handle, usable directly while its lock is held.
pub(crate) struct Raw<'a> {
    db: NonNull<ffi::sqlite3>,
    statements: &'a mut Statements,
    /// What the run's jobs deferred, oldest first.
    deferred: Vec<Deferred>,
    /// Holding the borrow keeps the connection locked while `db` is in use.
    _locked: std::marker::PhantomData<&'a mut ()>,
}

impl<'a> Raw<'a> {
    /// The locked connection's handle. `statements` must be the writer's own, only ever
    /// used with this one connection.
    pub(crate) fn new(
        locked: &'a mut LockedSqliteHandle<'_>,
        statements: &'a mut Statements,
    ) -> Self {
        Self {
            db: locked.as_raw_handle(),
            statements,
            deferred: Vec::new(),
            _locked: std::marker::PhantomData,
        }
    }

    /// Leaves `work` for after the last job of this run, in the same transaction: what
    /// must commit with the job but is cheaper done once for the whole run. The writer
    /// drops it if the job fails.
    pub(crate) fn defer(&mut self, work: Deferred) {
        self.deferred.push(work);
    }

    /// How much work is deferred so far; with [`Raw::forget_deferred_since`], how the
    /// writer drops what a failed job deferred.
    pub(crate) fn deferred_len(&self) -> usize {
        self.deferred.len()
    }

    pub(crate) fn forget_deferred_since(&mut self, len: usize) {
        self.deferred.truncate(len);
    }

    /// Does the deferred work, oldest first.
    pub(crate) fn run_deferred(&mut self) -> StoreResult<()> {
        for work in std::mem::take(&mut self.deferred) {
            work(self)?;
        }
        Ok(())
    }

    /// How many rows this connection's statements have inserted, updated or deleted
    /// since it opened: unchanged across a job means the job wrote nothing.
    pub(crate) fn total_changes(&self) -> i64 {
        // SAFETY: `db` is ours (see `new`).
        unsafe { ffi::sqlite3_total_changes64(self.db.as_ptr()) }
    }

    /// Whether a transaction is open: SQLite rolls the whole transaction back by itself
    /// on some errors (I/O, a full disk, no memory).
    pub(crate) fn in_transaction(&self) -> bool {
        // SAFETY: `db` is ours (see `new`).
        unsafe { ffi::sqlite3_get_autocommit(self.db.as_ptr()) == 0 }
    }

    /// The rowid of the last row this connection inserted.
    pub(crate) fn last_insert_rowid(&self) -> i64 {
        // SAFETY: `db` is ours (see `new`).
        unsafe { ffi::sqlite3_last_insert_rowid(self.db.as_ptr()) }
    }

    /// Runs a statement to completion (an insert, an update, a savepoint).
    pub(crate) fn run(&mut self, sql: &'static str, params: &[Param<'_>]) -> StoreResult<()> {
        let stmt = self.bound(sql, params)?;
        let outcome = loop {
            match self.step(stmt) {
                Ok(true) => continue,
                Ok(false) => break Ok(()),
                Err(e) => break Err(e),
            }
        };
        reset(stmt);
        outcome
    }

    /// The first column of the first row as an integer, if there is a row (`SELECT 1 ...`
    /// for existence, `... RETURNING n`). Rows after the first are not read.
    pub(crate) fn int(
        &mut self,
        sql: &'static str,
        params: &[Param<'_>],
    ) -> StoreResult<Option<i64>> {
        let stmt = self.bound(sql, params)?;
        let outcome = match self.step(stmt) {
            // SAFETY: a row is current, and column 0 exists in every statement we pass.
            Ok(true) => Ok(Some(unsafe { ffi::sqlite3_column_int64(stmt.as_ptr(), 0) })),
            Ok(false) => Ok(None),
            Err(e) => Err(e),
        };
        // Resetting also finishes a `RETURNING` statement whose other rows were not read;
        // its changes are made by the first step.
        reset(stmt);
        outcome
    }

    /// How many times SQLite prepared the cached statement for `sql` again since it was
    /// first prepared (0 if it was never run).
    #[cfg(test)]
    pub(crate) fn times_prepared_again(&self, sql: &'static str) -> i32 {
        self.statements.0.get(sql).map_or(0, |stmt| {
            // SAFETY: a live statement of our handle; reading a counter changes nothing.
            unsafe { ffi::sqlite3_stmt_status(stmt.as_ptr(), ffi::SQLITE_STMTSTATUS_REPREPARE, 0) }
        })
    }

    /// The cached statement for `sql`, reset and with `params` bound to `?1`, `?2`, ...
    fn bound(
        &mut self,
        sql: &'static str,
        params: &[Param<'_>],
    ) -> StoreResult<NonNull<ffi::sqlite3_stmt>> {
        let stmt = match self.statements.0.get(sql) {
            Some(stmt) => *stmt,
            None => {
                let stmt = self.prepare(sql)?;
                self.statements.0.insert(sql, stmt);
                stmt
            }
        };
        for (i, param) in params.iter().enumerate() {
            let index = c_int::try_from(i + 1).map_err(|_| internal("too many parameters"))?;
            // SAFETY: `stmt` is a live statement of our handle; SQLITE_TRANSIENT makes
            // SQLite copy text before the call returns, so `param` may go right after.
            let rc = unsafe {
                match param {
                    Param::Int(v) => ffi::sqlite3_bind_int64(stmt.as_ptr(), index, *v),
                    Param::Null => ffi::sqlite3_bind_null(stmt.as_ptr(), index),
                    Param::Text(s) => ffi::sqlite3_bind_text(
                        stmt.as_ptr(),
                        index,
                        s.as_ptr().cast(),
                        c_int::try_from(s.len()).map_err(|_| internal("text too long"))?,
                        ffi::SQLITE_TRANSIENT(),
                    ),
                }
            };
            if rc != ffi::SQLITE_OK {
                reset(stmt);
                return Err(self.error(rc));
            }
        }
        Ok(stmt)
    }

    fn prepare(&mut self, sql: &'static str) -> StoreResult<NonNull<ffi::sqlite3_stmt>> {
        let mut stmt = ptr::null_mut();
        let len = c_int::try_from(sql.len()).map_err(|_| internal("statement too long"))?;
        // SAFETY: `db` is ours (see `new`); `sql` outlives the call; PERSISTENT tells
        // SQLite the statement will be kept and reused.
        let rc = unsafe {
            ffi::sqlite3_prepare_v3(
                self.db.as_ptr(),
                sql.as_ptr().cast(),
                len,
                ffi::SQLITE_PREPARE_PERSISTENT,
                &mut stmt,
                ptr::null_mut(),
            )
        };
        if rc != ffi::SQLITE_OK {
            return Err(self.error(rc));
        }
        NonNull::new(stmt).ok_or_else(|| internal("an empty statement"))
    }

    /// One step: `true` while a row is current, `false` once done.
    fn step(&mut self, stmt: NonNull<ffi::sqlite3_stmt>) -> StoreResult<bool> {
        // SAFETY: a live statement of our handle, with its parameters bound.
        match unsafe { ffi::sqlite3_step(stmt.as_ptr()) } {
            ffi::SQLITE_ROW => Ok(true),
            ffi::SQLITE_DONE => Ok(false),
            rc => Err(self.error(rc)),
        }
    }

    /// The connection's last error, mapped as `error::db` maps sqlx's: busy or locked is
    /// `Unavailable`, anything else `Internal` with SQLite's message.
    fn error(&self, rc: c_int) -> StoreError {
        // SAFETY: `db` is ours; the message is copied before any other call on it.
        let message = unsafe { CStr::from_ptr(ffi::sqlite3_errmsg(self.db.as_ptr())) }
            .to_string_lossy()
            .into_owned();
        let message = format!("error returned from database: ({rc}) {message}");
        match rc & 0xff {
            ffi::SQLITE_BUSY | ffi::SQLITE_LOCKED => StoreError::Unavailable(message),
            _ => StoreError::Internal(message),
        }
    }
}

/// Turns on SQLite's query planner stability guarantee (QPSG) for this connection: a
/// prepared statement keeps the plan it was prepared with, whatever is bound to it later.
///
/// Without it, SQLite (3.47 and later) marks a statement whose plan could depend on a
/// bound value (`LIMIT ?`, `LIKE ?`, a parameter compared with a partial index's
/// condition) and prepares it again, parsing and planning from the text, every time that
/// parameter is bound anew: every run of a cached statement that pages with `LIMIT ?`.
/// None of our plans depend on such a value. Measured in `hearth-bench write`, preparing
/// the notification candidates' query again on each message took 17 % of the server's
/// CPU.
pub(crate) async fn keep_plans(conn: &mut SqliteConnection) -> Result<(), sqlx::Error> {
    let mut locked = conn.lock_handle().await?;
    let db = locked.as_raw_handle();
    // SAFETY: the lock gives this thread the handle for the call; the option takes an
    // int (1: on) and an optional int pointer for the new setting, which we do not need.
    let rc = unsafe {
        ffi::sqlite3_db_config(
            db.as_ptr(),
            ffi::SQLITE_DBCONFIG_ENABLE_QPSG,
            1 as c_int,
            ptr::null_mut::<c_int>(),
        )
    };
    if rc == ffi::SQLITE_OK {
        Ok(())
    } else {
        Err(sqlx::Error::Configuration(
            format!("enabling SQLite's query planner stability guarantee: code {rc}").into(),
        ))
    }
}

/// Has SQLite write into `pages`, after each commit on this connection, how many pages
/// the write-ahead log then holds. This replaces SQLite's automatic checkpoints on the
/// connection, which use the same hook. Undo it with [`untrack_log_pages`] before the
/// connection closes, which also drops the hook's reference to `pages`.
pub(crate) async fn track_log_pages(
    conn: &mut SqliteConnection,
    pages: Arc<AtomicI64>,
) -> Result<(), sqlx::Error> {
    let mut locked = conn.lock_handle().await?;
    let db = locked.as_raw_handle();
    let arg = Arc::into_raw(pages).cast_mut().cast::<c_void>();
    // SAFETY: the lock gives this thread the handle; `arg` stays valid until
    // `untrack_log_pages` takes it back (or, if that never runs, leaks: never dangles).
    let previous = unsafe { ffi::sqlite3_wal_hook(db.as_ptr(), Some(log_committed), arg) };
    release_log_pages(previous);
    Ok(())
}

/// Undoes [`track_log_pages`].
pub(crate) async fn untrack_log_pages(conn: &mut SqliteConnection) -> Result<(), sqlx::Error> {
    let mut locked = conn.lock_handle().await?;
    let db = locked.as_raw_handle();
    // SAFETY: the lock gives this thread the handle; with no hook SQLite keeps no pointer.
    let previous = unsafe { ffi::sqlite3_wal_hook(db.as_ptr(), None, ptr::null_mut()) };
    release_log_pages(previous);
    Ok(())
}

/// Drops the reference a hook set by [`track_log_pages`] held (`arg` is that hook's
/// argument, or null or another hook's if it was not ours).
fn release_log_pages(arg: *mut c_void) {
    if !arg.is_null() {
        // SAFETY: the only hook this crate sets is `log_committed`, whose argument came
        // from `Arc::into_raw` in `track_log_pages` and is released once, here.
        drop(unsafe { Arc::from_raw(arg.cast_const().cast::<AtomicI64>()) });
    }
}

/// SQLite's callback after each commit in WAL mode.
extern "C" fn log_committed(
    arg: *mut c_void,
    _db: *mut ffi::sqlite3,
    _schema: *const c_char,
    pages: c_int,
) -> c_int {
    // SAFETY: `arg` is the `AtomicI64` that `track_log_pages` registered, alive while the
    // hook is.
    let count = unsafe { &*arg.cast_const().cast::<AtomicI64>() };
    count.store(i64::from(pages), Ordering::Relaxed);
    ffi::SQLITE_OK
}

/// Whether [`keep_plans`] is in force on this connection.
#[cfg(test)]
pub(crate) async fn keeps_plans(conn: &mut SqliteConnection) -> bool {
    let mut locked = conn.lock_handle().await.unwrap();
    let db = locked.as_raw_handle();
    let mut on: c_int = -1;
    // SAFETY: as in `keep_plans`; -1 asks for the setting without changing it.
    let rc = unsafe {
        ffi::sqlite3_db_config(
            db.as_ptr(),
            ffi::SQLITE_DBCONFIG_ENABLE_QPSG,
            -1 as c_int,
            &mut on as *mut c_int,
        )
    };
    assert_eq!(rc, ffi::SQLITE_OK);
    on == 1
}

/// Readies a statement for its next use and drops its bindings.
fn reset(stmt: NonNull<ffi::sqlite3_stmt>) {
    // SAFETY: a live statement of our handle. The return codes repeat the last step's
    // error, which the caller already has.
    unsafe {
        ffi::sqlite3_reset(stmt.as_ptr());
        ffi::sqlite3_clear_bindings(stmt.as_ptr());
    }
}

fn internal(what: &str) -> StoreError {
    StoreError::Internal(format!("raw SQLite: {what}"))
}
