//! Durable write throughput of the SQLite store, measured in-process (no HTTP): 64
//! concurrent tasks post messages to 1,000 channels for a few seconds with
//! `synchronous=FULL`, and the test prints sends per second.
//!
//! Ignored by default (it is a measurement, not a check). Run it with
//!
//! ```text
//! cargo test --release -p hearth-sqlite --test throughput -- --ignored --nocapture
//! ```
//!
//! The database lives under cargo's target tmp dir (a real disk, so every commit's fsync
//! counts).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use hearth_core::mention;
use hearth_core::model::{ChannelKind, Role};
use hearth_core::store::{NewChannel, NewMessage, NewUser, NewWorkspace, Store};
use hearth_core::value::{
    ChannelName, ChannelPurpose, ChannelTopic, DisplayName, Email, MessageText, WorkspaceName,
    WorkspaceSlug,
};
use hearth_sqlite::{SqliteOptions, SqliteStore};

const TASKS: usize = 64;
const CHANNELS: usize = 1_000;
const SECS: u64 = 5;

#[tokio::test(flavor = "multi_thread")]
#[ignore = "a measurement: run with --ignored --nocapture, preferably --release"]
async fn durable_sends_per_second() {
    let secs = SECS;
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let store = Arc::new(
        SqliteStore::open(&dir.path().join("hearth.db"), SqliteOptions::default())
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
                email: Email::parse("ada@example.com").unwrap(),
                handle: None,
                display_name: DisplayName::parse("Ada").unwrap(),
                role: Role::Owner,
                password_hash: "$argon2id$not-a-real-hash".to_owned(),
            },
        )
        .await
        .unwrap();
    let (ws, owner) = (ws.id, owner.value.id);
    let mut channels = Vec::with_capacity(CHANNELS);
    for i in 0..CHANNELS {
        let channel = store
            .create_channel(
                &ws,
                &owner,
                NewChannel {
                    kind: ChannelKind::Public,
                    name: ChannelName::parse(&format!("room-{i}")).unwrap(),
                    topic: ChannelTopic::parse("").unwrap(),
                    purpose: ChannelPurpose::parse("").unwrap(),
                },
            )
            .await
            .unwrap();
        channels.push(channel.value.id);
    }
    let channels = Arc::new(channels);

    let stop = Arc::new(AtomicBool::new(false));
    let sent = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let tasks: Vec<_> = (0..TASKS)
        .map(|t| {
            let (store, ws, owner) = (store.clone(), ws.clone(), owner.clone());
            let (channels, stop, sent) = (channels.clone(), stop.clone(), sent.clone());
            tokio::spawn(async move {
                let mut i = t;
                while !stop.load(Ordering::Relaxed) {
                    let text = format!("message {i} from task {t}");
                    let message = NewMessage {
                        channel_id: channels[i % CHANNELS].clone(),
                        author: owner.clone(),
                        text: MessageText::parse(&text).unwrap(),
                        mentions: mention::parse(&text),
                        client_msg_id: None,
                        thread_root_id: None,
                        file_ids: Vec::new(),
                    };
                    store.post_message(&ws, message).await.unwrap();
                    sent.fetch_add(1, Ordering::Relaxed);
                    i += TASKS;
                }
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_secs(secs)).await;
    stop.store(true, Ordering::Relaxed);
    for task in tasks {
        task.await.unwrap();
    }
    let elapsed = started.elapsed().as_secs_f64();
    let sent = sent.load(Ordering::Relaxed);
    println!(
        "{TASKS} tasks, {CHANNELS} channels, synchronous=FULL: {sent} durable sends in \
         {elapsed:.2} s = {:.0} sends/s",
        sent as f64 / elapsed
    );
    let stats = store.write_stats();
    println!(
        "{} commits for {} writes ({:.1} writes per commit)",
        stats.commits,
        stats.jobs,
        stats.jobs as f64 / stats.commits.max(1) as f64
    );
    store.close().await;
}
