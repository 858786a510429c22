//! Who is notified of a message, and why: one pure function over a candidate, so every
//! rule is tested here and applied the same way whatever the backend.

use crate::mention::Broadcast;
use crate::notify::{NotifyLevel, NotifySource, Reason};

use super::Candidate;

/// Why `candidate` should be notified of `source`, or `None`. `here_active` says whether
/// the candidate is active now, which only matters for `@here`.
///
/// The rules, in order: never the author; nothing from a muted channel or one set to
/// nothing; in a DM or group DM, everything; then a mention by name, `@channel` or
/// `@everyone`, `@here` (if active), a reply in a thread they took part in (unless they
/// turned thread notifications off), one of their keywords, and last every top-level
/// message of a channel set to `all`.
pub fn reason_for(
    source: &NotifySource,
    candidate: &Candidate,
    here_active: bool,
) -> Option<Reason> {
    let message = &source.message;
    if candidate.user_id == message.user_id || candidate.notify.muted {
        return None;
    }
    let level = candidate.notify.level.resolve(source.channel.kind);
    if level == NotifyLevel::Nothing {
        return None;
    }
    if source.channel.kind.is_conversation() {
        return Some(Reason::Dm);
    }
    if source.mentioned.contains(&candidate.user_id) {
        return Some(Reason::Mention);
    }
    match source.broadcast {
        Some(Broadcast::Channel | Broadcast::Everyone) => return Some(Reason::Channel),
        Some(Broadcast::Here) if here_active => return Some(Reason::Here),
        _ => {}
    }
    let is_reply = message.thread_root_id.is_some();
    if is_reply && candidate.thread_participant && candidate.prefs.thread_replies {
        return Some(Reason::Thread);
    }
    if candidate
        .prefs
        .keywords
        .iter()
        .any(|k| k.matches(&message.text))
    {
        return Some(Reason::Keyword);
    }
    (level == NotifyLevel::All && !is_reply).then_some(Reason::All)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Timestamp;
    use crate::id::{ChannelId, MessageId, UserId, WorkspaceId};
    use crate::model::{Channel, ChannelKind, Message};
    use crate::notify::{ChannelNotify, Keyword, NotifyPrefs};
    use crate::value::{ChannelPurpose, ChannelTopic};

    fn source(kind: ChannelKind, author: &UserId, text: &str) -> NotifySource {
        let ws = WorkspaceId::generate();
        let channel = Channel {
            id: ChannelId::generate(),
            workspace_id: ws.clone(),
            kind,
            name: None,
            topic: ChannelTopic::from_trusted(String::new()),
            purpose: ChannelPurpose::from_trusted(String::new()),
            archived: false,
            created_by: author.clone(),
            created_at: Timestamp(0),
            last_message_seq: 1,
        };
        let message = Message {
            id: MessageId::generate(),
            workspace_id: ws,
            channel_id: channel.id.clone(),
            seq: 1,
            user_id: author.clone(),
            text: text.into(),
            created_at: Timestamp(0),
            edited_at: None,
            deleted: false,
            thread_root_id: None,
            reply_count: 0,
            last_reply_at: None,
            reactions: vec![],
            files: vec![],
            client_msg_id: None,
        };
        NotifySource {
            message,
            channel,
            mentioned: vec![],
            broadcast: None,
        }
    }

    fn candidate(level: NotifyLevel) -> Candidate {
        Candidate {
            user_id: UserId::generate(),
            notify: ChannelNotify {
                level,
                muted: false,
            },
            prefs: NotifyPrefs::default(),
            last_read_seq: 0,
            thread_participant: false,
        }
    }

    #[test]
    fn conversations_notify_everyone_but_the_author() {
        let author = UserId::generate();
        let dm = source(ChannelKind::Dm, &author, "hi");
        assert_eq!(
            reason_for(&dm, &candidate(NotifyLevel::Default), false),
            Some(Reason::Dm)
        );
        let mut me = candidate(NotifyLevel::Default);
        me.user_id = author;
        assert_eq!(reason_for(&dm, &me, false), None);
        assert_eq!(
            reason_for(&dm, &candidate(NotifyLevel::Nothing), false),
            None
        );
    }

    #[test]
    fn channels_notify_mentions_by_default() {
        let author = UserId::generate();
        let mut msg = source(ChannelKind::Public, &author, "hello");
        let reader = candidate(NotifyLevel::Default);
        assert_eq!(reason_for(&msg, &reader, false), None);
        msg.mentioned.push(reader.user_id.clone());
        assert_eq!(reason_for(&msg, &reader, false), Some(Reason::Mention));
        let mut muted = reader.clone();
        muted.notify.muted = true;
        assert_eq!(reason_for(&msg, &muted, false), None);
        assert_eq!(
            reason_for(&msg, &candidate(NotifyLevel::All), false),
            Some(Reason::All)
        );
    }

    #[test]
    fn broadcasts_and_here_needs_activity() {
        let author = UserId::generate();
        let mut msg = source(ChannelKind::Private, &author, "<!here> lunch");
        msg.broadcast = Some(Broadcast::Here);
        let reader = candidate(NotifyLevel::Mentions);
        assert_eq!(reason_for(&msg, &reader, false), None);
        assert_eq!(reason_for(&msg, &reader, true), Some(Reason::Here));
        msg.broadcast = Some(Broadcast::Everyone);
        assert_eq!(reason_for(&msg, &reader, false), Some(Reason::Channel));
        assert_eq!(
            reason_for(&msg, &candidate(NotifyLevel::Nothing), false),
            None
        );
    }

    #[test]
    fn thread_replies_keywords_and_all() {
        let author = UserId::generate();
        let mut reply = source(ChannelKind::Public, &author, "the build is green");
        reply.message.thread_root_id = Some(MessageId::generate());
        let mut participant = candidate(NotifyLevel::Mentions);
        participant.thread_participant = true;
        assert_eq!(
            reason_for(&reply, &participant, false),
            Some(Reason::Thread)
        );
        participant.prefs.thread_replies = false;
        assert_eq!(reason_for(&reply, &participant, false), None);
        // `all` covers top-level messages, not every reply of every thread.
        assert_eq!(
            reason_for(&reply, &candidate(NotifyLevel::All), false),
            None
        );
        let mut watcher = candidate(NotifyLevel::Mentions);
        watcher.prefs.keywords = vec![Keyword::parse("Build").unwrap()];
        assert_eq!(reason_for(&reply, &watcher, false), Some(Reason::Keyword));
    }
}
