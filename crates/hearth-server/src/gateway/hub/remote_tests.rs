//! The hub of one of several nodes, with paused time and a fake [`PresenceLink`] that
//! records what the hub tells the other nodes and answers lookups from a script: how
//! other nodes' reports combine with this node's own, when they lapse, and what this
//! node reports itself.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::BoxFuture;
use hearth_core::id::{ChannelId, UserId, WorkspaceId};
use serde_json::{Value, json};

use super::link::{PresenceLink, RemoteStatus, Report, Status};
use super::tests::{fixture_with, pass, presence, secs};

/// What the hub told the other nodes.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Told {
    Status(UserId, Status),
    Heartbeat(Vec<(UserId, Status)>),
    Typing(ChannelId, UserId),
    LookUp(Vec<UserId>),
}

#[derive(Default)]
struct FakeLink {
    told: Mutex<Vec<Told>>,
    /// What lookups find.
    answers: Mutex<Vec<RemoteStatus>>,
}

impl FakeLink {
    fn take(&self) -> Vec<Told> {
        std::mem::take(&mut self.told.lock().unwrap())
    }

    fn tell(&self, told: Told) {
        self.told.lock().unwrap().push(told);
    }
}

impl PresenceLink for FakeLink {
    fn status_changed(&self, _: &WorkspaceId, user: &UserId, status: Status) {
        self.tell(Told::Status(user.clone(), status));
    }

    fn heartbeat(&self, _: &WorkspaceId, statuses: &[(UserId, Status)]) {
        self.tell(Told::Heartbeat(statuses.to_vec()));
    }

    fn typing(&self, _: &WorkspaceId, channel: &ChannelId, user: &UserId) {
        self.tell(Told::Typing(channel.clone(), user.clone()));
    }

    fn look_up(
        &self,
        _: &WorkspaceId,
        users: Vec<UserId>,
    ) -> BoxFuture<'static, Result<Vec<RemoteStatus>, String>> {
        let found: Vec<RemoteStatus> = self
            .answers
            .lock()
            .unwrap()
            .iter()
            .filter(|a| users.contains(&a.user))
            .cloned()
            .collect();
        self.tell(Told::LookUp(users));
        Box::pin(std::future::ready(Ok(found)))
    }
}

fn typing(channel: &ChannelId, user: &UserId) -> Value {
    json!({
        "type": "typing",
        "channel_id": channel.as_str(),
        "user_id": user.as_str(),
        "ttl_ms": 6000,
    })
}

#[tokio::test]
async fn another_nodes_users_show_their_best_status_until_that_node_falls_silent() {
    let link = Arc::new(FakeLink::default());
    let mut f = fixture_with(Some(link.clone())).await;
    let (alice, bob) = (UserId::generate(), UserId::generate());
    let mut watcher = f.connect(&alice, &[]);
    // Past the presence TTL every live node has sent a heartbeat: no lookup is needed.
    pass(secs(31)).await;
    f.watch(&watcher, &[&bob]);
    pass(Duration::ZERO).await;
    assert_eq!(watcher.frames(), [presence(&bob, "offline")]);
    assert!(!link.take().iter().any(|t| matches!(t, Told::LookUp(_))));

    f.hub
        .heard(&f.ws, 7, Report::Changed(bob.clone(), Status::Away));
    pass(Duration::ZERO).await;
    assert_eq!(watcher.frames(), [presence(&bob, "away")]);
    // Active on another node: the most present status wins.
    f.hub
        .heard(&f.ws, 8, Report::Changed(bob.clone(), Status::Active));
    pass(Duration::ZERO).await;
    assert_eq!(watcher.frames(), [presence(&bob, "active")]);
    // Node 8's heartbeat no longer has Bob: what node 7 says shows again.
    f.hub.heard(&f.ws, 8, Report::All(Vec::new()));
    pass(Duration::ZERO).await;
    assert_eq!(watcher.frames(), [presence(&bob, "away")]);

    // Node 7 is not heard from again: after the 30 s TTL, its word lapses.
    pass(secs(29)).await;
    assert!(watcher.frames().is_empty());
    pass(secs(2)).await;
    assert_eq!(watcher.frames(), [presence(&bob, "offline")]);
}

