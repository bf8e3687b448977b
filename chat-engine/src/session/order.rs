//! Per-conversation ordering of live message events on one socket.
//!
//! Each conversation's order is its `seq`, but events published by different
//! app nodes can cross on the bus. The socket therefore writes a message event
//! only when it is the next seq it expects; a later one waits (at most the
//! reorder window) for the missing ones. When the window passes, the client
//! is told with a `gap` event from the first missing seq and the held events
//! are dropped (the client's refetch from the gap brings them). Seqs already
//! written are dropped; a seq below the
//! first one written (crossed on the bus before anything else arrived) is
//! written rather than lost. Ephemeral events (no seq) pass straight through.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use tokio::time::Instant;

use crate::bus::Envelope;
use crate::ids::{ConversationId, Seq};
use crate::protocol::Gap;

/// Most events held at once; beyond it the window is cut short.
const MAX_HELD: usize = 1_024;

/// What to write to the client, in order.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Step {
    /// Write this event.
    Write(Envelope),
    /// Announce that these events were missed.
    Missed(Gap),
}

/// The seqs of one conversation already written to the client: all of
/// `first..=last`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Written {
    first: Seq,
    last: Seq,
}

#[derive(Debug)]
pub(super) struct Order {
    window: Duration,
    written: HashMap<ConversationId, Written>,
    /// Events waiting for an earlier seq, per conversation.
    held: HashMap<ConversationId, BTreeMap<Seq, Envelope>>,
    held_count: usize,
    /// When the oldest held event arrived.
    held_since: Option<Instant>,
}

impl Order {
    pub(super) fn new(window: Duration) -> Self {
        Self {
            window,
            written: HashMap::new(),
            held: HashMap::new(),
            held_count: 0,
            held_since: None,
        }
    }

    /// Whether `seq` of `conversation` was already written.
    pub(super) fn was_written(&self, conversation: &ConversationId, seq: Seq) -> bool {
        self.written
            .get(conversation)
            .is_some_and(|written| (written.first..=written.last).contains(&seq))
    }

    /// A live event arrived.
    pub(super) fn accept(&mut self, envelope: Envelope, now: Instant, out: &mut Vec<Step>) {
        let Some(seq) = envelope.seq() else {
            out.push(Step::Write(envelope));
            return;
        };
        let conversation = envelope.conversation_id().clone();
        match self.written.get_mut(&conversation) {
            None => {
                self.written.insert(
                    conversation,
                    Written {
                        first: seq,
                        last: seq,
                    },
                );
                out.push(Step::Write(envelope));
            }
            Some(written) if seq < written.first => {
                // Crossed on the bus before the first event written: late, not
                // lost. The range grows only when it stays whole: the seqs
                // between this one and `first` were not written.
                if seq + 1 == written.first {
                    written.first = seq;
                }
                out.push(Step::Write(envelope));
            }
            Some(written) if seq <= written.last => {} // already written
            Some(written) if seq == written.last + 1 => {
                written.last = seq;
                out.push(Step::Write(envelope));
                self.drain(&conversation, out);
            }
            Some(_) => {
                let held = self.held.entry(conversation).or_default();
                if held.insert(seq, envelope).is_none() {
                    self.held_count += 1;
                }
                self.held_since.get_or_insert(now);
                if self.held_count > MAX_HELD {
                    self.expire(out);
                }
            }
        }
    }

    /// Stored messages `after + 1 ..= upto` were written (a `resume`); held
    /// events that now follow in order go to `out`, those covered are dropped.
    pub(super) fn replayed(
        &mut self,
        conversation: &ConversationId,
        after: Seq,
        upto: Seq,
        out: &mut Vec<Step>,
    ) {
        let from = after + 1;
        let written = self.written.entry(conversation.clone()).or_insert(Written {
            first: from,
            last: upto,
        });
        written.first = written.first.min(from);
        written.last = written.last.max(upto);
        self.drain(conversation, out);
    }

    /// The client is told to refetch `conversation` from a gap: start afresh.
    /// Returns the first seq not yet written, when some were: the gap must
    /// start there, since held events are dropped with the rest.
    pub(super) fn forget(&mut self, conversation: &ConversationId) -> Option<Seq> {
        let next = self
            .written
            .remove(conversation)
            .map(|written| written.last + 1);
        if let Some(held) = self.held.remove(conversation) {
            self.held_count -= held.len();
        }
        if self.held_count == 0 {
            self.held_since = None;
        }
        next
    }

