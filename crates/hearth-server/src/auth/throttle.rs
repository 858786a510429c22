//! Throttling of failed logins per account, against password guessing.
//!
//! After [`MAX_FAILURES`] failures within [`WINDOW`], further attempts for that workspace
//! and email are refused with 429 and `Retry-After` until the window has passed, whether
//! or not the password is right. A success clears the count. Kept in memory per node:
//! several nodes multiply the allowance, which still bounds guessing to a few attempts a
//! minute.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub const MAX_FAILURES: u32 = 5;
pub const WINDOW: Duration = Duration::from_secs(5 * 60);
/// Entries kept at most; expired ones are swept first when it fills up.
const MAX_ENTRIES: usize = 100_000;

#[derive(Default)]
pub struct LoginThrottle {
    failures: Mutex<HashMap<String, Failures>>,
}

struct Failures {
    count: u32,
    window_start: Instant,
}

impl LoginThrottle {
    fn key(workspace: &str, email: &str) -> String {
        format!("{workspace}\u{0}{email}")
    }

    /// `Err(seconds to wait)` while the account is locked.
    pub fn check(&self, workspace: &str, email: &str) -> Result<(), u64> {
        let now = Instant::now();
        let map = self.failures.lock().expect("throttle lock poisoned");
        match map.get(&Self::key(workspace, email)) {
            Some(f) if f.count >= MAX_FAILURES && now < f.window_start + WINDOW => {
                let wait = (f.window_start + WINDOW).saturating_duration_since(now);
                Err(wait.as_secs().max(1))
            }
            _ => Ok(()),
        }
    }

    pub fn record_failure(&self, workspace: &str, email: &str) {
        let now = Instant::now();
        let mut map = self.failures.lock().expect("throttle lock poisoned");
        if map.len() >= MAX_ENTRIES {
            map.retain(|_, f| now < f.window_start + WINDOW);
        }
        let entry = map.entry(Self::key(workspace, email)).or_insert(Failures {
            count: 0,
            window_start: now,
        });
        if now >= entry.window_start + WINDOW {
            *entry = Failures {
                count: 0,
                window_start: now,
            };
        }
        entry.count += 1;
    }

    pub fn record_success(&self, workspace: &str, email: &str) {
        let mut map = self.failures.lock().expect("throttle lock poisoned");
        map.remove(&Self::key(workspace, email));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_after_max_failures_and_unlocks_on_success() {
        let t = LoginThrottle::default();
        for _ in 0..MAX_FAILURES {
            assert!(t.check("w", "a@x.io").is_ok());
            t.record_failure("w", "a@x.io");
        }
        let wait = t.check("w", "a@x.io").unwrap_err();
        assert!((1..=300).contains(&wait));
        assert!(
            t.check("w", "b@x.io").is_ok(),
            "other accounts are unaffected"
        );
        assert!(
            t.check("other", "a@x.io").is_ok(),
            "other workspaces are unaffected"
        );
        t.record_success("w", "a@x.io");
        assert!(t.check("w", "a@x.io").is_ok());
    }
}
