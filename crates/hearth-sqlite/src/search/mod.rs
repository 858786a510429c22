//! Full-text search on FTS5: the queries. [`indexing`] says what the index holds and keeps
//! it.
//!
//! `message_search` is a contentless FTS5 table (`content=''`, `contentless_delete=1`)
//! whose rowid is the message's rowid, written from hearth-core's tokenizer
//! ([`hearth_core::search::text`]), never from SQLite's: the `ascii` tokenizer only splits
//! what we wrote at the spaces we put there, so SQLite and PostgreSQL index exactly the
//! same terms.
//!
//! Queries are FTS5 expressions built from the parsed terms (each a quoted string of
//! alphanumeric terms, so nothing a user types reaches the FTS5 parser), joined to the
//! message and filtered by the viewer's channels. Relevance is hearth-core's
//! [`rank::score`] (not FTS5's bm25, whose corpus statistics move with every message
//! written, so pages cut at a score would shift), computed for the newest
//! [`RELEVANCE_WINDOW`] matches only, so a common word costs about what a rare one does.
//! Message rowids grow with seqs (rows are only ever appended in seq order), which lets
//! "newest first" walk the index backwards.
//!
//! `from:` and `in:` beside words or flags are also matched in the index, as the scope
//! tokens of [`indexing`] (`terms : "deploy" AND flags : "U…"`): FTS5 intersects the word's
//! posting list with the author's, skipping through the longer one, and yields only that
//! author's matches, newest first, so the window or page fills from them alone. Filtering
//! the word's matches in SQL (as before) walked most of a common word's matches for a
//! rare author: 858 ms at p99 on 1M messages. Driving the query from a B-tree on
//! (workspace, author, seq) instead would cost every post two more index inserts and
//! still probe FTS5 once per message of the author (a new cursor and parse each time);
//! PostgreSQL, whose GIN index returns matches unordered, does use such B-trees (see its
//! `search` module). The SQL filters stay in every statement, so the tokens only ever
//! narrow what they allow.
//!
//! Rows in the backlog range ([`indexing::backlog`]) may lack tokens (indexed before them),
//! so while it is not empty a scoped search is two statements over disjoint rowid ranges:
//! with the tokens outside the range, with the SQL filters alone inside it, merged newest
//! first. Results are the same either way; only the time differs.

pub(crate) mod indexing;

use hearth_core::id::{ChannelId, UserId, WorkspaceId};
use hearth_core::model::{Channel, ChannelKind, User};
use hearth_core::search::{Term, rank};
use hearth_core::store::{RELEVANCE_WINDOW, SearchHit, SearchRequest, SearchSort, StoreResult};
use hearth_core::value::{ChannelName, DisplayName, Handle};
use sqlx::{FromRow, SqliteConnection};

use crate::error::{corrupt, db};
use crate::reactions;
use crate::rows::{
    ChannelRow, MessageRow, UserRow, channel_columns, json_list, message_columns, user_columns,
};

pub(crate) use indexing::{INDEX_ROW, IndexRow, index, index_backlog_step, unindex};

pub(crate) async fn user_by_handle(
    conn: &mut SqliteConnection,
    ws: &WorkspaceId,
    handle: &Handle,
) -> StoreResult<Option<User>> {
    let row: Option<UserRow> = sqlx::query_as(concat!(
        "SELECT ",
        user_columns!(),
        " FROM users u WHERE u.workspace_id = ? AND u.handle = ?"
    ))
    .bind(ws.as_str())
    .bind(handle.as_str())
    .fetch_optional(conn)
    .await
    .map_err(db)?;
    row.map(UserRow::into_user).transpose()
}

pub(crate) async fn channel_by_name(
    conn: &mut SqliteConnection,
    ws: &WorkspaceId,
    name: &ChannelName,
) -> StoreResult<Option<Channel>> {
    let row: Option<ChannelRow> = sqlx::query_as(concat!(
        "SELECT ",
        channel_columns!(),
        " FROM channels c WHERE c.workspace_id = ? AND c.name = ?"
    ))
    .bind(ws.as_str())
    .bind(name.as_str())
    .fetch_optional(conn)
    .await
    .map_err(db)?;
    row.map(ChannelRow::into_channel).transpose()
}

