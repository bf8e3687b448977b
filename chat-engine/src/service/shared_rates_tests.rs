//! The service with [`SharedRates`]: the shared counter decides while it
//! answers (refusing what this node alone would allow), and this node's own
//! limits decide while it cannot answer.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use super::tests::{RecordingBus, conversation_id, stored, user};
use crate::store::MockStore;
use crate::{
    Action, BoxError, Bus, ChatConfig, ChatError, ChatService, NewMessage, Rate, SharedRates,
};

/// Answers every take with `refuse` (a retry-after) or allows it, or fails
/// when `reachable` is false; counts the keys it was asked for.
#[derive(Debug)]
struct Counter {
    reachable: bool,
    refuse: Option<Duration>,
    asked: AtomicUsize,
}

#[async_trait::async_trait]
impl SharedRates for Counter {
    async fn take(&self, key: &str, rate: Rate) -> Result<Result<(), Duration>, BoxError> {
        assert_eq!(key, "send:alice", "the action and the user name the bucket");
        assert_eq!(rate, Rate::per_second(1, 2), "the configured rate");
        self.asked.fetch_add(1, Ordering::SeqCst);
        if !self.reachable {
            return Err("connection refused".into());
        }
        Ok(self.refuse.map_or(Ok(()), Err))
    }
}

async fn chat_with(counter: &Arc<Counter>, sends: usize) -> (ChatService, Arc<RecordingBus>) {
    let mut store = MockStore::new();
    store
        .expect_append()
        .times(sends)
        .returning(|record| Ok(stored(&record, 1, &["alice", "bob"])));
    let bus = RecordingBus::new();
    let config = ChatConfig::default().with_rate(Action::Send, Some(Rate::per_second(1, 2)));
    let shared: Arc<dyn SharedRates> = counter.clone();
    let chat = ChatService::builder(Arc::new(store), bus.clone() as Arc<dyn Bus>, config)
        .shared_rates(shared)
        .start()
        .await
        .unwrap();
    (chat, bus)
}

async fn send(chat: &ChatService) -> crate::Result<crate::Appended> {
    chat.send(&user("alice"), &conversation_id(), NewMessage::text("hi"))
        .await
}

#[tokio::test]
async fn the_shared_counter_refuses_what_this_node_would_allow() {
    let counter = Arc::new(Counter {
        reachable: true,
        refuse: Some(Duration::from_secs(7)),
        asked: AtomicUsize::new(0),
    });
    let (chat, bus) = chat_with(&counter, 0).await;
    let error = send(&chat).await.unwrap_err();
    assert!(
        matches!(error, ChatError::RateLimited { action: Action::Send, retry_after } if retry_after == Duration::from_secs(7)),
        "{error:?}"
    );
    assert_eq!(
        chat.rate_limited(Action::Send),
        1,
        "counted on this node too"
    );
    assert!(
        bus.published().is_empty(),
        "nothing stored, nothing published"
    );
}

#[tokio::test]
async fn an_allowing_counter_takes_no_local_token() {
    let counter = Arc::new(Counter {
        reachable: true,
        refuse: None,
        asked: AtomicUsize::new(0),
    });
    // Past this node's burst of 2: the cluster's counter decides.
    let (chat, _bus) = chat_with(&counter, 3).await;
    for _ in 0..3 {
        send(&chat).await.unwrap();
    }
    assert_eq!(counter.asked.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn an_unreachable_counter_leaves_this_nodes_limits() {
    let counter = Arc::new(Counter {
        reachable: false,
        refuse: None,
        asked: AtomicUsize::new(0),
    });
    let (chat, _bus) = chat_with(&counter, 2).await;
    for _ in 0..2 {
        send(&chat).await.unwrap();
    }
    let error = send(&chat).await.unwrap_err();
    assert_eq!(
        error.code(),
        "rate_limited",
        "this node's burst of 2 still holds"
    );
    assert_eq!(counter.asked.load(Ordering::SeqCst), 3);
}
