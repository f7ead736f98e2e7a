//! Applies the webhook fields that are not messages — template lifecycle, phone-number and
//! account updates, marketing preferences — inside the page transaction of
//! [`super::apply::apply_page`].
//!
//! Every write is idempotent: a relay page may be redelivered, so history and event rows are
//! inserted with `ON CONFLICT DO NOTHING` over their natural key (migration 0004) and column
//! updates set the same value again.

use cloud_api::webhook::{
    ChangeValue, NumberOrString, PhoneNumberNameUpdate, PhoneNumberQualityUpdate,
    TemplateCategoryUpdate, TemplateEvent, TemplateQualityUpdate, TemplateStatusUpdate,
    UserPreferencesValue,
};
use serde::Serialize;
use sqlx::SqliteConnection;

use crate::privacy::tombstones::secs_to_ms;
use crate::store::{normalize_phone, upsert_contact_in, ContactInput, StoreError};

/// Where a change comes from: the workspace, the WABA of the webhook entry, and its time.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ChangeContext<'a> {
    pub workspace_id: &'a str,
    pub waba_id: &'a str,
    /// `entry.time` when Meta sent one, else the time of applying.
    pub ts: i64,
    /// The customers erased here: their older preference changes are not applied.
    pub tombstones: &'a crate::privacy::tombstones::Tombstones,
}

/// True for the fields [`apply_change`] applies; the others stay raw in `sync_raw_events`.
pub(crate) fn handles(value: &ChangeValue) -> bool {
    matches!(
        value,
        ChangeValue::TemplateStatus(_)
            | ChangeValue::TemplateQuality(_)
            | ChangeValue::TemplateCategory(_)
            | ChangeValue::PhoneNumberQuality(_)
            | ChangeValue::PhoneNumberName(_)
            | ChangeValue::AccountUpdate(_)
            | ChangeValue::AccountReview(_)
            | ChangeValue::BusinessCapability(_)
            | ChangeValue::UserPreferences(_)
    )
}

/// True for the template lifecycle fields (status, quality, category).
pub(crate) fn is_template_change(value: &ChangeValue) -> bool {
    matches!(
        value,
        ChangeValue::TemplateStatus(_)
            | ChangeValue::TemplateQuality(_)
            | ChangeValue::TemplateCategory(_)
    )
}

/// Applies one change whose value [`handles`] accepted. `field` is the webhook field name,
/// used as the event kind. Returns how many of its parts were about a customer erased here
/// and older than the erasure, and so not applied.
pub(crate) async fn apply_change(
    conn: &mut SqliteConnection,
    cx: ChangeContext<'_>,
    field: &str,
    value: &ChangeValue,
) -> Result<usize, StoreError> {
    if let ChangeValue::UserPreferences(v) = value {
        return user_preferences(conn, cx, v).await;
    }
    match value {
        ChangeValue::TemplateStatus(v) => template_status(conn, cx, v).await,
        ChangeValue::TemplateQuality(v) => template_quality(conn, cx, v).await,
        ChangeValue::TemplateCategory(v) => template_category(conn, cx, v).await,
        ChangeValue::PhoneNumberQuality(v) => phone_quality(conn, cx, field, v).await,
        ChangeValue::PhoneNumberName(v) => phone_name(conn, cx, field, v).await,
        ChangeValue::AccountUpdate(v) => {
            let phone = match v.phone_number.as_deref() {
                Some(display) => phone_by_display(conn, cx, display).await?,
                None => None,
            };
            account_event(conn, cx, phone.as_deref(), field, v.as_ref()).await
        }
        ChangeValue::AccountReview(v) => account_event(conn, cx, None, field, v.as_ref()).await,
        ChangeValue::BusinessCapability(v) => {
            account_event(conn, cx, None, field, v.as_ref()).await
        }
        _ => Ok(()),
    }?;
    Ok(0)
}

// ----- Templates -----------------------------------------------------------------------------

/// How a webhook names a template.
struct TemplateRef<'a> {
    meta_id: Option<String>,
    name: Option<&'a str>,
    language: Option<&'a str>,
}

impl<'a> TemplateRef<'a> {
    fn new(id: Option<&NumberOrString>, name: Option<&'a str>, language: Option<&'a str>) -> Self {
        Self {
            meta_id: id.map(ToString::to_string),
            name,
            language,
        }
    }
}

