//! `GET /api/v1/openapi.json` describes exactly the API the router serves: every route
//! below is in the document, and every operation in the document is routed.

use std::collections::BTreeSet;

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::TestApp;

/// Every (method, path) the API serves. Search, files and metrics come with later issues
/// and are added here with them.
const ROUTES: &[(&str, &str)] = &[
    ("post", "/api/v1/files"),
    ("get", "/api/v1/files/{id}"),
    ("delete", "/api/v1/files/{id}"),
    ("get", "/api/v1/files/{id}/thumb"),
    ("get", "/api/v1/files/{id}/info"),
    ("post", "/api/v1/workspaces"),
    ("post", "/api/v1/auth/login"),
    ("post", "/api/v1/auth/logout"),
    ("post", "/api/v1/invites"),
    ("post", "/api/v1/auth/signup"),
    ("get", "/api/v1/me"),
    ("get", "/api/v1/search"),
    ("get", "/api/v1/users"),
    ("get", "/api/v1/users/{id}"),
    ("patch", "/api/v1/users/me"),
    ("patch", "/api/v1/users/{id}"),
    ("get", "/api/v1/channels"),
    ("get", "/api/v1/channels/browse"),
    ("post", "/api/v1/channels"),
    ("get", "/api/v1/channels/{id}"),
    ("patch", "/api/v1/channels/{id}"),
    ("post", "/api/v1/channels/{id}/join"),
    ("post", "/api/v1/channels/{id}/leave"),
    ("get", "/api/v1/channels/{id}/members"),
    ("post", "/api/v1/channels/{id}/members"),
    ("delete", "/api/v1/channels/{id}/members/{user_id}"),
    ("post", "/api/v1/dms"),
    ("post", "/api/v1/channels/{id}/read"),
    ("post", "/api/v1/channels/{id}/messages"),
    ("get", "/api/v1/channels/{id}/messages"),
    ("get", "/api/v1/messages/{id}"),
    ("patch", "/api/v1/messages/{id}"),
    ("delete", "/api/v1/messages/{id}"),
    ("get", "/api/v1/messages/{id}/replies"),
    ("put", "/api/v1/messages/{id}/reactions/{emoji}"),
    ("delete", "/api/v1/messages/{id}/reactions/{emoji}"),
    ("get", "/api/v1/events"),
    ("get", "/api/v1/notifications/prefs"),
    ("put", "/api/v1/notifications/prefs"),
    ("get", "/api/v1/channels/{id}/notifications"),
    ("put", "/api/v1/channels/{id}/notifications"),
    ("get", "/api/v1/notifications/targets"),
    ("post", "/api/v1/notifications/targets"),
    ("delete", "/api/v1/notifications/targets/{id}"),
    ("get", "/api/v1/notifications/vapid"),
    ("get", "/api/v1/admin/notifications/dead-letters"),
    ("get", "/api/v1/realtime"),
    ("get", "/healthz"),
    ("get", "/readyz"),
    ("get", "/api/v1/openapi.json"),
];

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// Path parameters replaced by a placeholder, so `{id}` and `{channel_id}` compare equal.
fn shape(path: &str) -> String {
    let mut out = String::new();
    let mut in_param = false;
    for c in path.chars() {
        match c {
            '{' => {
                in_param = true;
                out.push_str("{}");
            }
            '}' => in_param = false,
            _ if !in_param => out.push(c),
            _ => {}
        }
    }
    out
}

async fn document(app: &TestApp) -> Value {
    let reply = app
        .call(Method::GET, "/api/v1/openapi.json", None, None)
        .await;
    assert_eq!(reply.status, 200);
    assert!(
        reply.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    reply.body
}

/// Every (method, path shape) the document describes.
fn operations(doc: &Value) -> BTreeSet<(String, String)> {
    let paths = doc["paths"].as_object().expect("paths");
    let mut ops = BTreeSet::new();
    for (path, item) in paths {
        for method in METHODS {
            if item.get(method).is_some() {
                ops.insert((method.to_owned(), path.clone()));
            }
        }
    }
    ops
}

#[tokio::test]
async fn the_document_is_openapi_3_and_describes_every_route() {
    let app = TestApp::spawn().await;
    let doc = document(&app).await;
    let version = doc["openapi"].as_str().expect("openapi version");
    assert!(version.starts_with("3."), "{version}");
    assert!(doc["info"]["title"].is_string());

    let described: BTreeSet<(String, String)> = operations(&doc)
        .into_iter()
        .map(|(m, p)| (m, shape(&p)))
        .collect();
    let missing: Vec<_> = ROUTES
        .iter()
        .filter(|(m, p)| !described.contains(&((*m).to_owned(), shape(p))))
        .collect();
    assert!(
        missing.is_empty(),
        "routes missing from the document: {missing:?}"
    );
    let expected: BTreeSet<(String, String)> = ROUTES
        .iter()
        .map(|(m, p)| ((*m).to_owned(), shape(p)))
        .collect();
    let unexpected: Vec<_> = described.difference(&expected).collect();
    assert!(
        unexpected.is_empty(),
        "operations in the document this test does not know (add them to ROUTES): {unexpected:?}"
    );
}

#[tokio::test]
async fn every_described_operation_is_routed() {
    let app = TestApp::spawn().await;
    let owner = app.create_workspace("acme").await;
    let doc = document(&app).await;
    let ops = operations(&doc);
    assert!(ops.len() >= ROUTES.len());

    let mut unrouted = Vec::new();
    for (method, path) in ops {
        let concrete = shape(&path).replace("{}", "dummy");
        let method: Method = method.to_uppercase().parse().unwrap();
        // Logging out would end the session the other calls use.
        let token = if concrete == "/api/v1/auth/logout" {
            app.login_as(&owner).await.token
        } else {
            owner.token.clone()
        };
        let body = matches!(method, Method::POST | Method::PUT | Method::PATCH).then(|| json!({}));
        let reply = app
            .call(method.clone(), &concrete, Some(&token), body)
            .await;
        if matches!(reply.code(), "not_found" | "method_not_allowed")
            || reply.status.is_server_error()
        {
            unrouted.push(format!(
                "{method} {concrete}: {} {}",
                reply.status, reply.body
            ));
        }
    }
    assert!(
        unrouted.is_empty(),
        "described but not served:\n{}",
        unrouted.join("\n")
    );
    app.get(&owner, "/api/v1/me").await.ok();
}