/// A search result row: the message and what the result shows of channel and author.
#[derive(FromRow)]
struct HitRow {
    rowid: i64,
    #[sqlx(flatten)]
    message: MessageRow,
    channel_kind: String,
    channel_name: Option<String>,
    author_handle: String,
    author_display_name: String,
}

/// A value to bind, in the order the SQL was written.
enum Bind {
    Text(String),
    Int(i64),
}

/// Which rows one statement covers, and how it applies `from:` and `in:`.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Part {
    /// Every row; authors and channels (if any) by the SQL filters alone.
    All,
    /// Rows outside the backlog range `(done, through]` (every row when `None`), whose
    /// index rows carry scope tokens: authors and channels in the FTS5 expression too.
    Scoped(Option<(i64, i64)>),
    /// Rows inside the backlog range `(done, through]`, which may have no scope tokens:
    /// the SQL filters alone.
    Unscoped(i64, i64),
}

/// The statements a request needs, as of the caller's snapshot.
async fn parts(conn: &mut SqliteConnection, request: &SearchRequest) -> StoreResult<Vec<Part>> {
    let filtered = !request.authors.is_empty() || !request.channels.is_empty();
    if !filtered || fts_expression(&request.terms, &request.flags).is_none() {
        return Ok(vec![Part::All]);
    }
    let (done, through) = indexing::backlog(conn).await?;
    Ok(if done < through {
        vec![
            Part::Scoped(Some((done, through))),
            Part::Unscoped(done, through),
        ]
    } else {
        vec![Part::Scoped(None)]
    })
}

pub(crate) async fn search(
    conn: &mut SqliteConnection,
    ws: &WorkspaceId,
    request: &SearchRequest,
) -> StoreResult<Vec<SearchHit>> {
    let ranked = !request.terms.is_empty() && request.sort == SearchSort::Relevance;
    let parts = parts(conn, request).await?;
    // First the matches (rowid, seq and text only: the ranked window can be long), then
    // the full rows of the page.
    let mut matches = Vec::new();
    for &part in &parts {
        let (sql, binds, limit) = query(ws, request, part);
        // Static fragments and constants only; every value is bound.
        let mut q = sqlx::query_as::<_, (i64, i64, String)>(sqlx::AssertSqlSafe(sql));
        for bind in binds {
            q = match bind {
                Bind::Text(s) => q.bind(s),
                Bind::Int(i) => q.bind(i),
            };
        }
        matches.extend(q.fetch_all(&mut *conn).await.map_err(db)?);
        if parts.len() > 1 {
            // Disjoint rowid ranges, each newest first: the newest `limit` of them all
            // are what one statement over every row would have found.
            matches.sort_unstable_by_key(|m| std::cmp::Reverse(m.0));
            matches.truncate(limit as usize);
        }
    }
    let mut page: Vec<(i64, i64, f64)> = matches
        .into_iter()
        .map(|(rowid, seq, text)| {
            let score = if ranked {
                rank::score(&text, &request.terms)
            } else {
                0.0
            };
            (rowid, seq, score)
        })
        .collect();
    if ranked {
        // Best first, newest first among equals; then the page after the cursor.
        page.sort_by(|(_, x, a), (_, y, b)| b.total_cmp(a).then_with(|| y.cmp(x)));
        if let Some(key) = request.after {
            page.retain(|&(_, seq, score)| {
                score < key.score || (score == key.score && seq < key.seq)
            });
        }
        page.truncate(request.limit as usize);
    }
    hits(conn, ws, &page).await
}

