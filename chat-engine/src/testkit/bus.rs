//! Bus cases: one `pub async fn` per guarantee of [`Bus`].
//!
//! "Nothing arrives" is shown without sleeping: after the event that must not
//! arrive, a marker event to a watched user is published; since a bus never
//! reorders one publisher's events, the next delivery must be the marker.

use std::sync::Arc;

use bytes::Bytes;

use super::BusFixture;
use super::store::user;
use super::within;
use crate::{
    Bus, ChatConfig, CloseReason, Connection, ConversationId, Delivery, Envelope, Hub, Outbound,
    Subscription, UserId,
};

/// An envelope to `recipients` with a recognizable payload.
#[must_use]
pub fn envelope(recipients: &[&str], payload: &str) -> Envelope {
    Envelope::new(
        recipients.iter().map(|r| user(r)).collect(),
        ConversationId::new("conversation-1").expect("valid id"),
        Some(1),
        crate::EventKind::Message,
        Bytes::from(payload.to_owned()),
    )
}

/// The next delivery, which must be an event.
///
/// # Panics
/// On timeout, a closed subscription, or a `Gap`.
pub async fn next_event(subscription: &mut Subscription) -> Envelope {
    match within("a bus delivery", subscription.recv()).await {
        Some(Delivery::Event(envelope)) => envelope,
        other => panic!("expected an event, got {other:?}"),
    }
}

async fn watched_node(fixture: &impl BusFixture, users: &[&str]) -> (Arc<dyn Bus>, Subscription) {
    let node = fixture.node().await;
    let subscription = node.subscribe().await.expect("subscribe");
    for name in users {
        node.watch(&user(name)).await.expect("watch");
    }
    (node, subscription)
}

async fn publish(node: &dyn Bus, envelope: Envelope) {
    node.publish(envelope).await.expect("publish");
}

/// A node watching a user receives the events addressed to that user.
pub async fn delivers_to_a_watching_node(fixture: &impl BusFixture) {
    let (node, mut subscription) = watched_node(fixture, &["alice"]).await;
    publish(&*node, envelope(&["alice"], "hello")).await;
    let got = next_event(&mut subscription).await;
    assert_eq!(got.payload(), &Bytes::from_static(b"hello"));
}

/// Events for users a node does not watch do not reach it.
pub async fn ignores_users_it_does_not_watch(fixture: &impl BusFixture) {
    let (node, mut subscription) = watched_node(fixture, &["alice"]).await;
    publish(&*node, envelope(&["bob"], "not for this node")).await;
    publish(&*node, envelope(&["alice"], "marker")).await;
    assert_eq!(
        next_event(&mut subscription).await.payload(),
        &Bytes::from_static(b"marker")
    );
}

/// After `unwatch`, a user's events stop reaching the node.
pub async fn unwatch_stops_delivery(fixture: &impl BusFixture) {
    let (node, mut subscription) = watched_node(fixture, &["alice", "bob"]).await;
    publish(&*node, envelope(&["bob"], "first")).await;
    assert_eq!(
        next_event(&mut subscription).await.payload(),
        &Bytes::from_static(b"first")
    );
    node.unwatch(&user("bob")).await.expect("unwatch");
    node.unwatch(&user("bob"))
        .await
        .expect("unwatch is idempotent");
    publish(&*node, envelope(&["bob"], "after unwatch")).await;
    publish(&*node, envelope(&["alice"], "marker")).await;
    assert_eq!(
        next_event(&mut subscription).await.payload(),
        &Bytes::from_static(b"marker")
    );
}

/// An event for several users watched by one node reaches each of them
/// exactly once (as one envelope, or split into one per recipient).
pub async fn each_watched_recipient_gets_the_event_once(fixture: &impl BusFixture) {
    let (node, mut subscription) = watched_node(fixture, &["alice", "bob", "carol"]).await;
    node.watch(&user("alice"))
        .await
        .expect("watch is idempotent");
    publish(
        &*node,
        envelope(&["alice", "bob", "carol", "dave"], "group"),
    )
    .await;
    publish(&*node, envelope(&["alice"], "marker")).await;
    let mut reached = std::collections::BTreeMap::new();
    loop {
        let got = next_event(&mut subscription).await;
        if got.payload() == &Bytes::from_static(b"marker") {
            break;
        }
        assert_eq!(got.payload(), &Bytes::from_static(b"group"));
        for recipient in got.recipients() {
            if ["alice", "bob", "carol"].contains(&recipient.as_str()) {
                *reached.entry(recipient.as_str().to_owned()).or_insert(0) += 1;
            }
        }
    }
    let once: std::collections::BTreeMap<String, i32> = ["alice", "bob", "carol"]
        .iter()
        .map(|u| ((*u).to_owned(), 1))
        .collect();
    assert_eq!(reached, once);
}

