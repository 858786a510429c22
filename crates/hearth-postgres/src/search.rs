//! Running a search: the request's terms as a `tsquery`, and the one statement that finds,
//! ranks and pages the messages the viewer may read.
//!
//! The `tsquery` is a literal built here from the terms hearth-core parsed (never
//! `to_tsquery` of what someone typed), matching the weights [`crate::index`] writes: a
//! word is `'t':A`, a phrase `('a':A <-> 'b':A)`, a prefix `'p':*AB` (a term or a folded
//! word), a flag `'link':C`, an exclusion `!(…)`, all joined with `&`. A query of
//! exclusions alone would make the GIN index scan everything, so it becomes a filter
//! instead: `NOT (search_vector @@ (x | y))`.
//!
//! Relevance ranks the newest [`RELEVANCE_WINDOW`] matches, so a common word costs about
//! what a rare one does. The rank is `ts_rank` over the positive terms alone, with only weight A counting and
//! normalization 1 (divided by 1 + the log of the document's length). Exclusions and
//! flags stay out of it: `ts_rank` scores a query of several operands by how close they
//! sit, so `deploy -lunch` would score every match about 1e-20, whatever its text. The
//! score is a `real`, so the `f64` a cursor carries came from one and compares exactly.
//!
//! Visibility is checked by the statement itself, per row, before anything is ranked or
//! counted: the workspace, not deleted, at or before the search's `through_seq`, and in a
//! channel the viewer is a member of now or, when allowed, a public one.
//!
//! `from:` and `in:` are conditions of the same statement, on `user_id` and `channel_id`;
//! `messages_by_author` and `messages_by_channel` (workspace, author or channel, seq) let
//! the planner walk one author's or channel's messages newest first and check the words
//! on each, or AND a bitmap of them with the words' GIN bitmap, whichever it costs lower.
//! Without them, a common word with a rare author read and sorted most of the word's
//! matches (262 ms at p99 on 1M messages). Adding the author and channel to the vector as
//! lexemes instead (as SQLite adds them to its FTS5 rows, whose posting lists are read in
//! order and stop once the window is full) would leave GIN's intersection unordered, so a
//! busy channel and a common word would still read and sort thousands of rows; it would
//! also change `ts_rank`'s document length (so every score) and need a re-index that
//! keeps old rows findable. The two B-trees cost each post two index inserts. Known gap:
//! for a rare word in a busy channel the planner may AND the channel's whole bitmap with
//! the word's rather than filter the word's few matches (see BENCHMARKS.md, Search).
//!
//! The statement is assembled from fixed fragments (only the conditions a request uses,
//! so the planner never sees an `x IS NULL OR …` it cannot use an index for), with every
//! value bound, and sent unprepared so each search is planned for its own terms: a rare
//! word wants the GIN index, a filter alone wants the newest rows first.

use hearth_core::id::WorkspaceId;
use hearth_core::model::ChannelKind;
use hearth_core::search::Term;
use hearth_core::store::{RELEVANCE_WINDOW, SearchHit, SearchRequest, SearchSort, StoreResult};
use hearth_core::value::{ChannelName, DisplayName, Handle};
use sqlx::{FromRow, PgConnection, Postgres, QueryBuilder};

use crate::error::{corrupt, db};
use crate::index::quote_into;
use crate::reactions;
use crate::rows::{MessageRow, message_columns, text_array};

/// What a request asks of the index, as `tsquery` literals.
#[derive(Debug, Default, PartialEq)]
struct TextQuery {
    /// What a message must match (terms, flags, and the exclusions with them); `None`
    /// when there is nothing positive to match.
    matches: Option<String>,
    /// What a message must not match, when there is nothing positive: any of these.
    excludes: Option<String>,
    /// What the rank is computed from: the positive terms.
    rank: Option<String>,
}

