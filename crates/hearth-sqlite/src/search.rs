//! Full-text search on FTS5.
//!
//! `message_search` is a contentless FTS5 table (`content=''`, `contentless_delete=1`)
//! whose rowid is the message's rowid, with three columns written from hearth-core's
//! tokenizer ([`hearth_core::search::text`]), never from SQLite's: `terms` (every token's
//! term in order, so phrases match), `variants` (folded words whose stem differs, for
//! prefixes) and `flags` (`link`, `file`). The `ascii` tokenizer only splits what we wrote
//! at the spaces we put there, so SQLite and PostgreSQL index exactly the same terms.
//!
//! Every write that changes a message's text changes its row here in the same
//! transaction; a deleted message has none. Messages stored without an index row
//! (before this table existed, or written straight into the file by a data generator)
//! are the `search_backlog` range, indexed in steps by [`index_backlog_step`].
//!
//! Queries are FTS5 expressions built from the parsed terms (each a quoted string of
//! alphanumeric terms, so nothing a user types reaches the FTS5 parser), joined to the
//! message and filtered by the viewer's channels. Relevance is hearth-core's
//! [`rank::score`] (not FTS5's bm25, whose corpus statistics move with every message
//! written, so pages cut at a score would shift), computed for the newest
//! [`RELEVANCE_WINDOW`] matches only, so a common word costs about what a rare one does. Message rowids grow with seqs (rows are only ever
//! appended in seq order), which lets "newest first" walk the index backwards.

use hearth_core::id::{ChannelId, MessageId, UserId, WorkspaceId};
use hearth_core::model::{Channel, ChannelKind, User};
use hearth_core::search::text::Document;
use hearth_core::search::{Term, rank};
use hearth_core::store::{RELEVANCE_WINDOW, SearchHit, SearchRequest, SearchSort, StoreResult};
use hearth_core::value::{ChannelName, DisplayName, Handle};
use sqlx::{FromRow, SqliteConnection};

use crate::error::{corrupt, db};
use crate::reactions;
use crate::rows::{
    ChannelRow, MessageRow, UserRow, channel_columns, json_list, message_columns, user_columns,
};

/// A message's index row, built outside the write transaction where possible.
pub(crate) struct IndexRow {
    pub(crate) terms: String,
    pub(crate) variants: String,
    pub(crate) flags: String,
}

impl IndexRow {
    /// The index row of a message's text; `has_files` when it shares files.
    pub(crate) fn of(text: &str, has_files: bool) -> Self {
        let doc = Document::of(text, has_files);
        Self {
            terms: doc.terms.join(" "),
            variants: doc.variants.join(" "),
            flags: doc.flags.join(" "),
        }
    }
}

/// Indexes the message just inserted on this connection: binds terms, variants, flags.
pub(crate) const INDEX_LAST_INSERTED: &str = "INSERT INTO message_search \
     (rowid, terms, variants, flags) VALUES (last_insert_rowid(), ?1, ?2, ?3)";

/// (Re)indexes the message with this id.
pub(crate) async fn index(
    conn: &mut SqliteConnection,
    id: &MessageId,
    row: &IndexRow,
) -> StoreResult<()> {
    unindex(conn, id).await?;
    sqlx::query(
        "INSERT INTO message_search (rowid, terms, variants, flags) \
         SELECT rowid, ?2, ?3, ?4 FROM messages WHERE id = ?1",
    )
    .bind(id.as_str())
    .bind(&row.terms)
    .bind(&row.variants)
    .bind(&row.flags)
    .execute(conn)
    .await
    .map_err(db)?;
    Ok(())
}

/// Removes the message with this id from the index (if it was there).
pub(crate) async fn unindex(conn: &mut SqliteConnection, id: &MessageId) -> StoreResult<()> {
    sqlx::query(
        "DELETE FROM message_search WHERE rowid = (SELECT rowid FROM messages WHERE id = ?1)",
    )
    .bind(id.as_str())
    .execute(conn)
    .await
    .map_err(db)?;
    Ok(())
}

/// Indexes up to `step` messages of the backlog; returns how many rows it covered.
pub(crate) async fn index_backlog_step(conn: &mut SqliteConnection, step: u64) -> StoreResult<u64> {
    let (done, through): (i64, i64) =
        sqlx::query_as("SELECT done_rowid, through_rowid FROM search_backlog")
            .fetch_one(&mut *conn)
            .await
            .map_err(db)?;
    if done >= through {
        return Ok(0);
    }
    let rows: Vec<(i64, String, bool, bool)> = sqlx::query_as(
        "SELECT rowid, text, deleted, files IS NOT NULL FROM messages \
         WHERE rowid > ?1 AND rowid <= ?2 \
         ORDER BY rowid LIMIT ?3",
    )
    .bind(done)
    .bind(through)
    .bind(step as i64)
    .fetch_all(&mut *conn)
    .await
    .map_err(db)?;
    for (rowid, text, deleted, has_files) in &rows {
        // An edit may have indexed it already; either way it ends up indexed once.
        sqlx::query("DELETE FROM message_search WHERE rowid = ?")
            .bind(rowid)
            .execute(&mut *conn)
            .await
            .map_err(db)?;
        if *deleted {
            continue;
        }
        let row = IndexRow::of(text, *has_files);
        sqlx::query(
            "INSERT INTO message_search (rowid, terms, variants, flags) VALUES (?, ?, ?, ?)",
        )
        .bind(rowid)
        .bind(&row.terms)
        .bind(&row.variants)
        .bind(&row.flags)
        .execute(&mut *conn)
        .await
        .map_err(db)?;
    }
    let reached = match rows.last() {
        Some((rowid, ..)) if rows.len() as u64 == step => *rowid,
        _ => through,
    };
    sqlx::query("UPDATE search_backlog SET done_rowid = ?")
        .bind(reached)
        .execute(&mut *conn)
        .await
        .map_err(db)?;
    Ok(rows.len().max(1) as u64)
}

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

pub(crate) async fn search(
    conn: &mut SqliteConnection,
    ws: &WorkspaceId,
    request: &SearchRequest,
) -> StoreResult<Vec<SearchHit>> {
    // First the matches (rowid, seq and text only: the ranked window can be long), then
    // the full rows of the page.
    let (sql, binds, ranked) = query(ws, request);
    // Static fragments and constants only; every value is bound.
    let mut q = sqlx::query_as::<_, (i64, i64, String)>(sqlx::AssertSqlSafe(sql));
    for bind in binds {
        q = match bind {
            Bind::Text(s) => q.bind(s),
            Bind::Int(i) => q.bind(i),
        };
    }
    let matches = q.fetch_all(&mut *conn).await.map_err(db)?;
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

/// The SQL and its binds for a request, and whether its rows are the candidates to rank
/// (rather than the page itself).
fn query(ws: &WorkspaceId, request: &SearchRequest) -> (String, Vec<Bind>, bool) {
    let matching = fts_expression(&request.terms, &request.flags);
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
    binds.push(Bind::Int(if ranked {
        i64::from(RELEVANCE_WINDOW)
    } else {
        i64::from(request.limit)
    }));
    (sql, binds, ranked)
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
