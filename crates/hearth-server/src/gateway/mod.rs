//! The realtime gateway: WebSocket delivery of the event log, with gap-free resume,
//! presence and typing.
//!
//! Data flow: a commit's events leave the store through [`publish::PublishingStore`], go
//! over the [`bus::Bus`] to each node's [`hub::Hub`], which encodes each event once and
//! queues the same bytes to the [`outbox::Outbox`] of every local connection that may see
//! it; each connection's writer ([`connection`]) drains its outbox to the socket.

pub mod bus;
mod commands;
pub mod connection;
pub mod hub;
pub mod outbox;
pub mod publish;
#[cfg(test)]
mod publish_tests;
mod rate;
pub mod upgrade;

use std::time::Duration;

use axum::extract::ws::Utf8Bytes;
use hearth_proto::ServerFrame;

/// Encodes a frame the server sends. Encoding our own types cannot fail.
pub(crate) fn encode(frame: &ServerFrame) -> Utf8Bytes {
    Utf8Bytes::from(serde_json::to_string(frame).expect("server frames serialise"))
}

/// The gateway's limits and timings.
#[derive(Debug, Clone)]
pub struct GatewayConfig {
    /// How often clients must send a frame; silence for 1.5 intervals closes them.
    pub heartbeat: Duration,
    /// How long a new connection may take to authenticate.
    pub auth_timeout: Duration,
    /// Frames queued per connection before it is closed as a slow consumer.
    pub queue_capacity: usize,
    /// The largest frame a client may send.
    pub max_frame_bytes: usize,
    /// The socket's read and write buffer sizes.
    pub buffer_bytes: usize,
    /// Commands per minute per connection.
    pub commands_per_minute: u32,
    /// The public origin (`https://chat.example.com`) cookie-authenticated upgrades must
    /// come from; when unset, the origin of the request's `Host`.
    pub origin: Option<String>,
    /// Presence, typing and ordering tunables.
    pub hub: hub::HubConfig,
}

impl Default for GatewayConfig {
    fn default() -> Self {
        Self {
            heartbeat: Duration::from_secs(30),
            auth_timeout: Duration::from_secs(10),
            queue_capacity: 1024,
            max_frame_bytes: 64 * 1024,
            buffer_bytes: 4 * 1024,
            commands_per_minute: 120,
            origin: None,
            hub: hub::HubConfig::default(),
        }
    }
}
