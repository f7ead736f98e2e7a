//! The contact and conversation of each message of a page, resolved with as few statements as
//! the store's contact rules allow.
//!
//! A catch-up page holds ~1,000 messages from far fewer customers, and each statement costs a
//! round trip to the connection's worker thread. Resolving every message's contact on its own
//! (look up, update the profile name, upsert the conversation) was most of a page's time. Here
//! the messages only *request* their peer while the page is collected; [`Peers::resolve`] then
//! walks the requests in page order and writes exactly what one upsert per message would have
//! left behind:
//! - a run of requests for the same contact key costs one upsert, carrying the run's last
//!   profile name (`upsert_contact_in` keeps the old name when a message has none);
//! - a key met again later in the page, when no other key has landed on its contact since
//!   (phone-number variants can), costs nothing but a newer profile name, written once per
//!   contact at the end;
//! - a conversation is upserted once per (business number, contact).
//!
//! The caches are only valid between writes this module knows of: the page's other writers
//! (device events, account updates) call [`Peers::resolve`] and then [`Peers::forget`] first.

use std::collections::HashMap;

use sqlx::SqliteConnection;

use crate::store::{ensure_conversation_in, now, upsert_contact_in, ContactInput, StoreError};

/// A contact as messages name it: (wa_id, user_id).
type ContactKey = (Option<String>, Option<String>);

/// A message's request for its conversation.
struct Request {
    phone_number_id: String,
    key: ContactKey,
    profile_name: Option<String>,
}

/// The page's peer requests and what is known of them.
#[derive(Default)]
pub(super) struct Peers {
    /// Not yet resolved, in page order; `first_ticket` is the ticket of `pending[0]`.
    pending: Vec<Request>,
    first_ticket: usize,
    /// The conversation of every resolved ticket.
    resolved: Vec<i64>,
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

impl Peers {
    /// Asks for the conversation between `phone_number_id` and the contact `wa_id`/`user_id`
    /// (at least one of them non-empty: the caller checks). Returns the ticket that
    /// [`Peers::conversation`] answers after [`Peers::resolve`].
    pub(super) fn request(
        &mut self,
        phone_number_id: &str,
        wa_id: Option<String>,
        user_id: Option<String>,
        profile_name: Option<String>,
    ) -> usize {
        self.pending.push(Request {
            phone_number_id: phone_number_id.to_string(),
            key: (wa_id, user_id),
            profile_name,
        });
        self.first_ticket + self.pending.len() - 1
    }

    /// The conversation of a ticket, once resolved.
    pub(super) fn conversation(&self, ticket: usize) -> Option<i64> {
        self.resolved.get(ticket).copied()
    }

    /// Upserts the contacts and conversations of every pending request, in page order.
    pub(super) async fn resolve(
        &mut self,
        conn: &mut SqliteConnection,
        workspace_id: &str,
    ) -> Result<(), StoreError> {
        let pending = std::mem::take(&mut self.pending);
        self.first_ticket += pending.len();
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
                self.resolved.push(conversation);
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
        Ok(())
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

    /// Drops every cached id: called after writes made elsewhere in the page (device events,
    /// account updates), which may merge, rename or erase what the caches describe. Pending
    /// requests must have been resolved first.
    pub(super) fn forget(&mut self) {
        debug_assert!(self.pending.is_empty(), "resolve before forget");
        self.contacts.clear();
        self.last_key.clear();
        self.written_name.clear();
        self.newer_name.clear();
        self.conversations.clear();
    }
}
