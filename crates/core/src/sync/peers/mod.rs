//! The contact and conversation of each message of a page, resolved with as few statements as
//! the store's contact rules allow.
//!
//! A catch-up page holds ~1,000 messages from far fewer customers, and each statement costs a
//! round trip to the connection's worker thread. Resolving every message's contact on its own
//! (look up, update the profile name, upsert the conversation: three to five statements) was
//! most of a page's time. Here the messages only *request* their peer while the page is
//! collected, and [`Peers::resolve`] writes what one `upsert_contact_in` +
//! `ensure_conversation_in` per message, in page order, would have left behind:
//! - [`bulk`]: when the page's contact keys cannot influence each other (no wa_id, user_id or
//!   phone number shared between two keys, no two keys on one stored contact), all of them at
//!   once in four statements;
//! - [`one_by_one`] otherwise (phone-number variants of one customer in one page, a key that
//!   names two stored contacts): in page order, skipping only what would change nothing.
//!
//! Nothing is cached between two calls of [`Peers::resolve`]: the page's other writers (device
//! events, account updates) run between them and may merge, rename or erase contacts.

mod bulk;
mod one_by_one;

use sqlx::SqliteConnection;

use crate::store::StoreError;

/// A contact as messages name it: (wa_id, user_id), each non-empty when present.
type ContactKey = (Option<String>, Option<String>);

/// A message's request for its conversation.
struct Request {
    phone_number_id: String,
    key: ContactKey,
    profile_name: Option<String>,
}

/// The page's peer requests and their answers.
#[derive(Default)]
pub(super) struct Peers {
    /// Not yet resolved, in page order; `resolved.len()` is the ticket of `pending[0]`.
    pending: Vec<Request>,
    /// The conversation of every resolved ticket.
    resolved: Vec<i64>,
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
        self.resolved.len() + self.pending.len() - 1
    }

    /// The conversation of a ticket, once resolved.
    pub(super) fn conversation(&self, ticket: usize) -> Option<i64> {
        self.resolved.get(ticket).copied()
    }

    /// Upserts the contacts and conversations of every pending request, as if in page order.
    pub(super) async fn resolve(
        &mut self,
        conn: &mut SqliteConnection,
        workspace_id: &str,
    ) -> Result<(), StoreError> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let pending = std::mem::take(&mut self.pending);
        let conversations = match bulk::resolve(conn, workspace_id, &pending).await? {
            Some(conversations) => conversations,
            None => {
                one_by_one::OneByOne::default()
                    .resolve(conn, workspace_id, &pending)
                    .await?
            }
        };
        self.resolved.extend(conversations);
        Ok(())
    }
}
