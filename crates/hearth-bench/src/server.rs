//! The server under test: a child process this tool starts (so it can read the server's
//! memory and CPU from `/proc`), or a URL of one already running.
//!
//! A started server listens on `127.0.0.1:0` with a fresh temporary data directory and
//! prints `... listening on http://ADDR` on stdout; we read that line to learn the port.
//! Both pipes are drained for the child's whole life, because a server blocked on a full
//! stderr pipe would look like a slow server. Warning and error lines are counted and the
//! first few kept for the report. The child is killed when the [`ServerProcess`] is
//! dropped, so no run leaves a server behind.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use anyhow::{Context, bail};
use serde::Serialize;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::{Child, Command};

/// Log lines kept verbatim for the report.
const KEPT_LOG_LINES: usize = 20;
/// Informational log lines a scenario waits for or reports (kept whatever their level).
const NOTED: &[&str] = &["search index complete"];
/// How long a server may take to print its address.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// The cores (a `taskset` list) the servers this tool starts run on, once `--pin` set it.
static SERVER_CPUS: OnceLock<String> = OnceLock::new();

/// `--pin`: servers started from now on run on the first core, and this process (with
/// every thread and child it has or will have) on the others.
pub fn pin_cores() -> anyhow::Result<()> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    if cores < 2 {
        bail!("--pin needs at least 2 cores, this machine has {cores}");
    }
    let bench = format!("1-{}", cores - 1);
    let status = std::process::Command::new("taskset")
        .args(["-a", "-p", "-c", &bench, &std::process::id().to_string()])
        .stdout(Stdio::null())
        .status()
        .context("running taskset (util-linux)")?;
    if !status.success() {
        bail!("taskset could not pin hearth-bench to cores {bench}");
    }
    let _ = SERVER_CPUS.set("0".to_owned());
    eprintln!("pinned: servers on core 0, hearth-bench on cores {bench}");
    Ok(())
}

/// What a scenario runs against.
pub struct Target {
    /// `http://host:port`, no trailing slash.
    pub base_url: String,
    /// Present when this tool started the server.
    pub process: Option<ServerProcess>,
    /// The bare broadcast baseline rather than Hearth: no REST API, no auth.
    pub baseline: bool,
}

impl Target {
    pub fn external(url: &str) -> Self {
        Self {
            base_url: url.trim_end_matches('/').to_owned(),
            process: None,
            baseline: false,
        }
    }

    /// A baseline server already listening at `url`.
    #[cfg(test)]
    pub fn baseline_at(url: &str) -> Self {
        Self {
            baseline: true,
            ..Self::external(url)
        }
    }

    /// `ws://host:port/api/v1/realtime`.
    pub fn realtime_url(&self) -> String {
        let rest = self
            .base_url
            .strip_prefix("http://")
            .map(|r| format!("ws://{r}"))
            .or_else(|| {
                self.base_url
                    .strip_prefix("https://")
                    .map(|r| format!("wss://{r}"))
            })
            .unwrap_or_else(|| self.base_url.clone());
        format!("{rest}/api/v1/realtime")
    }

    /// The server's resident memory in KiB, when we know its process.
    pub fn rss_kib(&self) -> Option<u64> {
        self.process.as_ref().and_then(|p| p.rss_kib().ok())
    }

    /// The data directory of a server we started on a fresh one.
    pub fn data_dir(&self) -> Option<PathBuf> {
        let dir = self.process.as_ref()?.data_dir.as_ref()?;
        Some(dir.path().to_owned())
    }

    /// Resets the server's peak RSS (`VmHWM`) to its current RSS, so the next reading of
    /// [`ProcessMemory::peak_rss_kib`] is the peak since now; false when that is not
    /// possible (a server we did not start, or a kernel without `clear_refs`).
    pub fn reset_peak_rss(&self) -> bool {
        self.process
            .as_ref()
            .is_some_and(|p| std::fs::write(p.proc_path("clear_refs"), "5").is_ok())
    }

    /// The server's memory figures at this moment, when we know its process.
    pub fn memory(&self) -> Option<ProcessMemory> {
        self.process.as_ref().and_then(|p| p.memory().ok())
    }

