//! Notification settings and push targets: `/api/v1/notifications/*`, a channel's
//! `/notifications`, and the admins' dead letters.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use hearth_core::Timestamp;
use hearth_core::id::{DeliveryId, PushTargetId};
use hearth_core::notify::{
    ChannelNotify, Delivery, NewPushTarget, NotifyLevel, NotifyPrefs, PushKind, PushTarget,
    QuietHours, TimeZone,
};
use hearth_core::permission;
use hearth_core::value::ValidationError;
use hearth_proto as wire;
use serde::Deserialize;
use utoipa::IntoParams;

use super::access;
use crate::auth::CurrentUser;
use crate::error::{ApiError, ApiResult, NotFound};
use crate::extract::{Json, Query};
use crate::notify::validate_endpoint;
use crate::state::AppState;

#[utoipa::path(
    get, path = "/api/v1/notifications/prefs", tag = "notifications",
    responses((status = 200, body = wire::NotifyPrefs)),
    security(("bearer" = []))
)]
pub async fn get_prefs(
    State(state): State<AppState>,
    me: CurrentUser,
) -> ApiResult<Json<wire::NotifyPrefs>> {
    let prefs = state
        .store
        .notify_prefs(&me.user.workspace_id, &me.user.id)
        .await?;
    Ok(Json(prefs_to_wire(&prefs)))
}

#[utoipa::path(
    put, path = "/api/v1/notifications/prefs", tag = "notifications",
    request_body = wire::NotifyPrefs,
    responses(
        (status = 200, body = wire::NotifyPrefs),
        (status = 422, body = wire::ErrorBody, description = "`invalid_keyword`, `too_many_keywords`, `invalid_time_zone`, `invalid_quiet_hours`, `invalid_timestamp`"),
    ),
    security(("bearer" = []))
)]
pub async fn put_prefs(
    State(state): State<AppState>,
    me: CurrentUser,
    Json(body): Json<wire::NotifyPrefs>,
) -> ApiResult<Json<wire::NotifyPrefs>> {
    let prefs = prefs_from_wire(&body)?;
    state
        .store
        .set_notify_prefs(&me.user.workspace_id, &me.user.id, &prefs)
        .await?;
    Ok(Json(prefs_to_wire(&prefs)))
}

fn prefs_from_wire(body: &wire::NotifyPrefs) -> Result<NotifyPrefs, ValidationError> {
    let dnd_until = match &body.dnd_until {
        None => None,
        Some(at) => Some(
            chrono::DateTime::parse_from_rfc3339(at)
                .map(|t| Timestamp(t.timestamp_millis()))
                .map_err(|_| {
                    ValidationError::new("invalid_timestamp", "dnd_until must be an RFC 3339 time")
                })?,
        ),
    };
    let quiet_hours = match &body.quiet_hours {
        None => None,
        Some(q) => Some(QuietHours::parse(&q.start, &q.end)?),
    };
    Ok(NotifyPrefs {
        keywords: NotifyPrefs::keywords(&body.keywords)?,
        dnd_until,
        quiet_hours,
        time_zone: TimeZone::parse(&body.time_zone)?,
        thread_replies: body.thread_replies,
        email: body.email,
    })
}

fn prefs_to_wire(prefs: &NotifyPrefs) -> wire::NotifyPrefs {
    wire::NotifyPrefs {
        keywords: prefs
            .keywords
            .iter()
            .map(|k| k.as_str().to_owned())
            .collect(),
        dnd_until: prefs.dnd_until.map(Timestamp::to_rfc3339),
        quiet_hours: prefs.quiet_hours.map(|q| wire::QuietHours {
            start: QuietHours::format(q.start),
            end: QuietHours::format(q.end),
        }),
        time_zone: prefs.time_zone.as_str().to_owned(),
        thread_replies: prefs.thread_replies,
        email: prefs.email,
    }
}

#[utoipa::path(
    get, path = "/api/v1/channels/{id}/notifications", tag = "notifications",
    responses(
        (status = 200, body = wire::ChannelNotify),
        (status = 404, body = wire::ErrorBody, description = "Not a channel you are in: `channel_not_found`"),
    ),
    security(("bearer" = []))
)]
pub async fn get_channel_notify(
    State(state): State<AppState>,
    me: CurrentUser,
    Path(id): Path<String>,
) -> ApiResult<Json<wire::ChannelNotify>> {
    let channel = access::channel(&state, &me.user, &id).await?;
    let settings = state
        .store
        .channel_notify(&me.user.workspace_id, &channel.channel.id, &me.user.id)
        .await?
        .ok_or_else(|| ApiError::not_found(NotFound::Channel))?;
    Ok(Json(channel_notify_to_wire(settings)))
}

