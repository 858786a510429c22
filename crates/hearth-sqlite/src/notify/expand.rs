//! What the worker reads to expand the event log into notifications: each workspace's
//! cursor and its lease, the new messages after a cursor, and the members a message
//! might concern (`record` writes what it decided).
//!
//! A released cursor keeps `lease_until` as the time it was released (with no owner), so
//! claims take the workspace that waited longest first and one busy workspace cannot
//! starve the others.

use std::collections::{HashMap, HashSet};

use hearth_core::Timestamp;
use hearth_core::id::{ChannelId, MessageId, UserId, WorkspaceId};
use hearth_core::mention::Broadcast;
use hearth_core::notify::{
    Candidate, ChannelNotify, Lease, NotifyCursor, NotifySource, NotifySources,
};
use hearth_core::store::{StoreError, StoreResult};
use sqlx::{FromRow, SqliteConnection};

use super::prefs::{self, PrefsRow, prefs_columns};
use crate::error::{corrupt, db};
use crate::rows::{ChannelRow, MessageRow, channel_columns, json_list, message_columns};

/// A workspace's cursor, made with the workspace: nothing before `seq` is notified.
pub(crate) async fn create_cursor(
    conn: &mut SqliteConnection,
    ws: &WorkspaceId,
    seq: i64,
) -> StoreResult<()> {
    sqlx::query("INSERT INTO notify_cursors (workspace_id, seq) VALUES (?, ?)")
        .bind(ws.as_str())
        .bind(seq)
        .execute(conn)
        .await
        .map_err(db)?;
    Ok(())
}

/// The cursors worth claiming, binding `?1` the claimer's now: behind their log, and
/// free, which is without an owner or once the lease ended before now (a running lease,
/// the claimer's own included, is being worked on).
macro_rules! claimable_cursors {
    () => {
        "SELECT c.workspace_id FROM notify_cursors c \
         JOIN workspaces w ON w.id = c.workspace_id \
         WHERE w.last_seq > c.seq AND (c.lease_owner IS NULL OR c.lease_until < ?1)"
    };
}

/// Binds nothing: workspaces without a cursor. `create_workspace` makes one in the same
/// transaction; a workspace written into the file by other means (the benchmark's
/// generator, a copy) gets one at its newest seq when a worker first looks, so its
/// history is never notified, as for databases that predate notifications.
const ADOPT_MISSING: &str = "INSERT INTO notify_cursors (workspace_id, seq) \
     SELECT w.id, w.last_seq FROM workspaces w \
     WHERE NOT EXISTS (SELECT 1 FROM notify_cursors c WHERE c.workspace_id = w.id)";

/// Whether a claim would find anything: a cheap read, so idle polls write nothing.
pub(super) async fn any_claimable(
    conn: &mut SqliteConnection,
    now: Timestamp,
) -> StoreResult<bool> {
    sqlx::query_scalar(concat!(
        "SELECT EXISTS (SELECT 1 FROM workspaces w WHERE NOT EXISTS \
           (SELECT 1 FROM notify_cursors c WHERE c.workspace_id = w.id)) \
         OR EXISTS (",
        claimable_cursors!(),
        ")"
    ))
    .bind(now.0)
    .fetch_one(conn)
    .await
    .map_err(db)
}

#[derive(FromRow)]
struct CursorRow {
    workspace_id: String,
    seq: i64,
    member_after: Option<String>,
}

pub(super) async fn claim_cursor(
    conn: &mut SqliteConnection,
    lease: &Lease,
) -> StoreResult<Option<NotifyCursor>> {
    sqlx::query(ADOPT_MISSING)
        .execute(&mut *conn)
        .await
        .map_err(db)?;
    let row: Option<CursorRow> = sqlx::query_as(concat!(
        "UPDATE notify_cursors SET lease_owner = ?2, lease_until = ?3 WHERE workspace_id = (",
        claimable_cursors!(),
        " ORDER BY c.lease_until, c.workspace_id LIMIT 1",
        ") RETURNING workspace_id, seq, member_after"
    ))
    .bind(lease.now.0)
    .bind(&lease.owner)
    .bind(lease.until.0)
    .fetch_optional(conn)
    .await
    .map_err(db)?;
    Ok(row.map(|r| NotifyCursor {
        workspace_id: WorkspaceId::from_trusted(r.workspace_id),
        seq: r.seq,
        member_after: r.member_after.map(UserId::from_trusted),
    }))
}

