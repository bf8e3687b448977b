//! Per-conversation ordering of live message events on one socket.
//!
//! Each conversation's order is its `seq`, but events published by different
//! app nodes can cross on the bus. The socket therefore writes a message event
//! only when it is the next seq it expects; a later one waits (at most the
//! reorder window) for the missing ones. When the window passes, the client
//! is told with a `gap` event from the first missing seq, then the held
//! events follow in order. Duplicates (seq already written) are dropped.
//! Ephemeral events (no seq) pass straight through.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use chat_core::{ConversationId, Envelope, Seq};
use tokio::time::Instant;

/// Most events held at once; beyond it the window is cut short.
const MAX_HELD: usize = 1_024;

/// What to write to the client, in order.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Step {
    /// Write this event.
    Write(Envelope),
    /// Announce that this conversation's messages from this seq were missed.
    Gap(ConversationId, Seq),
}

#[derive(Debug)]
pub(super) struct Order {
    window: Duration,
    /// Last seq written per conversation.
    last: HashMap<ConversationId, Seq>,
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
            last: HashMap::new(),
            held: HashMap::new(),
            held_count: 0,
            held_since: None,
        }
    }

    /// The last seq written for `conversation`, if any.
    pub(super) fn last(&self, conversation: &ConversationId) -> Option<Seq> {
        self.last.get(conversation).copied()
    }

    /// A live event arrived.
    pub(super) fn accept(&mut self, envelope: Envelope, now: Instant, out: &mut Vec<Step>) {
        let Some(seq) = envelope.seq() else {
            out.push(Step::Write(envelope));
            return;
        };
        let conversation = envelope.conversation_id();
        match self.last.get(conversation).copied() {
            None => {
                self.last.insert(conversation.clone(), seq);
                out.push(Step::Write(envelope));
            }
            Some(last) if seq <= last => {} // already written
            Some(last) if seq == last + 1 => {
                let conversation = conversation.clone();
                self.last.insert(conversation.clone(), seq);
                out.push(Step::Write(envelope));
                self.drain(&conversation, out);
            }
            Some(_) => {
                let held = self.held.entry(conversation.clone()).or_default();
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

    /// Stored messages up to `seq` were written (a `resume`); held events
    /// that now follow in order go to `out`, those at or below `seq` are dropped.
    pub(super) fn replayed(
        &mut self,
        conversation: &ConversationId,
        seq: Seq,
        out: &mut Vec<Step>,
    ) {
        let last = self.last.entry(conversation.clone()).or_insert(seq);
        *last = (*last).max(seq);
        self.drain(conversation, out);
    }

    /// The client was told to refetch `conversation`: start afresh.
    pub(super) fn forget(&mut self, conversation: &ConversationId) {
        self.last.remove(conversation);
        if let Some(held) = self.held.remove(conversation) {
            self.held_count -= held.len();
        }
        if self.held_count == 0 {
            self.held_since = None;
        }
    }

    /// The client was told to refetch everything.
    pub(super) fn forget_all(&mut self) {
        self.last.clear();
        self.held.clear();
        self.held_count = 0;
        self.held_since = None;
    }

    /// When held events stop waiting, if any are held.
    pub(super) fn deadline(&self) -> Option<Instant> {
        self.held_since.map(|since| since + self.window)
    }

    /// The window passed: announce each hole, then write what was held.
    pub(super) fn expire(&mut self, out: &mut Vec<Step>) {
        for (conversation, held) in std::mem::take(&mut self.held) {
            let last = self.last.get(&conversation).copied().unwrap_or(0);
            out.push(Step::Gap(conversation.clone(), last + 1));
            let mut newest = last;
            for (seq, envelope) in held {
                newest = seq;
                out.push(Step::Write(envelope));
            }
            self.last.insert(conversation, newest);
        }
        self.held_count = 0;
        self.held_since = None;
    }

    /// Writes the held events of `conversation` that now follow in order.
    fn drain(&mut self, conversation: &ConversationId, out: &mut Vec<Step>) {
        let Some(held) = self.held.get_mut(conversation) else {
            return;
        };
        let last = self
            .last
            .get_mut(conversation)
            .expect("drained conversations have a last seq");
        while let Some(entry) = held.first_entry() {
            let seq = *entry.key();
            if seq <= *last {
                entry.remove();
                self.held_count -= 1;
            } else if seq == *last + 1 {
                out.push(Step::Write(entry.remove()));
                self.held_count -= 1;
                *last = seq;
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
            Bytes::from(format!("{conversation}:{seq}")),
        )
    }

    fn written(out: &[Step]) -> Vec<String> {
        out.iter()
            .map(|step| match step {
                Step::Write(envelope) => String::from_utf8(envelope.payload().to_vec()).unwrap(),
                Step::Gap(conversation, from) => format!("gap {conversation}:{from}"),
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
        assert_eq!(written(&out), ["gap c:2", "c:3"]);
        out.clear();
        order.accept(event("c", 4), now, &mut out);
        assert_eq!(written(&out), ["c:4"]);
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
        order.replayed(&ConversationId::new("c").unwrap(), 5, &mut out);
        assert_eq!(
            written(&out),
            ["c:6"],
            "4 came with the replay; 6 follows 5"
        );
        assert_eq!(order.last(&ConversationId::new("c").unwrap()), Some(6));
    }
}
