//! `GET /api/v1/search` over HTTP: the result's shape (channel, author, highlighted and
//! escaped snippet), paging by cursor, every malformed query a 400 with its code, and
//! nothing of a private channel or another workspace found. What each operator matches
//! is the Store conformance suite's (`hearth_core::testing::search`), on both backends.

use std::collections::HashSet;

use crate::support::{TestApp, ids};

fn query(q: &str) -> String {
    let mut s = String::new();
    for b in q.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => s.push(b as char),
            _ => s.push_str(&format!("%{b:02X}")),
        }
    }
    s
}

#[tokio::test]
async fn results_carry_channel_author_and_a_highlighted_snippet() {
    let app = TestApp::spawn().await;
    let owner = app.create_workspace("acme").await;
    let general = app.create_channel(&owner, "general", false).await;
    let sent = app
        .send(&owner, &general, "We <b>deployed</b> the café build")
        .await;
    let page = app
        .get(
            &owner,
            &format!("/api/v1/search?q={}", query("deploy CAFE")),
        )
        .await
        .ok();
    let result = &page["results"][0];
    assert_eq!(result["message"]["id"], sent["id"]);
    assert_eq!(result["channel"]["id"], general.as_str());
    assert_eq!(result["channel"]["name"], "general");
    assert_eq!(result["channel"]["kind"], "public");
    assert_eq!(result["author"]["id"], owner.user_id.as_str());
    assert_eq!(
        result["snippet"],
        "We &lt;b&gt;<mark>deployed</mark>&lt;/b&gt; the <mark>café</mark> build"
    );
    assert!(page["next_cursor"].is_null());
}

#[tokio::test]
async fn pages_follow_the_cursor_once_through() {
    let app = TestApp::spawn().await;
    let owner = app.create_workspace("acme").await;
    let general = app.create_channel(&owner, "general", false).await;
    let mut sent = HashSet::new();
    for i in 0..7 {
        let m = app.send(&owner, &general, &format!("standup {i}")).await;
        sent.insert(m["id"].as_str().unwrap().to_owned());
    }
    for sort in ["relevance", "recent"] {
        let mut seen = Vec::new();
        let mut cursor = String::new();
        for _ in 0..10 {
            let path = format!("/api/v1/search?q=standup&sort={sort}&limit=3{cursor}");
            let page = app.get(&owner, &path).await.ok();
            seen.extend(
                page["results"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|r| r["message"]["id"].as_str().unwrap().to_owned()),
            );
            match page["next_cursor"].as_str() {
                Some(c) => cursor = format!("&cursor={c}"),
                None => break,
            }
        }
        assert_eq!(seen.len(), 7, "{sort}: {seen:?}");
        assert_eq!(seen.into_iter().collect::<HashSet<_>>(), sent, "{sort}");
    }
}

#[tokio::test]
async fn malformed_queries_are_400_with_a_code() {
    let app = TestApp::spawn().await;
    let owner = app.create_workspace("acme").await;
    for (q, code) in [
        ("\"unclosed", "search_query_invalid"),
        ("from:", "search_query_invalid"),
        ("has:cats", "search_query_invalid"),
        ("before:tomorrow", "search_date_invalid"),
        ("a*", "search_prefix_too_short"),
        ("", "search_query_empty"),
        ("-only", "search_query_empty"),
        ("\u{0} ;)( -- ", "search_query_empty"),
    ] {
        let path = format!("/api/v1/search?q={}", query(q));
        app.get(&owner, &path).await.expect(400, code);
    }
    // SQL and FTS syntax are only words to search for.
    for q in [
        "'; DROP TABLE messages; --",
        "a OR b NOT c NEAR(d)",
        "\"x\" * {y}:z ^",
    ] {
        let path = format!("/api/v1/search?q={}", query(q));
        let page = app.get(&owner, &path).await.ok();
        assert_eq!(page["results"], serde_json::json!([]), "{q}");
    }
    app.get(&owner, "/api/v1/search?q=x&sort=best")
        .await
        .expect(400, "invalid_sort");
    app.get(&owner, "/api/v1/search?q=x&cursor=nope")
        .await
        .expect(400, "invalid_cursor");
    app.get(&owner, "/api/v1/search?q=x&limit=0")
        .await
        .expect(400, "invalid_limit");
    app.get(&owner, "/api/v1/search")
        .await
        .expect(400, "invalid_query");
    let anonymous = app
        .send_request(app.request(reqwest::Method::GET, "/api/v1/search?q=x"))
        .await;
    assert_eq!(anonymous.status, 401);
}

#[tokio::test]
async fn private_channels_and_other_workspaces_stay_unfound() {
    let app = TestApp::spawn().await;
    let owner = app.create_workspace("acme").await;
    let bob = app.add_user(&owner, "bob@acme.test", "member").await;
    let secret = app.create_channel(&owner, "secret", true).await;
    app.send(&owner, &secret, "canaryvault inside").await;
    let other = app.create_workspace("globex").await;
    let theirs = app.create_channel(&other, "general", false).await;
    app.send(&other, &theirs, "canaryvault next door").await;

    let found = |s, q: &str| {
        let path = format!("/api/v1/search?q={}", query(q));
        let app = &app;
        async move { app.get(s, &path).await.ok() }
    };
    let mine = found(&owner, "canaryvault").await;
    assert_eq!(ids(&mine["results"], Some("message")).len(), 1);
    for q in ["canaryvault", "canaryv*", "in:#secret"] {
        let page = found(&bob, q).await;
        assert_eq!(page["results"], serde_json::json!([]), "bob, {q}");
    }
    let page = found(&other, "canaryvault").await;
    assert_eq!(
        page["results"].as_array().unwrap().len(),
        1,
        "only their own"
    );
    assert_eq!(page["results"][0]["channel"]["id"], theirs.as_str());
}
