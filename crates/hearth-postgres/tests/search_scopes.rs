//! `in:` and `from:` with words on PostgreSQL: the two ways the statement can be written
//! (scope lexemes in the search index, or conditions on the channel and author columns)
//! find the same messages, and the planner's costs pick the lexemes for a word that is
//! rare in a busy channel and the columns for a word on most messages of it.

mod searching;

use std::sync::Arc;

use hearth_core::id::MessageId;
use hearth_core::model::{Channel, User};
use hearth_core::store::{SearchHit, SearchRequest, Store};
use hearth_core::testing::Fixture;
use hearth_postgres::testing::{ScratchDatabase, Shape};
use hearth_postgres::{PgOptions, PgStore};
use searching::request;

/// Channels of the workspace; the first is the busy one.
const CHANNELS: usize = 10;
/// Messages written into the tables: one channel in ten, one author in three.
const MESSAGES: usize = 40_000;

/// What message `i` says: six messages in seven say `common` and one in 53 `mid`,
/// whatever their channel or author; only the first channel's say `only`.
fn text(i: usize) -> String {
    let mut text = format!("filler n{i}");
    if !i.is_multiple_of(7) {
        text.push_str(" common");
    }
    if i.is_multiple_of(53) {
        text.push_str(" mid");
    }
    if i.is_multiple_of(CHANNELS) {
        text.push_str(" only");
    }
    text
}

/// Writes the messages straight into the tables (as `migrate-data` does) and indexes
/// them; the end of the backlog vacuums and analyzes the table, so the planner knows the
/// words' and scopes' frequencies.
async fn import(store: &PgStore, f: &Fixture, channels: &[Channel], authors: &[&User]) {
    let pool = store.pool();
    let last: i64 = sqlx::query_scalar(
        "UPDATE workspaces SET last_seq = last_seq + $1 WHERE id = $2 RETURNING last_seq",
    )
    .bind(MESSAGES as i64)
    .bind(f.ws_id().as_str())
    .fetch_one(pool)
    .await
    .unwrap();
    let first = last - MESSAGES as i64 + 1;
    let ids: Vec<String> = (0..MESSAGES)
        .map(|_| MessageId::generate().as_str().to_owned())
        .collect();
    let seqs: Vec<i64> = (0..MESSAGES as i64).map(|i| first + i).collect();
    let channel_ids: Vec<&str> = (0..MESSAGES)
        .map(|i| channels[i % CHANNELS].id.as_str())
        .collect();
    let user_ids: Vec<&str> = (0..MESSAGES)
        .map(|i| authors[i % authors.len()].id.as_str())
        .collect();
    let texts: Vec<String> = (0..MESSAGES).map(text).collect();
    sqlx::query(
        "INSERT INTO messages (id, workspace_id, channel_id, seq, user_id, text, created_at, \
         deleted) \
         SELECT id, $1, channel_id, seq, user_id, text, 0, FALSE \
         FROM UNNEST($2::text[], $3::int8[], $4::text[], $5::text[], $6::text[]) \
         AS r(id, seq, channel_id, user_id, text)",
    )
    .bind(f.ws_id().as_str())
    .bind(&ids)
    .bind(&seqs)
    .bind(&channel_ids)
    .bind(&user_ids)
    .bind(&texts)
    .execute(pool)
    .await
    .unwrap();
    while store.index_search_backlog().await.unwrap() > 0 {}
}

/// The page in both shapes, which must agree; the texts, in order.
async fn both_shapes(store: &PgStore, f: &Fixture, request: &SearchRequest) -> Vec<String> {
    let texts = |hits: Vec<SearchHit>| -> Vec<String> {
        hits.into_iter().map(|h| h.message.text).collect()
    };
    let columns = store
        .search_in_shape(f.ws_id(), request, Shape::Columns)
        .await
        .unwrap();
    let lexemes = store
        .search_in_shape(f.ws_id(), request, Shape::Lexemes)
        .await
        .unwrap();
    let (columns, lexemes) = (texts(columns), texts(lexemes));
    assert_eq!(columns, lexemes, "the two shapes disagree");
    columns
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scopes_find_the_same_messages_either_way_and_the_cheaper_way_is_taken() {
    let db = ScratchDatabase::create().await;
    let options = PgOptions {
        max_connections: 4,
        ..Default::default()
    };
    let store = Arc::new(PgStore::connect(db.url(), options).await.unwrap());
    let f = Fixture::new(store.clone()).await;
    let (bob, cy) = (f.bob.clone(), f.cy.clone());
    let authors = [&f.owner, &cy, &bob];
    let mut channels = Vec::new();
    for n in 0..CHANNELS {
        channels.push(f.channel(&f.owner, &format!("room{n}"), &[]).await);
    }
    import(&store, &f, &channels, &authors).await;
    let busy = &channels[0];

    // A word on one message in 53, in a channel of one message in ten: a tenth of its
    // matches are there, too few to fill a page soon when walking the channel.
    let mid = request(&f, "mid", Some(busy), None).await;
    assert_eq!(
        store.search_shape(f.ws_id(), &mid).await.unwrap(),
        Shape::Lexemes
    );
    let found = both_shapes(&store, &f, &mid).await;
    assert_eq!(found.len(), 20);
    assert!(
        found.iter().all(|t| number(t).is_multiple_of(530)),
        "{found:?}"
    );

    // A word on most messages of the channel: walking it fills the window soon.
    let common = request(&f, "common", Some(busy), None).await;
    assert_eq!(
        store.search_shape(f.ws_id(), &common).await.unwrap(),
        Shape::Columns
    );
    let found = both_shapes(&store, &f, &common).await;
    assert_eq!(found.len(), 20);
    assert!(
        found
            .iter()
            .all(|t| number(t).is_multiple_of(CHANNELS) && !number(t).is_multiple_of(7)),
        "{found:?}"
    );

    // An author, and an author with a channel: the scopes are ANDed with the words.
    let bob_said = |text: &String| {
        let i = number(text);
        i % 3 == 2 && i.is_multiple_of(53)
    };
    let by_bob = request(&f, "mid", None, Some(&bob)).await;
    let found = both_shapes(&store, &f, &by_bob).await;
    assert_eq!(found.len(), 20);
    assert!(found.iter().all(bob_said), "{found:?}");
    let bob_in_busy = request(&f, "mid", Some(busy), Some(&bob)).await;
    let found = both_shapes(&store, &f, &bob_in_busy).await;
    assert_eq!(found.len(), 20);
    assert!(
        found
            .iter()
            .all(|t| bob_said(t) && number(t).is_multiple_of(CHANNELS)),
        "{found:?}"
    );
    // Only room0 says only, whoever wrote it.
    let quiet = &channels[1];
    let none = request(&f, "only", Some(quiet), None).await;
    assert!(both_shapes(&store, &f, &none).await.is_empty());
    let none = request(&f, "only", Some(quiet), Some(&cy)).await;
    assert!(both_shapes(&store, &f, &none).await.is_empty());
}

/// The `i` of a message's text (`filler n{i} …`).
fn number(text: &str) -> usize {
    text["filler n".len()..]
        .split(' ')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{text:?} is not a generated text"))
}
