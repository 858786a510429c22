//! The workspaces' cursors into their logs: claiming one under a lease, and recording a
//! batch of notifications with the cursor's new position.
//!
//! Nodes claim with `FOR UPDATE OF c SKIP LOCKED`: two claims at once never get the same
//! cursor (the second skips the row the first has locked, and a row the first has
//! already leased fails the second's lease check once re-read). Only `notify_cursors`
//! rows are ever locked here, never `workspaces` rows: a sender's batch holds its
//! workspace row's lock, and a worker must never wait for it or make it wait.

use std::collections::{HashMap, HashSet};

use hearth_core::id::{DeliveryId, WorkspaceId};
use hearth_core::notify::{Lease, NewNotification, NotifyCursor};
use hearth_core::store::StoreResult;
use sqlx::{FromRow, PgConnection};

use crate::error::db;
use crate::rows::text_array;

#[derive(FromRow)]
struct CursorRow {
    workspace_id: String,
    seq: i64,
    member_after: Option<String>,
}

/// Binds `$1` owner, `$2` now, `$3` until.
///
/// A workspace needs work when its log has passed its cursor; it is free when no one
/// holds a lease on it that is live at `now` (the owner's own live lease included: it is
/// already at work there). Of those, the least recently served goes first: a released
/// cursor keeps its release time in `lease_until`, and a cursor never claimed has none.
/// When every workspace is caught up this reads the two tables and writes nothing.
const CLAIM: &str = "UPDATE notify_cursors nc SET lease_owner = $1, lease_until = $3 \
     WHERE nc.workspace_id = ( \
       SELECT c.workspace_id FROM notify_cursors c \
       JOIN workspaces w ON w.id = c.workspace_id \
       WHERE w.last_seq > c.seq AND (c.lease_owner IS NULL OR c.lease_until < $2) \
       ORDER BY c.lease_until NULLS FIRST, c.workspace_id \
       LIMIT 1 FOR UPDATE OF c SKIP LOCKED) \
     RETURNING nc.workspace_id, nc.seq, nc.member_after";

pub(crate) async fn claim(
    conn: &mut PgConnection,
    lease: &Lease,
) -> StoreResult<Option<NotifyCursor>> {
    let row: Option<CursorRow> = sqlx::query_as(CLAIM)
        .bind(&lease.owner)
        .bind(lease.now.0)
        .bind(lease.until.0)
        .fetch_optional(conn)
        .await
        .map_err(db)?;
    Ok(row.map(|r| NotifyCursor {
        workspace_id: WorkspaceId::from_trusted(r.workspace_id),
        seq: r.seq,
        member_after: r.member_after.map(hearth_core::id::UserId::from_trusted),
    }))
}

/// Records a batch in the caller's write transaction (see
/// [`NotifyStore::record_notifications`](hearth_core::store::NotifyStore::record_notifications)).
/// The cursor's row is locked first and the lease checked on it, so a worker whose lease
/// lapsed and was taken over cannot write behind the new holder's back.
pub(crate) async fn record(
    conn: &mut PgConnection,
    lease: &Lease,
    cursor: &NotifyCursor,
    notifications: &[NewNotification],
    release: bool,
) -> StoreResult<bool> {
    let ws = &cursor.workspace_id;
    let held: Option<bool> = sqlx::query_scalar(
        "SELECT COALESCE(lease_owner = $2 AND lease_until >= $3, FALSE) \
         FROM notify_cursors WHERE workspace_id = $1 FOR UPDATE",
    )
    .bind(ws.as_str())
    .bind(&lease.owner)
    .bind(lease.now.0)
    .fetch_optional(&mut *conn)
    .await
    .map_err(db)?;
    if held != Some(true) {
        return Ok(false);
    }

    if !notifications.is_empty() {
        let fresh = insert_notifications(conn, ws, notifications).await?;
        insert_deliveries(conn, ws, lease, &fresh).await?;
    }

    sqlx::query(
        "UPDATE notify_cursors SET seq = $2, member_after = $3, \
           lease_owner = CASE WHEN $4 THEN NULL ELSE lease_owner END, \
           lease_until = CASE WHEN $4 THEN $5 ELSE GREATEST(lease_until, $6) END \
         WHERE workspace_id = $1",
    )
    .bind(ws.as_str())
    .bind(cursor.seq)
    .bind(cursor.member_after.as_ref().map(|u| u.as_str()))
    .bind(release)
    .bind(lease.now.0)
    .bind(lease.until.0)
    .execute(conn)
    .await
    .map_err(db)?;
    Ok(true)
}

