//! Cookie sessions for the browser client, and their CSRF protection.
//!
//! A sign-in that sends `X-Hearth-Session: cookie` gets its token as an HttpOnly cookie
//! (`hearth_session`) instead of in the body, so no script can read it. Because a browser
//! attaches that cookie to requests other sites make, a cookie-authenticated request that
//! changes anything (every method but GET and HEAD) must also carry `X-CSRF-Token`, a
//! value derived from the session token that only this origin's pages can read (from the
//! `hearth_csrf` cookie, which is not HttpOnly but is SameSite=Strict, or from the sign-in
//! response), and an `Origin`, when the browser sends one, of this server.
//!
//! The CSRF value is a hash of the session token, so every node can check it without
//! shared state, it ends with the session, and knowing it reveals nothing of the token.

use axum::http::{HeaderMap, HeaderValue, header};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

/// The HttpOnly cookie holding the session token.
pub const SESSION_COOKIE: &str = "hearth_session";
/// The readable cookie holding the CSRF value of the session.
pub const CSRF_COOKIE: &str = "hearth_csrf";
/// The request header a sign-in sets to `cookie` to get a cookie session.
pub const SESSION_MODE_HEADER: &str = "x-hearth-session";
/// The request header that carries the CSRF value.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// Whether a sign-in request asked for a cookie session.
pub fn wants_cookie(headers: &HeaderMap) -> bool {
    headers
        .get(SESSION_MODE_HEADER)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("cookie"))
}

/// The CSRF value that belongs to a session token.
pub fn csrf_for(token: &str) -> String {
    let digest = Sha256::new()
        .chain_update(b"hearth-csrf\0")
        .chain_update(token.as_bytes())
        .finalize();
    URL_SAFE_NO_PAD.encode(digest)
}

/// Whether the request's `X-CSRF-Token` is the one of `token`'s session.
pub fn csrf_matches(headers: &HeaderMap, token: &str) -> bool {
    let Some(sent) = headers.get(CSRF_HEADER).map(HeaderValue::as_bytes) else {
        return false;
    };
    constant_time_eq(sent, csrf_for(token).as_bytes())
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The value of cookie `name`, if the request carries it.
pub fn read_cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.trim().to_owned())
}

/// The two `Set-Cookie` values that start a cookie session. `secure` adds `Secure`, for a
/// server whose public origin is `https://`.
pub fn session_cookies(token: &str, max_age_secs: u64, secure: bool) -> [HeaderValue; 2] {
    let secure = if secure { "; Secure" } else { "" };
    let session = format!(
        "{SESSION_COOKIE}={token}; Path=/; Max-Age={max_age_secs}; HttpOnly; SameSite=Lax{secure}"
    );
    let csrf = format!(
        "{CSRF_COOKIE}={}; Path=/; Max-Age={max_age_secs}; SameSite=Strict{secure}",
        csrf_for(token)
    );
    [session, csrf].map(|v| HeaderValue::try_from(v).expect("cookie values are ASCII"))
}

/// The two `Set-Cookie` values that end a cookie session in the browser.
pub fn clearing_cookies() -> [HeaderValue; 2] {
    [SESSION_COOKIE, CSRF_COOKIE].map(|name| {
        HeaderValue::try_from(format!("{name}=; Path=/; Max-Age=0"))
            .expect("cookie values are ASCII")
    })
}

/// The `Origin` must be the configured public origin, or, when none is configured, the
/// origin of the `Host` the request was sent to.
pub fn origin_allowed(headers: &HeaderMap, configured: Option<&str>) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    match configured {
        Some(expected) => origin.trim_end_matches('/') == expected.trim_end_matches('/'),
        None => {
            let Some(host) = headers.get(header::HOST).and_then(|v| v.to_str().ok()) else {
                return false;
            };
            origin == format!("http://{host}") || origin == format!("https://{host}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn reads_a_cookie_among_others() {
        let h = headers(&[("cookie", "a=1; hearth_session=tok; b=2")]);
        assert_eq!(read_cookie(&h, SESSION_COOKIE).as_deref(), Some("tok"));
        let h = headers(&[("cookie", "hearth_sessionx=1")]);
        assert_eq!(read_cookie(&h, SESSION_COOKIE), None);
    }

    #[test]
    fn csrf_is_bound_to_the_session() {
        assert_eq!(csrf_for("a"), csrf_for("a"));
        assert_ne!(csrf_for("a"), csrf_for("b"));
        let ok = headers(&[("x-csrf-token", &csrf_for("tok"))]);
        assert!(csrf_matches(&ok, "tok"));
        assert!(!csrf_matches(&ok, "other"));
        assert!(!csrf_matches(&headers(&[]), "tok"));
        let truncated = headers(&[("x-csrf-token", &csrf_for("tok")[..10])]);
        assert!(!csrf_matches(&truncated, "tok"));
    }

    #[test]
    fn session_cookie_is_http_only_and_csrf_cookie_is_strict() {
        let [session, csrf] = session_cookies("tok", 60, true);
        let session = session.to_str().unwrap();
        assert!(session.starts_with("hearth_session=tok;"));
        assert!(session.contains("HttpOnly") && session.contains("Secure"));
        let csrf = csrf.to_str().unwrap();
        assert!(!csrf.contains("HttpOnly") && csrf.contains("SameSite=Strict"));
        let [plain, _] = session_cookies("tok", 60, false);
        assert!(!plain.to_str().unwrap().contains("Secure"));
    }

    #[test]
    fn origin_must_match() {
        let same = headers(&[
            ("host", "chat.example:8080"),
            ("origin", "http://chat.example:8080"),
        ]);
        assert!(origin_allowed(&same, None));
        let evil = headers(&[
            ("host", "chat.example:8080"),
            ("origin", "https://evil.example"),
        ]);
        assert!(!origin_allowed(&evil, None));
        assert!(
            !origin_allowed(&headers(&[("host", "x")]), None),
            "no Origin, no cookie auth"
        );
        let configured = headers(&[("origin", "https://chat.example")]);
        assert!(origin_allowed(&configured, Some("https://chat.example/")));
        assert!(!origin_allowed(&same, Some("https://chat.example")));
    }
}
