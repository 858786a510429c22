//! The [`NotifyStore`] half of the port on [`PgStore`]: preferences (`prefs`), push
//! targets (`targets`), the expanding worker's reads (`sources`) and its cursors
//! (`cursors`), and deliveries (`deliveries`); `rows` turns their rows into domain types.
//!
//! Notification work appends no event, so none of it goes through a workspace's batcher
//! or takes a workspace row's lock: senders never wait for a worker, nor a worker for a
//! sender. Writes run as [`PgStore::write_unlogged`] transactions; the rows they contend
//! for (cursors, deliveries, a user's push targets) are locked one table at a time, and
//! claims skip what another node holds. The lease's `now`, never this node's clock,
//! decides whether a lease holds and stamps what it writes, so workers on nodes whose
//! clocks disagree still agree on who holds what.

mod cursors;
mod deliveries;
mod prefs;
mod recheck;
mod rows;
pub(crate) mod sources;
mod targets;

use async_trait::async_trait;
use hearth_core::Timestamp;
use hearth_core::id::{ChannelId, DeliveryId, PushTargetId, UserId, WorkspaceId};
use hearth_core::notify::{
    Candidate, ChannelNotify, Delivery, DeliveryOutcome, Lease, NewNotification, NewPushTarget,
    Notification, NotifyCursor, NotifyPrefs, NotifySource, NotifySources, PushCheck, PushTarget,
};
use hearth_core::store::{NotifyStore, PRUNE_STEP, StoreResult};

use crate::PgStore;
use crate::error::db;

#[async_trait]
impl NotifyStore for PgStore {
    async fn notify_prefs(&self, ws: &WorkspaceId, user: &UserId) -> StoreResult<NotifyPrefs> {
        prefs::prefs(&mut *self.read().await?, ws, user).await
    }

    async fn set_notify_prefs(
        &self,
        ws: &WorkspaceId,
        user: &UserId,
        prefs: &NotifyPrefs,
    ) -> StoreResult<()> {
        let (ws, user, prefs) = (ws.clone(), user.clone(), prefs.clone());
        self.write_unlogged(move |c, _| {
            Box::pin(async move { prefs::set_prefs(c, &ws, &user, &prefs).await })
        })
        .await
    }

    async fn channel_notify(
        &self,
        ws: &WorkspaceId,
        channel: &ChannelId,
        user: &UserId,
    ) -> StoreResult<Option<ChannelNotify>> {
        prefs::channel_notify(&mut *self.read().await?, ws, channel, user).await
    }

    async fn set_channel_notify(
        &self,
        ws: &WorkspaceId,
        channel: &ChannelId,
        user: &UserId,
        notify: ChannelNotify,
    ) -> StoreResult<()> {
        let (ws, channel, user) = (ws.clone(), channel.clone(), user.clone());
        self.write_unlogged(move |c, _| {
            Box::pin(
                async move { prefs::set_channel_notify(c, &ws, &channel, &user, notify).await },
            )
        })
        .await
    }

    async fn add_push_target(
        &self,
        ws: &WorkspaceId,
        user: &UserId,
        target: NewPushTarget,
    ) -> StoreResult<PushTarget> {
        let (ws, user) = (ws.clone(), user.clone());
        self.write_unlogged(move |c, now| {
            Box::pin(async move { targets::add(c, &ws, &user, target, now).await })
        })
        .await
    }

    async fn push_targets(&self, ws: &WorkspaceId, user: &UserId) -> StoreResult<Vec<PushTarget>> {
        targets::list(&mut *self.read().await?, ws, user).await
    }

    async fn delete_push_target(
        &self,
        ws: &WorkspaceId,
        user: &UserId,
        id: &PushTargetId,
    ) -> StoreResult<bool> {
        let (ws, user, id) = (ws.clone(), user.clone(), id.clone());
        self.write_unlogged(move |c, now| {
            Box::pin(async move { targets::delete(c, &ws, &user, &id, now).await })
        })
        .await
    }

    async fn claim_notify_cursor(&self, lease: &Lease) -> StoreResult<Option<NotifyCursor>> {
        let lease = lease.clone();
        self.write_unlogged(move |c, _| Box::pin(async move { cursors::claim(c, &lease).await }))
            .await
    }

    async fn notify_sources(
        &self,
        ws: &WorkspaceId,
        after: i64,
        limit: u32,
    ) -> StoreResult<NotifySources> {
        let mut tx = self.snapshot().await?;
        let out = sources::sources(&mut tx, ws, after, limit).await?;
        tx.commit().await.map_err(db)?;
        Ok(out)
    }

    async fn notify_candidates(
        &self,
        ws: &WorkspaceId,
        source: &NotifySource,
        everyone: bool,
        after: Option<&UserId>,
        limit: u32,
    ) -> StoreResult<Vec<Candidate>> {
        sources::candidates(&mut *self.read().await?, ws, source, everyone, after, limit).await
    }

