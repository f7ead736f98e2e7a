//! Correcting and restricting a contact, each change logged in the activity log.

use serde_json::json;

use super::activity::record_in;
use super::PrivacyError;
use crate::store::{now, Store, StoreError};

/// Longest display name accepted (WhatsApp profile names are at most 25 characters; a name the
/// business types may be longer, but not unbounded).
pub const MAX_DISPLAY_NAME: usize = 256;

/// Sets the contact's display name (the business's own name for them; `None` clears it, so the
/// WhatsApp profile name shows again). Logged without the old or new name.
pub async fn correct_display_name(
    store: &Store,
    actor: &str,
    contact_id: i64,
    display_name: Option<&str>,
) -> Result<(), PrivacyError> {
    let name = display_name.map(str::trim);
    if let Some(n) = name {
        if n.is_empty() {
            return Err(PrivacyError::Invalid(
                "the display name is empty; clear it instead".into(),
            ));
        }
        if n.chars().count() > MAX_DISPLAY_NAME {
            return Err(PrivacyError::Invalid(format!(
                "the display name is longer than {MAX_DISPLAY_NAME} characters"
            )));
        }
    }
    update(
        store,
        actor,
        contact_id,
        "UPDATE contacts SET display_name = ?, updated_at = ? WHERE id = ?",
        name.map(str::to_string),
        "privacy.correct_contact",
        json!({"field": "display_name", "cleared": name.is_none()}),
    )
    .await
}

/// Restricts (`true`) or unrestricts a contact: a restricted contact's data is kept but not
/// processed further (no sends, no broadcasts) until unrestricted.
pub async fn set_restricted(
    store: &Store,
    actor: &str,
    contact_id: i64,
    restricted: bool,
) -> Result<(), PrivacyError> {
    let action = if restricted {
        "privacy.restrict_contact"
    } else {
        "privacy.unrestrict_contact"
    };
    update(
        store,
        actor,
        contact_id,
        "UPDATE contacts SET restricted = ?, updated_at = ? WHERE id = ?",
        // INTEGER affinity stores the text '1' / '0' as the integer 1 / 0.
        Some(i64::from(restricted).to_string()),
        action,
        json!({}),
    )
    .await
}

async fn update(
    store: &Store,
    actor: &str,
    contact_id: i64,
    sql: &str,
    value: Option<String>,
    action: &str,
    details: serde_json::Value,
) -> Result<(), PrivacyError> {
    let mut tx = store
        .pool()
        .begin_with("BEGIN IMMEDIATE")
        .await
        .map_err(StoreError::from)?;
    let changed = sqlx::query(sql)
        .bind(value)
        .bind(now())
        .bind(contact_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    if changed == 0 {
        return Err(PrivacyError::ContactNotFound(contact_id));
    }
    let subject = format!("contact:{contact_id}");
    record_in(&mut tx, actor, action, Some(&subject), &details).await?;
    tx.commit().await?;
    Ok(())
}
