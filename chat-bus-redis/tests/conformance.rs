//! The shared Bus suite against the real Redis named by `CHAT_TEST_REDIS_URL`
//! (default `redis://127.0.0.1:6379`), each test under its own channel prefix.

use std::sync::Arc;

use chat_bus_redis::{RedisBus, RedisBusOptions};
use chat_engine::Bus;
use chat_engine::testkit::BusFixture;

struct Prefixed {
    url: String,
    prefix: String,
}

impl BusFixture for Prefixed {
    async fn node(&self) -> Arc<dyn Bus> {
        let options = RedisBusOptions::default().with_prefix(self.prefix.clone());
        match RedisBus::connect(&self.url, options).await {
            Ok(bus) => Arc::new(bus),
            Err(error) => panic!(
                "Redis is not reachable at {}: {error}. Start it (scripts/test does) or set CHAT_TEST_REDIS_URL",
                self.url
            ),
        }
    }

    async fn teardown(self) {}
}

async fn redis() -> Prefixed {
    Prefixed {
        url: std::env::var("CHAT_TEST_REDIS_URL")
            .unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned()),
        prefix: format!("chat-test:{}:", uuid::Uuid::new_v4().simple()),
    }
}

chat_engine::bus_conformance!(redis);
