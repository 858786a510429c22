//! `search`: full-text search over a generated workspace, against the raw index lookup.
//!
//! The server starts on a directory made by `hearth-bench generate` (with `--postgres`,
//! on a scratch database the directory's SQLite file was first copied into by
//! `hearth migrate-data`). Generated messages are written without their index rows, so
//! the server indexes them in the background; the run waits (at most `--index-timeout`)
//! until the backlog is empty, read from the database itself (SQLite's `search_backlog`
//! row, PostgreSQL's unindexed rows), and reports how long that took.
//!
//! Then a query mix is built, as the workspace's owner (a member of every public channel's
//! workspace, so every generated channel is readable):
//! - `word`: one vocabulary word, drawn as the generator draws them (Zipf), so common
//!   words are common; only words the English stemmer leaves as they are (lowercased),
//!   so the baseline can look the very same term up;
//! - `two_words`: two such words;
//! - `phrase`: two adjacent words of a real message read back through the history API,
//!   quoted, so at least one result must come back;
//! - `from`: a word of a real message and `from:@handle` of its author;
//! - `in`: a word of a real message and `in:#channel` of its channel;
//! - `recent`: a word with `sort=recent`.
//!
//! `--readers` clients ask closed loop, for `--duration` seconds (and at most `--requests`
//! in all), the kinds in turn and a random query of each. Every answer is checked: at most
//! the limit asked; a `phrase` has a result whose snippet holds `<mark>`; every `from`
//! result is by that author and every `in` result in that channel, and both find at least
//! the message they were built from; `recent` results come newest first. A wrong answer
//! or a failed request makes the run unclean.
//!
//! The baseline, after the server stopped, is the raw index lookup on the same database
//! with the same words and as many closed-loop readers, without HTTP, visibility, joins or
//! ranking: FTS5's `MATCH 'terms : "word"'` newest 20 on SQLite, `search_vector @@
//! 'word':A` newest 20 on PostgreSQL.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Args;
use hearth_proto as wire;
use rust_stemmers::{Algorithm, Stemmer};
use serde::Serialize;
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, Connection};
use tokio::time::Instant;

use crate::api::{Account, Api};
use crate::generate::Manifest;
use crate::generate::text::{self, Rng};
use crate::server::{LogSummary, ProcessMemory, Target, server_lines};
use crate::stats::{Latency, LatencySummary, Ratios};

mod baseline;
mod mix;

use baseline::baseline;
pub use mix::*;

/// Results asked per page (the API's default).
pub const LIMIT: u32 = 20;
/// Problems kept verbatim for the report.
const KEPT_ERRORS: usize = 10;
/// Words drawn for the `word`, `two_words` and `recent` queries and the baseline.
const WORD_POOL: usize = 1_000;
/// Queries built from real messages per kind, at most.
const PER_KIND: usize = 200;
/// Channels whose latest page is read to build queries from.
const SAMPLED_CHANNELS: usize = 60;
/// How often the index backlog is looked at while the server builds it.
const POLL: Duration = Duration::from_millis(250);
/// How long to wait for the server's own `search index complete` line once done.
const LOG_GRACE: Duration = Duration::from_secs(3);

#[derive(Debug, Clone, Args)]
pub struct SearchArgs {
    /// A data directory made by `hearth-bench generate`.
    #[arg(long, value_name = "DIR")]
    pub data: PathBuf,
    /// Concurrent readers, each asking closed loop (the baseline runs as many).
    #[arg(long, default_value_t = 4)]
    pub readers: usize,
    /// Seconds of searching (and as many of baseline lookups).
    #[arg(long, default_value_t = 10)]
    pub duration: u64,
    /// At most this many searches in all (and as many baseline lookups).
    #[arg(long, default_value_t = 1_000_000)]
    pub requests: u64,
    /// Seconds the server may take to index the backlog before the run gives up.
    #[arg(long, default_value_t = 1_800)]
    pub index_timeout: u64,
    /// Seed of the query mix.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

/// The database the server runs on, looked at directly for the backlog and the baseline.
#[derive(Debug, Clone)]
pub enum Backend {
    /// The directory's `hearth.db`.
    Sqlite(PathBuf),
    /// The scratch database the directory was copied into.
    Postgres(String),
}

impl Backend {
    pub fn name(&self) -> &'static str {
        match self {
            Backend::Sqlite(_) => "sqlite",
            Backend::Postgres(_) => "postgres",
        }
    }