/// The local template a webhook is about: by Meta's id first (ids are stable, names are
/// reused across languages), then by (WABA, name, language). With `create`, a template this
/// device has not synced yet gets a row, so its status is not lost until the next sync.
async fn find_template(
    conn: &mut SqliteConnection,
    cx: ChangeContext<'_>,
    t: &TemplateRef<'_>,
    create: Option<Option<&str>>,
) -> Result<Option<i64>, StoreError> {
    if let Some(meta_id) = &t.meta_id {
        let found: Option<i64> =
            sqlx::query_scalar("SELECT id FROM templates WHERE workspace_id = ? AND meta_id = ?")
                .bind(cx.workspace_id)
                .bind(meta_id)
                .fetch_optional(&mut *conn)
                .await?;
        if found.is_some() {
            return Ok(found);
        }
    }
    let (Some(name), Some(language)) = (t.name, t.language) else {
        return Ok(None);
    };
    // Meta writes the locale as `en_US` in the Graph API and sometimes `en-US` in webhooks.
    let language = language.replace('-', "_");
    let found: Option<i64> = sqlx::query_scalar(
        "SELECT id FROM templates WHERE waba_id = ? AND name = ? AND replace(language, '-', '_') = ?",
    )
    .bind(cx.waba_id)
    .bind(name)
    .bind(&language)
    .fetch_optional(&mut *conn)
    .await?;
    if let Some(id) = found {
        if let Some(meta_id) = &t.meta_id {
            sqlx::query("UPDATE templates SET meta_id = COALESCE(meta_id, ?) WHERE id = ?")
                .bind(meta_id)
                .bind(id)
                .execute(&mut *conn)
                .await?;
        }
        return Ok(Some(id));
    }
    let Some(category) = create else {
        return Ok(None);
    };
    let id = sqlx::query_scalar(
        "INSERT INTO templates (workspace_id, waba_id, meta_id, name, language, category, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
    )
    .bind(cx.workspace_id)
    .bind(cx.waba_id)
    .bind(&t.meta_id)
    .bind(name)
    .bind(&language)
    .bind(category)
    .bind(cx.ts)
    .fetch_one(&mut *conn)
    .await?;
    Ok(Some(id))
}

/// Appends one row to a template's history (once per (event, value, time)).
pub(crate) async fn record_history(
    conn: &mut SqliteConnection,
    template_id: i64,
    event: &str,
    value: &str,
    reason: Option<&str>,
    ts: i64,
    raw_json: &str,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO template_status_history (template_id, event, value, reason, ts, raw_json)
         VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT(template_id, event, value, ts) DO NOTHING",
    )
    .bind(template_id)
    .bind(event)
    .bind(value)
    .bind(reason)
    .bind(ts)
    .bind(raw_json)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The status a template has after `event`. UNARCHIVED and UNLOCKED are transitions back to a
/// status the webhook does not name: they go to the history only, and the next template sync
/// reads the status from Graph.
fn status_after(event: &TemplateEvent) -> Option<&str> {
    match event {
        TemplateEvent::Unarchived | TemplateEvent::Unlocked => None,
        other => Some(other.as_str()),
    }
}

async fn template_status(
    conn: &mut SqliteConnection,
    cx: ChangeContext<'_>,
    v: &TemplateStatusUpdate,
) -> Result<(), StoreError> {
    let t = TemplateRef::new(
        v.message_template_id.as_ref(),
        v.message_template_name.as_deref(),
        v.message_template_language.as_deref(),
    );
    // A DELETED event for a template that is gone here already (deleted from this device)
    // must not bring it back.
    let create = (!matches!(v.event, TemplateEvent::Deleted))
        .then_some(v.message_template_category.as_deref());
    let Some(id) = find_template(conn, cx, &t, create).await? else {
        return Ok(());
    };
    // Meta's reason code (INVALID_FORMAT, PROMOTIONAL…) is stable and translatable; the
    // longer `rejection_info` text stays in the history's raw JSON.
    let reason = v
        .reason()
        .filter(|r| *r != "NONE")
        .or_else(|| v.rejection_info.as_ref().and_then(|r| r.reason.as_deref()));
    if let Some(status) = status_after(&v.event) {
        // Only a status at least as recent as the one a webhook set last (out-of-order
        // delivery must not bring an old status back).
        sqlx::query(
            "UPDATE templates SET status = ?,
                 rejected_reason = CASE WHEN ? = 'REJECTED' THEN ? ELSE NULL END,
                 category = COALESCE(?, category), updated_at = ?, status_at = ?
             WHERE id = ? AND (status_at IS NULL OR status_at <= ?)",
        )
        .bind(status)
        .bind(status)
        .bind(reason)
        .bind(v.message_template_category.as_deref())
        .bind(cx.ts)
        .bind(cx.ts)
        .bind(id)
        .bind(cx.ts)
        .execute(&mut *conn)
        .await?;
    }
    let raw = serde_json::to_string(v).unwrap_or_default();
    record_history(conn, id, "status", v.event.as_str(), reason, cx.ts, &raw).await
}

