//! Store cases: one `pub async fn` per guarantee of [`Store`].

mod moderation;
mod outbox;
mod people;
mod preferences;
mod reading;
mod timeline;

pub use moderation::{
    a_ban_racing_a_join_keeps_the_user_out, bans_keep_users_out,
    blocks_stop_direct_messages_and_invitations, deleting_a_group_deletes_its_history,
    members_add_where_the_group_allows_it, mutes_silence_writes, roles_decide_who_moderates,
    the_owner_leaving_hands_the_group_on, two_admins_removing_each_other_leave_one,
};
pub use outbox::{
    concurrent_claims_take_each_row_once, outbox_rows_come_with_their_messages,
    preferences_of_reads_members_only,
};
pub use people::{contacts_share_a_private_conversation, users_are_listed_searched_and_resolved};
pub use preferences::{
    archived_conversations_are_listed_apart, pinned_conversations_lead_the_first_page,
    preferences_are_each_members_own,
};
pub use reading::{
    concurrent_thread_replies_all_count, read_marks_and_pins, search_follows_the_current_text,
    search_sees_changes_made_right_after_sending, threads_page_apart,
    unread_leaves_out_deleted_and_thread_replies,
};
pub use timeline::{
    applied, change_retries_return_the_stored_event, changes_share_the_gap_free_seq,
    delete_wipes_the_text, edit_and_delete_rules, make, membership_and_renames_are_events,
    reactions_count_each_member_once, timeline_replays_current_state,
};

use std::collections::BTreeSet;
use std::sync::Arc;

use crate::{
    Appended, Conversation, ConversationId, ConversationKind, DirectPair, HistoryQuery, MessageId,
    NewDirect, NewGroup, NewMessageRecord, Refusal, Room, RoomPage, RoomQuery, Store, StoreError,
    StoreResult, UserId, time,
};

/// A user id from a literal.
///
/// # Panics
/// When `name` is not a valid user id.
#[must_use]
pub fn user(name: &str) -> UserId {
    UserId::new(name).expect("valid test user id")
}

/// Creates a group of `members` (the first is the creator).
///
/// # Panics
/// When the store fails.
pub async fn group(store: &dyn Store, title: &str, members: &[&str]) -> Conversation {
    let mut ids: Vec<UserId> = members.iter().map(|m| user(m)).collect();
    let created_by = ids[0].clone();
    ids.sort();
    ids.dedup();
    store
        .create_group(NewGroup {
            id: ConversationId::generate(),
            title: title.to_owned(),
            public: false,
            members_can_add: false,
            created_by,
            members: ids,
            created_at: time::now(),
        })
        .await
        .expect("create_group")
}

/// Opens the direct conversation of `opener` and `other`.
///
/// # Panics
/// When the store fails.
pub async fn direct(store: &dyn Store, opener: &str, other: &str) -> Conversation {
    store
        .open_direct(NewDirect {
            id: ConversationId::generate(),
            pair: DirectPair::new(user(opener), user(other)).expect("two users"),
            created_by: user(opener),
            created_at: time::now(),
        })
        .await
        .expect("open_direct")
}

/// A message record from `sender` with `body` and an optional `client_id`.
#[must_use]
pub fn record(
    conversation: &ConversationId,
    sender: &str,
    body: &str,
    client_id: Option<&str>,
) -> NewMessageRecord {
    NewMessageRecord {
        id: MessageId::generate(),
        conversation_id: conversation.clone(),
        sender: user(sender),
        body: body.to_owned(),
        content: None,
        client_id: client_id.map(str::to_owned),
        created_at: time::now(),
        reply_to: None,
        thread_root: None,
        mentions: Vec::new(),
        outbox_due: None,
    }
}

/// Appends `body` from `sender`.
///
/// # Panics
/// When the store fails.
pub async fn append(
    store: &dyn Store,
    conversation: &ConversationId,
    sender: &str,
    body: &str,
) -> Appended {
    store
        .append(record(conversation, sender, body, None))
        .await
        .expect("append")
}

/// The first page (up to `limit`) of `name`'s conversation list.
///
/// # Panics
/// When the store fails.
pub async fn listed(store: &dyn Store, name: &str, limit: u32) -> Vec<crate::ConversationSummary> {
    store
        .conversations_of(crate::ConversationQuery {
            user: user(name),
            before: None,
            limit,
            archived: false,
        })
        .await
        .expect("conversations_of")
        .conversations
}

