//! A short-lived, in-memory memo of session lookups (token hash → account), so that a
//! client making many requests does not cost a database read for each.
//!
//! # Why it stays correct
//!
//! A cached session must stop working as soon as the store would refuse it. It can be
//! refused for four reasons, each handled:
//!
//! - **Expiry**: an entry keeps the session's `expires_at` and is never served past it.
//! - **Logout**: `Hub::end_session` forgets the token. It runs on this node right after
//!   the session's row was deleted and before the logout is answered, and on every other
//!   node when the bus brings it the same signal.
//! - **Deactivation, role or profile changes**: they commit a `user.updated` event;
//!   `Hub::publish` forgets every session of that account. This node publishes before it
//!   answers the change; other nodes hear it over the bus.
//! - **A lookup racing with one of these**: it cannot re-insert what it read (see
//!   [`crate::memo`]).
//!
//! With several nodes the bus (Redis) is at-most-once: a lost signal would leave another
//! node serving a revoked session. Entries there live at most [`SHARED_TTL`] (one
//! second): after a logout or deactivation elsewhere, a node whose signal was lost refuses
//! the session within that second. On one node (the in-process bus) nothing is lost and
//! the revocation is immediate, so entries live longer (see [`crate::memo`]).

use std::time::Duration;

use hearth_core::Timestamp;
use hearth_core::id::{UserId, WorkspaceId};
use hearth_core::model::Session;
use hearth_core::secret::SecretHash;

#[cfg(doc)]
use crate::memo::SHARED_TTL;
use crate::memo::{Memo, Ticket};

/// At most this many sessions are remembered (about 0.5 KiB each).
const CAPACITY: usize = 10_000;

pub struct SessionCache {
    memo: Memo<SecretHash, Session>,
}

impl SessionCache {
    /// An empty cache whose entries are served for `ttl` ([`crate::memo::ttl`]).
    pub fn new(ttl: Duration) -> Self {
        Self {
            memo: Memo::new(CAPACITY, ttl),
        }
    }

    /// The cached session of `token`, if one is fresh and not expired; otherwise the ticket
    /// with which to store what the store says.
    pub fn get(&self, token: &SecretHash) -> Result<Session, Ticket> {
        self.memo
            .get(token, |session| session.expires_at > Timestamp::now())
    }

    /// Remembers what the store said of `token`, unless something was forgotten since the
    /// lookup's `ticket` was taken.
    pub fn store(&self, ticket: Ticket, token: &SecretHash, session: &Session) {
        self.memo.store(ticket, token.clone(), session.clone());
    }

    /// Forgets one session (it ended).
    pub fn forget_session(&self, token: &SecretHash) {
        self.memo.forget(token);
    }

    /// Forgets every session of an account (it changed: deactivated, a new role...).
    pub fn forget_user(&self, ws: &WorkspaceId, user: &UserId) {
        self.memo
            .forget_where(|_, s| s.user.id == *user && s.user.workspace_id == *ws);
    }
}
