//! One WebSocket connection, from its first frame to its close.
//!
//! Lifecycle:
//! 1. **Auth**: the first frame must be `auth` (or the upgrade carried a session cookie),
//!    within `auth_timeout`; otherwise close [`close_code::AUTH_FAILED`].
//! 2. **Register** with the hub as pending, *then* read the subscription (channels and
//!    seq `M` in one snapshot), then activate from `M`. Every event after `M` was
//!    committed after the snapshot, so it reaches the hub after registration: none is
//!    missed, and the hub never sends one at or before `M`.
//! 3. **Hello**, then with `resume_from` the replay of `(resume_from, M]` from the log,
//!    then `resumed` (or `resync_required`). Live events queued meanwhile follow: no gap,
//!    no duplicate across the switch.
//! 4. **Run**: a reader loop (commands, heartbeat timeout, rate limit) and a writer loop
//!    (the outbox queue, the kill switch) joined with `select!` in this one task.
//!
//! The loop is generic over the socket so tests can drive it with plain channels.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes};
use futures::stream::FuturesOrdered;
use futures::{Sink, SinkExt, Stream, StreamExt};
use hearth_core::event::EventPage;
use hearth_core::model::User;
use hearth_core::secret::SecretHash;
use hearth_proto::{ClientFrame, ServerFrame, close_code};
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::commands::{self, SendReply, error_frame};
use super::encode;
use super::hub::{Command, Hub};
use super::outbox::{ConnId, KillSwitch, Outbox};
use super::rate::{RateLimit, Verdict};
use crate::convert;
use crate::state::AppState;

/// Replay reads the log in pages of this many events.
const REPLAY_PAGE: u32 = 200;
/// Frames written to the socket before one flush, at most.
const WRITE_BATCH: usize = 64;
/// How long a close frame may take to reach a client that stopped reading.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(1);
/// The most sends of one connection waiting for their commit at once.
const SENDS_IN_FLIGHT: usize = 64;
/// How long a closing connection waits for the answers to its sends still in flight.
const DRAIN_WAIT: Duration = Duration::from_secs(5);
/// How long one frame of the hello or the replay may take to be taken by the client.
const HANDSHAKE_SEND_TIMEOUT: Duration = Duration::from_secs(10);

/// Who a connection is: the account and the session it signed in with (so that ending
/// the session, at logout, ends the connection too).
pub struct Authenticated {
    pub user: User,
    pub session: SecretHash,
}

/// Serves one upgraded socket until it closes. `cookie` is the account and session of the
/// upgrade's session cookie, if it carried a valid one.
pub async fn serve<S>(socket: S, state: AppState, cookie: Option<Authenticated>)
where
    S: Stream<Item = Result<Message, axum::Error>>
        + Sink<Message, Error = axum::Error>
        + Send
        + 'static,
{
    let (mut sink, mut stream) = socket.split();
    let config = state.settings.gateway.clone();

    let Some((Authenticated { user, session }, resume_from)) =
        authenticate(&mut stream, &state, cookie).await
    else {
        close(&mut sink, close_code::AUTH_FAILED, "authentication failed").await;
        return;
    };
    let ws = user.workspace_id.clone();
    let hub = state.hub.clone();
    let id = state.conn_ids.next();
    let (outbox, queue, kill) = Outbox::new(config.queue_capacity);
    hub.send(
        &ws,
        Command::Register {
            ws: ws.clone(),
            conn: id,
            user: user.id.clone(),
            session,
            outbox: outbox.clone(),
        },
    );
    let _registration = Registration {
        hub: hub.clone(),
        attention: state.attention.clone(),
        ws: ws.clone(),
        user: user.id.clone(),
        conn: id,
    };
    // Connecting is the user at their client: attention starts now (see `Attention`).
    state.attention.focus(&ws, &user.id, id);

    let subscription = match state.store.subscription(&ws, &user.id).await {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!(error = %e, "reading a subscription failed");
            close(&mut sink, 1011, "try again").await;
            return;
        }
    };
    let live_from = subscription.last_seq;
    hub.send(
        &ws,
        Command::Activate {
            ws: ws.clone(),
            conn: id,
            channels: subscription.channel_ids,
            live_from,
        },
    );

    let hello = ServerFrame::Hello {
        user_id: user.id.to_string(),
        last_seq: live_from,
        heartbeat_ms: u64::try_from(config.heartbeat.as_millis()).unwrap_or(u64::MAX),
    };
    if send(&mut sink, &hello).await.is_err() {
        return;
    }
    if let Some(after) = resume_from
        && replay(&mut sink, &state, &user, after, live_from)
            .await
            .is_err()
    {
        return;
    }

    let reader = read_loop(&mut stream, &state, &user, id, &outbox);
    let writer = write_loop(&mut sink, queue, &kill);
    tokio::pin!(reader, writer);
    tokio::select! {
        code = &mut reader => {
            // The writer sends the close frame now, not after what is queued: a closing
            // client wants it at once, and queued events are re-read on resume.
            kill.kill(code);
            writer.await;
        }
        () = &mut writer => {}
    }
}

