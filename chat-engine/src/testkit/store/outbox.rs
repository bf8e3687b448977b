//! Outbox cases: a message asked for with an outbox row gets one in its
//! append (a repeat none); a claim takes due rows only, and once until its
//! lease ends, even under concurrent claims; a deferred row comes back at
//! its time with its stage; a finished row is gone. And the preferences a
//! notification is filtered by, for members only.

use std::collections::BTreeSet;
use std::sync::Arc;

use chrono::Duration;

use super::{group, record, user};
use crate::{
    MessageId, MuteChange, NotificationLevel, OutboxEntry, OutboxStage, PreferencesChange, Store,
    Timestamp, time,
};

async fn claim(store: &dyn Store, now: Timestamp, limit: u32) -> Vec<OutboxEntry> {
    store
        .claim_outbox(now, now + Duration::seconds(30), limit)
        .await
        .expect("claim_outbox")
}

/// A row comes with its message, once, and goes through claim, lease,
/// deferral and finish.
pub async fn outbox_rows_come_with_their_messages(store: Arc<dyn Store>) {
    let store = store.as_ref();
    let chat = group(store, "chat", &["alice", "bob"]).await;
    let now = time::now();
    let mut first = record(&chat.id, "alice", "follow me up", Some("k1"));
    first.outbox_due = Some(now - Duration::seconds(1));
    let stored = store.append(first.clone()).await.expect("append").message;
    // A retry of the same client_id writes no second row.
    let mut retry = first.clone();
    retry.id = MessageId::generate();
    assert!(store.append(retry).await.expect("retry").duplicate);
    // A message asked without a row has none; one due later is not taken yet.
    store
        .append(record(&chat.id, "bob", "no follow-up", None))
        .await
        .expect("append");
    let mut later = record(&chat.id, "bob", "later", None);
    later.outbox_due = Some(now + Duration::hours(1));
    let later = store.append(later).await.expect("append").message;

    let claimed = claim(store, now, 10).await;
    assert_eq!(
        claimed,
        vec![OutboxEntry {
            message_id: stored.id.clone(),
            conversation_id: chat.id.clone(),
            stage: OutboxStage::Hooks,
            attempts: 1,
        }],
        "only the due row, once"
    );
    assert!(
        claim(store, now, 10).await.is_empty(),
        "a claimed row waits for its lease"
    );
    let after_lease = claim(store, now + Duration::seconds(31), 10).await;
    assert_eq!(after_lease.len(), 1, "{after_lease:?}");
    assert_eq!(after_lease[0].attempts, 2, "each claim counts");

    store
        .defer_outbox(&stored.id, OutboxStage::Notify, now + Duration::minutes(5))
        .await
        .expect("defer_outbox");
    assert!(
        claim(store, now + Duration::minutes(4), 10)
            .await
            .is_empty()
    );
    let deferred = claim(store, now + Duration::minutes(6), 1).await;
    assert_eq!(deferred.len(), 1);
    assert_eq!(deferred[0].message_id, stored.id);
    assert_eq!(deferred[0].stage, OutboxStage::Notify, "the stage kept");

    store
        .finish_outbox(&[stored.id.clone(), MessageId::generate()])
        .await
        .expect("finish_outbox");
    let far = claim(store, now + Duration::hours(2), 10).await;
    let ids: Vec<&MessageId> = far.iter().map(|entry| &entry.message_id).collect();
    assert_eq!(ids, vec![&later.id], "the finished row is gone");
}

/// Of many claims at once, each due row goes to one.
pub async fn concurrent_claims_take_each_row_once(store: Arc<dyn Store>) {
    let chat = group(store.as_ref(), "busy", &["alice", "bob"]).await;
    let now = time::now();
    let mut expected = BTreeSet::new();
    for index in 0..24 {
        let mut message = record(&chat.id, "alice", &format!("m{index}"), None);
        message.outbox_due = Some(now);
        expected.insert(store.append(message).await.expect("append").message.id);
    }
    let claims: Vec<_> = (0..6)
        .map(|_| {
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                let mut mine = Vec::new();
                loop {
                    let batch = claim(store.as_ref(), now, 3).await;
                    if batch.is_empty() {
                        return mine;
                    }
                    mine.extend(batch.into_iter().map(|entry| entry.message_id));
                }
            })
        })
        .collect();
    let mut taken = Vec::new();
    for task in claims {
        taken.extend(task.await.expect("claiming task"));
    }
    let distinct: BTreeSet<MessageId> = taken.iter().cloned().collect();
    assert_eq!(
        distinct.len(),
        taken.len(),
        "a row claimed twice: {taken:?}"
    );
    assert_eq!(distinct, expected, "every row claimed");
}

/// The preferences a notification is filtered by: members' own, in id
/// order; a non-member is left out.
pub async fn preferences_of_reads_members_only(store: Arc<dyn Store>) {
    let store = store.as_ref();
    let chat = group(store, "prefs", &["alice", "bob", "carol"]).await;
    let until = time::now() + Duration::hours(1);
    store
        .set_preferences(
            &chat.id,
            &user("bob"),
            PreferencesChange {
                muted_until: Some(MuteChange::Until(until)),
                ..PreferencesChange::default()
            },
        )
        .await
        .expect("mute");
    store
        .set_preferences(
            &chat.id,
            &user("carol"),
            PreferencesChange {
                notifications: Some(NotificationLevel::Mentions),
                ..PreferencesChange::default()
            },
        )
        .await
        .expect("level");
    let read = store
        .preferences_of(&chat.id, &[user("dave"), user("carol"), user("bob")])
        .await
        .expect("preferences_of");
    let users: Vec<&str> = read.iter().map(|(user, _)| user.as_str()).collect();
    assert_eq!(users, ["bob", "carol"]);
    assert_eq!(
        read[0].1.muted_until.map(time::to_millis),
        Some(time::to_millis(until))
    );
    assert_eq!(read[1].1.notifications, NotificationLevel::Mentions);
    assert!(
        store
            .preferences_of(&chat.id, &[])
            .await
            .expect("none asked")
            .is_empty()
    );
}
