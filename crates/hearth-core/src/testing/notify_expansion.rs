//! Notifications, from the event log to notification rows: each workspace's cursor and
//! its lease, the new messages after a cursor, the members a message might concern, and
//! recording what the worker decided, once, with its deliveries.

use std::collections::HashSet;
use std::sync::Arc;

use crate::Timestamp;
use crate::id::{NotificationId, UserId};
use crate::mention::Broadcast;
use crate::model::{Message, User};
use crate::notify::{
    Candidate, ChannelNotify, Delivery, DeliveryKind, DeliveryOutcome, DeliveryState, Lease,
    NewNotification, NotifyCursor, NotifyLevel, NotifyPrefs, Reason,
};
use crate::store::{Store, UserPatch};

use super::notify::{
    at, claim, claim_cursor, decided, finish, lease, record, sent, target, unread,
};
use super::*;

fn ids(candidates: &[Candidate]) -> Vec<UserId> {
    candidates.iter().map(|c| c.user_id.clone()).collect()
}

fn sorted(users: &[&User]) -> Vec<UserId> {
    let mut ids: Vec<UserId> = users.iter().map(|u| u.id.clone()).collect();
    ids.sort();
    ids
}

pub async fn cursor_claims_are_exclusive_and_lapse(store: Arc<dyn Store>) {
    let f = Fixture::new(store.clone()).await;
    let ws = f.ws_id();
    let claim = |lease: Lease| {
        let store = store.clone();
        async move { store.claim_notify_cursor(&lease).await.unwrap() }
    };
    let a = lease("worker-a", 0, 30);
    let cursor = claim(a.clone())
        .await
        .expect("a new workspace's log is all new");
    let start = NotifyCursor {
        workspace_id: ws.clone(),
        seq: 0,
        member_after: None,
    };
    assert_eq!(cursor, start);

    assert_eq!(claim(lease("worker-b", 10, 30)).await, None, "a holds it");
    assert_eq!(
        claim(lease("worker-b", 30, 30)).await,
        None,
        "through its last instant"
    );
    assert_eq!(
        claim(lease("worker-a", 10, 30)).await,
        None,
        "a is already on it"
    );
    let b = lease("worker-b", 31, 30);
    assert_eq!(
        claim(b.clone()).await,
        Some(start.clone()),
        "a's lease lapsed"
    );

    // a, late, can no longer record anything.
    let end = NotifyCursor {
        seq: f.last_seq().await,
        ..start.clone()
    };
    let a_late = lease("worker-a", 32, 30);
    assert!(
        !store
            .record_notifications(&a_late, &end, &[], true)
            .await
            .unwrap()
    );
    assert!(
        store
            .record_notifications(&b, &end, &[], true)
            .await
            .unwrap()
    );
    assert_eq!(claim(lease("worker-c", 40, 30)).await, None, "nothing new");

    // Something happens: the cursor is claimable again, where b left it.
    f.channel(&f.owner, "general", &[&f.bob]).await;
    let c = lease("worker-c", 41, 30);
    assert_eq!(claim(c.clone()).await, Some(end.clone()));
    // Half way through a message's members, c records its progress and keeps the lease.
    let partial = NotifyCursor {
        member_after: Some(f.bob.id.clone()),
        ..end.clone()
    };
    assert!(
        store
            .record_notifications(&c, &partial, &[], false)
            .await
            .unwrap()
    );
    assert_eq!(
        claim(lease("worker-d", 50, 30)).await,
        None,
        "c still holds it"
    );
    assert_eq!(
        claim(lease("worker-d", 72, 30)).await,
        Some(partial),
        "c died"
    );

    // Every workspace has its own cursor, from the start of its own log.
    let other = Fixture::with_slug(store.clone(), "globex").await;
    let theirs = claim(lease("worker-e", 80, 30)).await;
    let theirs = theirs.expect("globex's cursor is free while acme's is held");
    assert_eq!((&theirs.workspace_id, theirs.seq), (other.ws_id(), 0));
}

