//! How the store says no.

/// A store failure. The first four carry a stable code the API passes to the client; the
/// last two are the server's problem and are logged, never shown.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The object does not exist in this workspace.
    #[error("not found")]
    NotFound,
    /// A uniqueness rule: `slug_taken`, `name_taken`, `email_taken`, `handle_taken`.
    #[error("conflict: {0}")]
    Conflict(&'static str),
    /// A request that cannot be carried out as asked: `invalid_invite`, `last_owner`,
    /// `idempotency_key_reused`, `invalid_thread_root`, `invalid_seq`, `too_many_members`,
    /// `message_deleted` (editing or reacting to a tombstone).
    #[error("invalid: {0}")]
    Invalid(&'static str),
    /// The database is unreachable or overloaded; the caller may retry later.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// A bug or a corrupt row.
    #[error("store failure: {0}")]
    Internal(String),
}

pub type StoreResult<T> = Result<T, StoreError>;
