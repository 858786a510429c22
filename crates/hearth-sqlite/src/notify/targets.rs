//! Where users receive pushes: Web Push subscriptions and webhooks, at most
//! [`MAX_PUSH_TARGETS`] per user, one row per (user, endpoint). A Web Push endpoint is
//! one browser, so it belongs to the user who registered it last in its workspace.

use hearth_core::Timestamp;
use hearth_core::id::{PushTargetId, UserId, WorkspaceId};
use hearth_core::notify::{NewPushTarget, PushKind, PushTarget};
use hearth_core::store::{MAX_PUSH_TARGETS, StoreError, StoreResult};
use sqlx::{FromRow, SqliteConnection};

use crate::accounts;
use crate::error::{corrupt, db};
use crate::rows::json_list;

macro_rules! target_columns {
    () => {
        "id, workspace_id, user_id, kind, endpoint, p256dh, auth, created_at"
    };
}

/// Why the deliveries of a deleted target were not sent.
const TARGET_DELETED: &str = "target_deleted";
/// Why the deliveries to a browser that another user signed in on were not sent.
const TARGET_REPLACED: &str = "target_replaced";

#[derive(FromRow)]
struct TargetRow {
    id: String,
    workspace_id: String,
    user_id: String,
    kind: String,
    endpoint: String,
    p256dh: Option<String>,
    auth: Option<String>,
    created_at: i64,
}

impl TargetRow {
    fn into_target(self) -> StoreResult<PushTarget> {
        Ok(PushTarget {
            kind: PushKind::parse(&self.kind).ok_or_else(|| corrupt("push kind", &self.kind))?,
            id: PushTargetId::from_trusted(self.id),
            workspace_id: WorkspaceId::from_trusted(self.workspace_id),
            user_id: UserId::from_trusted(self.user_id),
            endpoint: self.endpoint,
            p256dh: self.p256dh,
            auth: self.auth,
            created_at: Timestamp(self.created_at),
        })
    }
}

/// Registers `new`, or refreshes the user's target with the same endpoint (a browser
/// re-subscribing gets new keys, not a second target): that is always allowed, even at
/// the limit, so a full list can still renew its subscriptions. A browser's other users
/// in the workspace lose it (see [`take_browser`]).
pub(super) async fn add(
    conn: &mut SqliteConnection,
    ws: &WorkspaceId,
    user: &UserId,
    new: NewPushTarget,
    now: Timestamp,
) -> StoreResult<PushTarget> {
    if !accounts::is_account(conn, ws, user).await? {
        return Err(StoreError::NotFound);
    }
    let target = upsert(conn, ws, user, new).await?;
    if target.kind == PushKind::WebPush {
        take_browser(conn, ws, user, &target.endpoint, now).await?;
    }
    Ok(target)
}

async fn upsert(
    conn: &mut SqliteConnection,
    ws: &WorkspaceId,
    user: &UserId,
    new: NewPushTarget,
) -> StoreResult<PushTarget> {
    let existing: Option<TargetRow> = sqlx::query_as(concat!(
        "SELECT ",
        target_columns!(),
        " FROM push_targets WHERE workspace_id = ? AND user_id = ? AND endpoint = ?"
    ))
    .bind(ws.as_str())
    .bind(user.as_str())
    .bind(&new.endpoint)
    .fetch_optional(&mut *conn)
    .await
    .map_err(db)?;
    if let Some(existing) = existing {
        sqlx::query("UPDATE push_targets SET kind = ?, p256dh = ?, auth = ? WHERE id = ?")
            .bind(new.kind.as_str())
            .bind(new.p256dh.as_deref())
            .bind(new.auth.as_deref())
            .bind(&existing.id)
            .execute(&mut *conn)
            .await
            .map_err(db)?;
        let mut target = existing.into_target()?;
        (target.kind, target.p256dh, target.auth) = (new.kind, new.p256dh, new.auth);
        return Ok(target);
    }

    let count: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM push_targets WHERE workspace_id = ? AND user_id = ?",
    )
    .bind(ws.as_str())
    .bind(user.as_str())
    .fetch_one(&mut *conn)
    .await
    .map_err(db)?;
    if count >= i64::try_from(MAX_PUSH_TARGETS).unwrap_or(i64::MAX) {
        return Err(StoreError::Invalid("too_many_push_targets"));
    }
    sqlx::query(
        "INSERT INTO push_targets (id, workspace_id, user_id, kind, endpoint, p256dh, auth, \
         created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(new.id.as_str())
    .bind(ws.as_str())
    .bind(user.as_str())
    .bind(new.kind.as_str())
    .bind(&new.endpoint)
    .bind(new.p256dh.as_deref())
    .bind(new.auth.as_deref())
    .bind(new.created_at.0)
    .execute(conn)
    .await
    .map_err(db)?;
    Ok(PushTarget {
        id: new.id,
        workspace_id: ws.clone(),
        user_id: user.clone(),
        kind: new.kind,
        endpoint: new.endpoint,
        p256dh: new.p256dh,
        auth: new.auth,
        created_at: new.created_at,
    })
}