fn broadcast(s: &str) -> StoreResult<Broadcast> {
    match s {
        "everyone" => Ok(Broadcast::Everyone),
        "channel" => Ok(Broadcast::Channel),
        "here" => Ok(Broadcast::Here),
        _ => Err(corrupt("broadcast", s)),
    }
}

#[derive(FromRow)]
struct SourceRow {
    #[sqlx(flatten)]
    message: MessageRow,
    broadcast: Option<String>,
    /// The seq of its `message.created` event, which is the message's own.
    event_seq: i64,
}

/// New messages after `after`, found by their `message.created` events (the event's
/// payload names the message; the row says what it is now). Must run in a read
/// transaction: `through_seq` is the log's newest seq when the page was short, and
/// reading that in another snapshot could pass over a message committed in between.
pub(super) async fn sources(
    conn: &mut SqliteConnection,
    ws: &WorkspaceId,
    after: i64,
    limit: u32,
) -> StoreResult<NotifySources> {
    let (last_seq, pruned): (i64, i64) =
        sqlx::query_as("SELECT last_seq, pruned_through_seq FROM workspaces WHERE id = ?")
            .bind(ws.as_str())
            .fetch_optional(&mut *conn)
            .await
            .map_err(db)?
            .ok_or(StoreError::NotFound)?;
    // What was pruned cannot be read any more: those messages go unnotified.
    let start = after.max(pruned);
    let rows: Vec<SourceRow> = sqlx::query_as(concat!(
        "SELECT ",
        message_columns!(),
        ", m.broadcast, e.seq AS event_seq FROM events e \
         JOIN messages m ON m.workspace_id = e.workspace_id \
           AND m.id = json_extract(e.payload, '$.message.id') \
         WHERE e.workspace_id = ?1 AND e.seq > ?2 AND e.kind = 'message.created' \
           AND m.deleted = 0 \
         ORDER BY e.seq LIMIT ?3"
    ))
    .bind(ws.as_str())
    .bind(start)
    .bind(i64::from(limit))
    .fetch_all(&mut *conn)
    .await
    .map_err(db)?;
    // A full page was read up to its last message only; a short one to the log's end.
    let through_seq = match rows.last() {
        Some(last) if rows.len() == limit as usize => last.event_seq,
        _ => last_seq.max(start),
    };

    let message_ids = json_list(rows.iter().map(|r| r.message.id.as_str()));
    let mut mentioned: HashMap<String, Vec<UserId>> = HashMap::new();
    let mentions: Vec<(String, String)> = sqlx::query_as(
        "SELECT message_id, user_id FROM message_mentions \
         WHERE workspace_id = ? AND message_id IN (SELECT value FROM json_each(?)) \
         ORDER BY message_id, user_id",
    )
    .bind(ws.as_str())
    .bind(&message_ids)
    .fetch_all(&mut *conn)
    .await
    .map_err(db)?;
    for (message, user) in mentions {
        mentioned
            .entry(message)
            .or_default()
            .push(UserId::from_trusted(user));
    }
    let channel_ids: HashSet<&str> = rows.iter().map(|r| r.message.channel_id.as_str()).collect();
    let channels: Vec<ChannelRow> = sqlx::query_as(concat!(
        "SELECT ",
        channel_columns!(),
        " FROM channels c WHERE c.workspace_id = ? AND c.id IN (SELECT value FROM json_each(?))"
    ))
    .bind(ws.as_str())
    .bind(json_list(channel_ids))
    .fetch_all(&mut *conn)
    .await
    .map_err(db)?;
    let channels: HashMap<ChannelId, _> = channels
        .into_iter()
        .map(|row| row.into_channel().map(|c| (c.id.clone(), c)))
        .collect::<StoreResult<_>>()?;

    let mut sources = Vec::with_capacity(rows.len());
    for row in rows {
        let broadcast = row.broadcast.as_deref().map(broadcast).transpose()?;
        let mentioned = mentioned.remove(&row.message.id).unwrap_or_default();
        let message = row.message.into_message()?;
        let channel = channels
            .get(&message.channel_id)
            .cloned()
            .ok_or_else(|| corrupt("message channel", message.channel_id.as_str()))?;
        sources.push(NotifySource {
            message,
            channel,
            mentioned,
            broadcast,
        });
    }
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
    thread_participant: bool,
    #[sqlx(flatten)]
    prefs: PrefsRow,
}

