//! The browser client: the files under the repository's `web/`, embedded in the binary
//! (release builds carry them; debug builds read them from disk, so a reload shows an
//! edit).
//!
//! - `/assets/…`, `/sw.js`, `/favicon.svg`: the file, or 404.
//! - Any other GET outside the API: `index.html`, so the client's own routes
//!   (`/c/<channel>`, `/invite/<slug>`) survive a reload.
//!
//! The page names every module with `modulepreload`, so a cold load fetches them in
//! parallel. Every response carries a Content-Security-Policy that allows only this
//! origin's own scripts, styles and connections (no inline script, no `eval`), and is
//! revalidated by ETag, so a new binary's client is picked up on the next load. Text files
//! are sent gzipped to clients that accept it, compressed once per file version.

use std::borrow::Cow;
use std::collections::HashMap;
use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use rust_embed::Embed;
use sha2::{Digest, Sha256};

use crate::error::{ApiError, NotFound};

#[derive(Embed)]
#[folder = "../../web/"]
struct Assets;

/// The Content-Security-Policy of the client's pages.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
     style-src 'self'; img-src 'self' blob: data:; connect-src 'self'; worker-src 'self'; \
     object-src 'none'; base-uri 'none'; frame-ancestors 'none'; \
     form-action 'self'";

/// Paths that are never the client's: the API and the operations endpoints answer them,
/// with a JSON 404 when nothing matched.
const SERVER_PREFIXES: [&str; 4] = ["/api/", "/healthz", "/readyz", "/metrics"];

/// The router's fallback: a client file or page for a GET outside the API, else the
/// API's JSON 404.
pub async fn fallback(method: Method, uri: Uri, headers: HeaderMap) -> Response {
    let path = uri.path();
    let is_read = method == Method::GET || method == Method::HEAD;
    if !is_read || path == "/api" || SERVER_PREFIXES.iter().any(|p| path.starts_with(p)) {
        return ApiError::not_found(NotFound::Route).into_response();
    }
    let file = match path {
        "/sw.js" | "/favicon.svg" => &path[1..],
        p if p.starts_with("/assets/") => &p[1..],
        _ => "index.html",
    };
    // Debug builds read the files from disk, where `..` or an escape would reach outside
    // `web/`; a name of plain segments only is looked up in either build.
    if !is_plain_path(file) {
        return (StatusCode::NOT_FOUND, security_headers(), "Not found").into_response();
    }
    match Assets::get(file) {
        Some(asset) if file == "index.html" => {
            let page = with_module_preloads(&asset.data);
            let hash = Sha256::digest(&page).into();
            serve(file, Cow::Owned(page), hash, &headers)
        }
        Some(asset) => serve(file, asset.data, asset.metadata.sha256_hash(), &headers),
        None => (StatusCode::NOT_FOUND, security_headers(), "Not found").into_response(),
    }
}

/// The page with a `modulepreload` link for every module under `assets/`, so the browser
/// fetches them all at once rather than one level of imports after another (every module
/// is a static import of the app's entry, so none is fetched for nothing).
fn with_module_preloads(page: &[u8]) -> Vec<u8> {
    let mut modules: Vec<String> = Assets::iter()
        .filter(|name| name.starts_with("assets/") && name.ends_with(".js"))
        .map(|name| name.into_owned())
        .collect();
    modules.sort();
    let links: String = modules
        .iter()
        .map(|name| format!("  <link rel=\"modulepreload\" href=\"/{name}\">\n"))
        .collect();
    let text = String::from_utf8_lossy(page);
    match text.find("</head>") {
        Some(at) => format!("{}{links}{}", &text[..at], &text[at..]).into_bytes(),
        None => page.to_vec(),
    }
}

/// Segments of `[A-Za-z0-9._-]` that are not `.` or `..`, separated by single slashes.
fn is_plain_path(path: &str) -> bool {
    path.split('/').all(|segment| {
        !segment.is_empty()
            && segment != "."
            && segment != ".."
            && segment
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
    })
}

