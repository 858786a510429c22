//! The [`Store`] trait on [`PgStore`]: each method picks how it runs (`transactions`: a write
//! batched under its workspace's lock, a write that appends nothing, a plain read, or a
//! read snapshot) and hands the connection to the module that owns that part of the
//! schema.

use std::sync::atomic::Ordering;

use async_trait::async_trait;
use hearth_core::Timestamp;
use hearth_core::event::EventPage;
use hearth_core::id::{ChannelId, FileId, MessageId, UserId, WorkspaceId};
use hearth_core::mention::Mentions;
use hearth_core::model::{
    Channel, ChannelSummary, Committed, Credentials, File, Invite, Member, Membership, Message,
    PurgeFile, Session, User, Workspace,
};
use hearth_core::secret::SecretHash;
use hearth_core::store::{
    ChannelPatch, HistoryRange, MessagePage, NewChannel, NewFile, NewInvite, NewMessage,
    NewSession, NewUser, NewWorkspace, PRUNE_STEP, QueuedPost, SearchHit, SearchRequest, Store,
    StoreResult, Subscription, UserPatch,
};
use hearth_core::value::{ChannelName, Email, Emoji, Handle, MessageText, WorkspaceSlug};
use tokio::sync::oneshot;

use crate::error::db;
use crate::{
    PgStore, access, accounts, channels, files, index, log, members, messages, posts, reactions,
    search,
};

#[async_trait]
impl Store for PgStore {
    async fn create_workspace(
        &self,
        workspace: NewWorkspace,
        owner: NewUser,
    ) -> StoreResult<(Workspace, Committed<User>)> {
        // The workspace is new: no one else can write to it before this commits.
        self.write_unlogged(move |c, now| {
            Box::pin(accounts::create_workspace(c, workspace, owner, now))
        })
        .await
    }

    async fn workspace(&self, id: &WorkspaceId) -> StoreResult<Option<Workspace>> {
        accounts::workspace(&mut *self.read().await?, id).await
    }

    async fn workspace_by_slug(&self, slug: &WorkspaceSlug) -> StoreResult<Option<Workspace>> {
        accounts::workspace_by_slug(&mut *self.read().await?, slug).await
    }

    async fn user(&self, ws: &WorkspaceId, id: &UserId) -> StoreResult<Option<User>> {
        accounts::user(&mut *self.read().await?, ws, id).await
    }

    async fn credentials(
        &self,
        ws: &WorkspaceId,
        email: &Email,
    ) -> StoreResult<Option<Credentials>> {
        accounts::credentials(&mut *self.read().await?, ws, email).await
    }

    async fn list_users(
        &self,
        ws: &WorkspaceId,
        after: Option<&UserId>,
        limit: u32,
    ) -> StoreResult<Vec<User>> {
        accounts::list_users(&mut *self.read().await?, ws, after, limit).await
    }

    async fn update_user(
        &self,
        ws: &WorkspaceId,
        id: &UserId,
        patch: UserPatch,
    ) -> StoreResult<Committed<User>> {
        let (ws, id) = (ws.clone(), id.clone());
        self.write(ws.clone(), move |c, seqs, now| {
            Box::pin(async move { accounts::update_user(c, seqs, &ws, &id, patch, now).await })
        })
        .await
    }

    async fn create_session(&self, session: NewSession) -> StoreResult<()> {
        self.write_unlogged(move |c, now| Box::pin(access::create_session(c, session, now)))
            .await
    }

    async fn session(&self, token: &SecretHash) -> StoreResult<Option<Session>> {
        access::session(&mut *self.read().await?, token, Timestamp::now()).await
    }

    async fn delete_session(&self, token: &SecretHash) -> StoreResult<()> {
        let token = token.clone();
        self.write_unlogged(move |c, _| {
            Box::pin(async move { access::delete_session(c, &token).await })
        })
        .await
    }

    async fn create_invite(&self, invite: NewInvite) -> StoreResult<Invite> {
        self.write_unlogged(move |c, now| Box::pin(access::create_invite(c, invite, now)))
            .await
    }

    async fn redeem_invite(
        &self,
        ws: &WorkspaceId,
        code: &SecretHash,
        user: NewUser,
    ) -> StoreResult<Committed<User>> {
        let (ws, code) = (ws.clone(), code.clone());
        self.write(ws.clone(), move |c, seqs, now| {
            Box::pin(async move { access::redeem_invite(c, seqs, &ws, &code, user, now).await })
        })
        .await
    }

