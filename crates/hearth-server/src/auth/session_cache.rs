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
//! - **A lookup racing with one of these**: an entry is stored only if no forgetting
//!   happened since its lookup began (a generation counter, checked under the same lock as
//!   the insert), so a read that saw the session just before its deletion cannot
//!   re-insert it afterwards.
//!
//! With several nodes the bus (Redis) is at-most-once: a lost signal would leave another
//! node serving a revoked session. Entries therefore live at most [`TTL`] (one second):
//! after a logout or deactivation elsewhere, a node whose signal was lost refuses the
//! session within that second. On one node (the in-process bus) nothing is lost and the
//! revocation is immediate.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use hearth_core::Timestamp;
use hearth_core::id::{UserId, WorkspaceId};
use hearth_core::model::Session;
use hearth_core::secret::SecretHash;

/// The longest an entry is served without asking the store again: the bound on how long a
/// session revoked on another node can still work here if the bus lost the signal.
pub const TTL: Duration = Duration::from_secs(1);

/// At most this many sessions are remembered (about 0.5 KiB each); a full cache first
/// drops its stale entries, and if it is still full it stores nothing more.
const CAPACITY: usize = 10_000;

#[derive(Default)]
pub struct SessionCache {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    entries: HashMap<SecretHash, Entry>,
    /// Bumped by every forgetting; see the module docs.
    generation: u64,
}

struct Entry {
    session: Session,
    stored: Instant,
}

/// Where a lookup started, to hand back to [`SessionCache::store`].
#[derive(Debug, Clone, Copy)]
pub struct Ticket(u64);

impl SessionCache {
    /// The cached session of `token`, if one is fresh; otherwise the ticket with which to
    /// store what the store says.
    pub fn get(&self, token: &SecretHash) -> Result<Session, Ticket> {
        let inner = self.lock();
        match inner.entries.get(token) {
            Some(entry)
                if entry.stored.elapsed() < TTL && entry.session.expires_at > Timestamp::now() =>
            {
                Ok(entry.session.clone())
            }
            _ => Err(Ticket(inner.generation)),
        }
    }

    /// Remembers what the store said of `token`, unless something was forgotten since the
    /// lookup's `ticket` was taken.
    pub fn store(&self, ticket: Ticket, token: &SecretHash, session: &Session) {
        let mut inner = self.lock();
        if inner.generation != ticket.0 {
            return;
        }
        if inner.entries.len() >= CAPACITY {
            inner.entries.retain(|_, e| e.stored.elapsed() < TTL);
            if inner.entries.len() >= CAPACITY {
                return;
            }
        }
        inner.entries.insert(
            token.clone(),
            Entry {
                session: session.clone(),
                stored: Instant::now(),
            },
        );
    }

    /// Forgets one session (it ended).
    pub fn forget_session(&self, token: &SecretHash) {
        let mut inner = self.lock();
        inner.generation += 1;
        inner.entries.remove(token);
    }

    /// Forgets every session of an account (it changed: deactivated, a new role...).
    pub fn forget_user(&self, ws: &WorkspaceId, user: &UserId) {
        let mut inner = self.lock();
        inner.generation += 1;
        inner
            .entries
            .retain(|_, e| !(e.session.user.id == *user && e.session.user.workspace_id == *ws));
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding this lock cannot leave the map half-updated in a way that
        // matters (every operation is one map call), so a poisoned lock is still usable.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}
