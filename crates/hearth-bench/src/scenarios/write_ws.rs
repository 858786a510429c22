//! `write --via ws`: the `write` load over the realtime gateway instead of REST.
//!
//! Each writer is an account of its own with one socket, member of its share of the
//! channels (channel `i` is writer `i % writers`'s, so each message reaches exactly one
//! socket: its sender's), posting round-robin over them. A writer keeps up to `window`
//! sends in flight: the next goes as soon as one is acknowledged. An `ack` comes only
//! after the commit, as a `201` does, so acknowledged sends per second is still the
//! durable write rate. Each ack must name a message in flight on that socket; any
//! `error` frame, and any send still unanswered [`ACK_WAIT`] after the load ends, is an
//! error.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::Context;
use futures::{SinkExt, StreamExt};
use hearth_proto::{ClientFrame, ServerFrame};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;

use crate::api::Account;
use crate::client::{Dialer, Socket, client_msg_id, handshake, message_index};
use crate::scenarios::write::{KEPT_ERRORS, Posted, Posting};

/// How an `event` frame begins (serde writes the tag first).
const EVENT_FRAME: &str = r#"{"type":"event""#;

/// How long after the load ends the sends still in flight may take to be answered.
const ACK_WAIT: Duration = Duration::from_secs(10);

/// A closed-loop load of `writers` sockets, each keeping `window` sends in flight.
pub struct SocketLoad {
    pub writers: Vec<Account>,
    /// Every channel; writer `w` posts to channels `w`, `w + writers`, ...
    pub channels: Arc<Vec<String>>,
    pub window: usize,
    pub duration: Duration,
    /// The run's tag, for `client_msg_id`s.
    pub tag: String,
    pub text: String,
}

impl SocketLoad {
    /// Connects every writer, then runs the load against the gateway at `realtime_url`.
    pub async fn run(&self, realtime_url: &str) -> anyhow::Result<Posting> {
        let dialer = Dialer::new(realtime_url, 1).await?;
        let mut sockets = Vec::with_capacity(self.writers.len());
        for (conn, writer) in self.writers.iter().enumerate() {
            let (socket, _) = handshake(&dialer, conn as u32, &writer.token, None)
                .await
                .with_context(|| format!("connecting writer {conn}"))?;
            sockets.push(socket);
        }
        let next = Arc::new(AtomicU64::new(0));
        let begin = Instant::now();
        let end = begin + self.duration;
        let count = self.writers.len();
        let mut tasks = Vec::with_capacity(count);
        for (w, socket) in sockets.into_iter().enumerate() {
            let writer = Writer {
                channels: self
                    .channels
                    .iter()
                    .skip(w)
                    .step_by(count)
                    .cloned()
                    .collect(),
                window: self.window.max(1),
                end,
                next: next.clone(),
                tag: self.tag.clone(),
                text: self.text.clone(),
            };
            tasks.push(tokio::spawn(writer.run(socket)));
        }
        Posting::gather(tasks, begin).await
    }
}

/// One socket's share of the load.
struct Writer {
    channels: Vec<String>,
    window: usize,
    end: Instant,
    next: Arc<AtomicU64>,
    tag: String,
    text: String,
}

