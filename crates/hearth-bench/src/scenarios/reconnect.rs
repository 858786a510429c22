//! `reconnect`: many connected clients, the server crashes (SIGKILL) and starts again on
//! the same data directory and address; how long until every client is back and has
//! every message, with nothing lost or repeated.
//!
//! `--connections` clients share `--users` accounts, all members of one channel. Before
//! the crash `--before` messages are posted over REST and every client must get them
//! live. Right after the restart `--after` more are posted, while the clients are still
//! reconnecting. Each client reconnects on its own with a jittered backoff (50 ms doubling
//! to 1 s, as a real client would) and authenticates with `resume_from` set to the last
//! seq it saw, so the server replays what it missed. The run measures, from the kill:
//! the server listening again, every client past `hello` again, and every client holding
//! all `before + after` messages. A message missing anywhere at `--timeout`, a seq seen
//! twice, or a resync demand makes the run unclean.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::bail;
use clap::Args;
use futures::StreamExt;
use hearth_proto::{ClientFrame, EventBody, ServerFrame};
use serde::Serialize;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;

use crate::api::{Account, Api, Population};
use crate::client::{Dialer, client_msg_id, handshake, message_index};
use crate::progress;
use crate::scenarios::run_tag;
use crate::server::{LogSummary, Target};

/// How often the run checks whether every client has caught up.
const POLL: Duration = Duration::from_millis(20);
const HELLO_TIMEOUT: Duration = Duration::from_secs(20);

#[derive(Debug, Clone, Args)]
pub struct ReconnectArgs {
    /// Connected clients.
    #[arg(long, default_value_t = 10_000)]
    pub connections: usize,
    /// Accounts the clients share (sign-ups cost an Argon2 hash each).
    #[arg(long, default_value_t = 100)]
    pub users: usize,
    /// Messages posted before the crash.
    #[arg(long, default_value_t = 10)]
    pub before: u64,
    /// Messages posted right after the restart, while clients reconnect.
    #[arg(long, default_value_t = 10)]
    pub after: u64,
    /// Seconds to wait, at each stage, for every client.
    #[arg(long, default_value_t = 120)]
    pub timeout: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct ReconnectReport {
    pub connections: usize,
    pub users: usize,
    pub messages: u64,
    /// From the kill to the new server listening.
    pub restart_s: f64,
    /// From the kill to the last client's new `hello`.
    pub all_resumed_s: Option<f64>,
    /// From the kill to the last client holding every message.
    pub all_caught_up_s: Option<f64>,
    pub failed_attempts: u64,
    /// Deliveries missing when the run gave up waiting.
    pub lost: u64,
    pub duplicated_seqs: u64,
    pub resyncs: u64,
    pub server_log: Option<LogSummary>,
}

impl ReconnectReport {
    pub fn lines(&self) -> Vec<String> {
        let secs = |s: Option<f64>| s.map_or("never".to_owned(), |s| format!("{s:.2} s"));
        let mut lines = vec![
            format!(
                "reconnect on hearth: {} clients of {} users, {} messages, server killed and \
                 restarted",
                self.connections, self.users, self.messages
            ),
            format!(
                "server listening again after {:.2} s | every client resumed after {} | every \
                 client caught up after {}",
                self.restart_s,
                secs(self.all_resumed_s),
                secs(self.all_caught_up_s)
            ),
            format!(
                "failed reconnect attempts {} | lost {} | duplicated seqs {} | resyncs {} | {}",
                self.failed_attempts,
                self.lost,
                self.duplicated_seqs,
                self.resyncs,
                if self.failures().is_empty() {
                    "OK"
                } else {
                    "NOT CLEAN"
                }
            ),
        ];
        if let Some(log) = &self.server_log {
            lines.push(format!(
                "server log: {} warnings, {} errors",
                log.warnings, log.errors
            ));
        }
        lines
    }

