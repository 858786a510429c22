//! Gap fill: the bus is a hint, so a publish it loses must be recovered from the log.
//! Real events from a real store, published to the hub with one missing.

use std::sync::Arc;
use std::time::Duration;

use hearth_core::mention::Mentions;
use hearth_core::model::{ChannelKind, Role};
use hearth_core::store::{NewChannel, NewMessage, NewUser, NewWorkspace, Store};
use hearth_core::value::*;
use hearth_sqlite::{SqliteOptions, SqliteStore};
use serde_json::Value;

use super::{Command, Hub, HubConfig};
use crate::gateway::outbox::Outbox;

#[tokio::test]
async fn a_lost_publish_is_filled_from_the_log_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(
        SqliteStore::open(&dir.path().join("gap.db"), SqliteOptions::default())
            .await
            .unwrap(),
    );
    let (ws, owner) = store
        .create_workspace(
            NewWorkspace {
                name: WorkspaceName::parse("Gap").unwrap(),
                slug: WorkspaceSlug::parse("gap").unwrap(),
            },
            NewUser {
                email: Email::parse("ada@gap.test").unwrap(),
                handle: None,
                display_name: DisplayName::parse("Ada").unwrap(),
                role: Role::Owner,
                password_hash: "unused".into(),
            },
        )
        .await
        .unwrap();
    let owner = owner.value;
    let channel = store
        .create_channel(
            &ws.id,
            &owner.id,
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

    let hub = Hub::start(
        store.clone(),
        HubConfig {
            gap_wait: Duration::from_millis(50),
            ..HubConfig::default()
        },
    );
    let live_from = store.last_seq(&ws.id).await.unwrap();
    let (outbox, mut queue, _kill) = Outbox::new(64);
    hub.send(
        &ws.id,
        Command::Register {
            ws: ws.id.clone(),
            conn: 1,
            user: owner.id.clone(),
            session: hearth_core::secret::SecretHash::of("gap-test-session"),
            outbox,
        },
    );
    hub.send(
        &ws.id,
        Command::Activate {
            ws: ws.id.clone(),
            conn: 1,
            channels: vec![channel.id.clone()],
            live_from,
        },
    );

    let mut posted = Vec::new();
    for text in ["one", "two", "three"] {
        let message = NewMessage {
            channel_id: channel.id.clone(),
            author: owner.id.clone(),
            text: MessageText::parse(text).unwrap(),
            mentions: Mentions::default(),
            client_msg_id: None,
            thread_root_id: None,
            file_ids: Vec::new(),
        };
        posted.push(store.post_message(&ws.id, message).await.unwrap());
    }
    // The bus loses "two": only "one" and "three" are published.
    hub.publish(&ws.id, posted[0].events.clone().into());
    hub.publish(&ws.id, posted[2].events.clone().into());

    let mut seqs = Vec::new();
    let mut texts = Vec::new();
    while texts.len() < 3 {
        let frame = tokio::time::timeout(Duration::from_secs(5), queue.recv())
            .await
            .expect("the hole is filled from the log within gap_wait plus a tick")
            .expect("queue open");
        let frame: Value = serde_json::from_str(frame.as_str()).unwrap();
        seqs.push(frame["seq"].as_i64().unwrap());
        texts.push(
            frame["event"]["message"]["text"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    assert_eq!(texts, ["one", "two", "three"], "in order, none lost");
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");
    assert_eq!(super::HubStats::get(&hub.stats().gaps_filled), 1);
    assert!(queue.try_recv().is_err(), "no duplicate of one or three");
}
