//! The envelope on the wire: encoded once per node that watches some of its
//! recipients, with those recipients only (so a message to N members costs
//! O(N) bytes in Redis however many nodes share them).
//!
//! Layout (integers big-endian): version `2` (u8); conversation id (u16
//! length + bytes); seq (u8 flag, then u64 when present); the event kind
//! (u8: 0 message, 1 read, 2 typing, 3 member added, 4 member removed, 5
//! another timeline change, 6 signed out; 3 and 4 followed by the member's
//! id, u16 length + bytes); recipients
//! (u32 count, each u16 length + bytes); the payload (the rest).

use bytes::{Buf, BufMut, Bytes, BytesMut};
use chat_engine::{ConversationId, Envelope, EventKind, UserId};

const VERSION: u8 = 2;

/// Why bytes from the bus are not an envelope.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The bytes end before the layout says.
    #[error("truncated envelope")]
    Truncated,
    /// A layout this version does not know.
    #[error("unknown envelope version {0}")]
    Version(u8),
    /// An id is not valid.
    #[error("invalid id in envelope: {0}")]
    Id(#[from] chat_engine::ChatError),
    /// An id is not UTF-8.
    #[error("id is not UTF-8")]
    Utf8(#[from] std::string::FromUtf8Error),
    /// An event kind this version does not know.
    #[error("unknown event kind {0}")]
    Kind(u8),
}

fn put_str16(out: &mut BytesMut, value: &str) {
    // Ids are at most 128 bytes (`chat_engine::MAX_ID_BYTES`).
    out.put_u16(u16::try_from(value.len()).unwrap_or(u16::MAX));
    out.put_slice(value.as_bytes());
}

/// Encodes `envelope`.
#[must_use]
pub fn encode(envelope: &Envelope) -> Bytes {
    let recipients = envelope.recipients();
    let ids: usize = recipients.iter().map(|user| 2 + user.as_str().len()).sum();
    let mut out = BytesMut::with_capacity(
        1 + 2
            + envelope.conversation_id().as_str().len()
            + 9
            + 3
            + 128
            + 4
            + ids
            + envelope.payload().len(),
    );
    out.put_u8(VERSION);
    put_str16(&mut out, envelope.conversation_id().as_str());
    match envelope.seq() {
        Some(seq) => {
            out.put_u8(1);
            out.put_u64(seq);
        }
        None => out.put_u8(0),
    }
    match envelope.kind() {
        EventKind::MemberAdded(user) => {
            out.put_u8(3);
            put_str16(&mut out, user.as_str());
        }
        EventKind::MemberRemoved(user) => {
            out.put_u8(4);
            put_str16(&mut out, user.as_str());
        }
        EventKind::Read => out.put_u8(1),
        EventKind::Typing => out.put_u8(2),
        EventKind::Change => out.put_u8(5),
        EventKind::SignedOut => out.put_u8(6),
        EventKind::Preferences => out.put_u8(7),
        EventKind::Presence => out.put_u8(8),
        // Message, and kinds a later version adds (decoded there).
        _ => out.put_u8(0),
    }
    out.put_u32(u32::try_from(recipients.len()).unwrap_or(u32::MAX));
    for user in recipients {
        put_str16(&mut out, user.as_str());
    }
    out.put_slice(envelope.payload());
    out.freeze()
}

fn need(input: &[u8], bytes: usize) -> Result<(), DecodeError> {
    if input.remaining() < bytes {
        return Err(DecodeError::Truncated);
    }
    Ok(())
}

fn get_str16(input: &mut &[u8]) -> Result<String, DecodeError> {
    need(input, 2)?;
    let len = usize::from(input.get_u16());
    need(input, len)?;
    let value = String::from_utf8(input[..len].to_vec())?;
    input.advance(len);
    Ok(value)
}

/// Decodes bytes made by [`encode`].
///
/// # Errors
/// [`DecodeError`] for anything else.
pub fn decode(bytes: &[u8]) -> Result<Envelope, DecodeError> {
    let mut input = bytes;
    need(input, 1)?;
    let version = input.get_u8();
    if version != VERSION {
        return Err(DecodeError::Version(version));
    }
    let conversation = ConversationId::new(get_str16(&mut input)?)?;
    need(input, 1)?;
    let seq = if input.get_u8() == 1 {
        need(input, 8)?;
        Some(input.get_u64())
    } else {
        None
    };
    need(input, 1)?;
    let kind = match input.get_u8() {
        0 => EventKind::Message,
        1 => EventKind::Read,
        2 => EventKind::Typing,
        3 => EventKind::MemberAdded(UserId::new(get_str16(&mut input)?)?),
        4 => EventKind::MemberRemoved(UserId::new(get_str16(&mut input)?)?),
        5 => EventKind::Change,
        6 => EventKind::SignedOut,
        7 => EventKind::Preferences,
        8 => EventKind::Presence,
        other => return Err(DecodeError::Kind(other)),
    };
    need(input, 4)?;
    let count = input.get_u32();
    // Each recipient takes at least 3 bytes: a count beyond that is corrupt,
    // and must not drive a huge allocation.
    let count = usize::try_from(count).unwrap_or(usize::MAX);
    if count > input.remaining() / 3 {
        return Err(DecodeError::Truncated);
    }
    let mut recipients = Vec::with_capacity(count);
    for _ in 0..count {
        recipients.push(UserId::new(get_str16(&mut input)?)?);
    }
    Ok(Envelope::new(
        recipients,
        conversation,
        seq,
        kind,
        Bytes::copy_from_slice(input),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelopes_round_trip() {
        let envelope = Envelope::new(
            vec![
                UserId::new("al\u{ed}ce").unwrap(),
                UserId::new("bob").unwrap(),
            ],
            ConversationId::new("c-1").unwrap(),
            Some(42),
            EventKind::Message,
            Bytes::from_static(b"{\"type\":\"message\"}"),
        );
        assert_eq!(decode(&encode(&envelope)).unwrap(), envelope);
        for kind in [
            EventKind::Read,
            EventKind::Typing,
            EventKind::MemberAdded(UserId::new("carol").unwrap()),
            EventKind::MemberRemoved(UserId::new("dave").unwrap()),
            EventKind::Change,
            EventKind::SignedOut,
            EventKind::Preferences,
            EventKind::Presence,
        ] {
            let ephemeral = Envelope::new(
                vec![],
                ConversationId::new("c").unwrap(),
                None,
                kind,
                Bytes::new(),
            );
            assert_eq!(decode(&encode(&ephemeral)).unwrap(), ephemeral);
        }
    }

    #[test]
    fn garbage_is_refused_without_panicking() {
        let good = encode(&Envelope::new(
            vec![UserId::new("bob").unwrap()],
            ConversationId::new("c").unwrap(),
            Some(1),
            EventKind::MemberAdded(UserId::new("bob").unwrap()),
            Bytes::from_static(b"x"),
        ));
        for cut in 0..good.len() - 1 {
            assert!(decode(&good[..cut]).is_err(), "truncated at {cut} accepted");
        }
        assert!(matches!(decode(&[9]), Err(DecodeError::Version(9))));
        let huge_count = [2, 0, 1, b'c', 0, 0, 0xff, 0xff, 0xff, 0xff];
        assert!(decode(&huge_count).is_err());
        let unknown_kind = [2, 0, 1, b'c', 0, 99, 0, 0, 0, 0];
        assert!(matches!(decode(&unknown_kind), Err(DecodeError::Kind(99))));
    }
}
