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
        file_ids: Vec::new(),
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

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_sends_share_commits_and_keep_the_log_gap_free() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(open(&dir.path().join("hearth.db")).await);
    let (ws, ada, general) = seed(&store).await;
    let before = store.last_seq(&ws).await.unwrap();
    let stats_before = store.write_stats();

    let sends: Vec<_> = (0..500)
        .map(|i| {
            let store = store.clone();
            let message = post(&general, &ada, &format!("message {i}"));
            let ws = ws.clone();
            tokio::spawn(async move { store.post_message(&ws, message).await.unwrap() })
        })
        .collect();
    let mut posted = Vec::new();
    for send in sends {
        posted.push(send.await.unwrap().message);
    }
    let mut seqs: Vec<_> = posted.iter().map(|m| m.seq).collect();
    seqs.sort();
    assert_eq!(seqs, ((before + 1)..=(before + 500)).collect::<Vec<_>>());

    // The whole log after `before`: exactly these messages, in seq order, and with the
    // clock read in commit order (timestamps never go back as seqs go up).
    let EventPage::Events { events, last_seq } = store.log_after(&ws, before, 1000).await.unwrap()
    else {
        panic!("no resync expected")
    };
    assert_eq!(last_seq, before + 500);
    assert_eq!(
        events.iter().map(|e| e.seq).collect::<Vec<_>>(),
        seqs,
        "gap-free and ordered"
    );
    assert!(
        events
            .windows(2)
            .all(|w| w[0].created_at <= w[1].created_at)
    );
    for event in &events {
        let EventPayload::MessageCreated { message } = &event.payload else {
            panic!("only sends happened: {event:?}")
        };
        assert_eq!(message.seq, event.seq);
        assert!(posted.contains(message));
    }

    let stats = store.write_stats();
    let (commits, jobs) = (
        stats.commits - stats_before.commits,
        stats.jobs - stats_before.jobs,
    );
    assert_eq!(jobs, 500);
    assert!(
        commits < jobs,
        "no batching: {commits} commits for {jobs} jobs"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failing_write_is_undone_alone_and_its_batch_commits() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(open(&dir.path().join("hearth.db")).await);
    let (ws, ada, general) = seed(&store).await;
    let before = store.last_seq(&ws).await.unwrap();
    let stats_before = store.write_stats();

    // Hold the writer inside a job until the next batch is lined up behind it.
    let (started_tx, started) = tokio::sync::oneshot::channel::<()>();
    let (release, gate) = tokio::sync::oneshot::channel::<()>();
    let holder = {
        let store = store.clone();
        tokio::spawn(async move {
            store
                .write(move |_conn| {
                    Box::pin(async move {
                        started_tx.send(()).unwrap();
                        gate.await.unwrap();
                        Ok(())
                    })
                })
                .await
        })
    };
    started.await.unwrap();

    let send = |text: &'static str, channel: ChannelId| {
        let (store, ws, ada) = (store.clone(), ws.clone(), ada.clone());
        tokio::spawn(async move { store.post_message(&ws, post(&channel, &ada, text)).await })
    };
    let first = send("first", general.clone());
    while store.writer.queued() < 1 {
        tokio::task::yield_now().await;
    }
    // Fails before taking a seq: the channel does not exist.
    let missing = send("nowhere", ChannelId::generate());
    while store.writer.queued() < 2 {
        tokio::task::yield_now().await;
    }
    // Fails after everything a send writes (seq bump, message row, event).
    let broken = {
        let (store, ws, message) = (store.clone(), ws.clone(), post(&general, &ada, "doomed"));
        tokio::spawn(async move {
            store
                .write(move |conn| {
                    Box::pin(async move {
                        crate::messages::post_message(
                            conn,
                            &ws,
                            message,
                            hearth_core::Timestamp::now(),
                        )
                        .await?;
                        Err::<(), _>(hearth_core::store::StoreError::Internal("injected".into()))
                    })
                })
                .await
        })
    };
    while store.writer.queued() < 3 {
        tokio::task::yield_now().await;
    }
    let last = send("last", general.clone());
    while store.writer.queued() < 4 {
        tokio::task::yield_now().await;
    }
    release.send(()).unwrap();
    holder.await.unwrap().unwrap();

    let first = first.await.unwrap().unwrap().message;
    assert!(matches!(
        missing.await.unwrap(),
        Err(hearth_core::store::StoreError::NotFound)
    ));
    assert!(matches!(
        broken.await.unwrap(),
        Err(hearth_core::store::StoreError::Internal(m)) if m == "injected"
    ));
    let last = last.await.unwrap().unwrap().message;

    // One batch for the holder, one for the four queued writes.
    let stats = store.write_stats();
    assert_eq!(stats.commits - stats_before.commits, 2);
    assert_eq!(stats.jobs - stats_before.jobs, 5);

    // The neighbours committed with consecutive seqs: the rolled-back send left no hole.
    assert_eq!((first.seq, last.seq), (before + 1, before + 2));
    let EventPage::Events { events, last_seq } = store.log_after(&ws, before, 100).await.unwrap()
    else {
        panic!("no resync expected")
    };
    assert_eq!(last_seq, before + 2);
    assert_eq!(
        events.iter().map(|e| &e.payload).collect::<Vec<_>>(),
        [
            &EventPayload::MessageCreated {
                message: first.clone()
            },
            &EventPayload::MessageCreated {
                message: last.clone()
            },
        ]
    );
    let page = store
        .list_messages(
            &ws,
            &general,
            hearth_core::store::HistoryRange::Before {
                before: i64::MAX,
                limit: 10,
            },
        )
        .await
        .unwrap();
    let texts: Vec<_> = page.messages.iter().map(|m| m.text.as_str()).collect();
    assert!(!texts.contains(&"doomed"), "{texts:?}");
    assert!(
        texts.contains(&"first") && texts.contains(&"last"),
        "{texts:?}"
    );

    // The next send continues the log without a hole.
    let next = store
        .post_message(&ws, post(&general, &ada, "after"))
        .await
        .unwrap();
    assert_eq!(next.message.seq, before + 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failing_raw_write_is_undone_alone_among_raw_writes() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(open(&dir.path().join("hearth.db")).await);
    let (ws, ada, general) = seed(&store).await;
    let before = store.last_seq(&ws).await.unwrap();

    // Hold the writer until the three raw jobs are queued, so they run in one lock.
    let (started_tx, started) = tokio::sync::oneshot::channel::<()>();
    let (release, gate) = tokio::sync::oneshot::channel::<()>();
    let holder = {
        let store = store.clone();
        tokio::spawn(async move {
            store
                .write(move |_conn| {
                    Box::pin(async move {
                        started_tx.send(()).unwrap();
                        gate.await.unwrap();
                        Ok(())
                    })
                })
                .await
        })
    };
    started.await.unwrap();
    let send = |text: &'static str| {
        let (store, ws, message) = (store.clone(), ws.clone(), post(&general, &ada, text));
        tokio::spawn(async move { store.post_message(&ws, message).await })
    };
    let first = send("first");
    while store.writer.queued() < 1 {
        tokio::task::yield_now().await;
    }
    // A raw job that writes everything a post writes, then fails.
    let doomed = {
        let (store, ws, message) = (store.clone(), ws.clone(), post(&general, &ada, "doomed"));
        tokio::spawn(async move {
            store
                .writer
                .write_raw(move |raw| {
                    let index = crate::search::IndexRow::of(message.text.as_str(), false);
                    let now = hearth_core::Timestamp::now();
                    crate::post::post_top_level(raw, &ws, message, &index, now)?;
                    Err::<(), _>(hearth_core::store::StoreError::Internal("injected".into()))
                })
                .await
        })
    };
    while store.writer.queued() < 2 {
        tokio::task::yield_now().await;
    }
    let last = send("last");
    while store.writer.queued() < 3 {
        tokio::task::yield_now().await;
    }
    release.send(()).unwrap();
    holder.await.unwrap().unwrap();

    let first = first.await.unwrap().unwrap().message;
    assert!(doomed.await.unwrap().is_err());
    let last = last.await.unwrap().unwrap().message;
    assert_eq!((first.seq, last.seq), (before + 1, before + 2));
    let EventPage::Events { events, last_seq } = store.log_after(&ws, before, 100).await.unwrap()
    else {
        panic!("no resync expected")
    };
    assert_eq!(last_seq, before + 2);
    assert_eq!(events.len(), 2);
    let channel = store.channel(&ws, &general).await.unwrap().unwrap();
    assert_eq!(channel.last_message_seq, before + 2);
}

