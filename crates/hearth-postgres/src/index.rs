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
//! It is written as a `tsvector` literal, bound as text and cast in SQL, in the same
//! transaction as the text it indexes (post, edit; a delete writes the empty vector).
//! `NULL` means "not indexed yet": rows written straight into the database (migrate-data,
//! a data generator, rows from before search) until [`backlog_step`] reaches them; once
//! the backlog is empty, [`after_backlog`] vacuums and analyzes the table.

use std::time::Instant;

use hearth_core::search::text::Document;
use hearth_core::store::{SEARCH_INDEX_STEP, StoreResult};
use sqlx::{ConnectOptions, Connection, FromRow, PgConnection, PgPool};

use crate::error::db;

/// The largest position a `tsvector` keeps: PostgreSQL clamps larger ones to it, so we do
/// it ourselves (a very long message's tail shares the last position).
const MAX_POSITION: usize = 16_383;

/// The `tsvector` literal of a message's text; `has_files` when it shares files.
pub(crate) fn vector(text: &str, has_files: bool) -> String {
    let doc = Document::of(text, has_files);
    let mut out = String::with_capacity(text.len() * 2 + 16);
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

/// Indexes up to [`SEARCH_INDEX_STEP`] messages that have no vector yet, in the caller's
/// transaction; returns how many. Rows another node is indexing right now are locked and
/// skipped, so several nodes can run this at once without doing the same rows twice.
/// Indexing is not a change anyone sees, so it takes no workspace lock and logs nothing.
pub(crate) async fn backlog_step(conn: &mut PgConnection) -> StoreResult<u64> {
    // The `messages_unindexed` partial index holds exactly these rows.
    let rows: Vec<Unindexed> = sqlx::query_as(
        "SELECT id, text, files IS NOT NULL AS has_files FROM messages \
         WHERE search_vector IS NULL \
         LIMIT $1 FOR UPDATE SKIP LOCKED",
    )
    .bind(SEARCH_INDEX_STEP as i64)
    .fetch_all(&mut *conn)
    .await
    .map_err(db)?;
    if rows.is_empty() {
        return Ok(0);
    }
    // A deleted message's text is empty and it shares no files, so its vector is the
    // empty one, as a delete writes it.
    let vectors: Vec<String> = rows.iter().map(|r| vector(&r.text, r.has_files)).collect();
    let ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
    sqlx::query(
        "UPDATE messages m SET search_vector = v.vector::tsvector \
         FROM UNNEST($1::text[], $2::text[]) AS v(id, vector) WHERE m.id = v.id",
    )
    .bind(&ids)
    .bind(&vectors)
    .execute(&mut *conn)
    .await
    .map_err(db)?;
    Ok(rows.len() as u64)
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
