//! Copying one table: rows stream out of SQLite in [`Table::copy_order`] and into
//! PostgreSQL's `COPY ... FROM STDIN` (text format), a batch of bytes at a time, so memory
//! stays flat however large the table. sqlx's SQLite driver hands rows over through a
//! bounded queue, so SQLite reads no faster than PostgreSQL takes them.

use std::io::Write as _;

use anyhow::{Context, ensure};
use futures::{Stream, TryStreamExt};
use sqlx::postgres::PgCopyIn;
use sqlx::sqlite::SqliteRow;
use sqlx::{AssertSqlSafe, PgConnection, SqliteConnection};

use super::cell::{self, Cell};
use super::tables::Table;

/// How many bytes of rows are sent to PostgreSQL at a time.
const BATCH_BYTES: usize = 1 << 20;

/// Copies every row of `table` from `source` into `target` and returns how many; calls
/// `progress` with the running count after each batch. The target must be inside a
/// transaction: on an error the copied rows stay until the caller rolls back.
pub async fn copy_table(
    source: &mut SqliteConnection,
    target: &mut PgConnection,
    table: &Table,
    progress: &mut dyn FnMut(u64),
) -> anyhow::Result<u64> {
    let columns = table.column_list();
    let select = format!(
        "SELECT {columns} FROM {} ORDER BY {}",
        table.name, table.copy_order
    );
    let statement = format!("COPY {} ({columns}) FROM STDIN", table.name);
    let mut rows = sqlx::query(AssertSqlSafe(select)).fetch(source);
    let mut sink = target
        .copy_in_raw(&statement)
        .await
        .context("starting COPY")?;
    match send_rows(&mut rows, &mut sink, table, progress).await {
        Ok(sent) => {
            // PostgreSQL checks constraints as rows arrive but reports a failure here.
            let copied = sink.finish().await.context("finishing COPY")?;
            ensure!(
                copied == sent,
                "PostgreSQL took {copied} rows of the {sent} sent"
            );
            Ok(sent)
        }
        Err(e) => {
            // End the COPY, or the connection is unusable even for the rollback.
            let _ = sink.abort(format!("migrate-data: {e:#}")).await;
            Err(e)
        }
    }
}

/// Encodes and sends every row; returns how many.
async fn send_rows(
    rows: &mut (impl Stream<Item = Result<SqliteRow, sqlx::Error>> + Unpin),
    sink: &mut PgCopyIn<&mut PgConnection>,
    table: &Table,
    progress: &mut dyn FnMut(u64),
) -> anyhow::Result<u64> {
    let mut batch = Vec::with_capacity(BATCH_BYTES + BATCH_BYTES / 4);
    let mut sent = 0u64;
    while let Some(row) = rows.try_next().await.context("reading from SQLite")? {
        for (index, column) in table.columns.iter().enumerate() {
            if index > 0 {
                batch.push(b'\t');
            }
            push_cell(&mut batch, cell::from_sqlite(&row, index, column)?);
        }
        batch.push(b'\n');
        sent += 1;
        if batch.len() >= BATCH_BYTES {
            sink.send(batch.as_slice()).await.context("sending rows")?;
            batch.clear();
            progress(sent);
        }
    }
    if !batch.is_empty() {
        sink.send(batch.as_slice()).await.context("sending rows")?;
    }
    Ok(sent)
}

/// Appends a cell in `COPY`'s text format: `\N` is NULL, so a text that is literally
/// `\N` goes out as `\\N`; flags go out as `0`/`1`, which BOOLEAN accepts.
fn push_cell(out: &mut Vec<u8>, cell: Cell<'_>) {
    match cell {
        Cell::Null => out.extend_from_slice(b"\\N"),
        // Writing to a Vec cannot fail.
        Cell::Int(value) => {
            let _ = write!(out, "{value}");
        }
        Cell::Text(text) => push_escaped(out, text),
    }
}

/// Appends `text` with the bytes that `COPY` text format gives meaning to escaped: the
/// backslash, and tab, newline and carriage return (column and row separators). UTF-8
/// never uses these bytes inside a multi-byte character, so scanning bytes is safe.
fn push_escaped(out: &mut Vec<u8>, text: &str) {
    let bytes = text.as_bytes();
    let mut plain_from = 0;
    for (at, byte) in bytes.iter().enumerate() {
        let escaped: &[u8] = match byte {
            b'\\' => b"\\\\",
            b'\t' => b"\\t",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            _ => continue,
        };
        out.extend_from_slice(&bytes[plain_from..at]);
        out.extend_from_slice(escaped);
        plain_from = at + 1;
    }
    out.extend_from_slice(&bytes[plain_from..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encoded(cells: &[Cell<'_>]) -> String {
        let mut out = Vec::new();
        for cell in cells {
            push_cell(&mut out, *cell);
            out.push(b'|');
        }
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn null_empty_and_a_literal_backslash_n_stay_distinct() {
        assert_eq!(
            encoded(&[Cell::Null, Cell::Text(""), Cell::Text("\\N")]),
            "\\N||\\\\N|"
        );
    }

    #[test]
    fn separators_and_backslashes_are_escaped() {
        assert_eq!(
            encoded(&[Cell::Text("a\tb\nc\rd\\e")]),
            "a\\tb\\nc\\rd\\\\e|"
        );
        assert_eq!(encoded(&[Cell::Text("\n\n")]), "\\n\\n|");
    }

    #[test]
    fn other_text_and_numbers_pass_through() {
        assert_eq!(
            encoded(&[
                Cell::Text("héllo 👋 \"quoted\", ok"),
                Cell::Int(-42),
                Cell::Int(1)
            ]),
            "héllo 👋 \"quoted\", ok|-42|1|"
        );
    }
}
