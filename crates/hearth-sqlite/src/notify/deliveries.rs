//! Deliveries: claiming the due ones under a lease, recording how each attempt ended,
//! what an email lists, the dead letters admins read, and pruning finished work.
//!
//! A delivery is pending until an attempt settles it; a claimed one stays pending, held
//! by its lease, so a worker that dies lets it fall due again when the lease lapses.
//! While a claimed email is being sent it still stands for its conversation, so a
//! notification recorded meanwhile gets no email of its own: sending that one starts the
//! next email when something it did not list is still unread.

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use hearth_core::Timestamp;
use hearth_core::id::{ChannelId, DeliveryId, MessageId, NotificationId, UserId, WorkspaceId};
use hearth_core::notify::{
    Delivery, DeliveryKind, DeliveryOutcome, DeliveryState, Lease, Notification, PushTarget, Reason,
};
use hearth_core::store::StoreResult;
use sqlx::{FromRow, SqliteConnection};

use super::targets;
use crate::error::{corrupt, db};
use crate::rows::json_list;

macro_rules! delivery_columns {
    () => {
        "id, workspace_id, user_id, channel_id, kind, state, notification_id, target_id, \
         attempts, due_at, created_at, last_error"
    };
}

macro_rules! notification_columns {
    () => {
        "id, workspace_id, user_id, channel_id, message_id, seq, reason, created_at"
    };
}

/// Whether notification `n` is unread in the conversation of `?1` workspace, `?2` user
/// and `?3` channel: newer than both the read marker and what a sent email listed. What
/// an email lists, and whether sending one leaves anything for the next. Not a member: no
/// read marker, so the comparison with NULL keeps nothing.
macro_rules! unread_in_conversation {
    () => {
        "n.workspace_id = ?1 AND n.user_id = ?2 AND n.channel_id = ?3 \
         AND n.seq > (SELECT mb.last_read_seq FROM memberships mb \
                      WHERE mb.workspace_id = ?1 AND mb.channel_id = ?3 AND mb.user_id = ?2) \
         AND n.seq > COALESCE((SELECT MAX(d.through_seq) FROM deliveries d \
                      WHERE d.workspace_id = ?1 AND d.user_id = ?2 AND d.channel_id = ?3 \
                        AND d.kind = 'email' AND d.state = 'sent'), 0)"
    };
}

/// Sorts after every delivery id (they are `D` and Crockford base32), so "before
/// nothing" is one comparison that the index serves.
const AFTER_EVERY_ID: &str = "~";

#[derive(FromRow)]
struct DeliveryRow {
    id: String,
    workspace_id: String,
    user_id: String,
    channel_id: String,
    kind: String,
    state: String,
    notification_id: Option<String>,
    target_id: Option<String>,
    attempts: i64,
    due_at: i64,
    created_at: i64,
    last_error: Option<String>,
}

#[derive(FromRow)]
struct NotificationRow {
    id: String,
    workspace_id: String,
    user_id: String,
    channel_id: String,
    message_id: String,
    seq: i64,
    reason: String,
    created_at: i64,
}

impl NotificationRow {
    fn into_notification(self) -> StoreResult<Notification> {
        Ok(Notification {
            reason: Reason::parse(&self.reason).ok_or_else(|| corrupt("reason", &self.reason))?,
            id: NotificationId::from_trusted(self.id),
            workspace_id: WorkspaceId::from_trusted(self.workspace_id),
            user_id: UserId::from_trusted(self.user_id),
            channel_id: ChannelId::from_trusted(self.channel_id),
            message_id: MessageId::from_trusted(self.message_id),
            seq: self.seq,
            created_at: Timestamp(self.created_at),
        })
    }
}

