//! Measurement: latency histograms and the delivery checks every scenario applies.
//!
//! Latencies go into an HdrHistogram in microseconds (3 significant figures), so
//! percentiles up to p99.9 and the max are exact to 0.1% however many samples a run takes.
//! [`SeqTracker`] holds one connection's view of the event stream and classifies each seq
//! as in order, a duplicate, or out of order; [`DeliveryLedger`] checks that every expected
//! (connection, message) pair arrived exactly once.

use std::collections::HashSet;
use std::fmt;
use std::time::Duration;

use hdrhistogram::Histogram;
use serde::Serialize;

/// The largest latency tracked; longer ones are recorded as this (one hour).
const MAX_TRACKED_US: u64 = 3_600_000_000;

/// A latency distribution in microseconds.
pub struct Latency {
    histogram: Histogram<u64>,
}

impl Default for Latency {
    fn default() -> Self {
        Self {
            histogram: Histogram::new_with_bounds(1, MAX_TRACKED_US, 3)
                .expect("valid bounds and precision"),
        }
    }
}

impl Latency {
    pub fn record(&mut self, latency: Duration) {
        let micros = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
        self.histogram.saturating_record(micros.max(1));
    }

    /// Adds every sample of `other` (per-task histograms merged at the end of a run).
    pub fn merge(&mut self, other: &Latency) {
        self.histogram
            .add(&other.histogram)
            .expect("histograms of the same bounds");
    }

    pub fn summary(&self) -> LatencySummary {
        let h = &self.histogram;
        if h.is_empty() {
            return LatencySummary::default();
        }
        LatencySummary {
            count: h.len(),
            mean_us: h.mean().round() as u64,
            p50_us: h.value_at_quantile(0.50),
            p99_us: h.value_at_quantile(0.99),
            p999_us: h.value_at_quantile(0.999),
            max_us: h.max(),
        }
    }
}

/// Percentiles of a [`Latency`], as reported.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct LatencySummary {
    pub count: u64,
    pub mean_us: u64,
    pub p50_us: u64,
    pub p99_us: u64,
    pub p999_us: u64,
    pub max_us: u64,
}

impl fmt::Display for LatencySummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "p50 {} | p99 {} | p99.9 {} | max {} | mean {} (n={})",
            Micros(self.p50_us),
            Micros(self.p99_us),
            Micros(self.p999_us),
            Micros(self.max_us),
            Micros(self.mean_us),
            self.count
        )
    }
}

/// Microseconds shown in the unit a person reads best.
pub struct Micros(pub u64);

impl fmt::Display for Micros {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let us = self.0;
        if us < 1_000 {
            write!(f, "{us} µs")
        } else if us < 1_000_000 {
            write!(f, "{:.2} ms", us as f64 / 1e3)
        } else {
            write!(f, "{:.3} s", us as f64 / 1e6)
        }
    }
}

/// How a seq compares with what one connection has already seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeqVerdict {
    InOrder,
    /// Seen before on this connection.
    Duplicate,
    /// New, but lower than one already seen: the stream broke seq order.
    OutOfOrder,
}

/// One connection's event stream: every seq must be new and higher than the last.
#[derive(Debug, Default)]
pub struct SeqTracker {
    last: i64,
    seen: HashSet<i64>,
}

impl SeqTracker {
    pub fn observe(&mut self, seq: i64) -> SeqVerdict {
        if !self.seen.insert(seq) {
            return SeqVerdict::Duplicate;
        }
        if seq <= self.last {
            return SeqVerdict::OutOfOrder;
        }
        self.last = seq;
        SeqVerdict::InOrder
    }
}

/// Which (connection, message) deliveries arrived, to count the lost and the doubled.
#[derive(Debug, Default)]
pub struct DeliveryLedger {
    delivered: HashSet<(u32, u64)>,
    duplicates: u64,
}

impl DeliveryLedger {
    /// Records a delivery; false when this connection already had this message.
    pub fn record(&mut self, conn: u32, msg: u64) -> bool {
        let fresh = self.delivered.insert((conn, msg));
        if !fresh {
            self.duplicates += 1;
        }
        fresh
    }

    pub fn received(&self) -> u64 {
        self.delivered.len() as u64
    }

    pub fn duplicates(&self) -> u64 {
        self.duplicates
    }
}

