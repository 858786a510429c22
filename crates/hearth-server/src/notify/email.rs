//! "Missed messages" emails over SMTP: one [`Digest`] (one conversation's unread messages
//! for one recipient) becomes one multipart email, sent through a [`Mailer`].
//!
//! - `settings`: `--smtp-url` and `--smtp-from`, parsed once at start-up ([`SmtpSettings`]).
//! - `render`: the subject, the plain-text part and the HTML part. Everything a user wrote
//!   (names, texts, conversation names) is escaped in the HTML and kept on one line in
//!   headers.
//! - `mailer`: the SMTP client: a few pooled connections, every step bounded by a timeout,
//!   and failures sorted into transient (retry later) and permanent (dead-letter).
//!
//! Deciding who gets a digest, and when, is the caller's business: this module only
//! renders and delivers.

mod mailer;
mod render;
mod settings;

use chrono::{DateTime, Utc};

pub use mailer::{Mailer, SendError};
pub use settings::{SmtpSettings, TlsMode};

/// One "missed messages" email: one conversation's unread messages for one recipient.
#[derive(Debug, Clone)]
pub struct Digest {
    pub to_name: String,
    pub to_email: String,
    pub workspace_name: String,
    /// What the conversation is called: a channel's name starts with `#` ("#general");
    /// anything else is a direct conversation, named by its other participants ("Ada
    /// Lovelace", or "Ada, Bob and Cy" for a group). The subject says "in #general" but
    /// "from Ada Lovelace".
    pub conversation: String,
    /// The messages listed, oldest first. The caller bounds their number and the length
    /// of each excerpt.
    pub messages: Vec<DigestMessage>,
    /// How many further unread messages there are beyond those listed.
    pub more: u32,
    /// Where to read them, when the server knows its public URL.
    pub link: Option<String>,
    /// A stable id for the `Message-ID` header, such as `<digest-ID@hearth>` (the angle
    /// brackets are added when missing). The same digest sent twice (a retry after a
    /// timeout that in fact delivered) carries the same id, so mail clients can tell.
    pub message_id: String,
}

/// One message listed in a [`Digest`].
#[derive(Debug, Clone)]
pub struct DigestMessage {
    /// The sender's display name.
    pub sender: String,
    /// A plain-text excerpt of the message.
    pub text: String,
    pub at: DateTime<Utc>,
}

/// A configuration the mailer cannot work with; reported at start-up.
#[derive(Debug, thiserror::Error)]
pub enum EmailError {
    /// `--smtp-url` is malformed or asks for something unsupported. The message never
    /// repeats the URL, which may hold a password.
    #[error("invalid --smtp-url: {0}")]
    InvalidUrl(String),
    #[error(
        "invalid --smtp-from (expected a mailbox such as \"Hearth <hearth@example.com>\"): {0}"
    )]
    InvalidFrom(String),
    /// TLS could not be set up (the platform's certificate verifier).
    #[error("cannot set up TLS for SMTP: {0}")]
    Tls(String),
}