#[utoipa::path(
    put, path = "/api/v1/channels/{id}/notifications", tag = "notifications",
    request_body = wire::ChannelNotify,
    responses(
        (status = 200, body = wire::ChannelNotify),
        (status = 404, body = wire::ErrorBody, description = "Not a channel you are in: `channel_not_found`"),
        (status = 422, body = wire::ErrorBody, description = "`invalid_notify_level`"),
    ),
    security(("bearer" = []))
)]
pub async fn put_channel_notify(
    State(state): State<AppState>,
    me: CurrentUser,
    Path(id): Path<String>,
    Json(body): Json<wire::ChannelNotify>,
) -> ApiResult<Json<wire::ChannelNotify>> {
    let level = NotifyLevel::parse(&body.level)?;
    let channel = access::channel(&state, &me.user, &id).await?;
    let settings = ChannelNotify {
        level,
        muted: body.muted,
    };
    state
        .store
        .set_channel_notify(
            &me.user.workspace_id,
            &channel.channel.id,
            &me.user.id,
            settings,
        )
        .await
        .map_err(|e| match e {
            hearth_core::store::StoreError::NotFound => ApiError::not_found(NotFound::Channel),
            e => e.into(),
        })?;
    Ok(Json(channel_notify_to_wire(settings)))
}

fn channel_notify_to_wire(settings: ChannelNotify) -> wire::ChannelNotify {
    wire::ChannelNotify {
        level: settings.level.as_str().to_owned(),
        muted: settings.muted,
    }
}

#[utoipa::path(
    post, path = "/api/v1/notifications/targets", tag = "notifications",
    request_body = wire::NewPushTarget,
    responses(
        (status = 201, body = wire::PushTarget),
        (status = 422, body = wire::ErrorBody, description = "`invalid_push_kind`, `invalid_endpoint`, `invalid_push_keys`, `too_many_push_targets`"),
    ),
    security(("bearer" = []))
)]
pub async fn add_target(
    State(state): State<AppState>,
    me: CurrentUser,
    Json(body): Json<wire::NewPushTarget>,
) -> ApiResult<(StatusCode, Json<wire::PushTarget>)> {
    let kind = PushKind::parse(&body.kind).ok_or_else(|| {
        ValidationError::new("invalid_push_kind", "kind must be webpush or webhook")
    })?;
    let endpoint = validate_endpoint(&body.endpoint, state.settings.notify.targets)?;
    let (p256dh, auth) = match (kind, &body.keys) {
        (PushKind::WebPush, Some(keys)) => {
            check_key(&keys.p256dh, 65, "p256dh")?;
            check_key(&keys.auth, 16, "auth")?;
            (Some(keys.p256dh.clone()), Some(keys.auth.clone()))
        }
        (PushKind::WebPush, None) => {
            return Err(ValidationError::new(
                "invalid_push_keys",
                "a webpush target needs keys.p256dh and keys.auth",
            )
            .into());
        }
        (PushKind::Webhook, Some(_)) => {
            return Err(ValidationError::new(
                "invalid_push_keys",
                "a webhook target takes no keys",
            )
            .into());
        }
        (PushKind::Webhook, None) => (None, None),
    };
    let target = state
        .store
        .add_push_target(
            &me.user.workspace_id,
            &me.user.id,
            NewPushTarget {
                id: PushTargetId::generate(),
                kind,
                endpoint: endpoint.to_string(),
                p256dh,
                auth,
                created_at: Timestamp::now(),
            },
        )
        .await?;
    Ok((StatusCode::CREATED, Json(target_to_wire(&target))))
}

/// A Web Push key must be unpadded base64url of exactly `len` bytes.
fn check_key(value: &str, len: usize, name: &str) -> Result<(), ValidationError> {
    use base64::Engine;
    let decoded =
        base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(value.trim_end_matches('='));
    match decoded {
        Ok(bytes) if bytes.len() == len && (name != "p256dh" || bytes[0] == 4) => Ok(()),
        _ => Err(ValidationError::new(
            "invalid_push_keys",
            format!("keys.{name} must be the base64url of {len} bytes"),
        )),
    }
}