/// `user` joins `id` by themselves, within `limit` members: whether they
/// were added (`false`: already a member).
///
/// # Errors
/// The store's refusal (a full conversation, an unknown one).
pub async fn add_member(
    store: &dyn Store,
    id: &ConversationId,
    user: &UserId,
    limit: usize,
) -> StoreResult<bool> {
    let changed = store
        .change(crate::NewChange {
            conversation_id: id.clone(),
            by: user.clone(),
            at: time::now(),
            client_id: None,
            change: crate::Change::MemberAdded {
                user_id: user.clone(),
            },
            max_members: limit,
        })
        .await?;
    Ok(changed.outcome != crate::Outcome::Unchanged)
}

/// `user` leaves `id`: whether they were a member.
///
/// # Errors
/// The store's refusal.
pub async fn remove_member(
    store: &dyn Store,
    id: &ConversationId,
    user: &UserId,
) -> StoreResult<bool> {
    let changed = store
        .change(crate::NewChange {
            conversation_id: id.clone(),
            by: user.clone(),
            at: time::now(),
            client_id: None,
            change: crate::Change::MemberRemoved {
                user_id: user.clone(),
                new_owner: None,
            },
            max_members: usize::MAX,
        })
        .await;
    match changed {
        Ok(changed) => Ok(changed.outcome != crate::Outcome::Unchanged),
        // Leaving a conversation one is not in changes nothing.
        Err(crate::StoreError::Refused(crate::Refusal::NotAMember)) => Ok(false),
        Err(error) => Err(error),
    }
}

fn seqs(page: &crate::Page) -> Vec<u64> {
    page.messages.iter().map(|m| m.seq).collect()
}

/// A group comes back exactly as created, members sorted.
pub async fn group_round_trips(store: Arc<dyn Store>) {
    let created = group(&*store, "Team \u{1f680}", &["carol", "alice", "bob"]).await;
    assert_eq!(created.kind, ConversationKind::Group);
    assert_eq!(created.title.as_deref(), Some("Team \u{1f680}"));
    assert_eq!(created.created_by, user("carol"));
    assert_eq!(
        created.members,
        vec![user("alice"), user("bob"), user("carol")]
    );
    assert_eq!(created.last_seq, 0);
    let loaded = store
        .conversation(&created.id)
        .await
        .unwrap()
        .expect("stored");
    assert_eq!(loaded, created);
    assert_eq!(
        store.members(&created.id).await.unwrap(),
        Some(created.members.clone())
    );
    assert!(store.is_member(&created.id, &user("bob")).await.unwrap());
    assert!(
        !store
            .is_member(&created.id, &user("mallory"))
            .await
            .unwrap()
    );
}

/// Appends get seq 1, 2, 3 and the conversation's `last_seq` follows.
pub async fn append_assigns_gap_free_seq(store: Arc<dyn Store>) {
    let conversation = group(&*store, "g", &["alice", "bob"]).await;
    for expected in 1..=3 {
        let appended = append(&*store, &conversation.id, "alice", &format!("m{expected}")).await;
        assert!(!appended.duplicate);
        assert_eq!(appended.message.seq, expected);
        let by_id = store
            .message(&appended.message.id, &user("alice"))
            .await
            .unwrap();
        assert_eq!(by_id.as_ref(), Some(&appended.message));
    }
    let loaded = store.conversation(&conversation.id).await.unwrap().unwrap();
    assert_eq!(loaded.last_seq, 3);
}

/// An append checks membership itself and names the recipients: the
/// members come back with the message; a non-member, a removed member and an
/// unknown conversation are refused and nothing is written.
pub async fn append_checks_membership_and_returns_members(store: Arc<dyn Store>) {
    let conversation = group(&*store, "g", &["alice", "bob", "carol"]).await;
    let appended = append(&*store, &conversation.id, "alice", "hi").await;
    assert_eq!(
        appended.members,
        [user("alice"), user("bob"), user("carol")]
    );

    let refused = |result: Result<Appended, StoreError>, expected: Refusal| match result {
        Err(StoreError::Refused(refusal)) => assert_eq!(refusal, expected),
        other => panic!("expected a refusal ({expected:?}), got {other:?}"),
    };
    refused(
        store
            .append(record(&conversation.id, "mallory", "let me in", None))
            .await,
        Refusal::NotAMember,
    );
    refused(
        store
            .append(record(
                &ConversationId::generate(),
                "alice",
                "nowhere",
                None,
            ))
            .await,
        Refusal::UnknownConversation,
    );
    assert!(
        remove_member(&*store, &conversation.id, &user("bob"))
            .await
            .unwrap()
    );
    refused(
        store
            .append(record(&conversation.id, "bob", "still here?", None))
            .await,
        Refusal::NotAMember,
    );

    let after = append(&*store, &conversation.id, "carol", "bye bob").await;
    assert_eq!(
        after.message.seq, 3,
        "the removal took seq 2, the refused appends none"
    );
    assert_eq!(after.members, [user("alice"), user("carol")]);
    let page = store
        .history(&conversation.id, &user("alice"), HistoryQuery::latest(10))
        .await
        .unwrap();
    let bodies: Vec<&str> = page.messages.iter().map(|m| m.body.as_str()).collect();
    assert_eq!(bodies, ["hi", "bye bob"]);
}

