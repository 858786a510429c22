//! The command line and `HEARTH_*` environment variables.
//!
//! `hearth serve` with no options runs the embedded default: SQLite and files in
//! `./hearth-data`, listening on 127.0.0.1:8080.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(name = "hearth", version, about = "Hearth: self-hosted team chat")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server.
    Serve(ServeConfig),
}

#[derive(Debug, Clone, Parser)]
pub struct ServeConfig {
    /// Address to listen on.
    #[arg(long, env = "HEARTH_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,

    /// Directory for the embedded database and files.
    #[arg(long, env = "HEARTH_DATA_DIR", default_value = "./hearth-data")]
    pub data_dir: PathBuf,

    /// Database URL; defaults to SQLite at <data-dir>/hearth.db. `sqlite://PATH` picks
    /// another SQLite file.
    #[arg(long, env = "HEARTH_DATABASE_URL")]
    pub database: Option<String>,

    /// SQLite durability: `full` survives power loss; `normal` is faster and survives a
    /// process crash, but may lose the last transactions on power loss or an OS crash.
    #[arg(
        long,
        env = "HEARTH_SQLITE_SYNCHRONOUS",
        value_enum,
        default_value = "full"
    )]
    pub sqlite_synchronous: SqliteSync,

    /// Days the event log keeps events for resume; older resumes must resync.
    #[arg(long, env = "HEARTH_EVENT_RETENTION_DAYS", default_value_t = 7)]
    pub event_retention_days: u32,

    /// Days a session token stays valid.
    #[arg(long, env = "HEARTH_SESSION_TTL_DAYS", default_value_t = 30)]
    pub session_ttl_days: u32,

    /// Commands (frames) a WebSocket connection may send per minute, with bursts of as
    /// many; past it commands are refused, and persistent excess closes the connection.
    #[arg(long, env = "HEARTH_WS_COMMANDS_PER_MINUTE", default_value_t = 120)]
    pub ws_commands_per_minute: u32,

    /// The public origin (e.g. `https://chat.example.com`) that cookie-authenticated
    /// WebSocket upgrades must come from; default: the origin of the request's Host.
    #[arg(long, env = "HEARTH_PUBLIC_ORIGIN")]
    pub public_origin: Option<String>,

    /// Log format.
    #[arg(long, env = "HEARTH_LOG_FORMAT", value_enum, default_value = "text")]
    pub log_format: LogFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SqliteSync {
    Full,
    Normal,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

impl ServeConfig {
    pub fn event_retention(&self) -> Duration {
        Duration::from_secs(u64::from(self.event_retention_days) * 24 * 3600)
    }

    pub fn session_ttl(&self) -> Duration {
        Duration::from_secs(u64::from(self.session_ttl_days) * 24 * 3600)
    }

    /// Where the SQLite database lives, or an error for a URL this build cannot serve.
    pub fn sqlite_path(&self) -> anyhow::Result<PathBuf> {
        match &self.database {
            None => Ok(self.data_dir.join("hearth.db")),
            Some(url) => {
                if let Some(path) = url.strip_prefix("sqlite://") {
                    Ok(PathBuf::from(path))
                } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
                    anyhow::bail!(
                        "PostgreSQL is not supported yet: it arrives with the scale-out mode"
                    )
                } else {
                    anyhow::bail!("unsupported database URL {url:?}: use sqlite://PATH")
                }
            }
        }
    }
}
