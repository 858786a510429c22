//! Writing generated rows straight into a server's SQLite database, with Hearth's own
//! schema (the server created it and the seed rows; see the parent module).
//!
//! Rows go in with multi-row `INSERT`s of [`ROWS_PER_STATEMENT`] and large transactions,
//! with `synchronous=OFF` while generating: a crash half-way leaves a database to throw
//! away, never one the server wrote acknowledged data to. [`Db::finish`] checkpoints the
//! WAL into the main file and syncs it before the server opens it again.

use std::collections::BTreeSet;
use std::path::Path;
use std::str::FromStr;

use anyhow::{Context, bail};
use serde_json::{Value, json};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use sqlx::{ConnectOptions, Connection, QueryBuilder, Sqlite, SqliteConnection};

/// Rows per `INSERT` statement (well under SQLite's limit of 32,766 bound values).
const ROWS_PER_STATEMENT: usize = 400;

/// What the server wrote before generation: the rows everything else hangs from.
pub struct Seed {
    pub workspace_id: String,
    pub owner_id: String,
    pub password_hash: String,
    /// The channel created over the API, holding the template message.
    pub first_channel_id: String,
    pub last_seq: i64,
    /// The keys of a `message.created` payload the server wrote, to check ours against.
    template_keys: BTreeSet<String>,
}

pub struct UserRow {
    pub id: String,
    pub handle: String,
    pub display_name: String,
    pub created_at: i64,
}

pub struct ChannelRow {
    pub id: String,
    pub name: String,
    pub topic: String,
    pub created_at: i64,
}

pub struct MessageRow {
    pub id: String,
    pub channel: usize,
    pub seq: i64,
    pub user: usize,
    pub text: String,
    pub created_at: i64,
    pub thread_root_id: Option<String>,
}

pub struct ReactionRow {
    pub message_id: String,
    pub channel: usize,
    pub seq: i64,
    pub user: usize,
    pub emoji: &'static str,
    pub created_at: i64,
}

/// The generated workspace's ids, to turn row indexes into ids.
pub struct Ids<'a> {
    pub workspace: &'a str,
    pub users: &'a [String],
    pub channels: &'a [String],
}

pub struct Db {
    conn: SqliteConnection,
}

