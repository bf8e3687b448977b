//! The write path: `ChatService::send` on the SQLite store (a file, WAL,
//! synchronous=NORMAL) with the in-process bus: one sender's latency, and
//! the throughput of 64 concurrent senders into one conversation and spread
//! over 64 conversations.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chat_bus_memory::MemoryBus;
use chat_core::{ChatConfig, ChatService, ConversationId, NewMessage, UserId};
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
    _dir: tempfile::TempDir,
}

fn world(rt: &Runtime) -> World {
    rt.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("bench.db").display());
        let store = Arc::new(SqliteStore::connect(&url).await.unwrap());
        let chat = ChatService::new(store, Arc::new(MemoryBus::new()), ChatConfig::default())
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
            _dir: dir,
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
    let w = world(&rt);
    let mut group = c.benchmark_group("write_path_sqlite");
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
    for (name, spread) in [
        ("64_senders_one_conversation", false),
        ("64_senders_64_conversations", true),
    ] {
        group.bench_function(BenchmarkId::new(name, SENDERS), |b| {
            b.iter_custom(|iters| {
                rt.block_on(async {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        let start = Instant::now();
                        let tasks: Vec<_> = (0..SENDERS)
                            .map(|i| {
                                let chat = w.chat.clone();
                                let user = w.users[i].clone();
                                let conversation = if spread {
                                    w.own[i].clone()
                                } else {
                                    w.shared.clone()
                                };
                                tokio::spawn(async move {
                                    for _ in 0..PER_SENDER {
                                        chat.send(&user, &conversation, NewMessage::text(body()))
                                            .await
                                            .unwrap();
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
    }
    // The store alone (no membership read, no publish): what group commit gives.
    let store = w.chat.store().clone();
    group.bench_function(BenchmarkId::new("store_append_64_tasks", SENDERS), |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let start = Instant::now();
                    let tasks: Vec<_> = (0..SENDERS)
                        .map(|i| {
                            let store = store.clone();
                            let user = w.users[i].clone();
                            let conversation = w.own[i].clone();
                            tokio::spawn(async move {
                                for _ in 0..PER_SENDER {
                                    store
                                        .append(chat_core::NewMessageRecord {
                                            id: chat_core::MessageId::generate(),
                                            conversation_id: conversation.clone(),
                                            sender: user.clone(),
                                            body: body(),
                                            client_id: None,
                                            created_at: chat_core::time::now(),
                                        })
                                        .await
                                        .unwrap();
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

criterion_group!(benches, write_path);
criterion_main!(benches);
