//! [`PublishingStore`]: the store as the API sees it, which publishes every committed
//! change's events to the bus.
//!
//! Architecture Invariant: fan-out happens after commit, in exactly one place. Handlers
//! and the gateway never publish themselves; every mutation goes through this decorator,
//! which publishes `Committed::events` once the inner store has returned `Ok` (that is,
//! after the transaction committed). Reads pass straight through.

use std::sync::Arc;

use async_trait::async_trait;
use hearth_core::Timestamp;
use hearth_core::event::{Event, EventPage};
use hearth_core::id::{ChannelId, FileId, MessageId, UserId, WorkspaceId};
use hearth_core::mention::Mentions;
use hearth_core::model::{
    Channel, ChannelSummary, Committed, Credentials, File, Invite, Member, Membership, Message,
    PurgeFile, Session, User, Workspace,
};
use hearth_core::secret::SecretHash;
use hearth_core::store::{
    ChannelPatch, HistoryRange, MessagePage, NewChannel, NewFile, NewInvite, NewMessage,
    NewSession, NewUser, NewWorkspace, QueuedPost, SearchHit, SearchRequest, Store, StoreError,
    StoreResult, Subscription, UserPatch,
};
use hearth_core::value::{ChannelName, Email, Emoji, Handle, MessageText, WorkspaceSlug};

use hearth_core::id::{DeliveryId, PushTargetId};
use hearth_core::notify::{
    Candidate, ChannelNotify, Delivery, DeliveryOutcome, Lease, NewNotification, NewPushTarget,
    Notification, NotifyCursor, NotifyPrefs, NotifySource, NotifySources, PushCheck, PushTarget,
};
use hearth_core::store::NotifyStore;

use super::bus::Bus;

pub struct PublishingStore {
    inner: Arc<dyn Store>,
    bus: Arc<dyn Bus>,
}

impl PublishingStore {
    pub fn new(inner: Arc<dyn Store>, bus: Arc<dyn Bus>) -> Self {
        Self { inner, bus }
    }

    fn publish(&self, ws: &WorkspaceId, events: &[Event]) {
        if !events.is_empty() {
            self.bus.publish(ws, events.into());
        }
    }

    /// Publishes a committed result's events and passes it on.
    fn committed<T>(
        &self,
        ws: &WorkspaceId,
        result: StoreResult<Committed<T>>,
    ) -> StoreResult<Committed<T>> {
        if let Ok(committed) = &result {
            self.publish(ws, &committed.events);
        }
        result
    }
}

#[async_trait]
impl Store for PublishingStore {
    async fn create_workspace(
        &self,
        workspace: NewWorkspace,
        owner: NewUser,
    ) -> StoreResult<(Workspace, Committed<User>)> {
        let (ws, owner) = self.inner.create_workspace(workspace, owner).await?;
        self.publish(&ws.id, &owner.events);
        Ok((ws, owner))
    }

    async fn workspace(&self, id: &WorkspaceId) -> StoreResult<Option<Workspace>> {
        self.inner.workspace(id).await
    }

    async fn workspace_by_slug(&self, slug: &WorkspaceSlug) -> StoreResult<Option<Workspace>> {
        self.inner.workspace_by_slug(slug).await
    }

    async fn user(&self, ws: &WorkspaceId, id: &UserId) -> StoreResult<Option<User>> {
        self.inner.user(ws, id).await
    }

    async fn credentials(
        &self,
        ws: &WorkspaceId,
        email: &Email,
    ) -> StoreResult<Option<Credentials>> {
        self.inner.credentials(ws, email).await
    }

    async fn list_users(
        &self,
        ws: &WorkspaceId,
        after: Option<&UserId>,
        limit: u32,
    ) -> StoreResult<Vec<User>> {
        self.inner.list_users(ws, after, limit).await
    }

    async fn update_user(
        &self,
        ws: &WorkspaceId,
        id: &UserId,
        patch: UserPatch,
    ) -> StoreResult<Committed<User>> {
        self.committed(ws, self.inner.update_user(ws, id, patch).await)
    }

    async fn create_session(&self, session: NewSession) -> StoreResult<()> {
        self.inner.create_session(session).await
    }

    async fn session(&self, token: &SecretHash) -> StoreResult<Option<Session>> {
        self.inner.session(token).await
    }

    async fn delete_session(&self, token: &SecretHash) -> StoreResult<()> {
        self.inner.delete_session(token).await
    }

    async fn create_invite(&self, invite: NewInvite) -> StoreResult<Invite> {
        self.inner.create_invite(invite).await
    }

