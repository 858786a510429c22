//! What the expanding worker reads: the new messages after a cursor, and the members a
//! message might concern, with everything the decision needs.
//!
//! New messages are read from `messages` by seq rather than from the event log: a
//! message's seq is the seq of its `message.created` event, so the two agree, and the
//! messages table also says which were deleted since. Seqs become visible in commit order
//! (the crate docs), so reading `seq > cursor` never skips a message that commits later
//! at a lower seq.

use std::collections::HashMap;

use hearth_core::id::{ChannelId, UserId, WorkspaceId};
use hearth_core::notify::{Candidate, NotifySource, NotifySources};
use hearth_core::store::{StoreError, StoreResult};
use sqlx::{Connection, FromRow, PgConnection};

use super::rows::{self, PrefsRow, prefs_columns};
use crate::batch::exec;
use crate::error::db;
use crate::reactions;
use crate::rows::{ChannelRow, MessageRow, channel_columns, message_columns, text_array};

#[derive(FromRow)]
struct SourceRow {
    #[sqlx(flatten)]
    message: MessageRow,
    broadcast: Option<String>,
    /// The message's seq again (`MessageRow` keeps its own private).
    position: i64,
}

/// Binds `$1` workspace, `$2` the seq to read after, `$3` limit: a page of new messages.
/// Read with [`WITHOUT_SORTS`].
const NEW_MESSAGES: &str = concat!(
    "SELECT ",
    message_columns!(),
    ", m.broadcast, m.seq AS position FROM messages m WHERE m.workspace_id = $1 AND m.seq > $2 \
     AND NOT m.deleted ORDER BY m.seq LIMIT $3"
);

/// Set around [`NEW_MESSAGES`] in its transaction, so that it walks `messages_by_seq` in
/// order and stops at the page's end whatever the statistics say. On statistics older
/// than the table's growth the planner read every message after the cursor through a
/// bitmap and sorted them (22 ms for a worker 15,000 messages behind, each page, so that
/// it fell further behind).
const WITHOUT_SORTS: &str = "SET LOCAL enable_sort = off";

/// Must run in a snapshot, so that the log's newest seq (the position returned after a
/// short page) and the messages read agree.
pub(crate) async fn sources(
    conn: &mut PgConnection,
    ws: &WorkspaceId,
    after: i64,
    limit: u32,
) -> StoreResult<NotifySources> {
    let (last_seq, pruned_through): (i64, i64) =
        sqlx::query_as("SELECT last_seq, pruned_through_seq FROM workspaces WHERE id = $1")
            .bind(ws.as_str())
            .fetch_optional(&mut *conn)
            .await
            .map_err(db)?
            .ok_or(StoreError::NotFound)?;
    // The pruned part of the log is skipped, as the contract says: its messages were due
    // days ago.
    let from = after.max(pruned_through);
    if limit == 0 {
        return Ok(NotifySources {
            sources: Vec::new(),
            through_seq: from,
        });
    }
    exec(conn, WITHOUT_SORTS).await?;
    let found: Vec<SourceRow> = sqlx::query_as(NEW_MESSAGES)
        .bind(ws.as_str())
        .bind(from)
        .bind(i64::from(limit))
        .fetch_all(&mut *conn)
        .await
        .map_err(db)?;
    exec(conn, "SET LOCAL enable_sort = on").await?;
    // A full page has been read up to its last message only; a short one up to the end
    // of the log as this snapshot sees it (events that are not new messages need no work).
    let through_seq = match found.last() {
        Some(last) if found.len() == limit as usize => last.position,
        _ => last_seq.max(from),
    };
    if found.is_empty() {
        return Ok(NotifySources {
            sources: Vec::new(),
            through_seq,
        });
    }

    let mut broadcasts = Vec::with_capacity(found.len());
    let mut messages = Vec::with_capacity(found.len());
    for row in found {
        broadcasts.push(row.broadcast.as_deref().map(rows::broadcast).transpose()?);
        messages.push(row.message);
    }
    let channel_ids = text_array(messages.iter().map(|m| m.channel_id.as_str()));
    let message_ids = text_array(messages.iter().map(|m| m.id.as_str()));
    let channels: Vec<ChannelRow> = sqlx::query_as(concat!(
        "SELECT ",
        channel_columns!(),
        " FROM channels c WHERE c.workspace_id = $1 AND c.id = ANY($2)"
    ))
    .bind(ws.as_str())
    .bind(&channel_ids)
    .fetch_all(&mut *conn)
    .await
    .map_err(db)?;
    let mentions: Vec<(String, String)> = sqlx::query_as(
        "SELECT message_id, user_id FROM message_mentions \
         WHERE workspace_id = $1 AND message_id = ANY($2) ORDER BY message_id, user_id",
    )
    .bind(ws.as_str())
    .bind(&message_ids)
    .fetch_all(&mut *conn)
    .await
    .map_err(db)?;

    let channels = channels
        .into_iter()
        .map(|row| row.into_channel().map(|c| (c.id.clone(), c)))
        .collect::<StoreResult<HashMap<ChannelId, _>>>()?;
    let mut mentioned: HashMap<String, Vec<UserId>> = HashMap::new();
    for (message, user) in mentions {
        mentioned
            .entry(message)
            .or_default()
            .push(UserId::from_trusted(user));
    }
    let messages = reactions::attach(conn, ws, messages).await?;
    let sources = messages
        .into_iter()
        .zip(broadcasts)
        .map(|(message, broadcast)| {
            let channel = channels
                .get(&message.channel_id)
                .cloned()
                .ok_or_else(|| StoreError::Internal("a message without its channel".to_owned()))?;
            Ok(NotifySource {
                mentioned: mentioned.remove(message.id.as_str()).unwrap_or_default(),
                channel,
                message,
                broadcast,
            })
        })
        .collect::<StoreResult<Vec<_>>>()?;
    Ok(NotifySources {
        sources,
        through_seq,
    })
}

