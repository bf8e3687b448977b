//! Full-text search over the messages of a user's own conversations. The
//! service turns the text typed into words, the same way for every store:
//! runs of letters and digits, lower case, at least 3 characters, common
//! English stopwords left out (MySQL's full-text index knows neither shorter
//! words nor those), so SQLite and MySQL find the same messages. Each word
//! matches as a prefix, case and accents ignored, and every word must match.

use serde::{Deserialize, Serialize};

use crate::error::ChatError;
use crate::ids::{MessageId, UserId};
use crate::message::Message;

/// The shortest word searched for, in characters.
pub const MIN_WORD_CHARS: usize = 3;

/// Words no search matches (MySQL's default full-text stopwords).
const STOPWORDS: [&str; 36] = [
    "a", "about", "an", "are", "as", "at", "be", "by", "com", "de", "en", "for", "from", "how",
    "i", "in", "is", "it", "la", "of", "on", "or", "that", "the", "this", "to", "was", "what",
    "when", "where", "who", "will", "with", "und", "www", "and",
];

/// The words of `text` a search looks for, in order, without repeats.
///
/// ```
/// use chat_engine::search::words;
/// assert_eq!(words("The Café, re-opened: café"), ["café", "opened"]);
/// ```
#[must_use]
pub fn words(text: &str) -> Vec<String> {
    let mut found: Vec<String> = Vec::new();
    for word in text.split(|c: char| !c.is_alphanumeric()) {
        let word = word.to_lowercase();
        if word.chars().count() >= MIN_WORD_CHARS
            && !STOPWORDS.contains(&word.as_str())
            && !found.contains(&word)
        {
            found.push(word);
        }
    }
    found
}

/// A search, as handed to [`Store::search`](crate::Store::search).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SearchQuery {
    /// Whose conversations to search (only those they are a member of now).
    pub user: UserId,
    /// The words, from [`words`]: at least one, each of letters and digits.
    pub words: Vec<String>,
    /// Only messages older than this one: the last hit of the previous page.
    pub before: Option<MessageId>,
    /// At most this many hits (at least 1).
    pub limit: u32,
}

impl SearchQuery {
    /// Checks that `text` holds something to search for.
    ///
    /// # Errors
    /// [`ChatError::Invalid`] when no word of [`MIN_WORD_CHARS`] or more
    /// characters remains.
    pub fn words_of(text: &str) -> Result<Vec<String>, ChatError> {
        let found = words(text);
        if found.is_empty() {
            return Err(ChatError::invalid(
                "q",
                format!(
                    "search for at least one word of {MIN_WORD_CHARS} or more letters \
                     (short and common words are not indexed)"
                ),
            ));
        }
        Ok(found)
    }
}

/// Hits, newest first, and whether older ones remain.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchPage {
    /// The messages found, newest first.
    pub messages: Vec<Message>,
    /// Whether older hits remain: ask again with `before` set to the last id.
    pub has_more: bool,
}
