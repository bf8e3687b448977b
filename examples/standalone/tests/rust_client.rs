//! The Rust client (`chat-client`) against the real server, killed with
//! SIGKILL and restarted on the same file three times while alice sends
//! over REST and bob, on the client, sends too (some while the server is
//! down). Bob's client must end with every stored message exactly once and
//! in seq order, and every one of his sends stored exactly once.
//!
//! The client talks to a TCP proxy owned by the test, which forwards each
//! new connection to whichever server process runs now: the client keeps
//! one address across restarts, as it would behind a load balancer.

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use chat_client::{Client, ClientConfig, Event, SendState, StaticToken};
use chat_engine::protocol::ServerEvent;
use chat_engine::{ConversationId, NewMessage, Seq};
use common::{ServerProcess, call, history, open_direct, sign_in};
use serde_json::json;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// Messages alice sends over REST.
const ALICE: usize = 300;
/// Messages bob sends through the client after each kill, while the server is down.
const BOB_PER_KILL: usize = 20;
const KILLS: usize = 3;

/// Forwards each connection to the address `upstream` holds when it comes.
async fn proxy(upstream: watch::Receiver<String>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move {
        while let Ok((mut inbound, _)) = listener.accept().await {
            let target = upstream.borrow().clone();
            tokio::spawn(async move {
                if let Ok(mut outbound) = TcpStream::connect(target).await {
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                }
            });
        }
    });
    address
}

