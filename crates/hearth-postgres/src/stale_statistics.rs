//! Test support for plans on statistics older than the tables: a workspace whose tables
//! were analyzed while small and then grown, and the plan PostgreSQL makes for a query,
//! as text. The unit tests of `posts`, `members` and `notify::sources` check with these
//! that their hot queries stay lookups whatever the planner believes (see the crate docs,
//! "Plans that do not depend on statistics").

use std::sync::Arc;

use hearth_core::id::{ChannelId, UserId, WorkspaceId};
use hearth_core::testing::Fixture;
use sqlx::postgres::PgArguments;
use sqlx::query::Query;
use sqlx::{AssertSqlSafe, Connection, Executor, PgConnection, Postgres, Row};

use crate::testing::ScratchDatabase;
use crate::{PgOptions, PgStore};

/// A fixture workspace in a database of its own, and a connection of the test's own.
pub(crate) struct Scratch {
    pub(crate) conn: PgConnection,
    pub(crate) f: Fixture,
    pub(crate) pg: Arc<PgStore>,
    /// Last: dropped after everything that uses the database.
    _db: ScratchDatabase,
}

pub(crate) async fn scratch() -> Scratch {
    let db = ScratchDatabase::create().await;
    let pg = Arc::new(
        PgStore::connect(db.url(), PgOptions::default())
            .await
            .unwrap(),
    );
    let f = Fixture::new(pg.clone()).await;
    let conn = PgConnection::connect(db.url()).await.unwrap();
    Scratch {
        conn,
        f,
        pg,
        _db: db,
    }
}

/// Analyzes `tables` now and keeps autovacuum from analyzing them again: what the planner
/// knows of them stays what they hold now, as in a workspace that grows fast between two
/// of autovacuum's analyzes, or a benchmark's fresh database.
pub(crate) async fn freeze_statistics(conn: &mut PgConnection, tables: &[&str]) {
    for table in tables {
        let sql = format!("ALTER TABLE {table} SET (autovacuum_enabled = false); ANALYZE {table}");
        conn.execute(AssertSqlSafe(sql)).await.unwrap();
    }
}

/// Adds `count` messages by `author` to `channel`, with seqs 1001 onwards and
/// `client_msg_id`s `key-1` onwards, straight into the table (no events).
pub(crate) async fn add_messages(
    conn: &mut PgConnection,
    ws: &WorkspaceId,
    channel: &ChannelId,
    author: &UserId,
    count: i64,
) {
    sqlx::query(
        "INSERT INTO messages (id, workspace_id, channel_id, seq, user_id, text, created_at, \
           client_msg_id) \
         SELECT 'M' || i, $1, $2, 1000 + i, $3, 'hello', 0, 'key-' || i \
         FROM generate_series(1, $4) i",
    )
    .bind(ws.as_str())
    .bind(channel.as_str())
    .bind(author.as_str())
    .bind(count)
    .execute(conn)
    .await
    .unwrap();
}

/// The plan PostgreSQL makes for `query` (an `EXPLAIN` with its bindings), as text.
pub(crate) async fn plan(
    conn: &mut PgConnection,
    query: Query<'_, Postgres, PgArguments>,
) -> String {
    let rows = query.fetch_all(conn).await.unwrap();
    let lines: Vec<String> = rows.iter().map(|row| row.get(0)).collect();
    lines.join("\n")
}

/// `EXPLAIN sql`, ready for its bindings.
pub(crate) fn explain(sql: &str) -> Query<'static, Postgres, PgArguments> {
    sqlx::query(AssertSqlSafe(format!("EXPLAIN {sql}")))
}