impl Writer {
    async fn run(self, mut socket: Socket) -> Posting {
        let mut tally = Posting::default();
        // Sends not answered yet: when each left, and its channel.
        let mut in_flight: HashMap<u64, (Instant, String)> = HashMap::new();
        let mut turn = 0;
        loop {
            while Instant::now() < self.end && in_flight.len() < self.window {
                let msg = self.next.fetch_add(1, Ordering::Relaxed);
                let channel = self.channels[turn % self.channels.len()].clone();
                turn += 1;
                let frame = ClientFrame::Send {
                    channel_id: channel.clone(),
                    text: self.text.clone(),
                    client_msg_id: Some(client_msg_id(&self.tag, msg)),
                    thread_root_id: None,
                    file_ids: Vec::new(),
                };
                let text = serde_json::to_string(&frame).expect("a frame serializes");
                let sent_at = Instant::now();
                if let Err(e) = socket.send(Message::text(text)).await {
                    failed(
                        &mut tally,
                        in_flight.len() as u64 + 1,
                        format!("write: {e}"),
                    );
                    return tally;
                }
                in_flight.insert(msg, (sent_at, channel));
            }
            if in_flight.is_empty() {
                break;
            }
            let text = match tokio::time::timeout_at(self.end + ACK_WAIT, socket.next()).await {
                Ok(Some(Ok(Message::Text(text)))) => text,
                Ok(Some(Ok(_))) => continue,
                Err(_) => {
                    let unanswered = in_flight.len() as u64;
                    failed(
                        &mut tally,
                        unanswered,
                        format!("{unanswered} sends unanswered"),
                    );
                    break;
                }
                Ok(Some(Err(e))) => {
                    failed(&mut tally, in_flight.len() as u64, format!("read: {e}"));
                    return tally;
                }
                Ok(None) => {
                    failed(&mut tally, in_flight.len() as u64, "closed".to_owned());
                    return tally;
                }
            };
            let at = Instant::now();
            // Each message comes back to its sender as an event, which this load ignores:
            // not parsing it leaves the shared cores to the server.
            if text.starts_with(EVENT_FRAME) {
                continue;
            }
            match serde_json::from_str::<ServerFrame>(&text) {
                Ok(ServerFrame::Ack {
                    client_msg_id,
                    message,
                }) => {
                    let msg = client_msg_id.and_then(|id| message_index(&self.tag, &id));
                    let Some((msg, (sent_at, channel))) =
                        msg.and_then(|msg| Some((msg, in_flight.remove(&msg)?)))
                    else {
                        failed(
                            &mut tally,
                            1,
                            format!("an ack for no send in flight: {text:.200}"),
                        );
                        continue;
                    };
                    tally.latency.record(at - sent_at);
                    tally.posted.push(Posted {
                        msg,
                        channel,
                        sent_at,
                        acked_at: at,
                        id: message.id,
                        seq: message.seq,
                        channel_id: message.channel_id,
                        client_msg_id: message.client_msg_id,
                    });
                }
                Ok(ServerFrame::Error { client_msg_id, .. }) => {
                    if let Some(msg) = client_msg_id.and_then(|id| message_index(&self.tag, &id)) {
                        in_flight.remove(&msg);
                    }
                    failed(&mut tally, 1, format!("{text:.200}"));
                }
                // Our own messages' events, and anything else the gateway says.
                Ok(_) => {}
                Err(e) => failed(&mut tally, 1, format!("unparsable ({e}): {text:.200}")),
            }
        }
        let _ = socket.close(None).await;
        tally
    }
}

fn failed(tally: &mut Posting, count: u64, why: String) {
    tally.errors += count;
    if tally.first_errors.len() < KEPT_ERRORS {
        tally.first_errors.push(why);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hearth_proto::{Event, EventBody};

    /// Events are told apart by how they begin; the server writes frames with serde.
    #[test]
    fn event_frames_begin_as_the_load_expects() {
        let frame = ServerFrame::Event(Event {
            seq: 7,
            created_at: "2026-12-07T00:00:00Z".to_owned(),
            event: EventBody::ReactionAdded {
                channel_id: "C1".to_owned(),
                message_id: "M1".to_owned(),
                user_id: "U1".to_owned(),
                emoji: "tada".to_owned(),
            },
        });
        let text = serde_json::to_string(&frame).unwrap();
        assert!(text.starts_with(EVENT_FRAME), "{text}");
        let ack = serde_json::to_string(&ServerFrame::Pong { id: Some(1) }).unwrap();
        assert!(!ack.starts_with(EVENT_FRAME), "{ack}");
    }
}
