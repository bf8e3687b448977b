//! Seeded scenarios at the seam between save and notify: a real server over
//! a `FaultyStore` (appends that commit, then fail as if the process died
//! before publishing) and a `FaultyBus` (events dropped, duplicated, swapped,
//! delayed). Users send over REST and retry every failure with the same
//! `client_id`; each user's socket is read by a model client that dedupes by
//! seq and resumes on `gap`. After the faults stop and every client resumes
//! once, each client must hold every message of its conversations exactly
//! once, and the store must hold each `client_id` once with seqs 1..=N.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use chat_bus_memory::MemoryBus;
use chat_engine::testkit::faults::{BusFaults, FaultyBus, FaultyStore};
use chat_engine::{ChatConfig, Store};
use chat_store_sqlite::SqliteStore;
use common::{TestServer, WsClient};
use serde_json::{Value, json};
use tokio::sync::watch;

const USERS: [&str; 4] = ["u0", "u1", "u2", "u3"];
const SENDS_PER_USER: usize = 30;
const SEEDS: u64 = 32;

/// A client as the protocol asks: keeps messages by seq (so duplicates
/// collapse), and on a `gap` resumes from the end of what it holds in order.
struct ModelClient {
    socket: WsClient,
    conversations: Vec<String>,
    have: BTreeMap<String, BTreeSet<u64>>,
    duplicates: u64,
    gaps: u64,
}

fn contiguous(seqs: Option<&BTreeSet<u64>>) -> u64 {
    let Some(seqs) = seqs else { return 0 };
    (1..)
        .take_while(|seq| seqs.contains(seq))
        .last()
        .unwrap_or(0)
}

impl ModelClient {
    async fn resume(&mut self, conversations: &[String]) {
        let positions: BTreeMap<&String, u64> = conversations
            .iter()
            .map(|cid| (cid, contiguous(self.have.get(cid))))
            .collect();
        self.socket
            .send(json!({"type": "resume", "positions": positions}))
            .await;
    }

    async fn handle(&mut self, event: Value) {
        match event["type"].as_str() {
            Some("message") => {
                let cid = event["message"]["conversation_id"].as_str().unwrap();
                let seq = event["message"]["seq"].as_u64().unwrap();
                if !self.have.entry(cid.to_owned()).or_default().insert(seq) {
                    self.duplicates += 1;
                }
            }
            Some("gap") => {
                self.gaps += 1;
                let which = match event["conversation_id"].as_str() {
                    Some(cid) => vec![cid.to_owned()],
                    None => self.conversations.clone(),
                };
                self.resume(&which).await;
            }
            _ => {}
        }
    }

    fn holds(&self, last: &BTreeMap<String, u64>) -> bool {
        self.conversations
            .iter()
            .all(|cid| contiguous(self.have.get(cid)) >= last[cid])
    }

    /// Reads until `finish` carries the final seqs, resumes everything once,
    /// then reads until it holds them all.
    async fn run(mut self, mut finish: watch::Receiver<Option<BTreeMap<String, u64>>>) -> Self {
        loop {
            tokio::select! {
                changed = finish.changed() => {
                    changed.unwrap();
                    break;
                }
                event = self.socket.next_event() => self.handle(event).await,
            }
        }
        let last = finish.borrow().clone().unwrap();
        let all = self.conversations.clone();
        self.resume(&all).await;
        while !self.holds(&last) {
            let next = tokio::time::timeout(
                common::WAIT,
                futures::StreamExt::next(&mut self.socket.stream),
            )
            .await;
            let Ok(Some(Ok(tokio_tungstenite::tungstenite::Message::Text(text)))) = next else {
                eprintln!("socket gave {next:?}; gaps {}", self.gaps);
                let missing: BTreeMap<&String, Vec<u64>> = self
                    .conversations
                    .iter()
                    .map(|cid| {
                        let have = self.have.get(cid).cloned().unwrap_or_default();
                        (
                            cid,
                            (1..=last[cid]).filter(|seq| !have.contains(seq)).collect(),
                        )
                    })
                    .collect();
                panic!("stuck without {missing:?} after the final resume");
            };
            self.handle(serde_json::from_str(&text).unwrap()).await;
        }
        self
    }
}

/// Sends `body` with `client_id`, retrying (same `client_id`) until stored.
async fn send_until_stored(server: &TestServer, user: &str, cid: &str, client_id: &str) -> u32 {
    let mut failures = 0;
    loop {
        let (status, answer) = server
            .post(
                user,
                &format!("/conversations/{cid}/messages"),
                json!({"body": client_id, "client_id": client_id}),
            )
            .await;
        match status {
            // 200: a retry of a send that was stored before the failure.
            200 | 201 => return failures,
            503 => {
                assert_eq!(answer["error"]["retryable"], true, "{answer}");
                failures += 1;
            }
            _ => panic!("{user} {client_id}: {status} {answer}"),
        }
    }
}

#[derive(Default, Debug)]
struct Totals {
    sends: usize,
    retries: u32,
    crashes: u64,
    dropped: u64,
    duplicated: u64,
    reordered: u64,
    delayed: u64,
    gaps_seen: u64,
    duplicates_seen: u64,
}

