//! The wire protocol: events the server pushes and frames clients send, one
//! JSON object each, tagged by `"type"`. Message events are encoded once per
//! message ([`encode_message_event`]) and the same bytes go to every recipient.

use std::collections::BTreeMap;

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use crate::bus::EventKind;
use crate::ids::{ConversationId, Seq, UserId};
use crate::message::Message;
use crate::preferences::Preferences;
use crate::time::Timestamp;
use crate::timeline::{Change, Entry, TimelineEvent, TimelinePage};

/// An event pushed from server to client.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum ServerEvent {
    /// The first event on every socket: the connection is registered, and
    /// from now on every live event for the user reaches it. Anything sent
    /// before it was missed by this socket and is history (`resume`).
    Ready {
        /// Who the socket belongs to.
        user_id: UserId,
    },
    /// A new message in one of the user's conversations.
    Message {
        /// The stored message.
        message: Message,
    },
    /// A member's read mark moved forward.
    Read {
        /// The conversation.
        conversation_id: ConversationId,
        /// Who read.
        user_id: UserId,
        /// Their new read mark.
        seq: Seq,
    },
    /// A member is typing.
    Typing {
        /// The conversation.
        conversation_id: ConversationId,
        /// Who is typing.
        user_id: UserId,
    },
    /// Events were not delivered to this connection: see [`Gap`].
    Gap(Gap),
    /// A user joined a conversation (was added, or joined a room): a
    /// timeline event with its `seq`. Without a seq it tells an invited
    /// member about a group just created with them.
    MemberAdded {
        /// The conversation.
        conversation_id: ConversationId,
        /// Who joined.
        user_id: UserId,
        /// Who added them.
        by: UserId,
        /// Its place in the timeline; absent for a creation notice.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        seq: Option<Seq>,
    },
    /// A user left or was removed (a timeline event).
    MemberRemoved {
        /// The conversation.
        conversation_id: ConversationId,
        /// Who left.
        user_id: UserId,
        /// Who removed them (themselves when leaving).
        by: UserId,
        /// Its place in the timeline.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        seq: Option<Seq>,
        /// When the owner left: who owns the group now.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        new_owner: Option<UserId>,
    },
    /// The owner made a member an admin, or an admin a member (a timeline event).
    RoleChanged {
        /// The conversation.
        conversation_id: ConversationId,
        /// Its place in the timeline.
        seq: Seq,
        /// Whose role changed.
        user_id: UserId,
        /// Their role now.
        role: crate::Role,
        /// The owner.
        by: UserId,
    },
    /// The owner handed the group over to `user_id`; `by`, the previous
    /// owner, is an admin now (a timeline event).
    OwnerChanged {
        /// The conversation.
        conversation_id: ConversationId,
        /// Its place in the timeline.
        seq: Seq,
        /// The new owner.
        user_id: UserId,
        /// The previous owner.
        by: UserId,
    },
    /// An admin banned a user, who is no longer a member and cannot come
    /// back until unbanned (a timeline event; the banned user gets it too,
    /// as their last event of the conversation).
    Banned {
        /// The conversation.
        conversation_id: ConversationId,
        /// Its place in the timeline.
        seq: Seq,
        /// Who was banned.
        user_id: UserId,
        /// The admin.
        by: UserId,
    },
    /// An admin lifted a ban (a timeline event).
    Unbanned {
        /// The conversation.
        conversation_id: ConversationId,
        /// Its place in the timeline.
        seq: Seq,
        /// Who may come back.
        user_id: UserId,
        /// The admin.
        by: UserId,
    },
    /// An admin muted a member: they read but cannot write (a timeline event).
    Muted {
        /// The conversation.
        conversation_id: ConversationId,
        /// Its place in the timeline.
        seq: Seq,
        /// Who was muted.
        user_id: UserId,
        /// The admin.
        by: UserId,
    },
    /// An admin lifted a mute (a timeline event).
    Unmuted {
        /// The conversation.
        conversation_id: ConversationId,
        /// Its place in the timeline.
        seq: Seq,
        /// Who may write again.
        user_id: UserId,
        /// The admin.
        by: UserId,
    },
    /// An admin changed whether plain members may add others (a timeline event).
    SettingsChanged {
        /// The conversation.
        conversation_id: ConversationId,
        /// Its place in the timeline.
        seq: Seq,
        /// Whether plain members may add others now.
        members_can_add: bool,
        /// The admin.
        by: UserId,
    },
    /// An admin deleted the group or room, with its history: it is gone for
    /// every member, and every call on it answers `not_found`. Not a
    /// timeline event (there is no timeline left to place it in).
    ConversationDeleted {
        /// The conversation.
        conversation_id: ConversationId,
        /// The admin.
        by: UserId,
    },
    /// This user changed their own preferences for a conversation (on any
    /// device): sent to their sockets only, so every device shows the same
    /// mute, pin and archive. Not a timeline event.
    PreferencesChanged {
        /// The conversation.
        conversation_id: ConversationId,
        /// All the preferences now.
        preferences: Preferences,
    },
    /// A user who shares a conversation with this one came online or went
    /// offline (debounced: a page reload is no event). Not a timeline event.
    Presence(crate::UserPresence),
    /// A message's sender replaced its text (a timeline event).
    Edited {
        /// The conversation.
        conversation_id: ConversationId,
        /// Its place in the timeline.
        seq: Seq,
        /// The message edited.
        message_seq: Seq,
        /// The new text.
        body: String,
        /// The new structured content.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        content: Option<crate::Content>,
        /// Who edited it (its sender).
        by: UserId,
        /// When.
        #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
        at: Timestamp,
    },
    /// A message was deleted: show a tombstone (a timeline event).
    Deleted {
        /// The conversation.
        conversation_id: ConversationId,
        /// Its place in the timeline.
        seq: Seq,
        /// The message deleted.
        message_seq: Seq,
        /// Who deleted it.
        by: UserId,
        /// When.
        #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
        at: Timestamp,
    },
    /// A member reacted to a message (a timeline event).
    ReactionAdded {
        /// The conversation.
        conversation_id: ConversationId,
        /// Its place in the timeline.
        seq: Seq,
        /// The message.
        message_seq: Seq,
        /// The reaction.
        reaction: String,
        /// Who reacted.
        by: UserId,
    },
    /// A member took a reaction back (a timeline event).
    ReactionRemoved {
        /// The conversation.
        conversation_id: ConversationId,
        /// Its place in the timeline.
        seq: Seq,
        /// The message.
        message_seq: Seq,
        /// The reaction.
        reaction: String,
        /// Who took it back.
        by: UserId,
    },
    /// The group was renamed (a timeline event).
    Renamed {
        /// The conversation.
        conversation_id: ConversationId,
        /// Its place in the timeline.
        seq: Seq,
        /// The new title.
        title: String,
        /// Who renamed it.
        by: UserId,
    },
    /// A message was pinned (a timeline event).
    Pinned {
        /// The conversation.
        conversation_id: ConversationId,
        /// Its place in the timeline.
        seq: Seq,
        /// The message.
        message_seq: Seq,
        /// Who pinned it.
        by: UserId,
    },
    /// A message was unpinned (a timeline event).
    Unpinned {
        /// The conversation.
        conversation_id: ConversationId,
        /// Its place in the timeline.
        seq: Seq,
        /// The message.
        message_seq: Seq,
        /// Who unpinned it.
        by: UserId,
    },
    /// The answer to an `edit`, `delete`, `react` or `unreact` frame: the
    /// change is stored with `seq` (the event itself comes too, as to every
    /// member), or there was nothing to do and `seq` is absent.
    Done {
        /// The `client_id` of the frame.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        client_id: Option<String>,
        /// The conversation.
        conversation_id: ConversationId,
        /// The change's place in the timeline, if it made one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        seq: Option<Seq>,
    },
    /// The answer to a client `send` frame: the message is stored.
    Ack {
        /// The `client_id` of the send frame.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        client_id: Option<String>,
        /// The stored message.
        message: Message,
    },
    /// A client frame was refused.
    Error {
        /// The `client_id` of the refused send frame, if it had one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        client_id: Option<String>,
        /// What went wrong.
        error: ErrorBody,
    },
}

