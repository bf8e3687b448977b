//! Unit tests of the service against mockall mocks of Store and Bus: what
//! reaches the store and the bus, and what must not.

use std::sync::Arc;
use std::time::Duration;

use mockall::predicate::eq;
use tokio::sync::mpsc;

use super::*;
use std::sync::Mutex;

use serde_json::json;

use crate::bus::{Bus, Envelope, EventKind, Subscription};
use crate::error::{BusError, Refusal, StoreError};
use crate::store::MockStore;
use crate::{
    Appended, Change, Conversation, ConversationKind, Cursor, NewMessage, NewMessageRecord, Page,
    ReadMarkUpdate, RoomPage, Seq, time,
};

pub(super) fn user(name: &str) -> UserId {
    UserId::new(name).unwrap()
}

pub(super) fn conversation_id() -> ConversationId {
    ConversationId::new("c1").unwrap()
}

/// A bus that records every publish for assertions in the test body. A
/// mockall `MockBus` would check its expectations only when its last
/// reference drops, and that reference is the hub's watcher task, dropped
/// while the runtime shuts down, where a failed expectation is swallowed:
/// a publish that stopped happening would still pass.
#[derive(Debug)]
pub(super) struct RecordingBus {
    published: Mutex<Vec<Envelope>>,
    /// Publishes fail (after being recorded) when set.
    failing: bool,
    /// The subscription's sender, kept so the hub's pump stays alive.
    deliveries: Mutex<Option<mpsc::Sender<crate::Delivery>>>,
}

impl RecordingBus {
    pub(super) fn new() -> Arc<Self> {
        Self::with_failures(false)
    }

    fn failing() -> Arc<Self> {
        Self::with_failures(true)
    }

    fn with_failures(failing: bool) -> Arc<Self> {
        Arc::new(Self {
            published: Mutex::default(),
            failing,
            deliveries: Mutex::default(),
        })
    }

    /// Every envelope published so far.
    pub(super) fn published(&self) -> Vec<Envelope> {
        self.published.lock().unwrap().clone()
    }

    /// The one envelope published so far, decoded.
    pub(super) fn only_event(&self) -> (Envelope, serde_json::Value) {
        let published = self.published();
        assert_eq!(published.len(), 1, "exactly one publish: {published:?}");
        let envelope = published[0].clone();
        let event = serde_json::from_slice(envelope.payload()).unwrap();
        (envelope, event)
    }
}

#[async_trait::async_trait]
impl Bus for RecordingBus {
    async fn publish(&self, envelope: Envelope) -> Result<(), BusError> {
        self.published.lock().unwrap().push(envelope);
        if self.failing {
            return Err(BusError::Unavailable("connection refused".into()));
        }
        Ok(())
    }

    async fn watch(&self, _: &UserId) -> Result<(), BusError> {
        Ok(())
    }

    async fn unwatch(&self, _: &UserId) -> Result<(), BusError> {
        Ok(())
    }

    async fn subscribe(&self) -> Result<Subscription, BusError> {
        let (sender, receiver) = mpsc::channel(1);
        *self.deliveries.lock().unwrap() = Some(sender);
        Ok(Subscription::new(receiver))
    }
}

pub(super) async fn service(store: MockStore, bus: &Arc<RecordingBus>) -> ChatService {
    configured(store, bus, ChatConfig::default()).await
}

async fn configured(store: MockStore, bus: &Arc<RecordingBus>, config: ChatConfig) -> ChatService {
    let bus: Arc<dyn Bus> = bus.clone();
    ChatService::new(Arc::new(store), bus, config)
        .await
        .unwrap()
}

