//! Signing in to the gateway: the `auth` frame (first, valid, in time) or the session
//! cookie of the upgrade from the server's own origin; never a token in the URL; plain
//! HTTP is told to upgrade.

use std::time::{Duration, Instant};

use hearth_server::Settings;
use reqwest::Method;
use serde_json::json;
use tokio_tungstenite::tungstenite::Error as WsError;
use tokio_tungstenite::tungstenite::http::HeaderValue;

use super::client::{WAIT, WsClient, upgrade_request};
use super::team;
use crate::support::{Reply, TestApp};

/// A WebSocket upgrade sent with reqwest, to read the body of a refusal.
async fn raw_upgrade(app: &TestApp, path: &str, headers: &[(&str, &str)]) -> Reply {
    let mut request = app
        .request(Method::GET, path)
        .header("connection", "upgrade")
        .header("upgrade", "websocket")
        .header("sec-websocket-version", "13")
        .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==");
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    app.send_request(request).await
}

/// The HTTP status of a refused upgrade.
fn refused_status(result: Result<WsClient, WsError>) -> u16 {
    match result {
        Err(WsError::Http(response)) => response.status().as_u16(),
        Err(e) => panic!("expected an HTTP refusal, got {e}"),
        Ok(_) => panic!("the upgrade was accepted"),
    }
}

#[tokio::test]
async fn a_first_frame_other_than_auth_closes_with_4001() {
    let app = TestApp::spawn().await;
    let t = team(&app).await;
    let mut ws = WsClient::connect(&app).await;
    ws.send_json(json!({"op": "ping", "id": 1})).await;
    ws.expect_closed_with(4001, &[]).await;

    // Not even a valid token helps once the first frame was wrong: a fresh socket does.
    let mut ws = WsClient::connect(&app).await;
    ws.send_json(json!({"op": "send", "channel_id": t.general, "text": "hi"}))
        .await;
    ws.expect_closed_with(4001, &[]).await;
    WsClient::open(&app, &t.bob).await;
}

#[tokio::test]
async fn a_bad_token_closes_with_4001() {
    let app = TestApp::spawn().await;
    let t = team(&app).await;
    let long = "x".repeat(300);
    for token in ["not-a-session", "", long.as_str()] {
        let mut ws = WsClient::connect(&app).await;
        ws.send_json(json!({"op": "auth", "token": token})).await;
        ws.expect_closed_with(4001, &[]).await;
    }
    // Signed out is signed out.
    let reply = app.post(&t.bob, "/api/v1/auth/logout", json!({})).await;
    assert_eq!(reply.status, 204);
    let mut ws = WsClient::connect(&app).await;
    ws.send_json(json!({"op": "auth", "token": t.bob.token}))
        .await;
    ws.expect_closed_with(4001, &[]).await;
}

#[tokio::test]
async fn no_auth_within_the_timeout_closes_with_4001() {
    let mut settings = Settings::default();
    settings.gateway.auth_timeout = Duration::from_millis(300);
    let app = TestApp::spawn_with(settings).await;
    let start = Instant::now();
    let mut ws = WsClient::connect(&app).await;
    ws.expect_closed_with(4001, &[]).await;
    let waited = start.elapsed();
    assert!(
        waited >= Duration::from_millis(250) && waited < WAIT,
        "{waited:?}"
    );
}

#[tokio::test]
async fn a_token_in_the_url_is_refused_without_upgrading() {
    let app = TestApp::spawn().await;
    let t = team(&app).await;
    let url = format!("ws://{}/api/v1/realtime?token={}", app.addr, t.bob.token);
    assert_eq!(refused_status(WsClient::connect_request(url).await), 400);
    let path = format!("/api/v1/realtime?token={}", t.bob.token);
    raw_upgrade(&app, &path, &[])
        .await
        .expect(400, "token_in_url");
}

#[tokio::test]
async fn a_plain_get_is_told_to_use_websocket() {
    let app = TestApp::spawn().await;
    app.send_request(app.request(Method::GET, "/api/v1/realtime"))
        .await
        .expect(426, "websocket_required");
}

#[tokio::test]
async fn a_cookie_session_upgrades_from_the_servers_own_origin_only() {
    let app = TestApp::spawn().await;
    let t = team(&app).await;
    let cookie = format!("theme=dark; hearth_session={}", t.bob.token);
    let own_origin = format!("http://{}", app.addr);

    let mut request = upgrade_request(&app);
    let headers = request.headers_mut();
    headers.insert("cookie", HeaderValue::from_str(&cookie).unwrap());
    headers.insert("origin", HeaderValue::from_str(&own_origin).unwrap());
    let mut ws = WsClient::connect_request(request).await.expect("upgrade");
    ws.send_json(json!({"op": "auth"})).await;
    assert_eq!(ws.expect("hello").await["user_id"], t.bob.user_id.as_str());
    let message = app.send(&t.alice, &t.general, "hi cookie").await;
    assert_eq!(
        ws.expect_event("message.created").await["event"]["message"]["id"],
        message["id"]
    );

    // From another origin, or with none, a cookie is no credential: 403, no upgrade.
    for origin in [Some("https://evil.example"), Some("null"), None] {
        let mut request = upgrade_request(&app);
        let headers = request.headers_mut();
        headers.insert("cookie", HeaderValue::from_str(&cookie).unwrap());
        let mut raw = vec![("cookie", cookie.as_str())];
        if let Some(origin) = origin {
            headers.insert("origin", HeaderValue::from_str(origin).unwrap());
            raw.push(("origin", origin));
        }
        assert_eq!(
            refused_status(WsClient::connect_request(request).await),
            403
        );
        raw_upgrade(&app, "/api/v1/realtime", &raw)
            .await
            .expect(403, "origin_not_allowed");
    }

    // A stale cookie from the right origin upgrades, but cannot sign in.
    let mut request = upgrade_request(&app);
    let headers = request.headers_mut();
    headers.insert("cookie", HeaderValue::from_static("hearth_session=stale"));
    headers.insert("origin", HeaderValue::from_str(&own_origin).unwrap());
    let mut ws = WsClient::connect_request(request).await.expect("upgrade");
    ws.send_json(json!({"op": "auth"})).await;
    ws.expect_closed_with(4001, &[]).await;
}

/// Signing out ends that device's live stream at once; the same person's other
/// sessions keep theirs.
#[tokio::test]
async fn logout_closes_that_sessions_sockets_only() {
    let app = TestApp::spawn().await;
    let t = team(&app).await;
    let laptop = t.bob.clone();
    let phone = app.login_as(&t.bob).await;
    let (mut laptop_ws, _) = WsClient::open(&app, &laptop).await;
    let (mut phone_ws, _) = WsClient::open(&app, &phone).await;

    app.call(
        Method::POST,
        "/api/v1/auth/logout",
        Some(&laptop.token),
        None,
    )
    .await
    .expect(204, "");
    laptop_ws
        .expect_closed_with(4001, &["event", "presence", "typing"])
        .await;

    // The phone's session is untouched and keeps receiving.
    app.send(&t.alice, &t.general, "still there?").await;
    let event = phone_ws.expect_event("message.created").await;
    assert_eq!(event["event"]["message"]["text"], "still there?");
}
