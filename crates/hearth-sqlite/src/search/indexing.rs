//! What `message_search` holds for a message, and filling it in for messages stored
//! without it (or with a row from before scope tokens).
//!
//! A row is three columns written from hearth-core's tokenizer ([`Document::of`]):
//! `terms` (every token's term in order, so phrases match), `variants` (folded words whose
//! stem differs, for prefixes) and `flags`: the `has:` flags (`link`, `file`) and the
//! message's two scope tokens, its author's id and its channel's id ([`scope_token`]).
//! A user's words and prefixes are only ever matched against `terms` and `variants`, and
//! `flags` only against the flags `has:` names and the ids `from:`/`in:` resolved to, so
//! nothing typed as a word can match a scope token (nor a scope token a word). An id is
//! its kind letter and 26 base32 characters (`U…`, `C…`): an author's token can never be a
//! channel's, nor `link` or `file`. A message never changes author or channel, so its
//! tokens never go stale; edits rewrite the whole row anyway.
//!
//! Every write that changes a message's text changes its row in the same transaction; a
//! deleted message has none. The `search_backlog` range (`done_rowid < rowid <=
//! through_rowid`) is the messages whose row may be missing (stored before search, or
//! written straight into the file by a data generator) or may lack the scope tokens
//! (indexed before migration 0005, which reset `done_rowid` to 0); [`index_backlog_step`]
//! rewrites them in steps, and the query side treats that range as unscoped until then.

use hearth_core::id::{ChannelId, MessageId, UserId};
use hearth_core::model::Message;
use hearth_core::search::text::Document;
use hearth_core::store::StoreResult;
use sqlx::SqliteConnection;

use crate::error::db;

/// A message's index row, built outside the write transaction where possible.
pub(crate) struct IndexRow {
    pub(crate) terms: String,
    pub(crate) variants: String,
    pub(crate) flags: String,
}

impl IndexRow {
    /// The index row of a message's text, by `author` in `channel`; `has_files` when it
    /// shares files.
    pub(crate) fn of(text: &str, has_files: bool, author: &UserId, channel: &ChannelId) -> Self {
        let doc = Document::of(text, has_files);
        let mut flags = doc.flags.join(" ");
        for token in [scope_token(author.as_str()), scope_token(channel.as_str())] {
            if !flags.is_empty() {
                flags.push(' ');
            }
            flags.push_str(token);
        }
        Self {
            terms: doc.terms.join(" "),
            variants: doc.variants.join(" "),
            flags,
        }
    }

    /// The index row of a stored message, as it is now.
    pub(crate) fn message(message: &Message) -> Self {
        let has_files = !message.files.is_empty();
        Self::of(
            &message.text,
            has_files,
            &message.user_id,
            &message.channel_id,
        )
    }
}

/// The `flags` token of an author or channel id: the id itself, which the `ascii`
/// tokenizer keeps whole (letters and digits) and folds to lower case on both sides.
pub(crate) fn scope_token(id: &str) -> &str {
    id
}

/// Indexes the message with this rowid: binds rowid, terms, variants, flags.
pub(crate) const INDEX_ROW: &str = "INSERT INTO message_search \
     (rowid, terms, variants, flags) VALUES (?1, ?2, ?3, ?4)";

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

/// The backlog range: messages with `done < rowid <= through` may have no index row or
/// one without scope tokens.
pub(crate) async fn backlog(conn: &mut SqliteConnection) -> StoreResult<(i64, i64)> {
    sqlx::query_as("SELECT done_rowid, through_rowid FROM search_backlog")
        .fetch_one(conn)
        .await
        .map_err(db)
}

/// A backlog message, as its index row is built from it.
type BacklogRow = (i64, String, bool, bool, String, String);

/// Indexes up to `step` messages of the backlog; returns how many rows it covered.
pub(crate) async fn index_backlog_step(conn: &mut SqliteConnection, step: u64) -> StoreResult<u64> {
    let (done, through) = backlog(&mut *conn).await?;
    if done >= through {
        return Ok(0);
    }
    let rows: Vec<BacklogRow> = sqlx::query_as(
        "SELECT rowid, text, deleted, files IS NOT NULL, user_id, channel_id FROM messages \
         WHERE rowid > ?1 AND rowid <= ?2 \
         ORDER BY rowid LIMIT ?3",
    )
    .bind(done)
    .bind(through)
    .bind(step as i64)
    .fetch_all(&mut *conn)
    .await
    .map_err(db)?;
    for (rowid, text, deleted, has_files, author, channel) in &rows {
        // An edit may have indexed it already, and a row from before scope tokens is
        // replaced; either way it ends up indexed once.
        sqlx::query("DELETE FROM message_search WHERE rowid = ?")
            .bind(rowid)
            .execute(&mut *conn)
            .await
            .map_err(db)?;
        if *deleted {
            continue;
        }
        let author = UserId::from_trusted(author.clone());
        let channel = ChannelId::from_trusted(channel.clone());
        let row = IndexRow::of(text, *has_files, &author, &channel);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_then_author_then_channel() {
        let author = UserId::generate();
        let channel = ChannelId::generate();
        let row = IndexRow::of("see https://x.test", true, &author, &channel);
        assert_eq!(row.flags, format!("link file {author} {channel}"));
        let row = IndexRow::of("plain", false, &author, &channel);
        assert_eq!(row.flags, format!("{author} {channel}"));
        assert_eq!(row.terms, "plain");
    }
}
