//! One simulated client: a WebSocket on `/api/v1/realtime` that authenticates, keeps
//! itself alive with `ping`, sends messages on command and reports what it receives.
//!
//! Each client is one tokio task owning its socket. Connections are spread over several
//! loopback source addresses (127.0.0.2, 127.0.0.3, ...) by binding the socket before
//! connecting, so a run is never capped by one address's ephemeral ports. Buffers are 4 KiB
//! so ten thousand clients stay cheap for the load generator itself.
//!
//! Every `event` frame goes through the connection's [`SeqTracker`] (each seq new and
//! increasing); `message.created` events of this run (recognised by their `client_msg_id`)
//! and `ack`s are reported with their arrival [`Instant`] to the scenario's collector.
//! The arrival time is taken when the frame is read, before it is parsed.
//!
//! The server answers a connection's sends in the order sent (`ack` or `error`, naming
//! the `client_msg_id`), and its other commands as it reads them, possibly before the
//! sends before them are answered; an error for one of those (`rate_limited` for a ping)
//! names no `client_msg_id`. The client keeps its unanswered commands in a [`Pending`]
//! queue so every refusal is pinned on the right command.

use std::collections::VecDeque;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, bail};
use futures::{SinkExt, StreamExt};
use hearth_proto::{ClientFrame, EventBody, ServerFrame};
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::{WebSocketStream, client_async_with_config};

use crate::stats::{SeqTracker, SeqVerdict};

/// How long connecting, the upgrade and `hello` may take.
const HELLO_TIMEOUT: Duration = Duration::from_secs(20);
/// Commands queued for one client before `send` reports it as stuck.
const COMMAND_QUEUE: usize = 4096;
/// Disconnect reasons kept verbatim for the report.
const KEPT_REASONS: usize = 20;
/// Unanswered commands remembered; past this the oldest are forgotten.
const MAX_PENDING: usize = 10_000;

pub type Socket = WebSocketStream<TcpStream>;

/// Where clients connect, and from which source addresses.
#[derive(Clone)]
pub struct Dialer {
    url: String,
    server: SocketAddr,
    sources: Vec<Option<IpAddr>>,
}

impl Dialer {
    /// `sources` loopback source addresses are used when the server is on 127.0.0.0/8.
    pub async fn new(realtime_url: &str, sources: usize) -> anyhow::Result<Self> {
        let authority = realtime_url
            .split_once("://")
            .map_or(realtime_url, |(_, rest)| rest)
            .split('/')
            .next()
            .unwrap_or_default();
        let server = tokio::net::lookup_host(authority)
            .await
            .with_context(|| format!("resolving {authority}"))?
            .next()
            .with_context(|| format!("{authority} has no address"))?;
        Ok(Self {
            url: realtime_url.to_owned(),
            server,
            sources: source_addresses(server, sources),
        })
    }

    fn source_for(&self, conn: u32) -> Option<IpAddr> {
        self.sources[conn as usize % self.sources.len()]
    }

    async fn tcp(&self, conn: u32) -> anyhow::Result<TcpStream> {
        let socket = match self.server {
            SocketAddr::V4(_) => TcpSocket::new_v4()?,
            SocketAddr::V6(_) => TcpSocket::new_v6()?,
        };
        if let Some(ip) = self.source_for(conn) {
            socket
                .bind(SocketAddr::new(ip, 0))
                .with_context(|| format!("binding source address {ip}"))?;
        }
        let stream = socket
            .connect(self.server)
            .await
            .with_context(|| format!("connecting to {}", self.server))?;
        stream.set_nodelay(true)?;
        Ok(stream)
    }
}

/// 127.0.0.2, 127.0.0.3, ... for a loopback server; the system's choice otherwise.
fn source_addresses(server: SocketAddr, count: usize) -> Vec<Option<IpAddr>> {
    match server.ip() {
        IpAddr::V4(v4) if v4.is_loopback() && count > 0 => (0..count.min(250))
            .map(|i| Some(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2 + i as u8))))
            .collect(),
        _ => vec![None],
    }
}

/// The `client_msg_id` of message `idx` of a run.
pub fn client_msg_id(run_tag: &str, idx: u64) -> String {
    format!("{run_tag}-{idx}")
}

