//! The storage port: everything Hearth keeps durably goes through [`Store`].
//!
//! Backends (hearth-sqlite, hearth-postgres) implement it; the server holds it as
//! `Arc<dyn Store>`. The contract every implementation keeps, checked by the conformance
//! suite in `hearth_core::testing`:
//!
//! - **Tenant scope.** Every method takes the workspace id and never reads or writes a row
//!   of another workspace. An id of another workspace behaves exactly like a missing one.
//! - **Durable first.** A method returns `Ok` only after its transaction committed.
//! - **One log.** Every durable change appends its events (see [`crate::event`]) in the
//!   same transaction, with seqs strictly increasing in commit order, and returns them in
//!   [`Committed::events`]. A message's `seq` is the seq of its `message.created` event.
//! - **No policy.** Permission rules live in [`crate::permission`] and are applied by the
//!   caller; the store enforces only integrity (uniqueness, existence, idempotency).

mod error;
mod input;
mod notify;
mod queued;
mod reactions;
mod search;

pub use error::{StoreError, StoreResult};
pub use input::{
    ChannelPatch, HistoryRange, MessagePage, NewChannel, NewFile, NewInvite, NewMessage,
    NewSession, NewUser, NewWorkspace, Posted, Subscription, UserPatch,
};
pub use notify::{MAX_PUSH_TARGETS, NotifyStore};
pub use queued::QueuedPost;
pub use reactions::{reactions_column, summarize};
pub use search::{
    RELEVANCE_WINDOW, SEARCH_INDEX_STEP, SearchHit, SearchKey, SearchRequest, SearchSort,
};

use async_trait::async_trait;

use crate::Timestamp;
use crate::event::EventPage;
use crate::id::{ChannelId, FileId, MessageId, UserId, WorkspaceId};
use crate::model::{
    Channel, ChannelSummary, Committed, Credentials, File, Invite, Member, Membership, Message,
    PurgeFile, Session, User, Workspace,
};
use crate::secret::SecretHash;
use crate::value::{ChannelName, Email, Emoji, Handle, MessageText, WorkspaceSlug};

/// The most events [`Store::prune_events`] deletes in one write transaction.
pub const PRUNE_STEP: i64 = 1_000;