/// Binds `?1` workspace, `?2` channel, `?3` after, `?4` author, `?5` thread root (NULL
/// for a top-level message), `?6` the message's seq, `?7` everyone, `?8` the mentioned
/// ids (JSON), `?9` limit. Members are paged by user id, the memberships key, so a large
/// channel is read in order from where the last batch stopped.
const CANDIDATES: &str = concat!(
    "SELECT * FROM (SELECT mb.user_id, mb.notify_level, mb.muted, mb.last_read_seq, \
       (?5 IS NOT NULL AND ( \
          EXISTS (SELECT 1 FROM messages r WHERE r.workspace_id = ?1 AND r.id = ?5 \
                    AND r.user_id = mb.user_id) \
          OR EXISTS (SELECT 1 FROM messages r WHERE r.workspace_id = ?1 \
                    AND r.thread_root_id = ?5 AND r.seq < ?6 AND r.user_id = mb.user_id) \
       )) AS thread_participant, ",
    prefs_columns!(),
    " FROM memberships mb \
     JOIN users u ON u.id = mb.user_id AND u.workspace_id = mb.workspace_id \
     LEFT JOIN notify_prefs np ON np.user_id = mb.user_id AND np.workspace_id = mb.workspace_id \
     WHERE mb.workspace_id = ?1 AND mb.channel_id = ?2 AND mb.user_id > ?3 \
       AND mb.user_id != ?4 AND u.deactivated = 0) \
     WHERE ?7 OR thread_participant OR notify_level = 'all' OR keywords != '[]' \
       OR user_id IN (SELECT value FROM json_each(?8)) \
     ORDER BY user_id LIMIT ?9"
);

pub(super) async fn candidates(
    conn: &mut SqliteConnection,
    ws: &WorkspaceId,
    source: &NotifySource,
    everyone: bool,
    after: Option<&UserId>,
    limit: u32,
) -> StoreResult<Vec<Candidate>> {
    let message = &source.message;
    let rows: Vec<CandidateRow> = sqlx::query_as(CANDIDATES)
        .bind(ws.as_str())
        .bind(message.channel_id.as_str())
        .bind(after.map_or("", UserId::as_str))
        .bind(message.user_id.as_str())
        .bind(message.thread_root_id.as_ref().map(MessageId::as_str))
        .bind(message.seq)
        .bind(everyone)
        .bind(json_list(source.mentioned.iter().map(UserId::as_str)))
        .bind(i64::from(limit))
        .fetch_all(conn)
        .await
        .map_err(db)?;
    rows.into_iter()
        .map(|r| {
            Ok(Candidate {
                user_id: UserId::from_trusted(r.user_id),
                notify: ChannelNotify {
                    level: prefs::level(&r.notify_level)?,
                    muted: r.muted,
                },
                prefs: r.prefs.into_prefs()?,
                last_read_seq: r.last_read_seq,
                thread_participant: r.thread_participant,
            })
        })
        .collect()
}
