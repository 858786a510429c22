//! The search query language, as Slack users know it, parsed into a [`Query`].
//!
//! | typed                     | meaning                                               |
//! |---------------------------|-------------------------------------------------------|
//! | `deploy failed`           | both words (stemmed: `deployed` matches `deploy`)      |
//! | `"exact phrase"`          | the words next to each other, in this order           |
//! | `-word`, `-"a phrase"`    | not this                                              |
//! | `depl*`                   | a word starting with `depl` (at least two characters) |
//! | `from:@ada`, `from:U…`    | written by this account (several: any of them)        |
//! | `in:#general`, `in:C…`    | in this channel (several: any of them)                |
//! | `in:@ada`                 | in my DM with this account                            |
//! | `before:`/`after:`/`on:`  | a `YYYY-MM-DD` date (UTC); before and after exclude it |
//! | `has:link` `has:file` `has:reaction` | what the message carries                   |
//! | `is:thread`               | a thread reply or a message with replies              |
//!
//! A word with a colon whose operator is unknown (`foo:bar`, a URL) is searched as words.
//! What cannot be understood is refused with a [`ValidationError`] and a stable code,
//! never passed on to a database: `search_query_invalid` (an unclosed quote, an empty
//! or unknown operator value), `search_date_invalid`, `search_prefix_too_short`,
//! `search_query_too_long`, `search_query_too_complex` and `search_query_empty`.

use chrono::NaiveDate;

use super::text::{self, Token};
use crate::id::{ChannelId, UserId};
use crate::value::{ChannelName, Handle, ValidationError};

/// The longest query accepted, in characters.
pub const MAX_QUERY_CHARS: usize = 500;
/// The most words, phrases and filters one query may hold.
pub const MAX_QUERY_PARTS: usize = 24;
/// The shortest prefix `word*` accepts, in characters.
pub const MIN_PREFIX_CHARS: usize = 2;

/// What a message's text must (or must not) contain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Term {
    /// One term (see [`text::Token::term`]).
    Word(String),
    /// Terms at consecutive positions.
    Phrase(Vec<String>),
    /// A term, or a word's folded form, starting with this.
    Prefix(String),
}

/// An account named in a query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserRef {
    Id(UserId),
    Handle(Handle),
}

/// A channel named in a query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChannelRef {
    Id(ChannelId),
    Name(ChannelName),
    /// The caller's DM with this account.
    Dm(UserRef),
}

/// A parsed query: every part must hold for a message to match.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Query {
    pub terms: Vec<Term>,
    pub excluded: Vec<Term>,
    /// Any of these authors (none: anyone).
    pub from: Vec<UserRef>,
    /// Any of these channels (none: every channel the caller can read).
    pub channels: Vec<ChannelRef>,
    /// Created before the start of this day (UTC).
    pub before: Option<NaiveDate>,
    /// Created after the end of this day (UTC).
    pub after: Option<NaiveDate>,
    /// Created on this day (UTC).
    pub on: Option<NaiveDate>,
    pub has_link: bool,
    pub has_file: bool,
    pub has_reaction: bool,
    pub is_thread: bool,
}

impl Query {
    /// Parses what a user typed.
    pub fn parse(input: &str) -> Result<Query, ValidationError> {
        if input.chars().count() > MAX_QUERY_CHARS {
            return Err(ValidationError::new(
                "search_query_too_long",
                format!("A search query is at most {MAX_QUERY_CHARS} characters."),
            ));
        }
        let mut query = Query::default();
        let mut parts = 0;
        for piece in split(input)? {
            parts += 1;
            if parts > MAX_QUERY_PARTS {
                return Err(ValidationError::new(
                    "search_query_too_complex",
                    format!("A search query has at most {MAX_QUERY_PARTS} words and filters."),
                ));
            }
            query.add(piece)?;
        }
        if query.terms.is_empty() && !query.has_filters() {
            return Err(ValidationError::new(
                "search_query_empty",
                "Type a word to search for, or a filter such as from:@name.",
            ));
        }
        Ok(query)
    }

