//! The write path: `ChatService::send` with the in-process bus on the SQLite
//! store (a file, WAL, synchronous=NORMAL) and on MySQL/MariaDB
//! (`CHAT_TEST_MYSQL_URL`, default `mysql://root@127.0.0.1:3306/test`, a
//! fresh database; skipped with a message when unreachable): one sender's
//! latency, and the throughput of 64 concurrent senders into one
//! conversation and spread over 64 conversations, and of the store's
//! `append` alone.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chat_bus_memory::MemoryBus;
use chat_engine::{
    ChatConfig, ChatService, ConversationId, MessageId, NewMessage, NewMessageRecord, Store,
    UserId, time,
};
use chat_store_mysql::testing::{TestDatabase, server_url};
use chat_store_sqlite::SqliteStore;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use tokio::runtime::Runtime;

const SENDERS: usize = 64;
const PER_SENDER: usize = 16;

struct World {
    chat: ChatService,
    users: Vec<UserId>,
    shared: ConversationId,
    own: Vec<ConversationId>,
}

fn world(rt: &Runtime, store: Arc<dyn Store>) -> World {
    rt.block_on(async {
        let chat = ChatService::new(
            store,
            Arc::new(MemoryBus::new()),
            // Benchmarks send far faster than a person may.
            ChatConfig::default().with_rates(chat_engine::RateLimits::none()),
        )
        .await
        .unwrap();
        let users: Vec<UserId> = (0..SENDERS)
            .map(|i| UserId::new(format!("sender-{i:02}")).unwrap())
            .collect();
        let shared = chat
            .create_group(&users[0], "all", users.clone())
            .await
            .unwrap()
            .id;
        let mut own = Vec::new();
        for user in &users {
            own.push(chat.create_group(user, "mine", vec![]).await.unwrap().id);
        }
        World {
            chat,
            users,
            shared,
            own,
        }
    })
}

fn body() -> String {
    "a chat line of about one hundred and fifty bytes, which is what people type into a chat box on a normal day ok"
        .to_owned()
}

fn write_path(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("bench.db").display());
    let sqlite = rt.block_on(SqliteStore::connect(&url)).unwrap();
    bench_store(c, &rt, "write_path_sqlite", &world(&rt, Arc::new(sqlite)));
    match rt.block_on(TestDatabase::create()) {
        Ok(database) => {
            let mysql = rt.block_on(database.store()).unwrap();
            bench_store(c, &rt, "write_path_mysql", &world(&rt, Arc::new(mysql)));
            rt.block_on(database.drop_database()).unwrap();
        }
        Err(error) => eprintln!(
            "write_path_mysql: skipped, MariaDB/MySQL not reachable at {}: {error}",
            server_url()
        ),
    }
}

fn bench_store(c: &mut Criterion, rt: &Runtime, name: &str, w: &World) {
    let mut group = c.benchmark_group(name);
    group.measurement_time(Duration::from_secs(5));
    group.throughput(Throughput::Elements(1));
    group.bench_function("send_1_sender", |b| {
        b.iter(|| {
            rt.block_on(
                w.chat
                    .send(&w.users[0], &w.shared, NewMessage::text(body())),
            )
            .unwrap()
        });
    });
    group.throughput(Throughput::Elements((SENDERS * PER_SENDER) as u64));
    for (case, spread) in [
        ("64_senders_one_conversation", false),
        ("64_senders_64_conversations", true),
    ] {
        group.bench_function(BenchmarkId::new(case, SENDERS), |b| {
            b.iter_custom(|iters| {
                timed_senders(rt, iters, |i| {
                    let chat = w.chat.clone();
                    let user = w.users[i].clone();
                    let conversation = if spread { &w.own[i] } else { &w.shared }.clone();
                    async move {
                        chat.send(&user, &conversation, NewMessage::text(body()))
                            .await
                            .unwrap();
                    }
                })
            });
        });
    }
    // The store alone (no membership read, no publish): what group commit gives.
    group.bench_function(BenchmarkId::new("store_append_64_tasks", SENDERS), |b| {
        b.iter_custom(|iters| {
            timed_senders(rt, iters, |i| {
                let store = w.chat.store().clone();
                let record = NewMessageRecord {
                    id: MessageId::generate(),
                    conversation_id: w.own[i].clone(),
                    sender: w.users[i].clone(),
                    body: body(),
                    content: None,
                    client_id: None,
                    created_at: time::now(),
                    reply_to: None,
                    thread_root: None,
                    mentions: Vec::new(),
                    outbox_due: None,
                };
                async move {
                    store.append(record).await.unwrap();
                }
            })
        });
    });
    group.finish();
}

/// Runs [`SENDERS`] tasks `iters` times; task `i` awaits `PER_SENDER`
/// operations made by `operation(i)`, one after the other. Returns the
/// time from spawning to the last task's end, summed over the iterations.
fn timed_senders<F, Fut>(rt: &Runtime, iters: u64, operation: F) -> Duration
where
    F: Fn(usize) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    rt.block_on(async {
        let mut total = Duration::ZERO;
        for _ in 0..iters {
            let start = Instant::now();
            let tasks: Vec<_> = (0..SENDERS)
                .map(|i| {
                    let operations: Vec<Fut> = (0..PER_SENDER).map(|_| operation(i)).collect();
                    tokio::spawn(async move {
                        for operation in operations {
                            operation.await;
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
}

criterion_group!(benches, write_path);
criterion_main!(benches);