impl Db {
    pub async fn open(path: &Path) -> anyhow::Result<Self> {
        let conn = SqliteConnectOptions::from_str("sqlite://")?
            .filename(path)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Off)
            .foreign_keys(true)
            .pragma("cache_size", "-262144")
            .pragma("temp_store", "memory")
            .connect()
            .await
            .with_context(|| format!("opening {}", path.display()))?;
        Ok(Self { conn })
    }

    /// Reads the rows the server wrote for the seed workspace.
    pub async fn seed(&mut self) -> anyhow::Result<Seed> {
        let (workspace_id, last_seq): (String, i64) =
            sqlx::query_as("SELECT id, last_seq FROM workspaces")
                .fetch_one(&mut self.conn)
                .await
                .context("the seed workspace")?;
        let (owner_id, password_hash): (String, String) =
            sqlx::query_as("SELECT id, password_hash FROM users WHERE role = 'owner'")
                .fetch_one(&mut self.conn)
                .await
                .context("the seed owner")?;
        let (first_channel_id, payload): (String, String) = sqlx::query_as(
            "SELECT channel_id, payload FROM events WHERE kind = 'message.created' LIMIT 1",
        )
        .fetch_one(&mut self.conn)
        .await
        .context("the seed message's event")?;
        let template: Value = serde_json::from_str(&payload)?;
        Ok(Seed {
            workspace_id,
            owner_id,
            password_hash,
            first_channel_id,
            last_seq,
            template_keys: payload_keys(&template),
        })
    }

    pub async fn begin(&mut self) -> anyhow::Result<()> {
        sqlx::raw_sql("BEGIN").execute(&mut self.conn).await?;
        Ok(())
    }

    pub async fn commit(&mut self) -> anyhow::Result<()> {
        sqlx::raw_sql("COMMIT").execute(&mut self.conn).await?;
        Ok(())
    }

    /// Backdates the seed rows to when the generated history starts, so times still
    /// follow seqs.
    pub async fn backdate_seed(&mut self, at: i64) -> anyhow::Result<()> {
        for sql in [
            "UPDATE workspaces SET created_at = ?1",
            "UPDATE users SET created_at = ?1",
            "UPDATE channels SET created_at = ?1",
            "UPDATE memberships SET joined_at = ?1",
            "UPDATE messages SET created_at = ?1",
            "UPDATE events SET created_at = ?1, \
             payload = json_set(payload, '$.message.created_at', ?1) \
             WHERE kind = 'message.created'",
            "UPDATE events SET created_at = ?1",
        ] {
            sqlx::query(sql).bind(at).execute(&mut self.conn).await?;
        }
        Ok(())
    }

    pub async fn insert_users(
        &mut self,
        seed: &Seed,
        rows: &[UserRow],
        domain: &str,
    ) -> anyhow::Result<()> {
        for chunk in rows.chunks(ROWS_PER_STATEMENT) {
            let mut q = QueryBuilder::<Sqlite>::new(
                "INSERT INTO users (id, workspace_id, email, handle, display_name, role, \
                 password_hash, created_at) ",
            );
            q.push_values(chunk, |mut b, u| {
                b.push_bind(&u.id)
                    .push_bind(&seed.workspace_id)
                    .push_bind(format!("{}@{domain}", u.handle))
                    .push_bind(&u.handle)
                    .push_bind(&u.display_name)
                    .push_bind("member")
                    .push_bind(&seed.password_hash)
                    .push_bind(u.created_at);
            });
            q.build().execute(&mut self.conn).await?;
        }
        Ok(())
    }

    pub async fn insert_channels(
        &mut self,
        seed: &Seed,
        rows: &[ChannelRow],
    ) -> anyhow::Result<()> {
        for chunk in rows.chunks(ROWS_PER_STATEMENT) {
            let mut q = QueryBuilder::<Sqlite>::new(
                "INSERT INTO channels (id, workspace_id, kind, name, topic, created_by, \
                 created_at) ",
            );
            q.push_values(chunk, |mut b, c| {
                b.push_bind(&c.id)
                    .push_bind(&seed.workspace_id)
                    .push_bind("public")
                    .push_bind(&c.name)
                    .push_bind(&c.topic)
                    .push_bind(&seed.owner_id)
                    .push_bind(c.created_at);
            });
            q.build().execute(&mut self.conn).await?;
        }
        Ok(())
    }

    /// Memberships (the owner as each channel's admin) and their open visibility spans,
    /// starting at `from_seq`, the first generated seq.
    pub async fn insert_members(
        &mut self,
        ids: &Ids<'_>,
        pairs: &[(usize, usize)],
        owner: usize,
        from_seq: i64,
        joined_at: i64,
    ) -> anyhow::Result<()> {
        for chunk in pairs.chunks(ROWS_PER_STATEMENT) {
            let mut q = QueryBuilder::<Sqlite>::new(
                "INSERT INTO memberships (workspace_id, channel_id, user_id, role, joined_at) ",
            );
            q.push_values(chunk, |mut b, &(c, u)| {
                b.push_bind(ids.workspace)
                    .push_bind(&ids.channels[c])
                    .push_bind(&ids.users[u])
                    .push_bind(if u == owner { "admin" } else { "member" })
                    .push_bind(joined_at);
            });
            q.build().execute(&mut self.conn).await?;
            let mut q = QueryBuilder::<Sqlite>::new(
                "INSERT INTO membership_spans (workspace_id, channel_id, user_id, from_seq) ",
            );
            q.push_values(chunk, |mut b, &(c, u)| {
                b.push_bind(ids.workspace)
                    .push_bind(&ids.channels[c])
                    .push_bind(&ids.users[u])
                    .push_bind(from_seq);
            });
            q.build().execute(&mut self.conn).await?;
        }
        Ok(())
    }

    /// Messages, and the `message.created` events of those created from `events_from` on.
    pub async fn insert_messages(
        &mut self,
        ids: &Ids<'_>,
        rows: &[MessageRow],
        events_from: i64,
    ) -> anyhow::Result<()> {
        for chunk in rows.chunks(ROWS_PER_STATEMENT) {
            let mut q = QueryBuilder::<Sqlite>::new(
                "INSERT INTO messages (id, workspace_id, channel_id, seq, user_id, text, \
                 created_at, thread_root_id) ",
            );
            q.push_values(chunk, |mut b, m| {
                b.push_bind(&m.id)
                    .push_bind(ids.workspace)
                    .push_bind(&ids.channels[m.channel])
                    .push_bind(m.seq)
                    .push_bind(&ids.users[m.user])
                    .push_bind(&m.text)
                    .push_bind(m.created_at)
                    .push_bind(m.thread_root_id.as_deref());
            });
            q.build().execute(&mut self.conn).await?;
            let logged: Vec<&MessageRow> = chunk
                .iter()
                .filter(|m| m.created_at >= events_from)
                .collect();
            if logged.is_empty() {
                continue;
            }
            let payloads: Vec<String> = logged
                .iter()
                .map(|m| message_payload(ids, m).to_string())
                .collect();
            let mut q = QueryBuilder::<Sqlite>::new(
                "INSERT INTO events (workspace_id, seq, kind, channel_id, payload, created_at) ",
            );
            q.push_values(logged.iter().zip(&payloads), |mut b, (m, payload)| {
                b.push_bind(ids.workspace)
                    .push_bind(m.seq)
                    .push_bind("message.created")
                    .push_bind(&ids.channels[m.channel])
                    .push_bind(payload)
                    .push_bind(m.created_at);
            });
            q.build().execute(&mut self.conn).await?;
        }
        Ok(())
    }

    /// Reactions, and the `reaction.added` events of those made from `events_from` on.
    pub async fn insert_reactions(
        &mut self,
        ids: &Ids<'_>,
        rows: &[ReactionRow],
        events_from: i64,
    ) -> anyhow::Result<()> {
        for chunk in rows.chunks(ROWS_PER_STATEMENT) {
            let mut q = QueryBuilder::<Sqlite>::new(
                "INSERT INTO reactions (workspace_id, message_id, user_id, emoji, created_at) ",
            );
            q.push_values(chunk, |mut b, r| {
                b.push_bind(ids.workspace)
                    .push_bind(&r.message_id)
                    .push_bind(&ids.users[r.user])
                    .push_bind(r.emoji)
                    .push_bind(r.created_at);
            });
            q.build().execute(&mut self.conn).await?;
            let logged: Vec<&ReactionRow> = chunk
                .iter()
                .filter(|r| r.created_at >= events_from)
                .collect();
            if logged.is_empty() {
                continue;
            }
            let payloads: Vec<String> = logged
                .iter()
                .map(|r| {
                    json!({
                        "kind": "reaction.added",
                        "channel_id": ids.channels[r.channel],
                        "message_id": r.message_id,
                        "user_id": ids.users[r.user],
                        "emoji": r.emoji,
                    })
                    .to_string()
                })
                .collect();
            let mut q = QueryBuilder::<Sqlite>::new(
                "INSERT INTO events (workspace_id, seq, kind, channel_id, payload, created_at) ",
            );
            q.push_values(logged.iter().zip(&payloads), |mut b, (r, payload)| {
                b.push_bind(ids.workspace)
                    .push_bind(r.seq)
                    .push_bind("reaction.added")
                    .push_bind(&ids.channels[r.channel])
                    .push_bind(payload)
                    .push_bind(r.created_at);
            });
            q.build().execute(&mut self.conn).await?;
        }
        Ok(())
    }

    /// Thread roots' reply counts and last reply times.
    pub async fn set_replies(
        &mut self,
        ids: &Ids<'_>,
        roots: &[(String, i64, i64)],
    ) -> anyhow::Result<()> {
        for (id, count, last_at) in roots {
            sqlx::query(
                "UPDATE messages SET reply_count = ?, last_reply_at = ? \
                 WHERE workspace_id = ? AND id = ?",
            )
            .bind(count)
            .bind(last_at)
            .bind(ids.workspace)
            .bind(id)
            .execute(&mut self.conn)
            .await?;
        }
        Ok(())
    }

    /// The log's and each channel's newest seq, where the kept log starts (events before
    /// `events_from` were never written: as pruned), the search backlog, then a checkpoint of the WAL into the
    /// database file, synced.
    pub async fn finish(
        mut self,
        ids: &Ids<'_>,
        last_seq: i64,
        channel_last_seq: &[i64],
        events_from: i64,
    ) -> anyhow::Result<()> {
        self.begin().await?;
        // The kept log is a suffix: everything before the first event of the window goes
        // (the seed's events too), and resumes from before it get a resync.
        let first_kept: Option<i64> = sqlx::query_scalar(
            "SELECT MIN(seq) FROM events WHERE workspace_id = ? AND created_at >= ?",
        )
        .bind(ids.workspace)
        .bind(events_from)
        .fetch_one(&mut self.conn)
        .await?;
        let pruned = first_kept.map_or(last_seq, |seq| seq - 1);
        sqlx::query("DELETE FROM events WHERE workspace_id = ? AND seq <= ?")
            .bind(ids.workspace)
            .bind(pruned)
            .execute(&mut self.conn)
            .await?;
        sqlx::query("UPDATE workspaces SET last_seq = ?, pruned_through_seq = ? WHERE id = ?")
            .bind(last_seq)
            .bind(pruned)
            .bind(ids.workspace)
            .execute(&mut self.conn)
            .await?;
        for (channel, seq) in ids.channels.iter().zip(channel_last_seq) {
            sqlx::query(
                "UPDATE channels SET last_message_seq = max(last_message_seq, ?) \
                 WHERE workspace_id = ? AND id = ?",
            )
            .bind(seq)
            .bind(ids.workspace)
            .bind(channel)
            .execute(&mut self.conn)
            .await?;
        }
        // The messages written here have no search index rows: the server indexes the
        // backlog up to here in the background when it starts.
        sqlx::query("UPDATE search_backlog SET through_rowid = (SELECT MAX(rowid) FROM messages)")
            .execute(&mut self.conn)
            .await?;
        self.commit().await?;
        sqlx::raw_sql("PRAGMA synchronous = FULL; PRAGMA wal_checkpoint(TRUNCATE); ANALYZE;")
            .execute(&mut self.conn)
            .await
            .context("checkpointing the generated database")?;
        self.conn.close().await?;
        Ok(())
    }
}