    async fn redeem_invite(
        &self,
        ws: &WorkspaceId,
        code: &SecretHash,
        user: NewUser,
    ) -> StoreResult<Committed<User>> {
        self.committed(ws, self.inner.redeem_invite(ws, code, user).await)
    }

    async fn create_channel(
        &self,
        ws: &WorkspaceId,
        creator: &UserId,
        channel: NewChannel,
    ) -> StoreResult<Committed<Channel>> {
        self.committed(ws, self.inner.create_channel(ws, creator, channel).await)
    }

    async fn channel(&self, ws: &WorkspaceId, id: &ChannelId) -> StoreResult<Option<Channel>> {
        self.inner.channel(ws, id).await
    }

    async fn membership(
        &self,
        ws: &WorkspaceId,
        channel: &ChannelId,
        user: &UserId,
    ) -> StoreResult<Option<Membership>> {
        self.inner.membership(ws, channel, user).await
    }

    async fn channel_for(
        &self,
        ws: &WorkspaceId,
        id: &ChannelId,
        user: &UserId,
    ) -> StoreResult<Option<(Channel, Option<Membership>)>> {
        self.inner.channel_for(ws, id, user).await
    }

    async fn list_user_channels(
        &self,
        ws: &WorkspaceId,
        user: &UserId,
    ) -> StoreResult<Vec<ChannelSummary>> {
        self.inner.list_user_channels(ws, user).await
    }

    async fn browse_channels(&self, ws: &WorkspaceId) -> StoreResult<Vec<(Channel, i64)>> {
        self.inner.browse_channels(ws).await
    }

    async fn update_channel(
        &self,
        ws: &WorkspaceId,
        id: &ChannelId,
        patch: ChannelPatch,
    ) -> StoreResult<Committed<Channel>> {
        self.committed(ws, self.inner.update_channel(ws, id, patch).await)
    }

    async fn add_members(
        &self,
        ws: &WorkspaceId,
        channel: &ChannelId,
        users: &[UserId],
    ) -> StoreResult<Committed<Vec<UserId>>> {
        self.committed(ws, self.inner.add_members(ws, channel, users).await)
    }

    async fn remove_member(
        &self,
        ws: &WorkspaceId,
        channel: &ChannelId,
        user: &UserId,
    ) -> StoreResult<Committed<bool>> {
        self.committed(ws, self.inner.remove_member(ws, channel, user).await)
    }

    async fn list_members(
        &self,
        ws: &WorkspaceId,
        channel: &ChannelId,
        after: Option<&UserId>,
        limit: u32,
    ) -> StoreResult<Vec<Member>> {
        self.inner.list_members(ws, channel, after, limit).await
    }

    async fn open_conversation(
        &self,
        ws: &WorkspaceId,
        creator: &UserId,
        members: &[UserId],
    ) -> StoreResult<Committed<Channel>> {
        self.committed(ws, self.inner.open_conversation(ws, creator, members).await)
    }

    async fn queue_post(&self, ws: &WorkspaceId, message: NewMessage) -> StoreResult<QueuedPost> {
        let commit = self.inner.queue_post(ws, message).await?;
        let (bus, ws) = (self.bus.clone(), ws.clone());
        // Awaited and published on a task of its own: a caller that stops waiting (a
        // socket closed with sends in flight) drops only the answer, and the committed
        // post still reaches everyone.
        let published = tokio::spawn(async move {
            let posted = commit.await?;
            if !posted.events.is_empty() {
                bus.publish(&ws, posted.events.as_slice().into());
            }
            Ok(posted)
        });
        Ok(QueuedPost::new(async move {
            published
                .await
                .unwrap_or_else(|e| Err(StoreError::Internal(format!("publishing a post: {e}"))))
        }))
    }

    async fn message(&self, ws: &WorkspaceId, id: &MessageId) -> StoreResult<Option<Message>> {
        self.inner.message(ws, id).await
    }

    async fn list_messages(
        &self,
        ws: &WorkspaceId,
        channel: &ChannelId,
        range: HistoryRange,
    ) -> StoreResult<MessagePage> {
        self.inner.list_messages(ws, channel, range).await
    }

    async fn list_replies(
        &self,
        ws: &WorkspaceId,
        root: &MessageId,
        after: i64,
        limit: u32,
    ) -> StoreResult<MessagePage> {
        self.inner.list_replies(ws, root, after, limit).await
    }

    async fn edit_message(
        &self,
        ws: &WorkspaceId,
        id: &MessageId,
        text: MessageText,
        mentions: Mentions,
    ) -> StoreResult<Committed<Message>> {
        self.committed(ws, self.inner.edit_message(ws, id, text, mentions).await)
    }

