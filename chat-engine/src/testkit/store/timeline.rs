//! Timeline cases: every change takes the conversation's next seq, retries
//! store once, refusals write nothing, a delete leaves no text behind, and
//! the timeline replays all of it in order.

use std::collections::BTreeSet;
use std::sync::Arc;

use super::{append, group, record, user};
use crate::testkit::StoreFixture;
use crate::{
    Change, Changed, ConversationId, Entry, HistoryQuery, NewChange, Outcome, Refusal, Seq, Store,
    StoreError, StoreResult, time,
};

/// `by` makes `change` in `conversation`, with an optional `client_id`.
///
/// # Errors
/// The store's refusal.
pub async fn make(
    store: &dyn Store,
    conversation: &ConversationId,
    by: &str,
    change: Change,
    client_id: Option<&str>,
) -> StoreResult<Changed> {
    store
        .change(NewChange {
            conversation_id: conversation.clone(),
            by: user(by),
            at: time::now(),
            client_id: client_id.map(str::to_owned),
            change,
            max_members: 100,
        })
        .await
}

/// The seq of an applied change.
///
/// # Panics
/// When the change was refused, repeated or unchanged.
pub async fn applied(
    store: &dyn Store,
    conversation: &ConversationId,
    by: &str,
    change: Change,
) -> Seq {
    match make(store, conversation, by, change, None).await {
        Ok(Changed {
            outcome: Outcome::Applied(event),
            ..
        }) => event.seq,
        other => panic!("expected an applied change, got {other:?}"),
    }
}

fn edit(message_seq: Seq, body: &str) -> Change {
    Change::Edited {
        message_seq,
        body: body.to_owned(),
        content: None,
    }
}

fn react(message_seq: Seq, reaction: &str) -> Change {
    Change::ReactionAdded {
        message_seq,
        reaction: reaction.to_owned(),
    }
}

