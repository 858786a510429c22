//! The database to copy from: opened read-only, and accepted only if it is a Hearth SQLite
//! database whose tables and columns are exactly the ones this version knows how to copy.
//! A database written by a newer version (a table or column this one has never heard of)
//! is refused rather than copied with something left behind.

use std::collections::BTreeSet;
use std::io::ErrorKind;
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, SqliteConnection};

use super::tables::TABLES;

/// How long a read waits on a lock another process holds on the file (a server that is
/// still checkpointing, say) before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Tables every sqlx-migrated SQLite database has besides Hearth's own.
const BOOKKEEPING: &str = "_sqlx_migrations";

/// The search index (the FTS5 table, its shadow tables and its backlog): derived from the
/// messages, so it is not copied; the target builds its own from the copied messages.
fn is_search_index(table: &str) -> bool {
    table == "message_search" || table.starts_with("message_search_") || table == "search_backlog"
}

/// Opens the Hearth database at `path` read-only and checks its schema.
pub async fn open(path: &Path) -> anyhow::Result<SqliteConnection> {
    let shown = path.display();
    match tokio::fs::metadata(path).await {
        Ok(meta) if meta.is_file() => {}
        Ok(_) => bail!("--from: {shown} is not a file"),
        Err(e) if e.kind() == ErrorKind::NotFound => {
            bail!("--from: there is no database at {shown} (file not found)")
        }
        Err(e) => return Err(e).with_context(|| format!("--from: reading {shown}")),
    }
    // Read-only: SQLite itself refuses any write, so the source cannot change, and a
    // missing file is never created.
    let mut conn = SqliteConnectOptions::new()
        .filename(path)
        .read_only(true)
        .create_if_missing(false)
        .busy_timeout(BUSY_TIMEOUT)
        .connect()
        .await
        .with_context(|| format!("--from: opening {shown}"))?;
    check_schema(&mut conn).await.with_context(|| {
        format!("--from: {shown} is not a Hearth database this version can copy")
    })?;
    Ok(conn)
}

/// Checks that the tables are exactly Hearth's, each with exactly the known columns.
async fn check_schema(conn: &mut SqliteConnection) -> anyhow::Result<()> {
    let found: BTreeSet<String> = sqlx::query_scalar::<_, String>(
        "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
    )
    .fetch_all(&mut *conn)
    .await
    .map_err(|e| anyhow!("it is not a readable SQLite database: {e}"))?
    .into_iter()
    .collect();

    for table in TABLES {
        if !found.contains(table.name) {
            bail!("it has no `{}` table", table.name);
        }
        let columns: BTreeSet<String> =
            sqlx::query_scalar::<_, String>("SELECT name FROM pragma_table_info(?)")
                .bind(table.name)
                .fetch_all(&mut *conn)
                .await?
                .into_iter()
                .collect();
        let known: BTreeSet<String> = table.columns.iter().map(|c| c.name.to_owned()).collect();
        if columns != known {
            bail!(
                "table `{}` has columns {columns:?}, expected {known:?}",
                table.name
            );
        }
    }
    let known: BTreeSet<&str> = TABLES.iter().map(|t| t.name).collect();
    if let Some(extra) = found.iter().find(|name| {
        !known.contains(name.as_str()) && *name != BOOKKEEPING && !is_search_index(name)
    }) {
        bail!("it has a table `{extra}` that this version of hearth does not know");
    }
    Ok(())
}