/// 50 concurrent appends to one conversation get exactly seq 1..=50.
pub async fn concurrent_appends_are_gap_free(store: Arc<dyn Store>) {
    let conversation = group(&*store, "g", &["alice", "bob"]).await;
    let tasks: Vec<_> = (0..50)
        .map(|i| {
            let store = Arc::clone(&store);
            let id = conversation.id.clone();
            let sender = if i % 2 == 0 { "alice" } else { "bob" };
            tokio::spawn(async move {
                store
                    .append(record(&id, sender, &format!("m{i}"), None))
                    .await
                    .expect("append")
            })
        })
        .collect();
    let mut got = Vec::new();
    for task in tasks {
        got.push(task.await.expect("append task").message.seq);
    }
    got.sort_unstable();
    assert_eq!(got, (1..=50).collect::<Vec<_>>());
    let page = store
        .history(
            &conversation.id,
            &user("alice"),
            HistoryQuery::after(0, 100),
        )
        .await
        .unwrap();
    assert_eq!(seqs(&page), (1..=50).collect::<Vec<_>>());
    let ids: BTreeSet<_> = page.messages.iter().map(|m| m.id.clone()).collect();
    assert_eq!(ids.len(), 50, "every message keeps its own id");
}

/// A repeated `(sender, client_id)` returns the stored message and writes
/// nothing; other senders and other conversations are independent.
pub async fn client_id_retry_returns_stored_message(store: Arc<dyn Store>) {
    let conversation = group(&*store, "g", &["alice", "bob"]).await;
    let other = group(&*store, "h", &["alice", "bob"]).await;
    let first = store
        .append(record(&conversation.id, "alice", "once", Some("k1")))
        .await
        .unwrap();
    assert!(!first.duplicate);
    let retry = store
        .append(record(&conversation.id, "alice", "twice?", Some("k1")))
        .await
        .unwrap();
    assert!(retry.duplicate, "a retry is reported as a duplicate");
    assert_eq!(
        retry.message, first.message,
        "the stored message comes back"
    );
    let bob = store
        .append(record(&conversation.id, "bob", "mine", Some("k1")))
        .await
        .unwrap();
    assert!(!bob.duplicate);
    assert_eq!(bob.message.seq, 2);
    let elsewhere = store
        .append(record(&other.id, "alice", "there", Some("k1")))
        .await
        .unwrap();
    assert!(!elsewhere.duplicate);
    assert_eq!(elsewhere.message.seq, 1);
    let loaded = store.conversation(&conversation.id).await.unwrap().unwrap();
    assert_eq!(loaded.last_seq, 2, "the retry consumed no seq");
}

/// Concurrent retries of one `client_id` store exactly one message.
pub async fn concurrent_client_id_retries_store_once(store: Arc<dyn Store>) {
    let conversation = group(&*store, "g", &["alice", "bob"]).await;
    let tasks: Vec<_> = (0..10)
        .map(|_| {
            let store = Arc::clone(&store);
            let id = conversation.id.clone();
            tokio::spawn(async move {
                store
                    .append(record(&id, "alice", "retry", Some("same")))
                    .await
                    .expect("append")
            })
        })
        .collect();
    let mut ids = BTreeSet::new();
    let mut fresh = 0;
    for task in tasks {
        let appended = task.await.expect("task");
        ids.insert(appended.message.id);
        fresh += usize::from(!appended.duplicate);
    }
    assert_eq!(ids.len(), 1, "every retry got the same message");
    assert_eq!(fresh, 1, "exactly one append wrote");
    let loaded = store.conversation(&conversation.id).await.unwrap().unwrap();
    assert_eq!(loaded.last_seq, 1);
}

