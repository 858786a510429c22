//! Turning sqlx errors into [`StoreError`]s.
//!
//! Unique violations that a caller can cause become the matching `Conflict` code, found by
//! the constraint's name (named in the migration for this). A server that is unreachable,
//! shutting down, out of connections, or that aborted a transaction to break a deadlock
//! or a serialization conflict is `Unavailable`: the request may well succeed if retried,
//! and callers answer 503 with `Retry-After`. Anything else is a bug or a corrupt row and
//! becomes `Internal` with its cause, which the server logs and never shows.

use hearth_core::store::StoreError;
use sqlx::error::ErrorKind;
use sqlx::migrate::MigrateError;

/// Which unique constraint or index a violation names, and the conflict code it means for
/// callers.
const CONFLICTS: &[(&str, &str)] = &[
    ("workspaces_slug", "slug_taken"),
    ("users_email", "email_taken"),
    ("users_handle", "handle_taken"),
    ("channels_name", "name_taken"),
];

/// SQLSTATEs after which a retry may succeed.
const RETRYABLE: &[&str] = &[
    // serialization_failure and deadlock_detected: the transaction was rolled back.
    "40001", "40P01", // too_many_connections: the server's limit, not our pool's.
    "53300",
    // admin_shutdown, crash_shutdown, cannot_connect_now: a restart or a failover.
    "57P01", "57P02", "57P03",
];

pub(crate) fn db(error: sqlx::Error) -> StoreError {
    match &error {
        sqlx::Error::Database(e) => {
            if e.kind() == ErrorKind::UniqueViolation
                && let Some(constraint) = e.constraint()
                && let Some((_, code)) = CONFLICTS.iter().find(|(c, _)| *c == constraint)
            {
                return StoreError::Conflict(code);
            }
            let code = e.code().unwrap_or_default();
            // Class 08 is every connection exception.
            if code.starts_with("08") || RETRYABLE.contains(&code.as_ref()) {
                return StoreError::Unavailable(error.to_string());
            }
            StoreError::Internal(error.to_string())
        }
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::WorkerCrashed => StoreError::Unavailable(error.to_string()),
        _ => StoreError::Internal(error.to_string()),
    }
}

/// Applying migrations fails like any query when the server is the problem; otherwise the
/// migrations themselves are wrong (or were edited after being applied), which is a bug.
pub(crate) fn migrate(error: MigrateError) -> StoreError {
    match error {
        MigrateError::Execute(e) => db(e),
        other => StoreError::Internal(format!("migrating the database: {other}")),
    }
}

/// A row that holds something we never write: a bug or a tampered database.
pub(crate) fn corrupt(what: &str, value: &str) -> StoreError {
    StoreError::Internal(format!("corrupt row: {what} {value:?}"))
}

/// Event payloads are our own JSON; failing to encode or decode one is a bug.
pub(crate) fn json(error: serde_json::Error) -> StoreError {
    StoreError::Internal(format!("event payload: {error}"))
}
