//! Generated hostile input against a real server: random bodies on every JSON
//! route and random frames on a socket. The server answers each with a 4xx in
//! the error envelope (or a success), never a 5xx, and the socket stays up.

mod common;

use std::cell::{Cell, RefCell};

use chat_engine::ChatConfig;
use common::TestServer;
use futures::StreamExt;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

fn body_strategy() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        ".{0,24}".prop_map(Value::from),
    ];
    let keys = proptest::sample::select(
        &[
            "body",
            "client_id",
            "title",
            "members",
            "user_id",
            "seq",
            "type",
            "conversation_id",
            "positions",
        ][..],
    );
    let value = leaf.prop_recursive(4, 32, 6, move |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            proptest::collection::btree_map(keys.clone().prop_map(str::to_owned), inner, 0..6)
                .prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    });
    prop_oneof![
        3 => value.prop_map(|value| value.to_string()),
        1 => ".{0,64}",
    ]
}

/// A server without the send rate limit, so valid generated sends succeed.
async fn unlimited() -> TestServer {
    TestServer::start_configured(
        ChatConfig::default().with_rates(chat_engine::RateLimits::none()),
        chat_axum::WsConfig::default(),
    )
    .await
}

fn runner() -> TestRunner {
    TestRunner::new(Config {
        cases: 300,
        failure_persistence: None,
        ..Config::default()
    })
}

#[test]
fn random_bodies_on_every_json_route_get_4xx_never_5xx() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (server, cid) = runtime.block_on(async {
        let server = unlimited().await;
        let cid = server.direct("alice", "bob").await;
        (server, cid)
    });
    let routes = [
        "/conversations".to_owned(),
        format!("/conversations/{cid}/messages"),
        format!("/conversations/{cid}/read"),
        format!("/conversations/{cid}/members"),
    ];
    // The runner takes an `Fn`: the tallies live in cells.
    let statuses = RefCell::new(std::collections::BTreeMap::new());
    runner()
        .run(
            &(proptest::sample::select(routes.to_vec()), body_strategy()),
            |(route, body)| {
                let (status, answer) = runtime.block_on(server.request(
                    reqwest::Method::POST,
                    Some("alice"),
                    &route,
                    Some(body.clone().into()),
                ));
                *statuses.borrow_mut().entry(status).or_insert(0_u32) += 1;
                prop_assert!(status < 500, "{route} {body:?} -> {status} {answer}");
                if status >= 400 {
                    prop_assert!(answer["error"]["code"].is_string(), "{answer}");
                }
                Ok(())
            },
        )
        .unwrap();
    let statuses = statuses.into_inner();
    assert!(
        statuses.keys().any(|status| *status >= 400),
        "the generator reached the validation: {statuses:?}"
    );
}

#[test]
fn random_frames_get_error_frames_and_the_socket_lives_on() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (server, cid, socket) = runtime.block_on(async {
        let server = unlimited().await;
        let cid = server.direct("alice", "bob").await;
        let socket = server.ws("alice").await;
        (server, cid, RefCell::new(socket))
    });
    let answered = Cell::new(0_u32);
    runner()
        .run(&body_strategy(), |frame| {
            let mut socket = socket.borrow_mut();
            runtime.block_on(async {
                socket.send_raw(Message::text(frame.clone())).await;
                // A ping after each frame: its pong proves the session is alive
                // and that everything the frame caused has been written.
                socket
                    .send_raw(Message::Ping(b"probe".to_vec().into()))
                    .await;
                loop {
                    let message = tokio::time::timeout(common::WAIT, socket.stream.next())
                        .await
                        .expect("the socket answers")
                        .expect("the socket is open")
                        .expect("no socket error");
                    match message {
                        Message::Pong(payload) if payload.as_ref() == b"probe" => break,
                        Message::Text(text) => {
                            let event: Value = serde_json::from_str(&text).unwrap();
                            if event["type"] == "error" {
                                answered.set(answered.get() + 1);
                            }
                        }
                        _ => {}
                    }
                }
            });
            Ok(())
        })
        .unwrap();
    assert!(
        answered.get() > 0,
        "some frames were refused with an error frame"
    );
    let mut socket = socket.into_inner();
    runtime.block_on(async {
        socket
            .send(json!({"type": "send", "conversation_id": cid, "body": "still here", "client_id": "last"}))
            .await;
        let ack = socket.next_of("ack").await;
        assert_eq!(ack["client_id"], "last");
        drop(server);
    });
}
