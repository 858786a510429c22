//! What a notification says: the payload pushed to a target, built at delivery time from
//! the message as it is then (an edit since is shown as edited; a deletion was caught by
//! the re-check before this).

use hearth_core::model::Channel;
use hearth_core::notify::{Notification, PushMessage, PushSender, excerpt};
use hearth_proto::{NotificationPayload, PayloadChannel, PayloadMessage, PayloadSender};

pub fn build(
    notification: &Notification,
    channel: &Channel,
    message: &PushMessage,
    sender: &PushSender,
) -> NotificationPayload {
    NotificationPayload {
        id: notification.id.to_string(),
        workspace_id: notification.workspace_id.to_string(),
        reason: notification.reason.as_str().to_owned(),
        channel: PayloadChannel {
            id: channel.id.to_string(),
            name: channel.name.as_ref().map(|n| n.as_str().to_owned()),
            kind: channel.kind.as_str().to_owned(),
        },
        sender: PayloadSender {
            id: sender.id.to_string(),
            handle: sender.handle.as_str().to_owned(),
            display_name: sender.display_name.as_str().to_owned(),
        },
        message: PayloadMessage {
            id: message.id.to_string(),
            seq: message.seq,
            thread_root_id: message.thread_root_id.as_ref().map(ToString::to_string),
            excerpt: excerpt(&message.text),
        },
        created_at: message.created_at.to_rfc3339(),
    }
}