/// Every store is also a [`NotifyStore`], so the server holds one `Arc<dyn Store>`.
#[async_trait]
pub trait Store: NotifyStore + Send + Sync + 'static {
    // ----- workspaces and accounts -----

    /// Creates a workspace and its owner account in one transaction.
    /// Errors: `Conflict("slug_taken")`.
    async fn create_workspace(
        &self,
        workspace: NewWorkspace,
        owner: NewUser,
    ) -> StoreResult<(Workspace, Committed<User>)>;

    async fn workspace(&self, id: &WorkspaceId) -> StoreResult<Option<Workspace>>;

    async fn workspace_by_slug(&self, slug: &WorkspaceSlug) -> StoreResult<Option<Workspace>>;

    async fn user(&self, ws: &WorkspaceId, id: &UserId) -> StoreResult<Option<User>>;

    /// The account with this email and its password hash, for login.
    async fn credentials(
        &self,
        ws: &WorkspaceId,
        email: &Email,
    ) -> StoreResult<Option<Credentials>>;

    /// Accounts ordered by id, after the given id, at most `limit`.
    async fn list_users(
        &self,
        ws: &WorkspaceId,
        after: Option<&UserId>,
        limit: u32,
    ) -> StoreResult<Vec<User>>;

    /// Changes an account and appends `user.updated`. Deactivating an account deletes all
    /// its sessions in the same transaction. Errors: `NotFound`, `Conflict("handle_taken")`,
    /// `Invalid("last_owner")` when the change would leave the workspace without an
    /// active owner.
    async fn update_user(
        &self,
        ws: &WorkspaceId,
        id: &UserId,
        patch: UserPatch,
    ) -> StoreResult<Committed<User>>;

    // ----- sessions and invites -----

    async fn create_session(&self, session: NewSession) -> StoreResult<()>;

    /// The unexpired session with this token hash, with its account; `None` when the
    /// session is unknown, expired, or its account deactivated.
    async fn session(&self, token: &SecretHash) -> StoreResult<Option<Session>>;

    /// Ends one session. Ending an unknown session is not an error.
    async fn delete_session(&self, token: &SecretHash) -> StoreResult<()>;

    async fn create_invite(&self, invite: NewInvite) -> StoreResult<Invite>;

    /// Creates an account from an invite, atomically: the invite must exist in this
    /// workspace, be unexpired, unused if single-use (then it is used up), and match the
    /// email if it names one. The account gets the invite's role (`user.role` is ignored).
    /// Every failure is `Invalid("invalid_invite")`, so callers
    /// cannot probe which codes exist; it is checked before `Conflict("email_taken")`, so a
    /// used invite never reveals which address redeemed it.
    async fn redeem_invite(
        &self,
        ws: &WorkspaceId,
        code: &SecretHash,
        user: NewUser,
    ) -> StoreResult<Committed<User>>;

    // ----- channels -----

    /// Creates a public or private channel with its creator as channel admin; appends
    /// `channel.created` then `member.joined`. Errors: `Conflict("name_taken")`.
    async fn create_channel(
        &self,
        ws: &WorkspaceId,
        creator: &UserId,
        channel: NewChannel,
    ) -> StoreResult<Committed<Channel>>;

    async fn channel(&self, ws: &WorkspaceId, id: &ChannelId) -> StoreResult<Option<Channel>>;

    async fn membership(
        &self,
        ws: &WorkspaceId,
        channel: &ChannelId,
        user: &UserId,
    ) -> StoreResult<Option<Membership>>;

    /// A channel with `user`'s membership of it (`None` if the channel does not exist):
    /// what every request about a channel checks first. The default asks [`Store::channel`]
    /// and [`Store::membership`]; a backend may answer both in one query.
    async fn channel_for(
        &self,
        ws: &WorkspaceId,
        id: &ChannelId,
        user: &UserId,
    ) -> StoreResult<Option<(Channel, Option<Membership>)>> {
        let Some(channel) = self.channel(ws, id).await? else {
            return Ok(None);
        };
        let membership = self.membership(ws, id, user).await?;
        Ok(Some((channel, membership)))
    }

    /// The user's channels, DMs and group DMs with their badges, archived ones included.
    async fn list_user_channels(
        &self,
        ws: &WorkspaceId,
        user: &UserId,
    ) -> StoreResult<Vec<ChannelSummary>>;

    /// Every public channel of the workspace with its member count, by name.
    async fn browse_channels(&self, ws: &WorkspaceId) -> StoreResult<Vec<(Channel, i64)>>;

    /// Changes name, topic, purpose or archived; appends `channel.updated` when something
    /// changed. Errors: `NotFound`, `Conflict("name_taken")`.
    async fn update_channel(
        &self,
        ws: &WorkspaceId,
        id: &ChannelId,
        patch: ChannelPatch,
    ) -> StoreResult<Committed<Channel>>;

    /// Adds accounts to a channel as members, appending `member.joined` for each one that
    /// was not already a member; returns the ones added. Every id must be an active
    /// account of this workspace, else `NotFound` and nothing is added. New members start
    /// caught up (read marker at the channel's newest message), as in Slack, so joining a
    /// busy channel does not light up its whole history as unread.
    async fn add_members(
        &self,
        ws: &WorkspaceId,
        channel: &ChannelId,
        users: &[UserId],
    ) -> StoreResult<Committed<Vec<UserId>>>;

    /// Removes a member, appending `member.left` (which the removed user still sees).
    /// Returns false, with no event, when the user was not a member.
    async fn remove_member(
        &self,
        ws: &WorkspaceId,
        channel: &ChannelId,
        user: &UserId,
    ) -> StoreResult<Committed<bool>>;

    /// Members ordered by user id, after the given id, at most `limit`.
    async fn list_members(
        &self,
        ws: &WorkspaceId,
        channel: &ChannelId,
        after: Option<&UserId>,
        limit: u32,
    ) -> StoreResult<Vec<Member>>;

    /// The DM (two ids, or one for a self-DM) or group DM (three to nine) between exactly
    /// these accounts, created with its memberships and events if it does not exist yet.
    /// `members` includes the caller. Errors: `NotFound` if an id is not an active account.
    async fn open_conversation(
        &self,
        ws: &WorkspaceId,
        creator: &UserId,
        members: &[UserId],
    ) -> StoreResult<Committed<Channel>>;

    // ----- messages -----

    /// Stores a message (or thread reply) and appends `message.created` (and, for a
    /// reply, `message.updated` of the root with its new reply count). With a
    /// `client_msg_id` already used by this author in this workspace, returns the original
    /// with `replayed = true` and no events; `Invalid("idempotency_key_reused")` if the
    /// text or target differ. Errors: `NotFound` (channel or root), `Invalid("invalid_thread_root")`
    /// when the root is itself a reply or in another channel. Each of `file_ids` must be a
    /// file of this workspace that is not deleted, else `Invalid("file_not_found")` and
    /// nothing is stored; the message carries their attachments in the order given, and
    /// a retry must name the same files.
    ///
    /// The same as [`Store::queue_post`] followed by awaiting its commit.
    async fn post_message(&self, ws: &WorkspaceId, message: NewMessage) -> StoreResult<Posted> {
        self.queue_post(ws, message).await?.await
    }

    /// Takes a post to be committed after every post taken before it, and returns
    /// without waiting for the commit; awaiting the [`QueuedPost`] gives what
    /// [`Store::post_message`] gives, refusals included. Posts that one caller queues one
    /// after another (each `queue_post` returned before the next is called) get seqs in
    /// that order, and may share a commit: so one connection can have several sends in
    /// flight and still see them stored in the order it sent them. An `Err` here
    /// (`Unavailable`: the write queue stayed full, or the store is closing) means
    /// nothing was taken.
    async fn queue_post(&self, ws: &WorkspaceId, message: NewMessage) -> StoreResult<QueuedPost>;

    async fn message(&self, ws: &WorkspaceId, id: &MessageId) -> StoreResult<Option<Message>>;

    /// A page of a channel's top-level messages (thread replies excluded), oldest first.
    /// Deleted messages stay in place as tombstones.
    async fn list_messages(
        &self,
        ws: &WorkspaceId,
        channel: &ChannelId,
        range: HistoryRange,
    ) -> StoreResult<MessagePage>;

    /// Replies of a thread with seq after `after`, oldest first.
    async fn list_replies(
        &self,
        ws: &WorkspaceId,
        root: &MessageId,
        after: i64,
        limit: u32,
    ) -> StoreResult<MessagePage>;

    /// Replaces a message's text and mentions, sets `edited_at`, appends `message.updated`.
    async fn edit_message(
        &self,
        ws: &WorkspaceId,
        id: &MessageId,
        text: MessageText,
        mentions: crate::mention::Mentions,
    ) -> StoreResult<Committed<Message>>;

    /// Turns a message into a tombstone (text, reactions, mentions and files removed),
    /// appends `message.deleted` (and `message.updated` of its thread root). A file that
    /// no other live message shares is deleted with it (see [`Store::delete_file`]).
    /// Deleting a deleted message changes nothing and appends nothing.
    async fn delete_message(
        &self,
        ws: &WorkspaceId,
        id: &MessageId,
    ) -> StoreResult<Committed<Message>>;

    /// Adds a reaction; appends `reaction.added` unless this user already reacted so.
    async fn add_reaction(
        &self,
        ws: &WorkspaceId,
        message: &MessageId,
        user: &UserId,
        emoji: &Emoji,
    ) -> StoreResult<Committed<Message>>;

    /// Removes a reaction; appends `reaction.removed` if there was one.
    async fn remove_reaction(
        &self,
        ws: &WorkspaceId,
        message: &MessageId,
        user: &UserId,
        emoji: &Emoji,
    ) -> StoreResult<Committed<Message>>;

    /// Moves the member's read marker to `seq` (backwards too: "mark unread"), appending
    /// `read_marker.updated` when it moved. Errors: `NotFound` if not a member,
    /// `Invalid("invalid_seq")` if `seq` is past the channel's newest message.
    async fn mark_read(
        &self,
        ws: &WorkspaceId,
        channel: &ChannelId,
        user: &UserId,
        seq: i64,
    ) -> StoreResult<Committed<Membership>>;

    // ----- files -----

    /// Records an uploaded file whose bytes are already stored. With a `quota`, the
    /// workspace's files (deleted ones excepted) and this one must fit in `quota` bytes,
    /// checked atomically with the insert, else `Invalid("quota_exceeded")`. Errors:
    /// `NotFound` when the uploader is not an active account of the workspace.
    async fn create_file(
        &self,
        ws: &WorkspaceId,
        file: NewFile,
        quota: Option<u64>,
    ) -> StoreResult<File>;

    /// A file that is not deleted.
    async fn file(&self, ws: &WorkspaceId, id: &FileId) -> StoreResult<Option<File>>;

    /// The channels where a live (not deleted) message shares the file, sorted: what
    /// decides who besides its uploader may see it.
    async fn file_channels(&self, ws: &WorkspaceId, id: &FileId) -> StoreResult<Vec<ChannelId>>;

    /// The bytes the workspace's files (deleted ones excepted) take up.
    async fn file_usage(&self, ws: &WorkspaceId) -> StoreResult<u64>;

    /// Deletes a file: nobody can see it any more, every live message that shared it
    /// loses its attachment (appending `message.updated` for each), and its bytes are
    /// left for [`Store::files_to_purge`]. Errors: `NotFound` (deleted already included).
    async fn delete_file(&self, ws: &WorkspaceId, id: &FileId) -> StoreResult<Committed<()>>;

    /// Deletes files never shared by any message and uploaded before `orphan_before`,
    /// then returns up to `limit` deleted files (of every workspace) whose bytes have
    /// not been removed yet, oldest deletion first.
    async fn files_to_purge(
        &self,
        orphan_before: Timestamp,
        limit: u32,
    ) -> StoreResult<Vec<PurgeFile>>;

    /// Forgets deleted files whose bytes (and thumbnails) were removed from storage.
    async fn forget_files(&self, files: &[PurgeFile]) -> StoreResult<()>;

    // ----- search -----

    /// The account with this handle, deactivated or not.
    async fn user_by_handle(&self, ws: &WorkspaceId, handle: &Handle) -> StoreResult<Option<User>>;

    /// The public or private channel with this name.
    async fn channel_by_name(
        &self,
        ws: &WorkspaceId,
        name: &ChannelName,
    ) -> StoreResult<Option<Channel>>;

    /// The DM or group DM between exactly these accounts (the caller included, in any
    /// order, repeats allowed), if it exists; unlike [`Store::open_conversation`] it never
    /// creates one.
    async fn find_conversation(
        &self,
        ws: &WorkspaceId,
        members: &[UserId],
    ) -> StoreResult<Option<Channel>>;

    /// Messages matching the request, at most `request.limit`, in its sort order. Deleted
    /// messages never match; an edited one matches by its current text only. The index
    /// is written in the same transaction as the message, so a committed post, edit or
    /// delete is what the next search sees. Messages of other workspaces, and of
    /// channels outside the request's visibility, are never read, counted or ranked.
    async fn search_messages(
        &self,
        ws: &WorkspaceId,
        request: &SearchRequest,
    ) -> StoreResult<Vec<SearchHit>>;

    /// Adds to the search index up to [`SEARCH_INDEX_STEP`] messages that were stored
    /// without it (before search existed, or written straight into the database by
    /// `migrate-data` or a data generator), in one write transaction; returns how many.
    /// 0 means the index is complete. Until then, such messages are missing from
    /// searches with words (they match filters alone).
    async fn index_search_backlog(&self) -> StoreResult<u64>;

    // ----- the event log -----

    /// The events after `after` that `user` may see, at most `limit`, oldest first.
    /// `ResyncRequired` when `after` is newer than the log or older than what was pruned.
    /// `NotFound` when `user` is not an account of this workspace.
    async fn events_after(
        &self,
        ws: &WorkspaceId,
        user: &UserId,
        after: i64,
        limit: u32,
    ) -> StoreResult<EventPage>;

    /// The workspace's newest seq.
    async fn last_seq(&self, ws: &WorkspaceId) -> StoreResult<i64>;

    // ----- realtime delivery -----

    /// What a realtime connection starts from: the channels `user` is a member of
    /// (public and private channels, DMs and group DMs, archived ones included; not the
    /// ones they left), sorted by id, and the workspace's newest seq, read in ONE snapshot
    /// so that every event with a larger seq was committed after these memberships were
    /// read. A deactivated account still gets its subscription: who may connect is the
    /// caller's decision. `NotFound` when `user` is not an account of this workspace.
    async fn subscription(&self, ws: &WorkspaceId, user: &UserId) -> StoreResult<Subscription>;

    /// Every event of the workspace after `after`, unfiltered (every channel's, every
    /// user's read markers), at most `limit`, oldest first: what a fan-out node reads to
    /// fill a gap in what the bus delivered. `ResyncRequired` when `after` is newer than
    /// the log or older than what was pruned (same rule as [`Store::events_after`]);
    /// `last_seq` as in `events_after`: on a full page the last event's seq, otherwise the
    /// log's newest seq. `NotFound` when the workspace does not exist.
    async fn log_after(&self, ws: &WorkspaceId, after: i64, limit: u32) -> StoreResult<EventPage>;

    /// Deletes events created before `before` in every workspace, remembering per
    /// workspace the newest seq pruned so resumes from before it get `ResyncRequired`.
    /// Returns how many events were deleted. Deletes at most [`PRUNE_STEP`] events per
    /// write transaction, so a large backlog (a first prune after a long time, an
    /// imported history) never holds the workspace's writers up for long.
    async fn prune_events(&self, before: Timestamp) -> StoreResult<u64>;

    /// Whether the database answers; for `/readyz`.
    async fn ping(&self) -> StoreResult<()>;
}
