//! The shared Bus suite against the in-process bus: each test gets its own
//! network, and nodes made by one fixture share it.

use std::sync::Arc;

use chat_bus_memory::MemoryBus;
use chat_core::Bus;
use chat_core::testkit::BusFixture;

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

chat_core::bus_conformance!(memory);
