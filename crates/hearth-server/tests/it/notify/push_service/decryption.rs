//! The browser's half of a subscription: its keys, and the RFC 8291 decryption of what it
//! is sent.

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes128Gcm, Nonce};
use hkdf::Hkdf;
use p256::elliptic_curve::sec1::ToEncodedPoint as _;
use p256::{PublicKey, SecretKey};
use rand_core::{OsRng, RngCore as _};
use sha2::Sha256;

/// Push services need accept no larger body (RFC 8291 section 4).
const MAX_BODY: usize = 4096;
/// The header of an `aes128gcm` body: salt, record size, key id length, key id.
const HEADER_LEN: usize = 16 + 4 + 1 + 65;
const TAG_LEN: usize = 16;

/// The browser's half of a subscription.
pub(super) struct Keys {
    secret: SecretKey,
    /// The uncompressed public point, as it enters the key derivation.
    pub(super) public: Vec<u8>,
    pub(super) auth: [u8; 16],
}

impl Keys {
    /// A fresh key pair and auth secret, as a browser makes for each subscription.
    pub(super) fn generate() -> Self {
        Self::from_secret(SecretKey::random(&mut OsRng), {
            let mut auth = [0u8; 16];
            OsRng.fill_bytes(&mut auth);
            auth
        })
    }

    fn from_secret(secret: SecretKey, auth: [u8; 16]) -> Self {
        let public = secret
            .public_key()
            .to_encoded_point(false)
            .as_bytes()
            .to_vec();
        Self {
            secret,
            public,
            auth,
        }
    }
}

/// RFC 8291 decryption of an `aes128gcm` body of one record, to the plaintext without its
/// padding.
pub(super) fn decrypt(body: &[u8], keys: &Keys) -> Result<Vec<u8>, String> {
    if body.len() > MAX_BODY {
        return Err(format!("the body is {} bytes, over {MAX_BODY}", body.len()));
    }
    if body.len() < HEADER_LEN + TAG_LEN + 1 {
        return Err(format!(
            "the body is {} bytes, too short for aes128gcm",
            body.len()
        ));
    }
    let (salt, rest) = body.split_at(16);
    let (rs, rest) = rest.split_at(4);
    let rs = u32::from_be_bytes(rs.try_into().unwrap()) as usize;
    let (idlen, rest) = rest.split_at(1);
    if idlen[0] != 65 {
        return Err(format!(
            "idlen is {}, not 65 (a P-256 public key)",
            idlen[0]
        ));
    }
    let (sender, record) = rest.split_at(65);
    if rs < 18 {
        return Err(format!("rs {rs} is below the minimum of 18"));
    }
    if record.len() > rs {
        return Err(format!(
            "the {}-byte ciphertext is more than one {rs}-byte record",
            record.len()
        ));
    }
    let sender_key = PublicKey::from_sec1_bytes(sender)
        .map_err(|_| "the keyid is not a P-256 point".to_owned())?;

    let shared =
        p256::ecdh::diffie_hellman(keys.secret.to_nonzero_scalar(), sender_key.as_affine());
    let mut key_info = b"WebPush: info\0".to_vec();
    key_info.extend_from_slice(&keys.public);
    key_info.extend_from_slice(sender);
    let mut ikm = [0u8; 32];
    Hkdf::<Sha256>::new(Some(&keys.auth), shared.raw_secret_bytes().as_slice())
        .expand(&key_info, &mut ikm)
        .map_err(|e| e.to_string())?;
    let prk = Hkdf::<Sha256>::new(Some(salt), &ikm);
    let mut cek = [0u8; 16];
    prk.expand(b"Content-Encoding: aes128gcm\0", &mut cek)
        .map_err(|e| e.to_string())?;
    let mut nonce = [0u8; 12];
    prk.expand(b"Content-Encoding: nonce\0", &mut nonce)
        .map_err(|e| e.to_string())?;

    let cipher = Aes128Gcm::new_from_slice(&cek).map_err(|e| e.to_string())?;
    let mut plaintext = cipher
        .decrypt(Nonce::from_slice(&nonce), record)
        .map_err(|_| "the record does not decrypt (wrong keys, salt or tag)".to_owned())?;
    // The plaintext ends with a delimiter, then any number of zero bytes of padding.
    let Some(delimiter) = plaintext.iter().rposition(|&b| b != 0) else {
        return Err("the record has no padding delimiter".to_owned());
    };
    if plaintext[delimiter] != 0x02 {
        return Err(format!(
            "the delimiter is {:#04x}, not 0x02 (last record)",
            plaintext[delimiter]
        ));
    }
    plaintext.truncate(delimiter);
    Ok(plaintext)
}

#[cfg(test)]
mod tests {
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    use super::*;

    fn b64(s: &str) -> Vec<u8> {
        URL_SAFE_NO_PAD.decode(s).unwrap()
    }

    /// The stand-in's own check: it decrypts RFC 8291 Appendix A's message.
    #[test]
    fn decrypts_the_rfc_8291_example() {
        let secret = SecretKey::from_slice(&b64("q1dXpw3UpT5VOmu_cf_v6ih07Aems3njxI-JWgLcM94"));
        let auth = b64("BTBZMqHH6r4Tts7J_aSIgg").try_into().unwrap();
        let keys = Keys::from_secret(secret.unwrap(), auth);
        assert_eq!(
            URL_SAFE_NO_PAD.encode(&keys.public),
            "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4"
        );
        let body = b64(concat!(
            "DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27ml",
            "mlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A_yl95bQpu6cVPT",
            "pK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNWQexSgSxsj_Qulcy4a-fN",
        ));
        assert_eq!(
            decrypt(&body, &keys).unwrap(),
            b"When I grow up, I want to be a watermelon"
        );

        let mut tampered = body.clone();
        *tampered.last_mut().unwrap() ^= 1;
        assert!(
            decrypt(&tampered, &keys)
                .unwrap_err()
                .contains("does not decrypt")
        );
    }
}