    /// This connection's user joined `conversation` again: the seqs written
    /// before they left say nothing about now (what was sent meanwhile is
    /// history to fetch, not a hole). Held events start the conversation
    /// afresh, in seq order, as if they had just arrived.
    pub(super) fn rejoined(
        &mut self,
        conversation: &ConversationId,
        now: Instant,
        out: &mut Vec<Step>,
    ) {
        self.written.remove(conversation);
        let Some(held) = self.held.remove(conversation) else {
            return;
        };
        self.held_count -= held.len();
        if self.held_count == 0 {
            self.held_since = None;
        }
        for envelope in held.into_values() {
            self.accept(envelope, now, out);
        }
    }

    /// The client was told to refetch everything.
    pub(super) fn forget_all(&mut self) {
        self.written.clear();
        self.held.clear();
        self.held_count = 0;
        self.held_since = None;
    }

    /// When held events stop waiting, if any are held.
    pub(super) fn deadline(&self) -> Option<Instant> {
        self.held_since.map(|since| since + self.window)
    }

    /// The window passed: announce each hole and start the conversation
    /// afresh. The held events are dropped, not written: the client refetches
    /// from the hole (they come back with the replay), and the written range
    /// stays exactly the seqs written, so a replay never skips one that fell
    /// into the hole.
    pub(super) fn expire(&mut self, out: &mut Vec<Step>) {
        for conversation in std::mem::take(&mut self.held).into_keys() {
            if let Some(written) = self.written.remove(&conversation) {
                out.push(Step::Missed(Gap::from(conversation, written.last + 1)));
            }
        }
        self.held_count = 0;
        self.held_since = None;
    }