#[derive(FromRow)]
struct CandidateRow {
    user_id: String,
    notify_level: String,
    muted: bool,
    last_read_seq: i64,
    #[sqlx(flatten)]
    prefs: PrefsRow,
    thread_participant: bool,
}

/// The authors of the thread a reply is in, before the reply: its root's and its earlier
/// replies'. Binds `$1` workspace, `$5` the thread's root (NULL for a top-level message,
/// which has none) and `$6` the message's seq. Found once per page, not once per member.
macro_rules! participants {
    () => {
        "participants AS ( \
           SELECT DISTINCT t.user_id FROM messages t \
           WHERE $5::text IS NOT NULL AND t.workspace_id = $1 \
             AND (t.id = $5 OR (t.thread_root_id = $5 AND t.seq < $6)) \
         )"
    };
}

/// The channel's memberships (`mb`) as candidates. Binds `$1` workspace, `$2` channel.
/// The workspaces are filters (`|| ''`) so that only the primary keys match (see
/// `members::membership`).
macro_rules! members {
    () => {
        concat!(
            "SELECT mb.user_id, mb.notify_level, mb.muted, mb.last_read_seq, ",
            prefs_columns!(),
            ", p.user_id IS NOT NULL AS thread_participant \
             FROM memberships mb \
             JOIN users u ON u.id = mb.user_id AND (u.workspace_id || '') = mb.workspace_id \
               AND NOT u.deactivated \
             LEFT JOIN notify_prefs np \
               ON np.workspace_id = mb.workspace_id AND np.user_id = mb.user_id \
             LEFT JOIN participants p ON p.user_id = mb.user_id \
             WHERE mb.channel_id = $2 AND (mb.workspace_id || '') = $1"
        )
    };
}

/// Every member, a page at a time. Binds `$3` author, `$4` the user id to start after
/// ('' for the first page), `$7` limit. A page walks the channel's members in user id
/// order (an index range), so a 10,000-member channel costs one range per page.
const EVERYONE: &str = concat!(
    "WITH ",
    participants!(),
    " ",
    members!(),
    " AND mb.user_id <> $3 AND mb.user_id > $4 ORDER BY mb.user_id LIMIT $7"
);

