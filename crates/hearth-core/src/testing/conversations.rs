//! DMs and group DMs: one conversation per set of people, opened with get-or-create.

use std::collections::HashSet;
use std::sync::Arc;

use crate::event::EventPayload;
use crate::id::UserId;
use crate::model::{ChannelKind, User};
use crate::store::{Store, UserPatch};

use super::*;

fn ids(users: &[&User]) -> Vec<UserId> {
    users.iter().map(|u| u.id.clone()).collect()
}

pub async fn open_conversation_is_get_or_create(store: Arc<dyn Store>) {
    let f = Fixture::new(store.clone()).await;
    let ws = f.ws_id();
    let before = f.last_seq().await;
    let opened = store
        .open_conversation(ws, &f.owner.id, &ids(&[&f.owner, &f.bob]))
        .await;
    let opened = opened.unwrap();
    let dm = opened.value.clone();
    assert_eq!(dm.kind, ChannelKind::Dm);
    assert_eq!(dm.name, None);
    assert_eq!(dm.workspace_id, f.ws.id);
    let created = opened
        .events
        .iter()
        .find(|e| e.payload.kind() == "channel.created");
    let created = created.expect("a new conversation appends channel.created");
    assert_eq!(
        created.payload,
        EventPayload::ChannelCreated {
            channel: dm.clone(),
            member_ids: {
                let mut founders = ids(&[&f.owner, &f.bob]);
                founders.sort();
                founders
            },
        }
    );
    for who in [&f.owner, &f.bob] {
        assert!(
            store
                .membership(ws, &dm.id, &who.id)
                .await
                .unwrap()
                .is_some()
        );
        let (seen, _) = f.events(who, before).await;
        assert!(
            seen.contains(created),
            "{} sees the new conversation",
            who.handle
        );
    }
    assert!(
        f.events(&f.cy, before).await.0.is_empty(),
        "outsiders see nothing of it"
    );

    // Either participant, listing people in any order, gets the same conversation.
    let last = f.last_seq().await;
    let again = store
        .open_conversation(ws, &f.bob.id, &ids(&[&f.bob, &f.owner]))
        .await;
    let again = again.unwrap();
    assert_eq!(again.value.id, dm.id);
    assert!(again.events.is_empty());
    assert_eq!(f.last_seq().await, last);

    // Other sets are other conversations.
    let with_cy = f.dm(&[&f.owner, &f.cy]).await;
    let group = f.dm(&[&f.owner, &f.bob, &f.cy]).await;
    let distinct: HashSet<_> = [&dm.id, &with_cy.id, &group.id].into_iter().collect();
    assert_eq!(distinct.len(), 3);
    let reordered = f.dm(&[&f.cy, &f.owner, &f.bob]).await;
    assert_eq!(reordered.id, group.id);
}

pub async fn self_dm_and_group_dm_sizes(store: Arc<dyn Store>) {
    let f = Fixture::new(store.clone()).await;
    let ws = f.ws_id();
    let own = f.dm(&[&f.bob]).await;
    assert_eq!(own.kind, ChannelKind::Dm);
    let members = store.list_members(ws, &own.id, None, 10).await.unwrap();
    assert_eq!(members.len(), 1);
    assert_eq!(members[0].user.id, f.bob.id);
    assert_eq!(
        f.dm(&[&f.bob]).await.id,
        own.id,
        "the self-DM is opened again, not duplicated"
    );
    assert_ne!(f.dm(&[&f.bob, &f.cy]).await.id, own.id);

    let mut people = vec![f.owner.clone(), f.bob.clone(), f.cy.clone()];
    for i in 0..6 {
        people.push(f.member(&format!("p{i}")).await);
    }
    let nine: Vec<&User> = people.iter().collect();
    let group = f.dm(&nine).await;
    assert_eq!(group.kind, ChannelKind::GroupDm);
    assert_eq!(group.name, None);
    assert_eq!(
        store
            .list_members(ws, &group.id, None, 20)
            .await
            .unwrap()
            .len(),
        9
    );
    let trio = f.dm(&nine[..3]).await;
    assert_eq!(trio.kind, ChannelKind::GroupDm);
    assert_ne!(trio.id, group.id);
}

pub async fn too_many_members(store: Arc<dyn Store>) {
    let f = Fixture::new(store.clone()).await;
    let mut people = vec![f.owner.id.clone(), f.bob.id.clone(), f.cy.id.clone()];
    for i in 0..7 {
        people.push(f.member(&format!("p{i}")).await.id);
    }
    assert_eq!(people.len(), 10);
    let result = store
        .open_conversation(f.ws_id(), &f.owner.id, &people)
        .await;
    assert_invalid(result, "too_many_members");
    let mine = store
        .list_user_channels(f.ws_id(), &f.owner.id)
        .await
        .unwrap();
    assert!(mine.is_empty(), "nothing was created: {mine:?}");
}

pub async fn open_conversation_needs_active_accounts(store: Arc<dyn Store>) {
    let f = Fixture::new(store.clone()).await;
    let ws = f.ws_id();
    let unknown = vec![f.owner.id.clone(), UserId::generate()];
    assert_not_found(store.open_conversation(ws, &f.owner.id, &unknown).await);
    let off = UserPatch {
        deactivated: Some(true),
        ..UserPatch::default()
    };
    store.update_user(ws, &f.cy.id, off).await.unwrap();
    let after_deactivation = f.last_seq().await;
    let with_gone = ids(&[&f.owner, &f.bob, &f.cy]);
    assert_not_found(store.open_conversation(ws, &f.owner.id, &with_gone).await);
    assert!(
        store
            .list_user_channels(ws, &f.owner.id)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        f.last_seq().await,
        after_deactivation,
        "no events were appended"
    );
}

pub async fn list_user_channels_names_the_other_participants(store: Arc<dyn Store>) {
    let f = Fixture::new(store.clone()).await;
    let general = f.channel(&f.bob, "general", &[&f.owner]).await;
    let dm = f.dm(&[&f.owner, &f.bob]).await;
    let group = f.dm(&[&f.cy, &f.owner, &f.bob]).await;
    f.dm(&[&f.bob, &f.cy]).await;
    f.private_channel(&f.bob, "not-for-ada", &[]).await;

    let mine = store
        .list_user_channels(f.ws_id(), &f.owner.id)
        .await
        .unwrap();
    let listed: HashSet<_> = mine.iter().map(|s| s.channel.id.clone()).collect();
    let expected: HashSet<_> = [&general.id, &dm.id, &group.id]
        .into_iter()
        .cloned()
        .collect();
    assert_eq!(listed, expected, "exactly ada's channels and conversations");
    for summary in &mine {
        assert_eq!(summary.membership.user_id, f.owner.id);
        assert_eq!(summary.membership.channel_id, summary.channel.id);
    }
    assert_eq!(
        f.summary(&f.owner, &dm).await.member_ids,
        vec![f.bob.id.clone()]
    );
    let others: HashSet<_> = f
        .summary(&f.owner, &group)
        .await
        .member_ids
        .into_iter()
        .collect();
    assert_eq!(others, HashSet::from([f.bob.id.clone(), f.cy.id.clone()]));
}
