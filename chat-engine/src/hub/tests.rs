//! Hub behaviour with a full queue, a stuck reader, a lossy bus, and
//! disconnects: gaps are announced, memory stays bounded, nothing is silent.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::mpsc;

use super::*;
use crate::bus::{EventKind, MockBus};
use crate::ids::ConversationId;
use crate::protocol::Gap;

fn user(name: &str) -> UserId {
    UserId::new(name).unwrap()
}

fn message(conversation: &str, seq: u64) -> Envelope {
    Envelope::new(
        vec![user("alice")],
        ConversationId::new(conversation).unwrap(),
        Some(seq),
        EventKind::Message,
        Bytes::from(format!("{conversation}:{seq}")),
    )
}

fn typing() -> Envelope {
    Envelope::new(
        vec![user("alice")],
        ConversationId::new("c1").unwrap(),
        None,
        EventKind::Typing,
        Bytes::from_static(b"typing"),
    )
}

/// A hub on a mock bus; returns the sender that plays the bus and a receiver
/// of unwatched users.
async fn hub(config: ChatConfig) -> (Hub, mpsc::Sender<Delivery>, mpsc::UnboundedReceiver<UserId>) {
    let (deliveries, subscription) = mpsc::channel(16);
    let (unwatched_tx, unwatched) = mpsc::unbounded_channel();
    let mut bus = MockBus::new();
    let subscription = std::sync::Mutex::new(Some(subscription));
    bus.expect_subscribe().returning(move || {
        Ok(Subscription::new(
            subscription.lock().unwrap().take().unwrap(),
        ))
    });
    bus.expect_watch().returning(|_| Ok(()));
    bus.expect_unwatch().returning(move |user| {
        unwatched_tx.send(user.clone()).unwrap();
        Ok(())
    });
    let hub = Hub::start(Arc::new(bus), &config).await.unwrap();
    (hub, deliveries, unwatched)
}

fn payload(outbound: Outbound) -> Bytes {
    match outbound {
        Outbound::Event(envelope) => envelope.payload().clone(),
        other => panic!("expected an event, got {other:?}"),
    }
}

#[tokio::test]
async fn a_full_queue_becomes_one_gap_per_conversation_announced_after_draining() {
    let (hub, _bus, _) = hub(ChatConfig::default().with_connection_queue(2)).await;
    let mut connection = hub.connect(user("alice")).await.unwrap();
    for envelope in [
        message("c1", 1),
        message("c1", 2),
        message("c1", 3),
        message("c2", 7),
        typing(),
        message("c1", 4),
    ] {
        hub.deliver(&envelope);
    }
    assert_eq!(payload(connection.next().await), "c1:1");
    assert_eq!(payload(connection.next().await), "c1:2");
    let gaps = match connection.next().await {
        Outbound::Gaps(gaps) => gaps,
        other => panic!("expected gaps, got {other:?}"),
    };
    let c1 = ConversationId::new("c1").unwrap();
    let c2 = ConversationId::new("c2").unwrap();
    assert_eq!(
        gaps,
        vec![
            Gap {
                conversation_id: Some(c1),
                from_seq: Some(3)
            },
            Gap {
                conversation_id: Some(c2),
                from_seq: Some(7)
            },
        ]
    );
    let stats = hub.stats();
    assert_eq!(stats.delivered, 2);
    assert_eq!(stats.dropped_messages, 2, "c1:3 and c2:7 did not fit");
    assert_eq!(stats.dropped_ephemeral, 1, "typing did not fit");
    assert_eq!(stats.skipped_in_gap, 1, "c1:4 is covered by the c1 gap");
    assert_eq!(stats.gaps_announced, 2);
    // After the announcement, events queue again.
    hub.deliver(&message("c1", 5));
    assert_eq!(payload(connection.next().await), "c1:5");
}

#[tokio::test(start_paused = true)]
async fn a_connection_stuck_past_the_timeout_is_closed() {
    let config = ChatConfig::default()
        .with_connection_queue(1)
        .with_stuck_timeout(Duration::from_secs(5));
    let (hub, _bus, _) = hub(config).await;
    let mut stuck = hub.connect(user("alice")).await.unwrap();
    hub.deliver(&message("c1", 1));
    hub.deliver(&message("c1", 2));
    tokio::time::advance(Duration::from_secs(4)).await;
    hub.deliver(&message("c2", 1));
    assert_eq!(hub.stats().stuck_closed, 0, "not yet past the timeout");
    tokio::time::advance(Duration::from_secs(2)).await;
    hub.deliver(&message("c3", 1));
    assert_eq!(hub.stats().stuck_closed, 1);
    assert_eq!(stuck.next().await, Outbound::Closed(CloseReason::Stuck));
}

#[tokio::test(start_paused = true)]
async fn a_stuck_connection_is_closed_even_when_every_new_event_is_covered_by_its_gap() {
    let config = ChatConfig::default()
        .with_connection_queue(1)
        .with_stuck_timeout(Duration::from_secs(5));
    let (hub, _bus, _) = hub(config).await;
    let mut stuck = hub.connect(user("alice")).await.unwrap();
    hub.deliver(&message("c1", 1));
    hub.deliver(&message("c1", 2)); // full: gap from 2
    tokio::time::advance(Duration::from_secs(6)).await;
    hub.deliver(&message("c1", 3)); // covered by the gap, but the queue never drained
    assert_eq!(hub.stats().stuck_closed, 1);
    assert_eq!(stuck.next().await, Outbound::Closed(CloseReason::Stuck));
}

