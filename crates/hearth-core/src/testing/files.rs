//! Files: recording uploads, quotas, sharing them in messages, and deleting them (by
//! hand, or with the last message that shares them) until their bytes are purged.

use std::sync::Arc;

use crate::Timestamp;
use crate::event::EventPayload;
use crate::id::FileId;
use crate::model::{File, ImageSize, Message};
use crate::store::{HistoryRange, NewFile, NewMessage, Store};
use crate::value::{FileName, MessageText};

use super::*;

pub(crate) fn upload(uploader: &crate::model::User, name: &str, size: i64) -> NewFile {
    NewFile {
        uploader: uploader.id.clone(),
        name: FileName::parse(name).unwrap(),
        size,
        mime_type: "image/png".to_owned(),
        image: Some(ImageSize {
            width: 640,
            height: 480,
        }),
        has_thumbnail: true,
        storage_key: format!("{}/{}", uploader.workspace_id, FileId::generate()),
        sha256: "ab".repeat(32),
    }
}

async fn history(f: &Fixture, channel: &crate::model::Channel) -> Vec<Message> {
    let range = HistoryRange::Before {
        before: i64::MAX,
        limit: 100,
    };
    let page = f.store.list_messages(f.ws_id(), &channel.id, range).await;
    page.expect("list_messages").messages
}

async fn create(f: &Fixture, name: &str, size: i64) -> File {
    f.store
        .create_file(f.ws_id(), upload(&f.owner, name, size), None)
        .await
        .expect("create_file")
}

fn sharing(
    channel: &crate::model::Channel,
    author: &crate::model::User,
    files: &[&File],
) -> NewMessage {
    let mut m = new_message(&channel.id, &author.id, "have a look");
    m.file_ids = files.iter().map(|f| f.id.clone()).collect();
    m
}

async fn share(f: &Fixture, channel: &crate::model::Channel, files: &[&File]) -> Message {
    let posted = f
        .store
        .post_message(f.ws_id(), sharing(channel, &f.owner, files))
        .await;
    posted.expect("post_message with files").message
}

pub async fn created_files_read_back(store: Arc<dyn Store>) {
    let f = Fixture::new(store.clone()).await;
    let file = create(&f, "../../Ünïcode x.png", 1234).await;
    assert_eq!(file.name.as_str(), "../../Ünïcode x.png");
    assert_eq!(file.size, 1234);
    assert_eq!(file.uploader_id, f.owner.id);
    assert_eq!(
        file.image,
        Some(ImageSize {
            width: 640,
            height: 480
        })
    );
    assert_eq!(
        store.file(f.ws_id(), &file.id).await.unwrap(),
        Some(file.clone())
    );
    assert_eq!(store.file_usage(f.ws_id()).await.unwrap(), 1234);
    assert!(
        store
            .file_channels(f.ws_id(), &file.id)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store.file(f.ws_id(), &FileId::generate()).await.unwrap(),
        None
    );

    let mut stranger = upload(&f.bob, "x", 1);
    stranger.uploader = crate::id::UserId::generate();
    assert_not_found(store.create_file(f.ws_id(), stranger, None).await);
}

pub async fn quota_counts_live_files_atomically(store: Arc<dyn Store>) {
    let f = Fixture::new(store.clone()).await;
    let quota = Some(1000);
    let first = store
        .create_file(f.ws_id(), upload(&f.owner, "a", 600), quota)
        .await
        .unwrap();
    let over = store
        .create_file(f.ws_id(), upload(&f.bob, "b", 401), quota)
        .await;
    assert_invalid(over, "quota_exceeded");
    assert_eq!(store.file_usage(f.ws_id()).await.unwrap(), 600);
    store
        .create_file(f.ws_id(), upload(&f.bob, "c", 400), quota)
        .await
        .expect("exactly at the quota");

    // Another workspace's files do not count against this one.
    let other = Fixture::with_slug(store.clone(), "globex").await;
    store
        .create_file(other.ws_id(), upload(&other.owner, "d", 1000), quota)
        .await
        .expect("a quota is per workspace");

    // Deleting frees the space at once.
    store.delete_file(f.ws_id(), &first.id).await.unwrap();
    assert_eq!(store.file_usage(f.ws_id()).await.unwrap(), 400);
    store
        .create_file(f.ws_id(), upload(&f.owner, "e", 600), quota)
        .await
        .expect("space freed by the delete");
}

