//! Running a search: the request's terms as a `tsquery` ([`text`]), and the one statement
//! that finds, ranks and pages the messages the viewer may read ([`statement`]).
//!
//! A query of exclusions alone would make the GIN index scan everything, so it becomes a
//! filter instead: `NOT (search_vector @@ (x | y))`.
//!
//! Relevance ranks the newest [`RELEVANCE_WINDOW`](hearth_core::store::RELEVANCE_WINDOW) matches, so a common word costs about
//! what a rare one does. The rank is `ts_rank` over the positive terms alone, with only
//! weight A counting and normalization 1 (divided by 1 + the log of the document's
//! length). Exclusions, flags and scopes stay out of it: `ts_rank` scores a query of
//! several operands by how close they sit, so `deploy -lunch` would score every match
//! about 1e-20, whatever its text. The score is a `real`, so the `f64` a cursor carries
//! came from one and compares exactly.
//!
//! Visibility is checked by the statement itself, per row, before anything is ranked or
//! counted: the workspace, not deleted, at or before the search's `through_seq`, and in a
//! channel the viewer is a member of now or, when allowed, a public one.
//!
//! ## `from:` and `in:`
//!
//! The search index (`messages_search_scoped`, migration 0007) is a GIN index of two
//! columns: the stored vector, and [`text::SCOPES`], an expression holding
//! `' in <channel>'` and `' from <author>'`, lexemes no tokenizer output can equal (it
//! never makes a space). The vector itself is unchanged, so `ts_rank`'s document length,
//! and every score, is what it was. A search with words and a scope can be written two
//! ways ([`Shape`]):
//! - **Lexemes:** `search_vector @@ 'deploy':A AND scopes @@ ' in <ops>'`, which GIN
//!   scans as one: it steps through the rarer posting list and skips in the other, then
//!   the matches are sorted by time. Cheap when the word is rare in the channel: only its
//!   matches there are read, however busy the channel (`prioriti in:#general`, 3,500
//!   matches among 115,000 messages of 1M: 13 ms against 35).
//! - **Columns:** `search_vector @@ 'deploy':A AND channel_id = <ops>`, which the planner
//!   can meet by walking `messages_by_channel` (or `messages_by_author`) newest first,
//!   checking the words on each message until the window is full. Cheap when the word is
//!   common in the channel: GIN returns matches unordered, so the lexemes would read and
//!   sort every one (28,000 for `on` in that channel: 8 ms against 3).
//!
//! Both at once would not do: the planner multiplies the channel's share in twice,
//! expects a fraction of the matches there are, and ANDs a bitmap of the channel's whole
//! B-tree range with the GIN scan (180 ms for `on`). So each such search is costed by the
//! planner in both shapes (`EXPLAIN` of the part that finds the messages, two short round
//! trips in the same snapshot) and the cheaper runs. Each shape's estimates count the scope once, so the
//! comparison is the planner's own between reading matches and walking. Searches without
//! a scope, or without words, have one shape and are not costed first.
//!
//! ## Phrases
//!
//! GIN cannot check positions: for a phrase it returns every message holding all its
//! words, and each is fetched and checked. Two common words that rarely follow each other
//! cost a read of thousands of rows (`launch for`: 525 ms on 1M messages). So each
//! message's word pairs are indexed too (`search_pairs`, see [`crate::index`]), and a
//! phrase matches `search_pairs` on each of its pairs (`' launch for'`: 1 ms). A phrase
//! of two words is exactly its pair, so it leaves the vector's query altogether; a longer
//! one keeps its positions check, on the few rows its pairs found, written as the call
//! `ts_match_vq` rather than `@@`. Either way the planner estimates the phrase from the
//! pairs' statistics alone: with the words' too, it multiplies the two as if they were
//! unrelated, takes a common phrase for a rare one and reads every match (`we re`, on 2 %
//! of messages: 470 ms against 2 ms walking the newest; `is a i` 78 ms against 11 ms). Until every message has its pairs (the backlog
//! after migration 0009), phrases are matched by positions alone
//! ([`PgStore::by_pairs`](crate::PgStore)).
//!
//! The statement is assembled from fixed fragments (only the conditions a request uses,
//! so the planner never sees an `x IS NULL OR …` it cannot use an index for), with every
//! value bound, and sent unprepared so each search is planned for its own terms: a rare
//! word wants the GIN index, a filter alone wants the newest rows first.

mod statement;
mod text;