/// Only the members something could concern, binding also `$8` the mentioned ids. The
/// small sets they come from (the mentioned, the thread's participants, the channel's
/// members set to `all`, the workspace's accounts with keywords: each from an index) are
/// gathered first, and only those are looked up as members, so an ordinary message in a
/// large channel does not walk all its members. `OFFSET 0` keeps the lookup a lookup
/// per user: without it the planner may join the other way round, walking the members
/// (or every user) to find the few.
pub(crate) const CONCERNED: &str = concat!(
    "WITH ",
    participants!(),
    ", concerned AS ( \
       SELECT user_id FROM participants \
       UNION SELECT m.user_id FROM UNNEST($8::text[]) AS m(user_id) \
       UNION SELECT a.user_id FROM memberships a \
         WHERE a.workspace_id = $1 AND a.channel_id = $2 AND a.notify_level = 'all' \
       UNION SELECT k.user_id FROM notify_prefs k \
         WHERE k.workspace_id = $1 AND k.keywords <> '[]' \
     ) SELECT c.* FROM concerned w CROSS JOIN LATERAL (",
    members!(),
    " AND mb.user_id = w.user_id OFFSET 0) c \
     WHERE c.user_id <> $3 AND c.user_id > $4 ORDER BY c.user_id LIMIT $7"
);

/// Starts the transaction `CONCERNED` runs in: read-only, and planning prepared
/// statements once. PostgreSQL plans a prepared statement again on every run while its
/// generic plan's estimate is above the runs' own; for `CONCERNED` that is always (the
/// generic plan assumes ten mentioned ids and a tenth of the rows under `LIMIT`), and
/// planning it took 1.3 ms, where running it takes 0.1 ms: on PostgreSQL the largest
/// cost of the notification worker, once per message. Its generic plan is the plan of
/// every run (the same index lookups; nothing in it depends on a bound value). Not for
/// `EVERYONE`, whose generic plan walks the workspace's memberships instead of the
/// channel's.
const PLAN_ONCE: &str = "BEGIN READ ONLY; SET LOCAL plan_cache_mode = force_generic_plan";

pub(crate) async fn candidates(
    conn: &mut PgConnection,
    ws: &WorkspaceId,
    source: &NotifySource,
    everyone: bool,
    after: Option<&UserId>,
    limit: u32,
) -> StoreResult<Vec<Candidate>> {
    if everyone {
        return read_candidates(conn, ws, source, true, after, limit).await;
    }
    let mut tx = conn.begin_with(PLAN_ONCE).await.map_err(db)?;
    let found = read_candidates(&mut tx, ws, source, false, after, limit).await?;
    tx.commit().await.map_err(db)?;
    Ok(found)
}

/// The first `limit` candidates of each message of a page, in the page's order. The
/// ordinary messages are read in one transaction planned once (one round trip each, not
/// three); a broadcast is read on its own, planned for its values (see [`PLAN_ONCE`]).
pub(crate) async fn candidates_of(
    conn: &mut PgConnection,
    ws: &WorkspaceId,
    page: &[&NotifySource],
    limit: u32,
) -> StoreResult<Vec<Vec<Candidate>>> {
    let mut found = vec![Vec::new(); page.len()];
    let (everyone, ordinary): (Vec<_>, Vec<_>) = page
        .iter()
        .enumerate()
        .partition(|(_, source)| source.concerns_everyone());
    if !ordinary.is_empty() {
        let mut tx = conn.begin_with(PLAN_ONCE).await.map_err(db)?;
        for &(i, source) in &ordinary {
            found[i] = read_candidates(&mut tx, ws, source, false, None, limit).await?;
        }
        tx.commit().await.map_err(db)?;
    }
    for (i, source) in everyone {
        found[i] = read_candidates(conn, ws, source, true, None, limit).await?;
    }
    Ok(found)
}