/// Deliveries with their notifications and targets. Claims span workspaces, so what is
/// attached is matched on the delivery's workspace as well as on the id.
async fn attach(conn: &mut SqliteConnection, rows: Vec<DeliveryRow>) -> StoreResult<Vec<Delivery>> {
    let notification_ids = json_list(rows.iter().filter_map(|r| r.notification_id.as_deref()));
    let notifications: Vec<NotificationRow> = sqlx::query_as(concat!(
        "SELECT ",
        notification_columns!(),
        " FROM notifications WHERE id IN (SELECT value FROM json_each(?))"
    ))
    .bind(notification_ids)
    .fetch_all(&mut *conn)
    .await
    .map_err(db)?;
    let notifications: HashMap<(String, String), Notification> = notifications
        .into_iter()
        .map(|n| {
            let key = (n.workspace_id.clone(), n.id.clone());
            n.into_notification().map(|n| (key, n))
        })
        .collect::<StoreResult<_>>()?;
    let target_ids: Vec<&str> = rows.iter().filter_map(|r| r.target_id.as_deref()).collect();
    let targets: HashMap<(String, String), PushTarget> = targets::by_ids(conn, &target_ids)
        .await?
        .into_iter()
        .map(|t| ((t.workspace_id.to_string(), t.id.to_string()), t))
        .collect();

    rows.into_iter()
        .map(|r| {
            let notification = r.notification_id.as_ref().and_then(|id| {
                notifications
                    .get(&(r.workspace_id.clone(), id.clone()))
                    .cloned()
            });
            let target = r
                .target_id
                .as_ref()
                .and_then(|id| targets.get(&(r.workspace_id.clone(), id.clone())).cloned());
            Ok(Delivery {
                kind: DeliveryKind::parse(&r.kind)
                    .ok_or_else(|| corrupt("delivery kind", &r.kind))?,
                state: DeliveryState::parse(&r.state)
                    .ok_or_else(|| corrupt("delivery state", &r.state))?,
                id: DeliveryId::from_trusted(r.id),
                workspace_id: WorkspaceId::from_trusted(r.workspace_id),
                user_id: UserId::from_trusted(r.user_id),
                channel_id: ChannelId::from_trusted(r.channel_id),
                notification,
                target,
                attempts: u32::try_from(r.attempts).unwrap_or(u32::MAX),
                due_at: Timestamp(r.due_at),
                created_at: Timestamp(r.created_at),
                last_error: r.last_error,
            })
        })
        .collect()
}

/// Binds `?1` now: pending deliveries that are due and not held by a running lease.
macro_rules! due_deliveries {
    () => {
        "SELECT id FROM deliveries WHERE state = 'pending' AND due_at <= ?1 \
         AND (lease_until IS NULL OR lease_until < ?1)"
    };
}

/// Whether a claim would find anything: a cheap read, so idle polls write nothing.
pub(super) async fn any_due(conn: &mut SqliteConnection, now: Timestamp) -> StoreResult<bool> {
    sqlx::query_scalar(concat!("SELECT EXISTS (", due_deliveries!(), ")"))
        .bind(now.0)
        .fetch_one(conn)
        .await
        .map_err(db)
}

pub(super) async fn claim(
    conn: &mut SqliteConnection,
    lease: &Lease,
    limit: u32,
) -> StoreResult<Vec<Delivery>> {
    let mut rows: Vec<DeliveryRow> = sqlx::query_as(concat!(
        "UPDATE deliveries SET lease_owner = ?2, lease_until = ?3, attempts = attempts + 1, \
           updated_at = ?1 \
         WHERE id IN (",
        due_deliveries!(),
        " ORDER BY due_at, id LIMIT ?4) RETURNING ",
        delivery_columns!()
    ))
    .bind(lease.now.0)
    .bind(&lease.owner)
    .bind(lease.until.0)
    .bind(i64::from(limit))
    .fetch_all(&mut *conn)
    .await
    .map_err(db)?;
    // RETURNING follows no ORDER BY: oldest due first, as claimed.
    rows.sort_by(|a, b| (a.due_at, &a.id).cmp(&(b.due_at, &b.id)));
    attach(conn, rows).await
}

/// Binds `?1` the outcomes (a JSON array of [`Settled`]), `?2` now, `?3` the lease's
/// owner. Only the holder of a running lease on a delivery still pending may settle it: a
/// worker that lost its lease, or whose delivery was skipped meanwhile (its target
/// deleted), changes nothing. Every outcome ends the lease. NULLs keep `due_at` and
/// `last_error` as they are. Returns the settled rows as they were before (`due_at`
/// changes only for a retry, which needs no delay).
const SETTLE: &str = "UPDATE deliveries SET state = o.new_state, \
       due_at = COALESCE(o.new_due_at, due_at), last_error = COALESCE(o.new_error, last_error), \
       through_seq = o.new_through_seq, lease_owner = NULL, lease_until = NULL, updated_at = ?2 \
     FROM (SELECT json_extract(value, '$.id') AS settled_id, \
             json_extract(value, '$.state') AS new_state, \
             json_extract(value, '$.due_at') AS new_due_at, \
             json_extract(value, '$.error') AS new_error, \
             json_extract(value, '$.through_seq') AS new_through_seq \
           FROM json_each(?1)) AS o \
     WHERE deliveries.id = o.settled_id AND deliveries.state = 'pending' \
       AND deliveries.lease_owner = ?3 AND deliveries.lease_until >= ?2 \
     RETURNING id, workspace_id, user_id, channel_id, kind, target_id, \
       due_at - created_at AS delay";

