//! The command line and `HEARTH_*` environment variables.
//!
//! `hearth serve` with no options runs the embedded default: SQLite and files in
//! `./hearth-data`, listening on 127.0.0.1:8080. `hearth migrate-data` is the one-off tool
//! that moves such an installation to PostgreSQL.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};

use crate::notify::email::SmtpSettings;
use crate::notify::{NotifySettings, TargetRules};

#[derive(Debug, Parser)]
#[command(name = "hearth", version, about = "Hearth: self-hosted team chat")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

// Parsed once at start-up: the size of the larger variant costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server.
    Serve(ServeConfig),
    /// Copy a whole installation from SQLite into an empty PostgreSQL database, to move to
    /// the scale-out mode. Stop the server first: the copy is a snapshot of the moment it
    /// starts.
    MigrateData(MigrateDataConfig),
}

#[derive(Debug, Clone, Parser)]
pub struct MigrateDataConfig {
    /// The SQLite database to copy, `sqlite://PATH` (opened read-only, never modified).
    #[arg(long, env = "HEARTH_MIGRATE_FROM", value_parser = parse_sqlite_url)]
    pub from: PathBuf,

    /// The PostgreSQL database to copy into, `postgres://...`; its schema is created if
    /// needed, and it must not hold any Hearth rows yet.
    #[arg(long, env = "HEARTH_MIGRATE_TO", value_parser = parse_postgres_url)]
    pub to: String,
}

/// `sqlite://PATH` to `PATH`: migrate-data copies only from the embedded database.
fn parse_sqlite_url(url: &str) -> Result<PathBuf, String> {
    match url.strip_prefix("sqlite://") {
        Some(path) if !path.is_empty() => Ok(PathBuf::from(path)),
        _ => Err("expected sqlite://PATH, the embedded database to copy from".to_owned()),
    }
}

/// A share of the time, from 1 % to all of it.
fn parse_share(raw: &str) -> Result<f64, String> {
    match raw.parse::<f64>() {
        Ok(share) if (0.01..=1.0).contains(&share) => Ok(share),
        _ => Err("a share from 0.01 to 1, such as 0.1".to_owned()),
    }
}

/// A number of sends, above zero.
fn parse_busy_sends(raw: &str) -> Result<f64, String> {
    match raw.parse::<f64>() {
        Ok(sends) if sends > 0.0 && sends.is_finite() => Ok(sends),
        _ => Err("a number of sends above 0, such as 2".to_owned()),
    }
}