/// The message index of one of this run's `client_msg_id`s.
pub fn message_index(run_tag: &str, client_msg_id: &str) -> Option<u64> {
    client_msg_id
        .strip_prefix(run_tag)?
        .strip_prefix('-')?
        .parse()
        .ok()
}

/// Something a client saw, stamped with when it saw it.
#[derive(Debug, Clone)]
pub struct Observation {
    pub conn: u32,
    pub at: Instant,
    pub kind: Observed,
}

#[derive(Debug, Clone)]
pub enum Observed {
    /// The `message.created` event of message `msg` of this run.
    Delivered { msg: u64 },
    /// The server acknowledged our `send` of message `msg`.
    Acked { msg: u64 },
    /// The server refused our `send` of message `msg`.
    Refused { msg: u64, code: String },
}

/// Counters shared by every client of a run.
#[derive(Debug, Default)]
pub struct Counters {
    pub events: AtomicU64,
    pub duplicate_seqs: AtomicU64,
    pub out_of_order_seqs: AtomicU64,
    pub error_frames: AtomicU64,
    pub pongs: AtomicU64,
    /// Connections that ended without us closing them.
    pub disconnects: AtomicU64,
    reasons: Mutex<Vec<String>>,
}

impl Counters {
    fn disconnected(&self, conn: u32, why: String) {
        self.disconnects.fetch_add(1, Ordering::Relaxed);
        let mut reasons = self.reasons.lock().expect("reasons lock poisoned");
        if reasons.len() < KEPT_REASONS {
            reasons.push(format!("connection {conn}: {why}"));
        }
    }

    /// The first few disconnect and error reasons.
    pub fn reasons(&self) -> Vec<String> {
        self.reasons.lock().expect("reasons lock poisoned").clone()
    }

    fn note(&self, conn: u32, why: String) {
        let mut reasons = self.reasons.lock().expect("reasons lock poisoned");
        if reasons.len() < KEPT_REASONS {
            reasons.push(format!("connection {conn}: {why}"));
        }
    }

    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }
}

/// Where clients report: the scenario's collector and the shared counters.
#[derive(Clone)]
pub struct Observer {
    pub run_tag: Arc<str>,
    pub counters: Arc<Counters>,
    tx: mpsc::UnboundedSender<Observation>,
}

impl Observer {
    pub fn new(run_tag: &str) -> (Self, mpsc::UnboundedReceiver<Observation>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let observer = Self {
            run_tag: run_tag.into(),
            counters: Arc::default(),
            tx,
        };
        (observer, rx)
    }

    pub fn report(&self, conn: u32, at: Instant, kind: Observed) {
        // The collector may already be gone at the end of a run; that is fine.
        let _ = self.tx.send(Observation { conn, at, kind });
    }
}

enum Command {
    Send {
        channel_id: String,
        text: String,
        msg: u64,
    },
}

/// A connected, authenticated client. Dropping its last clone closes the socket.
#[derive(Clone)]
pub struct Client {
    pub conn: u32,
    commands: mpsc::Sender<Command>,
}

impl Client {
    /// Connects, authenticates with `token` and waits for `hello`; the socket then lives
    /// in its own task until the client is dropped.
    pub async fn connect(
        dialer: &Dialer,
        conn: u32,
        token: &str,
        observer: Observer,
    ) -> anyhow::Result<Self> {
        let (socket, hello) =
            tokio::time::timeout(HELLO_TIMEOUT, handshake(dialer, conn, token, None))
                .await
                .context("no hello within 20 s")??;
        let (commands, rx) = mpsc::channel(COMMAND_QUEUE);
        let heartbeat = Duration::from_millis((hello.heartbeat_ms / 2).max(100));
        tokio::spawn(run(socket, conn, rx, heartbeat, observer));
        Ok(Self { conn, commands })
    }

    /// Queues a `send` of message `msg`; the `ack` (or error) is reported to the observer.
    pub fn send(&self, channel_id: &str, text: String, msg: u64) -> anyhow::Result<()> {
        self.commands
            .try_send(Command::Send {
                channel_id: channel_id.to_owned(),
                text,
                msg,
            })
            .map_err(|_| anyhow::anyhow!("client {} is not taking commands", self.conn))
    }
}

pub struct Hello {
    pub heartbeat_ms: u64,
    /// The newest seq of the workspace when the session started.
    pub last_seq: i64,
}