pub async fn quota_holds_under_concurrent_uploads(store: Arc<dyn Store>) {
    let f = Fixture::new(store.clone()).await;
    let attempts = (0..8).map(|i| {
        let store = store.clone();
        let file = upload(&f.owner, &format!("f{i}"), 300);
        let ws = f.ws_id().clone();
        tokio::spawn(async move { store.create_file(&ws, file, Some(1000)).await })
    });
    let mut stored = 0;
    for attempt in attempts.collect::<Vec<_>>() {
        match attempt.await.expect("join") {
            Ok(_) => stored += 1,
            Err(e) => assert!(
                matches!(e, crate::store::StoreError::Invalid("quota_exceeded")),
                "{e:?}"
            ),
        }
    }
    assert_eq!(stored, 3, "exactly as many as fit, however they interleave");
    assert_eq!(store.file_usage(f.ws_id()).await.unwrap(), 900);
}

pub async fn messages_carry_their_files(store: Arc<dyn Store>) {
    let f = Fixture::new(store.clone()).await;
    let general = f.channel(&f.owner, "general", &[&f.bob]).await;
    let random = f.channel(&f.owner, "random", &[]).await;
    let a = create(&f, "a.png", 10).await;
    let b = create(&f, "b.pdf", 20).await;
    let mut caption_only = sharing(&general, &f.owner, &[&b, &a]);
    caption_only.text = MessageText::parse_caption("").unwrap();
    let posted = store.post_message(f.ws_id(), caption_only).await.unwrap();
    let message = posted.message;
    assert_eq!(message.text, "");
    assert_eq!(
        message.files,
        vec![b.attachment(), a.attachment()],
        "in the order given"
    );
    assert_eq!(
        posted.events[0].payload,
        EventPayload::MessageCreated {
            message: message.clone()
        }
    );
    assert_eq!(f.message(&message.id).await.files, message.files);
    let page = history(&f, &general).await;
    assert_eq!(page.last().unwrap().files, message.files);

    // Shared again elsewhere, in a thread reply too.
    let root = share(&f, &random, &[&a]).await;
    let mut reply = sharing(&random, &f.owner, &[&a]);
    reply.thread_root_id = Some(root.id.clone());
    let reply = store.post_message(f.ws_id(), reply).await.unwrap().message;
    assert_eq!(reply.files, vec![a.attachment()]);
    let mut channels = vec![general.id.clone(), random.id.clone()];
    channels.sort();
    assert_eq!(
        store.file_channels(f.ws_id(), &a.id).await.unwrap(),
        channels
    );
    assert_eq!(
        store.file_channels(f.ws_id(), &b.id).await.unwrap(),
        vec![general.id.clone()]
    );
}

pub async fn sharing_unknown_or_deleted_files_stores_nothing(store: Arc<dyn Store>) {
    let f = Fixture::new(store.clone()).await;
    let general = f.channel(&f.owner, "general", &[]).await;
    let ok = create(&f, "ok", 1).await;
    let gone = create(&f, "gone", 1).await;
    store.delete_file(f.ws_id(), &gone.id).await.unwrap();
    let other = Fixture::with_slug(store.clone(), "globex").await;
    let foreign = create(&other, "theirs", 1).await;
    let last = f.last_seq().await;

    for bad in [&gone, &foreign] {
        let result = store
            .post_message(f.ws_id(), sharing(&general, &f.owner, &[&ok, bad]))
            .await;
        assert_invalid(result, "file_not_found");
    }
    let mut unknown = sharing(&general, &f.owner, &[&ok]);
    unknown.file_ids.push(FileId::generate());
    assert_invalid(
        store.post_message(f.ws_id(), unknown).await,
        "file_not_found",
    );
    assert_eq!(f.last_seq().await, last, "nothing stored");
    assert!(history(&f, &general).await.is_empty());
    assert!(
        store
            .file_channels(f.ws_id(), &ok.id)
            .await
            .unwrap()
            .is_empty()
    );
}