    /// Messages not indexed yet.
    pub async fn unindexed(&self) -> anyhow::Result<u64> {
        let n: i64 = match self {
            Backend::Sqlite(path) => {
                let mut conn = sqlite_reader(path).await?;
                let n = sqlx::query_scalar(
                    "SELECT count(*) FROM messages, search_backlog b \
                     WHERE messages.rowid > b.done_rowid AND messages.rowid <= b.through_rowid",
                )
                .fetch_one(&mut conn)
                .await
                .context("reading the search backlog (is this a Hearth database with search?)")?;
                conn.close().await?;
                n
            }
            Backend::Postgres(url) => {
                let mut conn = sqlx::PgConnection::connect(url).await?;
                let query = if pg_has_pairs(&mut conn).await? {
                    "SELECT count(*) FROM messages WHERE search_pairs IS NULL"
                } else {
                    "SELECT count(*) FROM messages WHERE search_vector IS NULL"
                };
                let n = sqlx::query_scalar(query)
                    .fetch_one(&mut conn)
                    .await
                    .context("counting unindexed messages")?;
                conn.close().await?;
                n
            }
        };
        Ok(n.max(0) as u64)
    }

    /// Index rows and messages that should have one (not deleted), on SQLite (where the
    /// index is a table of its own; on PostgreSQL a message's vector is in its row).
    async fn index_coverage(&self) -> anyhow::Result<Option<(u64, u64)>> {
        let Backend::Sqlite(path) = self else {
            return Ok(None);
        };
        let mut conn = sqlite_reader(path).await?;
        let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM message_search")
            .fetch_one(&mut conn)
            .await?;
        let messages: i64 = sqlx::query_scalar("SELECT count(*) FROM messages WHERE deleted = 0")
            .fetch_one(&mut conn)
            .await?;
        conn.close().await?;
        Ok(Some((rows.max(0) as u64, messages.max(0) as u64)))
    }

    /// Whether the backlog is empty.
    async fn indexed(&self) -> anyhow::Result<bool> {
        Ok(match self {
            Backend::Sqlite(path) => {
                let mut conn = sqlite_reader(path).await?;
                let done: bool =
                    sqlx::query_scalar("SELECT done_rowid >= through_rowid FROM search_backlog")
                        .fetch_one(&mut conn)
                        .await?;
                conn.close().await?;
                done
            }
            Backend::Postgres(url) => {
                let mut conn = sqlx::PgConnection::connect(url).await?;
                let query = if pg_has_pairs(&mut conn).await? {
                    "SELECT EXISTS (SELECT 1 FROM messages WHERE search_pairs IS NULL)"
                } else {
                    "SELECT EXISTS (SELECT 1 FROM messages WHERE search_vector IS NULL)"
                };
                let left: bool = sqlx::query_scalar(query).fetch_one(&mut conn).await?;
                conn.close().await?;
                !left
            }
        })
    }
}

/// Whether the PostgreSQL database has `search_pairs` (migration 0009), which then marks a
/// message the server has yet to index; before it (a server built earlier, measured
/// against a newer one) the vector does.
async fn pg_has_pairs(conn: &mut sqlx::PgConnection) -> anyhow::Result<bool> {
    let pairs: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM information_schema.columns \
         WHERE table_name = 'messages' AND column_name = 'search_pairs')",
    )
    .fetch_one(&mut *conn)
    .await?;
    Ok(pairs)
}

/// A read-only connection to a SQLite database the server may be writing (WAL), set up as
/// the server's read connections are (the file mapped into memory, up to SQLite's cap).
pub(crate) async fn sqlite_reader(path: &Path) -> anyhow::Result<sqlx::SqliteConnection> {
    SqliteConnectOptions::from_str("sqlite://")?
        .filename(path)
        .read_only(true)
        .pragma("mmap_size", "2147418112")
        .connect()
        .await
        .with_context(|| format!("opening {}", path.display()))
}

