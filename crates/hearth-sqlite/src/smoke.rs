//! Checks of the SQLite plumbing itself: pools, pragmas, migrations, the single writer.
//! What every backend must do is tested by the conformance suite (`tests/`); these only
//! cover what is particular to one file on disk.

use std::path::Path;
use std::sync::Arc;

use hearth_core::event::{EventPage, EventPayload};
use hearth_core::id::{ChannelId, UserId, WorkspaceId};
use hearth_core::mention;
use hearth_core::model::{ChannelKind, Role};
use hearth_core::store::{NewChannel, NewMessage, NewUser, NewWorkspace, Store};
use hearth_core::value::{
    ChannelName, ChannelPurpose, ChannelTopic, DisplayName, Email, MessageText, WorkspaceName,
    WorkspaceSlug,
};

use crate::{SqliteOptions, SqliteStore};

async fn open(path: &Path) -> SqliteStore {
    SqliteStore::open(path, SqliteOptions::default())
        .await
        .unwrap()
}

/// A workspace with its owner and one channel.
async fn seed(store: &SqliteStore) -> (WorkspaceId, UserId, ChannelId) {
    let (ws, owner) = store
        .create_workspace(
            NewWorkspace {
                name: WorkspaceName::parse("Acme").unwrap(),
                slug: WorkspaceSlug::parse("acme").unwrap(),
            },
            NewUser {
                email: Email::parse("ada@example.com").unwrap(),
                handle: None,
                display_name: DisplayName::parse("Ada").unwrap(),
                role: Role::Owner,
                password_hash: "$argon2id$not-a-real-hash".to_owned(),
            },
        )
        .await
        .unwrap();
    let channel = store
        .create_channel(
            &ws.id,
            &owner.value.id,
            NewChannel {
                kind: ChannelKind::Public,
                name: ChannelName::parse("general").unwrap(),
                topic: ChannelTopic::parse("").unwrap(),
                purpose: ChannelPurpose::parse("").unwrap(),
            },
        )
        .await
        .unwrap();
    (ws.id, owner.value.id, channel.value.id)
}

fn post(channel: &ChannelId, author: &UserId, text: &str) -> NewMessage {
    NewMessage {
        channel_id: channel.clone(),
        author: author.clone(),
        text: MessageText::parse(text).unwrap(),
        mentions: mention::parse(text),
        client_msg_id: None,
        thread_root_id: None,
    }
}

#[tokio::test]
async fn the_log_survives_closing_and_reopening_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hearth.db");
    let store = open(&path).await;
    let (ws, ada, general) = seed(&store).await;
    let posted = store
        .post_message(&ws, post(&general, &ada, "hello"))
        .await
        .unwrap();
    store.close().await;

    // Reopening applies migrations again (a no-op) and sees everything committed.
    let store = open(&path).await;
    let page = store.events_after(&ws, &ada, 0, 100).await.unwrap();
    let EventPage::Events { events, last_seq } = page else {
        panic!("a fresh log needs no resync")
    };
    let kinds: Vec<_> = events.iter().map(|e| e.payload.kind()).collect();
    assert_eq!(
        kinds,
        [
            "user.created",
            "channel.created",
            "member.joined",
            "message.created"
        ]
    );
    assert_eq!(last_seq, posted.message.seq);
    assert_eq!(
        events.last().map(|e| &e.payload),
        Some(&EventPayload::MessageCreated {
            message: posted.message.clone()
        })
    );
    let next = store
        .post_message(&ws, post(&general, &ada, "again"))
        .await
        .unwrap();
    assert_eq!(next.message.seq, posted.message.seq + 1);
    store.close().await;
}

#[tokio::test]
async fn concurrent_sends_get_distinct_gap_free_seqs() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(open(&dir.path().join("hearth.db")).await);
    let (ws, ada, general) = seed(&store).await;
    let before = store.last_seq(&ws).await.unwrap();

    let sends: Vec<_> = (0..20)
        .map(|i| {
            let store = store.clone();
            let message = post(&general, &ada, &format!("message {i}"));
            let ws = ws.clone();
            tokio::spawn(async move { store.post_message(&ws, message).await.unwrap() })
        })
        .collect();
    let mut seqs = Vec::new();
    for send in sends {
        seqs.push(send.await.unwrap().message.seq);
    }
    seqs.sort();
    assert_eq!(seqs, ((before + 1)..=(before + 20)).collect::<Vec<_>>());

    // The read pool sees every commit of the writer.
    let EventPage::Events { events, last_seq } =
        store.events_after(&ws, &ada, before, 100).await.unwrap()
    else {
        panic!("no resync expected")
    };
    assert_eq!(last_seq, before + 20);
    assert_eq!(events.len(), 20);
}