async fn template_quality(
    conn: &mut SqliteConnection,
    cx: ChangeContext<'_>,
    v: &TemplateQualityUpdate,
) -> Result<(), StoreError> {
    let t = TemplateRef::new(
        v.message_template_id.as_ref(),
        v.message_template_name.as_deref(),
        v.message_template_language.as_deref(),
    );
    let Some(score) = v.new_quality_score.as_deref() else {
        return Ok(());
    };
    let Some(id) = find_template(conn, cx, &t, Some(None)).await? else {
        return Ok(());
    };
    sqlx::query("UPDATE templates SET quality = ?, updated_at = ? WHERE id = ?")
        .bind(score)
        .bind(cx.ts)
        .bind(id)
        .execute(&mut *conn)
        .await?;
    let raw = serde_json::to_string(v).unwrap_or_default();
    let previous = v.previous_quality_score.as_deref();
    record_history(conn, id, "quality", score, previous, cx.ts, &raw).await
}

async fn template_category(
    conn: &mut SqliteConnection,
    cx: ChangeContext<'_>,
    v: &TemplateCategoryUpdate,
) -> Result<(), StoreError> {
    let t = TemplateRef::new(
        v.message_template_id.as_ref(),
        v.message_template_name.as_deref(),
        v.message_template_language.as_deref(),
    );
    let Some(id) = find_template(conn, cx, &t, Some(v.new_category.as_deref())).await? else {
        return Ok(());
    };
    let raw = serde_json::to_string(v).unwrap_or_default();
    // An announced change (`correct_category` at a future time) is history only: the template
    // keeps its current category until Meta changes it.
    if let Some(correct) = v.correct_category.as_deref() {
        return record_history(conn, id, "category_announced", correct, None, cx.ts, &raw).await;
    }
    let Some(new) = v.new_category.as_deref() else {
        return Ok(());
    };
    sqlx::query("UPDATE templates SET category = ?, updated_at = ? WHERE id = ?")
        .bind(new)
        .bind(cx.ts)
        .bind(id)
        .execute(&mut *conn)
        .await?;
    let previous = v.previous_category.as_deref();
    record_history(conn, id, "category", new, previous, cx.ts, &raw).await
}

// ----- Phone numbers and the account --------------------------------------------------------

/// The local phone number of this WABA displayed as `display` (webhooks of these fields name
/// the number by its display form only, in any formatting).
async fn phone_by_display(
    conn: &mut SqliteConnection,
    cx: ChangeContext<'_>,
    display: &str,
) -> Result<Option<String>, StoreError> {
    let Some(wanted) = normalize_phone(display) else {
        return Ok(None);
    };
    let numbers: Vec<(String, Option<String>)> = sqlx::query_as(
        "SELECT id, display_phone_number FROM phone_numbers WHERE workspace_id = ? AND waba_id = ?",
    )
    .bind(cx.workspace_id)
    .bind(cx.waba_id)
    .fetch_all(&mut *conn)
    .await?;
    Ok(numbers.into_iter().find_map(|(id, shown)| {
        (shown.as_deref().and_then(normalize_phone).as_deref() == Some(wanted.as_str()))
            .then_some(id)
    }))
}

async fn account_event<T: Serialize + ?Sized>(
    conn: &mut SqliteConnection,
    cx: ChangeContext<'_>,
    phone_number_id: Option<&str>,
    kind: &str,
    value: &T,
) -> Result<(), StoreError> {
    let payload = serde_json::json!({"waba_id": cx.waba_id, "value": value}).to_string();
    sqlx::query(
        "INSERT INTO account_events (workspace_id, phone_number_id, kind, ts, payload_json)
         VALUES (?, ?, ?, ?, ?)
         ON CONFLICT(workspace_id, kind, ts, payload_json) DO NOTHING",
    )
    .bind(cx.workspace_id)
    .bind(phone_number_id)
    .bind(kind)
    .bind(cx.ts)
    .bind(payload)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The quality rating a `phone_number_quality_update` event implies. The event carries no
/// rating of its own: FLAGGED means the rating fell to medium, DOWNGRADE that it fell to low
/// (and the limit with it), UNFLAGGED/UPGRADE that it is high again (WhatsApp Manager's
/// "Quality rating" help; the simulator follows the same rule). Other events (ONBOARDING,
/// THROUGHPUT_UPGRADE) leave the rating alone.
fn quality_after(event: Option<&str>) -> Option<&'static str> {
    match event? {
        "FLAGGED" => Some("YELLOW"),
        "DOWNGRADE" => Some("RED"),
        "UNFLAGGED" | "UPGRADE" => Some("GREEN"),
        _ => None,
    }
}