    async fn create_channel(
        &self,
        ws: &WorkspaceId,
        creator: &UserId,
        channel: NewChannel,
    ) -> StoreResult<Committed<Channel>> {
        let (ws, creator) = (ws.clone(), creator.clone());
        self.write(ws.clone(), move |c, seqs, now| {
            Box::pin(
                async move { channels::create_channel(c, seqs, &ws, &creator, channel, now).await },
            )
        })
        .await
    }

    async fn channel(&self, ws: &WorkspaceId, id: &ChannelId) -> StoreResult<Option<Channel>> {
        channels::channel(&mut *self.read().await?, ws, id).await
    }

    async fn membership(
        &self,
        ws: &WorkspaceId,
        channel: &ChannelId,
        user: &UserId,
    ) -> StoreResult<Option<Membership>> {
        members::membership(&mut *self.read().await?, ws, channel, user).await
    }

    async fn list_user_channels(
        &self,
        ws: &WorkspaceId,
        user: &UserId,
    ) -> StoreResult<Vec<ChannelSummary>> {
        // Badges and member lists come from two queries; one snapshot keeps them agreeing.
        let mut tx = self.snapshot().await?;
        let out = channels::list_user_channels(&mut tx, ws, user).await?;
        tx.commit().await.map_err(db)?;
        Ok(out)
    }

    async fn browse_channels(&self, ws: &WorkspaceId) -> StoreResult<Vec<(Channel, i64)>> {
        channels::browse_channels(&mut *self.read().await?, ws).await
    }

    async fn update_channel(
        &self,
        ws: &WorkspaceId,
        id: &ChannelId,
        patch: ChannelPatch,
    ) -> StoreResult<Committed<Channel>> {
        let (ws, id) = (ws.clone(), id.clone());
        self.write(ws.clone(), move |c, seqs, now| {
            Box::pin(async move { channels::update_channel(c, seqs, &ws, &id, patch, now).await })
        })
        .await
    }

    async fn add_members(
        &self,
        ws: &WorkspaceId,
        channel: &ChannelId,
        users: &[UserId],
    ) -> StoreResult<Committed<Vec<UserId>>> {
        let (ws, channel, users) = (ws.clone(), channel.clone(), users.to_vec());
        self.write(ws.clone(), move |c, seqs, now| {
            Box::pin(async move { members::add_members(c, seqs, &ws, &channel, &users, now).await })
        })
        .await
    }

    async fn remove_member(
        &self,
        ws: &WorkspaceId,
        channel: &ChannelId,
        user: &UserId,
    ) -> StoreResult<Committed<bool>> {
        let (ws, channel, user) = (ws.clone(), channel.clone(), user.clone());
        self.write(ws.clone(), move |c, seqs, now| {
            Box::pin(
                async move { members::remove_member(c, seqs, &ws, &channel, &user, now).await },
            )
        })
        .await
    }

    async fn list_members(
        &self,
        ws: &WorkspaceId,
        channel: &ChannelId,
        after: Option<&UserId>,
        limit: u32,
    ) -> StoreResult<Vec<Member>> {
        members::list_members(&mut *self.read().await?, ws, channel, after, limit).await
    }

    async fn open_conversation(
        &self,
        ws: &WorkspaceId,
        creator: &UserId,
        members: &[UserId],
    ) -> StoreResult<Committed<Channel>> {
        let (ws, creator, members) = (ws.clone(), creator.clone(), members.to_vec());
        self.write(ws.clone(), move |c, seqs, now| {
            Box::pin(async move {
                members::open_conversation(c, seqs, &ws, &creator, &members, now).await
            })
        })
        .await
    }

    async fn queue_post(&self, ws: &WorkspaceId, message: NewMessage) -> StoreResult<QueuedPost> {
        let (reply, answer) = oneshot::channel();
        let commit = self
            .queue(ws, posts::job(ws, message, reply), answer)
            .await?;
        Ok(QueuedPost::new(commit))
    }

    async fn message(&self, ws: &WorkspaceId, id: &MessageId) -> StoreResult<Option<Message>> {
        let mut tx = self.snapshot().await?;
        let out = messages::message(&mut tx, ws, id).await?;
        tx.commit().await.map_err(db)?;
        Ok(out)
    }

    async fn list_messages(
        &self,
        ws: &WorkspaceId,
        channel: &ChannelId,
        range: HistoryRange,
    ) -> StoreResult<MessagePage> {
        // One statement: consistent without a transaction.
        messages::list_messages(&mut *self.read().await?, ws, channel, range).await
    }

