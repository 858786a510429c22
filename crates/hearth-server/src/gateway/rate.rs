//! Per-connection command rate limiting: a token bucket, as Discord does.
//!
//! Within the limit a command runs; past it the command is refused with an error frame;
//! a client that keeps going after being refused `ABUSE_AFTER` times in a row is closed.

use std::time::Duration;

use tokio::time::Instant;

/// Refusals in a row after which the connection is closed.
const ABUSE_AFTER: u32 = 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Allowed,
    Refused,
    Abusive,
}

pub struct RateLimit {
    capacity: f64,
    tokens: f64,
    per_second: f64,
    last: Instant,
    refused_in_a_row: u32,
}

impl RateLimit {
    /// `n` commands per minute, with bursts of up to `n`.
    pub fn per_minute(n: u32) -> Self {
        let capacity = f64::from(n.max(1));
        Self {
            capacity,
            tokens: capacity,
            per_second: capacity / Duration::from_secs(60).as_secs_f64(),
            last: Instant::now(),
            refused_in_a_row: 0,
        }
    }

    pub fn take(&mut self) -> Verdict {
        let now = Instant::now();
        let elapsed = now.duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + elapsed * self.per_second).min(self.capacity);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            self.refused_in_a_row = 0;
            return Verdict::Allowed;
        }
        self.refused_in_a_row += 1;
        if self.refused_in_a_row > ABUSE_AFTER {
            Verdict::Abusive
        } else {
            Verdict::Refused
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn refuses_past_the_burst_then_refills_and_closes_abusers() {
        let mut rate = RateLimit::per_minute(120);
        for _ in 0..120 {
            assert_eq!(rate.take(), Verdict::Allowed);
        }
        assert_eq!(rate.take(), Verdict::Refused);
        tokio::time::advance(Duration::from_secs(1)).await;
        assert_eq!(
            rate.take(),
            Verdict::Allowed,
            "two tokens a second come back"
        );
        assert_eq!(rate.take(), Verdict::Allowed);
        let verdicts: Vec<_> = (0..ABUSE_AFTER + 1).map(|_| rate.take()).collect();
        assert_eq!(verdicts.last(), Some(&Verdict::Abusive));
    }
}
