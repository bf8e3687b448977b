//! The database goes away under a running server and comes back. The
//! server reaches MariaDB through a TCP proxy that the test cuts (every open
//! connection dropped, new ones refused) and restores on the same port,
//! which is what a node sees when its database host dies or is partitioned.
//! Promises checked: a send fails with 503 `unavailable`, `retryable: true`
//! (REST and socket alike) within the pool's acquire timeout; nothing is
//! published for the unsaved message; `/health` says the store is down; the
//! server recovers by itself, and the retried send takes the next seq.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Instant;

use chat_store_mysql::testing::TestDatabase;
use clap::Parser;
use common::{Client, call};
use serde_json::json;
use standalone::app;
use standalone::config::Cli;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// A TCP proxy to `upstream` that can be cut and restored.
struct Proxy {
    port: u16,
    upstream: String,
    accept: Option<JoinHandle<()>>,
    links: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

impl Proxy {
    async fn start(upstream: String) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mut proxy = Self {
            port: listener.local_addr().unwrap().port(),
            upstream,
            accept: None,
            links: Arc::default(),
        };
        proxy.serve(listener);
        proxy
    }

    fn serve(&mut self, listener: TcpListener) {
        let upstream = self.upstream.clone();
        let links = Arc::clone(&self.links);
        self.accept = Some(tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let upstream = upstream.clone();
                let link = tokio::spawn(async move {
                    if let Ok(mut outbound) = TcpStream::connect(upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                links.lock().unwrap().push(link);
            }
        }));
    }

    /// Drops every connection and stops listening: connects are refused.
    async fn cut(&mut self) {
        if let Some(accept) = self.accept.take() {
            accept.abort();
            let _ = accept.await;
        }
        for link in self.links.lock().unwrap().drain(..) {
            link.abort();
        }
    }

    /// Listens again on the same port.
    async fn restore(&mut self) {
        let listener = TcpListener::bind(("127.0.0.1", self.port)).await.unwrap();
        self.serve(listener);
    }
}

/// `url` with its `host:port` replaced by the proxy's.
fn through(url: &str, port: u16) -> String {
    let host_start = url.find('@').map_or("mysql://".len(), |at| at + 1);
    let host_end = host_start + url[host_start..].find('/').unwrap();
    format!("{}127.0.0.1:{port}{}", &url[..host_start], &url[host_end..])
}

fn upstream(url: &str) -> String {
    let host_start = url.find('@').map_or("mysql://".len(), |at| at + 1);
    let host_end = host_start + url[host_start..].find('/').unwrap();
    url[host_start..host_end].to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_lost_database_gives_fast_retryable_503s_publishes_nothing_and_recovers() {
    let database = TestDatabase::create().await.unwrap_or_else(|error| {
        panic!(
            "MariaDB/MySQL is not reachable at {}: {error}",
            chat_store_mysql::testing::server_url()
        )
    });
    let mut proxy = Proxy::start(upstream(database.url())).await;
    let url = through(database.url(), proxy.port);
    let cli =
        Cli::try_parse_from(["standalone", "--database-url", &url, "--send-rate", "0"]).unwrap();
    let server = app::build(&cli.server).await.unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = listener.local_addr().unwrap().to_string();
    tokio::spawn(app::serve(listener, server, std::future::pending()));

    let cid = common::open_direct(&base, "alice", "bob").await;
    let path = format!("/conversations/{cid}/messages");
    let mut bob = Client::connect(&base, "bob").await;
    let mut alice = Client::connect(&base, "alice").await;
    let (status, _) = call(
        reqwest::Method::POST,
        &base,
        "alice",
        &path,
        Some(json!({"body": "before"})),
    )
    .await;
    assert_eq!(status, 201);
    assert_eq!(bob.next_message().await["seq"], 1);

    // The same send, sent during the outage and retried after it.
    let send_during = || {
        let body = json!({"body": "during", "client_id": "c-during"});
        call(reqwest::Method::POST, &base, "alice", &path, Some(body))
    };
    proxy.cut().await;
    let started = Instant::now();
    let (status, answer) = send_during().await;
    println!("REST send answered {status} after {:?}", started.elapsed());
    assert_eq!(status, 503, "{answer}");
    assert_eq!(answer["error"]["code"], "unavailable");
    assert_eq!(answer["error"]["retryable"], true);
    alice
        .send(json!({"type": "send", "conversation_id": cid, "body": "during ws", "client_id": "c-ws"}))
        .await;
    // alice's socket also carries her own first message; the answer follows.
    let refused = loop {
        let event = alice.next_event().await;
        if event["type"] != "message" {
            break event;
        }
    };
    assert_eq!(refused["type"], "error", "{refused}");
    assert_eq!(refused["client_id"], "c-ws");
    assert_eq!(refused["error"]["code"], "unavailable");
    assert_eq!(refused["error"]["retryable"], true);
    let (status, health) = call(reqwest::Method::GET, &base, "alice", "/health", None).await;
    assert_eq!(
        (status, health["store"].as_str()),
        (503, Some("unavailable"))
    );

    // Back: the same send, retried with its client_id, succeeds by itself.
    proxy.restore().await;
    let deadline = Instant::now() + common::WAIT;
    let stored = loop {
        let (status, answer) = send_during().await;
        if status == 201 {
            break answer;
        }
        assert_eq!(
            status, 503,
            "only 'unavailable' while reconnecting: {answer}"
        );
        assert!(Instant::now() < deadline, "the server did not recover");
        // A client's retry backoff.
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    assert_eq!(stored["seq"], 2, "the failed sends took no seq");
    let next = bob.next_message().await;
    assert_eq!(
        (next["seq"].as_u64(), next["body"].as_str()),
        (Some(2), Some("during")),
        "nothing was published for the unsaved sends"
    );
    let (status, _) = call(reqwest::Method::GET, &base, "alice", "/health", None).await;
    assert_eq!(status, 200);
    database.drop_database().await.unwrap();
}