    /// Whether anything besides words narrows the search.
    pub fn has_filters(&self) -> bool {
        !self.from.is_empty()
            || !self.channels.is_empty()
            || self.before.is_some()
            || self.after.is_some()
            || self.on.is_some()
            || self.has_link
            || self.has_file
            || self.has_reaction
            || self.is_thread
    }

    fn add(&mut self, piece: Piece) -> Result<(), ValidationError> {
        match piece {
            Piece::Phrase { text, negated } => {
                let terms = text::terms(&text);
                if let Some(term) = phrase(terms) {
                    self.push(term, negated);
                }
            }
            Piece::Bare { text, negated } => {
                if !negated
                    && let Some((op, value)) = text.split_once(':')
                    && self.operator(op, value)?
                {
                    return Ok(());
                }
                for term in bare_terms(&text)? {
                    self.push(term, negated);
                }
            }
        }
        Ok(())
    }

    fn push(&mut self, term: Term, negated: bool) {
        if negated {
            self.excluded.push(term);
        } else {
            self.terms.push(term);
        }
    }

    /// Applies `op:value`; false when `op` is not an operator (the text is then words).
    fn operator(&mut self, op: &str, value: &str) -> Result<bool, ValidationError> {
        let op = op.to_ascii_lowercase();
        if !matches!(
            op.as_str(),
            "from" | "in" | "before" | "after" | "on" | "has" | "is"
        ) {
            return Ok(false);
        }
        if value.is_empty() {
            return Err(invalid(format!(
                "{op}: needs a value, as in {op}:{}.",
                example(&op)
            )));
        }
        match op.as_str() {
            "from" => self.from.push(user_ref(value)?),
            "in" => self.channels.push(channel_ref(value)?),
            "before" => self.before = Some(later_or_earlier(self.before, date(value)?, false)),
            "after" => self.after = Some(later_or_earlier(self.after, date(value)?, true)),
            "on" => {
                let day = date(value)?;
                if self.on.is_some_and(|on| on != day) {
                    // Two different days: nothing can match; say so rather than guess.
                    return Err(invalid(
                        "A message is written on one day: give one on: date.",
                    ));
                }
                self.on = Some(day);
            }
            "has" => match value.to_ascii_lowercase().as_str() {
                "link" | "links" => self.has_link = true,
                "file" | "files" => self.has_file = true,
                "reaction" | "reactions" => self.has_reaction = true,
                _ => return Err(invalid("has: takes link, file or reaction.")),
            },
            _ => match value.to_ascii_lowercase().as_str() {
                "thread" | "threads" => self.is_thread = true,
                _ => return Err(invalid("is: takes thread.")),
            },
        }
        Ok(true)
    }
}

fn example(op: &str) -> &'static str {
    match op {
        "from" => "@ada",
        "in" => "#general",
        "has" => "link",
        "is" => "thread",
        _ => "2026-01-31",
    }
}

fn invalid(message: impl Into<String>) -> ValidationError {
    ValidationError::new("search_query_invalid", message)
}

/// The stricter of two bounds: the earliest `before:`, the latest `after:`.
fn later_or_earlier(current: Option<NaiveDate>, new: NaiveDate, later: bool) -> NaiveDate {
    match current {
        Some(old) if later => old.max(new),
        Some(old) => old.min(new),
        None => new,
    }
}

fn date(value: &str) -> Result<NaiveDate, ValidationError> {
    NaiveDate::parse_from_str(value, "%Y-%m-%d").map_err(|_| {
        ValidationError::new(
            "search_date_invalid",
            format!("{value:?} is not a date; write it as YYYY-MM-DD."),
        )
    })
}

fn user_ref(value: &str) -> Result<UserRef, ValidationError> {
    let name = value.strip_prefix('@').unwrap_or(value);
    if let Some(id) = UserId::parse(name) {
        return Ok(UserRef::Id(id));
    }
    Handle::parse(&name.to_lowercase())
        .map(UserRef::Handle)
        .map_err(|_| invalid(format!("{value:?} is not a user: write from:@handle.")))
}

