//! A connection's outbound queue: bounded, shared-bytes, with a kill switch.
//!
//! The hub pushes pre-encoded frames (the same bytes for every recipient) without ever
//! waiting: a full queue means the client is not reading, and the connection is killed
//! with [`close_code::SLOW_CONSUMER`] so that it reconnects and resumes from its last seq
//! instead of stalling anyone else or growing memory. Ephemeral frames (typing,
//! presence) are dropped once the queue is half full, so they never push a connection
//! over the edge.

use std::sync::Arc;
use std::sync::atomic::{AtomicU16, AtomicU64, Ordering};

use axum::extract::ws::Utf8Bytes;
use hearth_proto::close_code;
use tokio::sync::{Notify, mpsc};

/// Identifies one socket on this node.
pub type ConnId = u64;

/// Hands out connection ids unique within this process.
#[derive(Default)]
pub struct ConnIds(AtomicU64);

impl ConnIds {
    pub fn next(&self) -> ConnId {
        self.0.fetch_add(1, Ordering::Relaxed) + 1
    }
}

/// Why and how a connection must end, set once by whoever kills it.
#[derive(Default)]
pub struct KillSwitch {
    code: AtomicU16,
    notify: Notify,
}

impl KillSwitch {
    /// Asks the connection to close with `code`; the first reason wins. Returns whether
    /// this call was the one that killed it.
    pub fn kill(&self, code: u16) -> bool {
        let first = self
            .code
            .compare_exchange(0, code, Ordering::AcqRel, Ordering::Acquire)
            .is_ok();
        if first {
            self.notify.notify_one();
        }
        first
    }

    /// Resolves with the close code once the connection has been killed.
    pub async fn killed(&self) -> u16 {
        loop {
            let notified = self.notify.notified();
            let code = self.code.load(Ordering::Acquire);
            if code != 0 {
                return code;
            }
            notified.await;
        }
    }
}

/// The sending half, held by the hub (and by the connection for its own replies).
#[derive(Clone)]
pub struct Outbox {
    tx: mpsc::Sender<Utf8Bytes>,
    capacity: usize,
    kill: Arc<KillSwitch>,
}

/// What a push did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pushed {
    Queued,
    /// An ephemeral frame was skipped because the queue is half full.
    Skipped,
    /// The queue was full: this push killed the connection as a slow consumer.
    Killed,
    /// The connection is already closed or killed; the frame was dropped.
    Gone,
}

impl Outbox {
    /// A queue of `capacity` frames and the receiving end for the connection's writer.
    pub fn new(capacity: usize) -> (Self, mpsc::Receiver<Utf8Bytes>, Arc<KillSwitch>) {
        let (tx, rx) = mpsc::channel(capacity);
        let kill = Arc::new(KillSwitch::default());
        let outbox = Self {
            tx,
            capacity,
            kill: kill.clone(),
        };
        (outbox, rx, kill)
    }

    /// Queues a durable frame (an event, an ack); a full queue kills the connection.
    pub fn push(&self, frame: Utf8Bytes) -> Pushed {
        match self.tx.try_send(frame) {
            Ok(()) => Pushed::Queued,
            Err(mpsc::error::TrySendError::Full(_)) => {
                if self.kill.kill(close_code::SLOW_CONSUMER) {
                    Pushed::Killed
                } else {
                    Pushed::Gone
                }
            }
            // The connection is already gone; the hub will hear of it.
            Err(mpsc::error::TrySendError::Closed(_)) => Pushed::Gone,
        }
    }

    /// Queues an ephemeral frame unless the queue is at least half full.
    pub fn push_ephemeral(&self, frame: Utf8Bytes) -> Pushed {
        if self.tx.capacity() * 2 <= self.capacity {
            return Pushed::Skipped;
        }
        self.push(frame)
    }

    pub fn kill(&self, code: u16) {
        self.kill.kill(code);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn ephemeral_frames_stop_at_half_and_a_full_queue_kills() {
        let (outbox, mut rx, kill) = Outbox::new(4);
        assert_eq!(outbox.push("a".into()), Pushed::Queued);
        assert_eq!(outbox.push_ephemeral("typing".into()), Pushed::Queued);
        assert_eq!(
            outbox.push_ephemeral("typing".into()),
            Pushed::Skipped,
            "half full"
        );
        assert_eq!(outbox.push("b".into()), Pushed::Queued);
        assert_eq!(outbox.push("c".into()), Pushed::Queued);
        assert_eq!(outbox.push("d".into()), Pushed::Killed);
        assert_eq!(
            outbox.push("e".into()),
            Pushed::Gone,
            "killed once, counted once"
        );
        assert_eq!(kill.killed().await, close_code::SLOW_CONSUMER);
        assert_eq!(rx.recv().await.unwrap().as_str(), "a");
    }
}
