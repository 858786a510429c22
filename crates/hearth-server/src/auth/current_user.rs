//! The authenticated caller, from `Authorization: Bearer <token>`.
//!
//! Lookups go through the node's `SessionCache` (held by the hub), which forgets a
//! session the moment it ends or its account changes; see that module for why a revoked
//! token never works here after its revocation was answered.
//!
//! Tokens are accepted only in that header: never in a URL, where they would end up in
//! logs, browser history and `Referer` headers (see `reject_tokens_in_urls`).

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use hearth_core::model::User;
use hearth_core::secret::SecretHash;

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
        let Some(header) = parts.headers.get(AUTHORIZATION) else {
            return Err(ApiError::unauthenticated(
                "not_authenticated",
                "Sign in first: send Authorization: Bearer <token>.",
            ));
        };
        let invalid = || {
            ApiError::unauthenticated(
                "invalid_token",
                "The session token is invalid or has expired.",
            )
        };
        let token = header
            .to_str()
            .ok()
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|t| !t.is_empty() && t.len() <= 256)
            .ok_or_else(invalid)?;
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
