//! Unit tests of the service against mockall mocks of Store and Bus: what
//! reaches the store and the bus, and what must not.

use std::sync::Arc;
use std::time::Duration;

use mockall::predicate::eq;
use tokio::sync::mpsc;

use super::*;
use crate::bus::{MockBus, Subscription};
use crate::error::{BusError, Refusal, StoreError};
use crate::store::MockStore;
use crate::{
    Appended, Conversation, ConversationKind, Cursor, NewMessage, NewMessageRecord, Page, RoomPage,
    Seq, time,
};

fn user(name: &str) -> UserId {
    UserId::new(name).unwrap()
}

fn conversation_id() -> ConversationId {
    ConversationId::new("c1").unwrap()
}

/// A bus mock whose subscription stays open for the whole test.
fn bus() -> (MockBus, mpsc::Sender<crate::Delivery>) {
    let (sender, receiver) = mpsc::channel(1);
    let mut bus = MockBus::new();
    let receiver = std::sync::Mutex::new(Some(receiver));
    bus.expect_subscribe().returning(move || {
        let receiver = receiver.lock().unwrap().take().expect("subscribed once");
        Ok(Subscription::new(receiver))
    });
    (bus, sender)
}

async fn service(store: MockStore, bus: MockBus) -> ChatService {
    ChatService::new(Arc::new(store), Arc::new(bus), ChatConfig::default())
        .await
        .unwrap()
}

fn stored(record: &NewMessageRecord, seq: Seq, members: &[&str]) -> Appended {
    Appended {
        message: record.to_message(seq),
        duplicate: false,
        members: members.iter().map(|m| user(m)).collect(),
    }
}

fn members_are(store: &mut MockStore, members: &[&str]) {
    let members: Vec<UserId> = members.iter().map(|m| user(m)).collect();
    store
        .expect_members()
        .with(eq(conversation_id()))
        .returning(move |_| Ok(Some(members.clone())));
}

#[tokio::test]
async fn a_send_the_store_refuses_publishes_nothing() {
    let mut store = MockStore::new();
    // Membership is checked by the append itself, in its transaction.
    store.expect_members().times(0);
    store
        .expect_append()
        .times(1)
        .returning(|_| Err(StoreError::Refused(Refusal::NotAMember)));
    let (mut bus, _keep) = bus();
    bus.expect_publish().times(0);
    let chat = service(store, bus).await;
    let err = chat
        .send(&user("mallory"), &conversation_id(), NewMessage::text("hi"))
        .await
        .unwrap_err();
    assert!(matches!(err, ChatError::Forbidden(_)), "{err:?}");
    assert_eq!(
        err.to_string(),
        "forbidden: not a member of conversation c1"
    );
}

#[tokio::test]
async fn a_store_failure_publishes_nothing() {
    let mut store = MockStore::new();
    store
        .expect_append()
        .times(1)
        .returning(|_| Err(StoreError::Unavailable("database is locked".into())));
    let (mut bus, _keep) = bus();
    bus.expect_publish().times(0);
    let chat = service(store, bus).await;
    let err = chat
        .send(&user("alice"), &conversation_id(), NewMessage::text("hi"))
        .await
        .unwrap_err();
    assert!(err.is_retryable());
    assert_eq!(err.code(), "unavailable");
}

#[tokio::test]
async fn the_published_event_carries_the_stored_seq_to_every_member() {
    let mut store = MockStore::new();
    store
        .expect_append()
        .times(1)
        .returning(|record| Ok(stored(&record, 42, &["alice", "bob"])));
    let (mut bus, _keep) = bus();
    bus.expect_publish()
        .times(1)
        .withf(|envelope| {
            let event: serde_json::Value = serde_json::from_slice(envelope.payload()).unwrap();
            envelope.seq() == Some(42)
                && envelope.recipients() == [user("alice"), user("bob")]
                && event["type"] == "message"
                && event["message"]["seq"] == 42
                && event["message"]["body"] == "hello"
        })
        .returning(|_| Ok(()));
    let chat = service(store, bus).await;
    let sent = chat
        .send(
            &user("alice"),
            &conversation_id(),
            NewMessage::text("hello"),
        )
        .await
        .unwrap();
    assert_eq!(sent.message.seq, 42);
}

