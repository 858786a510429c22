//! What the browser client stands on: its files served at `/` under a strict
//! Content-Security-Policy, and cookie sessions whose writes need the CSRF value.

use reqwest::Method;
use reqwest::header::{HeaderMap, SET_COOKIE};
use serde_json::{Value, json};

use crate::support::{PASSWORD, Reply, TestApp, session_from};

/// A signed-in browser: its two cookies, as `Set-Cookie` gave them.
struct Browser {
    session: String,
    csrf: String,
}

impl Browser {
    fn cookie_header(&self) -> String {
        format!(
            "theme=dark; hearth_session={}; hearth_csrf={}",
            self.session, self.csrf
        )
    }
}

fn set_cookies(headers: &HeaderMap) -> Vec<String> {
    headers
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect()
}

fn cookie_value(set_cookies: &[String], name: &str) -> Option<String> {
    set_cookies.iter().find_map(|c| {
        let (pair, _) = c.split_once(';').unwrap_or((c, ""));
        let (key, value) = pair.split_once('=')?;
        (key == name).then(|| value.to_owned())
    })
}

/// Signs in as the web client does and checks what the browser is handed.
async fn browser_login(app: &TestApp, slug: &str, email: &str) -> Browser {
    let req = app
        .request(Method::POST, "/api/v1/auth/login")
        .header("x-hearth-session", "cookie")
        .json(&json!({"workspace": slug, "email": email, "password": PASSWORD}));
    let reply = app.send_request(req).await;
    let cookies = set_cookies(&reply.headers);
    let body = reply.ok();
    assert!(body.get("token").is_none(), "no token a script could read");
    let session = cookie_value(&cookies, "hearth_session").expect("session cookie");
    let csrf = cookie_value(&cookies, "hearth_csrf").expect("csrf cookie");
    assert_eq!(body["csrf_token"], csrf.as_str());
    let session_cookie = cookies
        .iter()
        .find(|c| c.starts_with("hearth_session="))
        .unwrap();
    assert!(session_cookie.contains("HttpOnly") && session_cookie.contains("SameSite=Lax"));
    let csrf_cookie = cookies
        .iter()
        .find(|c| c.starts_with("hearth_csrf="))
        .unwrap();
    assert!(!csrf_cookie.contains("HttpOnly") && csrf_cookie.contains("SameSite=Strict"));
    Browser { session, csrf }
}

/// A request as the browser sends it: cookies, and optionally a CSRF header and Origin.
async fn browser_call(
    app: &TestApp,
    browser: &Browser,
    method: Method,
    path: &str,
    csrf: Option<&str>,
    origin: Option<&str>,
    body: Option<Value>,
) -> Reply {
    let mut req = app
        .request(method, path)
        .header("cookie", browser.cookie_header());
    if let Some(csrf) = csrf {
        req = req.header("x-csrf-token", csrf);
    }
    if let Some(origin) = origin {
        req = req.header("origin", origin);
    }
    if let Some(body) = body {
        req = req.json(&body);
    }
    app.send_request(req).await
}

