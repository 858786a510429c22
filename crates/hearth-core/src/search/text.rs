//! How text becomes search terms: the one tokenizer that both backends index with and
//! that queries are parsed with, so SQLite and PostgreSQL find exactly the same messages.
//!
//! - **Folding.** Each character outside the CJK scripts is decomposed (NFKD), stripped of
//!   combining marks and lowercased: `Café` and `CAFE` both become `cafe`, a full-width
//!   `Ａ` becomes `a`.
//! - **Words.** A run of letters and digits is a word. A word of ASCII letters is indexed
//!   by its English stem (`deployed` and `deploying` become `deploy`); other words as
//!   folded. Words are cut at [`MAX_TOKEN_CHARS`].
//! - **CJK.** Chinese, Japanese and Korean are written without spaces between words, so a
//!   run of CJK characters is indexed as overlapping bigrams (`東京都` as `東京`, `京都`) and
//!   a query of two or more such characters matches as a phrase of its bigrams: any
//!   message containing the query as a substring. A lone CJK character is one token.
//!
//! Terms never contain spaces, quotes or punctuation, so backends can write them into
//! their index and query syntax without escaping surprises.

use std::sync::LazyLock;

use rust_stemmers::{Algorithm, Stemmer};
use unicode_normalization::char::{decompose_compatible, is_combining_mark};

/// Longer words are cut to this many characters, in the index and in queries alike.
pub const MAX_TOKEN_CHARS: usize = 64;
/// A message's terms after this many are not indexed: PostgreSQL keeps positions only up
/// to 16,383, and both backends must find the same messages.
pub const MAX_DOCUMENT_TERMS: usize = 16_383;

static ENGLISH: LazyLock<Stemmer> = LazyLock::new(|| Stemmer::create(Algorithm::English));

/// One token of a text, with where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    /// What the index holds and queries match: the stem of an English word, otherwise
    /// the folded form.
    pub term: String,
    /// The folded form before stemming (a prefix query matches it too).
    pub folded: String,
    /// Byte range of the token in the original text.
    pub start: usize,
    pub end: usize,
    /// A CJK bigram or lone CJK character.
    pub cjk: bool,
}

/// The tokens of `text`, in order.
pub fn tokens(text: &str) -> Vec<Token> {
    tokenize(text, true)
}

/// [`tokens`] without stemming: each token's `term` is its folded form. For scoring many
/// texts, where [`term_of`] is asked only of the tokens that may match.
pub fn unstemmed_tokens(text: &str) -> Vec<Token> {
    tokenize(text, false)
}

/// The term of a folded word: its English stem when it is ASCII letters. Stemming keeps
/// a word's first letter, so a term can only come from words that start with its first
/// letter.
pub fn term_of(folded: &str) -> std::borrow::Cow<'_, str> {
    if folded.bytes().all(|b| b.is_ascii_lowercase()) {
        ENGLISH.stem(folded)
    } else {
        std::borrow::Cow::Borrowed(folded)
    }
}

fn tokenize(text: &str, stem: bool) -> Vec<Token> {
    let mut out = Vec::new();
    visit(text, &mut |chars, cjk_run| {
        out.push(if cjk_run {
            cjk(chars)
        } else {
            word(chars, stem)
        });
    });
    out
}

