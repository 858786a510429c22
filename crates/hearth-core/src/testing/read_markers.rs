//! Read markers and the sidebar badges computed from them: unread and mention counts.

use std::sync::Arc;

use crate::event::EventPayload;
use crate::id::ChannelId;
use crate::mention;
use crate::model::{Channel, User};
use crate::store::Store;

use super::*;

/// `(unread_count, mention_count)` of `channel` in `user`'s sidebar.
async fn badges(f: &Fixture, user: &User, channel: &Channel) -> (i64, i64) {
    let summary = f.summary(user, channel).await;
    (summary.unread_count, summary.mention_count)
}

pub async fn unread_count_counts_others_top_level_messages(store: Arc<dyn Store>) {
    let f = Fixture::new(store.clone()).await;
    let channel = f.channel(&f.owner, "general", &[&f.bob]).await;
    let b1 = f.post(&channel, &f.bob, "one").await;
    let b2 = f.post(&channel, &f.bob, "two").await;
    f.post(&channel, &f.bob, "three").await;
    f.post(&channel, &f.owner, "my own").await;
    f.reply(&b1, &f.bob, "replies are read in their thread")
        .await;
    let gone = f.post(&channel, &f.bob, "deleted").await;
    store.delete_message(f.ws_id(), &gone.id).await.unwrap();

    assert_eq!(badges(&f, &f.owner, &channel).await, (3, 0));
    assert_eq!(
        badges(&f, &f.bob, &channel).await,
        (1, 0),
        "only ada's message is new to bob"
    );

    store
        .mark_read(f.ws_id(), &channel.id, &f.owner.id, b2.seq)
        .await
        .unwrap();
    assert_eq!(badges(&f, &f.owner, &channel).await, (1, 0));
    let newest = store
        .channel(f.ws_id(), &channel.id)
        .await
        .unwrap()
        .unwrap()
        .last_message_seq;
    store
        .mark_read(f.ws_id(), &channel.id, &f.owner.id, newest)
        .await
        .unwrap();
    assert_eq!(badges(&f, &f.owner, &channel).await, (0, 0));
    assert_eq!(
        badges(&f, &f.bob, &channel).await,
        (1, 0),
        "bob's marker did not move"
    );
}

pub async fn mark_read_moves_the_marker(store: Arc<dyn Store>) {
    let f = Fixture::new(store.clone()).await;
    let channel = f.channel(&f.owner, "general", &[&f.bob]).await;
    let first = f.post(&channel, &f.bob, "one").await;
    let second = f.post(&channel, &f.bob, "two").await;
    let before = f.last_seq().await;

    let marked = store
        .mark_read(f.ws_id(), &channel.id, &f.owner.id, second.seq)
        .await
        .unwrap();
    assert_eq!(marked.value.last_read_seq, second.seq);
    assert_eq!(
        (&marked.value.user_id, &marked.value.channel_id),
        (&f.owner.id, &channel.id)
    );
    assert_eq!(kinds(&marked.events), ["read_marker.updated"]);
    let expected = EventPayload::ReadMarkerUpdated {
        channel_id: channel.id.clone(),
        user_id: f.owner.id.clone(),
        last_read_seq: second.seq,
    };
    assert_eq!(marked.events[0].payload, expected);
    let membership = store
        .membership(f.ws_id(), &channel.id, &f.owner.id)
        .await
        .unwrap();
    assert_eq!(membership, Some(marked.value.clone()));
    assert_eq!(
        f.events(&f.owner, before).await.0,
        marked.events,
        "ada's devices see it"
    );
    assert!(
        f.events(&f.bob, before).await.0.is_empty(),
        "nobody else does"
    );

    let same = store
        .mark_read(f.ws_id(), &channel.id, &f.owner.id, second.seq)
        .await
        .unwrap();
    assert!(same.events.is_empty(), "an unmoved marker appends nothing");

    // Backwards is "mark unread".
    let back = store
        .mark_read(f.ws_id(), &channel.id, &f.owner.id, first.seq - 1)
        .await
        .unwrap();
    assert_eq!(back.value.last_read_seq, first.seq - 1);
    assert_eq!(kinds(&back.events), ["read_marker.updated"]);
    assert_eq!(f.summary(&f.owner, &channel).await.unread_count, 2);
}

