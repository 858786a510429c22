//! Judging what the receiver got against what was sent: which pushes were owed, which
//! arrived once, twice or never, and how long each took from its message's commit.
//!
//! A message is owed exactly one push, to the one recipient it concerns. Its commit is
//! acknowledged by the `201` of its send: the commit happened before that answer left the
//! server, so "201 to push" slightly understates commit-to-push and "send to push" (from
//! when the request left) overstates it; both are reported. A push can beat the `201` to
//! the tool (the worker starts at the commit, the answer still has to be written): it is
//! counted and recorded as zero.

use std::collections::{HashMap, HashSet};
use std::fmt;

use serde::Serialize;
use tokio::time::Instant;

use super::receiver::Arrival;
use crate::stats::Latency;

/// A push the server owes for one acknowledged message.
#[derive(Debug, Clone)]
pub struct Owed {
    /// The recipient the message concerns.
    pub user: String,
    /// When the send left (its due time, for an open-loop send).
    pub sent_at: Instant,
    /// When its `201` came back.
    pub acked_at: Instant,
}

/// Whether every owed push arrived exactly once, to the right target.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct PushCounts {
    /// Pushes owed: one per acknowledged message.
    pub expected: u64,
    /// Owed pushes that arrived (once counted).
    pub received: u64,
    /// Owed pushes that never arrived while the tool listened.
    pub lost: u64,
    /// Requests repeating a notification id already received, and second notifications
    /// (another id) for a message and recipient already notified.
    pub duplicated: u64,
    /// Requests for no owed push: a message not sent here, the wrong recipient's target,
    /// another path or a body that is not a notification.
    pub unexpected: u64,
    /// Requests whose `x-hearth-notification-id` differs from the payload's `id`.
    pub mislabelled: u64,
    /// Owed pushes that arrived before their message's `201` (recorded as zero).
    pub before_ack: u64,
}

impl PushCounts {
    pub fn is_clean(&self) -> bool {
        self.lost == 0
            && self.duplicated == 0
            && self.unexpected == 0
            && self.mislabelled == 0
            && self.received == self.expected
    }

    /// Why these counts make a run unclean; empty when they do not.
    pub fn failures(&self, leg: &str) -> Vec<String> {
        let mut failures = Vec::new();
        for (n, what) in [
            (self.lost, "pushes lost"),
            (self.duplicated, "pushes duplicated"),
            (self.unexpected, "unexpected push requests"),
            (
                self.mislabelled,
                "pushes whose id header differs from their payload's id",
            ),
        ] {
            if n > 0 {
                failures.push(format!("{leg}: {n} {what}"));
            }
        }
        failures
    }
}

impl fmt::Display for PushCounts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "pushes expected {}, received {}, lost {}, duplicated {}, unexpected {}, \
             mislabelled {} ({} before the 201) | {}",
            self.expected,
            self.received,
            self.lost,
            self.duplicated,
            self.unexpected,
            self.mislabelled,
            self.before_ack,
            if self.is_clean() { "OK" } else { "NOT CLEAN" }
        )
    }
}

/// The judgement of one leg's pushes.
#[derive(Default)]
pub struct Tally {
    pub counts: PushCounts,
    /// From each message's `201` to its push.
    pub from_ack: Latency,
    /// From each message's send to its push.
    pub from_send: Latency,
    /// When each owed push arrived (its first copy), in arrival order.
    pub arrived: Vec<Instant>,
}

impl Tally {
    /// When the last owed push arrived.
    pub fn last_arrival(&self) -> Option<Instant> {
        self.arrived.iter().max().copied()
    }
}

/// Judges `arrivals` (in arrival order) against the pushes `owed`, by message id.
pub fn tally(owed: &HashMap<String, Owed>, arrivals: &[Arrival]) -> Tally {
    let mut t = Tally {
        counts: PushCounts {
            expected: owed.len() as u64,
            ..PushCounts::default()
        },
        ..Tally::default()
    };
    let c = &mut t.counts;
    let mut ids = HashSet::new();
    let mut notified = HashSet::new();
    for arrival in arrivals {
        let (Some(user), Some((id, message_id))) = (&arrival.user, &arrival.payload) else {
            c.unexpected += 1;
            continue;
        };
        if arrival.header_id.as_ref() != Some(id) {
            c.mislabelled += 1;
        }
        if !ids.insert(id.as_str()) {
            c.duplicated += 1;
            continue;
        }
        let Some(o) = owed.get(message_id).filter(|o| &o.user == user) else {
            c.unexpected += 1;
            continue;
        };
        if !notified.insert(message_id.as_str()) {
            c.duplicated += 1;
            continue;
        }
        c.received += 1;
        if arrival.at < o.acked_at {
            c.before_ack += 1;
        }
        t.from_ack
            .record(arrival.at.saturating_duration_since(o.acked_at));
        t.from_send
            .record(arrival.at.saturating_duration_since(o.sent_at));
        t.arrived.push(arrival.at);
    }
    c.lost = c.expected - c.received;
    t
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn arrival(at: Instant, user: &str, id: &str, message: &str) -> Arrival {
        Arrival {
            at,
            user: Some(user.into()),
            header_id: Some(id.into()),
            payload: Some((id.into(), message.into())),
        }
    }

    #[test]
    fn counts_the_lost_the_doubled_and_the_strays() {
        let t0 = Instant::now();
        let ms = Duration::from_millis;
        let owed: HashMap<String, Owed> = [("M1", "U1"), ("M2", "U2"), ("M3", "U3")]
            .into_iter()
            .map(|(m, u)| {
                let o = Owed {
                    user: u.into(),
                    sent_at: t0,
                    acked_at: t0 + ms(10),
                };
                (m.to_owned(), o)
            })
            .collect();
        let mut mislabelled = arrival(t0 + ms(40), "U2", "N2", "M2");
        mislabelled.header_id = Some("other".into());
        let arrivals = [
            arrival(t0 + ms(30), "U1", "N1", "M1"),
            arrival(t0 + ms(35), "U1", "N1", "M1"), // the same notification again
            arrival(t0 + ms(36), "U1", "N1b", "M1"), // a second one for the same message
            mislabelled,
            arrival(t0 + ms(50), "U1", "N9", "M3"), // M3 concerns U3, not U1
            Arrival {
                at: t0 + ms(60),
                user: None,
                header_id: None,
                payload: None,
            },
        ];
        let t = tally(&owed, &arrivals);
        let c = t.counts;
        assert_eq!((c.expected, c.received, c.lost), (3, 2, 1));
        assert_eq!((c.duplicated, c.unexpected, c.mislabelled), (2, 2, 1));
        assert!(!c.is_clean());
        let from_ack = t.from_ack.summary();
        assert_eq!(from_ack.count, 2);
        assert!((19_900..=20_100).contains(&from_ack.p50_us), "{from_ack:?}");
        assert_eq!(t.last_arrival(), Some(t0 + ms(40)));
    }

    #[test]
    fn a_push_before_the_201_counts_as_zero() {
        let t0 = Instant::now();
        let owed = HashMap::from([(
            "M1".to_owned(),
            Owed {
                user: "U1".into(),
                sent_at: t0,
                acked_at: t0 + Duration::from_millis(5),
            },
        )]);
        let t = tally(
            &owed,
            &[arrival(t0 + Duration::from_millis(2), "U1", "N1", "M1")],
        );
        assert!(t.counts.is_clean());
        assert_eq!(t.counts.before_ack, 1);
        assert!(t.from_ack.summary().max_us <= 1);
    }
}