/// Calls `f` with each token's characters (folded, each with the byte range it came
/// from) in order, and whether it is CJK: what [`tokens`] builds tokens from, without
/// building them.
pub fn visit(text: &str, f: &mut Sink<'_>) {
    let mut run = Run::default();
    for (start, c) in text.char_indices() {
        let end = start + c.len_utf8();
        if c.is_ascii() {
            // Most text: no decomposition to do.
            if c.is_ascii_alphanumeric() {
                run.push(f, Kind::Word, c.to_ascii_lowercase(), start, end);
            } else {
                run.flush(f);
            }
            continue;
        }
        if is_cjk(c) {
            run.push(f, Kind::Cjk, c, start, end);
            continue;
        }
        let mut any = false;
        decompose_compatible(c, |d| {
            if is_combining_mark(d) {
                return;
            }
            any = true;
            if is_cjk(d) {
                run.push(f, Kind::Cjk, d, start, end);
            } else if d.is_alphanumeric() {
                for lower in d.to_lowercase() {
                    run.push(f, Kind::Word, lower, start, end);
                }
            } else {
                run.flush(f);
            }
        });
        if !any && !is_combining_mark(c) {
            run.flush(f);
        }
    }
    run.flush(f);
}

/// The terms a query word or phrase stands for: [`tokens`] without positions.
pub fn terms(text: &str) -> Vec<String> {
    tokens(text).into_iter().map(|t| t.term).collect()
}

/// Whether `c` belongs to a script written without spaces between words (Han, kana,
/// Hangul and their compatibility forms).
pub fn is_cjk(c: char) -> bool {
    matches!(c,
        '\u{1100}'..='\u{11FF}'     // Hangul Jamo
        | '\u{3040}'..='\u{30FF}'   // Hiragana, Katakana
        | '\u{3130}'..='\u{318F}'   // Hangul compatibility Jamo
        | '\u{31F0}'..='\u{31FF}'   // Katakana phonetic extensions
        | '\u{3400}'..='\u{4DBF}'   // CJK extension A
        | '\u{4E00}'..='\u{9FFF}'   // CJK unified ideographs
        | '\u{AC00}'..='\u{D7AF}'   // Hangul syllables
        | '\u{F900}'..='\u{FAFF}'   // CJK compatibility ideographs
        | '\u{FF66}'..='\u{FF9D}'   // half-width Katakana
        | '\u{20000}'..='\u{3134F}' // CJK extensions B to G
    )
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Kind {
    #[default]
    Word,
    Cjk,
}

/// The characters of the run being read, each with the byte range it came from.
#[derive(Default)]
struct Run {
    kind: Kind,
    chars: Vec<(char, usize, usize)>,
}

/// What [`visit`] calls with each token: its characters, each with its byte range, and
/// whether it is CJK.
pub type Sink<'a> = dyn FnMut(&[(char, usize, usize)], bool) + 'a;

impl Run {
    fn push(&mut self, f: &mut Sink<'_>, kind: Kind, c: char, start: usize, end: usize) {
        if kind != self.kind {
            self.flush(f);
            self.kind = kind;
        }
        self.chars.push((c, start, end));
    }

    fn flush(&mut self, f: &mut Sink<'_>) {
        if self.chars.is_empty() {
            return;
        }
        match self.kind {
            Kind::Word => {
                let kept = self.chars.len().min(MAX_TOKEN_CHARS);
                f(&self.chars[..kept], false);
            }
            Kind::Cjk if self.chars.len() == 1 => f(&self.chars, true),
            Kind::Cjk => {
                for pair in self.chars.windows(2) {
                    f(pair, true);
                }
            }
        }
        self.chars.clear();
    }
}

fn word(chars: &[(char, usize, usize)], stem: bool) -> Token {
    let folded: String = chars.iter().map(|&(c, _, _)| c).collect();
    let term = if stem {
        term_of(&folded).into_owned()
    } else {
        folded.clone()
    };
    Token {
        term,
        folded,
        start: chars[0].1,
        end: chars[chars.len() - 1].2,
        cjk: false,
    }
}

fn cjk(chars: &[(char, usize, usize)]) -> Token {
    let folded: String = chars.iter().map(|&(c, _, _)| c).collect();
    Token {
        term: folded.clone(),
        folded,
        start: chars[0].1,
        end: chars[chars.len() - 1].2,
        cjk: true,
    }
}

/// What a message contributes to the index.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Document {
    /// Every token's term, in order (positions matter for phrases).
    pub terms: Vec<String>,
    /// Folded words whose term differs (`deployment` beside its stem `deploy`), once
    /// each, so `deploym*` finds it.
    pub variants: Vec<String>,
    /// What `has:` operators match that the text carries.
    pub flags: Vec<&'static str>,
}