fn target_to_wire(target: &PushTarget) -> wire::PushTarget {
    wire::PushTarget {
        id: target.id.to_string(),
        kind: target.kind.as_str().to_owned(),
        endpoint: target.endpoint.clone(),
        created_at: target.created_at.to_rfc3339(),
    }
}

#[utoipa::path(
    get, path = "/api/v1/notifications/targets", tag = "notifications",
    responses((status = 200, body = wire::PushTargetList)),
    security(("bearer" = []))
)]
pub async fn list_targets(
    State(state): State<AppState>,
    me: CurrentUser,
) -> ApiResult<Json<wire::PushTargetList>> {
    let targets = state
        .store
        .push_targets(&me.user.workspace_id, &me.user.id)
        .await?;
    Ok(Json(wire::PushTargetList {
        targets: targets.iter().map(target_to_wire).collect(),
    }))
}

#[utoipa::path(
    delete, path = "/api/v1/notifications/targets/{id}", tag = "notifications",
    responses(
        (status = 204, description = "Deleted; its pending notifications are not sent"),
        (status = 404, body = wire::ErrorBody, description = "`push_target_not_found`"),
    ),
    security(("bearer" = []))
)]
pub async fn delete_target(
    State(state): State<AppState>,
    me: CurrentUser,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let not_found = || ApiError::not_found(NotFound::PushTarget);
    let id = PushTargetId::parse(&id).ok_or_else(not_found)?;
    let deleted = state
        .store
        .delete_push_target(&me.user.workspace_id, &me.user.id, &id)
        .await?;
    if deleted {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(not_found())
    }
}

#[utoipa::path(
    get, path = "/api/v1/notifications/vapid", tag = "notifications",
    responses((status = 200, body = wire::VapidKey)),
    security(("bearer" = []))
)]
pub async fn vapid_key(
    State(state): State<AppState>,
    _me: CurrentUser,
) -> ApiResult<Json<wire::VapidKey>> {
    let keys = state.notifier.vapid_keys().await?;
    Ok(Json(wire::VapidKey {
        public_key: keys.public_key_base64url(),
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct DeadLetterParams {
    /// Dead letters older than this one (the last id of the previous page).
    pub before: Option<String>,
    /// 1 to 200, default 50.
    pub limit: Option<u32>,
}

#[utoipa::path(
    get, path = "/api/v1/admin/notifications/dead-letters", tag = "notifications",
    params(DeadLetterParams),
    responses(
        (status = 200, body = wire::DeadLetterList),
        (status = 403, body = wire::ErrorBody, description = "Not an admin: `not_admin`"),
    ),
    security(("bearer" = []))
)]
pub async fn dead_letters(
    State(state): State<AppState>,
    me: CurrentUser,
    Query(params): Query<DeadLetterParams>,
) -> ApiResult<Json<wire::DeadLetterList>> {
    permission::can_read_dead_letters(&me.user)?;
    let limit = match params.limit {
        None => 50,
        Some(n @ 1..=200) => n,
        Some(_) => {
            return Err(ValidationError::new("invalid_limit", "limit is 1 to 200").into());
        }
    };
    let before = match &params.before {
        None => None,
        Some(raw) => Some(DeliveryId::parse(raw).ok_or_else(|| {
            ValidationError::new("invalid_cursor", "before must be a dead letter's id")
        })?),
    };
    let mut letters = state
        .store
        .dead_letters(&me.user.workspace_id, before.as_ref(), limit + 1)
        .await?;
    let has_more = letters.len() > limit as usize;
    letters.truncate(limit as usize);
    Ok(Json(wire::DeadLetterList {
        dead_letters: letters.iter().map(dead_letter).collect(),
        has_more,
    }))
}

fn dead_letter(d: &Delivery) -> wire::DeadLetter {
    wire::DeadLetter {
        id: d.id.to_string(),
        user_id: d.user_id.to_string(),
        channel_id: d.channel_id.to_string(),
        kind: d.kind.as_str().to_owned(),
        target: d.target.as_ref().map(target_to_wire),
        message_id: d.notification.as_ref().map(|n| n.message_id.to_string()),
        attempts: d.attempts,
        last_error: d.last_error.clone(),
        created_at: d.created_at.to_rfc3339(),
    }
}
