//! One cell of a row, read from either database by its column's [`Kind`]: the common
//! ground that the copy and the checksum both work from, so that a flag is 0 or 1 and a
//! NULL is a NULL whichever side it came from.

use anyhow::{Context, bail};
use sqlx::Row;
use sqlx::postgres::PgRow;
use sqlx::sqlite::SqliteRow;

use super::tables::{Column, Kind};

/// A cell's value. Flags are `Int(0)` or `Int(1)`; text borrows from its row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cell<'r> {
    Null,
    Int(i64),
    Text(&'r str),
}

impl<'r> From<Option<i64>> for Cell<'r> {
    fn from(value: Option<i64>) -> Self {
        value.map_or(Cell::Null, Cell::Int)
    }
}

impl<'r> From<Option<&'r str>> for Cell<'r> {
    fn from(value: Option<&'r str>) -> Self {
        value.map_or(Cell::Null, Cell::Text)
    }
}

/// Reads cell `index` of a SQLite row. A flag other than 0 or 1 is refused rather than
/// guessed at: PostgreSQL's BOOLEAN could not hold it.
pub fn from_sqlite<'r>(
    row: &'r SqliteRow,
    index: usize,
    column: &Column,
) -> anyhow::Result<Cell<'r>> {
    let cell = match column.kind {
        Kind::Text => row.try_get::<Option<&str>, _>(index).map(Cell::from),
        Kind::Int => row.try_get::<Option<i64>, _>(index).map(Cell::from),
        Kind::Bool => {
            let flag = row
                .try_get::<Option<i64>, _>(index)
                .with_context(|| format!("reading column {}", column.name))?;
            return match flag {
                None | Some(0 | 1) => Ok(Cell::from(flag)),
                Some(other) => bail!(
                    "column {} holds {other} where a flag (0 or 1) belongs",
                    column.name
                ),
            };
        }
    };
    cell.with_context(|| format!("reading column {}", column.name))
}

/// Reads cell `index` of a PostgreSQL row.
pub fn from_postgres<'r>(
    row: &'r PgRow,
    index: usize,
    column: &Column,
) -> anyhow::Result<Cell<'r>> {
    let cell = match column.kind {
        Kind::Text => row.try_get::<Option<&str>, _>(index).map(Cell::from),
        Kind::Int => row.try_get::<Option<i64>, _>(index).map(Cell::from),
        Kind::Bool => row
            .try_get::<Option<bool>, _>(index)
            .map(|flag| Cell::from(flag.map(i64::from))),
    };
    cell.with_context(|| format!("reading column {}", column.name))
}
