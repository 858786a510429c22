//! The domain model: what a workspace holds, as the store returns it.
//!
//! These types are plain data. They derive serde only so that the event log can snapshot
//! them; the wire format is hearth-proto's business, not theirs.

mod channel;
mod file;
mod message;
mod user;

pub use channel::{Channel, ChannelKind, ChannelRole, ChannelSummary, Member, Membership};
pub use file::{Attachment, File, ImageSize, MAX_FILES_PER_MESSAGE, PurgeFile};
pub use message::{Message, ReactionSummary};
pub use user::{Credentials, Invite, Role, Session, User, Workspace};

/// A value together with the events its transaction appended to the log, in seq order.
/// The server publishes `events` to the bus after the commit that produced them.
#[derive(Debug, Clone)]
pub struct Committed<T> {
    pub value: T,
    pub events: Vec<crate::event::Event>,
}

impl<T> Committed<T> {
    /// A result that changed nothing (an idempotent repeat), so it has no events.
    pub fn unchanged(value: T) -> Self {
        Self {
            value,
            events: Vec::new(),
        }
    }
}
