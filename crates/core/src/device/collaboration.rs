//! Working together on the inbox: private notes on a conversation and the workspace's quick
//! replies. Both are team events (see `crate::team`): written here at once, published sealed to
//! the relay, and applied on every other device of the workspace — also when this device is
//! offline, in which case they wait in the team queue.

use serde::Serialize;

use super::{Device, DeviceError, DeviceEvent};
use crate::team;

/// A private note on a conversation: staff only, never sent to the customer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct NoteView {
    pub id: String,
    pub text: String,
    /// Unix milliseconds.
    pub at: i64,
    /// Who wrote it ("" when the author is unknown).
    pub author_name: String,
    /// Written by the signed-in member.
    pub mine: bool,
}

/// Who last changed a conversation's labels or assignee, and when (last writer wins; every
/// device keeps the author with the value).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct FieldChangeView {
    /// `labels` or `assigned_to`.
    pub field: String,
    /// Unix milliseconds.
    pub at: i64,
    /// Who changed it ("" when the author is unknown).
    pub author_name: String,
    /// Changed by the signed-in member.
    pub mine: bool,
}

/// A canned answer staff insert with its shortcut (e.g. `/hours`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct QuickReplyView {
    pub id: String,
    pub shortcut: String,
    pub text: String,
}

/// The longest shortcut: it is typed, so a word or two.
const MAX_SHORTCUT_CHARS: usize = 32;
/// A quick reply becomes a text message, whose body Meta caps at 4,096 characters.
const MAX_QUICK_REPLY_CHARS: usize = 4096;

/// `/Hours ` → `/hours`: one leading slash, lower case, no spaces inside.
fn normalise_shortcut(shortcut: &str) -> Result<String, DeviceError> {
    let word = shortcut.trim().trim_start_matches('/').to_lowercase();
    if word.is_empty() || word.chars().count() > MAX_SHORTCUT_CHARS {
        return Err(DeviceError::InvalidInput(format!(
            "a shortcut needs 1 to {MAX_SHORTCUT_CHARS} characters"
        )));
    }
    if word.chars().any(char::is_whitespace) {
        return Err(DeviceError::InvalidInput(
            "a shortcut is one word, without spaces".into(),
        ));
    }
    Ok(format!("/{word}"))
}

impl Device {
    /// The conversation's private notes, oldest first.
    pub async fn notes(&self, conversation_id: i64) -> Result<Vec<NoteView>, DeviceError> {
        let session = self.session().await?;
        self.check_conversation(conversation_id).await?;
        let me = session.account.user_id.clone();
        Ok(team::notes(self.store(), conversation_id)
            .await?
            .into_iter()
            .map(|note| NoteView {
                mine: note.author_id.as_deref() == Some(me.as_str()),
                id: note.id,
                text: note.text,
                at: note.at,
                author_name: note.author_name.unwrap_or_default(),
            })
            .collect())
    }

    /// Who last set the conversation's labels and its assignee (those set at all).
    pub async fn conversation_changes(
        &self,
        conversation_id: i64,
    ) -> Result<Vec<FieldChangeView>, DeviceError> {
        let session = self.session().await?;
        self.check_conversation(conversation_id).await?;
        let rows: Vec<(String, i64, Option<String>, Option<String>)> = sqlx::query_as(
            "SELECT field, at, author_id, author_name FROM conversation_fields
             WHERE conversation_id = ? AND field IN ('labels', 'assigned_to') ORDER BY field",
        )
        .bind(conversation_id)
        .fetch_all(self.store().pool())
        .await
        .map_err(crate::store::StoreError::from)?;
        let me = session.account.user_id.as_str();
        Ok(rows
            .into_iter()
            .map(|(field, at, author_id, author_name)| FieldChangeView {
                field,
                at,
                author_name: author_name.unwrap_or_default(),
                mine: author_id.as_deref() == Some(me),
            })
            .collect())
    }

    /// Adds a private note to the conversation, for every device of the workspace.
    pub async fn add_note(
        &self,
        conversation_id: i64,
        text: &str,
    ) -> Result<NoteView, DeviceError> {
        let session = self.session().await?;
        self.check_conversation(conversation_id).await?;
        let id = session
            .team
            .add_note(conversation_id, text)
            .await?
            .to_string();
        self.emit(DeviceEvent::InboxChanged {
            conversation_ids: vec![conversation_id],
        });
        self.notes(conversation_id)
            .await?
            .into_iter()
            .find(|note| note.id == id)
            .ok_or_else(|| DeviceError::NotFound("the note just written is missing".into()))
    }

    /// The workspace's quick replies, by shortcut.
    pub async fn quick_replies(&self) -> Result<Vec<QuickReplyView>, DeviceError> {
        self.session().await?;
        Ok(team::quick_replies(self.store())
            .await?
            .into_iter()
            .map(|reply| QuickReplyView {
                id: reply.id,
                shortcut: reply.shortcut,
                text: reply.text,
            })
            .collect())
    }

    /// Creates (`id: None`) or changes a quick reply for the whole workspace. Shortcuts are
    /// unique: saving one that another quick reply uses is refused.
    pub async fn save_quick_reply(
        &self,
        id: Option<&str>,
        shortcut: &str,
        text: &str,
    ) -> Result<QuickReplyView, DeviceError> {
        let session = self.session().await?;
        let shortcut = normalise_shortcut(shortcut)?;
        let text = text.trim();
        if text.is_empty() || text.chars().count() > MAX_QUICK_REPLY_CHARS {
            return Err(DeviceError::InvalidInput(format!(
                "a quick reply needs 1 to {MAX_QUICK_REPLY_CHARS} characters"
            )));
        }
        let existing = self.quick_replies().await?;
        if existing
            .iter()
            .any(|reply| reply.shortcut == shortcut && Some(reply.id.as_str()) != id)
        {
            return Err(DeviceError::Conflict(format!(
                "{shortcut} is already a quick reply"
            )));
        }
        if let Some(id) = id {
            if !existing.iter().any(|reply| reply.id == id) {
                return Err(DeviceError::NotFound("no such quick reply".into()));
            }
        }
        let id = session.team.quick_reply_set(id, &shortcut, text).await?;
        Ok(QuickReplyView {
            id,
            shortcut,
            text: text.to_owned(),
        })
    }

    /// Deletes a quick reply for the whole workspace.
    pub async fn delete_quick_reply(&self, id: &str) -> Result<(), DeviceError> {
        let session = self.session().await?;
        if !self
            .quick_replies()
            .await?
            .iter()
            .any(|reply| reply.id == id)
        {
            return Err(DeviceError::NotFound("no such quick reply".into()));
        }
        session.team.quick_reply_delete(id).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::normalise_shortcut;

    #[test]
    fn shortcuts_are_one_lower_case_word_with_one_slash() {
        assert_eq!(normalise_shortcut(" /Hours ").unwrap(), "/hours");
        assert_eq!(normalise_shortcut("thanks").unwrap(), "/thanks");
        assert!(normalise_shortcut("/").is_err());
        assert!(normalise_shortcut("opening hours").is_err());
        assert!(normalise_shortcut(&"x".repeat(33)).is_err());
    }
}
