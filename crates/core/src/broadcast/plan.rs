//! Who a broadcast reaches and with which values — before anything is stored.

use std::collections::{BTreeMap, HashMap, HashSet};

use cloud_api::templates::{ComponentType, HeaderFormat};
use serde::Serialize;
use sqlx::FromRow;

use super::csv::{self, ImportIssue};
use super::{BroadcastError, Message, ParamSource, RecipientSource};
use crate::store::Store;
use crate::templates::{
    body_text, button_takes_value, component_text, header_format, params_for, send_template,
    template_buttons, variables, FormValues, Template,
};

/// One recipient as planned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct PlannedRecipient {
    /// The known contact (none yet for a new number from a CSV).
    pub contact_id: Option<i64>,
    /// Where it goes: the normalised number (or the business-scoped user id of a contact
    /// without one).
    pub phone: String,
    /// The recipient's name, if known.
    pub name: Option<String>,
    /// The body's values, in order.
    pub body: Vec<String>,
    /// The text header's values.
    pub header: Vec<String>,
    /// The values of the buttons that take one, in order.
    pub buttons: Vec<String>,
    /// Why this recipient is excluded; `None` = will be sent to.
    pub skip_reason: Option<String>,
    /// The CSV line it came from.
    pub line: Option<u32>,
}

impl PlannedRecipient {
    /// The recipient's values as a template form, with the broadcast's header media.
    pub fn form(&self, header_media: Option<cloud_api::messages::Parameter>) -> FormValues {
        FormValues {
            body: self.body.clone(),
            header: self.header.clone(),
            buttons: self.buttons.clone(),
            header_media,
        }
    }
}

/// A broadcast's recipients, and what an import refused.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct Plan {
    /// Distinct recipients, excluded ones included (with their reason).
    pub recipients: Vec<PlannedRecipient>,
    /// CSV rows refused or collapsed, with line numbers.
    pub issues: Vec<ImportIssue>,
}

impl Plan {
    /// Recipients that will be sent to.
    pub fn sendable(&self) -> usize {
        self.recipients
            .iter()
            .filter(|r| r.skip_reason.is_none())
            .count()
    }
}

#[derive(Debug, Clone, FromRow)]
struct ContactRow {
    id: i64,
    wa_id: Option<String>,
    user_id: Option<String>,
    phone_normalized: Option<String>,
    display_name: Option<String>,
    profile_name: Option<String>,
    restricted: bool,
    opted_out: bool,
}

impl ContactRow {
    fn address(&self) -> Option<String> {
        self.wa_id
            .clone()
            .or_else(|| self.phone_normalized.clone())
            .or_else(|| self.user_id.clone())
    }

    fn name(&self) -> Option<String> {
        self.display_name
            .clone()
            .or_else(|| self.profile_name.clone())
            .filter(|n| !n.trim().is_empty())
    }
}

const CONTACT_COLUMNS: &str = "ct.id, ct.wa_id, ct.user_id, ct.phone_normalized, ct.display_name,
    ct.profile_name, ct.restricted, ct.opted_out";

/// A recipient before its values are resolved.
struct Candidate {
    contact: Option<ContactRow>,
    phone: String,
    fields: Option<BTreeMap<String, String>>,
    line: Option<u32>,
}

/// Resolves `source` into recipients with their values, and checks `message` against the
/// template. Reads only.
pub async fn plan(
    store: &Store,
    workspace_id: &str,
    phone_number_id: &str,
    template: &Template,
    source: &RecipientSource,
    message: &Message,
) -> Result<Plan, BroadcastError> {
    check_template(
        template,
        message,
        matches!(source, RecipientSource::Csv { .. }),
    )?;
    let mut issues = Vec::new();
    let candidates = match source {
        RecipientSource::Label { label } => {
            by_label(store, workspace_id, phone_number_id, label).await?
        }
        RecipientSource::Contacts { contact_ids } => {
            by_ids(store, workspace_id, contact_ids).await?
        }
        RecipientSource::Csv { text } => {
            let import = csv::parse(text)?;
            for needed in message.sources() {
                if let ParamSource::Column { column } = needed {
                    if !import.columns.contains(&column.trim().to_lowercase()) {
                        return Err(BroadcastError::Invalid(format!(
                            "the CSV has no column {column:?} (columns: {})",
                            import.columns.join(", ")
                        )));
                    }
                }
            }
            issues = import.issues;
            from_csv(store, workspace_id, import.rows).await?
        }
    };
    if candidates.is_empty() {
        return Err(BroadcastError::Invalid(match source {
            RecipientSource::Label { label } => {
                format!("no conversation on this number has the label {label:?}")
            }
            _ => "there is nobody to send to".into(),
        }));
    }
    // An authentication template's code button left empty gets each recipient's body code
    // (`params_for`), as in the template panel: nobody gives the same code twice.
    let authentication = template.category.as_deref() == Some("AUTHENTICATION");
    let recipients: Vec<PlannedRecipient> = candidates
        .into_iter()
        .map(|c| resolve(c, message, authentication))
        .collect();
    // Build one message now: a value Meta would refuse (too long, a line break) is caught here.
    for r in recipients
        .iter()
        .filter(|r| r.skip_reason.is_none())
        .take(1)
    {
        send_template(
            template,
            &params_for(template, &r.form(message.header_media.clone())),
        )
        .map_err(|e| BroadcastError::Invalid(e.to_string()))?;
    }
    Ok(Plan { recipients, issues })
}

