//! Fan-out: one message event delivered to N live local connections, timed
//! until every connection's outbound queue holds it.
//!
//! - `memory_bus_and_hub`: publish on the in-process bus; the hub's pump task
//!   delivers (includes one cross-thread wake-up per message).
//! - `hub_deliver`: the hub's delivery loop alone (what the pump runs).
//! - `raw_try_send`: the floor: `try_send(bytes.clone())` into N bounded
//!   queues, no lookup at all.
//!
//! After the timings, one delivery is run under a counting allocator and the
//! allocations per delivery are printed: the event is encoded once and
//! shared, so there is no per-recipient serialization.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use chat_benches::message_envelope;
use chat_bus_memory::MemoryBus;
use chat_engine::{Bus, ChatConfig, Connection, Envelope, Hub, Outbound, UserId};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};
use tokio::runtime::Runtime;
use tokio::sync::mpsc;

#[global_allocator]
static ALLOCATOR: &StatsAlloc<std::alloc::System> = &INSTRUMENTED_SYSTEM;

const SIZES: [usize; 5] = [1, 10, 100, 1_000, 10_000];

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap()
}

fn users(n: usize) -> Vec<UserId> {
    (0..n)
        .map(|i| UserId::new(format!("user-{i:06}")).unwrap())
        .collect()
}

struct Setup {
    bus: Arc<MemoryBus>,
    hub: Hub,
    connections: Vec<Connection>,
    envelope: Envelope,
}

fn setup(rt: &Runtime, n: usize) -> Setup {
    rt.block_on(async {
        let bus = Arc::new(MemoryBus::new());
        let config = ChatConfig::default().with_connection_queue(16);
        let hub = Hub::start(Arc::clone(&bus) as Arc<dyn Bus>, &config)
            .await
            .unwrap();
        let users = users(n);
        let mut connections = Vec::with_capacity(n);
        for user in &users {
            connections.push(hub.connect(user.clone()).await.unwrap());
        }
        Setup {
            bus,
            hub,
            connections,
            envelope: message_envelope(users),
        }
    })
}

async fn drain(connections: &mut [Connection]) {
    for connection in connections {
        match connection.next().await {
            Outbound::Event(_) => {}
            other => panic!("expected the event, got {other:?}"),
        }
    }
}

fn fanout(c: &mut Criterion) {
    let rt = runtime();
    let mut group = c.benchmark_group("fanout");
    group.measurement_time(Duration::from_secs(4));
    for n in SIZES {
        let mut s = setup(&rt, n);
        group.throughput(Throughput::Elements(n as u64));
        group.bench_with_input(BenchmarkId::new("memory_bus_and_hub", n), &n, |b, &n| {
            b.iter_custom(|iters| {
                rt.block_on(async {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        let target = s.hub.stats().delivered + n as u64;
                        let start = Instant::now();
                        s.bus.publish(s.envelope.clone()).await.unwrap();
                        while s.hub.stats().delivered < target {
                            tokio::task::yield_now().await;
                        }
                        total += start.elapsed();
                        drain(&mut s.connections).await;
                    }
                    total
                })
            });
        });
        group.bench_with_input(BenchmarkId::new("hub_deliver", n), &n, |b, _| {
            b.iter_custom(|iters| {
                rt.block_on(async {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        let start = Instant::now();
                        s.hub.deliver(&s.envelope);
                        total += start.elapsed();
                        drain(&mut s.connections).await;
                    }
                    total
                })
            });
        });
        let (senders, mut receivers): (Vec<_>, Vec<_>) =
            (0..n).map(|_| mpsc::channel::<Bytes>(16)).unzip();
        let bytes = s.envelope.payload().clone();
        group.bench_with_input(BenchmarkId::new("raw_try_send", n), &n, |b, _| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let start = Instant::now();
                    for sender in &senders {
                        sender.try_send(bytes.clone()).unwrap();
                    }
                    total += start.elapsed();
                    for receiver in &mut receivers {
                        receiver.try_recv().unwrap();
                    }
                }
                total
            });
        });
        report_allocations(&rt, &mut s, n);
    }
    group.finish();
}

/// Counts allocations of one hub delivery to `n` connections (after a
/// warm-up, so queue blocks already exist).
fn report_allocations(rt: &Runtime, s: &mut Setup, n: usize) {
    rt.block_on(async {
        for _ in 0..64 {
            s.hub.deliver(&s.envelope);
            drain(&mut s.connections).await;
        }
        let region = Region::new(ALLOCATOR);
        s.hub.deliver(&s.envelope);
        let stats = region.change();
        drain(&mut s.connections).await;
        println!(
            "fanout/allocations/{n}: {} allocations, {} bytes for {n} deliveries ({:.3} per delivery)",
            stats.allocations,
            stats.bytes_allocated,
            stats.allocations as f64 / n as f64
        );
    });
}

criterion_group!(benches, fanout);
criterion_main!(benches);
