//! The SMTP client: [`Mailer::send`] delivers one digest over a pooled connection.
//!
//! Why not lettre's `AsyncSmtpTransport` pool: its async client bounds only the TCP
//! connect, so a server that stops answering would hold a send forever, and cancelling a
//! send from outside (a `tokio::time::timeout`) hands the half-used connection back to
//! its pool, where the next send could write its commands into the previous message's
//! data. Here every step has its own timeout, and a connection goes back to the pool
//! only after a send that completed; any failure or timeout drops it.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use lettre::message::Mailbox;
use lettre::transport::smtp::Error as SmtpError;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{AsyncSmtpConnection, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use tokio::time::timeout;

use super::settings::TlsMode;
use super::{Digest, EmailError, SmtpSettings, render};

/// How long connecting (TCP, TLS, greeting, `EHLO`, `STARTTLS`, `AUTH`) may take, and
/// how long one message's transaction may take. A digest is a few kilobytes.
const TIMEOUT: Duration = Duration::from_secs(10);
/// Idle connections kept for the next sends.
const MAX_IDLE: usize = 4;
/// An idle connection older than this is not reused: servers close idle clients (RFC
/// 5321 asks them to wait at least five minutes; many wait less).
const MAX_IDLE_AGE: Duration = Duration::from_secs(60);

/// Why a digest was not sent.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct SendError {
    /// Sending this email again cannot succeed (a 5xx reply, an invalid address): the
    /// caller should dead-letter it. Otherwise (connection refused, a timeout, a 4xx
    /// reply, a TLS failure) it may succeed later. A timeout after the data was sent is
    /// transient too although the server may have delivered it: a resend carries the
    /// same `Message-ID`.
    pub permanent: bool,
    /// What happened, for logs and the dead-letter list; never holds the password.
    pub message: String,
}

/// Sends digests over a few reused connections to one SMTP server. Cheap to share: put
/// it in an `Arc`.
pub struct Mailer {
    host: String,
    port: u16,
    tls: TlsMode,
    /// Built once: it holds the certificate verifier.
    tls_parameters: Option<TlsParameters>,
    credentials: Option<Credentials>,
    hello: ClientId,
    from: Mailbox,
    /// Connections whose last send succeeded, most recent last. A std mutex: it is
    /// never held across an await.
    idle: Mutex<Vec<Idle>>,
}

struct Idle {
    connection: AsyncSmtpConnection,
    since: Instant,
}

impl Mailer {
    /// Connects lazily: nothing happens on the network until the first send.
    pub fn new(settings: &SmtpSettings) -> Result<Self, EmailError> {
        let tls_parameters = match settings.tls {
            TlsMode::None => None,
            TlsMode::StartTls | TlsMode::Tls => Some(
                TlsParameters::new(settings.host.clone())
                    .map_err(|e| EmailError::Tls(error_chain(&e)))?,
            ),
        };
        Ok(Self {
            host: settings.host.clone(),
            port: settings.port,
            tls: settings.tls,
            tls_parameters,
            credentials: settings
                .credentials
                .as_ref()
                .map(|(user, password)| Credentials::new(user.clone(), password.clone())),
            hello: ClientId::default(),
            from: settings.from.clone(),
            idle: Mutex::new(Vec::new()),
        })
    }

    /// Sends one email; see [`SendError::permanent`] for what to do when it fails.
    pub async fn send(&self, digest: &Digest) -> Result<(), SendError> {
        let message = render::message(&self.from, digest).map_err(SendError::permanent)?;
        let mut connection = self.connection().await?;
        match timeout(
            TIMEOUT,
            connection.send(message.envelope(), &message.formatted()),
        )
        .await
        {
            Ok(Ok(_)) => {
                self.park(connection);
                Ok(())
            }
            Ok(Err(e)) => Err(self.failure(&e, true)),
            Err(_) => Err(self.timed_out("sending the message")),
        }
    }

    /// A live idle connection, or a new one.
    async fn connection(&self) -> Result<AsyncSmtpConnection, SendError> {
        loop {
            let Some(idle) = self.idle.lock().unwrap().pop() else {
                break;
            };
            if idle.since.elapsed() > MAX_IDLE_AGE {
                continue;
            }
            let mut connection = idle.connection;
            // NOOP: the server may have closed it meanwhile.
            if let Ok(true) = timeout(TIMEOUT, connection.test_connected()).await {
                return Ok(connection);
            }
        }
        match timeout(TIMEOUT, self.connect()).await {
            Ok(Ok(connection)) => Ok(connection),
            Ok(Err(e)) => Err(self.failure(&e, false)),
            Err(_) => Err(self.timed_out("connecting")),
        }
    }

    async fn connect(&self) -> Result<AsyncSmtpConnection, SmtpError> {
        let implicit_tls = match self.tls {
            TlsMode::Tls => self.tls_parameters.clone(),
            TlsMode::None | TlsMode::StartTls => None,
        };
        let server = (self.host.as_str(), self.port);
        let mut connection = AsyncSmtpConnection::connect_tokio1(
            server,
            Some(TIMEOUT),
            &self.hello,
            implicit_tls,
            None,
        )
        .await?;
        if let (TlsMode::StartTls, Some(parameters)) = (self.tls, &self.tls_parameters) {
            // Fails when the server does not offer STARTTLS: never a fallback to plaintext.
            connection.starttls(parameters.clone(), &self.hello).await?;
        }
        if let Some(credentials) = &self.credentials {
            connection
                .auth(&[Mechanism::Plain, Mechanism::Login], credentials)
                .await?;
        }
        Ok(connection)
    }

    /// Keeps a connection whose send succeeded, and forgets those too old to reuse.
    fn park(&self, connection: AsyncSmtpConnection) {
        let mut idle = self.idle.lock().unwrap();
        idle.retain(|parked| parked.since.elapsed() <= MAX_IDLE_AGE);
        if idle.len() < MAX_IDLE {
            idle.push(Idle {
                connection,
                since: Instant::now(),
            });
        }
    }

    /// A 5xx reply is permanent, a 4xx reply transient. Anything else (the network, TLS,
    /// a garbled reply) is transient, except lettre's own refusal to send this message
    /// (an address that needs SMTPUTF8 the server lacks): the same email would meet it
    /// again.
    fn failure(&self, error: &SmtpError, sending: bool) -> SendError {
        let permanent = error.is_permanent() || (sending && error.is_client());
        SendError {
            permanent,
            message: format!("SMTP {}:{}: {}", self.host, self.port, error_chain(error)),
        }
    }

    fn timed_out(&self, doing: &str) -> SendError {
        SendError {
            permanent: false,
            message: format!(
                "SMTP {}:{}: timed out {doing} (after {TIMEOUT:?})",
                self.host, self.port
            ),
        }
    }
}

impl SendError {
    fn permanent(message: String) -> Self {
        Self {
            permanent: true,
            message,
        }
    }
}

/// The error and its causes on one line ("Connection error: Connection refused").
fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests;
