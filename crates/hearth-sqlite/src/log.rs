//! The workspace event log: appending, reading it back (as one user may see it, or whole
//! for fan-out), where a realtime subscription starts, pruning.
//!
//! Seqs come from `workspaces.last_seq`, bumped inside the write transaction that appends.
//! With a single writer and `BEGIN IMMEDIATE`, no two transactions hold a seq at once, so
//! seq order is commit order and a reader that saw seq N never later finds a new event at
//! or below N. Group commit (the `writer` module) keeps this property: the jobs of a batch
//! run one after another in one transaction, and a job that fails is rolled back to its
//! savepoint together with its seq bump (a post is refused before it takes one, and one
//! that fails after writing fails its whole batch), so it leaves no hole.
//!
//! Channel events are visible to the members of the channel *at the event's seq*, kept as
//! `membership_spans`: joining opens a span at the first seq of the joining operation (a
//! creator sees its own `channel.created`), leaving closes it at the `member.left` seq (the
//! removed user sees that event and nothing after it).

use hearth_core::Timestamp;
use hearth_core::event::{Audience, Event, EventPage, EventPayload};
use hearth_core::id::{ChannelId, UserId, WorkspaceId};
use hearth_core::store::{StoreError, StoreResult, Subscription};
use sqlx::{FromRow, SqliteConnection};

use crate::accounts;
use crate::error::{db, json};

/// Bumps a workspace's seq counter and returns the new value; binds the workspace.
pub(crate) const NEXT_SEQ: &str =
    "UPDATE workspaces SET last_seq = last_seq + 1 WHERE id = ?1 RETURNING last_seq";

/// Takes the workspace's next seq. Only for callers that must know the seq before they
/// can build the payload (a new message carries its own seq); others use [`append`].
pub(crate) async fn next_seq(conn: &mut SqliteConnection, ws: &WorkspaceId) -> StoreResult<i64> {
    sqlx::query_scalar(NEXT_SEQ)
        .bind(ws.as_str())
        .fetch_optional(conn)
        .await
        .map_err(db)?
        .ok_or(StoreError::NotFound)
}

/// Binds workspace, seq, kind, channel, audience user, payload, created_at.
pub(crate) const INSERT_EVENT: &str = "INSERT INTO events (workspace_id, seq, kind, channel_id, \
     audience_user_id, payload, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";

/// How an event is stored: whose it is (its audience) and its JSON payload.
pub(crate) struct EventColumns {
    pub(crate) channel_id: Option<ChannelId>,
    pub(crate) user_id: Option<UserId>,
    pub(crate) body: String,
}

impl EventColumns {
    pub(crate) fn of(payload: &EventPayload) -> StoreResult<Self> {
        let (channel_id, user_id) = match payload.audience() {
            Audience::Workspace => (None, None),
            Audience::Channel(c) => (Some(c), None),
            Audience::User(u) => (None, Some(u)),
        };
        Ok(Self {
            channel_id,
            user_id,
            body: serde_json::to_string(payload).map_err(json)?,
        })
    }
}

/// Writes an event at a seq taken with [`next_seq`].
pub(crate) async fn record(
    conn: &mut SqliteConnection,
    ws: &WorkspaceId,
    seq: i64,
    now: Timestamp,
    payload: EventPayload,
) -> StoreResult<Event> {
    let row = EventColumns::of(&payload)?;
    sqlx::query(INSERT_EVENT)
        .bind(ws.as_str())
        .bind(seq)
        .bind(payload.kind())
        .bind(row.channel_id.as_ref().map(ChannelId::as_str))
        .bind(row.user_id.as_ref().map(UserId::as_str))
        .bind(row.body)
        .bind(now.0)
        .execute(conn)
        .await
        .map_err(db)?;
    Ok(Event {
        seq,
        created_at: now,
        payload,
    })
}

/// Appends one event to the workspace's log, in the caller's write transaction.
pub(crate) async fn append(
    conn: &mut SqliteConnection,
    ws: &WorkspaceId,
    now: Timestamp,
    payload: EventPayload,
) -> StoreResult<Event> {
    let seq = next_seq(conn, ws).await?;
    record(conn, ws, seq, now, payload).await
}

/// Starts a user's visibility of a channel's events at `from_seq`.
pub(crate) async fn open_span(
    conn: &mut SqliteConnection,
    ws: &WorkspaceId,
    channel: &ChannelId,
    user: &UserId,
    from_seq: i64,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO membership_spans (workspace_id, channel_id, user_id, from_seq) \
         VALUES (?, ?, ?, ?)",
    )
    .bind(ws.as_str())
    .bind(channel.as_str())
    .bind(user.as_str())
    .bind(from_seq)
    .execute(conn)
    .await
    .map_err(db)?;
    Ok(())
}

