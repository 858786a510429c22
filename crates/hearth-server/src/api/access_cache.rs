//! A short-lived memo of channel access lookups ((workspace, channel, user) → the channel
//! and the user's membership), so posting and reading history, a chat server's two
//! busiest requests, do not each cost a database read before their own.
//!
//! Only [`super::access::channel_to_use`] reads it, and only for the permission checks:
//! an entry's counters (the channel's newest seq, the membership's read marker) may be as
//! old as the entry, so handlers that show or compare them go through `access::channel`.
//!
//! # Why it stays correct
//!
//! What the checks look at changes only with events the hub hears (`Hub::publish`, this
//! node's before it answers the change, other nodes' over the bus), and each forgets what
//! it makes stale:
//! - `member.joined` / `member.left`: that user's entry for that channel (a non-member of
//!   a public channel becomes a member, a member of a private one loses it);
//! - `channel.updated` (archived, renamed, made private...): every entry of the channel.
//!
//! The account itself (deactivation, guest role) is not in an entry: it comes with the
//! request's session, which the session cache keeps true. Lookups that find nothing are
//! not remembered, so a channel created a moment ago is found at once. A lookup racing
//! with a change cannot re-insert what it read, and with several nodes a lost bus signal
//! is outlived by at most [`SHARED_TTL`], one second (see [`crate::memo`]); on one node
//! entries live longer, as nothing is lost there.

use std::time::Duration;

use hearth_core::event::EventPayload;
use hearth_core::id::{ChannelId, UserId, WorkspaceId};
use hearth_core::model::{Channel, Membership};

#[cfg(doc)]
use crate::memo::SHARED_TTL;
use crate::memo::{Memo, Ticket};

/// At most this many lookups are remembered (about 0.5 KiB each, so 10 MiB at most): the
/// distinct (channel, user) pairs posting or reading within a TTL that one node serves
/// without reading the store first. Past it the memo starts over (see [`Memo`]).
const CAPACITY: usize = 20_000;

type Key = (WorkspaceId, ChannelId, UserId);

/// A channel and the user's membership of it, if any.
pub type Access = (Channel, Option<Membership>);

pub struct AccessCache {
    memo: Memo<Key, Access>,
}

impl AccessCache {
    /// An empty cache whose entries are served for `ttl` ([`crate::memo::ttl`]).
    pub fn new(ttl: Duration) -> Self {
        Self {
            memo: Memo::new(CAPACITY, ttl),
        }
    }

    /// What the store said of `user` and `channel` a moment ago, or the ticket with which
    /// to store what it says now.
    pub fn get(
        &self,
        ws: &WorkspaceId,
        channel: &ChannelId,
        user: &UserId,
    ) -> Result<Access, Ticket> {
        self.memo
            .get(&(ws.clone(), channel.clone(), user.clone()), |_| true)
    }

    pub fn store(&self, ticket: Ticket, user: &UserId, access: &Access) {
        let channel = &access.0;
        let key = (
            channel.workspace_id.clone(),
            channel.id.clone(),
            user.clone(),
        );
        self.memo.store(ticket, key, access.clone());
    }

    /// Forgets what `event`, committed in `ws`, makes stale.
    pub fn forget_on(&self, ws: &WorkspaceId, event: &EventPayload) {
        match event {
            EventPayload::MemberJoined {
                channel_id,
                user_id,
            }
            | EventPayload::MemberLeft {
                channel_id,
                user_id,
            } => self
                .memo
                .forget(&(ws.clone(), channel_id.clone(), user_id.clone())),
            EventPayload::ChannelUpdated { channel } => self
                .memo
                .forget_where(|(w, c, _), _| w == ws && *c == channel.id),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use hearth_core::Timestamp;
    use hearth_core::model::{ChannelKind, ChannelRole};
    use hearth_core::value::{ChannelName, ChannelPurpose, ChannelTopic};

    use super::*;

    fn channel(ws: &WorkspaceId) -> Channel {
        Channel {
            id: ChannelId::generate(),
            workspace_id: ws.clone(),
            kind: ChannelKind::Private,
            name: Some(ChannelName::parse("plans").unwrap()),
            topic: ChannelTopic::parse("").unwrap(),
            purpose: ChannelPurpose::parse("").unwrap(),
            archived: false,
            created_by: UserId::generate(),
            created_at: Timestamp(0),
            last_message_seq: 0,
        }
    }

    fn membership(channel: &Channel, user: &UserId) -> Membership {
        Membership {
            channel_id: channel.id.clone(),
            user_id: user.clone(),
            role: ChannelRole::Member,
            last_read_seq: 0,
            joined_at: Timestamp(0),
        }
    }

    fn remember(cache: &AccessCache, channel: &Channel, user: &UserId) {
        let ws = &channel.workspace_id;
        let ticket = cache.get(ws, &channel.id, user).unwrap_err();
        let access = (channel.clone(), Some(membership(channel, user)));
        cache.store(ticket, user, &access);
        assert!(cache.get(ws, &channel.id, user).is_ok());
    }

    #[test]
    fn leaving_a_channel_forgets_only_that_members_access() {
        let cache = AccessCache::new(crate::memo::SHARED_TTL);
        let ws = WorkspaceId::generate();
        let (plans, other) = (channel(&ws), channel(&ws));
        let (ann, bob) = (UserId::generate(), UserId::generate());
        remember(&cache, &plans, &ann);
        remember(&cache, &plans, &bob);
        remember(&cache, &other, &ann);
        let left = EventPayload::MemberLeft {
            channel_id: plans.id.clone(),
            user_id: ann.clone(),
        };
        cache.forget_on(&ws, &left);
        assert!(cache.get(&ws, &plans.id, &ann).is_err());
        assert!(cache.get(&ws, &plans.id, &bob).is_ok());
        assert!(cache.get(&ws, &other.id, &ann).is_ok());
    }

    #[test]
    fn joining_and_channel_changes_forget_what_they_touch() {
        let cache = AccessCache::new(crate::memo::SHARED_TTL);
        let ws = WorkspaceId::generate();
        let plans = channel(&ws);
        let (ann, bob) = (UserId::generate(), UserId::generate());
        remember(&cache, &plans, &ann);
        remember(&cache, &plans, &bob);
        let joined = EventPayload::MemberJoined {
            channel_id: plans.id.clone(),
            user_id: bob.clone(),
        };
        cache.forget_on(&ws, &joined);
        assert!(cache.get(&ws, &plans.id, &bob).is_err());
        assert!(cache.get(&ws, &plans.id, &ann).is_ok());
        let archived = Channel {
            archived: true,
            ..plans.clone()
        };
        cache.forget_on(&ws, &EventPayload::ChannelUpdated { channel: archived });
        assert!(cache.get(&ws, &plans.id, &ann).is_err());
    }
}
