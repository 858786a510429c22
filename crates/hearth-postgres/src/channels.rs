//! Channels: creating and changing them, and the two listings (a member's sidebar with its
//! badges, and the public directory).

use std::collections::HashMap;

use hearth_core::Timestamp;
use hearth_core::event::EventPayload;
use hearth_core::id::{ChannelId, UserId, WorkspaceId};
use hearth_core::model::{Channel, ChannelRole, ChannelSummary, Committed};
use hearth_core::store::{ChannelPatch, NewChannel, StoreError, StoreResult};
use hearth_core::value::ChannelName;
use sqlx::{FromRow, PgConnection};

use crate::accounts;
use crate::error::db;
use crate::members;
use crate::rows::{ChannelRow, MembershipRow, channel_columns, membership_columns};

pub(crate) async fn create_channel(
    conn: &mut PgConnection,
    seqs: &mut crate::log::Seqs,
    ws: &WorkspaceId,
    creator: &UserId,
    new: NewChannel,
    now: Timestamp,
) -> StoreResult<Committed<Channel>> {
    if !accounts::is_active(conn, ws, creator).await? {
        return Err(StoreError::NotFound);
    }
    let channel = Channel {
        id: ChannelId::generate(),
        workspace_id: ws.clone(),
        kind: new.kind,
        name: Some(new.name),
        topic: new.topic,
        purpose: new.purpose,
        archived: false,
        created_by: creator.clone(),
        created_at: now,
        last_message_seq: 0,
    };
    insert(conn, &channel, None).await?;
    let events = members::join_new_channel(
        conn,
        seqs,
        &channel,
        &[(creator.clone(), ChannelRole::Admin)],
        now,
    )
    .await?;
    Ok(Committed {
        value: channel,
        events,
    })
}

/// Inserts a channel row; `dm_key` identifies a conversation by its members.
pub(crate) async fn insert(
    conn: &mut PgConnection,
    channel: &Channel,
    dm_key: Option<&str>,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO channels (id, workspace_id, kind, name, topic, purpose, archived, \
         created_by, created_at, last_message_seq, dm_key) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(channel.id.as_str())
    .bind(channel.workspace_id.as_str())
    .bind(channel.kind.as_str())
    .bind(channel.name.as_ref().map(|n| n.as_str()))
    .bind(channel.topic.as_str())
    .bind(channel.purpose.as_str())
    .bind(channel.archived)
    .bind(channel.created_by.as_str())
    .bind(channel.created_at.0)
    .bind(channel.last_message_seq)
    .bind(dm_key)
    .execute(conn)
    .await
    .map_err(db)?;
    Ok(())
}

pub(crate) async fn channel(
    conn: &mut PgConnection,
    ws: &WorkspaceId,
    id: &ChannelId,
) -> StoreResult<Option<Channel>> {
    let row: Option<ChannelRow> = sqlx::query_as(concat!(
        "SELECT ",
        channel_columns!(),
        " FROM channels c WHERE c.workspace_id = $1 AND c.id = $2"
    ))
    .bind(ws.as_str())
    .bind(id.as_str())
    .fetch_optional(conn)
    .await
    .map_err(db)?;
    row.map(ChannelRow::into_channel).transpose()
}

/// The public or private channel with this name (DMs and group DMs have none).
pub(crate) async fn channel_by_name(
    conn: &mut PgConnection,
    ws: &WorkspaceId,
    name: &ChannelName,
) -> StoreResult<Option<Channel>> {
    let row: Option<ChannelRow> = sqlx::query_as(concat!(
        "SELECT ",
        channel_columns!(),
        " FROM channels c WHERE c.workspace_id = $1 AND c.name = $2 \
         AND c.kind IN ('public', 'private')"
    ))
    .bind(ws.as_str())
    .bind(name.as_str())
    .fetch_optional(conn)
    .await
    .map_err(db)?;
    row.map(ChannelRow::into_channel).transpose()
}

#[derive(FromRow)]
struct SummaryRow {
    #[sqlx(flatten)]
    channel: ChannelRow,
    #[sqlx(flatten)]
    membership: MembershipRow,
    unread_count: i64,
    mention_count: i64,
}

