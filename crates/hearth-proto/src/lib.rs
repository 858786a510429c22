//! Hearth's wire contract: every JSON body that crosses the HTTP API, and nothing else.
//!
//! Architecture Invariant: this is the only crate that defines what crosses the wire. It
//! depends on serde and utoipa only, so clients (hearth-bench, integrations) can use it
//! without pulling in the server. Ids are opaque strings; times are RFC 3339 UTC strings.
//! Request bodies reject unknown fields, so a typo is an error rather than a silent no-op.
//! Every type is snapshot-tested in `tests/snapshots.rs`.

mod account;
mod channel;
mod error;
mod event;
mod file;
mod message;
mod notify;
mod realtime;
mod search;

pub use account::*;
pub use channel::*;
pub use error::*;
pub use event::*;
pub use file::*;
pub use message::*;
pub use notify::*;
pub use realtime::*;
pub use search::*;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// `GET /healthz` and `GET /readyz`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Health {
    /// `ok`, or `unavailable` when a dependency (the database) does not answer.
    pub status: String,
}
