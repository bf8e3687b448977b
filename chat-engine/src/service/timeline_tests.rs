//! Unit tests of the timeline's changes against a mocked store and the
//! recording bus of `tests.rs`: what the service checks before the store,
//! and which outcomes of the store are published.

use crate::bus::EventKind;
use crate::error::{ChatError, Refusal, StoreError};
use crate::store::MockStore;
use crate::timeline::{Change, Changed, Outcome, TimelineEvent};
use crate::{ConversationKind, UserId, time};

use super::tests::{RecordingBus, conversation_id, holding, room, service, user};

/// The store's answer to an edit of message 3 by alice, stored as seq 7.
fn edit_stored_as_seq_7(body: &str) -> TimelineEvent {
    TimelineEvent {
        conversation_id: conversation_id(),
        seq: 7,
        by: user("alice"),
        at: time::now(),
        client_id: Some("e-1".to_owned()),
        change: Change::Edited {
            message_seq: 3,
            body: body.to_owned(),
            content: None,
        },
    }
}

fn members(names: &[&str]) -> Vec<UserId> {
    names.iter().map(|name| user(name)).collect()
}

#[tokio::test]
async fn an_edit_publishes_the_stored_event_to_every_member() {
    let mut store = MockStore::new();
    store
        .expect_change()
        .withf(|change| {
            change.by == user("alice")
                && change.client_id.as_deref() == Some("e-1")
                && matches!(&change.change, Change::Edited { message_seq: 3, body, .. } if body == "fixed")
        })
        .times(1)
        .returning(|_| {
            Ok(Changed {
                outcome: Outcome::Applied(edit_stored_as_seq_7("fixed")),
                members: members(&["alice", "bob"]),
            })
        });
    let bus = RecordingBus::new();
    let chat = service(store, &bus).await;
    let changed = chat
        .edit(
            &user("alice"),
            &conversation_id(),
            3,
            "fixed".to_owned(),
            None,
            Some("e-1".to_owned()),
        )
        .await
        .unwrap();
    assert_eq!(changed.outcome.event().map(|event| event.seq), Some(7));
    let (envelope, event) = bus.only_event();
    assert_eq!(envelope.kind(), &EventKind::Change);
    assert_eq!(envelope.seq(), Some(7));
    assert_eq!(envelope.recipients(), members(&["alice", "bob"]));
    assert_eq!(event["type"], "edited");
    assert_eq!(event["seq"], 7);
    assert_eq!(event["message_seq"], 3);
    assert_eq!(event["body"], "fixed");
}

#[tokio::test]
async fn a_retried_change_is_published_again_and_an_unchanged_one_not_at_all() {
    let mut store = MockStore::new();
    let mut answers = vec![
        Outcome::Unchanged,
        Outcome::Repeated(edit_stored_as_seq_7("fixed")),
    ];
    store.expect_change().times(2).returning(move |_| {
        Ok(Changed {
            outcome: answers.pop().unwrap(),
            members: members(&["alice", "bob"]),
        })
    });
    let bus = RecordingBus::new();
    let chat = service(store, &bus).await;
    let (alice, id) = (user("alice"), conversation_id());
    let retry = || {
        chat.edit(
            &alice,
            &id,
            3,
            "fixed".to_owned(),
            None,
            Some("e-1".to_owned()),
        )
    };
    retry().await.unwrap();
    // A member who missed the first publish gets the stored event now.
    let (_, event) = bus.only_event();
    assert_eq!(
        (event["type"].as_str(), event["seq"].as_u64()),
        (Some("edited"), Some(7))
    );
    let unchanged = retry().await.unwrap();
    assert_eq!(unchanged.outcome, Outcome::Unchanged);
    assert_eq!(bus.published().len(), 1, "nothing more published");
}

#[tokio::test]
async fn refusals_of_the_store_publish_nothing_and_say_why() {
    for (refusal, code) in [
        (Refusal::NotTheSender, "forbidden"),
        (Refusal::MessageDeleted, "conflict"),
        (Refusal::UnknownMessage, "not_found"),
        (Refusal::NotAMember, "forbidden"),
    ] {
        let mut store = MockStore::new();
        store
            .expect_change()
            .times(1)
            .returning(move |_| Err(StoreError::Refused(refusal)));
        let bus = RecordingBus::new();
        let chat = service(store, &bus).await;
        let error = chat
            .delete(&user("mallory"), &conversation_id(), 3, None)
            .await
            .unwrap_err();
        assert_eq!(error.code(), code, "{refusal:?}: {error}");
        assert!(bus.published().is_empty(), "{refusal:?}: nothing published");
    }
}

#[tokio::test]
async fn bad_reactions_never_reach_the_store() {
    let mut store = MockStore::new();
    store.expect_change().times(0);
    let bus = RecordingBus::new();
    let chat = service(store, &bus).await;
    for reaction in [String::new(), "  ".to_owned(), "x".repeat(65)] {
        let add = chat
            .react(&user("bob"), &conversation_id(), 3, reaction.clone(), None)
            .await
            .unwrap_err();
        let remove = chat
            .unreact(&user("bob"), &conversation_id(), 3, reaction.clone(), None)
            .await
            .unwrap_err();
        for error in [add, remove] {
            assert!(
                matches!(
                    error,
                    ChatError::Invalid {
                        field: "reaction",
                        ..
                    }
                ),
                "{reaction:?}: {error:?}"
            );
        }
    }
    assert!(bus.published().is_empty());
}

#[tokio::test]
async fn a_direct_conversation_or_a_blank_title_is_not_renamed() {
    let mut direct = room(false, &["alice", "bob"]);
    direct.kind = ConversationKind::Direct;
    direct.title = None;
    let mut store = holding(direct);
    store.expect_change().times(0);
    let bus = RecordingBus::new();
    let chat = service(store, &bus).await;
    let direct = chat
        .rename(&user("alice"), &conversation_id(), "ours")
        .await
        .unwrap_err();
    assert_eq!(
        direct.to_string(),
        "invalid conversation_id: a direct conversation has no title"
    );
    let blank = chat
        .rename(&user("alice"), &conversation_id(), "   ")
        .await
        .unwrap_err();
    assert_eq!(blank.to_string(), "invalid title: must not be empty");
    assert!(bus.published().is_empty());
}

#[tokio::test]
async fn a_search_without_a_word_to_look_for_never_reaches_the_store() {
    let mut store = MockStore::new();
    store.expect_search().times(0);
    let bus = RecordingBus::new();
    let chat = service(store, &bus).await;
    for text in ["", "a b", "the and", &"long".repeat(100)] {
        let error = chat
            .search(&user("alice"), text, None, None)
            .await
            .unwrap_err();
        assert_eq!(error.code(), "invalid", "{text:?}: {error}");
    }
}
