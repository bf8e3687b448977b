//! The shared Bus suite against a real Redis Cluster of three masters
//! (`CHAT_TEST_REDIS_CLUSTER`: comma-separated seed URLs, default
//! `redis://127.0.0.1:7101,…7102,…7103`, the one `scripts/redis-cluster`
//! starts and `scripts/test` runs), each test under its own prefix: the same
//! cases as on one Redis, over sharded pub/sub.

use std::sync::Arc;

use chat_bus_redis::{RedisBus, RedisBusOptions};
use chat_engine::Bus;
use chat_engine::testkit::BusFixture;

struct Prefixed {
    nodes: Vec<String>,
    prefix: String,
}

impl BusFixture for Prefixed {
    async fn node(&self) -> Arc<dyn Bus> {
        let options = RedisBusOptions::default().with_prefix(self.prefix.clone());
        let seeds: Vec<&str> = self.nodes.iter().map(String::as_str).collect();
        match RedisBus::connect_cluster(&seeds, options).await {
            Ok(bus) => Arc::new(bus),
            Err(error) => panic!(
                "no Redis Cluster at {seeds:?}: {error}. Start one (scripts/redis-cluster; scripts/test does) or set CHAT_TEST_REDIS_CLUSTER"
            ),
        }
    }

    async fn teardown(self) {}
}

async fn redis_cluster() -> Prefixed {
    let nodes = std::env::var("CHAT_TEST_REDIS_CLUSTER").unwrap_or_else(|_| {
        "redis://127.0.0.1:7101,redis://127.0.0.1:7102,redis://127.0.0.1:7103".to_owned()
    });
    Prefixed {
        nodes: nodes.split(',').map(str::to_owned).collect(),
        prefix: format!("chat-test:{}:", uuid::Uuid::new_v4().simple()),
    }
}

chat_engine::bus_conformance!(redis_cluster);
