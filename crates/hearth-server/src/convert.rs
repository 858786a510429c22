//! Domain to wire: the one place where hearth-core's model becomes hearth-proto's JSON.

use hearth_core::event::{Event, EventPayload};
use hearth_core::model::{self, Attachment, File};
use hearth_proto as wire;

pub fn workspace(w: &model::Workspace) -> wire::Workspace {
    wire::Workspace {
        id: w.id.to_string(),
        name: w.name.to_string(),
        slug: w.slug.to_string(),
        created_at: w.created_at.to_rfc3339(),
    }
}

pub fn user(u: &model::User) -> wire::User {
    wire::User {
        id: u.id.to_string(),
        handle: u.handle.to_string(),
        display_name: u.display_name.to_string(),
        email: u.email.to_string(),
        role: u.role.as_str().to_owned(),
        status_text: u.status_text.to_string(),
        status_emoji: u.status_emoji.as_ref().map(ToString::to_string),
        deactivated: u.deactivated,
        created_at: u.created_at.to_rfc3339(),
    }
}

pub fn channel(c: &model::Channel) -> wire::Channel {
    wire::Channel {
        id: c.id.to_string(),
        kind: c.kind.as_str().to_owned(),
        name: c.name.as_ref().map(ToString::to_string),
        topic: c.topic.to_string(),
        purpose: c.purpose.to_string(),
        archived: c.archived,
        created_by: c.created_by.to_string(),
        created_at: c.created_at.to_rfc3339(),
        last_seq: c.last_message_seq,
    }
}

pub fn my_channel(s: &model::ChannelSummary) -> wire::MyChannel {
    wire::MyChannel {
        channel: channel(&s.channel),
        last_read_seq: s.membership.last_read_seq,
        unread_count: s.unread_count,
        mention_count: s.mention_count,
        member_ids: s.member_ids.iter().map(ToString::to_string).collect(),
    }
}

pub fn member(m: &model::Member) -> wire::Member {
    wire::Member {
        user: user(&m.user),
        role: m.membership.role.as_str().to_owned(),
        joined_at: m.membership.joined_at.to_rfc3339(),
    }
}

pub fn message(m: &model::Message) -> wire::Message {
    wire::Message {
        id: m.id.to_string(),
        channel_id: m.channel_id.to_string(),
        seq: m.seq,
        user_id: m.user_id.to_string(),
        text: m.text.clone(),
        created_at: m.created_at.to_rfc3339(),
        edited_at: m.edited_at.map(|t| t.to_rfc3339()),
        deleted: m.deleted,
        thread_root_id: m.thread_root_id.as_ref().map(ToString::to_string),
        reply_count: m.reply_count,
        last_reply_at: m.last_reply_at.map(|t| t.to_rfc3339()),
        reactions: m
            .reactions
            .iter()
            .map(|r| wire::Reaction {
                emoji: r.emoji.to_string(),
                count: r.count,
                user_ids: r.user_ids.iter().map(ToString::to_string).collect(),
            })
            .collect(),
        files: m.files.iter().map(attachment).collect(),
        client_msg_id: m.client_msg_id.clone(),
    }
}

/// A file as messages carry it; its URLs are the file endpoints.
pub fn attachment(a: &Attachment) -> wire::File {
    let url = format!("/api/v1/files/{}", a.id);
    wire::File {
        id: a.id.to_string(),
        name: a.name.clone(),
        size: a.size,
        mime_type: a.mime_type.clone(),
        width: a.image.map(|i| i.width),
        height: a.image.map(|i| i.height),
        thumb_url: a.has_thumbnail.then(|| format!("{url}/thumb")),
        url,
    }
}

pub fn file(f: &File) -> wire::File {
    attachment(&f.attachment())
}

pub fn file_info(f: &File) -> wire::FileInfo {
    wire::FileInfo {
        file: attachment(&f.attachment()),
        uploader_id: f.uploader_id.to_string(),
        created_at: f.created_at.to_rfc3339(),
    }
}

pub fn event(e: &Event) -> wire::Event {
    use wire::EventBody as B;
    let body = match &e.payload {
        EventPayload::MessageCreated { message: m } => B::MessageCreated {
            channel_id: m.channel_id.to_string(),
            message: message(m),
        },
        EventPayload::MessageUpdated { message: m } => B::MessageUpdated {
            channel_id: m.channel_id.to_string(),
            message: message(m),
        },
        EventPayload::MessageDeleted { message: m } => B::MessageDeleted {
            channel_id: m.channel_id.to_string(),
            message: message(m),
        },
        EventPayload::ReactionAdded {
            channel_id,
            message_id,
            user_id,
            emoji,
        } => B::ReactionAdded {
            channel_id: channel_id.to_string(),
            message_id: message_id.to_string(),
            user_id: user_id.to_string(),
            emoji: emoji.to_string(),
        },
        EventPayload::ReactionRemoved {
            channel_id,
            message_id,
            user_id,
            emoji,
        } => B::ReactionRemoved {
            channel_id: channel_id.to_string(),
            message_id: message_id.to_string(),
            user_id: user_id.to_string(),
            emoji: emoji.to_string(),
        },
        EventPayload::ChannelCreated {
            channel: c,
            member_ids,
        } => B::ChannelCreated {
            channel_id: c.id.to_string(),
            channel: channel(c),
            member_ids: member_ids.iter().map(ToString::to_string).collect(),
        },
        EventPayload::ChannelUpdated { channel: c } => B::ChannelUpdated {
            channel_id: c.id.to_string(),
            channel: channel(c),
        },
        EventPayload::MemberJoined {
            channel_id,
            user_id,
        } => B::MemberJoined {
            channel_id: channel_id.to_string(),
            user_id: user_id.to_string(),
        },
        EventPayload::MemberLeft {
            channel_id,
            user_id,
        } => B::MemberLeft {
            channel_id: channel_id.to_string(),
            user_id: user_id.to_string(),
        },
        EventPayload::ReadMarkerUpdated {
            channel_id,
            last_read_seq,
            ..
        } => B::ReadMarkerUpdated {
            channel_id: channel_id.to_string(),
            last_read_seq: *last_read_seq,
        },
        EventPayload::UserCreated { user: u } => B::UserCreated { user: user(u) },
        EventPayload::UserUpdated { user: u } => B::UserUpdated { user: user(u) },
    };
    wire::Event {
        seq: e.seq,
        created_at: e.created_at.to_rfc3339(),
        event: body,
    }
}
