//! The deliverer: due deliveries, checked again, sent, and recorded.
//!
//! A notification is re-checked when it is delivered, not only when it was decided: if
//! the recipient was removed from the channel, deactivated, read the message, the message
//! was deleted, they muted the channel, are in do-not-disturb or quiet hours, or are
//! reading right now (attention), it is skipped with that reason. The payload is built
//! then too, so it never carries content the recipient can no longer read.
//!
//! The re-check is one read
//! ([`push_check`](hearth_core::store::NotifyStore::push_check)), shared with the other
//! pushes of the batch that want theirs at the same moment ([`checks`]), and hearth-core's
//! decision ([`recheck`]); only attention is asked after it.
//!
//! Each delivery is recorded as soon as its attempt ends, give or take a few
//! milliseconds: outcomes are recorded together, a few at a time ([`outcomes`]), so a
//! node that dies mid-batch leaves only the attempts in flight and those whose outcome
//! was not yet written (their answers were heard, at most [`outcomes::FLUSH_AFTER`] ago)
//! to be tried again by whoever takes the lapsed leases.

use std::sync::Arc;

use futures::StreamExt;
use hearth_core::Timestamp;
use hearth_core::model::{Channel, ChannelKind};
use hearth_core::notify::{
    Delivery, DeliveryKind, DeliveryOutcome, Notification, PushContent, PushKind, PushTarget,
    recheck,
};
use hearth_core::store::StoreError;
use tokio::sync::mpsc;

use super::checks::Checks;
use super::email::{Digest, DigestMessage};
use super::webpush::{self, PushOutcome, Subscription};
use super::worker::Inner;
use super::{backoff, outcomes, payload, webhook};

/// Deliveries claimed at once.
const CLAIM: u32 = 64;
/// Notifications listed in one email.
const EMAIL_ITEMS: u32 = 20;
/// Unread notifications one email covers: the first [`EMAIL_ITEMS`] listed, the rest
/// counted as "N more" (and not emailed again).
const EMAIL_COVERS: u32 = 200;
/// Web Push messages live this long at the push service if the device is offline.
const PUSH_TTL_SECS: u32 = 24 * 3600;

/// Delivers one claimed batch; `Ok(true)` if there may be more. Returns once every
/// attempt of the batch has ended and its outcome is recorded (see [`outcomes`]).
pub(super) async fn run_once(inner: &Arc<Inner>) -> Result<bool, StoreError> {
    let lease = inner.lease();
    let batch = inner.store.claim_deliveries(&lease, CLAIM).await?;
    if batch.is_empty() {
        return Ok(false);
    }
    let full = batch.len() as u32 == CLAIM;
    // At most `CLAIM` outcomes ever wait here, so the queue needs no bound of its own.
    let (finished, waiting) = mpsc::unbounded_channel();
    let (checks, reader) = Checks::new(inner);
    let attempts = async move {
        let checks = &checks;
        futures::stream::iter(batch)
            .map(|delivery| async move {
                let outcome = match attempt(inner, checks, &delivery).await {
                    Ok(outcome) => outcome,
                    Err(e) => retry_or_dead(inner, &delivery, format!("store: {e}"), None),
                };
                (delivery.id, outcome)
            })
            .buffer_unordered(inner.settings.concurrency.max(1))
            .for_each(|outcome| {
                // The recorder outlives this stream (it ends when `finished` is dropped).
                let _ = finished.send(outcome);
                async {}
            })
            .await;
        // `finished` is dropped here: the recorder writes what is left at once; so is
        // `checks`, which ends the reader.
    };
    let ((), recorded, ()) =
        tokio::join!(attempts, outcomes::record(inner, &lease, waiting), reader);
    recorded?;
    Ok(full)
}

async fn attempt(
    inner: &Inner,
    checks: &Checks,
    delivery: &Delivery,
) -> Result<DeliveryOutcome, StoreError> {
    match delivery.kind {
        DeliveryKind::Push => push(inner, checks, delivery).await,
        DeliveryKind::Email => email(inner, delivery).await,
    }
}

fn skip(reason: &str) -> DeliveryOutcome {
    DeliveryOutcome::Skipped {
        reason: reason.to_owned(),
    }
}

async fn push(
    inner: &Inner,
    checks: &Checks,
    delivery: &Delivery,
) -> Result<DeliveryOutcome, StoreError> {
    let (Some(n), Some(target)) = (&delivery.notification, &delivery.target) else {
        return Ok(skip("target_deleted"));
    };
    // Reading the database is where a delivery competes with senders: the batch's
    // re-checks are read one group at a time, however many requests are in flight.
    let check = checks.check(n).await?;
    let PushContent {
        channel,
        message,
        sender,
    } = match recheck(n, check, Timestamp::now()) {
        Ok(content) => content,
        Err(reason) => return Ok(skip(reason)),
    };
    if inner
        .attention
        .is_attentive(&n.workspace_id, &n.user_id)
        .await
    {
        return Ok(skip("active"));
    }
    let Some(sender) = sender else {
        return Ok(skip("deleted"));
    };
    let body = payload::build(n, &channel, &message, &sender);
    let bytes = serde_json::to_vec(&body).map_err(|e| StoreError::Internal(e.to_string()))?;
    let outcome = send_push(inner, target, n, &bytes).await?;
    Ok(match outcome {
        PushOutcome::Delivered => DeliveryOutcome::Sent { through_seq: None },
        PushOutcome::Gone => DeliveryOutcome::TargetGone {
            error: "the push service says the subscription is gone".to_owned(),
        },
        PushOutcome::Retry { error, retry_after } => {
            retry_or_dead(inner, delivery, error, retry_after)
        }
        PushOutcome::Rejected { error } => DeliveryOutcome::Dead { error },
    })
}

