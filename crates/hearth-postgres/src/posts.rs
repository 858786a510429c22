//! New top-level messages written together: the hot path of group commit.
//!
//! A batch often holds a run of new messages (the common write by far). Written one by
//! one, each costs its savepoint, three checks, the message, the channel's newest seq and
//! its event: about eight round trips to PostgreSQL, each paid while the workspace lock is
//! held. Written together, a run of them costs four, however long it is:
//!
//! 1. `SAVEPOINT posts`;
//! 2. one query checks every message's channel, author and `client_msg_id`;
//! 3. one statement inserts the messages (with their search vectors and word pairs,
//!    built before the batch), their events and mentions and moves each channel's newest seq
//!    (data-modifying CTEs over `UNNEST`ed arrays);
//! 4. `RELEASE posts`.
//!
//! The results are those `messages::post_message` gives one by one, in the same order:
//! a message whose channel or author is missing fails alone (`NotFound`) before anything is
//! written; a retry of an earlier send (its `client_msg_id` is already stored) runs alone
//! afterwards, through `post_message`, which replays the original; a run never holds two
//! sends with the same `client_msg_id` (the second starts the next run, so it finds the
//! first). Replies are not grouped: they update their root and append a second event;
//! nor are messages that share files, which lock and mark their files first.
//! If the grouped statement fails anyway, the run is rolled back to its savepoint and its
//! messages are written one by one, each in its own savepoint, so a failure stays its own.

use hearth_core::Timestamp;
use hearth_core::event::{Audience, Event, EventPayload};
use hearth_core::id::{MessageId, WorkspaceId};
use hearth_core::model::Message;
use hearth_core::store::{NewMessage, Posted, StoreError, StoreResult};
use sqlx::{FromRow, PgConnection};
use tokio::sync::oneshot;

use crate::batch::{self, Deliver, Job, Run, exec};
use crate::error::{db, json};
use crate::index::Indexed;
use crate::log::Seqs;
use crate::messages;

/// A new top-level message waiting for its batch, and who waits for it.
pub(crate) struct Post {
    message: NewMessage,
    /// Its search index columns, built before the batch so that the workspace lock is not
    /// held while the text is tokenized.
    indexed: Indexed,
    reply: oneshot::Sender<StoreResult<Posted>>,
}

/// The job that posts `message`: grouped with its neighbours unless it is a reply or
/// shares files.
pub(crate) fn job(
    ws: &WorkspaceId,
    message: NewMessage,
    reply: oneshot::Sender<StoreResult<Posted>>,
) -> Job {
    let indexed = Indexed::of(message.text.as_str(), !message.file_ids.is_empty());
    let post = Post {
        message,
        indexed,
        reply,
    };
    if post.message.thread_root_id.is_some() || !post.message.file_ids.is_empty() {
        Job::Run(post.alone(ws))
    } else {
        Job::Post(Box::new(post))
    }
}

impl Post {
    /// The same post as a job of its own.
    fn alone(self, ws: &WorkspaceId) -> Run {
        let (ws, message, indexed) = (ws.clone(), self.message, self.indexed);
        batch::run(
            move |conn, seqs, now| {
                Box::pin(async move {
                    messages::post_message(conn, seqs, &ws, message, &indexed, now).await
                })
            },
            self.reply,
        )
    }
}

/// Whether `next` may join `group`: not if it repeats a `client_msg_id` of the group, as a
/// retry must find the original already written.
pub(crate) fn joins(group: &[Post], next: &Post) -> bool {
    let Some(key) = &next.message.client_msg_id else {
        return true;
    };
    !group.iter().any(|p| {
        p.message.author == next.message.author && p.message.client_msg_id.as_ref() == Some(key)
    })
}

