//! Public and private channels: creation, unique names, browsing, settings, and who is in
//! them.

use std::collections::HashSet;
use std::sync::Arc;

use crate::event::EventPayload;
use crate::id::{ChannelId, UserId};
use crate::model::{ChannelKind, ChannelRole};
use crate::store::{ChannelPatch, Store, UserPatch};

use super::*;

pub async fn create_channel_makes_creator_admin(store: Arc<dyn Store>) {
    let f = Fixture::new(store.clone()).await;
    let before = f.last_seq().await;
    let mut input = new_channel(ChannelKind::Public, "general");
    input.topic = topic("Company-wide news");
    let created = store
        .create_channel(f.ws_id(), &f.bob.id, input)
        .await
        .unwrap();
    let channel = created.value.clone();
    assert_eq!(channel.kind, ChannelKind::Public);
    assert_eq!(channel.name, Some(channel_name("general")));
    assert_eq!(channel.topic.as_str(), "Company-wide news");
    assert_eq!(channel.created_by, f.bob.id);
    assert_eq!(channel.workspace_id, f.ws.id);
    assert!(!channel.archived);
    assert_eq!(channel.last_message_seq, 0);
    assert_eq!(
        store.channel(f.ws_id(), &channel.id).await.unwrap(),
        Some(channel.clone())
    );

    let membership = store
        .membership(f.ws_id(), &channel.id, &f.bob.id)
        .await
        .unwrap();
    assert_eq!(
        membership.as_ref().expect("the creator is a member").role,
        ChannelRole::Admin
    );
    assert!(
        store
            .membership(f.ws_id(), &channel.id, &f.cy.id)
            .await
            .unwrap()
            .is_none()
    );

    // The combined read agrees with the two separate ones.
    assert_eq!(
        store
            .channel_for(f.ws_id(), &channel.id, &f.bob.id)
            .await
            .unwrap(),
        Some((channel.clone(), membership))
    );
    assert_eq!(
        store
            .channel_for(f.ws_id(), &channel.id, &f.cy.id)
            .await
            .unwrap(),
        Some((channel.clone(), None))
    );
    assert_eq!(
        store
            .channel_for(f.ws_id(), &ChannelId::generate(), &f.bob.id)
            .await
            .unwrap(),
        None
    );

    assert_eq!(kinds(&created.events), ["channel.created", "member.joined"]);
    assert_strictly_increasing(&created.events);
    assert!(created.events[0].seq > before);
    assert_eq!(
        created.events[0].payload,
        EventPayload::ChannelCreated {
            channel: channel.clone(),
            member_ids: vec![f.bob.id.clone()],
        }
    );
    let joined = EventPayload::MemberJoined {
        channel_id: channel.id.clone(),
        user_id: f.bob.id.clone(),
    };
    assert_eq!(created.events[1].payload, joined);

    let (seen, _) = f.events(&f.bob, before).await;
    assert_eq!(
        seen, created.events,
        "the creator sees both events as committed"
    );
    let (seen, _) = f.events(&f.cy, before).await;
    assert!(
        seen.is_empty(),
        "a public channel's events reach only its members: {seen:?}"
    );
}

pub async fn channel_names_are_unique(store: Arc<dyn Store>) {
    let f = Fixture::new(store.clone()).await;
    let ws = f.ws_id();
    f.channel(&f.owner, "general", &[]).await;
    f.private_channel(&f.owner, "secret", &[]).await;
    let public = |name| new_channel(ChannelKind::Public, name);
    let private = |name| new_channel(ChannelKind::Private, name);
    assert_conflict(
        store.create_channel(ws, &f.bob.id, public("general")).await,
        "name_taken",
    );
    assert_conflict(
        store
            .create_channel(ws, &f.bob.id, private("general"))
            .await,
        "name_taken",
    );
    assert_conflict(
        store.create_channel(ws, &f.bob.id, public("secret")).await,
        "name_taken",
    );
    // `#general` parses to the same name.
    let hashed = new_channel(ChannelKind::Public, "#general");
    assert_conflict(
        store.create_channel(ws, &f.bob.id, hashed).await,
        "name_taken",
    );
    let bobs = store.list_user_channels(ws, &f.bob.id).await.unwrap();
    assert!(
        bobs.is_empty(),
        "failed creations leave nothing behind: {bobs:?}"
    );
}

