//! The privacy screens: contacts (find, correct, restrict, export, erase), the retention
//! policy, the activity log, exporting everything and deleting the account.
//!
//! The operations themselves live in [`crate::privacy`] (the CLI calls them too); this module
//! scopes them to the signed-in workspace, names the actor for the activity log, picks where
//! exports go, and announces what changed so open views refresh.

use std::path::{Path, PathBuf};
use std::time::Duration;

use protocol::device_events::ContactFieldName;
use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::Row;
use tokio::sync::watch;

use super::views::{contact_of, ContactView, CONTACT_COLUMNS};
use super::{Device, DeviceError, DeviceEvent, SyncState};
use crate::privacy::export::{ExportProgress, ExportReport, ExportScope};
use crate::privacy::retention::{RetentionPolicy, RetentionReport};
use crate::privacy::{activity, contacts, erase, export, retention, PrivacyError};
use crate::store::StoreError;
use crate::vault::SecretStore;

/// Longest retention period accepted, in days (a hundred years: "forever" is `None`).
pub const MAX_RETENTION_DAYS: u32 = 36_500;

/// How often the background applies the retention policy. The policy counts in days, so four
/// runs a day keep data at most a quarter of a day past its limit while the app is open; a
/// run with nothing due costs a few indexed lookups (`messages_ts`,
/// `sync_raw_events_created`), so running more often would buy nothing, and once a day could
/// keep data almost two days past its limit.
pub const RETENTION_EVERY: Duration = Duration::from_secs(6 * 3600);

/// The background's first run after it starts: soon, because a desktop app is often closed
/// before a whole [`RETENTION_EVERY`] passes (waiting for it could mean never running), but not
/// at once, so the start-up catch-up and the first screens have the database first.
pub const RETENTION_FIRST_AFTER: Duration = Duration::from_secs(60);

/// When the background applies the retention policy ([`Device::set_retention_schedule`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetentionSchedule {
    /// From the start of the background to the first run.
    pub first_after: Duration,
    /// Between runs.
    pub every: Duration,
}

impl Default for RetentionSchedule {
    fn default() -> Self {
        Self {
            first_after: RETENTION_FIRST_AFTER,
            every: RETENTION_EVERY,
        }
    }
}

/// A keyset position in the contact list (sorted by name, then id), as the UI passes it back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ContactCursor {
    /// The row's sort key (its lower-cased name).
    pub key: String,
    /// The row's id.
    pub id: i64,
}

/// One contact, as the contacts screen lists and shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct ContactDetail {
    /// Name, number, restricted and opted-out, as the inbox shows them.
    pub contact: ContactView,
    /// The business's own name for them (`None`: the WhatsApp profile name shows).
    pub display_name: Option<String>,
    /// Their WhatsApp profile name.
    pub profile_name: Option<String>,
    /// Their most recent conversation, to open it.
    pub conversation_id: Option<i64>,
    /// When they last wrote (Unix seconds).
    pub last_seen_at: Option<i64>,
    /// Messages held with them, both directions.
    pub message_count: i64,
}

/// One page of contacts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ContactPage {
    pub items: Vec<ContactDetail>,
    /// Pass back for the next page; `None` at the end.
    pub next: Option<ContactCursor>,
}

/// A written export archive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct ExportResult {
    /// The archive's full path.
    pub path: String,
    pub contacts: u64,
    pub messages: u64,
    pub media_included: u64,
    /// Media files not included (the manifest inside says why).
    pub media_skipped: u64,
}

impl From<ExportReport> for ExportResult {
    fn from(r: ExportReport) -> Self {
        Self {
            path: r.path.display().to_string(),
            contacts: r.contacts,
            messages: r.messages,
            media_included: r.media_included.len() as u64,
            media_skipped: r.media_skipped.len() as u64,
        }
    }
}

