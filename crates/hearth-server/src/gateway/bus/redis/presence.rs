//! Presence across nodes through Redis: the [`PresenceLink`] of the scale-out mode.
//!
//! Changes and heartbeats travel as messages on the workspace's channel, for the nodes
//! already listening. For the ones that start listening later, Redis also keeps, per user,
//! a hash `hearth:presence:<workspace>:<user>` with one field per node that has the user:
//! `<status>@<ms>`, the node's own clock when it last wrote the field. Each node keeps
//! `hearth:node:<node>` alive (its clock, expiring after `presence_ttl`) with every write,
//! and rewrites all its fields with every heartbeat (every third of the TTL).
//!
//! A reader trusts a field only while its node's key exists and the field is no older,
//! by that node's own clock, than the TTL; so neither a dead node's fields (its key has
//! expired) nor a field whose removal was lost (it is no longer rewritten) survive for
//! long, though the hash itself lives on while other nodes refresh it. Clocks are never
//! compared across nodes. Readers remove the fields of dead nodes as they find them.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use hearth_core::id::{ChannelId, UserId, WorkspaceId};
use redis::Cmd;
use redis::aio::MultiplexedConnection;

use super::publisher::{Publisher, connect};
use super::{Envelope, IO_TIMEOUT};
use crate::gateway::hub::link::{NodeId, PresenceLink, RemoteStatus, Status};

pub struct RedisPresence {
    client: redis::Client,
    publisher: Publisher,
    ttl: Duration,
    /// The start of this node's clock (see the module doc).
    epoch: Instant,
    /// The connection lookups use, made on the first lookup and again after a failure.
    reader: Arc<Mutex<Option<MultiplexedConnection>>>,
}

fn user_key(ws: &WorkspaceId, user: &UserId) -> String {
    format!("hearth:presence:{ws}:{user}")
}

fn node_key(node: NodeId) -> String {
    format!("hearth:node:{node}")
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

impl RedisPresence {
    pub(super) fn new(client: redis::Client, publisher: Publisher, ttl: Duration) -> Self {
        Self {
            client,
            publisher,
            ttl,
            epoch: Instant::now(),
            reader: Arc::default(),
        }
    }

    /// Keeps this node's key alive and stamps it with the node's clock, now.
    fn alive(&self, now: u64) -> Cmd {
        Cmd::pset_ex(node_key(self.publisher.node()), now, millis(self.ttl))
    }

    /// Writes this node's status of one user.
    fn write(&self, ws: &WorkspaceId, user: &UserId, status: Status, now: u64) -> [Cmd; 2] {
        let key = user_key(ws, user);
        let value = format!("{}@{now}", status.as_str());
        [
            Cmd::hset(&key, self.publisher.node(), value),
            Cmd::pexpire(&key, i64::try_from(millis(self.ttl)).unwrap_or(i64::MAX)),
        ]
    }
}

impl PresenceLink for RedisPresence {
    fn status_changed(&self, ws: &WorkspaceId, user: &UserId, status: Status) {
        let now = millis(self.epoch.elapsed());
        let node = self.publisher.node();
        let mut commands = Vec::with_capacity(4);
        if status == Status::Offline {
            commands.push(Cmd::hdel(user_key(ws, user), node));
        } else {
            commands.push(self.alive(now));
            commands.extend(self.write(ws, user, status, now));
        }
        let user = user.clone();
        commands.extend(
            self.publisher
                .publish(ws, &Envelope::Presence { node, user, status }),
        );
        self.publisher.send(commands);
    }

    fn heartbeat(&self, ws: &WorkspaceId, statuses: &[(UserId, Status)]) {
        let now = millis(self.epoch.elapsed());
        let mut commands = Vec::with_capacity(2 + 2 * statuses.len());
        commands.push(self.alive(now));
        for (user, status) in statuses {
            commands.extend(self.write(ws, user, *status, now));
        }
        let heartbeat = Envelope::Heartbeat {
            node: self.publisher.node(),
            statuses: statuses.to_vec(),
        };
        commands.extend(self.publisher.publish(ws, &heartbeat));
        self.publisher.send(commands);
    }

    fn typing(&self, ws: &WorkspaceId, channel: &ChannelId, user: &UserId) {
        let typing = Envelope::Typing {
            node: self.publisher.node(),
            channel: channel.clone(),
            user: user.clone(),
        };
        self.publisher.send(self.publisher.publish(ws, &typing));
    }

    fn look_up(
        &self,
        ws: &WorkspaceId,
        users: Vec<UserId>,
    ) -> BoxFuture<'static, Result<Vec<RemoteStatus>, String>> {
        let client = self.client.clone();
        let reader = self.reader.clone();
        let publisher = self.publisher.clone();
        let ttl = self.ttl;
        let ws = ws.clone();
        Box::pin(async move {
            let read = async {
                let cached = reader.lock().expect("not poisoned").clone();
                let mut conn = match cached {
                    Some(conn) => conn,
                    None => {
                        let conn = connect(&client).await.ok_or("Redis is unreachable")?;
                        *reader.lock().expect("not poisoned") = Some(conn.clone());
                        conn
                    }
                };
                let read = read_statuses(&mut conn, publisher.node(), &ws, &users, ttl).await;
                if read.is_err() {
                    *reader.lock().expect("not poisoned") = None;
                }
                read.map_err(|e| e.to_string())
            };
            let (found, dead) = tokio::time::timeout(IO_TIMEOUT, read)
                .await
                .map_err(|_| "looking presence up in Redis timed out".to_owned())??;
            publisher.send(dead);
            Ok(found)
        })
    }
}