/// Alice sends `ALICE` messages over REST through the proxy, each with its
/// own client_id, retrying every one until the server answers it. Every
/// tenth she sends twice, as a client that gave up waiting would: the
/// server must store it once (and publish it again, which bob's socket
/// already has).
async fn alice_sends(base: String, direct: String) {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let sends = (0..ALICE).flat_map(|index| {
        let times = if index % 10 == 0 { 2 } else { 1 };
        std::iter::repeat_n(index, times)
    });
    for index in sends {
        let body = json!({"body": format!("alice {index}"), "client_id": format!("a-{index}")});
        loop {
            let answer = client
                .post(format!("http://{base}/conversations/{direct}/messages"))
                .bearer_auth("alice")
                .json(&body)
                .send()
                .await;
            match answer {
                Ok(response) if response.status().is_success() => break,
                // The server is down or restarting: try again shortly.
                _ => tokio::time::sleep(Duration::from_millis(20)).await,
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rust_client_sees_every_message_once_in_order_across_kills() {
    let dir = tempfile::tempdir().unwrap();
    let database = dir.path().join("chat.db");
    let flags = ["--send-rate", "0"];
    let mut server = Some(ServerProcess::start(&database, &flags).await);
    let (upstream, watched) = watch::channel(server.as_ref().unwrap().base.clone());
    let base = proxy(watched).await;
    sign_in(&base, &["alice", "bob"]).await;
    let direct = open_direct(&base, "alice", "bob").await;
    let conversation = ConversationId::new(direct.clone()).unwrap();

    let config = ClientConfig::new(format!("http://{base}"))
        .with_backoff(Duration::from_millis(20), Duration::from_millis(500));
    let mut bob = Client::start(config, StaticToken("bob".to_owned()));
    bob.follow(conversation.clone(), 0);
    let alice = tokio::spawn(alice_sends(base.clone(), direct.clone()));

    let total = ALICE + KILLS * BOB_PER_KILL;
    let mut seqs: Vec<Seq> = Vec::new();
    let mut keys: Vec<String> = Vec::new();
    let mut sends = Vec::new();
    let mut kills = 0;
    let (mut connects, mut disconnects) = (0, 0);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    while seqs.len() < total {
        let event = tokio::time::timeout_at(deadline, bob.next_event())
            .await
            .unwrap_or_else(|_| panic!("bob has {} of {total} messages", seqs.len()))
            .expect("the client runs");
        match event {
            Event::Timeline(ServerEvent::Message { message }) => {
                seqs.push(message.seq);
                keys.push(message.client_id.unwrap_or_default());
            }
            Event::Connected => connects += 1,
            Event::Disconnected { .. } => disconnects += 1,
            _ => {}
        }
        if kills < KILLS && seqs.len() >= (kills + 1) * ALICE / (KILLS + 1) {
            server.take().unwrap().kill().await;
            kills += 1;
            for index in 0..BOB_PER_KILL {
                let mut message = NewMessage::text(format!("bob {kills}.{index}"));
                message.client_id = Some(format!("b-{kills}-{index}"));
                sends.push(bob.send(&conversation, message).await);
            }
            let restarted = ServerProcess::start(&database, &flags).await;
            upstream.send_replace(restarted.base.clone());
            server = Some(restarted);
        }
    }
    alice.await.unwrap();
    for send in &mut sends {
        assert!(
            matches!(send.settled().await, SendState::Sent(_)),
            "{} was not stored",
            send.client_id
        );
    }

    // Exactly once, in order: seqs 1..=total with no repeat and no hole.
    let expected: Vec<Seq> = (1..=u64::try_from(total).unwrap()).collect();
    assert_eq!(
        seqs, expected,
        "bob's client saw seqs out of order, twice or not at all"
    );
    // Each send stored once, and the client saw what the store holds.
    let stored = history(&server.as_ref().unwrap().base, "bob", &direct).await;
    let stored_keys: Vec<String> = stored
        .iter()
        .map(|message| message["client_id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(stored_keys, keys);
    let distinct: BTreeSet<&String> = stored_keys.iter().collect();
    assert_eq!(distinct.len(), total, "a client_id stored twice");
    assert!(
        connects > KILLS && disconnects >= KILLS,
        "{connects} connects, {disconnects} disconnects"
    );
    eprintln!(
        "rust client: {KILLS} kills, {total} messages, {connects} connections: lost 0, duplicated 0"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_echo_bot_answers_over_the_network() {
    let dir = tempfile::tempdir().unwrap();
    let server = ServerProcess::start(&dir.path().join("chat.db"), &[]).await;
    let base = server.base.clone();
    // The bot, connected as a client of its own (what the echo-bot binary runs).
    let bot = Client::start(
        ClientConfig::new(format!("http://{base}")),
        StaticToken("echo-bot".to_owned()),
    );
    tokio::spawn(echo_bot::answer_over(
        bot,
        chat_engine::UserId::new("echo-bot").unwrap(),
    ));
    let direct = open_direct(&base, "alice", "echo-bot").await;
    let mut alice = common::Client::connect(&base, "alice").await;
    for (said, answer) in [("hello", "echo: hello"), ("/upper shout", "SHOUT")] {
        alice
            .send(json!({"type": "send", "conversation_id": direct, "body": said}))
            .await;
        let reply = loop {
            let message = alice.next_message().await;
            if message["sender"] == "echo-bot" {
                break message;
            }
        };
        assert_eq!(reply["body"], answer);
    }
}

/// Mints a token that lives two seconds at every call, and counts the calls.
#[derive(Debug)]
struct ShortLived {
    minter: chat_axum::JwtMinter,
    user: chat_engine::UserId,
    calls: std::sync::Arc<std::sync::atomic::AtomicU32>,
}

#[async_trait::async_trait]
impl chat_client::TokenProvider for ShortLived {
    async fn token(&self) -> Result<String, String> {
        self.calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let ttl = Duration::from_secs(2);
        Ok(self
            .minter
            .mint(&self.user, ttl, std::time::SystemTime::now()))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_whose_token_expires_comes_back_with_a_fresh_one() {
    const SECRET: &str = "a token secret of thirty-two bytes or more";
    let dir = tempfile::tempdir().unwrap();
    let server = ServerProcess::start(&dir.path().join("chat.db"), &["--secret", SECRET]).await;
    let minter = chat_axum::JwtMinter::hs256(SECRET.as_bytes()).unwrap();
    let long = |user: &str| {
        let user = chat_engine::UserId::new(user).unwrap();
        minter.mint(
            &user,
            Duration::from_secs(600),
            std::time::SystemTime::now(),
        )
    };
    let (alice_token, bob_token) = (long("alice"), long("bob"));
    // The common helpers' bearer is the token: here, signed ones.
    // Bob signs in (the directory knows him), alice opens their chat.
    let (status, _) = call(
        reqwest::Method::GET,
        &server.base,
        &bob_token,
        "/conversations",
        None,
    )
    .await;
    assert_eq!(status, 200);
    let (status, direct) = call(
        reqwest::Method::PUT,
        &server.base,
        &alice_token,
        "/direct/bob",
        None,
    )
    .await;
    assert_eq!(status, 200, "{direct}");
    let direct = direct["id"].as_str().unwrap().to_owned();

    let calls = std::sync::Arc::new(std::sync::atomic::AtomicU32::new(0));
    let tokens = ShortLived {
        minter: chat_axum::JwtMinter::hs256(SECRET.as_bytes()).unwrap(),
        user: chat_engine::UserId::new("bob").unwrap(),
        calls: std::sync::Arc::clone(&calls),
    };
    let config = ClientConfig::new(format!("http://{}", server.base))
        .with_backoff(Duration::from_millis(20), Duration::from_millis(200));
    let mut bob = Client::start(config, tokens);
    bob.follow(ConversationId::new(direct.clone()).unwrap(), 0);

    // Alice writes for about five seconds: bob's tokens expire on the way.
    let sender = {
        let (base, path, token) = (
            server.base.clone(),
            format!("/conversations/{direct}/messages"),
            alice_token.clone(),
        );
        tokio::spawn(async move {
            for index in 0..25 {
                let body = json!({"body": format!("tick {index}")});
                let (status, sent) =
                    call(reqwest::Method::POST, &base, &token, &path, Some(body)).await;
                assert_eq!(status, 201, "{sent}");
                // Paced, not synchronised: the sends spread over the tokens' lives.
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        })
    };
    let mut seqs = Vec::new();
    let mut expired = 0;
    while seqs.len() < 25 {
        let event = tokio::time::timeout(Duration::from_secs(30), bob.next_event())
            .await
            .unwrap_or_else(|_| panic!("bob has {} of 25 messages", seqs.len()))
            .unwrap();
        match event {
            Event::Timeline(ServerEvent::Message { message }) => seqs.push(message.seq),
            Event::Disconnected { reason } if reason.contains("4002") => expired += 1,
            _ => {}
        }
    }
    sender.await.unwrap();
    assert_eq!(seqs, (1..=25).collect::<Vec<Seq>>());
    assert!(expired >= 1, "no socket closed for an expired token");
    let asked = calls.load(std::sync::atomic::Ordering::SeqCst);
    assert!(
        asked > expired,
        "the provider was asked {asked} times for {expired} expiries"
    );
}