/// Writes `group` inside the batch's transaction (see the module docs) and collects how to
/// answer each post.
pub(crate) async fn run_group(
    conn: &mut PgConnection,
    seqs: &mut Seqs,
    ws: &WorkspaceId,
    now: Timestamp,
    group: Vec<Post>,
    delivers: &mut Vec<Deliver>,
) -> StoreResult<()> {
    exec(conn, "SAVEPOINT posts").await?;
    let mark = seqs.mark();
    let news: Vec<(&NewMessage, &Indexed)> =
        group.iter().map(|p| (&p.message, &p.indexed)).collect();
    match write_all(conn, seqs, ws, &news, now).await {
        Ok(outcomes) => {
            exec(conn, "RELEASE posts").await?;
            for (post, outcome) in group.into_iter().zip(outcomes) {
                match outcome {
                    Some(result) => delivers.push(batch::deliver(result, post.reply)),
                    None => batch::run_one(conn, seqs, now, post.alone(ws), delivers).await?,
                }
            }
        }
        Err(e) => {
            tracing::warn!(error = %e, posts = group.len(), "writing messages together failed; writing them one by one");
            exec(conn, "ROLLBACK TO posts; RELEASE posts").await?;
            seqs.reset(mark);
            for post in group {
                batch::run_one(conn, seqs, now, post.alone(ws), delivers).await?;
            }
        }
    }
    Ok(())
}

/// Per message, whether it can be written here.
#[derive(FromRow)]
struct Check {
    channel_ok: bool,
    author_ok: bool,
    /// Its `client_msg_id` is stored already: a retry, answered by `post_message`.
    seen: bool,
}

/// Binds `$1` workspace and, per message, `$2` channel, `$3` author, `$4` client_msg_id.
///
/// Each check is a `LATERAL` subquery with `LIMIT 1`, so it is a probe per message by
/// construction: as `EXISTS` subqueries the planner may turn each into a "hashed SubPlan"
/// that reads every channel, user or message of the workspace to check a batch, which it
/// did on statistics older than the table's growth (40 ms for a batch of 30 in a
/// workspace of 12,000 messages, under the workspace's lock). `seen` compares the author
/// as `user_id || ''`, like `messages::EARLIER_SEND`, so that its probe is the unique
/// index `messages_client_key` whatever the statistics (migration 0006); `author_ok`
/// compares the workspace as `workspace_id || ''`, so that `users_handle` (workspace_id,
/// handle) cannot stand in for the primary key (see `members::membership`).
const CHECK: &str = "SELECT c.ok IS NOT NULL AS channel_ok, u.ok IS NOT NULL AS author_ok, \
       s.ok IS NOT NULL AS seen \
     FROM UNNEST($2::text[], $3::text[], $4::text[]) WITH ORDINALITY \
       AS p(channel_id, author, client_msg_id, i) \
     LEFT JOIN LATERAL (SELECT 1 AS ok FROM channels c \
       WHERE c.workspace_id = $1 AND c.id = p.channel_id LIMIT 1) c ON TRUE \
     LEFT JOIN LATERAL (SELECT 1 AS ok FROM users u \
       WHERE u.id = p.author AND (u.workspace_id || '') = $1 AND NOT u.deactivated \
       LIMIT 1) u ON TRUE \
     LEFT JOIN LATERAL (SELECT 1 AS ok FROM messages m \
       WHERE m.workspace_id = $1 AND m.client_msg_id = p.client_msg_id \
         AND (m.user_id || '') = p.author LIMIT 1) s ON TRUE \
     ORDER BY p.i";

/// Binds `$1` workspace; per message `$2` id, `$3` channel, `$4` seq, `$5` author, `$6`
/// text, `$7` created_at, `$8` client_msg_id, `$9` broadcast, `$10` event kind, `$11` event
/// payload, `$17` search vector and `$18` word pairs (`tsvector` literals); per mention `$12` message id, `$13`
/// channel, `$14` seq, `$15` user id or `$16` handle. Every sub-statement runs, referenced
/// or not.
const WRITE: &str = "WITH p AS ( \
       SELECT * FROM UNNEST($2::text[], $3::text[], $4::int8[], $5::text[], $6::text[], \
         $7::int8[], $8::text[], $9::text[], $10::text[], $11::text[], $17::text[], \
         $18::text[]) \
         AS p(id, channel_id, seq, user_id, text, created_at, client_msg_id, broadcast, kind, \
           payload, vector, pairs) \
     ), m AS ( \
       INSERT INTO messages (id, workspace_id, channel_id, seq, user_id, text, created_at, \
         client_msg_id, broadcast, search_vector, search_pairs) \
       SELECT id, $1, channel_id, seq, user_id, text, created_at, client_msg_id, broadcast, \
         vector::tsvector, pairs::tsvector \
       FROM p \
     ), e AS ( \
       INSERT INTO events (workspace_id, seq, kind, channel_id, payload, created_at) \
       SELECT $1, seq, kind, channel_id, payload, created_at FROM p \
     ), c AS ( \
       UPDATE channels ch SET last_message_seq = l.seq \
       FROM (SELECT channel_id, MAX(seq) AS seq FROM p GROUP BY channel_id) l \
       WHERE ch.workspace_id = $1 AND ch.id = l.channel_id \
     ) \
     INSERT INTO message_mentions (workspace_id, channel_id, message_id, seq, user_id) \
     SELECT DISTINCT $1, r.channel_id, r.message_id, r.seq, u.id \
     FROM UNNEST($12::text[], $13::text[], $14::int8[], $15::text[], $16::text[]) \
       AS r(message_id, channel_id, seq, user_ref, handle_ref) \
     JOIN users u ON u.workspace_id = $1 AND (u.id = r.user_ref OR u.handle = r.handle_ref)";

