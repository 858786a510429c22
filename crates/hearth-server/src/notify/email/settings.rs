//! `--smtp-url` and `--smtp-from`: where to send email, how to secure the connection, and
//! whom it comes from.
//!
//! `smtp://[user[:password]@]host[:port][?tls=none|starttls|tls]`. Without `tls`, the
//! port decides: 587 is STARTTLS and 465 TLS (the two submission ports); any other port
//! is plaintext only on a loopback host (a local relay) and STARTTLS otherwise, so a
//! remote server is never spoken to in the clear unless `tls=none` says so. Without a
//! port, the mode decides: 25 for none, 587 for STARTTLS, 465 for TLS. `smtps://` is
//! `smtp://` with `tls=tls`. User and password are percent-decoded.

use std::fmt;
use std::net::IpAddr;

use lettre::message::Mailbox;
use percent_encoding::percent_decode_str;
use url::Url;

use super::EmailError;

/// How the connection to the SMTP server is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsMode {
    /// Plaintext throughout.
    None,
    /// Plaintext, then `STARTTLS`, which the server must offer (never a silent fallback
    /// to plaintext).
    StartTls,
    /// TLS from the first byte (implicit TLS, usually port 465).
    Tls,
}

/// Parsed SMTP settings. `Debug` hides the password.
#[derive(Clone)]
pub struct SmtpSettings {
    pub(super) host: String,
    pub(super) port: u16,
    pub(super) tls: TlsMode,
    /// User and password, for `AUTH`.
    pub(super) credentials: Option<(String, String)>,
    pub(super) from: Mailbox,
}

impl SmtpSettings {
    pub fn parse(url: &str, from: &str) -> Result<Self, EmailError> {
        let invalid = |reason: &str| EmailError::InvalidUrl(reason.to_owned());
        // Not `{e}` of the input: url's errors do not quote it, and ours must not either.
        let url = Url::parse(url).map_err(|e| EmailError::InvalidUrl(e.to_string()))?;
        let implicit_tls = match url.scheme() {
            "smtp" => false,
            "smtps" => true,
            _ => return Err(invalid("the scheme must be smtp:// (or smtps://)")),
        };
        // `smtp` is not a scheme the url crate knows, so IPv4 hosts stay text: parse here.
        let host = match url.host_str() {
            Some(host) if !host.is_empty() => host.trim_start_matches('[').trim_end_matches(']'),
            _ => return Err(invalid("no host")),
        };
        if !matches!(url.path(), "" | "/") || url.fragment().is_some() {
            return Err(invalid("a path or fragment means nothing here"));
        }

        let mut asked = None;
        for (key, value) in url.query_pairs() {
            if key != "tls" {
                return Err(EmailError::InvalidUrl(format!("unknown parameter {key:?}")));
            }
            if asked.is_some() {
                return Err(invalid("tls is given twice"));
            }
            asked = Some(match value.to_ascii_lowercase().as_str() {
                "none" => TlsMode::None,
                "starttls" => TlsMode::StartTls,
                "tls" => TlsMode::Tls,
                _ => return Err(invalid("tls must be none, starttls or tls")),
            });
        }
        if implicit_tls && asked.is_some_and(|mode| mode != TlsMode::Tls) {
            return Err(invalid("smtps:// is always tls"));
        }
        let loopback = is_loopback(host);
        let tls = match (asked, url.port()) {
            (Some(mode), _) => mode,
            _ if implicit_tls => TlsMode::Tls,
            (None, Some(587)) => TlsMode::StartTls,
            (None, Some(465)) => TlsMode::Tls,
            (None, _) if loopback => TlsMode::None,
            (None, _) => TlsMode::StartTls,
        };
        let port = url.port().unwrap_or(match tls {
            TlsMode::None => 25,
            TlsMode::StartTls => 587,
            TlsMode::Tls => 465,
        });

        let user = decode(url.username())?;
        let credentials = match (user.is_empty(), url.password()) {
            (true, None) => None,
            (true, Some(_)) => return Err(invalid("a password without a user")),
            (false, password) => Some((user, decode(password.unwrap_or(""))?)),
        };
        if credentials.is_some() && tls == TlsMode::None && !loopback {
            return Err(invalid(
                "refusing to send a password unencrypted to a remote host",
            ));
        }

        let from = from
            .parse::<Mailbox>()
            .map_err(|e| EmailError::InvalidFrom(e.to_string()))?;
        Ok(Self {
            host: host.to_owned(),
            port,
            tls,
            credentials,
            from,
        })
    }

    pub fn host(&self) -> &str {
        &self.host
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn tls(&self) -> TlsMode {
        self.tls
    }

    /// The `From:` of every email.
    pub fn from(&self) -> &Mailbox {
        &self.from
    }
}

impl fmt::Debug for SmtpSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpSettings")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls)
            .field("user", &self.credentials.as_ref().map(|(user, _)| user))
            .field("from", &self.from.to_string())
            .finish_non_exhaustive()
    }
}

