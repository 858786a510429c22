//! Sessions (looked up by token hash, gone once expired or deleted) and invites (single
//! use with an email, reusable without, and indistinguishable when they do not work).

use std::sync::Arc;

use crate::Timestamp;
use crate::event::EventPayload;
use crate::model::Role;
use crate::secret::SecretHash;
use crate::store::Store;

use super::*;

pub async fn session_lookup_by_token_hash(store: Arc<dyn Store>) {
    let f = Fixture::new(store.clone()).await;
    let expires = Timestamp::now().plus_secs(3600);
    let token = f.session(&f.bob, "bob's token", expires).await;
    let session = store
        .session(&token)
        .await
        .unwrap()
        .expect("the session exists");
    assert_eq!(session.user, f.bob);
    assert_eq!(session.expires_at, expires);
    // The hash of the same secret finds it; any other hash does not.
    assert!(
        store
            .session(&SecretHash::of("bob's token"))
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        store
            .session(&SecretHash::of("guessed token"))
            .await
            .unwrap()
            .is_none()
    );
}

pub async fn expired_session_is_none(store: Arc<dyn Store>) {
    let f = Fixture::new(store.clone()).await;
    let token = f
        .session(&f.bob, "old token", Timestamp::now().plus_secs(-1))
        .await;
    assert!(store.session(&token).await.unwrap().is_none());
}

pub async fn delete_session_signs_out(store: Arc<dyn Store>) {
    let f = Fixture::new(store.clone()).await;
    let expires = Timestamp::now().plus_secs(3600);
    let phone = f.session(&f.bob, "phone", expires).await;
    let laptop = f.session(&f.bob, "laptop", expires).await;
    store.delete_session(&phone).await.unwrap();
    assert!(store.session(&phone).await.unwrap().is_none());
    assert!(
        store.session(&laptop).await.unwrap().is_some(),
        "other devices stay signed in"
    );
    // Ending it again, or a session that never existed, is not an error.
    store.delete_session(&phone).await.unwrap();
    store
        .delete_session(&SecretHash::of("never issued"))
        .await
        .unwrap();
}

pub async fn email_invite_is_single_use(store: Arc<dyn Store>) {
    let f = Fixture::new(store.clone()).await;
    let expires = Timestamp::now().plus_secs(3600);
    let (invite, code) = f
        .invite("for dee", Some("dee@example.test"), Role::Guest, expires)
        .await;
    assert_eq!(invite.workspace_id, f.ws.id);
    assert_eq!(invite.email, Some(email("dee@example.test")));
    assert_eq!(invite.role, Role::Guest);
    assert_eq!(invite.created_by, f.owner.id);
    assert_eq!(invite.expires_at, expires);

    let redeemed = store
        .redeem_invite(f.ws_id(), &code, new_user("dee@example.test", Role::Member))
        .await
        .unwrap();
    let dee = redeemed.value.clone();
    assert_eq!(
        dee.role,
        Role::Guest,
        "the invite's role wins over the requested one"
    );
    assert_eq!(dee.handle.as_str(), "dee");
    let created = redeemed
        .events
        .iter()
        .find(|e| e.payload.kind() == "user.created");
    let created = created.expect("redeeming appends user.created");
    assert_eq!(
        created.payload,
        EventPayload::UserCreated { user: dee.clone() }
    );
    assert_eq!(store.user(f.ws_id(), &dee.id).await.unwrap(), Some(dee));

    // A used invite is invalid like any other: it must not reveal that the email signed up.
    let again = store
        .redeem_invite(f.ws_id(), &code, new_user("dee@example.test", Role::Member))
        .await;
    assert_invalid(again, "invalid_invite");
}

pub async fn invite_email_must_match(store: Arc<dyn Store>) {
    let f = Fixture::new(store.clone()).await;
    let expires = Timestamp::now().plus_secs(3600);
    let (_, code) = f
        .invite("for dee", Some("dee@example.test"), Role::Member, expires)
        .await;
    let wrong = new_user("mallory@example.test", Role::Member);
    assert_invalid(
        store.redeem_invite(f.ws_id(), &code, wrong).await,
        "invalid_invite",
    );
    assert!(
        store
            .credentials(f.ws_id(), &email("mallory@example.test"))
            .await
            .unwrap()
            .is_none()
    );
    // The failed attempt did not use the invite up.
    let right = new_user("dee@example.test", Role::Member);
    store.redeem_invite(f.ws_id(), &code, right).await.unwrap();
}

pub async fn expired_invite_is_invalid(store: Arc<dyn Store>) {
    let f = Fixture::new(store.clone()).await;
    let past = Timestamp::now().plus_secs(-1);
    let (_, open) = f.invite("old link", None, Role::Member, past).await;
    let (_, named) = f
        .invite("old mail", Some("dee@example.test"), Role::Member, past)
        .await;
    for code in [open, named] {
        let user = new_user("dee@example.test", Role::Member);
        assert_invalid(
            store.redeem_invite(f.ws_id(), &code, user).await,
            "invalid_invite",
        );
    }
    assert_eq!(
        store.list_users(f.ws_id(), None, 100).await.unwrap().len(),
        3
    );
}

pub async fn unknown_or_foreign_invite_is_invalid(store: Arc<dyn Store>) {
    let f = Fixture::new(store.clone()).await;
    let other = Fixture::with_slug(store.clone(), "globex").await;
    let user = || new_user("dee@example.test", Role::Member);
    let unknown = SecretHash::of("no such invite");
    assert_invalid(
        store.redeem_invite(f.ws_id(), &unknown, user()).await,
        "invalid_invite",
    );
    // A valid code of another workspace is unknown here.
    let foreign = other.open_invite();
    assert_invalid(
        store.redeem_invite(f.ws_id(), foreign, user()).await,
        "invalid_invite",
    );
    assert!(
        store
            .credentials(f.ws_id(), &email("dee@example.test"))
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .credentials(other.ws_id(), &email("dee@example.test"))
            .await
            .unwrap()
            .is_none()
    );
}

pub async fn open_invite_is_reusable_and_sets_role(store: Arc<dyn Store>) {
    let f = Fixture::new(store.clone()).await;
    let expires = Timestamp::now().plus_secs(3600);
    let (invite, code) = f.invite("admins link", None, Role::Admin, expires).await;
    assert_eq!(invite.email, None);
    for address in ["dee@example.test", "eve@example.test", "fay@example.test"] {
        let user = new_user(address, Role::Member);
        let user = store
            .redeem_invite(f.ws_id(), &code, user)
            .await
            .unwrap()
            .value;
        assert_eq!(user.role, Role::Admin);
        assert_eq!(user.email.as_str(), address);
    }
    assert_eq!(
        store.list_users(f.ws_id(), None, 100).await.unwrap().len(),
        6
    );
}
