//! RFC 8291 message encryption: the `aes128gcm` content coding of RFC 8188 with a key
//! agreed between a fresh sender key and the browser's subscription key.

use aws_lc_rs::aead::{AES_128_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use aws_lc_rs::agreement::{self, ECDH_P256, PrivateKey, UnparsedPublicKey};
use aws_lc_rs::hkdf::{self, HKDF_SHA256};
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use base64::Engine as _;

use super::{LENIENT_BASE64URL, WebPushError, crypto};

/// The record size written into every message header. One record holds the whole
/// payload, and push services need accept no body over 4,096 bytes (RFC 8291 section 4).
const RECORD_SIZE: u32 = 4096;
/// Salt (16), record size (4), key id length (1) and the sender's public key (65).
const HEADER_LEN: usize = 16 + 4 + 1 + PUBLIC_KEY_LEN;
/// An uncompressed P-256 point: 0x04, then x and y.
const PUBLIC_KEY_LEN: usize = 65;
const AUTH_SECRET_LEN: usize = 16;
const TAG_LEN: usize = 16;
/// Ends the plaintext of the last (here: the only) record (RFC 8188 section 2).
const LAST_RECORD_DELIMITER: u8 = 0x02;
/// The largest payload `encrypt` takes: what is left of a 4,096-byte body after the header,
/// the delimiter and the tag.
pub const MAX_PAYLOAD: usize = RECORD_SIZE as usize - HEADER_LEN - 1 - TAG_LEN;

/// A browser's push subscription as `PushSubscription.toJSON()` gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscription {
    pub endpoint: String,
    /// The user agent's ECDH public key: an uncompressed P-256 point, base64url.
    pub p256dh: String,
    /// The 16-byte authentication secret, base64url.
    pub auth: String,
}

/// RFC 8291 `aes128gcm` content encoding of `payload` for this subscription: a fresh salt
/// and ephemeral key each call, one record (rs = 4096), padding delimiter 0x02. Refuses
/// payloads over [`MAX_PAYLOAD`] (3,993) bytes; validates p256dh (65-byte uncompressed
/// point) and auth (16 bytes).
pub fn encrypt(sub: &Subscription, payload: &[u8]) -> Result<Vec<u8>, WebPushError> {
    let ua_public = decode_p256dh(&sub.p256dh)?;
    let auth = decode_auth(&sub.auth)?;
    // A new key per message is what makes it ephemeral. This is `PrivateKey` rather than
    // `EphemeralPrivateKey` only so the RFC's fixed key can take the same path in tests.
    let sender = PrivateKey::generate(&ECDH_P256).map_err(crypto)?;
    let mut salt = [0u8; 16];
    SystemRandom::new().fill(&mut salt).map_err(crypto)?;
    encrypt_with(&ua_public, &auth, &sender, &salt, payload)
}

fn decode_p256dh(p256dh: &str) -> Result<Vec<u8>, WebPushError> {
    let key = LENIENT_BASE64URL
        .decode(p256dh.trim())
        .map_err(|_| WebPushError::InvalidP256dh("not base64url"))?;
    if key.len() != PUBLIC_KEY_LEN || key[0] != 0x04 {
        return Err(WebPushError::InvalidP256dh(
            "not a 65-byte uncompressed P-256 point",
        ));
    }
    Ok(key)
}

fn decode_auth(auth: &str) -> Result<[u8; AUTH_SECRET_LEN], WebPushError> {
    let secret = LENIENT_BASE64URL
        .decode(auth.trim())
        .map_err(|_| WebPushError::InvalidAuth("not base64url"))?;
    secret
        .try_into()
        .map_err(|_| WebPushError::InvalidAuth("not 16 bytes"))
}