pub(super) fn stored(record: &NewMessageRecord, seq: Seq, members: &[&str]) -> Appended {
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
    let bus = RecordingBus::new();
    let chat = service(store, &bus).await;
    let err = chat
        .send(&user("mallory"), &conversation_id(), NewMessage::text("hi"))
        .await
        .unwrap_err();
    assert!(matches!(err, ChatError::Forbidden(_)), "{err:?}");
    assert_eq!(
        err.to_string(),
        "forbidden: not a member of conversation c1"
    );
    assert!(bus.published().is_empty(), "nothing published");
}

#[tokio::test]
async fn a_store_failure_publishes_nothing() {
    let mut store = MockStore::new();
    store
        .expect_append()
        .times(1)
        .returning(|_| Err(StoreError::Unavailable("database is locked".into())));
    let bus = RecordingBus::new();
    let chat = service(store, &bus).await;
    let err = chat
        .send(&user("alice"), &conversation_id(), NewMessage::text("hi"))
        .await
        .unwrap_err();
    assert!(err.is_retryable());
    assert_eq!(err.code(), "unavailable");
    assert!(bus.published().is_empty(), "nothing published");
}

#[tokio::test]
async fn the_published_event_carries_the_stored_seq_to_every_member() {
    let mut store = MockStore::new();
    store
        .expect_append()
        .times(1)
        .returning(|record| Ok(stored(&record, 42, &["alice", "bob"])));
    let bus = RecordingBus::new();
    let chat = service(store, &bus).await;
    let sent = chat
        .send(
            &user("alice"),
            &conversation_id(),
            NewMessage::text("hello"),
        )
        .await
        .unwrap();
    assert_eq!(sent.message.seq, 42);
    let (envelope, event) = bus.only_event();
    assert_eq!(envelope.seq(), Some(42));
    assert_eq!(envelope.kind(), &EventKind::Message);
    assert_eq!(envelope.recipients(), [user("alice"), user("bob")]);
    assert_eq!(event["type"], "message");
    assert_eq!(event["message"]["seq"], 42);
    assert_eq!(event["message"]["body"], "hello");
}

#[tokio::test]
async fn a_failed_publish_after_save_still_acknowledges_and_is_counted() {
    let mut store = MockStore::new();
    store
        .expect_append()
        .returning(|record| Ok(stored(&record, 1, &["alice", "bob"])));
    let bus = RecordingBus::failing();
    let chat = service(store, &bus).await;
    let sent = chat
        .send(&user("alice"), &conversation_id(), NewMessage::text("kept"))
        .await
        .unwrap();
    assert_eq!(sent.message.body, "kept");
    assert_eq!(bus.published().len(), 1, "the publish was tried once");
    assert_eq!(chat.publish_failures(), 1);
}

#[tokio::test]
async fn invalid_bodies_are_refused_before_any_store_call() {
    let mut store = MockStore::new();
    store.expect_members().times(0);
    store.expect_append().times(0);
    let bus = RecordingBus::new();
    let chat = service(store, &bus).await;
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
    assert!(bus.published().is_empty(), "nothing published");
}

#[tokio::test]
async fn sending_to_an_unknown_conversation_is_not_found() {
    let mut store = MockStore::new();
    store
        .expect_append()
        .times(1)
        .returning(|_| Err(StoreError::Refused(Refusal::UnknownConversation)));
    let bus = RecordingBus::new();
    let chat = service(store, &bus).await;
    let err = chat
        .send(&user("alice"), &conversation_id(), NewMessage::text("hi"))
        .await
        .unwrap_err();
    assert_eq!(err.to_string(), "conversation c1 not found");
    assert!(bus.published().is_empty(), "nothing published");
}

#[tokio::test]
async fn a_direct_conversation_with_oneself_is_invalid() {
    let mut store = MockStore::new();
    store.expect_open_direct().times(0);
    let bus = RecordingBus::new();
    let chat = service(store, &bus).await;
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
    assert!(bus.published().is_empty(), "nothing published");
}