/// Events that did not reach a connection, the one idea behind every loss
/// the server knows of (a full queue, a reorder window that passed, a bus
/// that lost events). With a conversation, its events from `from_seq` on
/// must be refetched (history `after` or `resume`); without one, every
/// conversation must be resumed.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Gap {
    /// The affected conversation, or `None` for all of them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conversation_id: Option<ConversationId>,
    /// The first seq that was not delivered, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_seq: Option<Seq>,
}

impl Gap {
    /// Everything may have been missed: resume every conversation.
    #[must_use]
    pub fn everything() -> Self {
        Self {
            conversation_id: None,
            from_seq: None,
        }
    }

    /// `conversation`'s events from `from_seq` on were missed.
    #[must_use]
    pub fn from(conversation: ConversationId, from_seq: Seq) -> Self {
        Self {
            conversation_id: Some(conversation),
            from_seq: Some(from_seq),
        }
    }
}

/// The body of an error: `{"code": "...", "message": "..."}`, used by REST
/// responses (`{"error": {...}}`) and socket `error` events alike.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// Machine-readable: `not_found`, `forbidden`, `invalid`, `conflict`,
    /// `too_large`, `unavailable`, `internal`, …
    pub code: String,
    /// A sentence a developer can act on.
    pub message: String,
    /// Whether the same request may succeed later unchanged (`unavailable`,
    /// `rate_limited`): retry it, with the same `client_id` for a send.
    #[serde(default)]
    pub retryable: bool,
}

