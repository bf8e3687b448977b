//! Moderation cases: the roles decide who may do what, inside the change's
//! transaction (two admins removing each other, a ban racing a join);
//! ownership passes on when the owner leaves; bans keep users out, mutes
//! and blocks silence writes, and deleting a group leaves nothing of it.

use std::sync::Arc;

use super::timeline::{make, refusal};
use super::{add_member, append, group, record, room, user};
use crate::testkit::StoreFixture;
use crate::{
    Change, ConversationId, DirectPair, HistoryQuery, NewDirect, NewGroup, Outcome, Refusal, Role,
    Store, StoreError, UserId, time,
};

fn role(user_id: &str, role: Role) -> Change {
    Change::RoleChanged {
        user_id: user(user_id),
        role,
    }
}

fn removed(user_id: &str) -> Change {
    Change::MemberRemoved {
        user_id: user(user_id),
        new_owner: None,
    }
}

fn banned(user_id: &str) -> Change {
    Change::Banned {
        user_id: user(user_id),
    }
}

async fn roles(store: &dyn Store, id: &ConversationId) -> (Option<UserId>, Vec<UserId>) {
    let conversation = store.conversation(id).await.unwrap().unwrap();
    (conversation.owner, conversation.admins)
}

/// `by` makes `change`, which must not be refused.
async fn done(store: &dyn Store, id: &ConversationId, by: &str, change: Change) -> crate::Changed {
    match make(store, id, by, change.clone(), None).await {
        Ok(changed) => changed,
        Err(error) => panic!("{by}: {change:?} refused: {error:?}"),
    }
}

/// Refused with `expected`, writing nothing.
async fn refused(
    store: &dyn Store,
    id: &ConversationId,
    by: &str,
    change: Change,
    expected: Refusal,
) {
    let before = store.conversation(id).await.unwrap().unwrap();
    let result = make(store, id, by, change.clone(), None).await;
    assert_eq!(refusal(result), expected, "{by}: {change:?}");
    assert_eq!(
        store.conversation(id).await.unwrap().unwrap(),
        before,
        "a refusal writes nothing"
    );
}

/// The creator owns a group; members do not moderate; the owner appoints
/// admins, who moderate members and each other but never the owner; only
/// the owner changes roles and hands the group over.
pub async fn roles_decide_who_moderates(store: Arc<dyn Store>) {
    let store = &*store;
    let conversation = group(store, "g", &["alice", "bob", "carol", "dave"]).await;
    let id = &conversation.id;
    assert_eq!(
        (conversation.owner, conversation.admins),
        (Some(user("alice")), vec![])
    );
    assert!(!conversation.members_can_add);
    let add_erin = Change::MemberAdded {
        user_id: user("erin"),
    };
    let rename = Change::Renamed {
        title: "mine".to_owned(),
    };
    for change in [
        add_erin.clone(),
        rename.clone(),
        removed("carol"),
        banned("carol"),
    ] {
        refused(store, id, "bob", change, Refusal::NotAnAdmin).await;
    }
    refused(
        store,
        id,
        "bob",
        role("carol", Role::Admin),
        Refusal::NotTheOwner,
    )
    .await;

    done(store, id, "alice", role("bob", Role::Admin)).await;
    assert_eq!(
        roles(store, id).await,
        (Some(user("alice")), vec![user("bob")])
    );
    let again = done(store, id, "alice", role("bob", Role::Admin)).await;
    assert_eq!(again.outcome, Outcome::Unchanged, "already an admin");
    for change in [
        removed("alice"),
        banned("alice"),
        Change::Muted {
            user_id: user("alice"),
        },
    ] {
        refused(store, id, "bob", change, Refusal::OwnerProtected).await;
    }
    refused(
        store,
        id,
        "bob",
        role("carol", Role::Admin),
        Refusal::NotTheOwner,
    )
    .await;
    let hand_over = Change::OwnerChanged {
        user_id: user("bob"),
    };
    refused(store, id, "bob", hand_over.clone(), Refusal::NotTheOwner).await;
    refused(
        store,
        id,
        "alice",
        role("erin", Role::Admin),
        Refusal::UnknownMember,
    )
    .await;
    // Nobody moderates themselves, and the one owner is handed over, not
    // given as a role.
    for change in [role("alice", Role::Admin), banned("alice")] {
        refused(store, id, "alice", change, Refusal::OnOneself).await;
    }
    refused(
        store,
        id,
        "alice",
        role("carol", Role::Owner),
        Refusal::OneOwner,
    )
    .await;

    // An admin adds, renames and removes.
    done(store, id, "bob", add_erin).await;
    done(store, id, "bob", rename).await;
    let gone = done(store, id, "bob", removed("carol")).await;
    assert!(
        gone.members.contains(&user("carol")),
        "the removed member hears it"
    );
    assert!(!store.is_member(id, &user("carol")).await.unwrap());

    // The hand-over: bob owns it, alice stays an admin and may be moderated.
    let event = done(
        store,
        id,
        "alice",
        Change::OwnerChanged {
            user_id: user("bob"),
        },
    )
    .await;
    assert!(matches!(event.outcome, Outcome::Applied(_)));
    assert_eq!(
        roles(store, id).await,
        (Some(user("bob")), vec![user("alice")])
    );
    done(store, id, "bob", role("alice", Role::Member)).await;
    assert_eq!(roles(store, id).await, (Some(user("bob")), vec![]));
    refused(
        store,
        id,
        "alice",
        role("dave", Role::Admin),
        Refusal::NotTheOwner,
    )
    .await;
}

