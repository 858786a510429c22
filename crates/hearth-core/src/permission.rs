//! Who may do what. Pure functions over the domain model, so the rules are in one place
//! and the same on every backend.
//!
//! Two kinds of "no" exist and they must not be confused:
//! - [`can_see_channel`] false: the caller must get *not found*, exactly as if the channel
//!   did not exist (tenant isolation and private-channel secrecy);
//! - a [`Denied`]: the caller can see the thing but may not do this to it (403).

use crate::model::{Channel, ChannelKind, ChannelRole, File, Membership, Message, Role, User};

/// A refusal the caller is allowed to know about: 403 with a stable code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denied {
    pub code: &'static str,
    pub message: &'static str,
}

const fn denied(code: &'static str, message: &'static str) -> Denied {
    Denied { code, message }
}

type Rule = Result<(), Denied>;

/// Whether the channel exists as far as this user is concerned. Public channels are
/// visible to every non-guest; everything else only to its members.
pub fn can_see_channel(user: &User, channel: &Channel, membership: Option<&Membership>) -> bool {
    membership.is_some() || (channel.kind == ChannelKind::Public && can_read_public_channels(user))
}

/// Whether the public channels of the workspace are open to `user` without joining:
/// to everyone but guests, who see only the channels they were added to.
pub fn can_read_public_channels(user: &User) -> bool {
    user.role != Role::Guest
}

/// Creating public or private channels: everyone but guests.
pub fn can_create_channel(user: &User) -> Rule {
    if user.role == Role::Guest {
        return Err(denied(
            "guests_cannot_create_channels",
            "Guests cannot create channels.",
        ));
    }
    Ok(())
}

/// The workspace's dead notification deliveries (who failed to get what): admins only.
pub fn can_read_dead_letters(user: &User) -> Rule {
    if !user.role.is_admin() {
        return Err(denied(
            "not_admin",
            "Only admins can read the notification dead letters.",
        ));
    }
    Ok(())
}

/// Joining: only public, unarchived channels, and not for guests.
pub fn can_join(user: &User, channel: &Channel) -> Rule {
    if channel.kind != ChannelKind::Public || user.role == Role::Guest {
        return Err(denied("cannot_join", "Only public channels can be joined."));
    }
    not_archived(channel)
}

/// Posting, reacting and marking read need membership; posting needs an open channel.
pub fn can_post(channel: &Channel, membership: Option<&Membership>) -> Rule {
    must_be_member(membership)?;
    not_archived(channel)
}

pub fn must_be_member(membership: Option<&Membership>) -> Rule {
    match membership {
        Some(_) => Ok(()),
        None => Err(denied("not_in_channel", "Join the channel first.")),
    }
}

fn not_archived(channel: &Channel) -> Rule {
    if channel.archived {
        return Err(denied("channel_archived", "This channel is archived."));
    }
    Ok(())
}

fn is_channel_admin(user: &User, membership: Option<&Membership>) -> bool {
    user.role.is_admin() || membership.is_some_and(|m| m.role == ChannelRole::Admin)
}

/// Topic and purpose: any member. Renaming and archiving: the channel's admins and
/// workspace admins. DMs have no settings to change.
pub fn can_update_channel(
    user: &User,
    channel: &Channel,
    membership: Option<&Membership>,
    renames_or_archives: bool,
) -> Rule {
    if channel.kind.is_conversation() {
        return Err(denied(
            "cannot_modify_dm",
            "Direct messages have no settings to change.",
        ));
    }
    if renames_or_archives {
        if !is_channel_admin(user, membership) {
            return Err(denied(
                "not_channel_admin",
                "Only the channel's admins and workspace admins can rename or archive it.",
            ));
        }
        return Ok(());
    }
    if membership.is_none() && !user.role.is_admin() {
        return Err(denied("not_in_channel", "Join the channel first."));
    }
    not_archived(channel)
}