/// The template must be approved, its media or location header given, and every variable
/// and button value get one source; column sources need a CSV.
fn check_template(template: &Template, message: &Message, csv: bool) -> Result<(), BroadcastError> {
    if template.status.as_deref() != Some("APPROVED") {
        return Err(BroadcastError::Invalid(format!(
            "the template {} is not approved ({})",
            template.name,
            template.status.as_deref().unwrap_or("unknown status")
        )));
    }
    match header_format(template) {
        Some(HeaderFormat::Text) | None if message.header_media.is_some() => {
            return Err(BroadcastError::Invalid(format!(
                "the template {} has no media or location header",
                template.name
            )))
        }
        Some(format) if format != HeaderFormat::Text && message.header_media.is_none() => {
            let kind = match format {
                HeaderFormat::Image => "an image",
                HeaderFormat::Video => "a video",
                HeaderFormat::Document => "a document",
                HeaderFormat::Location => "a location",
                _ => "a media",
            };
            return Err(BroadcastError::Invalid(format!(
                "the template {} has {kind} header: choose what it shows",
                template.name
            )));
        }
        _ => {}
    }
    for (text, part, given) in [
        (body_text(template), "body", &message.body),
        (
            component_text(template, ComponentType::Header),
            "header",
            &message.header,
        ),
    ] {
        let vars = variables(text.as_deref().unwrap_or_default());
        if vars.len() != given.len() {
            return Err(BroadcastError::Invalid(format!(
                "the template's {part} has {} variable(s) ({}), {} value(s) were given",
                vars.len(),
                vars.iter()
                    .map(|v| format!("{{{{{v}}}}}"))
                    .collect::<Vec<_>>()
                    .join(", "),
                given.len()
            )));
        }
    }
    let takes = template_buttons(template)
        .filter(|b| button_takes_value(b))
        .count();
    if takes != message.buttons.len() {
        return Err(BroadcastError::Invalid(format!(
            "the template has {takes} button(s) that take a value, {} value(s) were given",
            message.buttons.len()
        )));
    }
    if !csv
        && message
            .sources()
            .any(|p| matches!(p, ParamSource::Column { .. }))
    {
        return Err(BroadcastError::Invalid(
            "values from a column need recipients from a CSV import".into(),
        ));
    }
    Ok(())
}

fn resolve(c: Candidate, message: &Message, authentication: bool) -> PlannedRecipient {
    let csv_name = c
        .fields
        .as_ref()
        .and_then(|f| f.get("name"))
        .filter(|n| !n.is_empty())
        .cloned();
    let name = csv_name.or_else(|| c.contact.as_ref().and_then(ContactRow::name));
    let value = |p: &ParamSource| -> Result<String, String> {
        let v = match p {
            ParamSource::Fixed { value } => value.clone(),
            ParamSource::Column { column } => c
                .fields
                .as_ref()
                .and_then(|f| f.get(&column.trim().to_lowercase()))
                .cloned()
                .unwrap_or_default(),
            ParamSource::ContactName => name.clone().unwrap_or_default(),
        };
        if v.trim().is_empty() {
            Err(match p {
                ParamSource::Column { column } => format!("the column {column:?} is empty"),
                ParamSource::ContactName => "no name is known for this contact".into(),
                ParamSource::Fixed { .. } => "a fixed value is empty".into(),
            })
        } else {
            Ok(v)
        }
    };
    let body: Result<Vec<String>, String> = message.body.iter().map(value).collect();
    let header: Result<Vec<String>, String> = message.header.iter().map(value).collect();
    // An authentication template's code button without a value (left empty, or an empty
    // cell) takes the recipient's body code when sent (`params_for`).
    let buttons: Result<Vec<String>, String> = message
        .buttons
        .iter()
        .map(|p| match value(p) {
            Err(_) if authentication => Ok(String::new()),
            v => v,
        })
        .collect();
    let contact = c.contact.as_ref();
    let skip_reason = if contact.is_some_and(|ct| ct.restricted) {
        Some("restricted (blocked or reported): not processed until unrestricted".to_string())
    } else if contact.is_some_and(|ct| ct.opted_out) {
        Some("opted out: asked to stop marketing messages".to_string())
    } else {
        body.as_ref()
            .err()
            .or(header.as_ref().err())
            .or(buttons.as_ref().err())
            .map(|e| format!("missing value: {e}"))
    };
    PlannedRecipient {
        contact_id: contact.map(|ct| ct.id),
        phone: c.phone,
        name,
        body: body.unwrap_or_default(),
        header: header.unwrap_or_default(),
        buttons: buttons.unwrap_or_default(),
        skip_reason,
        line: c.line,
    }
}