    async fn delete_message(
        &self,
        ws: &WorkspaceId,
        id: &MessageId,
    ) -> StoreResult<Committed<Message>> {
        self.committed(ws, self.inner.delete_message(ws, id).await)
    }

    async fn add_reaction(
        &self,
        ws: &WorkspaceId,
        message: &MessageId,
        user: &UserId,
        emoji: &Emoji,
    ) -> StoreResult<Committed<Message>> {
        self.committed(ws, self.inner.add_reaction(ws, message, user, emoji).await)
    }

    async fn remove_reaction(
        &self,
        ws: &WorkspaceId,
        message: &MessageId,
        user: &UserId,
        emoji: &Emoji,
    ) -> StoreResult<Committed<Message>> {
        self.committed(
            ws,
            self.inner.remove_reaction(ws, message, user, emoji).await,
        )
    }

    async fn mark_read(
        &self,
        ws: &WorkspaceId,
        channel: &ChannelId,
        user: &UserId,
        seq: i64,
    ) -> StoreResult<Committed<Membership>> {
        self.committed(ws, self.inner.mark_read(ws, channel, user, seq).await)
    }

    async fn events_after(
        &self,
        ws: &WorkspaceId,
        user: &UserId,
        after: i64,
        limit: u32,
    ) -> StoreResult<EventPage> {
        self.inner.events_after(ws, user, after, limit).await
    }

    async fn subscription(&self, ws: &WorkspaceId, user: &UserId) -> StoreResult<Subscription> {
        self.inner.subscription(ws, user).await
    }

    async fn log_after(&self, ws: &WorkspaceId, after: i64, limit: u32) -> StoreResult<EventPage> {
        self.inner.log_after(ws, after, limit).await
    }

    async fn last_seq(&self, ws: &WorkspaceId) -> StoreResult<i64> {
        self.inner.last_seq(ws).await
    }

    async fn user_by_handle(&self, ws: &WorkspaceId, handle: &Handle) -> StoreResult<Option<User>> {
        self.inner.user_by_handle(ws, handle).await
    }

    async fn channel_by_name(
        &self,
        ws: &WorkspaceId,
        name: &ChannelName,
    ) -> StoreResult<Option<Channel>> {
        self.inner.channel_by_name(ws, name).await
    }

    async fn find_conversation(
        &self,
        ws: &WorkspaceId,
        members: &[UserId],
    ) -> StoreResult<Option<Channel>> {
        self.inner.find_conversation(ws, members).await
    }

    async fn create_file(
        &self,
        ws: &WorkspaceId,
        file: NewFile,
        quota: Option<u64>,
    ) -> StoreResult<File> {
        self.inner.create_file(ws, file, quota).await
    }

    async fn file(&self, ws: &WorkspaceId, id: &FileId) -> StoreResult<Option<File>> {
        self.inner.file(ws, id).await
    }

    async fn file_channels(&self, ws: &WorkspaceId, id: &FileId) -> StoreResult<Vec<ChannelId>> {
        self.inner.file_channels(ws, id).await
    }

    async fn file_usage(&self, ws: &WorkspaceId) -> StoreResult<u64> {
        self.inner.file_usage(ws).await
    }

    async fn delete_file(&self, ws: &WorkspaceId, id: &FileId) -> StoreResult<Committed<()>> {
        self.committed(ws, self.inner.delete_file(ws, id).await)
    }

    async fn files_to_purge(
        &self,
        orphan_before: Timestamp,
        limit: u32,
    ) -> StoreResult<Vec<PurgeFile>> {
        self.inner.files_to_purge(orphan_before, limit).await
    }

    async fn forget_files(&self, files: &[PurgeFile]) -> StoreResult<()> {
        self.inner.forget_files(files).await
    }

    async fn search_messages(
        &self,
        ws: &WorkspaceId,
        request: &SearchRequest,
    ) -> StoreResult<Vec<SearchHit>> {
        self.inner.search_messages(ws, request).await
    }

    async fn index_search_backlog(&self) -> StoreResult<u64> {
        self.inner.index_search_backlog().await
    }

    async fn prune_events(&self, before: Timestamp) -> StoreResult<u64> {
        self.inner.prune_events(before).await
    }

    async fn ping(&self) -> StoreResult<()> {
        self.inner.ping().await
    }
}

/// Notification work appends no events: it passes straight through.
#[async_trait]
impl NotifyStore for PublishingStore {
    async fn notify_prefs(&self, ws: &WorkspaceId, user: &UserId) -> StoreResult<NotifyPrefs> {
        self.inner.notify_prefs(ws, user).await
    }

