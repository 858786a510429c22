//! Notifications, without I/O: what each user asked for ([`prefs`]), who a message
//! concerns and why ([`decide`]), the excerpt a notification shows ([`excerpt`]), the
//! records the pipeline keeps ([`model`]), how preferences are stored ([`stored`]), and
//! whether a push still goes out when it is delivered ([`recheck`]).
//!
//! The pipeline (run by the server's workers, stored through
//! [`crate::store::NotifyStore`]): the event log is the outbox. Each workspace has a
//! cursor into it; a worker leases a cursor, reads the new messages after it, decides
//! each member's [`Reason`] and records the notifications and their deliveries together
//! with the cursor's new position, in one transaction. Deliveries are then leased, checked
//! again at delivery time (read meanwhile, removed, deleted, active, do-not-disturb),
//! sent, and retried with backoff until they succeed or become dead letters.

pub mod decide;
pub mod excerpt;
pub mod model;
pub mod prefs;
pub mod recheck;
pub mod stored;

pub use decide::reason_for;
pub use excerpt::{EXCERPT_CHARS, excerpt};
pub use model::*;
pub use prefs::{ChannelNotify, Keyword, NotifyLevel, NotifyPrefs, Quiet, QuietHours, TimeZone};
pub use recheck::{PushCheck, PushContent, PushMessage, PushSender, recheck};
pub use stored::StoredPrefs;