#[tokio::test]
async fn a_failed_publish_after_save_still_acknowledges_and_is_counted() {
    let mut store = MockStore::new();
    store
        .expect_append()
        .returning(|record| Ok(stored(&record, 1, &["alice", "bob"])));
    let (mut bus, _keep) = bus();
    bus.expect_publish()
        .times(1)
        .returning(|_| Err(BusError::Unavailable("connection refused".into())));
    let chat = service(store, bus).await;
    let sent = chat
        .send(&user("alice"), &conversation_id(), NewMessage::text("kept"))
        .await
        .unwrap();
    assert_eq!(sent.message.body, "kept");
    assert_eq!(chat.publish_failures(), 1);
}

#[tokio::test]
async fn invalid_bodies_are_refused_before_any_store_call() {
    let mut store = MockStore::new();
    store.expect_members().times(0);
    store.expect_append().times(0);
    let (bus, _keep) = bus();
    let chat = service(store, bus).await;
    let alice = user("alice");
    let id = conversation_id();
    let empty = chat
        .send(&alice, &id, NewMessage::text(" \n\t"))
        .await
        .unwrap_err();
    assert_eq!(
        empty.to_string(),
        "invalid body: must contain at least one non-whitespace character"
    );
    let huge = NewMessage::text("x".repeat(16 * 1024 + 1));
    let err = chat.send(&alice, &id, huge).await.unwrap_err();
    assert!(
        matches!(
            err,
            ChatError::TooLarge {
                what: "body",
                size: 16385,
                limit: 16384
            }
        ),
        "{err:?}"
    );
    let long_key = NewMessage::text("ok").with_client_id("k".repeat(129));
    let err = chat.send(&alice, &id, long_key).await.unwrap_err();
    assert!(
        matches!(
            err,
            ChatError::Invalid {
                field: "client_id",
                ..
            }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn sending_to_an_unknown_conversation_is_not_found() {
    let mut store = MockStore::new();
    store
        .expect_append()
        .times(1)
        .returning(|_| Err(StoreError::Refused(Refusal::UnknownConversation)));
    let (mut bus, _keep) = bus();
    bus.expect_publish().times(0);
    let chat = service(store, bus).await;
    let err = chat
        .send(&user("alice"), &conversation_id(), NewMessage::text("hi"))
        .await
        .unwrap_err();
    assert_eq!(err.to_string(), "conversation c1 not found");
}

#[tokio::test]
async fn a_direct_conversation_with_oneself_is_invalid() {
    let mut store = MockStore::new();
    store.expect_open_direct().times(0);
    let (bus, _keep) = bus();
    let chat = service(store, bus).await;
    let err = chat
        .open_direct(&user("alice"), &user("alice"))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            ChatError::Invalid {
                field: "user_id",
                ..
            }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn groups_over_the_member_limit_are_refused() {
    let mut store = MockStore::new();
    store.expect_create_group().times(0);
    let (bus, _keep) = bus();
    let chat = ChatService::new(
        Arc::new(store),
        Arc::new(bus),
        ChatConfig::default().with_max_group_members(3),
    )
    .await
    .unwrap();
    let others = ["b", "c", "d"].iter().map(|m| user(m)).collect();
    let err = chat
        .create_group(&user("a"), "team", others)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            ChatError::TooLarge {
                what: "members",
                size: 4,
                limit: 3
            }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn the_last_member_of_a_group_cannot_be_removed() {
    let mut store = holding(Conversation {
        id: conversation_id(),
        kind: ConversationKind::Group,
        title: Some("solo".to_owned()),
        public: false,
        created_by: user("alice"),
        members: vec![user("alice")],
        created_at: time::now(),
        last_seq: 0,
    });
    store.expect_remove_member().times(0);
    let (mut bus, _keep) = bus();
    bus.expect_publish().times(0);
    let chat = service(store, bus).await;
    let err = chat
        .remove_member(&user("alice"), &conversation_id(), &user("alice"))
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid user_id: the last member of a group cannot be removed"
    );
}

#[tokio::test]
async fn only_the_creator_removes_others() {
    let mut store = holding(Conversation {
        id: conversation_id(),
        kind: ConversationKind::Group,
        title: Some("team".to_owned()),
        public: false,
        created_by: user("alice"),
        members: vec![user("alice"), user("bob"), user("carol")],
        created_at: time::now(),
        last_seq: 0,
    });
    store.expect_remove_member().times(0);
    let (bus, _keep) = bus();
    let chat = service(store, bus).await;
    let err = chat
        .remove_member(&user("bob"), &conversation_id(), &user("carol"))
        .await
        .unwrap_err();
    assert!(matches!(err, ChatError::Forbidden(_)), "{err:?}");
}

#[tokio::test]
async fn history_limits_are_capped_and_non_members_see_nothing() {
    let mut store = MockStore::new();
    store
        .expect_is_member()
        .returning(|_, member| Ok(member.as_str() == "alice"));
    store
        .expect_members()
        .returning(|_| Ok(Some(vec![user("alice")])));
    store
        .expect_history()
        .times(1)
        .withf(|_, query| query.limit == 200 && query.cursor == Cursor::Before(10))
        .returning(|_, _| Ok(Page::default()));
    let (bus, _keep) = bus();
    let chat = service(store, bus).await;
    let id = conversation_id();
    chat.history(&user("alice"), &id, Cursor::Before(10), Some(10_000))
        .await
        .unwrap();
    let err = chat
        .history(&user("eve"), &id, Cursor::Latest, None)
        .await
        .unwrap_err();
    assert!(matches!(err, ChatError::Forbidden(_)), "{err:?}");
    let zero = chat
        .history(&user("alice"), &id, Cursor::Latest, Some(0))
        .await;
    assert!(matches!(
        zero,
        Err(ChatError::Invalid { field: "limit", .. })
    ));
}

#[tokio::test]
async fn typing_is_published_to_the_other_members_only() {
    let mut store = MockStore::new();
    members_are(&mut store, &["alice", "bob", "carol"]);
    let (mut bus, _keep) = bus();
    bus.expect_publish()
        .times(1)
        .withf(|envelope| {
            envelope.recipients() == [user("bob"), user("carol")] && envelope.seq().is_none()
        })
        .returning(|_| Ok(()));
    let chat = service(store, bus).await;
    chat.typing(&user("alice"), &conversation_id())
        .await
        .unwrap();
}

#[tokio::test]
async fn a_send_past_the_rate_never_reaches_the_store_and_is_counted_and_bad_ones_cost_nothing() {
    let mut store = MockStore::new();
    store
        .expect_append()
        .times(2)
        .returning(|record| Ok(stored(&record, 1, &["alice", "bob"])));
    let (mut bus, _keep) = bus();
    bus.expect_publish().times(2).returning(|_| Ok(()));
    let config =
        ChatConfig::default().with_rate(crate::Action::Send, Some(crate::Rate::per_second(1, 2)));
    let chat = ChatService::new(Arc::new(store), Arc::new(bus), config)
        .await
        .unwrap();
    // A refused body uses no token: both sends of the burst still pass.
    let blank = chat
        .send(&user("alice"), &conversation_id(), NewMessage::text(" "))
        .await
        .unwrap_err();
    assert_eq!(blank.code(), "invalid");
    for _ in 0..2 {
        chat.send(&user("alice"), &conversation_id(), NewMessage::text("hi"))
            .await
            .unwrap();
    }
    let err = chat
        .send(&user("alice"), &conversation_id(), NewMessage::text("hi"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, ChatError::RateLimited { action: crate::Action::Send, retry_after } if retry_after <= Duration::from_secs(1)),
        "{err:?}"
    );
    assert_eq!(err.code(), "rate_limited");
    assert!(err.is_retryable());
    assert_eq!(chat.rate_limited(crate::Action::Send), 1);
}

/// A store mock whose one conversation is `conversation`.
fn holding(conversation: Conversation) -> MockStore {
    let mut store = MockStore::new();
    store
        .expect_conversation()
        .returning(move |_| Ok(Some(conversation.clone())));
    store
}

fn room(public: bool, members: &[&str]) -> Conversation {
    Conversation {
        id: conversation_id(),
        kind: ConversationKind::Group,
        title: Some("lobby".to_owned()),
        public,
        created_by: user("alice"),
        members: members.iter().map(|m| user(m)).collect(),
        created_at: time::now(),
        last_seq: 0,
    }
}

#[tokio::test]
async fn joining_a_room_tells_its_members_and_the_joiner() {
    let mut store = holding(room(true, &["alice", "carol"]));
    store
        .expect_add_member()
        .withf(|_, joiner, _, limit| *joiner == user("bob") && *limit == 1_000)
        .times(1)
        .returning(|_, _, _, _| Ok(true));
    // Read again after the add: dave joined meanwhile and hears of bob too.
    members_are(&mut store, &["alice", "bob", "carol", "dave"]);
    let (mut bus, _keep) = bus();
    bus.expect_publish()
        .withf(|envelope| {
            let event: serde_json::Value = serde_json::from_slice(envelope.payload()).unwrap();
            envelope.recipients() == [user("alice"), user("bob"), user("carol"), user("dave")]
                && event["type"] == "member_added"
                && event["user_id"] == "bob"
                && event["by"] == "bob"
        })
        .times(1)
        .returning(|_| Ok(()));
    let chat = service(store, bus).await;
    let (joined, added) = chat
        .join_room(&user("bob"), &conversation_id())
        .await
        .unwrap();
    assert!(added);
    assert_eq!(
        joined.members,
        [user("alice"), user("bob"), user("carol"), user("dave")]
    );
}

#[tokio::test]
async fn a_full_room_refuses_the_joiner_and_tells_nobody() {
    let mut store = holding(room(true, &["alice"]));
    store
        .expect_add_member()
        .returning(|_, _, _, _| Err(StoreError::Refused(Refusal::Full)));
    let (mut bus, _keep) = bus();
    bus.expect_publish().times(0);
    let chat = service(store, bus).await;
    let err = chat
        .join_room(&user("bob"), &conversation_id())
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            ChatError::TooLarge {
                what: "members",
                limit: 1_000,
                ..
            }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_private_group_cannot_be_joined() {
    let mut store = holding(room(false, &["alice"]));
    store.expect_add_member().times(0);
    let (mut bus, _keep) = bus();
    bus.expect_publish().times(0);
    let chat = service(store, bus).await;
    let err = chat
        .join_room(&user("mallory"), &conversation_id())
        .await
        .unwrap_err();
    assert!(matches!(err, ChatError::Forbidden(_)), "{err:?}");
}

#[tokio::test]
async fn the_last_member_of_a_room_may_leave() {
    let mut store = holding(room(true, &["alice"]));
    store
        .expect_remove_member()
        .times(1)
        .returning(|_, _| Ok(true));
    let (mut bus, _keep) = bus();
    bus.expect_publish().times(1).returning(|_| Ok(()));
    let chat = service(store, bus).await;
    chat.remove_member(&user("alice"), &conversation_id(), &user("alice"))
        .await
        .unwrap();
}

#[tokio::test]
async fn the_room_directory_trims_its_search_and_caps_its_page() {
    let mut store = MockStore::new();
    store
        .expect_rooms()
        .withf(|query| {
            query.search.as_deref() == Some("rust")
                && query.limit == 200
                && query.viewer == user("bob")
                && query.before.is_none()
        })
        .times(1)
        .returning(|_| Ok(RoomPage::default()));
    let (bus, _keep) = bus();
    let chat = service(store, bus).await;
    let page = chat
        .rooms(&user("bob"), Some("  rust "), None, Some(10_000))
        .await
        .unwrap();
    assert!(page.rooms.is_empty());
    let err = chat
        .rooms(&user("bob"), Some(&"x".repeat(257)), None, None)
        .await
        .unwrap_err();
    assert!(matches!(err, ChatError::Invalid { .. }), "{err:?}");
}
