//! What the search index holds for a message, and filling it in for messages stored
//! without it.
//!
//! The index is `messages.search_vector`, a `tsvector` built here from hearth-core's
//! tokenizer ([`Document::of`]) and never by PostgreSQL's text parser, whose words depend
//! on the server's locale and configuration: SQLite indexes the same terms with FTS5, so
//! both backends find exactly the same messages. A message's vector is
//!
//! - its terms, in order, at positions 1, 2, … with weight A (phrases match consecutive
//!   A positions, and only A terms count for rank);
//! - then the folded forms of its stemmed words with weight B (so `deploym*` finds
//!   `deployment`), after the terms so no phrase can run into them;
//! - then its flags with weight C, spelt [`flag_lexeme`]: `' has link'`, and
//!   `' has file'` when it shares files, so `has:link` is one more lexeme to match. The
//!   tokenizer never makes a lexeme with a space, so no word can be a flag, even to the
//!   planner, whose statistics count a lexeme whatever its weight. (Flags were once
//!   `link` and `file`: the planner then took the word `link` for one on every message
//!   with a link and walked the whole table for it. Migration 0008 renamed them.)
//!
//! Beside it, `messages.search_pairs` holds the message's word pairs ([`pairs`]): each
//! two terms that follow each other, as one lexeme `' first second'`. A two-word phrase
//! is exactly its pair, and a longer one needs each of its pairs, so phrases are found
//! through a pair's short posting list rather than by checking the positions of every
//! message holding all their words (see the search module's docs).
//!
//! Both are written as `tsvector` literals, bound as text and cast in SQL, in the same
//! transaction as the text they index (post, edit; a delete writes the empty ones).
//! `search_pairs IS NULL` means "not indexed yet": rows written straight into the
//! database (migrate-data, a data generator, rows from before search or before pairs,
//! migration 0009) until [`backlog_step`] reaches them; once the backlog is empty,
//! [`after_backlog`] vacuums and analyzes the table.

use std::time::Instant;

use hearth_core::search::text::Document;
use hearth_core::store::{SEARCH_INDEX_STEP, StoreResult};
use sqlx::{ConnectOptions, Connection, FromRow, PgConnection, PgPool};

use crate::error::db;

/// The largest position a `tsvector` keeps: PostgreSQL clamps larger ones to it, so we do
/// it ourselves (a very long message's tail shares the last position).
const MAX_POSITION: usize = 16_383;

/// What the index holds for a message's text: both columns, from one tokenizing.
pub(crate) struct Indexed {
    /// `search_vector` ([`vector`]).
    pub vector: String,
    /// `search_pairs` ([`pairs`]).
    pub pairs: String,
}

impl Indexed {
    /// The index columns of a message's text; `has_files` when it shares files.
    pub(crate) fn of(text: &str, has_files: bool) -> Self {
        let doc = Document::of(text, has_files);
        Self {
            vector: vector_of(&doc),
            pairs: pairs_of(&doc),
        }
    }
}

/// The `tsvector` literal of a message's text; `has_files` when it shares files.
pub(crate) fn vector(text: &str, has_files: bool) -> String {
    vector_of(&Document::of(text, has_files))
}

fn vector_of(doc: &Document) -> String {
    let mut out = String::with_capacity(doc.terms.iter().map(|t| t.len() + 8).sum::<usize>() + 16);
    let mut position = 0;
    let mut push = |lexeme: &str, weight: char| {
        position = (position + 1).min(MAX_POSITION);
        if !out.is_empty() {
            out.push(' ');
        }
        quote_into(&mut out, lexeme);
        out.push(':');
        out.push_str(&position.to_string());
        out.push(weight);
    };
    for term in &doc.terms {
        push(term, 'A');
    }
    for variant in &doc.variants {
        push(variant, 'B');
    }
    for flag in &doc.flags {
        push(&flag_lexeme(flag), 'C');
    }
    out
}

