//! Reading a workspace's log: filling a hole the bus left in the seq sequence, and the
//! periodic tail check for events a lossy bus never delivered.

use std::sync::atomic::Ordering;

use hearth_core::event::EventPage;
use hearth_core::id::WorkspaceId;
use hearth_proto::close_code;
use tokio::time::Instant;

use super::Command;
use super::shard::Shard;

/// The most events read from the log per gap fill.
const FILL_PAGE: u32 = 500;

impl Shard {
    /// Starts a fill from the log when a hole has stayed open for `gap_wait`, or when the
    /// tail is due a check.
    pub(super) fn check_gap(&mut self, ws_id: &WorkspaceId, now: Instant) {
        let Some(ws) = self.workspaces.get(ws_id) else {
            return;
        };
        let gap_due = ws
            .gap_since
            .is_some_and(|since| now.duration_since(since) >= self.config.gap_wait);
        let tail_due = self.config.tail_check.is_some_and(|every| {
            ws.tail_checked
                .is_none_or(|at| now.duration_since(at) >= every)
        });
        if gap_due || tail_due {
            self.read_log(ws_id, now);
        }
    }

    /// Reads the log after the newest processed seq, in the background; the events come
    /// back as [`Command::Filled`] and go through `publish` like any others (so seqs
    /// already processed are ignored). At most one read per workspace is in flight.
    pub(super) fn read_log(&mut self, ws_id: &WorkspaceId, now: Instant) {
        let Some(ws) = self.workspaces.get_mut(ws_id) else {
            return;
        };
        let Some(delivered) = ws.delivered else {
            return;
        };
        if ws.filling {
            return;
        }
        let Some(inbox) = self.inbox.upgrade() else {
            return;
        };
        ws.filling = true;
        ws.tail_checked = Some(now);
        let store = self.store.clone();
        let ws_id = ws_id.clone();
        tokio::spawn(async move {
            let page = store
                .log_after(&ws_id, delivered, FILL_PAGE)
                .await
                .map_err(|e| e.to_string());
            let _ = inbox.send(Command::Filled { ws: ws_id, page });
        });
    }

    pub(super) fn filled(&mut self, ws_id: &WorkspaceId, page: Result<EventPage, String>) {
        let Some(ws) = self.workspaces.get_mut(ws_id) else {
            return;
        };
        ws.filling = false;
        match page {
            Ok(EventPage::Events { events, .. }) => {
                let missed = ws
                    .delivered
                    .is_some_and(|d| events.iter().any(|e| e.seq > d));
                if missed {
                    self.stats.gaps_filled.fetch_add(1, Ordering::Relaxed);
                    tracing::debug!(workspace = %ws_id, events = events.len(), "filled a gap from the log");
                }
                ws.gap_since = None;
                self.publish(ws_id, events.into_iter());
            }
            Ok(EventPage::ResyncRequired) => {
                // The hole is older than the log: the connections cannot be made whole
                // live. Close them; they reconnect and resync over REST.
                tracing::warn!(workspace = %ws_id, "gap past the log's retention; closing connections");
                for conn in ws.conns.values() {
                    conn.outbox.kill(close_code::SLOW_CONSUMER);
                }
            }
            Err(error) => {
                // Try again on a later tick.
                tracing::warn!(workspace = %ws_id, %error, "filling a gap from the log failed");
            }
        }
    }
}
