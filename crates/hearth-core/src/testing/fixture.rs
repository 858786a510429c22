//! What the conformance tests build on: a [`Fixture`] workspace made through the store
//! itself, shorthand for validated values, and assertions on store errors and events.

use std::fmt::Debug;
use std::sync::Arc;

use crate::Timestamp;
use crate::event::{Audience, Event, EventPage, EventPayload};
use crate::id::{ChannelId, MessageId, UserId, WorkspaceId};
use crate::mention;
use crate::model::{Channel, ChannelKind, ChannelSummary, Invite, Message, Role, User, Workspace};
use crate::secret::SecretHash;
use crate::store::{
    NewChannel, NewInvite, NewMessage, NewSession, NewUser, NewWorkspace, Store, StoreError,
    StoreResult,
};
use crate::value::{
    ChannelName, ChannelPurpose, ChannelTopic, DisplayName, Email, Emoji, Handle, MessageText,
    WorkspaceName, WorkspaceSlug,
};

/// A syntactically valid Argon2id PHC string. The store keeps password hashes without
/// checking them, so tests skip the (slow) hashing.
pub const FAKE_PASSWORD_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$ZmFrZXNhbHQ$ZmFrZWhhc2g";

pub fn email(s: &str) -> Email {
    Email::parse(s).expect("test email")
}

pub fn handle(s: &str) -> Handle {
    Handle::parse(s).expect("test handle")
}

pub fn channel_name(s: &str) -> ChannelName {
    ChannelName::parse(s).expect("test channel name")
}

pub fn text(s: &str) -> MessageText {
    MessageText::parse(s).expect("test message text")
}

pub fn emoji(s: &str) -> Emoji {
    Emoji::parse(s).expect("test emoji")
}

pub fn topic(s: &str) -> ChannelTopic {
    ChannelTopic::parse(s).expect("test topic")
}

pub fn display_name(s: &str) -> DisplayName {
    DisplayName::parse(s).expect("test display name")
}

/// A new account with a handle derived from its email.
pub fn new_user(address: &str, role: Role) -> NewUser {
    NewUser {
        email: email(address),
        handle: None,
        display_name: display_name(address.split('@').next().unwrap_or("someone")),
        role,
        password_hash: FAKE_PASSWORD_HASH.to_owned(),
    }
}

pub fn new_channel(kind: ChannelKind, name: &str) -> NewChannel {
    NewChannel {
        kind,
        name: channel_name(name),
        topic: topic(""),
        purpose: ChannelPurpose::parse("").expect("empty purpose"),
    }
}

/// A top-level message whose mentions are parsed from its text, as the server does.
pub fn new_message(channel: &ChannelId, author: &UserId, body: &str) -> NewMessage {
    NewMessage {
        channel_id: channel.clone(),
        author: author.clone(),
        text: text(body),
        mentions: mention::parse(body),
        client_msg_id: None,
        thread_root_id: None,
        file_ids: Vec::new(),
    }
}

#[track_caller]
pub fn assert_not_found<T: Debug>(result: StoreResult<T>) {
    match result {
        Err(StoreError::NotFound) => {}
        other => panic!("expected NotFound, got {other:?}"),
    }
}

#[track_caller]
pub fn assert_conflict<T: Debug>(result: StoreResult<T>, code: &str) {
    match result {
        Err(StoreError::Conflict(got)) if got == code => {}
        other => panic!("expected Conflict({code:?}), got {other:?}"),
    }
}

#[track_caller]
pub fn assert_invalid<T: Debug>(result: StoreResult<T>, code: &str) {
    match result {
        Err(StoreError::Invalid(got)) if got == code => {}
        other => panic!("expected Invalid({code:?}), got {other:?}"),
    }
}

/// The kinds of `events`, in order, for readable assertions.
pub fn kinds(events: &[Event]) -> Vec<&'static str> {
    events.iter().map(|e| e.payload.kind()).collect()
}