async fn scenario(seed: u64, totals: &mut Totals) {
    let sqlite: Arc<dyn Store> = Arc::new(SqliteStore::connect("sqlite::memory:").await.unwrap());
    let store = Arc::new(FaultyStore::new(sqlite, seed, 0.05));
    let faults = BusFaults {
        drop: 0.05,
        duplicate: 0.05,
        reorder: 0.05,
        delay: 0.05,
        max_delay: Duration::from_millis(100),
    };
    // Its own stream of faults, not the store's.
    let bus_seed = seed ^ 0x5EED_0000_0000_0000;
    let bus = Arc::new(FaultyBus::new(Arc::new(MemoryBus::new()), bus_seed, faults));
    let server = Arc::new(
        TestServer::start_on(
            Arc::clone(&store) as Arc<dyn Store>,
            Arc::clone(&bus) as Arc<dyn chat_engine::Bus>,
            ChatConfig::default().with_rates(chat_engine::RateLimits::none()),
            chat_axum::WsConfig::default().with_reorder_window(Duration::from_millis(50)),
        )
        .await,
    );
    let (status, group) = server
        .post(
            "u0",
            "/conversations",
            json!({"title": "seam", "members": ["u1", "u2", "u3"]}),
        )
        .await;
    assert_eq!(status, 201);
    let group = group["id"].as_str().unwrap().to_owned();
    let direct = server.direct("u0", "u1").await;
    let conversations_of = |user: &str| {
        let mut list = vec![group.clone()];
        if user == "u0" || user == "u1" {
            list.push(direct.clone());
        }
        list
    };

    let (finish, finished) = watch::channel(None);
    let mut clients = Vec::new();
    for user in USERS {
        let client = ModelClient {
            socket: server.ws(user).await,
            conversations: conversations_of(user),
            have: BTreeMap::new(),
            duplicates: 0,
            gaps: 0,
        };
        clients.push(tokio::spawn(client.run(finished.clone())));
    }

    let mut senders = Vec::new();
    for (index, user) in USERS.iter().enumerate() {
        let server = Arc::clone(&server);
        let targets = conversations_of(user);
        senders.push(tokio::spawn(async move {
            let mut retries = 0;
            for i in 0..SENDS_PER_USER {
                // The seed also picks where each message goes.
                let cid =
                    &targets[(usize::try_from(seed).unwrap() + index * 7 + i * 3) % targets.len()];
                retries += send_until_stored(&server, user, cid, &format!("{user}-{i}")).await;
            }
            retries
        }));
    }
    for sender in senders {
        totals.retries += sender.await.unwrap();
    }
    totals.sends += USERS.len() * SENDS_PER_USER;

    // The store: each client_id once, seqs 1..=N per conversation.
    let mut last = BTreeMap::new();
    let mut client_ids = BTreeSet::new();
    for cid in [&group, &direct] {
        let (_, page) = server
            .get(
                "u0",
                &format!("/conversations/{cid}/messages?after=0&limit=200"),
            )
            .await;
        let messages = page["messages"].as_array().unwrap();
        let seqs: Vec<u64> = messages
            .iter()
            .map(|m| m["seq"].as_u64().unwrap())
            .collect();
        let n = u64::try_from(messages.len()).unwrap();
        assert_eq!(
            seqs,
            (1..=n).collect::<Vec<_>>(),
            "seed {seed}: no gap in the store"
        );
        for message in messages {
            assert!(
                client_ids.insert(message["client_id"].as_str().unwrap().to_owned()),
                "seed {seed}: a client_id stored twice: {message}"
            );
        }
        last.insert(cid.clone(), n);
    }
    assert_eq!(
        client_ids.len(),
        USERS.len() * SENDS_PER_USER,
        "seed {seed}"
    );

    store.heal();
    bus.heal();
    finish.send(Some(last.clone())).unwrap();
    for client in clients {
        let client = tokio::time::timeout(common::WAIT, client)
            .await
            .unwrap_or_else(|_| panic!("seed {seed}: a client did not recover"))
            .unwrap();
        for cid in &client.conversations {
            assert_eq!(
                client.have[cid],
                (1..=last[cid]).collect::<BTreeSet<_>>(),
                "seed {seed}: every message once"
            );
        }
        totals.gaps_seen += client.gaps;
        totals.duplicates_seen += client.duplicates;
    }
    let counts = bus.counts();
    totals.crashes += store.crashes();
    totals.dropped += counts.dropped;
    totals.duplicated += counts.duplicated;
    totals.reordered += counts.reordered;
    totals.delayed += counts.delayed;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_client_recovers_every_message_once_whatever_the_seam_does() {
    let mut totals = Totals::default();
    for seed in 1..=SEEDS {
        scenario(seed, &mut totals).await;
    }
    println!("{SEEDS} seeds: {totals:?}");
    assert!(
        totals.crashes > 0
            && totals.dropped > 0
            && totals.duplicated > 0
            && totals.reordered > 0
            && totals.delayed > 0,
        "every kind of fault was injected: {totals:?}"
    );
    assert_eq!(
        totals.retries as u64, totals.crashes,
        "each crash was retried once"
    );
}
