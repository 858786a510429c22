//! Who is in which channel: memberships, DMs and group DMs (which are channels made of
//! exactly their members), and read markers.
//!
//! Every join opens a membership span in the log and every removal closes one (see
//! [`crate::log`]), in the same transaction as the membership row.

use hearth_core::Timestamp;
use hearth_core::event::{Event, EventPayload};
use hearth_core::id::{ChannelId, UserId, WorkspaceId};
use hearth_core::model::{Channel, ChannelKind, ChannelRole, Committed, Member, Membership};
use hearth_core::store::{StoreError, StoreResult};
use hearth_core::value::{ChannelPurpose, ChannelTopic};
use sqlx::{FromRow, PgConnection};

use crate::channels;
use crate::error::db;
use crate::log;
use crate::rows::{
    ChannelRow, MembershipRow, UserRow, channel_columns, membership_columns, text_array,
    user_columns,
};

/// The largest group DM, creator included.
const MAX_CONVERSATION: usize = 9;

/// Queries that know the channel compare a membership's workspace as
/// `(mb.workspace_id || '') = $1`: a filter on the row, not an index condition, so the
/// primary key (channel_id, user_id) is the only index that matches them. Compared as a
/// column, `memberships_by_user` (workspace_id, user_id) matches as well, and on
/// statistics older than the table's growth the planner took it and filtered every
/// membership of the user (0.27 ms for a user in 1,000 channels, against 0.02 ms) or, for
/// a page of members, of the workspace. A join to `users` compares the workspace the same
/// way, for `users_handle` (workspace_id, handle).
const MEMBERSHIP: &str = concat!(
    "SELECT ",
    membership_columns!(),
    " FROM memberships mb \
     WHERE mb.channel_id = $2 AND mb.user_id = $3 AND (mb.workspace_id || '') = $1"
);

pub(crate) async fn membership(
    conn: &mut PgConnection,
    ws: &WorkspaceId,
    channel: &ChannelId,
    user: &UserId,
) -> StoreResult<Option<Membership>> {
    let row: Option<MembershipRow> = sqlx::query_as(MEMBERSHIP)
        .bind(ws.as_str())
        .bind(channel.as_str())
        .bind(user.as_str())
        .fetch_optional(conn)
        .await
        .map_err(db)?;
    row.map(MembershipRow::into_membership).transpose()
}

/// Appends `channel.created` for a channel just inserted, then makes each of `members` a
/// member with `member.joined`. Their spans start at `channel.created`, so every founding
/// member sees the channel's whole log.
pub(crate) async fn join_new_channel(
    conn: &mut PgConnection,
    seqs: &mut crate::log::Seqs,
    channel: &Channel,
    members: &[(UserId, ChannelRole)],
    now: Timestamp,
) -> StoreResult<Vec<Event>> {
    let ws = &channel.workspace_id;
    let created = log::append(
        conn,
        seqs,
        ws,
        now,
        EventPayload::ChannelCreated {
            channel: channel.clone(),
            member_ids: {
                let mut ids: Vec<UserId> = members.iter().map(|(u, _)| u.clone()).collect();
                ids.sort();
                ids
            },
        },
    )
    .await?;
    let from_seq = created.seq;
    let mut events = vec![created];
    for (user, role) in members {
        events.push(join(conn, seqs, channel, user, *role, 0, now).await?);
    }
    for (user, _) in members {
        log::open_span(conn, ws, &channel.id, user, from_seq).await?;
    }
    Ok(events)
}

/// Inserts a membership and appends its `member.joined`; the caller opens the span.
async fn join(
    conn: &mut PgConnection,
    seqs: &mut crate::log::Seqs,
    channel: &Channel,
    user: &UserId,
    role: ChannelRole,
    last_read_seq: i64,
    now: Timestamp,
) -> StoreResult<Event> {
    let (ws, channel) = (&channel.workspace_id, &channel.id);
    sqlx::query(
        "INSERT INTO memberships (workspace_id, channel_id, user_id, role, last_read_seq, \
         joined_at) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(ws.as_str())
    .bind(channel.as_str())
    .bind(user.as_str())
    .bind(role.as_str())
    .bind(last_read_seq)
    .bind(now.0)
    .execute(&mut *conn)
    .await
    .map_err(db)?;
    log::append(
        conn,
        seqs,
        ws,
        now,
        EventPayload::MemberJoined {
            channel_id: channel.clone(),
            user_id: user.clone(),
        },
    )
    .await
}

/// Whether every one of `ids` (already deduplicated) is an active account of `ws`.
async fn all_active(
    conn: &mut PgConnection,
    ws: &WorkspaceId,
    ids: &[UserId],
) -> StoreResult<bool> {
    let found: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM users WHERE workspace_id = $1 AND NOT deactivated \
         AND id = ANY($2)",
    )
    .bind(ws.as_str())
    .bind(text_array(ids.iter().map(UserId::as_str)))
    .fetch_one(conn)
    .await
    .map_err(db)?;
    Ok(found == ids.len() as i64)
}

