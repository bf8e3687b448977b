//! Presence cases: one `pub async fn` per guarantee of [`Presence`], run on
//! the presence each node of a [`BusFixture`] offers ([`Bus::presence`]).
//!
//! Every call takes its time from the case, so deadlines are stepped past
//! without sleeping. Times are whole milliseconds, as backends keep them.

use std::sync::Arc;
use std::time::Duration;

use super::BusFixture;
use super::store::user;
use crate::{Bus, Presence, Timestamp, UserPresence, time};

/// How long the cases' entries live.
const TTL: Duration = Duration::from_secs(30);

async fn presence_node(fixture: &impl BusFixture) -> (Arc<dyn Bus>, Arc<dyn Presence>) {
    let bus = fixture.node().await;
    let presence = bus
        .presence()
        .expect("a bus shared by several nodes offers their presence");
    (bus, presence)
}

/// Now, to the millisecond.
fn start() -> Timestamp {
    time::from_millis(time::to_millis(time::now()))
}

fn online(name: &str) -> UserPresence {
    UserPresence {
        user_id: user(name),
        online: true,
        last_seen: None,
    }
}

/// Of the nodes a user is connected to, only the first to arrive brings
/// them online and only the last to leave takes them offline, last seen
/// then; every node reads the same.
pub async fn presence_comes_with_the_first_node_and_goes_with_the_last(fixture: &impl BusFixture) {
    let (_a, a) = presence_node(fixture).await;
    let (_b, b) = presence_node(fixture).await;
    let (_c, reader) = presence_node(fixture).await;
    let t0 = start();
    let alice = user("alice");
    assert!(a.arrive(&alice, t0, t0 + TTL).await.unwrap(), "first node");
    assert!(
        !b.arrive(&alice, t0, t0 + TTL).await.unwrap(),
        "already online"
    );
    assert_eq!(
        reader.read(std::slice::from_ref(&alice), t0).await.unwrap(),
        [online("alice")]
    );
    let t1 = t0 + Duration::from_secs(1);
    assert!(!a.leave(&alice, t1).await.unwrap(), "still on b");
    assert_eq!(
        reader.read(std::slice::from_ref(&alice), t1).await.unwrap(),
        [online("alice")]
    );
    let t2 = t0 + Duration::from_secs(2);
    assert!(b.leave(&alice, t2).await.unwrap(), "the last node left");
    assert_eq!(
        reader
            .read(&[alice.clone(), user("nobody")], t2)
            .await
            .unwrap(),
        [
            UserPresence::offline(alice, Some(t2)),
            UserPresence::offline(user("nobody"), None)
        ],
        "last seen when the last node left; never seen is no time at all"
    );
}

/// A node that dies without leaving keeps its users online until their
/// entries' deadline, then the first sweep after it (from any node) takes
/// them offline, last seen at the dead node's last renewal, and no later
/// sweep announces them again.
pub async fn a_dead_node_s_users_go_offline_at_its_deadline(fixture: &impl BusFixture) {
    let t0 = start();
    {
        let (_dead_bus, dead) = presence_node(fixture).await;
        for name in ["alice", "bob"] {
            assert!(dead.arrive(&user(name), t0, t0 + TTL).await.unwrap());
        }
        // Dropped here without a word.
    }
    let (_b, survivor) = presence_node(fixture).await;
    let before = t0 + TTL - Duration::from_millis(1);
    assert!(survivor.sweep(before).await.unwrap().is_empty(), "not yet");
    assert_eq!(
        survivor.read(&[user("alice")], before).await.unwrap(),
        [online("alice")]
    );
    let deadline = t0 + TTL;
    let mut gone = survivor.sweep(deadline).await.unwrap();
    gone.sort();
    assert_eq!(gone, [(user("alice"), t0), (user("bob"), t0)]);
    assert_eq!(
        survivor.read(&[user("alice")], deadline).await.unwrap(),
        [UserPresence::offline(user("alice"), Some(t0))]
    );
    assert!(
        survivor.sweep(deadline + TTL).await.unwrap().is_empty(),
        "announced once"
    );
}

/// A sweep spares a user whose entry on another node still lives, and the
/// live node's departure is then the one that takes them offline.
pub async fn a_sweep_spares_users_still_online_elsewhere(fixture: &impl BusFixture) {
    let (_a, short) = presence_node(fixture).await;
    let (_b, long) = presence_node(fixture).await;
    let t0 = start();
    let alice = user("alice");
    assert!(short.arrive(&alice, t0, t0 + TTL).await.unwrap());
    assert!(!long.arrive(&alice, t0, t0 + TTL * 3).await.unwrap());
    let later = t0 + TTL * 2;
    assert!(long.sweep(later).await.unwrap().is_empty());
    assert_eq!(
        long.read(std::slice::from_ref(&alice), later)
            .await
            .unwrap(),
        [online("alice")]
    );
    assert!(
        long.leave(&alice, later).await.unwrap(),
        "the lapsed entry is no one"
    );
}

/// Renewing keeps a user online past the first deadline, and a node that
/// renews too late (its entry was swept) puts it back and is told the
/// user is online again, once.
pub async fn renewals_keep_users_online_and_restore_lapsed_ones(fixture: &impl BusFixture) {
    let (_a, node) = presence_node(fixture).await;
    let (_b, other) = presence_node(fixture).await;
    let t0 = start();
    let alice = user("alice");
    assert!(node.arrive(&alice, t0, t0 + TTL).await.unwrap());
    let t1 = t0 + TTL / 2;
    assert!(
        node.refresh(std::slice::from_ref(&alice), t1, t1 + TTL)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(other.sweep(t0 + TTL).await.unwrap().is_empty(), "renewed");
    let swept = t1 + TTL;
    assert_eq!(other.sweep(swept).await.unwrap(), [(alice.clone(), t1)]);
    let late = swept + Duration::from_secs(1);
    assert_eq!(
        node.refresh(std::slice::from_ref(&alice), late, late + TTL)
            .await
            .unwrap(),
        std::slice::from_ref(&alice),
        "back online"
    );
    assert!(
        node.refresh(&[alice], late, late + TTL)
            .await
            .unwrap()
            .is_empty()
    );
}

/// Nodes racing to bring one user online (or take them offline) hear
/// "online" (or "offline") exactly once between them.
pub async fn racing_nodes_announce_a_change_once(fixture: &impl BusFixture) {
    const NODES: usize = 8;
    let mut nodes = Vec::new();
    for _ in 0..NODES {
        nodes.push(presence_node(fixture).await);
    }
    let t0 = start();
    let alice = user("alice");
    let mut arrivals = tokio::task::JoinSet::new();
    for (_, node) in &nodes {
        let (node, alice) = (Arc::clone(node), alice.clone());
        arrivals.spawn(async move { node.arrive(&alice, t0, t0 + TTL).await.unwrap() });
    }
    let brought_online = arrivals
        .join_all()
        .await
        .into_iter()
        .filter(|won| *won)
        .count();
    assert_eq!(brought_online, 1);
    let mut departures = tokio::task::JoinSet::new();
    for (_, node) in &nodes {
        let (node, alice) = (Arc::clone(node), alice.clone());
        departures.spawn(async move { node.leave(&alice, t0).await.unwrap() });
    }
    let took_offline = departures
        .join_all()
        .await
        .into_iter()
        .filter(|won| *won)
        .count();
    assert_eq!(took_offline, 1);
}