/// Checks and writes every message of `news`; per message, its result, or `None` for a
/// retry of an earlier send that must run alone. An error means nothing may be kept.
async fn write_all(
    conn: &mut PgConnection,
    seqs: &mut Seqs,
    ws: &WorkspaceId,
    news: &[(&NewMessage, &Indexed)],
    now: Timestamp,
) -> StoreResult<Vec<Option<StoreResult<Posted>>>> {
    let checks: Vec<Check> = sqlx::query_as(CHECK)
        .bind(ws.as_str())
        .bind(
            news.iter()
                .map(|(n, _)| n.channel_id.as_str())
                .collect::<Vec<_>>(),
        )
        .bind(
            news.iter()
                .map(|(n, _)| n.author.as_str())
                .collect::<Vec<_>>(),
        )
        .bind(
            news.iter()
                .map(|(n, _)| n.client_msg_id.as_deref())
                .collect::<Vec<_>>(),
        )
        .fetch_all(&mut *conn)
        .await
        .map_err(db)?;
    if checks.len() != news.len() {
        return Err(StoreError::Internal(
            "message checks went missing".to_owned(),
        ));
    }

    let mut rows = Rows::default();
    let mut outcomes = Vec::with_capacity(news.len());
    for (&(new, indexed), check) in news.iter().zip(checks) {
        outcomes.push(if check.seen {
            None
        } else if !check.channel_ok || !check.author_ok {
            Some(Err(StoreError::NotFound))
        } else {
            Some(Ok(rows.add(ws, seqs.next()?, new, indexed, now)?))
        });
    }
    if rows.ids.is_empty() {
        return Ok(outcomes);
    }
    sqlx::query(WRITE)
        .bind(ws.as_str())
        .bind(&rows.ids)
        .bind(&rows.channels)
        .bind(&rows.seqs)
        .bind(&rows.authors)
        .bind(&rows.texts)
        .bind(&rows.created_at)
        .bind(&rows.keys)
        .bind(&rows.broadcasts)
        .bind(&rows.kinds)
        .bind(&rows.payloads)
        .bind(&rows.mention_messages)
        .bind(&rows.mention_channels)
        .bind(&rows.mention_seqs)
        .bind(&rows.mention_users)
        .bind(&rows.mention_handles)
        .bind(&rows.vectors)
        .bind(&rows.pairs)
        .execute(&mut *conn)
        .await
        .map_err(db)?;
    Ok(outcomes)
}

/// The columns of the messages to write, one array per column, as `WRITE` binds them.
#[derive(Default)]
struct Rows<'a> {
    ids: Vec<String>,
    channels: Vec<String>,
    seqs: Vec<i64>,
    authors: Vec<String>,
    texts: Vec<String>,
    created_at: Vec<i64>,
    keys: Vec<Option<String>>,
    broadcasts: Vec<Option<&'static str>>,
    kinds: Vec<&'static str>,
    payloads: Vec<String>,
    mention_messages: Vec<String>,
    mention_channels: Vec<String>,
    mention_seqs: Vec<i64>,
    mention_users: Vec<Option<String>>,
    mention_handles: Vec<Option<String>>,
    vectors: Vec<&'a str>,
    pairs: Vec<&'a str>,
}

