//! The [`Store`] trait on [`SqliteStore`]: each method picks its transaction (a write on
//! the single writer, a plain read, or a read snapshot) and hands the connection to the
//! module that owns that part of the schema.
//!
//! Write methods hand the writer task (`writer`) a job: a closure that owns its inputs and
//! runs the module function on the write connection, inside the batch's transaction and
//! its own savepoint (a top-level post runs on the raw handle without one: it checks
//! before it writes, see `writer`). The job reads the clock when it runs, after `BEGIN
//! IMMEDIATE`, so timestamps follow commit order as seqs do. A job that fails is rolled
//! back to its savepoint; the method returns only after the batch's `COMMIT`.

use async_trait::async_trait;
use futures::future::BoxFuture;
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
    NewSession, NewUser, NewWorkspace, PRUNE_STEP, Posted, QueuedPost, SEARCH_INDEX_STEP,
    SearchHit, SearchRequest, Store, StoreResult, Subscription, UserPatch,
};
use hearth_core::value::{ChannelName, Email, Emoji, Handle, MessageText, WorkspaceSlug};
use sqlx::SqliteConnection;

use crate::error::db;
use crate::post::{self, FastPost};
use crate::search::{self, IndexRow};
use crate::{SqliteStore, access, accounts, channels, files, log, members, messages, reactions};