/// A group may let plain members add others; a member cannot add a user
/// who blocks them, or a banned one.
pub async fn members_add_where_the_group_allows_it(store: Arc<dyn Store>) {
    let store = &*store;
    let open = store
        .create_group(NewGroup {
            id: ConversationId::generate(),
            title: "open".to_owned(),
            public: false,
            members_can_add: true,
            created_by: user("alice"),
            members: vec![user("alice"), user("bob")],
            created_at: time::now(),
        })
        .await
        .unwrap();
    assert!(open.members_can_add);
    let id = &open.id;
    let closed = Change::SettingsChanged {
        members_can_add: false,
    };
    refused(store, id, "bob", closed.clone(), Refusal::NotAnAdmin).await;
    done(
        store,
        id,
        "bob",
        Change::MemberAdded {
            user_id: user("carol"),
        },
    )
    .await;
    assert!(
        store
            .set_block(&user("dave"), &user("bob"), true)
            .await
            .unwrap()
    );
    let blocked = Change::MemberAdded {
        user_id: user("dave"),
    };
    refused(store, id, "bob", blocked.clone(), Refusal::Blocked).await;
    done(store, id, "alice", blocked).await;
    done(store, id, "alice", banned("erin")).await;
    let erin = Change::MemberAdded {
        user_id: user("erin"),
    };
    refused(store, id, "bob", erin, Refusal::Banned).await;

    // Closed again by an admin: plain members add nobody, and saying it
    // twice changes nothing.
    done(store, id, "alice", closed.clone()).await;
    assert!(
        !store
            .conversation(id)
            .await
            .unwrap()
            .unwrap()
            .members_can_add
    );
    let again = done(store, id, "alice", closed).await;
    assert_eq!(again.outcome, Outcome::Unchanged);
    let frank = Change::MemberAdded {
        user_id: user("frank"),
    };
    refused(store, id, "bob", frank, Refusal::NotAnAdmin).await;
    // A member who may not add learns nothing of the bans.
    let erin = Change::MemberAdded {
        user_id: user("erin"),
    };
    refused(store, id, "bob", erin, Refusal::NotAnAdmin).await;
}

/// When the owner leaves, the longest-standing admin owns the group (else
/// the longest-standing member), and the event names them; the first to
/// join a room nobody is left in owns it.
pub async fn the_owner_leaving_hands_the_group_on(store: Arc<dyn Store>) {
    let store = &*store;
    let conversation = group(store, "g", &["alice", "bob"]).await;
    let id = &conversation.id;
    // carol joins after bob, but is an admin: she comes first.
    done(
        store,
        id,
        "alice",
        Change::MemberAdded {
            user_id: user("carol"),
        },
    )
    .await;
    done(store, id, "alice", role("carol", Role::Admin)).await;
    let left = done(store, id, "alice", removed("alice")).await;
    let Outcome::Applied(event) = left.outcome else {
        panic!("the owner left: {left:?}");
    };
    assert_eq!(
        event.change,
        Change::MemberRemoved {
            user_id: user("alice"),
            new_owner: Some(user("carol")),
        }
    );
    assert_eq!(roles(store, id).await, (Some(user("carol")), vec![]));
    let page = store.timeline(id, &user("bob"), 0, 10).await.unwrap();
    let replayed = page.entries.last().unwrap();
    assert_eq!(
        replayed,
        &crate::Entry::Change(event),
        "the heir is stored with the event"
    );
    done(store, id, "carol", removed("carol")).await;
    assert_eq!(roles(store, id).await, (Some(user("bob")), vec![]));

    let lobby = room(store, "lobby", "alice").await;
    done(store, &lobby.id, "alice", removed("alice")).await;
    assert_eq!(roles(store, &lobby.id).await, (None, vec![]));
    assert!(
        add_member(store, &lobby.id, &user("zoe"), 10)
            .await
            .unwrap()
    );
    assert_eq!(roles(store, &lobby.id).await, (Some(user("zoe")), vec![]));
}

