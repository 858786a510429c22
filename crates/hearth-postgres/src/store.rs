//! The [`Store`] trait on [`PgStore`]: each method picks its transaction (a write under its
//! workspace's lock, a write that appends nothing, a plain read, or a read snapshot) and
//! hands the connection to the module that owns that part of the schema.
//!
//! A write is a job: a closure that owns its inputs and runs a module function on the
//! connection of a transaction that [`PgStore::write`] begins, locks and commits. The job
//! gets the time, read after the lock, so timestamps follow commit order as seqs do. If
//! the job fails, the transaction rolls back whole: in PostgreSQL a failed statement
//! aborts the transaction anyway, so module functions check before they write rather
//! than catch errors and carry on.
//!
//! # Cancellation
//!
//! A caller may stop waiting at any point (a client disconnects, a timeout fires), which
//! drops its future. Dropping sqlx futures part-way is not safe: a `begin()` dropped while
//! its `BEGIN` is in flight returns the connection to the pool *inside* a transaction
//! (sqlx 0.9.0, transact-rs/sqlx#4393), so the next borrower's `BEGIN` is ignored and its
//! statements run in the leftover transaction, possibly a read-only snapshot; and an
//! `acquire()` dropped while it checks or opens a connection throws that connection away,
//! so callers that keep timing out make the pool reconnect over and over. So nothing here
//! is cancelled half-way: a write runs to its end (commit or rollback) on a task of its
//! own, as on SQLite, where a queued job commits and only its answer is dropped; and reads
//! take their connection or snapshot on a task, so a cancelled read gives back a whole
//! connection or a `Transaction` whose drop rolls back.

use async_trait::async_trait;
use futures::future::BoxFuture;
use hearth_core::Timestamp;
use hearth_core::event::EventPage;
use hearth_core::id::{ChannelId, MessageId, UserId, WorkspaceId};
use hearth_core::mention::Mentions;
use hearth_core::model::{
    Channel, ChannelSummary, Committed, Credentials, Invite, Member, Membership, Message, Session,
    User, Workspace,
};
use hearth_core::secret::SecretHash;
use hearth_core::store::{
    ChannelPatch, HistoryRange, MessagePage, NewChannel, NewInvite, NewMessage, NewSession,
    NewUser, NewWorkspace, Posted, Store, StoreError, StoreResult, Subscription, UserPatch,
};
use hearth_core::value::{Email, Emoji, MessageText, WorkspaceSlug};
use sqlx::pool::PoolConnection;
use sqlx::{PgConnection, PgPool, Postgres, Transaction};
use tokio::sync::oneshot;

use crate::batch::{self, Job};
use crate::error::db;
use crate::log::Seqs;
use crate::{PgStore, access, accounts, channels, log, members, messages, posts, reactions};

/// The isolation of multi-statement reads: every statement sees the snapshot of the first.
const SNAPSHOT: &str = "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY";

impl PgStore {
    /// Runs a write job that may append to `ws`'s log in the next batch of that workspace
    /// (see the `batch` module): under the workspace's lock, in a savepoint of its own;
    /// returns once the batch committed.
    async fn write<T, F>(&self, ws: WorkspaceId, job: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(
                &'c mut PgConnection,
                &'c mut Seqs,
                Timestamp,
            ) -> BoxFuture<'c, StoreResult<T>>
            + Send
            + 'static,
    {
        let (reply, answer) = oneshot::channel();
        self.submit(&ws, Job::Run(batch::run(job, reply)), answer)
            .await
    }

    /// Queues `job` and waits for the answer it sends to `answer`. A caller that stops
    /// waiting leaves the job queued: it still runs, only the answer goes unheard.
    async fn submit<T>(
        &self,
        ws: &WorkspaceId,
        job: Job,
        answer: oneshot::Receiver<StoreResult<T>>,
    ) -> StoreResult<T> {
        self.batchers.submit(ws, job).await?;
        // The sender is dropped unused only if the job never ran: its batch failed before
        // reaching it.
        answer.await.unwrap_or_else(|_| {
            Err(StoreError::Unavailable(
                "the write was not committed".to_owned(),
            ))
        })
    }

    /// Runs a write job that appends no event (sessions, invites, a new workspace), so it
    /// needs no workspace lock.
    async fn write_unlogged<T, F>(&self, job: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut PgConnection, Timestamp) -> BoxFuture<'c, StoreResult<T>>
            + Send
            + 'static,
    {
        detached(transaction(self.pool.clone(), job)).await
    }

    /// A pooled connection for reads that need no snapshot across statements.
    async fn read(&self) -> StoreResult<PoolConnection<Postgres>> {
        let pool = self.pool.clone();
        detached(async move { pool.acquire().await.map_err(db) }).await
    }

    /// A read-only transaction in which every statement sees the same snapshot.
    async fn snapshot(&self) -> StoreResult<Transaction<'static, Postgres>> {
        let pool = self.pool.clone();
        detached(async move { pool.begin_with(SNAPSHOT).await.map_err(db) }).await
    }
}