/// Concurrent opens of one pair, in both orders, yield one conversation.
pub async fn open_direct_is_unique_under_race(store: Arc<dyn Store>) {
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let store = Arc::clone(&store);
            let (a, b) = if i % 2 == 0 {
                ("ann", "ben")
            } else {
                ("ben", "ann")
            };
            tokio::spawn(async move {
                store
                    .open_direct(NewDirect {
                        id: ConversationId::generate(),
                        pair: DirectPair::new(user(a), user(b)).unwrap(),
                        created_by: user(a),
                        created_at: time::now(),
                    })
                    .await
                    .expect("open_direct")
            })
        })
        .collect();
    let mut ids = BTreeSet::new();
    for task in tasks {
        let conversation = task.await.expect("task");
        assert_eq!(conversation.kind, ConversationKind::Direct);
        assert_eq!(conversation.members, vec![user("ann"), user("ben")]);
        assert_eq!(conversation.title, None);
        ids.insert(conversation.id);
    }
    assert_eq!(ids.len(), 1, "one conversation per pair: {ids:?}");
    let other = direct(&*store, "ann", "cat").await;
    assert!(
        !ids.contains(&other.id),
        "another pair gets another conversation"
    );
}

/// Latest, before and after pages return the right ascending slices.
pub async fn history_pages_by_seq(store: Arc<dyn Store>) {
    let conversation = group(&*store, "g", &["alice", "bob"]).await;
    for i in 1..=40 {
        append(&*store, &conversation.id, "alice", &format!("m{i}")).await;
    }
    let id = &conversation.id;
    let latest = store
        .history(id, &user("alice"), HistoryQuery::latest(15))
        .await
        .unwrap();
    assert_eq!(seqs(&latest), (26..=40).collect::<Vec<_>>());
    assert!(latest.has_more);
    assert_eq!(latest.messages[0].body, "m26");
    let older = store
        .history(id, &user("alice"), HistoryQuery::before(26, 15))
        .await
        .unwrap();
    assert_eq!(seqs(&older), (11..=25).collect::<Vec<_>>());
    assert!(older.has_more);
    let oldest = store
        .history(id, &user("alice"), HistoryQuery::before(11, 15))
        .await
        .unwrap();
    assert_eq!(seqs(&oldest), (1..=10).collect::<Vec<_>>());
    assert!(!oldest.has_more);
    let newer = store
        .history(id, &user("alice"), HistoryQuery::after(30, 5))
        .await
        .unwrap();
    assert_eq!(seqs(&newer), (31..=35).collect::<Vec<_>>());
    assert!(newer.has_more);
    let newest = store
        .history(id, &user("alice"), HistoryQuery::after(35, 5))
        .await
        .unwrap();
    assert_eq!(seqs(&newest), (36..=40).collect::<Vec<_>>());
    assert!(!newest.has_more);
}

/// Empty conversations, exact pages, `before 1` and `after last` behave.
pub async fn history_edges(store: Arc<dyn Store>) {
    let conversation = group(&*store, "g", &["alice", "bob"]).await;
    let id = &conversation.id;
    let empty = store
        .history(id, &user("alice"), HistoryQuery::latest(15))
        .await
        .unwrap();
    assert!(empty.messages.is_empty());
    assert!(!empty.has_more);
    for i in 1..=15 {
        append(&*store, id, "bob", &format!("m{i}")).await;
    }
    let exact = store
        .history(id, &user("alice"), HistoryQuery::latest(15))
        .await
        .unwrap();
    assert_eq!(seqs(&exact), (1..=15).collect::<Vec<_>>());
    assert!(!exact.has_more, "an exact page has nothing more");
    let before_first = store
        .history(id, &user("alice"), HistoryQuery::before(1, 15))
        .await
        .unwrap();
    assert!(before_first.messages.is_empty());
    assert!(!before_first.has_more);
    let after_last = store
        .history(id, &user("alice"), HistoryQuery::after(15, 15))
        .await
        .unwrap();
    assert!(after_last.messages.is_empty());
    assert!(!after_last.has_more);
    let one = store
        .history(id, &user("alice"), HistoryQuery::latest(1))
        .await
        .unwrap();
    assert_eq!(seqs(&one), vec![15]);
    assert!(one.has_more);
    let beyond = store
        .history(id, &user("alice"), HistoryQuery::before(1_000, 2))
        .await
        .unwrap();
    assert_eq!(seqs(&beyond), vec![14, 15]);
}

