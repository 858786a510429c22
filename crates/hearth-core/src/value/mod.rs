//! Validated values: the only way to build one is to parse it, so domain code and the
//! store never see a name that is too long or a handle with a space in it.
//!
//! Every parser returns a [`ValidationError`] carrying a stable snake_case code that the
//! API sends to the client unchanged, and a sentence a person can act on.

mod email;
mod emoji;
mod file_name;
mod names;
mod text;

pub use email::Email;
pub use emoji::Emoji;
pub use file_name::FileName;
pub use names::{ChannelName, Handle, WorkspaceSlug};
pub use text::{
    ChannelPurpose, ChannelTopic, DisplayName, MessageText, Password, StatusText, WorkspaceName,
};

/// Why a value was refused: a stable machine `code` and a human `message`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ValidationError {
    pub code: &'static str,
    pub message: String,
}

impl ValidationError {
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
}

/// Implements `as_str`, `Display` and `Serialize` for a validated string newtype.
macro_rules! string_value {
    ($name:ident) => {
        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// Wraps a value read back from our own database, which only ever stored
            /// parsed values.
            pub fn from_trusted(s: String) -> Self {
                Self(s)
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            /// Deserialisation is only used to read our own event log back, whose values
            /// were validated when they were written.
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                String::deserialize(d).map(Self)
            }
        }
    };
}
pub(crate) use string_value;

/// `s` in Unicode normalization form C. Most text already is (all ASCII text is), and
/// the quick check that says so costs far less than normalizing character by character.
pub(crate) fn nfc(s: &str) -> String {
    use unicode_normalization::{IsNormalized, UnicodeNormalization, is_nfc_quick};
    if is_nfc_quick(s.chars()) == IsNormalized::Yes {
        s.to_owned()
    } else {
        s.nfc().collect()
    }
}

/// True for characters that have no business in names or text (NUL, escapes, and the
/// bidirectional overrides used to disguise text), excluding ordinary line breaks and tabs.
pub(crate) fn is_forbidden_control(c: char) -> bool {
    (c.is_control() && c != '\n' && c != '\t')
        || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}