/// Unregisters from the hub (and withdraws the connection's attention) when the
/// connection ends, however it ends.
struct Registration {
    hub: Hub,
    attention: std::sync::Arc<crate::notify::Attention>,
    ws: hearth_core::id::WorkspaceId,
    user: hearth_core::id::UserId,
    conn: ConnId,
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.attention.blur(&self.ws, &self.user, self.conn);
        self.hub.send(
            &self.ws,
            Command::Unregister {
                ws: self.ws.clone(),
                conn: self.conn,
            },
        );
    }
}

/// Waits for the `auth` frame; returns the account and `resume_from`.
async fn authenticate<S>(
    stream: &mut S,
    state: &AppState,
    cookie: Option<Authenticated>,
) -> Option<(Authenticated, Option<i64>)>
where
    S: Stream<Item = Result<Message, axum::Error>> + Unpin,
{
    let timeout = state.settings.gateway.auth_timeout;
    let message = tokio::time::timeout(timeout, stream.next())
        .await
        .ok()??
        .ok()?;
    let Message::Text(text) = message else {
        return None;
    };
    let Ok(ClientFrame::Auth { token, resume_from }) = serde_json::from_str(text.as_str()) else {
        return None;
    };
    let who = match token {
        Some(token) if !token.is_empty() && token.len() <= 256 => {
            let hash = SecretHash::of(&token);
            let session = state.store.session(&hash).await.ok()??;
            Authenticated {
                user: session.user,
                session: hash,
            }
        }
        Some(_) => return None,
        None => cookie?,
    };
    Some((who, resume_from))
}

/// Sends every event after `after` up to `until` that the user may see, then `resumed`;
/// or `resync_required` when the log cannot serve it.
async fn replay<S>(
    sink: &mut S,
    state: &AppState,
    user: &User,
    after: i64,
    until: i64,
) -> Result<(), axum::Error>
where
    S: Sink<Message, Error = axum::Error> + Unpin,
{
    if after < 0 || after > until {
        return send(sink, &ServerFrame::ResyncRequired).await;
    }
    let mut cursor = after;
    while cursor < until {
        let page = state
            .store
            .events_after(&user.workspace_id, &user.id, cursor, REPLAY_PAGE)
            .await;
        let (events, last_seq) = match page {
            Ok(EventPage::Events { events, last_seq }) => (events, last_seq),
            Ok(EventPage::ResyncRequired) => return send(sink, &ServerFrame::ResyncRequired).await,
            Err(e) => {
                tracing::warn!(error = %e, "replay failed");
                return Err(axum::Error::new(e));
            }
        };
        for event in events.iter().filter(|e| e.seq <= until) {
            send(sink, &ServerFrame::Event(convert::event(event))).await?;
        }
        if last_seq <= cursor {
            break;
        }
        cursor = last_seq;
    }
    send(sink, &ServerFrame::Resumed { seq: until }).await
}

