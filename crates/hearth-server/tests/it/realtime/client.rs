//! `WsClient`: a test client of `GET /api/v1/realtime` that speaks the JSON frames and
//! checks, on every event it reads, the one rule every connection keeps: seqs strictly
//! increase (no duplicate, no reordering), across replay and live alike.

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::handshake::client::Request;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream, client_async, connect_async};

use crate::support::{Session, TestApp};

/// How long a frame the test expects may take to arrive.
pub const WAIT: Duration = Duration::from_secs(5);

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// What reading the socket gave.
#[derive(Debug)]
pub enum Incoming {
    Frame(Value),
    /// The server closed the connection: its close code, or `None` when the socket
    /// ended without a close frame.
    Closed(Option<u16>),
    /// Nothing arrived in time.
    Silent,
}

pub struct WsClient {
    socket: Socket,
    /// The seq of the newest event read on this connection.
    pub last_seq: Option<i64>,
    /// The exact text of the newest frame read, for byte-for-byte comparisons.
    pub last_raw: String,
}

/// The `ws://` URL of the gateway.
pub fn realtime_url(app: &TestApp) -> String {
    format!("ws://{}/api/v1/realtime", app.addr)
}

/// The upgrade request, to add headers (cookies, `Origin`) to.
pub fn upgrade_request(app: &TestApp) -> Request {
    realtime_url(app)
        .into_client_request()
        .expect("a valid request")
}

impl WsClient {
    fn new(socket: Socket) -> Self {
        Self {
            socket,
            last_seq: None,
            last_raw: String::new(),
        }
    }

    /// An upgraded socket, not yet authenticated.
    pub async fn connect(app: &TestApp) -> Self {
        let (socket, _) = connect_async(realtime_url(app)).await.expect("upgrade");
        Self::new(socket)
    }

    /// The upgrade of a hand-built request; the error when the server refuses it.
    pub async fn connect_request(request: impl IntoClientRequest + Unpin) -> Result<Self, WsError> {
        let (socket, _) = connect_async(request).await?;
        Ok(Self::new(socket))
    }

    /// An upgraded socket whose kernel receive buffer is tiny, so that a client that
    /// stops reading backs up into the server's queue after a few frames rather than
    /// after megabytes of loopback buffering.
    pub async fn connect_small_buffer(app: &TestApp) -> Self {
        let tcp = TcpSocket::new_v4().expect("socket");
        tcp.set_recv_buffer_size(4096).expect("SO_RCVBUF");
        let stream = tcp.connect(app.addr).await.expect("connect");
        let (socket, _) = client_async(realtime_url(app), MaybeTlsStream::Plain(stream))
            .await
            .expect("upgrade");
        Self::new(socket)
    }

    /// Connects and signs in as `s`; returns the client and its `hello`.
    pub async fn open(app: &TestApp, s: &Session) -> (Self, Value) {
        let mut client = Self::connect(app).await;
        let hello = client.auth(&s.token, None).await;
        assert_eq!(hello["user_id"], s.user_id.as_str());
        (client, hello)
    }

    /// Connects as `s`, resuming after `resume_from`; returns the client and its `hello`.
    /// The replay follows.
    pub async fn resume(app: &TestApp, s: &Session, resume_from: i64) -> (Self, Value) {
        let mut client = Self::connect(app).await;
        let hello = client.auth(&s.token, Some(resume_from)).await;
        assert_eq!(hello["user_id"], s.user_id.as_str());
        (client, hello)
    }

    /// Sends the `auth` frame and expects `hello`.
    pub async fn auth(&mut self, token: &str, resume_from: Option<i64>) -> Value {
        let mut frame = json!({"op": "auth", "token": token});
        if let Some(seq) = resume_from {
            frame["resume_from"] = json!(seq);
        }
        self.send_json(frame).await;
        let hello = self.expect("hello").await;
        assert!(hello["last_seq"].is_i64(), "{hello}");
        assert!(hello["heartbeat_ms"].as_u64().unwrap() > 0, "{hello}");
        hello
    }

    pub async fn send_json(&mut self, frame: Value) {
        self.send(Message::text(frame.to_string())).await;
    }

    pub async fn send(&mut self, message: Message) {
        self.socket.send(message).await.expect("send a frame");
    }

