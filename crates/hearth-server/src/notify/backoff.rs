//! When a failed delivery is tried again: exponential backoff with full jitter, so that
//! many deliveries failing together (an endpoint down) do not all come back at once.

use std::time::Duration;

use argon2::password_hash::rand_core::{OsRng, RngCore};
use hearth_core::Timestamp;

/// The time of the next attempt after `attempts` failed ones: about `base * 2^(attempts-1)`
/// capped at `max`, scaled by a random factor between 0.5 and 1.5.
pub fn retry_at(now: Timestamp, attempts: u32, base: Duration, max: Duration) -> Timestamp {
    let exponent = attempts.saturating_sub(1).min(20);
    let delay = base.saturating_mul(1 << exponent).min(max);
    let jitter = 0.5 + (OsRng.next_u32() as f64 / u32::MAX as f64);
    Timestamp(now.0 + (delay.as_millis() as f64 * jitter) as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_up_to_the_cap_with_jitter() {
        let base = Duration::from_secs(10);
        let max = Duration::from_secs(3600);
        for (attempts, nominal) in [(1, 10_000), (2, 20_000), (4, 80_000), (12, 3_600_000)] {
            for _ in 0..50 {
                let at = retry_at(Timestamp(0), attempts, base, max).0;
                assert!(
                    at >= nominal / 2 && at <= nominal * 3 / 2,
                    "{attempts}: {at}"
                );
            }
        }
    }
}
