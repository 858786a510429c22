//! The expander: from new messages in a workspace's log to notifications.
//!
//! One unit of work: claim a workspace's cursor, read up to `sources_per_claim` new
//! messages after it, and for each, page through the candidate members (everyone for a
//! DM or a broadcast, else only those something could concern) and decide each one's
//! reason. The first batch of candidates of up to [`PREFETCH_CANDIDATES`] / batch
//! messages is read in one call, so a page of ordinary messages (a few candidates each,
//! often none) costs one read, not one per message. The notifications are recorded
//! together with the cursor's new position, once per page (or per batch of a large channel, or every [`FLUSH_AT`] notifications), so a
//! page of ordinary messages costs one write. A crash between two records redoes what
//! followed the last one, and recording is idempotent per (user, message), so nobody is
//! notified twice and nobody is skipped.

use std::sync::Arc;

use hearth_core::Timestamp;
use hearth_core::id::{NotificationId, UserId};
use hearth_core::mention::Broadcast;
use hearth_core::notify::{
    Candidate, Lease, NewNotification, NotifyCursor, NotifySource, reason_for,
};
use hearth_core::store::StoreError;

use super::worker::Inner;
use crate::gateway::hub::link::Status;

/// Notifications held back before a record: pages of small messages cost one write.
const FLUSH_AT: usize = 1_000;

/// Candidates a prefetch may hold at most (a first batch per message: messages per
/// prefetch are this over the batch size, so 50 with the default batch of 1,000).
const PREFETCH_CANDIDATES: u32 = 50_000;

/// Expands one page of one workspace; `Ok(true)` if there may be more work.
pub(super) async fn run_once(inner: &Arc<Inner>) -> Result<bool, StoreError> {
    let store = &inner.store;
    let lease = inner.lease();
    let Some(cursor) = store.claim_notify_cursor(&lease).await? else {
        return Ok(false);
    };
    let ws = cursor.workspace_id.clone();
    let page = store
        .notify_sources(&ws, cursor.seq, inner.settings.sources_per_claim)
        .await?;
    let mut out = Expansion {
        lease,
        cursor,
        pending: Vec::new(),
        created: false,
    };
    let batch = inner.settings.candidates_per_batch;
    let fresh: Vec<&NotifySource> = page
        .sources
        .iter()
        .filter(|s| s.message.seq > out.cursor.seq)
        .collect();
    let per_prefetch = (PREFETCH_CANDIDATES / batch.max(1)).max(1) as usize;
    for chunk in fresh.chunks(per_prefetch) {
        let firsts = store.notify_candidates_of(&ws, chunk, batch).await?;
        if firsts.len() != chunk.len() {
            return Err(StoreError::Internal(format!(
                "candidates for {} of {} messages",
                firsts.len(),
                chunk.len()
            )));
        }
        for (&source, first) in chunk.iter().zip(firsts) {
            if !out.source(inner, source, first).await? {
                return Ok(true);
            }
        }
    }
    // Past the page's last message, past the events that were not messages too.
    out.cursor.seq = page.through_seq.max(out.cursor.seq);
    let full = page.sources.len() as u32 >= inner.settings.sources_per_claim;
    inner.expanded_through(match page.sources.last() {
        Some(last) if full => Some(last.message.created_at),
        // A short page reached the log's end: nothing is waiting.
        _ => None,
    });
    out.record(inner, true).await?;
    if out.created {
        inner.deliver_wake.notify_one();
    }
    Ok(true)
}

/// One claim's progress: where its cursor is and what it decided but has not recorded.
struct Expansion {
    lease: Lease,
    cursor: NotifyCursor,
    pending: Vec<NewNotification>,
    /// Whether any notification was decided (so the deliverer has work).
    created: bool,
}

impl Expansion {
    /// Decides `source`'s notifications, from `first` (its first batch of candidates,
    /// read with the page) and as many more batches as its channel has; false when the
    /// lease lapsed and another worker takes over.
    async fn source(
        &mut self,
        inner: &Inner,
        source: &NotifySource,
        first: Vec<Candidate>,
    ) -> Result<bool, StoreError> {
        let batch = inner.settings.candidates_per_batch;
        // A claim that resumes inside a large channel starts after its last member done,
        // which the first batch did not.
        let mut next = self.cursor.member_after.is_none().then_some(first);
        loop {
            let candidates = match next.take() {
                Some(candidates) => candidates,
                None => {
                    inner
                        .store
                        .notify_candidates(
                            &source.message.workspace_id,
                            source,
                            source.concerns_everyone(),
                            self.cursor.member_after.as_ref(),
                            batch,
                        )
                        .await?
                }
            };
            self.pending
                .extend(decide(inner, source, &candidates).await);
            match candidates.last() {
                // A large channel: record this batch with the position inside the
                // message, so a crash resumes after the last member done.
                Some(last) if candidates.len() as u32 == batch => {
                    self.cursor.member_after = Some(last.user_id.clone());
                    if !self.record(inner, false).await? {
                        return Ok(false);
                    }
                }
                _ => {
                    self.cursor.seq = source.message.seq;
                    self.cursor.member_after = None;
                    break;
                }
            }
        }
        if self.pending.len() >= FLUSH_AT {
            return self.record(inner, false).await;
        }
        Ok(true)
    }

    /// Records the pending notifications with the cursor's position (checked against
    /// the lease now) and empties them; false when the lease lapsed and another worker
    /// takes over.
    async fn record(&mut self, inner: &Inner, release: bool) -> Result<bool, StoreError> {
        self.created |= !self.pending.is_empty();
        let now = inner.renewed_now(&self.lease);
        let recorded = inner
            .store
            .record_notifications(&now, &self.cursor, &self.pending, release)
            .await?;
        if !recorded {
            tracing::warn!(workspace = %self.cursor.workspace_id, "notification lease lapsed mid-page; another worker takes over");
        }
        self.pending.clear();
        Ok(recorded)
    }
}

/// The notifications of one page of candidates.
async fn decide(
    inner: &Inner,
    source: &NotifySource,
    candidates: &[Candidate],
) -> Vec<NewNotification> {
    let here = if source.broadcast == Some(Broadcast::Here) {
        let users: Vec<UserId> = candidates.iter().map(|c| c.user_id.clone()).collect();
        inner
            .hub
            .statuses(&source.message.workspace_id, users)
            .await
            .into_iter()
            .map(|status| status == Status::Active)
            .collect()
    } else {
        vec![false; candidates.len()]
    };
    let now = Timestamp::now();
    let email_delay = inner.settings.email_delay.as_millis() as i64;
    let email_on = inner.mailer.is_some();
    candidates
        .iter()
        .zip(here)
        .filter_map(|(candidate, active)| {
            let reason = reason_for(source, candidate, active)?;
            Some(NewNotification {
                id: NotificationId::generate(),
                user_id: candidate.user_id.clone(),
                channel_id: source.channel.id.clone(),
                message_id: source.message.id.clone(),
                seq: source.message.seq,
                reason,
                created_at: now,
                email_at: (email_on && candidate.prefs.email)
                    .then_some(Timestamp(now.0 + email_delay)),
            })
        })
        .collect()
}
