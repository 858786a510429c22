//! The [`NotifyStore`] half of the port on [`SqliteStore`] (schema:
//! `migrations/0004_notifications.sql`): what users asked for (`prefs`), where they
//! receive pushes (`targets`), the expansion of the event log into notifications
//! (`expand` reads, `record` writes) and the deliveries that carry them out
//! (`deliveries`).
//!
//! As in `store`, every write is a job on the single writer, so a lease check and the
//! write it guards run in one transaction with nothing in between. Lease checks compare
//! against the caller's [`Lease::now`], never the clock: the worker decides what time it
//! is, which keeps a lapsed lease lapsed however late its write arrives.

mod deliveries;
mod expand;
mod prefs;
mod recheck;
mod record;
mod targets;

use async_trait::async_trait;
use hearth_core::Timestamp;
use hearth_core::id::{ChannelId, DeliveryId, PushTargetId, UserId, WorkspaceId};
use hearth_core::notify::{
    Candidate, ChannelNotify, Delivery, DeliveryOutcome, Lease, NewNotification, NewPushTarget,
    Notification, NotifyCursor, NotifyPrefs, NotifySource, NotifySources, PushCheck, PushTarget,
};
use hearth_core::store::{NotifyStore, PRUNE_STEP, StoreResult};
use sqlx::SqliteConnection;

use crate::SqliteStore;
use crate::error::db;

pub(crate) use expand::create_cursor;

#[async_trait]
impl NotifyStore for SqliteStore {
    async fn notify_prefs(&self, ws: &WorkspaceId, user: &UserId) -> StoreResult<NotifyPrefs> {
        prefs::notify_prefs(&mut *self.read().await?, ws, user).await
    }