/// Adding people: any member of an open channel (not DMs, whose membership is fixed).
pub fn can_add_members(channel: &Channel, membership: Option<&Membership>) -> Rule {
    if channel.kind.is_conversation() {
        return Err(denied(
            "cannot_modify_dm",
            "Start a new conversation to add people.",
        ));
    }
    can_post(channel, membership)
}

/// Removing someone: themself (leaving), or a channel admin or workspace admin.
/// Nobody leaves a DM; its membership is its identity.
pub fn can_remove_member(
    actor: &User,
    channel: &Channel,
    actor_membership: Option<&Membership>,
    target: &User,
) -> Rule {
    if channel.kind.is_conversation() {
        return Err(denied(
            "cannot_modify_dm",
            "Direct message membership cannot change.",
        ));
    }
    if actor.id == target.id || is_channel_admin(actor, actor_membership) {
        return Ok(());
    }
    Err(denied(
        "not_channel_admin",
        "Only the channel's admins and workspace admins can remove members.",
    ))
}

/// Only the author edits a message, and not once it is deleted.
pub fn can_edit_message(user: &User, message: &Message) -> Rule {
    if message.user_id != user.id {
        return Err(denied(
            "not_message_author",
            "Only the author can edit a message.",
        ));
    }
    if message.deleted {
        return Err(denied("message_deleted", "This message was deleted."));
    }
    Ok(())
}

/// The author or a workspace admin deletes a message.
pub fn can_delete_message(user: &User, message: &Message) -> Rule {
    if message.user_id != user.id && !user.role.is_admin() {
        return Err(denied(
            "not_message_author",
            "Only the author or an admin can delete a message.",
        ));
    }
    Ok(())
}

/// A file is visible to its uploader and to whoever can see a channel where a live
/// message shares it (`shared_in_visible_channel`, which the caller works out with
/// [`can_see_channel`]); to everyone else it does not exist.
pub fn can_see_file(user: &User, file: &File, shared_in_visible_channel: bool) -> bool {
    file.uploader_id == user.id || shared_in_visible_channel
}

/// The uploader or a workspace admin deletes a file.
pub fn can_delete_file(user: &User, file: &File) -> Rule {
    if file.uploader_id != user.id && !user.role.is_admin() {
        return Err(denied(
            "not_file_owner",
            "Only the uploader or an admin can delete a file.",
        ));
    }
    Ok(())
}

/// Inviting: members invite members and guests; only admins invite admins; nobody
/// invites an owner (ownership is granted by an owner, afterwards).
pub fn can_invite(actor: &User, role: Role) -> Rule {
    match (actor.role, role) {
        (Role::Guest, _) => Err(denied(
            "guests_cannot_invite",
            "Guests cannot invite people.",
        )),
        (_, Role::Owner) => Err(denied(
            "cannot_invite_owner",
            "Invite as admin, then transfer ownership.",
        )),
        (Role::Member, Role::Admin) => Err(denied("not_admin", "Only admins can invite admins.")),
        _ => Ok(()),
    }
}