    async fn list_replies(
        &self,
        ws: &WorkspaceId,
        root: &MessageId,
        after: i64,
        limit: u32,
    ) -> StoreResult<MessagePage> {
        // One statement: consistent without a transaction.
        messages::list_replies(&mut *self.read().await?, ws, root, after, limit).await
    }

    async fn edit_message(
        &self,
        ws: &WorkspaceId,
        id: &MessageId,
        text: MessageText,
        mentions: Mentions,
    ) -> StoreResult<Committed<Message>> {
        let (ws, id) = (ws.clone(), id.clone());
        // Tokenized here, not under the workspace lock.
        let new = messages::NewText::new(text, mentions);
        self.write(ws.clone(), move |c, seqs, now| {
            Box::pin(async move { messages::edit_message(c, seqs, &ws, &id, new, now).await })
        })
        .await
    }

    async fn delete_message(
        &self,
        ws: &WorkspaceId,
        id: &MessageId,
    ) -> StoreResult<Committed<Message>> {
        let (ws, id) = (ws.clone(), id.clone());
        self.write(ws.clone(), move |c, seqs, now| {
            Box::pin(async move { messages::delete_message(c, seqs, &ws, &id, now).await })
        })
        .await
    }

    async fn add_reaction(
        &self,
        ws: &WorkspaceId,
        message: &MessageId,
        user: &UserId,
        emoji: &Emoji,
    ) -> StoreResult<Committed<Message>> {
        let (ws, message) = (ws.clone(), message.clone());
        let (user, emoji) = (user.clone(), emoji.clone());
        self.write(ws.clone(), move |c, seqs, now| {
            Box::pin(async move {
                reactions::add_reaction(c, seqs, &ws, &message, &user, &emoji, now).await
            })
        })
        .await
    }

    async fn remove_reaction(
        &self,
        ws: &WorkspaceId,
        message: &MessageId,
        user: &UserId,
        emoji: &Emoji,
    ) -> StoreResult<Committed<Message>> {
        let (ws, message) = (ws.clone(), message.clone());
        let (user, emoji) = (user.clone(), emoji.clone());
        self.write(ws.clone(), move |c, seqs, now| {
            Box::pin(async move {
                reactions::remove_reaction(c, seqs, &ws, &message, &user, &emoji, now).await
            })
        })
        .await
    }

    async fn mark_read(
        &self,
        ws: &WorkspaceId,
        channel: &ChannelId,
        user: &UserId,
        seq: i64,
    ) -> StoreResult<Committed<Membership>> {
        let (ws, channel, user) = (ws.clone(), channel.clone(), user.clone());
        self.write(ws.clone(), move |c, seqs, now| {
            Box::pin(
                async move { members::mark_read(c, seqs, &ws, &channel, &user, seq, now).await },
            )
        })
        .await
    }

    /// Appends nothing, so it takes no workspace lock: the quota has a lock of its own
    /// (see the `files` module).
    async fn create_file(
        &self,
        ws: &WorkspaceId,
        file: NewFile,
        quota: Option<u64>,
    ) -> StoreResult<File> {
        let ws = ws.clone();
        self.write_unlogged(move |c, now| {
            Box::pin(async move { files::create(c, &ws, file, quota, now).await })
        })
        .await
    }

    async fn file(&self, ws: &WorkspaceId, id: &FileId) -> StoreResult<Option<File>> {
        files::file(&mut *self.read().await?, ws, id).await
    }

    async fn file_channels(&self, ws: &WorkspaceId, id: &FileId) -> StoreResult<Vec<ChannelId>> {
        files::channels(&mut *self.read().await?, ws, id).await
    }

    async fn file_usage(&self, ws: &WorkspaceId) -> StoreResult<u64> {
        files::usage(&mut *self.read().await?, ws).await
    }

    async fn delete_file(&self, ws: &WorkspaceId, id: &FileId) -> StoreResult<Committed<()>> {
        let (ws, id) = (ws.clone(), id.clone());
        self.write(ws.clone(), move |c, seqs, now| {
            Box::pin(async move { files::delete(c, seqs, &ws, &id, now).await })
        })
        .await
    }

    /// Across workspaces, without their locks: deleting an orphan appends nothing, and the
    /// rows it takes are locked (see the `files` module).
    async fn files_to_purge(
        &self,
        orphan_before: Timestamp,
        limit: u32,
    ) -> StoreResult<Vec<PurgeFile>> {
        self.write_unlogged(move |c, now| {
            Box::pin(async move { files::to_purge(c, orphan_before, limit, now).await })
        })
        .await
    }

