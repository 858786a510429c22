//! Deliveries: claiming the due ones under a lease, recording how each attempt ended,
//! what an email lists, the dead letters, and pruning what is finished.
//!
//! Claims work as the cursors' do (`FOR UPDATE SKIP LOCKED`, then a lease): any number of
//! workers on any number of nodes take disjoint sets, and a worker that dies lets its
//! claims lapse. A claimed delivery stays `pending`; only its lease says it is taken.
//!
//! So a claimed email still stands for its conversation while it is being sent, and a
//! notification recorded meanwhile gets no email of its own. Sending that email starts
//! the next one when something it did not list is still unread (`rearm_email`).

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use hearth_core::Timestamp;
use hearth_core::id::{ChannelId, DeliveryId, PushTargetId, UserId, WorkspaceId};
use hearth_core::notify::{Delivery, DeliveryKind, DeliveryOutcome, Lease, Notification};
use hearth_core::store::StoreResult;
use sqlx::{FromRow, PgConnection};

use super::rows::{
    DeliveryRow, NotificationRow, delivery_columns, delivery_joins, notification_columns,
};
use super::targets;
use crate::error::db;

/// Binds `$1` owner, `$2` now, `$3` until, `$4` limit. Oldest due first; the claimed rows
/// come back with their notifications and targets in the same statement.
const CLAIM: &str = concat!(
    "WITH d AS ( \
       UPDATE deliveries SET lease_owner = $1, lease_until = $3, attempts = attempts + 1, \
         updated_at = $2 \
       WHERE id IN ( \
         SELECT id FROM deliveries \
         WHERE state = 'pending' AND due_at <= $2 \
           AND (lease_owner IS NULL OR lease_until < $2) \
         ORDER BY due_at, id LIMIT $4 FOR UPDATE SKIP LOCKED) \
       RETURNING * \
     ) SELECT ",
    delivery_columns!(),
    " FROM d",
    delivery_joins!(),
    " ORDER BY d.due_at, d.id"
);

pub(crate) async fn claim(
    conn: &mut PgConnection,
    lease: &Lease,
    limit: u32,
) -> StoreResult<Vec<Delivery>> {
    let rows: Vec<DeliveryRow> = sqlx::query_as(CLAIM)
        .bind(&lease.owner)
        .bind(lease.now.0)
        .bind(lease.until.0)
        .bind(i64::from(limit))
        .fetch_all(conn)
        .await
        .map_err(db)?;
    rows.into_iter().map(DeliveryRow::into_delivery).collect()
}

/// A delivery `finish` settled, as it is now.
#[derive(FromRow)]
struct Finished {
    id: String,
    workspace_id: String,
    user_id: String,
    channel_id: String,
    kind: String,
    target_id: Option<String>,
    /// How long after it was created it was due: the conversation's email delay (a sent
    /// email keeps its `due_at`).
    delay: i64,
}

/// Binds `$1` owner, `$2` now, and the outcomes as parallel arrays: `$3` ids, `$4`
/// states, `$5` errors, `$6` due_at, `$7` through_seq (NULLs keep the column as it is).
/// Only the holder of a running lease on a delivery still pending may settle it (a
/// deleted target skips its deliveries, leased or not); every outcome ends the lease and
/// `updated_at` is the lease's now.
const SETTLE: &str = "UPDATE deliveries d SET state = o.state, \
       last_error = COALESCE(o.error, d.last_error), due_at = COALESCE(o.due_at, d.due_at), \
       through_seq = COALESCE(o.through_seq, d.through_seq), \
       lease_owner = NULL, lease_until = NULL, updated_at = $2 \
     FROM unnest($3::text[], $4::text[], $5::text[], $6::int8[], $7::int8[]) \
       AS o(id, state, error, due_at, through_seq) \
     WHERE d.id = o.id AND d.state = 'pending' AND d.lease_owner = $1 AND d.lease_until >= $2 \
     RETURNING d.id, d.workspace_id, d.user_id, d.channel_id, d.kind, d.target_id, \
       d.due_at - d.created_at AS delay";

/// The outcomes as `SETTLE` binds them, each id's first only.
#[derive(Default)]
struct Settle<'a> {
    ids: Vec<&'a str>,
    states: Vec<&'static str>,
    errors: Vec<Option<&'a str>>,
    due_ats: Vec<Option<i64>>,
    through_seqs: Vec<Option<i64>>,
}

impl<'a> Settle<'a> {
    fn push(&mut self, id: &'a DeliveryId, outcome: &'a DeliveryOutcome) {
        let (state, error, due_at, through_seq) = match outcome {
            DeliveryOutcome::Sent { through_seq } => ("sent", None, None, *through_seq),
            DeliveryOutcome::Skipped { reason } => ("skipped", Some(reason.as_str()), None, None),
            DeliveryOutcome::Retry { at, error } => {
                ("pending", Some(error.as_str()), Some(at.0), None)
            }
            DeliveryOutcome::Dead { error } => ("dead", Some(error.as_str()), None, None),
            DeliveryOutcome::TargetGone { error } => ("skipped", Some(error.as_str()), None, None),
        };
        self.ids.push(id.as_str());
        self.states.push(state);
        self.errors.push(error);
        self.due_ats.push(due_at);
        self.through_seqs.push(through_seq);
    }
}

