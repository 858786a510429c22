//! Notifications, from rows to people: claiming due deliveries under a lease, retries,
//! dead letters, a push service that forgot a subscription, what an email lists, and
//! pruning what is settled.

use std::sync::Arc;

use crate::notify::{DeliveryKind, DeliveryOutcome, DeliveryState, NewNotification, PushTarget};
use crate::store::Store;

use super::notify::{at, claim, decided, finish, lease, record, sent, target, unread};
use super::*;

pub async fn deliveries_claim_finish_retry_and_dead(store: Arc<dyn Store>) {
    let f = Fixture::new(store.clone()).await;
    let other = Fixture::with_slug(store.clone(), "globex").await;
    let ws = f.ws_id();
    let channel = f.channel(&f.owner, "general", &[&f.bob]).await;
    target(&f, &f.bob, "phone").await;
    target(&f, &f.bob, "laptop").await;
    let m = f.post(&channel, &f.owner, "@bob ping").await;
    let n = decided(&f.bob, &m, 0, None);
    record(&f, 0, std::slice::from_ref(&n)).await;

    let w1 = lease("w1", 1, 30);
    let claimed = claim(&store, &w1).await;
    assert_eq!(claimed.len(), 2);
    assert!(claimed.iter().all(|d| d.attempts == 1));
    assert!(
        claimed
            .iter()
            .all(|d| d.notification.as_ref().map(|x| &x.id) == Some(&n.id))
    );
    assert!(
        claim(&store, &lease("w2", 2, 30)).await.is_empty(),
        "w1 holds both"
    );
    let (d1, d2) = (&claimed[0], &claimed[1]);

    // A failed attempt is tried again later.
    let retry = DeliveryOutcome::Retry {
        at: at(100),
        error: "503 Service Unavailable".to_owned(),
    };
    assert!(finish(&store, &lease("w1", 3, 30), d1, retry).await);
    assert!(
        !finish(&store, &lease("w2", 3, 30), d2, sent()).await,
        "not w2's"
    );

    // w1 stalls: once its lease lapses, d2 is another worker's, with a second attempt.
    let w2 = lease("w2", 40, 30);
    let again = claim(&store, &w2).await;
    assert_eq!(again.iter().map(|d| &d.id).collect::<Vec<_>>(), [&d2.id]);
    assert_eq!(again[0].attempts, 2);
    assert!(
        !finish(&store, &lease("w1", 41, 30), d2, sent()).await,
        "w1's lease is gone"
    );
    assert!(finish(&store, &w2, &again[0], sent()).await);
    assert!(
        claim(&store, &lease("w3", 99, 30)).await.is_empty(),
        "the retry is not due"
    );

    let w3 = lease("w3", 100, 30);
    let retried = claim(&store, &w3).await;
    assert_eq!(retried.iter().map(|d| &d.id).collect::<Vec<_>>(), [&d1.id]);
    let retried = &retried[0];
    assert_eq!((retried.attempts, retried.due_at), (2, at(100)));
    assert_eq!(
        retried.last_error.as_deref(),
        Some("503 Service Unavailable")
    );
    let dead = DeliveryOutcome::Dead {
        error: "500 after the last attempt".to_owned(),
    };
    assert!(finish(&store, &w3, retried, dead).await);
    assert!(!finish(&store, &w3, retried, sent()).await, "settled once");

    // The dead letter is kept for this workspace's admins, with what it carried.
    let letters = store.dead_letters(ws, None, 10).await.unwrap();
    assert_eq!(letters.iter().map(|d| &d.id).collect::<Vec<_>>(), [&d1.id]);
    assert_eq!(letters[0].state, DeliveryState::Dead);
    assert_eq!(
        letters[0].last_error.as_deref(),
        Some("500 after the last attempt")
    );
    assert_eq!(letters[0].notification.as_ref().map(|x| &x.id), Some(&n.id));
    assert_eq!(letters[0].target, d1.target);
    assert!(
        store
            .dead_letters(ws, Some(&d1.id), 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .dead_letters(other.ws_id(), None, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        claim(&store, &lease("w4", 10_000, 30)).await.is_empty(),
        "all settled"
    );

    // Oldest due first, at most the limit.
    let m2 = f.post(&channel, &f.owner, "@bob two").await;
    let m3 = f.post(&channel, &f.owner, "@bob three").await;
    let (n2, n3) = (
        decided(&f.bob, &m2, 300, None),
        decided(&f.bob, &m3, 310, None),
    );
    record(&f, 310, std::slice::from_ref(&n3)).await;
    record(&f, 300, std::slice::from_ref(&n2)).await;
    let first = store
        .claim_deliveries(&lease("w5", 320, 30), 2)
        .await
        .unwrap();
    let firsts: Vec<_> = first
        .iter()
        .map(|d| d.notification.clone().unwrap().id)
        .collect();
    assert_eq!(firsts, [n2.id.clone(), n2.id.clone()]);
    let rest = claim(&store, &lease("w5", 321, 30)).await;
    assert!(
        rest.iter()
            .all(|d| d.notification.as_ref().unwrap().id == n3.id)
    );
    assert_eq!(rest.len(), 2);
}

pub async fn target_gone_removes_the_target_and_skips_its_pending(store: Arc<dyn Store>) {
    let f = Fixture::new(store.clone()).await;
    let ws = f.ws_id();
    let channel = f.channel(&f.owner, "general", &[&f.bob]).await;
    let (gone, kept) = (
        target(&f, &f.bob, "old").await,
        target(&f, &f.bob, "new").await,
    );
    let m1 = f.post(&channel, &f.owner, "@bob one").await;
    let m2 = f.post(&channel, &f.owner, "@bob two").await;
    let (n1, n2) = (decided(&f.bob, &m1, 0, None), decided(&f.bob, &m2, 1, None));
    record(&f, 0, std::slice::from_ref(&n1)).await;
    record(&f, 1, std::slice::from_ref(&n2)).await;

    let w = lease("w", 2, 30);
    let claimed = claim(&store, &w).await;
    assert_eq!(claimed.len(), 4);
    let find = |t: &PushTarget, n: &NewNotification| {
        let d = claimed.iter().find(|d| {
            d.target.as_ref().map(|x| &x.id) == Some(&t.id)
                && d.notification.as_ref().map(|x| &x.id) == Some(&n.id)
        });
        d.unwrap().clone()
    };
    let error = "410 Gone".to_owned();
    assert!(
        finish(
            &store,
            &w,
            &find(&gone, &n1),
            DeliveryOutcome::TargetGone { error }
        )
        .await
    );
    let left = store.push_targets(ws, &f.bob.id).await.unwrap();
    assert_eq!(
        left,
        vec![kept.clone()],
        "the push service forgot it, so do we"
    );
    assert!(
        !finish(&store, &w, &find(&gone, &n2), sent()).await,
        "its other deliveries were skipped, even one being sent"
    );
    assert!(finish(&store, &w, &find(&kept, &n1), sent()).await);
    assert!(finish(&store, &w, &find(&kept, &n2), sent()).await);

    // What comes next goes to the target that is left.
    let m3 = f.post(&channel, &f.owner, "@bob three").await;
    record(&f, 10, &[decided(&f.bob, &m3, 10, None)]).await;
    let next = claim(&store, &lease("w", 11, 30)).await;
    assert_eq!(next.len(), 1);
    assert_eq!(next[0].target.as_ref(), Some(&kept));
    assert!(finish(&store, &lease("w", 11, 30), &next[0], sent()).await);

    // Deleting a target by hand skips its pending deliveries too.
    let m4 = f.post(&channel, &f.owner, "@bob four").await;
    record(&f, 20, &[decided(&f.bob, &m4, 20, None)]).await;
    assert!(
        store
            .delete_push_target(ws, &f.bob.id, &kept.id)
            .await
            .unwrap()
    );
    assert!(claim(&store, &lease("w", 21, 30)).await.is_empty());
    assert!(store.push_targets(ws, &f.bob.id).await.unwrap().is_empty());
    assert!(
        store.dead_letters(ws, None, 10).await.unwrap().is_empty(),
        "skipped, not dead"
    );
}

pub async fn unread_notifications_follow_read_marker_and_sent_emails(store: Arc<dyn Store>) {
    let f = Fixture::new(store.clone()).await;
    let other = Fixture::with_slug(store.clone(), "globex").await;
    let ws = f.ws_id();
    let general = f.channel(&f.owner, "general", &[&f.bob]).await;
    let random = f.channel(&f.owner, "random", &[&f.bob]).await;
    let mut messages = Vec::new();
    for body in ["@bob one", "@bob two", "@bob three"] {
        messages.push(f.post(&general, &f.owner, body).await);
    }
    let elsewhere = f.post(&random, &f.owner, "@bob elsewhere").await;
    let n: Vec<NewNotification> = messages
        .iter()
        .map(|m| decided(&f.bob, m, 0, Some(60)))
        .collect();
    let n_elsewhere = decided(&f.bob, &elsewhere, 0, None);
    let mut batch = n.clone();
    batch.push(n_elsewhere.clone());
    record(&f, 0, &batch).await;
    let ids = |from: usize| n[from..].iter().map(|n| n.id.clone()).collect::<Vec<_>>();

    assert_eq!(
        unread(&f, &f.bob, &general.id).await,
        ids(0),
        "oldest first"
    );
    let two = store
        .unread_notifications(ws, &f.bob.id, &general.id, 2)
        .await
        .unwrap();
    assert_eq!(
        two.iter().map(|n| n.id.clone()).collect::<Vec<_>>(),
        ids(0)[..2]
    );
    assert_eq!(
        unread(&f, &f.bob, &random.id).await,
        vec![n_elsewhere.id.clone()]
    );
    let marker = |seq: i64| store.mark_read(ws, &general.id, &f.bob.id, seq);
    marker(messages[0].seq).await.unwrap();
    assert_eq!(
        unread(&f, &f.bob, &general.id).await,
        ids(1),
        "read is not unread"
    );

    // An email listed the second: the next email starts after it.
    let emails = claim(&store, &lease("mailer", 60, 30)).await;
    let email = emails.iter().find(|d| d.channel_id == general.id).unwrap();
    let listed = DeliveryOutcome::Sent {
        through_seq: Some(messages[1].seq),
    };
    assert!(finish(&store, &lease("mailer", 61, 30), email, listed).await);
    assert_eq!(unread(&f, &f.bob, &general.id).await, ids(2));
    // Marking the channel unread does not bring back what an email already showed.
    marker(0).await.unwrap();
    assert_eq!(unread(&f, &f.bob, &general.id).await, ids(2));
    marker(messages[2].seq).await.unwrap();
    assert!(unread(&f, &f.bob, &general.id).await.is_empty());
    assert_eq!(
        unread(&f, &f.bob, &random.id).await,
        vec![n_elsewhere.id.clone()],
        "per channel"
    );

    // Only a member has unread notifications, and only in their own workspace.
    store
        .remove_member(ws, &random.id, &f.bob.id)
        .await
        .unwrap();
    assert!(unread(&f, &f.bob, &random.id).await.is_empty());
    assert!(unread(&f, &f.cy, &general.id).await.is_empty());
    let foreign = store.unread_notifications(other.ws_id(), &f.bob.id, &general.id, 10);
    assert!(foreign.await.unwrap().is_empty());
}

pub async fn notifications_recorded_while_an_email_is_sent_get_the_next(store: Arc<dyn Store>) {
    let f = Fixture::new(store.clone()).await;
    let channel = f.channel(&f.owner, "general", &[&f.bob]).await;
    let m1 = f.post(&channel, &f.owner, "@bob first").await;
    let first = decided(&f.bob, &m1, 0, Some(60));
    record(&f, 0, std::slice::from_ref(&first)).await;

    // The mailer claims the email (due 60 s after it was recorded) and reads its list.
    let claimed = claim(&store, &lease("mailer", 60, 30)).await;
    let [email] = &claimed[..] else {
        panic!("one email: {claimed:?}")
    };
    assert_eq!(email.kind, DeliveryKind::Email);
    assert_eq!(
        unread(&f, &f.bob, &channel.id).await,
        vec![first.id.clone()]
    );

    // While it is being sent, a second notification comes: the email being sent still
    // stands for the conversation, so no other is created.
    let m2 = f.post(&channel, &f.owner, "@bob second").await;
    let second = decided(&f.bob, &m2, 70, Some(70));
    record(&f, 70, std::slice::from_ref(&second)).await;
    assert!(claim(&store, &lease("other", 80, 30)).await.is_empty());

    // It went out listing the first only: the second gets the next email, as far off.
    let listed = DeliveryOutcome::Sent {
        through_seq: Some(m1.seq),
    };
    assert!(finish(&store, &lease("mailer", 85, 30), email, listed).await);
    assert!(claim(&store, &lease("mailer", 144, 30)).await.is_empty());
    let next = claim(&store, &lease("mailer", 145, 30)).await;
    let [next] = &next[..] else {
        panic!("one email: {next:?}")
    };
    assert_ne!(next.id, email.id);
    assert_eq!(
        (next.kind, &next.user_id, &next.channel_id, next.due_at),
        (DeliveryKind::Email, &f.bob.id, &channel.id, at(145))
    );
    assert_eq!(
        unread(&f, &f.bob, &channel.id).await,
        vec![second.id.clone()]
    );
    let listed = DeliveryOutcome::Sent {
        through_seq: Some(m2.seq),
    };
    assert!(finish(&store, &lease("mailer", 146, 30), next, listed).await);
    assert!(
        claim(&store, &lease("mailer", 10_000, 30)).await.is_empty(),
        "everything was emailed: nothing more"
    );

    // What bob read while an email was being sent is not emailed again.
    let m3 = f.post(&channel, &f.owner, "@bob third").await;
    record(&f, 200, &[decided(&f.bob, &m3, 200, Some(260))]).await;
    let claimed = claim(&store, &lease("mailer", 260, 30)).await;
    let [email] = &claimed[..] else {
        panic!("one email: {claimed:?}")
    };
    let m4 = f.post(&channel, &f.owner, "@bob fourth").await;
    record(&f, 265, &[decided(&f.bob, &m4, 265, Some(265))]).await;
    let ws = f.ws_id();
    store
        .mark_read(ws, &channel.id, &f.bob.id, m4.seq)
        .await
        .unwrap();
    let listed = DeliveryOutcome::Sent {
        through_seq: Some(m3.seq),
    };
    assert!(finish(&store, &lease("mailer", 270, 30), email, listed).await);
    assert!(claim(&store, &lease("mailer", 10_000, 30)).await.is_empty());
}

pub async fn prune_removes_finished_work(store: Arc<dyn Store>) {
    let f = Fixture::new(store.clone()).await;
    let ws = f.ws_id();
    let dee = f.member("dee").await;
    let channel = f.channel(&f.owner, "general", &[&f.bob, &f.cy, &dee]).await;
    target(&f, &f.bob, "bob").await;
    target(&f, &f.cy, "cy").await;
    let old = f.post(&channel, &f.owner, "@bob @cy @dee old news").await;
    let (bob_old, cy_old) = (
        decided(&f.bob, &old, 0, None),
        decided(&f.cy, &old, 0, None),
    );
    // dee gets email only, and it is still to be sent.
    let dee_old = decided(&dee, &old, 0, Some(10));
    record(&f, 0, &[bob_old.clone(), cy_old.clone(), dee_old.clone()]).await;
    let w = lease("w", 1, 30);
    for d in claim(&store, &w).await {
        let outcome = match &d.target {
            Some(t) if t.user_id == f.bob.id => sent(),
            _ => DeliveryOutcome::Dead {
                error: "500".to_owned(),
            },
        };
        assert!(finish(&store, &w, &d, outcome).await);
    }
    let waiting = f.post(&channel, &f.owner, "@bob still waiting").await;
    let bob_waiting = decided(&f.bob, &waiting, 2, None);
    record(&f, 2, std::slice::from_ref(&bob_waiting)).await;
    let recent = f.post(&channel, &f.owner, "@bob recent").await;
    let bob_recent = decided(&f.bob, &recent, 1000, None);
    record(&f, 1000, std::slice::from_ref(&bob_recent)).await;
    assert_eq!(store.dead_letters(ws, None, 10).await.unwrap().len(), 1);
    let last = f.last_seq().await;

    // Events are newer than the cut (they carry the real time), so none go.
    assert_eq!(store.prune_events(at(500)).await.unwrap(), 0);
    assert_eq!(f.last_seq().await, last);
    let bobs = unread(&f, &f.bob, &channel.id).await;
    assert_eq!(
        bobs,
        [bob_waiting.id.clone(), bob_recent.id.clone()],
        "bob's sent one went"
    );
    assert!(
        unread(&f, &f.cy, &channel.id).await.is_empty(),
        "so did cy's dead one"
    );
    assert!(store.dead_letters(ws, None, 10).await.unwrap().is_empty());
    assert_eq!(
        unread(&f, &dee, &channel.id).await,
        vec![dee_old.id.clone()],
        "its email waits"
    );

    // What is pending stays, whatever its age, with what it carries.
    let pending = claim(&store, &lease("w", 1001, 30)).await;
    let mut carried: Vec<_> = pending
        .iter()
        .map(|d| d.notification.as_ref().map(|n| n.id.clone()))
        .collect();
    carried.sort();
    let mut expected = vec![None, Some(bob_waiting.id), Some(bob_recent.id)];
    expected.sort();
    assert_eq!(carried, expected, "two pushes and dee's email");
}

pub async fn finish_deliveries_records_each_that_its_lease_still_holds(store: Arc<dyn Store>) {
    let f = Fixture::new(store.clone()).await;
    let channel = f.channel(&f.owner, "general", &[&f.bob]).await;
    for device in ["phone", "laptop", "tablet", "watch"] {
        target(&f, &f.bob, device).await;
    }
    let m = f.post(&channel, &f.owner, "@bob ping").await;
    record(&f, 0, &[decided(&f.bob, &m, 0, None)]).await;

    // w1 claims one delivery whose lease lapses at 31, then three held until 50.
    let early = store.claim_deliveries(&lease("w1", 1, 30), 1).await;
    let late = store.claim_deliveries(&lease("w1", 20, 30), 3).await;
    let (early, late) = (early.unwrap(), late.unwrap());
    assert_eq!((early.len(), late.len()), (1, 3));
    let (lapsed, delivered, failed, refused) = (&early[0], &late[0], &late[1], &late[2]);

    // Four attempts ended and are recorded together at 40; one id is listed twice.
    let retry = DeliveryOutcome::Retry {
        at: at(100),
        error: "503 Service Unavailable".to_owned(),
    };
    let dead = DeliveryOutcome::Dead {
        error: "400 Bad Request".to_owned(),
    };
    let finished = [
        (lapsed.id.clone(), sent()),
        (delivered.id.clone(), sent()),
        (failed.id.clone(), retry),
        (refused.id.clone(), dead.clone()),
        (delivered.id.clone(), dead),
    ];
    let recorded = store
        .finish_deliveries(&lease("w1", 40, 30), &finished)
        .await
        .expect("finish_deliveries");
    assert_eq!(recorded, [false, true, true, true, false]);
    let none = store.finish_deliveries(&lease("w1", 40, 30), &[]).await;
    assert!(none.unwrap().is_empty());

    // The one whose lease lapsed was not recorded: it is due again, for anyone, and
    // its new holder records its own attempt.
    let w2 = lease("w2", 41, 30);
    let again = claim(&store, &w2).await;
    assert_eq!(
        again.iter().map(|d| &d.id).collect::<Vec<_>>(),
        [&lapsed.id]
    );
    assert_eq!(again[0].attempts, 2);
    assert!(finish(&store, &w2, &again[0], sent()).await);

    // The refused one is a dead letter (the repeated id's second outcome changed
    // nothing), and the failed one is due again at its time, with its error.
    let letters = store.dead_letters(f.ws_id(), None, 10).await.unwrap();
    assert_eq!(
        letters.iter().map(|d| &d.id).collect::<Vec<_>>(),
        [&refused.id]
    );
    assert_eq!(letters[0].last_error.as_deref(), Some("400 Bad Request"));
    assert!(claim(&store, &lease("w3", 99, 30)).await.is_empty());
    let retried = claim(&store, &lease("w3", 100, 30)).await;
    assert_eq!(
        retried.iter().map(|d| &d.id).collect::<Vec<_>>(),
        [&failed.id]
    );
    assert_eq!(
        retried[0].last_error.as_deref(),
        Some("503 Service Unavailable")
    );
}
