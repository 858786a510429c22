//! Webhook targets: the notification POSTed as JSON to a URL the user registered (a
//! UnifiedPush distributor, a mobile relay, an integration).
//!
//! The `X-Hearth-Notification-Id` header (and the body's `id`) name the notification, so a
//! receiver that answered too late for us to hear it, and gets it again, can drop it.

use reqwest::StatusCode;

use super::webpush::PushOutcome;

pub async fn send(
    client: &reqwest::Client,
    endpoint: &str,
    id: &str,
    body: Vec<u8>,
) -> PushOutcome {
    let response = client
        .post(endpoint)
        .header("content-type", "application/json")
        .header("x-hearth-notification-id", id)
        .body(body)
        .send()
        .await;
    let response = match response {
        Ok(response) => response,
        Err(e) => {
            return PushOutcome::Retry {
                error: format!("webhook unreachable: {e}"),
                retry_after: None,
            };
        }
    };
    let status = response.status();
    if status.is_success() {
        return PushOutcome::Delivered;
    }
    let error = format!("webhook answered {status}");
    match status {
        StatusCode::NOT_FOUND | StatusCode::GONE => PushOutcome::Gone,
        StatusCode::TOO_MANY_REQUESTS | StatusCode::REQUEST_TIMEOUT => PushOutcome::Retry {
            error,
            retry_after: retry_after(&response),
        },
        s if s.is_server_error() => PushOutcome::Retry {
            error,
            retry_after: retry_after(&response),
        },
        _ => PushOutcome::Rejected { error },
    }
}

fn retry_after(response: &reqwest::Response) -> Option<std::time::Duration> {
    let secs: u64 = response
        .headers()
        .get("retry-after")?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    Some(std::time::Duration::from_secs(secs.min(3600)))
}