/// Connects, upgrades, sends `auth` (resuming after `resume_from` when given) and waits
/// for `hello`.
pub async fn handshake(
    dialer: &Dialer,
    conn: u32,
    token: &str,
    resume_from: Option<i64>,
) -> anyhow::Result<(Socket, Hello)> {
    let stream = dialer.tcp(conn).await?;
    let config = WebSocketConfig::default()
        .read_buffer_size(4096)
        .write_buffer_size(0);
    let (mut socket, _) = client_async_with_config(dialer.url.as_str(), stream, Some(config))
        .await
        .context("WebSocket upgrade")?;
    let auth = ClientFrame::Auth {
        token: Some(token.to_owned()),
        resume_from,
    };
    socket
        .send(Message::text(serde_json::to_string(&auth)?))
        .await?;
    while let Some(frame) = socket.next().await {
        match frame? {
            Message::Text(text) => match serde_json::from_str::<ServerFrame>(&text)? {
                ServerFrame::Hello {
                    heartbeat_ms,
                    last_seq,
                    ..
                } => {
                    return Ok((
                        socket,
                        Hello {
                            heartbeat_ms,
                            last_seq,
                        },
                    ));
                }
                ServerFrame::Error { code, message, .. } => {
                    bail!("refused before hello: {code}: {message}")
                }
                other => bail!("unexpected frame before hello: {other:?}"),
            },
            Message::Close(close) => bail!("closed before hello: {close:?}"),
            _ => {}
        }
    }
    bail!("the server closed the connection before hello")
}

/// The client's life after `hello`: read frames, send pings, run commands, until the
/// [`Client`] is dropped (we close) or the server ends the connection (a disconnect).
async fn run(
    mut socket: Socket,
    conn: u32,
    mut commands: mpsc::Receiver<Command>,
    heartbeat: Duration,
    observer: Observer,
) {
    let mut seqs = SeqTracker::default();
    let mut pending = Pending::default();
    let mut ping = tokio::time::interval_at(Instant::now() + heartbeat, heartbeat);
    let mut ping_id = 0u64;
    let counters = observer.counters.clone();
    loop {
        let outcome = tokio::select! {
            frame = socket.next() => match frame {
                Some(Ok(Message::Text(text))) => {
                    let at = Instant::now();
                    on_text(&text, conn, at, &mut seqs, &mut pending, &observer);
                    Ok(())
                }
                Some(Ok(Message::Close(close))) => Err(format!("closed by server: {close:?}")),
                Some(Ok(_)) => Ok(()),
                Some(Err(e)) => Err(format!("read error: {e}")),
                None => Err("connection ended".to_owned()),
            },
            command = commands.recv() => match command {
                Some(Command::Send { channel_id, text, msg }) => {
                    pending.push(Sent::Message(msg));
                    let frame = ClientFrame::Send {
                        channel_id,
                        text,
                        client_msg_id: Some(client_msg_id(&observer.run_tag, msg)),
                        thread_root_id: None,
                        file_ids: Vec::new(),
                    };
                    write(&mut socket, &frame).await
                }
                None => {
                    // Our side is done: close politely and stop.
                    let _ = socket.close(None).await;
                    return;
                }
            },
            _ = ping.tick() => {
                ping_id += 1;
                pending.push(Sent::Ping);
                write(&mut socket, &ClientFrame::Ping { id: Some(ping_id) }).await
            }
        };
        if let Err(why) = outcome {
            counters.disconnected(conn, why);
            return;
        }
    }
}

async fn write(socket: &mut Socket, frame: &ClientFrame) -> Result<(), String> {
    let text = serde_json::to_string(frame).map_err(|e| e.to_string())?;
    socket
        .send(Message::text(text))
        .await
        .map_err(|e| format!("write error: {e}"))
}