pub async fn browse_lists_public_channels_with_member_counts(store: Arc<dyn Store>) {
    let f = Fixture::new(store.clone()).await;
    let zeta = f.channel(&f.owner, "zeta", &[]).await;
    let alpha = f.channel(&f.owner, "alpha", &[&f.bob, &f.cy]).await;
    f.private_channel(&f.owner, "beta", &[&f.bob]).await;
    f.dm(&[&f.owner, &f.bob]).await;
    f.dm(&[&f.owner, &f.bob, &f.cy]).await;
    let browsed = store.browse_channels(f.ws_id()).await.unwrap();
    let rows: Vec<(ChannelId, i64)> = browsed.iter().map(|(c, n)| (c.id.clone(), *n)).collect();
    assert_eq!(
        rows,
        [(alpha.id.clone(), 3), (zeta.id.clone(), 1)],
        "public only, by name"
    );
    assert_eq!(browsed[0].0, alpha);

    store
        .remove_member(f.ws_id(), &alpha.id, &f.cy.id)
        .await
        .unwrap();
    let browsed = store.browse_channels(f.ws_id()).await.unwrap();
    assert_eq!(browsed[0].1, 2, "counts follow membership");
}

pub async fn update_channel_appends_channel_updated(store: Arc<dyn Store>) {
    let f = Fixture::new(store.clone()).await;
    let channel = f.channel(&f.owner, "general", &[]).await;
    let ws = f.ws_id();

    let patch = ChannelPatch {
        topic: Some(topic("Launch day")),
        ..ChannelPatch::default()
    };
    let updated = store
        .update_channel(ws, &channel.id, patch.clone())
        .await
        .unwrap();
    assert_eq!(updated.value.topic.as_str(), "Launch day");
    assert_eq!(updated.value.name, channel.name);
    assert_eq!(kinds(&updated.events), ["channel.updated"]);
    let snapshot = EventPayload::ChannelUpdated {
        channel: updated.value.clone(),
    };
    assert_eq!(updated.events[0].payload, snapshot);
    // The same topic again changes nothing.
    assert!(
        store
            .update_channel(ws, &channel.id, patch)
            .await
            .unwrap()
            .events
            .is_empty()
    );

    // Keeping its own name is no conflict and no change.
    let same_name = ChannelPatch {
        name: channel.name.clone(),
        ..Default::default()
    };
    let unchanged = store
        .update_channel(ws, &channel.id, same_name)
        .await
        .unwrap();
    assert!(unchanged.events.is_empty());
    let rename = ChannelPatch {
        name: Some(channel_name("announcements")),
        ..Default::default()
    };
    let renamed = store.update_channel(ws, &channel.id, rename).await.unwrap();
    assert_eq!(renamed.value.name, Some(channel_name("announcements")));
    assert_eq!(renamed.value.topic.as_str(), "Launch day");
    assert_eq!(kinds(&renamed.events), ["channel.updated"]);
    // The old name is free again.
    f.channel(&f.bob, "general", &[]).await;

    let archive = ChannelPatch {
        archived: Some(true),
        ..ChannelPatch::default()
    };
    let archived = store
        .update_channel(ws, &channel.id, archive)
        .await
        .unwrap();
    assert!(archived.value.archived);
    assert_eq!(kinds(&archived.events), ["channel.updated"]);
    assert_eq!(
        store.channel(ws, &channel.id).await.unwrap(),
        Some(archived.value.clone())
    );
    let listed = f.summary(&f.owner, &channel).await;
    assert!(
        listed.channel.archived,
        "archived channels stay in the member's list"
    );

    let missing = store
        .update_channel(ws, &ChannelId::generate(), ChannelPatch::default())
        .await;
    assert_not_found(missing);
}

pub async fn rename_to_taken_name_conflicts(store: Arc<dyn Store>) {
    let f = Fixture::new(store.clone()).await;
    let general = f.channel(&f.owner, "general", &[]).await;
    f.private_channel(&f.owner, "secret", &[]).await;
    for taken in ["secret", "general"] {
        let patch = ChannelPatch {
            name: Some(channel_name(taken)),
            ..Default::default()
        };
        let other = f.channel(&f.owner, &format!("other-{taken}"), &[]).await;
        assert_conflict(
            store.update_channel(f.ws_id(), &other.id, patch).await,
            "name_taken",
        );
    }
    assert_eq!(
        store.channel(f.ws_id(), &general.id).await.unwrap(),
        Some(general)
    );
}

