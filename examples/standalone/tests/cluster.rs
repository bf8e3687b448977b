//! Two server nodes behave as one chat: each node is a full standalone server
//! (its own store pool, Redis bus connection and hub) on its own port, both
//! sharing one real MariaDB database and one real Redis.

mod common;

use std::collections::BTreeMap;

use chat_bus_redis::testing::PrivateRedis;
use chat_store_mysql::testing::TestDatabase;
use clap::Parser;
use common::{Client, call, open_direct};
use serde_json::{Value, json};
use standalone::app;
use standalone::config::Cli;

struct Node {
    base: String,
    chat: chat_engine::ChatService,
}

async fn node(database: &TestDatabase, redis_url: &str, prefix: &str) -> Node {
    node_with(database, redis_url, prefix, &[]).await
}

/// A node with `extra` flags besides the shared database and Redis.
async fn node_with(database: &TestDatabase, redis_url: &str, prefix: &str, extra: &[&str]) -> Node {
    let shared = [
        "standalone",
        "--database-url",
        database.url(),
        "--redis-url",
        redis_url,
        "--redis-prefix",
        prefix,
        // Generous: on this 2-core machine a node under a burst can take a
        // while between commit and publish, and this test checks order.
        "--reorder-window-ms",
        "3000",
    ];
    let cli = Cli::try_parse_from(shared.iter().chain(extra)).unwrap();
    let server = app::build(&cli.server).await.unwrap();
    let chat = server.chat.clone();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = listener.local_addr().unwrap().to_string();
    tokio::spawn(app::serve(listener, server, std::future::pending()));
    Node { base, chat }
}

/// Two nodes with `extra` flags on a fresh database and the shared Redis,
/// under a prefix of their own.
async fn two_nodes(extra: &[&str]) -> (TestDatabase, [Node; 2]) {
    let database = database().await;
    let prefix = prefix();
    let one = node_with(&database, &redis_url(), &prefix, extra).await;
    let two = node_with(&database, &redis_url(), &prefix, extra).await;
    (database, [one, two])
}