fn on_text(
    text: &str,
    conn: u32,
    at: Instant,
    seqs: &mut SeqTracker,
    pending: &mut Pending,
    observer: &Observer,
) {
    let counters = &observer.counters;
    let frame = match serde_json::from_str::<ServerFrame>(text) {
        Ok(frame) => frame,
        Err(e) => {
            counters.error_frames.fetch_add(1, Ordering::Relaxed);
            counters.note(conn, format!("unparsable frame ({e}): {text:.200}"));
            return;
        }
    };
    match frame {
        ServerFrame::Event(event) => {
            counters.events.fetch_add(1, Ordering::Relaxed);
            match seqs.observe(event.seq) {
                SeqVerdict::InOrder => {}
                SeqVerdict::Duplicate => {
                    counters.duplicate_seqs.fetch_add(1, Ordering::Relaxed);
                }
                SeqVerdict::OutOfOrder => {
                    counters.out_of_order_seqs.fetch_add(1, Ordering::Relaxed);
                }
            }
            if let EventBody::MessageCreated { message, .. } = event.event
                && let Some(msg) = message
                    .client_msg_id
                    .as_deref()
                    .and_then(|id| message_index(&observer.run_tag, id))
            {
                observer.report(conn, at, Observed::Delivered { msg });
            }
        }
        ServerFrame::Ack { client_msg_id, .. } => {
            if let Some(msg) = client_msg_id
                .as_deref()
                .and_then(|id| message_index(&observer.run_tag, id))
            {
                pending.answer(Sent::Message(msg));
                observer.report(conn, at, Observed::Acked { msg });
            }
        }
        ServerFrame::Error {
            code,
            message,
            client_msg_id,
        } => {
            counters.error_frames.fetch_add(1, Ordering::Relaxed);
            let answered = match client_msg_id {
                Some(id) => message_index(&observer.run_tag, &id).map(Sent::Message),
                None => pending.oldest_unnamed(),
            };
            match answered {
                Some(Sent::Message(msg)) => {
                    pending.answer(Sent::Message(msg));
                    observer.report(conn, at, Observed::Refused { msg, code });
                }
                Some(Sent::Ping) => {
                    pending.answer(Sent::Ping);
                    counters.note(conn, format!("ping refused: {code}: {message}"));
                }
                None => counters.note(conn, format!("error frame: {code}: {message}")),
            }
        }
        ServerFrame::Pong { .. } => {
            pending.answer(Sent::Ping);
            counters.pongs.fetch_add(1, Ordering::Relaxed);
        }
        _ => {}
    }
}

/// A command that expects an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sent {
    Ping,
    Message(u64),
}

/// Commands sent and not yet answered, oldest first.
#[derive(Debug, Default)]
struct Pending {
    queue: VecDeque<Sent>,
}

impl Pending {
    fn push(&mut self, sent: Sent) {
        if self.queue.len() >= MAX_PENDING {
            self.queue.pop_front();
        }
        self.queue.push_back(sent);
    }

    /// The command an error without a `client_msg_id` is for: every send of ours names
    /// one, so the oldest other command (a ping) still unanswered.
    fn oldest_unnamed(&self) -> Option<Sent> {
        self.queue.iter().copied().find(|sent| *sent == Sent::Ping)
    }

    /// Forgets the oldest command equal to `sent`.
    fn answer(&mut self, sent: Sent) {
        if let Some(i) = self.queue.iter().position(|s| *s == sent) {
            self.queue.remove(i);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anonymous_errors_answer_the_oldest_ping_not_a_send_before_it() {
        let mut p = Pending::default();
        p.push(Sent::Message(1));
        p.push(Sent::Ping);
        p.push(Sent::Message(2));
        p.push(Sent::Ping);
        // Message 1's ack is still to come: the error is the first ping's.
        assert_eq!(p.oldest_unnamed(), Some(Sent::Ping));
        p.answer(Sent::Ping);
        p.answer(Sent::Message(1));
        assert_eq!(p.queue, [Sent::Message(2), Sent::Ping]);
        p.answer(Sent::Ping);
        assert_eq!(p.oldest_unnamed(), None, "sends name themselves");
    }

    #[test]
    fn message_ids_round_trip_only_for_this_run() {
        let id = client_msg_id("hb123", 42);
        assert_eq!(message_index("hb123", &id), Some(42));
        assert_eq!(message_index("hb12", &id), None);
        assert_eq!(message_index("hb123", "someone-else"), None);
    }

    #[test]
    fn loopback_servers_get_spread_sources() {
        let lo: SocketAddr = "127.0.0.1:80".parse().unwrap();
        let sources = source_addresses(lo, 3);
        assert_eq!(sources.len(), 3);
        assert_eq!(sources[2], Some("127.0.0.4".parse().unwrap()));
        let remote: SocketAddr = "[::1]:80".parse().unwrap();
        assert_eq!(source_addresses(remote, 3), vec![None]);
    }
}
