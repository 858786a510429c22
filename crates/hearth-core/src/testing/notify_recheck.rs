//! Notifications, checked again when delivered: what
//! [`push_check`](crate::store::NotifyStore::push_check) reads in one statement, and that
//! each change a recipient could see made between the decision and the delivery shows in
//! it and skips the push with its own reason.

use std::sync::Arc;

use crate::Timestamp;
use crate::id::NotificationId;
use crate::model::{Message, User};
use crate::notify::{
    ChannelNotify, Notification, NotifyLevel, NotifyPrefs, PushSender, Reason, recheck,
};
use crate::store::{Store, UserPatch};

use super::*;

/// The notification the expander recorded for `user` about `message`.
fn notification(user: &User, message: &Message) -> Notification {
    Notification {
        id: NotificationId::generate(),
        workspace_id: message.workspace_id.clone(),
        user_id: user.id.clone(),
        channel_id: message.channel_id.clone(),
        message_id: message.id.clone(),
        seq: message.seq,
        reason: Reason::Mention,
        created_at: message.created_at,
    }
}

/// Why a push of `n` would be skipped now (`None`: it would go out).
async fn skip_reason(store: &Arc<dyn Store>, n: &Notification) -> Option<&'static str> {
    let check = store.push_check(n).await.expect("push_check");
    recheck(n, check, Timestamp::now()).err()
}

pub async fn push_check_reads_what_a_push_is_rechecked_against(store: Arc<dyn Store>) {
    let f = Fixture::new(store.clone()).await;
    let other = Fixture::with_slug(store.clone(), "globex").await;
    let ws = f.ws_id();
    let channel = f.channel(&f.owner, "general", &[&f.bob, &f.cy]).await;
    let m = f.post(&channel, &f.owner, "@bob ping").await;
    let later = f.post(&channel, &f.cy, "later").await;
    let reply = f.reply(&m, &f.cy, "@bob in the thread").await;
    let n = notification(&f.bob, &m);

    // Everything the payload shows, as it is now.
    let check = store
        .push_check(&n)
        .await
        .unwrap()
        .expect("bob is a member");
    assert_eq!(check.channel.id, channel.id);
    assert_eq!(check.channel.name, channel.name);
    assert_eq!(check.channel.kind, channel.kind);
    assert!(check.last_read_seq < m.seq);
    assert!(!check.muted);
    let message = check.message.clone().expect("the message");
    assert_eq!(
        (
            &message.id,
            message.seq,
            message.text.as_str(),
            message.deleted
        ),
        (&m.id, m.seq, "@bob ping", false)
    );
    assert_eq!(
        (message.created_at, message.thread_root_id),
        (m.created_at, None)
    );
    assert_eq!(check.recipient_deactivated, Some(false));
    assert_eq!(check.prefs, NotifyPrefs::default());
    assert_eq!(
        check.sender,
        Some(PushSender {
            id: f.owner.id.clone(),
            handle: f.owner.handle.clone(),
            display_name: f.owner.display_name.clone(),
        })
    );
    let content = recheck(&n, Some(check), Timestamp::now()).expect("it goes out");
    assert_eq!(content.message.id, m.id);
    let in_thread = store
        .push_check(&notification(&f.bob, &reply))
        .await
        .unwrap();
    let in_thread = in_thread.and_then(|c| c.message).expect("the reply");
    assert_eq!(in_thread.thread_root_id, Some(m.id.clone()));
    assert_eq!(
        store
            .push_check(&notification(&f.cy, &m))
            .await
            .unwrap()
            .map(|c| c.sender),
        Some(Some(PushSender {
            id: f.owner.id.clone(),
            handle: f.owner.handle.clone(),
            display_name: f.owner.display_name.clone(),
        })),
        "each recipient reads the same sender"
    );

    // Each change shows, the most telling reason first: every step below adds a
    // reason that takes precedence over the ones before it.
    assert_eq!(skip_reason(&store, &n).await, None);
    let dnd = NotifyPrefs {
        dnd_until: Some(Timestamp::now().plus_secs(3600)),
        ..NotifyPrefs::default()
    };
    store.set_notify_prefs(ws, &f.bob.id, &dnd).await.unwrap();
    assert_eq!(skip_reason(&store, &n).await, Some("do_not_disturb"));
    let muted = ChannelNotify {
        level: NotifyLevel::Default,
        muted: true,
    };
    let set = store.set_channel_notify(ws, &channel.id, &f.bob.id, muted);
    set.await.unwrap();
    assert_eq!(skip_reason(&store, &n).await, Some("muted"));
    let deactivate = UserPatch {
        deactivated: Some(true),
        ..UserPatch::default()
    };
    store.update_user(ws, &f.bob.id, deactivate).await.unwrap();
    assert_eq!(skip_reason(&store, &n).await, Some("deactivated"));
    store.delete_message(ws, &m.id).await.unwrap();
    assert_eq!(skip_reason(&store, &n).await, Some("deleted"));
    store
        .mark_read(ws, &channel.id, &f.bob.id, later.seq)
        .await
        .unwrap();
    assert_eq!(skip_reason(&store, &n).await, Some("read"));
    store
        .remove_member(ws, &channel.id, &f.bob.id)
        .await
        .unwrap();
    assert_eq!(store.push_check(&n).await.unwrap(), None);
    assert_eq!(skip_reason(&store, &n).await, Some("removed"));

    // Cy's notification is untouched by all of Bob's changes; another workspace's
    // notification names nothing of this one.
    assert_eq!(
        skip_reason(&store, &notification(&f.cy, &later)).await,
        None
    );
    let elsewhere = Notification {
        workspace_id: other.ws.id.clone(),
        ..notification(&f.cy, &later)
    };
    assert_eq!(store.push_check(&elsewhere).await.unwrap(), None);

    // Read together, each is what it is alone, in order.
    let cys = notification(&f.cy, &later);
    let alone = store.push_check(&cys).await.unwrap();
    assert!(alone.is_some(), "cy is still a member");
    assert_eq!(
        store
            .push_checks(&[&cys, &elsewhere, &n, &cys])
            .await
            .unwrap(),
        vec![alone.clone(), None, None, alone]
    );
    assert!(store.push_checks(&[]).await.unwrap().is_empty());
}
