//! Web Push delivery: the message encryption of RFC 8291 (the `aes128gcm` content coding of
//! RFC 8188), the VAPID authorization of RFC 8292, and the one request that hands a push to
//! a browser's push service (RFC 8030).
//!
//! The crypto is aws-lc-rs, the provider that rustls (through reqwest and object_store)
//! already compiles into the binary, so Web Push adds no crypto crate. Its API is ring's,
//! plus one thing ring lacks that the tests need: an ECDH key loaded from bytes, so RFC
//! 8291's worked example runs through the very function that encrypts every push.
//!
//! `encryption` builds the body, `vapid` the Authorization header, and this module the
//! request and what its answer means for the subscription.

mod encryption;
mod vapid;

use std::fmt::Write as _;
use std::time::Duration;

use base64::alphabet::URL_SAFE;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

pub use encryption::{MAX_PAYLOAD, Subscription, encrypt};
pub use vapid::VapidKeys;

/// How much of a failed response's body is kept for the error message.
const MAX_ERROR_BODY: usize = 512;

/// Subscription keys are base64url; browsers omit the padding, but a few client libraries
/// keep it, and both decode to the same key.
const LENIENT_BASE64URL: GeneralPurpose = GeneralPurpose::new(
    &URL_SAFE,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Why a push could not be built.
#[derive(Debug, thiserror::Error)]
pub enum WebPushError {
    #[error("the VAPID private key is not a base64url PKCS#8 P-256 key: {0}")]
    InvalidVapidKey(String),
    #[error("the subscription's p256dh key is invalid: {0}")]
    InvalidP256dh(&'static str),
    #[error("the subscription's auth secret is invalid: {0}")]
    InvalidAuth(&'static str),
    #[error("the push endpoint {0:?} is not an http(s) URL with a host")]
    InvalidEndpoint(String),
    #[error("the VAPID subject must be a mailto: or https: URL, not {0:?}")]
    InvalidSubject(String),
    #[error("the payload is {len} bytes; Web Push carries at most {MAX_PAYLOAD}")]
    PayloadTooLarge { len: usize },
    #[error("the Topic must be 1 to 32 base64url characters, not {0:?}")]
    InvalidTopic(String),
    #[error("the Urgency must be very-low, low, normal or high, not {0:?}")]
    InvalidUrgency(String),
    #[error("the system clock is before 1970")]
    Clock,
    #[error("a cryptographic operation failed unexpectedly")]
    Crypto,
}

/// The error of every aws-lc-rs call that cannot fail on valid input.
fn crypto<E>(_: E) -> WebPushError {
    WebPushError::Crypto
}

/// What the push service said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PushOutcome {
    /// 2xx: the push service took the message.
    Delivered,
    /// 404 or 410: the subscription is dead; remove it.
    Gone,
    /// 408, 429, 5xx, timeouts and connection errors: try again later, no sooner than
    /// `retry_after` when the service said so.
    Retry {
        error: String,
        retry_after: Option<Duration>,
    },
    /// Any other answer, or a push that could not be built: a permanent failure.
    Rejected { error: String },
}

/// Sends one push: POST to the endpoint with the encrypted payload and the headers of
/// RFC 8030 (TTL, Urgency, Topic) and RFC 8292 (Authorization). `urgency` is one of
/// very-low, low, normal, high; `topic`, which replaces an undelivered push with the same
/// topic, is at most 32 base64url characters. The time limit is the client's: build it
/// with a timeout, and one that expires comes back as `Retry`.
#[allow(clippy::too_many_arguments)]
pub async fn send(
    client: &reqwest::Client,
    keys: &VapidKeys,
    subject: &str,
    sub: &Subscription,
    payload: &[u8],
    ttl_secs: u32,
    urgency: &str,
    topic: Option<&str>,
) -> PushOutcome {
    let request = match build_request(
        client, keys, subject, sub, payload, ttl_secs, urgency, topic,
    ) {
        Ok(request) => request,
        Err(e) => {
            return PushOutcome::Rejected {
                error: e.to_string(),
            };
        }
    };
    match request.send().await {
        Ok(response) => outcome(response).await,
        Err(e) if e.is_builder() => PushOutcome::Rejected {
            error: e.to_string(),
        },
        Err(e) => PushOutcome::Retry {
            error: error_chain(&e),
            retry_after: None,
        },
    }
}

#[allow(clippy::too_many_arguments)]
fn build_request(
    client: &reqwest::Client,
    keys: &VapidKeys,
    subject: &str,
    sub: &Subscription,
    payload: &[u8],
    ttl_secs: u32,
    urgency: &str,
    topic: Option<&str>,
) -> Result<reqwest::RequestBuilder, WebPushError> {
    let endpoint = url::Url::parse(&sub.endpoint)
        .map_err(|_| WebPushError::InvalidEndpoint(sub.endpoint.clone()))?;
    if !matches!(urgency, "very-low" | "low" | "normal" | "high") {
        return Err(WebPushError::InvalidUrgency(urgency.to_owned()));
    }
    if let Some(topic) = topic {
        let base64url = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
        if topic.is_empty() || topic.len() > 32 || !topic.chars().all(base64url) {
            return Err(WebPushError::InvalidTopic(topic.to_owned()));
        }
    }
    let authorization = keys.authorization(&endpoint, subject)?;
    let body = encrypt(sub, payload)?;
    let mut request = client
        .post(endpoint)
        .header("Content-Encoding", "aes128gcm")
        .header("Content-Type", "application/octet-stream")
        .header("TTL", ttl_secs.to_string())
        .header("Urgency", urgency)
        .header("Authorization", authorization)
        .body(body);
    if let Some(topic) = topic {
        request = request.header("Topic", topic);
    }
    Ok(request)
}

async fn outcome(response: reqwest::Response) -> PushOutcome {
    let status = response.status();
    if status.is_success() {
        return PushOutcome::Delivered;
    }
    let retry_after = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs);
    let error = format!("{status}: {}", error_body(response).await);
    match status.as_u16() {
        404 | 410 => PushOutcome::Gone,
        408 | 429 | 500..=599 => PushOutcome::Retry { error, retry_after },
        _ => PushOutcome::Rejected { error },
    }
}

/// The start of a failed response's body: push services explain refusals there, and the
/// endpoint is the subscriber's choice, so it is read only up to a bound.
async fn error_body(mut response: reqwest::Response) -> String {
    let mut body = Vec::new();
    while body.len() < MAX_ERROR_BODY {
        match response.chunk().await {
            Ok(Some(chunk)) => body.extend_from_slice(&chunk),
            Ok(None) | Err(_) => break,
        }
    }
    body.truncate(MAX_ERROR_BODY);
    String::from_utf8_lossy(&body).trim().to_owned()
}

/// reqwest's top-level message is "error sending request"; the cause says what happened.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let _ = write!(message, ": {cause}");
        source = cause.source();
    }
    message
}