impl<'a> Rows<'a> {
    /// Adds the message `new` becomes at `seq`, and returns what posting it answers.
    fn add(
        &mut self,
        ws: &WorkspaceId,
        seq: i64,
        new: &NewMessage,
        indexed: &'a Indexed,
        now: Timestamp,
    ) -> StoreResult<Posted> {
        let message = Message {
            id: MessageId::generate(),
            workspace_id: ws.clone(),
            channel_id: new.channel_id.clone(),
            seq,
            user_id: new.author.clone(),
            text: new.text.as_str().to_owned(),
            created_at: now,
            edited_at: None,
            deleted: false,
            thread_root_id: None,
            reply_count: 0,
            last_reply_at: None,
            reactions: Vec::new(),
            // Posts that share files are never grouped (see `job`).
            files: Vec::new(),
            client_msg_id: new.client_msg_id.clone(),
        };
        let payload = EventPayload::MessageCreated {
            message: message.clone(),
        };
        // The log's audience column must say what the payload says.
        if payload.audience() != Audience::Channel(message.channel_id.clone()) {
            return Err(StoreError::Internal(
                "message.created is not a channel event".to_owned(),
            ));
        }
        self.kinds.push(payload.kind());
        self.payloads
            .push(serde_json::to_string(&payload).map_err(json)?);
        self.ids.push(message.id.as_str().to_owned());
        self.channels.push(message.channel_id.as_str().to_owned());
        self.seqs.push(seq);
        self.authors.push(message.user_id.as_str().to_owned());
        self.texts.push(message.text.clone());
        self.vectors.push(&indexed.vector);
        self.pairs.push(&indexed.pairs);
        self.created_at.push(now.0);
        self.keys.push(message.client_msg_id.clone());
        self.broadcasts
            .push(new.mentions.broadcast.map(messages::broadcast_name));
        let mentioned = new
            .mentions
            .user_ids
            .iter()
            .map(|u| (Some(u.as_str().to_owned()), None))
            .chain(
                new.mentions
                    .handles
                    .iter()
                    .map(|h| (None, Some(h.as_str().to_owned()))),
            );
        for (user, handle) in mentioned {
            self.mention_messages.push(message.id.as_str().to_owned());
            self.mention_channels
                .push(message.channel_id.as_str().to_owned());
            self.mention_seqs.push(seq);
            self.mention_users.push(user);
            self.mention_handles.push(handle);
        }
        Ok(Posted {
            events: vec![Event {
                seq,
                created_at: now,
                payload,
            }],
            message,
            replayed: false,
        })
    }
}

#[cfg(test)]
mod tests {
    //! The retry probes' plans. A test of plans rather than of results: both plans find the
    //! same rows, but the wrong one reads every message of the author, under the lock.

    use super::*;
    use crate::messages::EARLIER_SEND;
    use crate::stale_statistics::{add_messages, explain, freeze_statistics, plan, scratch};

    #[tokio::test]
    async fn retries_are_checked_on_the_unique_key_whatever_the_statistics() {
        let mut s = scratch().await;
        let general = s.f.channel(&s.f.owner, "general", &[]).await;
        let (ws, owner) = (s.f.ws_id().clone(), s.f.owner.id.clone());
        let author = owner.as_str();
        freeze_statistics(&mut s.conn, &["messages"]).await;
        add_messages(&mut s.conn, &ws, &general.id, &owner, 20_000).await;

        let alone = explain(EARLIER_SEND)
            .bind(ws.as_str())
            .bind(author)
            .bind("key-5");
        // A batch large enough that hashing the workspace's messages looks cheaper than
        // thirty probes, to a planner that believes the table is empty.
        let keys: Vec<String> = (0..30).map(|i| format!("key-{}", i * 600)).collect();
        let grouped = explain(CHECK)
            .bind(ws.as_str())
            .bind(vec![general.id.as_str(); keys.len()])
            .bind(vec![author; keys.len()])
            .bind(keys);
        for query in [alone, grouped] {
            let plan = plan(&mut s.conn, query).await;
            let reads: Vec<&str> = plan
                .lines()
                .filter(|l| l.contains(" on messages "))
                .collect();
            assert!(!reads.is_empty(), "{plan}");
            for read in reads {
                assert!(
                    read.contains("Index Scan using messages_client_key on messages"),
                    "{plan}"
                );
            }
            assert!(!plan.contains("hashed"), "{plan}");
            assert!(!plan.contains("users_handle"), "{plan}");
        }
    }
}