/// What erasing a contact removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct EraseResult {
    pub messages: u64,
    pub conversations: u64,
    pub media_files: u64,
    /// Notes, labels, raw webhook parts, preference events…
    pub other_rows: u64,
}

impl From<erase::EraseReport> for EraseResult {
    fn from(r: erase::EraseReport) -> Self {
        Self {
            messages: r.messages,
            conversations: r.conversations,
            media_files: r.media_files,
            other_rows: r.other_rows,
        }
    }
}

/// How long data is kept, in days; `None` keeps it forever.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct RetentionSettings {
    pub messages_days: Option<u32>,
    pub media_days: Option<u32>,
    pub raw_events_days: Option<u32>,
}

impl From<RetentionPolicy> for RetentionSettings {
    fn from(p: RetentionPolicy) -> Self {
        Self {
            messages_days: p.messages_days,
            media_days: p.media_days,
            raw_events_days: p.raw_events_days,
        }
    }
}

/// What applying the retention policy deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct RetentionResult {
    pub messages: u64,
    pub media: u64,
    pub media_files: u64,
    pub raw_events: u64,
}

impl From<RetentionReport> for RetentionResult {
    fn from(r: RetentionReport) -> Self {
        Self {
            messages: r.messages,
            media: r.media,
            media_files: r.media_files,
            raw_events: r.raw_events,
        }
    }
}

/// One entry of the activity log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct ActivityView {
    pub id: i64,
    /// Unix seconds.
    pub ts: i64,
    /// Who: `Name <email>`, `retention`, `system`…
    pub actor: String,
    /// What, e.g. `privacy.erase_contact`.
    pub action: String,
    /// On what, e.g. `contact:42`.
    pub subject: Option<String>,
    /// Counts and ids (JSON text; never message content).
    pub details: String,
}

/// One page of the activity log, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ActivityPageView {
    pub items: Vec<ActivityView>,
    /// Pass back as `before` for older entries; `None` at the end.
    pub next: Option<i64>,
}

/// The activity log's integrity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct ActivityIntegrity {
    /// Every entry's hash and link check out.
    pub intact: bool,
    /// The first entry that does not, when broken.
    pub broken_at: Option<i64>,
    /// Entries checked.
    pub entries: i64,
}

/// What deleting the account removed on this device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct AccountDeleted {
    /// Files and folders removed from the data directory.
    pub removed: Vec<String>,
    /// The master key's keyring entry was deleted.
    pub keyring_entry_deleted: bool,
}

/// Maps the privacy operations' errors to what the UI switches on.
fn privacy_error(e: PrivacyError) -> DeviceError {
    match e {
        PrivacyError::ContactNotFound(_) => DeviceError::NotFound("no such contact".into()),
        PrivacyError::Invalid(m) => DeviceError::InvalidInput(m),
        PrivacyError::Store(e) => DeviceError::Store(e),
        PrivacyError::Vault(e) => DeviceError::Vault(e),
        other => DeviceError::Internal(other.to_string()),
    }
}

/// `text` as a LIKE pattern matching it anywhere (`\` escapes).
fn like_anywhere(text: &str) -> String {
    let escaped = text
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}

/// The contact list's sort key: the name the inbox shows, lower-cased (SQLite's `lower` folds
/// ASCII only, which is enough for a stable order).
const SORT_KEY: &str = "lower(coalesce(nullif(trim(ct.display_name), ''),
    nullif(trim(ct.profile_name), ''), ct.phone_normalized, ct.wa_id, ct.user_id, ''))";

/// What the list shows of a contact's conversations, summed over them.
#[derive(Debug, Default, Clone, Copy)]
struct Figures {
    /// The most recent conversation: (last_message_at, id).
    latest: Option<(i64, i64)>,
    last_seen_at: Option<i64>,
    messages: i64,
}