    async fn set_notify_prefs(
        &self,
        ws: &WorkspaceId,
        user: &UserId,
        prefs: &NotifyPrefs,
    ) -> StoreResult<()> {
        self.inner.set_notify_prefs(ws, user, prefs).await
    }

    async fn channel_notify(
        &self,
        ws: &WorkspaceId,
        channel: &ChannelId,
        user: &UserId,
    ) -> StoreResult<Option<ChannelNotify>> {
        self.inner.channel_notify(ws, channel, user).await
    }

    async fn set_channel_notify(
        &self,
        ws: &WorkspaceId,
        channel: &ChannelId,
        user: &UserId,
        notify: ChannelNotify,
    ) -> StoreResult<()> {
        self.inner
            .set_channel_notify(ws, channel, user, notify)
            .await
    }

    async fn add_push_target(
        &self,
        ws: &WorkspaceId,
        user: &UserId,
        target: NewPushTarget,
    ) -> StoreResult<PushTarget> {
        self.inner.add_push_target(ws, user, target).await
    }

    async fn push_targets(&self, ws: &WorkspaceId, user: &UserId) -> StoreResult<Vec<PushTarget>> {
        self.inner.push_targets(ws, user).await
    }

    async fn delete_push_target(
        &self,
        ws: &WorkspaceId,
        user: &UserId,
        id: &PushTargetId,
    ) -> StoreResult<bool> {
        self.inner.delete_push_target(ws, user, id).await
    }

    async fn claim_notify_cursor(&self, lease: &Lease) -> StoreResult<Option<NotifyCursor>> {
        self.inner.claim_notify_cursor(lease).await
    }

    async fn notify_sources(
        &self,
        ws: &WorkspaceId,
        after: i64,
        limit: u32,
    ) -> StoreResult<NotifySources> {
        self.inner.notify_sources(ws, after, limit).await
    }

    async fn notify_candidates(
        &self,
        ws: &WorkspaceId,
        source: &NotifySource,
        everyone: bool,
        after: Option<&UserId>,
        limit: u32,
    ) -> StoreResult<Vec<Candidate>> {
        self.inner
            .notify_candidates(ws, source, everyone, after, limit)
            .await
    }

    async fn notify_candidates_of(
        &self,
        ws: &WorkspaceId,
        sources: &[&NotifySource],
        limit: u32,
    ) -> StoreResult<Vec<Vec<Candidate>>> {
        self.inner.notify_candidates_of(ws, sources, limit).await
    }

    async fn record_notifications(
        &self,
        lease: &Lease,
        cursor: &NotifyCursor,
        notifications: &[NewNotification],
        release: bool,
    ) -> StoreResult<bool> {
        self.inner
            .record_notifications(lease, cursor, notifications, release)
            .await
    }

    async fn claim_deliveries(&self, lease: &Lease, limit: u32) -> StoreResult<Vec<Delivery>> {
        self.inner.claim_deliveries(lease, limit).await
    }

    async fn finish_delivery(
        &self,
        lease: &Lease,
        id: &DeliveryId,
        outcome: &DeliveryOutcome,
    ) -> StoreResult<bool> {
        self.inner.finish_delivery(lease, id, outcome).await
    }

    async fn finish_deliveries(
        &self,
        lease: &Lease,
        finished: &[(DeliveryId, DeliveryOutcome)],
    ) -> StoreResult<Vec<bool>> {
        self.inner.finish_deliveries(lease, finished).await
    }

    async fn push_check(&self, n: &Notification) -> StoreResult<Option<PushCheck>> {
        self.inner.push_check(n).await
    }

    async fn push_checks(&self, ns: &[&Notification]) -> StoreResult<Vec<Option<PushCheck>>> {
        self.inner.push_checks(ns).await
    }

    async fn unread_notifications(
        &self,
        ws: &WorkspaceId,
        user: &UserId,
        channel: &ChannelId,
        limit: u32,
    ) -> StoreResult<Vec<Notification>> {
        self.inner
            .unread_notifications(ws, user, channel, limit)
            .await
    }

    async fn dead_letters(
        &self,
        ws: &WorkspaceId,
        before: Option<&DeliveryId>,
        limit: u32,
    ) -> StoreResult<Vec<Delivery>> {
        self.inner.dead_letters(ws, before, limit).await
    }

    async fn server_secret(&self, name: &str, generated: &str) -> StoreResult<String> {
        self.inner.server_secret(name, generated).await
    }
}