async fn phone_quality(
    conn: &mut SqliteConnection,
    cx: ChangeContext<'_>,
    field: &str,
    v: &PhoneNumberQualityUpdate,
) -> Result<(), StoreError> {
    let phone = match v.display_phone_number.as_deref() {
        Some(display) => phone_by_display(conn, cx, display).await?,
        None => None,
    };
    if let Some(id) = &phone {
        sqlx::query(
            "UPDATE phone_numbers SET quality_rating = COALESCE(?, quality_rating),
                 messaging_limit = COALESCE(?, messaging_limit), updated_at = ?
             WHERE id = ?",
        )
        .bind(quality_after(v.event.as_deref()))
        .bind(v.current_limit.as_deref())
        .bind(cx.ts)
        .bind(id)
        .execute(&mut *conn)
        .await?;
    }
    account_event(conn, cx, phone.as_deref(), field, v).await
}

async fn phone_name(
    conn: &mut SqliteConnection,
    cx: ChangeContext<'_>,
    field: &str,
    v: &PhoneNumberNameUpdate,
) -> Result<(), StoreError> {
    let phone = match v.display_phone_number.as_deref() {
        Some(display) => phone_by_display(conn, cx, display).await?,
        None => None,
    };
    if let (Some(id), Some(decision)) = (&phone, v.decision.as_deref()) {
        // Only an approved name becomes the number's verified name.
        let approved_name = (decision == "APPROVED")
            .then_some(v.requested_verified_name.as_deref())
            .flatten();
        sqlx::query(
            "UPDATE phone_numbers SET name_status = ?,
                 verified_name = COALESCE(?, verified_name), updated_at = ?
             WHERE id = ?",
        )
        .bind(decision)
        .bind(approved_name)
        .bind(cx.ts)
        .bind(id)
        .execute(&mut *conn)
        .await?;
    }
    account_event(conn, cx, phone.as_deref(), field, v).await
}

// ----- Marketing preferences ----------------------------------------------------------------

/// A marketing STOP opts the contact out (broadcasts skip them, and Meta would fail a marketing
/// template with 131050 anyway); RESUME opts them back in. The contact is created if this is
/// the first we hear of them, so the opt-out is never lost, unless they were erased here after
/// this change was made (returned: how many such changes were left out).
async fn user_preferences(
    conn: &mut SqliteConnection,
    cx: ChangeContext<'_>,
    v: &UserPreferencesValue,
) -> Result<usize, StoreError> {
    let mut buried = 0;
    for pref in v.preferences() {
        let opted_out = if pref.is_marketing_stop() {
            1
        } else if pref.is_marketing_resume() {
            0
        } else {
            continue;
        };
        if pref.wa_id.is_none() && pref.user_id.is_none() {
            continue;
        }
        let at = pref
            .timestamp
            .as_ref()
            .and_then(|t| t.as_i64())
            .unwrap_or(cx.ts);
        let ids = [pref.wa_id.as_deref(), pref.user_id.as_deref()];
        if cx.tombstones.buries(ids, secs_to_ms(at)) {
            buried += 1;
            continue;
        }
        let profile_name = v.contacts.iter().flatten().find_map(|c| {
            let same = (c.wa_id.is_some() && c.wa_id == pref.wa_id)
                || (c.user_id.is_some() && c.user_id == pref.user_id);
            same.then(|| c.name().map(str::to_string)).flatten()
        });
        let contact_id = upsert_contact_in(
            conn,
            &ContactInput {
                workspace_id: cx.workspace_id.to_string(),
                wa_id: pref.wa_id.clone(),
                user_id: pref.user_id.clone(),
                phone: None,
                profile_name,
            },
        )
        .await?;
        sqlx::query("UPDATE contacts SET opted_out = ?, updated_at = ? WHERE id = ?")
            .bind(opted_out)
            .bind(cx.ts)
            .bind(contact_id)
            .execute(&mut *conn)
            .await?;
        let phone = v.metadata.as_ref().map(|m| m.phone_number_id.as_str());
        account_event(conn, cx, phone, "user_preferences", pref).await?;
    }
    Ok(buried)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quality_events_map_to_ratings() {
        assert_eq!(quality_after(Some("FLAGGED")), Some("YELLOW"));
        assert_eq!(quality_after(Some("DOWNGRADE")), Some("RED"));
        assert_eq!(quality_after(Some("UNFLAGGED")), Some("GREEN"));
        assert_eq!(quality_after(Some("THROUGHPUT_UPGRADE")), None);
        assert_eq!(quality_after(None), None);
    }

    #[test]
    fn unarchive_keeps_the_status_for_sync() {
        assert_eq!(status_after(&TemplateEvent::Approved), Some("APPROVED"));
        assert_eq!(status_after(&TemplateEvent::Unarchived), None);
    }
}
