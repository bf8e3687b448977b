//! Redis goes away and comes back: a private redis-server on its own port
//! (so no other test is disturbed) is killed and restarted under a node.

use std::time::Duration;

use chat_bus_redis::testing::PrivateRedis;
use chat_bus_redis::{RedisBus, RedisBusOptions};
use chat_engine::testkit::bus::envelope;
use chat_engine::testkit::store::user;
use chat_engine::testkit::within;
use chat_engine::{Bus, Delivery};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_resubscribes_after_a_restart_and_reports_the_gap() {
    let redis = PrivateRedis::start().await.expect("redis-server installed");
    let options = RedisBusOptions::default()
        .with_prefix("restart:")
        .with_ping_interval(Duration::from_millis(100))
        .with_timeout(Duration::from_millis(500));
    let node = RedisBus::connect(&redis.url(), options.clone())
        .await
        .unwrap();
    let publisher = RedisBus::connect(&redis.url(), options).await.unwrap();
    let mut subscription = node.subscribe().await.unwrap();
    node.watch(&user("alice")).await.unwrap();
    publisher
        .publish(envelope(&["alice"], "before"))
        .await
        .unwrap();
    assert!(matches!(
        within("the first event", subscription.recv()).await,
        Some(Delivery::Event(_))
    ));
    node.health().await.expect("healthy while connected");

    let port = redis.kill().await.unwrap();
    within("the node to notice the outage", async {
        while node.health().await.is_ok() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    assert!(
        publisher
            .publish(envelope(&["alice"], "lost"))
            .await
            .is_err(),
        "publishing fails while Redis is down"
    );

    let redis = PrivateRedis::start_on(port).await.unwrap();
    assert_eq!(
        within("the gap after resubscribing", subscription.recv()).await,
        Some(Delivery::Gap),
        "a reconnect is announced as a gap"
    );
    // The publisher reconnects by itself; its first call after the outage may still fail.
    within("a publish to go through again", async {
        while publisher
            .publish(envelope(&["alice"], "after"))
            .await
            .is_err()
        {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    match within("the event after the restart", subscription.recv()).await {
        Some(Delivery::Event(event)) => assert_eq!(&event.payload()[..], b"after"),
        other => panic!("expected the event, got {other:?}"),
    }
    node.health().await.expect("healthy again");
    assert!(node.stats().reconnects >= 1);
    assert!(publisher.stats().publish_failures >= 1);
    drop(redis);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_healthy_subscription_survives_its_keepalive_pings() {
    let redis = PrivateRedis::start().await.expect("redis-server installed");
    let options = RedisBusOptions::default()
        .with_prefix("pings:")
        .with_ping_interval(Duration::from_millis(20));
    let node = RedisBus::connect(&redis.url(), options).await.unwrap();
    node.watch(&user("alice")).await.unwrap();
    // A dozen pings answered (read from the node's counter, which moves
    // at the ping interval: a real server's time, not a guess).
    within("a dozen pings", async {
        while node.stats().pings_answered < 12 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    node.health().await.expect("still healthy");
    assert_eq!(node.stats().reconnects, 0, "a ping answer is not a failure");
}