pub async fn add_members_adds_only_new_members(store: Arc<dyn Store>) {
    let f = Fixture::new(store.clone()).await;
    let dee = f.member("dee").await;
    let channel = f.channel(&f.owner, "general", &[]).await;
    let ws = f.ws_id();

    let added = store
        .add_members(ws, &channel.id, &[f.bob.id.clone(), f.cy.id.clone()])
        .await;
    let added = added.unwrap();
    let set: HashSet<UserId> = added.value.iter().cloned().collect();
    assert_eq!(set, HashSet::from([f.bob.id.clone(), f.cy.id.clone()]));
    assert_eq!(kinds(&added.events), ["member.joined", "member.joined"]);
    let joined: HashSet<UserId> = added
        .events
        .iter()
        .map(|e| match &e.payload {
            EventPayload::MemberJoined {
                channel_id,
                user_id,
            } if *channel_id == channel.id => user_id.clone(),
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    assert_eq!(joined, set);
    let bob = store
        .membership(ws, &channel.id, &f.bob.id)
        .await
        .unwrap()
        .expect("bob joined");
    assert_eq!(bob.role, ChannelRole::Member);

    // Existing members (the creator too) are skipped without events.
    let ids = [f.owner.id.clone(), f.bob.id.clone(), dee.id.clone()];
    let again = store.add_members(ws, &channel.id, &ids).await.unwrap();
    assert_eq!(again.value, vec![dee.id.clone()]);
    assert_eq!(kinds(&again.events), ["member.joined"]);
    let nobody_new = store
        .add_members(ws, &channel.id, std::slice::from_ref(&f.bob.id))
        .await
        .unwrap();
    assert!(nobody_new.value.is_empty() && nobody_new.events.is_empty());

    let to_nowhere = store
        .add_members(ws, &ChannelId::generate(), std::slice::from_ref(&f.bob.id))
        .await;
    assert_not_found(to_nowhere);
}

pub async fn add_members_rejects_unknown_or_inactive_all_or_nothing(store: Arc<dyn Store>) {
    let f = Fixture::new(store.clone()).await;
    let other = Fixture::with_slug(store.clone(), "globex").await;
    let dee = f.member("dee").await;
    let gone = f.member("gone").await;
    let off = UserPatch {
        deactivated: Some(true),
        ..UserPatch::default()
    };
    store.update_user(f.ws_id(), &gone.id, off).await.unwrap();
    let channel = f.channel(&f.owner, "general", &[]).await;
    let before = f.last_seq().await;

    for bad in [UserId::generate(), other.bob.id.clone(), gone.id.clone()] {
        let ids = [dee.id.clone(), bad];
        assert_not_found(store.add_members(f.ws_id(), &channel.id, &ids).await);
        let dee_in = store
            .membership(f.ws_id(), &channel.id, &dee.id)
            .await
            .unwrap();
        assert!(dee_in.is_none(), "nothing is added when one id is bad");
    }
    assert!(
        store
            .membership(f.ws_id(), &channel.id, &gone.id)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(f.last_seq().await, before, "no events were appended");
}

pub async fn remove_member_appends_member_left(store: Arc<dyn Store>) {
    let f = Fixture::new(store.clone()).await;
    let channel = f.channel(&f.owner, "general", &[&f.bob]).await;
    let removed = store
        .remove_member(f.ws_id(), &channel.id, &f.bob.id)
        .await
        .unwrap();
    assert!(removed.value);
    assert_eq!(kinds(&removed.events), ["member.left"]);
    let left = EventPayload::MemberLeft {
        channel_id: channel.id.clone(),
        user_id: f.bob.id.clone(),
    };
    assert_eq!(removed.events[0].payload, left);
    assert!(
        store
            .membership(f.ws_id(), &channel.id, &f.bob.id)
            .await
            .unwrap()
            .is_none()
    );
    let bobs = store
        .list_user_channels(f.ws_id(), &f.bob.id)
        .await
        .unwrap();
    assert!(bobs.is_empty());

    let before = f.last_seq().await;
    for who in [&f.bob, &f.cy] {
        let again = store
            .remove_member(f.ws_id(), &channel.id, &who.id)
            .await
            .unwrap();
        assert!(!again.value && again.events.is_empty());
    }
    assert_eq!(f.last_seq().await, before);
}

pub async fn list_members_pages_by_user_id(store: Arc<dyn Store>) {
    let f = Fixture::new(store.clone()).await;
    let mut people = vec![f.bob.clone(), f.cy.clone()];
    for name in ["dee", "eve", "fay"] {
        people.push(f.member(name).await);
    }
    f.member("not-in-it").await;
    let refs: Vec<&_> = people.iter().collect();
    let channel = f.channel(&f.owner, "general", &refs).await;
    let mut expected: Vec<UserId> = people.iter().map(|u| u.id.clone()).collect();
    expected.push(f.owner.id.clone());
    expected.sort();

    let mut paged = Vec::new();
    let mut after: Option<UserId> = None;
    loop {
        let page = store
            .list_members(f.ws_id(), &channel.id, after.as_ref(), 4)
            .await
            .unwrap();
        assert!(page.len() <= 4);
        let Some(last) = page.last() else { break };
        after = Some(last.user.id.clone());
        for member in page {
            assert_eq!(member.user.id, member.membership.user_id);
            assert_eq!(member.membership.channel_id, channel.id);
            paged.push(member.user.id);
        }
    }
    assert_eq!(paged, expected, "every member once, ordered by user id");
}