/// Records each outcome if `lease` still holds its delivery (and it is still pending);
/// says which were. One statement settles them all, then each settled one's outcome does
/// what it entails: a sent email starts the next when something it did not list is
/// unread, a target gone is deleted and its other pending deliveries skipped. So every
/// outcome is settled before any target is forgotten, as if recorded one after another
/// in that order. An id listed again after its first outcome is not recorded. Runs in a
/// write transaction.
pub(crate) async fn finish(
    conn: &mut PgConnection,
    lease: &Lease,
    finished: &[(DeliveryId, DeliveryOutcome)],
) -> StoreResult<Vec<bool>> {
    // Each id's first outcome, by its index in `finished`.
    let mut first: HashMap<&str, usize> = HashMap::new();
    let mut settle = Settle::default();
    for (i, (id, outcome)) in finished.iter().enumerate() {
        if let Entry::Vacant(slot) = first.entry(id.as_str()) {
            slot.insert(i);
            settle.push(id, outcome);
        }
    }
    // Only a sent email can start the next one (see `rearm_email`); pushes never wait.
    let may_rearm: Vec<&str> = settle
        .ids
        .iter()
        .zip(&settle.through_seqs)
        .zip(&settle.states)
        .filter(|((_, seq), state)| seq.is_some() && **state == "sent")
        .map(|((id, _), _)| *id)
        .collect();
    if !may_rearm.is_empty() {
        hold_out_recording(conn, &may_rearm).await?;
    }
    let settled: Vec<Finished> = sqlx::query_as(SETTLE)
        .bind(&lease.owner)
        .bind(lease.now.0)
        .bind(&settle.ids)
        .bind(&settle.states)
        .bind(&settle.errors)
        .bind(&settle.due_ats)
        .bind(&settle.through_seqs)
        .fetch_all(&mut *conn)
        .await
        .map_err(db)?;
    let mut recorded = vec![false; finished.len()];
    for done in settled {
        let Some(&i) = first.get(done.id.as_str()) else {
            continue;
        };
        recorded[i] = true;
        match &finished[i].1 {
            DeliveryOutcome::Sent {
                through_seq: Some(_),
            } if done.kind == DeliveryKind::Email.as_str() => {
                rearm_email(conn, &done, lease.now).await?;
            }
            DeliveryOutcome::TargetGone { .. } => {
                if let Some(target) = &done.target_id {
                    let (ws, target) = (
                        WorkspaceId::from_trusted(done.workspace_id.clone()),
                        PushTargetId::from_trusted(target.clone()),
                    );
                    sqlx::query("DELETE FROM push_targets WHERE workspace_id = $1 AND id = $2")
                        .bind(ws.as_str())
                        .bind(target.as_str())
                        .execute(&mut *conn)
                        .await
                        .map_err(db)?;
                    targets::skip_pending(conn, &ws, &target, "target_gone", lease.now).await?;
                }
            }
            _ => {}
        }
    }
    Ok(recorded)
}

/// The notifications `n` unread in the conversation of `$1` workspace, `$2` user and
/// `$3` channel: newer than both the read marker and what a sent email listed. What an
/// email lists, and whether sending one leaves anything for the next. Only a member has
/// unread notifications: someone removed from the channel is emailed nothing of it.
macro_rules! unread_in_conversation {
    () => {
        " FROM notifications n \
         JOIN memberships mb ON mb.workspace_id = n.workspace_id \
           AND mb.channel_id = n.channel_id AND mb.user_id = n.user_id \
         WHERE n.workspace_id = $1 AND n.user_id = $2 AND n.channel_id = $3 \
           AND n.seq > mb.last_read_seq \
           AND n.seq > COALESCE((SELECT MAX(d.through_seq) FROM deliveries d \
             WHERE d.workspace_id = $1 AND d.user_id = $2 AND d.channel_id = $3 \
               AND d.kind = 'email' AND d.state = 'sent'), 0)"
    };
}

/// Waits for a batch of notifications being recorded in the deliveries' workspaces to
/// commit, and keeps the next from starting until this transaction ends, so
/// `rearm_email` sees every notification whose own email the sent one stood in for.
/// Without it, a batch that found this email pending and committed just after
/// `rearm_email` read would leave its notification without any email. Recording holds
/// the cursor row `FOR UPDATE` from its start; this takes it `FOR SHARE`, before
/// touching the delivery, so the two never wait on each other in a cycle. Does nothing
/// for a push.
async fn hold_out_recording(conn: &mut PgConnection, ids: &[&str]) -> StoreResult<()> {
    sqlx::query(
        "SELECT 1 FROM notify_cursors c JOIN deliveries d ON d.workspace_id = c.workspace_id \
         WHERE d.id = ANY($1) AND d.kind = 'email' FOR SHARE OF c",
    )
    .bind(ids)
    .execute(conn)
    .await
    .map_err(db)?;
    Ok(())
}

