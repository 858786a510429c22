//! Opaque pagination cursors.
//!
//! List endpoints that page by key (members, users) hand out a cursor that encodes the
//! last key returned. It is base64url so clients do not build or parse it; a cursor that
//! does not decode is a 400 `invalid_cursor`, never a 500.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::value::ValidationError;

const MAX_CURSOR_LEN: usize = 512;

/// Encodes the last key of a page as a cursor.
pub fn encode(key: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("k:{key}"))
}

/// Decodes a cursor back to the key it was made from.
pub fn decode(cursor: &str) -> Result<String, ValidationError> {
    let err = || ValidationError::new("invalid_cursor", "The cursor is not valid.");
    if cursor.len() > MAX_CURSOR_LEN {
        return Err(err());
    }
    let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| err())?;
    let text = String::from_utf8(bytes).map_err(|_| err())?;
    text.strip_prefix("k:").map(str::to_owned).ok_or_else(err)
}

/// The largest page any list endpoint returns, and the default when none is asked.
pub const MAX_PAGE: u32 = 200;
pub const DEFAULT_PAGE: u32 = 50;

/// Checks a requested page size: 1 to [`MAX_PAGE`], defaulting to [`DEFAULT_PAGE`].
pub fn page_limit(limit: Option<u32>) -> Result<u32, ValidationError> {
    match limit {
        None => Ok(DEFAULT_PAGE),
        Some(n) if (1..=MAX_PAGE).contains(&n) => Ok(n),
        Some(_) => Err(ValidationError::new(
            "invalid_limit",
            format!("limit must be between 1 and {MAX_PAGE}."),
        )),
    }
}

/// Checks a seq given as a cursor (`before`, `after`): a non-negative integer.
pub fn seq(value: i64) -> Result<i64, ValidationError> {
    if value >= 0 {
        Ok(value)
    } else {
        Err(ValidationError::new(
            "invalid_seq",
            "seq values are non-negative integers.",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn limits_and_seqs() {
        assert_eq!(page_limit(None), Ok(50));
        assert_eq!(page_limit(Some(200)), Ok(200));
        assert_eq!(page_limit(Some(201)).unwrap_err().code, "invalid_limit");
        assert_eq!(page_limit(Some(0)).unwrap_err().code, "invalid_limit");
        assert_eq!(seq(-1).unwrap_err().code, "invalid_seq");
    }

    #[test]
    fn garbage_is_invalid_cursor() {
        for bad in [
            "",
            "!!!",
            "a",
            &"A".repeat(600),
            &URL_SAFE_NO_PAD.encode([0xff, 0xfe]),
        ] {
            assert_eq!(decode(bad).unwrap_err().code, "invalid_cursor", "{bad:?}");
        }
    }

    proptest! {
        #[test]
        fn round_trips(key in "\\PC{0,100}") {
            prop_assert_eq!(decode(&encode(&key)), Ok(key.clone()));
        }

        #[test]
        fn decode_never_panics(s in "\\PC{0,100}") {
            let _ = decode(&s);
        }
    }
}
