//! `baseline-broadcast`: the bare fan-out limit. A WebSocket server with the same 4 KiB
//! buffers as Hearth's gateway and the same frames, but no persistence and no auth: every
//! `send` is numbered, encoded once and pushed to the queue of every connection in its
//! room. A connection's rooms are named in its `auth` token (`anything?rooms=C1,C2`, see
//! [`token_with_rooms`]); a token without rooms is in every room, so the one-room
//! scenarios need no set-up.
//!
//! It speaks just enough of the realtime protocol for the scenarios to run unchanged:
//! the first frame (any `auth`) is answered with `hello`, `ping` with `pong`, `send` with
//! the `event` to everyone (the sender included) and then `ack`. Whatever Hearth costs
//! above this is the price of durability, auth and routing; the ratio is what we report.
//! A connection whose queue is full stops receiving broadcasts (the scenarios count that
//! as loss), as Hearth would close a slow consumer.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use anyhow::Context;
use futures::{SinkExt, StreamExt};
use hearth_proto::{ClientFrame, Event, EventBody, Message as WireMessage, ServerFrame};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_tungstenite::accept_async_with_config;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};

/// Frames queued per connection.
const QUEUE: usize = 1024;
const BUFFER_BYTES: usize = 4096;
/// Frames written before one flush, at most (as Hearth's gateway).
const WRITE_BATCH: usize = 64;
/// A fixed timestamp of realistic length: there is no clock to honour without storage.
const CREATED_AT: &str = "2026-01-01T00:00:00.000000Z";

/// Binds `listen`, prints the address the way `hearth serve` does, and serves forever.
pub async fn bind_and_serve(listen: SocketAddr) -> anyhow::Result<()> {
    let listener = TcpListener::bind(listen)
        .await
        .with_context(|| format!("binding {listen}"))?;
    println!(
        "hearth-bench baseline listening on http://{}",
        listener.local_addr()?
    );
    serve(listener).await
}

/// Serves connections from `listener` forever.
pub async fn serve(listener: TcpListener) -> anyhow::Result<()> {
    let hub = Arc::new(Hub::default());
    loop {
        let (stream, _) = listener.accept().await?;
        stream.set_nodelay(true)?;
        tokio::spawn(connection(stream, hub.clone()));
    }
}

/// Every connection's queue, and the seq counter.
#[derive(Default)]
struct Hub {
    inner: Mutex<HubInner>,
}

#[derive(Default)]
struct HubInner {
    seq: i64,
    next_id: u64,
    queues: HashMap<u64, mpsc::Sender<Utf8Bytes>>,
    /// Connections in every room.
    everywhere: HashSet<u64>,
    /// Each room's connections.
    rooms: HashMap<String, HashSet<u64>>,
}

/// The auth token of a baseline client that is in `rooms` only.
pub fn token_with_rooms(name: &str, rooms: &[&str]) -> String {
    format!("{name}?rooms={}", rooms.join(","))
}

/// The rooms a token names; `None` for every room.
fn rooms_of(token: &str) -> Option<Vec<String>> {
    let (_, rooms) = token.split_once("?rooms=")?;
    Some(rooms.split(',').map(str::to_owned).collect())
}

impl Hub {
    fn join(&self, queue: mpsc::Sender<Utf8Bytes>, rooms: Option<Vec<String>>) -> (u64, i64) {
        let mut inner = self.inner.lock().expect("hub lock poisoned");
        inner.next_id += 1;
        let id = inner.next_id;
        inner.queues.insert(id, queue);
        match rooms {
            None => {
                inner.everywhere.insert(id);
            }
            Some(rooms) => {
                for room in rooms {
                    inner.rooms.entry(room).or_default().insert(id);
                }
            }
        }
        (id, inner.seq)
    }

    fn leave(&self, id: u64) {
        let mut inner = self.inner.lock().expect("hub lock poisoned");
        inner.queues.remove(&id);
        inner.everywhere.remove(&id);
        for members in inner.rooms.values_mut() {
            members.remove(&id);
        }
    }

