//! Tenant isolation: through every method that takes ids, an object of another workspace
//! behaves exactly like one that does not exist, and nothing of it changes.

use std::fmt::Debug;
use std::sync::Arc;

use crate::event::{Audience, EventPayload};
use crate::id::{ChannelId, MessageId, UserId};
use crate::mention::Mentions;
use crate::model::Channel;
use crate::store::{ChannelPatch, HistoryRange, Store, StoreError, StoreResult, UserPatch};

use super::*;

/// What a result looks like from outside, for comparing a foreign id with a missing one.
fn outcome<T: Debug>(result: &StoreResult<T>) -> String {
    match result {
        Ok(value) => format!("Ok({value:?})"),
        Err(StoreError::NotFound) => "NotFound".to_owned(),
        Err(StoreError::Conflict(code)) => format!("Conflict({code})"),
        Err(StoreError::Invalid(code)) => format!("Invalid({code})"),
        Err(other) => panic!("store failure: {other:?}"),
    }
}

#[track_caller]
fn assert_like_missing<T: Debug>(foreign: StoreResult<T>, missing: StoreResult<T>) {
    assert_eq!(
        outcome(&foreign),
        outcome(&missing),
        "a foreign id must look missing"
    );
}

/// Two workspaces with the same people: `acme` and `globex`.
async fn two_workspaces(store: &Arc<dyn Store>) -> (Fixture, Fixture) {
    let a = Fixture::new(store.clone()).await;
    let b = Fixture::with_slug(store.clone(), "globex").await;
    (a, b)
}

pub async fn accounts_and_names_are_per_workspace(store: Arc<dyn Store>) {
    let (a, b) = two_workspaces(&store).await;
    assert_eq!(
        (a.owner.handle.as_str(), b.owner.handle.as_str()),
        ("ada", "ada")
    );
    let ada = email("ada@example.test");
    assert_eq!(
        store
            .credentials(a.ws_id(), &ada)
            .await
            .unwrap()
            .unwrap()
            .user,
        a.owner
    );
    assert_eq!(
        store
            .credentials(b.ws_id(), &ada)
            .await
            .unwrap()
            .unwrap()
            .user,
        b.owner
    );
    assert_ne!(a.owner.id, b.owner.id);
    let general_a = a.channel(&a.owner, "general", &[]).await;
    let general_b = b.channel(&b.owner, "general", &[]).await;
    let browsed: Vec<ChannelId> = store
        .browse_channels(a.ws_id())
        .await
        .unwrap()
        .into_iter()
        .map(|(c, _)| c.id)
        .collect();
    assert_eq!(browsed, [general_a.id]);
    assert_ne!(general_b.id, browsed[0]);

    let users = store.list_users(a.ws_id(), None, 100).await.unwrap();
    assert!(users.iter().all(|u| u.workspace_id == a.ws.id));
    assert_eq!(users.len(), 3);
    assert_eq!(store.user(a.ws_id(), &b.bob.id).await.unwrap(), None);
    let patch = UserPatch {
        display_name: Some(display_name("Hijacked")),
        ..UserPatch::default()
    };
    assert_not_found(store.update_user(a.ws_id(), &b.bob.id, patch).await);
    assert_eq!(
        store.user(b.ws_id(), &b.bob.id).await.unwrap(),
        Some(b.bob.clone())
    );
    let theirs = store.list_user_channels(a.ws_id(), &b.owner.id).await;
    let nobody = store
        .list_user_channels(a.ws_id(), &UserId::generate())
        .await;
    assert_like_missing(theirs, nobody);
}