async fn send_push(
    inner: &Inner,
    target: &PushTarget,
    n: &Notification,
    bytes: &[u8],
) -> Result<PushOutcome, StoreError> {
    Ok(match target.kind {
        PushKind::Webhook => {
            webhook::send(&inner.http, &target.endpoint, n.id.as_str(), bytes.to_vec()).await
        }
        PushKind::WebPush => {
            let subscription = Subscription {
                endpoint: target.endpoint.clone(),
                p256dh: target.p256dh.clone().unwrap_or_default(),
                auth: target.auth.clone().unwrap_or_default(),
            };
            let keys = inner.vapid_keys().await?;
            // A newer notification of the same conversation replaces an undelivered
            // older one at the push service (Topic), so a device that was off gets the
            // latest, not a pile.
            let topic = topic(&n.channel_id.to_string());
            webpush::send(
                &inner.http,
                keys,
                &inner.settings.push_subject,
                &subscription,
                bytes,
                PUSH_TTL_SECS,
                "normal",
                Some(&topic),
            )
            .await
        }
    })
}

/// A Topic header value: at most 32 base64url characters.
fn topic(channel: &str) -> String {
    channel
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(32)
        .collect()
}

fn retry_or_dead(
    inner: &Inner,
    delivery: &Delivery,
    error: String,
    retry_after: Option<std::time::Duration>,
) -> DeliveryOutcome {
    let settings = &inner.settings;
    if delivery.attempts >= settings.max_attempts {
        return DeliveryOutcome::Dead {
            error: format!("{error} (after {} attempts)", delivery.attempts),
        };
    }
    let now = Timestamp::now();
    let mut at = backoff::retry_at(
        now,
        delivery.attempts,
        settings.retry_base,
        settings.retry_max,
    );
    if let Some(after) = retry_after {
        at = at.max(Timestamp(now.0 + after.as_millis() as i64));
    }
    DeliveryOutcome::Retry { at, error }
}

async fn email(inner: &Inner, delivery: &Delivery) -> Result<DeliveryOutcome, StoreError> {
    let Some(mailer) = &inner.mailer else {
        return Ok(skip("email_off"));
    };
    let store = &inner.store;
    let ws = &delivery.workspace_id;
    let user = match store.user(ws, &delivery.user_id).await? {
        Some(user) if !user.deactivated => user,
        _ => return Ok(skip("deactivated")),
    };
    let prefs = store.notify_prefs(ws, &user.id).await?;
    if !prefs.email {
        return Ok(skip("email_off"));
    }
    if let Some(quiet) = prefs.quiet_at(Timestamp::now()) {
        return Ok(skip(quiet.as_str()));
    }
    let (Some(channel), Some(workspace)) = (
        store.channel(ws, &delivery.channel_id).await?,
        store.workspace(ws).await?,
    ) else {
        return Ok(skip("removed"));
    };
    let unread = store
        .unread_notifications(ws, &user.id, &channel.id, EMAIL_COVERS)
        .await?;
    // The email covers everything it read, listed or counted.
    let through_seq = unread.last().map(|n| n.seq);
    let mut messages = Vec::new();
    for n in unread.iter().take(EMAIL_ITEMS as usize) {
        let Some(message) = store.message(ws, &n.message_id).await? else {
            continue;
        };
        if message.deleted {
            continue;
        }
        let sender = store.user(ws, &message.user_id).await?;
        messages.push(DigestMessage {
            sender: sender.map_or_else(
                || "someone".to_owned(),
                |u| u.display_name.as_str().to_owned(),
            ),
            text: hearth_core::notify::excerpt(&message.text),
            at: chrono::DateTime::from_timestamp_millis(message.created_at.0).unwrap_or_default(),
        });
    }
    if messages.is_empty() {
        return Ok(skip("read"));
    }
    let digest = Digest {
        to_name: user.display_name.as_str().to_owned(),
        to_email: user.email.as_str().to_owned(),
        workspace_name: workspace.name.as_str().to_owned(),
        conversation: conversation_label(inner, &channel, &user.id).await?,
        more: (unread.len() as u32).saturating_sub(EMAIL_ITEMS),
        messages,
        link: inner
            .settings
            .public_url
            .as_ref()
            .map(|url| format!("{}/#/channel/{}", url.trim_end_matches('/'), channel.id)),
        message_id: format!("<{}@hearth>", delivery.id),
    };
    Ok(match mailer.send(&digest).await {
        Ok(()) => DeliveryOutcome::Sent { through_seq },
        Err(e) if e.permanent => DeliveryOutcome::Dead { error: e.message },
        Err(e) => retry_or_dead(inner, delivery, e.message, None),
    })
}

/// "#general", or the other participants' names for a DM or group DM.
async fn conversation_label(
    inner: &Inner,
    channel: &Channel,
    reader: &hearth_core::id::UserId,
) -> Result<String, StoreError> {
    if let Some(name) = &channel.name {
        return Ok(format!("#{name}"));
    }
    let members = inner
        .store
        .list_members(&channel.workspace_id, &channel.id, None, 10)
        .await?;
    let names: Vec<String> = members
        .iter()
        .filter(|m| m.user.id != *reader || channel.kind == ChannelKind::Dm && members.len() == 1)
        .map(|m| m.user.display_name.as_str().to_owned())
        .collect();
    Ok(match names.as_slice() {
        [] => "a conversation".to_owned(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    })
}
