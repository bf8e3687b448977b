//! The routing table in Redis (`CHAT_TEST_REDIS_URL`, default
//! `redis://127.0.0.1:6379`): a node that dies without unwatching (a crash:
//! the bus dropped, its tasks gone) leaves no route behind for longer than
//! its deadline and an interval; a node whose routes Redis lost puts them
//! back and reports a gap; a group message to users on two nodes is one
//! copy per node, and the publishing node's own copy skips Redis.

use std::time::Duration;

use chat_bus_redis::{RedisBus, RedisBusOptions};
use chat_engine::testkit::bus::{envelope, next_event};
use chat_engine::testkit::store::user;
use chat_engine::testkit::within;
use chat_engine::{Bus, Delivery};
use redis::AsyncCommands;

const INTERVAL: Duration = Duration::from_millis(100);

fn url() -> String {
    std::env::var("CHAT_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
}

fn options(prefix: &str) -> RedisBusOptions {
    RedisBusOptions::default()
        .with_prefix(prefix)
        .with_route_interval(INTERVAL)
}

async fn node(prefix: &str) -> RedisBus {
    RedisBus::connect(&url(), options(prefix)).await.unwrap_or_else(|error| {
        panic!("Redis is not reachable at {}: {error}. Start it (scripts/test does) or set CHAT_TEST_REDIS_URL", url())
    })
}

async fn redis() -> redis::aio::MultiplexedConnection {
    redis::Client::open(url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap()
}

fn prefix() -> String {
    format!("chat-test:{}:", uuid::Uuid::new_v4().simple())
}

/// Polls Redis until `check` holds: Redis tells nobody when a key changes.
async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    within(what, async {
        while !check().await {
            tokio::time::sleep(INTERVAL / 4).await;
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_node_leaves_no_route_behind() {
    let prefix = prefix();
    let dying = node(&prefix).await;
    let survivor = node(&prefix).await;
    dying.watch(&user("alice")).await.unwrap();
    dying.watch(&user("bob")).await.unwrap();
    survivor.watch(&user("bob")).await.unwrap();
    let mut redis = redis().await;
    let nodes: Vec<String> = redis
        .zrange(format!("{{{prefix}routes}}:nodes"), 0, -1)
        .await
        .unwrap();
    assert_eq!(nodes.len(), 2, "both nodes have an entry");
    let routes: Vec<String> = redis
        .smembers(format!("{{{prefix}routes}}:r:bob"))
        .await
        .unwrap();
    assert_eq!(routes.len(), 2, "bob is routed to both nodes");

    drop(dying); // no unwatch, no goodbye: as a crash
    let started = std::time::Instant::now();
    eventually("the dead node's routes swept", || {
        let mut redis = redis.clone();
        let prefix = prefix.clone();
        async move {
            let alice: Vec<String> = redis
                .smembers(format!("{{{prefix}routes}}:r:alice"))
                .await
                .unwrap();
            let bob: Vec<String> = redis
                .smembers(format!("{{{prefix}routes}}:r:bob"))
                .await
                .unwrap();
            let nodes: i64 = redis
                .zcard(format!("{{{prefix}routes}}:nodes"))
                .await
                .unwrap();
            alice.is_empty() && bob.len() == 1 && nodes == 1
        }
    })
    .await;
    let swept_after = started.elapsed();
    let leftovers: Vec<String> = redis
        .keys(format!("{{{prefix}routes}}:nu:*"))
        .await
        .unwrap();
    assert_eq!(
        leftovers.len(),
        1,
        "only the survivor's user set is left: {leftovers:?}"
    );
    println!(
        "a dead node's routes were swept {swept_after:?} after it died (deadline {:?}, interval {INTERVAL:?})",
        INTERVAL * 3
    );

    // The survivor still gets bob's events.
    let mut subscription = survivor.subscribe().await.unwrap();
    survivor
        .publish(envelope(&["bob"], "still here"))
        .await
        .unwrap();
    assert_eq!(
        next_event(&mut subscription).await.payload().as_ref(),
        b"still here"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn routes_redis_lost_are_put_back_and_reported_as_a_gap() {
    let prefix = prefix();
    let node = node(&prefix).await;
    let publisher = self::node(&prefix).await;
    let mut subscription = node.subscribe().await.unwrap();
    node.watch(&user("alice")).await.unwrap();
    let mut redis = redis().await;
    // As a Redis restart would: every key of this bus gone.
    let keys: Vec<String> = redis.keys(format!("*{prefix}*")).await.unwrap();
    let _: () = redis.del(keys).await.unwrap();
    match within("the gap", subscription.recv()).await {
        Some(Delivery::Gap) => {}
        other => panic!("expected a gap once the routes were put back, got {other:?}"),
    }
    let routes: Vec<String> = redis
        .smembers(format!("{{{prefix}routes}}:r:alice"))
        .await
        .unwrap();
    assert_eq!(routes.len(), 1, "alice's route is back");
    publisher
        .publish(envelope(&["alice"], "after"))
        .await
        .unwrap();
    assert_eq!(
        next_event(&mut subscription).await.payload().as_ref(),
        b"after"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_message_is_one_copy_per_node() {
    let prefix = prefix();
    let (one, two, publisher) = (
        node(&prefix).await,
        node(&prefix).await,
        node(&prefix).await,
    );
    let (mut on_one, mut on_two) = (
        one.subscribe().await.unwrap(),
        two.subscribe().await.unwrap(),
    );
    let members: Vec<String> = (0..20).map(|i| format!("member-{i}")).collect();
    for (index, member) in members.iter().enumerate() {
        let node = if index % 2 == 0 { &one } else { &two };
        node.watch(&user(member)).await.unwrap();
    }
    let names: Vec<&str> = members.iter().map(String::as_str).collect();
    publisher.publish(envelope(&names, "group")).await.unwrap();
    for subscription in [&mut on_one, &mut on_two] {
        let copy = next_event(subscription).await;
        let got: Vec<&str> = copy.recipients().iter().map(|u| u.as_str()).collect();
        assert_eq!(got, names, "one copy, naming every recipient once");
    }
    // Nothing else came: the next event on each node is the marker.
    publisher
        .publish(envelope(&["member-0", "member-1"], "marker"))
        .await
        .unwrap();
    assert_eq!(next_event(&mut on_one).await.payload().as_ref(), b"marker");
    assert_eq!(next_event(&mut on_two).await.payload().as_ref(), b"marker");
}

/// A publishing node hands its own copy to its subscribers without a
/// `PUBLISH`: what goes through Redis is only the other nodes' copies.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_publishing_node_s_own_copy_skips_redis() {
    use futures::StreamExt;
    let prefix = prefix();
    let (one, two) = (node(&prefix).await, node(&prefix).await);
    let (mut on_one, mut on_two) = (
        one.subscribe().await.unwrap(),
        two.subscribe().await.unwrap(),
    );
    one.watch(&user("alice")).await.unwrap();
    two.watch(&user("bob")).await.unwrap();
    let mut wire = redis::Client::open(url())
        .unwrap()
        .get_async_pubsub()
        .await
        .unwrap();
    wire.psubscribe(format!("{prefix}n:*")).await.unwrap();
    let mut wire = wire.into_on_message();

    one.publish(envelope(&["alice"], "local")).await.unwrap();
    assert_eq!(next_event(&mut on_one).await.payload().as_ref(), b"local");
    one.publish(envelope(&["alice", "bob"], "both"))
        .await
        .unwrap();
    assert_eq!(next_event(&mut on_one).await.payload().as_ref(), b"both");
    assert_eq!(next_event(&mut on_two).await.payload().as_ref(), b"both");

    // The first message on the wire is the copy for node two of "both":
    // "local" and node one's copy of "both" never went through Redis.
    let first = within("a copy on the wire", wire.next()).await.unwrap();
    let copy = chat_bus_redis::decode(first.get_payload_bytes()).unwrap();
    assert_eq!(copy.payload().as_ref(), b"both");
    let second = tokio::time::timeout(INTERVAL * 3, wire.next()).await;
    assert!(second.is_err(), "one copy on the wire, not {second:?}");
}