    /// Sends a frame and tolerates a socket the server already closed.
    pub async fn try_send(&mut self, message: Message) -> bool {
        self.socket.send(message).await.is_ok()
    }

    /// Reads the next frame, waiting at most `wait`.
    pub async fn next(&mut self, wait: Duration) -> Incoming {
        loop {
            let read = match tokio::time::timeout(wait, self.socket.next()).await {
                Err(_) => return Incoming::Silent,
                Ok(read) => read,
            };
            let message = match read {
                None | Some(Err(_)) => return Incoming::Closed(None),
                Some(Ok(message)) => message,
            };
            match message {
                Message::Text(text) => {
                    let frame: Value = serde_json::from_str(text.as_str())
                        .unwrap_or_else(|e| panic!("a non-JSON frame ({e}): {text}"));
                    if frame["type"] == "event" {
                        self.check_seq(&frame);
                    }
                    self.last_raw = text.as_str().to_owned();
                    return Incoming::Frame(frame);
                }
                Message::Close(frame) => return Incoming::Closed(frame.map(|f| f.code.into())),
                // tungstenite answers pings itself.
                Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => {}
                Message::Binary(_) => panic!("the server sent a binary frame"),
            }
        }
    }

    fn check_seq(&mut self, frame: &Value) {
        let seq = frame["seq"]
            .as_i64()
            .unwrap_or_else(|| panic!("an event without a seq: {frame}"));
        if let Some(last) = self.last_seq {
            assert!(
                seq > last,
                "event seq {seq} after {last} on the same connection: {frame}"
            );
        }
        self.last_seq = Some(seq);
    }

    /// The next frame, which must arrive within [`WAIT`].
    pub async fn recv(&mut self) -> Value {
        match self.next(WAIT).await {
            Incoming::Frame(frame) => frame,
            other => panic!("expected a frame, got {other:?}"),
        }
    }

    /// The next frame, which must be of `type`.
    pub async fn expect(&mut self, kind: &str) -> Value {
        let frame = self.recv().await;
        assert_eq!(frame["type"], kind, "unexpected frame: {frame}");
        frame
    }

    /// The next frame, which must be an event of `kind`.
    pub async fn expect_event(&mut self, kind: &str) -> Value {
        let frame = self.expect("event").await;
        assert_eq!(frame["event"]["kind"], kind, "unexpected event: {frame}");
        frame
    }

    /// Every frame until (and including) the event at `seq`; each must be an event. A
    /// fence: what the server would have sent before `seq` has been read by then.
    pub async fn events_through(&mut self, seq: i64) -> Vec<Value> {
        let mut events = Vec::new();
        loop {
            let frame = self.expect("event").await;
            let at = frame["seq"].as_i64().unwrap();
            events.push(frame);
            if at >= seq {
                assert_eq!(at, seq, "the fence event was skipped: {events:?}");
                return events;
            }
        }
    }

    /// Asserts that nothing arrives for `quiet`.
    pub async fn expect_silence(&mut self, quiet: Duration) {
        match self.next(quiet).await {
            Incoming::Silent => {}
            other => panic!("expected silence, got {other:?}"),
        }
    }

    /// Reads until the server closes the connection, within `wait`; returns the close
    /// code and the frames read before it.
    pub async fn expect_close(&mut self, wait: Duration) -> (Option<u16>, Vec<Value>) {
        let deadline = tokio::time::Instant::now() + wait;
        let mut frames = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.next(left).await {
                Incoming::Frame(frame) => frames.push(frame),
                Incoming::Closed(code) => return (code, frames),
                Incoming::Silent => panic!("still open after {wait:?}; read {frames:?}"),
            }
        }
    }

    /// Asserts that the server closes with `code` within [`WAIT`], with nothing but
    /// `allowed` frame types before it.
    pub async fn expect_closed_with(&mut self, code: u16, allowed: &[&str]) {
        let (got, frames) = self.expect_close(WAIT).await;
        assert_eq!(got, Some(code), "close code; frames before: {frames:?}");
        for frame in &frames {
            let kind = frame["type"].as_str().unwrap_or_default();
            assert!(
                allowed.contains(&kind),
                "unexpected {frame} before the close"
            );
        }
    }

    /// Closes the connection from the client's side, as a client going away does.
    pub async fn close(mut self) {
        let _ = self.socket.close(None).await;
    }
}