/// The encryption itself, with the salt and the sender's key as inputs (RFC 8291 section 3).
fn encrypt_with(
    ua_public: &[u8],
    auth: &[u8; AUTH_SECRET_LEN],
    sender: &PrivateKey,
    salt: &[u8; 16],
    payload: &[u8],
) -> Result<Vec<u8>, WebPushError> {
    if payload.len() > MAX_PAYLOAD {
        return Err(WebPushError::PayloadTooLarge { len: payload.len() });
    }
    let as_public = sender.compute_public_key().map_err(crypto)?;
    let as_public = as_public.as_ref();
    let (cek, nonce) = agreement::agree(
        sender,
        UnparsedPublicKey::new(&ECDH_P256, ua_public),
        // The one input agree can refuse is the peer's point: not on the curve.
        WebPushError::InvalidP256dh("not a point on P-256"),
        |ecdh_secret| derive(ecdh_secret, auth, ua_public, as_public, salt),
    )?;

    let key = LessSafeKey::new(UnboundKey::new(&AES_128_GCM, &cek).map_err(crypto)?);
    let mut record = Vec::with_capacity(payload.len() + 1 + TAG_LEN);
    record.extend_from_slice(payload);
    record.push(LAST_RECORD_DELIMITER);
    // The nonce of record i is NONCE xor i; the only record is record 0.
    key.seal_in_place_append_tag(
        Nonce::assume_unique_for_key(nonce),
        Aad::empty(),
        &mut record,
    )
    .map_err(crypto)?;

    let mut body = Vec::with_capacity(HEADER_LEN + record.len());
    body.extend_from_slice(salt);
    body.extend_from_slice(&RECORD_SIZE.to_be_bytes());
    body.push(PUBLIC_KEY_LEN as u8);
    body.extend_from_slice(as_public);
    body.extend_from_slice(&record);
    Ok(body)
}

/// The content-encryption key and nonce from the ECDH secret (RFC 8291 section 3.4, then
/// RFC 8188 section 2.2).
fn derive(
    ecdh_secret: &[u8],
    auth: &[u8],
    ua_public: &[u8],
    as_public: &[u8],
    salt: &[u8],
) -> Result<([u8; 16], [u8; 12]), WebPushError> {
    let mut ikm = [0u8; 32];
    hkdf::Salt::new(HKDF_SHA256, auth)
        .extract(ecdh_secret)
        .expand(&[b"WebPush: info\0", ua_public, as_public], Len(ikm.len()))
        .and_then(|okm| okm.fill(&mut ikm))
        .map_err(crypto)?;
    let prk = hkdf::Salt::new(HKDF_SHA256, salt).extract(&ikm);
    let mut cek = [0u8; 16];
    prk.expand(&[b"Content-Encoding: aes128gcm\0"], Len(cek.len()))
        .and_then(|okm| okm.fill(&mut cek))
        .map_err(crypto)?;
    let mut nonce = [0u8; 12];
    prk.expand(&[b"Content-Encoding: nonce\0"], Len(nonce.len()))
        .and_then(|okm| okm.fill(&mut nonce))
        .map_err(crypto)?;
    Ok((cek, nonce))
}

/// An HKDF output length.
struct Len(usize);

