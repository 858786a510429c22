//! The search index on PostgreSQL beyond the shared conformance suite: messages written
//! straight into the tables (as `migrate-data` and the data generator do) are found only
//! once `index_search_backlog` has reached them, several nodes can work through the
//! backlog at once without doing rows twice (and the table is vacuumed after it), texts at
//! the edges of what a `tsvector` holds (the longest message, quotes and backslashes) are
//! stored and found, `has:file` follows the files a message shares, through edits and
//! file deletions, migration 0008 renames the flags of vectors written before it, and
//! applying migrations vacuums the table.

mod searching;

use std::sync::Arc;

use hearth_core::id::{FileId, MessageId};
use hearth_core::mention::Mentions;
use hearth_core::model::Channel;
use hearth_core::store::{NewFile, SEARCH_INDEX_STEP, Store};
use hearth_core::testing::{Fixture, new_message};
use hearth_core::value::{FileName, MessageText};
use hearth_postgres::testing::ScratchDatabase;
use hearth_postgres::{PgOptions, PgStore};
use searching::find;
use sqlx::PgPool;

async fn node(db: &ScratchDatabase) -> PgStore {
    let options = PgOptions {
        max_connections: 4,
        ..Default::default()
    };
    PgStore::connect(db.url(), options).await.unwrap()
}

/// Writes `texts` into `channel` as rows without a search vector, as a bulk import does
/// (seqs taken from the workspace's counter, no events); the last one is a deleted
/// tombstone.
async fn import(pool: &PgPool, f: &Fixture, channel: &Channel, texts: &[String]) {
    let last: i64 = sqlx::query_scalar(
        "UPDATE workspaces SET last_seq = last_seq + $1 WHERE id = $2 RETURNING last_seq",
    )
    .bind(texts.len() as i64)
    .bind(f.ws_id().as_str())
    .fetch_one(pool)
    .await
    .unwrap();
    let first = last - texts.len() as i64 + 1;
    let ids: Vec<String> = texts
        .iter()
        .map(|_| MessageId::generate().as_str().to_owned())
        .collect();
    let seqs: Vec<i64> = (first..=last).collect();
    let deleted: Vec<bool> = (0..texts.len()).map(|i| i + 1 == texts.len()).collect();
    let texts: Vec<&str> = texts
        .iter()
        .zip(&deleted)
        .map(|(t, &d)| if d { "" } else { t.as_str() })
        .collect();
    sqlx::query(
        "INSERT INTO messages (id, workspace_id, channel_id, seq, user_id, text, created_at, \
         deleted) \
         SELECT id, $1, $2, seq, $3, text, 0, deleted \
         FROM UNNEST($4::text[], $5::int8[], $6::text[], $7::bool[]) AS r(id, seq, text, deleted)",
    )
    .bind(f.ws_id().as_str())
    .bind(channel.id.as_str())
    .bind(f.owner.id.as_str())
    .bind(&ids)
    .bind(&seqs)
    .bind(&texts)
    .bind(&deleted)
    .execute(pool)
    .await
    .unwrap();
}