/// Two queries whatever the number of channels: the memberships with their badge counts,
/// then the other participants of the user's conversations.
pub(crate) async fn list_user_channels(
    conn: &mut PgConnection,
    ws: &WorkspaceId,
    user: &UserId,
) -> StoreResult<Vec<ChannelSummary>> {
    // Unread: top-level messages by others after the read marker, not deleted. Of those,
    // a DM counts every one as a mention; a channel only direct and broadcast mentions.
    let rows: Vec<SummaryRow> = sqlx::query_as(concat!(
        "SELECT ",
        channel_columns!(),
        ", ",
        membership_columns!(),
        ", (SELECT COUNT(*) FROM messages m \
            WHERE m.workspace_id = mb.workspace_id AND m.channel_id = mb.channel_id \
              AND m.thread_root_id IS NULL AND m.seq > mb.last_read_seq \
              AND NOT m.deleted AND m.user_id != mb.user_id) AS unread_count, \
           (SELECT COUNT(*) FROM messages m \
            WHERE m.workspace_id = mb.workspace_id AND m.channel_id = mb.channel_id \
              AND m.thread_root_id IS NULL AND m.seq > mb.last_read_seq \
              AND NOT m.deleted AND m.user_id != mb.user_id \
              AND (c.kind IN ('dm', 'group_dm') OR m.broadcast IS NOT NULL OR EXISTS ( \
                  SELECT 1 FROM message_mentions mm \
                  WHERE mm.message_id = m.id AND mm.user_id = mb.user_id))) AS mention_count \
         FROM memberships mb \
         JOIN channels c ON c.id = mb.channel_id AND c.workspace_id = mb.workspace_id \
         WHERE mb.workspace_id = $1 AND mb.user_id = $2 \
         ORDER BY c.name IS NULL, c.name, c.id"
    ))
    .bind(ws.as_str())
    .bind(user.as_str())
    .fetch_all(&mut *conn)
    .await
    .map_err(db)?;

    let pairs: Vec<(String, String)> = sqlx::query_as(
        "SELECT other.channel_id, other.user_id FROM memberships mb \
         JOIN channels c ON c.id = mb.channel_id AND c.workspace_id = mb.workspace_id \
         JOIN memberships other ON other.channel_id = mb.channel_id \
         WHERE mb.workspace_id = $1 AND mb.user_id = $2 AND c.kind IN ('dm', 'group_dm') \
           AND other.user_id != mb.user_id \
         ORDER BY other.user_id",
    )
    .bind(ws.as_str())
    .bind(user.as_str())
    .fetch_all(&mut *conn)
    .await
    .map_err(db)?;
    let mut others: HashMap<String, Vec<UserId>> = HashMap::new();
    for (channel, member) in pairs {
        others
            .entry(channel)
            .or_default()
            .push(UserId::from_trusted(member));
    }

    rows.into_iter()
        .map(|row| {
            let channel = row.channel.into_channel()?;
            Ok(ChannelSummary {
                member_ids: others.remove(channel.id.as_str()).unwrap_or_default(),
                channel,
                membership: row.membership.into_membership()?,
                unread_count: row.unread_count,
                mention_count: row.mention_count,
            })
        })
        .collect()
}

#[derive(FromRow)]
struct DirectoryRow {
    #[sqlx(flatten)]
    channel: ChannelRow,
    member_count: i64,
}

pub(crate) async fn browse_channels(
    conn: &mut PgConnection,
    ws: &WorkspaceId,
) -> StoreResult<Vec<(Channel, i64)>> {
    let rows: Vec<DirectoryRow> = sqlx::query_as(concat!(
        "SELECT ",
        channel_columns!(),
        ", (SELECT COUNT(*) FROM memberships mb WHERE mb.channel_id = c.id) AS member_count \
         FROM channels c WHERE c.workspace_id = $1 AND c.kind = 'public' ORDER BY c.name"
    ))
    .bind(ws.as_str())
    .fetch_all(conn)
    .await
    .map_err(db)?;
    rows.into_iter()
        .map(|r| Ok((r.channel.into_channel()?, r.member_count)))
        .collect()
}

pub(crate) async fn update_channel(
    conn: &mut PgConnection,
    seqs: &mut crate::log::Seqs,
    ws: &WorkspaceId,
    id: &ChannelId,
    patch: ChannelPatch,
    now: Timestamp,
) -> StoreResult<Committed<Channel>> {
    let old = channel(conn, ws, id).await?.ok_or(StoreError::NotFound)?;
    let mut new = old.clone();
    if let Some(name) = patch.name {
        new.name = Some(name);
    }
    if let Some(topic) = patch.topic {
        new.topic = topic;
    }
    if let Some(purpose) = patch.purpose {
        new.purpose = purpose;
    }
    if let Some(archived) = patch.archived {
        new.archived = archived;
    }
    if new == old {
        return Ok(Committed::unchanged(new));
    }
    sqlx::query(
        "UPDATE channels SET name = $1, topic = $2, purpose = $3, archived = $4 \
         WHERE workspace_id = $5 AND id = $6",
    )
    .bind(new.name.as_ref().map(|n| n.as_str()))
    .bind(new.topic.as_str())
    .bind(new.purpose.as_str())
    .bind(new.archived)
    .bind(ws.as_str())
    .bind(id.as_str())
    .execute(&mut *conn)
    .await
    .map_err(db)?;
    let event = crate::log::append(
        conn,
        seqs,
        ws,
        now,
        EventPayload::ChannelUpdated {
            channel: new.clone(),
        },
    )
    .await?;
    Ok(Committed {
        value: new,
        events: vec![event],
    })
}
