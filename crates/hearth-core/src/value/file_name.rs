//! The name a file was uploaded with: shown to people and offered back on download,
//! never used as a path (storage keys are generated; see the server's `files` module).

use super::{ValidationError, is_forbidden_control, nfc, string_value};

/// A file's display name: 1 to 255 characters after NFC normalisation and trimming, with
/// no control characters (NUL, line breaks, escapes) and no bidirectional overrides (which
/// would let `evil\u{202E}gnp.exe` pass for `evilexe.png`). Slashes, dots and `..` are
/// ordinary characters here: the name is data, so `../../x` is a harmless, odd name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileName(String);
string_value!(FileName);

impl FileName {
    pub const MAX_CHARS: usize = 255;

    pub fn parse(s: &str) -> Result<Self, ValidationError> {
        let err = |why: &str| ValidationError::new("invalid_file_name", why);
        let s = nfc(s);
        let s = s.trim();
        if s.is_empty() {
            return Err(err("File names cannot be empty."));
        }
        if s.chars().count() > Self::MAX_CHARS {
            return Err(err("File names must be 255 characters or fewer."));
        }
        if s.chars()
            .any(|c| is_forbidden_control(c) || c == '\n' || c == '\t')
        {
            return Err(err(
                "File names cannot contain control characters or direction overrides.",
            ));
        }
        Ok(Self(s.to_owned()))
    }

    /// The extension after the last dot, lowercased, if any (for nothing but display:
    /// a file's type is detected from its content).
    pub fn extension(&self) -> Option<String> {
        let (stem, ext) = self.0.rsplit_once('.')?;
        (!stem.is_empty() && !ext.is_empty()).then(|| ext.to_lowercase())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_names_are_data_or_refused() {
        assert_eq!(FileName::parse("../../x").unwrap().as_str(), "../../x");
        assert_eq!(
            FileName::parse("  report.pdf ").unwrap().as_str(),
            "report.pdf"
        );
        for bad in [
            "",
            "   ",
            "a\0b",
            "a\nb",
            "evil\u{202E}gnp.exe",
            "\u{2066}x",
        ] {
            assert_eq!(
                FileName::parse(bad).unwrap_err().code,
                "invalid_file_name",
                "{bad:?}"
            );
        }
        assert!(FileName::parse(&"a".repeat(255)).is_ok());
        assert!(FileName::parse(&"a".repeat(256)).is_err());
        assert!(
            FileName::parse(&"é".repeat(255)).is_ok(),
            "characters, not bytes"
        );
        assert_eq!(
            FileName::parse("e\u{301}.txt").unwrap().as_str(),
            "\u{e9}.txt"
        );
    }

    #[test]
    fn extension() {
        let ext = |s: &str| FileName::parse(s).unwrap().extension();
        assert_eq!(ext("Photo.JPG").as_deref(), Some("jpg"));
        assert_eq!(ext(".bashrc"), None);
        assert_eq!(ext("README"), None);
    }
}
