//! The re-check a push gets when it is delivered, without I/O: the store reads everything
//! it needs in one statement ([`PushCheck`], from
//! [`NotifyStore::push_check`](crate::store::NotifyStore::push_check)) and [`recheck`]
//! decides from that whether the push still goes out, and if not, why.
//!
//! The reasons, in the order they are checked (the cheapest and most telling first):
//! `removed` (the channel is gone or the recipient left it), `read` (their read marker
//! passed the message), `deleted` (the message is gone), `deactivated`, `muted` (the
//! channel), then `do_not_disturb` or `quiet_hours`. Whether the recipient is reading at a
//! client right now (`active`) is the server's to ask after these, and a sender whose
//! account is gone skips the push as `deleted` after that.

use crate::Timestamp;
use crate::id::{MessageId, UserId};
use crate::model::Channel;
use crate::notify::{Notification, NotifyPrefs};
use crate::value::{DisplayName, Handle};

/// What re-checking a push reads, as of one moment. `None` from the store when the
/// channel is gone or the recipient is no longer a member.
#[derive(Debug, Clone, PartialEq)]
pub struct PushCheck {
    /// The notification's channel.
    pub channel: Channel,
    /// The recipient's read marker in the channel.
    pub last_read_seq: i64,
    /// Whether the recipient muted the channel.
    pub muted: bool,
    /// The message; `None` when it no longer exists.
    pub message: Option<PushMessage>,
    /// Whether the recipient's account is deactivated; `None` when it no longer exists.
    pub recipient_deactivated: Option<bool>,
    /// The recipient's preferences (the defaults when they never saved any).
    pub prefs: NotifyPrefs,
    /// The message's author, as the payload shows them; `None` when the message or the
    /// account is gone.
    pub sender: Option<PushSender>,
}

/// What a push says of its message.
#[derive(Debug, Clone, PartialEq)]
pub struct PushMessage {
    pub id: MessageId,
    pub seq: i64,
    pub thread_root_id: Option<MessageId>,
    /// Empty once deleted.
    pub text: String,
    pub created_at: Timestamp,
    pub deleted: bool,
}

/// What a push says of who wrote the message.
#[derive(Debug, Clone, PartialEq)]
pub struct PushSender {
    pub id: UserId,
    pub handle: Handle,
    pub display_name: DisplayName,
}

/// What a push that should still go out is built from. The sender is `None` when their
/// account is gone (the caller skips the push as `deleted`, after asking about
/// attention, as it always has).
#[derive(Debug, Clone, PartialEq)]
pub struct PushContent {
    pub channel: Channel,
    pub message: PushMessage,
    pub sender: Option<PushSender>,
}

/// Whether notification `n` should still be pushed at `now`, given what the store read
/// (`None`: the channel is gone or the recipient left it); if not, the skip reason.
pub fn recheck(
    n: &Notification,
    check: Option<PushCheck>,
    now: Timestamp,
) -> Result<PushContent, &'static str> {
    let Some(check) = check else {
        return Err("removed");
    };
    if check.last_read_seq >= n.seq {
        return Err("read");
    }
    let message = match check.message {
        Some(message) if !message.deleted => message,
        _ => return Err("deleted"),
    };
    if check.recipient_deactivated != Some(false) {
        return Err("deactivated");
    }
    if check.muted {
        return Err("muted");
    }
    if let Some(quiet) = check.prefs.quiet_at(now) {
        return Err(quiet.as_str());
    }
    Ok(PushContent {
        channel: check.channel,
        message,
        sender: check.sender,
    })
}