/// A ban removes a member and keeps them out (joining, being added) until
/// lifted; a user may be banned before they ever join.
pub async fn bans_keep_users_out(store: Arc<dyn Store>) {
    let store = &*store;
    let lobby = room(store, "lobby", "alice").await;
    let id = &lobby.id;
    assert!(add_member(store, id, &user("bob"), 10).await.unwrap());
    let ban = done(store, id, "alice", banned("bob")).await;
    assert!(
        ban.members.contains(&user("bob")),
        "the banned member hears it"
    );
    assert!(!store.is_member(id, &user("bob")).await.unwrap());
    assert_eq!(store.bans(id).await.unwrap(), [user("bob")]);
    let again = done(store, id, "alice", banned("bob")).await;
    assert_eq!(again.outcome, Outcome::Unchanged);
    let join = add_member(store, id, &user("bob"), 10).await;
    assert!(
        matches!(join, Err(StoreError::Refused(Refusal::Banned))),
        "{join:?}"
    );
    let add = Change::MemberAdded {
        user_id: user("bob"),
    };
    refused(store, id, "alice", add, Refusal::Banned).await;
    done(store, id, "alice", banned("mallory")).await;
    let join = add_member(store, id, &user("mallory"), 10).await;
    assert!(
        matches!(join, Err(StoreError::Refused(Refusal::Banned))),
        "{join:?}"
    );

    done(
        store,
        id,
        "alice",
        Change::Unbanned {
            user_id: user("bob"),
        },
    )
    .await;
    assert_eq!(store.bans(id).await.unwrap(), [user("mallory")]);
    assert!(add_member(store, id, &user("bob"), 10).await.unwrap());
}

/// A muted member reads but cannot send, edit, react or pin; they may
/// still delete their own messages and leave. Unmuting gives writes back.
pub async fn mutes_silence_writes(store: Arc<dyn Store>) {
    let store = &*store;
    let conversation = group(store, "g", &["alice", "bob"]).await;
    let id = &conversation.id;
    let mine = append(store, id, "bob", "before the mute")
        .await
        .message
        .seq;
    done(
        store,
        id,
        "alice",
        Change::Muted {
            user_id: user("bob"),
        },
    )
    .await;
    assert_eq!(
        store.conversation(id).await.unwrap().unwrap().muted,
        [user("bob")]
    );
    let sent = store.append(record(id, "bob", "let me talk", None)).await;
    assert!(
        matches!(sent, Err(StoreError::Refused(Refusal::Muted))),
        "{sent:?}"
    );
    let react = Change::ReactionAdded {
        message_seq: mine,
        reaction: "👍".to_owned(),
    };
    refused(store, id, "bob", react, Refusal::Muted).await;
    refused(
        store,
        id,
        "bob",
        Change::Pinned { message_seq: mine },
        Refusal::Muted,
    )
    .await;
    done(store, id, "bob", Change::Deleted { message_seq: mine }).await;
    done(
        store,
        id,
        "alice",
        Change::Unmuted {
            user_id: user("bob"),
        },
    )
    .await;
    assert!(
        store
            .conversation(id)
            .await
            .unwrap()
            .unwrap()
            .muted
            .is_empty()
    );
    store
        .append(record(id, "bob", "thanks", None))
        .await
        .unwrap();

    // A muted member who comes to own the group is muted no more: nobody
    // could unmute an owner.
    done(
        store,
        id,
        "alice",
        Change::Muted {
            user_id: user("bob"),
        },
    )
    .await;
    let left = done(store, id, "alice", removed("alice")).await;
    assert!(matches!(left.outcome, Outcome::Applied(_)));
    let conversation = store.conversation(id).await.unwrap().unwrap();
    assert_eq!(
        (conversation.owner, conversation.muted),
        (Some(user("bob")), vec![])
    );
    store
        .append(record(id, "bob", "mine now", None))
        .await
        .unwrap();
}