pub async fn mark_read_rejects_bad_seq_and_non_members(store: Arc<dyn Store>) {
    let f = Fixture::new(store.clone()).await;
    let channel = f.channel(&f.owner, "general", &[&f.bob]).await;
    let newest = f.post(&channel, &f.bob, "newest here").await;
    let elsewhere = f.channel(&f.owner, "random", &[]).await;
    let later = f
        .post(&elsewhere, &f.owner, "newer, but in another channel")
        .await;
    let ws = f.ws_id();

    // A seq past this channel's newest message is invalid even if the workspace has it.
    assert_invalid(
        store
            .mark_read(ws, &channel.id, &f.owner.id, later.seq)
            .await,
        "invalid_seq",
    );
    let future = f.last_seq().await + 1000;
    assert_invalid(
        store.mark_read(ws, &channel.id, &f.owner.id, future).await,
        "invalid_seq",
    );
    store
        .mark_read(ws, &channel.id, &f.owner.id, newest.seq)
        .await
        .unwrap();

    assert_not_found(store.mark_read(ws, &channel.id, &f.cy.id, newest.seq).await);
    assert_not_found(
        store
            .mark_read(ws, &ChannelId::generate(), &f.owner.id, 0)
            .await,
    );
    assert!(
        store
            .membership(ws, &channel.id, &f.cy.id)
            .await
            .unwrap()
            .is_none()
    );
}

pub async fn mention_count_counts_mentions_and_broadcasts(store: Arc<dyn Store>) {
    let f = Fixture::new(store.clone()).await;
    let channel = f.channel(&f.owner, "general", &[&f.bob, &f.cy]).await;
    let by_handle = f.post(&channel, &f.bob, "@ada look").await;
    f.post(&channel, &f.bob, &format!("<@{}> again", f.owner.id))
        .await;
    for body in [
        "@channel all",
        "<!here> now",
        "@everyone hi",
        "plain",
        "@cy only",
        "@nobody",
    ] {
        f.post(&channel, &f.bob, body).await;
    }
    f.post(&channel, &f.cy, "hey @ada").await;
    f.post(&channel, &f.owner, "@ada note to self").await;
    let root = f.post(&channel, &f.cy, "thread").await;
    f.reply(&root, &f.bob, "@ada in a thread").await;
    let gone = f.post(&channel, &f.bob, "@ada never mind").await;
    store.delete_message(f.ws_id(), &gone.id).await.unwrap();

    // ada: 8 from bob, 2 from cy; mentioned by handle, id, three broadcasts and cy.
    assert_eq!(badges(&f, &f.owner, &channel).await, (10, 6));
    // cy: 8 from bob, 1 from ada; mentioned by three broadcasts and `@cy`.
    assert_eq!(badges(&f, &f.cy, &channel).await, (9, 4));

    // Editing a mention away stops counting it.
    let body = "look";
    let edit = store.edit_message(f.ws_id(), &by_handle.id, text(body), mention::parse(body));
    edit.await.unwrap();
    assert_eq!(badges(&f, &f.owner, &channel).await, (10, 5));

    let newest = store
        .channel(f.ws_id(), &channel.id)
        .await
        .unwrap()
        .unwrap()
        .last_message_seq;
    store
        .mark_read(f.ws_id(), &channel.id, &f.owner.id, newest)
        .await
        .unwrap();
    assert_eq!(badges(&f, &f.owner, &channel).await, (0, 0));
}

pub async fn every_unread_dm_message_is_a_mention(store: Arc<dyn Store>) {
    let f = Fixture::new(store.clone()).await;
    let dm = f.dm(&[&f.owner, &f.bob]).await;
    let group = f.dm(&[&f.owner, &f.bob, &f.cy]).await;
    f.post(&dm, &f.bob, "hi").await;
    let second = f.post(&dm, &f.bob, "are you there?").await;
    f.post(&dm, &f.owner, "yes").await;
    f.post(&group, &f.cy, "lunch?").await;

    assert_eq!(badges(&f, &f.owner, &dm).await, (2, 2));
    assert_eq!(badges(&f, &f.bob, &dm).await, (1, 1));
    assert_eq!(badges(&f, &f.owner, &group).await, (1, 1));
    assert_eq!(badges(&f, &f.cy, &group).await, (0, 0));

    store
        .mark_read(f.ws_id(), &dm.id, &f.owner.id, second.seq)
        .await
        .unwrap();
    assert_eq!(badges(&f, &f.owner, &dm).await, (0, 0));
}