/// A read mark only moves forward, is capped at the last seq, and says
/// whether a call moved it.
pub async fn mark_read_never_moves_back(store: Arc<dyn Store>) {
    let conversation = group(&*store, "g", &["alice", "bob"]).await;
    let id = &conversation.id;
    for i in 1..=5 {
        append(&*store, id, "alice", &format!("m{i}")).await;
    }
    let bob = user("bob");
    let mark = |seq, moved| crate::ReadMarkUpdate { seq, moved };
    assert_eq!(store.mark_read(id, &bob, 3).await.unwrap(), mark(3, true));
    assert_eq!(
        store.mark_read(id, &bob, 2).await.unwrap(),
        mark(3, false),
        "never lowered"
    );
    assert_eq!(
        store.mark_read(id, &bob, 3).await.unwrap(),
        mark(3, false),
        "the same mark again moves nothing"
    );
    assert_eq!(
        store.mark_read(id, &bob, 99).await.unwrap(),
        mark(5, true),
        "capped at last seq"
    );
    assert_eq!(
        store.mark_read(id, &bob, 99).await.unwrap(),
        mark(5, false),
        "a mark past the end once capped does not move again"
    );
    assert_eq!(
        store.mark_read(id, &user("mallory"), 4).await.unwrap(),
        mark(0, false),
        "a non-member has no mark"
    );
    let summaries = listed(&*store, bob.as_str(), 10).await;
    assert_eq!(summaries[0].read_seq, 5);
    assert_eq!(summaries[0].unread, 0);
}

/// Unread counts messages after the read mark sent by others; sending marks
/// one's own conversation read.
pub async fn unread_counts_only_others_messages(store: Arc<dyn Store>) {
    let conversation = group(&*store, "g", &["alice", "bob", "carol"]).await;
    let id = &conversation.id;
    for i in 1..=3 {
        append(&*store, id, "alice", &format!("a{i}")).await;
    }
    for i in 1..=2 {
        append(&*store, id, "bob", &format!("b{i}")).await;
    }
    let unread = |summaries: Vec<crate::ConversationSummary>| {
        let summary = summaries
            .into_iter()
            .find(|s| s.conversation.id == *id)
            .unwrap();
        (summary.read_seq, summary.unread)
    };
    let store = &*store;
    assert_eq!(unread(listed(store, "alice", 10).await), (3, 2));
    assert_eq!(unread(listed(store, "bob", 10).await), (5, 0));
    assert_eq!(unread(listed(store, "carol", 10).await), (0, 5));
    store.mark_read(id, &user("carol"), 4).await.unwrap();
    assert_eq!(unread(listed(store, "carol", 10).await), (4, 1));
    append(store, id, "carol", "c1").await;
    assert_eq!(unread(listed(store, "carol", 10).await), (6, 0));
}

/// Adding and removing members is idempotent and reported; a new member
/// starts with everything before joining read.
pub async fn membership_rules(store: Arc<dyn Store>) {
    let conversation = group(&*store, "g", &["alice", "bob"]).await;
    let id = &conversation.id;
    append(&*store, id, "alice", "before dave").await;
    let dave = user("dave");
    assert!(add_member(&*store, id, &dave, 10).await.unwrap());
    assert!(
        !add_member(&*store, id, &dave, 10).await.unwrap(),
        "second add is a no-op"
    );
    assert_eq!(
        store.members(id).await.unwrap().unwrap(),
        vec![user("alice"), user("bob"), dave.clone()]
    );
    let dave_view = listed(&*store, dave.as_str(), 10).await;
    assert_eq!(dave_view.len(), 1);
    assert_eq!(
        (dave_view[0].read_seq, dave_view[0].unread),
        (2, 0),
        "a new member's read mark starts at their joining (seq 2)"
    );
    assert!(remove_member(&*store, id, &user("bob")).await.unwrap());
    assert!(
        !remove_member(&*store, id, &user("bob")).await.unwrap(),
        "second remove is a no-op"
    );
    assert!(!store.is_member(id, &user("bob")).await.unwrap());
    assert!(listed(&*store, "bob", 10).await.is_empty());
    let loaded = store.conversation(id).await.unwrap().unwrap();
    assert_eq!(loaded.members, vec![user("alice"), dave]);
}

