//! The snippet shown for a search result: the part of the message around its first
//! match, HTML-escaped, with every matched term wrapped in `<mark>…</mark>`.
//!
//! It is built from the message text and the query's terms with the same tokenizer the
//! index uses, so it marks exactly what the search matched, on every backend.

use super::query::Term;
use super::rank;
use super::text::{self, Token};

/// The longest snippet, in characters of message text (ellipses and markup aside).
pub const SNIPPET_CHARS: usize = 240;
/// How much text to show before the first match when the message is cut.
const LEAD_CHARS: usize = 60;

/// The snippet of `text` for a query with these (positive) terms.
pub fn highlight(text: &str, terms: &[Term]) -> String {
    let tokens = text::unstemmed_tokens(text);
    let ranges = merged(matches(&tokens, terms));
    let (start, end) = window(text, ranges.first().map(|r| r.0));
    let mut out = String::new();
    if start > 0 {
        out.push('…');
    }
    let mut at = start;
    for &(s, e) in &ranges {
        let (s, e) = (s.max(start), e.min(end));
        if s >= e {
            continue;
        }
        escape_into(&mut out, &text[at..s]);
        out.push_str("<mark>");
        escape_into(&mut out, &text[s..e]);
        out.push_str("</mark>");
        at = e;
    }
    escape_into(&mut out, &text[at..end]);
    if end < text.len() {
        out.push('…');
    }
    out
}

/// The byte ranges of the tokens that match a term.
fn matches(tokens: &[Token], terms: &[Term]) -> Vec<(usize, usize)> {
    terms
        .iter()
        .flat_map(|term| rank::spans(tokens, term))
        .map(|(first, last)| (tokens[first].start, tokens[last].end))
        .collect()
}

/// Sorted, with overlapping and touching ranges joined (CJK bigrams overlap).
fn merged(mut ranges: Vec<(usize, usize)>) -> Vec<(usize, usize)> {
    ranges.sort_unstable();
    let mut out: Vec<(usize, usize)> = Vec::with_capacity(ranges.len());
    for (s, e) in ranges {
        match out.last_mut() {
            Some(last) if s <= last.1 => last.1 = last.1.max(e),
            _ => out.push((s, e)),
        }
    }
    out
}

/// The byte range of the text to show: all of a short text; otherwise
/// [`SNIPPET_CHARS`] characters starting a little before the first match, at a word
/// boundary where there is one.
fn window(text: &str, first: Option<usize>) -> (usize, usize) {
    if text.chars().count() <= SNIPPET_CHARS {
        return (0, text.len());
    }
    let first = first.unwrap_or(0);
    let lead_start = text[..first]
        .char_indices()
        .rev()
        .nth(LEAD_CHARS - 1)
        .map_or(0, |(i, _)| i);
    let start = if lead_start == 0 {
        0
    } else {
        // Start after the first space in the lead, so no word is cut in half.
        text[lead_start..first]
            .find(char::is_whitespace)
            .map_or(lead_start, |i| {
                let space = lead_start + i;
                space + text[space..].chars().next().map_or(0, char::len_utf8)
            })
    };
    let end = text[start..]
        .char_indices()
        .nth(SNIPPET_CHARS)
        .map_or(text.len(), |(i, _)| start + i);
    (start, end)
}

fn escape_into(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::search::Query;

    fn snippet(text: &str, q: &str) -> String {
        highlight(text, &Query::parse(q).unwrap().terms)
    }

    #[test]
    fn marks_stemmed_and_folded_matches() {
        assert_eq!(
            snippet("We DEPLOYED the café", "deploy cafe"),
            "We <mark>DEPLOYED</mark> the <mark>café</mark>"
        );
    }

    #[test]
    fn escapes_html_around_and_inside_marks() {
        assert_eq!(
            snippet("<b>bold</b> & 'x'", "bold"),
            "&lt;b&gt;<mark>bold</mark>&lt;/b&gt; &amp; &#39;x&#39;"
        );
    }

    #[test]
    fn marks_phrases_prefixes_and_cjk_substrings() {
        assert_eq!(
            snippet("the release notes, not notes", "\"release notes\""),
            "the <mark>release notes</mark>, not notes"
        );
        assert_eq!(
            snippet("deployment day", "deploym*"),
            "<mark>deployment</mark> day"
        );
        assert_eq!(
            snippet("明日東京都に行く", "東京都"),
            "明日<mark>東京都</mark>に行く"
        );
    }

    #[test]
    fn long_texts_are_cut_around_the_first_match() {
        let text = format!("{} needle {}", "hay ".repeat(100), "straw ".repeat(100));
        let s = snippet(&text, "needle");
        assert!(s.starts_with('…') && s.ends_with('…'), "{s}");
        assert!(s.contains("<mark>needle</mark>"));
        assert!(s.chars().count() < SNIPPET_CHARS + 20);
        assert!(s.starts_with("…hay "), "starts at a word: {s}");
    }

    #[test]
    fn no_match_shows_the_start() {
        assert_eq!(snippet("hello world", "from:@ada"), "hello world");
    }
}