/// Reads commands until the client leaves or must be closed; returns the close code.
///
/// Sends are pipelined: each is checked and taken by the store as it is read, and the
/// next frame is read while its commit is under way, so a client sending faster than
/// one commit at a time has its sends committed together rather than one after another.
/// Their replies go out in the order the sends were read, each once its commit is known;
/// at most [`SENDS_IN_FLIGHT`] wait at once, and then reading waits for the oldest. When
/// the loop ends, the replies still to come are waited for (up to [`DRAIN_WAIT`]) before
/// the connection closes; their posts are committed and published either way.
async fn read_loop<S>(
    stream: &mut S,
    state: &AppState,
    user: &User,
    id: ConnId,
    outbox: &Outbox,
) -> u16
where
    S: Stream<Item = Result<Message, axum::Error>> + Unpin,
{
    let config = &state.settings.gateway;
    // A client is dead or frozen once it has been silent for 1.5 heartbeat intervals.
    let silence_limit = config.heartbeat * 3 / 2;
    let mut rate = RateLimit::per_minute(config.commands_per_minute);
    let mut sends: FuturesOrdered<SendReply<'_>> = FuturesOrdered::new();
    let mut silent_after = Instant::now() + silence_limit;
    let code = loop {
        let read = tokio::select! {
            Some(reply) = sends.next(), if !sends.is_empty() => {
                outbox.push(reply);
                continue;
            }
            read = tokio::time::timeout_at(silent_after, stream.next()),
                if sends.len() < SENDS_IN_FLIGHT => read,
        };
        let message = match read {
            Err(_) => break close_code::HEARTBEAT_TIMEOUT,
            Ok(None) => break 1000,
            Ok(Some(Err(e))) => break read_error_code(&e),
            Ok(Some(Ok(message))) => message,
        };
        silent_after = Instant::now() + silence_limit;
        let text = match message {
            Message::Text(text) => text,
            // Control frames prove the client is alive; tungstenite answers pings itself.
            Message::Ping(_) | Message::Pong(_) => continue,
            Message::Close(_) => break 1000,
            Message::Binary(_) => break close_code::PROTOCOL_ERROR,
        };
        // Every frame counts against the limit, garbage included.
        let verdict = rate.take();
        if verdict == Verdict::Abusive {
            break close_code::POLICY_VIOLATION;
        }
        let frame = match serde_json::from_str::<ClientFrame>(text.as_str()) {
            Ok(frame) => frame,
            Err(e) => {
                outbox.push(error_frame(
                    "invalid_frame",
                    &format!("Not a valid command: {e}"),
                    None,
                ));
                continue;
            }
        };
        if verdict == Verdict::Refused {
            let error = |client_msg_id| {
                error_frame(
                    "rate_limited",
                    "Slow down: too many commands.",
                    client_msg_id,
                )
            };
            match frame {
                // Name the refused send, so the client knows which message to retry; its
                // reply takes its place after the sends before it.
                ClientFrame::Send { client_msg_id, .. } => {
                    sends.push_back(commands::refused(error(client_msg_id)));
                }
                _ => {
                    outbox.push(error(None));
                }
            }
            continue;
        }
        if let Some(reply) = commands::handle(frame, state, user, id, outbox).await {
            sends.push_back(reply);
        }
    };
    // The answers still to come, for a client that reads them before it goes; their
    // posts are committed and published whether or not anyone waits here.
    let _ = tokio::time::timeout(DRAIN_WAIT, async {
        while let Some(reply) = sends.next().await {
            outbox.push(reply);
        }
    })
    .await;
    code
}

