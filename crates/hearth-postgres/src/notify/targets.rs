//! Push targets: the browsers (Web Push subscriptions) and webhooks each user registered,
//! at most [`MAX_PUSH_TARGETS`] per user, and what deleting one does to its deliveries. A
//! browser belongs to the user who registered it last in its workspace.

use hearth_core::Timestamp;
use hearth_core::id::{PushTargetId, UserId, WorkspaceId};
use hearth_core::notify::{NewPushTarget, PushKind, PushTarget};
use hearth_core::store::{MAX_PUSH_TARGETS, StoreError, StoreResult};
use sqlx::PgConnection;

use super::rows::{PushTargetRow, push_target_columns};
use crate::accounts;
use crate::error::db;

/// Registers `new`, or takes its kind and keys into the user's target with the same
/// endpoint (which keeps its id and age). A browser's other users in the workspace lose
/// it (see [`take_browser`]). Runs in a write transaction.
pub(crate) async fn add(
    conn: &mut PgConnection,
    ws: &WorkspaceId,
    user: &UserId,
    new: NewPushTarget,
    now: Timestamp,
) -> StoreResult<PushTarget> {
    if !accounts::is_account(&mut *conn, ws, user).await? {
        return Err(StoreError::NotFound);
    }
    // Registrations of one user count one after another: each locks the user's targets,
    // so the next one's count (a new statement, so a new snapshot) sees the target this
    // one adds. A user with no target yet locks nothing, but is far from the limit. The
    // lock is on these rows only, never on anything a sender's write takes. Taking a
    // browser over later locks its previous user's row too; two users who both had it
    // re-registering at the same instant could deadlock (PostgreSQL then fails one), but
    // one browser is one user at a time and sends one registration.
    sqlx::query("SELECT 1 FROM push_targets WHERE workspace_id = $1 AND user_id = $2 FOR UPDATE")
        .bind(ws.as_str())
        .bind(user.as_str())
        .execute(&mut *conn)
        .await
        .map_err(db)?;
    let (count, known): (i64, bool) = sqlx::query_as(
        "SELECT COUNT(*), COALESCE(bool_or(endpoint = $3), FALSE) FROM push_targets \
         WHERE workspace_id = $1 AND user_id = $2",
    )
    .bind(ws.as_str())
    .bind(user.as_str())
    .bind(&new.endpoint)
    .fetch_one(&mut *conn)
    .await
    .map_err(db)?;
    if !known && count >= MAX_PUSH_TARGETS as i64 {
        return Err(StoreError::Invalid("too_many_push_targets"));
    }

    let row: PushTargetRow = sqlx::query_as(concat!(
        "INSERT INTO push_targets AS t (id, workspace_id, user_id, kind, endpoint, p256dh, \
           auth, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
         ON CONFLICT (workspace_id, user_id, endpoint) DO UPDATE SET kind = EXCLUDED.kind, \
           p256dh = EXCLUDED.p256dh, auth = EXCLUDED.auth \
         RETURNING ",
        push_target_columns!()
    ))
    .bind(new.id.as_str())
    .bind(ws.as_str())
    .bind(user.as_str())
    .bind(new.kind.as_str())
    .bind(&new.endpoint)
    .bind(&new.p256dh)
    .bind(&new.auth)
    .bind(new.created_at.0)
    .fetch_one(&mut *conn)
    .await
    .map_err(db)?;
    let target = row.into_target()?;
    if target.kind == PushKind::WebPush {
        take_browser(conn, ws, user, &target.endpoint, now).await?;
    }
    Ok(target)
}

/// A Web Push endpoint is one browser, signed in as one user at a time: when `user`
/// registers it, the workspace's other users who registered it before (they used that
/// browser earlier) lose it, with their pending deliveries to it, so their notifications
/// stop showing on someone else's screen. Webhooks are not browsers: several users may
/// share one. Other workspaces are left alone (a browser may be signed in to several).
async fn take_browser(
    conn: &mut PgConnection,
    ws: &WorkspaceId,
    user: &UserId,
    endpoint: &str,
    now: Timestamp,
) -> StoreResult<()> {
    // `kind` is spelled out so the partial index push_targets_by_browser serves this.
    let replaced: Vec<String> = sqlx::query_scalar(
        "DELETE FROM push_targets \
         WHERE workspace_id = $1 AND endpoint = $2 AND kind = 'webpush' AND user_id <> $3 \
         RETURNING id",
    )
    .bind(ws.as_str())
    .bind(endpoint)
    .bind(user.as_str())
    .fetch_all(&mut *conn)
    .await
    .map_err(db)?;
    for id in replaced {
        let id = PushTargetId::from_trusted(id);
        skip_pending(conn, ws, &id, "target_replaced", now).await?;
    }
    Ok(())
}

pub(crate) async fn list(
    conn: &mut PgConnection,
    ws: &WorkspaceId,
    user: &UserId,
) -> StoreResult<Vec<PushTarget>> {
    let rows: Vec<PushTargetRow> = sqlx::query_as(concat!(
        "SELECT ",
        push_target_columns!(),
        " FROM push_targets t WHERE t.workspace_id = $1 AND t.user_id = $2 \
         ORDER BY t.created_at, t.id"
    ))
    .bind(ws.as_str())
    .bind(user.as_str())
    .fetch_all(conn)
    .await
    .map_err(db)?;
    rows.into_iter().map(PushTargetRow::into_target).collect()
}

/// Deletes the user's target and skips its pending deliveries; false when the user has
/// no such target. Runs in a write transaction.
pub(crate) async fn delete(
    conn: &mut PgConnection,
    ws: &WorkspaceId,
    user: &UserId,
    id: &PushTargetId,
    now: Timestamp,
) -> StoreResult<bool> {
    let deleted = sqlx::query(
        "DELETE FROM push_targets WHERE workspace_id = $1 AND user_id = $2 AND id = $3",
    )
    .bind(ws.as_str())
    .bind(user.as_str())
    .bind(id.as_str())
    .execute(&mut *conn)
    .await
    .map_err(db)?
    .rows_affected();
    if deleted == 0 {
        return Ok(false);
    }
    skip_pending(conn, ws, id, "target_deleted", now).await?;
    Ok(true)
}

/// Skips every pending delivery to a target that is gone, leased ones included: the
/// worker holding one then finds it no longer pending and records nothing.
pub(crate) async fn skip_pending(
    conn: &mut PgConnection,
    ws: &WorkspaceId,
    target: &PushTargetId,
    reason: &str,
    now: Timestamp,
) -> StoreResult<()> {
    sqlx::query(
        "UPDATE deliveries SET state = 'skipped', last_error = $3, lease_owner = NULL, \
           lease_until = NULL, updated_at = $4 \
         WHERE workspace_id = $1 AND target_id = $2 AND state = 'pending'",
    )
    .bind(ws.as_str())
    .bind(target.as_str())
    .bind(reason)
    .bind(now.0)
    .execute(conn)
    .await
    .map_err(db)?;
    Ok(())
}
