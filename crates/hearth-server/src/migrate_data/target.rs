//! The database to copy into: migrated by [`PgStore::connect`], then, inside the one
//! transaction the whole copy runs in, locked against writers and checked empty before a
//! single row is written.
//!
//! The migrations themselves run before that check. On a target that already holds a
//! Hearth installation they have all been applied and change nothing; on a fresh database
//! they create the schema, which is what a server starting on it would do anyway.

use std::time::Duration;

use anyhow::{Context, bail};
use hearth_postgres::{PgOptions, PgStore};
use sqlx::{AssertSqlSafe, Postgres, Transaction};

use super::tables::TABLES;

/// How long taking the table locks may wait before the tool gives up: a server running on
/// the target would otherwise stall the migration, and the migration its writes.
const LOCK_TIMEOUT: &str = "10s";

/// Connects to the target and applies Hearth's PostgreSQL migrations.
pub async fn connect(url: &str) -> anyhow::Result<PgStore> {
    // One connection: the copy is a single transaction.
    let options = PgOptions {
        max_connections: 1,
        acquire_timeout: Duration::from_secs(30),
    };
    PgStore::connect(url, options)
        .await
        .context("--to: connecting to PostgreSQL and applying Hearth's migrations")
}

/// Begins the copy's transaction: takes every Hearth table in EXCLUSIVE mode (no one else
/// writes until it commits; plain reads, which see nothing of it, may go on), then refuses
/// a target that holds any row. Nothing has been written when this fails.
pub async fn begin(store: &PgStore) -> anyhow::Result<Transaction<'static, Postgres>> {
    let mut tx = store
        .pool()
        .begin()
        .await
        .context("--to: beginning a transaction")?;
    let lock_timeout = format!("SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'");
    sqlx::query(AssertSqlSafe(lock_timeout))
        .execute(&mut *tx)
        .await?;
    // A server-wide statement_timeout must not cut a large COPY short.
    sqlx::query("SET LOCAL statement_timeout = 0")
        .execute(&mut *tx)
        .await?;

    let names: Vec<&str> = TABLES.iter().map(|t| t.name).collect();
    let lock = format!("LOCK TABLE {} IN EXCLUSIVE MODE", names.join(", "));
    sqlx::query(AssertSqlSafe(lock))
        .execute(&mut *tx)
        .await
        .context("--to: locking Hearth's tables (is a server running on this database?)")?;

    for table in TABLES {
        let exists = format!("SELECT EXISTS (SELECT 1 FROM {})", table.name);
        let has_rows: bool = sqlx::query_scalar(AssertSqlSafe(exists))
            .fetch_one(&mut *tx)
            .await
            .with_context(|| format!("--to: reading table {}", table.name))?;
        if has_rows {
            bail!(
                "--to: the target database is not empty (table `{}` has rows); \
                 migrate-data only copies into a database without Hearth data. \
                 Nothing was written.",
                table.name
            );
        }
    }
    Ok(tx)
}
