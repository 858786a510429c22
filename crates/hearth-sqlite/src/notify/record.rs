//! Recording what the worker decided for a batch, with the cursor's new position, in one
//! transaction and only under the worker's lease: the notifications (once per user and
//! message), a push delivery per target of each new one, and the email of its
//! conversation unless one is pending.
//!
//! A batch of a large channel costs a handful of statements whatever its size: the rows
//! travel as one JSON parameter per statement and are unpacked with `json_each`.

use std::collections::{HashMap, HashSet};

use hearth_core::Timestamp;
use hearth_core::id::{DeliveryId, UserId, WorkspaceId};
use hearth_core::notify::{Lease, NewNotification, NotifyCursor};
use hearth_core::store::StoreResult;
use serde_json::json;
use sqlx::SqliteConnection;

use crate::error::db;
use crate::rows::json_list;

/// Binds `?1` seq, `?2` member_after, `?3` release, `?4` lease now, `?5` lease until,
/// `?6` workspace, `?7` owner. Moves the cursor only under a live lease of the owner;
/// keeping the lease renews it to `until`, releasing leaves the release time behind (see
/// the module docs).
const MOVE_CURSOR: &str = "UPDATE notify_cursors SET seq = ?1, member_after = ?2, \
       lease_owner = CASE WHEN ?3 THEN NULL ELSE lease_owner END, \
       lease_until = CASE WHEN ?3 THEN ?4 ELSE MAX(lease_until, ?5) END \
     WHERE workspace_id = ?6 AND lease_owner = ?7 AND lease_until >= ?4";

/// Binds `?1` workspace, `?2` the notifications (JSON). Returns the ids of those stored
/// now: one already stored for the same user and message is kept as it is.
const INSERT_NOTIFICATIONS: &str = "INSERT INTO notifications (id, workspace_id, user_id, \
       channel_id, message_id, seq, reason, created_at) \
     SELECT json_extract(value, '$.id'), ?1, json_extract(value, '$.user_id'), \
       json_extract(value, '$.channel_id'), json_extract(value, '$.message_id'), \
       json_extract(value, '$.seq'), json_extract(value, '$.reason'), \
       json_extract(value, '$.created_at') \
     FROM json_each(?2) WHERE true \
     ON CONFLICT DO NOTHING RETURNING id";

/// Binds `?1` workspace, `?2` kind, `?3` now, `?4` the deliveries (JSON). Email
/// deliveries conflict with a pending one of the same conversation, which then stands
/// for them (the partial unique index `deliveries_one_pending_email`).
const INSERT_DELIVERIES: &str = "INSERT INTO deliveries (id, workspace_id, user_id, \
       channel_id, kind, notification_id, target_id, state, attempts, due_at, created_at, \
       updated_at) \
     SELECT json_extract(value, '$.id'), ?1, json_extract(value, '$.user_id'), \
       json_extract(value, '$.channel_id'), ?2, json_extract(value, '$.notification_id'), \
       json_extract(value, '$.target_id'), 'pending', 0, json_extract(value, '$.due_at'), \
       ?3, ?3 \
     FROM json_each(?4) WHERE true \
     ON CONFLICT DO NOTHING";

/// Everything the worker decided for a batch, in the job's one savepoint. The cursor
/// moves first, as the lease check: when the lease is lost nothing else is written.
pub(super) async fn record(
    conn: &mut SqliteConnection,
    lease: &Lease,
    cursor: &NotifyCursor,
    notifications: &[NewNotification],
    release: bool,
) -> StoreResult<bool> {
    let ws = &cursor.workspace_id;
    let moved = sqlx::query(MOVE_CURSOR)
        .bind(cursor.seq)
        .bind(cursor.member_after.as_ref().map(UserId::as_str))
        .bind(release)
        .bind(lease.now.0)
        .bind(lease.until.0)
        .bind(ws.as_str())
        .bind(&lease.owner)
        .execute(&mut *conn)
        .await
        .map_err(db)?;
    if moved.rows_affected() == 0 {
        return Ok(false);
    }
    if notifications.is_empty() {
        return Ok(true);
    }

    let rows: Vec<_> = notifications
        .iter()
        .map(|n| {
            json!({
                "id": n.id.as_str(),
                "user_id": n.user_id.as_str(),
                "channel_id": n.channel_id.as_str(),
                "message_id": n.message_id.as_str(),
                "seq": n.seq,
                "reason": n.reason.as_str(),
                "created_at": n.created_at.0,
            })
        })
        .collect();
    let stored: HashSet<String> = sqlx::query_scalar(INSERT_NOTIFICATIONS)
        .bind(ws.as_str())
        .bind(serde_json::Value::Array(rows).to_string())
        .fetch_all(&mut *conn)
        .await
        .map_err(db)?
        .into_iter()
        .collect();
    let new: Vec<&NewNotification> = notifications
        .iter()
        .filter(|n| stored.contains(n.id.as_str()))
        .collect();
    if new.is_empty() {
        return Ok(true);
    }

    let users: HashSet<&str> = new.iter().map(|n| n.user_id.as_str()).collect();
    let targets: Vec<(String, String)> = sqlx::query_as(
        "SELECT user_id, id FROM push_targets \
         WHERE workspace_id = ? AND user_id IN (SELECT value FROM json_each(?))",
    )
    .bind(ws.as_str())
    .bind(json_list(users))
    .fetch_all(&mut *conn)
    .await
    .map_err(db)?;
    let mut targets_of: HashMap<&str, Vec<&str>> = HashMap::new();
    for (user, target) in &targets {
        targets_of.entry(user).or_default().push(target);
    }
    let pushes: Vec<_> = new
        .iter()
        .flat_map(|n| {
            let targets = targets_of
                .get(n.user_id.as_str())
                .cloned()
                .unwrap_or_default();
            targets.into_iter().map(move |target| {
                json!({
                    "id": DeliveryId::generate().as_str(),
                    "user_id": n.user_id.as_str(),
                    "channel_id": n.channel_id.as_str(),
                    "notification_id": n.id.as_str(),
                    "target_id": target,
                    "due_at": lease.now.0,
                })
            })
        })
        .collect();
    insert_deliveries(conn, ws, "push", lease.now, pushes).await?;

    // The earliest due email of a conversation is the one that stands.
    let mut emails: Vec<(&NewNotification, Timestamp)> = new
        .iter()
        .filter_map(|n| n.email_at.map(|at| (*n, at)))
        .collect();
    emails.sort_by_key(|(_, at)| *at);
    let emails = emails
        .into_iter()
        .map(|(n, at)| {
            json!({
                "id": DeliveryId::generate().as_str(),
                "user_id": n.user_id.as_str(),
                "channel_id": n.channel_id.as_str(),
                "due_at": at.0,
            })
        })
        .collect();
    insert_deliveries(conn, ws, "email", lease.now, emails).await?;
    Ok(true)
}

async fn insert_deliveries(
    conn: &mut SqliteConnection,
    ws: &WorkspaceId,
    kind: &str,
    now: Timestamp,
    rows: Vec<serde_json::Value>,
) -> StoreResult<()> {
    if rows.is_empty() {
        return Ok(());
    }
    sqlx::query(INSERT_DELIVERIES)
        .bind(ws.as_str())
        .bind(kind)
        .bind(now.0)
        .bind(serde_json::Value::Array(rows).to_string())
        .execute(conn)
        .await
        .map_err(db)?;
    Ok(())
}
