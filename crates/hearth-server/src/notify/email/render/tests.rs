use chrono::TimeZone;

use super::*;

fn at(minute: u32) -> chrono::DateTime<chrono::Utc> {
    chrono::Utc
        .with_ymd_and_hms(2025, 3, 14, 9, minute, 0)
        .unwrap()
}

fn digest(conversation: &str, messages: usize, more: u32) -> Digest {
    Digest {
        to_name: "Grace Hopper".to_owned(),
        to_email: "grace@example.com".to_owned(),
        workspace_name: "Acme".to_owned(),
        conversation: conversation.to_owned(),
        messages: (0..messages)
            .map(|i| DigestMessage {
                sender: "Ada Lovelace".to_owned(),
                text: format!("message {i}"),
                at: at(i as u32),
            })
            .collect(),
        more,
        link: Some("https://hearth.example.com/T1/C1".to_owned()),
        message_id: "<digest-D1@hearth>".to_owned(),
    }
}

fn hostile() -> Digest {
    let mut digest = digest("#r&d <script>alert('c')</script>", 0, 0);
    digest.workspace_name = "Fish & Chips".to_owned();
    digest.to_name = "<b>Grace</b>".to_owned();
    digest.link = Some("https://hearth.example.com/?a=1&b=\"><script>".to_owned());
    digest.messages = vec![DigestMessage {
        sender: "<script>alert(1)</script> & Co".to_owned(),
        text: "x < y && y > z\n<img src=x onerror=alert(2)>".to_owned(),
        at: at(0),
    }];
    digest
}

fn from() -> Mailbox {
    "Hearth <hearth@example.com>".parse().unwrap()
}

#[test]
fn the_subject_counts_the_messages_and_names_the_conversation() {
    assert_eq!(
        subject(&digest("#general", 3, 0)),
        "[Acme] 3 new messages in #general"
    );
    assert_eq!(
        subject(&digest("#general", 2, 5)),
        "[Acme] 7 new messages in #general"
    );
    assert_eq!(
        subject(&digest("#general", 1, 0)),
        "[Acme] New message in #general"
    );
    assert_eq!(
        subject(&digest("Ada Lovelace", 1, 0)),
        "[Acme] New message from Ada Lovelace"
    );
    assert_eq!(
        subject(&digest("Ada, Bob and Cy", 2, 0)),
        "[Acme] 2 new messages from Ada, Bob and Cy"
    );
    assert_eq!(
        subject(&digest("#a\r\nBcc: x@example.com", 1, 0)),
        "[Acme] New message in #a  Bcc: x@example.com"
    );
}

#[test]
fn the_text_part_lists_the_messages_the_rest_and_the_link() {
    let text = text(&digest("#general", 2, 4));
    assert!(
        text.starts_with(
            "Hi Grace Hopper,\n\nYou have 6 new messages in #general in the Acme workspace:\n"
        ),
        "{text}"
    );
    assert!(
        text.contains("\nAda Lovelace · 2025-03-14 09:00 UTC\n> message 0\n"),
        "{text}"
    );
    assert!(
        text.find("message 0").unwrap() < text.find("message 1").unwrap(),
        "oldest first"
    );
    assert!(text.contains("…and 4 more."), "{text}");
    assert!(
        text.contains("Read them in Hearth: https://hearth.example.com/T1/C1"),
        "{text}"
    );

    let mut single = digest("Ada Lovelace", 1, 0);
    single.link = None;
    let text = super::text(&single);
    assert!(
        text.contains("You have a new message from Ada Lovelace in the Acme workspace:"),
        "{text}"
    );
    assert!(
        !text.contains("more.") && !text.contains("Read them"),
        "{text}"
    );
}

#[test]
fn the_html_part_escapes_everything_users_wrote() {
    let html = html(&hostile());
    for raw in [
        "<script>",
        "<b>Grace",
        "<img",
        "Fish & Chips",
        "x < y",
        "b=\"><",
    ] {
        assert!(!html.contains(raw), "{raw:?} unescaped in:\n{html}");
    }
    for escaped in [
        "&lt;script&gt;alert(1)&lt;/script&gt; &amp; Co",
        "#r&amp;d &lt;script&gt;alert(&#39;c&#39;)&lt;/script&gt;",
        "Fish &amp; Chips",
        "Hi &lt;b&gt;Grace&lt;/b&gt;,",
        "x &lt; y &amp;&amp; y &gt; z<br>\n&lt;img src=x onerror=alert(2)&gt;",
        "href=\"https://hearth.example.com/?a=1&amp;b=&quot;&gt;&lt;script&gt;\"",
    ] {
        assert!(html.contains(escaped), "{escaped:?} missing from:\n{html}");
    }
    // The plain-text part is not markup: it keeps the text as written.
    let text = text(&hostile());
    assert!(text.contains("<script>alert(1)</script> & Co"), "{text}");
    assert!(
        text.contains("> x < y && y > z\n> <img src=x onerror=alert(2)>\n"),
        "{text}"
    );
}

#[test]
fn the_email_is_multipart_alternative_with_the_headers_a_digest_needs() {
    let message = message(&from(), &hostile()).unwrap();
    assert_eq!(message.envelope().to().len(), 1);
    assert_eq!(message.envelope().to()[0].to_string(), "grace@example.com");
    let raw = String::from_utf8(message.formatted()).unwrap();
    let (headers, _) = raw.split_once("\r\n\r\n").unwrap();
    for header in [
        "Message-ID: <digest-D1@hearth>",
        "Auto-Submitted: auto-generated",
        "From: Hearth <hearth@example.com>",
        "MIME-Version: 1.0",
        "Content-Type: multipart/alternative;",
    ] {
        assert!(
            headers.contains(header),
            "{header:?} missing from:\n{headers}"
        );
    }
    assert!(
        raw.contains("Content-Type: text/plain; charset=utf-8"),
        "{raw}"
    );
    assert!(
        raw.contains("Content-Type: text/html; charset=utf-8"),
        "{raw}"
    );
}

#[test]
fn user_text_cannot_add_headers_and_the_wire_is_ascii() {
    let mut digest = digest("#a\r\nBcc: evil@example.com", 1, 0);
    digest.workspace_name = "Zürich\nX-Evil: 1".to_owned();
    digest.to_name = "Grâce\r\nBcc: evil@example.com".to_owned();
    digest.messages[0].text = "naïve café ☕\r\n.\r\nQUIT".to_owned();
    let raw = message(&from(), &digest).unwrap().formatted();
    assert!(raw.is_ascii(), "non-ASCII bytes would need 8BITMIME");
    let raw = String::from_utf8(raw).unwrap();
    let (headers, _) = raw.split_once("\r\n\r\n").unwrap();
    for line in headers.lines() {
        assert!(
            !line.starts_with("Bcc:") && !line.starts_with("X-Evil:"),
            "{line:?} in:\n{headers}"
        );
    }
}

#[test]
fn the_message_id_gets_its_angle_brackets() {
    let mut digest = digest("#general", 1, 0);
    digest.message_id = "digest-D2@hearth".to_owned();
    let raw = String::from_utf8(message(&from(), &digest).unwrap().formatted()).unwrap();
    assert!(raw.contains("Message-ID: <digest-D2@hearth>\r\n"), "{raw}");
}

#[test]
fn an_invalid_recipient_is_refused() {
    let mut digest = digest("#general", 1, 0);
    for bad in [
        "",
        "grace",
        "grace@",
        "<grace@example.com>",
        "a b@example.com",
    ] {
        digest.to_email = bad.to_owned();
        assert!(message(&from(), &digest).is_err(), "{bad:?}");
    }
}