#[cfg(test)]
mod tests {
    use axum::extract::Path;
    use axum::http::{HeaderMap, StatusCode};

    use super::*;

    /// A subscription with RFC 8291 Appendix A's user agent keys.
    fn subscription(endpoint: String) -> Subscription {
        Subscription {
            endpoint,
            p256dh: "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4".into(),
            auth: "BTBZMqHH6r4Tts7J_aSIgg".into(),
        }
    }

    async fn attempt(
        sub: &Subscription,
        urgency: &str,
        topic: Option<&str>,
        payload: &[u8],
    ) -> PushOutcome {
        let keys = VapidKeys::generate().unwrap();
        let client = reqwest::Client::new();
        send(
            &client,
            &keys,
            "mailto:a@example.com",
            sub,
            payload,
            60,
            urgency,
            topic,
        )
        .await
    }

    /// Answers `/{status}` with that status, and a Retry-After of 7 seconds on 429.
    async fn answering_service() -> String {
        let answer = |Path(status): Path<u16>, headers: HeaderMap| async move {
            assert_eq!(headers["content-encoding"], "aes128gcm");
            let status = StatusCode::from_u16(status).unwrap();
            let retry_after = if status == StatusCode::TOO_MANY_REQUESTS {
                "7"
            } else {
                "soon"
            };
            (
                status,
                [("retry-after", retry_after)],
                "the service's reason",
            )
        };
        let app = axum::Router::new().route("/{status}", axum::routing::post(answer));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let origin = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        origin
    }

