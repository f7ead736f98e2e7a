//! The fallback of [`super::Peers::resolve`]: each run of requests for one contact key
//! resolved in page order, exactly as one upsert per message would, minus what would change
//! nothing:
//! - a run of requests for the same contact key costs one upsert, carrying the run's last
//!   profile name (`upsert_contact_in` keeps the old name when a message has none);
//! - a key met again later in the page, when no other key has landed on its contact since
//!   (phone-number variants can), costs nothing but a newer profile name, written once per
//!   contact at the end;
//! - a conversation is upserted once per (business number, contact).

use std::collections::HashMap;

use sqlx::SqliteConnection;

use crate::store::{ensure_conversation_in, now, upsert_contact_in, ContactInput, StoreError};

use super::{ContactKey, Request};

/// What one resolution knows of the contacts and conversations it wrote.
#[derive(Default)]
pub(super) struct OneByOne {
    /// Contact key → contact id, for keys upserted since the last [`Peers::forget`].
    contacts: HashMap<ContactKey, i64>,
    /// Contact id → the key of the last upsert that landed on it.
    last_key: HashMap<i64, ContactKey>,
    /// Contact id → the profile name it holds, when written by this module.
    written_name: HashMap<i64, String>,
    /// Contact id → a newer profile name, written at the end of [`Peers::resolve`].
    newer_name: HashMap<i64, String>,
    /// (business number, contact id) → conversation id.
    conversations: HashMap<(String, i64), i64>,
}

impl OneByOne {
    /// Upserts the contacts and conversations of `pending`, in page order; returns each
    /// request's conversation.
    pub(super) async fn resolve(
        mut self,
        conn: &mut SqliteConnection,
        workspace_id: &str,
        pending: &[Request],
    ) -> Result<Vec<i64>, StoreError> {
        let mut resolved = Vec::with_capacity(pending.len());
        let mut start = 0;
        while start < pending.len() {
            let key = &pending[start].key;
            let end = start
                + pending[start..]
                    .iter()
                    .take_while(|r| r.key == *key)
                    .count();
            let run = &pending[start..end];
            // What the run's upserts would leave: its last profile name, if any had one.
            let name = run.iter().rev().find_map(|r| r.profile_name.clone());
            let contact = self.contact(conn, workspace_id, key, name).await?;
            for request in run {
                let conversation = match self
                    .conversations
                    .get(&(request.phone_number_id.clone(), contact))
                {
                    Some(id) => *id,
                    None => {
                        let id = ensure_conversation_in(
                            conn,
                            workspace_id,
                            &request.phone_number_id,
                            contact,
                        )
                        .await?;
                        self.conversations
                            .insert((request.phone_number_id.clone(), contact), id);
                        id
                    }
                };
                resolved.push(conversation);
            }
            start = end;
        }
        let updated_at = now();
        for (contact, name) in std::mem::take(&mut self.newer_name) {
            sqlx::query("UPDATE contacts SET profile_name = ?, updated_at = ? WHERE id = ?")
                .bind(&name)
                .bind(updated_at)
                .bind(contact)
                .execute(&mut *conn)
                .await?;
            self.written_name.insert(contact, name);
        }
        Ok(resolved)
    }

    /// The contact of a run of requests with the same key.
    async fn contact(
        &mut self,
        conn: &mut SqliteConnection,
        workspace_id: &str,
        key: &ContactKey,
        name: Option<String>,
    ) -> Result<i64, StoreError> {
        if let Some(&id) = self.contacts.get(key) {
            if self.last_key.get(&id) == Some(key) {
                // The upsert would find this contact again and change nothing but its name.
                if let Some(name) = name {
                    if self.written_name.get(&id) == Some(&name) {
                        self.newer_name.remove(&id);
                    } else {
                        self.newer_name.insert(id, name);
                    }
                }
                return Ok(id);
            }
        }
        let input = ContactInput {
            workspace_id: workspace_id.to_string(),
            wa_id: key.0.clone(),
            user_id: key.1.clone(),
            phone: None,
            profile_name: name.clone(),
        };
        let id = upsert_contact_in(conn, &input).await?;
        self.contacts.insert(key.clone(), id);
        self.last_key.insert(id, key.clone());
        // A name written now is newer than any waiting for this contact; without one, the
        // stored name stays and a waiting (newer) one still has to be written.
        if let Some(name) = name {
            self.newer_name.remove(&id);
            self.written_name.insert(id, name);
        }
        Ok(id)
    }
}
