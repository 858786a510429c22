//! `SmtpCapture`: a real SMTP server for one test, `scripts/smtp_capture.py` (aiosmtpd,
//! installed into `.venv-smtp` by `scripts/smtp-test-server`) on 127.0.0.1 and a port of
//! its choosing, which writes every message it accepts into the test's own temporary
//! directory. Tests read the messages back as [`CapturedMail`], decoded (subject, plain
//! and HTML parts) by mail-parser.

// Shared by the notification tests: not every test uses every accessor.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tempfile::TempDir;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, ChildStdout, Command};
use tokio::sync::OnceCell;

/// How long the capture server may take to listen (Python's start-up, on a busy machine).
const READY_TIMEOUT: Duration = Duration::from_secs(30);

/// A capture server for one test. Dropping it kills the server and deletes its mail.
pub struct SmtpCapture {
    port: u16,
    /// Killed on drop (`kill_on_drop`). Its stdin stays open while this lives: the server
    /// runs with `--watch-stdin`, so it exits even when the test binary is killed.
    _child: Child,
    /// Kept open: the server must never write into a closed pipe.
    _stdout: BufReader<ChildStdout>,
    dir: TempDir,
}

/// One message the server accepted.
#[derive(Debug, Clone)]
pub struct CapturedMail {
    /// The envelope sender (`MAIL FROM`).
    pub mail_from: String,
    /// The envelope recipients (`RCPT TO`) the server accepted.
    pub rcpt_tos: Vec<String>,
    /// The message as received (RFC 5322, CRLF line ends).
    pub raw: String,
    /// The decoded `Subject` (RFC 2047 encoded words decoded).
    pub subject: String,
    /// The first text/plain part, transfer encoding undone and line ends `\n`; empty
    /// when there is none.
    pub text_body: String,
    /// The first text/html part, likewise.
    pub html_body: String,
    /// The top-level header fields in order, unfolded, values as sent (not decoded).
    pub headers: Vec<(String, String)>,
}

impl SmtpCapture {
    pub async fn spawn() -> Self {
        Self::start(0).await
    }

    /// A server that answers the first `n` messages with `451 4.3.0` (not stored), for
    /// tests of retries. Any server refuses recipients whose address starts with
    /// `reject-` with `550 5.1.1`.
    pub async fn spawn_failing_first(n: u32) -> Self {
        Self::start(n).await
    }