    /// Restarts the server we started on the same data directory (sessions stay valid),
    /// so memory figures start from a fresh process: set-up work such as Argon2 hashing
    /// leaves freed memory resident that later allocations would silently reuse.
    pub async fn restart(&mut self) -> anyhow::Result<()> {
        self.restart_at(false).await
    }

    /// Kills the server we started (as a crash would) and starts it again on the same
    /// data directory and the same address, so clients can reconnect to it.
    pub async fn crash_and_restart(&mut self) -> anyhow::Result<()> {
        self.restart_at(true).await
    }

    async fn restart_at(&mut self, same_address: bool) -> anyhow::Result<()> {
        let Some(mut old) = self.process.take() else {
            return Ok(());
        };
        let data_dir = old.data_dir.take();
        let (bin, mut args) = (old.bin.clone(), old.args.clone());
        if same_address {
            let address = self
                .base_url
                .split_once("://")
                .map_or(self.base_url.as_str(), |(_, a)| a);
            for arg in &mut args {
                if arg == "127.0.0.1:0" {
                    *arg = address.into();
                }
            }
        }
        old.stop().await;
        let fresh = ServerProcess::start(&bin, &args, data_dir).await?;
        self.base_url = fresh.base_url;
        self.process = fresh.process;
        Ok(())
    }

    /// Kills the server if we started it.
    pub async fn stop(self) {
        if let Some(process) = self.process {
            process.stop().await;
        }
    }

    /// Warnings and errors the server logged so far.
    pub fn log_summary(&self) -> Option<LogSummary> {
        self.process.as_ref().map(ServerProcess::log_summary)
    }

    /// The lines the server logged so far that hold one of the [`NOTED`] messages.
    pub fn noted_lines(&self) -> Vec<String> {
        self.process
            .as_ref()
            .map(|p| p.notes.lock().expect("notes lock poisoned").clone())
            .unwrap_or_default()
    }
}

/// Resident memory now and at its peak.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct ProcessMemory {
    pub rss_kib: u64,
    pub peak_rss_kib: u64,
}

/// A report's lines about the server it started: its memory, and what its log said.
pub fn server_lines(memory: Option<&ProcessMemory>, log: Option<&LogSummary>) -> Vec<String> {
    let mut lines = Vec::new();
    if let Some(m) = memory {
        lines.push(format!(
            "server memory: RSS {} KiB (peak {} KiB)",
            m.rss_kib, m.peak_rss_kib
        ));
    }
    if let Some(log) = log {
        lines.push(format!(
            "server log: {} warnings, {} errors",
            log.warnings, log.errors
        ));
        lines.extend(log.first_lines.iter().take(5).map(|l| format!("  {l}")));
    }
    lines
}

/// What the server said on stderr that a reader of the report should know about.
#[derive(Debug, Clone, Default, Serialize)]
pub struct LogSummary {
    pub warnings: u64,
    pub errors: u64,
    /// The first warning and error lines, verbatim.
    pub first_lines: Vec<String>,
}

/// A server this tool started; killed on drop.
pub struct ServerProcess {
    child: Child,
    pid: u32,
    log: Arc<Mutex<LogSummary>>,
    /// Lines holding one of the [`NOTED`] messages.
    notes: Arc<Mutex<Vec<String>>>,
    /// How it was started, to start it again.
    bin: PathBuf,
    args: Vec<OsString>,
    /// Kept for the process's lifetime; removed on drop.
    data_dir: Option<tempfile::TempDir>,
}

impl ServerProcess {
    /// Starts `hearth serve` on a free loopback port with a fresh data directory.
    pub async fn start_hearth(bin: &Path, extra_args: &[String]) -> anyhow::Result<Target> {
        let data_dir = tempfile::Builder::new()
            .prefix("hearth-bench-")
            .tempdir()
            .context("creating a temporary data directory")?;
        let args = serve_args(data_dir.path(), extra_args);
        Self::start(&checked(bin)?, &args, Some(data_dir)).await
    }

    /// Starts `hearth serve` on a free loopback port with the data directory `dir`, which
    /// stays when the server stops (a generated workspace).
    pub async fn start_hearth_in(
        bin: &Path,
        dir: &Path,
        extra_args: &[String],
    ) -> anyhow::Result<Target> {
        let args = serve_args(dir, extra_args);
        Self::start(&checked(bin)?, &args, None).await
    }