/// A block stops the blocked user writing in the direct conversation (also
/// one opened after the block), opening one, and adding the blocker to
/// groups; the blocker still writes. Unblocking gives it all back.
pub async fn blocks_stop_direct_messages_and_invitations(store: Arc<dyn Store>) {
    let store = &*store;
    let open = |opener: &str, other: &str| {
        let pair = DirectPair::new(user(opener), user(other)).unwrap();
        store.open_direct(NewDirect {
            id: ConversationId::generate(),
            pair,
            created_by: user(opener),
            created_at: time::now(),
        })
    };
    let direct = open("alice", "bob").await.unwrap();
    assert!(
        store
            .set_block(&user("alice"), &user("bob"), true)
            .await
            .unwrap()
    );
    assert!(
        !store
            .set_block(&user("alice"), &user("bob"), true)
            .await
            .unwrap()
    );
    assert_eq!(
        store.blocked_by(&user("alice")).await.unwrap(),
        [user("bob")]
    );
    let sent = store.append(record(&direct.id, "bob", "hey", None)).await;
    assert!(
        matches!(sent, Err(StoreError::Refused(Refusal::Blocked))),
        "{sent:?}"
    );
    store
        .append(record(&direct.id, "alice", "bye", None))
        .await
        .unwrap();
    let reopened = open("bob", "alice").await;
    assert!(
        matches!(reopened, Err(StoreError::Refused(Refusal::Blocked))),
        "{reopened:?}"
    );
    assert_eq!(open("alice", "bob").await.unwrap().id, direct.id);
    let with_alice = store
        .create_group(NewGroup {
            id: ConversationId::generate(),
            title: "g".to_owned(),
            public: false,
            members_can_add: false,
            created_by: user("bob"),
            members: vec![user("alice"), user("bob")],
            created_at: time::now(),
        })
        .await;
    assert!(
        matches!(with_alice, Err(StoreError::Refused(Refusal::Blocked))),
        "{with_alice:?}"
    );
    let bobs = group(store, "bob's", &["bob"]).await;
    let add = Change::MemberAdded {
        user_id: user("alice"),
    };
    refused(store, &bobs.id, "bob", add, Refusal::Blocked).await;

    assert!(
        store
            .set_block(&user("alice"), &user("bob"), false)
            .await
            .unwrap()
    );
    assert!(store.blocked_by(&user("alice")).await.unwrap().is_empty());
    store
        .append(record(&direct.id, "bob", "hi again", None))
        .await
        .unwrap();

    // A block that comes before the conversation.
    assert!(
        store
            .set_block(&user("carol"), &user("dave"), true)
            .await
            .unwrap()
    );
    let later = open("carol", "dave").await.unwrap();
    let sent = store
        .append(record(&later.id, "dave", "hello?", None))
        .await;
    assert!(
        matches!(sent, Err(StoreError::Refused(Refusal::Blocked))),
        "{sent:?}"
    );
}

/// Two admins removing each other at once: exactly one goes, the other's
/// removal is refused (they are no longer a member), round after round.
pub async fn two_admins_removing_each_other_leave_one(store: Arc<dyn Store>) {
    for _ in 0..10 {
        let conversation = group(&*store, "g", &["alice", "bob", "carol"]).await;
        let id = conversation.id.clone();
        for admin in ["bob", "carol"] {
            done(&*store, &id, "alice", role(admin, Role::Admin)).await;
        }
        let race = |by: &'static str, other: &'static str| {
            let (store, id) = (Arc::clone(&store), id.clone());
            tokio::spawn(async move { make(&*store, &id, by, removed(other), None).await })
        };
        let (bob, carol) = (race("bob", "carol"), race("carol", "bob"));
        let outcomes = [bob.await.unwrap(), carol.await.unwrap()];
        let done = outcomes.iter().filter(|outcome| outcome.is_ok()).count();
        assert_eq!(done, 1, "exactly one removal: {outcomes:?}");
        for outcome in outcomes.into_iter().filter(Result::is_err) {
            assert_eq!(refusal(outcome), Refusal::NotAMember);
        }
        let members = store.members(&id).await.unwrap().unwrap();
        assert_eq!(members.len(), 2, "{members:?}");
    }
}