/// The index flag of messages with a link.
pub const FLAG_LINK: &str = "link";
/// The index flag of messages that share files.
pub const FLAG_FILE: &str = "file";

impl Document {
    /// The document of a message's text; `has_files` when it shares files.
    pub fn of(text: &str, has_files: bool) -> Self {
        let mut doc = Document::default();
        for token in tokens(text).into_iter().take(MAX_DOCUMENT_TERMS) {
            if token.term != token.folded && !doc.variants.contains(&token.folded) {
                doc.variants.push(token.folded);
            }
            doc.terms.push(token.term);
        }
        if has_link(text) {
            doc.flags.push(FLAG_LINK);
        }
        if has_files {
            doc.flags.push(FLAG_FILE);
        }
        doc
    }
}

/// Whether the text carries a web link (a URL or a `www.` address).
fn has_link(text: &str) -> bool {
    let lower = text.to_ascii_lowercase();
    lower.contains("http://") || lower.contains("https://") || lower.contains("www.")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_case_accents_and_width() {
        assert_eq!(
            terms("Café CAFÉ ｃａｆｅ naïve"),
            ["cafe", "cafe", "cafe", "naiv"]
        );
    }

    #[test]
    fn stems_english_words() {
        assert_eq!(terms("deployed deploying deploys"), ["deploy"; 3]);
        assert_eq!(terms("v2 k8s"), ["v2", "k8s"]);
    }

    #[test]
    fn splits_on_punctuation_and_keeps_byte_ranges() {
        let text = "ship-it, (now)!";
        let found: Vec<_> = tokens(text).iter().map(|t| &text[t.start..t.end]).collect();
        assert_eq!(found, ["ship", "it", "now"]);
    }

    #[test]
    fn cjk_runs_become_bigrams() {
        assert_eq!(
            terms("東京都に行く"),
            ["東京", "京都", "都に", "に行", "行く"]
        );
        assert_eq!(terms("会議 a 猫"), ["会議", "a", "猫"]);
        assert_eq!(terms("한국어"), ["한국", "국어"]);
        // Kana keep their voicing marks: が is not か.
        assert_ne!(terms("がき"), terms("かき"));
    }

    #[test]
    fn cjk_next_to_latin_splits_the_run() {
        assert_eq!(terms("API設計review"), ["api", "設計", "review"]);
    }

    #[test]
    fn unstemmed_tokens_stem_to_the_same_terms() {
        let text = "Deployments were deployed, naïvely: happy days! dying skies";
        let lazy: Vec<String> = unstemmed_tokens(text)
            .iter()
            .map(|t| term_of(&t.folded).into_owned())
            .collect();
        assert_eq!(lazy, terms(text));
        for t in tokens(text) {
            assert_eq!(t.term.chars().next(), t.folded.chars().next(), "{t:?}");
        }
    }

    #[test]
    fn long_words_are_cut() {
        let long = "x".repeat(100);
        assert_eq!(terms(&long)[0].chars().count(), MAX_TOKEN_CHARS);
    }

    #[test]
    fn documents_keep_variants_and_flags() {
        let doc = Document::of("Deployment notes at https://example.com", true);
        assert!(doc.variants.contains(&"deployment".to_owned()));
        assert!(!doc.variants.contains(&"at".to_owned()));
        assert_eq!(doc.flags, [FLAG_LINK, FLAG_FILE]);
        assert!(Document::of("plain", false).flags.is_empty());
    }

    #[test]
    fn control_characters_and_marks_alone_are_not_tokens() {
        assert!(tokens("\u{0301} \u{200B} \0 !!!").is_empty());
    }
}