pub async fn retries_must_name_the_same_files(store: Arc<dyn Store>) {
    let f = Fixture::new(store.clone()).await;
    let general = f.channel(&f.owner, "general", &[]).await;
    let a = create(&f, "a", 1).await;
    let b = create(&f, "b", 1).await;
    let mut first = sharing(&general, &f.owner, &[&a]);
    first.client_msg_id = Some("k1".to_owned());
    let original = store.post_message(f.ws_id(), first.clone()).await.unwrap();
    let again = store.post_message(f.ws_id(), first.clone()).await.unwrap();
    assert!(again.replayed);
    assert_eq!(again.message.files, original.message.files);
    let mut other = first.clone();
    other.file_ids = vec![b.id.clone()];
    assert_invalid(
        store.post_message(f.ws_id(), other).await,
        "idempotency_key_reused",
    );

    // A file deleted since is gone from the original; the retry still finds it.
    store.delete_file(f.ws_id(), &a.id).await.unwrap();
    let late = store.post_message(f.ws_id(), first).await.unwrap();
    assert!(late.replayed);
    assert_eq!(late.message.id, original.message.id);
}

pub async fn deleting_a_file_removes_it_from_messages(store: Arc<dyn Store>) {
    let f = Fixture::new(store.clone()).await;
    let general = f.channel(&f.owner, "general", &[&f.bob]).await;
    let a = create(&f, "a", 1).await;
    let b = create(&f, "b", 1).await;
    let m1 = share(&f, &general, &[&a, &b]).await;
    let m2 = share(&f, &general, &[&a]).await;

    let deleted = store.delete_file(f.ws_id(), &a.id).await.unwrap();
    assert_strictly_increasing(&deleted.events);
    let updated: Vec<Message> = deleted
        .events
        .iter()
        .map(|e| match &e.payload {
            EventPayload::MessageUpdated { message } => message.clone(),
            other => panic!("expected message.updated, got {other:?}"),
        })
        .collect();
    let mut ids: Vec<_> = updated.iter().map(|m| m.id.clone()).collect();
    ids.sort();
    let mut expected = vec![m1.id.clone(), m2.id.clone()];
    expected.sort();
    assert_eq!(ids, expected);
    assert_eq!(f.message(&m1.id).await.files, vec![b.attachment()]);
    assert!(f.message(&m2.id).await.files.is_empty());
    assert_eq!(f.message(&m2.id).await.text, m2.text, "the message stays");

    assert_eq!(store.file(f.ws_id(), &a.id).await.unwrap(), None);
    assert!(
        store
            .file_channels(f.ws_id(), &a.id)
            .await
            .unwrap()
            .is_empty()
    );
    assert_not_found(store.delete_file(f.ws_id(), &a.id).await);
    assert_not_found(store.delete_file(f.ws_id(), &FileId::generate()).await);
    assert!(store.file(f.ws_id(), &b.id).await.unwrap().is_some());
}