async fn unindexed(pool: &PgPool) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM messages WHERE search_vector IS NULL")
        .fetch_one(pool)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn imported_messages_are_found_once_the_backlog_is_indexed() {
    let db = ScratchDatabase::create().await;
    let store = node(&db).await;
    let pool = store.pool().clone();
    let f = Fixture::new(Arc::new(store)).await;
    let c = f.channel(&f.owner, "general", &[]).await;
    f.post(&c, &f.owner, "posted through the store").await;
    let count = SEARCH_INDEX_STEP as usize + 200;
    let texts: Vec<String> = (0..count).map(|i| format!("imported row{i}")).collect();
    import(&pool, &f, &c, &texts).await;
    assert_eq!(unindexed(&pool).await, count as i64);

    // Not indexed yet: words do not find the rows, filters alone do.
    assert!(find(&f, &f.owner, "imported").await.is_empty());
    assert_eq!(find(&f, &f.owner, "in:#general").await.len(), 100);

    // Two nodes at once: rows one of them holds are skipped by the other. Indexing
    // changes nothing anyone sees: no events.
    let seq = f.last_seq().await;
    let other = Arc::new(node(&db).await);
    let mut indexed = 0;
    loop {
        let (a, b) = tokio::join!(f.store.index_search_backlog(), other.index_search_backlog());
        let (a, b) = (a.unwrap(), b.unwrap());
        assert!(a <= SEARCH_INDEX_STEP && b <= SEARCH_INDEX_STEP);
        indexed += a + b;
        if a == 0 && b == 0 {
            break;
        }
    }
    assert_eq!(indexed, count as u64);
    assert_eq!(f.last_seq().await, seq);
    assert_eq!(unindexed(&pool).await, 0);
    assert_eq!(f.store.index_search_backlog().await.unwrap(), 0);
    // The versions the indexing left dead are vacuumed away at the end of the backlog
    // (searches would otherwise read them in every index), whether autovacuum is on or not.
    let vacuums: i64 = sqlx::query_scalar(
        "SELECT vacuum_count FROM pg_stat_user_tables WHERE relname = 'messages'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert!(
        vacuums >= 1,
        "the messages were not vacuumed after the backlog"
    );

    assert_eq!(find(&f, &f.owner, "row7").await, ["imported row7"]);
    // The deleted tombstone got the empty vector and matches nothing.
    assert_eq!(find(&f, &f.owner, "imported").await.len(), 100);
    let tombstone: String = sqlx::query_scalar(
        "SELECT search_vector::text FROM messages WHERE deleted AND workspace_id = $1",
    )
    .bind(f.ws_id().as_str())
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(tombstone, "");
}