/// A Web Push endpoint is one browser, signed in as one user at a time: when `user`
/// registers it, the workspace's other users who registered it before (they used that
/// browser earlier) lose it, with their pending deliveries to it, so their notifications
/// stop showing on someone else's screen. Webhooks are not browsers: several users may
/// share one. Other workspaces are left alone (a browser may be signed in to several).
async fn take_browser(
    conn: &mut SqliteConnection,
    ws: &WorkspaceId,
    user: &UserId,
    endpoint: &str,
    now: Timestamp,
) -> StoreResult<()> {
    // `kind` is spelled out so the partial index push_targets_by_browser serves this.
    let replaced: Vec<String> = sqlx::query_scalar(
        "DELETE FROM push_targets \
         WHERE workspace_id = ? AND endpoint = ? AND kind = 'webpush' AND user_id != ? \
         RETURNING id",
    )
    .bind(ws.as_str())
    .bind(endpoint)
    .bind(user.as_str())
    .fetch_all(&mut *conn)
    .await
    .map_err(db)?;
    for id in &replaced {
        skip_pending(conn, ws, id, TARGET_REPLACED, now).await?;
    }
    Ok(())
}

pub(super) async fn of_user(
    conn: &mut SqliteConnection,
    ws: &WorkspaceId,
    user: &UserId,
) -> StoreResult<Vec<PushTarget>> {
    let rows: Vec<TargetRow> = sqlx::query_as(concat!(
        "SELECT ",
        target_columns!(),
        " FROM push_targets WHERE workspace_id = ? AND user_id = ? ORDER BY created_at, id"
    ))
    .bind(ws.as_str())
    .bind(user.as_str())
    .fetch_all(conn)
    .await
    .map_err(db)?;
    rows.into_iter().map(TargetRow::into_target).collect()
}

/// The targets with these ids (those that still exist), for deliveries being handed out.
pub(super) async fn by_ids(
    conn: &mut SqliteConnection,
    ids: &[&str],
) -> StoreResult<Vec<PushTarget>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let rows: Vec<TargetRow> = sqlx::query_as(concat!(
        "SELECT ",
        target_columns!(),
        " FROM push_targets WHERE id IN (SELECT value FROM json_each(?))"
    ))
    .bind(json_list(ids.iter().copied()))
    .fetch_all(conn)
    .await
    .map_err(db)?;
    rows.into_iter().map(TargetRow::into_target).collect()
}

pub(super) async fn delete(
    conn: &mut SqliteConnection,
    ws: &WorkspaceId,
    user: &UserId,
    id: &PushTargetId,
    now: Timestamp,
) -> StoreResult<bool> {
    let deleted =
        sqlx::query("DELETE FROM push_targets WHERE workspace_id = ? AND user_id = ? AND id = ?")
            .bind(ws.as_str())
            .bind(user.as_str())
            .bind(id.as_str())
            .execute(&mut *conn)
            .await
            .map_err(db)?;
    if deleted.rows_affected() == 0 {
        return Ok(false);
    }
    skip_pending(conn, ws, id.as_str(), TARGET_DELETED, now).await?;
    Ok(true)
}

/// Deletes a target the push service says is gone (its owner is whoever it belongs to).
pub(super) async fn forget(
    conn: &mut SqliteConnection,
    ws: &WorkspaceId,
    id: &str,
    now: Timestamp,
) -> StoreResult<()> {
    sqlx::query("DELETE FROM push_targets WHERE workspace_id = ? AND id = ?")
        .bind(ws.as_str())
        .bind(id)
        .execute(&mut *conn)
        .await
        .map_err(db)?;
    skip_pending(conn, ws, id, TARGET_DELETED, now).await
}

/// Skips a deleted target's pending deliveries, claimed ones included: the worker holding
/// one then finds its lease gone when it reports back, and sends nothing more.
async fn skip_pending(
    conn: &mut SqliteConnection,
    ws: &WorkspaceId,
    target: &str,
    reason: &str,
    now: Timestamp,
) -> StoreResult<()> {
    sqlx::query(
        "UPDATE deliveries SET state = 'skipped', last_error = ?, lease_owner = NULL, \
           lease_until = NULL, updated_at = ? \
         WHERE workspace_id = ? AND target_id = ? AND state = 'pending'",
    )
    .bind(reason)
    .bind(now.0)
    .bind(ws.as_str())
    .bind(target)
    .execute(conn)
    .await
    .map_err(db)?;
    Ok(())
}
