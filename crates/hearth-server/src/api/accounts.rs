//! Workspaces, sign-in, sign-out, invites and sign-up.

use axum::extract::State;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{AppendHeaders, IntoResponse, Response};
use hearth_core::Timestamp;
use hearth_core::model::{Role, User, Workspace};
use hearth_core::permission;
use hearth_core::secret::{SecretHash, generate_secret};
use hearth_core::store::{NewInvite, NewSession, NewUser, NewWorkspace};
use hearth_core::value::{
    DisplayName, Email, Handle, Password, ValidationError, WorkspaceName, WorkspaceSlug,
};
use hearth_proto as wire;

use crate::auth::{CurrentUser, cookie};
use crate::convert;
use crate::error::{ApiError, ApiResult};
use crate::extract::Json;
use crate::state::AppState;

/// Issues a session token for `user` and returns it.
async fn start_session(state: &AppState, user: &User) -> ApiResult<String> {
    let token = generate_secret();
    let ttl = i64::try_from(state.settings.session_ttl.as_secs()).unwrap_or(i64::MAX);
    state
        .store
        .create_session(NewSession {
            workspace_id: user.workspace_id.clone(),
            user_id: user.id.clone(),
            token: SecretHash::of(&token),
            expires_at: Timestamp::now().plus_secs(ttl),
        })
        .await?;
    Ok(token)
}

/// A new session as the client asked for it: a bearer token in the body, or (with
/// `X-Hearth-Session: cookie`) cookies and a CSRF value, with no token a script could read.
struct Issued {
    token: Option<String>,
    csrf_token: Option<String>,
    cookies: AppendHeaders<Vec<(HeaderName, HeaderValue)>>,
}

fn issue(state: &AppState, headers: &HeaderMap, token: String) -> Issued {
    if !cookie::wants_cookie(headers) {
        return Issued {
            token: Some(token),
            csrf_token: None,
            cookies: AppendHeaders(Vec::new()),
        };
    }
    // Secure whenever the page was loaded over TLS: by configuration, by the proxy's word,
    // or by the page's own origin.
    let https = |name: &str, prefix: &[u8]| {
        headers.get(name).is_some_and(|v| {
            v.as_bytes().len() >= prefix.len()
                && v.as_bytes()[..prefix.len()].eq_ignore_ascii_case(prefix)
        })
    };
    let secure = state
        .settings
        .gateway
        .origin
        .as_deref()
        .is_some_and(|o| o.starts_with("https://"))
        || https("x-forwarded-proto", b"https")
        || https("origin", b"https://");
    let max_age = state.settings.session_ttl.as_secs();
    let cookies = cookie::session_cookies(&token, max_age, secure)
        .into_iter()
        .map(|value| (header::SET_COOKIE, value))
        .collect();
    Issued {
        token: None,
        csrf_token: Some(cookie::csrf_for(&token)),
        cookies: AppendHeaders(cookies),
    }
}

fn optional_handle(raw: Option<&str>) -> Result<Option<Handle>, ValidationError> {
    raw.map(Handle::parse).transpose()
}

#[utoipa::path(
    post, path = "/api/v1/workspaces", tag = "accounts",
    params(("X-Hearth-Session" = Option<String>, Header, description = "`cookie`: start a browser session (HttpOnly `hearth_session` and readable `hearth_csrf` cookies, `csrf_token` in the body, no `token`)")),
    request_body = wire::CreateWorkspaceRequest,
    responses(
        (status = 201, body = wire::CreateWorkspaceResponse),
        (status = 409, description = "slug_taken", body = wire::ErrorBody),
        (status = 422, description = "a field is invalid", body = wire::ErrorBody),
    )
)]
pub async fn create_workspace(
    State(state): State<AppState>,
    headers: HeaderMap,
    Json(req): Json<wire::CreateWorkspaceRequest>,
) -> ApiResult<impl IntoResponse> {
    let workspace = NewWorkspace {
        name: WorkspaceName::parse(&req.name)?,
        slug: WorkspaceSlug::parse(&req.slug)?,
    };
    let email = Email::parse(&req.email)?;
    let display_name = DisplayName::parse(&req.display_name)?;
    let handle = optional_handle(req.handle.as_deref())?;
    let password = Password::parse(&req.password)?;
    let password_hash = state.passwords.hash(password).await?;
    let owner = NewUser {
        email,
        handle,
        display_name,
        role: Role::Owner,
        password_hash,
    };
    let (workspace, owner) = state.store.create_workspace(workspace, owner).await?;
    let token = start_session(&state, &owner.value).await?;
    tracing::info!(workspace = %workspace.id, slug = %workspace.slug, "workspace created");
    let issued = issue(&state, &headers, token);
    Ok((
        StatusCode::CREATED,
        issued.cookies,
        Json(wire::CreateWorkspaceResponse {
            workspace: convert::workspace(&workspace),
            user: convert::user(&owner.value),
            token: issued.token,
            csrf_token: issued.csrf_token,
        }),
    ))
}

