//! Phrases found by word pairs on PostgreSQL (`search_pairs`, migration 0009): they find
//! exactly what matching the vector's positions finds, phrases of two words and longer,
//! with other words, exclusions and scopes; and rows without pairs (from before the
//! migration) are found by positions until the backlog has given every row its pairs.

mod searching;

use std::sync::Arc;

use hearth_core::model::Channel;
use hearth_core::store::Store;
use hearth_core::testing::Fixture;
use hearth_postgres::testing::ScratchDatabase;
use hearth_postgres::{PgOptions, PgStore};
use searching::{find, request};
use sqlx::PgPool;

/// What the channel `#general` says, oldest first. The phrases searched for are in some;
/// others hold their words apart, in the other order, or across punctuation.
const GENERAL: &[&str] = &[
    "release notes are out",
    "notes on the release",
    "the release of the notes",
    "Release-Notes, again: release notes",
    "web app server down",
    "web app and server",
    "the app server of the web app",
    "deploy the release notes",
    "release notesy",
];

/// What `#random` says.
const RANDOM: &[&str] = &["release notes in random", "web app server in random"];

async fn setup(db: &ScratchDatabase) -> (Arc<PgStore>, Fixture, Channel) {
    let options = PgOptions {
        max_connections: 4,
        ..Default::default()
    };
    let store = Arc::new(PgStore::connect(db.url(), options).await.unwrap());
    let f = Fixture::new(store.clone()).await;
    let general = f.channel(&f.owner, "general", &[]).await;
    let random = f.channel(&f.owner, "random", &[]).await;
    for text in GENERAL {
        f.post(&general, &f.owner, text).await;
    }
    for text in RANDOM {
        f.post(&random, &f.owner, text).await;
    }
    (store, f, general)
}

fn texts(hits: Vec<hearth_core::store::SearchHit>) -> Vec<String> {
    hits.into_iter().map(|h| h.message.text).collect()
}

async fn unpaired(pool: &PgPool) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM messages WHERE search_pairs IS NULL")
        .fetch_one(pool)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pairs_find_what_positions_find() {
    let db = ScratchDatabase::create().await;
    let (store, f, general) = setup(&db).await;
    assert_eq!(
        unpaired(store.pool()).await,
        0,
        "posts are written with pairs"
    );

    let cases: &[(&str, bool, &[&str])] = &[
        (
            "\"release notes\"",
            false,
            &[
                "release notes in random",
                "deploy the release notes",
                "Release-Notes, again: release notes",
                "release notes are out",
            ],
        ),
        (
            "\"web app server\"",
            false,
            &["web app server in random", "web app server down"],
        ),
        (
            "\"app server\" web",
            true,
            &["the app server of the web app", "web app server down"],
        ),
        (
            "deploy \"release notes\"",
            false,
            &["deploy the release notes"],
        ),
        (
            "\"release notes\" -deploy -random",
            true,
            &[
                "Release-Notes, again: release notes",
                "release notes are out",
            ],
        ),
        ("\"notes release\"", false, &[]),
        ("\"release notes\" \"web app\"", false, &[]),
    ];
    for (q, in_general, expected) in cases {
        let channel = in_general.then_some(&general);
        let request = request(&f, q, channel, None).await;
        let by_pairs = texts(
            store
                .search_by_pairs(f.ws_id(), &request, true)
                .await
                .unwrap(),
        );
        let by_positions = texts(
            store
                .search_by_pairs(f.ws_id(), &request, false)
                .await
                .unwrap(),
        );
        assert_eq!(by_pairs, by_positions, "{q}: pairs and positions disagree");
        let mut found = by_pairs.clone();
        found.sort();
        let mut expected: Vec<String> = expected.iter().map(|t| t.to_string()).collect();
        expected.sort();
        assert_eq!(found, expected, "{q}");
    }
    // Through the store, which goes by pairs now that every message has them.
    assert_eq!(
        find(&f, &f.owner, "\"web app server\"").await,
        ["web app server in random", "web app server down"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rows_without_pairs_are_found_by_positions_until_the_backlog_pairs_them() {
    let db = ScratchDatabase::create().await;
    let (store, f, _) = setup(&db).await;
    let pool = store.pool().clone();
    // As an installation from before migration 0009: vectors, no pairs.
    sqlx::query("UPDATE messages SET search_pairs = NULL")
        .execute(&pool)
        .await
        .unwrap();
    let messages = (GENERAL.len() + RANDOM.len()) as i64;
    assert_eq!(unpaired(&pool).await, messages);

    let expected = [
        "release notes in random",
        "deploy the release notes",
        "Release-Notes, again: release notes",
        "release notes are out",
    ];
    assert_eq!(find(&f, &f.owner, "\"release notes\"").await, expected);

    let mut indexed = 0;
    loop {
        let n = store.index_search_backlog().await.unwrap();
        if n == 0 {
            break;
        }
        indexed += n;
    }
    assert_eq!(indexed, messages as u64);
    assert_eq!(unpaired(&pool).await, 0);
    let paired: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM messages WHERE search_pairs @@ ''' releas note'''",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(
        paired, 4,
        "each message with the pair holds it once indexed"
    );
    assert_eq!(find(&f, &f.owner, "\"release notes\"").await, expected);
    assert_eq!(
        find(&f, &f.owner, "release").await.len(),
        7,
        "words are found as before"
    );
}
