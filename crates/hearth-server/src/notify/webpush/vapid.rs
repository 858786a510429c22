//! VAPID (RFC 8292): the server's ES256 key pair and the signed token that identifies it
//! to push services.

use std::fmt::Write as _;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::{LENIENT_BASE64URL, WebPushError, crypto};

/// How long a VAPID token stays valid. RFC 8292 allows at most 24 hours; half leaves room
/// for a clock that runs ahead of the push service's.
const VAPID_LIFETIME: Duration = Duration::from_secs(12 * 60 * 60);

/// The server's VAPID key pair (RFC 8292), persisted by the caller as `to_pkcs8_base64()`.
pub struct VapidKeys {
    pair: EcdsaKeyPair,
    /// Kept as loaded, so what is persisted is exactly what was read or generated.
    pkcs8: Vec<u8>,
}

impl std::fmt::Debug for VapidKeys {
    /// Shows the public half only: the private key must not reach a log.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VapidKeys")
            .field("public_key", &self.public_key_base64url())
            .finish_non_exhaustive()
    }
}

impl VapidKeys {
    pub fn generate() -> Result<Self, WebPushError> {
        let pkcs8 =
            EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new())
                .map_err(crypto)?;
        Self::from_pkcs8(pkcs8.as_ref().to_vec())
    }

    pub fn from_pkcs8_base64(s: &str) -> Result<Self, WebPushError> {
        let pkcs8 = LENIENT_BASE64URL
            .decode(s.trim())
            .map_err(|e| WebPushError::InvalidVapidKey(e.to_string()))?;
        Self::from_pkcs8(pkcs8)
    }

    fn from_pkcs8(pkcs8: Vec<u8>) -> Result<Self, WebPushError> {
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &pkcs8)
            .map_err(|e| WebPushError::InvalidVapidKey(e.to_string()))?;
        Ok(Self { pair, pkcs8 })
    }

    pub fn to_pkcs8_base64(&self) -> String {
        URL_SAFE_NO_PAD.encode(&self.pkcs8)
    }

    /// The uncompressed public point, base64url without padding: the browser's applicationServerKey.
    pub fn public_key_base64url(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.pair.public_key().as_ref())
    }

    /// `vapid t=<JWT>, k=<public key>` for a push to `endpoint` (aud = its origin,
    /// exp = now + 12 h, sub = `subject`, e.g. "mailto:admin@example.com").
    pub fn authorization(
        &self,
        endpoint: &url::Url,
        subject: &str,
    ) -> Result<String, WebPushError> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_err(|_| WebPushError::Clock)?;
        let token = self.token(endpoint, subject, (now + VAPID_LIFETIME).as_secs())?;
        Ok(format!(
            "vapid t={token}, k={}",
            self.public_key_base64url()
        ))
    }

    /// The signed JWT (ES256) with an explicit expiry, so tests can pin it.
    fn token(&self, endpoint: &url::Url, subject: &str, exp: u64) -> Result<String, WebPushError> {
        let origin = endpoint_origin(endpoint)?;
        if !(subject.starts_with("mailto:") || subject.starts_with("https:")) {
            return Err(WebPushError::InvalidSubject(subject.to_owned()));
        }
        let header = URL_SAFE_NO_PAD.encode(br#"{"typ":"JWT","alg":"ES256"}"#);
        let claims = serde_json::json!({ "aud": origin, "exp": exp, "sub": subject });
        let claims = URL_SAFE_NO_PAD.encode(claims.to_string());
        let mut token = format!("{header}.{claims}");
        // The FIXED algorithm gives JWS's r || s, not DER, as RFC 7518 section 3.4 requires.
        let signature = self
            .pair
            .sign(&SystemRandom::new(), token.as_bytes())
            .map_err(crypto)?;
        let _ = write!(token, ".{}", URL_SAFE_NO_PAD.encode(signature.as_ref()));
        Ok(token)
    }
}

