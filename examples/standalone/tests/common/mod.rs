//! What the standalone server's integration tests share: a REST call, a
//! WebSocket client, and the server binary run as a real child process (for
//! the tests that kill it, stall it or churn it).

#![allow(dead_code, unreachable_pub)]

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// How long a test waits for one event or answer.
pub const WAIT: Duration = Duration::from_secs(20);

/// One REST call as `user` (demo auth: the token is the user id).
pub async fn call(
    method: reqwest::Method,
    base: &str,
    user: &str,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let client = reqwest::Client::builder().timeout(WAIT).build().unwrap();
    let mut request = client
        .request(method, format!("http://{base}{path}"))
        .bearer_auth(user);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// Opens (or gets) the direct conversation of `user` and `other`; its id.
pub async fn open_direct(base: &str, user: &str, other: &str) -> String {
    let path = format!("/direct/{other}");
    let (status, direct) = call(reqwest::Method::PUT, base, user, &path, None).await;
    assert_eq!(status, 200, "{direct}");
    direct["id"].as_str().unwrap().to_owned()
}

/// One unlabelled value of the server's `GET /metrics`.
pub async fn metric(base: &str, name: &str) -> u64 {
    let text = reqwest::get(format!("http://{base}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' '))
        .unwrap_or_else(|| panic!("{name} missing: {text}"))
        .parse()
        .unwrap()
}

/// Every message of a conversation, read page by page as `user`.
pub async fn history(base: &str, user: &str, cid: &str) -> Vec<Value> {
    let mut messages = Vec::new();
    let mut after = 0;
    loop {
        let path = format!("/conversations/{cid}/messages?after={after}&limit=200");
        let (status, page) = call(reqwest::Method::GET, base, user, &path, None).await;
        assert_eq!(status, 200, "{page}");
        let batch = page["messages"].as_array().unwrap().clone();
        let Some(last) = batch.last() else {
            return messages;
        };
        after = last["seq"].as_u64().unwrap();
        messages.extend(batch);
    }
}

/// A WebSocket connection of one user.
pub struct Client {
    pub socket: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

impl Client {
    /// Connects as `user`.
    pub async fn connect(base: &str, user: &str) -> Self {
        let url = format!("ws://{base}/ws?token={user}");
        let (socket, _) = tokio_tungstenite::connect_async(url).await.unwrap();
        Self { socket }
    }

    /// Sends one JSON frame.
    pub async fn send(&mut self, frame: Value) {
        self.socket
            .send(Message::text(frame.to_string()))
            .await
            .unwrap();
    }

    /// The next JSON event; panics after [`WAIT`] without one (pings do not
    /// count) or when the socket ends.
    pub async fn next_event(&mut self) -> Value {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let frame = tokio::time::timeout_at(deadline, self.socket.next())
                .await
                .expect("timed out waiting for an event")
                .expect("socket ended")
                .expect("socket error");
            if let Message::Text(text) = frame {
                return serde_json::from_str(&text).unwrap();
            }
        }
    }

    /// The next event of `kind` (other events skipped).
    pub async fn next_of(&mut self, kind: &str) -> Value {
        loop {
            let event = self.next_event().await;
            if event["type"] == kind {
                return event;
            }
        }
    }

    /// The next message event's message (other events skipped).
    pub async fn next_message(&mut self) -> Value {
        loop {
            let event = self.next_event().await;
            if event["type"] == "message" {
                return event["message"].clone();
            }
        }
    }
}

/// The `standalone` binary running as a child process on a loopback port.
pub struct ServerProcess {
    pub base: String,
    child: Child,
}

impl ServerProcess {
    /// Starts the binary on the SQLite file `database` with `extra` flags and
    /// waits until `/health` answers 200.
    pub async fn start(database: &Path, extra: &[&str]) -> Self {
        // A free port: bind, read it, release it for the child.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let base = format!("127.0.0.1:{port}");
        let child = Command::new(env!("CARGO_BIN_EXE_standalone"))
            .args(["--bind", &base, "--log", "warn", "--database-url"])
            .arg(format!("sqlite://{}", database.display()))
            .args(extra)
            .stdin(Stdio::null())
            .spawn()
            .unwrap();
        let server = Self { base, child };
        server.wait_healthy().await;
        server
    }

    async fn wait_healthy(&self) {
        let url = format!("http://{}/health", self.base);
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            if let Ok(response) = reqwest::get(&url).await {
                if response.status() == 200 {
                    return;
                }
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "the server did not come up on {}",
                self.base
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// SIGKILL: no shutdown code runs.
    pub fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// SIGTERM, then waits for the exit; returns whether it exited cleanly.
    pub fn terminate(mut self) -> bool {
        // The shell's own `kill`: no procps needed.
        let status = Command::new("sh")
            .args(["-c", "kill -TERM \"$0\"", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        self.child.wait().unwrap().success()
    }

    /// Anonymous resident memory (heap and stacks, not mapped files), in KiB.
    pub fn rss_anon_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        status
            .lines()
            .find_map(|line| line.strip_prefix("RssAnon:"))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("RssAnon in /proc/<pid>/status")
    }

    /// One value of `GET /metrics`.
    pub async fn metric(&self, name: &str) -> u64 {
        metric(&self.base, name).await
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
