//! Notifications for offline members are never lost.
//!
//! In process, on SQLite with the in-process bus and on MariaDB with Redis:
//! two nodes share the store and the bus; the first node's store commits
//! some appends and then fails them (the testkit's `FaultyStore`: the node
//! "died" between the commit and everything after it, and the sender's
//! retry finds the message stored), and both nodes' notifiers fail every
//! third call. Every offline member who has not muted the conversation is
//! notified of every message at least once; the online member, the muted
//! one and the sender never are; a mentions-only member only when
//! mentioned.
//!
//! As processes: the server is killed with SIGKILL while its webhook calls
//! hang (after the commits, before any notification is done), and the
//! server started again on the same file notifies every message; a server
//! stopped gracefully leaves no follow-up to run again.

mod common;

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use chat_bus_memory::MemoryBus;
use chat_bus_redis::{RedisBus, RedisBusOptions};
use chat_engine::testkit::faults::FaultyStore;
use chat_engine::{
    Bus, ChatConfig, ChatError, ChatService, MessageId, MuteChange, NewMessage, Notification,
    NotificationLevel, Notifier, Outbound, PreferencesChange, Store, UserId,
};
use chat_store_mysql::testing::TestDatabase;
use chat_store_sqlite::SqliteStore;
use common::{ServerProcess, call, history, open_direct, sign_in};
use serde_json::{Value, json};
use tokio::sync::Notify;

/// Messages alice sends; every fifth mentions erin.
const MESSAGES: usize = 30;

fn user(name: &str) -> UserId {
    UserId::new(name).unwrap()
}

/// A notifier that records who it was asked to tell of which message, and
/// fails every third call (a push service that is sometimes down).
#[derive(Debug, Default)]
struct Recorder {
    told: Mutex<BTreeSet<(MessageId, String)>>,
    calls: AtomicU64,
    failed: AtomicU64,
    changed: Notify,
}

#[async_trait::async_trait]
impl Notifier for Recorder {
    async fn notify(&self, notification: &Notification) -> Result<(), String> {
        if self.calls.fetch_add(1, Ordering::SeqCst).is_multiple_of(3) {
            self.failed.fetch_add(1, Ordering::SeqCst);
            return Err("injected: the push service is down".to_owned());
        }
        let mut told = self.told.lock().unwrap_or_else(PoisonError::into_inner);
        for recipient in &notification.recipients {
            told.insert((
                notification.message.id.clone(),
                recipient.user_id.as_str().to_owned(),
            ));
        }
        drop(told);
        self.changed.notify_waiters();
        Ok(())
    }
}

