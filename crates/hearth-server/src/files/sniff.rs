//! A file's MIME type, read from its first bytes.
//!
//! The client's declared `Content-Type` and the file's name are never trusted: a file
//! named `cat.png` that is really HTML must not be served as an image, nor as a page. The
//! type comes from the magic bytes at the start of the content (the `infer` crate); text
//! without a known signature is `text/plain; charset=utf-8` when it is valid UTF-8 without
//! NUL bytes, and anything else is `application/octet-stream`.
//!
//! **Invariant:** only [`is_inline_safe`] types may be shown inline by a browser; every
//! other type is served as an attachment. SVG and HTML can carry scripts, so they are never
//! inline-safe, whatever the sniffing found.

/// The type of text without a known signature.
pub const TEXT_PLAIN: &str = "text/plain; charset=utf-8";
/// The type of anything unrecognised.
pub const OCTET_STREAM: &str = "application/octet-stream";

/// The MIME type of a file from its first bytes ([`super::storage::Stored::head`]).
pub fn sniff(head: &[u8]) -> &'static str {
    if let Some(kind) = infer::get(head) {
        return kind.mime_type();
    }
    if looks_like_text(head) {
        TEXT_PLAIN
    } else {
        OCTET_STREAM
    }
}

/// Whether a browser may show a file of this type inline (an `<img>` or a preview):
/// only the raster image formats that cannot carry scripts.
pub fn is_inline_safe(mime: &str) -> bool {
    matches!(
        mime,
        "image/png" | "image/jpeg" | "image/gif" | "image/webp"
    )
}

/// The `Content-Type` a download of this type is served with: its own, except for
/// markup and scripts (HTML, XML, SVG, JavaScript), which are served as opaque bytes so
/// that no browser, whatever it makes of `Content-Disposition`, treats them as a page.
pub fn served_type(mime: &str) -> &str {
    let active = ["html", "xml", "svg", "javascript", "ecmascript"];
    if active.iter().any(|word| mime.contains(word)) {
        OCTET_STREAM
    } else {
        mime
    }
}

/// Valid UTF-8 without NUL bytes. `head` may have been cut in the middle of a character,
/// so an incomplete sequence at its very end still counts as text.
fn looks_like_text(head: &[u8]) -> bool {
    if head.contains(&0) {
        return false;
    }
    match std::str::from_utf8(head) {
        Ok(_) => true,
        Err(error) => error.error_len().is_none(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0";
    const JPEG: &[u8] = b"\xff\xd8\xff\xe0\0\x10JFIF\0\x01\x01\0\0\x01\0\x01\0\0";
    const GIF: &[u8] = b"GIF89a\x01\0\x01\0\x80\0\0\0\0\0\xff\xff\xff";
    const WEBP: &[u8] = b"RIFF\x24\0\0\0WEBPVP8L\x18\0\0\0\x2f\0\0\0";
    const PDF: &[u8] = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n";

    #[test]
    fn images_and_documents_are_known_by_their_magic_bytes() {
        assert_eq!(sniff(PNG), "image/png");
        assert_eq!(sniff(JPEG), "image/jpeg");
        assert_eq!(sniff(GIF), "image/gif");
        assert_eq!(sniff(WEBP), "image/webp");
        assert_eq!(sniff(PDF), "application/pdf");
        assert_eq!(sniff(b"PK\x03\x04\x14\0\0\0\x08\0"), "application/zip");
        assert_eq!(sniff(b"\x1f\x8b\x08\0\0\0\0\0\0\x03"), "application/gzip");
        for image in [PNG, JPEG, GIF, WEBP] {
            assert!(is_inline_safe(sniff(image)), "{}", sniff(image));
        }
        assert!(!is_inline_safe(sniff(PDF)));
    }

    #[test]
    fn markup_is_never_an_image_nor_inline_safe() {
        let svg = b"<?xml version=\"1.0\"?><svg xmlns=\"http://www.w3.org/2000/svg\"><script>alert(1)</script></svg>";
        let html = b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>";
        // Even with an image's name and a lying client: only the bytes count.
        for markup in [&svg[..], &html[..], b"<svg onload=alert(1)>"] {
            let mime = sniff(markup);
            assert!(!mime.starts_with("image/"), "{mime}");
            assert!(!is_inline_safe(mime), "{mime}");
        }
        assert!(!is_inline_safe("image/svg+xml"));
        assert!(!is_inline_safe("text/html"));
        assert!(!is_inline_safe(TEXT_PLAIN));
    }

    #[test]
    fn utf8_text_is_plain_text_and_binary_is_octet_stream() {
        assert_eq!(sniff(b"hello, world\n"), TEXT_PLAIN);
        assert_eq!(sniff("Grüße, 世界".as_bytes()), TEXT_PLAIN);
        assert_eq!(sniff(b""), TEXT_PLAIN);
        // Cut in the middle of a character, as an 8 KiB head can be.
        let cut = &"é".as_bytes()[..1];
        assert_eq!(sniff(&[b"caf", cut].concat()), TEXT_PLAIN);

        assert_eq!(sniff(b"text with a \0 NUL"), OCTET_STREAM);
        assert_eq!(sniff(b"\xff\xfe\xfd not utf-8 at all"), OCTET_STREAM);
        assert_eq!(sniff(&[0x13, 0x37, 0xc0, 0xde, 0x00, 0x01]), OCTET_STREAM);
    }
}