pub(super) fn refusal(result: StoreResult<Changed>) -> Refusal {
    match result {
        Err(StoreError::Refused(refusal)) => refusal,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

async fn last_seq(store: &dyn Store, id: &ConversationId) -> Seq {
    store.conversation(id).await.unwrap().unwrap().last_seq
}

/// Messages, edits and reactions made at once from many tasks share one
/// gap-free seq stream, and the timeline replays every one of them.
pub async fn changes_share_the_gap_free_seq(store: Arc<dyn Store>) {
    let conversation = group(&*store, "g", &["alice", "bob"]).await;
    let id = conversation.id.clone();
    for i in 1..=10 {
        append(&*store, &id, "alice", &format!("seed {i}")).await;
    }
    let tasks: Vec<_> = (0..50_u64)
        .map(|i| {
            let (store, id) = (store.clone(), id.clone());
            tokio::spawn(async move {
                let target = i % 10 + 1;
                match i % 3 {
                    0 => {
                        append(&*store, &id, "bob", &format!("m{i}"))
                            .await
                            .message
                            .seq
                    }
                    1 => applied(&*store, &id, "alice", edit(target, &format!("e{i}"))).await,
                    _ => applied(&*store, &id, "bob", react(target, &format!("r{i}"))).await,
                }
            })
        })
        .collect();
    let mut seqs = BTreeSet::new();
    for task in tasks {
        assert!(seqs.insert(task.await.unwrap()), "a seq was given twice");
    }
    assert_eq!(seqs, (11..=60).collect(), "the changes took 11..=60");
    assert_eq!(last_seq(&*store, &id).await, 60);
    let page = store.timeline(&id, &user("bob"), 0, 100).await.unwrap();
    let replayed: Vec<Seq> = page.entries.iter().map(Entry::seq).collect();
    assert_eq!(replayed, (1..=60).collect::<Vec<_>>());
    assert!(!page.has_more);
}

/// A retried change (same `client_id`) returns the stored event and takes
/// no seq, also when retries race, and also for a delete whose message is
/// gone by the retry.
pub async fn change_retries_return_the_stored_event(store: Arc<dyn Store>) {
    let conversation = group(&*store, "g", &["alice", "bob"]).await;
    let id = conversation.id.clone();
    let hello = append(&*store, &id, "alice", "hello").await.message;
    let first = hello.seq;
    let edited = make(&*store, &id, "alice", edit(first, "hi"), Some("e1"))
        .await
        .unwrap();
    let again = make(&*store, &id, "alice", edit(first, "other"), Some("e1"))
        .await
        .unwrap();
    let Outcome::Applied(event) = edited.outcome else {
        panic!("the first edit applies")
    };
    assert_eq!(again.outcome, Outcome::Repeated(event.clone()));
    assert_eq!(event.client_id.as_deref(), Some("e1"));
    let message = store
        .message(&hello.id, &user("alice"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(message.body, "hi", "the retry changed nothing");
    // The same client_id for another change is a client's mistake: refused,
    // nothing written.
    let before = last_seq(&*store, &id).await;
    let reused = make(
        &*store,
        &id,
        "alice",
        Change::Deleted { message_seq: first },
        Some("e1"),
    )
    .await;
    assert_eq!(refusal(reused), Refusal::ClientIdReused);
    let reused = make(&*store, &id, "alice", react(first, "🎉"), Some("e1")).await;
    assert_eq!(refusal(reused), Refusal::ClientIdReused);
    assert_eq!(last_seq(&*store, &id).await, before, "no seq taken");

    let racers: Vec<_> = (0..8)
        .map(|_| {
            let (store, id) = (store.clone(), id.clone());
            tokio::spawn(async move {
                make(&*store, &id, "bob", react(first, "👍"), Some("r1"))
                    .await
                    .unwrap()
                    .outcome
            })
        })
        .collect();
    let mut applied_once = 0;
    for racer in racers {
        match racer.await.unwrap() {
            Outcome::Applied(_) => applied_once += 1,
            Outcome::Repeated(event) => assert_eq!(event.client_id.as_deref(), Some("r1")),
            Outcome::Unchanged => panic!("a retry is a repeat, not a no-op"),
        }
    }
    assert_eq!(applied_once, 1, "one of the racing retries applies");

    let delete = Change::Deleted { message_seq: first };
    let deleted = make(&*store, &id, "alice", delete.clone(), Some("d1")).await;
    let retried = make(&*store, &id, "alice", delete, Some("d1")).await;
    assert_eq!(
        retried.unwrap().outcome,
        Outcome::Repeated(deleted.unwrap().outcome.event().unwrap().clone()),
        "a retried delete is answered, not refused as deleted"
    );
    assert_eq!(
        last_seq(&*store, &id).await,
        4,
        "message, edit, reaction, delete"
    );
}

/// Only the sender edits or deletes, only members change anything, a
/// deleted or unknown message takes no change, and refusals take no seq.
/// An edit sets the text, `edited_at` and `updated_seq`; a delete leaves a
/// tombstone without text, content, reactions or pin.
pub async fn edit_and_delete_rules(store: Arc<dyn Store>) {
    let conversation = group(&*store, "g", &["alice", "bob"]).await;
    let id = &conversation.id;
    let store = &*store;
    let hello = append(store, id, "alice", "hello").await.message;
    let first = hello.seq;
    let refused = [
        (
            make(store, id, "bob", edit(first, "x"), None).await,
            Refusal::NotTheSender,
        ),
        (
            make(
                store,
                id,
                "bob",
                Change::Deleted { message_seq: first },
                None,
            )
            .await,
            Refusal::NotTheSender,
        ),
        (
            make(store, id, "alice", edit(99, "x"), None).await,
            Refusal::UnknownMessage,
        ),
        (
            make(store, id, "carol", react(first, "👍"), None).await,
            Refusal::NotAMember,
        ),
        (
            make(
                store,
                &ConversationId::generate(),
                "alice",
                edit(first, "x"),
                None,
            )
            .await,
            Refusal::UnknownConversation,
        ),
    ];
    for (result, expected) in refused {
        assert_eq!(refusal(result), expected);
    }
    assert_eq!(last_seq(store, id).await, 1, "refusals take no seq");

    let edit_seq = applied(store, id, "alice", edit(first, "hello, edited")).await;
    applied(store, id, "bob", react(first, "👍")).await;
    applied(store, id, "bob", Change::Pinned { message_seq: first }).await;
    let message_id = hello.id;
    let message = store
        .message(&message_id, &user("alice"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(message.body, "hello, edited");
    assert!(message.edited_at.is_some());
    assert_eq!(
        message.updated_seq,
        edit_seq + 1,
        "the reaction touched it last"
    );
    assert_eq!(message.reactions.len(), 1);

    let delete_seq = applied(store, id, "alice", Change::Deleted { message_seq: first }).await;
    let tombstone = store
        .message(&message_id, &user("alice"))
        .await
        .unwrap()
        .unwrap();
    assert!(tombstone.deleted);
    assert_eq!(tombstone.body, "");
    assert_eq!(tombstone.content, None);
    assert!(tombstone.reactions.is_empty());
    assert_eq!(tombstone.updated_seq, delete_seq);
    assert!(store.pins(id, &user("bob")).await.unwrap().is_empty());
    for change in [
        edit(first, "again"),
        react(first, "🎉"),
        Change::Pinned { message_seq: first },
    ] {
        assert_eq!(
            refusal(make(store, id, "alice", change, None).await),
            Refusal::MessageDeleted
        );
    }
    let history = store
        .history(id, &user("bob"), HistoryQuery::latest(10))
        .await
        .unwrap();
    assert_eq!(
        history.messages,
        vec![tombstone],
        "history shows the tombstone"
    );
    let after = append(store, id, "bob", "after the newest message was deleted").await;
    assert_eq!(after.message.seq, delete_seq + 1);
}

/// After a delete, neither the message's text nor its edits' is anywhere
/// in storage (tables or search index), and search no longer finds it.
pub async fn delete_wipes_the_text(fixture: &impl StoreFixture) {
    let store = fixture.store();
    let conversation = group(&*store, "g", &["alice", "bob"]).await;
    let id = &conversation.id;
    let mut first = record(id, "alice", "zebracorn original words", None);
    first.content = Some(crate::Content {
        kind: "card".to_owned(),
        payload: serde_json::json!({"note": "zebracorn in content"}),
    });
    let seq = store.append(first).await.unwrap().message.seq;
    applied(&*store, id, "alice", edit(seq, "quokkafish revised words")).await;
    assert!(
        !fixture.where_stored("quokkafish").await.is_empty(),
        "the probe finds a stored text"
    );
    applied(&*store, id, "alice", Change::Deleted { message_seq: seq }).await;
    for text in ["zebracorn", "quokkafish"] {
        assert_eq!(
            fixture.where_stored(text).await,
            Vec::<String>::new(),
            "{text} is still stored"
        );
    }
    let found = store
        .search(crate::SearchQuery {
            user: user("bob"),
            words: vec!["quokkafish".to_owned()],
            before: None,
            limit: 10,
        })
        .await
        .unwrap();
    assert!(found.messages.is_empty());
}

/// Each member counts once per reaction however often and concurrently
/// they add it; a reaction not there is removed as a no-op; reactions list
/// in first-use order and say which are the viewer's.
pub async fn reactions_count_each_member_once(store: Arc<dyn Store>) {
    let members: [&'static str; 4] = ["alice", "bob", "carol", "dave"];
    let conversation = group(&*store, "g", &members).await;
    let id = conversation.id.clone();
    let seq = append(&*store, &id, "alice", "vote").await.message.seq;
    let tasks: Vec<_> = members
        .iter()
        .flat_map(|member| [*member, *member])
        .map(|member| {
            let (store, id) = (store.clone(), id.clone());
            tokio::spawn(async move {
                make(&*store, &id, member, react(seq, "👍"), None)
                    .await
                    .unwrap()
                    .outcome
            })
        })
        .collect();
    let mut applied_count = 0;
    for task in tasks {
        if matches!(task.await.unwrap(), Outcome::Applied(_)) {
            applied_count += 1;
        }
    }
    assert_eq!(applied_count, 4, "one reaction per member");
    applied(&*store, &id, "bob", react(seq, "🎉")).await;
    let removed = Change::ReactionRemoved {
        message_seq: seq,
        reaction: "👍".to_owned(),
    };
    applied(&*store, &id, "carol", removed.clone()).await;
    let again = make(&*store, &id, "carol", removed, None).await.unwrap();
    assert_eq!(again.outcome, Outcome::Unchanged);
    assert_eq!(last_seq(&*store, &id).await, 7, "no-ops take no seq");
    let seen_by = |viewer: &'static str| {
        let store = store.clone();
        let id = id.clone();
        async move {
            let page = store
                .history(&id, &user(viewer), HistoryQuery::latest(1))
                .await
                .unwrap();
            page.messages[0]
                .reactions
                .iter()
                .map(|r| (r.reaction.clone(), r.count, r.mine))
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        seen_by("bob").await,
        [("👍".to_owned(), 3, true), ("🎉".to_owned(), 1, true)]
    );
    assert_eq!(
        seen_by("carol").await,
        [("👍".to_owned(), 3, false), ("🎉".to_owned(), 1, false)]
    );
}

/// Joins, leaves and renames are timeline events with seqs; a removed
/// member hears of it; a join of a member, or past the limit, writes nothing.
pub async fn membership_and_renames_are_events(store: Arc<dyn Store>) {
    let conversation = group(&*store, "g", &["alice", "bob"]).await;
    let id = &conversation.id;
    let store = &*store;
    append(store, id, "alice", "hello").await;
    let carol = user("carol");
    let joined = applied(
        store,
        id,
        "alice",
        Change::MemberAdded {
            user_id: carol.clone(),
        },
    )
    .await;
    let again = make(
        store,
        id,
        "alice",
        Change::MemberAdded {
            user_id: carol.clone(),
        },
        None,
    );
    assert_eq!(again.await.unwrap().outcome, Outcome::Unchanged);
    let full = store
        .change(NewChange {
            conversation_id: id.clone(),
            by: user("alice"),
            at: time::now(),
            client_id: None,
            change: Change::MemberAdded {
                user_id: user("dave"),
            },
            max_members: 3,
        })
        .await;
    assert_eq!(refusal(full), Refusal::Full);
    let renamed = applied(
        store,
        id,
        "alice",
        Change::Renamed {
            title: "new".to_owned(),
        },
    )
    .await;
    assert_eq!(
        store
            .conversation(id)
            .await
            .unwrap()
            .unwrap()
            .title
            .as_deref(),
        Some("new")
    );
    let left = make(
        store,
        id,
        "carol",
        Change::MemberRemoved {
            user_id: carol.clone(),
            new_owner: None,
        },
        None,
    )
    .await
    .unwrap();
    assert!(left.members.contains(&carol), "the one who left hears it");
    assert!(!store.is_member(id, &carol).await.unwrap());
    let page = store.timeline(id, &user("alice"), 1, 10).await.unwrap();
    let changes: Vec<(Seq, Change)> = page
        .entries
        .into_iter()
        .map(|entry| match entry {
            Entry::Change(event) => (event.seq, event.change),
            Entry::Message(message) => panic!("unexpected message {message:?}"),
        })
        .collect();
    assert_eq!(
        changes,
        [
            (
                joined,
                Change::MemberAdded {
                    user_id: carol.clone()
                }
            ),
            (
                renamed,
                Change::Renamed {
                    title: "new".to_owned()
                }
            ),
            (
                renamed + 1,
                Change::MemberRemoved {
                    user_id: carol,
                    new_owner: None,
                },
            ),
        ]
    );
}

/// The timeline pages after a seq: messages in their current state (edited
/// text, reactions as the viewer sees them, thread replies included) and
/// every other change, in seq order.
pub async fn timeline_replays_current_state(store: Arc<dyn Store>) {
    let conversation = group(&*store, "g", &["alice", "bob"]).await;
    let id = &conversation.id;
    let store = &*store;
    let root = append(store, id, "alice", "root").await.message.seq;
    let mut reply = record(id, "bob", "in thread", None);
    reply.thread_root = Some(root);
    store.append(reply).await.unwrap();
    applied(store, id, "alice", edit(root, "root, edited")).await;
    applied(store, id, "bob", react(root, "👍")).await;
    let first = store.timeline(id, &user("bob"), 0, 2).await.unwrap();
    assert!(first.has_more);
    let Entry::Message(message) = &first.entries[0] else {
        panic!("seq 1 is a message")
    };
    assert_eq!(message.body, "root, edited", "current state");
    assert!(message.reactions[0].mine);
    assert_eq!(message.reply_count, 1);
    assert!(matches!(&first.entries[1], Entry::Message(m) if m.thread_root == Some(root)));
    let rest = store.timeline(id, &user("alice"), 2, 10).await.unwrap();
    assert!(!rest.has_more);
    let kinds: Vec<&str> = rest
        .entries
        .iter()
        .map(|entry| match entry {
            Entry::Change(event) => event.change.kind(),
            Entry::Message(_) => "message",
        })
        .collect();
    assert_eq!(kinds, ["edited", "reaction_added"]);
    let none = store.timeline(id, &user("alice"), 4, 10).await.unwrap();
    assert!(none.entries.is_empty() && !none.has_more);
}