#[tokio::test]
async fn groups_over_the_member_limit_are_refused() {
    let mut store = MockStore::new();
    store.expect_create_group().times(0);
    let bus = RecordingBus::new();
    let chat = configured(store, &bus, ChatConfig::default().with_max_group_members(3)).await;
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
    assert!(bus.published().is_empty(), "nothing published");
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
        owner: Some(user("alice")),
        admins: vec![],
        muted: vec![],
        members_can_add: false,
        created_at: time::now(),
        last_seq: 0,
    });
    store.expect_change().times(0);
    let bus = RecordingBus::new();
    let chat = service(store, &bus).await;
    let err = chat
        .remove_member(&user("alice"), &conversation_id(), &user("alice"))
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid user_id: the last member of a group cannot be removed"
    );
    assert!(bus.published().is_empty(), "nothing published");
}

#[tokio::test]
async fn a_refused_removal_publishes_nothing() {
    let mut store = holding(Conversation {
        id: conversation_id(),
        kind: ConversationKind::Group,
        title: Some("team".to_owned()),
        public: false,
        created_by: user("alice"),
        members: vec![user("alice"), user("bob"), user("carol")],
        owner: Some(user("alice")),
        admins: vec![],
        muted: vec![],
        members_can_add: false,
        created_at: time::now(),
        last_seq: 0,
    });
    // Who may remove whom is the store's to decide, in its transaction.
    store
        .expect_change()
        .times(1)
        .returning(|_| Err(StoreError::Refused(Refusal::NotAnAdmin)));
    let bus = RecordingBus::new();
    let chat = service(store, &bus).await;
    let err = chat
        .remove_member(&user("bob"), &conversation_id(), &user("carol"))
        .await
        .unwrap_err();
    assert!(matches!(err, ChatError::Forbidden(_)), "{err:?}");
    assert!(bus.published().is_empty(), "nothing published");
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
        .withf(|_, viewer, query| {
            *viewer == user("alice")
                && query.limit == 200
                && query.cursor == Cursor::Before(10)
                && query.thread.is_none()
        })
        .returning(|_, _, _| Ok(Page::default()));
    let bus = RecordingBus::new();
    let chat = service(store, &bus).await;
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
    let store = holding(room(false, &["alice", "bob", "carol"]));
    let bus = RecordingBus::new();
    let chat = service(store, &bus).await;
    chat.typing(&user("alice"), &conversation_id())
        .await
        .unwrap();
    let (envelope, event) = bus.only_event();
    assert_eq!(envelope.recipients(), [user("bob"), user("carol")]);
    assert_eq!(
        (envelope.seq(), envelope.kind()),
        (None, &EventKind::Typing)
    );
    assert_eq!(event["user_id"], "alice");
    // Within the typing interval a second notice reaches nobody.
    chat.typing(&user("alice"), &conversation_id())
        .await
        .unwrap();
    assert_eq!(bus.published().len(), 1, "throttled");
}

#[tokio::test]
async fn muted_and_blocked_members_type_to_nobody() {
    let mut muted = room(false, &["alice", "bob"]);
    muted.muted = vec![user("bob")];
    let bus = RecordingBus::new();
    let chat = service(holding(muted), &bus).await;
    let error = chat
        .typing(&user("bob"), &conversation_id())
        .await
        .unwrap_err();
    assert!(matches!(error, ChatError::Forbidden(_)), "{error:?}");

    let mut direct = room(false, &["alice", "bob"]);
    (direct.kind, direct.owner) = (ConversationKind::Direct, None);
    let mut store = holding(direct);
    store.expect_blocked_by().returning(|by| {
        Ok(if by.as_str() == "alice" {
            vec![user("bob")]
        } else {
            vec![]
        })
    });
    let chat = service(store, &bus).await;
    let error = chat
        .typing(&user("bob"), &conversation_id())
        .await
        .unwrap_err();
    assert!(matches!(error, ChatError::Forbidden(_)), "{error:?}");
    chat.typing(&user("alice"), &conversation_id())
        .await
        .unwrap();
    let (envelope, _) = bus.only_event();
    assert_eq!(
        envelope.recipients(),
        [user("bob")],
        "the blocker still types"
    );
}

