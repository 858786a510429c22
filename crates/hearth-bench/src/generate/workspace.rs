//! The shape of a generated workspace: users, channels of long-tailed sizes, who is in
//! which, and the stream of messages (with threads and reactions) spread over time.
//!
//! Channel `i` (1-based after the first, which holds everyone) has about
//! `users / 2 / i^0.8` members, at least 3: a few big channels and a long tail of small
//! ones, as in real workspaces. Channels are as busy as they are big. A message is a
//! thread reply one time in ten (to one of the channel's recent thread roots), and one in
//! twenty-five gets one to three reactions. Timestamps rise with seqs, evenly over the
//! chosen number of days, so seq order and time order agree as the server's do.

use std::collections::HashMap;

use super::sqlite::{ChannelRow, MessageRow, ReactionRow, UserRow};
use super::text::{self, Rng};

const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
const FIRST_NAMES: &[&str] = &[
    "Ada",
    "Grace",
    "Alan",
    "Linus",
    "Margaret",
    "Ken",
    "Barbara",
    "Dennis",
    "Frances",
    "John",
    "Radia",
    "Tim",
    "Hedy",
    "Edsger",
    "Katherine",
    "Donald",
    "Sophie",
    "Bjarne",
    "Anita",
    "Guido",
];
const LAST_NAMES: &[&str] = &[
    "Lovelace",
    "Hopper",
    "Turing",
    "Torvalds",
    "Hamilton",
    "Thompson",
    "Liskov",
    "Ritchie",
    "Allen",
    "McCarthy",
    "Perlman",
    "Berners-Lee",
    "Lamarr",
    "Dijkstra",
    "Johnson",
    "Knuth",
    "Wilson",
    "Stroustrup",
    "Borg",
    "van Rossum",
];
const TOPICS: &[&str] = &[
    "team", "proj", "ops", "eng", "design", "sales", "support", "random", "help", "release",
    "incident", "infra", "mobile", "web", "data", "hiring", "social", "announce",
];

/// An opaque id of Hearth's shape: a kind letter and 26 Crockford base32 characters,
/// 48 bits of milliseconds then 80 bits that are unique per `n` within a run.
pub fn id(prefix: char, millis: i64, n: u64, rng: &mut Rng) -> String {
    let low = ((u128::from(n) & 0xFF_FFFF_FFFF) << 40) | u128::from(rng.next_u64() >> 24);
    let value = ((millis.max(0) as u128) << 80) | low;
    let mut out = String::with_capacity(27);
    out.push(prefix);
    for i in (0..26).rev() {
        out.push(ALPHABET[((value >> (5 * i)) & 0x1f) as usize] as char);
    }
    out
}

pub fn users(count: usize, created_at: i64, rng: &mut Rng) -> Vec<UserRow> {
    (0..count)
        .map(|i| {
            let first = FIRST_NAMES[rng.below(FIRST_NAMES.len())];
            let last = LAST_NAMES[rng.below(LAST_NAMES.len())];
            UserRow {
                id: id('U', created_at, i as u64, rng),
                handle: format!("{}.{}{i}", first.to_lowercase(), last.to_lowercase())
                    .replace(' ', ""),
                display_name: format!("{first} {last}"),
                created_at,
            }
        })
        .collect()
}

pub fn channels(count: usize, created_at: i64, rng: &mut Rng) -> Vec<ChannelRow> {
    (0..count)
        .map(|i| {
            let topic = TOPICS[rng.zipf(TOPICS.len())];
            ChannelRow {
                id: id('C', created_at, i as u64, rng),
                name: format!("{topic}-{i:05}"),
                topic: format!("All things {topic}"),
                created_at,
            }
        })
        .collect()
}

/// Members of each channel (user indexes, owner first); channel 0 holds everyone.
pub fn members(channels: usize, users: usize, owner: usize, rng: &mut Rng) -> Vec<Vec<usize>> {
    (0..channels)
        .map(|c| {
            if c == 0 {
                let mut all: Vec<usize> = (0..users).filter(|&u| u != owner).collect();
                all.insert(0, owner);
                return all;
            }
            let size = ((users as f64 / 2.0 / (c as f64).powf(0.8)) as usize).clamp(3, users);
            let mut chosen = vec![owner];
            let mut seen = std::collections::HashSet::from([owner]);
            while chosen.len() < size.min(users) {
                let u = rng.below(users);
                if seen.insert(u) {
                    chosen.push(u);
                }
            }
            chosen
        })
        .collect()
}

/// What history readers need to know of a channel afterwards.
#[derive(Debug, Clone, Copy, Default)]
pub struct Tally {
    pub top_level: u64,
    pub last_seq: i64,
}

/// Produces the messages and reactions in seq order, a chunk at a time.
pub struct Stream {
    rng: Rng,
    members: Vec<Vec<usize>>,
    /// Cumulative channel weights (their sizes), for picking a channel.
    cumulative: Vec<f64>,
    /// Each channel's recent thread roots.
    roots: Vec<Vec<String>>,
    first_seq: i64,
    pub next_seq: i64,
    pub tallies: Vec<Tally>,
    /// Per thread root: replies and the newest reply's time.
    pub replies: HashMap<String, (i64, i64)>,
    start_ms: i64,
    step_ms: f64,
    made: u64,
    text: String,
}