impl Recorder {
    fn told(&self) -> BTreeSet<(MessageId, String)> {
        self.told
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

/// A short lease and call timeout, so sweeps come within the test's time.
fn config() -> ChatConfig {
    ChatConfig::default()
        .with_outbox(Duration::from_secs(1), Duration::from_secs(2))
        .with_presence(Duration::from_secs(24), Duration::from_millis(100))
        .with_rates(chat_engine::RateLimits::none())
}

/// The scenario of the module docs on two nodes' stores and buses.
async fn every_offline_member_is_notified_at_least_once(
    stores: [Arc<dyn Store>; 2],
    buses: [Arc<dyn Bus>; 2],
) {
    let [store_one, store_two] = stores;
    let [bus_one, bus_two] = buses;
    let faulty = Arc::new(FaultyStore::new(store_one, 7, 0.3));
    let (recorder_one, recorder_two) =
        (Arc::new(Recorder::default()), Arc::new(Recorder::default()));
    let one = ChatService::builder(faulty.clone(), bus_one, config())
        .notifier(recorder_one.clone())
        .start()
        .await
        .unwrap();
    let two = ChatService::builder(store_two, bus_two, config())
        .notifier(recorder_two.clone())
        .start()
        .await
        .unwrap();

    let alice = user("alice");
    let others = ["bob", "carol", "dave", "erin"].map(user);
    let group = one
        .create_group(&alice, "team", others.to_vec())
        .await
        .unwrap();
    let mute = PreferencesChange {
        muted_until: Some(MuteChange::Until(
            chat_engine::time::now() + Duration::from_secs(3_600),
        )),
        ..PreferencesChange::default()
    };
    two.set_preferences(&others[2], &group.id, mute)
        .await
        .unwrap();
    let mentions_only = PreferencesChange {
        notifications: Some(NotificationLevel::Mentions),
        ..PreferencesChange::default()
    };
    two.set_preferences(&others[3], &group.id, mentions_only)
        .await
        .unwrap();

    // Carol is online on node two: alice, on node one, sees her arrive.
    let mut alice_socket = one.hub().connect(alice.clone()).await.unwrap();
    let _carol_socket = two.hub().connect(others[1].clone()).await.unwrap();
    loop {
        let outbound = tokio::time::timeout(common::WAIT, alice_socket.next())
            .await
            .expect("carol's presence reaches alice");
        if let Outbound::Event(event) = outbound {
            let event: serde_json::Value = serde_json::from_slice(event.payload()).unwrap();
            if event["type"] == "presence" && event["user_id"] == "carol" && event["online"] == true
            {
                break;
            }
        }
    }
    drop(alice_socket);

    // Alice sends; a send that "crashed" after its commit is retried with
    // its client_id, which finds it stored (no second row, no second offer).
    let mut expected = BTreeSet::new();
    let mut stored = BTreeSet::new();
    for index in 0..MESSAGES {
        let mut message = NewMessage::text(format!("message {index}"));
        message.client_id = Some(format!("m{index}"));
        if index % 5 == 0 {
            message.mentions = vec![others[3].clone()];
        }
        let sent = loop {
            match one.send(&alice, &group.id, message.clone()).await {
                Ok(sent) => break sent.message,
                Err(ChatError::Unavailable(_)) => {}
                Err(other) => panic!("send {index}: {other}"),
            }
        };
        expected.insert((sent.id.clone(), "bob".to_owned()));
        if index % 5 == 0 {
            expected.insert((sent.id.clone(), "erin".to_owned()));
        }
        stored.insert(sent.id);
    }
    assert!(faulty.crashes() > 0, "the injector never crashed a send");

    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let told = loop {
        let (waiting_one, waiting_two) = (
            recorder_one.changed.notified(),
            recorder_two.changed.notified(),
        );
        tokio::pin!(waiting_one, waiting_two);
        waiting_one.as_mut().enable();
        waiting_two.as_mut().enable();
        let told: BTreeSet<_> = recorder_one
            .told()
            .union(&recorder_two.told())
            .cloned()
            .collect();
        if expected.is_subset(&told) {
            break told;
        }
        let missing: Vec<_> = expected.difference(&told).take(5).collect();
        tokio::select! {
            () = waiting_one => {}
            () = waiting_two => {}
            () = tokio::time::sleep_until(deadline) => panic!(
                "{} of {} notifications never came, e.g. {missing:?}",
                expected.difference(&told).count(),
                expected.len()
            ),
        }
    };
    let unexpected: Vec<_> = told.difference(&expected).collect();
    assert!(
        unexpected.is_empty(),
        "told who must not be told (online, muted, the sender, or erin unmentioned): {unexpected:?}"
    );
    let failed =
        recorder_one.failed.load(Ordering::SeqCst) + recorder_two.failed.load(Ordering::SeqCst);
    assert!(
        failed > 0,
        "the notifier never failed: retries were not exercised"
    );
    for (message, _) in &told {
        assert!(
            stored.contains(message),
            "a notification of a message never stored"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_offline_member_is_notified_at_least_once_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("chat.db").display());
    let store: Arc<dyn Store> = Arc::new(SqliteStore::connect(&url).await.unwrap());
    let bus = MemoryBus::new();
    every_offline_member_is_notified_at_least_once(
        [Arc::clone(&store), store],
        [Arc::new(bus.node()), Arc::new(bus)],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_offline_member_is_notified_at_least_once_on_mariadb_and_redis() {
    let database = TestDatabase::create().await.unwrap_or_else(|error| {
        panic!(
            "MariaDB/MySQL is not reachable at {}: {error}",
            chat_store_mysql::testing::server_url()
        )
    });
    let redis = std::env::var("CHAT_TEST_REDIS_URL")
        .unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned());
    let prefix = format!("chat-test:notify:{}:", MessageId::generate());
    let mut stores: Vec<Arc<dyn Store>> = Vec::new();
    let mut buses: Vec<Arc<dyn Bus>> = Vec::new();
    for _ in 0..2 {
        stores.push(Arc::new(database.store().await.unwrap()));
        let options = RedisBusOptions::default().with_prefix(prefix.clone());
        buses.push(Arc::new(RedisBus::connect(&redis, options).await.unwrap()));
    }
    every_offline_member_is_notified_at_least_once(
        [stores.remove(0), stores.remove(0)],
        [buses.remove(0), buses.remove(0)],
    )
    .await;
    database.drop_database().await.unwrap();
}

/// The webhook's secret in the process test.
const SECRET: &str = "a webhook secret of thirty-two bytes or more";

/// The webhook receiver of the process test: it holds every request
/// unanswered until told to answer, then checks each signature and records
/// who was told of which message.
#[derive(Debug, Default)]
struct Webhook {
    answering: std::sync::atomic::AtomicBool,
    arrived: Notify,
    told: Mutex<BTreeSet<(String, String)>>,
    bad_signatures: AtomicU64,
    changed: Notify,
}

async fn receive(
    axum::extract::State(hook): axum::extract::State<Arc<Webhook>>,
    headers: axum::http::HeaderMap,
    body: String,
) -> axum::http::StatusCode {
    hook.arrived.notify_one();
    if !hook.answering.load(Ordering::SeqCst) {
        // The server dies while it waits for this answer.
        std::future::pending::<()>().await;
    }
    let signature = headers
        .get(standalone::notifier::SIGNATURE_HEADER)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default();
    let (timestamp, mac) = signature
        .split_once(',')
        .and_then(|(t, v1)| Some((t.strip_prefix("t=")?.parse().ok()?, v1.strip_prefix("v1=")?)))
        .unwrap_or((0, ""));
    if mac != standalone::notifier::sign(SECRET.as_bytes(), timestamp, &body) {
        hook.bad_signatures.fetch_add(1, Ordering::SeqCst);
        return axum::http::StatusCode::UNAUTHORIZED;
    }
    let notification: Value = serde_json::from_str(&body).unwrap();
    let id = notification["message"]["id"].as_str().unwrap().to_owned();
    let mut told = hook.told.lock().unwrap_or_else(PoisonError::into_inner);
    for recipient in notification["recipients"].as_array().unwrap() {
        told.insert((
            id.clone(),
            recipient["user_id"].as_str().unwrap().to_owned(),
        ));
    }
    drop(told);
    hook.changed.notify_waiters();
    axum::http::StatusCode::NO_CONTENT
}

/// Starts the receiver on a loopback port; its URL.
async fn webhook(hook: Arc<Webhook>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let app = axum::Router::new()
        .route("/hook", axum::routing::post(receive))
        .with_state(hook);
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_killed_before_it_notifies_notifies_after_restart() {
    let hook = Arc::new(Webhook::default());
    let url = webhook(Arc::clone(&hook)).await;
    let dir = tempfile::tempdir().unwrap();
    let database = dir.path().join("chat.db");
    let flags = [
        "--notify-webhook",
        &url,
        "--notify-webhook-secret",
        SECRET,
        "--outbox-lease-secs",
        "1",
        "--send-rate",
        "0",
    ];
    let server = ServerProcess::start(&database, &flags).await;
    let base = server.base.clone();
    sign_in(&base, &["alice", "bob", "carol"]).await;
    let direct = open_direct(&base, "alice", "bob").await;
    let (status, group) = call(
        reqwest::Method::POST,
        &base,
        "alice",
        "/conversations",
        Some(json!({"title": "team", "members": ["bob", "carol"]})),
    )
    .await;
    assert_eq!(status, 201, "{group}");
    let group = group["id"].as_str().unwrap().to_owned();
    let muted_until = (chat_engine::time::now() + Duration::from_secs(3_600)).to_rfc3339();
    let (status, body) = call(
        reqwest::Method::PATCH,
        &base,
        "carol",
        &format!("/conversations/{group}/preferences"),
        Some(json!({"muted_until": muted_until})),
    )
    .await;
    assert_eq!(status, 200, "{body}");

    for index in 0..20 {
        for cid in [&direct, &group] {
            let (status, body) = call(
                reqwest::Method::POST,
                &base,
                "alice",
                &format!("/conversations/{cid}/messages"),
                Some(json!({"body": format!("message {index}")})),
            )
            .await;
            assert_eq!(status, 201, "{body}");
        }
    }
    // The server is calling the webhook (after the commits) when it dies.
    tokio::time::timeout(common::WAIT, hook.arrived.notified())
        .await
        .expect("the server calls the webhook");
    server.kill().await;

    hook.answering.store(true, Ordering::SeqCst);
    let server = ServerProcess::start(&database, &flags).await;
    let mut expected = BTreeSet::new();
    for cid in [&direct, &group] {
        for message in history(&server.base, "alice", cid).await {
            expected.insert((message["id"].as_str().unwrap().to_owned(), "bob".to_owned()));
        }
    }
    assert_eq!(expected.len(), 40, "every acknowledged message is stored");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let told = loop {
        let changed = hook.changed.notified();
        tokio::pin!(changed);
        changed.as_mut().enable();
        let told = hook
            .told
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        if expected.is_subset(&told) {
            break told;
        }
        tokio::select! {
            () = changed => {}
            () = tokio::time::sleep_until(deadline) => panic!(
                "{} of 40 notifications never came after the restart",
                expected.difference(&told).count()
            ),
        }
    };
    assert!(
        told.iter().all(|(_, user)| user == "bob"),
        "only bob is told (alice sent, carol muted the group): {told:?}"
    );
    assert_eq!(hook.bad_signatures.load(Ordering::SeqCst), 0);
    drop(server);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_graceful_shutdown_leaves_no_follow_up_to_repeat() {
    let dir = tempfile::tempdir().unwrap();
    let database = dir.path().join("chat.db");
    let server = ServerProcess::start(&database, &["--send-rate", "0"]).await;
    let base = server.base.clone();
    sign_in(&base, &["alice", "bob"]).await;
    let direct = open_direct(&base, "alice", "bob").await;
    let path = format!("/conversations/{direct}/messages");
    let sends = (0..200).map(|index| {
        let (base, path) = (base.clone(), path.clone());
        async move {
            let body = json!({"body": format!("message {index}")});
            call(reqwest::Method::POST, &base, "alice", &path, Some(body)).await
        }
    });
    for (status, body) in futures::future::join_all(sends).await {
        assert_eq!(status, 201, "{body}");
    }
    assert!(server.terminate().await, "a clean exit");

    // Every row the sends wrote was followed up and deleted before the exit.
    let store = SqliteStore::connect(&format!("sqlite://{}", database.display()))
        .await
        .unwrap();
    let far = chat_engine::time::now() + Duration::from_secs(86_400);
    let left = store.claim_outbox(far, far, 1_000).await.unwrap();
    assert!(
        left.is_empty(),
        "{} follow-ups left to run again after a graceful shutdown",
        left.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nobody_is_told_of_their_own_message() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("chat.db").display());
    let store: Arc<dyn Store> = Arc::new(SqliteStore::connect(&url).await.unwrap());
    let recorder = Arc::new(Recorder::default());
    let chat = ChatService::builder(store, Arc::new(MemoryBus::new()), config())
        .notifier(recorder.clone())
        .start()
        .await
        .unwrap();
    // Both offline, both sending at once: their messages share the relay's batches.
    let (alice, bob) = (user("alice"), user("bob"));
    let direct = chat.open_direct(&alice, &bob).await.unwrap();
    let sends = |from: UserId, to: &'static str| {
        let (chat, id) = (chat.clone(), direct.id.clone());
        tokio::spawn(async move {
            let mut expected = BTreeSet::new();
            for index in 0..20 {
                let sent = chat
                    .send(&from, &id, NewMessage::text(format!("{from} {index}")))
                    .await
                    .unwrap();
                expected.insert((sent.message.id, to.to_owned()));
            }
            expected
        })
    };
    let (from_alice, from_bob) = (sends(alice.clone(), "bob"), sends(bob.clone(), "alice"));
    let mut expected = from_alice.await.unwrap();
    expected.extend(from_bob.await.unwrap());
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let waiting = recorder.changed.notified();
        tokio::pin!(waiting);
        waiting.as_mut().enable();
        if expected.is_subset(&recorder.told()) {
            break;
        }
        tokio::select! {
            () = waiting => {}
            () = tokio::time::sleep_until(deadline) => panic!("notifications never came"),
        }
    }
    assert_eq!(
        recorder.told(),
        expected,
        "someone was told of their own message"
    );
}
