//! The notification half of the storage port: preferences, push targets, and the
//! pipeline's durable work (cursors into the event log, notifications, deliveries).
//!
//! Every [`crate::store::Store`] is a [`NotifyStore`]. The contract, checked by the
//! conformance suite (`testing::notify`):
//!
//! - **The event log is the outbox.** A message's `message.created` event is written in
//!   the message's own transaction, so nothing more is written on the send path. Each
//!   workspace has one cursor into its log, created with the workspace at seq 0 (a
//!   database that predates notifications starts its cursors at each workspace's newest
//!   seq, so history is never notified).
//! - **Leases, not locks held across I/O.** Cursors and deliveries are claimed with a
//!   [`Lease`] (on PostgreSQL with `FOR UPDATE SKIP LOCKED`, so nodes never claim the same
//!   row); a worker that dies releases nothing, and its claims lapse at `until`. A write
//!   under a lapsed or foreign lease changes nothing and says so.
//! - **Idempotent.** A notification is unique per (user, message); recording one twice
//!   (a worker redoing a batch after a crash) keeps the first and creates no second
//!   delivery.

use async_trait::async_trait;

use super::StoreResult;
use crate::id::{ChannelId, DeliveryId, PushTargetId, UserId, WorkspaceId};
use crate::notify::{
    Candidate, ChannelNotify, Delivery, DeliveryOutcome, Lease, NewNotification, NewPushTarget,
    Notification, NotifyCursor, NotifyPrefs, NotifySource, NotifySources, PushCheck, PushTarget,
};

/// The most push targets (browsers and webhooks) one user may register.
pub const MAX_PUSH_TARGETS: usize = 20;

#[async_trait]
pub trait NotifyStore: Send + Sync {
    // ----- preferences -----

    /// The user's preferences; the defaults when they never set any. `NotFound` when the
    /// user is not an account of this workspace.
    async fn notify_prefs(&self, ws: &WorkspaceId, user: &UserId) -> StoreResult<NotifyPrefs>;

    /// Replaces the user's preferences. `NotFound` as above.
    async fn set_notify_prefs(
        &self,
        ws: &WorkspaceId,
        user: &UserId,
        prefs: &NotifyPrefs,
    ) -> StoreResult<()>;

    /// The member's settings for one channel; `None` when not a member.
    async fn channel_notify(
        &self,
        ws: &WorkspaceId,
        channel: &ChannelId,
        user: &UserId,
    ) -> StoreResult<Option<ChannelNotify>>;

    /// Replaces the member's settings for one channel. `NotFound` when not a member.
    async fn set_channel_notify(
        &self,
        ws: &WorkspaceId,
        channel: &ChannelId,
        user: &UserId,
        notify: ChannelNotify,
    ) -> StoreResult<()>;

    // ----- push targets -----

    /// Registers a push target. The same endpoint registered again by the same user
    /// keeps its id and takes the new kind and keys (a browser re-subscribing). A Web
    /// Push endpoint is one browser, which belongs to one user: registering it deletes,
    /// in the same transaction, the targets with that endpoint of the workspace's other
    /// users (someone else signed in on that browser) and skips their pending deliveries
    /// (`Skipped { reason: "target_replaced" }`). Other workspaces' targets are never
    /// touched, and webhooks may be shared. Errors:
    /// `Invalid("too_many_push_targets")` past [`MAX_PUSH_TARGETS`]; `NotFound` when the
    /// user is not an account of this workspace; either way nothing is deleted.
    async fn add_push_target(
        &self,
        ws: &WorkspaceId,
        user: &UserId,
        target: NewPushTarget,
    ) -> StoreResult<PushTarget>;

    /// The user's push targets, oldest first.
    async fn push_targets(&self, ws: &WorkspaceId, user: &UserId) -> StoreResult<Vec<PushTarget>>;

    /// Deletes one of the user's push targets, and skips its pending deliveries
    /// (`Skipped { reason: "target_deleted" }`). Returns false when the user has no
    /// such target (another user's counts as none).
    async fn delete_push_target(
        &self,
        ws: &WorkspaceId,
        user: &UserId,
        id: &PushTargetId,
    ) -> StoreResult<bool>;

    // ----- expansion: from the log to notifications -----

    /// Claims the cursor of one workspace whose log has messages the cursor has not
    /// passed and that nobody holds (no lease, or a lease that ended before
    /// `lease.now`), for `lease`. `None` when there is no such workspace. A lease held by
    /// `lease.owner` itself is not claimed again (it is already working on it).
    async fn claim_notify_cursor(&self, lease: &Lease) -> StoreResult<Option<NotifyCursor>>;

    /// New messages after `after` in the workspace's log (top-level and replies, not
    /// deleted since), oldest first, at most `limit`, each with its channel, the
    /// accounts it mentions and its broadcast mention. When `after` is older than the
    /// log's pruned part, reading starts after the pruned part (those notifications are
    /// lost; retention is days, the worker seconds behind).
    async fn notify_sources(
        &self,
        ws: &WorkspaceId,
        after: i64,
        limit: u32,
    ) -> StoreResult<NotifySources>;

    /// Members of the source's channel (active accounts other than the author), ordered
    /// by user id, after `after`, at most `limit`, with their settings, preferences and
    /// read marker. With `everyone` false, only the members something could concern
    /// without a broadcast: those the message mentions, thread participants (for a
    /// reply), members whose channel level is `all`, and members with keywords.
    async fn notify_candidates(
        &self,
        ws: &WorkspaceId,
        source: &NotifySource,
        everyone: bool,
        after: Option<&UserId>,
        limit: u32,
    ) -> StoreResult<Vec<Candidate>>;

