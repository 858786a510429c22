//! What `migrate-data` tells the person running it: a line per table as it goes, a
//! running count for long tables (stderr), and a summary table at the end (stdout, for a
//! script to keep).

use std::fmt;
use std::time::{Duration, Instant};

/// How often a long copy says how far it has got.
const EVERY: Duration = Duration::from_secs(5);

/// The running count of one table's copy.
pub struct Progress {
    table: &'static str,
    started: Instant,
    last_said: Instant,
}

impl Progress {
    pub fn start(table: &'static str) -> Self {
        let now = Instant::now();
        Self {
            table,
            started: now,
            last_said: now,
        }
    }

    /// Notes that `rows` rows are copied so far; says so now and then.
    pub fn copied(&mut self, rows: u64) {
        if self.last_said.elapsed() >= EVERY {
            self.last_said = Instant::now();
            eprintln!(
                "  {:<18} {rows:>10} rows so far ({}/s)",
                self.table,
                rate(rows, self.started.elapsed())
            );
        }
    }

    /// Says the table is done and returns how long it took.
    pub fn done(self, rows: u64) -> Duration {
        let took = self.started.elapsed();
        eprintln!(
            "  {:<18} {rows:>10} rows {:>8.2} s ({}/s)",
            self.table,
            took.as_secs_f64(),
            rate(rows, took)
        );
        took
    }
}

/// One table's line in the summary.
#[derive(Debug)]
pub struct TableReport {
    pub name: &'static str,
    pub rows: u64,
    pub copy: Duration,
    pub verify: Duration,
}

/// The whole run.
#[derive(Debug, Default)]
pub struct Summary {
    pub tables: Vec<TableReport>,
    /// Updating the planner's statistics after the commit.
    pub analyze: Duration,
    /// From start to end, connecting included.
    pub total: Duration,
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let rows: u64 = self.tables.iter().map(|t| t.rows).sum();
        let copy: Duration = self.tables.iter().map(|t| t.copy).sum();
        let verify: Duration = self.tables.iter().map(|t| t.verify).sum();
        writeln!(f, "migrate-data: copied and verified {rows} rows")?;
        writeln!(
            f,
            "  {:<18} {:>10} {:>9} {:>9}",
            "table", "rows", "copy s", "verify s"
        )?;
        for t in &self.tables {
            writeln!(
                f,
                "  {:<18} {:>10} {:>9.2} {:>9.2}",
                t.name,
                t.rows,
                t.copy.as_secs_f64(),
                t.verify.as_secs_f64()
            )?;
        }
        writeln!(
            f,
            "  {:<18} {rows:>10} {:>9.2} {:>9.2}",
            "total",
            copy.as_secs_f64(),
            verify.as_secs_f64()
        )?;
        write!(
            f,
            "copy {}/s, analyze {:.2} s, {:.2} s in all ({}/s)",
            rate(rows, copy),
            self.analyze.as_secs_f64(),
            self.total.as_secs_f64(),
            rate(rows, self.total)
        )
    }
}

/// Rows per second, rounded, as a person reads it.
fn rate(rows: u64, took: Duration) -> String {
    let secs = took.as_secs_f64();
    if secs < 0.001 {
        return "-".to_owned();
    }
    format!("{:.0} rows", rows as f64 / secs)
}
