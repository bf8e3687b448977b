//! The Redis bus against the local Redis (`CHAT_BENCH_REDIS_URL`, default
//! `redis://127.0.0.1:6379`; skipped with a message when it is not there).
//!
//! - `redis_fanout/one_node/N`: publish one event for N recipients connected
//!   to one hub, timed until every connection's queue holds it. A group
//!   message is a read of the N recipients' routes (one pipeline), then one
//!   `PUBLISH` per node they are on (a second).
//! - `redis_fanout/two_nodes/N`: the same with the recipients split over two
//!   nodes (two buses and hubs in this process), published from the first.
//! - `redis_publish/64_tasks`: 64 tasks publish 1-recipient events (to a
//!   user nobody watches: a route read, nothing to send) as fast as they can
//!   on one node: bus events per second with the connection's automatic
//!   pipelining of concurrent commands.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chat_benches::message_envelope;
use chat_bus_redis::{RedisBus, RedisBusOptions};
use chat_engine::{Bus, ChatConfig, Connection, Envelope, Hub, Outbound, UserId};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use tokio::runtime::Runtime;

const SIZES: [usize; 5] = [1, 20, 100, 1_000, 10_000];
const PUBLISHERS: usize = 64;
const PER_PUBLISHER: usize = 256;

fn redis_url() -> String {
    std::env::var("CHAT_BENCH_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
}

/// One node: a Redis bus and its hub.
struct Node {
    bus: Arc<RedisBus>,
    hub: Hub,
}

async fn node(prefix: &str) -> Option<Node> {
    let options = RedisBusOptions::default().with_prefix(prefix);
    let bus = match RedisBus::connect(&redis_url(), options).await {
        Ok(bus) => Arc::new(bus),
        Err(error) => {
            eprintln!("redis_bus: skipped, no Redis at {}: {error}", redis_url());
            return None;
        }
    };
    let config = ChatConfig::default().with_connection_queue(16);
    let hub = Hub::start(Arc::clone(&bus) as Arc<dyn Bus>, &config)
        .await
        .unwrap();
    Some(Node { bus, hub })
}

fn delivered(nodes: &[&Node]) -> u64 {
    nodes.iter().map(|node| node.hub.stats().delivered).sum()
}

async fn drain(connections: &mut [Connection]) {
    for connection in connections {
        match connection.next().await {
            Outbound::Event(_) => {}
            other => panic!("expected the event, got {other:?}"),
        }
    }
}

/// Times `iters` publishes of `event` from `from` until `n` more deliveries
/// were counted over `nodes`.
async fn publish_and_wait(
    iters: u64,
    from: &Node,
    nodes: &[&Node],
    event: &Envelope,
    connections: &mut [Connection],
) -> Duration {
    let n = event.recipients().len() as u64;
    let mut total = Duration::ZERO;
    for _ in 0..iters {
        let target = delivered(nodes) + n;
        let start = Instant::now();
        from.bus.publish(event.clone()).await.unwrap();
        while delivered(nodes) < target {
            tokio::task::yield_now().await;
        }
        total += start.elapsed();
        drain(connections).await;
    }
    total
}

fn redis_bus(c: &mut Criterion) {
    let rt: Runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let prefix = format!("bench{}:", std::process::id());
    let Some((a, b)) = rt.block_on(async { Some((node(&prefix).await?, node(&prefix).await?)) })
    else {
        return;
    };
    let mut group = c.benchmark_group("redis_fanout");
    group.measurement_time(Duration::from_secs(4));
    for n in SIZES {
        let users: Vec<UserId> = (0..n)
            .map(|i| UserId::new(format!("user-{n}-{i}")).unwrap())
            .collect();
        let event = message_envelope(users.clone());
        group.throughput(Throughput::Elements(n as u64));
        let mut on_a = rt.block_on(async {
            let mut connections = Vec::new();
            for user in &users {
                connections.push(a.hub.connect(user.clone()).await.unwrap());
            }
            connections
        });
        group.bench_with_input(BenchmarkId::new("one_node", n), &n, |bench, _| {
            bench.iter_custom(|iters| {
                rt.block_on(publish_and_wait(iters, &a, &[&a], &event, &mut on_a))
            });
        });
        // Move every second user to node b.
        let mut split = rt.block_on(async {
            let mut connections = Vec::new();
            for (index, (user, connection)) in users.iter().zip(on_a).enumerate() {
                if index % 2 == 1 {
                    drop(connection);
                    connections.push(b.hub.connect(user.clone()).await.unwrap());
                } else {
                    connections.push(connection);
                }
            }
            connections
        });
        group.bench_with_input(BenchmarkId::new("two_nodes", n), &n, |bench, _| {
            bench.iter_custom(|iters| {
                rt.block_on(publish_and_wait(iters, &a, &[&a, &b], &event, &mut split))
            });
        });
    }
    group.finish();

    let mut group = c.benchmark_group("redis_publish");
    group.measurement_time(Duration::from_secs(5));
    group.throughput(Throughput::Elements((PUBLISHERS * PER_PUBLISHER) as u64));
    let nobody = message_envelope(vec![UserId::new("nobody-listens").unwrap()]);
    group.bench_function(BenchmarkId::new("events_64_tasks", PUBLISHERS), |bench| {
        bench.iter_custom(|iters| {
            rt.block_on(async {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let start = Instant::now();
                    let tasks: Vec<_> = (0..PUBLISHERS)
                        .map(|_| {
                            let (bus, event) = (Arc::clone(&a.bus), nobody.clone());
                            tokio::spawn(async move {
                                for _ in 0..PER_PUBLISHER {
                                    bus.publish(event.clone()).await.unwrap();
                                }
                            })
                        })
                        .collect();
                    for task in tasks {
                        task.await.unwrap();
                    }
                    total += start.elapsed();
                }
                total
            })
        });
    });
    group.finish();
}

criterion_group!(benches, redis_bus);
criterion_main!(benches);
