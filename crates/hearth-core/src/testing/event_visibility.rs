//! Who sees which events: channel events reach whoever was a member at the event's seq
//! (creators from the channel's creation, joiners from their join, leavers up to their own
//! `member.left`), read markers only their owner, profile changes everyone.

use std::sync::Arc;

use crate::event::{Event, EventPayload};
use crate::store::{ChannelPatch, Store, UserPatch};

use super::*;

pub async fn private_channel_events_only_reach_members(store: Arc<dyn Store>) {
    let f = Fixture::new(store.clone()).await;
    let ws = f.ws_id();
    let before = f.last_seq().await;
    let secret = f.private_channel(&f.bob, "secret", &[&f.cy]).await;
    let message = f.post(&secret, &f.bob, "surprise party for ada").await;
    store
        .add_reaction(ws, &message.id, &f.cy.id, &emoji("tada"))
        .await
        .unwrap();
    let patch = ChannelPatch {
        topic: Some(topic("shh")),
        ..ChannelPatch::default()
    };
    store.update_channel(ws, &secret.id, patch).await.unwrap();
    let public = f.channel(&f.bob, "bobs-corner", &[]).await;
    f.post(&public, &f.bob, "public but ada never joined").await;

    let (adas, _) = f.events(&f.owner, before).await;
    assert!(
        adas.is_empty(),
        "not even the owner sees channels she is not in: {adas:?}"
    );
    let (cys, _) = f.events(&f.cy, before).await;
    let kinds_in_secret: Vec<_> = cys
        .iter()
        .filter(|e| in_channel(e, &secret))
        .map(|e| e.payload.kind())
        .collect();
    assert_eq!(
        kinds_in_secret,
        [
            "member.joined",
            "message.created",
            "reaction.added",
            "channel.updated"
        ]
    );
    assert!(!cys.iter().any(|e| in_channel(e, &public)));
}

pub async fn removed_member_sees_own_leave_then_nothing(store: Arc<dyn Store>) {
    let f = Fixture::new(store.clone()).await;
    let ws = f.ws_id();
    let channel = f.channel(&f.owner, "general", &[&f.bob, &f.cy]).await;
    let before_removal = f.post(&channel, &f.bob, "cy is still here").await;
    let removed = store
        .remove_member(ws, &channel.id, &f.cy.id)
        .await
        .unwrap();
    let left = removed.events[0].clone();
    let while_away = f.post(&channel, &f.bob, "cy is gone").await;
    let patch = ChannelPatch {
        topic: Some(topic("cy-free zone")),
        ..ChannelPatch::default()
    };
    store.update_channel(ws, &channel.id, patch).await.unwrap();

    let (cys, _) = f.events(&f.cy, 0).await;
    let cys: Vec<Event> = cys
        .into_iter()
        .filter(|e| in_channel(e, &channel))
        .collect();
    assert_eq!(
        cys.last(),
        Some(&left),
        "cy's own member.left is the last thing cy sees"
    );
    assert_eq!(
        created(&cys),
        vec![before_removal.id.clone()],
        "history while a member stays"
    );
    let (adas, _) = f.events(&f.owner, 0).await;
    assert!(adas.contains(&left), "the others see cy leave");

    // Back in, cy sees events from the new join on, but still not the gap.
    f.add(&channel, &[&f.cy]).await;
    let after_return = f.post(&channel, &f.bob, "welcome back").await;
    let (cys, _) = f.events(&f.cy, 0).await;
    let created_ids = created(&cys);
    assert_eq!(created_ids, [before_removal.id, after_return.id]);
    assert!(!created_ids.contains(&while_away.id));
    assert!(!cys.iter().any(|e| e.payload.kind() == "channel.updated"));
}

pub async fn late_joiner_sees_from_join_on(store: Arc<dyn Store>) {
    let f = Fixture::new(store.clone()).await;
    let channel = f.channel(&f.owner, "general", &[&f.bob]).await;
    f.post(&channel, &f.bob, "before dee").await;
    let dee = f.member("dee").await;
    let start = f.last_seq().await;
    let added = store
        .add_members(f.ws_id(), &channel.id, std::slice::from_ref(&dee.id))
        .await
        .unwrap();
    let joined = added.events[0].clone();
    let later = f.post(&channel, &f.bob, "hi dee").await;

    let (dees, _) = f.events(&dee, 0).await;
    let in_general: Vec<Event> = dees
        .into_iter()
        .filter(|e| in_channel(e, &channel))
        .collect();
    assert_eq!(
        in_general.first(),
        Some(&joined),
        "dee's view starts with dee joining"
    );
    assert!(in_general.iter().all(|e| e.seq > start));
    assert_eq!(created(&in_general), [later.id]);
}

pub async fn read_markers_and_profiles_audience(store: Arc<dyn Store>) {
    let f = Fixture::new(store.clone()).await;
    let channel = f.channel(&f.owner, "general", &[&f.bob, &f.cy]).await;
    let message = f.post(&channel, &f.bob, "read me").await;
    let before = f.last_seq().await;
    let marker = store
        .mark_read(f.ws_id(), &channel.id, &f.cy.id, message.seq)
        .await
        .unwrap();
    let dee = f.member("dee").await;
    let patch = UserPatch {
        display_name: Some(display_name("Cy C.")),
        ..UserPatch::default()
    };
    let profile = store.update_user(f.ws_id(), &f.cy.id, patch).await.unwrap();
    let profile_kinds = ["user.created", "user.updated"];

    for reader in [&f.owner, &f.bob, &dee] {
        let (events, _) = f.events(reader, before).await;
        assert_eq!(
            kinds(&events),
            profile_kinds,
            "{} sees profiles only",
            reader.handle
        );
        assert_eq!(
            events[0].payload,
            EventPayload::UserCreated { user: dee.clone() }
        );
        assert_eq!(events[1], profile.events[0]);
    }
    let (cys, _) = f.events(&f.cy, before).await;
    assert_eq!(
        kinds(&cys),
        ["read_marker.updated", "user.created", "user.updated"]
    );
    assert_eq!(cys[0], marker.events[0]);
}
