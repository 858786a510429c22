//! Who gets in: sessions (looked up by the SHA-256 of their token) and invites.

use hearth_core::Timestamp;
use hearth_core::id::{InviteId, WorkspaceId};
use hearth_core::model::{Committed, Invite, Session, User};
use hearth_core::secret::SecretHash;
use hearth_core::store::{NewInvite, NewSession, NewUser, StoreError, StoreResult};
use sqlx::{FromRow, PgConnection};

use crate::accounts;
use crate::error::db;
use crate::rows::{InviteRow, UserRow, user_columns};

/// Stores a session for an account of the session's workspace; an account of another
/// workspace is `NotFound`, so a session can never cross tenants.
pub(crate) async fn create_session(
    conn: &mut PgConnection,
    session: NewSession,
    now: Timestamp,
) -> StoreResult<()> {
    let inserted = sqlx::query(
        "INSERT INTO sessions (token_hash, workspace_id, user_id, expires_at, created_at) \
         SELECT $1, workspace_id, id, $2, $3 FROM users WHERE workspace_id = $4 AND id = $5",
    )
    .bind(session.token.as_str())
    .bind(session.expires_at.0)
    .bind(now.0)
    .bind(session.workspace_id.as_str())
    .bind(session.user_id.as_str())
    .execute(conn)
    .await
    .map_err(db)?;
    if inserted.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

#[derive(FromRow)]
struct SessionRow {
    #[sqlx(flatten)]
    user: UserRow,
    expires_at: i64,
}

pub(crate) async fn session(
    conn: &mut PgConnection,
    token: &SecretHash,
    now: Timestamp,
) -> StoreResult<Option<Session>> {
    let row: Option<SessionRow> = sqlx::query_as(concat!(
        "SELECT ",
        user_columns!(),
        ", s.expires_at FROM sessions s \
         JOIN users u ON u.id = s.user_id AND u.workspace_id = s.workspace_id \
         WHERE s.token_hash = $1 AND s.expires_at > $2 AND NOT u.deactivated"
    ))
    .bind(token.as_str())
    .bind(now.0)
    .fetch_optional(conn)
    .await
    .map_err(db)?;
    row.map(|r| {
        Ok(Session {
            user: r.user.into_user()?,
            expires_at: Timestamp(r.expires_at),
        })
    })
    .transpose()
}

pub(crate) async fn delete_session(conn: &mut PgConnection, token: &SecretHash) -> StoreResult<()> {
    sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
        .bind(token.as_str())
        .execute(conn)
        .await
        .map_err(db)?;
    Ok(())
}

/// Stores an invite made by an account of its workspace (else `NotFound`).
pub(crate) async fn create_invite(
    conn: &mut PgConnection,
    new: NewInvite,
    now: Timestamp,
) -> StoreResult<Invite> {
    let invite = Invite {
        id: InviteId::generate(),
        workspace_id: new.workspace_id,
        email: new.email,
        role: new.role,
        created_by: new.created_by,
        expires_at: new.expires_at,
        created_at: now,
    };
    let inserted = sqlx::query(
        "INSERT INTO invites (id, workspace_id, code_hash, email, role, created_by, \
         expires_at, created_at) \
         SELECT $1, workspace_id, $2, $3, $4, id, $5, $6 FROM users \
         WHERE workspace_id = $7 AND id = $8",
    )
    .bind(invite.id.as_str())
    .bind(new.code.as_str())
    .bind(invite.email.as_ref().map(|e| e.as_str()))
    .bind(invite.role.as_str())
    .bind(invite.expires_at.0)
    .bind(now.0)
    .bind(invite.workspace_id.as_str())
    .bind(invite.created_by.as_str())
    .execute(conn)
    .await
    .map_err(db)?;
    if inserted.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(invite)
}

#[derive(FromRow)]
struct RedeemRow {
    #[sqlx(flatten)]
    invite: InviteRow,
    used_by: Option<String>,
}

/// Every way an invite can fail is the same error, so codes cannot be probed. The account
/// gets the invite's role: the inviter chose it, and the caller cannot see it beforehand.
/// Runs under the workspace lock (it appends `user.created`), so two redemptions of a
/// single-use invite cannot both find it unused.
pub(crate) async fn redeem_invite(
    conn: &mut PgConnection,
    seqs: &mut crate::log::Seqs,
    ws: &WorkspaceId,
    code: &SecretHash,
    mut user: NewUser,
    now: Timestamp,
) -> StoreResult<Committed<User>> {
    let invalid = StoreError::Invalid("invalid_invite");
    let row: Option<RedeemRow> = sqlx::query_as(
        "SELECT id, workspace_id, email, role, created_by, expires_at, created_at, used_by \
         FROM invites WHERE workspace_id = $1 AND code_hash = $2",
    )
    .bind(ws.as_str())
    .bind(code.as_str())
    .fetch_optional(&mut *conn)
    .await
    .map_err(db)?;
    let Some(row) = row else { return Err(invalid) };
    let used = row.used_by.is_some();
    let invite = row.invite.into_invite()?;
    if invite.expires_at <= now {
        return Err(invalid);
    }
    if let Some(email) = &invite.email
        && (used || *email != user.email)
    {
        return Err(invalid);
    }
    user.role = invite.role;
    let created = accounts::create_user(conn, seqs, ws, user, now).await?;
    if invite.email.is_some() {
        sqlx::query(
            "UPDATE invites SET used_by = $1, used_at = $2 WHERE workspace_id = $3 AND id = $4",
        )
        .bind(created.value.id.as_str())
        .bind(now.0)
        .bind(ws.as_str())
        .bind(invite.id.as_str())
        .execute(&mut *conn)
        .await
        .map_err(db)?;
    }
    Ok(created)
}
