//! A relevance score that depends only on the query and the message itself.
//!
//! Scores like BM25 also weigh each term by how rare it is in the whole index, so every
//! message written anywhere shifts every score a little; a result page cut at "score
//! below x" would then show a result twice or skip one when the next page is read. This
//! score is BM25's term-frequency part with a fixed document length: more occurrences
//! count, with diminishing returns, and a short message about the term beats a long one
//! that mentions it in passing. Every result contains every term anyway (terms are
//! ANDed), so leaving out the rarity weight costs little.

use super::query::Term;
use super::text::{self, Token};

/// BM25's usual term-frequency saturation and length normalisation.
const K1: f64 = 1.2;
const B: f64 = 0.75;
/// The length, in tokens, that counts as average (a typical chat message).
const TYPICAL_LEN: f64 = 16.0;

/// The score of `text` for these (positive) terms; 0 when there are none.
pub fn score(text: &str, terms: &[Term]) -> f64 {
    if terms.is_empty() {
        return 0.0;
    }
    let (len, tf) = if terms.iter().any(|t| matches!(t, Term::Phrase(_))) {
        let tokens = text::unstemmed_tokens(text);
        let tf = terms.iter().map(|t| occurrences(&tokens, t)).collect();
        (tokens.len(), tf)
    } else {
        streamed_occurrences(text, terms)
    };
    let norm = K1 * (1.0 - B + B * len as f64 / TYPICAL_LEN);
    tf.into_iter()
        .map(|tf| {
            let tf = tf as f64;
            tf * (K1 + 1.0) / (tf + norm)
        })
        .sum()
}

/// The token count and each (word or prefix) term's occurrences, without building a
/// token list: the folded form goes through one reused buffer, and a word is stemmed only
/// when a term starts with its letter. Many candidates are scored per search.
fn streamed_occurrences(text: &str, terms: &[Term]) -> (usize, Vec<usize>) {
    let mut len = 0;
    let mut tf = vec![0; terms.len()];
    let mut folded = String::new();
    text::visit(text, &mut |chars, _| {
        len += 1;
        folded.clear();
        folded.extend(chars.iter().map(|&(c, _, _)| c));
        let first = folded.chars().next();
        let mut stem: Option<std::borrow::Cow<'_, str>> = None;
        for (i, term) in terms.iter().enumerate() {
            let (Term::Word(t) | Term::Prefix(t)) = term else {
                continue;
            };
            let prefix = matches!(term, Term::Prefix(_));
            if prefix && folded.starts_with(t.as_str()) {
                tf[i] += 1;
                continue;
            }
            if first != t.chars().next() {
                continue;
            }
            let stem = stem.get_or_insert_with(|| text::term_of(&folded));
            if (prefix && stem.starts_with(t.as_str())) || (!prefix && stem.as_ref() == t) {
                tf[i] += 1;
            }
        }
    });
    (len, tf)
}

fn occurrences(tokens: &[Token], term: &Term) -> usize {
    spans(tokens, term).len()
}

/// Where `term` occurs in `tokens` (from [`text::unstemmed_tokens`] or [`text::tokens`]):
/// the first and last index of each occurrence. What the score counts and the snippet
/// marks, so the two never disagree.
pub(super) fn spans(tokens: &[Token], term: &Term) -> Vec<(usize, usize)> {
    match term {
        Term::Word(w) => (0..tokens.len())
            .filter(|&i| is(&tokens[i], w))
            .map(|i| (i, i))
            .collect(),
        Term::Prefix(p) => (0..tokens.len())
            .filter(|&i| {
                let t = &tokens[i];
                t.folded.starts_with(p.as_str())
                    || (same_start(t, p) && text::term_of(&t.folded).starts_with(p.as_str()))
            })
            .map(|i| (i, i))
            .collect(),
        Term::Phrase(words) => tokens
            .windows(words.len())
            .enumerate()
            .filter(|(_, run)| run.iter().zip(words).all(|(t, w)| is(t, w)))
            .map(|(i, _)| (i, i + words.len() - 1))
            .collect(),
    }
}

/// Whether the token's term is `term`, stemming only the tokens that can match.
fn is(token: &Token, term: &str) -> bool {
    same_start(token, term) && text::term_of(&token.folded) == term
}

fn same_start(token: &Token, term: &str) -> bool {
    token.folded.chars().next() == term.chars().next()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::search::Query;

    fn s(text: &str, q: &str) -> f64 {
        score(text, &Query::parse(q).unwrap().terms)
    }

    #[test]
    fn more_occurrences_and_shorter_messages_score_higher() {
        assert!(s("outage outage outage", "outage") > s("outage report", "outage"));
        assert!(
            s("outage report", "outage")
                > s(
                    "outage mentioned once in a long message about many other things",
                    "outage"
                )
        );
        assert_eq!(s("no match here", "outage"), 0.0);
    }

    #[test]
    fn streaming_counts_as_the_token_list_does() {
        let text = "Deploying deployments: DEPLOY, déploy, depot; happy happiness";
        for q in ["deploy", "depl*", "happi", "deploy depot", "happ* café"] {
            let terms = Query::parse(q).unwrap().terms;
            let tokens = text::unstemmed_tokens(text);
            let listed: Vec<usize> = terms.iter().map(|t| occurrences(&tokens, t)).collect();
            assert_eq!(
                streamed_occurrences(text, &terms),
                (tokens.len(), listed),
                "{q}"
            );
        }
    }

    #[test]
    fn the_same_text_always_scores_the_same() {
        assert_eq!(
            s("deploy the api", "deploy api"),
            s("deploy the api", "deploy api")
        );
        assert!(s("release notes", "\"release notes\"") > 0.0);
        assert!(s("deployment", "deploym*") > 0.0);
    }
}
