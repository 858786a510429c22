//! The query mix: which kinds of query a run sends, how each is built from the generated
//! data, and how an answer is checked.

use super::*;

/// The kinds of query, reported separately.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Word,
    TwoWords,
    Phrase,
    From,
    In,
    Recent,
}

pub const KINDS: [Kind; 6] = [
    Kind::Word,
    Kind::TwoWords,
    Kind::Phrase,
    Kind::From,
    Kind::In,
    Kind::Recent,
];

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Word => "word",
            Kind::TwoWords => "two_words",
            Kind::Phrase => "phrase",
            Kind::From => "from",
            Kind::In => "in",
            Kind::Recent => "recent",
        }
    }
}

/// What an answer must show beyond its size.
#[derive(Debug, Clone, PartialEq)]
pub enum Expect {
    Nothing,
    /// A phrase of a real message: a result with a `<mark>` in its snippet.
    Marked,
    /// Only this author's messages, and at least one.
    Author {
        id: String,
        handle: String,
    },
    /// Only this channel's messages, and at least one.
    Channel {
        id: String,
    },
    /// Newest first.
    Newest,
}

#[derive(Debug, Clone)]
pub struct Query {
    pub kind: Kind,
    pub q: String,
    pub sort: &'static str,
    pub expect: Expect,
}

/// Whether `page` is a right answer to `query`.
pub fn check(query: &Query, page: &wire::SearchResults) -> Result<(), String> {
    let results = &page.results;
    if results.len() > LIMIT as usize {
        return Err(format!("{} results, limit {LIMIT}", results.len()));
    }
    match &query.expect {
        Expect::Nothing => Ok(()),
        Expect::Marked => match results.iter().any(|r| r.snippet.contains("<mark>")) {
            true => Ok(()),
            false if results.is_empty() => Err("no result".to_owned()),
            false => Err("no snippet with <mark>".to_owned()),
        },
        Expect::Author { id, handle } => {
            if results.is_empty() {
                return Err("no result".to_owned());
            }
            match results
                .iter()
                .find(|r| r.author.id != *id || r.author.handle != *handle)
            {
                Some(r) => Err(format!(
                    "message {} by @{} ({})",
                    r.message.id, r.author.handle, r.author.id
                )),
                None => Ok(()),
            }
        }
        Expect::Channel { id } => {
            if results.is_empty() {
                return Err("no result".to_owned());
            }
            match results
                .iter()
                .find(|r| r.channel.id != *id || r.message.channel_id != *id)
            {
                Some(r) => Err(format!("message {} in {}", r.message.id, r.channel.id)),
                None => Ok(()),
            }
        }
        Expect::Newest => match results
            .windows(2)
            .any(|w| w[0].message.seq <= w[1].message.seq)
        {
            true => Err("not newest first".to_owned()),
            false => Ok(()),
        },
    }
}

/// Whether the index holds `word` as it is, lowercased: ASCII letters that the English
/// stemmer leaves unchanged (the server indexes an ASCII word by its stem).
pub fn plain(word: &str, stemmer: &Stemmer) -> bool {
    let lower = word.to_ascii_lowercase();
    !lower.is_empty()
        && lower.bytes().all(|b| b.is_ascii_lowercase())
        && stemmer.stem(&lower) == lower
}

/// The words of the pool: vocabulary words drawn as the generator draws them, keeping the
/// plain ones, lowercased.
pub fn word_pool(seed: u64, count: usize) -> Vec<String> {
    let stemmer = Stemmer::create(Algorithm::English);
    let mut rng = Rng::new(seed);
    let mut words = Vec::with_capacity(count);
    for _ in 0..count * 100 {
        if words.len() == count {
            break;
        }
        let word = text::word(&mut rng);
        if plain(word, &stemmer) {
            words.push(word.to_ascii_lowercase());
        }
    }
    words
}

/// A message's whitespace-separated words: letters only (a trailing `.`, `?`, `,` or `!`
/// dropped), and whether each was followed by such punctuation.
pub(super) fn message_words(text: &str) -> Vec<(String, bool)> {
    text.split_whitespace()
        .map(|raw| {
            let word = raw.trim_end_matches(['.', '?', ',', '!']);
            (word, word.len() != raw.len())
        })
        .filter(|(w, _)| !w.is_empty() && w.bytes().all(|b| b.is_ascii_alphabetic()))
        .map(|(w, p)| (w.to_ascii_lowercase(), p))
        .collect()
}

