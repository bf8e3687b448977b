//! One conversation's place in its timeline: the highest seq the client
//! handed on with nothing missing before it (the *contiguous* seq), and the
//! events that came ahead of a hole, held until the hole is filled.
//!
//! Why the contiguous seq and not the highest seen: a client that resumes
//! from the highest seen skips whatever was missing below it, silently.
//! Everything at or below the contiguous seq is a duplicate and dropped;
//! an event one past it is handed on, with every held event that follows
//! without a hole; anything further is held, and the hole is the driver's
//! to fill (from the server's replay, or by fetching it).

use std::collections::BTreeMap;

use chat_engine::Seq;
use chat_engine::protocol::ServerEvent;
use tokio::time::Instant;

/// Most events held ahead of a hole; past it they are dropped and fetched
/// again with the hole, so a long outage cannot grow the client's memory.
const MAX_AHEAD: usize = 4_096;

/// One conversation's position.
#[derive(Debug)]
pub(crate) struct Order {
    contiguous: Seq,
    ahead: BTreeMap<Seq, ServerEvent>,
    /// Since when a hole has been open.
    hole_since: Option<Instant>,
}

impl Order {
    /// A conversation handed on up to `contiguous`.
    pub(crate) fn after(contiguous: Seq) -> Self {
        Self {
            contiguous,
            ahead: BTreeMap::new(),
            hole_since: None,
        }
    }

    /// The highest seq handed on with nothing missing below it.
    pub(crate) fn contiguous(&self) -> Seq {
        self.contiguous
    }

    /// Since when events have waited for a hole, if they have.
    pub(crate) fn hole_since(&self) -> Option<Instant> {
        self.hole_since
    }

    /// Takes `event` (with `seq`); the events to hand on now, in order.
    pub(crate) fn accept(
        &mut self,
        seq: Seq,
        event: ServerEvent,
        now: Instant,
    ) -> Vec<ServerEvent> {
        if seq <= self.contiguous {
            return Vec::new();
        }
        if seq > self.contiguous + 1 {
            if self.ahead.len() < MAX_AHEAD {
                self.ahead.insert(seq, event);
            }
            self.hole_since.get_or_insert(now);
            return Vec::new();
        }
        let mut ready = vec![event];
        self.contiguous = seq;
        while let Some(next) = self.ahead.remove(&(self.contiguous + 1)) {
            ready.push(next);
            self.contiguous += 1;
        }
        // Whatever is left is further ahead: the hole moved, it is not filled.
        self.hole_since = if self.ahead.is_empty() {
            None
        } else {
            Some(now)
        };
        ready
    }
}

#[cfg(test)]
mod tests {
    use chat_engine::{ConversationId, Message, MessageId, UserId, time};

    use super::*;

    fn message(seq: Seq) -> ServerEvent {
        ServerEvent::Message {
            message: Message::stored(
                MessageId::generate(),
                ConversationId::new("c").unwrap(),
                seq,
                UserId::new("u").unwrap(),
                format!("m{seq}"),
                time::now(),
            ),
        }
    }

    fn seqs(events: &[ServerEvent]) -> Vec<Seq> {
        events.iter().filter_map(ServerEvent::seq).collect()
    }

    #[test]
    fn hands_on_in_order_once_whatever_the_arrival() {
        let now = Instant::now();
        let mut order = Order::after(0);
        assert_eq!(seqs(&order.accept(1, message(1), now)), [1]);
        assert!(order.accept(1, message(1), now).is_empty(), "a duplicate");
        assert!(order.accept(3, message(3), now).is_empty(), "after a hole");
        assert!(order.accept(4, message(4), now).is_empty());
        assert_eq!(order.hole_since(), Some(now));
        assert!(order.accept(3, message(3), now).is_empty(), "held once");
        assert_eq!(seqs(&order.accept(2, message(2), now)), [2, 3, 4]);
        assert_eq!(order.contiguous(), 4);
        assert_eq!(order.hole_since(), None);
    }

    #[test]
    fn a_partly_filled_hole_stays_open() {
        let now = Instant::now();
        let mut order = Order::after(5);
        assert!(order.accept(7, message(7), now).is_empty());
        assert!(order.accept(9, message(9), now).is_empty());
        assert_eq!(seqs(&order.accept(6, message(6), now)), [6, 7]);
        assert!(order.hole_since().is_some(), "8 is still missing");
        assert_eq!(seqs(&order.accept(8, message(8), now)), [8, 9]);
        assert_eq!(order.hole_since(), None);
    }

    #[test]
    fn every_arrival_order_yields_each_seq_once_in_order() {
        // All orders of 1..=5 with repeats: a brute-force check of the rule.
        let now = Instant::now();
        let arrivals = [
            [3, 1, 5, 2, 4],
            [5, 4, 3, 2, 1],
            [2, 2, 1, 5, 3],
            [1, 3, 3, 2, 5],
        ];
        for arrival in arrivals {
            let mut order = Order::after(0);
            let mut handed = Vec::new();
            for seq in arrival.into_iter().chain(1..=5) {
                handed.extend(seqs(&order.accept(seq, message(seq), now)));
            }
            assert_eq!(handed, [1, 2, 3, 4, 5], "arrival {arrival:?}");
        }
    }
}