fn channel_ref(value: &str) -> Result<ChannelRef, ValidationError> {
    if value.starts_with('@') {
        return user_ref(value).map(ChannelRef::Dm);
    }
    let name = value.strip_prefix('#').unwrap_or(value);
    if let Some(id) = ChannelId::parse(name) {
        return Ok(ChannelRef::Id(id));
    }
    ChannelName::parse(&name.to_lowercase())
        .map(ChannelRef::Name)
        .map_err(|_| {
            invalid(format!(
                "{value:?} is not a channel: write in:#name or in:@handle."
            ))
        })
}

/// A quoted or bare part of the input.
enum Piece {
    Phrase { text: String, negated: bool },
    Bare { text: String, negated: bool },
}

/// Splits the input at whitespace outside quotes. A `-` right before a part negates it.
fn split(input: &str) -> Result<Vec<Piece>, ValidationError> {
    let mut pieces = Vec::new();
    let mut chars = input.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
            continue;
        }
        let mut negated = false;
        if c == '-' {
            chars.next();
            match chars.peek() {
                Some(&next) if !next.is_whitespace() => negated = true,
                _ => continue,
            }
        }
        if chars.peek() == Some(&'"') {
            chars.next();
            let mut text = String::new();
            loop {
                match chars.next() {
                    Some('"') => break,
                    Some(c) => text.push(c),
                    None => return Err(invalid("A quote is not closed: add the closing \".")),
                }
            }
            pieces.push(Piece::Phrase { text, negated });
        } else {
            let mut text = String::new();
            while let Some(&c) = chars.peek() {
                if c.is_whitespace() {
                    break;
                }
                text.push(c);
                chars.next();
            }
            pieces.push(Piece::Bare { text, negated });
        }
    }
    Ok(pieces)
}

/// The terms of a phrase: none, one word, or a phrase of several.
fn phrase(mut terms: Vec<String>) -> Option<Term> {
    match terms.len() {
        0 => None,
        1 => terms.pop().map(Term::Word),
        _ => Some(Term::Phrase(terms)),
    }
}

/// The terms of a bare word. `word*` is a prefix; a word that splits into several tokens
/// (`e-mail`, `foo:bar`, `東京都`) is a phrase of them; a lone CJK character matches the
/// bigrams that start with it.
fn bare_terms(word: &str) -> Result<Vec<Term>, ValidationError> {
    let (body, is_prefix) = match word.strip_suffix('*') {
        Some(body) => (body.trim_end_matches('*'), true),
        None => (word, false),
    };
    let mut tokens = text::tokens(body);
    if is_prefix {
        let Some(last) = tokens.pop() else {
            return Ok(Vec::new());
        };
        let prefix = prefix_of(last)?;
        let mut terms: Vec<Term> = phrase(tokens.into_iter().map(|t| t.term).collect())
            .into_iter()
            .collect();
        terms.push(prefix);
        return Ok(terms);
    }
    if let [only] = tokens.as_slice()
        && only.cjk
        && only.folded.chars().count() == 1
    {
        return Ok(vec![Term::Prefix(only.folded.clone())]);
    }
    Ok(phrase(tokens.into_iter().map(|t| t.term).collect())
        .into_iter()
        .collect())
}

