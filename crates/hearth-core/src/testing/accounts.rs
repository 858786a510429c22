//! Workspaces and accounts: creation, uniqueness of slugs, emails and handles, profile
//! changes, the last-owner rule, deactivation and the account list.

use std::collections::HashSet;
use std::sync::Arc;

use crate::Timestamp;
use crate::event::EventPayload;
use crate::id::{UserId, WorkspaceId};
use crate::model::Role;
use crate::store::{NewWorkspace, Store, UserPatch};
use crate::value::{StatusText, WorkspaceName, WorkspaceSlug};

use super::*;

pub async fn create_workspace_makes_its_owner(store: Arc<dyn Store>) {
    let f = Fixture::new(store.clone()).await;
    assert_eq!(f.ws.slug.as_str(), "acme");
    assert_eq!(f.owner.role, Role::Owner);
    assert_eq!(f.owner.workspace_id, f.ws.id);
    assert_eq!(f.owner.email.as_str(), "ada@example.test");
    assert!(!f.owner.deactivated);

    assert_eq!(store.workspace(&f.ws.id).await.unwrap(), Some(f.ws.clone()));
    assert_eq!(
        store.user(&f.ws.id, &f.owner.id).await.unwrap(),
        Some(f.owner.clone())
    );
    let login = store
        .credentials(&f.ws.id, &email("ada@example.test"))
        .await
        .unwrap();
    let login = login.expect("the owner can log in");
    assert_eq!(login.user, f.owner);
    assert_eq!(login.password_hash, FAKE_PASSWORD_HASH);
}

pub async fn slug_taken(store: Arc<dyn Store>) {
    let f = Fixture::new(store.clone()).await;
    let again = NewWorkspace {
        name: WorkspaceName::parse("Another Acme").unwrap(),
        slug: WorkspaceSlug::parse("acme").unwrap(),
    };
    let result = store
        .create_workspace(again, new_user("zoe@example.test", Role::Owner))
        .await;
    assert_conflict(result, "slug_taken");
    // The failed attempt left no account behind in the existing workspace.
    assert!(
        store
            .credentials(f.ws_id(), &email("zoe@example.test"))
            .await
            .unwrap()
            .is_none()
    );
}

pub async fn workspace_lookups(store: Arc<dyn Store>) {
    let f = Fixture::new(store.clone()).await;
    let other = Fixture::with_slug(store.clone(), "globex").await;
    let slug = WorkspaceSlug::parse("globex").unwrap();
    assert_eq!(
        store.workspace_by_slug(&slug).await.unwrap(),
        Some(other.ws.clone())
    );
    let missing = WorkspaceSlug::parse("initech").unwrap();
    assert_eq!(store.workspace_by_slug(&missing).await.unwrap(), None);
    assert_eq!(
        store.workspace(&WorkspaceId::generate()).await.unwrap(),
        None
    );
    assert_eq!(
        store
            .workspace(f.ws_id())
            .await
            .unwrap()
            .unwrap()
            .slug
            .as_str(),
        "acme"
    );
}

pub async fn handles_derive_from_email_with_numeric_suffixes(store: Arc<dyn Store>) {
    let f = Fixture::new(store.clone()).await;
    assert_eq!(f.owner.handle.as_str(), "ada");
    assert_eq!(f.bob.handle.as_str(), "bob");
    // Someone explicitly took `ada3`; the smallest free suffix is still 2.
    let mut chosen = new_user("countess@example.test", Role::Member);
    chosen.handle = Some(handle("ada3"));
    let code = f.open_invite().clone();
    let chosen = store
        .redeem_invite(f.ws_id(), &code, chosen)
        .await
        .unwrap()
        .value;
    assert_eq!(chosen.handle.as_str(), "ada3");

    let second = new_user("Ada@lovelace.test", Role::Member);
    let second = store
        .redeem_invite(f.ws_id(), &code, second)
        .await
        .unwrap()
        .value;
    assert_eq!(second.handle.as_str(), "ada2");
    let third = new_user("ada+x@elsewhere.test", Role::Member);
    let third = store
        .redeem_invite(f.ws_id(), &code, third)
        .await
        .unwrap()
        .value;
    assert_eq!(third.handle.as_str(), "ada4");
}

