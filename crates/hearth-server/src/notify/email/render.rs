//! A [`Digest`] as an email: the subject, a plain-text part and an HTML part
//! (multipart/alternative), `Message-ID` from the digest and `Auto-Submitted:
//! auto-generated` (RFC 3834), so vacation responders do not answer it.
//!
//! User-written text reaches the HTML only through [`escape`], and headers only through
//! [`one_line`] (lettre encodes headers, but a control character has no business in a
//! subject). Bodies are ASCII on the wire: lettre picks quoted-printable or base64 for
//! anything else, so no server needs 8BITMIME.

use std::fmt::Write;

use lettre::Message;
use lettre::message::header::{Header, HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};

use super::{Digest, DigestMessage};

/// The digest as a message from `from`; `Err` names what is wrong with the recipient.
pub(super) fn message(from: &Mailbox, digest: &Digest) -> Result<Message, String> {
    let address = digest
        .to_email
        .parse()
        .map_err(|e| format!("invalid recipient address {:?}: {e}", digest.to_email))?;
    let to = Mailbox::new(Some(one_line(&digest.to_name)), address);
    let message_id = if digest.message_id.starts_with('<') {
        digest.message_id.clone()
    } else {
        format!("<{}>", digest.message_id)
    };
    Message::builder()
        .from(from.clone())
        .to(to)
        .subject(subject(digest))
        .message_id(Some(one_line(&message_id)))
        .header(AutoSubmitted)
        .multipart(MultiPart::alternative_plain_html(
            text(digest),
            html(digest),
        ))
        .map_err(|e| format!("cannot build the email: {e}"))
}

/// `[Acme] 3 new messages in #general`, `[Acme] New message from Ada Lovelace`.
pub(super) fn subject(digest: &Digest) -> String {
    let what = match total(digest) {
        1 => "New message".to_owned(),
        n => format!("{n} new messages"),
    };
    format!(
        "[{}] {what} {} {}",
        one_line(&digest.workspace_name),
        preposition(digest),
        one_line(&digest.conversation)
    )
}

pub(super) fn text(digest: &Digest) -> String {
    let mut out = format!(
        "Hi {},\n\n{}:\n",
        one_line(&digest.to_name),
        summary(digest)
    );
    for message in &digest.messages {
        let _ = write!(out, "\n{} · {}\n", one_line(&message.sender), when(message));
        for line in plain(&message.text).lines() {
            let _ = writeln!(out, "> {line}");
        }
    }
    if digest.more > 0 {
        let _ = write!(out, "\n…and {} more.\n", digest.more);
    }
    if let Some(link) = &digest.link {
        let _ = write!(out, "\nRead them in Hearth: {}\n", one_line(link));
    }
    out.push_str("\n-- \n");
    out.push_str(FOOTER);
    out.push('\n');
    out
}

pub(super) fn html(digest: &Digest) -> String {
    let mut out = String::from(concat!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">",
        "<meta name=\"viewport\" content=\"width=device-width\"></head>\n",
        "<body style=\"font-family:-apple-system,'Segoe UI',Helvetica,Arial,sans-serif;",
        "color:#1d1c1d;line-height:1.4;margin:0;padding:16px\">\n",
    ));
    let _ = write!(
        out,
        "<p>Hi {},</p>\n<p>{}:</p>\n",
        escape(&one_line(&digest.to_name)),
        escape(&summary(digest))
    );
    for message in &digest.messages {
        let text = escape(&plain(&message.text)).replace('\n', "<br>\n");
        let _ = write!(
            out,
            concat!(
                "<div style=\"border-top:1px solid #dddddd;padding:8px 0\">",
                "<strong>{}</strong> <span style=\"color:#616061;font-size:12px\">{}</span>",
                "<div>{}</div></div>\n",
            ),
            escape(&one_line(&message.sender)),
            escape(&when(message)),
            text
        );
    }
    if digest.more > 0 {
        let _ = writeln!(out, "<p>…and {} more.</p>", digest.more);
    }
    if let Some(link) = &digest.link {
        let _ = writeln!(
            out,
            "<p><a href=\"{}\" style=\"color:#1264a3\">Read them in Hearth</a></p>",
            escape(link)
        );
    }
    let _ = write!(
        out,
        "<p style=\"color:#616061;font-size:12px\">{}</p>\n</body></html>\n",
        escape(FOOTER)
    );
    out
}

/// Text for the HTML: the five characters that could open markup or leave an attribute.
pub(super) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const FOOTER: &str = "You get this email because these messages arrived while you were away \
from Hearth. Choose which emails you get in your notification preferences.";

/// `Auto-Submitted: auto-generated`: lettre has no type for it.
#[derive(Clone)]
struct AutoSubmitted;

impl Header for AutoSubmitted {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("Auto-Submitted")
    }

    fn parse(_: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(Self)
    }

    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), "auto-generated".to_owned())
    }
}

/// "You have 3 new messages in #general in the Acme workspace".
fn summary(digest: &Digest) -> String {
    let what = match total(digest) {
        1 => "a new message".to_owned(),
        n => format!("{n} new messages"),
    };
    format!(
        "You have {what} {} {} in the {} workspace",
        preposition(digest),
        one_line(&digest.conversation),
        one_line(&digest.workspace_name)
    )
}

/// Messages listed plus those not listed; an empty digest still says "a new message".
fn total(digest: &Digest) -> u64 {
    (digest.messages.len() as u64 + u64::from(digest.more)).max(1)
}

fn preposition(digest: &Digest) -> &'static str {
    if digest.conversation.starts_with('#') {
        "in"
    } else {
        "from"
    }
}

/// The recipient's time zone is not known here, so times are UTC and say so.
fn when(message: &DigestMessage) -> String {
    message.at.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// A name or a link for a header or a single line: control characters (a newline in a
/// channel's name) become spaces.
fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .trim()
        .to_owned()
}

/// A message's text with newlines kept and other control characters dropped.
fn plain(text: &str) -> String {
    text.replace("\r\n", "\n")
        .chars()
        .filter(|&c| c == '\n' || c == '\t' || !c.is_control())
        .collect()
}

#[cfg(test)]
mod tests;
