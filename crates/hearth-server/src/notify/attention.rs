//! Attention: whether a user is at a client right now, so that nothing is pushed to them
//! for what they can already see.
//!
//! A user is attentive while one of their connections had focus and activity (it
//! connected, sent, typed, or sent an `activity` or `focus` frame) within the last
//! [`Attention::window`], and has neither closed nor reported losing focus since. This is
//! ephemeral state, kept in memory like presence and never in the database.
//!
//! With several nodes, each node also records in Redis, per user, until when it has them
//! attentive (a hash `hearth:attention:{ws}:{user}`, one field per node, expiring with
//! the window), so a worker on any node sees attention on every node. Writes are
//! throttled to one per user per node every [`REFRESH`]; a lookup that cannot reach
//! Redis answers "not attentive": a spare notification is better than a lost one.
//! The nodes' clocks are assumed to agree within a second or so (NTP).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hearth_core::id::{UserId, WorkspaceId};
use redis::AsyncCommands;
use redis::aio::MultiplexedConnection;
use tokio::time::Instant;

use crate::gateway::outbox::ConnId;

/// How often one node rewrites a user's attention in Redis while they stay active.
const REFRESH: Duration = Duration::from_secs(10);
/// A lookup that takes longer than this counts as "not attentive".
const LOOKUP_TIMEOUT: Duration = Duration::from_millis(500);

#[derive(Default)]
struct UserAttention {
    /// When each focused connection was last active.
    conns: HashMap<ConnId, Instant>,
    /// When this node last wrote the user's attention to Redis.
    shared_at: Option<Instant>,
}

/// This node's view of its users' attention, shared over Redis when there are several
/// nodes.
pub struct Attention {
    window: Duration,
    users: Mutex<HashMap<(WorkspaceId, UserId), UserAttention>>,
    shared: Option<Arc<Shared>>,
}

struct Shared {
    client: redis::Client,
    /// Made on first use and again after a failure.
    conn: tokio::sync::Mutex<Option<MultiplexedConnection>>,
    node: String,
}

impl Shared {
    async fn connection(&self) -> Option<MultiplexedConnection> {
        let mut conn = self.conn.lock().await;
        if conn.is_none() {
            let connect = self.client.get_multiplexed_async_connection();
            *conn = tokio::time::timeout(LOOKUP_TIMEOUT, connect)
                .await
                .ok()?
                .ok();
        }
        conn.clone()
    }

    async fn forget_connection(&self) {
        *self.conn.lock().await = None;
    }
}

impl Attention {
    /// Attention that lasts `window` after the last activity, on this node only.
    pub fn local(window: Duration) -> Self {
        Self {
            window,
            users: Mutex::default(),
            shared: None,
        }
    }

    /// Attention shared with the other nodes through Redis at `redis_url`.
    pub fn shared(window: Duration, redis_url: &str) -> anyhow::Result<Self> {
        let client = redis::Client::open(redis_url)?;
        let shared = Shared {
            client,
            conn: tokio::sync::Mutex::new(None),
            node: format!("{:016x}", rand_node()),
        };
        Ok(Self {
            shared: Some(Arc::new(shared)),
            ..Self::local(window)
        })
    }

    pub fn window(&self) -> Duration {
        self.window
    }

    /// The connection is focused and its user active now.
    pub fn focus(&self, ws: &WorkspaceId, user: &UserId, conn: ConnId) {
        let now = Instant::now();
        let share = {
            let mut users = self.users.lock().unwrap_or_else(|e| e.into_inner());
            let entry = users.entry((ws.clone(), user.clone())).or_default();
            entry.conns.insert(conn, now);
            let due = entry
                .shared_at
                .is_none_or(|at| now.duration_since(at) >= REFRESH);
            if due && self.shared.is_some() {
                entry.shared_at = Some(now);
            }
            due
        };
        if share {
            self.share(ws, user, Some(self.window));
        }
    }

