//! The authenticated caller, from `Authorization: Bearer <token>`, or, when that header
//! is absent, from the browser's session cookie under the CSRF rules of [`super::cookie`].
//!
//! Lookups go through the node's `SessionCache` (held by the hub), which forgets a
//! session the moment it ends or its account changes; see that module for why a revoked
//! token never works here after its revocation was answered.
//!
//! Tokens are accepted only in that header: never in a URL, where they would end up in
//! logs, browser history and `Referer` headers (see `reject_tokens_in_urls`).

use axum::extract::FromRequestParts;
use axum::http::header::{AUTHORIZATION, ORIGIN};
use axum::http::request::Parts;
use axum::http::{Method, StatusCode};
use hearth_core::model::User;
use hearth_core::secret::SecretHash;

use super::cookie;
use crate::error::ApiError;
use crate::state::AppState;

/// The account behind a valid, unexpired session of an active account.
#[derive(Debug, Clone)]
pub struct CurrentUser {
    pub user: User,
    /// The session's token hash, so logout can end exactly this session.
    pub session: SecretHash,
}

impl FromRequestParts<AppState> for CurrentUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let invalid = || {
            ApiError::unauthenticated(
                "invalid_token",
                "The session token is invalid or has expired.",
            )
        };
        // Only a Bearer header is ours: a browser behind a proxy with HTTP Basic auth sends
        // `Authorization: Basic …` on every request, and must still sign in by cookie.
        let bearer = parts
            .headers
            .get(AUTHORIZATION)
            .filter(|v| !v.as_bytes().starts_with(b"Basic "));
        let token = match bearer {
            Some(header) => header
                .to_str()
                .ok()
                .and_then(|v| v.strip_prefix("Bearer "))
                .map(str::trim)
                .filter(|t| !t.is_empty() && t.len() <= 256)
                .ok_or_else(invalid)?
                .to_owned(),
            None => cookie_token(parts, state)?,
        };
        let token = token.as_str();
        let hash = SecretHash::of(token);
        let cache = state.hub.sessions();
        let session = match cache.get(&hash) {
            Ok(session) => session,
            Err(ticket) => {
                let session = state.store.session(&hash).await?.ok_or_else(invalid)?;
                cache.store(ticket, &hash, &session);
                session
            }
        };
        Ok(CurrentUser {
            user: session.user,
            session: hash,
        })
    }
}

/// The session token of the cookie, for a request that passes the CSRF rules.
fn cookie_token(parts: &Parts, state: &AppState) -> Result<String, ApiError> {
    let headers = &parts.headers;
    let Some(token) = cookie::read_cookie(headers, cookie::SESSION_COOKIE) else {
        return Err(ApiError::unauthenticated(
            "not_authenticated",
            "Sign in first: send Authorization: Bearer <token>.",
        ));
    };
    if token.is_empty() || token.len() > 256 {
        return Err(ApiError::unauthenticated(
            "invalid_token",
            "The session token is invalid or has expired.",
        ));
    }
    if !matches!(parts.method, Method::GET | Method::HEAD) {
        let origin_ok = !headers.contains_key(ORIGIN)
            || cookie::origin_allowed(headers, state.settings.gateway.origin.as_deref());
        if !origin_ok || !cookie::csrf_matches(headers, &token) {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "csrf_failed",
                "A request signed in by cookie must come from this server's pages with its \
                 X-CSRF-Token header.",
            ));
        }
    }
    Ok(token)
}
