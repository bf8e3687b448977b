//! People cases: who shares a conversation with whom, which decides who
//! sees whose presence.

use std::sync::Arc;

use super::{add_member, direct, group, room, user};
use crate::{Store, UserId};

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
