//! The HTTP API, v1: handlers grouped by resource, registered together with their
//! OpenAPI descriptions so the published document cannot drift from the routes.
//!
//! Architecture Invariant: every route is added through [`routes`] with a
//! `#[utoipa::path]` annotation; the OpenAPI test fails for a route the document lacks.

pub mod access;
pub mod access_cache;
mod accounts;
mod channels;
mod events;
pub mod files;
pub mod health;
mod members;
pub mod messages;
mod notifications;
pub mod posting;
mod reactions;
mod search;
mod users;

use axum::extract::DefaultBodyLimit;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Hearth API",
        version = "1",
        description = "Self-hosted team chat. Errors are `{\"error\": {\"code\", \"message\"}}` \
                       with stable snake_case codes. Authenticate with `Authorization: Bearer <token>`; \
                       tokens are never accepted in URLs. The browser client signs in with \
                       `X-Hearth-Session: cookie` and then sends `X-CSRF-Token` on every \
                       request but GET and HEAD."
    ),
    modifiers(&BearerAuth),
    tags(
        (name = "accounts", description = "Workspaces, sign-in, invites"),
        (name = "users", description = "People and profiles"),
        (name = "channels", description = "Channels"),
        (name = "members", description = "Membership, DMs, read markers"),
        (name = "messages", description = "Messages, threads, reactions"),
        (name = "search", description = "Full-text search"),
        (name = "files", description = "Uploads, downloads and thumbnails"),
        (name = "notifications", description = "Notification preferences, push targets, dead letters"),
        (name = "events", description = "The durable event log"),
        (name = "realtime", description = "The WebSocket gateway"),
        (name = "operations", description = "Health and description"),
    )
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
}

/// Every route of the API with its OpenAPI description.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(accounts::create_workspace))
        .routes(routes!(accounts::login))
        .routes(routes!(accounts::logout))
        .routes(routes!(accounts::signup))
        .routes(routes!(accounts::create_invite))
        .routes(routes!(accounts::me))
        .routes(routes!(search::search))
        .routes(routes!(users::list_users))
        .routes(routes!(users::update_me))
        .routes(routes!(users::get_user, users::admin_update_user))
        .routes(routes!(
            channels::list_my_channels,
            channels::create_channel
        ))
        .routes(routes!(channels::browse))
        .routes(routes!(channels::get_channel, channels::update_channel))
        .routes(routes!(channels::join))
        .routes(routes!(channels::leave))
        .routes(routes!(members::list_members, members::add_members))
        .routes(routes!(members::remove_member))
        .routes(routes!(members::open_dm))
        .routes(routes!(members::mark_read))
        .routes(routes!(messages::post_message, messages::list_messages))
        .routes(routes!(
            messages::get_message,
            messages::edit_message,
            messages::delete_message
        ))
        .routes(routes!(messages::list_replies))
        .routes(routes!(reactions::add_reaction, reactions::remove_reaction))
        .routes(routes!(files::download, files::delete))
        .routes(routes!(files::thumbnail))
        .routes(routes!(files::info))
        // Uploads stream past the JSON body limit; `Files::upload` applies its own.
        .merge(
            OpenApiRouter::new()
                .routes(routes!(files::upload))
                .layer(DefaultBodyLimit::disable()),
        )
        .routes(routes!(notifications::get_prefs, notifications::put_prefs))
        .routes(routes!(
            notifications::get_channel_notify,
            notifications::put_channel_notify
        ))
        .routes(routes!(
            notifications::list_targets,
            notifications::add_target
        ))
        .routes(routes!(notifications::delete_target))
        .routes(routes!(notifications::vapid_key))
        .routes(routes!(notifications::dead_letters))
        .routes(routes!(events::list_events))
        .routes(routes!(crate::gateway::upgrade::realtime))
        .routes(routes!(health::healthz))
        .routes(routes!(health::readyz))
        .routes(routes!(health::openapi))
}