/// The page's messages with their channel and author, in the page's order.
async fn hits(
    conn: &mut SqliteConnection,
    ws: &WorkspaceId,
    page: &[(i64, i64, f64)],
) -> StoreResult<Vec<SearchHit>> {
    if page.is_empty() {
        return Ok(Vec::new());
    }
    let rowids: Vec<String> = page.iter().map(|p| p.0.to_string()).collect();
    let rowids = format!("[{}]", rowids.join(","));
    let mut rows: Vec<HitRow> = sqlx::query_as(concat!(
        "SELECT m.rowid AS rowid, ",
        message_columns!(),
        ", c.kind AS channel_kind, c.name AS channel_name, u.handle AS author_handle, \
         u.display_name AS author_display_name \
         FROM messages m \
         JOIN channels c ON c.workspace_id = m.workspace_id AND c.id = m.channel_id \
         JOIN users u ON u.workspace_id = m.workspace_id AND u.id = m.user_id \
         WHERE m.workspace_id = ? AND m.rowid IN (SELECT value FROM json_each(?))"
    ))
    .bind(ws.as_str())
    .bind(rowids)
    .fetch_all(&mut *conn)
    .await
    .map_err(db)?;
    let order: std::collections::HashMap<i64, usize> =
        page.iter().enumerate().map(|(i, p)| (p.0, i)).collect();
    rows.sort_by_key(|r| order.get(&r.rowid).copied().unwrap_or(usize::MAX));
    let mut extras = Vec::with_capacity(rows.len());
    let mut messages = Vec::with_capacity(rows.len());
    for row in rows {
        messages.push(row.message);
        let score = order.get(&row.rowid).map_or(0.0, |&i| page[i].2);
        let extra = (row.channel_kind, row.channel_name, row.author_handle);
        extras.push((extra, row.author_display_name, score));
    }
    let messages = reactions::attach(conn, ws, messages).await?;
    messages
        .into_iter()
        .zip(extras)
        .map(|(message, ((kind, name, handle), display, score))| {
            Ok(SearchHit {
                message,
                score,
                channel_kind: ChannelKind::parse(&kind)
                    .ok_or_else(|| corrupt("channel kind", &kind))?,
                channel_name: name.map(ChannelName::from_trusted),
                author_handle: Handle::from_trusted(handle),
                author_display_name: DisplayName::from_trusted(display),
            })
        })
        .collect()
}

/// The SQL and its binds for one part of a request, and how many rows it returns at
/// most: the candidates to rank (the window), or the page itself.
fn query(ws: &WorkspaceId, request: &SearchRequest, part: Part) -> (String, Vec<Bind>, u32) {
    let matching = fts_expression(&request.terms, &request.flags).map(|expr| match part {
        Part::Scoped(_) => scoped(expr, &request.authors, &request.channels),
        Part::All | Part::Unscoped(..) => expr,
    });
    let excluded = (!request.excluded.is_empty()).then(|| any_of(&request.excluded));
    let ranked = !request.terms.is_empty() && request.sort == SearchSort::Relevance;
    let mut binds = Vec::new();
    let mut sql = String::from("SELECT m.rowid, m.seq, m.text");
    sql.push_str(match matching {
        Some(_) => " FROM message_search s JOIN messages m ON m.rowid = s.rowid WHERE ",
        None => " FROM messages m WHERE ",
    });
    if let Some(expr) = &matching {
        let expr = match &excluded {
            // FTS5's NOT is binary: "this but not that".
            Some(not) => format!("({expr}) NOT ({not})"),
            None => expr.clone(),
        };
        sql.push_str("message_search MATCH ? AND ");
        binds.push(Bind::Text(expr));
        // On the index's own rowid, so FTS5 itself skips what is out of range.
        match part {
            Part::All | Part::Scoped(None) => {}
            Part::Scoped(Some((done, through))) => {
                sql.push_str("(s.rowid <= ? OR s.rowid > ?) AND ");
                binds.extend([Bind::Int(done), Bind::Int(through)]);
            }
            Part::Unscoped(done, through) => {
                sql.push_str("s.rowid > ? AND s.rowid <= ? AND ");
                binds.extend([Bind::Int(done), Bind::Int(through)]);
            }
        }
    } else if let Some(not) = &excluded {
        sql.push_str(
            "m.rowid NOT IN (SELECT rowid FROM message_search WHERE message_search MATCH ?) AND ",
        );
        binds.push(Bind::Text(not.clone()));
    }
    sql.push_str(
        "m.workspace_id = ? AND m.deleted = 0 AND m.seq <= ? \
         AND (m.channel_id IN (SELECT mb.channel_id FROM memberships mb \
                               WHERE mb.workspace_id = ? AND mb.user_id = ?) \
              OR (? AND m.channel_id IN (SELECT c.id FROM channels c \
                                         WHERE c.workspace_id = ? AND c.kind = 'public')))",
    );
    binds.push(Bind::Text(ws.as_str().to_owned()));
    binds.push(Bind::Int(request.through_seq));
    binds.push(Bind::Text(ws.as_str().to_owned()));
    binds.push(Bind::Text(request.viewer.as_str().to_owned()));
    binds.push(Bind::Int(i64::from(request.include_public)));
    binds.push(Bind::Text(ws.as_str().to_owned()));
    if !request.authors.is_empty() {
        sql.push_str(" AND m.user_id IN (SELECT value FROM json_each(?))");
        binds.push(Bind::Text(json_list(
            request.authors.iter().map(UserId::as_str),
        )));
    }
    if !request.channels.is_empty() {
        sql.push_str(" AND m.channel_id IN (SELECT value FROM json_each(?))");
        binds.push(Bind::Text(json_list(
            request.channels.iter().map(ChannelId::as_str),
        )));
    }
    if let Some(from) = request.created_from {
        sql.push_str(" AND m.created_at >= ?");
        binds.push(Bind::Int(from.0));
    }
    if let Some(before) = request.created_before {
        sql.push_str(" AND m.created_at < ?");
        binds.push(Bind::Int(before.0));
    }
    if request.has_reaction {
        sql.push_str(
            " AND EXISTS (SELECT 1 FROM reactions r \
                          WHERE r.workspace_id = m.workspace_id AND r.message_id = m.id)",
        );
    }
    if request.is_thread {
        sql.push_str(" AND (m.thread_root_id IS NOT NULL OR m.reply_count > 0)");
    }
    if !ranked && let Some(key) = request.after {
        sql.push_str(" AND m.seq < ?");
        binds.push(Bind::Int(key.seq));
    }
    sql.push_str(if matching.is_some() {
        " ORDER BY s.rowid DESC LIMIT ?"
    } else {
        " ORDER BY m.seq DESC LIMIT ?"
    });
    let limit = if ranked {
        RELEVANCE_WINDOW
    } else {
        request.limit
    };
    binds.push(Bind::Int(i64::from(limit)));
    (sql, binds, limit)
}

