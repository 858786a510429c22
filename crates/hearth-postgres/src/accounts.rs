//! Workspaces and the accounts in them: creation (with handle derivation), lookups,
//! profile and role changes.

use std::collections::HashSet;

use hearth_core::Timestamp;
use hearth_core::event::EventPayload;
use hearth_core::id::{UserId, WorkspaceId};
use hearth_core::model::{Committed, Credentials, Role, User, Workspace};
use hearth_core::store::{NewUser, NewWorkspace, StoreError, StoreResult, UserPatch};
use hearth_core::value::{Email, Handle, WorkspaceSlug};
use sqlx::{FromRow, PgConnection};

use crate::error::db;
use crate::log;
use crate::rows::{UserRow, WorkspaceRow, user_columns};

pub(crate) async fn create_workspace(
    conn: &mut PgConnection,
    new: NewWorkspace,
    owner: NewUser,
    now: Timestamp,
) -> StoreResult<(Workspace, Committed<User>)> {
    let workspace = Workspace {
        id: WorkspaceId::generate(),
        name: new.name,
        slug: new.slug,
        created_at: now,
    };
    sqlx::query("INSERT INTO workspaces (id, name, slug, created_at) VALUES ($1, $2, $3, $4)")
        .bind(workspace.id.as_str())
        .bind(workspace.name.as_str())
        .bind(workspace.slug.as_str())
        .bind(now.0)
        .execute(&mut *conn)
        .await
        .map_err(db)?;
    // The notification worker's cursor starts at the beginning of the new log.
    sqlx::query("INSERT INTO notify_cursors (workspace_id, seq) VALUES ($1, 0)")
        .bind(workspace.id.as_str())
        .execute(&mut *conn)
        .await
        .map_err(db)?;
    // No one can write to the workspace before this commits, so it needs no lock.
    let mut seqs = log::Seqs::new_workspace();
    let owner = create_user(conn, &mut seqs, &workspace.id, owner, now).await?;
    seqs.save(conn, &workspace.id).await?;
    Ok((workspace, owner))
}

pub(crate) async fn workspace(
    conn: &mut PgConnection,
    id: &WorkspaceId,
) -> StoreResult<Option<Workspace>> {
    let row: Option<WorkspaceRow> =
        sqlx::query_as("SELECT id, name, slug, created_at FROM workspaces WHERE id = $1")
            .bind(id.as_str())
            .fetch_optional(conn)
            .await
            .map_err(db)?;
    Ok(row.map(WorkspaceRow::into_workspace))
}

pub(crate) async fn workspace_by_slug(
    conn: &mut PgConnection,
    slug: &WorkspaceSlug,
) -> StoreResult<Option<Workspace>> {
    let row: Option<WorkspaceRow> =
        sqlx::query_as("SELECT id, name, slug, created_at FROM workspaces WHERE slug = $1")
            .bind(slug.as_str())
            .fetch_optional(conn)
            .await
            .map_err(db)?;
    Ok(row.map(WorkspaceRow::into_workspace))
}

