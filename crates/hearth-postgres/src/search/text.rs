//! What a search asks of the index, as `tsquery` literals built from the terms hearth-core
//! parsed (never `to_tsquery` of what someone typed), matching the weights
//! [`crate::index`] writes: a word is `'t':A`, a phrase `('a':A <-> 'b':A)`, a prefix
//! `'p':*AB` (a term or a folded word), a flag `' has link':C`, an exclusion `!(…)`, all joined
//! with `&`. A phrase has its word pairs too (`' releas note'`), which only
//! `search_pairs` holds. `in:` and `from:` have scope lexemes too (`' in <channel>'`,
//! `' from <author>'`), which only the index's second column holds ([`SCOPES`]).

use hearth_core::search::Term;
use hearth_core::store::SearchRequest;

use crate::index::{flag_lexeme, pair_lexeme, quote_into};

/// A message's scope lexemes, the second column of the search index
/// (`messages_search_scoped`, migration 0007). A query uses that column only when it
/// writes the expression exactly as the migration does.
pub(super) const SCOPES: &str =
    "array_to_tsvector(ARRAY[' in ' || m.channel_id, ' from ' || m.user_id])";

/// The scope lexeme of a channel (`in:`), as [`SCOPES`] spells it.
const IN: &str = " in ";
/// The scope lexeme of an author (`from:`), as [`SCOPES`] spells it.
const FROM: &str = " from ";

/// What a request asks of the index, as `tsquery` literals.
#[derive(Debug, Default, PartialEq)]
pub(super) struct TextQuery {
    /// What a message must match (terms, flags, and the exclusions with them); `None`
    /// when there is nothing positive to match.
    pub matches: Option<String>,
    /// What a message's [`SCOPES`] must match for `in:` and `from:`, when there is
    /// something positive to match: any of its channels and any of its authors.
    pub scopes: Option<String>,
    /// What a message must not match, when there is nothing positive: any of these.
    pub excludes: Option<String>,
    /// What the rank is computed from: the positive terms.
    pub rank: Option<String>,
    /// What a message's `search_pairs` must match: every pair of words of the positive
    /// phrases, when the search goes by pairs.
    pub pairs: Option<String>,
    /// The phrases of three words or more, whose positions are still checked on the
    /// vector when the search goes by pairs (the pairs alone do not order them).
    pub positions: Option<String>,
}

impl TextQuery {
    /// The literals of `request`. With `by_pairs` (every message has its word pairs), a
    /// phrase's pairs go in [`TextQuery::pairs`] and the phrase leaves the vector's query:
    /// a phrase of two words is exactly its pair, a longer one goes in
    /// [`TextQuery::positions`].
    pub fn of(request: &SearchRequest, by_pairs: bool) -> TextQuery {
        let rank_terms: Vec<String> = request.terms.iter().filter_map(term).collect();
        let mut pairs = Vec::new();
        let mut positions = Vec::new();
        let mut terms = Vec::new();
        for t in &request.terms {
            let words = phrase_words(t);
            if by_pairs && words.len() >= 2 {
                for w in words.windows(2) {
                    let mut out = String::new();
                    quote_into(&mut out, &pair_lexeme(w[0], w[1]));
                    if !pairs.contains(&out) {
                        pairs.push(out);
                    }
                }
                if words.len() > 2 {
                    positions.extend(term(t));
                }
                continue;
            }
            terms.extend(term(t));
        }
        let excluded: Vec<String> = request.excluded.iter().filter_map(term).collect();
        let flags = request.flags.iter().map(|f| {
            let mut out = String::new();
            quote_into(&mut out, &flag_lexeme(f));
            out.push_str(":C");
            out
        });
        let positive: Vec<String> = terms.into_iter().chain(flags).collect();
        let rank = (!rank_terms.is_empty()).then(|| rank_terms.join(" & "));
        let pairs = (!pairs.is_empty()).then(|| pairs.join(" & "));
        let positions = (!positions.is_empty()).then(|| positions.join(" & "));
        if positive.is_empty() && pairs.is_none() {
            return TextQuery {
                excludes: (!excluded.is_empty()).then(|| excluded.join(" | ")),
                rank,
                ..TextQuery::default()
            };
        }
        let scopes: Vec<String> = [
            scope(IN, request.channels.iter().map(|c| c.as_str())),
            scope(FROM, request.authors.iter().map(|u| u.as_str())),
        ]
        .into_iter()
        .flatten()
        .collect();
        let scopes = (!scopes.is_empty()).then(|| scopes.join(" & "));
        if positive.is_empty() {
            // Phrases alone: their pairs are what is matched; exclusions become the
            // filter.
            return TextQuery {
                scopes,
                excludes: (!excluded.is_empty()).then(|| excluded.join(" | ")),
                rank,
                pairs,
                positions,
                ..TextQuery::default()
            };
        }
        let all: Vec<String> = positive
            .into_iter()
            .chain(excluded.iter().map(|e| format!("!{e}")))
            .collect();
        TextQuery {
            matches: Some(all.join(" & ")),
            scopes,
            excludes: None,
            rank,
            pairs,
            positions,
        }
    }
}