/// One outcome as `SETTLE` reads it: an element of its JSON array.
fn settled(id: &DeliveryId, outcome: &DeliveryOutcome) -> serde_json::Value {
    let (state, due_at, error, through_seq) = match outcome {
        DeliveryOutcome::Sent { through_seq } => (DeliveryState::Sent, None, None, *through_seq),
        DeliveryOutcome::Skipped { reason } => (DeliveryState::Skipped, None, Some(reason), None),
        DeliveryOutcome::Retry { at, error } => {
            (DeliveryState::Pending, Some(at.0), Some(error), None)
        }
        DeliveryOutcome::Dead { error } => (DeliveryState::Dead, None, Some(error), None),
        DeliveryOutcome::TargetGone { error } => (DeliveryState::Skipped, None, Some(error), None),
    };
    serde_json::json!({
        "id": id.as_str(),
        "state": state.as_str(),
        "due_at": due_at,
        "error": error,
        "through_seq": through_seq,
    })
}

/// Records each outcome, if `lease` still holds its delivery; says which were. One
/// statement settles them all; then, for each settled one, what its outcome entails: a
/// target gone is forgotten (its other pending deliveries skipped), a sent email starts
/// the next one when something it did not list is unread. So every outcome of the batch
/// is settled before any target is forgotten, as if they had been recorded one after
/// another in that order. An id listed again after its first outcome is not recorded.
pub(super) async fn finish(
    conn: &mut SqliteConnection,
    lease: &Lease,
    finished: &[(DeliveryId, DeliveryOutcome)],
) -> StoreResult<Vec<bool>> {
    // Each id's first outcome, by its index in `finished`.
    let mut first: HashMap<&str, usize> = HashMap::new();
    let mut settle = Vec::new();
    for (i, (id, outcome)) in finished.iter().enumerate() {
        if let Entry::Vacant(slot) = first.entry(id.as_str()) {
            slot.insert(i);
            settle.push(settled(id, outcome));
        }
    }
    let json = serde_json::Value::Array(settle).to_string();
    let held: Vec<HeldRow> = sqlx::query_as(SETTLE)
        .bind(json)
        .bind(lease.now.0)
        .bind(&lease.owner)
        .fetch_all(&mut *conn)
        .await
        .map_err(db)?;
    let mut recorded = vec![false; finished.len()];
    for held in &held {
        let Some(&i) = first.get(held.id.as_str()) else {
            continue;
        };
        recorded[i] = true;
        match &finished[i].1 {
            DeliveryOutcome::TargetGone { .. } => {
                if let Some(target) = &held.target_id {
                    let ws = WorkspaceId::from_trusted(held.workspace_id.clone());
                    targets::forget(conn, &ws, target, lease.now).await?;
                }
            }
            DeliveryOutcome::Sent {
                through_seq: Some(_),
            } if held.kind == DeliveryKind::Email.as_str() => {
                rearm_email(conn, held, lease.now).await?;
            }
            _ => {}
        }
    }
    Ok(recorded)
}

/// A delivery `finish` settled, as it was before.
#[derive(FromRow)]
struct HeldRow {
    id: String,
    workspace_id: String,
    user_id: String,
    channel_id: String,
    kind: String,
    target_id: Option<String>,
    /// How long after it was created it was due: the conversation's email delay.
    delay: i64,
}

/// Binds `?1` workspace, `?2` user, `?3` channel, `?4` the new id, `?5` due_at, `?6` now.
/// The conflict is another pending email of the conversation, which then stands for it.
const REARM_EMAIL: &str = concat!(
    "INSERT INTO deliveries (id, workspace_id, user_id, channel_id, kind, state, attempts, \
       due_at, created_at, updated_at) \
     SELECT ?4, ?1, ?2, ?3, 'email', 'pending', 0, ?5, ?6, ?6 \
     WHERE EXISTS (SELECT 1 FROM notifications n WHERE ",
    unread_in_conversation!(),
    ") ON CONFLICT DO NOTHING"
);

