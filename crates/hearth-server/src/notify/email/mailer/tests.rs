//! The mailer against a scripted SMTP server on 127.0.0.1:0: how failures are sorted, and
//! that connections are reused only after a send that succeeded.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use chrono::Utc;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

use super::*;
use crate::notify::email::DigestMessage;

/// A minimal SMTP server: answers `RCPT` with `rcpt` and the end of data with `data`.
struct FakeServer {
    port: u16,
    connections: Arc<AtomicUsize>,
    messages: Arc<AtomicUsize>,
}

impl FakeServer {
    async fn start(rcpt: &'static str, data: &'static str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let connections = Arc::new(AtomicUsize::new(0));
        let messages = Arc::new(AtomicUsize::new(0));
        let (counted, delivered) = (connections.clone(), messages.clone());
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                counted.fetch_add(1, Ordering::SeqCst);
                let delivered = delivered.clone();
                tokio::spawn(async move {
                    let (read, mut write) = socket.into_split();
                    let mut lines = BufReader::new(read).lines();
                    write.write_all(b"220 fake ESMTP\r\n").await.unwrap();
                    let mut in_data = false;
                    while let Ok(Some(line)) = lines.next_line().await {
                        let reply = if in_data {
                            if line != "." {
                                continue;
                            }
                            in_data = false;
                            if data.starts_with('2') {
                                delivered.fetch_add(1, Ordering::SeqCst);
                            }
                            data
                        } else {
                            match line.get(..4).unwrap_or("").to_ascii_uppercase().as_str() {
                                "EHLO" | "HELO" | "MAIL" | "NOOP" | "RSET" => "250 OK",
                                "RCPT" => rcpt,
                                "DATA" => {
                                    in_data = true;
                                    "354 Go ahead"
                                }
                                "QUIT" => "221 Bye",
                                _ => "500 What?",
                            }
                        };
                        if write
                            .write_all(format!("{reply}\r\n").as_bytes())
                            .await
                            .is_err()
                        {
                            break;
                        }
                    }
                });
            }
        });
        Self {
            port,
            connections,
            messages,
        }
    }

    fn mailer(&self) -> Mailer {
        let url = format!("smtp://127.0.0.1:{}?tls=none", self.port);
        Mailer::new(&SmtpSettings::parse(&url, "Hearth <hearth@example.com>").unwrap()).unwrap()
    }
}

fn digest() -> Digest {
    Digest {
        to_name: "Grace Hopper".to_owned(),
        to_email: "grace@example.com".to_owned(),
        workspace_name: "Acme".to_owned(),
        conversation: "#general".to_owned(),
        messages: vec![DigestMessage {
            sender: "Ada".to_owned(),
            text: "hi".to_owned(),
            at: Utc::now(),
        }],
        more: 0,
        link: None,
        message_id: "<digest-D1@hearth>".to_owned(),
    }
}

#[tokio::test]
async fn a_connection_is_reused_after_a_successful_send() {
    let server = FakeServer::start("250 OK", "250 Queued").await;
    let mailer = server.mailer();
    for _ in 0..3 {
        mailer.send(&digest()).await.unwrap();
    }
    assert_eq!(server.messages.load(Ordering::SeqCst), 3);
    assert_eq!(server.connections.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_5xx_reply_is_permanent_and_the_connection_is_not_reused() {
    let server = FakeServer::start("550 5.1.1 No such user", "250 Queued").await;
    let mailer = server.mailer();
    for _ in 0..2 {
        let error = mailer.send(&digest()).await.unwrap_err();
        assert!(error.permanent, "{error}");
        assert!(
            error.message.contains("550") && error.message.contains("No such user"),
            "{error}"
        );
    }
    assert_eq!(server.connections.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_4xx_reply_is_transient() {
    let server = FakeServer::start("250 OK", "451 4.3.0 Try again later").await;
    let error = server.mailer().send(&digest()).await.unwrap_err();
    assert!(!error.permanent, "{error}");
    assert!(error.message.contains("451"), "{error}");
}

#[tokio::test]
async fn a_refused_connection_is_transient() {
    let port = {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        listener.local_addr().unwrap().port()
    };
    let url = format!("smtp://127.0.0.1:{port}");
    let mailer = Mailer::new(&SmtpSettings::parse(&url, "hearth@example.com").unwrap()).unwrap();
    let error = mailer.send(&digest()).await.unwrap_err();
    assert!(!error.permanent, "{error}");
    assert!(error.message.to_lowercase().contains("refused"), "{error}");
}

#[tokio::test(start_paused = true)]
async fn a_server_that_never_answers_times_out_as_transient() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    // Accepts, then says nothing.
    let silent = tokio::spawn(async move {
        let (_socket, _) = listener.accept().await.unwrap();
        std::future::pending::<()>().await;
    });
    let url = format!("smtp://127.0.0.1:{port}");
    let mailer = Mailer::new(&SmtpSettings::parse(&url, "hearth@example.com").unwrap()).unwrap();
    let error = mailer.send(&digest()).await.unwrap_err();
    assert!(!error.permanent, "{error}");
    assert!(error.message.contains("timed out"), "{error}");
    silent.abort();
}

#[tokio::test]
async fn an_invalid_address_is_permanent_without_touching_the_network() {
    let mailer =
        Mailer::new(&SmtpSettings::parse("smtp://127.0.0.1:9", "hearth@example.com").unwrap())
            .unwrap();
    let mut digest = digest();
    digest.to_email = "not an address".to_owned();
    let error = mailer.send(&digest).await.unwrap_err();
    assert!(error.permanent, "{error}");
    assert!(error.message.contains("recipient"), "{error}");
}

#[tokio::test]
async fn starttls_is_required_when_asked() {
    // The fake server does not offer STARTTLS: the mailer must not go on in plaintext.
    let server = FakeServer::start("250 OK", "250 Queued").await;
    let url = format!("smtp://127.0.0.1:{}?tls=starttls", server.port);
    let mailer = Mailer::new(&SmtpSettings::parse(&url, "hearth@example.com").unwrap()).unwrap();
    let error = mailer.send(&digest()).await.unwrap_err();
    assert!(error.message.to_lowercase().contains("starttls"), "{error}");
    assert_eq!(server.messages.load(Ordering::SeqCst), 0);
}

#[test]
fn a_mailer_can_be_shared_and_a_send_can_be_spawned() {
    fn shared<T: Send + Sync>() {}
    fn spawnable<T: Send>(_: &T) {}
    shared::<Mailer>();
    let mailer =
        Mailer::new(&SmtpSettings::parse("smtp://localhost", "h@example.com").unwrap()).unwrap();
    let digest = digest();
    spawnable(&mailer.send(&digest));
}
