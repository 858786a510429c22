//! Where an uploaded file's bytes live in storage.
//!
//! A key is generated, never derived from anything the uploader chose (the file's name
//! stays in the database only): `{workspace_id}/{32 hex digits of randomness}`. So names
//! cannot collide, traverse paths or leak through storage listings, and the workspace
//! prefix lets an operator find (or delete) one workspace's files.

use std::fmt;

use argon2::password_hash::rand_core::{OsRng, RngCore};

/// The storage location of one uploaded file. Thumbnails live beside it under the
/// [`StorageKey::thumb_large`] and [`StorageKey::thumb_small`] keys.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct StorageKey(String);

impl StorageKey {
    /// A new, unguessable key for a file uploaded to the workspace `workspace_id` (an id
    /// such as `W...`; any other character than ASCII letters and digits is dropped, so the
    /// prefix is always one plain path segment).
    pub fn generate(workspace_id: &str) -> StorageKey {
        let mut random = [0u8; 16];
        OsRng.fill_bytes(&mut random);
        let workspace: String = workspace_id
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .collect();
        StorageKey(format!("{workspace}/{}", hex(&random)))
    }

    /// A key as the database stored it (from [`StorageKey::as_str`]).
    pub fn from_stored(key: String) -> StorageKey {
        StorageKey(key)
    }

    /// The key to store in the database.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The key of the file's 360 px wide thumbnail.
    pub fn thumb_large(&self) -> StorageKey {
        StorageKey(format!("{}.t360", self.0))
    }

    /// The key of the file's 64 px wide thumbnail.
    pub fn thumb_small(&self) -> StorageKey {
        StorageKey(format!("{}.t64", self.0))
    }

    pub(super) fn path(&self) -> object_store::path::Path {
        object_store::path::Path::from(self.0.as_str())
    }
}

impl fmt::Display for StorageKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Lower-case hexadecimal, as keys and SHA-256 digests are written.
pub(super) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_random_under_the_workspace_and_ignore_path_tricks() {
        let a = StorageKey::generate("W01ABC");
        let b = StorageKey::generate("W01ABC");
        assert_ne!(a, b);
        let (workspace, random) = a.as_str().split_once('/').unwrap();
        assert_eq!(workspace, "W01ABC");
        assert_eq!(random.len(), 32);
        assert!(random.chars().all(|c| c.is_ascii_hexdigit()));

        let odd = StorageKey::generate("../W1/..");
        assert!(odd.as_str().starts_with("W1/"), "{odd}");
        assert_eq!(odd.thumb_large().as_str(), format!("{odd}.t360"));
        assert_eq!(odd.thumb_small().as_str(), format!("{odd}.t64"));
    }
}