/// Creates an account and appends `user.created`. Shared by workspace creation and
/// invite redemption.
pub(crate) async fn create_user(
    conn: &mut PgConnection,
    seqs: &mut log::Seqs,
    ws: &WorkspaceId,
    new: NewUser,
    now: Timestamp,
) -> StoreResult<Committed<User>> {
    let email_taken: Option<i32> =
        sqlx::query_scalar("SELECT 1 FROM users WHERE workspace_id = $1 AND email = $2")
            .bind(ws.as_str())
            .bind(new.email.as_str())
            .fetch_optional(&mut *conn)
            .await
            .map_err(db)?;
    if email_taken.is_some() {
        return Err(StoreError::Conflict("email_taken"));
    }
    let handle = match new.handle {
        Some(handle) => {
            if handle_owner(conn, ws, &handle).await?.is_some() {
                return Err(StoreError::Conflict("handle_taken"));
            }
            handle
        }
        None => free_handle(conn, ws, &new.email).await?,
    };
    let user = User {
        id: UserId::generate(),
        workspace_id: ws.clone(),
        email: new.email,
        handle,
        display_name: new.display_name,
        role: new.role,
        status_text: hearth_core::value::StatusText::from_trusted(String::new()),
        status_emoji: None,
        deactivated: false,
        created_at: now,
    };
    sqlx::query(
        "INSERT INTO users (id, workspace_id, email, handle, display_name, role, \
         password_hash, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(user.id.as_str())
    .bind(ws.as_str())
    .bind(user.email.as_str())
    .bind(user.handle.as_str())
    .bind(user.display_name.as_str())
    .bind(user.role.as_str())
    .bind(&new.password_hash)
    .bind(now.0)
    .execute(&mut *conn)
    .await
    .map_err(db)?;
    let event = log::append(
        conn,
        seqs,
        ws,
        now,
        EventPayload::UserCreated { user: user.clone() },
    )
    .await?;
    Ok(Committed {
        value: user,
        events: vec![event],
    })
}

async fn handle_owner(
    conn: &mut PgConnection,
    ws: &WorkspaceId,
    handle: &Handle,
) -> StoreResult<Option<String>> {
    sqlx::query_scalar("SELECT id FROM users WHERE workspace_id = $1 AND handle = $2")
        .bind(ws.as_str())
        .bind(handle.as_str())
        .fetch_optional(conn)
        .await
        .map_err(db)
}

/// The handle derived from the email, with the smallest suffix (2, 3, …) that is free.
/// One query fetches every handle that could collide: the base, and the base followed by
/// a digit (compared as text rather than with `LIKE`, where `_` would be a wildcard).
async fn free_handle(
    conn: &mut PgConnection,
    ws: &WorkspaceId,
    email: &Email,
) -> StoreResult<Handle> {
    let base = Handle::from_email_local_part(email.local_part());
    let taken: HashSet<String> = sqlx::query_scalar(
        "SELECT handle FROM users WHERE workspace_id = $1 AND (handle = $2 OR ( \
             starts_with(handle, $2) \
             AND substr(handle, char_length($2) + 1, 1) BETWEEN '0' AND '9'))",
    )
    .bind(ws.as_str())
    .bind(base.as_str())
    .fetch_all(conn)
    .await
    .map_err(db)?
    .into_iter()
    .collect();
    if !taken.contains(base.as_str()) {
        return Ok(base);
    }
    // At most `taken.len()` suffixes can be taken, so one of the first len + 1 is free.
    (2u32..)
        .map(|n| base.with_suffix(n))
        .find(|h| !taken.contains(h.as_str()))
        .ok_or_else(|| StoreError::Internal("no free handle".to_owned()))
}

pub(crate) async fn user(
    conn: &mut PgConnection,
    ws: &WorkspaceId,
    id: &UserId,
) -> StoreResult<Option<User>> {
    let row: Option<UserRow> = sqlx::query_as(concat!(
        "SELECT ",
        user_columns!(),
        " FROM users u WHERE u.workspace_id = $1 AND u.id = $2"
    ))
    .bind(ws.as_str())
    .bind(id.as_str())
    .fetch_optional(conn)
    .await
    .map_err(db)?;
    row.map(UserRow::into_user).transpose()
}

/// The account with this handle, deactivated or not (a search's `from:@handle`).
pub(crate) async fn user_by_handle(
    conn: &mut PgConnection,
    ws: &WorkspaceId,
    handle: &Handle,
) -> StoreResult<Option<User>> {
    let row: Option<UserRow> = sqlx::query_as(concat!(
        "SELECT ",
        user_columns!(),
        " FROM users u WHERE u.workspace_id = $1 AND u.handle = $2"
    ))
    .bind(ws.as_str())
    .bind(handle.as_str())
    .fetch_optional(conn)
    .await
    .map_err(db)?;
    row.map(UserRow::into_user).transpose()
}

#[derive(FromRow)]
struct CredentialsRow {
    #[sqlx(flatten)]
    user: UserRow,
    password_hash: String,
}

pub(crate) async fn credentials(
    conn: &mut PgConnection,
    ws: &WorkspaceId,
    email: &Email,
) -> StoreResult<Option<Credentials>> {
    let row: Option<CredentialsRow> = sqlx::query_as(concat!(
        "SELECT ",
        user_columns!(),
        ", u.password_hash FROM users u WHERE u.workspace_id = $1 AND u.email = $2"
    ))
    .bind(ws.as_str())
    .bind(email.as_str())
    .fetch_optional(conn)
    .await
    .map_err(db)?;
    row.map(|r| {
        Ok(Credentials {
            user: r.user.into_user()?,
            password_hash: r.password_hash,
        })
    })
    .transpose()
}

pub(crate) async fn list_users(
    conn: &mut PgConnection,
    ws: &WorkspaceId,
    after: Option<&UserId>,
    limit: u32,
) -> StoreResult<Vec<User>> {
    let rows: Vec<UserRow> = sqlx::query_as(concat!(
        "SELECT ",
        user_columns!(),
        " FROM users u WHERE u.workspace_id = $1 AND u.id > $2 ORDER BY u.id LIMIT $3"
    ))
    .bind(ws.as_str())
    .bind(after.map_or("", UserId::as_str))
    .bind(i64::from(limit))
    .fetch_all(conn)
    .await
    .map_err(db)?;
    rows.into_iter().map(UserRow::into_user).collect()
}

pub(crate) async fn update_user(
    conn: &mut PgConnection,
    seqs: &mut log::Seqs,
    ws: &WorkspaceId,
    id: &UserId,
    patch: UserPatch,
    now: Timestamp,
) -> StoreResult<Committed<User>> {
    let old = user(conn, ws, id).await?.ok_or(StoreError::NotFound)?;
    let mut new = old.clone();
    if let Some(v) = patch.display_name {
        new.display_name = v;
    }
    if let Some(v) = patch.handle {
        new.handle = v;
    }
    if let Some(v) = patch.status_text {
        new.status_text = v;
    }
    if let Some(v) = patch.status_emoji {
        new.status_emoji = v;
    }
    if let Some(v) = patch.role {
        new.role = v;
    }
    if let Some(v) = patch.deactivated {
        new.deactivated = v;
    }
    if new == old {
        return Ok(Committed::unchanged(new));
    }

    if new.handle != old.handle
        && handle_owner(conn, ws, &new.handle)
            .await?
            .is_some_and(|owner| owner != id.as_str())
    {
        return Err(StoreError::Conflict("handle_taken"));
    }
    let was_active_owner = old.role == Role::Owner && !old.deactivated;
    let is_active_owner = new.role == Role::Owner && !new.deactivated;
    if was_active_owner && !is_active_owner {
        let others: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM users \
             WHERE workspace_id = $1 AND role = 'owner' AND NOT deactivated AND id != $2",
        )
        .bind(ws.as_str())
        .bind(id.as_str())
        .fetch_one(&mut *conn)
        .await
        .map_err(db)?;
        if others == 0 {
            return Err(StoreError::Invalid("last_owner"));
        }
    }

    sqlx::query(
        "UPDATE users SET display_name = $1, handle = $2, status_text = $3, status_emoji = $4, \
         role = $5, deactivated = $6 WHERE workspace_id = $7 AND id = $8",
    )
    .bind(new.display_name.as_str())
    .bind(new.handle.as_str())
    .bind(new.status_text.as_str())
    .bind(new.status_emoji.as_ref().map(|e| e.as_str()))
    .bind(new.role.as_str())
    .bind(new.deactivated)
    .bind(ws.as_str())
    .bind(id.as_str())
    .execute(&mut *conn)
    .await
    .map_err(db)?;
    if new.deactivated && !old.deactivated {
        // Signing out everywhere is part of deactivating, not a later clean-up: no
        // request may authenticate as the account once this commits.
        sqlx::query("DELETE FROM sessions WHERE workspace_id = $1 AND user_id = $2")
            .bind(ws.as_str())
            .bind(id.as_str())
            .execute(&mut *conn)
            .await
            .map_err(db)?;
    }
    let event = log::append(
        conn,
        seqs,
        ws,
        now,
        EventPayload::UserUpdated { user: new.clone() },
    )
    .await?;
    Ok(Committed {
        value: new,
        events: vec![event],
    })
}

/// Whether `id` is an account of `ws`, deactivated or not.
pub(crate) async fn is_account(
    conn: &mut PgConnection,
    ws: &WorkspaceId,
    id: &UserId,
) -> StoreResult<bool> {
    let found: Option<i32> =
        sqlx::query_scalar("SELECT 1 FROM users WHERE workspace_id = $1 AND id = $2")
            .bind(ws.as_str())
            .bind(id.as_str())
            .fetch_optional(conn)
            .await
            .map_err(db)?;
    Ok(found.is_some())
}

/// Whether `id` is an account of `ws` that is not deactivated.
pub(crate) async fn is_active(
    conn: &mut PgConnection,
    ws: &WorkspaceId,
    id: &UserId,
) -> StoreResult<bool> {
    let found: Option<i32> = sqlx::query_scalar(
        "SELECT 1 FROM users WHERE workspace_id = $1 AND id = $2 AND NOT deactivated",
    )
    .bind(ws.as_str())
    .bind(id.as_str())
    .fetch_optional(conn)
    .await
    .map_err(db)?;
    Ok(found.is_some())
}
