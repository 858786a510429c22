//! A quick end-to-end pass over the store on a real file. The behaviour every backend
//! shares is tested by the conformance suite; this only checks that the SQLite plumbing
//! (pools, pragmas, migrations, the log) holds together.

use std::sync::Arc;

use hearth_core::Timestamp;
use hearth_core::event::{EventPage, EventPayload};
use hearth_core::id::UserId;
use hearth_core::mention;
use hearth_core::model::{ChannelKind, Role};
use hearth_core::secret::SecretHash;
use hearth_core::store::{
    HistoryRange, NewChannel, NewInvite, NewMessage, NewSession, NewUser, NewWorkspace, Store,
    StoreError, UserPatch,
};
use hearth_core::value::{
    ChannelName, ChannelPurpose, ChannelTopic, DisplayName, Email, Emoji, MessageText,
    WorkspaceName, WorkspaceSlug,
};

use crate::{SqliteOptions, SqliteStore};

fn new_user(email: &str) -> NewUser {
    NewUser {
        email: Email::parse(email).unwrap(),
        handle: None,
        display_name: DisplayName::parse("Someone").unwrap(),
        role: Role::Member,
        password_hash: "$argon2id$fake".to_owned(),
    }
}

fn post(channel: &hearth_core::id::ChannelId, author: &UserId, text: &str) -> NewMessage {
    NewMessage {
        channel_id: channel.clone(),
        author: author.clone(),
        text: MessageText::parse(text).unwrap(),
        mentions: mention::parse(text),
        client_msg_id: None,
        thread_root_id: None,
    }
}

fn kinds(page: &EventPage) -> Vec<&'static str> {
    match page {
        EventPage::Events { events, .. } => events.iter().map(|e| e.payload.kind()).collect(),
        EventPage::ResyncRequired => vec!["resync"],
    }
}

#[tokio::test]
async fn a_conversation_round_trips_through_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hearth.db");
    let store = SqliteStore::open(&path, SqliteOptions::default()).await.unwrap();

    let (ws, owner) = store
        .create_workspace(
            NewWorkspace {
                name: WorkspaceName::parse("Acme").unwrap(),
                slug: WorkspaceSlug::parse("acme").unwrap(),
            },
            NewUser {
                role: Role::Owner,
                ..new_user("ada@example.com")
            },
        )
        .await
        .unwrap();
    let ada = owner.value.id.clone();
    assert_eq!(owner.value.handle.as_str(), "ada");
    assert_eq!(owner.events[0].seq, 1);

    let code = SecretHash::of("invite");
    store
        .create_invite(NewInvite {
            workspace_id: ws.id.clone(),
            code: code.clone(),
            email: None,
            role: Role::Member,
            created_by: ada.clone(),
            expires_at: Timestamp::now().plus_secs(60),
        })
        .await
        .unwrap();
    let bob = store
        .redeem_invite(&ws.id, &code, new_user("ada@other.org"))
        .await
        .unwrap()
        .value;
    assert_eq!(bob.handle.as_str(), "ada2", "derived handles take the next free suffix");
    let bob = bob.id;

    let channel = store
        .create_channel(
            &ws.id,
            &ada,
            NewChannel {
                kind: ChannelKind::Public,
                name: ChannelName::parse("general").unwrap(),
                topic: ChannelTopic::parse("").unwrap(),
                purpose: ChannelPurpose::parse("").unwrap(),
            },
        )
        .await
        .unwrap()
        .value;
    let joined = store.add_members(&ws.id, &channel.id, &[bob.clone()]).await.unwrap();
    assert_eq!(joined.value, vec![bob.clone()]);

    let first = store
        .post_message(&ws.id, post(&channel.id, &ada, "hello @ada2"))
        .await
        .unwrap();
    let root = first.message.id.clone();
    let mut reply = post(&channel.id, &bob, "hi!");
    reply.thread_root_id = Some(root.clone());
    reply.client_msg_id = Some("c1".to_owned());
    let posted = store.post_message(&ws.id, reply.clone()).await.unwrap();
    assert_eq!(kinds(&EventPage::Events { events: posted.events, last_seq: 0 }), [
        "message.created",
        "message.updated"
    ]);
    let again = store.post_message(&ws.id, reply).await.unwrap();
    assert!(again.replayed && again.events.is_empty());
    assert_eq!(again.message.id, posted.message.id);

    let emoji = Emoji::parse("wave").unwrap();
    store.add_reaction(&ws.id, &root, &bob, &emoji).await.unwrap();
    let with = store.add_reaction(&ws.id, &root, &ada, &emoji).await.unwrap().value;
    assert_eq!(with.reply_count, 1);
    assert_eq!(with.reactions[0].user_ids, vec![bob.clone(), ada.clone()]);

    let history = store
        .list_messages(&ws.id, &channel.id, HistoryRange::Before { before: i64::MAX, limit: 10 })
        .await
        .unwrap();
    assert_eq!(history.messages.len(), 1, "replies stay in their thread");
    assert!(!history.has_more);

    let sidebar = store.list_user_channels(&ws.id, &bob).await.unwrap();
    assert_eq!((sidebar[0].unread_count, sidebar[0].mention_count), (1, 1));

    // Bob leaves; he sees his own member.left and nothing of the channel after it.
    store.remove_member(&ws.id, &channel.id, &bob).await.unwrap();
    store
        .post_message(&ws.id, post(&channel.id, &ada, "after"))
        .await
        .unwrap();
    let seen = store.events_after(&ws.id, &bob, 0, 100).await.unwrap();
    let k = kinds(&seen);
    assert_eq!(k.first(), Some(&"user.created"));
    assert_eq!(k.last(), Some(&"member.left"));
    assert!(k.contains(&"channel.created"), "joined members see the whole channel log: {k:?}");
    let EventPage::Events { last_seq, .. } = seen else { panic!() };
    assert_eq!(last_seq, store.last_seq(&ws.id).await.unwrap());

    let dm = store.open_conversation(&ws.id, &ada, &[ada.clone(), bob.clone()]).await.unwrap();
    assert_eq!(dm.value.kind, ChannelKind::Dm);
    let again = store.open_conversation(&ws.id, &bob, &[ada.clone(), bob.clone()]).await.unwrap();
    assert_eq!(again.value.id, dm.value.id);
    assert!(again.events.is_empty());

    let token = SecretHash::of("token");
    store
        .create_session(NewSession {
            workspace_id: ws.id.clone(),
            user_id: bob.clone(),
            token: token.clone(),
            expires_at: Timestamp::now().plus_secs(60),
        })
        .await
        .unwrap();
    assert!(store.session(&token).await.unwrap().is_some());
    let last_owner = store
        .update_user(&ws.id, &ada, UserPatch { role: Some(Role::Admin), ..Default::default() })
        .await;
    assert!(matches!(last_owner, Err(StoreError::Invalid("last_owner"))));
    store
        .update_user(&ws.id, &bob, UserPatch { deactivated: Some(true), ..Default::default() })
        .await
        .unwrap();
    assert!(store.session(&token).await.unwrap().is_none());

    let pruned = store.prune_events(Timestamp::now().plus_secs(1)).await.unwrap();
    assert!(pruned > 0);
    let stale = store.events_after(&ws.id, &ada, 0, 10).await.unwrap();
    assert_eq!(stale, EventPage::ResyncRequired);
    let head = store.last_seq(&ws.id).await.unwrap();
    let fresh = store.events_after(&ws.id, &ada, head, 10).await.unwrap();
    assert_eq!(fresh, EventPage::Events { events: vec![], last_seq: head });

    store.close().await;
}