/// Unknown ids are absence (`None`, `false`, empty), never errors.
pub async fn unknown_ids_are_none(store: Arc<dyn Store>) {
    let nobody = ConversationId::generate();
    assert_eq!(store.conversation(&nobody).await.unwrap(), None);
    assert_eq!(store.members(&nobody).await.unwrap(), None);
    assert!(!store.is_member(&nobody, &user("alice")).await.unwrap());
    assert_eq!(
        store
            .message(&MessageId::generate(), &user("alice"))
            .await
            .unwrap(),
        None
    );
    let page = store
        .history(&nobody, &user("alice"), HistoryQuery::latest(15))
        .await
        .unwrap();
    assert!(page.messages.is_empty() && !page.has_more);
    assert!(listed(&*store, "nobody", 10).await.is_empty());
}

/// A user's conversations come newest activity first, with the last message,
/// and the limit holds.
pub async fn conversations_ordered_by_activity(store: Arc<dyn Store>) {
    let a = group(&*store, "a", &["alice", "bob"]).await;
    let b = group(&*store, "b", &["alice"]).await;
    let c = group(&*store, "c", &["alice", "carol"]).await;
    // Creation times have millisecond precision and may tie (ties go to the
    // newer id); the message is stamped clearly later instead of sleeping.
    let mut latest = record(&a.id, "bob", "latest", None);
    latest.created_at = c.created_at + chrono::Duration::seconds(1);
    let last = store.append(latest).await.unwrap();
    let list = listed(&*store, "alice", 10).await;
    let order: Vec<_> = list.iter().map(|s| s.conversation.id.clone()).collect();
    assert_eq!(order, vec![a.id.clone(), c.id.clone(), b.id.clone()]);
    assert_eq!(list[0].last_message.as_ref(), Some(&last.message));
    assert_eq!(list[0].unread, 1);
    assert_eq!(list[1].last_message, None);
    assert_eq!(
        list[0].conversation.members,
        vec![user("alice"), user("bob")]
    );
    let limited = listed(&*store, "alice", 2).await;
    assert_eq!(limited.len(), 2);
}

/// The list pages by cursor without losing or repeating a conversation,
/// also when many share one activity time (ties go by id, newest first),
/// and the last page says nothing more remains.
pub async fn conversations_page_by_cursor(store: Arc<dyn Store>) {
    let mut created = Vec::new();
    for i in 0..7 {
        created.push(group(&*store, &format!("g{i}"), &["alice", "bob"]).await.id);
    }
    // Three of them share one later activity time exactly.
    let tie = time::now() + chrono::Duration::seconds(5);
    for id in &created[1..4] {
        let mut message = record(id, "bob", "same instant", None);
        message.created_at = tie;
        store.append(message).await.expect("append");
    }
    let everything = listed(&*store, "alice", 100).await;
    assert_eq!(everything.len(), 7);
    let mut walked = Vec::new();
    let mut before = None;
    loop {
        let page = store
            .conversations_of(crate::ConversationQuery {
                user: user("alice"),
                before: before.clone(),
                limit: 2,
                archived: false,
            })
            .await
            .expect("conversations_of");
        assert!(page.conversations.len() <= 2);
        walked.extend(page.conversations.iter().map(|s| s.conversation.id.clone()));
        assert_eq!(page.next.is_some(), page.has_more);
        if !page.has_more {
            break;
        }
        before = page.next;
    }
    let listed_order: Vec<_> = everything
        .iter()
        .map(|s| s.conversation.id.clone())
        .collect();
    assert_eq!(walked, listed_order, "pages make the whole list, each once");
    let mut tied: Vec<_> = created[1..4].to_vec();
    tied.sort();
    tied.reverse();
    assert_eq!(walked[..3], tied[..], "the tie is broken by id, descending");
    assert!(everything[..3].iter().all(|s| s.last_activity_at == tie));
    assert!(everything[3..].iter().all(|s| s.last_activity_at < tie));
}

