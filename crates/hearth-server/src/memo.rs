//! A short-lived, in-memory memo of store lookups that a node forgets on the events that
//! change them: the mechanism behind the session cache (`auth::session_cache`) and the
//! channel access cache (`api::access_cache`), whose docs say what each forgets and when.
//!
//! # Why a memo stays correct
//!
//! - An entry is served for at most its memo's TTL ([`ttl`]), then the store is asked
//!   again. With several nodes that is [`SHARED_TTL`], one second: it bounds how long a
//!   change another node made is missed if the bus (Redis, at-most-once) lost its signal.
//!   On one node nothing is lost and forgetting is immediate, so the TTL
//!   ([`ONE_NODE_TTL`]) only bounds how long an entry occupies the memo; it is long
//!   enough that a user who posts in a channel every few seconds is not looked up each
//!   time (with a one-second TTL, nearly every post of a busy node read the store first).
//! - A lookup racing with a change cannot put back what the change made stale: an entry
//!   is stored only if nothing was forgotten since its lookup began (a generation counter,
//!   read into a [`Ticket`] when the lookup starts and checked under the same lock as the
//!   insert).

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The longest an entry is served without asking the store again when several nodes
/// share the database (see the module docs).
pub const SHARED_TTL: Duration = Duration::from_secs(1);

/// The longest an entry is served without asking the store again on a single node, where
/// every change is forgotten as it commits (see the module docs).
pub const ONE_NODE_TTL: Duration = Duration::from_secs(60);

/// The TTL of a node's memos: [`SHARED_TTL`] when it is one of several nodes.
pub fn ttl(several_nodes: bool) -> Duration {
    if several_nodes {
        SHARED_TTL
    } else {
        ONE_NODE_TTL
    }
}

pub struct Memo<K, V> {
    inner: Mutex<Inner<K, V>>,
    /// How long an entry is served.
    ttl: Duration,
    /// At most this many entries; a full memo first drops its stale entries, and if more
    /// than three quarters of it are still fresh, all of them.
    capacity: usize,
}

struct Inner<K, V> {
    entries: HashMap<K, Entry<V>>,
    /// Bumped by every forgetting; see the module docs.
    generation: u64,
}

struct Entry<V> {
    value: V,
    stored: Instant,
}

/// Where a lookup started, to hand back to [`Memo::store`].
#[derive(Debug, Clone, Copy)]
pub struct Ticket(u64);

impl<K: Hash + Eq, V: Clone> Memo<K, V> {
    pub fn new(capacity: usize, ttl: Duration) -> Self {
        Self {
            ttl,
            inner: Mutex::new(Inner {
                entries: HashMap::new(),
                generation: 0,
            }),
            capacity,
        }
    }

    /// The value remembered for `key` if it is younger than the TTL and `usable` accepts
    /// it; otherwise the ticket with which to store what the store says.
    pub fn get(&self, key: &K, usable: impl FnOnce(&V) -> bool) -> Result<V, Ticket> {
        let inner = self.lock();
        match inner.entries.get(key) {
            Some(entry) if entry.stored.elapsed() < self.ttl && usable(&entry.value) => {
                Ok(entry.value.clone())
            }
            _ => Err(Ticket(inner.generation)),
        }
    }

    /// Remembers what the store said of `key`, unless something was forgotten since the
    /// lookup's `ticket` was taken.
    pub fn store(&self, ticket: Ticket, key: K, value: V) {
        let mut inner = self.lock();
        if inner.generation != ticket.0 {
            return;
        }
        if inner.entries.len() >= self.capacity {
            let ttl = self.ttl;
            inner.entries.retain(|_, e| e.stored.elapsed() < ttl);
            // Still mostly fresh: start over rather than sweep again at the next insert,
            // so a sweep (linear in the capacity) comes at most once per quarter of it.
            if inner.entries.len() > self.capacity / 4 * 3 {
                inner.entries.clear();
            }
        }
        let stored = Instant::now();
        inner.entries.insert(key, Entry { value, stored });
    }

    /// Forgets one entry.
    pub fn forget(&self, key: &K) {
        let mut inner = self.lock();
        inner.generation += 1;
        inner.entries.remove(key);
    }

    /// Forgets every entry `stale` picks.
    pub fn forget_where(&self, mut stale: impl FnMut(&K, &V) -> bool) {
        let mut inner = self.lock();
        inner.generation += 1;
        inner.entries.retain(|k, e| !stale(k, &e.value));
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner<K, V>> {
        // A panic while holding this lock cannot leave the map half-updated in a way that
        // matters (every operation is one map call), so a poisoned lock is still usable.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_is_served_until_forgotten() {
        let memo: Memo<&str, u32> = Memo::new(10, SHARED_TTL);
        let ticket = memo.get(&"a", |_| true).unwrap_err();
        memo.store(ticket, "a", 1);
        assert_eq!(memo.get(&"a", |_| true).ok(), Some(1));
        assert!(memo.get(&"a", |v| *v > 1).is_err(), "not usable");
        memo.forget(&"a");
        assert!(memo.get(&"a", |_| true).is_err());
        let ticket = memo.get(&"b", |_| true).unwrap_err();
        memo.store(ticket, "b", 2);
        memo.forget_where(|_, v| *v == 2);
        assert!(memo.get(&"b", |_| true).is_err());
    }

    #[test]
    fn a_lookup_that_raced_with_a_forgetting_is_not_stored() {
        let memo: Memo<&str, u32> = Memo::new(10, SHARED_TTL);
        let ticket = memo.get(&"a", |_| true).unwrap_err();
        // A change lands while the lookup reads the store...
        memo.forget(&"a");
        // ...so what it read may predate the change, and is not kept.
        memo.store(ticket, "a", 1);
        assert!(memo.get(&"a", |_| true).is_err());
    }

    #[test]
    fn a_full_memo_starts_over() {
        let memo: Memo<u32, u32> = Memo::new(4, ONE_NODE_TTL);
        for key in 0..5 {
            let ticket = memo.get(&key, |_| true).unwrap_err();
            memo.store(ticket, key, key);
        }
        // Every entry was fresh when the fifth came: the memo dropped them all and kept it.
        assert!((0..4).all(|key| memo.get(&key, |_| true).is_err()));
        assert_eq!(memo.get(&4, |_| true).ok(), Some(4));
        assert_eq!(memo.lock().entries.len(), 1);
    }

    #[test]
    fn entries_are_served_for_the_memos_ttl() {
        let short: Memo<&str, u32> = Memo::new(10, Duration::ZERO);
        let long: Memo<&str, u32> = Memo::new(10, ONE_NODE_TTL);
        for memo in [&short, &long] {
            let ticket = memo.get(&"a", |_| true).unwrap_err();
            memo.store(ticket, "a", 1);
        }
        assert!(short.get(&"a", |_| true).is_err(), "past its TTL at once");
        assert_eq!(long.get(&"a", |_| true).ok(), Some(1));
        assert_eq!(ttl(true), SHARED_TTL);
        assert_eq!(ttl(false), ONE_NODE_TTL);
    }
}