impl Stream {
    pub fn new(
        rng: Rng,
        members: Vec<Vec<usize>>,
        first_seq: i64,
        start_ms: i64,
        step_ms: f64,
    ) -> Self {
        let mut total = 0.0;
        let cumulative = members
            .iter()
            .map(|m| {
                total += m.len() as f64;
                total
            })
            .collect();
        let channels = members.len();
        Self {
            rng,
            members,
            cumulative,
            roots: vec![Vec::new(); channels],
            first_seq,
            next_seq: first_seq,
            tallies: vec![Tally::default(); channels],
            replies: HashMap::new(),
            start_ms,
            step_ms,
            made: 0,
            text: String::new(),
        }
    }

    /// The next `count` messages, and the reactions made to them.
    pub fn chunk(&mut self, count: u64) -> (Vec<MessageRow>, Vec<ReactionRow>) {
        let mut messages = Vec::with_capacity(count as usize);
        let mut reactions = Vec::new();
        for _ in 0..count {
            let seq = self.take_seq();
            let at = self.time_of(seq);
            let channel = self.pick_channel();
            let user = self.pick_member(channel);
            text::message(&mut self.rng, &mut self.text);
            let id = id('M', at, self.made, &mut self.rng);
            self.made += 1;
            let reply_to = match self.roots[channel].len() {
                n if n > 0 && self.rng.chance(0.10) => {
                    Some(self.roots[channel][self.rng.below(n)].clone())
                }
                _ => None,
            };
            match &reply_to {
                Some(root) => {
                    let entry = self.replies.entry(root.clone()).or_insert((0, 0));
                    *entry = (entry.0 + 1, at);
                }
                None => {
                    let tally = &mut self.tallies[channel];
                    tally.top_level += 1;
                    tally.last_seq = seq;
                    if self.rng.chance(0.2) {
                        let roots = &mut self.roots[channel];
                        if roots.len() == 8 {
                            roots.remove(0);
                        }
                        roots.push(id.clone());
                    }
                }
            }
            if self.rng.chance(0.04) {
                let mut reactors = Vec::new();
                for _ in 0..1 + self.rng.below(3) {
                    let reactor = self.pick_member(channel);
                    if reactors.contains(&reactor) {
                        continue;
                    }
                    reactors.push(reactor);
                    let seq = self.take_seq();
                    reactions.push(ReactionRow {
                        message_id: id.clone(),
                        channel,
                        seq,
                        user: reactor,
                        emoji: text::reaction(&mut self.rng),
                        created_at: self.time_of(seq),
                    });
                }
            }
            messages.push(MessageRow {
                id,
                channel,
                seq,
                user,
                text: self.text.clone(),
                created_at: at,
                thread_root_id: reply_to,
            });
        }
        (messages, reactions)
    }

    fn take_seq(&mut self) -> i64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        seq
    }

    fn time_of(&self, seq: i64) -> i64 {
        self.start_ms + ((seq - self.first_seq) as f64 * self.step_ms) as i64
    }

    fn pick_channel(&mut self) -> usize {
        let total = *self.cumulative.last().expect("at least one channel");
        let x = self.rng.unit() * total;
        self.cumulative
            .partition_point(|&c| c <= x)
            .min(self.members.len() - 1)
    }

    fn pick_member(&mut self, channel: usize) -> usize {
        let members = &self.members[channel];
        members[self.rng.below(members.len())]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_have_the_servers_shape_and_are_unique() {
        let mut rng = Rng::new(1);
        let a = id('M', 1_700_000_000_000, 1, &mut rng);
        let b = id('M', 1_700_000_000_000, 2, &mut rng);
        assert_eq!(a.len(), 27);
        assert!(a.starts_with('M'));
        assert!(a[1..].bytes().all(|c| ALPHABET.contains(&c)));
        assert_ne!(a, b);
        // Later times sort later, as the server's ids do.
        assert!(id('M', 1_700_000_000_001, 0, &mut rng) > b);
    }

    #[test]
    fn channel_sizes_are_long_tailed() {
        let members = members(1_000, 1_000, 0, &mut Rng::new(2));
        assert_eq!(members[0].len(), 1_000);
        assert!(members[1].len() >= 400);
        assert_eq!(members[999].len(), 3);
        assert!(members.iter().all(|m| m[0] == 0));
        for m in &members {
            let unique: std::collections::HashSet<_> = m.iter().collect();
            assert_eq!(unique.len(), m.len());
        }
    }

    #[test]
    fn the_stream_hands_out_every_seq_once_in_time_order() {
        let members = members(50, 40, 0, &mut Rng::new(3));
        let mut stream = Stream::new(Rng::new(4), members, 10, 1_000, 2.0);
        let (messages, reactions) = stream.chunk(5_000);
        let mut seqs: Vec<(i64, i64)> = messages.iter().map(|m| (m.seq, m.created_at)).collect();
        seqs.extend(reactions.iter().map(|r| (r.seq, r.created_at)));
        seqs.sort_unstable();
        assert_eq!(seqs.first().unwrap().0, 10);
        assert!(
            seqs.windows(2)
                .all(|w| w[1].0 == w[0].0 + 1 && w[1].1 >= w[0].1)
        );
        assert_eq!(stream.next_seq, 10 + seqs.len() as i64);
        let replies = messages
            .iter()
            .filter(|m| m.thread_root_id.is_some())
            .count();
        assert!((200..900).contains(&replies), "{replies} replies");
        assert!(!reactions.is_empty());
        let top: u64 = stream.tallies.iter().map(|t| t.top_level).sum();
        assert_eq!(top as usize, messages.len() - replies);
    }
}