/// The conversations' figures of `contacts`, in one query over just those contacts (a page):
/// the figures are not in the contact query itself, where SQLite would compute them for every
/// row it sorts, not only the page's (3 s a page at 10,000 contacts, measured).
async fn figures_of(
    store: &crate::store::Store,
    contacts: &[i64],
) -> Result<std::collections::HashMap<i64, Figures>, StoreError> {
    let mut out = std::collections::HashMap::new();
    if contacts.is_empty() {
        return Ok(out);
    }
    let marks = vec!["?"; contacts.len()].join(", ");
    let sql = format!(
        "SELECT c.contact_id, c.id, c.last_message_at, c.last_inbound_at,
                (SELECT count(*) FROM messages m WHERE m.conversation_id = c.id) AS messages
         FROM conversations c WHERE c.contact_id IN ({marks})"
    );
    let mut query = sqlx::query_as::<_, (i64, i64, i64, Option<i64>, i64)>(&sql);
    for id in contacts {
        query = query.bind(id);
    }
    for (contact, id, last_message_at, last_inbound_at, messages) in
        query.fetch_all(store.pool()).await?
    {
        let a: &mut Figures = out.entry(contact).or_default();
        a.latest = a.latest.max(Some((last_message_at, id)));
        a.last_seen_at = a.last_seen_at.max(last_inbound_at);
        a.messages += messages;
    }
    Ok(out)
}

/// Rows of `SELECT {CONTACT_COLUMNS} …` as details, with their conversations' figures.
async fn details_of(
    store: &crate::store::Store,
    rows: &[sqlx::sqlite::SqliteRow],
) -> Result<Vec<ContactDetail>, StoreError> {
    let mut details = Vec::with_capacity(rows.len());
    for row in rows {
        details.push(ContactDetail {
            contact: contact_of(row)?,
            display_name: row.try_get("display_name")?,
            profile_name: row.try_get("profile_name")?,
            conversation_id: None,
            last_seen_at: None,
            message_count: 0,
        });
    }
    let ids: Vec<i64> = details.iter().map(|d| d.contact.id).collect();
    let figures = figures_of(store, &ids).await?;
    for d in &mut details {
        let a = figures.get(&d.contact.id).copied().unwrap_or_default();
        d.conversation_id = a.latest.map(|(_, id)| id);
        d.last_seen_at = a.last_seen_at;
        d.message_count = a.messages;
    }
    Ok(details)
}

/// A file name for an export of `subject` made on `date`: no path separators, no characters
/// Windows refuses, no control characters, bounded length.
fn export_file_name(subject: &str, date: &str) -> String {
    let clean: String = subject
        .chars()
        .map(|c| {
            if c.is_control() || matches!(c, '/' | '\\' | ':' | '*' | '?' | '"' | '<' | '>' | '|') {
                ' '
            } else {
                c
            }
        })
        .collect();
    // Words of dots only (`..`) are dropped: harmless after the prefix, but confusing.
    let clean = clean
        .split_whitespace()
        .filter(|w| !w.chars().all(|c| c == '.'))
        .collect::<Vec<_>>()
        .join(" ");
    let clean: String = if clean.is_empty() {
        "contact".into()
    } else {
        clean.chars().take(80).collect()
    };
    format!("DataOptix export – {clean} – {date}")
}

/// `<dir>/<stem>.zip`, or `<stem> (2).zip`, `(3)`… when taken: an export never overwrites one.
fn unique_path(dir: &Path, stem: &str) -> PathBuf {
    let mut n = 1;
    loop {
        let name = if n == 1 {
            format!("{stem}.zip")
        } else {
            format!("{stem} ({n}).zip")
        };
        let partial = dir.join(format!("{name}.partial"));
        let path = dir.join(name);
        // A `.partial` is an export still being written under that name.
        if !path.exists() && !partial.exists() {
            return path;
        }
        n += 1;
    }
}