/// Ends a user's visibility of a channel's events after `to_seq` (inclusive).
pub(crate) async fn close_span(
    conn: &mut SqliteConnection,
    ws: &WorkspaceId,
    channel: &ChannelId,
    user: &UserId,
    to_seq: i64,
) -> StoreResult<()> {
    sqlx::query(
        "UPDATE membership_spans SET to_seq = ? \
         WHERE workspace_id = ? AND channel_id = ? AND user_id = ? AND to_seq IS NULL",
    )
    .bind(to_seq)
    .bind(ws.as_str())
    .bind(channel.as_str())
    .bind(user.as_str())
    .execute(conn)
    .await
    .map_err(db)?;
    Ok(())
}

#[derive(FromRow)]
struct LogBounds {
    last_seq: i64,
    pruned_through_seq: i64,
}

#[derive(FromRow)]
struct EventRow {
    seq: i64,
    created_at: i64,
    payload: String,
}

/// Whose view of the log a page is.
#[derive(Clone, Copy)]
enum View<'a> {
    /// Every event: what fan-out reads before filtering per connection.
    Unfiltered,
    /// Only what this account may see (see the module docs).
    Of(&'a UserId),
}

/// The visible events of one reader; binds `?1` workspace, `?2` after, `?3` limit,
/// `?4` reader.
const VISIBLE_EVENTS: &str = "SELECT e.seq, e.created_at, e.payload FROM events e \
     WHERE e.workspace_id = ?1 AND e.seq > ?2 AND ( \
         e.audience_user_id = ?4 \
         OR (e.channel_id IS NULL AND e.audience_user_id IS NULL) \
         OR (e.channel_id IS NOT NULL AND EXISTS ( \
             SELECT 1 FROM membership_spans s \
             WHERE s.workspace_id = e.workspace_id AND s.user_id = ?4 \
               AND s.channel_id = e.channel_id AND s.from_seq <= e.seq \
               AND (s.to_seq IS NULL OR e.seq <= s.to_seq))) \
     ) ORDER BY e.seq LIMIT ?3";

/// Every event; binds `?1` workspace, `?2` after, `?3` limit.
const ALL_EVENTS: &str = "SELECT e.seq, e.created_at, e.payload FROM events e \
     WHERE e.workspace_id = ?1 AND e.seq > ?2 ORDER BY e.seq LIMIT ?3";

/// The events after `after` that `user` may see. Must run in a read transaction (as
/// must [`log_after`]) so the page and `last_seq` come from one snapshot: otherwise a
/// commit between the two could be skipped by a reader that resumes from the returned
/// `last_seq`.
pub(crate) async fn events_after(
    conn: &mut SqliteConnection,
    ws: &WorkspaceId,
    user: &UserId,
    after: i64,
    limit: u32,
) -> StoreResult<EventPage> {
    if !accounts::is_account(&mut *conn, ws, user).await? {
        return Err(StoreError::NotFound);
    }
    page(conn, ws, View::Of(user), after, limit).await
}

/// Every event after `after`, unfiltered. In a read transaction, as [`events_after`].
pub(crate) async fn log_after(
    conn: &mut SqliteConnection,
    ws: &WorkspaceId,
    after: i64,
    limit: u32,
) -> StoreResult<EventPage> {
    page(conn, ws, View::Unfiltered, after, limit).await
}

/// One page of the log as `view` sees it: the resync rule and the `last_seq` a reader
/// resumes from, shared by [`events_after`] and [`log_after`].
async fn page(
    conn: &mut SqliteConnection,
    ws: &WorkspaceId,
    view: View<'_>,
    after: i64,
    limit: u32,
) -> StoreResult<EventPage> {
    let bounds: LogBounds =
        sqlx::query_as("SELECT last_seq, pruned_through_seq FROM workspaces WHERE id = ?")
            .bind(ws.as_str())
            .fetch_optional(&mut *conn)
            .await
            .map_err(db)?
            .ok_or(StoreError::NotFound)?;
    if after > bounds.last_seq || after < bounds.pruned_through_seq {
        return Ok(EventPage::ResyncRequired);
    }
    if limit == 0 {
        return Ok(EventPage::Events {
            events: Vec::new(),
            last_seq: after,
        });
    }

    let sql = match view {
        View::Unfiltered => ALL_EVENTS,
        View::Of(_) => VISIBLE_EVENTS,
    };
    let mut query = sqlx::query_as::<_, EventRow>(sql)
        .bind(ws.as_str())
        .bind(after)
        .bind(i64::from(limit));
    if let View::Of(user) = view {
        query = query.bind(user.as_str());
    }
    let rows = query.fetch_all(&mut *conn).await.map_err(db)?;

    let full_page = rows.len() == limit as usize;
    let events = rows
        .into_iter()
        .map(|row| {
            Ok(Event {
                seq: row.seq,
                created_at: Timestamp(row.created_at),
                payload: serde_json::from_str(&row.payload).map_err(json)?,
            })
        })
        .collect::<StoreResult<Vec<_>>>()?;
    // A short page means the reader has seen everything up to the log's end; a full one
    // only up to its last event, since more events (visible ones, for a filtered view)
    // may follow.
    let last_seq = match events.last() {
        Some(last) if full_page => last.seq,
        _ => bounds.last_seq,
    };
    Ok(EventPage::Events { events, last_seq })
}