impl From<&crate::ChatError> for ErrorBody {
    fn from(error: &crate::ChatError) -> Self {
        let message = match error {
            // Details of backend failures go to logs, not to clients.
            crate::ChatError::Backend(_) => "internal error".to_owned(),
            other => other.to_string(),
        };
        Self {
            code: error.code().to_owned(),
            message,
            retryable: error.is_retryable(),
        }
    }
}

/// A frame sent by a client over the WebSocket.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum ClientFrame {
    /// Send a message; answered by `ack` or `error`.
    Send {
        /// Where to send.
        conversation_id: ConversationId,
        /// The text.
        body: String,
        /// A typed JSON object besides the text.
        #[serde(default)]
        content: Option<crate::Content>,
        /// Idempotency key, echoed in the answer.
        #[serde(default)]
        client_id: Option<String>,
        /// The message it replies to (quotes).
        #[serde(default)]
        reply_to: Option<Seq>,
        /// The thread it replies in.
        #[serde(default)]
        thread_root: Option<Seq>,
        /// Members it mentions.
        #[serde(default)]
        mentions: Vec<UserId>,
    },
    /// Replace the text of one's own message; answered by `done` or `error`.
    Edit {
        /// The conversation.
        conversation_id: ConversationId,
        /// The message.
        seq: Seq,
        /// The new text.
        body: String,
        /// The new structured content.
        #[serde(default)]
        content: Option<crate::Content>,
        /// Idempotency key, echoed in the answer.
        #[serde(default)]
        client_id: Option<String>,
    },
    /// Delete one's own message; answered by `done` or `error`.
    Delete {
        /// The conversation.
        conversation_id: ConversationId,
        /// The message.
        seq: Seq,
        /// Idempotency key, echoed in the answer.
        #[serde(default)]
        client_id: Option<String>,
    },
    /// React to a message; answered by `done` or `error`.
    React {
        /// The conversation.
        conversation_id: ConversationId,
        /// The message.
        seq: Seq,
        /// The reaction: 1 to 64 bytes.
        reaction: String,
        /// Idempotency key, echoed in the answer.
        #[serde(default)]
        client_id: Option<String>,
    },
    /// Take a reaction back; answered by `done` or `error`.
    Unreact {
        /// The conversation.
        conversation_id: ConversationId,
        /// The message.
        seq: Seq,
        /// The reaction.
        reaction: String,
        /// Idempotency key, echoed in the answer.
        #[serde(default)]
        client_id: Option<String>,
    },
    /// Tell the other members this user is typing.
    Typing {
        /// The conversation.
        conversation_id: ConversationId,
    },
    /// Replay everything after each given seq, then continue live. A client
    /// that opens its socket with `?resume=first` sends this first: no live
    /// event is written before it (for at most 5 s), so none reaches the
    /// client before the server knows where the client is; events of a
    /// conversation it did not name come live, from wherever they are.
    Resume {
        /// Last seq seen, per conversation.
        positions: BTreeMap<ConversationId, Seq>,
    },
    /// Mark a conversation read up to `seq`.
    Read {
        /// The conversation.
        conversation_id: ConversationId,
        /// The highest seq read.
        seq: Seq,
    },
    /// Join a public room. Confirmed by the `member_added` event every
    /// member gets (this connection included); refused by an `error`.
    /// Joining a room one is already in changes nothing and sends nothing.
    Join {
        /// The room.
        conversation_id: ConversationId,
    },
    /// Leave a group or room. Confirmed by `member_removed`; refused by an `error`.
    Leave {
        /// The conversation.
        conversation_id: ConversationId,
    },
}