use hearth_core::id::WorkspaceId;
use hearth_core::model::ChannelKind;
use hearth_core::store::{SearchHit, SearchRequest, StoreResult};
use hearth_core::value::{ChannelName, DisplayName, Handle};
use sqlx::{FromRow, PgConnection};

pub use self::statement::Shape;
use self::statement::{costing, statement};
use self::text::TextQuery;
use crate::error::{corrupt, db};
use crate::reactions;
use crate::rows::MessageRow;

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
    by_pairs: bool,
) -> StoreResult<Vec<SearchHit>> {
    let text = TextQuery::of(request, by_pairs);
    let shape = choose_shape(conn, ws, request, &text).await?;
    run(conn, ws, request, &text, shape).await
}

/// The shape [`search_messages`] would run `request` in (for tests).
#[cfg(feature = "testing")]
pub(crate) async fn shape_for(
    conn: &mut PgConnection,
    ws: &WorkspaceId,
    request: &SearchRequest,
    by_pairs: bool,
) -> StoreResult<Shape> {
    choose_shape(conn, ws, request, &TextQuery::of(request, by_pairs)).await
}

/// [`search_messages`] in the shape given (for tests).
#[cfg(feature = "testing")]
pub(crate) async fn search_in_shape(
    conn: &mut PgConnection,
    ws: &WorkspaceId,
    request: &SearchRequest,
    shape: Shape,
    by_pairs: bool,
) -> StoreResult<Vec<SearchHit>> {
    run(conn, ws, request, &TextQuery::of(request, by_pairs), shape).await
}

/// The shape a search runs in: the one the planner costs lower when it has words and a
/// scope, else the only one there is.
async fn choose_shape(
    conn: &mut PgConnection,
    ws: &WorkspaceId,
    request: &SearchRequest,
    text: &TextQuery,
) -> StoreResult<Shape> {
    if text.scopes.is_none() {
        return Ok(Shape::Columns);
    }
    cheaper_shape(conn, ws, request, text).await
}

/// Runs the statement in `shape` and attaches the hits' reactions.
async fn run(
    conn: &mut PgConnection,
    ws: &WorkspaceId,
    request: &SearchRequest,
    text: &TextQuery,
    shape: Shape,
) -> StoreResult<Vec<SearchHit>> {
    let mut q = statement(ws, request, text, shape);
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

/// How much cheaper the planner must cost the lexemes than the columns for them to run.
/// Their plan reads each match from a bitmap, rechecks it and sorts the wide rows by
/// time, which costs more per row than the planner counts. Over 172 `in:` searches on
/// 1M messages, run in each shape, wherever the two differed by more than 4 ms the
/// lexemes were the faster when costed below three quarters of the columns, and the
/// slower when costed above.
const LEXEMES_DISCOUNT: f64 = 0.75;

/// The shape the planner costs lower for this search, the lexemes needing to be
/// [`LEXEMES_DISCOUNT`] cheaper (the columns when a plan's cost cannot be read).
async fn cheaper_shape(
    conn: &mut PgConnection,
    ws: &WorkspaceId,
    request: &SearchRequest,
    text: &TextQuery,
) -> StoreResult<Shape> {
    let mut costs = [None, None];
    for (cost, shape) in costs.iter_mut().zip([Shape::Columns, Shape::Lexemes]) {
        let plan: String = costing(ws, request, text, shape)
            .build_query_scalar()
            .persistent(false)
            .fetch_one(&mut *conn)
            .await
            .map_err(db)?;
        *cost = total_cost(&plan);
    }
    let shape = match costs {
        [Some(columns), Some(lexemes)] if lexemes < columns * LEXEMES_DISCOUNT => Shape::Lexemes,
        [Some(_), Some(_)] => Shape::Columns,
        _ => {
            tracing::warn!(?costs, "a search plan's cost could not be read");
            Shape::Columns
        }
    };
    tracing::debug!(?costs, ?shape, "search shape");
    Ok(shape)
}

/// The total cost in the first line of a text `EXPLAIN`: `Limit  (cost=1.0..42.5 rows=…`.
fn total_cost(plan: &str) -> Option<f64> {
    let (_, after) = plan.split_once("cost=")?;
    let (_, total) = after.split_once("..")?;
    total.split(' ').next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plans_total_cost_is_read_from_its_first_line() {
        assert_eq!(
            total_cost("Nested Loop  (cost=21543.92..21748.44 rows=21 width=394)"),
            Some(21748.44)
        );
        assert_eq!(
            total_cost("Result  (cost=0.00..0.01 rows=1 width=4)"),
            Some(0.01)
        );
        assert_eq!(total_cost("Seq Scan on t"), None);
    }
}