#[tokio::test]
async fn a_send_past_the_rate_never_reaches_the_store_and_is_counted_and_bad_ones_cost_nothing() {
    let mut store = MockStore::new();
    store
        .expect_append()
        .times(2)
        .returning(|record| Ok(stored(&record, 1, &["alice", "bob"])));
    let bus = RecordingBus::new();
    let config =
        ChatConfig::default().with_rate(crate::Action::Send, Some(crate::Rate::per_second(1, 2)));
    let chat = configured(store, &bus, config).await;
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
    assert_eq!(
        bus.published().len(),
        2,
        "only the two stored sends were published"
    );
}

/// What a store answers for `change` applied with `seq`, naming `members`.
fn applied(change: &crate::NewChange, seq: Seq, members: &[&str]) -> crate::Changed {
    crate::Changed {
        outcome: crate::Outcome::Applied(crate::TimelineEvent {
            conversation_id: change.conversation_id.clone(),
            seq,
            by: change.by.clone(),
            at: change.at,
            client_id: change.client_id.clone(),
            change: change.change.clone(),
        }),
        members: members.iter().map(|m| user(m)).collect(),
    }
}

/// A store mock whose one conversation is `conversation`.
pub(super) fn holding(conversation: Conversation) -> MockStore {
    let mut store = MockStore::new();
    store
        .expect_conversation()
        .returning(move |_| Ok(Some(conversation.clone())));
    store
}

pub(super) fn room(public: bool, members: &[&str]) -> Conversation {
    Conversation {
        id: conversation_id(),
        kind: ConversationKind::Group,
        title: Some("lobby".to_owned()),
        public,
        created_by: user("alice"),
        members: members.iter().map(|m| user(m)).collect(),
        owner: Some(user("alice")),
        admins: vec![],
        muted: vec![],
        members_can_add: false,
        created_at: time::now(),
        last_seq: 0,
    }
}

#[tokio::test]
async fn joining_a_room_tells_its_members_and_the_joiner() {
    let mut store = holding(room(true, &["alice", "carol"]));
    // The store names the members after the add: dave joined meanwhile
    // and hears of bob too.
    store
        .expect_change()
        .withf(|change| {
            change.by == user("bob")
                && change.max_members == 1_000
                && change.change
                    == Change::MemberAdded {
                        user_id: user("bob"),
                    }
        })
        .times(1)
        .returning(|change| Ok(applied(&change, 5, &["alice", "bob", "carol", "dave"])));
    let bus = RecordingBus::new();
    let chat = service(store, &bus).await;
    let (joined, added) = chat
        .join_room(&user("bob"), &conversation_id())
        .await
        .unwrap();
    assert!(added);
    assert_eq!(
        joined.members,
        [user("alice"), user("bob"), user("carol"), user("dave")]
    );
    let (envelope, event) = bus.only_event();
    assert_eq!(
        envelope.recipients(),
        [user("alice"), user("bob"), user("carol"), user("dave")]
    );
    assert_eq!(envelope.kind(), &EventKind::MemberAdded(user("bob")));
    assert_eq!(
        (&event["type"], &event["user_id"], &event["by"]),
        (&json!("member_added"), &json!("bob"), &json!("bob"))
    );
}

#[tokio::test]
async fn a_full_room_refuses_the_joiner_and_tells_nobody() {
    let mut store = holding(room(true, &["alice"]));
    store
        .expect_change()
        .returning(|_| Err(StoreError::Refused(Refusal::Full)));
    let bus = RecordingBus::new();
    let chat = service(store, &bus).await;
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
    assert!(bus.published().is_empty(), "nothing published");
}

