//! Turning sqlx errors into [`StoreError`]s.
//!
//! Unique violations that a caller can cause become the matching `Conflict` code; a
//! database that is locked or a pool that is exhausted is `Unavailable` (worth a retry);
//! anything else is a bug or a corrupt file and becomes `Internal` with its cause, which
//! the server logs and never shows.

use hearth_core::store::StoreError;
use sqlx::error::ErrorKind;

/// SQLITE_BUSY and SQLITE_LOCKED; extended codes keep the primary code in the low byte.
const SQLITE_BUSY: i64 = 5;
const SQLITE_LOCKED: i64 = 6;

/// Which unique index a violation names, and the conflict code it means for callers.
/// SQLite reports a violation as `UNIQUE constraint failed: table.col, table.col`.
const CONFLICTS: &[(&str, &str)] = &[
    ("workspaces.slug", "slug_taken"),
    ("users.email", "email_taken"),
    ("users.handle", "handle_taken"),
    ("channels.name", "name_taken"),
];

pub(crate) fn db(error: sqlx::Error) -> StoreError {
    match &error {
        sqlx::Error::Database(e) => {
            if e.kind() == ErrorKind::UniqueViolation {
                let message = e.message();
                if let Some((_, code)) = CONFLICTS.iter().find(|(c, _)| message.contains(c)) {
                    return StoreError::Conflict(code);
                }
            }
            let code = e.code().and_then(|c| c.parse::<i64>().ok()).unwrap_or(0);
            if matches!(code & 0xff, SQLITE_BUSY | SQLITE_LOCKED) {
                return StoreError::Unavailable(error.to_string());
            }
            StoreError::Internal(error.to_string())
        }
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => {
            StoreError::Unavailable(error.to_string())
        }
        _ => StoreError::Internal(error.to_string()),
    }
}

/// A row that holds something we never write: a bug or a tampered file.
pub(crate) fn corrupt(what: &str, value: &str) -> StoreError {
    StoreError::Internal(format!("corrupt row: {what} {value:?}"))
}

/// Event payloads are our own JSON; failing to encode or decode one is a bug.
pub(crate) fn json(error: serde_json::Error) -> StoreError {
    StoreError::Internal(format!("event payload: {error}"))
}
