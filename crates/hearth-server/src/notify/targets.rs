//! Which endpoints a push target may name, and the HTTP client that reaches them.
//!
//! A push target is a URL a user gives us and our server then POSTs to: without limits,
//! anyone could make the server send requests into its own network (SSRF). So by default
//! an endpoint must be `https://` and must not resolve to a loopback, private,
//! link-local or otherwise non-public address; this is checked when it is registered
//! (for literal addresses and `localhost`) and again at every connection (the client's
//! resolver drops such addresses, so a name that later resolves inward reaches nothing).
//! `allow_private` lifts both rules, for installations whose push relays live on their own
//! network, and for tests on loopback.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use hearth_core::value::ValidationError;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// The longest endpoint URL accepted.
const MAX_ENDPOINT: usize = 2_048;

/// What push target endpoints may be.
#[derive(Debug, Clone, Copy, Default)]
pub struct TargetRules {
    /// Allow `http://` and non-public addresses.
    pub allow_private: bool,
}

/// Checks an endpoint given by a user.
pub fn validate_endpoint(endpoint: &str, rules: TargetRules) -> Result<url::Url, ValidationError> {
    let invalid = |why: &str| ValidationError::new("invalid_endpoint", why.to_owned());
    if endpoint.len() > MAX_ENDPOINT {
        return Err(invalid("the endpoint URL is too long"));
    }
    let url = url::Url::parse(endpoint).map_err(|_| invalid("the endpoint must be a URL"))?;
    match url.scheme() {
        "https" => {}
        "http" if rules.allow_private => {}
        _ => return Err(invalid("the endpoint must be an https:// URL")),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid("the endpoint must not carry credentials"));
    }
    let public = match url.host() {
        None => return Err(invalid("the endpoint must name a host")),
        Some(url::Host::Ipv4(ip)) => is_public(IpAddr::V4(ip)),
        Some(url::Host::Ipv6(ip)) => is_public(IpAddr::V6(ip)),
        Some(url::Host::Domain(name)) => {
            let name = name.trim_end_matches('.').to_ascii_lowercase();
            name != "localhost" && !name.ends_with(".localhost")
        }
    };
    if !public && !rules.allow_private {
        return Err(invalid("the endpoint must be a public address"));
    }
    Ok(url)
}

/// Whether an address is on the public internet.
fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_documentation()
                || v4.is_multicast()
                || a == 0
                || (a == 100 && (64..128).contains(&b)))
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80)
        }
    }
}

/// Resolves names as the system does, then drops non-public addresses.
struct PublicOnly;

impl Resolve for PublicOnly {
    fn resolve(&self, name: Name) -> Resolving {
        Box::pin(async move {
            let host = format!("{}:0", name.as_str());
            let found: Vec<SocketAddr> = tokio::net::lookup_host(host)
                .await?
                .filter(|addr| is_public(addr.ip()))
                .collect();
            if found.is_empty() {
                return Err("the name resolves to no public address".into());
            }
            Ok(Box::new(found.into_iter()) as Addrs)
        })
    }
}

/// The client every push and webhook goes through: bounded time, no redirects (a
/// redirect could lead inward), and, unless `allow_private`, public addresses only.
pub fn http_client(rules: TargetRules, timeout: Duration) -> reqwest::Client {
    let mut builder = reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("Hearth/", env!("CARGO_PKG_VERSION")));
    if !rules.allow_private {
        builder = builder.dns_resolver(Arc::new(PublicOnly));
    }
    builder.build().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_must_be_public_https_by_default() {
        let strict = TargetRules::default();
        assert!(validate_endpoint("https://push.example.com/abc", strict).is_ok());
        for bad in [
            "http://push.example.com/abc",
            "https://127.0.0.1/x",
            "https://10.1.2.3/x",
            "https://192.168.0.1/x",
            "https://169.254.169.254/latest",
            "https://[::1]/x",
            "https://[fd00::1]/x",
            "https://localhost:8080/x",
            "https://user:pw@push.example.com/",
            "ftp://push.example.com/",
            "not a url",
        ] {
            let err = validate_endpoint(bad, strict).unwrap_err();
            assert_eq!(err.code, "invalid_endpoint", "{bad}");
        }
        let open = TargetRules {
            allow_private: true,
        };
        assert!(validate_endpoint("http://127.0.0.1:9999/hook", open).is_ok());
    }
}