impl TextQuery {
    fn of(request: &SearchRequest) -> TextQuery {
        let terms: Vec<String> = request.terms.iter().filter_map(term).collect();
        let excluded: Vec<String> = request.excluded.iter().filter_map(term).collect();
        let flags = request.flags.iter().map(|f| {
            let mut out = String::new();
            quote_into(&mut out, f);
            out.push_str(":C");
            out
        });
        let positive: Vec<String> = terms.iter().cloned().chain(flags).collect();
        let rank = (!terms.is_empty()).then(|| terms.join(" & "));
        if positive.is_empty() {
            return TextQuery {
                matches: None,
                excludes: (!excluded.is_empty()).then(|| excluded.join(" | ")),
                rank,
            };
        }
        let all: Vec<String> = positive
            .into_iter()
            .chain(excluded.iter().map(|e| format!("!{e}")))
            .collect();
        TextQuery {
            matches: Some(all.join(" & ")),
            excludes: None,
            rank,
        }
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

/// A message found, with its score and what a result shows of its channel and author.
#[derive(FromRow)]
struct HitRow {
    #[sqlx(flatten)]
    message: MessageRow,
    score: f32,
    channel_kind: String,
    channel_name: Option<String>,
    author_handle: String,
    author_display_name: String,
}

/// One page of `request`'s results, in its sort order. Runs in the caller's read
/// snapshot, so the hits and their reactions agree.
pub(crate) async fn search_messages(
    conn: &mut PgConnection,
    ws: &WorkspaceId,
    request: &SearchRequest,
) -> StoreResult<Vec<SearchHit>> {
    let text = TextQuery::of(request);
    // Relevance without terms has nothing to rank by: newest first, like Recent.
    let rank = match request.sort {
        SearchSort::Relevance => text.rank.as_deref(),
        SearchSort::Recent => None,
    };

    // Ranked: the newest RELEVANCE_WINDOW matches (innermost), scored (middle), then the
    // page (outer). Otherwise the page is read newest first directly.
    // The vector itself never leaves the statement (its type is one sqlx would look up).
    let mut q = QueryBuilder::<Postgres>::new("WITH hits AS (SELECT * FROM (SELECT ");
    q.push(message_columns!()).push(", ");
    match rank {
        Some(rank) => q
            .push("ts_rank('{0, 0, 0, 1}', m.search_vector, ")
            .push_bind(rank)
            .push("::tsquery, 1) AS score FROM (SELECT m.search_vector, "),
        None => q.push("0::real AS score FROM (SELECT "),
    };
    q.push(message_columns!());
    q.push(" FROM messages m WHERE m.workspace_id = ")
        .push_bind(ws.as_str())
        .push(" AND NOT m.deleted AND m.seq <= ")
        .push_bind(request.through_seq);

    // Visibility: a channel the viewer is a member of now, or a public one.
    q.push(
        " AND (m.channel_id IN (SELECT mb.channel_id FROM memberships mb \
         WHERE mb.workspace_id = ",
    )
    .push_bind(ws.as_str())
    .push(" AND mb.user_id = ")
    .push_bind(request.viewer.as_str())
    .push(")");
    if request.include_public {
        q.push(" OR m.channel_id IN (SELECT c.id FROM channels c WHERE c.workspace_id = ")
            .push_bind(ws.as_str())
            .push(" AND c.kind = 'public')");
    }
    q.push(")");

    if let Some(matches) = &text.matches {
        q.push(" AND m.search_vector @@ ")
            .push_bind(matches.as_str())
            .push("::tsquery");
    }
    if let Some(excludes) = &text.excludes {
        q.push(" AND NOT (m.search_vector @@ ")
            .push_bind(excludes.as_str())
            .push("::tsquery)");
    }
    // One author or channel is `=`, not `= ANY`: PostgreSQL (before 17) reads an index
    // in order only when a list is on its first column, and `messages_by_author` /
    // `messages_by_channel` are walked newest first.
    match request.authors.as_slice() {
        [] => {}
        [one] => {
            q.push(" AND m.user_id = ").push_bind(one.as_str());
        }
        many => {
            q.push(" AND m.user_id = ANY(")
                .push_bind(text_array(many.iter().map(|u| u.as_str())))
                .push(")");
        }
    }
    match request.channels.as_slice() {
        [] => {}
        [one] => {
            q.push(" AND m.channel_id = ").push_bind(one.as_str());
        }
        many => {
            q.push(" AND m.channel_id = ANY(")
                .push_bind(text_array(many.iter().map(|c| c.as_str())))
                .push(")");
        }
    }
    if let Some(from) = request.created_from {
        q.push(" AND m.created_at >= ").push_bind(from.0);
    }
    if let Some(before) = request.created_before {
        q.push(" AND m.created_at < ").push_bind(before.0);
    }
    if request.has_reaction {
        q.push(
            " AND EXISTS (SELECT 1 FROM reactions r \
             WHERE r.workspace_id = m.workspace_id AND r.message_id = m.id)",
        );
    }
    if request.is_thread {
        q.push(" AND (m.thread_root_id IS NOT NULL OR m.reply_count > 0)");
    }
    if rank.is_some() {
        q.push(" ORDER BY m.seq DESC LIMIT ")
            .push_bind(i64::from(RELEVANCE_WINDOW));
    }
    q.push(") m) m");

    // Strictly after the previous page, in the sort's order.
    if let Some(after) = request.after {
        match rank {
            Some(_) => {
                // The score was a `real` when it left here: back to one, it is exact.
                let score = after.score as f32;
                q.push(" WHERE (m.score < ")
                    .push_bind(score)
                    .push(" OR (m.score = ")
                    .push_bind(score)
                    .push(" AND m.seq < ")
                    .push_bind(after.seq)
                    .push("))");
            }
            None => {
                q.push(" WHERE m.seq < ").push_bind(after.seq);
            }
        }
    }
    q.push(" ORDER BY m.score DESC, m.seq DESC LIMIT ")
        .push_bind(i64::from(request.limit))
        .push(
            ") SELECT hits.*, c.kind AS channel_kind, c.name AS channel_name, \
             u.handle AS author_handle, u.display_name AS author_display_name \
             FROM hits \
             JOIN channels c ON c.workspace_id = hits.workspace_id AND c.id = hits.channel_id \
             JOIN users u ON u.workspace_id = hits.workspace_id AND u.id = hits.user_id \
             ORDER BY hits.score DESC, hits.seq DESC",
        );

    let rows: Vec<HitRow> = q
        .build_query_as()
        .persistent(false)
        .fetch_all(&mut *conn)
        .await
        .map_err(db)?;
    let mut details = Vec::with_capacity(rows.len());
    let mut messages = Vec::with_capacity(rows.len());
    for row in rows {
        messages.push(row.message);
        details.push((
            row.score,
            row.channel_kind,
            row.channel_name,
            row.author_handle,
            row.author_display_name,
        ));
    }
    let messages = reactions::attach(conn, ws, messages).await?;
    messages
        .into_iter()
        .zip(details)
        .map(|(message, (score, kind, name, handle, display_name))| {
            Ok(SearchHit {
                message,
                score: f64::from(score),
                channel_kind: ChannelKind::parse(&kind).ok_or_else(|| corrupt("kind", &kind))?,
                channel_name: name.map(ChannelName::from_trusted),
                author_handle: Handle::from_trusted(handle),
                author_display_name: DisplayName::from_trusted(display_name),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use hearth_core::id::UserId;
    use hearth_core::search::Query;
    use hearth_core::store::SearchSort;

    use super::*;

    fn request(q: &str) -> SearchRequest {
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
                "'deploy':A & ('releas':A <-> 'note':A) & 'depl':*AB & 'link':C \
                 & !'lunch':A & !('web':A <-> 'app':A)"
            )
        );
        assert_eq!(q.excludes, None);
        assert_eq!(
            q.rank.as_deref(),
            Some("'deploy':A & ('releas':A <-> 'note':A) & 'depl':*AB")
        );
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
        assert_eq!(q.matches.as_deref(), Some("'link':C"));
        assert_eq!(q.rank, None);
    }
}
