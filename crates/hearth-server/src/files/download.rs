//! What a download answers besides the bytes: the byte range asked for, and the headers
//! that keep an uploaded file from ever acting as a page of this site.
//!
//! Every file response is `Cache-Control: private, no-cache` (a shared cache never keeps
//! it; the browser revalidates by ETag, so a file deleted or unshared stops loading at
//! once), `X-Content-Type-Options: nosniff`, `Content-Security-Policy: sandbox` (a file
//! opened directly runs no script and reaches nothing), and `Content-Disposition:
//! attachment` unless its detected type is one of the few images shown inline. An HTML
//! or SVG upload is therefore always a download, never a page.

use std::ops::Range;

use axum::http::{HeaderMap, HeaderValue, header};

use super::is_inline_safe;
use super::sniff::served_type;

/// What the `Range` header of a request asks for, against an object of `size` bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ByteRange {
    /// No range, one we do not serve (several ranges), or a malformed header: the whole
    /// file, 200.
    Full,
    /// One satisfiable range, end exclusive: 206.
    Partial(Range<u64>),
    /// A range that starts past the end: 416.
    Unsatisfiable,
}

impl ByteRange {
    /// Parses `bytes=FIRST-LAST`, `bytes=FIRST-` and `bytes=-SUFFIX` (RFC 9110 §14.1.2).
    /// A multi-range request gets the whole file, which the RFC allows.
    pub fn parse(header: Option<&HeaderValue>, size: u64) -> ByteRange {
        let Some(spec) = header
            .and_then(|h| h.to_str().ok())
            .and_then(|h| h.trim().strip_prefix("bytes="))
        else {
            return ByteRange::Full;
        };
        if spec.contains(',') {
            return ByteRange::Full;
        }
        let Some((first, last)) = spec.trim().split_once('-') else {
            return ByteRange::Full;
        };
        let number = |s: &str| -> Option<u64> {
            let s = s.trim();
            (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
                .then(|| s.parse().ok())
                .flatten()
        };
        match (first.trim().is_empty(), number(first), number(last)) {
            // A suffix: the last N bytes.
            (true, _, Some(suffix)) => {
                if suffix == 0 || size == 0 {
                    ByteRange::Unsatisfiable
                } else {
                    ByteRange::Partial(size.saturating_sub(suffix)..size)
                }
            }
            (false, Some(first), last) if last.is_some() || last_is_open(spec) => {
                if first >= size {
                    return ByteRange::Unsatisfiable;
                }
                match last {
                    Some(last) if last < first => ByteRange::Full,
                    Some(last) => ByteRange::Partial(first..last.saturating_add(1).min(size)),
                    None => ByteRange::Partial(first..size),
                }
            }
            _ => ByteRange::Full,
        }
    }
}

/// `FIRST-` with nothing after the dash.
fn last_is_open(spec: &str) -> bool {
    spec.trim().ends_with('-')
}

/// The ETag of a file's bytes: its SHA-256, quoted.
pub fn etag(sha256: &str) -> String {
    format!("\"{sha256}\"")
}

/// Whether `If-None-Match` names this ETag (or `*`): the browser's copy is current. The
/// comparison is weak (RFC 9110 §13.1.2): `W/"x"` matches `"x"`.
pub fn not_modified(request: &HeaderMap, etag: &str) -> bool {
    request
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',')
                .map(str::trim)
                .any(|t| t == "*" || t.strip_prefix("W/").unwrap_or(t) == etag)
        })
}

/// Whether an `If-Range` validator lets a range be served (no validator, or our ETag).
pub fn range_allowed(request: &HeaderMap, etag: &str) -> bool {
    request
        .get(header::IF_RANGE)
        .is_none_or(|v| v.to_str().is_ok_and(|v| v.trim() == etag))
}