/// What a failed read means for the close code: an oversized frame is 1009.
fn read_error_code(error: &axum::Error) -> u16 {
    let text = error.to_string();
    if text.contains("too long") || text.contains("too big") || text.contains("Space limit") {
        close_code::TOO_BIG
    } else {
        close_code::PROTOCOL_ERROR
    }
}

/// Writes queued frames until the connection is killed or the socket fails, then closes.
///
/// Every write races the kill switch: a client that stopped reading leaves a write pending
/// forever, and it must still be cut off (and its hub registration freed) when the hub
/// or the heartbeat gives up on it.
///
/// Frames go out in batches: whatever has queued (up to [`WRITE_BATCH`]) is fed to the
/// socket's write buffer and flushed once, so a connection that fell behind (a big room
/// under load) catches up with one system call per few KiB of frames rather than one
/// per frame. Order is the queue's; a lone frame is flushed at once.
async fn write_loop<S>(sink: &mut S, mut queue: mpsc::Receiver<Utf8Bytes>, kill: &Arc<KillSwitch>)
where
    S: Sink<Message, Error = axum::Error> + Unpin,
{
    loop {
        let first = tokio::select! {
            // A kill wins over frames still queued: they are the resume's business.
            biased;
            code = kill.killed() => {
                close(sink, code, reason(code)).await;
                return;
            }
            frame = queue.recv() => match frame {
                Some(frame) => frame,
                None => return,
            },
        };
        tokio::select! {
            biased;
            code = kill.killed() => {
                close(sink, code, reason(code)).await;
                return;
            }
            written = write_queued(sink, first, &mut queue) => {
                if written.is_err() {
                    return;
                }
            }
        }
    }
}

/// Feeds `first` and whatever else has already queued (up to [`WRITE_BATCH`] frames in
/// all) to the socket in order, then flushes it once. Nothing is kept between batches,
/// so an idle connection holds no batch buffer.
async fn write_queued<S>(
    sink: &mut S,
    first: Utf8Bytes,
    queue: &mut mpsc::Receiver<Utf8Bytes>,
) -> Result<(), axum::Error>
where
    S: Sink<Message, Error = axum::Error> + Unpin,
{
    sink.feed(Message::Text(first)).await?;
    for _ in 1..WRITE_BATCH {
        let Ok(frame) = queue.try_recv() else { break };
        sink.feed(Message::Text(frame)).await?;
    }
    sink.flush().await
}

fn reason(code: u16) -> &'static str {
    match code {
        close_code::SLOW_CONSUMER => "slow consumer: reconnect and resume from your last seq",
        close_code::HEARTBEAT_TIMEOUT => "heartbeat timeout",
        close_code::AUTH_FAILED => "signed out",
        close_code::TOO_BIG => "frame too big",
        close_code::POLICY_VIOLATION => "rate limit exceeded",
        close_code::PROTOCOL_ERROR => "protocol error",
        close_code::GOING_AWAY => "server shutting down",
        _ => "",
    }
}

async fn close<S>(sink: &mut S, code: u16, reason: &str)
where
    S: Sink<Message, Error = axum::Error> + Unpin,
{
    let frame = Message::Close(Some(CloseFrame {
        code,
        reason: Utf8Bytes::from(reason),
    }));
    let _ = tokio::time::timeout(CLOSE_TIMEOUT, sink.send(frame)).await;
}

/// Sends a frame before the read and write loops run (hello, replay). The heartbeat is
/// not being watched then, so a client that does not take the frame within
/// [`HANDSHAKE_SEND_TIMEOUT`] is given up on.
async fn send<S>(sink: &mut S, frame: &ServerFrame) -> Result<(), axum::Error>
where
    S: Sink<Message, Error = axum::Error> + Unpin,
{
    match tokio::time::timeout(
        HANDSHAKE_SEND_TIMEOUT,
        sink.send(Message::Text(encode(frame))),
    )
    .await
    {
        Ok(result) => result,
        Err(_) => Err(axum::Error::new(
            "the client stopped reading during the handshake",
        )),
    }
}