/// Bodies and ids with quotes, `%`, `\0`, newlines and emoji are stored and
/// returned byte for byte (every query is parameterized).
pub async fn bodies_round_trip_byte_for_byte(store: Arc<dyn Store>) {
    let conversation = group(
        &*store,
        "it's \"quoted\" 100%",
        &["o'brien", "%_\\", "\u{1f600}"],
    )
    .await;
    let tricky =
        "'; DROP TABLE chat_messages; --\n\"%_\\\0\u{1f469}\u{200d}\u{1f4bb} \u{65e5}\u{672c}";
    let big = "x".repeat(16 * 1024);
    for (i, body) in [tricky, big.as_str()].into_iter().enumerate() {
        let client_id = format!("'\0%{i}");
        let appended = store
            .append(record(&conversation.id, "o'brien", body, Some(&client_id)))
            .await
            .unwrap();
        let loaded = store
            .message(&appended.message.id, &user("alice"))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(loaded.body, body);
        assert_eq!(loaded, appended.message);
        // The same client id again in the same conversation is a retry.
        if body == tricky {
            let again = store
                .append(record(&conversation.id, "o'brien", "x", Some(&client_id)))
                .await
                .unwrap();
            assert!(again.duplicate);
        }
    }
    let loaded = store.conversation(&conversation.id).await.unwrap().unwrap();
    assert_eq!(loaded.title.as_deref(), Some("it's \"quoted\" 100%"));
    assert!(
        store
            .is_member(&conversation.id, &user("%_\\"))
            .await
            .unwrap()
    );
    assert!(
        !store.is_member(&conversation.id, &user("%")).await.unwrap(),
        "no LIKE matching"
    );
}