pub fn seqs(events: &[Event]) -> Vec<i64> {
    events.iter().map(|e| e.seq).collect()
}

#[track_caller]
pub fn assert_strictly_increasing(events: &[Event]) {
    for pair in events.windows(2) {
        assert!(
            pair[0].seq < pair[1].seq,
            "seqs not strictly increasing: {:?}",
            seqs(events)
        );
    }
}

/// Whether `event` belongs to `channel`.
pub fn in_channel(event: &Event, channel: &Channel) -> bool {
    event.payload.audience() == Audience::Channel(channel.id.clone())
}

/// The ids of the messages created in `events`.
pub fn created(events: &[Event]) -> Vec<MessageId> {
    let ids = events.iter().filter_map(|e| match &e.payload {
        EventPayload::MessageCreated { message } => Some(message.id.clone()),
        _ => None,
    });
    ids.collect()
}

/// The events and `last_seq` of a page that is not `ResyncRequired`.
#[track_caller]
pub fn events_of(page: EventPage) -> (Vec<Event>, i64) {
    match page {
        EventPage::Events { events, last_seq } => (events, last_seq),
        EventPage::ResyncRequired => panic!("unexpected ResyncRequired"),
    }
}

async fn redeem(store: &Arc<dyn Store>, ws: &WorkspaceId, code: &SecretHash, name: &str) -> User {
    let user = new_user(&format!("{name}@example.test"), Role::Member);
    let redeemed = store.redeem_invite(ws, code, user).await;
    redeemed.expect("redeem_invite").value
}

/// A workspace made through the store: the owner `ada` and members `bob` and `cy`, and an
/// open invite for adding more people. Emails are `<name>@example.test` in every fixture,
/// so two fixtures on one store also check that accounts are per workspace.
pub struct Fixture {
    pub store: Arc<dyn Store>,
    pub ws: Workspace,
    pub owner: User,
    pub bob: User,
    pub cy: User,
    invite: SecretHash,
}

impl Fixture {
    /// The workspace `acme`.
    pub async fn new(store: Arc<dyn Store>) -> Self {
        Self::with_slug(store, "acme").await
    }

    pub async fn with_slug(store: Arc<dyn Store>, slug: &str) -> Self {
        let workspace = NewWorkspace {
            name: WorkspaceName::parse(slug).expect("workspace name"),
            slug: WorkspaceSlug::parse(slug).expect("workspace slug"),
        };
        let (ws, owner) = store
            .create_workspace(workspace, new_user("ada@example.test", Role::Owner))
            .await
            .expect("create_workspace");
        let owner = owner.value;
        let invite = SecretHash::of(&format!("open invite of {slug}"));
        store
            .create_invite(NewInvite {
                workspace_id: ws.id.clone(),
                code: invite.clone(),
                email: None,
                role: Role::Member,
                created_by: owner.id.clone(),
                expires_at: Timestamp::now().plus_secs(3600),
            })
            .await
            .expect("create_invite");
        let bob = redeem(&store, &ws.id, &invite, "bob").await;
        let cy = redeem(&store, &ws.id, &invite, "cy").await;
        Self {
            store,
            ws,
            owner,
            bob,
            cy,
            invite,
        }
    }

    pub fn ws_id(&self) -> &WorkspaceId {
        &self.ws.id
    }

    /// The code of the fixture's open invite (role member, valid for an hour).
    pub fn open_invite(&self) -> &SecretHash {
        &self.invite
    }

    /// An invite made by the owner, and its code.
    pub async fn invite(
        &self,
        secret: &str,
        address: Option<&str>,
        role: Role,
        expires_at: Timestamp,
    ) -> (Invite, SecretHash) {
        let code = SecretHash::of(secret);
        let invite = self
            .store
            .create_invite(NewInvite {
                workspace_id: self.ws.id.clone(),
                code: code.clone(),
                email: address.map(email),
                role,
                created_by: self.owner.id.clone(),
                expires_at,
            })
            .await
            .expect("create_invite");
        (invite, code)
    }

