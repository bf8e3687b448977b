//! People cases: who shares a conversation with whom, which decides who
//! sees whose presence; the users a `StoreDirectory` keeps.

use std::sync::Arc;

use super::{add_member, direct, group, room, user};
use crate::{Profile, Store, UserId, UserPage, UserQuery, time};

async fn contacts(store: &dyn Store, name: &str) -> Vec<UserId> {
    store.contacts(&user(name)).await.expect("contacts")
}

/// A user's contacts are the members of their direct conversations and
/// groups, once each, sorted, without themselves; not those they only
/// share a public room with, nor a deleted group, nor anyone either of
/// them blocks (both ways).
pub async fn contacts_share_a_private_conversation(store: Arc<dyn Store>) {
    let store = &*store;
    group(store, "team", &["alice", "bob", "carol"]).await;
    group(store, "pair", &["alice", "bob"]).await;
    direct(store, "alice", "dave").await;
    let lobby = room(store, "lobby", "alice").await;
    add_member(store, &lobby.id, &user("erin"), 100)
        .await
        .unwrap();
    let gone = group(store, "gone", &["alice", "frank"]).await;
    store
        .delete_conversation(&gone.id, &user("alice"))
        .await
        .unwrap();

    assert_eq!(
        contacts(store, "alice").await,
        [user("bob"), user("carol"), user("dave")]
    );
    assert_eq!(contacts(store, "carol").await, [user("alice"), user("bob")]);
    assert!(
        contacts(store, "erin").await.is_empty(),
        "a room is no contact"
    );
    assert!(
        contacts(store, "frank").await.is_empty(),
        "a deleted group is none"
    );

    store
        .set_block(&user("dave"), &user("alice"), true)
        .await
        .unwrap();
    assert_eq!(contacts(store, "alice").await, [user("bob"), user("carol")]);
    assert!(
        contacts(store, "dave").await.is_empty(),
        "blocks count both ways"
    );
}

fn profile(id: &str, name: &str, avatar: Option<&str>) -> Profile {
    Profile {
        user_id: user(id),
        display_name: name.to_owned(),
        avatar_url: avatar.map(str::to_owned),
    }
}

fn ids(page: &UserPage) -> Vec<&str> {
    page.users.iter().map(|p| p.user_id.as_str()).collect()
}

/// Recorded users page in id order by cursor, are found by any part of
/// their display name or id ignoring ASCII case, and resolve by id (unknown
/// ids left out); recording one again updates their name and avatar.
pub async fn users_are_listed_searched_and_resolved(store: Arc<dyn Store>) {
    let store = &*store;
    let at = time::now();
    for recorded in [
        profile("carol", "Carol", Some("https://example.com/c.png")),
        profile("alice", "Alice Liddell", None),
        profile("bob", "bob", None),
    ] {
        store.record_user(&recorded, at).await.unwrap();
    }
    store
        .record_user(
            &profile("alice", "Alice L.", Some("https://example.com/a.png")),
            at,
        )
        .await
        .unwrap();

    let query = |search: Option<&str>, after: Option<&str>, limit| UserQuery {
        viewer: user("alice"),
        search: search.map(str::to_owned),
        after: after.map(user),
        limit,
    };
    let first = store.users(&query(None, None, 2)).await.unwrap();
    assert_eq!(ids(&first), ["alice", "bob"]);
    assert!(first.has_more);
    assert_eq!(first.next, Some(user("bob")));
    assert_eq!(first.users[0].display_name, "Alice L.", "updated");
    let rest = store.users(&query(None, Some("bob"), 2)).await.unwrap();
    assert_eq!(ids(&rest), ["carol"]);
    assert!(!rest.has_more);
    assert_eq!(rest.next, None);

    for (search, expected) in [
        ("ALICE", vec!["alice"]),
        ("l.", vec!["alice"]),
        ("ro", vec!["carol"]),
        ("b", vec!["bob"]),
        ("zed", vec![]),
    ] {
        let found = store.users(&query(Some(search), None, 10)).await.unwrap();
        assert_eq!(ids(&found), expected, "search {search:?}");
    }

    let resolved = store
        .profiles(&[user("carol"), user("nobody"), user("alice")])
        .await
        .unwrap();
    assert_eq!(
        resolved,
        [
            profile("alice", "Alice L.", Some("https://example.com/a.png")),
            profile("carol", "Carol", Some("https://example.com/c.png")),
        ]
    );
    assert!(store.profiles(&[]).await.unwrap().is_empty());
}