    async fn set_notify_prefs(
        &self,
        ws: &WorkspaceId,
        user: &UserId,
        prefs: &NotifyPrefs,
    ) -> StoreResult<()> {
        let (ws, user, prefs) = (ws.clone(), user.clone(), prefs.clone());
        self.write(move |c| {
            Box::pin(async move { prefs::set_notify_prefs(c, &ws, &user, &prefs).await })
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
        self.write(move |c| {
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
        self.write(move |c| {
            Box::pin(async move { targets::add(c, &ws, &user, target, Timestamp::now()).await })
        })
        .await
    }

    async fn push_targets(&self, ws: &WorkspaceId, user: &UserId) -> StoreResult<Vec<PushTarget>> {
        targets::of_user(&mut *self.read().await?, ws, user).await
    }

    async fn delete_push_target(
        &self,
        ws: &WorkspaceId,
        user: &UserId,
        id: &PushTargetId,
    ) -> StoreResult<bool> {
        let (ws, user, id) = (ws.clone(), user.clone(), id.clone());
        self.write(move |c| {
            Box::pin(async move { targets::delete(c, &ws, &user, &id, Timestamp::now()).await })
        })
        .await
    }

    async fn claim_notify_cursor(&self, lease: &Lease) -> StoreResult<Option<NotifyCursor>> {
        // Workers poll this; an idle server answers from a reader and queues no write.
        if !expand::any_claimable(&mut *self.read().await?, lease.now).await? {
            return Ok(None);
        }
        let lease = lease.clone();
        self.write(move |c| Box::pin(async move { expand::claim_cursor(c, &lease).await }))
            .await
    }

    async fn notify_sources(
        &self,
        ws: &WorkspaceId,
        after: i64,
        limit: u32,
    ) -> StoreResult<NotifySources> {
        // One snapshot: the page and the log's newest seq must agree, or a message
        // committed between the two reads would be passed over.
        let mut tx = self.snapshot().await?;
        let out = expand::sources(&mut tx, ws, after, limit).await?;
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
        let mut conn = self.read().await?;
        expand::candidates(&mut conn, ws, source, everyone, after, limit).await
    }

    async fn notify_candidates_of(
        &self,
        ws: &WorkspaceId,
        sources: &[&NotifySource],
        limit: u32,
    ) -> StoreResult<Vec<Vec<Candidate>>> {
        // One read transaction: one connection, one snapshot of the file for the page.
        let mut tx = self.snapshot().await?;
        let mut found = Vec::with_capacity(sources.len());
        for source in sources {
            let everyone = source.concerns_everyone();
            found.push(expand::candidates(&mut tx, ws, source, everyone, None, limit).await?);
        }
        tx.commit().await.map_err(db)?;
        Ok(found)
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
        self.write(move |c| {
            Box::pin(
                async move { record::record(c, &lease, &cursor, &notifications, release).await },
            )
        })
        .await
    }

    async fn claim_deliveries(&self, lease: &Lease, limit: u32) -> StoreResult<Vec<Delivery>> {
        // Polled like the cursors: no write unless something is due.
        if limit == 0 || !deliveries::any_due(&mut *self.read().await?, lease.now).await? {
            return Ok(Vec::new());
        }
        let lease = lease.clone();
        self.write(move |c| Box::pin(async move { deliveries::claim(c, &lease, limit).await }))
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
        self.write(move |c| Box::pin(async move { deliveries::finish(c, &lease, &finished).await }))
            .await
    }

    async fn push_check(&self, n: &Notification) -> StoreResult<Option<PushCheck>> {
        recheck::push_check(&mut *self.read().await?, n).await
    }

    async fn push_checks(&self, ns: &[&Notification]) -> StoreResult<Vec<Option<PushCheck>>> {
        // One read transaction: one connection, one snapshot of the file.
        let mut tx = self.snapshot().await?;
        let mut checks = Vec::with_capacity(ns.len());
        for n in ns {
            checks.push(recheck::push_check(&mut tx, n).await?);
        }
        tx.commit().await.map_err(db)?;
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
        let mut tx = self.snapshot().await?;
        let out = deliveries::dead_letters(&mut tx, ws, before, limit).await?;
        tx.commit().await.map_err(db)?;
        Ok(out)
    }

    async fn server_secret(&self, name: &str, generated: &str) -> StoreResult<String> {
        let (name, generated) = (name.to_owned(), generated.to_owned());
        self.write(move |c| {
            Box::pin(async move { server_secret(c, &name, &generated, Timestamp::now()).await })
        })
        .await
    }
}

impl SqliteStore {
    /// Deletes finished deliveries and notifications created before `before`, in steps
    /// of at most [`PRUNE_STEP`] rows per write, as the event log is pruned. Pending work
    /// stays whatever its age, and so do the notifications it will still read.
    pub(crate) async fn prune_notify_work(&self, before: Timestamp) -> StoreResult<u64> {
        let mut deleted = 0;
        loop {
            let n = self
                .write(move |c| Box::pin(deliveries::prune_step(c, before, PRUNE_STEP)))
                .await?;
            deleted += n;
            if n < PRUNE_STEP.unsigned_abs() {
                break;
            }
        }
        loop {
            let n = self
                .write(move |c| {
                    Box::pin(deliveries::prune_notifications_step(c, before, PRUNE_STEP))
                })
                .await?;
            deleted += n;
            if n < PRUNE_STEP.unsigned_abs() {
                break;
            }
        }
        Ok(deleted)
    }
}

/// The first value stored under `name` wins: nodes starting together each offer one, and
/// all of them go on with whichever committed first.
async fn server_secret(
    conn: &mut SqliteConnection,
    name: &str,
    generated: &str,
    now: Timestamp,
) -> StoreResult<String> {
    sqlx::query("INSERT OR IGNORE INTO server_secrets (name, value, created_at) VALUES (?, ?, ?)")
        .bind(name)
        .bind(generated)
        .bind(now.0)
        .execute(&mut *conn)
        .await
        .map_err(db)?;
    sqlx::query_scalar("SELECT value FROM server_secrets WHERE name = ?")
        .bind(name)
        .fetch_one(conn)
        .await
        .map_err(db)
}
