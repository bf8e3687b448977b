//! The fan-out allocates nothing per recipient: one delivery of an event to
//! N live connections, counted by an instrumented allocator after a warm-up
//! (so the connections' queue blocks exist), costs the same few allocations
//! whatever N is. BENCHMARKS.md quotes this; this test is what checks it.

use std::sync::Arc;

use chat_benches::message_envelope;
use chat_bus_memory::MemoryBus;
use chat_engine::{Bus, ChatConfig, Connection, Hub, Outbound, UserId};
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

#[global_allocator]
static ALLOCATOR: &StatsAlloc<std::alloc::System> = &INSTRUMENTED_SYSTEM;

async fn drain(connections: &mut [Connection]) {
    for connection in connections {
        assert!(matches!(connection.next().await, Outbound::Event(_)));
    }
}

/// The fewest allocations one delivery to `n` connections made, over a few.
async fn allocations_of_one_delivery(n: usize) -> usize {
    let bus = Arc::new(MemoryBus::new());
    let config = ChatConfig::default().with_connection_queue(16);
    let hub = Hub::start(Arc::clone(&bus) as Arc<dyn Bus>, &config)
        .await
        .unwrap();
    let users: Vec<UserId> = (0..n)
        .map(|i| UserId::new(format!("user-{i:06}")).unwrap())
        .collect();
    let mut connections = Vec::with_capacity(n);
    for user in &users {
        connections.push(hub.connect(user.clone()).await.unwrap());
    }
    let envelope = message_envelope(users);
    for _ in 0..64 {
        hub.deliver(&envelope);
        drain(&mut connections).await;
    }
    let mut fewest = usize::MAX;
    for _ in 0..5 {
        let region = Region::new(ALLOCATOR);
        hub.deliver(&envelope);
        fewest = fewest.min(region.change().allocations);
        drain(&mut connections).await;
    }
    assert_eq!(hub.stats().dropped_messages, 0);
    fewest
}

#[tokio::test(flavor = "current_thread")]
async fn a_delivery_allocates_nothing_per_recipient() {
    for n in [1, 100, 1_000, 5_000] {
        let allocations = allocations_of_one_delivery(n).await;
        println!("{n} recipients: {allocations} allocations");
        // Grouping recipients by shard takes two vectors per event.
        assert!(
            allocations <= 2,
            "{n} recipients cost {allocations} allocations"
        );
    }
}
