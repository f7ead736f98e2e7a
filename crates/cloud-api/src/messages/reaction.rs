//! Reactions (`type: "reaction"`) and their removal.

use serde::{Deserialize, Serialize};

/// The `reaction` object: an emoji attached to an earlier message of the conversation.
///
/// Meta removes a reaction when the same request is sent with an empty `emoji`, so removal is
/// a reaction with `emoji: ""` rather than a separate type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reaction {
    /// The wamid of the message reacted to.
    pub message_id: String,
    /// One emoji, or `""` to remove the reaction.
    pub emoji: String,
}

impl Reaction {
    /// Reacts to `message_id` with `emoji`.
    pub fn new(message_id: impl Into<String>, emoji: impl Into<String>) -> Self {
        Self {
            message_id: message_id.into(),
            emoji: emoji.into(),
        }
    }

    /// Removes the business's reaction from `message_id` (an empty `emoji`).
    pub fn remove(message_id: impl Into<String>) -> Self {
        Self::new(message_id, "")
    }

    /// Whether this request removes a reaction instead of setting one.
    pub fn is_removal(&self) -> bool {
        self.emoji.is_empty()
    }
}