impl Seed {
    /// Fails when the payload we write for a message differs in shape from the server's.
    pub fn check_payload_shape(&self, ids: &Ids<'_>) -> anyhow::Result<()> {
        let probe = MessageRow {
            id: "M".into(),
            channel: 0,
            seq: 1,
            user: 0,
            text: "x".into(),
            created_at: 0,
            thread_root_id: None,
        };
        let ours = payload_keys(&message_payload(ids, &probe));
        if ours != self.template_keys {
            bail!(
                "the server's message.created payload has keys {:?}, the generator writes \
                 {:?}: update generate/sqlite.rs",
                self.template_keys,
                ours
            );
        }
        Ok(())
    }
}

/// A `message.created` event as the server writes it: the message as created.
fn message_payload(ids: &Ids<'_>, m: &MessageRow) -> Value {
    json!({
        "kind": "message.created",
        "message": {
            "id": m.id,
            "workspace_id": ids.workspace,
            "channel_id": ids.channels[m.channel],
            "seq": m.seq,
            "user_id": ids.users[m.user],
            "text": m.text,
            "created_at": m.created_at,
            "edited_at": null,
            "deleted": false,
            "thread_root_id": m.thread_root_id,
            "reply_count": 0,
            "last_reply_at": null,
            "reactions": [],
            "files": [],
            "client_msg_id": null,
        }
    })
}

/// Top-level keys, and the keys of the nested message, as `message.key`.
fn payload_keys(payload: &Value) -> BTreeSet<String> {
    let mut keys = BTreeSet::new();
    if let Some(object) = payload.as_object() {
        for (key, value) in object {
            keys.insert(key.clone());
            if let Some(inner) = value.as_object() {
                keys.extend(inner.keys().map(|k| format!("{key}.{k}")));
            }
        }
    }
    keys
}
