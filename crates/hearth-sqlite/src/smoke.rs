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

/// The writer held inside a job: jobs submitted meanwhile line up as its next batch.
struct HeldWriter {
    release: tokio::sync::oneshot::Sender<()>,
    holder: tokio::task::JoinHandle<hearth_core::store::StoreResult<()>>,
}

async fn hold_writer(store: &Arc<SqliteStore>) -> HeldWriter {
    let (started_tx, started) = tokio::sync::oneshot::channel::<()>();
    let (release, gate) = tokio::sync::oneshot::channel::<()>();
    let store = store.clone();
    let holder = tokio::spawn(async move {
        store
            .write(move |_conn| {
                Box::pin(async move {
                    started_tx.send(()).unwrap();
                    gate.await.unwrap();
                    Ok(())
                })
            })
            .await
    });
    started.await.unwrap();
    HeldWriter { release, holder }
}

impl HeldWriter {
    /// Lets the writer go on: the holding job commits, then the batch lined up behind it.
    async fn release(self) {
        self.release.send(()).unwrap();
        self.holder.await.unwrap().unwrap();
    }
}

/// The channel's latest 10 messages, oldest first.
async fn latest(
    store: &SqliteStore,
    ws: &WorkspaceId,
    channel: &ChannelId,
) -> Vec<hearth_core::model::Message> {
    store
        .list_messages(
            ws,
            channel,
            hearth_core::store::HistoryRange::Before {
                before: i64::MAX,
                limit: 10,
            },
        )
        .await
        .unwrap()
        .messages
}

/// Waits until `jobs` jobs wait in the writer's queue.
async fn queued(store: &SqliteStore, jobs: usize) {
    while store.writer.queued() < jobs {
        tokio::task::yield_now().await;
    }
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
    let held = hold_writer(&store).await;

    let send = |text: &'static str, channel: ChannelId| {
        let (store, ws, ada) = (store.clone(), ws.clone(), ada.clone());
        tokio::spawn(async move { store.post_message(&ws, post(&channel, &ada, text)).await })
    };
    let first = send("first", general.clone());
    queued(&store, 1).await;
    // Fails before taking a seq: the channel does not exist.
    let missing = send("nowhere", ChannelId::generate());
    queued(&store, 2).await;
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
    queued(&store, 3).await;
    let last = send("last", general.clone());
    queued(&store, 4).await;
    held.release().await;

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
    let page = latest(&store, &ws, &general).await;
    let texts: Vec<_> = page.iter().map(|m| m.text.as_str()).collect();
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

/// A job on the write connection's raw handle, as the tests below make one.
type RawJob = Box<
    dyn for<'r, 'a> FnOnce(&'r mut crate::raw::Raw<'a>) -> hearth_core::store::StoreResult<()>
        + Send,
>;

/// Runs the job `doomed` makes (from the workspace and a post to send) between two posts,
/// all three in one batch, and checks that the batch failed whole: both posts are told to
/// retry, nothing of the batch is stored, and the next post continues the log without a
/// hole. Returns the doomed job's own error.
async fn a_batch_around(
    doomed: impl FnOnce(WorkspaceId, NewMessage) -> RawJob,
) -> hearth_core::store::StoreError {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(open(&dir.path().join("hearth.db")).await);
    let (ws, ada, general) = seed(&store).await;
    let before = store.last_seq(&ws).await.unwrap();

    // Hold the writer until the three raw jobs are queued, so they run in one batch.
    let held = hold_writer(&store).await;
    let send = |text: &'static str| {
        let (store, ws, message) = (store.clone(), ws.clone(), post(&general, &ada, text));
        tokio::spawn(async move { store.post_message(&ws, message).await })
    };
    let first = send("first");
    queued(&store, 1).await;
    let job = doomed(ws.clone(), post(&general, &ada, "doomed"));
    let doomed = {
        let store = store.clone();
        tokio::spawn(async move { store.writer.write_raw(job).await })
    };
    queued(&store, 2).await;
    let last = send("last");
    queued(&store, 3).await;
    held.release().await;

    let error = doomed.await.unwrap().unwrap_err();
    for sent in [first, last] {
        assert!(matches!(
            sent.await.unwrap(),
            Err(hearth_core::store::StoreError::Unavailable(_))
        ));
    }
    // Nothing of the batch was kept: no message, no event, no seq.
    assert_eq!(store.last_seq(&ws).await.unwrap(), before);
    let history = latest(&store, &ws, &general).await;
    assert!(history.is_empty(), "{history:?}");
    let channel = store.channel(&ws, &general).await.unwrap().unwrap();
    assert_eq!(channel.last_message_seq, 0);

    // The writer carries on, and the log has no hole.
    let next = store
        .post_message(&ws, post(&general, &ada, "retried"))
        .await
        .unwrap();
    assert_eq!(next.message.seq, before + 1);
    error
}