    /// A new member `<name>@example.test`, through the fixture's open invite.
    pub async fn member(&self, name: &str) -> User {
        redeem(&self.store, self.ws_id(), &self.invite, name).await
    }

    pub async fn session(&self, user: &User, secret: &str, expires_at: Timestamp) -> SecretHash {
        let token = SecretHash::of(secret);
        self.store
            .create_session(NewSession {
                workspace_id: self.ws.id.clone(),
                user_id: user.id.clone(),
                token: token.clone(),
                expires_at,
            })
            .await
            .expect("create_session");
        token
    }

    /// A public channel created by `creator` with `members` added.
    pub async fn channel(&self, creator: &User, name: &str, members: &[&User]) -> Channel {
        self.channel_of_kind(ChannelKind::Public, creator, name, members)
            .await
    }

    pub async fn private_channel(&self, creator: &User, name: &str, members: &[&User]) -> Channel {
        self.channel_of_kind(ChannelKind::Private, creator, name, members)
            .await
    }

    async fn channel_of_kind(
        &self,
        kind: ChannelKind,
        creator: &User,
        name: &str,
        members: &[&User],
    ) -> Channel {
        let channel = self
            .store
            .create_channel(self.ws_id(), &creator.id, new_channel(kind, name))
            .await
            .expect("create_channel")
            .value;
        self.add(&channel, members).await;
        channel
    }

    pub async fn add(&self, channel: &Channel, members: &[&User]) {
        if members.is_empty() {
            return;
        }
        let ids: Vec<UserId> = members.iter().map(|u| u.id.clone()).collect();
        self.store
            .add_members(self.ws_id(), &channel.id, &ids)
            .await
            .expect("add_members");
    }

    pub async fn dm(&self, members: &[&User]) -> Channel {
        let ids: Vec<UserId> = members.iter().map(|u| u.id.clone()).collect();
        self.store
            .open_conversation(self.ws_id(), &members[0].id, &ids)
            .await
            .expect("open_conversation")
            .value
    }

    pub async fn post(&self, channel: &Channel, author: &User, body: &str) -> Message {
        let message = new_message(&channel.id, &author.id, body);
        self.store
            .post_message(self.ws_id(), message)
            .await
            .expect("post_message")
            .message
    }

    pub async fn reply(&self, root: &Message, author: &User, body: &str) -> Message {
        let mut message = new_message(&root.channel_id, &author.id, body);
        message.thread_root_id = Some(root.id.clone());
        self.store
            .post_message(self.ws_id(), message)
            .await
            .expect("post reply")
            .message
    }

    pub async fn message(&self, id: &MessageId) -> Message {
        self.store
            .message(self.ws_id(), id)
            .await
            .expect("message")
            .expect("message exists")
    }

    pub async fn last_seq(&self) -> i64 {
        self.store.last_seq(self.ws_id()).await.expect("last_seq")
    }

    /// Everything `reader` may see after `after`, read page by page, and the final
    /// `last_seq`.
    pub async fn events(&self, reader: &User, after: i64) -> (Vec<Event>, i64) {
        let mut all = Vec::new();
        let mut after = after;
        for _ in 0..10_000 {
            let page = self
                .store
                .events_after(self.ws_id(), &reader.id, after, 100)
                .await;
            let (events, last_seq) = events_of(page.expect("events_after"));
            assert!(
                last_seq >= after,
                "last_seq {last_seq} went back from {after}"
            );
            if events.is_empty() && last_seq == after {
                return (all, last_seq);
            }
            all.extend(events);
            after = last_seq;
        }
        panic!("events_after never caught up");
    }

    /// `user`'s sidebar entry for `channel`.
    pub async fn summary(&self, user: &User, channel: &Channel) -> ChannelSummary {
        self.store
            .list_user_channels(self.ws_id(), &user.id)
            .await
            .expect("list_user_channels")
            .into_iter()
            .find(|s| s.channel.id == channel.id)
            .expect("channel is in the user's list")
    }
}
