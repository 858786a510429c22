//! Verifying a copy: a SHA-256 over a canonical rendering of every row of a table, read in
//! the same order on both sides and computed here in Rust, so that equal checksums mean
//! equal contents (row order included) whatever each database's own text output is like.
//!
//! The rendering: rows in the table's compare order ([`Table::source_order`] and
//! [`Table::target_order`]), columns in catalogue order, each cell a tag byte and its
//! value: `N` for NULL; `I` and 8 big-endian bytes for an integer or a flag (0 or 1); `T`,
//! the byte length as 8 big-endian bytes, then the UTF-8 bytes for text. Tags and lengths
//! make it unambiguous: NULL differs from '', and ("ab", "c") from ("a", "bc").

use std::fmt;

use anyhow::Context;
use futures::TryStreamExt;
use sha2::{Digest, Sha256};
use sqlx::{AssertSqlSafe, PgConnection, SqliteConnection};

use super::cell::{self, Cell};
use super::tables::Table;

/// A table's fingerprint: how many rows, and the digest of all of them in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Checksum {
    pub rows: u64,
    pub digest: [u8; 32],
}

impl fmt::Display for Checksum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} rows, sha256 ", self.rows)?;
        self.digest.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

/// The checksum of `table` in the SQLite source.
pub async fn of_source(conn: &mut SqliteConnection, table: &Table) -> anyhow::Result<Checksum> {
    let sql = select(table, table.source_order);
    let mut rows = sqlx::query(AssertSqlSafe(sql)).fetch(conn);
    let mut sum = RowHasher::default();
    while let Some(row) = rows.try_next().await.context("reading from SQLite")? {
        for (index, column) in table.columns.iter().enumerate() {
            sum.cell(cell::from_sqlite(&row, index, column)?);
        }
        sum.rows += 1;
    }
    Ok(sum.finish())
}

/// The checksum of `table` in the PostgreSQL target (inside the copy's transaction, so it
/// sees the copied rows before they are committed).
pub async fn of_target(conn: &mut PgConnection, table: &Table) -> anyhow::Result<Checksum> {
    let sql = select(table, table.target_order);
    let mut rows = sqlx::query(AssertSqlSafe(sql)).fetch(conn);
    let mut sum = RowHasher::default();
    while let Some(row) = rows.try_next().await.context("reading from PostgreSQL")? {
        for (index, column) in table.columns.iter().enumerate() {
            sum.cell(cell::from_postgres(&row, index, column)?);
        }
        sum.rows += 1;
    }
    Ok(sum.finish())
}

fn select(table: &Table, order: &str) -> String {
    format!(
        "SELECT {} FROM {} ORDER BY {order}",
        table.column_list(),
        table.name
    )
}

/// Feeds cells into the digest in the canonical rendering.
#[derive(Default)]
struct RowHasher {
    hasher: Sha256,
    rows: u64,
}

impl RowHasher {
    fn cell(&mut self, cell: Cell<'_>) {
        match cell {
            Cell::Null => self.hasher.update(b"N"),
            Cell::Int(value) => {
                self.hasher.update(b"I");
                self.hasher.update(value.to_be_bytes());
            }
            Cell::Text(text) => {
                self.hasher.update(b"T");
                self.hasher.update((text.len() as u64).to_be_bytes());
                self.hasher.update(text.as_bytes());
            }
        }
    }

    fn finish(self) -> Checksum {
        Checksum {
            rows: self.rows,
            digest: self.hasher.finalize().into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn checksum(rows: &[&[Cell<'_>]]) -> Checksum {
        let mut sum = RowHasher::default();
        for row in rows {
            row.iter().for_each(|cell| sum.cell(*cell));
            sum.rows += 1;
        }
        sum.finish()
    }

    #[test]
    fn null_and_empty_text_differ() {
        assert_ne!(checksum(&[&[Cell::Null]]), checksum(&[&[Cell::Text("")]]));
    }

    #[test]
    fn text_boundaries_count() {
        assert_ne!(
            checksum(&[&[Cell::Text("ab"), Cell::Text("c")]]),
            checksum(&[&[Cell::Text("a"), Cell::Text("bc")]])
        );
    }

    #[test]
    fn row_order_counts() {
        let (a, b): (&[Cell<'_>], &[Cell<'_>]) = (&[Cell::Int(1)], &[Cell::Int(2)]);
        assert_ne!(checksum(&[a, b]), checksum(&[b, a]));
        assert_eq!(checksum(&[a, b]), checksum(&[a, b]));
    }

    #[test]
    fn a_number_differs_from_its_text() {
        assert_ne!(
            checksum(&[&[Cell::Int(7)]]),
            checksum(&[&[Cell::Text("7")]])
        );
    }
}