impl hkdf::KeyType for Len {
    fn len(&self) -> usize {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    use super::*;

    fn b64(s: &str) -> Vec<u8> {
        URL_SAFE_NO_PAD.decode(s).unwrap()
    }

    /// RFC 8291 Appendix A, every value copied from the RFC.
    mod rfc8291 {
        pub const PLAINTEXT: &[u8] = b"When I grow up, I want to be a watermelon";
        pub const AS_PRIVATE: &str = "yfWPiYE-n46HLnH0KqZOF1fJJU3MYrct3AELtAQ-oRw";
        pub const AS_PUBLIC: &str = "BP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A8";
        pub const UA_PUBLIC: &str = "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4";
        pub const SALT: &str = "DGv6ra1nlYgDCS1FRnbzlw";
        pub const AUTH: &str = "BTBZMqHH6r4Tts7J_aSIgg";
        pub const ECDH_SECRET: &str = "kyrL1jIIOHEzg3sM2ZWRHDRB62YACZhhSlknJ672kSs";
        pub const CEK: &str = "oIhVW04MRdy2XN9CiKLxTg";
        pub const NONCE: &str = "4h_95klXJ5E_qnoN";
        pub const BODY: &str = concat!(
            "DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27ml",
            "mlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A_yl95bQpu6cVPT",
            "pK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNWQexSgSxsj_Qulcy4a-fN",
        );
    }

    #[test]
    fn reproduces_the_rfc_8291_example() {
        let sender = PrivateKey::from_private_key(&ECDH_P256, &b64(rfc8291::AS_PRIVATE)).unwrap();
        let as_public = sender.compute_public_key().unwrap();
        assert_eq!(
            URL_SAFE_NO_PAD.encode(as_public.as_ref()),
            rfc8291::AS_PUBLIC
        );
        let ua_public = b64(rfc8291::UA_PUBLIC);
        let auth: [u8; 16] = b64(rfc8291::AUTH).try_into().unwrap();
        let salt: [u8; 16] = b64(rfc8291::SALT).try_into().unwrap();

        // The intermediate values first, so a mismatch says which step broke.
        let peer = UnparsedPublicKey::new(&ECDH_P256, &ua_public);
        let (cek, nonce) = agreement::agree(&sender, peer, (), |secret| {
            assert_eq!(URL_SAFE_NO_PAD.encode(secret), rfc8291::ECDH_SECRET);
            derive(secret, &auth, &ua_public, as_public.as_ref(), &salt).map_err(|_| ())
        })
        .unwrap();
        assert_eq!(URL_SAFE_NO_PAD.encode(cek), rfc8291::CEK);
        assert_eq!(URL_SAFE_NO_PAD.encode(nonce), rfc8291::NONCE);

        let body = encrypt_with(&ua_public, &auth, &sender, &salt, rfc8291::PLAINTEXT).unwrap();
        assert_eq!(URL_SAFE_NO_PAD.encode(&body), rfc8291::BODY);
    }

    #[test]
    fn each_message_has_its_own_salt_and_key() {
        let sub = Subscription {
            endpoint: "https://push.example.net/p/1".into(),
            p256dh: rfc8291::UA_PUBLIC.into(),
            auth: rfc8291::AUTH.into(),
        };
        let first = encrypt(&sub, b"hello").unwrap();
        let second = encrypt(&sub, b"hello").unwrap();
        assert_eq!(first.len(), HEADER_LEN + 5 + 1 + TAG_LEN);
        assert_eq!(&first[16..21], &[0, 0, 0x10, 0, 65]);
        assert_ne!(first[..16], second[..16], "salt");
        assert_ne!(first[21..86], second[21..86], "sender key");
    }

    #[test]
    fn refuses_payloads_over_3993_bytes() {
        let sub = Subscription {
            endpoint: "https://push.example.net/p/1".into(),
            p256dh: rfc8291::UA_PUBLIC.into(),
            auth: rfc8291::AUTH.into(),
        };
        assert_eq!(MAX_PAYLOAD, 3993);
        let body = encrypt(&sub, &[b'x'; MAX_PAYLOAD]).unwrap();
        assert_eq!(body.len(), RECORD_SIZE as usize);
        let err = encrypt(&sub, &[b'x'; MAX_PAYLOAD + 1]).unwrap_err();
        assert!(
            matches!(err, WebPushError::PayloadTooLarge { len: 3994 }),
            "{err}"
        );
    }

    #[test]
    fn refuses_bad_subscription_keys() {
        let with = |p256dh: &str, auth: &str| {
            let sub = Subscription {
                endpoint: "https://push.example.net/p/1".into(),
                p256dh: p256dh.into(),
                auth: auth.into(),
            };
            encrypt(&sub, b"{}").unwrap_err()
        };
        let short = URL_SAFE_NO_PAD.encode([4u8; 33]);
        let compressed = URL_SAFE_NO_PAD.encode(&b64(rfc8291::UA_PUBLIC)[..33]);
        let mut off_curve = b64(rfc8291::UA_PUBLIC);
        off_curve[64] ^= 1;
        let off_curve = URL_SAFE_NO_PAD.encode(off_curve);

        assert!(matches!(
            with("not base64!", rfc8291::AUTH),
            WebPushError::InvalidP256dh(_)
        ));
        assert!(matches!(
            with(&short, rfc8291::AUTH),
            WebPushError::InvalidP256dh(_)
        ));
        assert!(matches!(
            with(&compressed, rfc8291::AUTH),
            WebPushError::InvalidP256dh(_)
        ));
        let err = with(&off_curve, rfc8291::AUTH);
        assert_eq!(
            err.to_string(),
            "the subscription's p256dh key is invalid: not a point on P-256"
        );
        assert!(matches!(
            with(rfc8291::UA_PUBLIC, "BTBZMqHH6r4Tts7J"),
            WebPushError::InvalidAuth(_)
        ));
        assert!(matches!(
            with(rfc8291::UA_PUBLIC, "%%%"),
            WebPushError::InvalidAuth(_)
        ));
        // Padding is tolerated: some client libraries keep it.
        let padded = Subscription {
            endpoint: "https://push.example.net/p/1".into(),
            p256dh: format!("{}=", rfc8291::UA_PUBLIC),
            auth: format!("{}==", rfc8291::AUTH),
        };
        assert!(encrypt(&padded, b"{}").is_ok());
    }
}