pub async fn explicit_taken_handle_conflicts(store: Arc<dyn Store>) {
    let f = Fixture::new(store.clone()).await;
    let code = f.open_invite().clone();
    let mut user = new_user("other@example.test", Role::Member);
    user.handle = Some(handle("bob"));
    assert_conflict(
        store.redeem_invite(f.ws_id(), &code, user).await,
        "handle_taken",
    );
    assert!(
        store
            .credentials(f.ws_id(), &email("other@example.test"))
            .await
            .unwrap()
            .is_none()
    );

    // Keeping one's own handle is not taking it; taking someone else's is refused.
    let own = UserPatch {
        handle: Some(handle("cy")),
        ..UserPatch::default()
    };
    store.update_user(f.ws_id(), &f.cy.id, own).await.unwrap();
    let patch = UserPatch {
        handle: Some(handle("bob")),
        ..UserPatch::default()
    };
    assert_conflict(
        store.update_user(f.ws_id(), &f.cy.id, patch).await,
        "handle_taken",
    );
    assert_eq!(
        store
            .user(f.ws_id(), &f.cy.id)
            .await
            .unwrap()
            .unwrap()
            .handle
            .as_str(),
        "cy"
    );
}

pub async fn email_taken(store: Arc<dyn Store>) {
    let f = Fixture::new(store.clone()).await;
    let code = f.open_invite().clone();
    // Emails are stored lowercased, so a differently cased address is the same one.
    let user = new_user("BOB@Example.test", Role::Member);
    assert_conflict(
        store.redeem_invite(f.ws_id(), &code, user).await,
        "email_taken",
    );
    let users = store.list_users(f.ws_id(), None, 100).await.unwrap();
    assert_eq!(users.len(), 3, "no account was added");
}

pub async fn update_user_appends_snapshot(store: Arc<dyn Store>) {
    let f = Fixture::new(store.clone()).await;
    let patch = UserPatch {
        display_name: Some(display_name("Robert")),
        handle: Some(handle("robert")),
        status_text: Some(StatusText::parse("In a meeting").unwrap()),
        status_emoji: Some(Some(emoji("calendar"))),
        role: Some(Role::Admin),
        deactivated: None,
    };
    let before = f.last_seq().await;
    let updated = store
        .update_user(f.ws_id(), &f.bob.id, patch)
        .await
        .unwrap();
    let bob = updated.value.clone();
    assert_eq!(bob.display_name.as_str(), "Robert");
    assert_eq!(bob.handle.as_str(), "robert");
    assert_eq!(bob.status_text.as_str(), "In a meeting");
    assert_eq!(bob.status_emoji, Some(emoji("calendar")));
    assert_eq!(bob.role, Role::Admin);
    assert_eq!(bob.email, f.bob.email, "untouched fields keep their values");
    assert_eq!(
        store.user(f.ws_id(), &f.bob.id).await.unwrap(),
        Some(bob.clone())
    );

    assert_eq!(kinds(&updated.events), ["user.updated"]);
    assert_eq!(
        updated.events[0].payload,
        EventPayload::UserUpdated { user: bob.clone() }
    );
    assert!(updated.events[0].seq > before);
    let (seen, _) = f.events(&f.cy, before).await;
    assert_eq!(
        seen, updated.events,
        "everyone sees profile changes, as committed"
    );

    // `Some(None)` clears the status emoji; the old handle is free again.
    let clear = UserPatch {
        status_emoji: Some(None),
        ..UserPatch::default()
    };
    let cleared = store
        .update_user(f.ws_id(), &f.bob.id, clear)
        .await
        .unwrap()
        .value;
    assert_eq!(cleared.status_emoji, None);
    assert_eq!(cleared.handle.as_str(), "robert");
    let take_old = UserPatch {
        handle: Some(handle("bob")),
        ..UserPatch::default()
    };
    store
        .update_user(f.ws_id(), &f.cy.id, take_old)
        .await
        .unwrap();

    let missing = store
        .update_user(f.ws_id(), &UserId::generate(), UserPatch::default())
        .await;
    assert_not_found(missing);
}