    /// Starts this tool's own bare broadcast server (`hearth-bench baseline-broadcast`).
    pub async fn start_baseline() -> anyhow::Result<Target> {
        let me = std::env::current_exe().context("locating hearth-bench's own binary")?;
        let args: Vec<OsString> = vec![
            "baseline-broadcast".into(),
            "--listen".into(),
            "127.0.0.1:0".into(),
        ];
        let mut target = Self::start(&me, &args, None).await?;
        target.baseline = true;
        Ok(target)
    }

    async fn start(
        bin: &Path,
        args: &[OsString],
        data_dir: Option<tempfile::TempDir>,
    ) -> anyhow::Result<Target> {
        // taskset execs the server, so the child's pid is the server's.
        let mut command = match SERVER_CPUS.get() {
            Some(cpus) => {
                let mut c = Command::new("taskset");
                c.args(["-c", cpus]).arg(bin);
                c
            }
            None => Command::new(bin),
        };
        let mut child = command
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting {}", bin.display()))?;
        let pid = child.id().context("the server exited at once")?;
        let log = Arc::new(Mutex::new(LogSummary::default()));
        let stderr = child.stderr.take().context("no stderr pipe")?;
        let notes = Arc::new(Mutex::new(Vec::new()));
        tokio::spawn(drain_log(stderr, log.clone(), notes.clone()));
        let stdout = child.stdout.take().context("no stdout pipe")?;
        let mut lines = BufReader::new(stdout).lines();
        let url = tokio::time::timeout(START_TIMEOUT, async {
            while let Some(line) = lines.next_line().await? {
                if let Some(url) = listening_url(&line) {
                    return Ok(url);
                }
            }
            bail!("the server closed stdout without printing its address")
        })
        .await
        .context("the server did not print its address within 30 s")??;
        // Keep reading stdout so the server never blocks writing to it.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        let process = ServerProcess {
            child,
            pid,
            log,
            notes,
            bin: bin.to_owned(),
            args: args.to_vec(),
            data_dir,
        };
        Ok(Target {
            base_url: url,
            process: Some(process),
            baseline: false,
        })
    }

    fn proc_path(&self, file: &str) -> PathBuf {
        PathBuf::from(format!("/proc/{}/{file}", self.pid))
    }

    pub fn rss_kib(&self) -> anyhow::Result<u64> {
        Ok(self.memory()?.rss_kib)
    }

    pub fn memory(&self) -> anyhow::Result<ProcessMemory> {
        let status = std::fs::read_to_string(self.proc_path("status"))?;
        Ok(ProcessMemory {
            rss_kib: status_kib(&status, "VmRSS").context("no VmRSS")?,
            peak_rss_kib: status_kib(&status, "VmHWM").context("no VmHWM")?,
        })
    }

    /// User plus system CPU time consumed so far, in clock ticks.
    pub fn cpu_ticks(&self) -> anyhow::Result<u64> {
        let stat = std::fs::read_to_string(self.proc_path("stat"))?;
        stat_cpu_ticks(&stat).context("unreadable /proc/PID/stat")
    }

    /// User plus system CPU time of the threads named `name` so far, in clock ticks;
    /// `None` when no thread has that name.
    pub fn thread_cpu_ticks(&self, name: &str) -> anyhow::Result<Option<u64>> {
        let mut total = None;
        for task in std::fs::read_dir(self.proc_path("task"))? {
            let task = task?.path();
            // A thread may end between the listing and the reads: it is skipped.
            let Ok(comm) = std::fs::read_to_string(task.join("comm")) else {
                continue;
            };
            if comm.trim_end() != name {
                continue;
            }
            let Ok(stat) = std::fs::read_to_string(task.join("stat")) else {
                continue;
            };
            let ticks = stat_cpu_ticks(&stat).context("unreadable /proc/PID/task/TID/stat")?;
            total = Some(total.unwrap_or(0) + ticks);
        }
        Ok(total)
    }

    pub fn log_summary(&self) -> LogSummary {
        self.log.lock().expect("log lock poisoned").clone()
    }

    /// Kills the server and waits for it to exit.
    pub async fn stop(mut self) {
        let _ = self.child.kill().await;
    }
}