pub async fn sources_are_new_messages_with_mentions(store: Arc<dyn Store>) {
    let f = Fixture::new(store.clone()).await;
    let other = Fixture::with_slug(store.clone(), "globex").await;
    let ws = f.ws_id();
    let channel = f.channel(&f.owner, "general", &[&f.bob]).await;
    let start = f.last_seq().await;
    let hello = f.post(&channel, &f.owner, "hello @bob").await;
    let cy_ref = format!("<@{}> have a look", f.cy.id);
    let reply = f.reply(&hello, &f.bob, &cy_ref).await;
    let theirs = other.channel(&other.owner, "general", &[]).await;
    other.post(&theirs, &other.owner, "@bob in globex").await;
    let gone = f.post(&channel, &f.bob, "oops @ada").await;
    let all = f.post(&channel, &f.bob, "@channel standup").await;
    store.delete_message(ws, &gone.id).await.unwrap();
    store
        .mark_read(ws, &channel.id, &f.bob.id, all.seq)
        .await
        .unwrap();
    store
        .add_reaction(ws, &all.id, &f.owner.id, &emoji("eyes"))
        .await
        .unwrap();
    let end = f.last_seq().await;

    let page = store.notify_sources(ws, start, 100).await.unwrap();
    let found: Vec<_> = page.sources.iter().map(|s| s.message.id.clone()).collect();
    assert_eq!(found, [hello.id.clone(), reply.id.clone(), all.id.clone()]);
    assert_eq!(
        page.through_seq, end,
        "past the events that are not new messages"
    );
    let [first, second, third] = &page.sources[..] else {
        unreachable!()
    };
    let message = &first.message;
    assert_eq!(
        (&message.text, &message.user_id),
        (&hello.text, &f.owner.id)
    );
    assert_eq!(first.channel.id, channel.id);
    assert_eq!(
        (&first.mentioned, first.broadcast),
        (&vec![f.bob.id.clone()], None)
    );
    assert_eq!(
        second.message.thread_root_id.as_ref(),
        Some(&hello.id),
        "replies too"
    );
    assert_eq!(
        second.mentioned,
        vec![f.cy.id.clone()],
        "by id, member or not"
    );
    assert_eq!(
        (third.mentioned.len(), third.broadcast),
        (0, Some(Broadcast::Channel))
    );

    // Small pages walk the same messages, each once, never past one not yet returned.
    let seqs = [hello.seq, reply.seq, all.seq];
    let mut walked = Vec::new();
    let mut after = start;
    while after < end {
        let page = store.notify_sources(ws, after, 1).await.unwrap();
        assert!(
            page.sources.len() <= 1 && page.through_seq > after,
            "{page:?}"
        );
        walked.extend(page.sources.iter().map(|s| s.message.id.clone()));
        if let Some(next) = seqs.get(walked.len()) {
            assert!(page.through_seq < *next, "passed over a message");
        }
        after = page.through_seq;
    }
    assert_eq!(walked, found);
    let nothing = store.notify_sources(ws, all.seq, 100).await.unwrap();
    assert!(nothing.sources.is_empty());
    assert_eq!(nothing.through_seq, end);

    // A cursor behind the pruned part of the log reads on after it.
    store
        .prune_events(Timestamp::now().plus_secs(60))
        .await
        .unwrap();
    let late = f.post(&channel, &f.owner, "after pruning").await;
    let page = store.notify_sources(ws, start, 100).await.unwrap();
    let found: Vec<_> = page.sources.iter().map(|s| s.message.id.clone()).collect();
    assert_eq!(found, [late.id]);
    assert_eq!(page.through_seq, f.last_seq().await);
}

