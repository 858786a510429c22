//! The server's lifecycle: a graceful shutdown lets in-flight requests finish, and what
//! they committed is there when the database is opened again.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::{TestApp, TestData};

/// Reads until the end of the HTTP/1.1 head that `stream` sends next.
async fn read_head(stream: &mut TcpStream) -> String {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        let n = stream.read(&mut byte).await.expect("read");
        assert_eq!(
            n,
            1,
            "connection closed mid-head: {:?}",
            String::from_utf8_lossy(&head)
        );
        head.push(byte[0]);
    }
    String::from_utf8(head).expect("ASCII head")
}

#[tokio::test]
async fn shutdown_finishes_in_flight_requests_and_loses_nothing() {
    let data = TestData::new().await;
    let app = TestApp::spawn_on(&data).await;
    let owner = app.create_workspace("acme").await;
    let channel = app.create_channel(&owner, "general", false).await;
    let addr = app.addr;

    // Start a post by hand and hold its body back. `Expect: 100-continue` makes the
    // server say when the handler starts reading the body: from then on the request is
    // in flight.
    let body = br#"{"text": "sent during shutdown", "client_msg_id": "inflight-1"}"#;
    let head = format!(
        "POST /api/v1/channels/{channel}/messages HTTP/1.1\r\nHost: {addr}\r\n\
         Authorization: Bearer {}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nExpect: 100-continue\r\n\r\n",
        owner.token,
        body.len()
    );
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(head.as_bytes()).await.unwrap();
    let interim = read_head(&mut stream).await;
    assert!(interim.starts_with("HTTP/1.1 100"), "{interim}");

    // Shut down, and wait until the server stops accepting connections.
    let stopped = tokio::spawn(app.stop());
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(addr).await.is_ok() {
        assert!(
            Instant::now() < deadline,
            "the server kept accepting connections"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert!(
        !stopped.is_finished(),
        "shutdown waits for the request in flight"
    );

    // The request in flight still completes, and only then does the server stop.
    stream.write_all(body).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    assert!(response.starts_with("HTTP/1.1 201"), "{response}");
    let json_start = response.find("\r\n\r\n").unwrap() + 4;
    let message: serde_json::Value =
        serde_json::from_str(&response[json_start..]).expect("a JSON message");
    stopped.await.unwrap();

    // Everything acknowledged is there after a restart on the same database.
    let app = TestApp::spawn_on(&data).await;
    let id = message["id"].as_str().unwrap();
    let got = app
        .get(&owner, &format!("/api/v1/messages/{id}"))
        .await
        .ok();
    assert_eq!(got["text"], "sent during shutdown");
    let history = app.history(&owner, &channel, "").await;
    assert_eq!(history["messages"].as_array().unwrap().len(), 1);
    app.stop().await;
}