    /// The first batch of candidates of each of `sources`, in order: for each, what
    /// [`notify_candidates`](Self::notify_candidates) gives with `everyone` =
    /// [`NotifySource::concerns_everyone`], no `after` and `limit`. Read together, so a
    /// page of ordinary messages costs one read rather than one per message (on SQLite a
    /// read is a hand-off to a connection's thread and a fresh snapshot of the file).
    async fn notify_candidates_of(
        &self,
        ws: &WorkspaceId,
        sources: &[&NotifySource],
        limit: u32,
    ) -> StoreResult<Vec<Vec<Candidate>>>;

    /// In one transaction, if `lease` still holds `cursor.workspace_id`'s cursor: stores
    /// the notifications (one already stored for the same user and message is kept, and
    /// gets nothing new), creates a due-now push delivery for each new notification and
    /// each push target its user has, and for each new notification with `email_at` a
    /// pending email delivery of (user, channel) due then, unless one is pending already
    /// (one being sent included: finishing it starts the next, see
    /// [`finish_delivery`](Self::finish_delivery));
    /// moves the cursor to `cursor`'s position, and ends the lease when `release`.
    /// Returns false, having written nothing, when the lease was lost.
    async fn record_notifications(
        &self,
        lease: &Lease,
        cursor: &NotifyCursor,
        notifications: &[NewNotification],
        release: bool,
    ) -> StoreResult<bool>;

    // ----- deliveries -----

    /// Claims up to `limit` pending deliveries that are due (`due_at <= lease.now`) and
    /// not held by a live lease, oldest due first, counting an attempt on each.
    async fn claim_deliveries(&self, lease: &Lease, limit: u32) -> StoreResult<Vec<Delivery>>;

    /// Records how an attempt ended, if `lease` still holds the delivery (returns false
    /// otherwise). `Retry` makes it pending again, due at its time; `TargetGone` deletes
    /// the target and skips its other pending deliveries; `Dead` keeps it as a dead
    /// letter.
    ///
    /// No email is missed: an email being sent still stands for its conversation, so a
    /// notification recorded meanwhile gets no email of its own, and the email may not
    /// list it. So when an email finishes as `Sent { through_seq: Some(_) }` and the
    /// conversation still has notifications that
    /// [`unread_notifications`](Self::unread_notifications) would list (newer than
    /// `through_seq` and than the read marker), the same transaction creates a new
    /// pending email of (user, channel), unless one is pending already, due at
    /// `lease.now` plus the sent one's delay (its `due_at - created_at`).
    async fn finish_delivery(
        &self,
        lease: &Lease,
        id: &DeliveryId,
        outcome: &DeliveryOutcome,
    ) -> StoreResult<bool>;

    /// Records how each of several attempts ended, in one write (one job on SQLite's
    /// writer, one transaction on PostgreSQL): for each `(id, outcome)`, exactly what
    /// [`finish_delivery`](Self::finish_delivery) does, checked against the same `lease`
    /// (its owner and `now`). Returns, in the same order, whether each was recorded: a
    /// delivery the lease no longer holds (lapsed, taken over, or settled meanwhile) is
    /// left as it is and says false, whatever the others say. An id listed twice is
    /// recorded once, by its first outcome. If the write fails, none is recorded.
    async fn finish_deliveries(
        &self,
        lease: &Lease,
        finished: &[(DeliveryId, DeliveryOutcome)],
    ) -> StoreResult<Vec<bool>>;

    /// Everything re-checking a push of notification `n` reads, in one statement (see
    /// [`crate::notify::recheck`]): its channel with the recipient's read marker and mute,
    /// the message, whether the recipient is deactivated, their preferences and the
    /// message's sender. `None` when the channel is gone or the recipient is not a
    /// member of it.
    async fn push_check(&self, n: &Notification) -> StoreResult<Option<PushCheck>>;

    /// [`push_check`](Self::push_check) of each of `ns`, in order, read together (one
    /// SQLite snapshot, one PostgreSQL connection): the deliverer re-checks the pushes
    /// that wait for a re-check at the same moment with one read.
    async fn push_checks(&self, ns: &[&Notification]) -> StoreResult<Vec<Option<PushCheck>>>;

    /// What an email of (user, channel) should list: the user's notifications in the
    /// channel newer than both their read marker and the newest one a sent email
    /// listed, oldest first, at most `limit`.
    async fn unread_notifications(
        &self,
        ws: &WorkspaceId,
        user: &UserId,
        channel: &ChannelId,
        limit: u32,
    ) -> StoreResult<Vec<Notification>>;

    /// The workspace's dead deliveries, newest first, before the given id, at most
    /// `limit`.
    async fn dead_letters(
        &self,
        ws: &WorkspaceId,
        before: Option<&DeliveryId>,
        limit: u32,
    ) -> StoreResult<Vec<Delivery>>;

    // ----- server secrets -----

    /// The server-wide secret `name` (such as the VAPID key pair): the stored one, or
    /// `generated` stored now if there was none. Nodes starting together agree on one.
    async fn server_secret(&self, name: &str, generated: &str) -> StoreResult<String>;
}