/// The delivery figures every fan-out scenario reports.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct DeliveryCounts {
    /// Messages the scenario sent.
    pub sent: u64,
    /// Sends the server refused (an `error` frame or a non-2xx answer).
    pub send_errors: u64,
    /// Deliveries owed: each accepted message to each other member's connection.
    pub expected: u64,
    /// Distinct deliveries that arrived before the end of the grace period.
    pub received: u64,
    /// Expected deliveries that never arrived.
    pub lost: u64,
    /// Messages (or seqs) a connection received more than once.
    pub duplicated: u64,
    /// Seqs lower than one the connection had already seen.
    pub out_of_order: u64,
    /// Deliveries to a connection outside the message's room: a leak.
    pub misrouted: u64,
}

impl DeliveryCounts {
    /// Whether every expected delivery arrived exactly once and in order.
    pub fn is_clean(&self) -> bool {
        self.send_errors == 0
            && self.lost == 0
            && self.duplicated == 0
            && self.out_of_order == 0
            && self.misrouted == 0
            && self.received == self.expected
    }
}

impl fmt::Display for DeliveryCounts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "sent {} (errors {}) | deliveries expected {}, received {}, lost {}, \
             duplicated {}, out of order {}, misrouted {} | {}",
            self.sent,
            self.send_errors,
            self.expected,
            self.received,
            self.lost,
            self.duplicated,
            self.out_of_order,
            self.misrouted,
            if self.is_clean() { "OK" } else { "NOT CLEAN" }
        )
    }
}

/// `ours / baseline`, or `None` when the baseline is zero.
pub fn ratio(ours: u64, baseline: u64) -> Option<f64> {
    (baseline > 0).then(|| ours as f64 / baseline as f64)
}

/// Our latency percentiles divided by the baseline's: 1.0 means as fast as the bare limit.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Ratios {
    pub p50: Option<f64>,
    pub p99: Option<f64>,
    pub p999: Option<f64>,
    pub max: Option<f64>,
}

impl Ratios {
    pub fn of(ours: &LatencySummary, baseline: &LatencySummary) -> Self {
        Self {
            p50: ratio(ours.p50_us, baseline.p50_us),
            p99: ratio(ours.p99_us, baseline.p99_us),
            p999: ratio(ours.p999_us, baseline.p999_us),
            max: ratio(ours.max_us, baseline.max_us),
        }
    }
}

impl fmt::Display for Ratios {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let show = |r: Option<f64>| r.map_or("n/a".to_owned(), |r| format!("{r:.2}x"));
        write!(
            f,
            "p50 {} | p99 {} | p99.9 {} | max {}",
            show(self.p50),
            show(self.p99),
            show(self.p999),
            show(self.max)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seq_tracker_flags_duplicates_and_reordering() {
        let mut t = SeqTracker::default();
        assert_eq!(t.observe(3), SeqVerdict::InOrder);
        assert_eq!(t.observe(7), SeqVerdict::InOrder);
        assert_eq!(t.observe(7), SeqVerdict::Duplicate);
        assert_eq!(t.observe(3), SeqVerdict::Duplicate);
        assert_eq!(t.observe(5), SeqVerdict::OutOfOrder);
        assert_eq!(t.observe(8), SeqVerdict::InOrder);
    }

    #[test]
    fn ledger_counts_each_pair_once() {
        let mut l = DeliveryLedger::default();
        assert!(l.record(1, 10));
        assert!(l.record(2, 10));
        assert!(!l.record(1, 10));
        assert_eq!(l.received(), 2);
        assert_eq!(l.duplicates(), 1);
    }

    #[test]
    fn latency_percentiles_are_in_microseconds() {
        let mut l = Latency::default();
        for ms in 1..=100 {
            l.record(Duration::from_millis(ms));
        }
        let s = l.summary();
        assert_eq!(s.count, 100);
        assert!((49_900..=50_100).contains(&s.p50_us), "{s:?}");
        assert!((99_000..=100_100).contains(&s.max_us), "{s:?}");
        assert_eq!(Latency::default().summary(), LatencySummary::default());
    }

    #[test]
    fn counts_are_clean_only_when_complete() {
        let mut c = DeliveryCounts {
            sent: 2,
            expected: 18,
            received: 18,
            ..DeliveryCounts::default()
        };
        assert!(c.is_clean());
        c.received = 17;
        c.lost = 1;
        assert!(!c.is_clean());
    }

    #[test]
    fn micros_display_picks_a_unit() {
        assert_eq!(Micros(850).to_string(), "850 µs");
        assert_eq!(Micros(1_500).to_string(), "1.50 ms");
        assert_eq!(Micros(2_000_000).to_string(), "2.000 s");
    }
}