pub async fn candidates_everyone_and_filtered(store: Arc<dyn Store>) {
    let f = Fixture::new(store.clone()).await;
    let ws = f.ws_id();
    let (dee, eve, fay, gus) = (
        f.member("dee").await,
        f.member("eve").await,
        f.member("fay").await,
        f.member("gus").await,
    );
    let (ada, bob, cy) = (&f.owner, &f.bob, &f.cy);
    let members = [bob, cy, &dee, &eve, &fay, &gus];
    let channel = f.channel(ada, "general", &members).await;
    let all = ChannelNotify {
        level: NotifyLevel::All,
        muted: false,
    };
    store
        .set_channel_notify(ws, &channel.id, &cy.id, all)
        .await
        .unwrap();
    store
        .set_channel_notify(ws, &channel.id, &gus.id, all)
        .await
        .unwrap();
    let watcher = NotifyPrefs {
        keywords: NotifyPrefs::keywords(&["release".to_owned()]).unwrap(),
        ..NotifyPrefs::default()
    };
    store.set_notify_prefs(ws, &dee.id, &watcher).await.unwrap();
    let off = UserPatch {
        deactivated: Some(true),
        ..UserPatch::default()
    };
    store.update_user(ws, &gus.id, off).await.unwrap();

    let root = f.post(&channel, &eve, "who reviews this?").await;
    store
        .mark_read(ws, &channel.id, &bob.id, root.seq)
        .await
        .unwrap();
    let before_replies = f.last_seq().await;
    let asked = f.reply(&root, ada, "@bob can you?").await;
    f.reply(&root, &fay, "+1").await;
    let answer = f.reply(&root, bob, "sure").await;
    let shout = f.post(&channel, &fay, "@channel heads up").await;
    let sources = store
        .notify_sources(ws, before_replies, 10)
        .await
        .unwrap()
        .sources;
    let source = |m: &Message| {
        sources
            .iter()
            .find(|s| s.message.id == m.id)
            .unwrap()
            .clone()
    };
    let (asked, answer, shout) = (source(&asked), source(&answer), source(&shout));

    // Everyone: every active member but the author, in pages by user id.
    let mut everyone: Vec<Candidate> = Vec::new();
    for _ in 0..10 {
        let after = everyone.last().map(|c| c.user_id.clone());
        let page = store.notify_candidates(ws, &asked, true, after.as_ref(), 2);
        let page = page.await.unwrap();
        assert!(page.len() <= 2);
        if page.is_empty() {
            break;
        }
        everyone.extend(page);
    }
    assert_eq!(ids(&everyone), sorted(&[bob, cy, &dee, &eve, &fay]));
    let of = |user: &User| everyone.iter().find(|c| c.user_id == user.id).unwrap();
    assert_eq!(of(cy).notify, all);
    assert_eq!(of(&dee).prefs, watcher);
    assert_eq!(
        (of(bob).last_read_seq, of(bob).prefs.clone()),
        (root.seq, NotifyPrefs::default())
    );
    assert!(of(&eve).thread_participant, "eve started the thread");
    assert!(
        !of(&fay).thread_participant,
        "fay replied only after this reply"
    );
    assert!(!of(bob).thread_participant && !of(cy).thread_participant);

    // Without a broadcast only those something could concern: mentioned, level all,
    // keywords, and the thread's participants.
    let some = store
        .notify_candidates(ws, &asked, false, None, 100)
        .await
        .unwrap();
    assert_eq!(ids(&some), sorted(&[bob, cy, &dee, &eve]));
    let later = store
        .notify_candidates(ws, &answer, false, None, 100)
        .await
        .unwrap();
    assert_eq!(ids(&later), sorted(&[ada, cy, &dee, &eve, &fay]));
    let participants: HashSet<UserId> = later
        .iter()
        .filter(|c| c.thread_participant)
        .map(|c| c.user_id.clone())
        .collect();
    assert_eq!(
        participants,
        HashSet::from([ada.id.clone(), eve.id.clone(), fay.id.clone()])
    );
    let top = store
        .notify_sources(ws, root.seq - 1, 1)
        .await
        .unwrap()
        .sources;
    let top_level = store
        .notify_candidates(ws, &top[0], false, None, 100)
        .await
        .unwrap();
    assert_eq!(ids(&top_level), sorted(&[cy, &dee]));
    assert!(top_level.iter().all(|c| !c.thread_participant));

    // A page's first batches read together are each message's own, in order, a
    // broadcast's among them.
    assert!(shout.concerns_everyone());
    let shouted = store
        .notify_candidates(ws, &shout, true, None, 100)
        .await
        .unwrap();
    assert_eq!(ids(&shouted), sorted(&[ada, bob, cy, &dee, &eve]));
    let together = store
        .notify_candidates_of(ws, &[&answer, &shout, &top[0], &asked], 100)
        .await
        .unwrap();
    assert_eq!(
        together,
        vec![later.clone(), shouted, top_level.clone(), some.clone()]
    );
    let first_two = store
        .notify_candidates_of(ws, &[&asked, &answer], 2)
        .await
        .unwrap();
    assert_eq!(first_two, vec![some[..2].to_vec(), later[..2].to_vec()]);
    assert!(
        store
            .notify_candidates_of(ws, &[], 2)
            .await
            .unwrap()
            .is_empty()
    );
}