/// The word pairs of a message's text, as a `tsvector` literal for `search_pairs`: each
/// two terms that follow each other, as the lexeme `' first second'` (no positions),
/// once each. A phrase can only be in a message holding each of its pairs, and a pair is
/// far rarer than either of its words, so the pairs find a phrase's few candidates where
/// its words alone would find every message holding both.
#[cfg(test)]
fn pairs(text: &str) -> String {
    pairs_of(&Document::of(text, false))
}

fn pairs_of(doc: &Document) -> String {
    let terms = &doc.terms[..doc.terms.len().min(MAX_POSITION)];
    let mut pairs: Vec<String> = terms
        .windows(2)
        .map(|w| pair_lexeme(&w[0], &w[1]))
        .collect();
    pairs.sort_unstable();
    pairs.dedup();
    let mut out = String::with_capacity(pairs.iter().map(|p| p.len() + 3).sum());
    for pair in &pairs {
        if !out.is_empty() {
            out.push(' ');
        }
        quote_into(&mut out, pair);
    }
    out
}

/// The lexeme of two terms that follow each other, in `search_pairs` or a query. It
/// starts with a space, which no term holds, so no word is ever a pair.
pub(crate) fn pair_lexeme(first: &str, second: &str) -> String {
    format!(" {first} {second}")
}

/// The lexeme of one of hearth-core's flags (`link`, `file`) in a vector or a query.
pub(crate) fn flag_lexeme(flag: &str) -> String {
    format!(" has {flag}")
}

/// Writes `lexeme` quoted for a `tsvector` or `tsquery` literal. Terms are letters and
/// digits only, but nothing here relies on it: quotes are doubled, backslashes escaped.
pub(crate) fn quote_into(out: &mut String, lexeme: &str) {
    out.push('\'');
    for c in lexeme.chars() {
        match c {
            '\'' => out.push_str("''"),
            '\\' => out.push_str("\\\\"),
            c => out.push(c),
        }
    }
    out.push('\'');
}

#[derive(FromRow)]
struct Unindexed {
    id: String,
    text: String,
    has_files: bool,
}

/// Vacuums and analyzes `messages` after a backlog was indexed, on a connection of its
/// own (outside the pool, and without sqlx's warning for statements over a second: on 1M
/// messages this takes about 3 s).
///
/// Every vector just changed from NULL: without fresh statistics the planner takes every
/// word for a rare one (a bitmap scan of all its matches instead of walking the newest
/// messages). And every indexed row left a dead version behind, with an entry in each of
/// the table's B-trees: until a vacuum, every walk and bitmap of them reads twice the
/// entries (a channel's bitmap for `in:` took 30-50 ms instead of 15-25 on 1M messages).
/// Autovacuum would come to it some time, if it is on.
pub(crate) async fn after_backlog(pool: &PgPool) -> StoreResult<()> {
    let started = Instant::now();
    let mut conn = maintenance_connection(pool).await?;
    vacuum_messages(&mut conn).await?;
    conn.close().await.map_err(db)?;
    tracing::info!(
        secs = started.elapsed().as_secs_f64(),
        "vacuumed and analyzed the messages after the search backlog"
    );
    Ok(())
}

/// A connection of its own, outside the pool, for maintenance that takes seconds or
/// minutes (migrations, vacuums): without sqlx's statement logging, which would warn
/// about every statement over a second with its whole text.
pub(crate) async fn maintenance_connection(pool: &PgPool) -> StoreResult<PgConnection> {
    let options = (*pool.connect_options())
        .clone()
        .disable_statement_logging();
    PgConnection::connect_with(&options).await.map_err(db)
}

/// `VACUUM (ANALYZE, SKIP_LOCKED) messages`: drops the dead versions rows left behind
/// and refreshes the statistics. `SKIP_LOCKED` leaves the table to another node's vacuum
/// already running.
pub(crate) async fn vacuum_messages(conn: &mut PgConnection) -> StoreResult<()> {
    sqlx::raw_sql("VACUUM (ANALYZE, SKIP_LOCKED) messages")
        .execute(conn)
        .await
        .map_err(db)?;
    Ok(())
}