fn candidates(rows: Vec<ContactRow>) -> Vec<Candidate> {
    let mut seen = HashSet::new();
    rows.into_iter()
        .filter_map(|ct| {
            let phone = ct.address()?;
            seen.insert(phone.clone()).then_some(Candidate {
                contact: Some(ct),
                phone,
                fields: None,
                line: None,
            })
        })
        .collect()
}

async fn by_label(
    store: &Store,
    workspace_id: &str,
    phone_number_id: &str,
    label: &str,
) -> Result<Vec<Candidate>, BroadcastError> {
    let label = label.trim();
    if label.is_empty() {
        return Err(BroadcastError::Invalid("choose a label".into()));
    }
    let rows: Vec<ContactRow> = sqlx::query_as(&format!(
        "SELECT DISTINCT {CONTACT_COLUMNS}
         FROM conversation_labels l JOIN conversations c ON c.id = l.conversation_id
         JOIN contacts ct ON ct.id = c.contact_id
         WHERE c.workspace_id = ? AND c.phone_number_id = ? AND l.label = ? ORDER BY ct.id"
    ))
    .bind(workspace_id)
    .bind(phone_number_id)
    .bind(label)
    .fetch_all(store.pool())
    .await?;
    Ok(candidates(rows))
}

async fn by_ids(
    store: &Store,
    workspace_id: &str,
    ids: &[i64],
) -> Result<Vec<Candidate>, BroadcastError> {
    let mut rows = Vec::with_capacity(ids.len());
    for id in ids {
        let row: Option<ContactRow> = sqlx::query_as(&format!(
            "SELECT {CONTACT_COLUMNS} FROM contacts ct WHERE ct.id = ? AND ct.workspace_id = ?"
        ))
        .bind(id)
        .bind(workspace_id)
        .fetch_optional(store.pool())
        .await?;
        rows.push(row.ok_or_else(|| BroadcastError::NotFound(format!("no contact {id}")))?);
    }
    Ok(candidates(rows))
}

/// CSV rows matched to known contacts by number (so their opt-out and restriction apply).
async fn from_csv(
    store: &Store,
    workspace_id: &str,
    rows: Vec<csv::CsvRow>,
) -> Result<Vec<Candidate>, BroadcastError> {
    let contacts: Vec<ContactRow> = sqlx::query_as(&format!(
        "SELECT {CONTACT_COLUMNS} FROM contacts ct WHERE ct.workspace_id = ?
         ORDER BY ct.updated_at, ct.id"
    ))
    .bind(workspace_id)
    .fetch_all(store.pool())
    .await?;
    // wa_id first (exact), then the normalised number; the newest contact wins a tie.
    let mut by_phone: HashMap<String, ContactRow> = HashMap::new();
    for ct in &contacts {
        if let Some(p) = &ct.phone_normalized {
            by_phone.insert(p.clone(), ct.clone());
        }
    }
    for ct in contacts {
        if let Some(w) = ct.wa_id.clone() {
            by_phone.insert(w, ct);
        }
    }
    Ok(rows
        .into_iter()
        .map(|row| Candidate {
            contact: by_phone.get(&row.phone).cloned(),
            phone: row.phone,
            fields: Some(row.fields),
            line: Some(u32::try_from(row.line).unwrap_or(u32::MAX)),
        })
        .collect())
}