#[tokio::test(start_paused = true)]
async fn a_slow_reader_that_drains_is_not_closed() {
    let config = ChatConfig::default()
        .with_connection_queue(1)
        .with_stuck_timeout(Duration::from_secs(5));
    let (hub, _bus, _) = hub(config).await;
    let mut slow = hub.connect(user("alice")).await.unwrap();
    for round in 0..4 {
        hub.deliver(&message("c1", round * 2 + 1));
        hub.deliver(&message("c1", round * 2 + 2));
        tokio::time::advance(Duration::from_secs(3)).await;
        assert!(matches!(slow.next().await, Outbound::Event(_)));
        assert!(matches!(slow.next().await, Outbound::Gaps(_)));
    }
    assert_eq!(hub.stats().stuck_closed, 0);
}

#[tokio::test]
async fn a_bus_gap_tells_every_connection_to_resume_everything() {
    let (hub, bus, _) = hub(ChatConfig::default()).await;
    let mut phone = hub.connect(user("alice")).await.unwrap();
    let mut laptop = hub.connect(user("bob")).await.unwrap();
    bus.send(Delivery::Gap).await.unwrap();
    let everything = vec![Gap {
        conversation_id: None,
        from_seq: None,
    }];
    assert_eq!(phone.next().await, Outbound::Gaps(everything.clone()));
    assert_eq!(laptop.next().await, Outbound::Gaps(everything));
    assert_eq!(hub.stats().bus_gaps, 1);
}

#[tokio::test]
async fn the_last_disconnect_of_a_user_unwatches_them() {
    let (hub, _bus, mut unwatched) = hub(ChatConfig::default()).await;
    let first = hub.connect(user("alice")).await.unwrap();
    let second = hub.connect(user("alice")).await.unwrap();
    drop(first);
    assert!(hub.is_connected(&user("alice")));
    drop(second);
    assert!(!hub.is_connected(&user("alice")));
    assert_eq!(unwatched.recv().await, Some(user("alice")));
    assert_eq!(hub.stats().connections, 0);
}

#[tokio::test]
async fn dropping_the_hub_closes_its_connections() {
    let (hub, _bus, _) = hub(ChatConfig::default()).await;
    let mut connection = hub.connect(user("alice")).await.unwrap();
    drop(hub);
    assert_eq!(
        connection.next().await,
        Outbound::Closed(CloseReason::Shutdown)
    );
}

#[tokio::test]
async fn close_all_closes_live_connections_for_a_graceful_shutdown() {
    let (hub, _bus, _) = hub(ChatConfig::default()).await;
    let mut phone = hub.connect(user("alice")).await.unwrap();
    let mut laptop = hub.connect(user("bob")).await.unwrap();
    hub.close_all();
    assert_eq!(phone.next().await, Outbound::Closed(CloseReason::Shutdown));
    assert_eq!(laptop.next().await, Outbound::Closed(CloseReason::Shutdown));
    let late = hub.connect(user("carol")).await;
    assert!(
        matches!(late, Err(ChatError::Unavailable(_))),
        "a connection after the shutdown began is refused"
    );
}

#[tokio::test]
async fn drained_waits_for_the_last_connection_to_go() {
    let (hub, _bus, _) = hub(ChatConfig::default()).await;
    hub.drained().await; // none yet: at once
    let phone = hub.connect(user("alice")).await.unwrap();
    let laptop = hub.connect(user("bob")).await.unwrap();
    assert_eq!(hub.stats().users, 2);
    let waiting = tokio::spawn({
        let hub = hub.clone();
        async move { hub.drained().await }
    });
    drop(phone);
    tokio::task::yield_now().await;
    assert!(!waiting.is_finished(), "one connection is still open");
    drop(laptop);
    tokio::time::timeout(Duration::from_secs(10), waiting)
        .await
        .expect("drained resolves when the last connection goes")
        .unwrap();
    assert_eq!(hub.stats().users, 0);
}

#[tokio::test]
async fn an_event_for_many_recipients_reaches_each_connection_once() {
    let (hub, _bus, _) = hub(ChatConfig::default()).await;
    let users: Vec<UserId> = (0..100).map(|i| user(&format!("user-{i}"))).collect();
    let mut connections = Vec::new();
    for user in users.iter().take(60) {
        connections.push(hub.connect(user.clone()).await.unwrap());
    }
    // Two devices for one user, and 40 recipients not connected here.
    connections.push(hub.connect(users[7].clone()).await.unwrap());
    let event = Envelope::new(
        users.clone(),
        ConversationId::new("c1").unwrap(),
        Some(1),
        EventKind::Message,
        Bytes::from_static(b"group"),
    );
    hub.deliver(&event);
    assert_eq!(hub.stats().delivered, 61);
    for connection in &mut connections {
        assert_eq!(payload(connection.try_next().expect("queued")), "group");
        assert!(connection.try_next().is_none(), "exactly once");
    }
}
