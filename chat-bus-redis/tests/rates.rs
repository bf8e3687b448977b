//! Write rates shared by every node through Redis: what one node takes,
//! another cannot; each user and action has a bucket of its own; a bucket
//! refills at its rate. Against the real Redis named by
//! `CHAT_TEST_REDIS_URL` (default `redis://127.0.0.1:6379`), under a prefix
//! of its own.

use std::time::Duration;

use chat_bus_redis::{RedisBus, RedisBusOptions};
use chat_engine::{Rate, SharedRates};

async fn node(prefix: &str) -> RedisBus {
    let url = std::env::var("CHAT_TEST_REDIS_URL")
        .unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned());
    let options = RedisBusOptions::default().with_prefix(prefix.to_owned());
    RedisBus::connect(&url, options)
        .await
        .unwrap_or_else(|error| panic!("Redis is not reachable at {url}: {error}"))
}

#[tokio::test]
async fn nodes_share_each_bucket() {
    let prefix = format!("chat-test:{}:", uuid::Uuid::new_v4().simple());
    let (one, two) = (node(&prefix).await.rates(), node(&prefix).await.rates());
    let rate = Rate::per_minute(1, 3);
    for rates in [&one, &two, &one] {
        assert_eq!(rates.take("send:alice", rate).await.unwrap(), Ok(()));
    }
    // The burst of 3 is spent, across both nodes: the next waits about a
    // minute (one write's worth of refill), on either node.
    for rates in [&two, &one] {
        let wait = rates
            .take("send:alice", rate)
            .await
            .unwrap()
            .expect_err("over the rate");
        assert!(
            wait > Duration::from_secs(55) && wait <= Duration::from_secs(60),
            "{wait:?}"
        );
    }
    // Other users and other writes have buckets of their own.
    assert_eq!(two.take("send:bob", rate).await.unwrap(), Ok(()));
    assert_eq!(two.take("create:alice", rate).await.unwrap(), Ok(()));
}

#[tokio::test]
async fn a_bucket_refills_at_its_rate() {
    let prefix = format!("chat-test:{}:", uuid::Uuid::new_v4().simple());
    let rates = node(&prefix).await.rates();
    // 600 a minute: one every 100 ms, one at once.
    let rate = Rate::per_minute(600, 1);
    assert_eq!(rates.take("typing:alice", rate).await.unwrap(), Ok(()));
    let wait = rates
        .take("typing:alice", rate)
        .await
        .unwrap()
        .expect_err("the burst of one is spent");
    assert!(wait <= Duration::from_millis(100), "{wait:?}");
    tokio::time::sleep(wait).await;
    assert_eq!(
        rates.take("typing:alice", rate).await.unwrap(),
        Ok(()),
        "after the wait it said, a write is allowed"
    );
}
