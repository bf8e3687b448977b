//! Structured messages: besides its text, a message may carry a typed JSON
//! object — a card, a template, bot buttons, or the metadata of a file the
//! host stores (we keep the reference, never the bytes).
//!
//! The text stays required: it is what notifications, old clients and
//! search show. `kind` names the shape and `payload` holds it, bounded in
//! size; the `attachment` kind is checked field by field.

use serde::{Deserialize, Serialize};

use crate::error::ChatError;

/// The longest `kind`, in bytes.
pub const MAX_KIND_BYTES: usize = 32;

/// A typed JSON object carried by a message.
///
/// ```
/// use chat_engine::Content;
/// let card = Content::new("card", serde_json::json!({"title": "Lunch?", "buttons": ["yes", "no"]}));
/// assert!(card.check(8 * 1024).is_ok());
/// let file = Content::new("attachment", serde_json::json!({
///     "url": "https://files.example.com/a1", "size": 52_133, "mime": "image/png", "name": "plan.png",
/// }));
/// assert!(file.check(8 * 1024).is_ok());
/// assert!(Content::new("attachment", serde_json::json!({"url": "ftp://x"})).check(8 * 1024).is_err());
/// ```
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Content {
    /// The payload's shape: 1 to 32 of `a-z 0-9 . _ -`, starting with a
    /// letter or digit (`card`, `buttons`, `attachment`, `acme.poll`…).
    pub kind: String,
    /// A JSON object; `attachment` needs `url` (http or https), `size`
    /// (bytes) and `mime` (`type/subtype`), and may have `name`.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub payload: serde_json::Value,
}

impl Content {
    /// `kind` with `payload`.
    #[must_use]
    pub fn new(kind: impl Into<String>, payload: serde_json::Value) -> Self {
        Self {
            kind: kind.into(),
            payload,
        }
    }

    /// Rebuilds stored content from its two columns (kind, payload JSON
    /// text), for store adapters: both `NULL` is a message without content.
    ///
    /// # Errors
    /// [`ChatError::Invalid`] when only one is set or the text is not JSON.
    pub fn from_columns(
        kind: Option<String>,
        payload: Option<&str>,
    ) -> Result<Option<Self>, ChatError> {
        match (kind, payload) {
            (None, None) => Ok(None),
            (Some(kind), Some(payload)) => serde_json::from_str(payload)
                .map(|payload| Some(Self { kind, payload }))
                .map_err(|error| ChatError::invalid("payload", error.to_string())),
            _ => Err(ChatError::invalid(
                "content",
                "kind and payload must be stored together",
            )),
        }
    }

    /// The payload as stored: compact JSON text.
    #[must_use]
    pub fn payload_json(&self) -> String {
        self.payload.to_string()
    }

    /// Checks the kind, that the payload is an object of at most
    /// `max_payload_bytes` as JSON text, and the fields of known kinds.
    ///
    /// # Errors
    /// [`ChatError::Invalid`] or [`ChatError::TooLarge`] naming what is wrong.
    pub fn check(&self, max_payload_bytes: usize) -> Result<(), ChatError> {
        let kind_ok = !self.kind.is_empty()
            && self.kind.len() <= MAX_KIND_BYTES
            && self
                .kind
                .starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
            && self
                .kind
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c));
        if !kind_ok {
            return Err(ChatError::invalid(
                "kind",
                "must be 1 to 32 of a-z 0-9 . _ -, starting with a letter or digit",
            ));
        }
        let Some(fields) = self.payload.as_object() else {
            return Err(ChatError::invalid("payload", "must be a JSON object"));
        };
        let size = self.payload_json().len();
        if size > max_payload_bytes {
            return Err(ChatError::TooLarge {
                what: "payload",
                size,
                limit: max_payload_bytes,
            });
        }
        if self.kind == "attachment" {
            check_attachment(fields)?;
        }
        Ok(())
    }
}

fn check_attachment(fields: &serde_json::Map<String, serde_json::Value>) -> Result<(), ChatError> {
    let text = |name: &str| fields.get(name).and_then(serde_json::Value::as_str);
    let url_ok = text("url").is_some_and(|url| {
        url.len() <= 2_048 && (url.starts_with("https://") || url.starts_with("http://"))
    });
    if !url_ok {
        return Err(ChatError::invalid(
            "payload.url",
            "an attachment needs an http(s) url of at most 2048 bytes",
        ));
    }
    if !fields.get("size").is_some_and(serde_json::Value::is_u64) {
        return Err(ChatError::invalid(
            "payload.size",
            "an attachment needs its size in bytes",
        ));
    }
    let mime_ok = text("mime").is_some_and(|mime| {
        mime.len() <= 255
            && mime
                .split_once('/')
                .is_some_and(|(kind, sub)| !kind.is_empty() && !sub.is_empty())
    });
    if !mime_ok {
        return Err(ChatError::invalid(
            "payload.mime",
            "an attachment needs a MIME type like image/png",
        ));
    }
    if fields.get("name").is_some_and(|name| !name.is_string()) {
        return Err(ChatError::invalid("payload.name", "must be a string"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn kinds_payloads_and_attachments_are_checked() {
        let ok = |kind: &str, payload| Content::new(kind, payload).check(64).is_ok();
        assert!(ok("card", json!({"title": "x"})));
        assert!(ok("acme.poll-2", json!({})));
        assert!(!ok("", json!({})));
        assert!(!ok("Card", json!({})));
        assert!(!ok("-card", json!({})));
        assert!(!ok(&"k".repeat(33), json!({})));
        assert!(!ok("card", json!(["not", "an", "object"])));
        assert!(
            !ok("card", json!({"big": "x".repeat(64)})),
            "over the size limit"
        );
        let attachment = |payload| Content::new("attachment", payload).check(1_024);
        assert!(attachment(json!({"url": "https://f/1", "size": 1, "mime": "a/b"})).is_ok());
        assert!(
            attachment(json!({"url": "javascript:alert(1)", "size": 1, "mime": "a/b"})).is_err()
        );
        assert!(attachment(json!({"url": "https://f/1", "size": -1, "mime": "a/b"})).is_err());
        assert!(attachment(json!({"url": "https://f/1", "size": 1, "mime": "png"})).is_err());
        assert!(
            attachment(json!({"url": "https://f/1", "size": 1, "mime": "a/b", "name": 7})).is_err()
        );
    }
}