#[tokio::test]
async fn concurrent_sends_get_distinct_gap_free_seqs() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(
        SqliteStore::open(&dir.path().join("h.db"), SqliteOptions::default())
            .await
            .unwrap(),
    );
    let (ws, owner) = store
        .create_workspace(
            NewWorkspace {
                name: WorkspaceName::parse("Acme").unwrap(),
                slug: WorkspaceSlug::parse("acme").unwrap(),
            },
            NewUser {
                role: Role::Owner,
                ..new_user("ada@example.com")
            },
        )
        .await
        .unwrap();
    let ada = owner.value.id;
    let channel = store
        .create_channel(
            &ws.id,
            &ada,
            NewChannel {
                kind: ChannelKind::Private,
                name: ChannelName::parse("x").unwrap(),
                topic: ChannelTopic::parse("").unwrap(),
                purpose: ChannelPurpose::parse("").unwrap(),
            },
        )
        .await
        .unwrap()
        .value;
    let before = store.last_seq(&ws.id).await.unwrap();
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let (store, ws, ada, channel) = (store.clone(), ws.id.clone(), ada.clone(), channel.id.clone());
            tokio::spawn(async move {
                store.post_message(&ws, post(&channel, &ada, &format!("m{i}"))).await.unwrap()
            })
        })
        .collect();
    let mut seqs = Vec::new();
    for t in tasks {
        seqs.push(t.await.unwrap().message.seq);
    }
    seqs.sort();
    assert_eq!(seqs, ((before + 1)..=(before + 20)).collect::<Vec<_>>());
    let page = store.events_after(&ws.id, &ada, before, 100).await.unwrap();
    let EventPage::Events { events, last_seq } = page else { panic!() };
    assert_eq!(last_seq, before + 20);
    assert!(events.iter().all(|e| matches!(e.payload, EventPayload::MessageCreated { .. })));
}