/// After an email of `held`'s conversation went out: if the conversation still has
/// unread notifications (recorded while it was being sent, after what it listed), a new
/// email for them, as far off as the one just sent was. The sent one's `through_seq` is
/// already stored, so "unread" means newer than what it listed.
async fn rearm_email(
    conn: &mut SqliteConnection,
    held: &HeldRow,
    now: Timestamp,
) -> StoreResult<()> {
    sqlx::query(REARM_EMAIL)
        .bind(&held.workspace_id)
        .bind(&held.user_id)
        .bind(&held.channel_id)
        .bind(DeliveryId::generate().as_str())
        .bind(now.0.saturating_add(held.delay.max(0)))
        .bind(now.0)
        .execute(conn)
        .await
        .map_err(db)?;
    Ok(())
}

/// Binds `?4` limit, and `?1`..`?3` as in `unread_in_conversation!`.
const UNREAD: &str = concat!(
    "SELECT ",
    notification_columns!(),
    " FROM notifications n WHERE ",
    unread_in_conversation!(),
    " ORDER BY n.seq LIMIT ?4"
);

pub(super) async fn unread(
    conn: &mut SqliteConnection,
    ws: &WorkspaceId,
    user: &UserId,
    channel: &ChannelId,
    limit: u32,
) -> StoreResult<Vec<Notification>> {
    let rows: Vec<NotificationRow> = sqlx::query_as(UNREAD)
        .bind(ws.as_str())
        .bind(user.as_str())
        .bind(channel.as_str())
        .bind(i64::from(limit))
        .fetch_all(conn)
        .await
        .map_err(db)?;
    rows.into_iter()
        .map(NotificationRow::into_notification)
        .collect()
}

/// In a read transaction, so the deliveries and what they carry are of one moment.
pub(super) async fn dead_letters(
    conn: &mut SqliteConnection,
    ws: &WorkspaceId,
    before: Option<&DeliveryId>,
    limit: u32,
) -> StoreResult<Vec<Delivery>> {
    let rows: Vec<DeliveryRow> = sqlx::query_as(concat!(
        "SELECT ",
        delivery_columns!(),
        " FROM deliveries WHERE workspace_id = ? AND state = 'dead' AND id < ? \
         ORDER BY id DESC LIMIT ?"
    ))
    .bind(ws.as_str())
    .bind(before.map_or(AFTER_EVERY_ID, DeliveryId::as_str))
    .bind(i64::from(limit))
    .fetch_all(&mut *conn)
    .await
    .map_err(db)?;
    attach(conn, rows).await
}

/// Deletes at most `step` settled deliveries created before `before`; returns how many.
pub(super) async fn prune_step(
    conn: &mut SqliteConnection,
    before: Timestamp,
    step: i64,
) -> StoreResult<u64> {
    let deleted = sqlx::query(
        "DELETE FROM deliveries WHERE id IN (SELECT id FROM deliveries \
         WHERE created_at < ? AND state != 'pending' LIMIT ?)",
    )
    .bind(before.0)
    .bind(step)
    .execute(conn)
    .await
    .map_err(db)?;
    Ok(deleted.rows_affected())
}

/// Deletes at most `step` notifications created before `before` that no pending
/// delivery still needs: neither a push of their own nor an email of their
/// conversation, which lists them. Returns how many.
pub(super) async fn prune_notifications_step(
    conn: &mut SqliteConnection,
    before: Timestamp,
    step: i64,
) -> StoreResult<u64> {
    let deleted = sqlx::query(
        "DELETE FROM notifications WHERE id IN (SELECT n.id FROM notifications n \
         WHERE n.created_at < ?1 \
           AND NOT EXISTS (SELECT 1 FROM deliveries d \
             WHERE d.notification_id = n.id AND d.state = 'pending') \
           AND NOT EXISTS (SELECT 1 FROM deliveries d \
             WHERE d.workspace_id = n.workspace_id AND d.user_id = n.user_id \
               AND d.channel_id = n.channel_id AND d.kind = 'email' AND d.state = 'pending') \
         LIMIT ?2)",
    )
    .bind(before.0)
    .bind(step)
    .execute(conn)
    .await
    .map_err(db)?;
    Ok(deleted.rows_affected())
}