/// One field of a user's hash: a node's status of them, stamped by the node's clock.
struct Field {
    user: UserId,
    node: NodeId,
    status: Status,
    written: u64,
}

/// Reads what other nodes say of `users`; returns it, and the `HDEL`s of dead nodes'
/// fields.
async fn read_statuses(
    conn: &mut MultiplexedConnection,
    me: NodeId,
    ws: &WorkspaceId,
    users: &[UserId],
    ttl: Duration,
) -> redis::RedisResult<(Vec<RemoteStatus>, Vec<Cmd>)> {
    let mut pipe = redis::pipe();
    for user in users {
        pipe.hgetall(user_key(ws, user));
    }
    let hashes: Vec<HashMap<String, String>> = pipe.query_async(conn).await?;
    let mut fields = Vec::new();
    for (user, hash) in users.iter().zip(hashes) {
        for (node, value) in hash {
            let parsed = node.parse::<NodeId>().ok().zip(
                value
                    .split_once('@')
                    .and_then(|(s, at)| Status::parse(s).zip(at.parse::<u64>().ok())),
            );
            if let Some((node, (status, written))) = parsed
                && node != me
            {
                fields.push(Field {
                    user: user.clone(),
                    node,
                    status,
                    written,
                });
            }
        }
    }
    if fields.is_empty() {
        return Ok((Vec::new(), Vec::new()));
    }

    // Each node's clock and how long its key has left; a node without a key is dead.
    let nodes: Vec<NodeId> = fields
        .iter()
        .map(|f| f.node)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let mut pipe = redis::pipe();
    for node in &nodes {
        pipe.get(node_key(*node)).pttl(node_key(*node));
    }
    let replies: Vec<redis::Value> = pipe.query_async(conn).await?;
    let mut alive: HashMap<NodeId, (u64, Duration)> = HashMap::new();
    for (node, reply) in nodes.iter().zip(replies.chunks(2)) {
        let [clock, left] = reply else { continue };
        let clock = redis::from_redis_value_ref::<Option<u64>>(clock)
            .ok()
            .flatten();
        let left = redis::from_redis_value_ref::<i64>(left).unwrap_or(-2);
        if let (Some(clock), Ok(left)) = (clock, u64::try_from(left)) {
            alive.insert(*node, (clock, Duration::from_millis(left)));
        }
    }

    let mut found = Vec::new();
    let mut dead = Vec::new();
    for field in fields {
        match alive.get(&field.node) {
            Some((clock, left)) => {
                if clock.saturating_sub(field.written) <= millis(ttl) {
                    found.push(RemoteStatus {
                        user: field.user,
                        node: field.node,
                        status: field.status,
                        valid_for: *left,
                    });
                }
            }
            None => dead.push(Cmd::hdel(user_key(ws, &field.user), field.node)),
        }
    }
    Ok((found, dead))
}
