//! The realtime gateway over real WebSockets (`GET /api/v1/realtime`): delivery in seq
//! order, gap-free resume, visibility, slow consumers, presence and typing, heartbeats,
//! authentication and bad frames. Each test runs its own server on port 0; timings that
//! matter (heartbeat, grace periods, queue sizes) are shrunk through `Settings`.

mod auth;
mod chat;
pub mod client;
mod fanout;
mod frames;
mod presence;
mod resume;
mod visibility;

use serde_json::{Value, json};

use crate::support::{Session, TestApp};

/// Two people who share the public channel `general`.
pub struct Team {
    pub alice: Session,
    pub bob: Session,
    pub general: String,
}

/// Alice owns the workspace and `general`; Bob is a member who joined it.
pub async fn team(app: &TestApp) -> Team {
    let alice = app.create_workspace("acme").await;
    let bob = app.add_user(&alice, "bob@acme.test", "member").await;
    let general = app.create_channel(&alice, "general", false).await;
    app.join(&bob, &general).await;
    Team {
        alice,
        bob,
        general,
    }
}

/// The `seq` of a message or an event frame.
pub fn seq(value: &Value) -> i64 {
    value["seq"]
        .as_i64()
        .unwrap_or_else(|| panic!("no seq: {value}"))
}

/// The `id` of a message.
pub fn id(message: &Value) -> String {
    message["id"].as_str().expect("an id").to_owned()
}

/// `/api/v1/messages/{id}` of a message.
pub fn message_path(message: &Value) -> String {
    format!("/api/v1/messages/{}", id(message))
}

/// Adds `user` to `channel` (as an admin or member of it may).
pub async fn add_member(app: &TestApp, by: &Session, channel: &str, user: &Session) {
    app.post(
        by,
        &format!("/api/v1/channels/{channel}/members"),
        json!({"user_ids": [user.user_id]}),
    )
    .await
    .ok();
}

/// Removes `user` from `channel`; the answer is 204.
pub async fn remove_member(app: &TestApp, by: &Session, channel: &str, user: &Session) {
    let reply = app
        .delete(
            by,
            &format!("/api/v1/channels/{channel}/members/{}", user.user_id),
        )
        .await;
    assert_eq!(reply.status, 204, "{}", reply.body);
}
