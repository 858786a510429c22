//! Message text that looks like a team's chat: words drawn with a Zipf-like skew from a
//! vocabulary of everyday and engineering words, lengths from one word to a few paragraphs
//! with most messages short, some links, some emoji shortcodes, and a share of Chinese,
//! Japanese and Korean messages, so search and storage see realistic text rather than
//! repeated filler. Deterministic for a given seed.

/// Everyday and engineering vocabulary, most frequent first (Zipf sampling favours the
/// start of the list).
const WORDS: &[&str] = &[
    "the",
    "to",
    "I",
    "a",
    "and",
    "is",
    "it",
    "for",
    "we",
    "on",
    "that",
    "this",
    "in",
    "you",
    "of",
    "be",
    "can",
    "have",
    "with",
    "just",
    "not",
    "do",
    "will",
    "so",
    "if",
    "at",
    "but",
    "are",
    "think",
    "we're",
    "me",
    "what",
    "from",
    "was",
    "get",
    "there",
    "should",
    "now",
    "know",
    "let",
    "up",
    "out",
    "one",
    "an",
    "all",
    "about",
    "some",
    "when",
    "yes",
    "looks",
    "good",
    "thanks",
    "deploy",
    "deployed",
    "release",
    "today",
    "tomorrow",
    "meeting",
    "review",
    "PR",
    "merge",
    "branch",
    "build",
    "test",
    "tests",
    "failing",
    "fixed",
    "bug",
    "issue",
    "ticket",
    "customer",
    "team",
    "design",
    "doc",
    "draft",
    "update",
    "check",
    "please",
    "could",
    "would",
    "someone",
    "anyone",
    "server",
    "database",
    "query",
    "index",
    "latency",
    "cache",
    "config",
    "staging",
    "production",
    "rollback",
    "incident",
    "alert",
    "dashboard",
    "metrics",
    "logs",
    "error",
    "timeout",
    "retry",
    "queue",
    "worker",
    "cluster",
    "node",
    "migration",
    "schema",
    "API",
    "endpoint",
    "client",
    "mobile",
    "web",
    "frontend",
    "backend",
    "roadmap",
    "sprint",
    "estimate",
    "priority",
    "blocker",
    "launch",
    "feedback",
    "demo",
    "slides",
    "calendar",
    "lunch",
    "coffee",
    "weekend",
    "holiday",
    "vacation",
    "morning",
    "afternoon",
    "later",
    "soon",
    "quick",
    "question",
    "answer",
    "idea",
    "plan",
    "agree",
    "sounds",
    "great",
    "nice",
    "perfect",
    "sure",
    "okay",
    "maybe",
    "probably",
    "definitely",
    "invoice",
    "budget",
    "contract",
    "hiring",
    "interview",
    "onboarding",
    "offsite",
    "benchmark",
    "profile",
    "memory",
    "CPU",
    "disk",
    "network",
    "packet",
    "socket",
    "thread",
    "lock",
    "mutex",
    "async",
    "runtime",
    "compile",
    "compiler",
    "warning",
    "lint",
    "format",
    "refactor",
    "cleanup",
    "rename",
    "module",
    "function",
    "struct",
    "trait",
    "crate",
    "dependency",
    "upgrade",
    "version",
    "changelog",
    "tag",
    "commit",
    "rebase",
    "conflict",
    "pipeline",
    "runner",
    "flaky",
    "green",
    "red",
    "approved",
    "shipped",
    "blocked",
    "waiting",
    "pinged",
    "synced",
    "discussed",
    "decided",
    "postponed",
    "cancelled",
    "moved",
    "renamed",
    "Kubernetes",
    "Postgres",
    "Redis",
    "nginx",
    "Grafana",
    "Prometheus",
    "Terraform",
    "S3",
];

const EMOJI: &[&str] = &[
    ":tada:",
    ":+1:",
    ":eyes:",
    ":rocket:",
    ":fire:",
    ":white_check_mark:",
    ":pray:",
    ":100:",
];