impl ServerEvent {
    /// What a live event is, for its [`Envelope`](crate::Envelope); `None`
    /// for the answers and notices a session writes itself (`ready`, `gap`,
    /// `ack`, `error`).
    #[must_use]
    pub fn kind(&self) -> Option<EventKind> {
        match self {
            Self::Message { .. } => Some(EventKind::Message),
            Self::Read { .. } => Some(EventKind::Read),
            Self::Typing { .. } => Some(EventKind::Typing),
            Self::MemberAdded { user_id, .. } => Some(EventKind::MemberAdded(user_id.clone())),
            Self::MemberRemoved { user_id, .. } | Self::Banned { user_id, .. } => {
                Some(EventKind::MemberRemoved(user_id.clone()))
            }
            Self::Edited { .. }
            | Self::Deleted { .. }
            | Self::ReactionAdded { .. }
            | Self::ReactionRemoved { .. }
            | Self::Renamed { .. }
            | Self::Pinned { .. }
            | Self::Unpinned { .. }
            | Self::RoleChanged { .. }
            | Self::OwnerChanged { .. }
            | Self::Unbanned { .. }
            | Self::Muted { .. }
            | Self::Unmuted { .. }
            | Self::SettingsChanged { .. }
            | Self::ConversationDeleted { .. } => Some(EventKind::Change),
            Self::PreferencesChanged { .. } => Some(EventKind::Preferences),
            Self::Presence(_) => Some(EventKind::Presence),
            Self::Ready { .. }
            | Self::Gap(_)
            | Self::Ack { .. }
            | Self::Done { .. }
            | Self::Error { .. } => None,
        }
    }

    /// The seq of a timeline event (a message or another change), if it is one.
    #[must_use]
    pub fn seq(&self) -> Option<Seq> {
        match self {
            Self::Message { message } => Some(message.seq),
            Self::MemberAdded { seq, .. } | Self::MemberRemoved { seq, .. } => *seq,
            Self::Edited { seq, .. }
            | Self::Deleted { seq, .. }
            | Self::ReactionAdded { seq, .. }
            | Self::ReactionRemoved { seq, .. }
            | Self::Renamed { seq, .. }
            | Self::Pinned { seq, .. }
            | Self::Unpinned { seq, .. }
            | Self::RoleChanged { seq, .. }
            | Self::OwnerChanged { seq, .. }
            | Self::Banned { seq, .. }
            | Self::Unbanned { seq, .. }
            | Self::Muted { seq, .. }
            | Self::Unmuted { seq, .. }
            | Self::SettingsChanged { seq, .. } => Some(*seq),
            _ => None,
        }
    }

    /// Serializes the event to the JSON text of one frame.
    #[must_use]
    pub fn encode(&self) -> Bytes {
        // Serializing these plain data types cannot fail: no maps with
        // non-string keys, no custom Serialize that errors.
        Bytes::from(serde_json::to_vec(self).expect("server events always serialize"))
    }
}

/// A page of a conversation's timeline as the events a socket would have
/// got (`GET /conversations/{cid}/events`): messages in their current state
/// as `message` events, every other change as its own event.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventPage {
    /// Ascending seq.
    pub events: Vec<ServerEvent>,
    /// Whether more follow: ask again after the last event's seq.
    pub has_more: bool,
}

impl From<TimelinePage> for EventPage {
    fn from(page: TimelinePage) -> Self {
        Self {
            events: page.entries.into_iter().map(ServerEvent::from).collect(),
            has_more: page.has_more,
        }
    }
}

impl From<Entry> for ServerEvent {
    fn from(entry: Entry) -> Self {
        match entry {
            Entry::Message(message) => Self::Message { message },
            Entry::Change(event) => Self::from(&event),
        }
    }
}

