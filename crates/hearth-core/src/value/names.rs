//! Names with Slack's shape rules: channel names, user handles, workspace slugs.

use super::{ValidationError, string_value};

/// A channel name: lowercase letters (any script), digits, `-` and `_`; 1 to 80
/// characters; no spaces or periods. Unique within a workspace.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ChannelName(String);
string_value!(ChannelName);

impl ChannelName {
    pub const MAX_CHARS: usize = 80;

    pub fn parse(s: &str) -> Result<Self, ValidationError> {
        let err = |why: &str| ValidationError::new("invalid_channel_name", why);
        let s = s.strip_prefix('#').unwrap_or(s);
        if s.is_empty() {
            return Err(err("Channel names cannot be empty."));
        }
        if s.chars().count() > Self::MAX_CHARS {
            return Err(err("Channel names must be 80 characters or fewer."));
        }
        for c in s.chars() {
            if c.is_uppercase() {
                return Err(err("Channel names must be lowercase."));
            }
            if c.is_whitespace() || c == '.' {
                return Err(err("Channel names cannot contain spaces or periods."));
            }
            if !(c.is_alphanumeric() || c == '-' || c == '_') {
                return Err(err(
                    "Channel names can only contain letters, numbers, hyphens and underscores.",
                ));
            }
        }
        Ok(Self(s.to_owned()))
    }
}

/// A user's handle, typed as `@handle`: lowercase ASCII letters, digits, `.`, `-`, `_`;
/// 1 to 80 characters; unique within a workspace.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Handle(String);
string_value!(Handle);

impl Handle {
    pub const MAX_CHARS: usize = 80;

    fn allowed(c: char) -> bool {
        c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '-' | '_')
    }

    pub fn parse(s: &str) -> Result<Self, ValidationError> {
        let err = |why: &str| ValidationError::new("invalid_handle", why);
        let s = s.strip_prefix('@').unwrap_or(s);
        if s.is_empty() {
            return Err(err("Handles cannot be empty."));
        }
        if s.len() > Self::MAX_CHARS {
            return Err(err("Handles must be 80 characters or fewer."));
        }
        if !s.chars().all(Self::allowed) {
            return Err(err(
                "Handles can only contain lowercase letters, numbers, periods, hyphens and underscores.",
            ));
        }
        Ok(Self(s.to_owned()))
    }

    /// The handle a new account gets when it does not choose one: the email's local part
    /// with everything not allowed dropped (`Ada.Lovelace+x@…` becomes `ada.lovelace`).
    pub fn from_email_local_part(local: &str) -> Self {
        let base: String = local
            .split('+')
            .next()
            .unwrap_or_default()
            .to_lowercase()
            .chars()
            .filter(|c| Self::allowed(*c))
            .take(Self::MAX_CHARS - 6)
            .collect();
        if base.is_empty() {
            Self("user".to_owned())
        } else {
            Self(base)
        }
    }

    /// The same handle with a number appended, used to resolve collisions (`ada2`).
    pub fn with_suffix(&self, n: u32) -> Self {
        let suffix = n.to_string();
        let keep = Self::MAX_CHARS - suffix.len();
        let base: String = self.0.chars().take(keep).collect();
        Self(format!("{base}{suffix}"))
    }
}

/// A workspace's URL name: lowercase ASCII letters, digits and `-`, 2 to 40 characters,
/// starting and ending with a letter or digit. Unique across the server.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct WorkspaceSlug(String);
string_value!(WorkspaceSlug);

impl WorkspaceSlug {
    pub fn parse(s: &str) -> Result<Self, ValidationError> {
        let err = || {
            ValidationError::new(
                "invalid_slug",
                "Workspace slugs are 2 to 40 lowercase letters, numbers or hyphens, \
                 starting and ending with a letter or number.",
            )
        };
        let ok_char = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
        let len_ok = (2..=40).contains(&s.len());
        let chars_ok = s.chars().all(|c| ok_char(c) || c == '-');
        let ends_ok = s.starts_with(ok_char) && s.ends_with(ok_char);
        if len_ok && chars_ok && ends_ok {
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
    fn channel_names_follow_slacks_rules() {
        assert_eq!(ChannelName::parse("general").unwrap().as_str(), "general");
        assert_eq!(
            ChannelName::parse("#dev-ops_2").unwrap().as_str(),
            "dev-ops_2"
        );
        assert!(ChannelName::parse("développement").is_ok());
        assert!(ChannelName::parse("开发").is_ok());
        for bad in [
            "",
            "General",
            "has space",
            "a.b",
            "emoji🔥",
            &"x".repeat(81),
        ] {
            let e = ChannelName::parse(bad).unwrap_err();
            assert_eq!(e.code, "invalid_channel_name", "{bad:?}");
        }
        assert!(
            ChannelName::parse(&"é".repeat(80)).is_ok(),
            "80 characters, not bytes"
        );
    }

    #[test]
    fn handles_derive_from_email_and_take_suffixes() {
        assert_eq!(
            Handle::from_email_local_part("Ada.Lovelace+work").as_str(),
            "ada.lovelace"
        );
        assert_eq!(Handle::from_email_local_part("ÉÉ").as_str(), "user");
        assert_eq!(
            Handle::parse("@ada").unwrap().with_suffix(2).as_str(),
            "ada2"
        );
        assert!(Handle::parse("Ada").is_err());
        assert!(Handle::parse("").is_err());
    }

    #[test]
    fn slugs() {
        assert!(WorkspaceSlug::parse("acme-corp").is_ok());
        for bad in ["a", "-acme", "acme-", "Acme", "ac me", &"a".repeat(41)] {
            assert!(WorkspaceSlug::parse(bad).is_err(), "{bad:?}");
        }
    }

    proptest! {
        #[test]
        fn accepted_channel_names_are_lowercase_and_bounded(s in "\\PC{0,100}") {
            if let Ok(name) = ChannelName::parse(&s) {
                prop_assert!(!name.as_str().is_empty());
                prop_assert!(name.as_str().chars().count() <= 80);
                prop_assert!(!name.as_str().chars().any(|c| c.is_uppercase() || c.is_whitespace()));
                prop_assert_eq!(ChannelName::parse(name.as_str()), Ok(name.clone()));
            }
        }

        #[test]
        fn derived_handles_always_parse(s in "\\PC{0,200}") {
            let handle = Handle::from_email_local_part(&s);
            prop_assert_eq!(Handle::parse(handle.as_str()), Ok(handle.clone()));
            prop_assert!(Handle::parse(handle.with_suffix(99_999).as_str()).is_ok());
        }

        #[test]
        fn slug_parse_is_idempotent(s in "[a-z0-9-]{0,45}") {
            if let Ok(slug) = WorkspaceSlug::parse(&s) {
                prop_assert_eq!(WorkspaceSlug::parse(slug.as_str()), Ok(slug.clone()));
            }
        }
    }
}
