//! Tenant isolation and private-channel secrecy, walked over every route that takes an
//! object id.
//!
//! [`ROUTES`] lists each such route with placeholders for the ids it takes. Every route is
//! tried three ways: (a) with the ids of another workspace's objects, (b) by a member of
//! the same workspace with the ids of a private channel, its message and (for user ids) an
//! account it cannot see, and (c) with well-formed ids that name nothing. All three must
//! answer 404 with byte-identical bodies, so a caller cannot tell "not yours" from "does
//! not exist". Afterwards the other workspace's objects must be unchanged.
//!
//! **A new route that takes an id is covered by adding a line to [`ROUTES`].**

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{Session, TestApp, missing_id};

/// A route to try: method, path template and optional body template. Placeholders:
/// `{channel}`, `{message}` and `{user}` are the ids under test; `{own_channel}` is a
/// public channel of the caller's workspace that the caller is in, and `{me}` the caller.
struct Route {
    method: Method,
    path: &'static str,
    body: Option<&'static str>,
}

const fn route(method: Method, path: &'static str, body: Option<&'static str>) -> Route {
    Route { method, path, body }
}

const ROUTES: &[Route] = &[
    // Channels.
    route(Method::GET, "/api/v1/channels/{channel}", None),
    route(
        Method::PATCH,
        "/api/v1/channels/{channel}",
        Some(r#"{"topic":"pwned"}"#),
    ),
    route(
        Method::PATCH,
        "/api/v1/channels/{channel}",
        Some(r#"{"name":"pwned","archived":true}"#),
    ),
    route(Method::POST, "/api/v1/channels/{channel}/join", Some("{}")),
    route(
        Method::GET,
        "/api/v1/channels/{channel}/notifications",
        None,
    ),
    route(
        Method::PUT,
        "/api/v1/channels/{channel}/notifications",
        Some(r#"{"level":"all","muted":true}"#),
    ),
    route(Method::POST, "/api/v1/channels/{channel}/leave", Some("{}")),
    route(Method::GET, "/api/v1/channels/{channel}/members", None),
    route(
        Method::POST,
        "/api/v1/channels/{channel}/members",
        Some(r#"{"user_ids":["{me}"]}"#),
    ),
    route(
        Method::DELETE,
        "/api/v1/channels/{channel}/members/{me}",
        None,
    ),
    route(
        Method::DELETE,
        "/api/v1/channels/{channel}/members/{user}",
        None,
    ),
    route(
        Method::POST,
        "/api/v1/channels/{channel}/read",
        Some(r#"{"seq":1}"#),
    ),
    route(Method::GET, "/api/v1/channels/{channel}/messages", None),
    route(
        Method::GET,
        "/api/v1/channels/{channel}/messages?limit=1&before=1000",
        None,
    ),
    route(
        Method::POST,
        "/api/v1/channels/{channel}/messages",
        Some(r#"{"text":"pwned"}"#),
    ),
    // Messages.
    route(Method::GET, "/api/v1/messages/{message}", None),
    route(
        Method::PATCH,
        "/api/v1/messages/{message}",
        Some(r#"{"text":"pwned"}"#),
    ),
    route(Method::DELETE, "/api/v1/messages/{message}", None),
    route(Method::GET, "/api/v1/messages/{message}/replies", None),
    route(
        Method::PUT,
        "/api/v1/messages/{message}/reactions/thumbsup",
        None,
    ),
    route(
        Method::DELETE,
        "/api/v1/messages/{message}/reactions/thumbsup",
        None,
    ),
    route(
        Method::POST,
        "/api/v1/channels/{own_channel}/messages",
        Some(r#"{"text":"pwned","thread_root_id":"{message}"}"#),
    ),
    // Users, and user ids in bodies.
    route(Method::GET, "/api/v1/users/{user}", None),
    route(
        Method::PATCH,
        "/api/v1/users/{user}",
        Some(r#"{"role":"member"}"#),
    ),
    route(
        Method::PATCH,
        "/api/v1/users/{user}",
        Some(r#"{"deactivated":true}"#),
    ),
    route(
        Method::POST,
        "/api/v1/dms",
        Some(r#"{"user_ids":["{user}"]}"#),
    ),
    route(
        Method::POST,
        "/api/v1/channels/{own_channel}/members",
        Some(r#"{"user_ids":["{user}"]}"#),
    ),
    route(
        Method::DELETE,
        "/api/v1/channels/{own_channel}/members/{user}",
        None,
    ),
    // Files, and file ids in bodies.
    route(Method::GET, "/api/v1/files/{file}", None),
    route(Method::GET, "/api/v1/files/{file}/thumb", None),
    route(Method::GET, "/api/v1/files/{file}/info", None),
    route(Method::DELETE, "/api/v1/files/{file}", None),
    route(
        Method::POST,
        "/api/v1/channels/{own_channel}/messages",
        Some(r#"{"text":"pwned","file_ids":["{file}"]}"#),
    ),
];

/// Who calls and which ids it tries.
struct Case {
    name: &'static str,
    caller: Session,
    own_channel: String,
    channel: String,
    message: String,
    user: String,
    file: String,
}

impl Case {
    fn fill(&self, template: &str) -> String {
        template
            .replace("{own_channel}", &self.own_channel)
            .replace("{channel}", &self.channel)
            .replace("{message}", &self.message)
            .replace("{user}", &self.user)
            .replace("{file}", &self.file)
            .replace("{me}", &self.caller.user_id)
    }
}

/// The other workspace's objects as their owner sees them, to check nothing changed.
async fn snapshot(
    app: &TestApp,
    owner: &Session,
    channel: &str,
    message: &str,
    user: &str,
) -> Vec<Value> {
    vec![
        app.get(owner, &format!("/api/v1/channels/{channel}"))
            .await
            .ok(),
        app.get(owner, &format!("/api/v1/channels/{channel}/members"))
            .await
            .ok(),
        app.get(owner, &format!("/api/v1/channels/{channel}/messages"))
            .await
            .ok(),
        app.get(owner, &format!("/api/v1/messages/{message}"))
            .await
            .ok(),
        app.get(owner, &format!("/api/v1/users/{user}")).await.ok(),
    ]
}

#[tokio::test]
async fn every_route_answers_alike_for_foreign_hidden_and_missing_ids() {
    let app = TestApp::spawn().await;

    // Workspace A: the caller's. Its owner has a private channel with a thread in it;
    // `outsider` is a member of A who is not in that channel.
    let a_owner = app.create_workspace("acme").await;
    let outsider = app.add_user(&a_owner, "outsider@acme.test", "member").await;
    let a_general = app.create_channel(&a_owner, "general", false).await;
    app.join(&outsider, &a_general).await;
    let secret = app.create_channel(&a_owner, "secret", true).await;
    let secret_msg = app.send(&a_owner, &secret, "classified").await;
    let secret_msg = secret_msg["id"].as_str().unwrap().to_owned();

    // Workspace B: a public channel with a message and a member, all visible inside B.
    let b_owner = app.create_workspace("beta").await;
    let b_member = app.add_user(&b_owner, "member@beta.test", "member").await;
    let b_channel = app.create_channel(&b_owner, "general", false).await;
    app.join(&b_member, &b_channel).await;
    let b_msg = app.send(&b_member, &b_channel, "beta's words").await;
    let b_msg = b_msg["id"].as_str().unwrap().to_owned();
    app.put(
        &b_member,
        &format!("/api/v1/messages/{b_msg}/reactions/wave"),
    )
    .await
    .ok();

    // A file of each: B's shared in its public channel, A's in the private one.
    let b_file = app
        .upload_file(&b_member, "beta.png", b"beta's bytes")
        .await;
    let b_file = b_file["id"].as_str().unwrap().to_owned();
    let share = |file: &str| json!({"text": "", "file_ids": [file]});
    app.post(
        &b_member,
        &format!("/api/v1/channels/{b_channel}/messages"),
        share(&b_file),
    )
    .await
    .ok();
    let secret_file = app.upload_file(&a_owner, "plan.pdf", b"the plan").await;
    let secret_file = secret_file["id"].as_str().unwrap().to_owned();
    app.post(
        &a_owner,
        &format!("/api/v1/channels/{secret}/messages"),
        share(&secret_file),
    )
    .await
    .ok();

    let before_b = snapshot(&app, &b_owner, &b_channel, &b_msg, &b_member.user_id).await;
    let before_secret = snapshot(&app, &a_owner, &secret, &secret_msg, &a_owner.user_id).await;

    let cases = [
        Case {
            name: "another workspace's ids (by its owner)",
            caller: a_owner.clone(),
            own_channel: a_general.clone(),
            channel: b_channel.clone(),
            message: b_msg.clone(),
            user: b_member.user_id.clone(),
            file: b_file.clone(),
        },
        Case {
            name: "a private channel's ids (by a non-member)",
            caller: outsider.clone(),
            own_channel: a_general.clone(),
            channel: secret.clone(),
            message: secret_msg.clone(),
            user: b_owner.user_id.clone(),
            file: secret_file.clone(),
        },
        Case {
            name: "ids that name nothing",
            caller: outsider.clone(),
            own_channel: a_general.clone(),
            channel: missing_id('C'),
            message: missing_id('M'),
            user: missing_id('U'),
            file: missing_id('F'),
        },
    ];

    let mut failures = Vec::new();
    for route in ROUTES {
        let mut answers: Vec<(&str, u16, String)> = Vec::new();
        for case in &cases {
            let path = case.fill(route.path);
            let mut req = app
                .request(route.method.clone(), &path)
                .bearer_auth(&case.caller.token);
            if let Some(body) = route.body {
                req = req
                    .header("content-type", "application/json")
                    .body(case.fill(body));
            }
            let reply = app.send_request(req).await;
            let raw = String::from_utf8_lossy(&reply.raw).into_owned();
            answers.push((case.name, reply.status.as_u16(), raw));
        }
        let reference = &answers[2];
        let alike = answers
            .iter()
            .all(|(_, s, b)| (*s, b) == (reference.1, &reference.2));
        let not_found = reference.1 == 404 && reference.2.contains("_not_found");
        if !alike || !not_found {
            failures.push(format!("{} {}: {answers:#?}", route.method, route.path));
        }
    }
    assert!(
        failures.is_empty(),
        "routes that leak:\n{}",
        failures.join("\n")
    );

    assert_eq!(
        snapshot(&app, &b_owner, &b_channel, &b_msg, &b_member.user_id).await,
        before_b,
        "another workspace's objects changed"
    );
    for (owner, file) in [(&b_member, &b_file), (&a_owner, &secret_file)] {
        app.get(owner, &format!("/api/v1/files/{file}/info"))
            .await
            .ok();
    }
    assert_eq!(
        snapshot(&app, &a_owner, &secret, &secret_msg, &a_owner.user_id).await,
        before_secret,
        "the private channel changed"
    );
    // The outsider's own view is untouched: still not in the private channel, and the
    // public channel got no stray message.
    assert!(app.my_channel(&outsider, &secret).await.is_none());
    let general = app.history(&a_owner, &a_general, "").await;
    assert_eq!(general["messages"], json!([]));
    let dms = app.get(&outsider, "/api/v1/channels").await.ok();
    assert_eq!(dms["channels"].as_array().unwrap().len(), 1, "{dms}");
}

#[tokio::test]
async fn lists_never_include_another_workspaces_objects() {
    let app = TestApp::spawn().await;
    let a = app.create_workspace("acme").await;
    let b = app.create_workspace("beta").await;
    let b_channel = app.create_channel(&b, "general", false).await;
    app.send(&b, &b_channel, "beta only").await;

    let users = app.get(&a, "/api/v1/users").await.ok();
    assert_eq!(users["users"].as_array().unwrap().len(), 1);
    assert_eq!(users["users"][0]["id"], a.user_id.as_str());
    for path in ["/api/v1/channels", "/api/v1/channels/browse"] {
        assert_eq!(
            app.get(&a, path).await.ok()["channels"],
            json!([]),
            "{path}"
        );
    }
    let events = app.get(&a, "/api/v1/events?after=0").await.ok();
    let text = events.to_string();
    assert!(
        !text.contains(&b_channel) && !text.contains(&b.user_id),
        "{text}"
    );
}
