//! Cases for what the timeline adds to reading: threads, search, read
//! marks, pins, and unread counts that leave out what nobody needs to read.

use std::sync::Arc;

use super::timeline::{applied, make};
use super::{add_member, append, group, listed, record, remove_member, user};
use crate::{
    Change, ConversationId, HistoryQuery, NewMessageRecord, Refusal, SearchQuery, Seq, Store,
    StoreError,
};

fn in_thread(id: &ConversationId, sender: &str, body: &str, root: Seq) -> NewMessageRecord {
    let mut reply = record(id, sender, body, None);
    reply.thread_root = Some(root);
    reply
}

fn bodies(messages: &[crate::Message]) -> Vec<&str> {
    messages.iter().map(|m| m.body.as_str()).collect()
}

async fn refused(store: &dyn Store, message: NewMessageRecord) -> Refusal {
    match store.append(message).await {
        Err(StoreError::Refused(refusal)) => refusal,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

/// Thread replies count on their root, page on their own and stay out of
/// the conversation's history; replies and threads must point at messages
/// of the conversation, a thread at a root.
pub async fn threads_page_apart(store: Arc<dyn Store>) {
    let conversation = group(&*store, "g", &["alice", "bob"]).await;
    let id = &conversation.id;
    let store = &*store;
    let root = append(store, id, "alice", "root").await.message.seq;
    let mut last = 0;
    for i in 1..=5 {
        last = store
            .append(in_thread(id, "bob", &format!("r{i}"), root))
            .await
            .unwrap()
            .message
            .seq;
    }
    let mut quoting = record(id, "alice", "quoting", None);
    quoting.reply_to = Some(root);
    assert_eq!(
        store.append(quoting).await.unwrap().message.reply_to,
        Some(root)
    );
    let main = store
        .history(id, &user("alice"), HistoryQuery::latest(10))
        .await
        .unwrap();
    assert_eq!(
        bodies(&main.messages),
        ["root", "quoting"],
        "replies stay in their thread"
    );
    let root_message = &main.messages[0];
    assert_eq!(root_message.reply_count, 5);
    assert_eq!(root_message.last_reply_seq, Some(last));
    assert_eq!(root_message.updated_seq, last, "a reply touches its root");
    let bob = user("bob");
    let thread = |query: HistoryQuery| store.history(id, &bob, query.in_thread(root));
    let latest = thread(HistoryQuery::latest(2)).await.unwrap();
    assert_eq!(bodies(&latest.messages), ["r4", "r5"]);
    assert!(latest.has_more);
    let older = thread(HistoryQuery::before(latest.messages[0].seq, 10))
        .await
        .unwrap();
    assert_eq!(bodies(&older.messages), ["r1", "r2", "r3"]);
    assert!(!older.has_more);
    let newer = thread(HistoryQuery::after(root, 1)).await.unwrap();
    assert_eq!(bodies(&newer.messages), ["r1"]);
    assert!(newer.has_more);

    assert_eq!(
        refused(store, in_thread(id, "bob", "x", last)).await,
        Refusal::NotARoot
    );
    assert_eq!(
        refused(store, in_thread(id, "bob", "x", 999)).await,
        Refusal::UnknownMessage
    );
    let mut dangling = record(id, "bob", "x", None);
    dangling.reply_to = Some(999);
    assert_eq!(refused(store, dangling).await, Refusal::UnknownMessage);
    let other = group(store, "other", &["alice", "bob"]).await;
    assert_eq!(
        refused(store, in_thread(&other.id, "bob", "x", root + 1)).await,
        Refusal::UnknownMessage,
        "a seq of another conversation is not a message of this one"
    );
}

fn search(viewer: &str, text: &str, before: Option<crate::MessageId>, limit: u32) -> SearchQuery {
    SearchQuery {
        user: user(viewer),
        words: crate::search::words(text),
        before,
        limit,
    }
}

/// Search finds every word as a prefix, case and accents ignored, in the
/// viewer's own conversations only, newest first by pages, and follows
/// edits, deletes and leaving.
pub async fn search_follows_the_current_text(store: Arc<dyn Store>) {
    let ours = group(&*store, "ours", &["alice", "bob"]).await;
    let theirs = group(&*store, "theirs", &["carol", "dave"]).await;
    let store = &*store;
    let cafe = append(store, &ours.id, "bob", "Meet at the Café tomorrow")
        .await
        .message;
    let opening = append(store, &ours.id, "alice", "The cafe opening is at noon")
        .await
        .message;
    append(store, &theirs.id, "carol", "cafe opening secrets").await;
    let found = |query: SearchQuery| async move { store.search(query).await.unwrap() };
    let hits = found(search("alice", "CAFÉ", None, 10)).await;
    assert_eq!(
        bodies(&hits.messages),
        [opening.body.as_str(), cafe.body.as_str()]
    );
    let hits = found(search("alice", "caf open", None, 10)).await;
    assert_eq!(
        bodies(&hits.messages),
        [opening.body.as_str()],
        "every word, as a prefix"
    );
    let first = found(search("alice", "cafe", None, 1)).await;
    assert!(first.has_more);
    let next = found(search(
        "alice",
        "cafe",
        Some(first.messages[0].id.clone()),
        1,
    ))
    .await;
    assert_eq!(bodies(&next.messages), [cafe.body.as_str()]);
    assert!(!next.has_more);

    applied(
        store,
        &ours.id,
        "bob",
        Change::Edited {
            message_seq: cafe.seq,
            body: "Meet at the bakery".to_owned(),
            content: None,
        },
    )
    .await;
    assert_eq!(
        found(search("bob", "bakery", None, 10))
            .await
            .messages
            .len(),
        1
    );
    let hits = found(search("bob", "tomorrow", None, 10)).await;
    assert!(
        hits.messages.is_empty(),
        "an edit replaces the searched text"
    );
    applied(
        store,
        &ours.id,
        "alice",
        Change::Deleted {
            message_seq: opening.seq,
        },
    )
    .await;
    assert!(
        found(search("bob", "opening", None, 10))
            .await
            .messages
            .is_empty()
    );
    remove_member(store, &ours.id, &user("bob")).await.unwrap();
    assert!(
        found(search("bob", "bakery", None, 10))
            .await
            .messages
            .is_empty(),
        "a former member searches nothing of the conversation"
    );
}

/// Read marks list every member's; pins list newest pin first, once each,
/// and a pin already there or already gone is a no-op.
pub async fn read_marks_and_pins(store: Arc<dyn Store>) {
    let conversation = group(&*store, "g", &["alice", "bob", "carol"]).await;
    let id = &conversation.id;
    let store = &*store;
    for i in 1..=3 {
        append(store, id, "alice", &format!("m{i}")).await;
    }
    store.mark_read(id, &user("bob"), 2).await.unwrap();
    let marks: Vec<(String, Seq)> = store
        .read_marks(id)
        .await
        .unwrap()
        .into_iter()
        .map(|mark| (mark.user_id.as_str().to_owned(), mark.seq))
        .collect();
    let expected = [("alice", 3), ("bob", 2), ("carol", 0)].map(|(u, s)| (u.to_owned(), s));
    assert_eq!(marks, expected);

    let pin = |message_seq| Change::Pinned { message_seq };
    let first_pin = store.change(crate::NewChange {
        conversation_id: id.clone(),
        by: user("bob"),
        at: crate::time::from_millis(1_000),
        client_id: None,
        change: pin(1),
        max_members: 100,
    });
    assert!(first_pin.await.unwrap().outcome.event().is_some());
    applied(store, id, "carol", pin(3)).await;
    let again = make(store, id, "alice", pin(1), None).await.unwrap();
    assert_eq!(again.outcome, crate::Outcome::Unchanged);
    let pinned = store.pins(id, &user("alice")).await.unwrap();
    assert_eq!(bodies(&pinned), ["m3", "m1"], "newest pin first");
    applied(store, id, "alice", Change::Unpinned { message_seq: 3 }).await;
    let gone = make(
        store,
        id,
        "alice",
        Change::Unpinned { message_seq: 3 },
        None,
    );
    assert_eq!(gone.await.unwrap().outcome, crate::Outcome::Unchanged);
    assert_eq!(bodies(&store.pins(id, &user("bob")).await.unwrap()), ["m1"]);
}

/// Unread counts leave out deleted messages and thread replies; unread
/// mentions count messages after the read mark naming the member, who must
/// be a member.
pub async fn unread_leaves_out_deleted_and_thread_replies(store: Arc<dyn Store>) {
    let conversation = group(&*store, "g", &["alice", "bob"]).await;
    let id = &conversation.id;
    let store = &*store;
    let root = append(store, id, "bob", "one").await.message.seq;
    let doomed = append(store, id, "bob", "two").await.message.seq;
    store
        .append(in_thread(id, "bob", "aside", root))
        .await
        .unwrap();
    let mut mention = record(id, "bob", "@alice look", None);
    mention.mentions = vec![user("alice")];
    store.append(mention).await.unwrap();
    applied(
        store,
        id,
        "bob",
        Change::Deleted {
            message_seq: doomed,
        },
    )
    .await;
    let summary = |summaries: Vec<crate::ConversationSummary>| {
        let summary = &summaries[0];
        (summary.unread, summary.unread_mentions)
    };
    assert_eq!(summary(listed(store, "alice", 10).await), (2, 1));
    store.mark_read(id, &user("alice"), root).await.unwrap();
    assert_eq!(summary(listed(store, "alice", 10).await), (1, 1));
    store.mark_read(id, &user("alice"), 99).await.unwrap();
    assert_eq!(summary(listed(store, "alice", 10).await), (0, 0));

    let mut stranger = record(id, "bob", "@carol", None);
    stranger.mentions = vec![user("carol")];
    assert_eq!(refused(store, stranger).await, Refusal::MentionNotAMember);
    add_member(store, id, &user("carol"), 10).await.unwrap();
    let mut welcome = record(id, "bob", "@carol welcome", None);
    welcome.mentions = vec![user("carol")];
    assert_eq!(
        store.append(welcome).await.unwrap().message.mentions,
        [user("carol")]
    );
    assert_eq!(summary(listed(store, "carol", 10).await), (1, 1));
}

/// An edit or a delete made right after the send (before any search) is
/// what search sees: the new text found, the old one and a deleted message not.
pub async fn search_sees_changes_made_right_after_sending(store: Arc<dyn Store>) {
    let conversation = group(&*store, "g", &["alice", "bob"]).await;
    let store = &*store;
    let id = &conversation.id;
    let edited = append(store, id, "alice", "draft wombat").await.message.seq;
    let body = "final platypus".to_owned();
    let change = Change::Edited {
        message_seq: edited,
        body,
        content: None,
    };
    applied(store, id, "alice", change).await;
    let deleted = append(store, id, "alice", "oops echidna").await.message.seq;
    applied(
        store,
        id,
        "alice",
        Change::Deleted {
            message_seq: deleted,
        },
    )
    .await;
    let found = |text: &'static str| async move {
        store
            .search(search("bob", text, None, 10))
            .await
            .unwrap()
            .messages
    };
    assert_eq!(bodies(&found("platypus").await), ["final platypus"]);
    assert!(found("wombat").await.is_empty(), "the text before the edit");
    assert!(found("echidna").await.is_empty(), "a deleted message");
}

/// Replies sent at once into one thread (group-committed together) all
/// count on its root, and its last reply is the newest.
pub async fn concurrent_thread_replies_all_count(store: Arc<dyn Store>) {
    let conversation = group(&*store, "g", &["alice", "bob"]).await;
    let id = conversation.id.clone();
    let root = append(&*store, &id, "alice", "root").await.message.seq;
    let replies: Vec<_> = (0..20)
        .map(|i| {
            let (store, id) = (store.clone(), id.clone());
            tokio::spawn(async move {
                let reply = in_thread(&id, "bob", &format!("r{i}"), root);
                store.append(reply).await.unwrap().message.seq
            })
        })
        .collect();
    let mut newest = 0;
    for reply in replies {
        newest = newest.max(reply.await.unwrap());
    }
    let page = store
        .history(&id, &user("alice"), HistoryQuery::latest(1))
        .await
        .unwrap();
    let root = &page.messages[0];
    assert_eq!((root.reply_count, root.last_reply_seq), (20, Some(newest)));
    assert_eq!(root.updated_seq, newest);
    let listed = listed(&*store, "alice", 1).await;
    assert_eq!(
        listed[0].last_message.as_ref().map(|m| m.seq),
        Some(root.seq),
        "thread replies are not the conversation's last message"
    );
}
