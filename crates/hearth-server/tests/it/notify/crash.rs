//! A node that dies in the middle of delivering loses nothing and repeats nothing that
//! was delivered: a real `hearth serve` process, killed with SIGKILL while requests are
//! in flight, and another started on the same database.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use tokio::process::Command;

use super::hooks::Hooks;
use super::{WAIT, add_webhook};
use crate::support::{TestApp, TestData};

/// A `hearth serve` process on `data`, whose notification leases lapse after a second.
async fn node(data: &TestData, dir: &std::path::Path) -> TestApp {
    let mut command = Command::new(env!("CARGO_BIN_EXE_hearth"));
    command
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--database",
            &data.url(),
        ])
        .arg("--data-dir")
        .arg(dir)
        .args(["--push-allow-private", "--notify-lease-ms", "1000"])
        .args(["--notify-retry-base-ms", "100", "--db-max-connections", "4"]);
    TestApp::serve_process(command).await
}

#[tokio::test]
async fn a_node_killed_mid_delivery_loses_nothing_and_resends_nothing_delivered() {
    let data = TestData::new().await;
    let dir = tempfile::tempdir().unwrap();
    let first = node(&data, dir.path()).await;
    let owner = first.create_workspace("acme").await;
    let general = first.create_channel(&owner, "general", false).await;
    let hooks = Hooks::spawn().await;
    let mut people = Vec::new();
    for i in 0..5 {
        let s = first
            .add_user(&owner, &format!("p{i}@acme.test"), "member")
            .await;
        first.join(&s, &general).await;
        add_webhook(&first, &s, &hooks, &format!("p{i}")).await;
        people.push(s);
    }

    // Ten mentions of everyone are delivered normally...
    for i in 0..2 {
        first
            .send(&owner, &general, &format!("@channel round {i}"))
            .await;
    }
    hooks.wait_for(10, WAIT).await;

    // ...then the receiver stops answering, more are sent, and the node dies with
    // deliveries in flight and others still to expand or deliver.
    hooks.hold(true);
    for i in 2..6 {
        first
            .send(&owner, &general, &format!("@channel round {i}"))
            .await;
    }
    let start = Instant::now();
    while hooks.waiting() == 0 {
        assert!(start.elapsed() < WAIT, "no delivery started");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // Requests held now were sent but never answered: the dead node cannot know whether
    // they arrived, so they may come again (with the same notification id, for the
    // receiver to drop). Nothing answered before is ever sent again.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let in_flight = hooks.waiting();
    first.kill().await;
    hooks.hold(false);

    let second = node(&data, dir.path()).await;
    hooks.wait_for(30, Duration::from_secs(20)).await;
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let delivered = hooks.delivered();

    let mut ids_by_pair: std::collections::HashMap<(String, String), Vec<String>> =
        std::collections::HashMap::new();
    for hook in &delivered {
        let round = hook.body["message"]["excerpt"].as_str().unwrap().to_owned();
        ids_by_pair
            .entry((hook.endpoint.clone(), round))
            .or_default()
            .push(hook.id.clone());
    }
    assert_eq!(
        ids_by_pair.len(),
        30,
        "5 people x 6 rounds, none lost: {ids_by_pair:?}"
    );
    let mut repeats = 0;
    for ((endpoint, round), ids) in &ids_by_pair {
        let distinct: HashSet<&String> = ids.iter().collect();
        assert_eq!(
            distinct.len(),
            1,
            "one notification per person and message: {endpoint} {round}"
        );
        if ids.len() > 1 {
            assert!(
                !round.ends_with(" 0") && !round.ends_with(" 1"),
                "answered before the crash, sent again: {endpoint} {round}"
            );
            repeats += ids.len() - 1;
        }
    }
    assert!(
        repeats <= in_flight,
        "{repeats} repeats but only {in_flight} requests were in flight"
    );
    drop(second);
}
