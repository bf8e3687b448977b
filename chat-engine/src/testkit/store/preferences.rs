//! Preference cases: each member's settings are theirs and change field by
//! field; archived conversations leave the main list (and stay archived
//! when a message arrives, their unread count exact); pinned ones lead the
//! first page only, within the limit of pins.

use std::sync::Arc;

use super::{group, record, user};
use crate::{
    ActivityCursor, ConversationPage, ConversationQuery, MAX_PINNED, MuteChange, NotificationLevel,
    Preferences, PreferencesChange, Refusal, Store, StoreError, time,
};

async fn list(
    store: &dyn Store,
    name: &str,
    archived: bool,
    before: Option<ActivityCursor>,
    limit: u32,
) -> ConversationPage {
    store
        .conversations_of(ConversationQuery {
            user: user(name),
            before,
            limit,
            archived,
        })
        .await
        .expect("conversations_of")
}

/// Appends `body` from `sender`, stamped `seconds` after the test began:
/// activity times that never tie, without sleeping.
async fn append_at(
    store: &dyn Store,
    id: &crate::ConversationId,
    sender: &str,
    body: &str,
    seconds: i64,
) {
    let mut message = record(id, sender, body, None);
    message.created_at = time::now() + chrono::Duration::seconds(seconds);
    store.append(message).await.expect("append");
}

fn titles(page: &ConversationPage) -> Vec<String> {
    page.conversations
        .iter()
        .map(|summary| summary.conversation.title.clone().unwrap_or_default())
        .collect()
}

/// Preferences are per member and change only the fields named.
pub async fn preferences_are_each_members_own(store: Arc<dyn Store>) {
    let store = store.as_ref();
    let chat = group(store, "chat", &["alice", "bob"]).await;
    let until = time::now() + chrono::Duration::hours(8);
    let muted = store
        .set_preferences(
            &chat.id,
            &user("alice"),
            PreferencesChange {
                muted_until: Some(MuteChange::Until(until)),
                notifications: Some(NotificationLevel::Mentions),
                ..PreferencesChange::default()
            },
        )
        .await
        .unwrap()
        .expect("a member");
    let expected = Preferences {
        notifications: NotificationLevel::Mentions,
        muted_until: Some(until),
        archived: false,
        pinned: false,
    };
    assert_eq!(muted, expected);
    // Another field alone: the mute and the level stay.
    let archived = store
        .set_preferences(
            &chat.id,
            &user("alice"),
            PreferencesChange {
                archived: Some(true),
                ..PreferencesChange::default()
            },
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        archived,
        Preferences {
            archived: true,
            ..expected
        }
    );
    // Unmuting clears the time.
    let unmuted = store
        .set_preferences(
            &chat.id,
            &user("alice"),
            PreferencesChange {
                muted_until: Some(MuteChange::Unmute),
                ..PreferencesChange::default()
            },
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(unmuted.muted_until, None);
    assert!(unmuted.archived);
    // Bob's are untouched, and what the list shows.
    let bobs = list(store, "bob", false, None, 10).await;
    assert_eq!(bobs.conversations[0].preferences, Preferences::default());
    let alices = list(store, "alice", true, None, 10).await;
    assert_eq!(alices.conversations[0].preferences, unmuted);
    // Not a member: nothing to change.
    let stranger = store
        .set_preferences(
            &chat.id,
            &user("mallory"),
            PreferencesChange {
                pinned: Some(true),
                ..PreferencesChange::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(stranger, None);
}

/// An archived conversation is listed apart, stays archived when a message
/// comes, and its unread count is exact; unarchiving brings it back.
pub async fn archived_conversations_are_listed_apart(store: Arc<dyn Store>) {
    let store = store.as_ref();
    let kept = group(store, "kept", &["alice", "bob"]).await;
    let quiet = group(store, "quiet", &["alice", "bob"]).await;
    let archive = |archived| PreferencesChange {
        archived: Some(archived),
        ..PreferencesChange::default()
    };
    store
        .set_preferences(&quiet.id, &user("alice"), archive(true))
        .await
        .unwrap()
        .unwrap();
    append_at(store, &quiet.id, "bob", "still here?", 1).await;
    append_at(store, &quiet.id, "bob", "hello?", 2).await;
    append_at(store, &kept.id, "bob", "hi", 3).await;
    assert_eq!(
        titles(&list(store, "alice", false, None, 10).await),
        ["kept"]
    );
    let archived = list(store, "alice", true, None, 10).await;
    assert_eq!(titles(&archived), ["quiet"]);
    assert_eq!(
        archived.conversations[0].unread, 2,
        "a message does not unarchive"
    );
    // Bob archived nothing.
    assert_eq!(
        titles(&list(store, "bob", false, None, 10).await),
        ["kept", "quiet"]
    );
    store
        .set_preferences(&quiet.id, &user("alice"), archive(false))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        titles(&list(store, "alice", false, None, 10).await),
        ["kept", "quiet"]
    );
    assert!(
        list(store, "alice", true, None, 10)
            .await
            .conversations
            .is_empty()
    );
}

/// Pinned conversations lead the first page of the main list (beyond its
/// limit) and appear once in the whole walk; at most `MAX_PINNED` are.
pub async fn pinned_conversations_lead_the_first_page(store: Arc<dyn Store>) {
    let store = store.as_ref();
    let pin = PreferencesChange {
        pinned: Some(true),
        ..PreferencesChange::default()
    };
    let mut ids = Vec::new();
    for n in 0..5_i64 {
        let conversation = group(store, &format!("g{n}"), &["alice", "bob"]).await;
        append_at(store, &conversation.id, "bob", "hi", n + 1).await;
        ids.push(conversation.id);
    }
    // g0 is the oldest: pinned, it comes first anyway.
    store
        .set_preferences(&ids[0], &user("alice"), pin)
        .await
        .unwrap()
        .unwrap();
    let first = list(store, "alice", false, None, 2).await;
    assert_eq!(titles(&first), ["g0", "g4", "g3"]);
    assert!(first.conversations[0].preferences.pinned);
    let second = list(store, "alice", false, first.next.clone(), 2).await;
    assert_eq!(titles(&second), ["g2", "g1"]);
    assert!(!second.has_more, "g0 is not listed again");
    // Bob's list is by activity alone.
    assert_eq!(
        titles(&list(store, "bob", false, None, 10).await),
        ["g4", "g3", "g2", "g1", "g0"]
    );

    // The limit of pins.
    for n in 0..MAX_PINNED {
        let conversation = group(store, &format!("p{n}"), &["carol", "bob"]).await;
        let pinned = store
            .set_preferences(&conversation.id, &user("carol"), pin)
            .await;
        assert!(pinned.unwrap().unwrap().pinned);
    }
    let one_more = group(store, "one more", &["carol", "bob"]).await;
    let refused = store
        .set_preferences(&one_more.id, &user("carol"), pin)
        .await;
    assert!(
        matches!(refused, Err(StoreError::Refused(Refusal::TooManyPinned))),
        "{refused:?}"
    );
    let page = list(store, "carol", false, None, 1).await;
    assert_eq!(page.conversations.len(), MAX_PINNED + 1);
    assert!(!page.conversations[MAX_PINNED].preferences.pinned);
    // Pinning one already pinned is not one more.
    let first_pin = &page.conversations[0].conversation.id;
    assert!(
        store
            .set_preferences(first_pin, &user("carol"), pin)
            .await
            .unwrap()
            .unwrap()
            .pinned
    );
}