/// New members start with everything before their arrival read, as in Slack: joining
/// a busy channel should not light up hundreds of unread messages.
pub(crate) async fn add_members(
    conn: &mut PgConnection,
    seqs: &mut crate::log::Seqs,
    ws: &WorkspaceId,
    channel: &ChannelId,
    users: &[UserId],
    now: Timestamp,
) -> StoreResult<Committed<Vec<UserId>>> {
    let channel = channels::channel(conn, ws, channel)
        .await?
        .ok_or(StoreError::NotFound)?;
    let mut wanted: Vec<UserId> = Vec::with_capacity(users.len());
    for user in users {
        if !wanted.contains(user) {
            wanted.push(user.clone());
        }
    }
    if !all_active(conn, ws, &wanted).await? {
        return Err(StoreError::NotFound);
    }
    let existing: Vec<String> = sqlx::query_scalar(
        "SELECT user_id FROM memberships WHERE workspace_id = $1 AND channel_id = $2 \
         AND user_id = ANY($3)",
    )
    .bind(ws.as_str())
    .bind(channel.id.as_str())
    .bind(text_array(wanted.iter().map(UserId::as_str)))
    .fetch_all(&mut *conn)
    .await
    .map_err(db)?;
    wanted.retain(|u| !existing.iter().any(|e| e == u.as_str()));

    let mut events = Vec::with_capacity(wanted.len());
    for user in &wanted {
        let role = ChannelRole::Member;
        let read = channel.last_message_seq;
        events.push(join(conn, seqs, &channel, user, role, read, now).await?);
    }
    // Everyone added together sees every `member.joined` of the batch.
    if let Some(first) = events.first().map(|e| e.seq) {
        for user in &wanted {
            log::open_span(conn, ws, &channel.id, user, first).await?;
        }
    }
    Ok(Committed {
        value: wanted,
        events,
    })
}

pub(crate) async fn remove_member(
    conn: &mut PgConnection,
    seqs: &mut crate::log::Seqs,
    ws: &WorkspaceId,
    channel: &ChannelId,
    user: &UserId,
    now: Timestamp,
) -> StoreResult<Committed<bool>> {
    if channels::channel(conn, ws, channel).await?.is_none() {
        return Err(StoreError::NotFound);
    }
    let deleted = sqlx::query(
        "DELETE FROM memberships WHERE workspace_id = $1 AND channel_id = $2 AND user_id = $3",
    )
    .bind(ws.as_str())
    .bind(channel.as_str())
    .bind(user.as_str())
    .execute(&mut *conn)
    .await
    .map_err(db)?;
    if deleted.rows_affected() == 0 {
        return Ok(Committed::unchanged(false));
    }
    let left = log::append(
        conn,
        seqs,
        ws,
        now,
        EventPayload::MemberLeft {
            channel_id: channel.clone(),
            user_id: user.clone(),
        },
    )
    .await?;
    log::close_span(conn, ws, channel, user, left.seq).await?;
    Ok(Committed {
        value: true,
        events: vec![left],
    })
}

#[derive(FromRow)]
struct MemberRow {
    #[sqlx(flatten)]
    user: UserRow,
    #[sqlx(flatten)]
    membership: MembershipRow,
}

/// Binds `$1` workspace, `$2` channel, `$3` the user id to start after, `$4` limit.
const MEMBERS_PAGE: &str = concat!(
    "SELECT ",
    user_columns!(),
    ", ",
    membership_columns!(),
    " FROM memberships mb \
     JOIN users u ON u.id = mb.user_id AND (u.workspace_id || '') = mb.workspace_id \
     WHERE mb.channel_id = $2 AND mb.user_id > $3 AND (mb.workspace_id || '') = $1 \
     ORDER BY mb.user_id LIMIT $4"
);

pub(crate) async fn list_members(
    conn: &mut PgConnection,
    ws: &WorkspaceId,
    channel: &ChannelId,
    after: Option<&UserId>,
    limit: u32,
) -> StoreResult<Vec<Member>> {
    let rows: Vec<MemberRow> = sqlx::query_as(MEMBERS_PAGE)
        .bind(ws.as_str())
        .bind(channel.as_str())
        .bind(after.map_or("", UserId::as_str))
        .bind(i64::from(limit))
        .fetch_all(conn)
        .await
        .map_err(db)?;
    rows.into_iter()
        .map(|r| {
            Ok(Member {
                user: r.user.into_user()?,
                membership: r.membership.into_membership()?,
            })
        })
        .collect()
}

