//! Messages: seqs, history pages, idempotent sends, edits and tombstones.

use std::sync::Arc;

use crate::event::EventPayload;
use crate::id::{ChannelId, MessageId};
use crate::mention::Mentions;
use crate::model::Message;
use crate::store::{HistoryRange, Store};

use super::*;

fn ids(messages: &[Message]) -> Vec<MessageId> {
    messages.iter().map(|m| m.id.clone()).collect()
}

pub async fn post_message_seq_is_its_event_seq(store: Arc<dyn Store>) {
    let f = Fixture::new(store.clone()).await;
    let channel = f.channel(&f.owner, "general", &[&f.bob]).await;
    let before = f.last_seq().await;
    let posted = store
        .post_message(
            f.ws_id(),
            new_message(&channel.id, &f.bob.id, "hello *world*"),
        )
        .await
        .unwrap();
    assert!(!posted.replayed);
    let message = posted.message.clone();
    assert_eq!(message.text, "hello *world*");
    assert_eq!(message.channel_id, channel.id);
    assert_eq!(message.user_id, f.bob.id);
    assert_eq!(message.workspace_id, f.ws.id);
    assert!(!message.deleted && message.edited_at.is_none() && message.thread_root_id.is_none());
    assert_eq!(message.reply_count, 0);
    assert!(message.reactions.is_empty());

    assert_eq!(kinds(&posted.events), ["message.created"]);
    assert_eq!(posted.events[0].seq, message.seq);
    assert_eq!(
        posted.events[0].payload,
        EventPayload::MessageCreated {
            message: message.clone()
        }
    );
    assert!(message.seq > before);
    assert_eq!(f.last_seq().await, message.seq);
    assert_eq!(f.message(&message.id).await, message);
    let channel = store
        .channel(f.ws_id(), &channel.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(channel.last_message_seq, message.seq);
    assert_eq!(
        f.events(&f.owner, before).await.0,
        posted.events,
        "the log holds what was sent"
    );

    let next = f.post(&channel, &f.owner, "second").await;
    assert!(next.seq > message.seq);
}

pub async fn post_into_unknown_channel_is_not_found(store: Arc<dyn Store>) {
    let f = Fixture::new(store.clone()).await;
    let before = f.last_seq().await;
    let message = new_message(&ChannelId::generate(), &f.owner.id, "anyone?");
    assert_not_found(store.post_message(f.ws_id(), message).await);
    assert_eq!(f.last_seq().await, before);
}

pub async fn history_pages_oldest_first_without_replies(store: Arc<dyn Store>) {
    let f = Fixture::new(store.clone()).await;
    let general = f.channel(&f.owner, "general", &[]).await;
    let random = f.channel(&f.owner, "random", &[]).await;
    let mut posted = Vec::new();
    for i in 1..=5 {
        posted.push(f.post(&general, &f.owner, &format!("m{i}")).await);
        f.post(&random, &f.owner, &format!("elsewhere {i}")).await;
    }
    f.reply(&posted[1], &f.owner, "a reply stays in its thread")
        .await;
    let m = |range: &[usize]| -> Vec<MessageId> {
        range.iter().map(|&i| posted[i].id.clone()).collect()
    };
    let page = |range| {
        let store = store.clone();
        let ws = f.ws.id.clone();
        let channel = general.id.clone();
        async move { store.list_messages(&ws, &channel, range).await.unwrap() }
    };

    let latest = page(HistoryRange::Before {
        before: i64::MAX,
        limit: 2,
    })
    .await;
    assert_eq!((ids(&latest.messages), latest.has_more), (m(&[3, 4]), true));
    let older = page(HistoryRange::Before {
        before: posted[3].seq,
        limit: 2,
    })
    .await;
    assert_eq!((ids(&older.messages), older.has_more), (m(&[1, 2]), true));
    let oldest = page(HistoryRange::Before {
        before: posted[1].seq,
        limit: 2,
    })
    .await;
    assert_eq!((ids(&oldest.messages), oldest.has_more), (m(&[0]), false));
    let exact = page(HistoryRange::Before {
        before: posted[2].seq,
        limit: 2,
    })
    .await;
    assert_eq!((ids(&exact.messages), exact.has_more), (m(&[0, 1]), false));

    let first = page(HistoryRange::After { after: 0, limit: 2 }).await;
    assert_eq!((ids(&first.messages), first.has_more), (m(&[0, 1]), true));
    let next = page(HistoryRange::After {
        after: posted[1].seq,
        limit: 2,
    })
    .await;
    assert_eq!((ids(&next.messages), next.has_more), (m(&[2, 3]), true));
    let exact = page(HistoryRange::After {
        after: posted[2].seq,
        limit: 2,
    })
    .await;
    assert_eq!((ids(&exact.messages), exact.has_more), (m(&[3, 4]), false));
    let last = page(HistoryRange::After {
        after: posted[3].seq,
        limit: 2,
    })
    .await;
    assert_eq!((ids(&last.messages), last.has_more), (m(&[4]), false));

    let all = page(HistoryRange::After {
        after: 0,
        limit: 50,
    })
    .await;
    assert_eq!(
        all.messages[1].reply_count, 1,
        "pages carry current message state"
    );
    assert_eq!(all.messages[4], posted[4]);
}

pub async fn client_msg_id_retry_returns_the_original(store: Arc<dyn Store>) {
    let f = Fixture::new(store.clone()).await;
    let channel = f.channel(&f.owner, "general", &[&f.bob]).await;
    let mut send = new_message(&channel.id, &f.owner.id, "only once");
    send.client_msg_id = Some("c-1".to_owned());
    let first = store.post_message(f.ws_id(), send.clone()).await.unwrap();
    assert!(!first.replayed);
    assert_eq!(first.message.client_msg_id.as_deref(), Some("c-1"));
    let last = f.last_seq().await;

    let retry = store.post_message(f.ws_id(), send.clone()).await.unwrap();
    assert!(retry.replayed);
    assert!(retry.events.is_empty());
    assert_eq!(retry.message, first.message);
    assert_eq!(f.last_seq().await, last);

    // The same key is another author's own business.
    send.author = f.bob.id.clone();
    let bobs = store.post_message(f.ws_id(), send).await.unwrap();
    assert!(!bobs.replayed);
    assert_ne!(bobs.message.id, first.message.id);

    let all = store.list_messages(
        f.ws_id(),
        &channel.id,
        HistoryRange::After {
            after: 0,
            limit: 10,
        },
    );
    assert_eq!(
        ids(&all.await.unwrap().messages),
        [first.message.id, bobs.message.id]
    );
}

pub async fn client_msg_id_reuse_with_other_content_is_invalid(store: Arc<dyn Store>) {
    let f = Fixture::new(store.clone()).await;
    let general = f.channel(&f.owner, "general", &[]).await;
    let random = f.channel(&f.owner, "random", &[]).await;
    let root = f.post(&general, &f.owner, "a thread").await;
    let mut send = new_message(&general.id, &f.owner.id, "first text");
    send.client_msg_id = Some("c-1".to_owned());
    store.post_message(f.ws_id(), send.clone()).await.unwrap();
    let last = f.last_seq().await;

    let mut other_text = send.clone();
    other_text.text = text("second text");
    let result = store.post_message(f.ws_id(), other_text).await;
    assert_invalid(result, "idempotency_key_reused");
    let mut other_channel = send.clone();
    other_channel.channel_id = random.id.clone();
    let result = store.post_message(f.ws_id(), other_channel).await;
    assert_invalid(result, "idempotency_key_reused");
    // The same text and channel, but as a thread reply, is another target.
    let mut as_reply = send.clone();
    as_reply.thread_root_id = Some(root.id);
    let result = store.post_message(f.ws_id(), as_reply).await;
    assert_invalid(result, "idempotency_key_reused");
    assert_eq!(f.last_seq().await, last, "nothing was stored");
}

pub async fn edit_sets_edited_at_and_appends_event(store: Arc<dyn Store>) {
    let f = Fixture::new(store.clone()).await;
    let channel = f.channel(&f.owner, "general", &[&f.bob]).await;
    let original = f.post(&channel, &f.bob, "helo").await;
    let edited = store
        .edit_message(f.ws_id(), &original.id, text("hello"), Mentions::default())
        .await
        .unwrap();
    let message = edited.value.clone();
    assert_eq!(message.text, "hello");
    assert!(
        message
            .edited_at
            .is_some_and(|at| at >= original.created_at)
    );
    assert_eq!(
        (message.seq, message.created_at),
        (original.seq, original.created_at)
    );
    assert_eq!(kinds(&edited.events), ["message.updated"]);
    assert_eq!(
        edited.events[0].payload,
        EventPayload::MessageUpdated {
            message: message.clone()
        }
    );
    assert_eq!(f.message(&original.id).await, message);

    let unknown = MessageId::generate();
    let missing = store.edit_message(f.ws_id(), &unknown, text("x"), Mentions::default());
    assert_not_found(missing.await);
}

pub async fn delete_leaves_a_tombstone_once(store: Arc<dyn Store>) {
    let f = Fixture::new(store.clone()).await;
    let channel = f.channel(&f.owner, "general", &[&f.bob]).await;
    let doomed = f.post(&channel, &f.bob, "oops, wrong channel").await;
    let kept = f.post(&channel, &f.owner, "still here").await;
    store
        .add_reaction(f.ws_id(), &doomed.id, &f.owner.id, &emoji("eyes"))
        .await
        .unwrap();

    let deleted = store.delete_message(f.ws_id(), &doomed.id).await.unwrap();
    let tombstone = deleted.value.clone();
    assert!(tombstone.deleted);
    assert_eq!(tombstone.text, "");
    assert!(tombstone.reactions.is_empty());
    assert_eq!(
        (tombstone.id.clone(), tombstone.seq),
        (doomed.id.clone(), doomed.seq)
    );
    assert_eq!(kinds(&deleted.events), ["message.deleted"]);
    assert_eq!(
        deleted.events[0].payload,
        EventPayload::MessageDeleted {
            message: tombstone.clone()
        }
    );
    assert_eq!(f.message(&doomed.id).await, tombstone);

    // The tombstone keeps its place in history.
    let range = HistoryRange::After {
        after: 0,
        limit: 10,
    };
    let history = store
        .list_messages(f.ws_id(), &channel.id, range)
        .await
        .unwrap();
    assert_eq!(history.messages, [tombstone.clone(), kept]);

    let last = f.last_seq().await;
    let again = store.delete_message(f.ws_id(), &doomed.id).await.unwrap();
    assert!(again.events.is_empty());
    assert_eq!(again.value, tombstone);
    assert_eq!(f.last_seq().await, last);
    assert_not_found(
        store
            .delete_message(f.ws_id(), &MessageId::generate())
            .await,
    );
}

pub async fn deleted_message_cannot_be_edited_or_reacted_to(store: Arc<dyn Store>) {
    let f = Fixture::new(store.clone()).await;
    let channel = f.channel(&f.owner, "general", &[]).await;
    let message = f.post(&channel, &f.owner, "soon gone").await;
    let tombstone = store
        .delete_message(f.ws_id(), &message.id)
        .await
        .unwrap()
        .value;
    let last = f.last_seq().await;
    let edit = store.edit_message(f.ws_id(), &message.id, text("back!"), Mentions::default());
    assert_invalid(edit.await, "message_deleted");
    let tada = emoji("tada");
    let react = store.add_reaction(f.ws_id(), &message.id, &f.owner.id, &tada);
    assert_invalid(react.await, "message_deleted");
    assert_eq!(f.message(&message.id).await, tombstone);
    assert_eq!(f.last_seq().await, last);
}