/// `EVERYONE` or `CONCERNED` for one message, in whatever transaction `conn` is in.
async fn read_candidates(
    conn: &mut PgConnection,
    ws: &WorkspaceId,
    source: &NotifySource,
    everyone: bool,
    after: Option<&UserId>,
    limit: u32,
) -> StoreResult<Vec<Candidate>> {
    let message = &source.message;
    let query = sqlx::query_as(if everyone { EVERYONE } else { CONCERNED })
        .bind(ws.as_str())
        .bind(message.channel_id.as_str())
        .bind(message.user_id.as_str())
        .bind(after.map_or("", UserId::as_str))
        .bind(message.thread_root_id.as_ref().map(|r| r.as_str()))
        .bind(message.seq)
        .bind(i64::from(limit));
    let query = if everyone {
        query
    } else {
        query.bind(text_array(source.mentioned.iter().map(UserId::as_str)))
    };
    let found: Vec<CandidateRow> = query.fetch_all(conn).await.map_err(db)?;
    found
        .into_iter()
        .map(|row| {
            Ok(Candidate {
                notify: rows::channel_notify(&row.notify_level, row.muted)?,
                prefs: row.prefs.into_prefs()?,
                user_id: UserId::from_trusted(row.user_id),
                last_read_seq: row.last_read_seq,
                thread_participant: row.thread_participant,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use hearth_core::store::NotifyStore;
    use hearth_core::testing::new_message;

    use super::*;
    use crate::stale_statistics::{add_messages, explain, freeze_statistics, plan, scratch};

    /// How often PostgreSQL planned `CONCERNED` on this connection: (generic, custom).
    async fn plans(conn: &mut PgConnection) -> (i64, i64) {
        sqlx::query_as(
            "SELECT generic_plans, custom_plans FROM pg_prepared_statements \
             WHERE statement = $1",
        )
        .bind(CONCERNED)
        .fetch_one(conn)
        .await
        .unwrap()
    }

    #[tokio::test]
    async fn a_page_of_new_messages_is_read_in_order_whatever_the_statistics() {
        let mut s = scratch().await;
        let general = s.f.channel(&s.f.owner, "general", &[]).await;
        let (ws, owner) = (s.f.ws_id().clone(), s.f.owner.id.clone());

        // Statistics of an empty table, then 20,000 messages the worker has not read.
        freeze_statistics(&mut s.conn, &["messages"]).await;
        add_messages(&mut s.conn, &ws, &general.id, &owner, 20_000).await;
        sqlx::query("UPDATE workspaces SET last_seq = 21000 WHERE id = $1")
            .bind(ws.as_str())
            .execute(&mut s.conn)
            .await
            .unwrap();

        let mut tx = s.conn.begin().await.unwrap();
        exec(&mut tx, WITHOUT_SORTS).await.unwrap();
        let query = explain(NEW_MESSAGES)
            .bind(ws.as_str())
            .bind(1500_i64)
            .bind(200_i64);
        let plan = plan(&mut tx, query).await;
        assert!(plan.contains("Index Scan using messages_by_seq"), "{plan}");
        assert!(!plan.contains("Sort"), "{plan}");

        let page = sources(&mut tx, &ws, 1500, 200).await.unwrap();
        let seqs: Vec<i64> = page.sources.iter().map(|s| s.message.seq).collect();
        assert_eq!(seqs, (1501..=1700).collect::<Vec<_>>());
        assert_eq!(page.through_seq, 1700);
        tx.commit().await.unwrap();
    }

    #[tokio::test]
    async fn an_ordinary_messages_candidates_are_planned_once_per_connection() {
        let mut s = scratch().await;
        let f = &s.f;
        let general = f.channel(&f.owner, "general", &[&f.bob, &f.cy]).await;
        let ws = f.ws_id();
        f.store
            .post_message(ws, new_message(&general.id, &f.owner.id, "hello"))
            .await
            .unwrap();
        let page = s.pg.notify_sources(ws, 0, 10).await.unwrap();
        let source = page.sources.last().unwrap();

        for _ in 0..8 {
            let found = candidates(&mut s.conn, ws, source, false, None, 100)
                .await
                .unwrap();
            assert!(found.is_empty(), "nobody is concerned by a plain message");
        }
        let (generic, custom) = plans(&mut s.conn).await;
        assert_eq!(custom, 0, "planned for each run's values");
        assert!(generic >= 1);
    }
}
