//! A short-lived, in-memory memo of store lookups that a node forgets on the events that
//! change them: the mechanism behind the session cache (`auth::session_cache`) and the
//! channel access cache (`api::access_cache`), whose docs say what each forgets and when.
//!
//! # Why a memo stays correct
//!
//! - An entry is served for at most [`TTL`], then the store is asked again. That bounds
//!   how long a change another node made is missed if the bus (Redis, at-most-once) lost
//!   its signal; on one node nothing is lost and forgetting is immediate.
//! - A lookup racing with a change cannot put back what the change made stale: an entry
//!   is stored only if nothing was forgotten since its lookup began (a generation counter,
//!   read into a [`Ticket`] when the lookup starts and checked under the same lock as the
//!   insert).

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The longest an entry is served without asking the store again.
pub const TTL: Duration = Duration::from_secs(1);

pub struct Memo<K, V> {
    inner: Mutex<Inner<K, V>>,
    /// At most this many entries; a full memo first drops its stale entries, and if it is
    /// still full it stores nothing more.
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
    pub fn new(capacity: usize) -> Self {
        Self {
            inner: Mutex::new(Inner {
                entries: HashMap::new(),
                generation: 0,
            }),
            capacity,
        }
    }

    /// The value remembered for `key` if it is younger than [`TTL`] and `usable` accepts
    /// it; otherwise the ticket with which to store what the store says.
    pub fn get(&self, key: &K, usable: impl FnOnce(&V) -> bool) -> Result<V, Ticket> {
        let inner = self.lock();
        match inner.entries.get(key) {
            Some(entry) if entry.stored.elapsed() < TTL && usable(&entry.value) => {
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
            inner.entries.retain(|_, e| e.stored.elapsed() < TTL);
            if inner.entries.len() >= self.capacity {
                return;
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
        let memo: Memo<&str, u32> = Memo::new(10);
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
        let memo: Memo<&str, u32> = Memo::new(10);
        let ticket = memo.get(&"a", |_| true).unwrap_err();
        // A change lands while the lookup reads the store...
        memo.forget(&"a");
        // ...so what it read may predate the change, and is not kept.
        memo.store(ticket, "a", 1);
        assert!(memo.get(&"a", |_| true).is_err());
    }

    #[test]
    fn a_full_memo_stores_nothing_more() {
        let memo: Memo<u32, u32> = Memo::new(2);
        for key in 0..3 {
            let ticket = memo.get(&key, |_| true).unwrap_err();
            memo.store(ticket, key, key);
        }
        assert!(memo.get(&0, |_| true).is_ok());
        assert!(memo.get(&2, |_| true).is_err());
    }
}