#[tokio::test]
async fn this_node_reports_its_own_changes_and_heartbeats_until_the_grace_is_over() {
    let link = Arc::new(FakeLink::default());
    let mut f = fixture_with(Some(link.clone())).await;
    let bob = UserId::generate();
    let bobs = f.connect(&bob, &[]);
    pass(Duration::ZERO).await;
    assert!(
        link.take()
            .contains(&Told::Status(bob.clone(), Status::Active))
    );

    // Every third of the TTL, a heartbeat with every status held here.
    pass(secs(10)).await;
    let heartbeat = Told::Heartbeat(vec![(bob.clone(), Status::Active)]);
    assert!(link.take().contains(&heartbeat));
    f.set_away(&bobs, true);
    pass(Duration::ZERO).await;
    assert_eq!(link.take(), [Told::Status(bob.clone(), Status::Away)]);

    // Bob's only connection, and the workspace's last here, closes: other nodes still
    // hear him go offline once the grace period is over, and then nothing more.
    f.disconnect(bobs);
    pass(Duration::from_millis(2700)).await;
    assert!(!link.take().iter().any(|t| matches!(t, Told::Status(..))));
    pass(secs(1)).await;
    assert_eq!(link.take(), [Told::Status(bob.clone(), Status::Offline)]);
    pass(secs(60)).await;
    assert!(link.take().is_empty(), "no heartbeat for nobody");
}

#[tokio::test]
async fn a_subscription_while_the_view_is_partial_gets_the_looked_up_state_first() {
    let link = Arc::new(FakeLink::default());
    let mut f = fixture_with(Some(link.clone())).await;
    let (alice, bob, carol) = (UserId::generate(), UserId::generate(), UserId::generate());
    link.answers.lock().unwrap().push(RemoteStatus {
        user: bob.clone(),
        node: 9,
        status: Status::Active,
        valid_for: secs(5),
    });
    let mut watcher = f.connect(&alice, &[]);
    f.watch(&watcher, &[&bob, &carol]);
    pass(Duration::ZERO).await;
    let mut frames = watcher.frames();
    frames.sort_by_key(|f| f["user_id"].as_str().unwrap().to_owned());
    let mut expected = vec![presence(&bob, "active"), presence(&carol, "offline")];
    expected.sort_by_key(|f| f["user_id"].as_str().unwrap().to_owned());
    assert_eq!(frames, expected, "the looked-up state, never offline first");

    // Node 9 had 5 s left when read; unheard from since, it lapses then.
    pass(secs(4)).await;
    assert!(watcher.frames().is_empty());
    pass(secs(2)).await;
    assert_eq!(watcher.frames(), [presence(&bob, "offline")]);
}

#[tokio::test]
async fn typing_crosses_nodes_to_the_channels_members_only() {
    let link = Arc::new(FakeLink::default());
    let mut f = fixture_with(Some(link.clone())).await;
    let (alice, bob, carol, dave) = (
        UserId::generate(),
        UserId::generate(),
        UserId::generate(),
        UserId::generate(),
    );
    let (general, random) = (ChannelId::generate(), ChannelId::generate());
    let mut alices = f.connect(&alice, &[&general]);
    let mut bobs = f.connect(&bob, &[&general]);
    let mut carols = f.connect(&carol, &[&random]);

    f.typing(&bobs, &general);
    pass(Duration::ZERO).await;
    assert_eq!(alices.frames(), [typing(&general, &bob)]);
    let told = link.take();
    assert!(told.contains(&Told::Typing(general.clone(), bob.clone())));

    // Dave types on another node: members here see it, others do not.
    f.hub.remote_typing(&f.ws, general.clone(), dave.clone());
    pass(Duration::ZERO).await;
    assert_eq!(alices.frames(), [typing(&general, &dave)]);
    assert_eq!(bobs.frames(), [typing(&general, &dave)]);
    assert!(carols.frames().is_empty());

    // Alice types on her other device, on another node: not echoed to her here.
    f.hub.remote_typing(&f.ws, general.clone(), alice.clone());
    pass(Duration::ZERO).await;
    assert!(alices.frames().is_empty());
    assert_eq!(bobs.frames(), [typing(&general, &alice)]);
}
