//! Emoji as used in reactions and statuses: Slack shortcode names.

use super::{ValidationError, string_value};

/// An emoji shortcode without colons (`thumbsup`, `+1`, `wave::skin-tone-3`): lowercase
/// ASCII letters, digits, `_`, `+`, `-` and `'`, 1 to 64 characters, optionally followed by
/// a `::skin-tone-2` … `::skin-tone-6` modifier. Surrounding colons are accepted and dropped.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Emoji(String);
string_value!(Emoji);

impl Emoji {
    pub fn parse(s: &str) -> Result<Self, ValidationError> {
        let err = || {
            ValidationError::new(
                "invalid_emoji",
                "Emoji are shortcode names such as thumbsup or +1 (lowercase letters, \
                 numbers, _ + - and ', at most 64 characters).",
            )
        };
        let s = s.strip_prefix(':').unwrap_or(s);
        let s = s.strip_suffix(':').unwrap_or(s);
        let (name, tone) = match s.split_once("::") {
            Some((name, tone)) => (name, Some(tone)),
            None => (s, None),
        };
        let name_ok = (1..=64).contains(&name.len())
            && name.chars().all(|c| {
                c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '_' | '+' | '-' | '\'')
            });
        let tone_ok = match tone {
            None => true,
            Some(t) => matches!(
                t,
                "skin-tone-2" | "skin-tone-3" | "skin-tone-4" | "skin-tone-5" | "skin-tone-6"
            ),
        };
        if name_ok && tone_ok {
            Ok(Self(s.to_owned()))
        } else {
            Err(err())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn shortcodes() {
        assert_eq!(Emoji::parse(":thumbsup:").unwrap().as_str(), "thumbsup");
        assert!(Emoji::parse("+1").is_ok());
        assert!(Emoji::parse("wave::skin-tone-3").is_ok());
        for bad in [
            "",
            "::",
            "Thumbs",
            "a b",
            "wave::skin-tone-9",
            "<script>",
            &"a".repeat(65),
        ] {
            assert_eq!(
                Emoji::parse(bad).unwrap_err().code,
                "invalid_emoji",
                "{bad:?}"
            );
        }
    }

    proptest! {
        #[test]
        fn parse_is_idempotent(s in "\\PC{0,70}") {
            if let Ok(e) = Emoji::parse(&s) {
                prop_assert_eq!(Emoji::parse(e.as_str()), Ok(e.clone()));
            }
        }
    }
}