fn today() -> String {
    let d = time::OffsetDateTime::now_utc().date();
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

fn check_days(what: &str, days: Option<u32>) -> Result<(), DeviceError> {
    match days {
        Some(0) => Err(DeviceError::InvalidInput(format!(
            "{what}: keep data at least one day, or leave it empty to keep it forever"
        ))),
        Some(d) if d > MAX_RETENTION_DAYS => Err(DeviceError::InvalidInput(format!(
            "{what}: at most {MAX_RETENTION_DAYS} days"
        ))),
        _ => Ok(()),
    }
}

/// Contacts.
impl Device {
    /// One page of the workspace's contacts by name; `query` matches the name or the number.
    pub async fn contacts(
        &self,
        query: &str,
        after: Option<ContactCursor>,
        limit: u32,
    ) -> Result<ContactPage, DeviceError> {
        let workspace = self.workspace_id().await?;
        let limit = i64::from(limit.clamp(1, 500));
        let query = query.trim();
        let digits: String = query.chars().filter(char::is_ascii_digit).collect();
        let name_like = like_anywhere(&query.to_lowercase());
        // Only a query of digits (and `+`, spaces, dashes…) searches numbers: "Ana 2" must not
        // match every number with a 2, and an empty pattern would match them all.
        let number_like = if digits.is_empty() || query.chars().any(char::is_alphabetic) {
            None
        } else {
            Some(like_anywhere(&digits))
        };
        let (key, id) = after.map_or((String::new(), i64::MIN), |c| (c.key, c.id));
        let sql = format!(
            "SELECT {CONTACT_COLUMNS}, {SORT_KEY} AS sort_key FROM contacts AS ct
             WHERE ct.workspace_id = ?
               AND (? = '' OR lower(coalesce(ct.display_name, '')) LIKE ? ESCAPE '\\'
                    OR lower(coalesce(ct.profile_name, '')) LIKE ? ESCAPE '\\'
                    OR ct.wa_id LIKE ? ESCAPE '\\' OR ct.phone_normalized LIKE ? ESCAPE '\\')
               AND ({SORT_KEY}, ct.id) > (?, ?)
             ORDER BY sort_key, ct.id LIMIT ?"
        );
        let mut rows = sqlx::query(&sql)
            .bind(&workspace)
            .bind(query)
            .bind(&name_like)
            .bind(&name_like)
            .bind(&number_like)
            .bind(&number_like)
            .bind(&key)
            .bind(id)
            .bind(limit + 1)
            .fetch_all(self.store().pool())
            .await
            .map_err(StoreError::from)?;
        let more = rows.len() as i64 > limit;
        rows.truncate(limit as usize);
        let next = match (more, rows.last()) {
            (true, Some(last)) => Some(ContactCursor {
                key: last.try_get("sort_key").map_err(StoreError::from)?,
                id: last.try_get("contact_id").map_err(StoreError::from)?,
            }),
            _ => None,
        };
        let items = details_of(self.store(), &rows).await?;
        Ok(ContactPage { items, next })
    }

    /// One contact of the signed-in workspace.
    pub async fn contact(&self, id: i64) -> Result<ContactDetail, DeviceError> {
        let workspace = self.workspace_id().await?;
        let sql = format!(
            "SELECT {CONTACT_COLUMNS} FROM contacts AS ct WHERE ct.id = ? AND ct.workspace_id = ?"
        );
        let row = sqlx::query(&sql)
            .bind(id)
            .bind(&workspace)
            .fetch_optional(self.store().pool())
            .await
            .map_err(StoreError::from)?
            .ok_or_else(|| DeviceError::NotFound("no such contact".into()))?;
        details_of(self.store(), &[row])
            .await?
            .pop()
            .ok_or_else(|| DeviceError::NotFound("no such contact".into()))
    }

    /// Sets the business's name for a contact (`None` or blank: the WhatsApp profile name
    /// shows again); logged in the activity log without the names.
    pub async fn rename_contact(
        &self,
        id: i64,
        display_name: Option<&str>,
    ) -> Result<ContactDetail, DeviceError> {
        self.contact(id).await?;
        let name = display_name.map(str::trim).filter(|n| !n.is_empty());
        contacts::correct_display_name(self.store(), &self.actor().await?, id, name)
            .await
            .map_err(privacy_error)?;
        // The team's other devices show the corrected name too.
        self.session()
            .await?
            .team
            .publish_contact_field(id, ContactFieldName::DisplayName, json!(name))
            .await?;
        self.contact_changed(id).await
    }

    /// Restricts (no sends, no broadcasts) or unrestricts a contact; logged.
    pub async fn set_contact_restricted(
        &self,
        id: i64,
        restricted: bool,
    ) -> Result<ContactDetail, DeviceError> {
        self.contact(id).await?;
        contacts::set_restricted(self.store(), &self.actor().await?, id, restricted)
            .await
            .map_err(privacy_error)?;
        // A restriction holds on every device of the team, or another could still send.
        self.session()
            .await?
            .team
            .publish_contact_field(id, ContactFieldName::Restricted, json!(restricted))
            .await?;
        self.contact_changed(id).await
    }

    /// The contact after a change, with the inbox told (its rows show name and restriction).
    async fn contact_changed(&self, id: i64) -> Result<ContactDetail, DeviceError> {
        let detail = self.contact(id).await?;
        self.emit(DeviceEvent::InboxChanged {
            conversation_ids: detail.conversation_id.into_iter().collect(),
        });
        Ok(detail)
    }

    /// Exports everything held about one contact as a zip in `dest_dir` (created if missing),
    /// under a new dated name; progress goes out as [`DeviceEvent::ExportProgress`].
    pub async fn export_contact(
        &self,
        id: i64,
        dest_dir: &Path,
    ) -> Result<ExportResult, DeviceError> {
        let detail = self.contact(id).await?;
        self.export_to(ExportScope::Contact(id), &detail.contact.name, dest_dir)
            .await
    }

    /// Exports every contact of the workspace as one zip in `dest_dir`.
    /// Owners and admins only: it is every customer's data at once.
    pub async fn export_everything(&self, dest_dir: &Path) -> Result<ExportResult, DeviceError> {
        let session = self.require_manager().await?;
        let scope = ExportScope::Workspace(session.account.workspace_id.clone());
        self.export_to(scope, &session.account.company, dest_dir)
            .await
    }

    async fn export_to(
        &self,
        scope: ExportScope,
        subject: &str,
        dest_dir: &Path,
    ) -> Result<ExportResult, DeviceError> {
        let actor = self.actor().await?;
        std::fs::create_dir_all(dest_dir).map_err(|e| {
            DeviceError::InvalidInput(format!(
                "cannot create the folder {}: {e}",
                dest_dir.display()
            ))
        })?;
        let dest = unique_path(dest_dir, &export_file_name(subject, &today()));
        let media = export::MediaFiles::of(self.vault())?;
        let report = export::export(
            self.store(),
            &media,
            &actor,
            &scope,
            &dest,
            |p: ExportProgress| {
                self.emit(DeviceEvent::ExportProgress(p));
            },
        )
        .await
        .map_err(privacy_error)?;
        Ok(report.into())
    }

    /// Erases a contact and everything about them on this device (rows, search index, media
    /// files, free pages); logged with counts only. Open views are told to refresh. Owners and
    /// admins only: the erasure reaches every device of the team and cannot be undone.
    pub async fn erase_contact(&self, id: i64) -> Result<EraseResult, DeviceError> {
        self.require_manager().await?;
        self.contact(id).await?;
        let actor = self.actor().await?;
        let contact = {
            let mut conn = self
                .store()
                .pool()
                .acquire()
                .await
                .map_err(StoreError::from)?;
            crate::team::contact_ref(&mut conn, id).await?
        };
        let at = crate::team::now_ms();
        let outcome = erase::erase_contact_at(self.store(), self.data_dir(), &actor, id, at).await;
        // Rows may be gone even when reclaiming the space failed: refresh in any case.
        self.emit(DeviceEvent::InboxChanged {
            conversation_ids: Vec::new(),
        });
        let erased = match outcome {
            Ok(report) => Ok(report),
            Err(PrivacyError::ReclaimFailed(e)) => Err(PrivacyError::ReclaimFailed(e)),
            // Nothing was erased here: nothing to tell the others.
            Err(e) => return Err(privacy_error(e)),
        };
        // The rows are gone here: every other device of the team erases them too.
        self.session()
            .await?
            .team
            .publish_contact_erased(contact, at)
            .await?;
        Ok(erased.map_err(privacy_error)?.into())
    }
}

impl Device {
    /// Removes the files of contacts another device erased (their rows went with the sync
    /// page that brought the erasure) and reclaims the freed space. Failures are logged: the
    /// work stays noted and the next call retries it.
    pub(crate) async fn finish_erasures(&self) {
        match erase::finish_erasures(self.store(), self.data_dir()).await {
            Ok(0) => {}
            Ok(files) => tracing::info!(files, "privacy: files of erased contacts removed"),
            Err(e) => {
                tracing::warn!(error = %e, "privacy: finishing an erasure failed; retried later")
            }
        }
    }
}

/// Retention and the activity log.
impl Device {
    /// The retention policy (all `None`: everything is kept).
    pub async fn retention(&self) -> Result<RetentionSettings, DeviceError> {
        Ok(retention::policy(self.store())
            .await
            .map_err(privacy_error)?
            .into())
    }

    /// Sets the retention policy (each limit at least one day); logged. Owners and admins
    /// only, as applying it: it deletes the team's history.
    pub async fn set_retention(
        &self,
        settings: RetentionSettings,
    ) -> Result<RetentionSettings, DeviceError> {
        self.require_manager().await?;
        check_days("messages", settings.messages_days)?;
        check_days("media", settings.media_days)?;
        check_days("raw webhook events", settings.raw_events_days)?;
        let policy = RetentionPolicy {
            messages_days: settings.messages_days,
            media_days: settings.media_days,
            raw_events_days: settings.raw_events_days,
        };
        // The workspace's policy, stored here and published in one transaction: every device
        // of the team keeps its history by it.
        self.session()
            .await?
            .team
            .publish_retention_policy(&policy)
            .await?;
        let details = serde_json::to_value(policy).unwrap_or_default();
        crate::privacy::activity::record(
            self.store(),
            &self.actor().await?,
            "privacy.retention_policy",
            None,
            &details,
        )
        .await
        .map_err(privacy_error)?;
        Ok(settings)
    }

    /// Applies the retention policy now: what the background's timer does, logged under the
    /// signed-in member's name instead of [`retention::SCHEDULED_ACTOR`]. Waits for a run of
    /// the timer in progress to finish first.
    pub async fn apply_retention(&self) -> Result<RetentionResult, DeviceError> {
        // Signed in, as an owner or admin: retention deletes.
        self.require_manager().await?;
        let actor = self.actor().await?;
        Ok(self.run_retention(&actor).await?.into())
    }

    /// Sets when the background applies the retention policy: from the next
    /// [`Device::start_background`] on (a running schedule keeps its timing). The app keeps the
    /// default ([`RETENTION_FIRST_AFTER`], then every [`RETENTION_EVERY`]); tests shorten it.
    pub fn set_retention_schedule(&self, schedule: RetentionSchedule) {
        *self
            .inner
            .retention_schedule
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = schedule;
    }

    /// One run of the policy as `actor`, never two at once; tells open views when messages or
    /// media went.
    async fn run_retention(&self, actor: &str) -> Result<RetentionReport, DeviceError> {
        let _running = self.inner.retention_running.lock().await;
        let report = retention::apply(self.store(), self.data_dir(), super::now(), actor)
            .await
            .map_err(privacy_error)?;
        if report.messages + report.media > 0 {
            self.emit(DeviceEvent::InboxChanged {
                conversation_ids: Vec::new(),
            });
        }
        Ok(report)
    }

    /// The background's retention timer: a run [`RetentionSchedule::first_after`] the start,
    /// then every [`RetentionSchedule::every`], until `stopped` (sign-out, stop). Without a
    /// policy a run deletes and logs nothing. A failed run is logged and retried at the next
    /// tick.
    pub(super) async fn retention_loop(&self, mut stopped: watch::Receiver<bool>) {
        let schedule = *self
            .inner
            .retention_schedule
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut wait = schedule.first_after;
        loop {
            tokio::select! {
                _ = stopped.changed() => return,
                _ = tokio::time::sleep(wait) => {}
            }
            // Never back to back: a zero interval would spin.
            wait = schedule.every.max(Duration::from_millis(10));
            // A run is not cut short by `stopped`: its batches commit one by one and its log
            // entry comes last, so a run dropped halfway would have deleted data unlogged.
            match self.run_retention(retention::SCHEDULED_ACTOR).await {
                Ok(report) if report != RetentionReport::default() => tracing::info!(
                    messages = report.messages,
                    media = report.media,
                    raw_events = report.raw_events,
                    "retention: old data deleted"
                ),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "retention: the scheduled run failed"),
            }
        }
    }

    /// Entries older than `before` (newest first when `None`).
    pub async fn activity(
        &self,
        before: Option<i64>,
        limit: u32,
    ) -> Result<ActivityPageView, DeviceError> {
        let page = activity::list(self.store(), before, limit.clamp(1, 500)).await?;
        Ok(ActivityPageView {
            items: page
                .items
                .into_iter()
                .map(|e| ActivityView {
                    id: e.id,
                    ts: e.ts,
                    actor: e.actor,
                    action: e.action,
                    subject: e.subject,
                    details: e.details_json,
                })
                .collect(),
            next: page.next,
        })
    }

    /// Checks the activity log's hash chain from its first entry.
    pub async fn verify_activity(&self) -> Result<ActivityIntegrity, DeviceError> {
        let entries: i64 = sqlx::query_scalar("SELECT count(*) FROM activity_log")
            .fetch_one(self.store().pool())
            .await
            .map_err(StoreError::from)?;
        match activity::verify(self.store()).await {
            Ok(()) => Ok(ActivityIntegrity {
                intact: true,
                broken_at: None,
                entries,
            }),
            Err(activity::VerifyError::Broken(at)) => Ok(ActivityIntegrity {
                intact: false,
                broken_at: Some(at.id),
                entries,
            }),
            Err(activity::VerifyError::Store(e)) => Err(e.into()),
        }
    }
}