/// The FTS5 expression every positive term and flag must match; `None` when there is none.
fn fts_expression(terms: &[Term], flags: &[&str]) -> Option<String> {
    let parts: Vec<String> = terms
        .iter()
        .map(fts_term)
        .chain(flags.iter().map(|f| format!("flags : {}", quoted(f))))
        .collect();
    (!parts.is_empty()).then(|| parts.join(" AND "))
}

/// `expr` narrowed to messages by one of `authors` and in one of `channels` (each, when
/// not empty), by their scope tokens.
fn scoped(expr: String, authors: &[UserId], channels: &[ChannelId]) -> String {
    let mut out = expr;
    let authors = authors.iter().map(UserId::as_str);
    let channels = channels.iter().map(ChannelId::as_str);
    for ids in [authors.collect::<Vec<_>>(), channels.collect()] {
        if ids.is_empty() {
            continue;
        }
        let any: Vec<String> = ids
            .into_iter()
            .map(|id| format!("flags : {}", quoted(indexing::scope_token(id))))
            .collect();
        out = format!("{out} AND ({})", any.join(" OR "));
    }
    out
}

/// An expression matching any of the terms.
fn any_of(terms: &[Term]) -> String {
    terms
        .iter()
        .map(|t| format!("({})", fts_term(t)))
        .collect::<Vec<_>>()
        .join(" OR ")
}

fn fts_term(term: &Term) -> String {
    match term {
        Term::Word(t) => format!("terms : {}", quoted(t)),
        Term::Phrase(ts) => format!("terms : {}", quoted(&ts.join(" "))),
        Term::Prefix(p) => format!("{{terms variants}} : {} *", quoted(p)),
    }
}

/// An FTS5 string. Terms are alphanumeric; a quote is doubled all the same.
fn quoted(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expressions_quote_every_term() {
        let terms = [
            Term::Word("deploy".into()),
            Term::Phrase(vec!["releas".into(), "note".into()]),
            Term::Prefix("dep".into()),
        ];
        assert_eq!(
            fts_expression(&terms, &["link"]).unwrap(),
            "terms : \"deploy\" AND terms : \"releas note\" AND \
             {terms variants} : \"dep\" * AND flags : \"link\""
        );
        assert_eq!(quoted("a\"b"), "\"a\"\"b\"");
        assert_eq!(fts_expression(&[], &[]), None);
    }
}
