//! What the standalone server's integration tests share: a REST call, a
//! WebSocket client, and the server binary run as a real child process (for
//! the tests that kill it, stall it or churn it).

#![allow(dead_code, unreachable_pub)]

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::io::AsyncBufReadExt;
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

/// Makes one request as each of `users`: the server's directory knows the
/// users who have signed in, and only those can be brought into a
/// conversation.
pub async fn sign_in(base: &str, users: &[&str]) {
    for user in users {
        let (status, body) = call(reqwest::Method::GET, base, user, "/conversations", None).await;
        assert_eq!(status, 200, "{user}: {body}");
    }
}

/// Opens (or gets) the direct conversation of `user` and `other` (signing
/// `other` in first); its id.
pub async fn open_direct(base: &str, user: &str, other: &str) -> String {
    sign_in(base, &[other]).await;
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
    /// Connects as `user` and waits for `ready`: every event from then
    /// on reaches this socket.
    pub async fn connect(base: &str, user: &str) -> Self {
        let url = format!("ws://{base}/ws?token={user}");
        let (socket, _) = tokio_tungstenite::connect_async(url).await.unwrap();
        let mut client = Self { socket };
        let ready = client.next_event().await;
        assert_eq!(ready["type"], "ready", "{ready}");
        client
    }

    /// Sends one JSON frame.
    pub async fn send(&mut self, frame: Value) {
        self.socket
            .send(Message::text(frame.to_string()))
            .await
            .unwrap();
    }

    /// The next JSON event but `presence` ones (which come whenever a
    /// contact connects or leaves); panics after [`WAIT`] without one (pings
    /// do not count) or when the socket ends.
    pub async fn next_event(&mut self) -> Value {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let frame = tokio::time::timeout_at(deadline, self.socket.next())
                .await
                .expect("timed out waiting for an event")
                .expect("socket ended")
                .expect("socket error");
            if let Message::Text(text) = frame {
                let event: Value = serde_json::from_str(&text).unwrap();
                if event["type"] != "presence" {
                    return event;
                }
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
    child: tokio::process::Child,
}

impl ServerProcess {
    /// Starts the binary on the SQLite file `database` with `extra` flags and
    /// waits until `/health` answers 200.
    pub async fn start(database: &Path, extra: &[&str]) -> Self {
        Self::launch(database, extra, "warn", Stdio::inherit()).await
    }

    /// Like [`ServerProcess::start`], logging at `level` into `log`.
    pub async fn start_logging(database: &Path, extra: &[&str], level: &str, log: &Path) -> Self {
        let file = std::fs::File::create(log).unwrap();
        Self::launch(database, extra, level, Stdio::from(file)).await
    }

    async fn launch(database: &Path, extra: &[&str], level: &str, stderr: Stdio) -> Self {
        // Port 0: the server picks a free port and prints where it listens,
        // so no other process can take the port between a probe and the bind.
        let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_standalone"))
            .args(["--bind", "127.0.0.1:0", "--log", level, "--database-url"])
            .arg(format!("sqlite://{}", database.display()))
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut lines = tokio::io::BufReader::new(stdout).lines();
        let line = tokio::time::timeout(WAIT, lines.next_line())
            .await
            .expect("the server did not say where it listens")
            .unwrap()
            .expect("the server exited before listening");
        let base = line
            .strip_prefix("listening on http://")
            .unwrap_or_else(|| panic!("unexpected first line: {line}"))
            .to_owned();
        // Keep reading stdout so the server never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        let server = Self { base, child };
        server.wait_healthy().await;
        server
    }

    /// Polls `/health` until it answers 200: readiness is a question the
    /// server answers, not an event it sends.
    async fn wait_healthy(&self) {
        let url = format!("http://{}/health", self.base);
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            if let Ok(response) = reqwest::get(&url).await
                && response.status() == 200
            {
                return;
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
    pub async fn kill(mut self) {
        self.child.kill().await.unwrap();
    }

    /// SIGTERM, then waits for the exit; returns whether it exited cleanly.
    pub async fn terminate(mut self) -> bool {
        self.signal_terminate();
        self.child.wait().await.unwrap().success()
    }

    /// Sends SIGTERM without waiting.
    pub fn signal_terminate(&self) {
        // The shell's own `kill`: no procps needed.
        let pid = self.child.id().expect("the server is running");
        let status = Command::new("sh")
            .args(["-c", "kill -TERM \"$0\"", &pid.to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// The exit status once the process has exited by itself within
    /// `within`, or `None` while it still runs after that.
    pub async fn exited_within(&mut self, within: Duration) -> Option<std::process::ExitStatus> {
        tokio::time::timeout(within, self.child.wait())
            .await
            .ok()
            .map(Result::unwrap)
    }

    /// Anonymous resident memory (heap and stacks, not mapped files), in KiB.
    pub fn rss_anon_kib(&self) -> u64 {
        let pid = self.child.id().expect("the server is running");
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
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