/// Deleting the account.
impl Device {
    /// Deletes the workspace at the relay (owner only), then everything of the app on this
    /// device: database, media, vault records and metadata, the keyring entry in `secrets`.
    /// `confirmation` must be the company's name or the owner's email, as typed on the screen.
    ///
    /// Nothing local is touched unless the relay confirmed the deletion (otherwise the account
    /// would live on with no device holding its key). Afterwards this handle is spent: the
    /// caller opens a new [`Device`] (a first run).
    pub async fn delete_account(
        &self,
        confirmation: &str,
        secrets: &dyn SecretStore,
    ) -> Result<AccountDeleted, DeviceError> {
        let session = self.session().await?;
        let typed = confirmation.trim().to_lowercase();
        let account = &session.account;
        if typed.is_empty()
            || (typed != account.company.trim().to_lowercase()
                && typed != account.email.trim().to_lowercase())
        {
            return Err(DeviceError::InvalidInput(
                "type the company's name or your email exactly to confirm".into(),
            ));
        }
        session
            .client
            .delete_account()
            .await
            .map_err(|e| DeviceError::from_sync(e, &account.relay_url))?;
        self.erase_this_device(secrets).await
    }

    /// Erases this device's copy of a workspace its owner deleted at the relay (the sync
    /// stopped with [`SyncState::WorkspaceDeleted`]): the same as the owner's own device did
    /// when it deleted the account. Refused in any other state. Afterwards this handle is
    /// spent, as after [`Self::delete_account`].
    pub async fn erase_deleted_workspace(
        &self,
        secrets: &dyn SecretStore,
    ) -> Result<AccountDeleted, DeviceError> {
        // Checked and left in one step, so that two calls cannot both erase.
        if !self.leave_sync_state(&SyncState::WorkspaceDeleted, SyncState::SignedOut) {
            return Err(DeviceError::InvalidInput(
                "only a device whose workspace was deleted by its owner can be erased this way"
                    .into(),
            ));
        }
        self.erase_this_device(secrets).await
    }

