//! Thread replies (one level deep, counted on their root) and emoji reactions.

use std::sync::Arc;

use crate::event::EventPayload;
use crate::id::MessageId;
use crate::model::{Message, ReactionSummary};
use crate::store::{HistoryRange, Store};

use super::*;

fn ids(messages: &[Message]) -> Vec<MessageId> {
    messages.iter().map(|m| m.id.clone()).collect()
}

pub async fn reply_updates_its_root(store: Arc<dyn Store>) {
    let f = Fixture::new(store.clone()).await;
    let channel = f.channel(&f.owner, "general", &[&f.bob]).await;
    let root = f.post(&channel, &f.owner, "lunch?").await;
    let mut reply = new_message(&channel.id, &f.bob.id, "yes");
    reply.thread_root_id = Some(root.id.clone());
    let posted = store.post_message(f.ws_id(), reply).await.unwrap();
    let reply = posted.message.clone();
    assert_eq!(reply.thread_root_id, Some(root.id.clone()));
    assert!(reply.seq > root.seq);

    assert_eq!(
        kinds(&posted.events),
        ["message.created", "message.updated"]
    );
    assert_eq!(posted.events[0].seq, reply.seq);
    let root_now = f.message(&root.id).await;
    assert_eq!(root_now.reply_count, 1);
    assert_eq!(root_now.last_reply_at, Some(reply.created_at));
    assert_eq!(root_now.text, root.text);
    assert_eq!(
        posted.events[1].payload,
        EventPayload::MessageUpdated { message: root_now }
    );

    // A reply is not a new top-level message of the channel.
    let channel = store
        .channel(f.ws_id(), &channel.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(channel.last_message_seq, root.seq);
    f.reply(&root, &f.owner, "at noon").await;
    assert_eq!(f.message(&root.id).await.reply_count, 2);
}

pub async fn invalid_thread_roots(store: Arc<dyn Store>) {
    let f = Fixture::new(store.clone()).await;
    let general = f.channel(&f.owner, "general", &[]).await;
    let random = f.channel(&f.owner, "random", &[]).await;
    let root = f.post(&general, &f.owner, "root").await;
    let reply = f.reply(&root, &f.owner, "reply").await;
    let last = f.last_seq().await;
    let reply_to = |channel: &crate::model::Channel, root: MessageId| {
        let mut m = new_message(&channel.id, &f.owner.id, "hmm");
        m.thread_root_id = Some(root);
        m
    };

    let nested = store
        .post_message(f.ws_id(), reply_to(&general, reply.id.clone()))
        .await;
    assert_invalid(nested, "invalid_thread_root");
    let elsewhere = store
        .post_message(f.ws_id(), reply_to(&random, root.id.clone()))
        .await;
    assert_invalid(elsewhere, "invalid_thread_root");
    let unknown = store
        .post_message(f.ws_id(), reply_to(&general, MessageId::generate()))
        .await;
    assert_not_found(unknown);
    assert_eq!(f.last_seq().await, last);
    assert_eq!(f.message(&root.id).await.reply_count, 1);
}

pub async fn list_replies_pages(store: Arc<dyn Store>) {
    let f = Fixture::new(store.clone()).await;
    let channel = f.channel(&f.owner, "general", &[&f.bob]).await;
    let root = f.post(&channel, &f.owner, "thread").await;
    let other = f.post(&channel, &f.owner, "another thread").await;
    let mut replies = Vec::new();
    for i in 1..=5 {
        replies.push(f.reply(&root, &f.bob, &format!("r{i}")).await);
        f.reply(&other, &f.bob, "elsewhere").await;
    }
    let r = |range: &[usize]| -> Vec<MessageId> {
        range.iter().map(|&i| replies[i].id.clone()).collect()
    };

    let page = store.list_replies(f.ws_id(), &root.id, 0, 2).await.unwrap();
    assert_eq!((ids(&page.messages), page.has_more), (r(&[0, 1]), true));
    let page = store
        .list_replies(f.ws_id(), &root.id, replies[1].seq, 2)
        .await
        .unwrap();
    assert_eq!((ids(&page.messages), page.has_more), (r(&[2, 3]), true));
    let page = store
        .list_replies(f.ws_id(), &root.id, replies[3].seq, 2)
        .await
        .unwrap();
    assert_eq!((ids(&page.messages), page.has_more), (r(&[4]), false));
    assert_eq!(page.messages[0], replies[4]);
    let page = store
        .list_replies(f.ws_id(), &root.id, 0, 50)
        .await
        .unwrap();
    assert_eq!(
        (ids(&page.messages), page.has_more),
        (r(&[0, 1, 2, 3, 4]), false)
    );

    // Thread replies never show up in the channel's history.
    let range = HistoryRange::After {
        after: 0,
        limit: 50,
    };
    let history = store
        .list_messages(f.ws_id(), &channel.id, range)
        .await
        .unwrap();
    assert_eq!(ids(&history.messages), [root.id, other.id]);
}

pub async fn deleting_a_reply_decrements_reply_count(store: Arc<dyn Store>) {
    let f = Fixture::new(store.clone()).await;
    let channel = f.channel(&f.owner, "general", &[&f.bob]).await;
    let root = f.post(&channel, &f.owner, "thread").await;
    let first = f.reply(&root, &f.bob, "one").await;
    f.reply(&root, &f.bob, "two").await;
    let deleted = store.delete_message(f.ws_id(), &first.id).await.unwrap();
    assert_eq!(
        kinds(&deleted.events),
        ["message.deleted", "message.updated"]
    );
    let root_now = f.message(&root.id).await;
    assert_eq!(root_now.reply_count, 1);
    assert_eq!(
        deleted.events[1].payload,
        EventPayload::MessageUpdated { message: root_now }
    );
    // Deleting it again does not count it twice.
    store.delete_message(f.ws_id(), &first.id).await.unwrap();
    assert_eq!(f.message(&root.id).await.reply_count, 1);
}

pub async fn reactions_are_idempotent_and_ordered(store: Arc<dyn Store>) {
    let f = Fixture::new(store.clone()).await;
    let channel = f.channel(&f.owner, "general", &[&f.bob, &f.cy]).await;
    let message = f.post(&channel, &f.cy, "shipped!").await;
    let ws = f.ws_id();
    let tada = emoji("tada");

    // The account whose id sorts last reacts first: the order is by reaction, not by id.
    let (early, late) = if f.bob.id > f.owner.id {
        (&f.bob, &f.owner)
    } else {
        (&f.owner, &f.bob)
    };
    let added = store
        .add_reaction(ws, &message.id, &early.id, &tada)
        .await
        .unwrap();
    assert_eq!(kinds(&added.events), ["reaction.added"]);
    let expected = EventPayload::ReactionAdded {
        channel_id: channel.id.clone(),
        message_id: message.id.clone(),
        user_id: early.id.clone(),
        emoji: tada.clone(),
    };
    assert_eq!(added.events[0].payload, expected);
    let last = f.last_seq().await;
    let twice = store
        .add_reaction(ws, &message.id, &early.id, &tada)
        .await
        .unwrap();
    assert!(twice.events.is_empty());
    assert_eq!(f.last_seq().await, last);
    assert_eq!(twice.value.reactions, added.value.reactions);

    store
        .add_reaction(ws, &message.id, &late.id, &tada)
        .await
        .unwrap();
    let rocket = emoji("rocket");
    let now = store
        .add_reaction(ws, &message.id, &f.cy.id, &rocket)
        .await
        .unwrap()
        .value;
    let tada_row = now
        .reactions
        .iter()
        .find(|r| r.emoji == tada)
        .expect("tada");
    let expected_tada = ReactionSummary {
        emoji: tada.clone(),
        count: 2,
        user_ids: vec![early.id.clone(), late.id.clone()],
    };
    assert_eq!(*tada_row, expected_tada);
    let rocket_row = now
        .reactions
        .iter()
        .find(|r| r.emoji == rocket)
        .expect("rocket");
    assert_eq!(
        (rocket_row.count, rocket_row.user_ids.clone()),
        (1, vec![f.cy.id.clone()])
    );
    assert_eq!(now.reactions.len(), 2);
    assert_eq!(f.message(&message.id).await, now);

    // History pages carry the same reactions, emojis and users in the same order.
    let range = HistoryRange::Before {
        before: i64::MAX,
        limit: 50,
    };
    let page = store.list_messages(ws, &channel.id, range).await.unwrap();
    assert_eq!(page.messages, std::slice::from_ref(&now));
    let reply = f.reply(&message, &f.bob, "congrats").await;
    store
        .add_reaction(ws, &reply.id, &late.id, &rocket)
        .await
        .unwrap();
    let reacted = store
        .add_reaction(ws, &reply.id, &early.id, &rocket)
        .await
        .unwrap()
        .value;
    assert_eq!(
        reacted.reactions[0].user_ids,
        [late.id.clone(), early.id.clone()]
    );
    let replies = store.list_replies(ws, &message.id, 0, 10).await.unwrap();
    assert_eq!(replies.messages, [reacted]);
}

pub async fn remove_reaction(store: Arc<dyn Store>) {
    let f = Fixture::new(store.clone()).await;
    let channel = f.channel(&f.owner, "general", &[&f.bob]).await;
    let message = f.post(&channel, &f.owner, "vote").await;
    let ws = f.ws_id();
    let up = emoji("+1");
    store
        .add_reaction(ws, &message.id, &f.owner.id, &up)
        .await
        .unwrap();
    store
        .add_reaction(ws, &message.id, &f.bob.id, &up)
        .await
        .unwrap();

    let removed = store
        .remove_reaction(ws, &message.id, &f.owner.id, &up)
        .await
        .unwrap();
    assert_eq!(kinds(&removed.events), ["reaction.removed"]);
    let expected = EventPayload::ReactionRemoved {
        channel_id: channel.id.clone(),
        message_id: message.id.clone(),
        user_id: f.owner.id.clone(),
        emoji: up.clone(),
    };
    assert_eq!(removed.events[0].payload, expected);
    let row = ReactionSummary {
        emoji: up.clone(),
        count: 1,
        user_ids: vec![f.bob.id.clone()],
    };
    assert_eq!(removed.value.reactions, [row]);

    let last = f.last_seq().await;
    let missing = store
        .remove_reaction(ws, &message.id, &f.owner.id, &up)
        .await
        .unwrap();
    assert!(missing.events.is_empty());
    let never = store
        .remove_reaction(ws, &message.id, &f.bob.id, &emoji("eyes"))
        .await
        .unwrap();
    assert!(never.events.is_empty());
    assert_eq!(f.last_seq().await, last);

    // The last reaction of an emoji takes its row with it.
    let gone = store
        .remove_reaction(ws, &message.id, &f.bob.id, &up)
        .await
        .unwrap()
        .value;
    assert!(gone.reactions.is_empty());
    assert!(f.message(&message.id).await.reactions.is_empty());
}
