//! [`Sending`]: how many sends this node is working on, on average over a span of time,
//! so that background work can tell when it would take time from senders, and step aside.
//!
//! A send counts from the moment its request has been read until it is answered
//! ([`crate::api::posting::queue`], REST and WebSocket alike): the server's own time,
//! the durable commit included, never the client's upload. Averaged over a span, that is
//! the number of sends the node holds at once (Little's law), which grows past what the
//! node carries as soon as sends queue for its cores or its database.

use std::sync::Mutex;

use tokio::time::Instant;

/// The gauge; one per node, shared by the API and the notification workers.
#[derive(Debug)]
pub struct Sending {
    gauge: Mutex<Gauge>,
}

#[derive(Debug)]
struct Gauge {
    in_flight: u32,
    /// When `in_flight` last changed.
    changed: Instant,
    /// Send-nanoseconds accumulated up to `changed` (whole numbers, so that a span's
    /// average is exact).
    area: u128,
}

impl Gauge {
    /// Send-nanoseconds accumulated up to `now`.
    fn area_at(&self, now: Instant) -> u128 {
        self.area + u128::from(self.in_flight) * (now - self.changed).as_nanos()
    }

    /// One more send in flight, or one fewer, from now. The time is read under the
    /// lock, so that `changed` never goes back.
    fn step(&mut self, up: bool) {
        let now = Instant::now();
        self.area = self.area_at(now);
        self.changed = now;
        if up {
            self.in_flight += 1;
        } else {
            self.in_flight -= 1;
        }
    }
}

/// A point to average from (see [`Sending::average_since`]).
#[derive(Debug, Clone, Copy)]
pub struct Mark {
    at: Instant,
    area: u128,
}

/// One send in flight; it ends when this is dropped.
#[must_use = "the send counts only while this is held"]
pub struct InFlight<'a> {
    sending: &'a Sending,
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.sending.gauge().step(false);
    }
}

impl Default for Sending {
    fn default() -> Self {
        Self {
            gauge: Mutex::new(Gauge {
                in_flight: 0,
                changed: Instant::now(),
                area: 0,
            }),
        }
    }
}

impl Sending {
    /// A send starts; it counts until the returned guard is dropped.
    pub fn start(&self) -> InFlight<'_> {
        self.gauge().step(true);
        InFlight { sending: self }
    }

    /// Sends in flight right now.
    pub fn in_flight(&self) -> u32 {
        self.gauge().in_flight
    }

    /// Now, to average from.
    pub fn mark(&self) -> Mark {
        let gauge = self.gauge();
        let now = Instant::now();
        Mark {
            at: now,
            area: gauge.area_at(now),
        }
    }

    /// Sends in flight on average since `mark` (0 if no time has passed).
    pub fn average_since(&self, mark: &Mark) -> f64 {
        let gauge = self.gauge();
        let now = Instant::now();
        let span = (now - mark.at).as_nanos();
        if span == 0 {
            return 0.0;
        }
        (gauge.area_at(now) - mark.area) as f64 / span as f64
    }

    fn gauge(&self) -> std::sync::MutexGuard<'_, Gauge> {
        // The gauge is a few numbers updated in place: a panic elsewhere cannot leave it
        // half-written, so a poisoned lock is still good to read.
        self.gauge.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test(start_paused = true)]
    async fn the_average_is_sends_in_flight_over_the_span() {
        let sending = Sending::default();
        let mark = sending.mark();
        assert_eq!(sending.average_since(&mark), 0.0, "no time passed");
        // Two sends for the first second, one for the next, none for the last two.
        let first = sending.start();
        let second = sending.start();
        tokio::time::advance(Duration::from_secs(1)).await;
        drop(first);
        tokio::time::advance(Duration::from_secs(1)).await;
        assert!((sending.average_since(&mark) - 1.5).abs() < 1e-9);
        drop(second);
        tokio::time::advance(Duration::from_secs(2)).await;
        assert!((sending.average_since(&mark) - 0.75).abs() < 1e-9);
        // A later mark sees only what followed it.
        let later = sending.mark();
        let _third = sending.start();
        tokio::time::advance(Duration::from_secs(1)).await;
        assert!((sending.average_since(&later) - 1.0).abs() < 1e-9);
    }
}