/// The words of a phrase, without empty ones; none for any other term.
fn phrase_words(term: &Term) -> Vec<&str> {
    match term {
        Term::Phrase(words) => words
            .iter()
            .filter(|w| !w.is_empty())
            .map(String::as_str)
            .collect(),
        _ => Vec::new(),
    }
}

/// Any of `ids` as scope lexemes (`(' in a' | ' in b')`); `None` for none.
fn scope<'a>(kind: &str, ids: impl Iterator<Item = &'a str>) -> Option<String> {
    let lexemes: Vec<String> = ids
        .map(|id| {
            let mut out = String::new();
            quote_into(&mut out, &format!("{kind}{id}"));
            out
        })
        .collect();
    match lexemes.len() {
        0 => None,
        1 => lexemes.into_iter().next(),
        _ => Some(format!("({})", lexemes.join(" | "))),
    }
}

/// One term as a `tsquery` operand (parenthesized when it is more than a lexeme).
fn term(term: &Term) -> Option<String> {
    let mut out = String::new();
    match term {
        Term::Word(w) if !w.is_empty() => {
            quote_into(&mut out, w);
            out.push_str(":A");
        }
        Term::Prefix(p) if !p.is_empty() => {
            quote_into(&mut out, p);
            out.push_str(":*AB");
        }
        Term::Phrase(words) => {
            let words: Vec<&String> = words.iter().filter(|w| !w.is_empty()).collect();
            if words.is_empty() {
                return None;
            }
            out.push('(');
            for (i, w) in words.into_iter().enumerate() {
                if i > 0 {
                    out.push_str(" <-> ");
                }
                quote_into(&mut out, w);
                out.push_str(":A");
            }
            out.push(')');
        }
        _ => return None,
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use hearth_core::id::{ChannelId, UserId};
    use hearth_core::search::Query;
    use hearth_core::store::SearchSort;

    use super::*;

    pub(crate) fn request(q: &str) -> SearchRequest {
        let query = Query::parse(q).unwrap();
        let mut flags = Vec::new();
        if query.has_link {
            flags.push(hearth_core::search::text::FLAG_LINK);
        }
        SearchRequest {
            viewer: UserId::generate(),
            include_public: true,
            terms: query.terms,
            excluded: query.excluded,
            flags,
            has_reaction: false,
            is_thread: false,
            authors: Vec::new(),
            channels: Vec::new(),
            created_from: None,
            created_before: None,
            through_seq: 0,
            sort: SearchSort::Relevance,
            after: None,
            limit: 10,
        }
    }

    #[test]
    fn words_phrases_prefixes_flags_and_exclusions() {
        let q = TextQuery::of(
            &request("deployed \"release notes\" depl* has:link -lunch -\"web app\""),
            false,
        );
        assert_eq!(
            q.matches.as_deref(),
            Some(
                "'deploy':A & ('releas':A <-> 'note':A) & 'depl':*AB & ' has link':C \
                 & !'lunch':A & !('web':A <-> 'app':A)"
            )
        );
        assert_eq!(q.excludes, None);
        assert_eq!(q.scopes, None);
        assert_eq!(
            q.rank.as_deref(),
            Some("'deploy':A & ('releas':A <-> 'note':A) & 'depl':*AB")
        );
    }

    #[test]
    fn channels_and_authors_are_scope_lexemes_beside_the_words_and_not_ranked() {
        let mut r = request("deploy");
        r.channels = vec![ChannelId::from_trusted("c1".into())];
        r.authors = vec![
            UserId::from_trusted("u'1".into()),
            UserId::from_trusted("u2".into()),
        ];
        let q = TextQuery::of(&r, false);
        assert_eq!(q.matches.as_deref(), Some("'deploy':A"));
        assert_eq!(
            q.scopes.as_deref(),
            Some("' in c1' & (' from u''1' | ' from u2')")
        );
        assert_eq!(q.rank.as_deref(), Some("'deploy':A"));
    }

    #[test]
    fn scopes_alone_match_no_text() {
        // A search by filters alone walks newest first; the index has nothing to add.
        let mut r = request("-lunch has:reaction");
        r.channels = vec![ChannelId::from_trusted("c1".into())];
        let q = TextQuery::of(&r, false);
        assert_eq!(q.matches, None);
        assert_eq!(q.scopes, None);
        assert_eq!(q.excludes.as_deref(), Some("'lunch':A"));
    }

    #[test]
    fn exclusions_alone_become_a_filter() {
        let q = TextQuery::of(&request("-lunch -noon has:reaction"), false);
        assert_eq!(q.matches, None);
        assert_eq!(q.excludes.as_deref(), Some("'lunch':A | 'noon':A"));
        assert_eq!(q.rank, None);
    }

    #[test]
    fn filters_alone_match_no_text() {
        assert_eq!(
            TextQuery::of(&request("has:reaction"), false),
            TextQuery::default()
        );
        let q = TextQuery::of(&request("has:link"), false);
        assert_eq!(q.matches.as_deref(), Some("' has link':C"));
        assert_eq!(q.rank, None);
    }

    #[test]
    fn phrases_go_by_their_pairs_once_every_message_has_them() {
        let text = "deployed \"release notes\" \"web app server\" -lunch";
        let q = TextQuery::of(&request(text), true);
        assert_eq!(
            q.matches.as_deref(),
            Some("'deploy':A & !'lunch':A"),
            "phrases leave the vector's query"
        );
        assert_eq!(
            q.pairs.as_deref(),
            Some("' releas note' & ' web app' & ' app server'")
        );
        assert_eq!(
            q.positions.as_deref(),
            Some("('web':A <-> 'app':A <-> 'server':A)"),
            "a phrase of two words is exactly its pair; a longer one needs its positions"
        );
        assert_eq!(q.rank, TextQuery::of(&request(text), false).rank);
        assert_eq!(TextQuery::of(&request(text), false).pairs, None);
    }

    #[test]
    fn a_two_word_phrase_alone_is_matched_by_its_pair() {
        let mut r = request("\"release notes\" -lunch");
        r.channels = vec![ChannelId::from_trusted("c1".into())];
        let q = TextQuery::of(&r, true);
        assert_eq!(q.matches, None);
        assert_eq!(q.pairs.as_deref(), Some("' releas note'"));
        assert_eq!(q.positions, None);
        assert_eq!(q.excludes.as_deref(), Some("'lunch':A"));
        assert_eq!(q.scopes.as_deref(), Some("' in c1'"));
        assert_eq!(q.rank.as_deref(), Some("('releas':A <-> 'note':A)"));
    }
}