/// Finds or creates the conversation between exactly these accounts (the creator is
/// always one of them). Its identity is the sorted member list, kept in `channels.dm_key`.
/// Concurrent opens queue on the workspace lock, so the later one finds the conversation
/// the first created; the unique index on `dm_key` backs that up.
pub(crate) async fn open_conversation(
    conn: &mut PgConnection,
    seqs: &mut crate::log::Seqs,
    ws: &WorkspaceId,
    creator: &UserId,
    members: &[UserId],
    now: Timestamp,
) -> StoreResult<Committed<Channel>> {
    let mut ids: Vec<UserId> = members.to_vec();
    ids.push(creator.clone());
    ids.sort();
    ids.dedup();
    if ids.len() > MAX_CONVERSATION {
        return Err(StoreError::Invalid("too_many_members"));
    }
    if !all_active(conn, ws, &ids).await? {
        return Err(StoreError::NotFound);
    }
    let key = dm_key(&ids);
    if let Some(channel) = conversation_by_key(conn, ws, &key).await? {
        return Ok(Committed::unchanged(channel));
    }

    let channel = Channel {
        id: ChannelId::generate(),
        workspace_id: ws.clone(),
        kind: if ids.len() <= 2 {
            ChannelKind::Dm
        } else {
            ChannelKind::GroupDm
        },
        name: None,
        topic: ChannelTopic::from_trusted(String::new()),
        purpose: ChannelPurpose::from_trusted(String::new()),
        archived: false,
        created_by: creator.clone(),
        created_at: now,
        last_message_seq: 0,
    };
    channels::insert(conn, &channel, Some(&key)).await?;
    let members: Vec<(UserId, ChannelRole)> = ids
        .into_iter()
        .map(|id| (id, ChannelRole::Member))
        .collect();
    let events = join_new_channel(conn, seqs, &channel, &members, now).await?;
    Ok(Committed {
        value: channel,
        events,
    })
}

/// A conversation's identity: its members' ids, sorted and without repeats, joined
/// with `,`.
fn dm_key(sorted_ids: &[UserId]) -> String {
    sorted_ids
        .iter()
        .map(UserId::as_str)
        .collect::<Vec<_>>()
        .join(",")
}

async fn conversation_by_key(
    conn: &mut PgConnection,
    ws: &WorkspaceId,
    key: &str,
) -> StoreResult<Option<Channel>> {
    let row: Option<ChannelRow> = sqlx::query_as(concat!(
        "SELECT ",
        channel_columns!(),
        " FROM channels c WHERE c.workspace_id = $1 AND c.dm_key = $2"
    ))
    .bind(ws.as_str())
    .bind(key)
    .fetch_optional(conn)
    .await
    .map_err(db)?;
    row.map(ChannelRow::into_channel).transpose()
}

/// The DM or group DM between exactly `members` (the caller included, in any order,
/// repeats allowed), found by its key as [`open_conversation`] computes it; never creates
/// one.
pub(crate) async fn find_conversation(
    conn: &mut PgConnection,
    ws: &WorkspaceId,
    members: &[UserId],
) -> StoreResult<Option<Channel>> {
    let mut ids = members.to_vec();
    ids.sort();
    ids.dedup();
    if ids.is_empty() {
        return Ok(None);
    }
    conversation_by_key(conn, ws, &dm_key(&ids)).await
}

pub(crate) async fn mark_read(
    conn: &mut PgConnection,
    seqs: &mut crate::log::Seqs,
    ws: &WorkspaceId,
    channel: &ChannelId,
    user: &UserId,
    seq: i64,
    now: Timestamp,
) -> StoreResult<Committed<Membership>> {
    let mut current = membership(conn, ws, channel, user)
        .await?
        .ok_or(StoreError::NotFound)?;
    let newest: i64 = sqlx::query_scalar(
        "SELECT last_message_seq FROM channels WHERE workspace_id = $1 AND id = $2",
    )
    .bind(ws.as_str())
    .bind(channel.as_str())
    .fetch_one(&mut *conn)
    .await
    .map_err(db)?;
    if seq < 0 || seq > newest {
        return Err(StoreError::Invalid("invalid_seq"));
    }
    if current.last_read_seq == seq {
        return Ok(Committed::unchanged(current));
    }
    sqlx::query(
        "UPDATE memberships SET last_read_seq = $1 \
         WHERE workspace_id = $2 AND channel_id = $3 AND user_id = $4",
    )
    .bind(seq)
    .bind(ws.as_str())
    .bind(channel.as_str())
    .bind(user.as_str())
    .execute(&mut *conn)
    .await
    .map_err(db)?;
    current.last_read_seq = seq;
    let event = log::append(
        conn,
        seqs,
        ws,
        now,
        EventPayload::ReadMarkerUpdated {
            channel_id: channel.clone(),
            user_id: user.clone(),
            last_read_seq: seq,
        },
    )
    .await?;
    Ok(Committed {
        value: current,
        events: vec![event],
    })
}

