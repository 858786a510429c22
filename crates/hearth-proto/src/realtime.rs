//! The realtime gateway's frames (`GET /api/v1/realtime`): JSON text frames, one object
//! each. Client frames are tagged by `op`, server frames by `type`.
//!
//! A session: the client sends [`ClientFrame::Auth`] first (or authenticates the upgrade
//! with its session cookie), the server answers [`ServerFrame::Hello`]; with
//! `resume_from`, it replays every event the user may see after that seq and then sends
//! [`ServerFrame::Resumed`] (or [`ServerFrame::ResyncRequired`]), then events flow live in
//! seq order with no gap and no duplicate.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::{Event, Message};

/// A frame from the client.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
pub enum ClientFrame {
    /// The first frame. `token` may be omitted when the upgrade carried a session cookie.
    Auth {
        #[serde(default)]
        token: Option<String>,
        /// The last seq this client has; the server replays what came after it.
        #[serde(default)]
        resume_from: Option<i64>,
    },
    /// Keeps the connection alive; answered with `pong` carrying the same id.
    Ping {
        #[serde(default)]
        id: Option<u64>,
    },
    /// Posts a message, acknowledged with `ack` after it is stored. A client need not
    /// wait for the `ack` to send again: its sends are stored, and answered (`ack` or
    /// `error`), in the order it sent them (a send answered with an error is not stored,
    /// and its retry comes after the sends that followed it); the replies to its other
    /// commands (`pong`, errors that name no `client_msg_id`) may come before those
    /// answers.
    Send {
        channel_id: String,
        text: String,
        #[serde(default)]
        client_msg_id: Option<String>,
        #[serde(default)]
        thread_root_id: Option<String>,
        /// Uploaded files to share, as in `POST /api/v1/channels/{id}/messages`.
        #[serde(default)]
        file_ids: Vec<String>,
    },
    /// The user is typing in a channel.
    Typing { channel_id: String },
    /// Receive presence changes of these users (replaces the previous list; at most 500).
    PresenceSub { user_ids: Vec<String> },
    /// `auto` (follow activity) or `away` (stay away until set back to auto).
    SetPresence { presence: String },
    /// The user interacted with the client (keeps them `active`). A client sends it at
    /// least once a minute while its window has focus and the user is there: for that
    /// minute nothing is pushed to their other devices for what they can already see.
    Activity,
    /// The client's window gained or lost focus. While it has none, notifications are
    /// pushed as if the user were away from the keyboard.
    Focus { focused: bool },
}

/// A frame from the server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerFrame {
    /// Authentication succeeded. `last_seq` is where the live stream starts.
    Hello {
        user_id: String,
        last_seq: i64,
        /// Send a frame (e.g. `ping`) at least this often; the server closes a connection
        /// that stays silent for 1.5 intervals.
        heartbeat_ms: u64,
    },
    /// A durable change, in seq order.
    Event(Event),
    /// The replay after `resume_from` is complete, up to `seq`; live events follow.
    Resumed { seq: i64 },
    /// `resume_from` is older than the log's retention or newer than the log: reload state
    /// over REST. Live events still follow from `hello.last_seq`.
    ResyncRequired,
    Pong {
        #[serde(default)]
        id: Option<u64>,
    },
    /// A `send` was stored (or was a retry of a stored message).
    Ack {
        client_msg_id: Option<String>,
        message: Message,
    },
    /// Someone is typing; show it for `ttl_ms` unless refreshed.
    Typing {
        channel_id: String,
        user_id: String,
        ttl_ms: u64,
    },
    /// A subscribed user's presence: `active`, `away` or `offline`.
    Presence { user_id: String, presence: String },
    /// A command failed. `client_msg_id` names the `send` it answers, if any.
    Error {
        code: String,
        message: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        client_msg_id: Option<String>,
    },
}

/// WebSocket close codes the server uses, and what a client should do.
pub mod close_code {
    /// The server is shutting down: reconnect (to another node) and resume.
    pub const GOING_AWAY: u16 = 1001;
    /// A frame was not valid JSON of a known `op`, or broke the protocol.
    pub const PROTOCOL_ERROR: u16 = 1002;
    /// Too many commands after the rate-limit warning.
    pub const POLICY_VIOLATION: u16 = 1008;
    /// A frame was larger than the limit.
    pub const TOO_BIG: u16 = 1009;
    /// No frame for 1.5 heartbeat intervals: reconnect and resume.
    pub const HEARTBEAT_TIMEOUT: u16 = 4000;
    /// Authentication failed or did not arrive in time: sign in again.
    pub const AUTH_FAILED: u16 = 4001;
    /// The client did not read fast enough and its queue filled: reconnect and resume
    /// from the last seq it processed; nothing is lost.
    pub const SLOW_CONSUMER: u16 = 4008;
}