/// A ban racing the banned user's join ends with them out and banned,
/// whichever commits first.
pub async fn a_ban_racing_a_join_keeps_the_user_out(store: Arc<dyn Store>) {
    for _ in 0..10 {
        let lobby = room(&*store, "lobby", "alice").await;
        let id = lobby.id.clone();
        let join = {
            let (store, id) = (Arc::clone(&store), id.clone());
            tokio::spawn(async move { add_member(&*store, &id, &user("bob"), 10).await })
        };
        let ban = {
            let (store, id) = (Arc::clone(&store), id.clone());
            tokio::spawn(async move { make(&*store, &id, "alice", banned("bob"), None).await })
        };
        let (joined, ban) = (join.await.unwrap(), ban.await.unwrap());
        assert!(ban.is_ok(), "{ban:?}");
        if let Err(error) = joined {
            assert!(
                matches!(error, StoreError::Refused(Refusal::Banned)),
                "{error:?}"
            );
        }
        assert!(!store.is_member(&id, &user("bob")).await.unwrap());
        assert_eq!(store.bans(&id).await.unwrap(), [user("bob")]);
    }
}

/// Deleting a group (admins only) deletes its history: nothing of it can
/// be read or written again, and no text of it stays in any table or
/// index.
pub async fn deleting_a_group_deletes_its_history(fixture: &impl StoreFixture) {
    let store = fixture.store();
    let store = &*store;
    let kept = group(store, "kept", &["alice", "bob"]).await;
    append(store, &kept.id, "alice", "an older message").await;
    let conversation = group(store, "g", &["alice", "bob"]).await;
    let id = &conversation.id;
    let seq = append(store, id, "bob", "wombatquill secret plans")
        .await
        .message
        .seq;
    done(
        store,
        id,
        "alice",
        Change::ReactionAdded {
            message_seq: seq,
            reaction: "👍".to_owned(),
        },
    )
    .await;
    done(store, id, "alice", Change::Pinned { message_seq: seq }).await;
    // Searched (so indexed) before the delete.
    let search = |word: &str| crate::SearchQuery {
        user: user("alice"),
        words: vec![word.to_owned()],
        before: None,
        limit: 10,
    };
    let found = store.search(search("wombatquill")).await.unwrap();
    assert_eq!(found.messages.len(), 1, "{found:?}");
    let by_member = store.delete_conversation(id, &user("bob")).await;
    assert!(
        matches!(by_member, Err(StoreError::Refused(Refusal::NotAnAdmin))),
        "{by_member:?}"
    );
    let by_outsider = store.delete_conversation(id, &user("eve")).await;
    assert!(
        matches!(by_outsider, Err(StoreError::Refused(Refusal::NotAMember))),
        "{by_outsider:?}"
    );
    assert!(
        store.conversation(id).await.unwrap().is_some(),
        "refusals delete nothing"
    );

    let members = store.delete_conversation(id, &user("alice")).await.unwrap();
    assert_eq!(members, [user("alice"), user("bob")]);
    assert_eq!(store.conversation(id).await.unwrap(), None);
    assert_eq!(store.members(id).await.unwrap(), None);
    let history = store
        .history(id, &user("alice"), HistoryQuery::latest(10))
        .await
        .unwrap();
    assert!(history.messages.is_empty());
    assert!(
        store
            .timeline(id, &user("alice"), 0, 10)
            .await
            .unwrap()
            .entries
            .is_empty()
    );
    let listed = super::listed(store, "bob", 10).await;
    assert!(
        listed.iter().all(|summary| summary.conversation.id != *id),
        "{listed:?}"
    );
    assert_eq!(
        fixture.where_stored("wombatquill").await,
        Vec::<String>::new()
    );
    let sent = store.append(record(id, "alice", "anyone?", None)).await;
    assert!(
        matches!(sent, Err(StoreError::Refused(Refusal::UnknownConversation))),
        "{sent:?}"
    );
    let renamed = make(
        store,
        id,
        "alice",
        Change::Renamed {
            title: "back".to_owned(),
        },
        None,
    )
    .await;
    assert_eq!(refusal(renamed), Refusal::UnknownConversation);
    let again = store.delete_conversation(id, &user("alice")).await;
    assert!(
        matches!(
            again,
            Err(StoreError::Refused(Refusal::UnknownConversation))
        ),
        "{again:?}"
    );
    // The deleted group held the newest messages: messages sent after it
    // are still found by search (no store reuses what the index saw).
    append(store, &kept.id, "bob", "platypuslark after the delete").await;
    let found = store.search(search("platypuslark")).await.unwrap();
    assert_eq!(found.messages.len(), 1, "{found:?}");
    let gone = store.search(search("wombatquill")).await.unwrap();
    assert!(gone.messages.is_empty(), "{gone:?}");
}