#[tokio::test]
async fn the_writer_closes_cleanly_after_raw_writes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hearth.db");
    let store = open(&path).await;
    let (ws, ada, general) = seed(&store).await;
    let sent = store
        .post_message(&ws, post(&general, &ada, "kept"))
        .await
        .unwrap();
    // Closing finalizes the cached statements; otherwise the WAL would not be
    // checkpointed and its file would stay behind.
    store.close().await;
    assert!(!dir.path().join("hearth.db-wal").exists());
    let store = open(&path).await;
    let found = store.message(&ws, &sent.message.id).await.unwrap();
    assert_eq!(found.map(|m| m.text), Some("kept".to_owned()));
}

/// Messages stored without index rows (an upgrade from before search, or a generator
/// writing straight into the file) are found once the backlog is indexed, each once, and
/// a deleted one never.
#[tokio::test(flavor = "multi_thread")]
async fn the_search_backlog_is_indexed_in_steps() {
    use hearth_core::search::{SearchOptions, search};
    use hearth_core::store::{SEARCH_INDEX_STEP, SearchSort};
    use sqlx::Connection;

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hearth.db");
    let store = open(&path).await;
    let (ws, ada, general) = seed(&store).await;
    let count = SEARCH_INDEX_STEP as usize + 5;
    let mut ids = Vec::new();
    for i in 0..count {
        let text = format!("backlogged note {i}");
        ids.push(
            store
                .post_message(&ws, post(&general, &ada, &text))
                .await
                .unwrap()
                .message
                .id,
        );
    }
    store.delete_message(&ws, &ids[0]).await.unwrap();

    // Forget the index, as a database from before search (or a generated one) has none.
    let url = format!("sqlite://{}", path.display());
    let mut raw = sqlx::SqliteConnection::connect(&url).await.unwrap();
    sqlx::raw_sql(
        "INSERT INTO message_search (message_search) VALUES ('delete-all'); \
         UPDATE search_backlog SET done_rowid = 0, \
             through_rowid = (SELECT MAX(rowid) FROM messages);",
    )
    .execute(&mut raw)
    .await
    .unwrap();
    raw.close().await.unwrap();

    let viewer = store.user(&ws, &ada).await.unwrap().unwrap();
    let found = || async {
        let mut seen = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let options = SearchOptions {
                query: "backlogged",
                sort: SearchSort::Recent,
                cursor: cursor.as_deref(),
                limit: Some(100),
            };
            let page = search(&store, &viewer, options).await.unwrap();
            seen.extend(page.results.into_iter().map(|r| r.hit.message.id));
            match page.next_cursor {
                Some(next) => cursor = Some(next),
                None => return seen,
            }
        }
    };
    assert!(found().await.is_empty(), "the index was emptied");
    let mut steps = 0;
    while store.index_search_backlog().await.unwrap() > 0 {
        steps += 1;
    }
    assert_eq!(steps, 2, "{count} messages in steps of {SEARCH_INDEX_STEP}");
    let seen = found().await;
    assert_eq!(seen.len(), count - 1, "each once, the deleted one never");
    assert!(!seen.contains(&ids[0]));
    assert_eq!(store.index_search_backlog().await.unwrap(), 0);
}