    pub fn failures(&self) -> Vec<String> {
        let mut failures = Vec::new();
        if self.all_caught_up_s.is_none() || self.lost > 0 {
            failures.push(format!("{} deliveries never arrived", self.lost));
        }
        if self.duplicated_seqs > 0 {
            failures.push(format!("{} seqs arrived twice", self.duplicated_seqs));
        }
        if self.resyncs > 0 {
            failures.push(format!("{} resumes were refused (resync)", self.resyncs));
        }
        failures
    }
}

/// What one client has seen so far.
#[derive(Default)]
struct Seen {
    last_seq: Option<i64>,
    messages: HashSet<u64>,
    hellos: u32,
    failed_attempts: u64,
    duplicated_seqs: u64,
    resyncs: u64,
}

type Shared = Arc<Vec<Mutex<Seen>>>;

pub async fn run(
    target: &mut Target,
    args: &ReconnectArgs,
    sources: usize,
) -> anyhow::Result<ReconnectReport> {
    if target.baseline || target.process.is_none() {
        bail!("reconnect restarts the server itself: run it on a server this tool starts");
    }
    if args.connections == 0 || args.users == 0 || args.before + args.after == 0 {
        bail!("reconnect needs connections, users and messages");
    }
    let api = Api::new(&target.base_url)?;
    eprintln!("setting up: {} users in one channel", args.users);
    let population = Population::create(&api, "reconnect", args.users).await?;
    let channel = population.channel_with_everyone(&api, "reconnect").await?;
    let owner = population.owner().clone();
    let tag = run_tag();
    let dialer = Dialer::new(&target.realtime_url(), sources).await?;
    let seen: Shared = Arc::new((0..args.connections).map(|_| Mutex::default()).collect());
    eprintln!("connecting {} clients", args.connections);
    let bar = progress::bar(args.connections as u64, "connecting");
    let mut clients = Vec::with_capacity(args.connections);
    for conn in 0..args.connections {
        let account = &population.accounts[conn % args.users];
        clients.push(tokio::spawn(client(
            dialer.clone(),
            conn as u32,
            account.token.clone(),
            tag.clone(),
            seen.clone(),
        )));
        // Bounded pace: the first connections should not time out behind the last.
        if conn % 200 == 199 {
            let started = &seen[..=conn];
            wait_until(
                started,
                |s| s.hellos >= 1,
                Duration::from_secs(args.timeout),
            )
            .await;
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    let timeout = Duration::from_secs(args.timeout);
    if wait_until(&seen, |s| s.hellos >= 1, timeout)
        .await
        .is_none()
    {
        bail!("not every client connected within {} s", args.timeout);
    }
    post(&api, &owner, &channel, &tag, 0..args.before).await?;
    let before = args.before;
    if wait_until(&seen, |s| s.messages.len() as u64 >= before, timeout)
        .await
        .is_none()
    {
        bail!("the messages before the crash did not reach every client");
    }

    eprintln!("killing and restarting the server");
    let killed = Instant::now();
    target.crash_and_restart().await?;
    let restart_s = killed.elapsed().as_secs_f64();
    let api = Api::new(&target.base_url)?;
    let total = args.before + args.after;
    post(&api, &owner, &channel, &tag, args.before..total).await?;
    let resumed = wait_until(&seen, |s| s.hellos >= 2, timeout).await;
    let caught_up = wait_until(&seen, |s| s.messages.len() as u64 >= total, timeout).await;
    for client in &clients {
        client.abort();
    }
    let mut report = ReconnectReport {
        connections: args.connections,
        users: args.users,
        messages: total,
        restart_s,
        all_resumed_s: resumed.map(|at| at.duration_since(killed).as_secs_f64()),
        all_caught_up_s: caught_up.map(|at| at.duration_since(killed).as_secs_f64()),
        failed_attempts: 0,
        lost: 0,
        duplicated_seqs: 0,
        resyncs: 0,
        server_log: target.log_summary(),
    };
    for state in seen.iter() {
        let s = state.lock().expect("client state poisoned");
        report.failed_attempts += s.failed_attempts;
        report.lost += total.saturating_sub(s.messages.len() as u64);
        report.duplicated_seqs += s.duplicated_seqs;
        report.resyncs += s.resyncs;
    }
    Ok(report)
}

async fn post(
    api: &Api,
    author: &Account,
    channel: &str,
    tag: &str,
    range: std::ops::Range<u64>,
) -> anyhow::Result<()> {
    for msg in range {
        let text = format!("reconnect message {msg}");
        api.post_message_stored(author, channel, text, client_msg_id(tag, msg))
            .await?;
    }
    Ok(())
}

/// Waits until every client of `seen` satisfies `done`; returns when that happened, or
/// `None` after `timeout`.
async fn wait_until(
    seen: &[Mutex<Seen>],
    done: impl Fn(&Seen) -> bool,
    timeout: Duration,
) -> Option<Instant> {
    let deadline = Instant::now() + timeout;
    loop {
        let all = seen
            .iter()
            .all(|s| done(&s.lock().expect("client state poisoned")));
        if all {
            return Some(Instant::now());
        }
        if Instant::now() >= deadline {
            return None;
        }
        tokio::time::sleep(POLL).await;
    }
}

/// One client for the whole run: connect (resuming after the last seq seen), read until
/// the connection ends, back off, again.
async fn client(dialer: Dialer, conn: u32, token: String, tag: String, seen: Shared) {
    let state = &seen[conn as usize];
    let mut backoff = Duration::from_millis(50);
    loop {
        let resume_from = state.lock().expect("client state poisoned").last_seq;
        let attempt =
            tokio::time::timeout(HELLO_TIMEOUT, handshake(&dialer, conn, &token, resume_from))
                .await;
        let Ok(Ok((mut socket, hello))) = attempt else {
            state.lock().expect("client state poisoned").failed_attempts += 1;
            // Jitter spreads the herd: each client waits between half and all of it.
            let jitter = (u64::from(conn) * 7_919) % 500;
            tokio::time::sleep(backoff.mul_f64(0.5 + jitter as f64 / 1_000.0)).await;
            backoff = (backoff * 2).min(Duration::from_secs(1));
            continue;
        };
        backoff = Duration::from_millis(50);
        {
            let mut s = state.lock().expect("client state poisoned");
            s.hellos += 1;
            // A fresh session starts live from hello: later resumes go on from there.
            s.last_seq.get_or_insert(hello.last_seq);
        }
        let heartbeat = Duration::from_millis((hello.heartbeat_ms / 2).max(100));
        let mut ping = tokio::time::interval_at(Instant::now() + heartbeat, heartbeat);
        loop {
            tokio::select! {
                frame = socket.next() => match frame {
                    Some(Ok(Message::Text(text))) => on_frame(&text, &tag, state),
                    Some(Ok(Message::Close(_)) | Err(_)) | None => break,
                    Some(Ok(_)) => {}
                },
                _ = ping.tick() => {
                    let frame = ClientFrame::Ping { id: None };
                    let text = serde_json::to_string(&frame).unwrap_or_default();
                    if futures::SinkExt::send(&mut socket, Message::text(text)).await.is_err() {
                        break;
                    }
                }
            }
        }
    }
}

fn on_frame(text: &str, tag: &str, state: &Mutex<Seen>) {
    let Ok(frame) = serde_json::from_str::<ServerFrame>(text) else {
        return;
    };
    let mut s = state.lock().expect("client state poisoned");
    match frame {
        ServerFrame::Event(event) => {
            if s.last_seq.is_some_and(|last| event.seq <= last) {
                s.duplicated_seqs += 1;
                return;
            }
            s.last_seq = Some(event.seq);
            if let EventBody::MessageCreated { message, .. } = event.event
                && let Some(msg) = message
                    .client_msg_id
                    .as_deref()
                    .and_then(|id| message_index(tag, id))
            {
                s.messages.insert(msg);
            }
        }
        ServerFrame::ResyncRequired => s.resyncs += 1,
        _ => {}
    }
}