    async fn forget_files(&self, files: &[PurgeFile]) -> StoreResult<()> {
        let gone = files.to_vec();
        self.write_unlogged(move |c, _| Box::pin(async move { files::forget(c, &gone).await }))
            .await
    }

    async fn user_by_handle(&self, ws: &WorkspaceId, handle: &Handle) -> StoreResult<Option<User>> {
        accounts::user_by_handle(&mut *self.read().await?, ws, handle).await
    }

    async fn channel_by_name(
        &self,
        ws: &WorkspaceId,
        name: &ChannelName,
    ) -> StoreResult<Option<Channel>> {
        channels::channel_by_name(&mut *self.read().await?, ws, name).await
    }

    async fn find_conversation(
        &self,
        ws: &WorkspaceId,
        members: &[UserId],
    ) -> StoreResult<Option<Channel>> {
        members::find_conversation(&mut *self.read().await?, ws, members).await
    }

    async fn search_messages(
        &self,
        ws: &WorkspaceId,
        request: &SearchRequest,
    ) -> StoreResult<Vec<SearchHit>> {
        // Hits and their reactions from one snapshot.
        let mut tx = self.snapshot().await?;
        let by_pairs = self.by_pairs(&mut tx).await?;
        let out = search::search_messages(&mut tx, ws, request, by_pairs).await?;
        tx.commit().await.map_err(db)?;
        Ok(out)
    }

    /// A write of its own, without any workspace's lock: indexing changes nothing anyone
    /// sees, and the rows it takes are locked (and skipped by other nodes) until it commits.
    async fn index_search_backlog(&self) -> StoreResult<u64> {
        let indexed = self
            .write_unlogged(|c, _| Box::pin(index::backlog_step(c)))
            .await?;
        if indexed > 0 {
            self.backlog_indexed.store(true, Ordering::Relaxed);
            // Rows without pairs turned up (written straight into the tables).
            self.pairs_complete.store(false, Ordering::Relaxed);
        } else if self.backlog_indexed.swap(false, Ordering::Relaxed)
            && let Err(e) = index::after_backlog(&self.pool).await
        {
            // Tried again on the indexer's next round.
            self.backlog_indexed.store(true, Ordering::Relaxed);
            return Err(e);
        }
        Ok(indexed)
    }

    async fn events_after(
        &self,
        ws: &WorkspaceId,
        user: &UserId,
        after: i64,
        limit: u32,
    ) -> StoreResult<EventPage> {
        let mut tx = self.snapshot().await?;
        let out = log::events_after(&mut tx, ws, user, after, limit).await?;
        tx.commit().await.map_err(db)?;
        Ok(out)
    }

    async fn last_seq(&self, ws: &WorkspaceId) -> StoreResult<i64> {
        log::last_seq(&mut *self.read().await?, ws).await
    }

    async fn subscription(&self, ws: &WorkspaceId, user: &UserId) -> StoreResult<Subscription> {
        let mut tx = self.snapshot().await?;
        let out = log::subscription(&mut tx, ws, user).await?;
        tx.commit().await.map_err(db)?;
        Ok(out)
    }

    async fn log_after(&self, ws: &WorkspaceId, after: i64, limit: u32) -> StoreResult<EventPage> {
        let mut tx = self.snapshot().await?;
        let out = log::log_after(&mut tx, ws, after, limit).await?;
        tx.commit().await.map_err(db)?;
        Ok(out)
    }

    /// Bounded steps, each a write under the workspace's lock, so that pruning holds up
    /// the workspace's writers for one step at a time.
    async fn prune_events(&self, before: Timestamp) -> StoreResult<u64> {
        let cutoffs = log::prune_cutoffs(&mut *self.read().await?, before).await?;
        let mut deleted = 0;
        for (ws, through) in cutoffs {
            loop {
                let job_ws = ws.clone();
                let (n, done) = self
                    .write(ws.clone(), move |c, _, _| {
                        Box::pin(
                            async move { log::prune_step(c, &job_ws, through, PRUNE_STEP).await },
                        )
                    })
                    .await?;
                deleted += n;
                if done {
                    break;
                }
            }
        }
        // Notifications and deliveries past retention go too, without any workspace's
        // lock (they are not the log); the count returned is the events'.
        self.prune_notifications(before).await?;
        Ok(deleted)
    }

    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1")
            .execute(&mut *self.read().await?)
            .await
            .map_err(db)?;
        Ok(())
    }
}