/// Indexes up to [`SEARCH_INDEX_STEP`] messages that have no word pairs yet (and so
/// perhaps no vector either), in the caller's transaction; returns how many. Both columns
/// are written from the text. Rows another node is indexing right now are locked and
/// skipped, so several nodes can run this at once without doing the same rows twice.
/// Indexing is not a change anyone sees, so it takes no workspace lock and logs nothing.
pub(crate) async fn backlog_step(conn: &mut PgConnection) -> StoreResult<u64> {
    // The `messages_unindexed` partial index holds exactly these rows.
    let rows: Vec<Unindexed> = sqlx::query_as(
        "SELECT id, text, files IS NOT NULL AS has_files FROM messages \
         WHERE search_pairs IS NULL \
         LIMIT $1 FOR UPDATE SKIP LOCKED",
    )
    .bind(SEARCH_INDEX_STEP as i64)
    .fetch_all(&mut *conn)
    .await
    .map_err(db)?;
    if rows.is_empty() {
        return Ok(0);
    }
    // A deleted message's text is empty and it shares no files, so its vector and pairs
    // are the empty ones, as a delete writes them.
    let indexed: Vec<Indexed> = rows
        .iter()
        .map(|r| Indexed::of(&r.text, r.has_files))
        .collect();
    let ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
    let vectors: Vec<&str> = indexed.iter().map(|i| i.vector.as_str()).collect();
    let pairs: Vec<&str> = indexed.iter().map(|i| i.pairs.as_str()).collect();
    sqlx::query(
        "UPDATE messages m \
         SET search_vector = v.vector::tsvector, search_pairs = v.pairs::tsvector \
         FROM UNNEST($1::text[], $2::text[], $3::text[]) AS v(id, vector, pairs) \
         WHERE m.id = v.id",
    )
    .bind(&ids)
    .bind(&vectors)
    .bind(&pairs)
    .execute(&mut *conn)
    .await
    .map_err(db)?;
    Ok(rows.len() as u64)
}

/// Whether every message has its word pairs, so phrases may be found by them alone. A
/// row another node is indexing right now still counts as missing until that commits.
pub(crate) async fn pairs_complete(conn: &mut PgConnection) -> StoreResult<bool> {
    sqlx::query_scalar("SELECT NOT EXISTS (SELECT 1 FROM messages WHERE search_pairs IS NULL)")
        .fetch_one(conn)
        .await
        .map_err(db)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terms_then_variants_then_flags() {
        assert_eq!(
            vector("Deployment now: https://x.test", false),
            "'deploy':1A 'now':2A 'https':3A 'x':4A 'test':5A 'deployment':6B ' has link':7C"
        );
    }

    #[test]
    fn messages_sharing_files_are_flagged_after_their_text() {
        assert_eq!(vector("", true), "' has file':1C");
        assert_eq!(
            vector("see https://x.test", true),
            "'see':1A 'https':2A 'x':3A 'test':4A ' has link':5C ' has file':6C"
        );
    }

    #[test]
    fn pairs_are_the_terms_that_follow_each_other_once_each() {
        assert_eq!(
            pairs("Deploy it, then deploy it again: https://x.test"),
            "' again https' ' deploy it' ' https x' ' it again' ' it then' ' then deploy' \
             ' x test'"
        );
        assert_eq!(pairs("alone"), "");
        assert_eq!(pairs(""), "");
    }

    #[test]
    fn text_without_words_has_the_empty_vector() {
        assert_eq!(vector("!!! ...", false), "");
    }

    #[test]
    fn positions_stop_at_the_largest_postgresql_keeps() {
        let v = vector(&"a ".repeat(MAX_POSITION + 10), false);
        assert!(v.ends_with("'a':16383A"), "{}", &v[v.len() - 40..]);
        assert!(!v.contains(":16384"));
    }

    #[test]
    fn quotes_and_backslashes_are_escaped() {
        let mut out = String::new();
        quote_into(&mut out, r"it's a\b");
        assert_eq!(out, r"'it''s a\\b'");
    }
}