/// Two adjacent words of `text` (the first not ending a sentence), if it has any.
pub(super) fn adjacent_pair(text: &str, rng: &mut Rng) -> Option<(String, String)> {
    let raw: Vec<&str> = text.split_whitespace().collect();
    let letters = |w: &str| !w.is_empty() && w.bytes().all(|b| b.is_ascii_alphabetic());
    let pairs: Vec<(String, String)> = raw
        .windows(2)
        .filter(|w| letters(w[0]) && letters(w[1].trim_end_matches(['.', '?', ',', '!'])))
        .map(|w| {
            (
                w[0].to_ascii_lowercase(),
                w[1].trim_end_matches(['.', '?', ',', '!'])
                    .to_ascii_lowercase(),
            )
        })
        .collect();
    (!pairs.is_empty()).then(|| pairs[rng.below(pairs.len())].clone())
}

/// The queries of each kind (in [`KINDS`] order) and the word pool.
pub struct Mix {
    pub queries: Vec<Vec<Query>>,
    pub words: Vec<String>,
    /// Messages read back to build the phrase, from and in queries.
    pub sampled_messages: usize,
}

/// Builds the query mix: words from the vocabulary, the rest from real messages.
pub(super) async fn build_mix(
    api: &Api,
    owner: &Account,
    manifest: &Manifest,
    seed: u64,
) -> anyhow::Result<Mix> {
    let words = word_pool(seed, WORD_POOL);
    if words.len() < 2 {
        bail!("the vocabulary has fewer than two plain words");
    }
    let mut rng = Rng::new(seed ^ 0xA5A5_A5A5);
    let mut queries: Vec<Vec<Query>> = vec![Vec::new(); KINDS.len()];
    for word in &words {
        queries[0].push(Query {
            kind: Kind::Word,
            q: word.clone(),
            sort: "relevance",
            expect: Expect::Nothing,
        });
        queries[5].push(Query {
            kind: Kind::Recent,
            q: word.clone(),
            sort: "recent",
            expect: Expect::Newest,
        });
        let other = &words[rng.below(words.len())];
        if other != word {
            queries[1].push(Query {
                kind: Kind::TwoWords,
                q: format!("{word} {other}"),
                sort: "relevance",
                expect: Expect::Nothing,
            });
        }
    }

    // The busiest channels and a random few of the rest.
    let mut channels: Vec<_> = manifest
        .channels
        .iter()
        .filter(|c| c.top_level > 0)
        .collect();
    channels.sort_by_key(|c| std::cmp::Reverse(c.top_level));
    let mut sample: Vec<_> = channels
        .iter()
        .take(SAMPLED_CHANNELS / 2)
        .copied()
        .collect();
    let rest = &channels[sample.len()..];
    for _ in 0..SAMPLED_CHANNELS / 2 {
        if rest.is_empty() {
            break;
        }
        sample.push(rest[rng.below(rest.len())]);
    }
    let mut handles: HashMap<String, String> = HashMap::new();
    let mut names: HashMap<String, String> = HashMap::new();
    let mut sampled_messages = 0;
    for channel in sample {
        let page = api
            .latest_messages(owner, &channel.id, 50)
            .await
            .with_context(|| format!("reading channel {} to build queries", channel.id))?;
        for m in page
            .messages
            .iter()
            .filter(|m| !m.deleted && m.thread_root_id.is_none())
        {
            sampled_messages += 1;
            if queries[2].len() < PER_KIND
                && let Some((a, b)) = adjacent_pair(&m.text, &mut rng)
            {
                queries[2].push(Query {
                    kind: Kind::Phrase,
                    q: format!("\"{a} {b}\""),
                    sort: "relevance",
                    expect: Expect::Marked,
                });
            }
            let words = message_words(&m.text);
            if words.is_empty() {
                continue;
            }
            if queries[3].len() < PER_KIND {
                if !handles.contains_key(&m.user_id) {
                    let user = api.user(owner, &m.user_id).await?;
                    handles.insert(m.user_id.clone(), user.handle);
                }
                let handle = handles[&m.user_id].clone();
                let (word, _) = &words[rng.below(words.len())];
                queries[3].push(Query {
                    kind: Kind::From,
                    q: format!("{word} from:@{handle}"),
                    sort: "relevance",
                    expect: Expect::Author {
                        id: m.user_id.clone(),
                        handle,
                    },
                });
            }
            if queries[4].len() < PER_KIND {
                if !names.contains_key(&m.channel_id) {
                    let c = api.channel(owner, &m.channel_id).await?;
                    let name = c.name.context("a generated channel without a name")?;
                    names.insert(m.channel_id.clone(), name);
                }
                let (word, _) = &words[rng.below(words.len())];
                queries[4].push(Query {
                    kind: Kind::In,
                    q: format!("{word} in:#{}", names[&m.channel_id]),
                    sort: "relevance",
                    expect: Expect::Channel {
                        id: m.channel_id.clone(),
                    },
                });
            }
        }
    }
    Ok(Mix {
        queries,
        words,
        sampled_messages,
    })
}