/// Inserts the notifications not stored yet and returns those: a batch done again after
/// a crash finds its notifications stored, and so creates no second delivery for them.
async fn insert_notifications<'n>(
    conn: &mut PgConnection,
    ws: &WorkspaceId,
    notifications: &'n [NewNotification],
) -> StoreResult<Vec<&'n NewNotification>> {
    let new_ids: Vec<String> = sqlx::query_scalar(
        "INSERT INTO notifications (id, workspace_id, user_id, channel_id, message_id, seq, \
           reason, created_at) \
         SELECT id, $1, user_id, channel_id, message_id, seq, reason, created_at \
         FROM UNNEST($2::text[], $3::text[], $4::text[], $5::text[], $6::int8[], $7::text[], \
           $8::int8[]) AS n(id, user_id, channel_id, message_id, seq, reason, created_at) \
         ON CONFLICT DO NOTHING RETURNING id",
    )
    .bind(ws.as_str())
    .bind(text_array(notifications.iter().map(|n| n.id.as_str())))
    .bind(text_array(notifications.iter().map(|n| n.user_id.as_str())))
    .bind(text_array(
        notifications.iter().map(|n| n.channel_id.as_str()),
    ))
    .bind(text_array(
        notifications.iter().map(|n| n.message_id.as_str()),
    ))
    .bind(notifications.iter().map(|n| n.seq).collect::<Vec<_>>())
    .bind(text_array(notifications.iter().map(|n| n.reason.as_str())))
    .bind(
        notifications
            .iter()
            .map(|n| n.created_at.0)
            .collect::<Vec<_>>(),
    )
    .fetch_all(&mut *conn)
    .await
    .map_err(db)?;
    let new_ids: HashSet<String> = new_ids.into_iter().collect();
    Ok(notifications
        .iter()
        .filter(|n| new_ids.contains(n.id.as_str()))
        .collect())
}

/// The columns of the deliveries to insert, one array per column.
#[derive(Default)]
struct NewDeliveries<'a> {
    ids: Vec<String>,
    users: Vec<&'a str>,
    channels: Vec<&'a str>,
    kinds: Vec<&'static str>,
    notifications: Vec<Option<&'a str>>,
    targets: Vec<Option<String>>,
    due: Vec<i64>,
}

impl<'a> NewDeliveries<'a> {
    fn push(
        &mut self,
        n: &'a NewNotification,
        kind: &'static str,
        target: Option<String>,
        due: i64,
    ) {
        self.ids.push(DeliveryId::generate().as_str().to_owned());
        self.users.push(n.user_id.as_str());
        self.channels.push(n.channel_id.as_str());
        self.kinds.push(kind);
        self.notifications
            .push((kind == "push").then(|| n.id.as_str()));
        self.targets.push(target);
        self.due.push(due);
    }
}

/// For each new notification, a push delivery due now per target its user has, and, if
/// it is to be emailed, the pending email of its conversation unless there is one: the
/// partial unique index `deliveries_one_pending_email` keeps one, and the first of a
/// batch (the oldest message, so the earliest due time) is the one kept.
async fn insert_deliveries(
    conn: &mut PgConnection,
    ws: &WorkspaceId,
    lease: &Lease,
    fresh: &[&NewNotification],
) -> StoreResult<()> {
    if fresh.is_empty() {
        return Ok(());
    }
    let targets: Vec<(String, String)> = sqlx::query_as(
        "SELECT user_id, id FROM push_targets WHERE workspace_id = $1 AND user_id = ANY($2) \
         ORDER BY created_at, id",
    )
    .bind(ws.as_str())
    .bind(text_array(fresh.iter().map(|n| n.user_id.as_str())))
    .fetch_all(&mut *conn)
    .await
    .map_err(db)?;
    let mut by_user: HashMap<String, Vec<String>> = HashMap::new();
    for (user, target) in targets {
        by_user.entry(user).or_default().push(target);
    }

    let mut rows = NewDeliveries::default();
    let mut emailed = HashSet::new();
    for &n in fresh {
        for target in by_user.get(n.user_id.as_str()).into_iter().flatten() {
            rows.push(n, "push", Some(target.clone()), lease.now.0);
        }
        if let Some(at) = n.email_at
            && emailed.insert((n.user_id.as_str(), n.channel_id.as_str()))
        {
            rows.push(n, "email", None, at.0);
        }
    }
    if rows.ids.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO deliveries (id, workspace_id, user_id, channel_id, kind, notification_id, \
           target_id, state, attempts, due_at, created_at, updated_at) \
         SELECT id, $1, user_id, channel_id, kind, notification_id, target_id, 'pending', 0, \
           due_at, $9, $9 \
         FROM UNNEST($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], \
           $8::int8[]) AS d(id, user_id, channel_id, kind, notification_id, target_id, due_at) \
         ON CONFLICT DO NOTHING",
    )
    .bind(ws.as_str())
    .bind(&rows.ids)
    .bind(&rows.users)
    .bind(&rows.channels)
    .bind(&rows.kinds)
    .bind(&rows.notifications)
    .bind(&rows.targets)
    .bind(&rows.due)
    .bind(lease.now.0)
    .execute(conn)
    .await
    .map_err(db)?;
    Ok(())
}