    async fn start(fail_first: u32) -> Self {
        install().await;
        let dir = tempfile::tempdir().expect("a temporary directory for captured mail");
        let root = repository_root();
        let python = root.join(".venv-smtp/bin/python");
        let mut child = Command::new(&python)
            .arg(root.join("scripts/smtp_capture.py"))
            .args([
                "--port",
                "0",
                "--watch-stdin",
                "--fail-first",
                &fail_first.to_string(),
            ])
            .arg("--dir")
            .arg(dir.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", python.display()));
        let mut stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
        let mut line = String::new();
        let read = tokio::time::timeout(READY_TIMEOUT, stdout.read_line(&mut line)).await;
        let port = match read {
            Ok(Ok(_)) => line
                .trim()
                .strip_prefix("READY ")
                .and_then(|port| port.parse().ok()),
            Ok(Err(e)) => panic!("smtp_capture.py: reading its stdout: {e}"),
            Err(_) => panic!("smtp_capture.py did not print READY within {READY_TIMEOUT:?}"),
        };
        let Some(port) = port else {
            let status = child.try_wait().ok().flatten();
            panic!(
                "smtp_capture.py printed {line:?} instead of READY <port> (exit: {status:?}; its stderr is above)"
            );
        };
        Self {
            port,
            _child: child,
            _stdout: stdout,
            dir,
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The `--smtp-url` that reaches this server.
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}?tls=none", self.port())
    }

    /// Every message accepted so far, in the order the server accepted them.
    pub fn messages(&self) -> Vec<CapturedMail> {
        let mut numbers: Vec<u64> = std::fs::read_dir(self.dir.path())
            .expect("read the capture directory")
            .filter_map(|entry| {
                let name = entry.ok()?.file_name().into_string().ok()?;
                name.strip_suffix(".eml")?.parse().ok()
            })
            .collect();
        numbers.sort_unstable();
        // The server renames <n>.eml into place after <n>.json: both are complete.
        numbers
            .into_iter()
            .map(|n| CapturedMail::read(self.dir.path(), n))
            .collect()
    }

    /// Waits until at least `n` messages have arrived and returns them all; panics after
    /// `timeout`, listing what did arrive.
    pub async fn wait_for(&self, n: usize, timeout: Duration) -> Vec<CapturedMail> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let messages = self.messages();
            if messages.len() >= n {
                return messages;
            }
            if tokio::time::Instant::now() >= deadline {
                let got: Vec<_> = messages.iter().map(|m| (&m.rcpt_tos, &m.subject)).collect();
                panic!(
                    "expected {n} emails within {timeout:?}, got {}: {got:#?}",
                    messages.len()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl CapturedMail {
    fn read(dir: &Path, n: u64) -> Self {
        let meta = std::fs::read(dir.join(format!("{n}.json"))).expect("the message's .json");
        let meta: serde_json::Value = serde_json::from_slice(&meta).expect("the .json is JSON");
        let raw = std::fs::read(dir.join(format!("{n}.eml"))).expect("the message's .eml");
        let parsed = mail_parser::MessageParser::default()
            .parse(&raw)
            .unwrap_or_else(|| {
                panic!(
                    "message {n} is not an email:\n{}",
                    String::from_utf8_lossy(&raw)
                )
            });
        let (mut text_body, mut html_body) = (None, None);
        for part in &parsed.parts {
            match &part.body {
                mail_parser::PartType::Text(text) if text_body.is_none() => {
                    text_body = Some(text.replace("\r\n", "\n"))
                }
                mail_parser::PartType::Html(html) if html_body.is_none() => {
                    html_body = Some(html.replace("\r\n", "\n"))
                }
                _ => {}
            }
        }
        let raw = String::from_utf8_lossy(&raw).into_owned();
        Self {
            mail_from: meta["mail_from"].as_str().unwrap_or_default().to_owned(),
            rcpt_tos: meta["rcpt_tos"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|rcpt| rcpt.as_str().map(str::to_owned))
                .collect(),
            subject: parsed.subject().unwrap_or_default().to_owned(),
            text_body: text_body.unwrap_or_default(),
            html_body: html_body.unwrap_or_default(),
            headers: top_level_headers(&raw),
            raw,
        }
    }

    /// The first header with this name (case-insensitive), as sent.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(field, _)| field.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }
}

/// The header block up to the first empty line, each field unfolded onto one line.
fn top_level_headers(raw: &str) -> Vec<(String, String)> {
    let mut fields: Vec<(String, String)> = Vec::new();
    for line in raw.lines().take_while(|line| !line.is_empty()) {
        if line.starts_with([' ', '\t']) {
            if let Some((_, value)) = fields.last_mut() {
                value.push_str(line);
            }
        } else if let Some((name, value)) = line.split_once(':') {
            fields.push((name.trim().to_owned(), value.trim_start().to_owned()));
        }
    }
    fields
}

fn repository_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Runs `scripts/smtp-test-server` once per test binary (the script itself is safe to
/// run from several binaries at once).
async fn install() {
    static INSTALLED: OnceCell<()> = OnceCell::const_new();
    INSTALLED
        .get_or_init(|| async {
            let script = repository_root().join("scripts/smtp-test-server");
            let output = Command::new("bash")
                .arg(&script)
                .output()
                .await
                .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()));
            assert!(
                output.status.success(),
                "{} failed ({}):\n{}{}",
                script.display(),
                output.status,
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            );
        })
        .await;
}