fn prefix_of(token: Token) -> Result<Term, ValidationError> {
    if token.folded.chars().count() < MIN_PREFIX_CHARS && !token.cjk {
        return Err(ValidationError::new(
            "search_prefix_too_short",
            format!("A prefix search needs at least {MIN_PREFIX_CHARS} characters before the *."),
        ));
    }
    Ok(Term::Prefix(token.folded))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(ws: &[&str]) -> Vec<Term> {
        ws.iter().map(|w| Term::Word((*w).to_owned())).collect()
    }

    fn code(q: &str) -> &'static str {
        Query::parse(q).unwrap_err().code
    }

    #[test]
    fn words_are_stemmed_terms() {
        let q = Query::parse("Deployed  the  BUILDS").unwrap();
        assert_eq!(q.terms, words(&["deploy", "the", "build"]));
        assert!(!q.has_filters());
    }

    #[test]
    fn phrases_exclusions_and_prefixes() {
        let q = Query::parse(r#""release notes" -draft -"old plan" depl*"#).unwrap();
        assert_eq!(
            q.terms,
            [
                Term::Phrase(vec!["releas".into(), "note".into()]),
                Term::Prefix("depl".into())
            ]
        );
        assert_eq!(
            q.excluded,
            [
                Term::Word("draft".into()),
                Term::Phrase(vec!["old".into(), "plan".into()])
            ]
        );
    }

    #[test]
    fn operators() {
        let q = Query::parse(
            "from:@Ada from:U0123456789ABCDEFGHJKMNPQRS in:#General in:@bob in:C0123456789ABCDEFGHJKMNPQRS \
             before:2026-03-01 before:2026-02-01 after:2026-01-01 on:2026-01-15 \
             has:link has:file has:reaction is:thread lunch",
        );
        let q = q.unwrap();
        assert_eq!(q.from.len(), 2);
        assert_eq!(q.from[0], UserRef::Handle(Handle::parse("ada").unwrap()));
        assert_eq!(
            q.channels[0],
            ChannelRef::Name(ChannelName::parse("general").unwrap())
        );
        assert_eq!(
            q.channels[1],
            ChannelRef::Dm(UserRef::Handle(Handle::parse("bob").unwrap()))
        );
        assert_eq!(q.before, NaiveDate::from_ymd_opt(2026, 2, 1));
        assert_eq!(q.after, NaiveDate::from_ymd_opt(2026, 1, 1));
        assert_eq!(q.on, NaiveDate::from_ymd_opt(2026, 1, 15));
        assert!(q.has_link && q.has_file && q.has_reaction && q.is_thread);
        assert_eq!(q.terms, words(&["lunch"]));
    }

    #[test]
    fn unknown_operators_and_urls_are_words() {
        let q = Query::parse("foo:bar https://example.com").unwrap();
        assert_eq!(
            q.terms,
            [
                Term::Phrase(vec!["foo".into(), "bar".into()]),
                Term::Phrase(vec!["https".into(), "exampl".into(), "com".into()]),
            ]
        );
    }

    #[test]
    fn cjk_queries_are_bigram_phrases() {
        let q = Query::parse("東京都 猫").unwrap();
        assert_eq!(
            q.terms,
            [
                Term::Phrase(vec!["東京".into(), "京都".into()]),
                Term::Prefix("猫".into())
            ]
        );
    }

    #[test]
    fn filters_alone_are_a_query_but_nothing_is_not() {
        assert!(Query::parse("from:@ada").is_ok());
        assert!(Query::parse("from:@ada -lunch").is_ok());
        assert_eq!(code(""), "search_query_empty");
        assert_eq!(code("  !!! \"\" "), "search_query_empty");
        assert_eq!(code("-lunch"), "search_query_empty");
    }

    #[test]
    fn bad_input_gets_a_stable_code() {
        assert_eq!(code("\"unclosed phrase"), "search_query_invalid");
        assert_eq!(code("from:"), "search_query_invalid");
        assert_eq!(code("from:@no!pe"), "search_query_invalid");
        assert_eq!(code("in:#bad!name"), "search_query_invalid");
        assert_eq!(code("has:cats"), "search_query_invalid");
        assert_eq!(code("is:open"), "search_query_invalid");
        assert_eq!(code("on:2026-01-01 on:2026-01-02"), "search_query_invalid");
        assert_eq!(code("before:yesterday"), "search_date_invalid");
        assert_eq!(code("after:2026-02-30"), "search_date_invalid");
        assert_eq!(code("a*"), "search_prefix_too_short");
        assert_eq!(
            code(&"x".repeat(MAX_QUERY_CHARS + 1)),
            "search_query_too_long"
        );
        assert_eq!(
            code(&"w ".repeat(MAX_QUERY_PARTS + 1)),
            "search_query_too_complex"
        );
    }

    #[test]
    fn a_lone_dash_is_not_an_exclusion() {
        assert_eq!(Query::parse("a - b").unwrap().terms, words(&["a", "b"]));
    }
}