/// One file version (`hash` of its bytes), gzipped when the client takes it. The two
/// encodings have their own ETags, as representations of the same version.
fn serve(name: &str, data: Cow<'static, [u8]>, hash: [u8; 32], request: &HeaderMap) -> Response {
    let content_type = content_type(name);
    let compressible = !content_type.starts_with("image/") || content_type == "image/svg+xml";
    let gzip = compressible && accepts_gzip(request);
    let suffix = if gzip { "-gz" } else { "" };
    let etag = format!("\"{}{suffix}\"", hex(&hash[..16]));
    let mut headers = security_headers();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(header::ETAG, HeaderValue::try_from(&etag).expect("hex"));
    headers.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    let not_modified = request
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag));
    if not_modified {
        return (StatusCode::NOT_MODIFIED, headers).into_response();
    }
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if name == "sw.js" {
        // A service worker at the root may control the whole origin.
        headers.insert("service-worker-allowed", HeaderValue::from_static("/"));
    }
    if gzip {
        headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        let body = gzipped(hash, &data);
        return (headers, Body::from(body.to_vec())).into_response();
    }
    (headers, Body::from(data.into_owned())).into_response()
}

/// The headers every client response carries.
fn security_headers() -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    headers
}

fn content_type(name: &str) -> &'static str {
    match name.rsplit_once('.').map(|(_, ext)| ext) {
        Some("html") => "text/html; charset=utf-8",
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("json" | "webmanifest") => "application/manifest+json",
        Some("woff2") => "font/woff2",
        _ => "application/octet-stream",
    }
}

fn accepts_gzip(request: &HeaderMap) -> bool {
    request
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|coding| {
            let mut parts = coding.split(';');
            let name = parts.next().unwrap_or_default().trim();
            let refused = parts.any(|p| matches!(p.trim(), "q=0" | "q=0.0" | "q=0.00" | "q=0.000"));
            name.eq_ignore_ascii_case("gzip") && !refused
        })
}

/// The gzip of a file version, compressed on first use. Keyed by content hash, so a
/// debug build's edited file is compressed afresh.
fn gzipped(hash: [u8; 32], data: &[u8]) -> Arc<[u8]> {
    type ByHash = HashMap<[u8; 32], Arc<[u8]>>;
    static CACHE: OnceLock<Mutex<ByHash>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    if let Some(hit) = cache.lock().expect("gzip cache").get(&hash) {
        return hit.clone();
    }
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(data).expect("writing to a Vec");
    let body: Arc<[u8]> = encoder.finish().expect("writing to a Vec").into();
    let mut cache = cache.lock().expect("gzip cache");
    // Debug builds see every edit as a new version; keep the cache from growing forever.
    if cache.len() > 512 {
        cache.clear();
    }
    cache.insert(hash, body.clone());
    body
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gzip_is_negotiated() {
        let mut h = HeaderMap::new();
        assert!(!accepts_gzip(&h));
        h.insert(
            header::ACCEPT_ENCODING,
            "gzip, deflate, br".parse().unwrap(),
        );
        assert!(accepts_gzip(&h));
        h.insert(header::ACCEPT_ENCODING, "br, gzip;q=0".parse().unwrap());
        assert!(!accepts_gzip(&h));
    }

    #[test]
    fn only_plain_paths_are_looked_up() {
        assert!(is_plain_path("assets/lib/app.js"));
        assert!(is_plain_path("index.html"));
        for bad in [
            "assets/../../etc/passwd",
            "assets/./app.js",
            "assets//app.js",
            "assets/%2e%2e/x",
            "assets/a\\b",
            "assets/a\0b",
            "assets/",
        ] {
            assert!(!is_plain_path(bad), "{bad}");
        }
    }

    #[test]
    fn types_by_extension() {
        assert_eq!(content_type("index.html"), "text/html; charset=utf-8");
        assert_eq!(
            content_type("assets/app.js"),
            "text/javascript; charset=utf-8"
        );
        assert_eq!(content_type("x.unknown"), "application/octet-stream");
    }
}