    async fn notify_candidates_of(
        &self,
        ws: &WorkspaceId,
        page: &[&NotifySource],
        limit: u32,
    ) -> StoreResult<Vec<Vec<Candidate>>> {
        // One pooled connection for the page.
        let mut conn = self.read().await?;
        sources::candidates_of(&mut conn, ws, page, limit).await
    }

    async fn record_notifications(
        &self,
        lease: &Lease,
        cursor: &NotifyCursor,
        notifications: &[NewNotification],
        release: bool,
    ) -> StoreResult<bool> {
        let (lease, cursor, notifications) =
            (lease.clone(), cursor.clone(), notifications.to_vec());
        self.write_unlogged(move |c, _| {
            Box::pin(
                async move { cursors::record(c, &lease, &cursor, &notifications, release).await },
            )
        })
        .await
    }

    async fn claim_deliveries(&self, lease: &Lease, limit: u32) -> StoreResult<Vec<Delivery>> {
        let lease = lease.clone();
        self.write_unlogged(move |c, _| {
            Box::pin(async move { deliveries::claim(c, &lease, limit).await })
        })
        .await
    }

    async fn finish_delivery(
        &self,
        lease: &Lease,
        id: &DeliveryId,
        outcome: &DeliveryOutcome,
    ) -> StoreResult<bool> {
        let finished = self
            .finish_deliveries(lease, &[(id.clone(), outcome.clone())])
            .await?;
        Ok(finished.first().copied().unwrap_or(false))
    }

    async fn finish_deliveries(
        &self,
        lease: &Lease,
        finished: &[(DeliveryId, DeliveryOutcome)],
    ) -> StoreResult<Vec<bool>> {
        if finished.is_empty() {
            return Ok(Vec::new());
        }
        let (lease, finished) = (lease.clone(), finished.to_vec());
        self.write_unlogged(move |c, _| {
            Box::pin(async move { deliveries::finish(c, &lease, &finished).await })
        })
        .await
    }

    async fn push_check(&self, n: &Notification) -> StoreResult<Option<PushCheck>> {
        recheck::push_check(&mut *self.read().await?, n).await
    }

    async fn push_checks(&self, ns: &[&Notification]) -> StoreResult<Vec<Option<PushCheck>>> {
        // One pooled connection for them all.
        let mut conn = self.read().await?;
        let mut checks = Vec::with_capacity(ns.len());
        for n in ns {
            checks.push(recheck::push_check(&mut conn, n).await?);
        }
        Ok(checks)
    }

    async fn unread_notifications(
        &self,
        ws: &WorkspaceId,
        user: &UserId,
        channel: &ChannelId,
        limit: u32,
    ) -> StoreResult<Vec<Notification>> {
        deliveries::unread(&mut *self.read().await?, ws, user, channel, limit).await
    }

    async fn dead_letters(
        &self,
        ws: &WorkspaceId,
        before: Option<&DeliveryId>,
        limit: u32,
    ) -> StoreResult<Vec<Delivery>> {
        deliveries::dead_letters(&mut *self.read().await?, ws, before, limit).await
    }

    /// Two statements in one READ COMMITTED transaction: a node whose insert meets
    /// another node's uncommitted row waits for it, and its `SELECT`, a new snapshot,
    /// then reads the value that won.
    async fn server_secret(&self, name: &str, generated: &str) -> StoreResult<String> {
        let (name, generated) = (name.to_owned(), generated.to_owned());
        self.write_unlogged(move |c, now| {
            Box::pin(async move {
                sqlx::query(
                    "INSERT INTO server_secrets (name, value, created_at) VALUES ($1, $2, $3) \
                     ON CONFLICT (name) DO NOTHING",
                )
                .bind(&name)
                .bind(&generated)
                .bind(now.0)
                .execute(&mut *c)
                .await
                .map_err(db)?;
                sqlx::query_scalar("SELECT value FROM server_secrets WHERE name = $1")
                    .bind(&name)
                    .fetch_one(&mut *c)
                    .await
                    .map_err(db)
            })
        })
        .await
    }
}

impl PgStore {
    /// The notification half of [`Store::prune_events`](hearth_core::store::Store):
    /// finished deliveries, then notifications no pending delivery needs, created before
    /// `before`, in steps of at most [`PRUNE_STEP`] rows, each a transaction of its own
    /// without any workspace's lock. Returns how many rows went.
    pub(crate) async fn prune_notifications(&self, before: Timestamp) -> StoreResult<u64> {
        let mut deleted = 0;
        loop {
            let n = self
                .write_unlogged(move |c, _| {
                    Box::pin(deliveries::prune_deliveries_step(c, before, PRUNE_STEP))
                })
                .await?;
            deleted += n;
            if n < PRUNE_STEP as u64 {
                break;
            }
        }
        loop {
            let n = self
                .write_unlogged(move |c, _| {
                    Box::pin(deliveries::prune_notifications_step(c, before, PRUNE_STEP))
                })
                .await?;
            deleted += n;
            if n < PRUNE_STEP as u64 {
                break;
            }
        }
        Ok(deleted)
    }
}