/// `bin`, if it exists.
fn checked(bin: &Path) -> anyhow::Result<PathBuf> {
    if !bin.exists() {
        bail!(
            "no server binary at {} (build it with `cargo build --release -p hearth-server`, \
             or pass --server-bin or --server URL)",
            bin.display()
        );
    }
    Ok(bin.to_owned())
}

/// `hearth serve` on a free loopback port with the data directory `dir`.
fn serve_args(dir: &Path, extra_args: &[String]) -> Vec<OsString> {
    let mut args: Vec<OsString> = vec![
        "serve".into(),
        "--listen".into(),
        "127.0.0.1:0".into(),
        "--data-dir".into(),
        dir.into(),
    ];
    args.extend(extra_args.iter().map(OsString::from));
    args
}

/// The URL in a `... listening on http://ADDR` line.
fn listening_url(line: &str) -> Option<String> {
    let (_, rest) = line.split_once("listening on ")?;
    let url = rest.split_whitespace().next()?;
    url.starts_with("http")
        .then(|| url.trim_end_matches('/').to_owned())
}

/// A `Key:   123 kB` line of `/proc/PID/status`.
fn status_kib(status: &str, key: &str) -> Option<u64> {
    status.lines().find_map(|line| {
        let rest = line.strip_prefix(key)?.strip_prefix(':')?;
        rest.split_whitespace().next()?.parse().ok()
    })
}

/// utime + stime from `/proc/PID/stat`. The command name (field 2) may hold spaces and
/// parentheses, so fields are counted from the last `)`.
fn stat_cpu_ticks(stat: &str) -> Option<u64> {
    let after = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    // After the name: state is field 3, so utime (14) and stime (15) are at 11 and 12.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

/// Clock ticks per second for `/proc/PID/stat` times.
pub fn clock_ticks_per_second() -> u64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100)
}

/// This process's own resident memory in KiB.
pub fn own_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status_kib(&status, "VmRSS")
}

async fn drain_log(
    pipe: impl AsyncRead + Unpin,
    log: Arc<Mutex<LogSummary>>,
    notes: Arc<Mutex<Vec<String>>>,
) {
    let mut lines = BufReader::new(pipe).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        if NOTED.iter().any(|n| line.contains(n)) {
            let mut notes = notes.lock().expect("notes lock poisoned");
            if notes.len() < KEPT_LOG_LINES {
                notes.push(line.clone());
            }
        }
        let is_error = line.contains("ERROR") || line.contains("\"level\":\"ERROR\"");
        let is_warning = line.contains("WARN");
        if !is_error && !is_warning {
            continue;
        }
        let mut log = log.lock().expect("log lock poisoned");
        if is_error {
            log.errors += 1;
        } else {
            log.warnings += 1;
        }
        if log.first_lines.len() < KEPT_LOG_LINES {
            log.first_lines.push(line);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_url_in_the_listening_line() {
        assert_eq!(
            listening_url("Hearth is listening on http://127.0.0.1:41234").as_deref(),
            Some("http://127.0.0.1:41234")
        );
        assert_eq!(listening_url("starting up"), None);
    }

    #[test]
    fn reads_proc_figures() {
        let status = "Name:\thearth\nVmHWM:\t  20480 kB\nVmRSS:\t   10240 kB\n";
        assert_eq!(status_kib(status, "VmRSS"), Some(10240));
        assert_eq!(status_kib(status, "VmHWM"), Some(20480));
        let stat = "1234 (odd ) name) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 50 0 0 20 0";
        assert_eq!(stat_cpu_ticks(stat), Some(300));
    }

    #[test]
    fn realtime_url_follows_the_base() {
        let t = Target::external("http://127.0.0.1:8080/");
        assert_eq!(t.realtime_url(), "ws://127.0.0.1:8080/api/v1/realtime");
    }

    #[test]
    fn own_process_figures_are_readable() {
        assert!(own_rss_kib().unwrap() > 0);
        assert!(clock_ticks_per_second() > 0);
    }
}