pub async fn foreign_channel_is_missing(store: Arc<dyn Store>) {
    let (a, b) = two_workspaces(&store).await;
    let theirs = b.channel(&b.owner, "general", &[&b.bob]).await;
    let message = b.post(&theirs, &b.bob, "globex only").await;
    let b_last = b.last_seq().await;
    let ws = a.ws_id();
    let missing = ChannelId::generate();

    assert_eq!(store.channel(ws, &theirs.id).await.unwrap(), None);
    assert_eq!(
        store.membership(ws, &theirs.id, &b.bob.id).await.unwrap(),
        None
    );
    assert_eq!(
        store.channel_for(ws, &theirs.id, &b.bob.id).await.unwrap(),
        None
    );
    assert_like_missing(
        store.list_members(ws, &theirs.id, None, 10).await,
        store.list_members(ws, &missing, None, 10).await,
    );
    let range = HistoryRange::Before {
        before: i64::MAX,
        limit: 10,
    };
    assert_like_missing(
        store.list_messages(ws, &theirs.id, range).await,
        store.list_messages(ws, &missing, range).await,
    );
    let patch = ChannelPatch {
        archived: Some(true),
        ..ChannelPatch::default()
    };
    assert_not_found(store.update_channel(ws, &theirs.id, patch).await);
    assert_not_found(
        store
            .add_members(ws, &theirs.id, std::slice::from_ref(&a.bob.id))
            .await,
    );
    assert_like_missing(
        store
            .remove_member(ws, &theirs.id, &b.bob.id)
            .await
            .map(|c| c.value),
        store
            .remove_member(ws, &missing, &b.bob.id)
            .await
            .map(|c| c.value),
    );
    let post = new_message(&theirs.id, &a.owner.id, "hello from acme");
    assert_not_found(store.post_message(ws, post).await);
    assert_not_found(
        store
            .mark_read(ws, &theirs.id, &b.bob.id, message.seq)
            .await,
    );

    let now = theirs_now(&b, &theirs.id).await;
    assert!(!now.archived, "globex's channel is untouched");
    assert_eq!(now.last_message_seq, message.seq);
    assert!(
        store
            .membership(b.ws_id(), &theirs.id, &b.bob.id)
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(
        b.last_seq().await,
        b_last,
        "nothing was appended to globex's log"
    );
}

async fn theirs_now(b: &Fixture, id: &ChannelId) -> Channel {
    b.store
        .channel(b.ws_id(), id)
        .await
        .unwrap()
        .expect("globex's channel exists")
}

pub async fn foreign_message_is_missing(store: Arc<dyn Store>) {
    let (a, b) = two_workspaces(&store).await;
    let theirs = b.channel(&b.owner, "general", &[&b.bob]).await;
    let root = b.post(&theirs, &b.owner, "globex thread").await;
    b.reply(&root, &b.bob, "globex reply").await;
    let tada = emoji("tada");
    store
        .add_reaction(b.ws_id(), &root.id, &b.bob.id, &tada)
        .await
        .unwrap();
    let before = b.message(&root.id).await;
    let ours = a.channel(&a.owner, "general", &[]).await;
    let ws = a.ws_id();

    assert_eq!(store.message(ws, &root.id).await.unwrap(), None);
    assert_like_missing(
        store.list_replies(ws, &root.id, 0, 10).await,
        store.list_replies(ws, &MessageId::generate(), 0, 10).await,
    );
    assert_not_found(
        store
            .edit_message(ws, &root.id, text("defaced"), Mentions::default())
            .await,
    );
    assert_not_found(store.delete_message(ws, &root.id).await);
    assert_not_found(store.add_reaction(ws, &root.id, &a.owner.id, &tada).await);
    assert_not_found(store.remove_reaction(ws, &root.id, &b.bob.id, &tada).await);
    let mut reply = new_message(&ours.id, &a.owner.id, "replying across workspaces");
    reply.thread_root_id = Some(root.id.clone());
    assert_not_found(store.post_message(ws, reply).await);

    assert_eq!(
        b.message(&root.id).await,
        before,
        "globex's message is untouched"
    );
    assert_eq!(before.reply_count, 1);
    assert_eq!(before.reactions.len(), 1);
}

pub async fn foreign_users_cannot_be_added_or_messaged(store: Arc<dyn Store>) {
    let (a, b) = two_workspaces(&store).await;
    let ours = a.channel(&a.owner, "general", &[]).await;
    let ws = a.ws_id();
    let before = a.last_seq().await;
    assert_not_found(
        store
            .add_members(ws, &ours.id, std::slice::from_ref(&b.bob.id))
            .await,
    );
    let people = [a.owner.id.clone(), b.bob.id.clone()];
    assert_not_found(store.open_conversation(ws, &a.owner.id, &people).await);
    assert_not_found(store.mark_read(ws, &ours.id, &b.bob.id, 0).await);
    assert!(
        store
            .list_user_channels(ws, &a.owner.id)
            .await
            .unwrap()
            .len()
            == 1
    );
    assert_eq!(a.last_seq().await, before);

    // A foreign reader of our log sees what a stranger would: at most profiles.
    a.post(&ours, &a.owner, "acme news").await;
    let foreign = store.events_after(ws, &b.bob.id, before, 100).await;
    let stranger = store
        .events_after(ws, &UserId::generate(), before, 100)
        .await;
    assert_like_missing(foreign, stranger);
}

pub async fn event_logs_are_separate(store: Arc<dyn Store>) {
    let (a, b) = two_workspaces(&store).await;
    let ours = a.channel(&a.owner, "general", &[&a.bob]).await;
    let theirs = b.channel(&b.owner, "general", &[&b.bob]).await;
    a.post(&ours, &a.bob, "acme").await;
    let a_last = a.last_seq().await;
    b.post(&theirs, &b.bob, "globex").await;
    let patch = UserPatch {
        display_name: Some(display_name("Globex Bob")),
        ..UserPatch::default()
    };
    store
        .update_user(b.ws_id(), &b.bob.id, patch)
        .await
        .unwrap();
    assert_eq!(
        a.last_seq().await,
        a_last,
        "globex's writes do not touch acme's log"
    );

    let (events, _) = a.events(&a.owner, 0).await;
    assert!(!events.is_empty());
    for event in &events {
        match (&event.payload, event.payload.audience()) {
            (EventPayload::UserCreated { user } | EventPayload::UserUpdated { user }, _) => {
                assert_eq!(user.workspace_id, a.ws.id)
            }
            (_, Audience::Channel(channel)) => assert_ne!(channel, theirs.id, "{event:?}"),
            _ => {}
        }
    }
    let texts: Vec<_> = events
        .iter()
        .filter_map(|e| match &e.payload {
            EventPayload::MessageCreated { message } => Some(message.text.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(texts, ["acme"]);
}
