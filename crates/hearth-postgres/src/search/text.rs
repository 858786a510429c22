//! What a search asks of the index, as `tsquery` literals built from the terms hearth-core
//! parsed (never `to_tsquery` of what someone typed), matching the weights
//! [`crate::index`] writes: a word is `'t':A`, a phrase `('a':A <-> 'b':A)`, a prefix
//! `'p':*AB` (a term or a folded word), a flag `' has link':C`, an exclusion `!(…)`, all joined
//! with `&`. `in:` and `from:` have scope lexemes too (`' in <channel>'`,
//! `' from <author>'`), which only the index's second column holds ([`SCOPES`]).

use hearth_core::search::Term;
use hearth_core::store::SearchRequest;

use crate::index::{flag_lexeme, quote_into};

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
}

impl TextQuery {
    pub fn of(request: &SearchRequest) -> TextQuery {
        let terms: Vec<String> = request.terms.iter().filter_map(term).collect();
        let excluded: Vec<String> = request.excluded.iter().filter_map(term).collect();
        let flags = request.flags.iter().map(|f| {
            let mut out = String::new();
            quote_into(&mut out, &flag_lexeme(f));
            out.push_str(":C");
            out
        });
        let positive: Vec<String> = terms.iter().cloned().chain(flags).collect();
        let rank = (!terms.is_empty()).then(|| terms.join(" & "));
        if positive.is_empty() {
            return TextQuery {
                matches: None,
                scopes: None,
                excludes: (!excluded.is_empty()).then(|| excluded.join(" | ")),
                rank,
            };
        }
        let all: Vec<String> = positive
            .into_iter()
            .chain(excluded.iter().map(|e| format!("!{e}")))
            .collect();
        let scopes: Vec<String> = [
            scope(IN, request.channels.iter().map(|c| c.as_str())),
            scope(FROM, request.authors.iter().map(|u| u.as_str())),
        ]
        .into_iter()
        .flatten()
        .collect();
        TextQuery {
            matches: Some(all.join(" & ")),
            scopes: (!scopes.is_empty()).then(|| scopes.join(" & ")),
            excludes: None,
            rank,
        }
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
        let q = TextQuery::of(&request(
            "deployed \"release notes\" depl* has:link -lunch -\"web app\"",
        ));
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
        let q = TextQuery::of(&r);
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
        let q = TextQuery::of(&r);
        assert_eq!(q.matches, None);
        assert_eq!(q.scopes, None);
        assert_eq!(q.excludes.as_deref(), Some("'lunch':A"));
    }

    #[test]
    fn exclusions_alone_become_a_filter() {
        let q = TextQuery::of(&request("-lunch -noon has:reaction"));
        assert_eq!(q.matches, None);
        assert_eq!(q.excludes.as_deref(), Some("'lunch':A | 'noon':A"));
        assert_eq!(q.rank, None);
    }

    #[test]
    fn filters_alone_match_no_text() {
        assert_eq!(
            TextQuery::of(&request("has:reaction")),
            TextQuery::default()
        );
        let q = TextQuery::of(&request("has:link"));
        assert_eq!(q.matches.as_deref(), Some("' has link':C"));
        assert_eq!(q.rank, None);
    }
}