    /// Numbers the message, encodes its event once and queues the same bytes for
    /// everyone. The lock spans numbering and queueing, so every queue gets seq order.
    fn broadcast(&self, message: impl FnOnce(i64) -> WireMessage) -> WireMessage {
        let mut inner = self.inner.lock().expect("hub lock poisoned");
        inner.seq += 1;
        let seq = inner.seq;
        let message = message(seq);
        let frame = ServerFrame::Event(Event {
            seq,
            created_at: CREATED_AT.into(),
            event: EventBody::MessageCreated {
                channel_id: message.channel_id.clone(),
                message: message.clone(),
            },
        });
        let bytes = Utf8Bytes::from(encode(&frame));
        let HubInner {
            queues,
            everywhere,
            rooms,
            ..
        } = &mut *inner;
        let room = rooms.get(&message.channel_id);
        let mut full = Vec::new();
        for id in everywhere.iter().chain(room.into_iter().flatten()) {
            if let Some(queue) = queues.get(id)
                && queue.try_send(bytes.clone()).is_err()
            {
                full.push(*id);
            }
        }
        for id in full {
            queues.remove(&id);
        }
        message
    }
}

fn encode(frame: &ServerFrame) -> String {
    serde_json::to_string(frame).expect("server frames always serialize")
}

async fn connection(stream: TcpStream, hub: Arc<Hub>) {
    let config = WebSocketConfig::default()
        .read_buffer_size(BUFFER_BYTES)
        .write_buffer_size(BUFFER_BYTES);
    let Ok(socket) = accept_async_with_config(stream, Some(config)).await else {
        return;
    };
    let (mut sink, mut source) = socket.split();
    // The first frame stands for authentication; its token names the user.
    let user_id = match source.next().await {
        Some(Ok(Message::Text(text))) => match serde_json::from_str(&text) {
            Ok(ClientFrame::Auth { token, .. }) => token.unwrap_or_default(),
            _ => return,
        },
        _ => return,
    };
    let (queue, mut outbound) = mpsc::channel::<Utf8Bytes>(QUEUE);
    let rooms = rooms_of(&user_id);
    let user_id = user_id.split('?').next().unwrap_or_default().to_owned();
    let (id, last_seq) = hub.join(queue.clone(), rooms);
    let hello = ServerFrame::Hello {
        user_id: user_id.clone(),
        last_seq,
        heartbeat_ms: 30_000,
    };
    let _ = queue.try_send(encode(&hello).into());

    // Batched as Hearth's writer is: the first frame and whatever else has queued are
    // fed, then flushed once.
    let writer = async {
        while let Some(first) = outbound.recv().await {
            let mut sent = sink.feed(Message::Text(first)).await;
            for _ in 1..WRITE_BATCH {
                let Ok(bytes) = outbound.try_recv() else {
                    break;
                };
                if sent.is_ok() {
                    sent = sink.feed(Message::Text(bytes)).await;
                }
            }
            if sent.is_err() || sink.flush().await.is_err() {
                break;
            }
        }
    };
    let reader = async {
        while let Some(Ok(frame)) = source.next().await {
            let Message::Text(text) = frame else {
                continue;
            };
            let reply = match serde_json::from_str::<ClientFrame>(&text) {
                Ok(ClientFrame::Ping { id }) => ServerFrame::Pong { id },
                Ok(ClientFrame::Send {
                    channel_id,
                    text,
                    client_msg_id,
                    thread_root_id,
                    // The bare broadcast has no files: ids are ignored.
                    file_ids: _,
                }) => {
                    let message = hub.broadcast(|seq| WireMessage {
                        id: format!("M{seq}"),
                        channel_id,
                        seq,
                        user_id: user_id.clone(),
                        text,
                        created_at: CREATED_AT.into(),
                        edited_at: None,
                        deleted: false,
                        thread_root_id,
                        reply_count: 0,
                        last_reply_at: None,
                        reactions: Vec::new(),
                        files: Vec::new(),
                        client_msg_id: client_msg_id.clone(),
                    });
                    ServerFrame::Ack {
                        client_msg_id,
                        message,
                    }
                }
                Ok(_) => continue,
                Err(_) => break,
            };
            if queue.try_send(encode(&reply).into()).is_err() {
                break;
            }
        }
    };
    tokio::select! {
        () = writer => {},
        () = reader => {},
    }
    hub.leave(id);
}