/// Events cross nodes: each watching node gets them, others do not.
pub async fn delivers_across_nodes(fixture: &impl BusFixture) {
    let (one, mut on_one) = watched_node(fixture, &["alice"]).await;
    let (two, mut on_two) = watched_node(fixture, &["bob", "alice"]).await;
    publish(&*one, envelope(&["bob"], "to bob")).await;
    publish(&*one, envelope(&["alice"], "to alice")).await;
    assert_eq!(
        next_event(&mut on_two).await.payload(),
        &Bytes::from_static(b"to bob")
    );
    assert_eq!(
        next_event(&mut on_two).await.payload(),
        &Bytes::from_static(b"to alice")
    );
    assert_eq!(
        next_event(&mut on_one).await.payload(),
        &Bytes::from_static(b"to alice"),
        "node one never saw bob's event"
    );
    publish(&*two, envelope(&["alice"], "back")).await;
    assert_eq!(
        next_event(&mut on_one).await.payload(),
        &Bytes::from_static(b"back")
    );
}

/// One publisher's events arrive in the order published.
pub async fn preserves_publish_order(fixture: &impl BusFixture) {
    let (node, mut subscription) = watched_node(fixture, &["alice"]).await;
    let publisher = fixture.node().await;
    for i in 0..200 {
        publish(&*publisher, envelope(&["alice"], &format!("{i}"))).await;
    }
    for i in 0..200 {
        let got = next_event(&mut subscription).await;
        assert_eq!(got.payload(), &Bytes::from(format!("{i}")));
    }
    drop(node);
}

/// Conversation, seq and payload bytes arrive unaltered, addressed to (at
/// least) the watched recipient.
pub async fn envelopes_round_trip_intact(fixture: &impl BusFixture) {
    let (node, mut subscription) = watched_node(fixture, &["\u{e9}l\u{e8}ve"]).await;
    let sent = Envelope::new(
        vec![user("\u{e9}l\u{e8}ve"), user("o'brien \"%\"")],
        ConversationId::generate(),
        Some(u64::MAX),
        crate::EventKind::Message,
        Bytes::from_static(b"{\"type\":\"message\",\"body\":\"\\u0000 \xf0\x9f\x98\x80\"}"),
    );
    publish(&*node, sent.clone()).await;
    let got = next_event(&mut subscription).await;
    assert_eq!(got.conversation_id(), sent.conversation_id());
    assert_eq!(got.seq(), sent.seq());
    assert_eq!(got.payload(), sent.payload());
    assert!(got.recipients().contains(&user("\u{e9}l\u{e8}ve")));
    assert!(
        got.recipients()
            .iter()
            .all(|r| sent.recipients().contains(r))
    );
    let ephemeral = Envelope::new(
        vec![user("\u{e9}l\u{e8}ve")],
        ConversationId::generate(),
        None,
        crate::EventKind::MemberAdded(user("o'brien \"%\"")),
        Bytes::from_static(b"{}"),
    );
    publish(&*node, ephemeral.clone()).await;
    let got = next_event(&mut subscription).await;
    assert_eq!((got.seq(), got.payload()), (None, ephemeral.payload()));
}

/// A hub on a node of `fixture` with alice connected twice (a phone and a
/// laptop) and bob once.
async fn alice_twice_and_bob(
    fixture: &impl BusFixture,
) -> (Hub, Connection, Connection, Connection) {
    let node = fixture.node().await;
    let hub = Hub::start(Arc::clone(&node), &ChatConfig::default())
        .await
        .expect("hub");
    let alice: UserId = user("alice");
    let phone = hub.connect(alice.clone()).await.expect("connect");
    let laptop = hub.connect(alice).await.expect("connect");
    let bob = hub.connect(user("bob")).await.expect("connect");
    (hub, phone, laptop, bob)
}