pub async fn last_owner_is_protected(store: Arc<dyn Store>) {
    let f = Fixture::new(store.clone()).await;
    let ws = f.ws_id();
    let demote = || UserPatch {
        role: Some(Role::Admin),
        ..UserPatch::default()
    };
    let deactivate = || UserPatch {
        deactivated: Some(true),
        ..UserPatch::default()
    };
    assert_invalid(
        store.update_user(ws, &f.owner.id, demote()).await,
        "last_owner",
    );
    assert_invalid(
        store.update_user(ws, &f.owner.id, deactivate()).await,
        "last_owner",
    );
    assert_eq!(
        store.user(ws, &f.owner.id).await.unwrap(),
        Some(f.owner.clone())
    );

    // A deactivated owner does not count as an active owner.
    let promote = UserPatch {
        role: Some(Role::Owner),
        ..UserPatch::default()
    };
    store
        .update_user(ws, &f.bob.id, promote.clone())
        .await
        .unwrap();
    store
        .update_user(ws, &f.bob.id, deactivate())
        .await
        .unwrap();
    assert_invalid(
        store.update_user(ws, &f.owner.id, demote()).await,
        "last_owner",
    );

    // With a second active owner, the first may step down.
    store.update_user(ws, &f.cy.id, promote).await.unwrap();
    let demoted = store
        .update_user(ws, &f.owner.id, demote())
        .await
        .unwrap()
        .value;
    assert_eq!(demoted.role, Role::Admin);
    assert_invalid(
        store.update_user(ws, &f.cy.id, deactivate()).await,
        "last_owner",
    );
}

pub async fn deactivation_ends_sessions(store: Arc<dyn Store>) {
    let f = Fixture::new(store.clone()).await;
    let expires = Timestamp::now().plus_secs(3600);
    let phone = f.session(&f.bob, "bob's phone", expires).await;
    let laptop = f.session(&f.bob, "bob's laptop", expires).await;
    let other = f.session(&f.cy, "cy's laptop", expires).await;
    assert!(store.session(&phone).await.unwrap().is_some());

    let off = UserPatch {
        deactivated: Some(true),
        ..UserPatch::default()
    };
    let bob = store
        .update_user(f.ws_id(), &f.bob.id, off)
        .await
        .unwrap()
        .value;
    assert!(bob.deactivated);
    assert!(store.session(&phone).await.unwrap().is_none());
    assert!(store.session(&laptop).await.unwrap().is_none());
    assert!(
        store.session(&other).await.unwrap().is_some(),
        "only bob was signed out"
    );

    // The sessions were deleted, not hidden: reactivating does not sign bob back in.
    let on = UserPatch {
        deactivated: Some(false),
        ..UserPatch::default()
    };
    store.update_user(f.ws_id(), &f.bob.id, on).await.unwrap();
    assert!(store.session(&phone).await.unwrap().is_none());
}

pub async fn list_users_pages_without_dupes_or_holes(store: Arc<dyn Store>) {
    let f = Fixture::new(store.clone()).await;
    for name in ["dee", "eve", "fay", "gus", "hal"] {
        f.member(name).await;
    }
    let all = store.list_users(f.ws_id(), None, 100).await.unwrap();
    assert_eq!(all.len(), 8);
    let mut expected: Vec<UserId> = all.iter().map(|u| u.id.clone()).collect();
    expected.sort();
    assert_eq!(
        all.iter().map(|u| u.id.clone()).collect::<Vec<_>>(),
        expected,
        "ordered by id"
    );

    let mut paged = Vec::new();
    let mut after: Option<UserId> = None;
    loop {
        let page = store
            .list_users(f.ws_id(), after.as_ref(), 3)
            .await
            .unwrap();
        assert!(page.len() <= 3);
        let Some(last) = page.last() else { break };
        after = Some(last.id.clone());
        paged.extend(page.into_iter().map(|u| u.id));
    }
    assert_eq!(paged, expected);
    assert_eq!(paged.iter().collect::<HashSet<_>>().len(), paged.len());
}