fn invalid_credentials() -> ApiError {
    ApiError::unauthenticated(
        "invalid_credentials",
        "The workspace, email or password is wrong.",
    )
}

async fn workspace_by_slug(state: &AppState, slug: &str) -> ApiResult<Option<Workspace>> {
    match WorkspaceSlug::parse(slug) {
        Ok(slug) => Ok(state.store.workspace_by_slug(&slug).await?),
        Err(_) => Ok(None),
    }
}

#[utoipa::path(
    post, path = "/api/v1/auth/login", tag = "accounts",
    params(("X-Hearth-Session" = Option<String>, Header, description = "`cookie`: start a browser session (HttpOnly `hearth_session` and readable `hearth_csrf` cookies, `csrf_token` in the body, no `token`)")),
    request_body = wire::LoginRequest,
    responses(
        (status = 200, body = wire::SessionResponse),
        (status = 401, description = "invalid_credentials", body = wire::ErrorBody),
        (status = 429, description = "too_many_attempts, with Retry-After", body = wire::ErrorBody),
    )
)]
pub async fn login(
    State(state): State<AppState>,
    headers: HeaderMap,
    Json(req): Json<wire::LoginRequest>,
) -> ApiResult<impl IntoResponse> {
    let email_key = req.email.trim().to_lowercase();
    if let Err(wait) = state.login_throttle.check(&req.workspace, &email_key) {
        return Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_attempts",
            "Too many failed sign-in attempts; try again later.",
        )
        .with_retry_after(wait));
    }
    let workspace = workspace_by_slug(&state, &req.workspace).await?;
    let credentials = match (&workspace, Email::parse(&req.email)) {
        (Some(ws), Ok(email)) => state.store.credentials(&ws.id, &email).await?,
        _ => None,
    };
    let credentials = credentials.filter(|c| !c.user.deactivated);
    // Unknown accounts are verified against a decoy hash so they take as long as a
    // wrong password and cannot be told apart by timing.
    let phc = credentials.as_ref().map(|c| c.password_hash.clone());
    let verified = state.passwords.verify(req.password, phc).await?;
    let (Some(workspace), Some(credentials), true) = (workspace, credentials, verified) else {
        state
            .login_throttle
            .record_failure(&req.workspace, &email_key);
        return Err(invalid_credentials());
    };
    state
        .login_throttle
        .record_success(&req.workspace, &email_key);
    let token = start_session(&state, &credentials.user).await?;
    let issued = issue(&state, &headers, token);
    Ok((
        issued.cookies,
        Json(wire::SessionResponse {
            workspace: convert::workspace(&workspace),
            user: convert::user(&credentials.user),
            token: issued.token,
            csrf_token: issued.csrf_token,
        }),
    ))
}

#[utoipa::path(
    post, path = "/api/v1/auth/logout", tag = "accounts",
    responses((status = 204, description = "this session has ended")),
    security(("bearer" = []))
)]
pub async fn logout(State(state): State<AppState>, me: Result<CurrentUser, ApiError>) -> Response {
    // A browser forgets its cookies when signed out, and also when its session was
    // already gone (401), so no dead cookie stays behind. A refused (forged) sign-out
    // changes nothing. Bearer clients ignore the cookies.
    let clear = AppendHeaders(cookie::clearing_cookies().map(|value| (header::SET_COOKIE, value)));
    let me = match me {
        Ok(me) => me,
        Err(e) if e.status == StatusCode::UNAUTHORIZED => return (clear, e).into_response(),
        Err(e) => return e.into_response(),
    };
    if let Err(e) = state.store.delete_session(&me.session).await {
        return ApiError::from(e).into_response();
    }
    // The session's open sockets end with it, on every node.
    state
        .bus
        .end_session(&me.user.workspace_id, me.session.clone());
    (StatusCode::NO_CONTENT, clear).into_response()
}