pub async fn record_is_idempotent_and_creates_deliveries(store: Arc<dyn Store>) {
    let f = Fixture::new(store.clone()).await;
    let ws = f.ws_id();
    let channel = f.channel(&f.owner, "general", &[&f.bob, &f.cy]).await;
    let (phone, laptop) = (
        target(&f, &f.bob, "phone").await,
        target(&f, &f.bob, "laptop").await,
    );
    let m1 = f.post(&channel, &f.owner, "@bob @cy ship it").await;
    let for_bob = decided(&f.bob, &m1, 0, Some(600));
    record(&f, 0, &[for_bob.clone(), decided(&f.cy, &m1, 0, None)]).await;
    // A worker that crashed before its commit was seen decides the same again.
    let redo = NewNotification {
        id: NotificationId::generate(),
        created_at: at(5),
        ..for_bob.clone()
    };
    record(&f, 5, &[redo]).await;

    let stored = store
        .unread_notifications(ws, &f.bob.id, &channel.id, 10)
        .await;
    let stored = stored.unwrap();
    assert_eq!(stored.len(), 1, "one notification per user and message");
    let n = &stored[0];
    assert_eq!((&n.id, &n.message_id, n.seq), (&for_bob.id, &m1.id, m1.seq));
    assert_eq!(
        (n.reason, n.created_at, &n.user_id),
        (Reason::Mention, at(0), &f.bob.id)
    );

    // One push per target of bob's, due at once; cy has no target; the email waits.
    let pushes = claim(&store, &lease("sender", 10, 30)).await;
    assert_eq!(pushes.len(), 2, "{pushes:?}");
    let mut sent_to: Vec<_> = pushes
        .iter()
        .map(|d| d.target.clone().unwrap().id)
        .collect();
    sent_to.sort();
    let mut expected = vec![phone.id.clone(), laptop.id.clone()];
    expected.sort();
    assert_eq!(sent_to, expected);
    for d in &pushes {
        assert_eq!(
            (d.kind, d.state, d.attempts),
            (DeliveryKind::Push, DeliveryState::Pending, 1)
        );
        assert_eq!((&d.user_id, &d.channel_id), (&f.bob.id, &channel.id));
        assert_eq!(d.notification.as_ref(), Some(n));
        assert_eq!(d.due_at, at(0));
        assert!(finish(&store, &lease("sender", 11, 30), d, sent()).await);
    }

    // One email per conversation: a second notification joins the pending one.
    let m2 = f.post(&channel, &f.owner, "@bob one more").await;
    record(&f, 20, &[decided(&f.bob, &m2, 20, Some(700))]).await;
    let due = claim(&store, &lease("sender", 600, 30)).await;
    let emails: Vec<&Delivery> = due
        .iter()
        .filter(|d| d.kind == DeliveryKind::Email)
        .collect();
    assert_eq!(due.len(), 3, "m2's two pushes and one email: {due:?}");
    let [email] = emails[..] else { unreachable!() };
    assert_eq!(
        (email.due_at, &email.user_id, &email.channel_id),
        (at(600), &f.bob.id, &channel.id)
    );
    assert_eq!((&email.notification, &email.target), (&None, &None));
    let listed = Some(m2.seq);
    let outcome = DeliveryOutcome::Sent {
        through_seq: listed,
    };
    assert!(finish(&store, &lease("sender", 601, 30), email, outcome).await);
    assert!(
        claim(&store, &lease("sender", 700, 30))
            .await
            .iter()
            .all(|d| d.kind != DeliveryKind::Email)
    );

    // After that email went out, the next notification starts the next one.
    let m3 = f.post(&channel, &f.owner, "@bob and another").await;
    record(&f, 800, &[decided(&f.bob, &m3, 800, Some(1400))]).await;
    let next = claim(&store, &lease("sender", 1400, 30)).await;
    assert_eq!(
        next.iter()
            .filter(|d| d.kind == DeliveryKind::Email)
            .count(),
        1
    );

    // A lost lease writes nothing, and says so.
    let held = lease("expander", 2000, 30);
    let cursor = claim_cursor(&f, &held).await;
    let m4 = f.post(&channel, &f.owner, "@bob too late").await;
    let late = decided(&f.bob, &m4, 2000, Some(2600));
    for lost in [lease("intruder", 2001, 30), lease("expander", 2031, 30)] {
        let batch = std::slice::from_ref(&late);
        let recorded = store.record_notifications(&lost, &cursor, batch, true);
        assert!(!recorded.await.unwrap(), "{lost:?}");
    }
    assert!(!unread(&f, &f.bob, &channel.id).await.contains(&late.id));
    assert!(
        claim(&store, &lease("sender", 3000, 30))
            .await
            .iter()
            .all(|d| { d.notification.as_ref().is_none_or(|n| n.id != late.id) })
    );
}