/// `scheme://host[:port]`, the `aud` a push service expects; only http(s) URLs have one.
fn endpoint_origin(endpoint: &url::Url) -> Result<String, WebPushError> {
    let origin = endpoint.origin();
    if !matches!(endpoint.scheme(), "https" | "http") || !origin.is_tuple() {
        return Err(WebPushError::InvalidEndpoint(endpoint.to_string()));
    }
    Ok(origin.ascii_serialization())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(s: &str) -> Vec<u8> {
        URL_SAFE_NO_PAD.decode(s).unwrap()
    }

    #[test]
    fn vapid_keys_survive_persistence() {
        let keys = VapidKeys::generate().unwrap();
        let again = VapidKeys::from_pkcs8_base64(&keys.to_pkcs8_base64()).unwrap();
        assert_eq!(again.public_key_base64url(), keys.public_key_base64url());
        let public = b64(&keys.public_key_base64url());
        assert_eq!((public.len(), public[0]), (65, 0x04));
        assert!(!format!("{keys:?}").contains(&keys.to_pkcs8_base64()));

        assert!(matches!(
            VapidKeys::from_pkcs8_base64("***"),
            Err(WebPushError::InvalidVapidKey(_))
        ));
        let garbage = URL_SAFE_NO_PAD.encode([7u8; 64]);
        assert!(matches!(
            VapidKeys::from_pkcs8_base64(&garbage),
            Err(WebPushError::InvalidVapidKey(_))
        ));
    }

    #[test]
    fn vapid_token_carries_the_claims_and_verifies() {
        use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED, UnparsedPublicKey};

        let keys = VapidKeys::generate().unwrap();
        let endpoint = url::Url::parse("https://push.example.net:8443/wpush/v2/abc?x=1").unwrap();
        let header = keys
            .authorization(&endpoint, "mailto:admin@example.com")
            .unwrap();
        let (token, k) = header
            .strip_prefix("vapid t=")
            .and_then(|rest| rest.split_once(", k="))
            .unwrap();
        assert_eq!(k, keys.public_key_base64url());

        let parts: Vec<&str> = token.split('.').collect();
        assert_eq!(parts.len(), 3);
        let jose: serde_json::Value = serde_json::from_slice(&b64(parts[0])).unwrap();
        assert_eq!(jose, serde_json::json!({ "typ": "JWT", "alg": "ES256" }));
        let claims: serde_json::Value = serde_json::from_slice(&b64(parts[1])).unwrap();
        assert_eq!(claims["aud"], "https://push.example.net:8443");
        assert_eq!(claims["sub"], "mailto:admin@example.com");
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let exp = claims["exp"].as_u64().unwrap();
        assert!(
            (now + 12 * 3600 - 5..=now + 12 * 3600 + 5).contains(&exp),
            "exp {exp}, now {now}"
        );

        let signature = b64(parts[2]);
        assert_eq!(signature.len(), 64, "JWS wants r || s, not DER");
        let verifier = UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, b64(k));
        let signed = format!("{}.{}", parts[0], parts[1]);
        assert!(verifier.verify(signed.as_bytes(), &signature).is_ok());
        assert!(verifier.verify(b"something else", &signature).is_err());
    }

    #[test]
    fn vapid_refuses_bad_subjects_and_endpoints() {
        let keys = VapidKeys::generate().unwrap();
        let endpoint = url::Url::parse("https://push.example.net/p").unwrap();
        assert!(
            keys.authorization(&endpoint, "https://hearth.example.com")
                .is_ok()
        );
        let err = keys
            .authorization(&endpoint, "admin@example.com")
            .unwrap_err();
        assert!(matches!(err, WebPushError::InvalidSubject(_)));
        let opaque = url::Url::parse("data:text/plain,hi").unwrap();
        let err = keys
            .authorization(&opaque, "mailto:a@example.com")
            .unwrap_err();
        assert!(matches!(err, WebPushError::InvalidEndpoint(_)));
    }
}