    async fn erase_this_device(
        &self,
        secrets: &dyn SecretStore,
    ) -> Result<AccountDeleted, DeviceError> {
        self.stop_background().await;
        // Noted first: should the erasure stop halfway, the next start still knows the
        // workspace is gone (nothing starts, erasing is offered again).
        if let Ok(workspace) = self.workspace_id().await {
            self.remember_workspace_deleted(&workspace).await;
        }
        *self.inner.session.write().await = None;
        let erased = erase::erase_data_dir(self.store().clone(), self.data_dir(), secrets).await;
        let report = match erased {
            Ok(report) => {
                self.set_sync_state(SyncState::SignedOut);
                report
            }
            Err(e) => {
                // The workspace is gone at the relay either way: this state keeps the way to
                // finish the erasure open ([`Self::erase_deleted_workspace`], the banner).
                self.set_sync_state(SyncState::WorkspaceDeleted);
                return Err(DeviceError::Internal(format!(
                    "the account was deleted at the server, but erasing this device's data \
                     failed: {e}"
                )));
            }
        };
        Ok(AccountDeleted {
            removed: report.removed,
            keyring_entry_deleted: report.keyring_entry_deleted,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn export_names_are_plain_file_names() {
        assert_eq!(
            export_file_name("Ana Souza", "2026-11-25"),
            "DataOptix export – Ana Souza – 2026-11-25"
        );
        assert_eq!(
            export_file_name("../../etc/passwd", "2026-11-25"),
            "DataOptix export – etc passwd – 2026-11-25"
        );
        assert_eq!(
            export_file_name("a\u{0}b:c*\n", "d"),
            "DataOptix export – a b c – d"
        );
        assert_eq!(
            export_file_name("..", "d"),
            "DataOptix export – contact – d"
        );
        assert_eq!(
            export_file_name(&"x".repeat(500), "d").chars().count(),
            "DataOptix export –  – d".chars().count() + 80
        );
    }

    #[test]
    fn exports_never_overwrite() {
        let dir = tempfile::tempdir().expect("tempdir");
        let first = unique_path(dir.path(), "e");
        assert_eq!(first, dir.path().join("e.zip"));
        std::fs::write(&first, b"x").expect("write");
        assert_eq!(unique_path(dir.path(), "e"), dir.path().join("e (2).zip"));
    }

    #[test]
    fn retention_days_are_bounded() {
        assert!(check_days("m", None).is_ok());
        assert!(check_days("m", Some(1)).is_ok());
        assert!(check_days("m", Some(0)).is_err());
        assert!(check_days("m", Some(MAX_RETENTION_DAYS + 1)).is_err());
    }

    #[test]
    fn like_patterns_escape_wildcards() {
        assert_eq!(like_anywhere("50%_a\\"), "%50\\%\\_a\\\\%");
    }
}