/// Through a hub on the bus, every live connection (device) of a recipient
/// receives the event and other users' connections do not.
pub async fn all_devices_of_a_user_receive(fixture: &impl BusFixture) {
    let (hub, mut phone, mut laptop, mut bob) = alice_twice_and_bob(fixture).await;
    let publisher = fixture.node().await;
    publish(&*publisher, envelope(&["alice"], "for alice")).await;
    publish(&*publisher, envelope(&["bob"], "marker")).await;
    for device in [&mut phone, &mut laptop] {
        match within("alice's device", device.next()).await {
            Outbound::Event(got) => assert_eq!(got.payload(), &Bytes::from_static(b"for alice")),
            other => panic!("expected alice's event, got {other:?}"),
        }
    }
    match within("bob's marker", bob.next()).await {
        Outbound::Event(got) => assert_eq!(got.payload(), &Bytes::from_static(b"marker")),
        other => panic!("expected the marker, got {other:?}"),
    }
    assert_eq!(hub.stats().connections, 3);
    drop((phone, laptop, bob));
    assert_eq!(hub.stats().connections, 0);
}

/// A sign-out published on one node closes, through a hub on another
/// node, every live connection of that user and nobody else's; its kind
/// crosses the bus intact (a bus that delivered it as a message would put
/// it in the devices' queues instead).
pub async fn a_sign_out_closes_the_user_on_every_node(fixture: &impl BusFixture) {
    let (_hub, mut phone, mut laptop, mut bob) = alice_twice_and_bob(fixture).await;
    let elsewhere = fixture.node().await;
    publish(&*elsewhere, Envelope::signed_out(user("alice"))).await;
    publish(&*elsewhere, envelope(&["bob"], "marker")).await;
    for device in [&mut phone, &mut laptop] {
        match within("alice's device", device.next()).await {
            Outbound::Closed(reason) => assert_eq!(reason, CloseReason::SignedOut),
            other => panic!("expected alice's device closed, got {other:?}"),
        }
    }
    match within("bob's marker", bob.next()).await {
        Outbound::Event(got) => assert_eq!(got.payload(), &Bytes::from_static(b"marker")),
        other => panic!("bob stays connected: expected the marker, got {other:?}"),
    }
}

/// A node that starts watching a user while another node publishes to
/// them gets every event whose publish began after its watch returned:
/// what a connecting user's resume reads from the store ends where live
/// delivery begins (an event published before the watch was stored before
/// it). Earlier events may arrive too; none after the watch may be missing.
pub async fn a_watch_covers_every_publish_that_starts_after_it(fixture: &impl BusFixture) {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};

    /// Events published before the watch starts, and owed after it returns.
    const BEFORE: usize = 50;
    const AFTER: usize = 200;
    let publisher = fixture.node().await;
    let watcher = fixture.node().await;
    let mut subscription = watcher.subscribe().await.expect("subscribe");
    let watched = Arc::new(AtomicBool::new(false));
    let published = Arc::new(AtomicUsize::new(0));
    let publishing = {
        let (publisher, watched, published) = (
            Arc::clone(&publisher),
            Arc::clone(&watched),
            Arc::clone(&published),
        );
        tokio::spawn(async move {
            // Publishing runs on through the watch, until enough came after it.
            let mut owed = Vec::new();
            let mut index = 0;
            while owed.len() < AFTER {
                let after_the_watch = watched.load(SeqCst);
                publish(&*publisher, envelope(&["alice"], &index.to_string())).await;
                if after_the_watch {
                    owed.push(index);
                }
                index += 1;
                published.store(index, SeqCst);
                tokio::task::yield_now().await;
            }
            owed
        })
    };
    // Watch in the middle of the stream.
    while published.load(SeqCst) < BEFORE {
        tokio::task::yield_now().await;
    }
    watcher.watch(&user("alice")).await.expect("watch");
    watched.store(true, SeqCst);
    let owed = within("the publisher", publishing)
        .await
        .expect("the publisher finished");
    publish(&*publisher, envelope(&["alice"], "marker")).await;
    let mut received = Vec::new();
    loop {
        let got = next_event(&mut subscription).await;
        if got.payload() == &Bytes::from_static(b"marker") {
            break;
        }
        let text = std::str::from_utf8(got.payload()).expect("utf-8");
        received.push(text.parse::<usize>().expect("an index"));
    }
    let missing: Vec<usize> = owed
        .iter()
        .copied()
        .filter(|index| !received.contains(index))
        .collect();
    assert!(
        missing.is_empty(),
        "published after the watch, never delivered: {missing:?}"
    );
    assert!(
        received.windows(2).all(|pair| pair[0] < pair[1]),
        "delivered out of order or twice: {received:?}"
    );
}