/// The headers every file response carries, for a file named `name` of type `mime`.
pub fn file_headers(mime: &str, name: &str, etag: &str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    let static_value = HeaderValue::from_static;
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(served_type(mime))
            .unwrap_or_else(|_| static_value("application/octet-stream")),
    );
    headers.insert(header::CACHE_CONTROL, static_value("private, no-cache"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, static_value("nosniff"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        static_value("sandbox; default-src 'none'"),
    );
    headers.insert(header::ACCEPT_RANGES, static_value("bytes"));
    if let Ok(etag) = HeaderValue::from_str(etag) {
        headers.insert(header::ETAG, etag);
    }
    let disposition = if is_inline_safe(mime) {
        "inline"
    } else {
        "attachment"
    };
    if let Ok(value) = HeaderValue::from_str(&content_disposition(disposition, name)) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    headers
}

/// `attachment; filename="ascii"; filename*=UTF-8''percent-encoded` (RFC 6266): the
/// plain form for old clients with anything but safe ASCII replaced by `_`, the exact
/// name in the extended form. Quotes, backslashes and control characters can never
/// break out of the header.
pub fn content_disposition(disposition: &str, name: &str) -> String {
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut encoded = String::with_capacity(name.len() * 3);
    for byte in name.bytes() {
        if byte.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&byte) {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    format!("{disposition}; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(h: &str, size: u64) -> ByteRange {
        ByteRange::parse(Some(&HeaderValue::from_str(h).unwrap()), size)
    }

    #[test]
    fn ranges() {
        use ByteRange::*;
        assert_eq!(ByteRange::parse(None, 10), Full);
        assert_eq!(parse("bytes=0-0", 10), Partial(0..1));
        assert_eq!(parse("bytes=2-5", 10), Partial(2..6));
        assert_eq!(parse("bytes=2-", 10), Partial(2..10));
        assert_eq!(parse("bytes=8-100", 10), Partial(8..10));
        assert_eq!(parse("bytes=-3", 10), Partial(7..10));
        assert_eq!(parse("bytes=-30", 10), Partial(0..10));
        assert_eq!(parse("bytes=10-", 10), Unsatisfiable);
        assert_eq!(parse("bytes=-0", 10), Unsatisfiable);
        assert_eq!(parse("bytes=0-", 0), Unsatisfiable);
        assert_eq!(parse("bytes=5-2", 10), Full);
        assert_eq!(parse("bytes=0-1,4-5", 10), Full);
        assert_eq!(parse("bytes=x-1", 10), Full);
        assert_eq!(parse("bytes=1", 10), Full);
        assert_eq!(parse("items=0-1", 10), Full);
        assert_eq!(parse("bytes=-", 10), Full);
    }

    #[test]
    fn if_none_match_compares_weakly() {
        let with = |v: &str| {
            let mut h = HeaderMap::new();
            h.insert(header::IF_NONE_MATCH, HeaderValue::from_str(v).unwrap());
            h
        };
        assert!(not_modified(&with("\"a\""), "\"a\""));
        assert!(not_modified(&with("W/\"a\""), "\"a\""));
        assert!(not_modified(&with("\"b\", W/\"a\""), "\"a\""));
        assert!(not_modified(&with("*"), "\"a\""));
        assert!(!not_modified(&with("\"b\""), "\"a\""));
        assert!(!not_modified(&HeaderMap::new(), "\"a\""));
    }

    #[test]
    fn hostile_names_stay_inside_the_header() {
        let d = content_disposition("attachment", "a\"b\\c\u{202E}d é.txt");
        assert_eq!(
            d,
            "attachment; filename=\"a_b_c_d _.txt\"; \
             filename*=UTF-8''a%22b%5Cc%E2%80%AEd%20%C3%A9.txt"
        );
        assert!(
            HeaderValue::from_str(&content_disposition("attachment", "../../x\r\nX: y")).is_ok()
        );
    }

    #[test]
    fn only_safe_images_are_inline() {
        let disposition = |mime: &str| {
            file_headers(mime, "f", "\"e\"")[header::CONTENT_DISPOSITION]
                .to_str()
                .unwrap()
                .split(';')
                .next()
                .unwrap()
                .to_owned()
        };
        assert_eq!(disposition("image/png"), "inline");
        assert_eq!(disposition("image/svg+xml"), "attachment");
        assert_eq!(disposition("text/html"), "attachment");
        assert_eq!(disposition("text/plain; charset=utf-8"), "attachment");
        let h = file_headers("text/html", "f", "\"e\"");
        assert_eq!(h[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
        assert!(
            h[header::CONTENT_SECURITY_POLICY]
                .to_str()
                .unwrap()
                .starts_with("sandbox")
        );
        assert_eq!(h[header::CONTENT_TYPE], "application/octet-stream");
        let svg = file_headers("image/svg+xml", "f", "\"e\"");
        assert_eq!(svg[header::CONTENT_TYPE], "application/octet-stream");
        assert_eq!(h[header::CACHE_CONTROL], "private, no-cache");
    }
}