#[tokio::test]
async fn awkward_texts_are_stored_and_found() {
    let db = ScratchDatabase::create().await;
    let f = Fixture::new(Arc::new(node(&db).await)).await;
    let c = f.channel(&f.owner, "general", &[]).await;

    f.post(
        &c,
        &f.owner,
        r#"O'Brien's C:\temp\x 'quoted' "double" \\ ''"#,
    )
    .await;
    assert_eq!(find(&f, &f.owner, "O'Brien").await.len(), 1);
    assert_eq!(find(&f, &f.owner, "temp").await.len(), 1);

    // The longest messages: more words than a tsvector has positions. Both backends index
    // the first `MAX_DOCUMENT_TERMS` (16,383) terms, so they find the same messages.
    let words = format!("{} needle {}", "a ".repeat(16_000), "b ".repeat(1_000));
    f.post(&c, &f.owner, &words).await;
    assert_eq!(find(&f, &f.owner, "needle").await.len(), 1);
    // As many distinct CJK bigrams as characters.
    let cjk: String = (0..40_000u32)
        .map(|i| char::from_u32(0x4E00 + (i * 7919) % 0x5000).unwrap())
        .collect();
    f.post(&c, &f.owner, &cjk).await;
    let head: String = cjk.chars().take(10).collect();
    assert_eq!(find(&f, &f.owner, &head).await.len(), 1);
    let within: String = cjk.chars().skip(16_000).take(3).collect();
    assert_eq!(find(&f, &f.owner, &within).await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn has_file_follows_the_files_a_message_shares() {
    let db = ScratchDatabase::create().await;
    let store = Arc::new(node(&db).await);
    let f = Fixture::new(store.clone()).await;
    let c = f.channel(&f.owner, "general", &[]).await;
    let upload = NewFile {
        uploader: f.owner.id.clone(),
        name: FileName::parse("plan.pdf").unwrap(),
        size: 10,
        mime_type: "application/pdf".to_owned(),
        image: None,
        has_thumbnail: false,
        storage_key: FileId::generate().as_str().to_owned(),
        sha256: "ab".repeat(32),
    };
    let file = store.create_file(f.ws_id(), upload, None).await.unwrap();
    f.post(&c, &f.owner, "plan without files").await;
    let mut sharing = new_message(&c.id, &f.owner.id, "plan attached");
    sharing.file_ids = vec![file.id.clone()];
    let shared = store
        .post_message(f.ws_id(), sharing)
        .await
        .unwrap()
        .message;
    assert_eq!(find(&f, &f.owner, "plan has:file").await, ["plan attached"]);

    // An edit keeps the flag: the files are still there.
    let text = MessageText::parse("plan attached, v2").unwrap();
    store
        .edit_message(f.ws_id(), &shared.id, text, Mentions::default())
        .await
        .unwrap();
    assert_eq!(find(&f, &f.owner, "has:file").await, ["plan attached, v2"]);

    // Deleting the file re-indexes the message: its words stay, the flag goes.
    store.delete_file(f.ws_id(), &file.id).await.unwrap();
    assert!(find(&f, &f.owner, "has:file").await.is_empty());
    assert_eq!(find(&f, &f.owner, "v2").await, ["plan attached, v2"]);
}

/// Vectors written before migration 0008, with the flags spelt `link` and `file`, are
/// rewritten by it: `has:link` and `has:file` find them, the word `link` finds only the
/// messages that say it, and their words and phrases are found as before.
#[tokio::test]
async fn flags_written_before_migration_0008_are_renamed_by_it() {
    let db = ScratchDatabase::create().await;
    let store = node(&db).await;
    let pool = store.pool().clone();
    let f = Fixture::new(Arc::new(store)).await;
    let c = f.channel(&f.owner, "general", &[]).await;
    let texts = [
        "see https://x.test for the plan",
        "the link to the plan",
        "plan attached",
        "no flags here",
    ];
    // As the server wrote them before 0008 (its index::vector then).
    let old_vectors = [
        "'see':1A 'https':2A 'x':3A 'test':4A 'for':5A 'the':6A 'plan':7A 'link':8C",
        "'the':1A 'link':2A 'to':3A 'the':4A 'plan':5A",
        "'plan':1A 'attach':2A 'attached':3B 'file':4C",
        "'no':1A 'flag':2A 'here':3A 'flags':4B",
    ];
    for (text, vector) in texts.iter().zip(old_vectors) {
        let m = f.post(&c, &f.owner, text).await;
        sqlx::query("UPDATE messages SET search_vector = $1::tsvector WHERE id = $2")
            .bind(vector)
            .bind(m.id.as_str())
            .execute(&pool)
            .await
            .unwrap();
    }
    assert!(find(&f, &f.owner, "has:link").await.is_empty());

    sqlx::raw_sql(include_str!("../migrations/0008_flag_lexemes.sql"))
        .execute(&pool)
        .await
        .unwrap();

    assert_eq!(
        find(&f, &f.owner, "has:link").await,
        ["see https://x.test for the plan"]
    );
    assert_eq!(find(&f, &f.owner, "has:file").await, ["plan attached"]);
    assert_eq!(find(&f, &f.owner, "link").await, ["the link to the plan"]);
    assert_eq!(find(&f, &f.owner, "plan").await.len(), 3);
    assert_eq!(find(&f, &f.owner, "\"the plan\"").await.len(), 2);
    assert_eq!(find(&f, &f.owner, "flags").await, ["no flags here"]);
    // The rewritten vectors are the ones the server writes now.
    let rewritten: Vec<String> = sqlx::query_scalar(
        "SELECT search_vector::text FROM messages WHERE workspace_id = $1 ORDER BY seq",
    )
    .bind(f.ws_id().as_str())
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(
        rewritten[0],
        "' has link':8C 'for':5A 'https':2A 'plan':7A 'see':1A 'test':4A 'the':6A 'x':3A"
    );
    assert_eq!(
        rewritten[2],
        "' has file':4C 'attach':2A 'attached':3B 'plan':1A"
    );
    assert_eq!(rewritten[3], "'flag':2A 'flags':4B 'here':3A 'no':1A");
}

async fn vacuums(pool: &PgPool) -> i64 {
    sqlx::query_scalar("SELECT vacuum_count FROM pg_stat_user_tables WHERE relname = 'messages'")
        .fetch_one(pool)
        .await
        .unwrap()
}

/// A node that applies migrations vacuums the messages afterwards (a migration may have
/// rewritten rows, whose old versions searches would otherwise read); one that finds
/// nothing to apply does not.
#[tokio::test]
async fn applying_migrations_vacuums_the_messages_and_nothing_to_apply_does_not() {
    let db = ScratchDatabase::create().await;
    let first = node(&db).await;
    let pool = first.pool().clone();
    assert_eq!(vacuums(&pool).await, 1);
    let _second = node(&db).await;
    assert_eq!(vacuums(&pool).await, 1);
}
