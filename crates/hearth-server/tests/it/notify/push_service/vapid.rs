//! The push service's check of `Authorization: vapid t=<JWT>, k=<key>` (RFC 8292).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use p256::ecdsa::signature::Verifier as _;
use p256::ecdsa::{Signature, VerifyingKey};
use serde_json::Value;

use super::Refusal;

/// RFC 8292 section 2: a token must expire within 24 hours.
const MAX_TOKEN_LIFETIME: u64 = 24 * 60 * 60;

/// What a valid VAPID authorization says.
#[derive(Debug)]
pub(super) struct Vapid {
    /// `k`: the application server's public key, base64url.
    pub key: String,
    pub subject: String,
}

/// Checks `Authorization: vapid t=<JWT>, k=<key>` (RFC 8292 sections 2 to 4).
pub(super) fn verify_vapid(authorization: &str, origin: &str, now: u64) -> Result<Vapid, Refusal> {
    let Some(params) = authorization.strip_prefix("vapid ") else {
        return Err(Refusal::unauthorized(format!(
            "Authorization {authorization:?} is not vapid"
        )));
    };
    let mut token = None;
    let mut key = None;
    for param in params.split(',') {
        match param.trim().split_once('=') {
            Some(("t", value)) => token = Some(value.trim()),
            Some(("k", value)) => key = Some(value.trim()),
            _ => {
                return Err(Refusal::unauthorized(format!(
                    "Authorization parameter {param:?}"
                )));
            }
        }
    }
    let (Some(token), Some(key)) = (token, key) else {
        return Err(Refusal::unauthorized("Authorization lacks t= or k="));
    };

    let decode = |part: &str, what: &str| {
        URL_SAFE_NO_PAD
            .decode(part)
            .map_err(|e| Refusal::unauthorized(format!("{what} is not base64url: {e}")))
    };
    let public = decode(key, "k")?;
    let verifying_key = match public.as_slice() {
        [0x04, ..] if public.len() == 65 => VerifyingKey::from_sec1_bytes(&public)
            .map_err(|_| Refusal::unauthorized("k is not a P-256 point"))?,
        _ => {
            return Err(Refusal::unauthorized(
                "k is not a 65-byte uncompressed P-256 point",
            ));
        }
    };
    let parts: Vec<&str> = token.split('.').collect();
    let [jose_part, claims_part, signature] = parts[..] else {
        return Err(Refusal::unauthorized("the token is not a three-part JWT"));
    };
    let json = |part: &str, what: &str| -> Result<Value, Refusal> {
        serde_json::from_slice(&decode(part, what)?)
            .map_err(|e| Refusal::unauthorized(format!("the JWT {what} is not JSON: {e}")))
    };
    let jose = json(jose_part, "header")?;
    if jose["alg"] != "ES256" {
        return Err(Refusal::unauthorized(format!(
            "JWT alg is {}, not ES256",
            jose["alg"]
        )));
    }
    if !matches!(jose.get("typ"), None | Some(Value::String(_))) {
        return Err(Refusal::unauthorized("JWT typ is not a string"));
    }
    let signature = Signature::from_slice(&decode(signature, "signature")?)
        .map_err(|_| Refusal::unauthorized("the signature is not 64 bytes of r || s"))?;
    verifying_key
        .verify(format!("{jose_part}.{claims_part}").as_bytes(), &signature)
        .map_err(|_| Refusal::unauthorized("the JWT signature does not verify with k"))?;

    let claims = json(claims_part, "claims")?;
    if claims["aud"] != origin {
        return Err(Refusal::unauthorized(format!(
            "aud is {}, not {origin:?}",
            claims["aud"]
        )));
    }
    let Some(exp) = claims["exp"].as_u64() else {
        return Err(Refusal::unauthorized(format!(
            "exp is {}, not a number",
            claims["exp"]
        )));
    };
    if exp <= now || exp > now + MAX_TOKEN_LIFETIME {
        return Err(Refusal::unauthorized(format!(
            "exp {exp} is not within 24 h after {now}"
        )));
    }
    let subject = claims["sub"].as_str().unwrap_or_default();
    if !(subject.starts_with("mailto:") || subject.starts_with("https:")) {
        return Err(Refusal::unauthorized(format!(
            "sub {} is not mailto: or https:",
            claims["sub"]
        )));
    }
    Ok(Vapid {
        key: key.to_owned(),
        subject: subject.to_owned(),
    })
}