/// Copies the directory's SQLite database into the (empty) PostgreSQL database at `url`
/// with `hearth migrate-data`; returns the seconds it took.
pub async fn migrate(bin: &Path, dir: &Path, url: &str) -> anyhow::Result<f64> {
    let db = dir.join("hearth.db");
    let db = db
        .canonicalize()
        .with_context(|| format!("no database at {}", db.display()))?;
    eprintln!(
        "copying {} into PostgreSQL (hearth migrate-data)",
        db.display()
    );
    let started = Instant::now();
    let output = tokio::process::Command::new(bin)
        .arg("migrate-data")
        .arg("--from")
        .arg(format!("sqlite://{}", db.display()))
        .arg("--to")
        .arg(url)
        .env_remove("HEARTH_MIGRATE_FROM")
        .env_remove("HEARTH_MIGRATE_TO")
        .output()
        .await
        .with_context(|| format!("running {} migrate-data", bin.display()))?;
    if !output.status.success() {
        bail!(
            "hearth migrate-data failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    let secs = started.elapsed().as_secs_f64();
    eprintln!("copied in {secs:.1} s");
    Ok(secs)
}

/// How long the server took to index the generated messages.
#[derive(Debug, Clone, Serialize)]
pub struct IndexFigures {
    /// Messages that were not indexed when the server started.
    pub backlog: u64,
    /// From starting the server to an empty backlog, as seen in the database.
    pub seconds: f64,
    pub per_s: f64,
    /// What the server logged at the end (`search index complete`), if it did.
    pub server_indexed: Option<u64>,
    pub server_seconds: Option<f64>,
    /// SQLite: rows in the index and messages that should have one, once it is complete.
    pub index_rows: Option<u64>,
    pub indexable_messages: Option<u64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct KindReport {
    pub kind: Kind,
    /// Distinct queries of this kind in the mix.
    pub queries: usize,
    pub requests: u64,
    pub errors: u64,
    pub wrong: u64,
    /// Answers without a result.
    pub empty: u64,
    pub mean_results: f64,
    pub latency: LatencySummary,
}

/// The raw index lookup.
#[derive(Debug, Clone, Serialize)]
pub struct BaselineReport {
    pub storage: String,
    pub readers: usize,
    pub lookups: u64,
    pub lookups_per_s: f64,
    /// Lookups that found nothing (a word the index does not hold as it is).
    pub empty: u64,
    pub latency: LatencySummary,
}

#[derive(Debug, Clone, Serialize)]
pub struct SearchReport {
    pub backend: String,
    pub messages: u64,
    /// `hearth migrate-data` into PostgreSQL, when the run is on PostgreSQL.
    pub migrate_seconds: Option<f64>,
    /// `None` when the directory was indexed already.
    pub index: Option<IndexFigures>,
    pub sampled_messages: usize,
    pub readers: usize,
    pub requests: u64,
    pub requests_per_s: f64,
    pub errors: u64,
    pub wrong: u64,
    pub all: LatencySummary,
    pub kinds: Vec<KindReport>,
    pub baseline: Option<BaselineReport>,
    /// `word` searches against the baseline's lookups of the same words.
    pub ratio: Option<Ratios>,
    /// `recent` searches (the baseline's order) against the baseline.
    pub recent_ratio: Option<Ratios>,
    pub first_errors: Vec<String>,
    pub server_memory: Option<ProcessMemory>,
    pub server_log: Option<LogSummary>,
    /// The word pool, for the baseline (not reported).
    #[serde(skip)]
    pub words: Vec<String>,
}

impl SearchReport {
    pub fn kind(&self, kind: Kind) -> Option<&KindReport> {
        self.kinds.iter().find(|k| k.kind == kind)
    }

    pub fn lines(&self) -> Vec<String> {
        let mut lines = vec![format!(
            "search on hearth ({}): {} generated messages",
            self.backend, self.messages
        )];
        if let Some(s) = self.migrate_seconds {
            lines.push(format!(
                "copied into PostgreSQL by hearth migrate-data in {s:.1} s"
            ));
        }
        match &self.index {
            Some(i) => lines.push(format!(
                "index: backlog of {} messages built in {:.1} s ({:.0} msg/s){}",
                i.backlog,
                i.seconds,
                i.per_s,
                match (i.server_indexed, i.server_seconds) {
                    (Some(n), Some(s)) => format!("; the server logged {n} in {s:.1} s"),
                    _ => String::new(),
                } + &match (i.index_rows, i.indexable_messages) {
                    (Some(r), Some(m)) => format!("; {r} index rows for {m} messages"),
                    _ => String::new(),
                }
            )),
            None => lines.push("index: already complete when the server started".to_owned()),
        }
        lines.push(format!(
            "searches: {} ({:.0}/s) by {} closed-loop readers, limit {LIMIT}, queries built \
             from the vocabulary and {} messages read back | errors {} | wrong {} | {}",
            self.requests,
            self.requests_per_s,
            self.readers,
            self.sampled_messages,
            self.errors,
            self.wrong,
            if self.failures().is_empty() {
                "OK"
            } else {
                "NOT CLEAN"
            }
        ));
        lines.push(format!("  all        {}", self.all));
        for k in &self.kinds {
            lines.push(format!(
                "  {:<10} {} | {} queries, {:.1} results/answer, {} empty, {} errors, {} wrong",
                k.kind.name(),
                k.latency,
                k.queries,
                k.mean_results,
                k.empty,
                k.errors,
                k.wrong
            ));
        }
        lines.extend(self.first_errors.iter().map(|e| format!("  error: {e}")));
        if let Some(b) = &self.baseline {
            lines.push(format!(
                "baseline ({}, the same words, {} readers): {} lookups ({:.0}/s), {} empty",
                b.storage, b.readers, b.lookups, b.lookups_per_s, b.empty
            ));
            lines.push(format!("  lookup     {}", b.latency));
        }
        if let Some(r) = &self.ratio {
            lines.push(format!("ours (word) / baseline: {r}"));
        }
        if let Some(r) = &self.recent_ratio {
            lines.push(format!("ours (recent) / baseline: {r}"));
        }
        lines.extend(server_lines(
            self.server_memory.as_ref(),
            self.server_log.as_ref(),
        ));
        lines
    }

    pub fn failures(&self) -> Vec<String> {
        let mut failures = Vec::new();
        if self.requests == 0 {
            failures.push("no search completed".to_owned());
        }
        if self.errors > 0 {
            failures.push(format!("{} searches failed", self.errors));
        }
        if self.wrong > 0 {
            failures.push(format!("{} answers were wrong", self.wrong));
        }
        for k in &self.kinds {
            if k.queries == 0 {
                failures.push(format!("no {} query could be built", k.kind.name()));
            }
        }
        if let Some(i) = &self.index
            && let (Some(rows), Some(messages)) = (i.index_rows, i.indexable_messages)
            && rows != messages
        {
            failures.push(format!(
                "the index holds {rows} rows for {messages} messages once complete"
            ));
        }
        if let Some(b) = &self.baseline
            && b.lookups == 0
        {
            failures.push("no baseline lookup completed".to_owned());
        }
        failures
    }
}

#[derive(Default)]
struct Tally {
    latency: Vec<Latency>,
    requests: Vec<u64>,
    errors: Vec<u64>,
    wrong: Vec<u64>,
    empty: Vec<u64>,
    results: Vec<u64>,
    notes: Vec<String>,
}

impl Tally {
    fn new() -> Self {
        let n = KINDS.len();
        Self {
            latency: (0..n).map(|_| Latency::default()).collect(),
            requests: vec![0; n],
            errors: vec![0; n],
            wrong: vec![0; n],
            empty: vec![0; n],
            results: vec![0; n],
            notes: Vec::new(),
        }
    }

    fn note(&mut self, note: String) {
        if self.notes.len() < KEPT_ERRORS {
            self.notes.push(note);
        }
    }

    fn merge(&mut self, other: Tally) {
        for i in 0..KINDS.len() {
            self.latency[i].merge(&other.latency[i]);
            self.requests[i] += other.requests[i];
            self.errors[i] += other.errors[i];
            self.wrong[i] += other.wrong[i];
            self.empty[i] += other.empty[i];
            self.results[i] += other.results[i];
        }
        for n in other.notes {
            self.note(n);
        }
    }
}

/// Waits until the server indexed the backlog; `started` is when it was started.
pub(crate) async fn wait_for_index(
    target: &Target,
    backend: &Backend,
    backlog: u64,
    started: Instant,
    timeout: Duration,
) -> anyhow::Result<Option<IndexFigures>> {
    if backlog == 0 {
        return Ok(None);
    }
    eprintln!("waiting for the server to index {backlog} messages for search");
    let mut last_report = Instant::now();
    loop {
        if backend.indexed().await? {
            break;
        }
        if started.elapsed() > timeout {
            let left = backend.unindexed().await.unwrap_or(0);
            bail!(
                "the search index was not complete after {} s ({left} of {backlog} messages left)",
                timeout.as_secs()
            );
        }
        if last_report.elapsed() > Duration::from_secs(10) {
            last_report = Instant::now();
            eprintln!("  indexing: {:.0} s", started.elapsed().as_secs_f64());
        }
        tokio::time::sleep(POLL).await;
    }
    let seconds = started.elapsed().as_secs_f64();
    eprintln!("indexed in {seconds:.1} s");
    // The server logs its own figure just after its last step.
    let grace = Instant::now() + LOG_GRACE;
    let mut line = None;
    while line.is_none() && Instant::now() < grace && target.process.is_some() {
        line = target.noted_lines().first().map(|l| without_ansi(l));
        if line.is_none() {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    let field = |key: &str| line.as_deref().and_then(|l| log_field(l, key));
    let coverage = backend.index_coverage().await?;
    Ok(Some(IndexFigures {
        index_rows: coverage.map(|c| c.0),
        indexable_messages: coverage.map(|c| c.1),
        backlog,
        seconds,
        per_s: backlog as f64 / seconds,
        server_indexed: field("indexed").and_then(|v| v.parse().ok()),
        server_seconds: field("secs").and_then(|v| v.parse().ok()),
    }))
}

/// `line` without ANSI escape sequences (the server colours its text log).
pub fn without_ansi(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // ESC [ parameters final-letter
            for d in chars.by_ref() {
                if d.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// The value of `key` in a log line, text (`key=value`) or JSON (`"key":value`).
pub fn log_field(line: &str, key: &str) -> Option<String> {
    let plain = format!("{key}=");
    let json = format!("\"{key}\":");
    let start = line.find(&json).map(|i| i + json.len()).or_else(|| {
        line.match_indices(&plain)
            .find(|(i, _)| *i == 0 || !line.as_bytes()[i - 1].is_ascii_alphanumeric())
            .map(|(i, _)| i + plain.len())
    })?;
    let value: String = line[start..]
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.' || *c == 'e' || *c == '-')
        .collect();
    (!value.is_empty()).then_some(value)
}

/// Waits for the index, builds the mix and runs the readers. `backlog` messages were not
/// indexed when the server was started, at `started`.
pub async fn run(
    target: &mut Target,
    args: &SearchArgs,
    backend: &Backend,
    backlog: u64,
    started: Instant,
) -> anyhow::Result<SearchReport> {
    if args.readers == 0 || args.duration == 0 {
        bail!("search needs readers and a duration");
    }
    let manifest = Manifest::read(&args.data)?;
    let timeout = Duration::from_secs(args.index_timeout);
    let index = wait_for_index(target, backend, backlog, started, timeout).await?;
    let owner = manifest.owner();
    let api = Api::with_pool(&target.base_url, args.readers)?;
    let mix = build_mix(&api, &owner, &manifest, args.seed).await?;
    eprintln!(
        "query mix: {}",
        KINDS
            .iter()
            .zip(&mix.queries)
            .map(|(k, q)| format!("{} {}", q.len(), k.name()))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let queries = Arc::new(mix.queries.clone());
    let issued = Arc::new(AtomicU64::new(0));
    let begin = Instant::now();
    let end = begin + Duration::from_secs(args.duration);
    let mut tasks = Vec::new();
    for reader in 0..args.readers {
        let (api, owner, queries, issued) =
            (api.clone(), owner.clone(), queries.clone(), issued.clone());
        let cap = args.requests;
        tasks.push(tokio::spawn(async move {
            let mut rng = Rng::new(0x5EA2_C400 ^ (reader as u64 + 1));
            let mut tally = Tally::new();
            let mut turn = reader;
            while Instant::now() < end && issued.fetch_add(1, Ordering::Relaxed) < cap {
                // The kinds in turn, skipping any that could not be built.
                let mut k = turn % KINDS.len();
                turn += 1;
                for _ in 0..KINDS.len() {
                    if !queries[k].is_empty() {
                        break;
                    }
                    k = (k + 1) % KINDS.len();
                }
                if queries[k].is_empty() {
                    break;
                }
                let query = &queries[k][rng.below(queries[k].len())];
                let sent = Instant::now();
                match api.search(&owner, &query.q, query.sort, LIMIT).await {
                    Ok(page) => {
                        tally.latency[k].record(sent.elapsed());
                        tally.requests[k] += 1;
                        tally.results[k] += page.results.len() as u64;
                        if page.results.is_empty() {
                            tally.empty[k] += 1;
                        }
                        if let Err(why) = check(query, &page) {
                            tally.wrong[k] += 1;
                            tally.note(format!("{} {:?}: {why}", query.kind.name(), query.q));
                        }
                    }
                    Err(e) => {
                        tally.errors[k] += 1;
                        tally.note(format!("{} {:?}: {e:#}", query.kind.name(), query.q));
                    }
                }
            }
            tally
        }));
    }
    let mut tally = Tally::new();
    for task in tasks {
        tally.merge(task.await.context("a reader panicked")?);
    }
    let elapsed = begin.elapsed().as_secs_f64();
    let mut all = Latency::default();
    for l in &tally.latency {
        all.merge(l);
    }
    let kinds: Vec<KindReport> = KINDS
        .iter()
        .enumerate()
        .map(|(i, &kind)| KindReport {
            kind,
            queries: mix.queries[i].len(),
            requests: tally.requests[i],
            errors: tally.errors[i],
            wrong: tally.wrong[i],
            empty: tally.empty[i],
            mean_results: tally.results[i] as f64 / tally.requests[i].max(1) as f64,
            latency: tally.latency[i].summary(),
        })
        .collect();
    let requests = tally.requests.iter().sum();
    Ok(SearchReport {
        backend: backend.name().to_owned(),
        messages: manifest.messages,
        migrate_seconds: None,
        index,
        sampled_messages: mix.sampled_messages,
        readers: args.readers,
        requests,
        requests_per_s: requests as f64 / elapsed,
        errors: tally.errors.iter().sum(),
        wrong: tally.wrong.iter().sum(),
        all: all.summary(),
        kinds,
        baseline: None,
        ratio: None,
        recent_ratio: None,
        first_errors: tally.notes,
        server_memory: target.memory(),
        server_log: target.log_summary(),
        words: mix.words,
    })
}

/// Runs the raw index lookup with the report's words (the server stopped) and adds it
/// and the ratios to the report.
pub async fn with_baseline(
    mut report: SearchReport,
    args: &SearchArgs,
    backend: &Backend,
) -> anyhow::Result<SearchReport> {
    eprintln!("baseline: the raw index lookup on {}", backend.name());
    let baseline = baseline(backend, &report.words, args).await?;
    let word = report.kind(Kind::Word).map(|k| k.latency);
    let recent = report.kind(Kind::Recent).map(|k| k.latency);
    report.ratio = word.map(|w| Ratios::of(&w, &baseline.latency));
    report.recent_ratio = recent.map(|r| Ratios::of(&r, &baseline.latency));
    report.baseline = Some(baseline);
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::mix::{adjacent_pair, message_words};
    use super::*;

    fn result(
        channel: &str,
        author: &str,
        handle: &str,
        seq: i64,
        snippet: &str,
    ) -> wire::SearchResult {
        wire::SearchResult {
            message: wire::Message {
                id: format!("M{seq}"),
                channel_id: channel.into(),
                seq,
                user_id: author.into(),
                text: "x".into(),
                created_at: String::new(),
                edited_at: None,
                deleted: false,
                thread_root_id: None,
                reply_count: 0,
                last_reply_at: None,
                reactions: Vec::new(),
                files: Vec::new(),
                client_msg_id: None,
            },
            channel: wire::SearchChannel {
                id: channel.into(),
                kind: "public".into(),
                name: Some("general".into()),
            },
            author: wire::SearchAuthor {
                id: author.into(),
                handle: handle.into(),
                display_name: "A".into(),
            },
            snippet: snippet.into(),
        }
    }

    fn page(results: Vec<wire::SearchResult>) -> wire::SearchResults {
        wire::SearchResults {
            results,
            next_cursor: None,
        }
    }

    fn query(expect: Expect) -> Query {
        Query {
            kind: Kind::Word,
            q: "x".into(),
            sort: "relevance",
            expect,
        }
    }

    #[test]
    fn answers_are_checked_for_what_their_query_asks() {
        let a = result("C1", "U1", "ada", 5, "the <mark>deploy</mark>");
        let b = result("C2", "U2", "bob", 3, "deploy");
        let marked = query(Expect::Marked);
        assert!(check(&marked, &page(vec![b.clone(), a.clone()])).is_ok());
        assert!(check(&marked, &page(vec![b.clone()])).is_err());
        assert!(check(&marked, &page(vec![])).is_err());

        let from = query(Expect::Author {
            id: "U1".into(),
            handle: "ada".into(),
        });
        assert!(check(&from, &page(vec![a.clone()])).is_ok());
        assert!(check(&from, &page(vec![a.clone(), b.clone()])).is_err());
        assert!(check(&from, &page(vec![])).is_err());

        let within = query(Expect::Channel { id: "C2".into() });
        assert!(check(&within, &page(vec![b.clone()])).is_ok());
        assert!(check(&within, &page(vec![b.clone(), a.clone()])).is_err());

        let newest = query(Expect::Newest);
        assert!(check(&newest, &page(vec![a.clone(), b.clone()])).is_ok());
        assert!(check(&newest, &page(vec![b.clone(), a.clone()])).is_err());

        let too_many = page(
            (0..=LIMIT as i64)
                .map(|s| result("C1", "U1", "ada", 100 - s, ""))
                .collect(),
        );
        assert!(check(&query(Expect::Nothing), &too_many).is_err());
    }

    #[test]
    fn the_pool_keeps_words_the_stemmer_leaves_alone_and_common_ones_come_often() {
        let stemmer = Stemmer::create(Algorithm::English);
        assert!(plain("deploy", &stemmer));
        assert!(plain("PR", &stemmer));
        assert!(!plain("deployed", &stemmer));
        assert!(!plain("we're", &stemmer));
        let pool = word_pool(1, 2_000);
        assert_eq!(pool.len(), 2_000);
        assert!(pool.iter().all(|w| plain(w, &stemmer)));
        let the = pool.iter().filter(|w| *w == "the").count();
        let deploy = pool.iter().filter(|w| *w == "deploy").count();
        assert!(the > 3 * deploy.max(1), "the {the}, deploy {deploy}");
    }

    #[test]
    fn phrases_and_words_come_from_the_text_as_written() {
        let mut rng = Rng::new(1);
        assert_eq!(
            adjacent_pair("Deploy. today", &mut rng),
            None,
            "a sentence end is not adjacent"
        );
        assert_eq!(
            adjacent_pair("Merge it. :tada:", &mut rng),
            Some(("merge".into(), "it".into()))
        );
        assert_eq!(adjacent_pair("部署已经完成了", &mut rng), None);
        assert_eq!(
            message_words("Fixed the bug? https://example.com/x/1 :tada: we're"),
            vec![
                ("fixed".to_owned(), false),
                ("the".to_owned(), false),
                ("bug".to_owned(), true)
            ]
        );
    }

    #[test]
    fn log_fields_are_read_from_text_and_json_lines() {
        let text = "2026-11-22T22:00:00Z  INFO hearth_server::maintenance: search index complete \
                    indexed=1000001 secs=42.5";
        assert_eq!(log_field(text, "indexed").as_deref(), Some("1000001"));
        assert_eq!(log_field(text, "secs").as_deref(), Some("42.5"));
        let json = r#"{"level":"INFO","fields":{"message":"search index complete","indexed":7,"secs":0.25}}"#;
        assert_eq!(log_field(json, "indexed").as_deref(), Some("7"));
        assert_eq!(log_field(json, "secs").as_deref(), Some("0.25"));
        assert_eq!(log_field(text, "missing"), None);
        let coloured = "\u{1b}[2mhearth_server::maintenance\u{1b}[0m\u{1b}[2m:\u{1b}[0m search index \
                        complete \u{1b}[3mindexed\u{1b}[0m\u{1b}[2m=\u{1b}[0m20001 \u{1b}[3msecs\u{1b}[0m\
                        \u{1b}[2m=\u{1b}[0m0.888628593";
        let clean = without_ansi(coloured);
        assert_eq!(log_field(&clean, "indexed").as_deref(), Some("20001"));
        assert_eq!(log_field(&clean, "secs").as_deref(), Some("0.888628593"));
    }
}
