//! `hearth migrate-data`: moves a whole installation from the embedded SQLite database into
//! an empty PostgreSQL one, so that a team can switch to the scale-out mode in one step.
//!
//! The steps, each in the module that owns it:
//!
//! 1. `source`: open the SQLite file read-only and check that it is a Hearth database
//!    with exactly the tables this version knows (`tables`, the catalogue both sides and
//!    every other step work from).
//! 2. `target`: connect to PostgreSQL and apply its migrations; then begin the one
//!    transaction everything else runs in, lock the tables and refuse a target holding
//!    any row.
//! 3. `copy`: stream every table, parents first, from SQLite into `COPY ... FROM STDIN`.
//! 4. `checksum`: read every table back on both sides, in the same order, and compare
//!    row counts and SHA-256 checksums computed here.
//! 5. Commit, then `ANALYZE` so that the planner knows the new tables' sizes.
//!
//! Any failure before the commit rolls the transaction back, so the target is left as it
//! was: schema, no rows. The source is read in one read transaction, one snapshot for the
//! copy and the checks; stop the server first all the same, or whatever it writes after
//! that snapshot stays behind.
//!
//! This is a tool, run once by an operator; nothing in the request path uses it.

mod cell;
mod checksum;
mod copy;
mod report;
mod source;
mod tables;
mod target;

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use hearth_postgres::PgStore;
use sqlx::{AssertSqlSafe, Connection, Executor, PgConnection, SqliteConnection};

use crate::config::MigrateDataConfig;
use report::{Progress, Summary, TableReport};
use tables::TABLES;

/// Runs the whole migration; an error means nothing was committed to the target.
pub async fn run(config: MigrateDataConfig) -> anyhow::Result<()> {
    let started = Instant::now();
    let mut source = source::open(&config.from).await?;
    eprintln!(
        "migrate-data: copying {} into PostgreSQL",
        config.from.display()
    );
    let target = target::connect(&config.to).await?;
    let outcome = migrate(&mut source, &target).await;
    target.close().await;
    // Read-only: closing cannot lose anything, so a failure to close is not worth a word.
    let _ = source.close().await;
    let mut summary = outcome?;
    summary.total = started.elapsed();
    println!("{summary}");
    Ok(())
}

async fn migrate(source: &mut SqliteConnection, target: &PgStore) -> anyhow::Result<Summary> {
    // One read transaction: every table is copied and checked from the same snapshot.
    let mut snapshot = source
        .begin()
        .await
        .context("--from: beginning a read transaction")?;
    let mut tx = target::begin(target).await?;
    let mut summary = match copy_and_verify(&mut snapshot, &mut tx).await {
        Ok(summary) => summary,
        Err(e) => {
            // Dropping the transaction would roll back too; saying so makes it certain
            // before the error is reported.
            let _ = tx.rollback().await;
            return Err(e.context("migrate-data failed and rolled back: the target holds no rows"));
        }
    };
    tx.commit().await.context("--to: committing the copy")?;

    let analyzing = Instant::now();
    let names: Vec<&str> = TABLES.iter().map(|t| t.name).collect();
    let analyze = format!("ANALYZE {}", names.join(", "));
    if let Err(e) = target.pool().execute(AssertSqlSafe(analyze)).await {
        // The data is committed and correct; autovacuum will gather statistics later.
        eprintln!("migrate-data: warning: ANALYZE failed ({e}); the copy is complete");
    }
    summary.analyze = analyzing.elapsed();
    Ok(summary)
}

/// Copies every table, then verifies every table, all in the caller's transactions.
async fn copy_and_verify(
    source: &mut SqliteConnection,
    target: &mut PgConnection,
) -> anyhow::Result<Summary> {
    let mut summary = Summary::default();
    eprintln!("copying {} tables:", TABLES.len());
    for table in TABLES {
        let mut progress = Progress::start(table.name);
        let rows = copy::copy_table(source, target, table, &mut |n| progress.copied(n))
            .await
            .with_context(|| format!("copying table {}", table.name))?;
        let copy = progress.done(rows);
        summary.tables.push(TableReport {
            name: table.name,
            rows,
            copy,
            verify: Duration::ZERO,
        });
    }

    eprintln!("verifying (row counts and SHA-256 of every row, both sides):");
    for (table, report) in TABLES.iter().zip(&mut summary.tables) {
        let started = Instant::now();
        // Both sides at once: SQLite reads on its own thread while PostgreSQL streams.
        let (expected, copied) = tokio::try_join!(
            checksum::of_source(source, table),
            checksum::of_target(target, table)
        )
        .with_context(|| format!("verifying table {}", table.name))?;
        if expected.rows != copied.rows || expected.rows != report.rows {
            bail!(
                "verifying table {}: {} rows in SQLite, {} copied, {} in PostgreSQL",
                table.name,
                expected.rows,
                report.rows,
                copied.rows
            );
        }
        if expected != copied {
            bail!(
                "verifying table {}: the copy differs from the source \
                 (SQLite: {expected}; PostgreSQL: {copied})",
                table.name
            );
        }
        report.verify = started.elapsed();
        eprintln!(
            "  {:<18} {:>10} rows {:>8.2} s ok",
            table.name,
            copied.rows,
            report.verify.as_secs_f64()
        );
    }
    Ok(summary)
}