impl From<&TimelineEvent> for ServerEvent {
    fn from(event: &TimelineEvent) -> Self {
        let (conversation_id, seq, by) =
            (event.conversation_id.clone(), event.seq, event.by.clone());
        match &event.change {
            Change::Edited {
                message_seq,
                body,
                content,
            } => Self::Edited {
                conversation_id,
                seq,
                message_seq: *message_seq,
                body: body.clone(),
                content: content.clone(),
                by,
                at: event.at,
            },
            Change::Deleted { message_seq } => Self::Deleted {
                conversation_id,
                seq,
                message_seq: *message_seq,
                by,
                at: event.at,
            },
            Change::ReactionAdded {
                message_seq,
                reaction,
            } => Self::ReactionAdded {
                conversation_id,
                seq,
                message_seq: *message_seq,
                reaction: reaction.clone(),
                by,
            },
            Change::ReactionRemoved {
                message_seq,
                reaction,
            } => Self::ReactionRemoved {
                conversation_id,
                seq,
                message_seq: *message_seq,
                reaction: reaction.clone(),
                by,
            },
            Change::MemberAdded { user_id } => Self::MemberAdded {
                conversation_id,
                user_id: user_id.clone(),
                by,
                seq: Some(seq),
            },
            Change::MemberRemoved { user_id, new_owner } => Self::MemberRemoved {
                conversation_id,
                user_id: user_id.clone(),
                by,
                seq: Some(seq),
                new_owner: new_owner.clone(),
            },
            Change::RoleChanged { user_id, role } => Self::RoleChanged {
                conversation_id,
                seq,
                user_id: user_id.clone(),
                role: *role,
                by,
            },
            Change::OwnerChanged { user_id } => Self::OwnerChanged {
                conversation_id,
                seq,
                user_id: user_id.clone(),
                by,
            },
            Change::Banned { user_id } => Self::Banned {
                conversation_id,
                seq,
                user_id: user_id.clone(),
                by,
            },
            Change::Unbanned { user_id } => Self::Unbanned {
                conversation_id,
                seq,
                user_id: user_id.clone(),
                by,
            },
            Change::Muted { user_id } => Self::Muted {
                conversation_id,
                seq,
                user_id: user_id.clone(),
                by,
            },
            Change::Unmuted { user_id } => Self::Unmuted {
                conversation_id,
                seq,
                user_id: user_id.clone(),
                by,
            },
            Change::SettingsChanged { members_can_add } => Self::SettingsChanged {
                conversation_id,
                seq,
                members_can_add: *members_can_add,
                by,
            },
            Change::Renamed { title } => Self::Renamed {
                conversation_id,
                seq,
                title: title.clone(),
                by,
            },
            Change::Pinned { message_seq } => Self::Pinned {
                conversation_id,
                seq,
                message_seq: *message_seq,
                by,
            },
            Change::Unpinned { message_seq } => Self::Unpinned {
                conversation_id,
                seq,
                message_seq: *message_seq,
                by,
            },
        }
    }
}

/// Encodes `{"type":"message","message":…}` without cloning the message.
#[must_use]
pub fn encode_message_event(message: &Message) -> Bytes {
    #[derive(Serialize)]
    #[serde(tag = "type", rename = "message")]
    struct MessageEvent<'a> {
        message: &'a Message,
    }
    Bytes::from(serde_json::to_vec(&MessageEvent { message }).expect("messages always serialize"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::MessageId;

    fn message() -> Message {
        Message::stored(
            MessageId::new("m1").unwrap(),
            ConversationId::new("c1").unwrap(),
            7,
            UserId::new("alice").unwrap(),
            "hi \"there\" \u{1f44b}",
            crate::time::from_millis(1_700_000_000_123),
        )
    }

    #[test]
    fn message_event_matches_the_wire_format() {
        let bytes = encode_message_event(&message());
        let value: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(value["type"], "message");
        assert_eq!(value["message"]["seq"], 7);
        assert_eq!(value["message"]["created_at"], "2023-11-14T22:13:20.123Z");
        let back: ServerEvent = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(back, ServerEvent::Message { message: message() });
    }

    #[test]
    fn gap_without_conversation_omits_the_fields() {
        let all = ServerEvent::Gap(Gap::everything());
        assert_eq!(&all.encode()[..], br#"{"type":"gap"}"#);
        let one = ServerEvent::Gap(Gap::from(ConversationId::new("c1").unwrap(), 4));
        let encoded = one.encode();
        assert_eq!(
            &encoded[..],
            br#"{"type":"gap","conversation_id":"c1","from_seq":4}"#
        );
        assert_eq!(
            serde_json::from_slice::<ServerEvent>(&encoded).unwrap(),
            one
        );
    }

    #[test]
    fn client_frames_decode_and_reject_bad_input() {
        let send: ClientFrame =
            serde_json::from_str(r#"{"type":"send","conversation_id":"c1","body":"yo"}"#).unwrap();
        assert!(matches!(
            send,
            ClientFrame::Send {
                client_id: None,
                ..
            }
        ));
        let resume: ClientFrame =
            serde_json::from_str(r#"{"type":"resume","positions":{"c1":3}}"#).unwrap();
        assert!(matches!(resume, ClientFrame::Resume { positions } if positions.len() == 1));
        assert!(serde_json::from_str::<ClientFrame>(r#"{"type":"dance"}"#).is_err());
        assert!(serde_json::from_str::<ClientFrame>(r#"{"type":"send","body":"x"}"#).is_err());
        assert!(
            serde_json::from_str::<ClientFrame>(
                r#"{"type":"send","conversation_id":"","body":"x"}"#
            )
            .is_err()
        );
    }
}