fn redis_url() -> String {
    std::env::var("CHAT_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
}

fn prefix() -> String {
    format!("chat-test:{}:", uuid_like())
}

fn uuid_like() -> String {
    format!(
        "{:x}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    )
}

async fn database() -> TestDatabase {
    TestDatabase::create().await.unwrap_or_else(|error| {
        panic!(
            "MariaDB/MySQL is not reachable at {}: {error}",
            chat_store_mysql::testing::server_url()
        )
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn messages_cross_nodes_and_reach_every_device() {
    let (database, [one, two]) = two_nodes(&[]).await;
    let mut alice = Client::connect(&one.base, "alice").await;
    let mut bob_on_two = Client::connect(&two.base, "bob").await;
    let mut bob_on_one = Client::connect(&one.base, "bob").await;

    let cid = open_direct(&one.base, "alice", "bob").await;
    alice.send(json!({"type": "send", "conversation_id": cid, "body": "from node one", "client_id": "a1"})).await;
    for device in [&mut bob_on_two, &mut bob_on_one] {
        let message = device.next_message().await;
        assert_eq!(
            (message["body"].as_str(), message["seq"].as_u64()),
            (Some("from node one"), Some(1))
        );
    }
    let (status, _) = call(
        reqwest::Method::POST,
        &two.base,
        "bob",
        &format!("/conversations/{cid}/messages"),
        Some(json!({"body": "from node two"})),
    )
    .await;
    assert_eq!(status, 201);
    let mut got = alice.next_message().await;
    if got["seq"] == 1 {
        got = alice.next_message().await; // her own first message, echoed to her devices
    }
    assert_eq!(
        (got["body"].as_str(), got["seq"].as_u64()),
        (Some("from node two"), Some(2))
    );
    database.drop_database().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn shared_rate_limits_hold_for_the_cluster() {
    let flags = ["--shared-rate-limits", "--rate-limit", "create=1/min:2"];
    let (database, [one, two]) = two_nodes(&flags).await;
    let create = |node: &Node, title: &str| {
        let (base, body) = (node.base.clone(), json!({"title": title}));
        async move {
            call(
                reqwest::Method::POST,
                &base,
                "alice",
                "/conversations",
                Some(body),
            )
            .await
            .0
        }
    };
    assert_eq!(create(&one, "first").await, 201);
    assert_eq!(create(&two, "second").await, 201);
    // Alice's burst of 2 is spent, on both nodes together; bob's is not.
    assert_eq!(create(&one, "third").await, 429);
    assert_eq!(create(&two, "fourth").await, 429);
    let (status, _) = call(
        reqwest::Method::POST,
        &two.base,
        "bob",
        "/conversations",
        Some(json!({"title": "bob's"})),
    )
    .await;
    assert_eq!(status, 201);
    assert_eq!(
        one.chat.rate_limited(chat_engine::Action::Create)
            + two.chat.rate_limited(chat_engine::Action::Create),
        2
    );
    database.drop_database().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_room_made_on_one_node_is_found_joined_and_left_on_the_other() {
    let (database, [one, two]) = two_nodes(&[]).await;
    let mut alice = Client::connect(&one.base, "alice").await;
    let mut bob = Client::connect(&two.base, "bob").await;
    let (status, room) = call(
        reqwest::Method::POST,
        &one.base,
        "alice",
        "/conversations",
        Some(json!({"title": "Rustaceans", "public": true})),
    )
    .await;
    assert_eq!(status, 201, "{room}");
    let cid = room["id"].as_str().unwrap().to_owned();

    let (_, found) = call(
        reqwest::Method::GET,
        &two.base,
        "bob",
        "/rooms?q=rustACE",
        None,
    )
    .await;
    assert_eq!(found["rooms"][0]["id"], cid.as_str(), "{found}");
    assert_eq!(found["rooms"][0]["joined"], false);
    let join = format!("/rooms/{cid}/join");
    let (status, _) = call(reqwest::Method::POST, &two.base, "bob", &join, None).await;
    assert_eq!(status, 201);
    let added = alice.next_of("member_added").await;
    assert_eq!(
        (&added["user_id"], &added["by"]),
        (&json!("bob"), &json!("bob"))
    );

    bob.send(
        json!({"type": "send", "conversation_id": cid, "body": "hi from two", "client_id": "b1"}),
    )
    .await;
    assert_eq!(alice.next_message().await["body"], "hi from two");

    let leave = format!("/conversations/{cid}/members/bob");
    let (status, _) = call(reqwest::Method::DELETE, &two.base, "bob", &leave, None).await;
    assert_eq!(status, 204);
    let removed = alice.next_of("member_removed").await;
    assert_eq!(removed["user_id"], "bob");
    let (_, listed) = call(reqwest::Method::GET, &one.base, "bob", "/rooms", None).await;
    assert_eq!(listed["rooms"][0]["member_count"], 1);
    database.drop_database().await.unwrap();
}

/// A member offline while the other node edits, deletes, reacts, adds a
/// member and renames gets every change by `resume` on the first node,
/// once and in order; later changes reach them live across nodes.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn timeline_changes_on_one_node_replay_and_stream_on_the_other() {
    let (database, [one, two]) = two_nodes(&[]).await;
    let rest = |method: reqwest::Method, path: String, body: Option<Value>| {
        let base = two.base.clone();
        async move { call(method, &base, "alice", &path, body).await }
    };
    common::sign_in(&two.base, &["bob", "carol"]).await;
    let (status, group) = rest(
        reqwest::Method::POST,
        "/conversations".to_owned(),
        Some(json!({"title": "team", "members": ["bob"]})),
    )
    .await;
    assert_eq!(status, 201, "{group}");
    let cid = group["id"].as_str().unwrap().to_owned();
    let messages = format!("/conversations/{cid}/messages");
    for body in ["one", "two"] {
        let (status, _) = rest(
            reqwest::Method::POST,
            messages.clone(),
            Some(json!({"body": body})),
        )
        .await;
        assert_eq!(status, 201);
    }
    let changes = [
        (
            reqwest::Method::PATCH,
            format!("{messages}/1"),
            Some(json!({"body": "one!"})),
        ),
        (reqwest::Method::DELETE, format!("{messages}/2"), None),
        (
            reqwest::Method::PUT,
            format!("{messages}/1/reactions/%F0%9F%91%8D"),
            None,
        ),
        (
            reqwest::Method::POST,
            format!("/conversations/{cid}/members"),
            Some(json!({"user_id": "carol"})),
        ),
        (
            reqwest::Method::PATCH,
            format!("/conversations/{cid}"),
            Some(json!({"title": "renamed"})),
        ),
    ];
    for (method, path, body) in changes {
        let (status, answer) = rest(method, path, body).await;
        assert!(status == 200 || status == 201, "{status} {answer}");
    }

    let mut bob = Client::connect(&one.base, "bob").await;
    bob.send(json!({"type": "resume", "positions": {cid.clone(): 0}}))
        .await;
    let mut replayed = Vec::new();
    while replayed.len() < 7 {
        let event = bob.next_event().await;
        let seq = event["seq"]
            .as_u64()
            .or_else(|| event["message"]["seq"].as_u64());
        if let Some(seq) = seq {
            replayed.push((event["type"].as_str().unwrap().to_owned(), seq));
        }
    }
    let expected = [
        ("message", 1),
        ("message", 2),
        ("edited", 3),
        ("deleted", 4),
        ("reaction_added", 5),
        ("member_added", 6),
        ("renamed", 7),
    ]
    .map(|(kind, seq)| (kind.to_owned(), seq));
    assert_eq!(replayed, expected);

    let (status, _) = rest(
        reqwest::Method::PATCH,
        format!("{messages}/1"),
        Some(json!({"body": "one!!"})),
    )
    .await;
    assert_eq!(status, 200);
    let live = bob.next_of("edited").await;
    assert_eq!(
        (live["seq"].as_u64(), live["body"].as_str()),
        (Some(8), Some("one!!"))
    );
    database.drop_database().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn structured_messages_and_the_bot_cross_nodes() {
    let (database, [one, two]) = two_nodes(&["--bot", "echo-bot"]).await;
    let mut alice = Client::connect(&two.base, "alice").await;
    let mut bob = Client::connect(&two.base, "bob").await;

    let direct = open_direct(&one.base, "alice", "bob").await;
    let attachment = json!({"kind": "attachment", "payload":
        {"url": "https://files.example.com/a1", "size": 52133, "mime": "image/png", "name": "plan.png"}});
    let path = format!("/conversations/{direct}/messages");
    let body = json!({"body": "plan.png", "content": attachment});
    let (status, _) = call(reqwest::Method::POST, &one.base, "alice", &path, Some(body)).await;
    assert_eq!(status, 201);
    assert_eq!(bob.next_message().await["content"], attachment);

    // The node that stores a message runs its after_send hook: one answer.
    let with_bot = open_direct(&one.base, "alice", "echo-bot").await;
    let path = format!("/conversations/{with_bot}/messages");
    let (status, _) = call(
        reqwest::Method::POST,
        &one.base,
        "alice",
        &path,
        Some(json!({"body": "/help"})),
    )
    .await;
    assert_eq!(status, 201);
    let reply = loop {
        let message = alice.next_message().await;
        if message["sender"] == "echo-bot" {
            break message;
        }
    };
    assert_eq!(reply["content"]["kind"], "buttons");
    assert_eq!(reply["content"]["payload"]["choices"][0], "/upper hello");
    let answers = common::history(&two.base, "alice", &with_bot).await;
    let senders: Vec<&str> = answers
        .iter()
        .map(|m| m["sender"].as_str().unwrap())
        .collect();
    assert_eq!(
        senders,
        ["alice", "echo-bot"],
        "answered once, not once per node"
    );
    database.drop_database().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_senders_on_both_nodes_make_one_gap_free_order() {
    const SENDERS: usize = 20;
    const EACH: usize = 5;
    let (database, nodes) = two_nodes(&[]).await;
    let users: Vec<String> = (0..SENDERS).map(|i| format!("sender-{i:02}")).collect();
    let names: Vec<&str> = users.iter().map(String::as_str).collect();
    common::sign_in(&nodes[0].base, &names).await;
    let (status, group) = call(
        reqwest::Method::POST,
        &nodes[0].base,
        &users[0],
        "/conversations",
        Some(json!({"title": "load", "members": users})),
    )
    .await;
    assert_eq!(status, 201, "{group}");
    let cid = group["id"].as_str().unwrap().to_owned();

    let mut clients = Vec::new();
    for (i, user) in users.iter().enumerate() {
        let mut client = Client::connect(&nodes[i % 2].base, user).await;
        // The client says where it stands (nothing seen yet), so its socket
        // holds a seq that overtook an earlier one on the bus instead of
        // taking it as where the client's stream starts.
        client
            .send(json!({"type": "resume", "positions": {cid.as_str(): 0}}))
            .await;
        clients.push(client);
    }
    // Every member sends EACH messages at once, half of them through each node.
    let mut tasks = Vec::new();
    for (i, mut client) in clients.into_iter().enumerate() {
        let cid = cid.clone();
        tasks.push(tokio::spawn(async move {
            for k in 0..EACH {
                client
                    .send(json!({"type": "send", "conversation_id": cid, "body": format!("{i}-{k}"), "client_id": format!("{i}-{k}")}))
                    .await;
            }
            let total = SENDERS * EACH;
            let mut seqs = Vec::new();
            let mut acks = 0;
            while seqs.len() < total || acks < EACH {
                let event = client.next_event().await;
                match event["type"].as_str() {
                    Some("message") => seqs.push(event["message"]["seq"].as_u64().unwrap()),
                    Some("ack") => acks += 1,
                    Some("gap") => panic!("member {i} got a gap: {event}"),
                    _ => {}
                }
            }
            seqs
        }));
    }
    let total = u64::try_from(SENDERS * EACH).unwrap();
    for (i, task) in tasks.into_iter().enumerate() {
        let seqs = task.await.unwrap();
        assert_eq!(
            seqs,
            (1..=total).collect::<Vec<_>>(),
            "member {i}: every message once, in seq order"
        );
    }
    let (_, page) = call(
        reqwest::Method::GET,
        &nodes[1].base,
        &users[3],
        &format!("/conversations/{cid}/messages?after=0&limit=200"),
        None,
    )
    .await;
    let stored: Vec<u64> = page["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(
        stored,
        (1..=total).collect::<Vec<_>>(),
        "the store holds 1..N with no gap"
    );
    database.drop_database().await.unwrap();
}

/// Sends from `user` through `base` until `stop`, counting acknowledgements;
/// returns seq → message id of every acknowledged send.
async fn keep_sending(
    base: String,
    user: &'static str,
    cid: String,
    acks: tokio::sync::watch::Sender<usize>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> BTreeMap<u64, Value> {
    let mut acknowledged = BTreeMap::new();
    let path = format!("/conversations/{cid}/messages");
    for i in 0.. {
        if *stop.borrow_and_update() {
            break;
        }
        let body = json!({"body": format!("{user}-{i}"), "client_id": format!("{user}-{i}")});
        let (status, message) = call(reqwest::Method::POST, &base, user, &path, Some(body)).await;
        assert_eq!(
            status, 201,
            "sends are saved and acknowledged whatever Redis does: {message}"
        );
        acknowledged.insert(message["seq"].as_u64().unwrap(), message["id"].clone());
        acks.send_modify(|count| *count += 1);
    }
    acknowledged
}

/// Reads `cid` as a client must: keeps messages by seq and resumes from the
/// end of what it holds without a hole on every `gap`, until it holds `want`.
async fn read_until_complete(
    client: &mut Client,
    cid: &str,
    want: &BTreeMap<u64, Value>,
) -> (BTreeMap<u64, Value>, u32) {
    let mut seen: BTreeMap<u64, Value> = BTreeMap::new();
    let mut gaps = 0;
    while !want.keys().all(|seq| seen.contains_key(seq)) {
        let event = client.next_event().await;
        match event["type"].as_str() {
            Some("message") => {
                let seq = event["message"]["seq"].as_u64().unwrap();
                seen.insert(seq, event["message"]["id"].clone());
            }
            Some("gap") => {
                gaps += 1;
                let from = (1..)
                    .take_while(|seq| seen.contains_key(seq))
                    .last()
                    .unwrap_or(0);
                client
                    .send(json!({"type": "resume", "positions": {cid: from}}))
                    .await;
            }
            _ => {}
        }
    }
    (seen, gaps)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn acknowledged_messages_survive_a_redis_outage_under_load_and_resume_recovers_them() {
    let database = database().await;
    let redis = PrivateRedis::start().await.expect("redis-server installed");
    let prefix = prefix();
    let one = node(&database, &redis.url(), &prefix).await;
    let two = node(&database, &redis.url(), &prefix).await;
    common::sign_in(&one.base, &["bob", "carol", "dave"]).await;
    let (status, group) = call(
        reqwest::Method::POST,
        &one.base,
        "alice",
        "/conversations",
        Some(json!({"title": "outage", "members": ["bob", "carol", "dave"]})),
    )
    .await;
    assert_eq!(status, 201);
    let cid = group["id"].as_str().unwrap().to_owned();
    let mut carol = Client::connect(&one.base, "carol").await;
    let mut dave = Client::connect(&two.base, "dave").await;

    // alice sends through node one and bob through node two, without pause,
    // while Redis goes away and comes back.
    let (acks, mut acked) = tokio::sync::watch::channel(0_usize);
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let senders = [(one.base.clone(), "alice"), (two.base.clone(), "bob")].map(|(base, user)| {
        tokio::spawn(keep_sending(
            base,
            user,
            cid.clone(),
            acks.clone(),
            stopped.clone(),
        ))
    });
    let mut wait_for_acks = async |count: usize| {
        let target = *acked.borrow() + count;
        acked.wait_for(|acks| *acks >= target).await.unwrap();
    };
    wait_for_acks(20).await;
    let port = redis.kill().await.unwrap();
    wait_for_acks(20).await;
    let (status, health) = call(reqwest::Method::GET, &two.base, "bob", "/health", None).await;
    assert_eq!(
        (status, health["bus"].as_str()),
        (503, Some("unavailable")),
        "health cannot lie"
    );
    let _redis = PrivateRedis::start_on(port).await.unwrap();
    wait_for_acks(20).await;
    stop.send(true).unwrap();
    let mut acknowledged = BTreeMap::new();
    for sender in senders {
        acknowledged.extend(sender.await.unwrap());
    }
    let total = u64::try_from(acknowledged.len()).unwrap();
    assert_eq!(
        acknowledged.keys().copied().collect::<Vec<_>>(),
        (1..=total).collect::<Vec<_>>(),
        "every send was acknowledged with a seq, 1..N with no gap"
    );

    // Both readers end with every acknowledged message, each on its node.
    for (reader, node) in [(&mut carol, &one), (&mut dave, &two)] {
        let (seen, gaps) = read_until_complete(reader, &cid, &acknowledged).await;
        assert!(
            gaps >= 1,
            "the outage was announced as a gap on {}",
            node.base
        );
        assert_eq!(
            seen, acknowledged,
            "every acknowledged message reached the reader"
        );
        let stats = node.chat.hub().stats();
        assert!(
            stats.bus_gaps >= 1 && stats.gaps_announced >= 1,
            "{stats:?} on {}",
            node.base
        );
    }
    // Both nodes run in this test's process, so they share its metrics
    // recorder: each reconnected, so the process counted at least two.
    for (counter, least) in [
        ("chat_redis_reconnects_total", 2),
        ("chat_bus_gaps_total", 2),
        ("chat_gaps_announced_total", 2),
    ] {
        assert!(
            common::metric(&one.base, counter).await >= least,
            "{counter}"
        );
    }
    let stored = common::history(&two.base, "dave", &cid).await;
    assert_eq!(
        stored.len(),
        acknowledged.len(),
        "nothing acknowledged is missing from the store"
    );
    database.drop_database().await.unwrap();
}