fn is_loopback(host: &str) -> bool {
    match host.parse::<IpAddr>() {
        Ok(ip) => ip.is_loopback(),
        Err(_) => host.eq_ignore_ascii_case("localhost"),
    }
}

fn decode(text: &str) -> Result<String, EmailError> {
    percent_decode_str(text)
        .decode_utf8()
        .map(|decoded| decoded.into_owned())
        .map_err(|_| EmailError::InvalidUrl("the user or password is not UTF-8".to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(url: &str) -> Result<SmtpSettings, EmailError> {
        SmtpSettings::parse(url, "Hearth <hearth@example.com>")
    }

    fn endpoint(url: &str) -> (String, u16, TlsMode) {
        let settings = parse(url).unwrap();
        (settings.host, settings.port, settings.tls)
    }

    #[test]
    fn the_port_decides_the_tls_mode_when_none_is_asked() {
        let cases = [
            ("smtp://mail.example.com:587", 587, TlsMode::StartTls),
            ("smtp://mail.example.com:465", 465, TlsMode::Tls),
            ("smtp://mail.example.com:25", 25, TlsMode::StartTls),
            ("smtp://mail.example.com", 587, TlsMode::StartTls),
            ("smtp://127.0.0.1:2525", 2525, TlsMode::None),
            ("smtp://localhost", 25, TlsMode::None),
            ("smtp://[::1]:1025", 1025, TlsMode::None),
            ("smtp://127.0.0.1:587", 587, TlsMode::StartTls),
            ("smtps://mail.example.com", 465, TlsMode::Tls),
        ];
        for (url, port, tls) in cases {
            let (_, got_port, got_tls) = endpoint(url);
            assert_eq!((got_port, got_tls), (port, tls), "{url}");
        }
    }

    #[test]
    fn an_explicit_tls_mode_wins_and_picks_the_default_port() {
        assert_eq!(
            endpoint("smtp://mail.example.com:2525?tls=none").2,
            TlsMode::None
        );
        assert_eq!(endpoint("smtp://mail.example.com?tls=tls").1, 465);
        assert_eq!(endpoint("smtp://mail.example.com?tls=none").1, 25);
        assert_eq!(
            endpoint("smtp://127.0.0.1:1025?tls=STARTTLS").2,
            TlsMode::StartTls
        );
        assert_eq!(endpoint("smtp://[::1]:1025").0, "::1");
    }

    #[test]
    fn credentials_are_percent_decoded_and_never_shown() {
        let settings = parse("smtp://ada%40example.com:p%40ss%3Aw%2Frd@mail.example.com").unwrap();
        let (user, password) = settings.credentials.clone().unwrap();
        assert_eq!(
            (user.as_str(), password.as_str()),
            ("ada@example.com", "p@ss:w/rd")
        );
        let debug = format!("{settings:?}");
        assert!(
            debug.contains("ada@example.com") && !debug.contains("p@ss"),
            "{debug}"
        );
        assert!(
            parse("smtp://mail.example.com")
                .unwrap()
                .credentials
                .is_none()
        );
        assert_eq!(
            parse("smtp://ada@mail.example.com")
                .unwrap()
                .credentials
                .unwrap()
                .1,
            ""
        );
    }

    #[test]
    fn bad_urls_are_refused_without_echoing_them() {
        let bad = [
            "http://mail.example.com",
            "smtp://",
            "smtp:///",
            "mail.example.com:25",
            "smtp://mail.example.com:99999",
            "smtp://mail.example.com/path",
            "smtp://mail.example.com?tls=maybe",
            "smtp://mail.example.com?tls=tls&tls=none",
            "smtp://mail.example.com?security=tls",
            "smtps://mail.example.com?tls=starttls",
            "smtp://:secret@mail.example.com",
            "smtp://ada:secret@mail.example.com?tls=none",
        ];
        for url in bad {
            match parse(url) {
                Err(EmailError::InvalidUrl(reason)) => {
                    assert!(!reason.contains("secret"), "{url}: {reason}")
                }
                other => panic!("{url}: expected InvalidUrl, got {other:?}"),
            }
        }
        // A password in the clear is fine to a relay on this machine.
        assert!(parse("smtp://ada:secret@127.0.0.1:25?tls=none").is_ok());
    }

    #[test]
    fn the_sender_must_be_a_mailbox() {
        let settings = parse("smtp://localhost").unwrap();
        assert_eq!(settings.from().email.to_string(), "hearth@example.com");
        assert_eq!(settings.from().name.as_deref(), Some("Hearth"));
        assert!(SmtpSettings::parse("smtp://localhost", "hearth@example.com").is_ok());
        for from in ["", "Hearth", "Hearth <not an address>"] {
            assert!(
                matches!(
                    SmtpSettings::parse("smtp://localhost", from),
                    Err(EmailError::InvalidFrom(_))
                ),
                "{from:?}"
            );
        }
    }
}
