//! All of a page's contacts and conversations in four statements, when its contact keys are
//! independent.
//!
//! `upsert_contact_in` finds a contact by wa_id, else user_id, else the newest one with the same
//! normalized phone, then updates it (wa_id, user_id, phone, profile name) or creates it. An
//! upsert can only change what a LATER upsert finds through a value the two share: the contact
//! it landed on (already stored), or the wa_id, user_id or phone it wrote. So when no two keys
//! of the page share a wa_id, user_id or phone, and no two land on the same stored contact, the
//! upserts cannot see each other, and running them together against the state before the
//! page is what running them one by one in page order gives: each contact gets its key's
//! values and its last profile name, new contacts are created in page order. Otherwise the
//! caller resolves one by one.

use std::cmp::Reverse;
use std::collections::{HashMap, HashSet};

use sqlx::SqliteConnection;

use crate::store::{json_rows, normalize_phone, now, StoreError};

use super::{ContactKey, Request};

/// A distinct contact key of the page.
struct Key<'a> {
    key: &'a ContactKey,
    phone: Option<String>,
    /// The last profile name the page gives it.
    name: Option<&'a str>,
}

/// Resolves every request together; `None` when the keys are not independent.
pub(super) async fn resolve(
    conn: &mut SqliteConnection,
    workspace_id: &str,
    pending: &[Request],
) -> Result<Option<Vec<i64>>, StoreError> {
    let mut index: HashMap<&ContactKey, usize> = HashMap::new();
    let mut keys: Vec<Key<'_>> = Vec::new();
    let mut key_of_request = Vec::with_capacity(pending.len());
    for request in pending {
        let i = *index.entry(&request.key).or_insert_with(|| {
            keys.push(Key {
                key: &request.key,
                phone: request.key.0.as_deref().and_then(normalize_phone),
                name: None,
            });
            keys.len() - 1
        });
        if let Some(name) = &request.profile_name {
            keys[i].name = Some(name);
        }
        key_of_request.push(i);
    }
    if !independent(&keys) {
        return Ok(None);
    }

    // What each key finds before the page: every candidate with the rule that found it, the
    // best picked here by the upsert's own order (wa_id, user_id, phone; then the newest).
    // One indexed probe per rule and key: CROSS JOIN keeps the keys as the outer loop, and
    // the rules are not ORed, for without statistics the planner then scanned every contact
    // of the workspace per key (resolve took 200+ ms a page at 2,000 contacts).
    let lookups: Vec<_> = keys
        .iter()
        .map(|k| (&k.key.0, &k.key.1, &k.phone))
        .collect();
    let candidates: Vec<(i64, i64, i64, i64)> = sqlx::query_as(
        "SELECT k.key, c.id, 0, c.updated_at FROM json_each(?2) AS k CROSS JOIN contacts c
         WHERE c.workspace_id = ?1 AND c.wa_id = k.value ->> 0
         UNION ALL
         SELECT k.key, c.id, 1, c.updated_at FROM json_each(?2) AS k CROSS JOIN contacts c
         WHERE c.workspace_id = ?1 AND c.user_id = k.value ->> 1
         UNION ALL
         SELECT k.key, c.id, 2, c.updated_at FROM json_each(?2) AS k CROSS JOIN contacts c
         WHERE c.workspace_id = ?1 AND c.phone_normalized = k.value ->> 2",
    )
    .bind(workspace_id)
    .bind(json_rows(&lookups)?)
    .fetch_all(&mut *conn)
    .await?;
    let mut best: HashMap<usize, (i64, Reverse<i64>, Reverse<i64>)> = HashMap::new();
    for (key, id, rank, updated_at) in candidates {
        let Ok(key) = usize::try_from(key) else {
            continue;
        };
        let candidate = (rank, Reverse(updated_at), Reverse(id));
        best.entry(key)
            .and_modify(|b| *b = (*b).min(candidate))
            .or_insert(candidate);
    }
    let mut contact_of_key: Vec<Option<i64>> = vec![None; keys.len()];
    let mut found = HashSet::new();
    for (key, (_, _, Reverse(id))) in &best {
        if !found.insert(*id) {
            return Ok(None); // two keys on one stored contact
        }
        contact_of_key[*key] = Some(*id);
    }

    let updated_at = now();
    let updates: Vec<_> = keys
        .iter()
        .zip(&contact_of_key)
        .filter_map(|(k, id)| Some((id.as_ref()?, &k.key.0, &k.key.1, &k.phone, k.name)))
        .collect();
    if !updates.is_empty() {
        sqlx::query(
            "UPDATE contacts AS c SET wa_id = COALESCE(u.wa_id, c.wa_id),
                 user_id = COALESCE(c.user_id, u.user_id),
                 phone_normalized = COALESCE(u.phone, c.phone_normalized),
                 profile_name = COALESCE(u.name, c.profile_name), updated_at = ?1
             FROM (SELECT value ->> 0 AS id, value ->> 1 AS wa_id, value ->> 2 AS user_id,
                          value ->> 3 AS phone, value ->> 4 AS name FROM json_each(?2)) AS u
             WHERE c.id = u.id",
        )
        .bind(updated_at)
        .bind(json_rows(&updates)?)
        .execute(&mut *conn)
        .await?;
    }
    let new: Vec<_> = keys
        .iter()
        .zip(&contact_of_key)
        .filter(|(_, id)| id.is_none())
        .map(|(k, _)| (&k.key.0, &k.key.1, &k.phone, k.name))
        .collect();
    if !new.is_empty() {
        let created: Vec<(i64, Option<String>, Option<String>)> = sqlx::query_as(
            "INSERT INTO contacts (workspace_id, wa_id, user_id, phone_normalized, profile_name,
                 created_at, updated_at)
             SELECT ?1, value ->> 0, value ->> 1, value ->> 2, value ->> 3, ?2, ?2
             FROM json_each(?3) WHERE true ORDER BY key
             RETURNING id, wa_id, user_id",
        )
        .bind(workspace_id)
        .bind(updated_at)
        .bind(json_rows(&new)?)
        .fetch_all(&mut *conn)
        .await?;
        for (id, wa_id, user_id) in created {
            if let Some(&i) = index.get(&(wa_id, user_id)) {
                contact_of_key[i] = Some(id);
            }
        }
    }

    // Conversations, once per (business number, contact), in page order.
    let mut contact_of_request = Vec::with_capacity(pending.len());
    for &key in &key_of_request {
        let contact = contact_of_key[key].ok_or_else(|| {
            StoreError::Invalid("a contact of the page was neither found nor created".into())
        })?;
        contact_of_request.push(contact);
    }
    let mut pairs: Vec<(&str, i64)> = Vec::new();
    let mut seen = HashSet::new();
    for (request, &contact) in pending.iter().zip(&contact_of_request) {
        if seen.insert((request.phone_number_id.as_str(), contact)) {
            pairs.push((&request.phone_number_id, contact));
        }
    }
    // A no-op DO UPDATE, so that RETURNING names existing conversations too.
    let conversations: Vec<(i64, String, i64)> = sqlx::query_as(
        "INSERT INTO conversations (workspace_id, phone_number_id, contact_id)
         SELECT ?1, value ->> 0, value ->> 1 FROM json_each(?2) WHERE true ORDER BY key
         ON CONFLICT(phone_number_id, contact_id) DO UPDATE SET contact_id = excluded.contact_id
         RETURNING id, phone_number_id, contact_id",
    )
    .bind(workspace_id)
    .bind(json_rows(&pairs)?)
    .fetch_all(&mut *conn)
    .await?;
    let conversation: HashMap<(&str, i64), i64> = conversations
        .iter()
        .map(|(id, number, contact)| ((number.as_str(), *contact), *id))
        .collect();
    pending
        .iter()
        .zip(&contact_of_request)
        .map(|(request, &contact)| {
            conversation
                .get(&(request.phone_number_id.as_str(), contact))
                .copied()
                .ok_or_else(|| StoreError::Invalid("a conversation of the page is missing".into()))
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

/// Whether no two keys share a wa_id, a user_id or a normalized phone number.
fn independent(keys: &[Key<'_>]) -> bool {
    let mut wa_ids = HashSet::new();
    let mut user_ids = HashSet::new();
    let mut phones = HashSet::new();
    keys.iter().all(|k| {
        k.key.0.as_deref().is_none_or(|w| wa_ids.insert(w))
            && k.key.1.as_deref().is_none_or(|u| user_ids.insert(u))
            && k.phone.as_deref().is_none_or(|p| phones.insert(p))
    })
}