/// Binds `$1` workspace, `$2` user, `$3` channel, `$4` the new id, `$5` due_at, `$6` now.
/// The conflict is another pending email of the conversation, which then stands for it.
const REARM_EMAIL: &str = concat!(
    "INSERT INTO deliveries (id, workspace_id, user_id, channel_id, kind, state, attempts, \
       due_at, created_at, updated_at) \
     SELECT $4, $1, $2, $3, 'email', 'pending', 0, $5, $6, $6 \
     WHERE EXISTS (SELECT 1",
    unread_in_conversation!(),
    ") ON CONFLICT DO NOTHING"
);

/// After an email of `sent`'s conversation went out: if the conversation still has
/// unread notifications (recorded while it was being sent, after what it listed), a new
/// email for them, as far off as the one just sent was. The sent one's `through_seq` is
/// already written, so "unread" means newer than what it listed.
async fn rearm_email(conn: &mut PgConnection, sent: &Finished, now: Timestamp) -> StoreResult<()> {
    sqlx::query(REARM_EMAIL)
        .bind(&sent.workspace_id)
        .bind(&sent.user_id)
        .bind(&sent.channel_id)
        .bind(DeliveryId::generate().as_str())
        .bind(now.0.saturating_add(sent.delay.max(0)))
        .bind(now.0)
        .execute(conn)
        .await
        .map_err(db)?;
    Ok(())
}

/// Binds `$4` limit, and `$1`..`$3` as in `unread_in_conversation!`.
const UNREAD: &str = concat!(
    "SELECT ",
    notification_columns!(),
    unread_in_conversation!(),
    " ORDER BY n.seq LIMIT $4"
);

pub(crate) async fn unread(
    conn: &mut PgConnection,
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

/// Binds `$1` workspace, `$2` the id to list before (NULL for the newest), `$3` limit.
const DEAD: &str = concat!(
    "SELECT ",
    delivery_columns!(),
    " FROM deliveries d",
    delivery_joins!(),
    " WHERE d.workspace_id = $1 AND d.state = 'dead' AND ($2::text IS NULL OR d.id < $2) \
     ORDER BY d.id DESC LIMIT $3"
);

pub(crate) async fn dead_letters(
    conn: &mut PgConnection,
    ws: &WorkspaceId,
    before: Option<&DeliveryId>,
    limit: u32,
) -> StoreResult<Vec<Delivery>> {
    let rows: Vec<DeliveryRow> = sqlx::query_as(DEAD)
        .bind(ws.as_str())
        .bind(before.map(DeliveryId::as_str))
        .bind(i64::from(limit))
        .fetch_all(conn)
        .await
        .map_err(db)?;
    rows.into_iter().map(DeliveryRow::into_delivery).collect()
}

/// Deletes at most `step` finished deliveries created before `before`, in every
/// workspace; returns how many went.
pub(crate) async fn prune_deliveries_step(
    conn: &mut PgConnection,
    before: Timestamp,
    step: i64,
) -> StoreResult<u64> {
    let deleted = sqlx::query(
        "DELETE FROM deliveries WHERE id IN ( \
           SELECT id FROM deliveries WHERE state <> 'pending' AND created_at < $1 \
           LIMIT $2 FOR UPDATE SKIP LOCKED)",
    )
    .bind(before.0)
    .bind(step)
    .execute(conn)
    .await
    .map_err(db)?
    .rows_affected();
    Ok(deleted)
}

/// Deletes at most `step` notifications created before `before` that no pending delivery
/// still needs (a push of it, or the pending email of its conversation, which lists it),
/// in every workspace; returns how many went.
pub(crate) async fn prune_notifications_step(
    conn: &mut PgConnection,
    before: Timestamp,
    step: i64,
) -> StoreResult<u64> {
    let deleted = sqlx::query(
        "DELETE FROM notifications WHERE id IN ( \
           SELECT n.id FROM notifications n WHERE n.created_at < $1 \
             AND NOT EXISTS (SELECT 1 FROM deliveries d \
               WHERE d.notification_id = n.id AND d.workspace_id = n.workspace_id \
                 AND d.state = 'pending') \
             AND NOT EXISTS (SELECT 1 FROM deliveries e \
               WHERE e.workspace_id = n.workspace_id AND e.user_id = n.user_id \
                 AND e.channel_id = n.channel_id AND e.kind = 'email' \
                 AND e.state = 'pending') \
           LIMIT $2 FOR UPDATE SKIP LOCKED)",
    )
    .bind(before.0)
    .bind(step)
    .execute(conn)
    .await
    .map_err(db)?
    .rows_affected();
    Ok(deleted)
}