pub async fn deleting_the_last_message_deletes_its_files(store: Arc<dyn Store>) {
    let f = Fixture::new(store.clone()).await;
    let general = f.channel(&f.owner, "general", &[]).await;
    let once = create(&f, "once", 5).await;
    let twice = create(&f, "twice", 7).await;
    let m1 = share(&f, &general, &[&once, &twice]).await;
    let m2 = share(&f, &general, &[&twice]).await;

    let deleted = store.delete_message(f.ws_id(), &m1.id).await.unwrap();
    assert!(deleted.value.files.is_empty(), "a tombstone shares nothing");
    assert_eq!(store.file(f.ws_id(), &once.id).await.unwrap(), None);
    assert!(store.file(f.ws_id(), &twice.id).await.unwrap().is_some());
    assert_eq!(store.file_usage(f.ws_id()).await.unwrap(), 7);
    assert_eq!(
        store.file_channels(f.ws_id(), &twice.id).await.unwrap(),
        vec![general.id.clone()]
    );

    store.delete_message(f.ws_id(), &m2.id).await.unwrap();
    assert_eq!(store.file(f.ws_id(), &twice.id).await.unwrap(), None);
    let purge = store.files_to_purge(Timestamp(0), 100).await.unwrap();
    let mut keys: Vec<_> = purge.iter().map(|p| p.storage_key.clone()).collect();
    keys.sort();
    let mut expected = vec![once.storage_key.clone(), twice.storage_key.clone()];
    expected.sort();
    assert_eq!(keys, expected);
}

pub async fn purging_forgets_files_and_collects_orphans(store: Arc<dyn Store>) {
    let f = Fixture::new(store.clone()).await;
    let general = f.channel(&f.owner, "general", &[]).await;
    let shared = create(&f, "shared", 1).await;
    let orphan = create(&f, "orphan", 1).await;
    let deleted = create(&f, "deleted", 1).await;
    share(&f, &general, &[&shared]).await;
    store.delete_file(f.ws_id(), &deleted.id).await.unwrap();

    // Orphans count only once uploaded before the cutoff.
    let purge = store.files_to_purge(Timestamp(0), 100).await.unwrap();
    assert_eq!(purge.len(), 1);
    assert_eq!(purge[0].id, deleted.id);
    assert_eq!(purge[0].workspace_id, *f.ws_id());
    assert!(purge[0].has_thumbnail);
    assert!(store.file(f.ws_id(), &orphan.id).await.unwrap().is_some());

    let later = Timestamp::now().plus_secs(60);
    let purge = store.files_to_purge(later, 1).await.unwrap();
    assert_eq!(purge.len(), 1, "limit respected");
    let purge = store.files_to_purge(later, 100).await.unwrap();
    let mut ids: Vec<_> = purge.iter().map(|p| p.id.clone()).collect();
    ids.sort();
    let mut expected = vec![orphan.id.clone(), deleted.id.clone()];
    expected.sort();
    assert_eq!(
        ids, expected,
        "the orphan is deleted; the shared file stays"
    );
    assert_eq!(store.file(f.ws_id(), &orphan.id).await.unwrap(), None);
    assert!(store.file(f.ws_id(), &shared.id).await.unwrap().is_some());

    store.forget_files(&purge).await.unwrap();
    assert!(store.files_to_purge(later, 100).await.unwrap().is_empty());
    assert_eq!(store.file_usage(f.ws_id()).await.unwrap(), 1);
}

pub async fn files_are_per_workspace(store: Arc<dyn Store>) {
    let f = Fixture::new(store.clone()).await;
    let other = Fixture::with_slug(store.clone(), "globex").await;
    let general = other.channel(&other.owner, "general", &[]).await;
    let file = create(&f, "secret.pdf", 99).await;
    assert_eq!(store.file(other.ws_id(), &file.id).await.unwrap(), None);
    assert!(
        store
            .file_channels(other.ws_id(), &file.id)
            .await
            .unwrap()
            .is_empty()
    );
    assert_not_found(store.delete_file(other.ws_id(), &file.id).await);
    assert_eq!(store.file_usage(other.ws_id()).await.unwrap(), 0);
    let result = store
        .post_message(other.ws_id(), sharing(&general, &other.owner, &[&file]))
        .await;
    assert_invalid(result, "file_not_found");
    assert!(store.file(f.ws_id(), &file.id).await.unwrap().is_some());
}