    /// Writes the held events of `conversation` that now follow in order.
    fn drain(&mut self, conversation: &ConversationId, out: &mut Vec<Step>) {
        let (Some(held), Some(written)) = (
            self.held.get_mut(conversation),
            self.written.get_mut(conversation),
        ) else {
            return;
        };
        while let Some(entry) = held.first_entry() {
            let seq = *entry.key();
            if seq <= written.last {
                entry.remove();
                self.held_count -= 1;
            } else if seq == written.last + 1 {
                out.push(Step::Write(entry.remove()));
                self.held_count -= 1;
                written.last = seq;
            } else {
                break;
            }
        }
        if held.is_empty() {
            self.held.remove(conversation);
        }
        if self.held_count == 0 {
            self.held_since = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn event(conversation: &str, seq: Seq) -> Envelope {
        Envelope::new(
            vec![],
            ConversationId::new(conversation).unwrap(),
            Some(seq),
            crate::EventKind::Message,
            Bytes::from(format!("{conversation}:{seq}")),
        )
    }

    fn written(out: &[Step]) -> Vec<String> {
        out.iter()
            .map(|step| match step {
                Step::Write(envelope) => String::from_utf8(envelope.payload().to_vec()).unwrap(),
                Step::Missed(Gap {
                    conversation_id: Some(conversation),
                    from_seq: Some(from),
                }) => format!("gap {conversation}:{from}"),
                Step::Missed(gap) => format!("gap {gap:?}"),
            })
            .collect()
    }

    #[test]
    fn crossed_events_are_written_in_seq_order() {
        let mut order = Order::new(Duration::from_millis(100));
        let now = Instant::now();
        let mut out = Vec::new();
        for seq in [1, 3, 4, 2, 2, 5] {
            order.accept(event("c", seq), now, &mut out);
        }
        assert_eq!(written(&out), ["c:1", "c:2", "c:3", "c:4", "c:5"]);
        assert_eq!(order.deadline(), None, "nothing left waiting");
    }

    #[test]
    fn a_hole_that_stays_becomes_a_gap_after_the_window() {
        let mut order = Order::new(Duration::from_millis(100));
        let now = Instant::now();
        let mut out = Vec::new();
        order.accept(event("c", 1), now, &mut out);
        order.accept(event("c", 3), now, &mut out);
        order.accept(event("d", 7), now, &mut out);
        assert_eq!(written(&out), ["c:1", "d:7"]);
        assert_eq!(order.deadline(), Some(now + Duration::from_millis(100)));
        out.clear();
        order.expire(&mut out);
        assert_eq!(written(&out), ["gap c:2"], "3 comes back with the refetch");
        out.clear();
        order.accept(event("c", 4), now, &mut out);
        assert_eq!(written(&out), ["c:4"]);
        assert!(
            !order.was_written(&ConversationId::new("c").unwrap(), 2)
                && !order.was_written(&ConversationId::new("c").unwrap(), 3),
            "a replay from the gap writes the hole and what was held"
        );
    }

    #[test]
    fn a_late_event_below_the_first_does_not_claim_the_seqs_between() {
        let mut order = Order::new(Duration::from_millis(100));
        let now = Instant::now();
        let mut out = Vec::new();
        order.accept(event("c", 20), now, &mut out);
        order.accept(event("c", 16), now, &mut out);
        order.accept(event("c", 19), now, &mut out);
        assert_eq!(written(&out), ["c:20", "c:16", "c:19"]);
        let c = ConversationId::new("c").unwrap();
        assert!(order.was_written(&c, 19) && order.was_written(&c, 20));
        assert!(
            !order.was_written(&c, 17) && !order.was_written(&c, 18),
            "a replay must still write 17 and 18"
        );
    }

    #[test]
    fn a_replay_fills_the_hole_and_releases_what_follows() {
        let mut order = Order::new(Duration::from_millis(100));
        let now = Instant::now();
        let mut out = Vec::new();
        order.accept(event("c", 1), now, &mut out);
        order.accept(event("c", 4), now, &mut out);
        order.accept(event("c", 6), now, &mut out);
        out.clear();
        let c = ConversationId::new("c").unwrap();
        order.replayed(&c, 1, 5, &mut out);
        assert_eq!(
            written(&out),
            ["c:6"],
            "4 came with the replay; 6 follows 5"
        );
        assert!(order.was_written(&c, 6));
        assert!(!order.was_written(&c, 7));
    }

    #[test]
    fn a_live_event_before_the_resume_does_not_hide_the_missed_ones() {
        let mut order = Order::new(Duration::from_millis(100));
        let c = ConversationId::new("c").unwrap();
        let mut out = Vec::new();
        // Live 10 lands before the client's resume from 5 is handled.
        order.accept(event("c", 10), Instant::now(), &mut out);
        let replay: Vec<u64> = (6..=10)
            .filter(|seq| !order.was_written(&c, *seq))
            .collect();
        assert_eq!(
            replay,
            [6, 7, 8, 9],
            "the replay still writes 6..=9 and skips 10"
        );
        order.replayed(&c, 5, 10, &mut out);
        out.clear();
        order.accept(event("c", 11), Instant::now(), &mut out);
        assert_eq!(written(&out), ["c:11"]);
    }

    #[test]
    fn an_event_crossed_before_the_first_is_written_late_not_dropped() {
        let mut order = Order::new(Duration::from_millis(100));
        let mut out = Vec::new();
        order.accept(event("c", 10), Instant::now(), &mut out);
        order.accept(event("c", 9), Instant::now(), &mut out);
        order.accept(event("c", 9), Instant::now(), &mut out);
        assert_eq!(written(&out), ["c:10", "c:9"]);
    }

    #[test]
    fn a_hub_gap_starts_after_the_last_written_seq() {
        let mut order = Order::new(Duration::from_millis(100));
        let c = ConversationId::new("c").unwrap();
        let mut out = Vec::new();
        order.accept(event("c", 5), Instant::now(), &mut out);
        order.accept(event("c", 7), Instant::now(), &mut out); // held, waiting for 6
        assert_eq!(
            order.forget(&c),
            Some(6),
            "7 is dropped with the held events: refetch from 6"
        );
        assert_eq!(order.deadline(), None);
    }

    #[test]
    fn a_rejoin_starts_afresh_from_what_was_held_instead_of_dropping_it() {
        let mut order = Order::new(Duration::from_millis(100));
        let c = ConversationId::new("c").unwrap();
        let mut out = Vec::new();
        order.accept(event("c", 1), Instant::now(), &mut out);
        // Away for seq 2; seqs 3 and 5 arrive before the member_added event.
        order.accept(event("c", 3), Instant::now(), &mut out);
        order.accept(event("c", 5), Instant::now(), &mut out);
        out.clear();
        order.rejoined(&c, Instant::now(), &mut out);
        assert_eq!(written(&out), ["c:3"], "5 still waits for 4");
        out.clear();
        order.accept(event("c", 4), Instant::now(), &mut out);
        assert_eq!(written(&out), ["c:4", "c:5"]);
        assert!(!order.was_written(&c, 2) && order.was_written(&c, 5));
    }
}
