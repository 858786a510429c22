//! The storage limit under the `write` scenario: a bare insert loop on Hearth's own
//! schema (each backend's migration, read from its file) committing what a message post
//! commits, and nothing else: the workspace's seq bump, the `messages` row, the channel's
//! `last_message_seq` and the `events` row, one transaction per message.
//!
//! It skips what the server also does per post (the session and membership reads, the
//! idempotency and channel checks, JSON, HTTP), so `ours / baseline` is the whole cost of
//! the server over the bare commit. Each backend's loop lives in its own module:
//! [`sqlite`] (one writer, as SQLite allows) and [`postgres`] (as many writer connections
//! as the run has REST writers, all in one workspace, as the run's are).

pub mod postgres;
pub mod sqlite;

use serde::Serialize;
use serde_json::json;

use crate::stats::LatencySummary;

/// Where a run's data lives, and so where its storage baseline runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Storage {
    /// The server's default: SQLite in its data directory (or somewhere we cannot reach).
    Sqlite,
    /// A PostgreSQL server; the baseline creates a scratch database of its own on it.
    Postgres { server: String },
}

impl Storage {
    /// What the servers of this run store in: `--postgres` if given, else a
    /// `--database postgres://...` among the server's arguments, else SQLite.
    pub fn of_run(postgres: Option<&str>, server_args: &[String]) -> Self {
        if let Some(server) = postgres {
            return Storage::Postgres {
                server: server.to_owned(),
            };
        }
        match database_arg(server_args) {
            Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                Storage::Postgres { server: url }
            }
            _ => Storage::Sqlite,
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            Storage::Sqlite => "SQLite",
            Storage::Postgres { .. } => "PostgreSQL",
        }
    }
}

/// The value of `--database` in `hearth serve` arguments (`--database=URL` or
/// `--database URL`).
fn database_arg(args: &[String]) -> Option<String> {
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        if let Some(url) = arg.strip_prefix("--database=") {
            return Some(url.to_owned());
        }
        if arg == "--database" {
            return args.next().cloned();
        }
    }
    None
}

/// A storage loop's figures.
#[derive(Debug, Clone, Serialize)]
pub struct WriteBaseline {
    /// What ran, in words: backend, durability settings, writers.
    pub storage: String,
    pub writers: usize,
    pub committed: u64,
    pub inserts_per_s: f64,
    /// One transaction, from `BEGIN` to the end of `COMMIT`.
    pub commit: LatencySummary,
}

/// How long the loop runs and what it writes.
#[derive(Debug, Clone, Copy)]
pub struct LimitArgs {
    pub channels: usize,
    /// Concurrent writer connections (SQLite always uses one).
    pub writers: usize,
    pub duration_s: u64,
    pub text_bytes: usize,
}

/// A fixed-width id like Hearth's: a prefix and 26 characters, time-ordered.
fn baseline_id(prefix: char, n: u64) -> String {
    format!("{prefix}{:013}{n:013}", now_millis())
}

fn now_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// The fixed rows every loop writes under.
const WORKSPACE: &str = "T0000000000000000000000000";
const USER: &str = "U0000000000000000000000000";

/// One message's rows, as the loops bind them.
struct Post<'a> {
    id: String,
    channel: &'a str,
    seq: i64,
    text: &'a str,
    created_at: i64,
    client_msg_id: String,
}

impl Post<'_> {
    /// A payload of the shape and size the server logs for `message.created`.
    fn event_payload(&self) -> String {
        json!({
            "type": "message.created",
            "message": {
                "id": self.id, "workspace_id": WORKSPACE, "channel_id": self.channel,
                "seq": self.seq, "user_id": USER, "text": self.text,
                "created_at": self.created_at, "edited_at": null, "deleted": false,
                "thread_root_id": null, "reply_count": 0, "last_reply_at": null,
                "reactions": [], "file_ids": [], "client_msg_id": self.client_msg_id,
            }
        })
        .to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn the_storage_follows_the_flag_or_the_servers_database() {
        assert_eq!(Storage::of_run(None, &[]), Storage::Sqlite);
        let pg = "postgres://postgres@127.0.0.1/x";
        assert_eq!(
            Storage::of_run(None, &args(&["--log-format=json", "--database", pg])),
            Storage::Postgres { server: pg.into() }
        );
        assert_eq!(
            Storage::of_run(None, &args(&[&format!("--database={pg}")])),
            Storage::Postgres { server: pg.into() }
        );
        assert_eq!(
            Storage::of_run(None, &args(&["--database=sqlite:///tmp/x.db"])),
            Storage::Sqlite
        );
        assert_eq!(
            Storage::of_run(Some("postgres://a/b"), &[]),
            Storage::Postgres {
                server: "postgres://a/b".into()
            }
        );
    }

    #[test]
    fn ids_have_hearths_width() {
        assert_eq!(baseline_id('M', 7).len(), 27);
    }
}
