//! Opaque identifiers.
//!
//! An id is a one-letter kind prefix and 26 Crockford base32 characters: 48 bits of
//! milliseconds then 80 random bits, so ids sort roughly by creation time (good index
//! locality) and cannot be guessed. Clients must treat them as opaque strings.
//! Parsing is strict: a malformed id from a URL is simply "not found", never an error
//! that would tell it apart from an id that does not exist.

use std::fmt;

use argon2::password_hash::rand_core::{OsRng, RngCore};
use serde::{Deserialize, Serialize};

const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
const BODY_LEN: usize = 26;

fn generate(prefix: char) -> String {
    let millis = chrono::Utc::now().timestamp_millis().max(0) as u128;
    let mut random = [0u8; 10];
    OsRng.fill_bytes(&mut random);
    let mut value: u128 = millis << 80;
    for (i, byte) in random.iter().enumerate() {
        value |= (*byte as u128) << (8 * (9 - i));
    }
    let mut out = String::with_capacity(BODY_LEN + 1);
    out.push(prefix);
    for i in (0..BODY_LEN).rev() {
        let index = ((value >> (5 * i)) & 0x1f) as usize;
        out.push(ALPHABET[index] as char);
    }
    out
}

fn is_well_formed(prefix: char, s: &str) -> bool {
    let mut chars = s.chars();
    chars.next() == Some(prefix)
        && s.len() == BODY_LEN + 1
        && chars.all(|c| ALPHABET.contains(&(c as u8)) && c.is_ascii())
}

macro_rules! define_id {
    ($(#[$doc:meta])* $name:ident, $prefix:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// The kind letter every id of this type starts with.
            pub const PREFIX: char = $prefix;

            /// A fresh, unguessable id.
            pub fn generate() -> Self {
                Self(generate($prefix))
            }

            /// Accepts only a well-formed id of this kind.
            pub fn parse(s: &str) -> Option<Self> {
                is_well_formed($prefix, s).then(|| Self(s.to_owned()))
            }

            /// Wraps a value read back from our own database, which we wrote ourselves.
            pub fn from_trusted(s: String) -> Self {
                Self(s)
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

define_id!(
    /// A workspace (tenant). Slack calls these teams, hence `T`.
    WorkspaceId,
    'T'
);
define_id!(
    /// An account, which belongs to exactly one workspace.
    UserId,
    'U'
);
define_id!(
    /// A channel, DM or group DM.
    ChannelId,
    'C'
);
define_id!(
    /// A message or thread reply.
    MessageId,
    'M'
);
define_id!(
    /// An uploaded file.
    FileId,
    'F'
);
define_id!(
    /// An invitation (its secret code is separate and stored hashed).
    InviteId,
    'I'
);
define_id!(
    /// A place a user receives notifications: a browser's Web Push subscription or a
    /// webhook endpoint.
    PushTargetId,
    'P'
);
define_id!(
    /// One notification: one message that concerns one user.
    NotificationId,
    'N'
);
define_id!(
    /// One attempt-tracked delivery of a notification (or of an email digest) to one
    /// target.
    DeliveryId,
    'D'
);

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    #[allow(clippy::disallowed_methods)] // a plain unit test: no runtime to block
    fn generated_ids_parse_and_are_unique_and_time_ordered() {
        let a = ChannelId::generate();
        std::thread::sleep(std::time::Duration::from_millis(2));
        let b = ChannelId::generate();
        assert!(ChannelId::parse(a.as_str()).is_some());
        assert_ne!(a, b);
        assert!(a < b, "{a} should sort before {b}");
        assert_eq!(a.as_str().len(), 27);
    }

    #[test]
    fn wrong_kind_or_shape_is_rejected() {
        let user = UserId::generate();
        assert!(ChannelId::parse(user.as_str()).is_none());
        assert!(ChannelId::parse("C").is_none());
        assert!(ChannelId::parse("c01ARZ3NDEKTSV4RRFFQ69G5FAV").is_none());
        assert!(
            ChannelId::parse("C01ARZ3NDEKTSV4RRFFQ69G5FAU").is_none(),
            "U is not Crockford"
        );
        assert!(ChannelId::parse("C01ARZ3NDEKTSV4RRFFQ69G5FAVX").is_none());
    }

    proptest! {
        #[test]
        fn parse_never_panics_and_accepts_only_27_chars(s in "\\PC{0,40}") {
            if let Some(id) = MessageId::parse(&s) {
                prop_assert_eq!(id.as_str().len(), 27);
            }
        }
    }
}