#[utoipa::path(
    post, path = "/api/v1/invites", tag = "accounts",
    request_body = wire::CreateInviteRequest,
    responses(
        (status = 201, body = wire::InviteResponse),
        (status = 403, body = wire::ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn create_invite(
    State(state): State<AppState>,
    me: CurrentUser,
    Json(req): Json<wire::CreateInviteRequest>,
) -> ApiResult<(StatusCode, Json<wire::InviteResponse>)> {
    let role = match req.role.as_deref() {
        None => Role::Member,
        Some(raw) => Role::parse(raw).ok_or_else(|| {
            ApiError::from(ValidationError::new(
                "invalid_role",
                "role must be owner, admin, member or guest.",
            ))
        })?,
    };
    permission::can_invite(&me.user, role)?;
    let email = req.email.as_deref().map(Email::parse).transpose()?;
    let hours = req.expires_in_hours.unwrap_or(168);
    if !(1..=720).contains(&hours) {
        return Err(ValidationError::new(
            "invalid_expiry",
            "expires_in_hours must be between 1 and 720.",
        )
        .into());
    }
    let code = generate_secret();
    let invite = state
        .store
        .create_invite(NewInvite {
            workspace_id: me.user.workspace_id.clone(),
            code: SecretHash::of(&code),
            email,
            role,
            created_by: me.user.id.clone(),
            expires_at: Timestamp::now().plus_secs(i64::from(hours) * 3600),
        })
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(wire::InviteResponse {
            code,
            email: invite.email.map(|e| e.to_string()),
            role: invite.role.as_str().to_owned(),
            expires_at: invite.expires_at.to_rfc3339(),
        }),
    ))
}

#[utoipa::path(
    post, path = "/api/v1/auth/signup", tag = "accounts",
    params(("X-Hearth-Session" = Option<String>, Header, description = "`cookie`: start a browser session (HttpOnly `hearth_session` and readable `hearth_csrf` cookies, `csrf_token` in the body, no `token`)")),
    request_body = wire::SignupRequest,
    responses(
        (status = 201, body = wire::SessionResponse),
        (status = 409, description = "email_taken or handle_taken", body = wire::ErrorBody),
        (status = 422, description = "invalid_invite or an invalid field", body = wire::ErrorBody),
    )
)]
pub async fn signup(
    State(state): State<AppState>,
    headers: HeaderMap,
    Json(req): Json<wire::SignupRequest>,
) -> ApiResult<impl IntoResponse> {
    let invalid_invite =
        || ApiError::from(hearth_core::store::StoreError::Invalid("invalid_invite"));
    let workspace = workspace_by_slug(&state, &req.workspace)
        .await?
        .ok_or_else(invalid_invite)?;
    let email = Email::parse(&req.email)?;
    let display_name = DisplayName::parse(&req.display_name)?;
    let handle = optional_handle(req.handle.as_deref())?;
    let password = Password::parse(&req.password)?;
    if req.invite_code.is_empty() || req.invite_code.len() > 256 {
        return Err(invalid_invite());
    }
    let password_hash = state.passwords.hash(password).await?;
    let user = NewUser {
        email,
        handle,
        display_name,
        // The invite decides the role; the store fills it in from the invite.
        role: Role::Member,
        password_hash,
    };
    let user = state
        .store
        .redeem_invite(&workspace.id, &SecretHash::of(&req.invite_code), user)
        .await?;
    let token = start_session(&state, &user.value).await?;
    let issued = issue(&state, &headers, token);
    Ok((
        StatusCode::CREATED,
        issued.cookies,
        Json(wire::SessionResponse {
            workspace: convert::workspace(&workspace),
            user: convert::user(&user.value),
            token: issued.token,
            csrf_token: issued.csrf_token,
        }),
    ))
}

#[utoipa::path(
    get, path = "/api/v1/me", tag = "accounts",
    responses((status = 200, body = wire::MeResponse), (status = 401, body = wire::ErrorBody)),
    security(("bearer" = []))
)]
pub async fn me(
    State(state): State<AppState>,
    me: CurrentUser,
) -> ApiResult<Json<wire::MeResponse>> {
    let workspace = state
        .store
        .workspace(&me.user.workspace_id)
        .await?
        .ok_or_else(|| ApiError::internal("session of a workspace that does not exist"))?;
    Ok(Json(wire::MeResponse {
        workspace: convert::workspace(&workspace),
        user: convert::user(&me.user),
    }))
}
