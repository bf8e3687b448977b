//! The host shuts down (`axum::serve` with chat's graceful shutdown) while
//! users send over WebSockets and REST: every socket is closed with 1001,
//! `serve` returns, and every message that was acknowledged is stored.

mod common;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chat_engine::{ConversationId, HistoryQuery, Store, UserId};
use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::sync::{Notify, oneshot};
use tokio_tungstenite::tungstenite::Message;

/// Acknowledged bodies, and a wake-up for each.
#[derive(Default)]
struct Acked {
    bodies: Mutex<HashSet<String>>,
    grew: Notify,
}

impl Acked {
    fn add(&self, body: String) {
        self.bodies.lock().unwrap().insert(body);
        self.grew.notify_waiters();
    }

    fn len(&self) -> usize {
        self.bodies.lock().unwrap().len()
    }
}

/// Sends over one socket, one frame in flight, until the server closes it:
/// the close code.
async fn send_over_socket(
    address: String,
    cookie: String,
    cid: String,
    n: usize,
    acked: Arc<Acked>,
) -> Option<u16> {
    let mut socket = common::socket(&address, &cookie).await;
    for i in 0.. {
        let body = format!("ws {n} #{i}");
        let frame =
            json!({ "type": "send", "conversation_id": cid, "body": body, "client_id": body });
        if socket.send(Message::text(frame.to_string())).await.is_err() {
            break;
        }
        loop {
            match socket.next().await {
                Some(Ok(Message::Text(text))) => {
                    let frame: Value = serde_json::from_str(&text).unwrap();
                    if frame["type"] == "ack" {
                        acked.add(frame["message"]["body"].as_str().unwrap().to_owned());
                        break;
                    }
                    // Refused (over the rate limit, or shutting down): not
                    // acknowledged, so not promised; go on with the next.
                    if frame["type"] == "error" && frame["client_id"] == body.as_str() {
                        break;
                    }
                }
                Some(Ok(Message::Close(close))) => return close.map(|close| u16::from(close.code)),
                Some(Ok(_)) => {}
                Some(Err(error)) => panic!("the socket broke instead of closing: {error}"),
                None => return None,
            }
        }
    }
    None
}

/// Sends over REST until the server stops answering.
async fn send_over_rest(address: String, cookie: String, cid: String, acked: Arc<Acked>) {
    let http = reqwest::Client::new();
    for i in 0.. {
        let body = format!("rest #{i}");
        let Ok(response) = http
            .post(format!(
                "http://{address}/chat/conversations/{cid}/messages"
            ))
            .header("cookie", &cookie)
            .json(&json!({ "body": body }))
            .send()
            .await
        else {
            return;
        };
        if response.status() == 201 {
            acked.add(body);
        } else {
            return;
        }
    }
}

/// Acknowledged sends before the shutdown starts.
const SHUT_DOWN_AFTER: usize = 30;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_shutting_down_under_sends_closes_sockets_and_keeps_every_acknowledged_message() {
    let (stop, stopped) = oneshot::channel::<()>();
    let host = common::serve(async {
        let _ = stopped.await;
    })
    .await;
    let alice = common::login(&host.address, "alice", "alice-pw")
        .await
        .unwrap();
    let bob = common::login(&host.address, "bob", "bob-pw").await.unwrap();
    let direct: Value = reqwest::Client::new()
        .put(format!("http://{}/chat/direct/bob", host.address))
        .header("cookie", &alice)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let cid = direct["id"].as_str().unwrap().to_owned();

    let acked = Arc::new(Acked::default());
    // Within both users' bursts (40 sends each), so none is refused for
    // its rate before the shutdown.
    let senders = [&alice, &alice, &bob];
    let sockets: Vec<_> = senders
        .iter()
        .enumerate()
        .map(|(n, cookie)| {
            let socket = send_over_socket(
                host.address.clone(),
                (*cookie).clone(),
                cid.clone(),
                n,
                acked.clone(),
            );
            tokio::spawn(socket)
        })
        .collect();
    let rest = tokio::spawn(send_over_rest(
        host.address.clone(),
        bob.clone(),
        cid.clone(),
        acked.clone(),
    ));
    // Shut down in the middle of the sending.
    while acked.len() < SHUT_DOWN_AFTER {
        let grew = acked.grew.notified();
        if acked.len() >= SHUT_DOWN_AFTER {
            break;
        }
        grew.await;
    }
    stop.send(()).unwrap();

    for socket in sockets {
        let closed = tokio::time::timeout(Duration::from_secs(60), socket)
            .await
            .expect("the shutdown closes every socket");
        assert_eq!(closed.unwrap(), Some(1001), "closed with going away");
    }
    tokio::time::timeout(Duration::from_secs(60), host.served)
        .await
        .expect("serve returns after the graceful shutdown")
        .unwrap();
    rest.await.unwrap();

    let store = chat_store_sqlite::SqliteStore::connect(&host.database_url)
        .await
        .unwrap();
    let alice_id = UserId::new("alice").unwrap();
    let history = store
        .history(
            &ConversationId::new(cid).unwrap(),
            &alice_id,
            HistoryQuery::latest(100_000),
        )
        .await
        .unwrap();
    let stored: Vec<String> = history
        .messages
        .into_iter()
        .map(|message| message.body)
        .collect();
    let unique: HashSet<&String> = stored.iter().collect();
    assert_eq!(unique.len(), stored.len(), "no message stored twice");
    let acked = acked.bodies.lock().unwrap().clone();
    let missing: Vec<&String> = acked.iter().filter(|body| !unique.contains(body)).collect();
    assert!(
        missing.is_empty(),
        "acknowledged but not stored: {missing:?}"
    );
    assert!(acked.len() >= SHUT_DOWN_AFTER);
}