/// Changing another account's role or deactivating it: admins, and only owners may touch
/// owners or make someone an owner.
pub fn can_administer(actor: &User, target: &User, new_role: Option<Role>) -> Rule {
    if !actor.role.is_admin() {
        return Err(denied(
            "not_admin",
            "Only admins can change other accounts.",
        ));
    }
    let touches_owner = target.role == Role::Owner || new_role == Some(Role::Owner);
    if touches_owner && actor.role != Role::Owner {
        return Err(denied("not_owner", "Only owners can change owners."));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Timestamp;
    use crate::id::{ChannelId, UserId, WorkspaceId};
    use crate::value::*;

    fn user(role: Role) -> User {
        User {
            id: UserId::generate(),
            workspace_id: WorkspaceId::generate(),
            email: Email::parse("a@example.com").unwrap(),
            handle: Handle::parse("a").unwrap(),
            display_name: DisplayName::parse("A").unwrap(),
            role,
            status_text: StatusText::parse("").unwrap(),
            status_emoji: None,
            deactivated: false,
            created_at: Timestamp(0),
        }
    }

    fn channel(kind: ChannelKind) -> Channel {
        Channel {
            id: ChannelId::generate(),
            workspace_id: WorkspaceId::generate(),
            kind,
            name: None,
            topic: ChannelTopic::parse("").unwrap(),
            purpose: ChannelPurpose::parse("").unwrap(),
            archived: false,
            created_by: UserId::generate(),
            created_at: Timestamp(0),
            last_message_seq: 0,
        }
    }

    fn membership(user: &User, ch: &Channel, role: ChannelRole) -> Membership {
        Membership {
            channel_id: ch.id.clone(),
            user_id: user.id.clone(),
            role,
            last_read_seq: 0,
            joined_at: Timestamp(0),
        }
    }

    #[test]
    fn private_channels_and_dms_are_invisible_to_non_members() {
        let member = user(Role::Member);
        let admin = user(Role::Admin);
        for kind in [ChannelKind::Private, ChannelKind::Dm, ChannelKind::GroupDm] {
            let ch = channel(kind);
            assert!(!can_see_channel(&member, &ch, None));
            assert!(
                !can_see_channel(&admin, &ch, None),
                "admins do not read private channels"
            );
            let m = membership(&member, &ch, ChannelRole::Member);
            assert!(can_see_channel(&member, &ch, Some(&m)));
        }
        let public = channel(ChannelKind::Public);
        assert!(can_see_channel(&member, &public, None));
        assert!(!can_see_channel(&user(Role::Guest), &public, None));
    }

    #[test]
    fn archived_channels_refuse_posts_and_joins() {
        let u = user(Role::Member);
        let mut ch = channel(ChannelKind::Public);
        ch.archived = true;
        let m = membership(&u, &ch, ChannelRole::Member);
        assert_eq!(
            can_post(&ch, Some(&m)).unwrap_err().code,
            "channel_archived"
        );
        assert_eq!(can_join(&u, &ch).unwrap_err().code, "channel_archived");
    }

    #[test]
    fn renaming_needs_channel_or_workspace_admin() {
        let ch = channel(ChannelKind::Public);
        let member = user(Role::Member);
        let m = membership(&member, &ch, ChannelRole::Member);
        assert!(can_update_channel(&member, &ch, Some(&m), false).is_ok());
        assert!(can_update_channel(&member, &ch, Some(&m), true).is_err());
        let creator = membership(&member, &ch, ChannelRole::Admin);
        assert!(can_update_channel(&member, &ch, Some(&creator), true).is_ok());
        assert!(can_update_channel(&user(Role::Admin), &ch, None, true).is_ok());
    }

    #[test]
    fn role_changes_respect_ownership() {
        let owner = user(Role::Owner);
        let admin = user(Role::Admin);
        let member = user(Role::Member);
        assert!(can_administer(&admin, &member, Some(Role::Admin)).is_ok());
        assert_eq!(
            can_administer(&admin, &owner, None).unwrap_err().code,
            "not_owner"
        );
        assert_eq!(
            can_administer(&admin, &member, Some(Role::Owner))
                .unwrap_err()
                .code,
            "not_owner"
        );
        assert_eq!(
            can_administer(&member, &admin, None).unwrap_err().code,
            "not_admin"
        );
        assert!(can_administer(&owner, &admin, Some(Role::Owner)).is_ok());
    }

    #[test]
    fn message_rules() {
        let author = user(Role::Member);
        let other = user(Role::Member);
        let admin = user(Role::Admin);
        let ch = channel(ChannelKind::Public);
        let msg = Message {
            id: crate::id::MessageId::generate(),
            workspace_id: ch.workspace_id.clone(),
            channel_id: ch.id.clone(),
            seq: 1,
            user_id: author.id.clone(),
            text: "hi".into(),
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
        assert!(can_edit_message(&author, &msg).is_ok());
        assert!(
            can_edit_message(&admin, &msg).is_err(),
            "admins delete, they do not edit"
        );
        assert!(can_delete_message(&admin, &msg).is_ok());
        assert!(can_delete_message(&other, &msg).is_err());
    }
}