/// A `postgres://` or `postgresql://` URL, kept whole for the driver to parse.
fn parse_postgres_url(url: &str) -> Result<String, String> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(url.to_owned())
    } else {
        Err("expected postgres://..., the PostgreSQL database to copy into".to_owned())
    }
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
    /// another SQLite file; `postgres://...` runs on PostgreSQL (the scale-out mode).
    #[arg(long, env = "HEARTH_DATABASE_URL")]
    pub database: Option<String>,

    /// Where uploaded files are stored: default `<data-dir>/files`;
    /// `s3://BUCKET?endpoint=URL&region=REGION` for S3 or an S3-compatible store (the
    /// scale-out mode), with credentials from the `AWS_*` environment variables.
    #[arg(long, env = "HEARTH_FILES_URL")]
    pub files: Option<String>,

    /// The largest file a person can upload, in MiB.
    #[arg(long, env = "HEARTH_MAX_UPLOAD_MB", default_value_t = 100)]
    pub max_upload_mb: u64,

    /// The most space one workspace's files may take up, in MiB; 0 for no limit.
    #[arg(long, env = "HEARTH_WORKSPACE_QUOTA_MB", default_value_t = 0)]
    pub workspace_quota_mb: u64,

    /// PostgreSQL connections this node may open (its pool's size).
    #[arg(long, env = "HEARTH_DB_MAX_CONNECTIONS", default_value_t = 16)]
    pub db_max_connections: u32,

    /// How long a request waits for a PostgreSQL connection before it fails with 503.
    #[arg(long, env = "HEARTH_DB_ACQUIRE_TIMEOUT_MS", default_value_t = 3000)]
    pub db_acquire_timeout_ms: u64,

    /// Event bus URL; default in-process (one node). `redis://HOST[:PORT]` lets several
    /// nodes on the same database deliver each other's events and presence.
    #[arg(long, env = "HEARTH_BUS_URL")]
    pub bus: Option<String>,

    /// With a Redis bus: how long, in milliseconds, a node's word on its users' presence
    /// holds unless repeated (each node repeats it every third of this). A node that dies
    /// has its users shown offline elsewhere within this long.
    #[arg(
        long,
        env = "HEARTH_PRESENCE_TTL_MS",
        default_value_t = 30_000,
        value_parser = clap::value_parser!(u64).range(1000..)
    )]
    pub presence_ttl_ms: u64,

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

    /// The public origin (e.g. `https://chat.example.com`) that the browser client's
    /// cookie-authenticated writes and WebSocket upgrades must come from; default: the
    /// origin of the request's Host. With `https://`, session cookies are `Secure`.
    #[arg(long, env = "HEARTH_PUBLIC_ORIGIN")]
    pub public_origin: Option<String>,

    /// Where "missed messages" emails go: `smtp://[USER[:PASSWORD]@]HOST[:PORT][?tls=none|starttls|tls]`.
    /// Without it no email is sent (pushes and webhooks still are).
    #[arg(long, env = "HEARTH_SMTP_URL")]
    pub smtp_url: Option<String>,

    /// The From of notification emails.
    #[arg(
        long,
        env = "HEARTH_SMTP_FROM",
        default_value = "Hearth <hearth@localhost>"
    )]
    pub smtp_from: String,

    /// Seconds a conversation's notifications wait, unread, before they are emailed (in
    /// one email per conversation).
    #[arg(long, env = "HEARTH_EMAIL_DELAY_SECS", default_value_t = 600)]
    pub email_delay_secs: u64,

    /// How push services reach the operator (the VAPID `sub`): `mailto:` or `https:`.
    #[arg(
        long,
        env = "HEARTH_PUSH_SUBJECT",
        default_value = "mailto:admin@localhost"
    )]
    pub push_subject: String,

    /// Let push targets be `http://` or private, loopback and link-local addresses (for
    /// push relays on the operator's own network). Off by default: users could otherwise
    /// make the server send requests into its network.
    #[arg(long, env = "HEARTH_PUSH_ALLOW_PRIVATE")]
    pub push_allow_private: bool,

    /// Whether this node runs the notification workers (every node does by default;
    /// leases keep them off each other's work).
    #[arg(long, env = "HEARTH_NOTIFY_WORKERS", default_value_t = true, action = clap::ArgAction::Set)]
    pub notify_workers: bool,

    /// Milliseconds before the first retry of a failed delivery (doubling each time,
    /// with jitter, up to an hour).
    #[arg(long, env = "HEARTH_NOTIFY_RETRY_BASE_MS", default_value_t = 10_000)]
    pub notify_retry_base_ms: u64,

    /// Attempts before a delivery becomes a dead letter.
    #[arg(long, env = "HEARTH_NOTIFY_MAX_ATTEMPTS", default_value_t = 8,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub notify_max_attempts: u32,

    /// Milliseconds a worker's claim on notification work holds: how soon another node
    /// takes over the work of a node that died.
    #[arg(long, env = "HEARTH_NOTIFY_LEASE_MS", default_value_t = 30_000,
          value_parser = clap::value_parser!(u64).range(1000..))]
    pub notify_lease_ms: u64,

    /// The share of the time the notification expander may take while this node is busy
    /// with senders, from 0.01 to 1 (1: never step aside). The pushes it feeds wait
    /// meanwhile, at most 30 s behind the messages.
    #[arg(long, env = "HEARTH_NOTIFY_BUSY_SHARE", default_value_t = 0.1, value_parser = parse_share)]
    pub notify_busy_share: f64,

    /// Sends in flight on average from which this node counts as busy with senders
    /// (default: one per core). Raise it where sends are slow without being queued, such
    /// as PostgreSQL far away.
    #[arg(long, env = "HEARTH_NOTIFY_BUSY_SENDS", value_parser = parse_busy_sends)]
    pub notify_busy_sends: Option<f64>,

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

    pub fn presence_ttl(&self) -> Duration {
        Duration::from_millis(self.presence_ttl_ms)
    }

    /// The notification settings from the options.
    pub fn notify(&self) -> anyhow::Result<NotifySettings> {
        let smtp = match &self.smtp_url {
            None => None,
            Some(url) => Some(
                SmtpSettings::parse(url, &self.smtp_from).map_err(|e| anyhow::anyhow!("{e}"))?,
            ),
        };
        if !(self.push_subject.starts_with("mailto:") || self.push_subject.starts_with("https:")) {
            anyhow::bail!("--push-subject must be a mailto: or https: URL");
        }
        Ok(NotifySettings {
            workers: self.notify_workers,
            retry_base: Duration::from_millis(self.notify_retry_base_ms),
            max_attempts: self.notify_max_attempts,
            lease: Duration::from_millis(self.notify_lease_ms),
            busy_share: self.notify_busy_share,
            busy_sends: self
                .notify_busy_sends
                .unwrap_or(NotifySettings::default().busy_sends),
            email_delay: Duration::from_secs(self.email_delay_secs),
            smtp,
            push_subject: self.push_subject.clone(),
            public_url: self.public_origin.clone(),
            targets: TargetRules {
                allow_private: self.push_allow_private,
            },
            ..NotifySettings::default()
        })
    }

    /// Which database this node runs on, from `--database`.
    pub fn database(&self) -> anyhow::Result<Database> {
        match &self.database {
            None => Ok(Database::Sqlite(self.data_dir.join("hearth.db"))),
            Some(url) => {
                if let Some(path) = url.strip_prefix("sqlite://") {
                    Ok(Database::Sqlite(PathBuf::from(path)))
                } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
                    Ok(Database::Postgres(url.clone()))
                } else {
                    anyhow::bail!(
                        "unsupported database URL {url:?}: use sqlite://PATH or postgres://..."
                    )
                }
            }
        }
    }

    /// The Redis URL of the bus, if any; an error for a scheme this build cannot use.
    pub fn bus_url(&self) -> anyhow::Result<Option<&str>> {
        match self.bus.as_deref() {
            None | Some("local") => Ok(None),
            Some(url) if url.starts_with("redis://") => Ok(Some(url)),
            Some(url) => anyhow::bail!("unsupported bus URL {url:?}: use redis://HOST[:PORT]"),
        }
    }
}

/// The database a node runs on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Database {
    Sqlite(PathBuf),
    Postgres(String),
}