#[cfg(test)]
mod tests {
    //! The membership reads' plans on statistics taken before the tables grew: each must
    //! reach a membership through the channel, whatever the planner believes.

    use sqlx::{AssertSqlSafe, Executor};

    use super::*;
    use crate::notify::sources::CONCERNED;
    use crate::stale_statistics::{self, explain, freeze_statistics, scratch};

    /// Indexes that lead with the workspace: matching one of them, a read walks every
    /// membership of the user or of the workspace, or every user of the workspace.
    const WALKS: [&str; 3] = ["memberships_by_user", "users_handle", "users_email"];

    async fn plan(conn: &mut PgConnection, sql: &str, binds: &[&str]) -> String {
        let mut query = explain(sql);
        for bind in binds {
            query = query.bind(*bind);
        }
        stale_statistics::plan(conn, query).await
    }

    fn assert_no_walk(plan: &str) {
        for index in WALKS {
            assert!(!plan.contains(index), "{plan}");
        }
    }

    #[tokio::test]
    async fn membership_reads_go_through_the_channel_whatever_the_statistics() {
        let mut s = scratch().await;
        let (ws, owner) = (s.f.ws_id().as_str(), s.f.owner.id.as_str());
        let conn = &mut s.conn;

        // Statistics of three users and no channels; then 2,000 users, and 1,000 channels
        // that the owner is in, the first of them with everyone.
        freeze_statistics(conn, &["users", "memberships", "channels"]).await;
        sqlx::query(
            "INSERT INTO users (id, workspace_id, email, handle, display_name, role, \
               password_hash, created_at) \
             SELECT 'UX' || i, $1, 'u' || i || '@example.com', 'u' || i, 'U', 'member', '', 0 \
             FROM generate_series(1, 2000) i",
        )
        .bind(ws)
        .execute(&mut *conn)
        .await
        .unwrap();
        sqlx::query(
            "INSERT INTO channels (id, workspace_id, kind, name, created_by, created_at) \
             SELECT 'CX' || i, $1, 'public', 'c' || i, $2, 0 FROM generate_series(1, 1000) i",
        )
        .bind(ws)
        .bind(owner)
        .execute(&mut *conn)
        .await
        .unwrap();
        sqlx::query(
            "INSERT INTO memberships (workspace_id, channel_id, user_id, role, joined_at) \
             SELECT $1, 'CX' || i, $2, 'member', 0 FROM generate_series(1, 1000) i \
             UNION ALL SELECT $1, 'CX1', 'UX' || i, 'member', 0 FROM generate_series(1, 2000) i",
        )
        .bind(ws)
        .bind(owner)
        .execute(&mut *conn)
        .await
        .unwrap();

        let lookup = plan(conn, MEMBERSHIP, &[ws, "CX5", owner]).await;
        assert!(lookup.contains("memberships_pkey"), "{lookup}");
        assert_no_walk(&lookup);
        let page = MEMBERS_PAGE.replace("LIMIT $4", "LIMIT $4::int8");
        assert_no_walk(&plan(conn, &page, &[ws, "CX1", "", "50"]).await);

        // The notification worker's candidates, as it runs them: with a generic plan
        // (a statement prepared in SQL, as `EXPLAIN` of a statement with parameters
        // would plan it for the values bound).
        let prepare = format!(
            "PREPARE concerned(text, text, text, text, text, int8, int8, text[]) AS {CONCERNED}"
        );
        conn.execute(AssertSqlSafe(prepare)).await.unwrap();
        conn.execute("SET plan_cache_mode = force_generic_plan")
            .await
            .unwrap();
        // The ids are letters and digits: safe to write into the statement.
        let execute =
            format!("EXECUTE concerned('{ws}', 'CX1', '{owner}', '', 'UX7', 5, 100, '{{UX9}}')");
        let generic = plan(conn, &execute, &[]).await;
        assert!(generic.contains("$2"), "not the generic plan: {generic}");
        assert!(generic.contains("memberships_pkey"), "{generic}");
        assert_no_walk(&generic);
    }
}
