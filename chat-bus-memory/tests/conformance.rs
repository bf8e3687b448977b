//! The shared Bus suite against the in-process bus: each test gets its own
//! network, and nodes made by one fixture share it.

use std::sync::Arc;

use chat_bus_memory::MemoryBus;
use chat_engine::Bus;
use chat_engine::testkit::BusFixture;

struct Network(MemoryBus);

impl BusFixture for Network {
    async fn node(&self) -> Arc<dyn Bus> {
        Arc::new(self.0.node())
    }

    async fn teardown(self) {}
}

async fn memory() -> Network {
    Network(MemoryBus::new())
}

chat_engine::bus_conformance!(memory);