    #[tokio::test]
    async fn statuses_map_to_outcomes() {
        let origin = answering_service().await;
        let outcome = |status: u16| {
            let sub = subscription(format!("{origin}/{status}"));
            async move { attempt(&sub, "normal", None, b"{}").await }
        };
        for status in [200, 201, 202] {
            assert_eq!(outcome(status).await, PushOutcome::Delivered);
        }
        for status in [404, 410] {
            assert_eq!(outcome(status).await, PushOutcome::Gone);
        }
        let retry = |error: &str, after: Option<u64>| PushOutcome::Retry {
            error: error.to_owned(),
            retry_after: after.map(Duration::from_secs),
        };
        assert_eq!(
            outcome(429).await,
            retry("429 Too Many Requests: the service's reason", Some(7))
        );
        // An HTTP-date or other non-number Retry-After is ignored.
        assert_eq!(
            outcome(503).await,
            retry("503 Service Unavailable: the service's reason", None)
        );
        for status in [400, 401, 403, 413] {
            let outcome = outcome(status).await;
            assert!(
                matches!(outcome, PushOutcome::Rejected { .. }),
                "{status}: {outcome:?}"
            );
        }
    }

    #[tokio::test]
    async fn a_service_that_does_not_answer_in_time_is_retried() {
        let slow = || async {
            tokio::time::sleep(Duration::from_secs(30)).await;
            StatusCode::CREATED
        };
        let app = axum::Router::new().route("/push", axum::routing::post(slow));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let sub = subscription(format!("http://{}/push", listener.local_addr().unwrap()));
        tokio::spawn(async move { axum::serve(listener, app).await });
        let client = reqwest::Client::builder()
            .timeout(Duration::from_millis(200))
            .build()
            .unwrap();
        let keys = VapidKeys::generate().unwrap();
        let outcome = send(
            &client,
            &keys,
            "mailto:a@example.com",
            &sub,
            b"{}",
            60,
            "low",
            None,
        )
        .await;
        assert!(
            matches!(&outcome, PushOutcome::Retry { retry_after: None, error } if error.contains("timed out")),
            "{outcome:?}"
        );
    }

    #[tokio::test]
    async fn an_unreachable_service_is_retried() {
        // A port that was free a moment ago: the connection is refused.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let sub = subscription(format!("http://{}/push", listener.local_addr().unwrap()));
        drop(listener);
        let outcome = attempt(&sub, "high", Some("channel_C1"), b"{}").await;
        assert!(
            matches!(&outcome, PushOutcome::Retry { retry_after: None, error } if error.contains("onnect")),
            "{outcome:?}"
        );
    }

    #[tokio::test]
    async fn what_cannot_be_sent_is_rejected_without_a_request() {
        // Nothing listens here, so a request would come back as Retry, not Rejected.
        let sub = subscription("http://127.0.0.1:9/push".into());
        let rejected = |outcome: PushOutcome| matches!(outcome, PushOutcome::Rejected { .. });
        assert!(rejected(attempt(&sub, "urgent", None, b"{}").await));
        assert!(rejected(
            attempt(&sub, "high", Some("has space"), b"{}").await
        ));
        let long_topic = "a-topic-that-is-longer-than-32-chars";
        assert!(rejected(
            attempt(&sub, "high", Some(long_topic), b"{}").await
        ));
        assert!(rejected(
            attempt(&sub, "high", None, &[0; MAX_PAYLOAD + 1]).await
        ));
        let bad_endpoint = subscription("not a url".into());
        assert!(rejected(attempt(&bad_endpoint, "high", None, b"{}").await));
        let bad_key = Subscription {
            p256dh: "BAAA".into(),
            ..sub
        };
        let outcome = attempt(&bad_key, "high", None, b"{}").await;
        assert_eq!(
            outcome,
            PushOutcome::Rejected {
                error: "the subscription's p256dh key is invalid: not a 65-byte uncompressed P-256 point".into()
            }
        );
    }
}
