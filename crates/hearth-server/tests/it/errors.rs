//! Bad input and bad requests: every one is a 4xx with a stable code in the one error
//! shape `{"error":{"code","message"}}`, never a 500, never a panic.

use reqwest::Method;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE};
use serde_json::{Value, json};

use crate::support::{Reply, Session, TestApp, missing_id};

/// The body is exactly `{"error": {"code": <non-empty>, "message": <non-empty>}}`.
#[track_caller]
fn assert_error_shape(reply: &Reply) {
    let Value::Object(top) = &reply.body else {
        panic!("not an object: {}", reply.body)
    };
    assert_eq!(top.keys().collect::<Vec<_>>(), ["error"], "{}", reply.body);
    let Value::Object(error) = &top["error"] else {
        panic!("error is not an object: {}", reply.body)
    };
    let mut keys: Vec<&String> = error.keys().collect();
    keys.sort();
    assert_eq!(keys, ["code", "message"], "{}", reply.body);
    let code = error["code"].as_str().expect("code is a string");
    assert!(
        !code.is_empty() && code.chars().all(|c| c.is_ascii_lowercase() || c == '_'),
        "code is snake_case: {code}"
    );
    assert!(
        !error["message"]
            .as_str()
            .expect("message is a string")
            .is_empty()
    );
    assert!(
        reply.headers[CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
}

/// Sends raw bytes as a `POST` body with the given content type.
async fn post_raw(
    app: &TestApp,
    s: &Session,
    path: &str,
    content_type: Option<&str>,
    body: Vec<u8>,
) -> Reply {
    let mut req = app
        .request(Method::POST, path)
        .bearer_auth(&s.token)
        .body(body);
    if let Some(ct) = content_type {
        req = req.header(CONTENT_TYPE, ct);
    }
    app.send_request(req).await
}

#[tokio::test]
async fn malformed_bodies_get_400s_with_their_code() {
    let app = TestApp::spawn().await;
    let owner = app.create_workspace("acme").await;
    let json_ct = Some("application/json");
    let cases: [(&[u8], &str); 5] = [
        (b"{\"name\": ", "malformed_json"),
        (b"not json at all", "malformed_json"),
        (b"{\"name\": 5}", "invalid_body"),
        (b"{\"name\": \"ok\", \"bogus\": true}", "invalid_body"),
        (b"{}", "invalid_body"),
    ];
    for (body, code) in cases {
        let reply = post_raw(&app, &owner, "/api/v1/channels", json_ct, body.to_vec()).await;
        assert_error_shape(&reply);
        reply.expect(400, code);
    }
    let list = app.get(&owner, "/api/v1/channels").await.ok();
    assert_eq!(list["channels"], json!([]), "nothing was created");
}

#[tokio::test]
async fn a_body_must_be_a_json_object() {
    let app = TestApp::spawn().await;
    let owner = app.create_workspace("acme").await;
    let json_ct = Some("application/json");
    for body in [
        &b"[\"general\"]"[..],
        b"[\"general\", true]",
        b"\"general\"",
        b"null",
    ] {
        let reply = post_raw(&app, &owner, "/api/v1/channels", json_ct, body.to_vec()).await;
        assert_error_shape(&reply);
        reply.expect(400, "invalid_body");
    }
    let list = app.get(&owner, "/api/v1/channels").await.ok();
    assert_eq!(list["channels"], json!([]), "nothing was created");
}

#[tokio::test]
async fn a_body_must_be_declared_json() {
    let app = TestApp::spawn().await;
    let owner = app.create_workspace("acme").await;
    let body = br#"{"name": "general"}"#.to_vec();
    for ct in [None, Some("text/plain")] {
        let reply = post_raw(&app, &owner, "/api/v1/channels", ct, body.clone()).await;
        assert_error_shape(&reply);
        reply.expect(415, "unsupported_media_type");
    }
    let ct = Some("application/json; charset=utf-8");
    post_raw(&app, &owner, "/api/v1/channels", ct, body)
        .await
        .expect(201, "");
}

#[tokio::test]
async fn oversized_bodies_are_refused() {
    let app = TestApp::spawn().await;
    let owner = app.create_workspace("acme").await;
    let channel = app.create_channel(&owner, "general", false).await;
    let text = "x".repeat(1024 * 1024 + 1);
    let body = serde_json::to_vec(&json!({"text": text})).unwrap();
    let path = format!("/api/v1/channels/{channel}/messages");
    let reply = post_raw(&app, &owner, &path, Some("application/json"), body).await;
    assert_error_shape(&reply);
    reply.expect(413, "payload_too_large");
    // The connection and the server are fine afterwards.
    app.send(&owner, &channel, "small").await;
}

#[tokio::test]
async fn invalid_utf8_is_a_client_error() {
    let app = TestApp::spawn().await;
    let owner = app.create_workspace("acme").await;
    let channel = app.create_channel(&owner, "general", false).await;
    let mut body = b"{\"text\": \"bad ".to_vec();
    body.extend_from_slice(&[0xff, 0xfe, 0xc3]);
    body.extend_from_slice(b"\"}");
    let path = format!("/api/v1/channels/{channel}/messages");
    let reply = post_raw(&app, &owner, &path, Some("application/json"), body).await;
    assert!(
        reply.status.is_client_error(),
        "{} {}",
        reply.status,
        reply.body
    );
    assert_error_shape(&reply);
    // Forbidden control characters inside valid JSON are refused too.
    app.post(&owner, &path, json!({"text": "nul \u{0} byte"}))
        .await
        .expect(422, "invalid_text");
    assert_eq!(
        app.history(&owner, &channel, "").await["messages"],
        json!([])
    );
}

#[tokio::test]
async fn unknown_routes_and_methods_answer_in_json() {
    let app = TestApp::spawn().await;
    let owner = app.create_workspace("acme").await;
    for path in ["/api/v1/nope", "/api/v2/channels", "/api", "/healthzz"] {
        let reply = app.get(&owner, path).await;
        assert_error_shape(&reply);
        reply.expect(404, "not_found");
    }
    for (method, path) in [
        (Method::DELETE, "/api/v1/me"),
        (Method::PUT, "/api/v1/channels"),
        (Method::GET, "/api/v1/auth/login"),
    ] {
        let reply = app.call(method, path, Some(&owner.token), None).await;
        assert_error_shape(&reply);
        reply.expect(405, "method_not_allowed");
    }
}

#[tokio::test]
async fn authentication_failures_are_401s() {
    let app = TestApp::spawn().await;
    let owner = app.create_workspace("acme").await;
    let reply = app.call(Method::GET, "/api/v1/me", None, None).await;
    assert_error_shape(&reply);
    reply.expect(401, "not_authenticated");

    // Another scheme is not ours (a proxy's Basic auth rides along with a browser's
    // cookie): it authenticates nobody.
    let req = app
        .request(Method::GET, "/api/v1/me")
        .header(AUTHORIZATION, format!("Basic {}", owner.token));
    app.send_request(req).await.expect(401, "not_authenticated");

    for header in [
        "Bearer garbage".to_owned(),
        "Bearer ".to_owned(),
        format!("Token {}", owner.token),
        format!("Bearer {}x", owner.token),
        format!("Bearer {}", "a".repeat(10_000)),
    ] {
        let req = app
            .request(Method::GET, "/api/v1/me")
            .header(AUTHORIZATION, header);
        let reply = app.send_request(req).await;
        assert_error_shape(&reply);
        reply.expect(401, "invalid_token");
    }
}

#[tokio::test]
async fn tokens_in_urls_are_refused_everywhere() {
    let app = TestApp::spawn().await;
    let owner = app.create_workspace("acme").await;
    let token = &owner.token;
    for path in [
        format!("/api/v1/me?token={token}"),
        format!("/api/v1/channels?access_token={token}"),
        format!("/api/v1/users?limit=2&ACCESS_TOKEN={token}"),
        format!("/healthz?token={token}"),
        format!("/api/v1/nope?token={token}"),
    ] {
        // Refused even with a valid header alongside.
        let reply = app.get(&owner, &path).await;
        assert_error_shape(&reply);
        reply.expect(400, "token_in_url");
        let reply = app.call(Method::GET, &path, None, None).await;
        reply.expect(400, "token_in_url");
    }
    let reply = app
        .call(
            Method::POST,
            &format!("/api/v1/auth/logout?token={token}"),
            Some(token),
            Some(json!({})),
        )
        .await;
    reply.expect(400, "token_in_url");
    app.get(&owner, "/api/v1/me").await.ok();
}

#[tokio::test]
async fn malformed_paging_parameters_are_400s() {
    let app = TestApp::spawn().await;
    let owner = app.create_workspace("acme").await;
    let channel = app.create_channel(&owner, "general", false).await;
    for path in [
        "/api/v1/users?cursor=!!!".to_owned(),
        "/api/v1/users?cursor=aGVsbG8".to_owned(),
        format!("/api/v1/channels/{channel}/members?cursor=%FF%FE"),
    ] {
        let reply = app.get(&owner, &path).await;
        assert_error_shape(&reply);
        reply.expect(400, "invalid_cursor");
    }
    for path in [
        "/api/v1/users?limit=abc".to_owned(),
        "/api/v1/users?limit=-1".to_owned(),
        format!("/api/v1/channels/{channel}/messages?before=x"),
        "/api/v1/events?after=0&bogus=1".to_owned(),
    ] {
        let reply = app.get(&owner, &path).await;
        assert_error_shape(&reply);
        assert_eq!(reply.status, 400, "{path}: {}", reply.body);
    }
}

#[tokio::test]
async fn malformed_ids_are_not_found_rather_than_errors() {
    let app = TestApp::spawn().await;
    let owner = app.create_workspace("acme").await;
    let missing = app
        .get(&owner, &format!("/api/v1/channels/{}", missing_id('C')))
        .await;
    for bad in [
        "x",
        "C0",
        "c00000000000000000000000000",
        "%00",
        "..%2F..%2Fetc",
    ] {
        let reply = app.get(&owner, &format!("/api/v1/channels/{bad}")).await;
        assert_eq!(
            (reply.status, &reply.raw),
            (missing.status, &missing.raw),
            "{bad}"
        );
    }
}

#[tokio::test]
async fn health_endpoints_answer_ok() {
    let app = TestApp::spawn().await;
    for path in ["/healthz", "/readyz"] {
        let reply = app.call(Method::GET, path, None, None).await;
        assert_eq!(reply.status, 200);
        assert_eq!(reply.body, json!({"status": "ok"}));
    }
}