#[tokio::test]
async fn a_private_group_cannot_be_joined() {
    let mut store = holding(room(false, &["alice"]));
    store.expect_change().times(0);
    let bus = RecordingBus::new();
    let chat = service(store, &bus).await;
    let err = chat
        .join_room(&user("mallory"), &conversation_id())
        .await
        .unwrap_err();
    assert!(matches!(err, ChatError::Forbidden(_)), "{err:?}");
    assert!(bus.published().is_empty(), "nothing published");
}

#[tokio::test]
async fn the_last_member_of_a_room_may_leave() {
    let mut store = holding(room(true, &["alice"]));
    store
        .expect_change()
        .times(1)
        .returning(|change| Ok(applied(&change, 3, &["alice"])));
    let bus = RecordingBus::new();
    let chat = service(store, &bus).await;
    chat.remove_member(&user("alice"), &conversation_id(), &user("alice"))
        .await
        .unwrap();
    let (envelope, event) = bus.only_event();
    assert_eq!(
        envelope.recipients(),
        [user("alice")],
        "the leaver hears it too"
    );
    assert_eq!(envelope.kind(), &EventKind::MemberRemoved(user("alice")));
    assert_eq!(event["type"], "member_removed");
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
    let bus = RecordingBus::new();
    let chat = service(store, &bus).await;
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

#[tokio::test]
async fn a_read_mark_is_told_only_when_it_moves() {
    let mut store = MockStore::new();
    members_are(&mut store, &["alice", "bob"]);
    let mut marks = [
        ReadMarkUpdate {
            seq: 3,
            moved: true,
        },
        ReadMarkUpdate {
            seq: 3,
            moved: false,
        },
    ]
    .into_iter();
    store
        .expect_mark_read()
        .times(2)
        .returning(move |_, _, _| Ok(marks.next().expect("two marks")));
    let bus = RecordingBus::new();
    let chat = service(store, &bus).await;
    assert_eq!(
        chat.mark_read(&user("bob"), &conversation_id(), 3)
            .await
            .unwrap(),
        3
    );
    let (envelope, event) = bus.only_event();
    assert_eq!(envelope.kind(), &EventKind::Read);
    assert_eq!(envelope.recipients(), [user("alice"), user("bob")]);
    assert_eq!(
        (&event["user_id"], &event["seq"]),
        (&json!("bob"), &json!(3))
    );
    assert_eq!(
        chat.mark_read(&user("bob"), &conversation_id(), 2)
            .await
            .unwrap(),
        3
    );
    assert_eq!(
        bus.published().len(),
        1,
        "a mark that did not move is not told"
    );
}

#[tokio::test]
async fn creating_a_group_tells_each_invited_member_alone() {
    let mut store = MockStore::new();
    store.expect_create_group().times(1).returning(|group| {
        Ok(Conversation {
            id: group.id,
            kind: ConversationKind::Group,
            title: Some(group.title),
            public: group.public,
            created_by: group.created_by.clone(),
            members: group.members,
            owner: Some(group.created_by),
            admins: vec![],
            muted: vec![],
            members_can_add: group.members_can_add,
            created_at: group.created_at,
            last_seq: 0,
        })
    });
    let bus = RecordingBus::new();
    let chat = service(store, &bus).await;
    let created = chat
        .create_group(&user("alice"), "team", vec![user("bob"), user("carol")])
        .await
        .unwrap();
    let published = bus.published();
    let told: Vec<(Vec<UserId>, EventKind)> = published
        .iter()
        .map(|envelope| (envelope.recipients().to_vec(), envelope.kind().clone()))
        .collect();
    assert_eq!(
        told,
        [
            (vec![user("bob")], EventKind::MemberAdded(user("bob"))),
            (vec![user("carol")], EventKind::MemberAdded(user("carol"))),
        ],
        "one small event per invited member, the creator not among them"
    );
    assert!(published.iter().all(|e| e.conversation_id() == &created.id));
}
