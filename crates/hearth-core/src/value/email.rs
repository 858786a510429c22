//! Email addresses, normalised for uniqueness within a workspace.

use super::{ValidationError, string_value};

/// An email address, lowercased. Validation is deliberately shallow (one `@`, a dotted
/// domain, no spaces, RFC 5321 lengths): the real check is that invites reach it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);
string_value!(Email);

impl Email {
    pub fn parse(s: &str) -> Result<Self, ValidationError> {
        let err = || ValidationError::new("invalid_email", "That is not a valid email address.");
        let s = s.trim().to_lowercase();
        let (local, domain) = s.split_once('@').ok_or_else(err)?;
        let shape_ok = !local.is_empty()
            && local.len() <= 64
            && s.len() <= 254
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains('@')
            && !s.chars().any(|c| c.is_whitespace() || c.is_control());
        if shape_ok { Ok(Self(s)) } else { Err(err()) }
    }

    /// The part before the `@`, used to derive a default handle.
    pub fn local_part(&self) -> &str {
        self.0.split('@').next().unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn normalises_and_rejects() {
        assert_eq!(
            Email::parse(" Ada@Example.COM ").unwrap().as_str(),
            "ada@example.com"
        );
        assert_eq!(Email::parse("ada@example.com").unwrap().local_part(), "ada");
        for bad in [
            "",
            "ada",
            "ada@",
            "@x.com",
            "ada@com",
            "a b@x.com",
            "a@b@c.com",
            "a@.x.com",
        ] {
            assert_eq!(
                Email::parse(bad).unwrap_err().code,
                "invalid_email",
                "{bad:?}"
            );
        }
    }

    proptest! {
        #[test]
        fn parse_is_idempotent(s in "\\PC{0,80}") {
            if let Ok(email) = Email::parse(&s) {
                prop_assert_eq!(Email::parse(email.as_str()), Ok(email.clone()));
            }
        }
    }
}
