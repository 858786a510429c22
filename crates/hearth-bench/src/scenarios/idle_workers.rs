//! Idle connections held by child processes, for runs past one process's open-file limit.
//!
//! A worker is this same binary run as `hearth-bench idle-worker`: it reads tokens from a
//! file, connects its share of clients, prints one JSON line (`WorkerReady`), holds the
//! connections until its stdin closes, then prints a second line (`WorkerDone`) with what
//! happened to them meanwhile, and exits. The parent closes stdin to end it, and kills it
//! if it does not finish in time.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Args;
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};

use crate::client::{Counters, Dialer, Observer};
use crate::scenarios::{connect_all, run_tag};

/// How long a worker may take to connect its share.
const READY_TIMEOUT: Duration = Duration::from_secs(300);

#[derive(Debug, Clone, Args)]
pub struct IdleWorkerArgs {
    /// `ws://.../api/v1/realtime`.
    #[arg(long)]
    pub url: String,
    /// One token per line.
    #[arg(long)]
    pub tokens_file: PathBuf,
    /// Index of this worker's first connection (connection `i` uses token `i % tokens`).
    #[arg(long)]
    pub first: usize,
    #[arg(long)]
    pub count: usize,
}

#[derive(Debug, Serialize, Deserialize)]
struct WorkerReady {
    connected: usize,
    failures: usize,
    errors: Vec<String>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct WorkerDone {
    pub disconnects: u64,
    pub error_frames: u64,
    pub notes: Vec<String>,
}

/// The worker process's side.
pub async fn serve(args: &IdleWorkerArgs, sources: usize) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(&args.tokens_file)
        .with_context(|| format!("reading {}", args.tokens_file.display()))?;
    let tokens: Vec<&str> = text.lines().collect();
    if tokens.is_empty() {
        bail!("no tokens in {}", args.tokens_file.display());
    }
    let dialer = Dialer::new(&args.url, sources).await?;
    let (observer, _observations) = Observer::new(&run_tag());
    let first = args.first;
    let token_of = |i: usize| tokens[(first + i) % tokens.len()].to_owned();
    let connected = connect_all(
        std::slice::from_ref(&dialer),
        args.count,
        token_of,
        &observer,
    )
    .await;
    let ready = WorkerReady {
        connected: connected.clients.len(),
        failures: connected.failures,
        errors: connected.first_errors.clone(),
    };
    println!("{}", serde_json::to_string(&ready)?);
    // Hold the connections until the parent closes our stdin.
    let mut sink = Vec::new();
    let _ = tokio::io::stdin().read_to_end(&mut sink).await;
    let counters = &observer.counters;
    let done = WorkerDone {
        disconnects: Counters::get(&counters.disconnects),
        error_frames: Counters::get(&counters.error_frames),
        notes: counters.reasons(),
    };
    drop(connected);
    println!("{}", serde_json::to_string(&done)?);
    Ok(())
}

/// Running workers, from the parent's side.
pub struct Workers {
    children: Vec<Worker>,
    /// Connections the workers hold.
    pub connected: usize,
    pub failures: usize,
    pub errors: Vec<String>,
    /// Kept until the workers end.
    _tokens: tempfile::NamedTempFile,
}

struct Worker {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: Lines<BufReader<ChildStdout>>,
}

impl Workers {
    /// Starts workers for connections `first..first + count`, at most `per_process`
    /// each, and waits until all are connected.
    pub async fn start(
        url: &str,
        tokens: &[String],
        first: usize,
        count: usize,
        per_process: usize,
        sources: usize,
    ) -> anyhow::Result<Self> {
        let mut file = tempfile::NamedTempFile::new()?;
        for token in tokens {
            writeln!(file, "{token}")?;
        }
        file.flush()?;
        let me = std::env::current_exe().context("locating hearth-bench's own binary")?;
        let mut children = Vec::new();
        let mut start = first;
        while start < first + count {
            let share = per_process.min(first + count - start);
            let mut child = Command::new(&me)
                .arg("idle-worker")
                .args(["--url", url])
                .arg("--tokens-file")
                .arg(file.path())
                .args(["--first", &start.to_string()])
                .args(["--count", &share.to_string()])
                .args(["--sources", &sources.to_string()])
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .kill_on_drop(true)
                .spawn()
                .context("starting an idle worker")?;
            let stdin = child.stdin.take();
            let stdout = BufReader::new(child.stdout.take().context("no stdout")?).lines();
            children.push(Worker {
                child,
                stdin,
                stdout,
            });
            start += share;
        }
        let mut workers = Self {
            children,
            connected: 0,
            failures: 0,
            errors: Vec::new(),
            _tokens: file,
        };
        for worker in &mut workers.children {
            let ready: WorkerReady = read_line(&mut worker.stdout, READY_TIMEOUT).await?;
            workers.connected += ready.connected;
            workers.failures += ready.failures;
            workers.errors.extend(ready.errors);
        }
        Ok(workers)
    }

    pub fn len(&self) -> usize {
        self.children.len()
    }

    /// Ends every worker and gathers what happened to its connections.
    pub async fn stop(mut self) -> WorkerDone {
        let mut total = WorkerDone::default();
        for worker in &mut self.children {
            drop(worker.stdin.take());
        }
        for worker in &mut self.children {
            match read_line::<WorkerDone>(&mut worker.stdout, Duration::from_secs(30)).await {
                Ok(done) => {
                    total.disconnects += done.disconnects;
                    total.error_frames += done.error_frames;
                    total.notes.extend(done.notes);
                }
                Err(e) => total.notes.push(format!("idle worker: {e:#}")),
            }
            let _ = worker.child.kill().await;
        }
        total
    }
}

async fn read_line<T: for<'de> Deserialize<'de>>(
    lines: &mut Lines<BufReader<ChildStdout>>,
    timeout: Duration,
) -> anyhow::Result<T> {
    let line = tokio::time::timeout(timeout, lines.next_line())
        .await
        .context("an idle worker did not answer in time")??
        .context("an idle worker exited early")?;
    serde_json::from_str(&line).with_context(|| format!("unreadable worker line: {line}"))
}
