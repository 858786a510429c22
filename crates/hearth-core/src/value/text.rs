//! Free text: message bodies, display names, topics, statuses, passwords.
//!
//! Lengths are counted in Unicode scalar values (what a person calls characters), after
//! NFC normalisation so that the same word typed on two keyboards is stored the same way.

use super::{ValidationError, is_forbidden_control, nfc, string_value};

/// Normalises to NFC and checks length and forbidden characters.
fn checked_text(
    s: &str,
    field: &str,
    code: &'static str,
    max: usize,
    allow_newlines: bool,
) -> Result<String, ValidationError> {
    let s = nfc(s);
    if s.chars().count() > max {
        return Err(ValidationError::new(
            code,
            format!("{field} must be {max} characters or fewer."),
        ));
    }
    let bad = |c: char| is_forbidden_control(c) || (!allow_newlines && (c == '\n' || c == '\t'));
    if s.chars().any(bad) {
        return Err(ValidationError::new(
            code,
            format!("{field} contains characters that are not allowed."),
        ));
    }
    Ok(s)
}

/// A message body in Slack's mrkdwn subset: 1 to 40,000 characters, not only white space.
/// Line breaks and tabs are kept; `\r\n` becomes `\n`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageText(String);
string_value!(MessageText);

impl MessageText {
    pub const MAX_CHARS: usize = 40_000;

    pub fn parse(s: &str) -> Result<Self, ValidationError> {
        let s = s.replace("\r\n", "\n");
        if s.chars().count() > Self::MAX_CHARS {
            return Err(ValidationError::new(
                "text_too_long",
                "Messages must be 40,000 characters or fewer.",
            ));
        }
        if s.trim().is_empty() {
            return Err(ValidationError::new(
                "empty_text",
                "Messages cannot be empty.",
            ));
        }
        checked_text(&s, "Messages", "invalid_text", Self::MAX_CHARS, true).map(Self)
    }

    /// The text of a message that shares files, which may be empty (a file posted
    /// without a comment); otherwise the same rules as [`MessageText::parse`].
    pub fn parse_caption(s: &str) -> Result<Self, ValidationError> {
        if s.trim().is_empty() {
            return Ok(Self(String::new()));
        }
        Self::parse(s)
    }
}

macro_rules! single_line {
    ($(#[$doc:meta])* $name:ident, $field:literal, $code:literal, required: $required:literal, $max:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct $name(String);
        string_value!($name);

        impl $name {
            pub const MAX_CHARS: usize = $max;

            /// Trims surrounding white space, then checks length and characters.
            pub fn parse(s: &str) -> Result<Self, ValidationError> {
                let s = checked_text(s.trim(), $field, $code, $max, false)?;
                if $required && s.is_empty() {
                    return Err(ValidationError::new($code, concat!($field, " cannot be empty.")));
                }
                Ok(Self(s))
            }
        }
    };
}

single_line!(
    /// How a person is shown: 1 to 80 characters on one line.
    DisplayName, "Display names", "invalid_display_name", required: true, 80
);
single_line!(
    /// A workspace's human name: 1 to 80 characters on one line.
    WorkspaceName, "Workspace names", "invalid_workspace_name", required: true, 80
);
single_line!(
    /// A channel's topic, shown in its header: up to 250 characters, may be empty.
    ChannelTopic, "Topics", "invalid_topic", required: false, 250
);
single_line!(
    /// What a channel is for: up to 250 characters, may be empty.
    ChannelPurpose, "Purposes", "invalid_purpose", required: false, 250
);
single_line!(
    /// A person's status line ("In a meeting"): up to 100 characters, may be empty.
    StatusText, "Status text", "invalid_status_text", required: false, 100
);

/// A password as typed: 8 to 1,024 bytes. The upper bound caps the hashing cost an
/// attacker can make us pay. Never stored, logged or serialised.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl Password {
    pub fn parse(s: &str) -> Result<Self, ValidationError> {
        if s.chars().count() < 8 {
            return Err(ValidationError::new(
                "weak_password",
                "Passwords must be at least 8 characters.",
            ));
        }
        if s.len() > 1024 {
            return Err(ValidationError::new(
                "invalid_password",
                "Passwords must be 1,024 bytes or fewer.",
            ));
        }
        Ok(Self(s.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn message_text_limits() {
        assert!(MessageText::parse(&"a".repeat(40_000)).is_ok());
        assert_eq!(
            MessageText::parse(&"a".repeat(40_001)).unwrap_err().code,
            "text_too_long"
        );
        assert_eq!(MessageText::parse("  \n ").unwrap_err().code, "empty_text");
        assert_eq!(MessageText::parse("a\0b").unwrap_err().code, "invalid_text");
        assert_eq!(MessageText::parse("a\r\nb").unwrap().as_str(), "a\nb");
        assert_eq!(
            MessageText::parse("e\u{301}").unwrap().as_str(),
            "\u{e9}",
            "NFC"
        );
    }

    #[test]
    fn single_line_fields() {
        assert_eq!(DisplayName::parse("  Ada  ").unwrap().as_str(), "Ada");
        assert_eq!(
            DisplayName::parse("   ").unwrap_err().code,
            "invalid_display_name"
        );
        assert_eq!(
            DisplayName::parse("a\nb").unwrap_err().code,
            "invalid_display_name"
        );
        assert_eq!(
            DisplayName::parse("evil\u{202E}txt").unwrap_err().code,
            "invalid_display_name"
        );
        assert!(ChannelTopic::parse("").is_ok());
        assert_eq!(
            ChannelTopic::parse(&"t".repeat(251)).unwrap_err().code,
            "invalid_topic"
        );
    }

    #[test]
    fn passwords_are_bounded_and_hidden() {
        assert_eq!(Password::parse("short").unwrap_err().code, "weak_password");
        assert!(Password::parse(&"p".repeat(1025)).is_err());
        assert_eq!(
            format!("{:?}", Password::parse("correct horse").unwrap()),
            "Password(***)"
        );
    }

    proptest! {
        #[test]
        fn accepted_text_is_bounded_and_reparses(s in "\\PC{0,300}") {
            if let Ok(t) = MessageText::parse(&s) {
                prop_assert!(t.as_str().chars().count() <= MessageText::MAX_CHARS);
                prop_assert_eq!(MessageText::parse(t.as_str()), Ok(t.clone()));
            }
            if let Ok(d) = DisplayName::parse(&s) {
                prop_assert!(!d.as_str().is_empty() && d.as_str().chars().count() <= 80);
            }
        }
    }
}