#[tokio::test(flavor = "multi_thread")]
async fn a_raw_write_failing_after_it_wrote_fails_its_whole_batch() {
    // Writes everything a post writes, then fails: with no savepoint of its own, it
    // cannot be undone alone.
    let error = a_batch_around(|ws, message| {
        Box::new(move |raw| {
            let index = crate::search::IndexRow::of(
                message.text.as_str(),
                false,
                &message.author,
                &message.channel_id,
            );
            let now = hearth_core::Timestamp::now();
            crate::post::post_top_level(raw, &ws, message, index, now)?;
            Err(hearth_core::store::StoreError::Internal("injected".into()))
        })
    })
    .await;
    // The job's own error goes to it.
    assert!(matches!(error, hearth_core::store::StoreError::Internal(m) if m == "injected"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_raw_write_whose_error_ended_the_transaction_fails_its_whole_batch() {
    // SQLite rolls the whole transaction back by itself on some errors (I/O, a full
    // disk), without counting a change; the jobs after it must not run outside it.
    let error = a_batch_around(|_, _| {
        Box::new(|raw| {
            raw.run("ROLLBACK", &[])?;
            Err(hearth_core::store::StoreError::Internal("disk full".into()))
        })
    })
    .await;
    assert!(matches!(error, hearth_core::store::StoreError::Internal(m) if m == "disk full"));
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

/// A database indexed before scope tokens (0005_search_scope puts every message back in
/// the backlog): `deploy from:@bob` and `deploy in:#quiet` find exactly the messages they
/// should, in order and page by page, before the rows are rewritten, after every step of
/// it (edits, a delete and new posts landing in the middle), and once it is done.
#[tokio::test(flavor = "multi_thread")]
async fn from_and_in_stay_exact_while_the_index_gains_scope_tokens() {
    use hearth_core::model::Message;
    use hearth_core::search::text::Document;
    use hearth_core::search::{SearchOptions, search};
    use hearth_core::store::SearchSort;
    use hearth_core::testing::Fixture;
    use sqlx::Connection;

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hearth.db");
    let store = Arc::new(open(&path).await);
    let f = Fixture::new(store.clone()).await;
    let general = f.channel(&f.owner, "general", &[&f.bob]).await;
    let quiet = f.channel(&f.owner, "quiet", &[&f.bob]).await;
    // Every message is "deploy" and one more word, so all score alike: relevance is
    // newest first too.
    let mut model: Vec<Message> = Vec::new();
    for i in 0..40 {
        let (channel, author) = match i % 5 {
            0 => (&quiet, &f.bob),
            1 => (&general, &f.bob),
            2 => (&quiet, &f.owner),
            _ => (&general, &f.owner),
        };
        model.push(f.post(channel, author, &format!("deploy {i}")).await);
    }

    // Rewrite every index row as it was before scope tokens, and reset the backlog as the
    // migration does.
    let url = format!("sqlite://{}", path.display());
    let mut raw = sqlx::SqliteConnection::connect(&url).await.unwrap();
    let rows: Vec<(i64, String)> = sqlx::query_as("SELECT rowid, text FROM messages")
        .fetch_all(&mut raw)
        .await
        .unwrap();
    sqlx::query("INSERT INTO message_search (message_search) VALUES ('delete-all')")
        .execute(&mut raw)
        .await
        .unwrap();
    for (rowid, text) in rows {
        let doc = Document::of(&text, false);
        sqlx::query(
            "INSERT INTO message_search (rowid, terms, variants, flags) VALUES (?, ?, ?, ?)",
        )
        .bind(rowid)
        .bind(doc.terms.join(" "))
        .bind(doc.variants.join(" "))
        .bind(doc.flags.join(" "))
        .execute(&mut raw)
        .await
        .unwrap();
    }
    sqlx::raw_sql(include_str!("../migrations/0005_search_scope.sql"))
        .execute(&mut raw)
        .await
        .unwrap();
    raw.close().await.unwrap();

    let check = |model: Vec<Message>, when: String| {
        let f = &f;
        let (bob, quiet) = (f.bob.id.clone(), quiet.id.clone());
        async move {
            let newest_first = |keep: &dyn Fn(&Message) -> bool| {
                let mut ids: Vec<_> = model
                    .iter()
                    .filter(|m| !m.deleted && m.text.contains("deploy") && keep(m))
                    .map(|m| (m.seq, m.id.clone()))
                    .collect();
                ids.sort_by_key(|m| std::cmp::Reverse(m.0));
                ids.into_iter().map(|(_, id)| id).collect::<Vec<_>>()
            };
            let cases = [
                ("deploy from:@bob", newest_first(&|m| m.user_id == bob)),
                ("deploy in:#quiet", newest_first(&|m| m.channel_id == quiet)),
                (
                    "deploy from:@bob in:#quiet",
                    newest_first(&|m| m.user_id == bob && m.channel_id == quiet),
                ),
            ];
            for (q, expected) in cases {
                for sort in [SearchSort::Recent, SearchSort::Relevance] {
                    let mut seen = Vec::new();
                    let mut cursor: Option<String> = None;
                    loop {
                        let options = SearchOptions {
                            query: q,
                            sort,
                            cursor: cursor.as_deref(),
                            limit: Some(3),
                        };
                        let page = search(&*f.store, &f.owner, options).await.unwrap();
                        seen.extend(page.results.into_iter().map(|r| r.hit.message.id));
                        match page.next_cursor {
                            Some(next) => cursor = Some(next),
                            None => break,
                        }
                    }
                    assert_eq!(seen, expected, "{q} {sort:?} {when}");
                }
            }
        }
    };

    check(model.clone(), "before the backlog".into()).await;
    let mut step = 0;
    loop {
        let n = store
            .write(move |c| Box::pin(crate::search::index_backlog_step(c, 7)))
            .await
            .unwrap();
        step += 1;
        if step == 2 {
            // Inside the range still to rewrite: an edit that keeps the word, one that
            // drops it, a delete; and new posts after the range.
            let ws = f.ws_id();
            for (i, text) in [(30, "deploy again"), (35, "withdrawn")] {
                let edited = store
                    .edit_message(ws, &model[i].id, MessageText::parse(text).unwrap(), {
                        mention::parse(text)
                    })
                    .await
                    .unwrap();
                model[i] = edited.value;
            }
            model[36] = store.delete_message(ws, &model[36].id).await.unwrap().value;
            model.push(f.post(&quiet, &f.bob, "deploy later").await);
            model.push(f.post(&general, &f.owner, "deploy later").await);
        }
        check(model.clone(), format!("after step {step}")).await;
        if n == 0 {
            break;
        }
    }
    assert!(step > 5, "{step} steps of 7 rows");
}

/// Every connection keeps a prepared statement's plan whatever is bound to it later:
/// otherwise SQLite prepares a cached statement that pages with `LIMIT ?` again, from its
/// text, on every run with a new limit.
#[tokio::test]
async fn cached_statements_are_not_prepared_again_for_new_bindings() {
    use crate::raw::{self, Param};
    const PAGE: &str =
        "SELECT seq FROM messages WHERE workspace_id = ?1 ORDER BY seq DESC LIMIT ?2";

    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir.path().join("hearth.db")).await;
    let (ws, ada, general) = seed(&store).await;
    for text in ["one", "two", "three"] {
        store
            .post_message(&ws, post(&general, &ada, text))
            .await
            .unwrap();
    }
    let (newest, prepared_again) = store
        .writer
        .write_raw(move |raw| {
            let mut newest = Vec::new();
            for limit in [1, 2, 3, 1] {
                newest.push(raw.int(PAGE, &[Param::Text(ws.as_str()), Param::Int(limit)])?);
            }
            Ok((newest, raw.times_prepared_again(PAGE)))
        })
        .await
        .unwrap();
    assert_eq!(newest.len(), 4);
    assert!(newest.iter().all(|seq| seq == &newest[0] && seq.is_some()));
    assert_eq!(
        prepared_again, 0,
        "the write connection re-planned `LIMIT ?`"
    );

    let mut held = Vec::new();
    for _ in 0..SqliteOptions::default().read_connections {
        held.push(store.read().await.unwrap());
    }
    for conn in &mut held {
        assert!(raw::keeps_plans(conn).await, "a read connection re-plans");
    }
}

/// Under a steady stream of posts, with no pause for the log to empty, the write-ahead
/// log still starts over once it passes the restart size: the file stays a fraction of
/// what was written instead of growing with everything written since the store opened.
#[tokio::test(flavor = "multi_thread")]
async fn the_log_file_stays_bounded_under_steady_writes() {
    use crate::CheckpointOptions;
    use std::sync::atomic::{AtomicBool, Ordering};
    const PAGE: u64 = 4096;

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hearth.db");
    let options = SqliteOptions {
        checkpoint: CheckpointOptions { restart_pages: 64 },
        ..SqliteOptions::default()
    };
    let store = Arc::new(SqliteStore::open(&path, options).await.unwrap());
    let (ws, ada, general) = seed(&store).await;

    // Eight writers post closed loop for two seconds; the log's size is sampled meanwhile.
    let wal = dir.path().join("hearth.db-wal");
    let wal_len = || std::fs::metadata(&wal).map_or(0, |m| m.len());
    let db_len = || std::fs::metadata(&path).map_or(0, |m| m.len());
    let start_len = db_len();
    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..8)
        .map(|w| {
            let (store, ws, ada, general, stop) = (
                store.clone(),
                ws.clone(),
                ada.clone(),
                general.clone(),
                stop.clone(),
            );
            tokio::spawn(async move {
                let mut i = 0;
                while !stop.load(Ordering::Relaxed) {
                    let text = format!("writer {w} message {i} {}", "words ".repeat(40));
                    store
                        .post_message(&ws, post(&general, &ada, &text))
                        .await
                        .unwrap();
                    i += 1;
                }
            })
        })
        .collect();
    let mut largest = 0;
    let end = tokio::time::Instant::now() + std::time::Duration::from_secs(2);
    while tokio::time::Instant::now() < end {
        largest = largest.max(wal_len());
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    stop.store(true, Ordering::Relaxed);
    for writer in writers {
        writer.await.unwrap();
    }
    largest = largest.max(wal_len()) / PAGE;
    let copied = (db_len() - start_len) / PAGE;
    eprintln!("largest log {largest} pages, file grew {copied} pages");
    // At most the restart size plus the batch that crossed it (256 posts of a few pages)
    // and what the checkpoint copied meanwhile: without restarts, two seconds of posts
    // take the log to well over 10,000 pages.
    assert!(
        largest < 64 + 2_000,
        "the log grew to {largest} pages while the file grew by {copied}"
    );
    assert!(copied > 0, "nothing was copied into the file");
}

/// Posts index their text at the end of their run of raw jobs; an edit or a delete of
/// such a post later in the same batch must still find it indexed, so search shows the
/// edited text, not the original, and never the deleted post.
#[tokio::test(flavor = "multi_thread")]
async fn posts_edited_or_deleted_in_their_own_batch_are_searched_as_they_end() {
    use hearth_core::search::{SearchOptions, search};
    use hearth_core::store::SearchSort;

    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(open(&dir.path().join("hearth.db")).await);
    let (ws, ada, general) = seed(&store).await;

    // Hold the writer until the whole batch is queued.
    let held = hold_writer(&store).await;
    let mut lined_up = 0;
    let mut jobs = Vec::new();
    // post, edit it, post, delete it: raw, sqlx, raw, sqlx.
    for (text, change) in [("walrus original", "edit"), ("walrus doomed", "delete")] {
        let (s, w, m) = (store.clone(), ws.clone(), post(&general, &ada, text));
        jobs.push(tokio::spawn(async move {
            s.post_message(&w, m).await.map(|_| ())
        }));
        lined_up += 1;
        queued(&store, lined_up).await;
        let (s, w) = (store.clone(), ws.clone());
        jobs.push(tokio::spawn(async move {
            s.write(move |conn| {
                Box::pin(async move {
                    let id: String = sqlx::query_scalar("SELECT id FROM messages WHERE text = ?")
                        .bind(text)
                        .fetch_one(&mut *conn)
                        .await
                        .unwrap();
                    let id = hearth_core::id::MessageId::parse(&id).unwrap();
                    let now = hearth_core::Timestamp::now();
                    if change == "edit" {
                        let text = MessageText::parse("walrus edited").unwrap();
                        let mentions = mention::parse(text.as_str());
                        crate::messages::edit_message(conn, &w, &id, text, mentions, now).await?;
                    } else {
                        crate::messages::delete_message(conn, &w, &id, now).await?;
                    }
                    Ok(())
                })
            })
            .await
        }));
        lined_up += 1;
        queued(&store, lined_up).await;
    }
    let commits_before = store.write_stats().commits;
    held.release().await;
    for job in jobs {
        job.await.unwrap().unwrap();
    }
    assert_eq!(
        store.write_stats().commits,
        commits_before + 2,
        "the holder's batch, then the four jobs in one"
    );
    store
        .post_message(&ws, post(&general, &ada, "walrus untouched"))
        .await
        .unwrap();

    let viewer = store.user(&ws, &ada).await.unwrap().unwrap();
    let texts = |query: &'static str| {
        let (store, viewer) = (store.clone(), viewer.clone());
        async move {
            let options = SearchOptions {
                query,
                sort: SearchSort::Recent,
                cursor: None,
                limit: Some(10),
            };
            let page = search(&*store, &viewer, options).await.unwrap();
            page.results
                .into_iter()
                .map(|r| r.hit.message.text)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        texts("walrus").await,
        vec!["walrus untouched".to_owned(), "walrus edited".to_owned()]
    );
    assert!(texts("original").await.is_empty());
    assert!(texts("doomed").await.is_empty());
}