/// Structured content (kind and JSON payload) round-trips through append,
/// `message`, history and a `client_id` retry; plain messages keep none.
pub async fn structured_content_round_trips(store: Arc<dyn Store>) {
    let conversation = group(&*store, "content", &["alice", "bob"]).await;
    let card = crate::Content::new(
        "card",
        serde_json::json!({"title": "L\u{fc}nch? \u{1f355}", "buttons": [{"id": "yes"}, {"id": "no"}], "n": 1.5, "quote": "it's \"x\" 100%"}),
    );
    let mut with_card = record(&conversation.id, "alice", "lunch?", Some("card-1"));
    with_card.content = Some(card.clone());
    let stored = store.append(with_card).await.unwrap();
    assert_eq!(stored.message.content.as_ref(), Some(&card));
    let plain = append(&*store, &conversation.id, "bob", "plain").await;
    assert_eq!(plain.message.content, None);

    let loaded = store
        .message(&stored.message.id, &user("alice"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(loaded, stored.message, "by id, content included");
    let page = store
        .history(
            &conversation.id,
            &user("alice"),
            crate::HistoryQuery::latest(10),
        )
        .await
        .unwrap();
    assert_eq!(page.messages[0].content.as_ref(), Some(&card));
    assert_eq!(page.messages[1].content, None);
    let mut retry = record(&conversation.id, "alice", "lunch?", Some("card-1"));
    retry.content = Some(card.clone());
    let again = store.append(retry).await.unwrap();
    assert!(again.duplicate);
    assert_eq!(
        again.message, stored.message,
        "a retry returns the stored content"
    );
    let summaries = listed(&*store, "alice", 10).await;
    assert_eq!(
        summaries[0].last_message.as_ref().map(|m| &m.content),
        Some(&None)
    );
}

/// Creates a public room titled `title` with `creator` as its only member.
///
/// # Panics
/// When the store fails.
pub async fn room(store: &dyn Store, title: &str, creator: &str) -> Conversation {
    store
        .create_group(NewGroup {
            id: ConversationId::generate(),
            title: title.to_owned(),
            public: true,
            members_can_add: false,
            created_by: user(creator),
            members: vec![user(creator)],
            created_at: time::now(),
        })
        .await
        .expect("create_group (public)")
}

fn room_query(viewer: &str, search: Option<&str>, before: Option<&Room>, limit: u32) -> RoomQuery {
    RoomQuery {
        viewer: user(viewer),
        search: search.map(str::to_owned),
        before: before.map(|room| room.id.clone()),
        limit,
    }
}

fn titles(page: &RoomPage) -> Vec<&str> {
    page.rooms.iter().map(|room| room.title.as_str()).collect()
}

/// The rooms directory lists public groups only, newest first, pages by
/// `before`, searches titles ignoring case (with `%` and `_` taken
/// literally), and counts members and the viewer's membership.
pub async fn public_rooms_directory(store: Arc<dyn Store>) {
    let lovers = room(&*store, "Rust lovers", "alice").await;
    let crabs = room(&*store, "rustaceans 100%", "alice").await;
    let garden = room(&*store, "Gardening", "carol").await;
    let secret = group(&*store, "Rust secret", &["alice", "bob"]).await;
    store
        .open_direct(NewDirect {
            id: ConversationId::generate(),
            pair: DirectPair::new(user("alice"), user("bob")).unwrap(),
            created_by: user("alice"),
            created_at: time::now(),
        })
        .await
        .unwrap();

    let all = store
        .rooms(room_query("bob", None, None, 10))
        .await
        .unwrap();
    assert_eq!(
        titles(&all),
        ["Gardening", "rustaceans 100%", "Rust lovers"]
    );
    assert!(!all.has_more);
    let first = &all.rooms[2];
    assert_eq!(
        (
            &first.id,
            &first.created_by,
            first.created_at,
            first.last_seq
        ),
        (&lovers.id, &lovers.created_by, lovers.created_at, 0)
    );
    assert!(
        all.rooms
            .iter()
            .all(|room| !room.joined && room.member_count == 1)
    );

    let found = store
        .rooms(room_query("bob", Some("RUST"), None, 10))
        .await
        .unwrap();
    assert_eq!(titles(&found), ["rustaceans 100%", "Rust lovers"]);
    // As LIKE patterns, "%" would match every title and "r_st" two of them.
    for literal in ["%", "r_st"] {
        let page = store
            .rooms(room_query("bob", Some(literal), None, 10))
            .await
            .unwrap();
        assert_eq!(
            titles(&page).len(),
            usize::from(literal == "%"),
            "{literal}"
        );
    }

    let page_one = store.rooms(room_query("bob", None, None, 2)).await.unwrap();
    assert_eq!(titles(&page_one), ["Gardening", "rustaceans 100%"]);
    assert!(page_one.has_more);
    let page_two = store
        .rooms(room_query("bob", None, page_one.rooms.last(), 2))
        .await
        .unwrap();
    assert_eq!(titles(&page_two), ["Rust lovers"]);
    assert!(!page_two.has_more);

    assert!(
        add_member(&*store, &crabs.id, &user("bob"), 10)
            .await
            .unwrap()
    );
    let joined = store
        .rooms(room_query("bob", None, None, 10))
        .await
        .unwrap();
    let membership: Vec<_> = joined
        .rooms
        .iter()
        .map(|room| (room.joined, room.member_count))
        .collect();
    assert_eq!(membership, [(false, 1), (true, 2), (false, 1)]);

    let loaded = store.conversation(&garden.id).await.unwrap().unwrap();
    assert!(
        loaded.public
            && !store
                .conversation(&secret.id)
                .await
                .unwrap()
                .unwrap()
                .public
    );
    let listed = listed(&*store, "bob", 10).await;
    let flags: Vec<_> = listed
        .iter()
        .map(|summary| (summary.conversation.id.clone(), summary.conversation.public))
        .collect();
    assert_eq!(flags.len(), 3);
    assert!(flags.contains(&(crabs.id.clone(), true)));
    assert!(flags.contains(&(secret.id.clone(), false)));
}

/// Adds never take a conversation past `max_members`, even when they race:
/// 8 concurrent joins with room for 3 add exactly 3 and refuse the rest as
/// [`Refusal::Full`]; a member added again is `Ok(false)` even when full,
/// and an unknown conversation is `Ok(false)`.
pub async fn add_member_keeps_the_limit_under_concurrency(store: Arc<dyn Store>) {
    const LIMIT: usize = 5;
    let lobby = group(&*store, "lobby", &["alice", "bob"]).await;
    let joins = (0..8).map(|i| {
        let (store, id) = (Arc::clone(&store), lobby.id.clone());
        tokio::spawn(
            async move { add_member(&*store, &id, &user(&format!("joiner-{i}")), LIMIT).await },
        )
    });
    let mut added = 0;
    for join in joins.collect::<Vec<_>>() {
        match join.await.unwrap() {
            Ok(true) => added += 1,
            Err(StoreError::Refused(Refusal::Full)) => {}
            other => panic!("expected Ok(true) or Full, got {other:?}"),
        }
    }
    assert_eq!(added, LIMIT - 2);
    let members = store.members(&lobby.id).await.unwrap().unwrap();
    assert_eq!(members.len(), LIMIT);
    assert!(
        !add_member(&*store, &lobby.id, &user("bob"), LIMIT)
            .await
            .unwrap()
    );
    let nowhere = ConversationId::generate();
    assert!(
        matches!(
            add_member(&*store, &nowhere, &user("bob"), LIMIT).await,
            Err(StoreError::Refused(Refusal::UnknownConversation))
        ),
        "no such conversation"
    );
}