#[tokio::test]
async fn a_cookie_session_reads_freely_and_writes_only_with_its_csrf_value() {
    let app = TestApp::spawn().await;
    let owner = app.create_workspace("acme").await;
    let browser = browser_login(&app, "acme", &owner.email).await;
    let other = browser_login(&app, "acme", &owner.email).await;
    let own_origin = format!("http://{}", app.addr);

    let me = browser_call(&app, &browser, Method::GET, "/api/v1/me", None, None, None)
        .await
        .ok();
    assert_eq!(me["user"]["id"], owner.user_id.as_str());

    let create = |name: &str| json!({"name": name});
    // Without the header, with another session's value, or from another origin: refused,
    // and nothing is created.
    let refusals = [
        (None, None, "no-header"),
        (Some(other.csrf.as_str()), None, "other-session"),
        (Some(""), None, "empty"),
        (
            Some(browser.csrf.as_str()),
            Some("https://evil.example"),
            "evil-origin",
        ),
    ];
    for (csrf, origin, name) in refusals {
        browser_call(
            &app,
            &browser,
            Method::POST,
            "/api/v1/channels",
            csrf,
            origin,
            Some(create(name)),
        )
        .await
        .expect(403, "csrf_failed");
    }
    let channels = app.get(&owner, "/api/v1/channels").await.ok();
    let names: Vec<&str> = channels["channels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap_or_default())
        .collect();
    for (_, _, name) in refusals {
        assert!(!names.contains(&name), "{name} was created: {names:?}");
    }

    // With its own value, from its own origin or with no Origin at all: done.
    for (origin, name) in [
        (Some(own_origin.as_str()), "from-page"),
        (None, "no-origin"),
    ] {
        browser_call(
            &app,
            &browser,
            Method::POST,
            "/api/v1/channels",
            Some(&browser.csrf),
            origin,
            Some(create(name)),
        )
        .await
        .expect(201, "");
    }

    // A bearer token needs no CSRF value, and wins over a cookie of someone else.
    let bob = app.add_user(&owner, "bob@acme.test", "member").await;
    let req = app
        .request(Method::GET, "/api/v1/me")
        .bearer_auth(&bob.token)
        .header("cookie", browser.cookie_header());
    let me = app.send_request(req).await.ok();
    assert_eq!(me["user"]["id"], bob.user_id.as_str());
}

#[tokio::test]
async fn signing_out_clears_the_cookies_and_ends_the_session() {
    let app = TestApp::spawn().await;
    let owner = app.create_workspace("acme").await;
    let browser = browser_login(&app, "acme", &owner.email).await;

    // Signing out is a write like any other: a forged one does nothing.
    browser_call(
        &app,
        &browser,
        Method::POST,
        "/api/v1/auth/logout",
        None,
        None,
        None,
    )
    .await
    .expect(403, "csrf_failed");
    browser_call(&app, &browser, Method::GET, "/api/v1/me", None, None, None)
        .await
        .ok();

    let reply = browser_call(
        &app,
        &browser,
        Method::POST,
        "/api/v1/auth/logout",
        Some(&browser.csrf),
        None,
        None,
    )
    .await;
    assert_eq!(reply.status.as_u16(), 204);
    let cleared = set_cookies(&reply.headers);
    for name in ["hearth_session", "hearth_csrf"] {
        assert!(
            cleared
                .iter()
                .any(|c| c.starts_with(&format!("{name}=;")) && c.contains("Max-Age=0")),
            "{name} not cleared: {cleared:?}"
        );
    }
    browser_call(&app, &browser, Method::GET, "/api/v1/me", None, None, None)
        .await
        .expect(401, "invalid_token");
    // Signing out of a session that is already gone still clears the browser's cookies.
    let reply = browser_call(
        &app,
        &browser,
        Method::POST,
        "/api/v1/auth/logout",
        Some(&browser.csrf),
        None,
        None,
    )
    .await;
    assert_eq!(set_cookies(&reply.headers).len(), 2);
    reply.expect(401, "invalid_token");
}

#[tokio::test]
async fn a_browser_behind_basic_auth_still_signs_in_by_cookie() {
    let app = TestApp::spawn().await;
    let owner = app.create_workspace("acme").await;
    let browser = browser_login(&app, "acme", &owner.email).await;
    let req = app
        .request(Method::GET, "/api/v1/me")
        .header("authorization", "Basic dXNlcjpwYXNz")
        .header("cookie", browser.cookie_header());
    let me = app.send_request(req).await.ok();
    assert_eq!(me["user"]["id"], owner.user_id.as_str());
}

#[tokio::test]
async fn a_sign_in_from_an_https_page_gets_secure_cookies() {
    let app = TestApp::spawn().await;
    let owner = app.create_workspace("acme").await;
    let req = app
        .request(Method::POST, "/api/v1/auth/login")
        .header("x-hearth-session", "cookie")
        .header("origin", "https://chat.example")
        .json(&json!({"workspace": "acme", "email": owner.email, "password": PASSWORD}));
    let reply = app.send_request(req).await;
    let cookies = set_cookies(&reply.headers);
    assert_eq!(cookies.len(), 2);
    assert!(
        cookies.iter().all(|c| c.contains("; Secure")),
        "{cookies:?}"
    );
}

#[tokio::test]
async fn paths_that_climb_out_of_the_client_are_not_found() {
    let app = TestApp::spawn().await;
    // reqwest would normalise `..`; a raw request line keeps it as sent.
    for path in [
        // A symlink as the last component slips past rust-embed's own check in debug builds.
        "/assets/../../../../../../../../proc/self/exe",
        "/assets/../../Cargo.toml",
        "/assets/..%2f..%2fCargo.toml",
        "/assets/./app.js",
    ] {
        let response = raw_get(app.addr, path).await;
        let head: String = response.chars().take(200).collect();
        assert!(response.starts_with("HTTP/1.1 404"), "{path}: {head}");
        assert!(!response.contains("[workspace]") && !response.contains("ELF"));
    }
}

/// A GET sent byte for byte, with the path exactly as given; the response as text.
async fn raw_get(addr: std::net::SocketAddr, path: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    String::from_utf8_lossy(&response).into_owned()
}

#[tokio::test]
async fn creating_a_workspace_and_signing_up_can_start_cookie_sessions() {
    let app = TestApp::spawn().await;
    let req = app
        .request(Method::POST, "/api/v1/workspaces")
        .header("x-hearth-session", "cookie")
        .json(&json!({
            "name": "Acme", "slug": "acme", "email": "owner@acme.test",
            "password": PASSWORD, "display_name": "Owner",
        }));
    let reply = app.send_request(req).await;
    assert_eq!(reply.status.as_u16(), 201);
    let cookies = set_cookies(&reply.headers);
    assert!(reply.body.get("token").is_none());
    assert_eq!(
        cookie_value(&cookies, "hearth_csrf").as_deref(),
        reply.body["csrf_token"].as_str()
    );

    let body = app.login("acme", "owner@acme.test", PASSWORD).await.ok();
    let owner = session_from(&body, "acme", "owner@acme.test");
    let code = app.invite(&owner, None, "member").await;
    let req = app
        .request(Method::POST, "/api/v1/auth/signup")
        .header("x-hearth-session", "cookie")
        .json(&json!({
            "workspace": "acme", "invite_code": code, "email": "new@acme.test",
            "password": PASSWORD, "display_name": "New",
        }));
    let reply = app.send_request(req).await;
    assert_eq!(reply.status.as_u16(), 201);
    let cookies = set_cookies(&reply.headers);
    let browser = Browser {
        session: cookie_value(&cookies, "hearth_session").expect("session cookie"),
        csrf: cookie_value(&cookies, "hearth_csrf").expect("csrf cookie"),
    };
    let me = browser_call(&app, &browser, Method::GET, "/api/v1/me", None, None, None)
        .await
        .ok();
    assert_eq!(me["user"]["email"], "new@acme.test");

    // Without the header, API clients get a bearer token and no cookies, as before.
    let reply = app.login("acme", "new@acme.test", PASSWORD).await;
    assert!(set_cookies(&reply.headers).is_empty());
    assert!(reply.ok()["token"].is_string());
}

/// A GET as a browser makes it, answered with whatever body the server sends.
async fn fetch(app: &TestApp, path: &str, headers: &[(&str, &str)]) -> reqwest::Response {
    let mut req = app.request(Method::GET, path);
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    req.send().await.expect("request")
}

#[tokio::test]
async fn the_client_is_served_at_the_root_under_a_strict_policy() {
    let app = TestApp::spawn().await;
    let index = fetch(&app, "/", &[]).await;
    assert_eq!(index.status().as_u16(), 200);
    let headers = index.headers().clone();
    assert!(
        headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let csp = headers["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"));
    assert!(csp.contains("frame-ancestors 'none'"));
    assert_eq!(headers["x-content-type-options"], "nosniff");
    let html = index.text().await.unwrap();
    // Every script is a file of this origin: nothing inline for the policy to refuse.
    let scripts: Vec<&str> = html.split("<script").skip(1).collect();
    assert!(!scripts.is_empty(), "the page loads its code");
    for script in scripts {
        let tag = &script[..script.find('>').unwrap()];
        assert!(
            tag.contains("src=\"/assets/"),
            "inline or foreign script: {tag}"
        );
        let after = &script[script.find('>').unwrap() + 1..];
        assert!(after.trim_start().starts_with("</script>"), "inline code");
    }

    // Every module is preloaded at once rather than found one import level at a time.
    assert!(html.contains(r#"<link rel="modulepreload" href="/assets/app.js">"#));
    assert!(html.contains(r#"<link rel="modulepreload" href="/assets/lib/realtime.js">"#));

    // The client's own routes reload into the same page.
    for path in ["/c/C123", "/signin", "/invite/acme"] {
        let page = fetch(&app, path, &[]).await;
        assert_eq!(page.status().as_u16(), 200, "{path}");
        assert_eq!(page.text().await.unwrap(), html);
    }

    let script = fetch(&app, "/assets/app.js", &[("accept-encoding", "gzip")]).await;
    assert_eq!(script.status().as_u16(), 200);
    assert!(
        script.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/javascript")
    );
    assert_eq!(script.headers()["content-encoding"], "gzip");
    let etag = script.headers()["etag"].to_str().unwrap().to_owned();
    let again = fetch(
        &app,
        "/assets/app.js",
        &[("if-none-match", &etag), ("accept-encoding", "gzip")],
    )
    .await;
    assert_eq!(again.status().as_u16(), 304);
    // The other encoding is another representation, with its own tag.
    let plain = fetch(&app, "/assets/app.js", &[("if-none-match", &etag)]).await;
    assert_eq!(plain.status().as_u16(), 200);
    assert_ne!(plain.headers()["etag"].to_str().unwrap(), etag);

    // Files that do not exist are 404s, not the page; the API keeps its JSON errors.
    assert_eq!(
        fetch(&app, "/assets/nope.js", &[]).await.status().as_u16(),
        404
    );
    let api = app
        .send_request(app.request(Method::GET, "/api/v1/nope"))
        .await;
    api.expect(404, "not_found");
    let post = app.send_request(app.request(Method::POST, "/c/C123")).await;
    post.expect(404, "not_found");
}