/// Phrases in Chinese, Japanese and Korean (about one message in fifty).
const CJK: &[&str] = &[
    "部署已经完成了，请大家检查一下。",
    "明天的会议改到下午三点。",
    "数据库迁移需要再测试一次。",
    "本番環境へのデプロイが終わりました。",
    "レビューをお願いします。",
    "障害の原因を調査しています。",
    "배포가 완료되었습니다. 확인 부탁드립니다.",
    "회의는 내일 오전 10시입니다.",
];

/// A small, fast, seedable generator (SplitMix64).
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed ^ 0x5DEE_CE66_D1CE_4E5B)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        ((self.next_u64() >> 11) % n as u64) as usize
    }

    /// Uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// An index in `0..n` skewed towards 0, roughly Zipf with exponent 1: rank r is drawn
    /// with probability about 1 / (r + 1), as word frequencies are.
    pub fn zipf(&mut self, n: usize) -> usize {
        let x = ((n as f64 + 1.0).ln() * self.unit()).exp() - 1.0;
        (x as usize).min(n - 1)
    }
}

/// Writes one message's text into `out` (cleared first).
pub fn message(rng: &mut Rng, out: &mut String) {
    out.clear();
    if rng.chance(0.02) {
        out.push_str(CJK[rng.below(CJK.len())]);
        return;
    }
    // Most messages are a short line; some a few sentences; a few are long.
    let words = match rng.unit() {
        u if u < 0.60 => 2 + rng.below(10),
        u if u < 0.92 => 12 + rng.below(30),
        _ => 40 + rng.below(120),
    };
    let mut sentence_start = true;
    for i in 0..words {
        if i > 0 {
            out.push(' ');
        }
        let word = word(rng);
        if sentence_start {
            let mut chars = word.chars();
            if let Some(first) = chars.next() {
                out.extend(first.to_uppercase());
                out.push_str(chars.as_str());
            }
        } else {
            out.push_str(word);
        }
        sentence_start = false;
        if i + 1 < words && rng.chance(0.08) {
            out.push(if rng.chance(0.8) { '.' } else { '?' });
            sentence_start = true;
        }
    }
    if rng.chance(0.05) {
        out.push_str(" https://example.com/");
        out.push_str(WORDS[rng.below(WORDS.len())]);
        out.push('/');
        out.push_str(&rng.below(10_000).to_string());
    }
    if rng.chance(0.07) {
        out.push(' ');
        out.push_str(EMOJI[rng.below(EMOJI.len())]);
    }
}

/// One word of the vocabulary, drawn as message text draws them (Zipf: common words
/// are common).
pub fn word(rng: &mut Rng) -> &'static str {
    WORDS[rng.zipf(WORDS.len())]
}

/// An emoji name for a reaction, skewed towards the popular ones.
pub fn reaction(rng: &mut Rng) -> &'static str {
    const REACTIONS: &[&str] = &["+1", "eyes", "tada", "heart", "rocket", "white_check_mark"];
    REACTIONS[rng.zipf(REACTIONS.len())]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_vary_in_length_and_are_never_empty() {
        let mut rng = Rng::new(7);
        let mut out = String::new();
        let mut lengths = Vec::new();
        for _ in 0..2_000 {
            message(&mut rng, &mut out);
            assert!(!out.trim().is_empty());
            lengths.push(out.len());
        }
        lengths.sort_unstable();
        let median = lengths[lengths.len() / 2];
        assert!((15..200).contains(&median), "median length {median}");
        assert!(*lengths.last().unwrap() > 4 * median, "no long messages");
    }

    #[test]
    fn zipf_favours_the_first_ranks_and_stays_in_range() {
        let mut rng = Rng::new(1);
        let mut counts = [0u32; 100];
        for _ in 0..100_000 {
            counts[rng.zipf(100)] += 1;
        }
        assert!(counts[0] > 5 * counts[50]);
        assert!(counts[99] > 0);
    }

    #[test]
    fn the_same_seed_gives_the_same_text() {
        let (mut a, mut b) = (Rng::new(3), Rng::new(3));
        let (mut x, mut y) = (String::new(), String::new());
        for _ in 0..100 {
            message(&mut a, &mut x);
            message(&mut b, &mut y);
            assert_eq!(x, y);
        }
    }
}