    /// The connection lost focus or closed.
    pub fn blur(&self, ws: &WorkspaceId, user: &UserId, conn: ConnId) {
        let now = Instant::now();
        let withdraw = {
            let mut users = self.users.lock().unwrap_or_else(|e| e.into_inner());
            let key = (ws.clone(), user.clone());
            let Some(entry) = users.get_mut(&key) else {
                return;
            };
            entry.conns.remove(&conn);
            let still = entry
                .conns
                .values()
                .any(|at| now.duration_since(*at) < self.window);
            if !still {
                users.remove(&key);
            }
            !still
        };
        if withdraw {
            self.share(ws, user, None);
        }
    }

    /// Whether the user is attentive on any node.
    pub async fn is_attentive(&self, ws: &WorkspaceId, user: &UserId) -> bool {
        if self.is_attentive_here(ws, user) {
            return true;
        }
        let Some(shared) = &self.shared else {
            return false;
        };
        let key = key(ws, user);
        let read = tokio::time::timeout(LOOKUP_TIMEOUT, async {
            let mut redis = shared.connection().await?;
            redis.hgetall::<_, HashMap<String, i64>>(key).await.ok()
        });
        let now_ms = chrono::Utc::now().timestamp_millis();
        match read.await {
            Ok(Some(fields)) => fields.values().any(|until| *until > now_ms),
            _ => {
                shared.forget_connection().await;
                false
            }
        }
    }

    fn is_attentive_here(&self, ws: &WorkspaceId, user: &UserId) -> bool {
        let now = Instant::now();
        let users = self.users.lock().unwrap_or_else(|e| e.into_inner());
        users.get(&(ws.clone(), user.clone())).is_some_and(|entry| {
            entry
                .conns
                .values()
                .any(|at| now.duration_since(*at) < self.window)
        })
    }

    /// Writes (or, with `None`, withdraws) this node's word on the user in Redis, in the
    /// background: a connection's frames never wait on Redis.
    fn share(&self, ws: &WorkspaceId, user: &UserId, window: Option<Duration>) {
        let Some(shared) = &self.shared else {
            return;
        };
        let shared = shared.clone();
        let key = key(ws, user);
        let window_ms = self.window.as_millis() as i64;
        tokio::spawn(async move {
            let Some(mut redis) = shared.connection().await else {
                return;
            };
            let field = shared.node.clone();
            let result: redis::RedisResult<()> = match window {
                Some(w) => {
                    let until = chrono::Utc::now().timestamp_millis() + w.as_millis() as i64;
                    redis::pipe()
                        .hset(&key, &field, until)
                        .pexpire(&key, window_ms)
                        .query_async(&mut redis)
                        .await
                }
                None => redis.hdel(&key, &field).await,
            };
            if let Err(e) = result {
                tracing::debug!(error = %e, "attention not shared");
                shared.forget_connection().await;
            }
        });
    }
}

fn key(ws: &WorkspaceId, user: &UserId) -> String {
    format!("hearth:attention:{ws}:{user}")
}

fn rand_node() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::UNIX_EPOCH
            .elapsed()
            .unwrap_or_default()
            .as_nanos(),
    );
    hasher.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn attention_lasts_the_window_after_activity_and_ends_with_blur() {
        let attention = Attention::local(Duration::from_secs(60));
        let (ws, user) = (WorkspaceId::generate(), UserId::generate());
        assert!(!attention.is_attentive(&ws, &user).await);
        attention.focus(&ws, &user, 1);
        assert!(attention.is_attentive(&ws, &user).await);
        tokio::time::advance(Duration::from_secs(59)).await;
        assert!(attention.is_attentive(&ws, &user).await);
        tokio::time::advance(Duration::from_secs(2)).await;
        assert!(
            !attention.is_attentive(&ws, &user).await,
            "idle for over a minute"
        );

        attention.focus(&ws, &user, 1);
        attention.focus(&ws, &user, 2);
        attention.blur(&ws, &user, 1);
        assert!(
            attention.is_attentive(&ws, &user).await,
            "another device has focus"
        );
        attention.blur(&ws, &user, 2);
        assert!(!attention.is_attentive(&ws, &user).await);
        assert!(
            !attention
                .is_attentive(&WorkspaceId::generate(), &user)
                .await
        );
    }
}