#[async_trait]
impl Store for SqliteStore {
    async fn create_workspace(
        &self,
        workspace: NewWorkspace,
        owner: NewUser,
    ) -> StoreResult<(Workspace, Committed<User>)> {
        self.write(move |c| {
            Box::pin(accounts::create_workspace(
                c,
                workspace,
                owner,
                Timestamp::now(),
            ))
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
        let ws = ws.clone();
        let id = id.clone();
        self.write(move |c| {
            Box::pin(
                async move { accounts::update_user(c, &ws, &id, patch, Timestamp::now()).await },
            )
        })
        .await
    }

    async fn create_session(&self, session: NewSession) -> StoreResult<()> {
        self.write(move |c| Box::pin(access::create_session(c, session, Timestamp::now())))
            .await
    }

    async fn session(&self, token: &SecretHash) -> StoreResult<Option<Session>> {
        access::session(&mut *self.read().await?, token, Timestamp::now()).await
    }

    async fn delete_session(&self, token: &SecretHash) -> StoreResult<()> {
        let token = token.clone();
        self.write(move |c| Box::pin(async move { access::delete_session(c, &token).await }))
            .await
    }

    async fn create_invite(&self, invite: NewInvite) -> StoreResult<Invite> {
        self.write(move |c| Box::pin(access::create_invite(c, invite, Timestamp::now())))
            .await
    }

    async fn redeem_invite(
        &self,
        ws: &WorkspaceId,
        code: &SecretHash,
        user: NewUser,
    ) -> StoreResult<Committed<User>> {
        let ws = ws.clone();
        let code = code.clone();
        self.write(move |c| {
            Box::pin(
                async move { access::redeem_invite(c, &ws, &code, user, Timestamp::now()).await },
            )
        })
        .await
    }

    async fn create_channel(
        &self,
        ws: &WorkspaceId,
        creator: &UserId,
        channel: NewChannel,
    ) -> StoreResult<Committed<Channel>> {
        let ws = ws.clone();
        let creator = creator.clone();
        self.write(move |c| {
            Box::pin(async move {
                channels::create_channel(c, &ws, &creator, channel, Timestamp::now()).await
            })
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

    async fn channel_for(
        &self,
        ws: &WorkspaceId,
        id: &ChannelId,
        user: &UserId,
    ) -> StoreResult<Option<(Channel, Option<Membership>)>> {
        channels::channel_for(&mut *self.read().await?, ws, id, user).await
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
        let ws = ws.clone();
        let id = id.clone();
        self.write(move |c| {
            Box::pin(
                async move { channels::update_channel(c, &ws, &id, patch, Timestamp::now()).await },
            )
        })
        .await
    }

    async fn add_members(
        &self,
        ws: &WorkspaceId,
        channel: &ChannelId,
        users: &[UserId],
    ) -> StoreResult<Committed<Vec<UserId>>> {
        let ws = ws.clone();
        let channel = channel.clone();
        let users = users.to_vec();
        self.write(move |c| {
            Box::pin(async move {
                members::add_members(c, &ws, &channel, &users, Timestamp::now()).await
            })
        })
        .await
    }

    async fn remove_member(
        &self,
        ws: &WorkspaceId,
        channel: &ChannelId,
        user: &UserId,
    ) -> StoreResult<Committed<bool>> {
        let ws = ws.clone();
        let channel = channel.clone();
        let user = user.clone();
        self.write(move |c| {
            Box::pin(async move {
                members::remove_member(c, &ws, &channel, &user, Timestamp::now()).await
            })
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
        let ws = ws.clone();
        let creator = creator.clone();
        let members = members.to_vec();
        self.write(move |c| {
            Box::pin(async move {
                members::open_conversation(c, &ws, &creator, &members, Timestamp::now()).await
            })
        })
        .await
    }

    async fn queue_post(&self, ws: &WorkspaceId, message: NewMessage) -> StoreResult<QueuedPost> {
        let ws = ws.clone();
        if message.thread_root_id.is_some() || !message.file_ids.is_empty() {
            // Thread replies and posts with files take the general path.
            let general = self.writer.queue(general_post(ws, message)).await?;
            return Ok(QueuedPost::new(general));
        }
        // Top-level posts, the bulk of all writes, take the raw path. Tokenized here, so
        // the writer only copies the index row in.
        let index = IndexRow::of(
            message.text.as_str(),
            false,
            &message.author,
            &message.channel_id,
        );
        let fast_ws = ws.clone();
        let fast = self
            .writer
            .queue_raw(move |raw| {
                post::post_top_level(raw, &fast_ws, message, index, Timestamp::now())
            })
            .await?;
        let writer = self.writer.clone();
        Ok(QueuedPost::new(async move {
            match fast.await? {
                FastPost::Posted(posted) => Ok(posted),
                // A known client_msg_id: the general path answers the retry. It adds
                // nothing to the log, so being queued later keeps every seq in order.
                FastPost::Known(message) => writer.write(general_post(ws, message)).await,
            }
        }))
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
        let ws = ws.clone();
        let id = id.clone();
        self.write(move |c| {
            Box::pin(async move {
                messages::edit_message(c, &ws, &id, text, mentions, Timestamp::now()).await
            })
        })
        .await
    }

    async fn delete_message(
        &self,
        ws: &WorkspaceId,
        id: &MessageId,
    ) -> StoreResult<Committed<Message>> {
        let ws = ws.clone();
        let id = id.clone();
        self.write(move |c| {
            Box::pin(async move { messages::delete_message(c, &ws, &id, Timestamp::now()).await })
        })
        .await
    }

    async fn create_file(
        &self,
        ws: &WorkspaceId,
        file: NewFile,
        quota: Option<u64>,
    ) -> StoreResult<File> {
        let ws = ws.clone();
        self.write(move |c| {
            Box::pin(async move { files::create_file(c, &ws, file, quota, Timestamp::now()).await })
        })
        .await
    }

    async fn file(&self, ws: &WorkspaceId, id: &FileId) -> StoreResult<Option<File>> {
        files::file(&mut *self.read().await?, ws, id).await
    }

    async fn file_channels(&self, ws: &WorkspaceId, id: &FileId) -> StoreResult<Vec<ChannelId>> {
        files::file_channels(&mut *self.read().await?, ws, id).await
    }

    async fn file_usage(&self, ws: &WorkspaceId) -> StoreResult<u64> {
        files::usage(&mut *self.read().await?, ws).await
    }

    async fn delete_file(&self, ws: &WorkspaceId, id: &FileId) -> StoreResult<Committed<()>> {
        let ws = ws.clone();
        let id = id.clone();
        self.write(move |c| {
            Box::pin(async move { files::delete_file(c, &ws, &id, Timestamp::now()).await })
        })
        .await
    }

    async fn files_to_purge(
        &self,
        orphan_before: Timestamp,
        limit: u32,
    ) -> StoreResult<Vec<PurgeFile>> {
        self.write(move |c| {
            Box::pin(async move {
                files::files_to_purge(c, orphan_before, limit, Timestamp::now()).await
            })
        })
        .await
    }

    async fn forget_files(&self, forget: &[PurgeFile]) -> StoreResult<()> {
        let forget = forget.to_vec();
        self.write(move |c| Box::pin(async move { files::forget_files(c, &forget).await }))
            .await
    }

    async fn add_reaction(
        &self,
        ws: &WorkspaceId,
        message: &MessageId,
        user: &UserId,
        emoji: &Emoji,
    ) -> StoreResult<Committed<Message>> {
        let ws = ws.clone();
        let message = message.clone();
        let user = user.clone();
        let emoji = emoji.clone();
        self.write(move |c| {
            Box::pin(async move {
                reactions::add_reaction(c, &ws, &message, &user, &emoji, Timestamp::now()).await
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
        let ws = ws.clone();
        let message = message.clone();
        let user = user.clone();
        let emoji = emoji.clone();
        self.write(move |c| {
            Box::pin(async move {
                reactions::remove_reaction(c, &ws, &message, &user, &emoji, Timestamp::now()).await
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
        let ws = ws.clone();
        let channel = channel.clone();
        let user = user.clone();
        self.write(move |c| {
            Box::pin(async move {
                members::mark_read(c, &ws, &channel, &user, seq, Timestamp::now()).await
            })
        })
        .await
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

    /// Bounded steps, each its own write job, so queued posts go between them.
    async fn user_by_handle(&self, ws: &WorkspaceId, handle: &Handle) -> StoreResult<Option<User>> {
        search::user_by_handle(&mut *self.read().await?, ws, handle).await
    }

    async fn channel_by_name(
        &self,
        ws: &WorkspaceId,
        name: &ChannelName,
    ) -> StoreResult<Option<Channel>> {
        search::channel_by_name(&mut *self.read().await?, ws, name).await
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
        // One snapshot: memberships, messages and reactions as of one commit.
        let mut tx = self.snapshot().await?;
        let out = search::search(&mut tx, ws, request).await?;
        tx.commit().await.map_err(db)?;
        Ok(out)
    }

    async fn index_search_backlog(&self) -> StoreResult<u64> {
        self.write(move |c| Box::pin(search::index_backlog_step(c, SEARCH_INDEX_STEP)))
            .await
    }

    async fn prune_events(&self, before: Timestamp) -> StoreResult<u64> {
        let cutoffs = log::prune_cutoffs(&mut *self.read().await?, before).await?;
        let mut deleted = 0;
        for (ws, through) in cutoffs {
            loop {
                let ws = ws.clone();
                let (n, done) = self
                    .write(move |c| {
                        Box::pin(async move { log::prune_step(c, &ws, through, PRUNE_STEP).await })
                    })
                    .await?;
                deleted += n;
                if done {
                    break;
                }
            }
        }
        // Notification work that is settled goes with the log of its time; only events
        // are counted, as the trait says.
        self.prune_notify_work(before).await?;
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

/// The writer job of a post on the general path (`messages::post_message`): thread
/// replies, posts with files, and retries of a known `client_msg_id`.
fn general_post(
    ws: WorkspaceId,
    message: NewMessage,
) -> impl for<'c> FnOnce(&'c mut SqliteConnection) -> BoxFuture<'c, StoreResult<Posted>> + Send + 'static
{
    move |c| {
        Box::pin(async move { messages::post_message(c, &ws, message, Timestamp::now()).await })
    }
}