/// The user's channels and the newest seq. Must run in a read transaction: a membership
/// committed between the two reads would otherwise be missing from the list while its
/// events sit at or below the returned seq, where a subscriber never looks.
pub(crate) async fn subscription(
    conn: &mut SqliteConnection,
    ws: &WorkspaceId,
    user: &UserId,
) -> StoreResult<Subscription> {
    if !accounts::is_account(&mut *conn, ws, user).await? {
        return Err(StoreError::NotFound);
    }
    let last_seq = last_seq(&mut *conn, ws).await?;
    let channel_ids: Vec<String> = sqlx::query_scalar(
        "SELECT channel_id FROM memberships WHERE workspace_id = ? AND user_id = ? \
         ORDER BY channel_id",
    )
    .bind(ws.as_str())
    .bind(user.as_str())
    .fetch_all(&mut *conn)
    .await
    .map_err(db)?;
    Ok(Subscription {
        channel_ids: channel_ids
            .into_iter()
            .map(ChannelId::from_trusted)
            .collect(),
        last_seq,
    })
}

pub(crate) async fn last_seq(conn: &mut SqliteConnection, ws: &WorkspaceId) -> StoreResult<i64> {
    sqlx::query_scalar("SELECT last_seq FROM workspaces WHERE id = ?")
        .bind(ws.as_str())
        .fetch_optional(conn)
        .await
        .map_err(db)?
        .ok_or(StoreError::NotFound)
}

/// Per workspace, the newest seq of an event created before `before`: what pruning
/// deletes through. Deleting by seq rather than by time keeps the retained log a
/// contiguous suffix even if the clock stepped back between two commits.
pub(crate) async fn prune_cutoffs(
    conn: &mut SqliteConnection,
    before: Timestamp,
) -> StoreResult<Vec<(WorkspaceId, i64)>> {
    // Without the hint SQLite prefers walking the whole log in key order to group it;
    // the time index visits only the events about to go.
    let rows: Vec<(String, i64)> = sqlx::query_as(
        "SELECT workspace_id, MAX(seq) FROM events INDEXED BY events_by_created_at \
         WHERE created_at < ? GROUP BY workspace_id",
    )
    .bind(before.0)
    .fetch_all(conn)
    .await
    .map_err(db)?;
    Ok(rows
        .into_iter()
        .map(|(ws, through)| (WorkspaceId::from_trusted(ws), through))
        .collect())
}

/// One step of pruning `ws` through `through`: remembers the newest seq it deletes, then
/// deletes at most `step` of the oldest events. Returns how many went and whether the
/// log is now pruned all the way through `through`.
pub(crate) async fn prune_step(
    conn: &mut SqliteConnection,
    ws: &WorkspaceId,
    through: i64,
    step: i64,
) -> StoreResult<(u64, bool)> {
    let bound: Option<i64> = sqlx::query_scalar(
        "SELECT seq FROM events WHERE workspace_id = ? AND seq <= ? ORDER BY seq \
         LIMIT 1 OFFSET ?",
    )
    .bind(ws.as_str())
    .bind(through)
    .bind(step - 1)
    .fetch_optional(&mut *conn)
    .await
    .map_err(db)?;
    let upto = bound.unwrap_or(through);
    sqlx::query(
        "UPDATE workspaces SET pruned_through_seq = MAX(pruned_through_seq, ?) WHERE id = ?",
    )
    .bind(upto)
    .bind(ws.as_str())
    .execute(&mut *conn)
    .await
    .map_err(db)?;
    let deleted = sqlx::query("DELETE FROM events WHERE workspace_id = ? AND seq <= ?")
        .bind(ws.as_str())
        .bind(upto)
        .execute(&mut *conn)
        .await
        .map_err(db)?
        .rows_affected();
    Ok((deleted, upto >= through))
}