/// Begins, reads the clock, runs the job, commits: a write that takes no workspace lock.
async fn transaction<T, F>(pool: PgPool, job: F) -> StoreResult<T>
where
    F: for<'c> FnOnce(&'c mut PgConnection, Timestamp) -> BoxFuture<'c, StoreResult<T>>,
{
    let mut tx = pool.begin().await.map_err(db)?;
    let now = Timestamp::now();
    match job(&mut tx, now).await {
        Ok(out) => {
            tx.commit().await.map_err(db)?;
            Ok(out)
        }
        Err(e) => {
            // Rolled back here rather than when the connection returns to the pool, so its
            // row locks are free before the caller hears of the failure. If the rollback
            // fails the connection is broken, and closing it rolls back too.
            let _ = tx.rollback().await;
            Err(e)
        }
    }
}

/// Runs `work` to its end on a task of its own, whether or not the caller still waits
/// (see the module docs).
async fn detached<T: Send + 'static>(
    work: impl Future<Output = StoreResult<T>> + Send + 'static,
) -> StoreResult<T> {
    tokio::spawn(work)
        .await
        .map_err(|e| StoreError::Internal(format!("store task failed: {e}")))?
}

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

    async fn post_message(&self, ws: &WorkspaceId, message: NewMessage) -> StoreResult<Posted> {
        let (reply, answer) = oneshot::channel();
        self.submit(ws, posts::job(ws, message, reply), answer)
            .await
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
        let mut tx = self.snapshot().await?;
        let out = messages::list_messages(&mut tx, ws, channel, range).await?;
        tx.commit().await.map_err(db)?;
        Ok(out)
    }

    async fn list_replies(
        &self,
        ws: &WorkspaceId,
        root: &MessageId,
        after: i64,
        limit: u32,
    ) -> StoreResult<MessagePage> {
        let mut tx = self.snapshot().await?;
        let out = messages::list_replies(&mut tx, ws, root, after, limit).await?;
        tx.commit().await.map_err(db)?;
        Ok(out)
    }

    async fn edit_message(
        &self,
        ws: &WorkspaceId,
        id: &MessageId,
        text: MessageText,
        mentions: Mentions,
    ) -> StoreResult<Committed<Message>> {
        let (ws, id) = (ws.clone(), id.clone());
        self.write(ws.clone(), move |c, seqs, now| {
            Box::pin(
                async move { messages::edit_message(c, seqs, &ws, &id, text, mentions, now).await },
            )
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

    /// One transaction per workspace, each under that workspace's lock, so that pruning
    /// holds up each workspace's writers only for as long as its own deletion takes.
    async fn prune_events(&self, before: Timestamp) -> StoreResult<u64> {
        let cutoffs = log::prune_cutoffs(&mut *self.read().await?, before).await?;
        let mut deleted = 0;
        for (ws, through) in cutoffs {
            deleted += self
                .write(ws.clone(), move |c, _, _| {
                    Box::pin(async move { log::prune(c, &ws, through).await })
                })
                .await?;
        }
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
