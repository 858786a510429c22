//! The statement that finds, ranks and pages a search's messages, in one of two shapes
//! that differ only in how `in:` and `from:` reach the index (see the parent module).

use hearth_core::id::WorkspaceId;
use hearth_core::store::{RELEVANCE_WINDOW, SearchRequest, SearchSort};
use sqlx::{Postgres, QueryBuilder};

use super::text::{SCOPES, TextQuery};
use crate::rows::{message_columns, text_array};

/// How `in:` and `from:` are written into a search's statement (see [`super`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// Conditions on `channel_id` and `user_id`, which the planner may meet by walking
    /// `messages_by_channel` or `messages_by_author` newest first.
    Columns,
    /// The scope lexemes matched by the search index's second column, and no column
    /// conditions, so the planner counts the scope once (with both, it multiplies the
    /// channel's share in twice and expects a fraction of the matches there are).
    Lexemes,
}

/// What the statement ranks by: the positive terms, for a search by relevance that has
/// some. Relevance without terms has nothing to rank by: newest first, like Recent.
fn rank<'t>(request: &SearchRequest, text: &'t TextQuery) -> Option<&'t str> {
    match request.sort {
        SearchSort::Relevance => text.rank.as_deref(),
        SearchSort::Recent => None,
    }
}

/// The search statement for `request` in `shape`.
pub(super) fn statement(
    ws: &WorkspaceId,
    request: &SearchRequest,
    text: &TextQuery,
    shape: Shape,
) -> QueryBuilder<Postgres> {
    let rank = rank(request, text);

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
    q.push(" FROM messages m WHERE ");
    conditions(&mut q, ws, request, text, shape);
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
    q
}

/// `from:` and `in:` as conditions on the author and channel columns.
fn scope_columns(q: &mut QueryBuilder<Postgres>, request: &SearchRequest) {
    // One author or channel is `=`, not `= ANY`: PostgreSQL (before 17) reads an index
    // in order only when a list is on its first column, and `messages_by_author` /
    // `messages_by_channel` are walked newest first.
    any_of(q, "m.user_id", request.authors.iter().map(|u| u.as_str()));
    any_of(
        q,
        "m.channel_id",
        request.channels.iter().map(|c| c.as_str()),
    );
}

/// `AND column = id`, or `= ANY(ids)` for several; nothing for none.
fn any_of<'a>(q: &mut QueryBuilder<Postgres>, column: &str, ids: impl Iterator<Item = &'a str>) {
    let ids: Vec<&str> = ids.collect();
    match ids.as_slice() {
        [] => {}
        [one] => {
            q.push(" AND ").push(column).push(" = ").push_bind(*one);
        }
        many => {
            q.push(" AND ")
                .push(column)
                .push(" = ANY(")
                .push_bind(text_array(many.iter().copied()))
                .push(")");
        }
    }
}

/// The part of [`statement`] that finds the messages, under `EXPLAIN`: the newest
/// matches it reads before ranking or paging them, which is where the shapes differ. The
/// rest of the statement is the same in both and not worth planning twice more.
pub(super) fn costing(
    ws: &WorkspaceId,
    request: &SearchRequest,
    text: &TextQuery,
    shape: Shape,
) -> QueryBuilder<Postgres> {
    let mut q = QueryBuilder::<Postgres>::new("EXPLAIN SELECT m.seq FROM messages m WHERE ");
    conditions(&mut q, ws, request, text, shape);
    let limit = match rank(request, text) {
        Some(_) => RELEVANCE_WINDOW,
        None => {
            if let Some(after) = request.after {
                q.push(" AND m.seq < ").push_bind(after.seq);
            }
            request.limit
        }
    };
    q.push(" ORDER BY m.seq DESC LIMIT ")
        .push_bind(i64::from(limit));
    q
}

/// The conditions a message must meet: visible to the viewer, matching the words, in the
/// scopes (as `shape` writes them), and passing the filters.
fn conditions(
    q: &mut QueryBuilder<Postgres>,
    ws: &WorkspaceId,
    request: &SearchRequest,
    text: &TextQuery,
    shape: Shape,
) {
    // Without words to match there are no scope lexemes: the columns are all there is.
    let shape = if text.scopes.is_some() {
        shape
    } else {
        Shape::Columns
    };
    q.push("m.workspace_id = ")
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
            .push_bind(matches.clone())
            .push("::tsquery");
    }
    if let Some(pairs) = &text.pairs {
        q.push(" AND m.search_pairs @@ ")
            .push_bind(pairs.clone())
            .push("::tsquery");
    }
    if let Some(positions) = &text.positions {
        // `@@` as the function it stands for: the planner estimates a call at a fixed
        // share instead of from the words' statistics, which it would multiply by the
        // pairs' as if the two were unrelated, taking a common phrase for a rare one.
        q.push(" AND ts_match_vq(m.search_vector, ")
            .push_bind(positions.clone())
            .push("::tsquery)");
    }
    if let (Shape::Lexemes, Some(scopes)) = (shape, &text.scopes) {
        q.push(" AND ")
            .push(SCOPES)
            .push(" @@ ")
            .push_bind(scopes.clone())
            .push("::tsquery");
    }
    if let Some(excludes) = &text.excludes {
        q.push(" AND NOT (m.search_vector @@ ")
            .push_bind(excludes.as_str())
            .push("::tsquery)");
    }
    if shape == Shape::Columns {
        scope_columns(q, request);
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
}
