//! Applies a page of relay events to the store in one transaction.

use cloud_api::webhook::{
    ChangeValue, Contact, Entry, InteractiveReply, Lenient, Message, MessageContent, Metadata,
    Status,
};
use protocol::events::{Event, EventKind, EventPage};
use protocol::WorkspaceSecretKey;
use std::collections::HashSet;

use serde_json::Value;
use sqlx::SqliteConnection;

use crate::privacy::tombstones::{secs_to_ms, Tombstones};
use crate::store::{
    apply_reactions_in, apply_revisions_in, apply_statuses_in, insert_messages_in,
    set_sync_cursor_in, Direction, MessageStatus, NewMessage, Origin, ReactionUpdate, Revision,
    StatusUpdate, Store, StoreError,
};

use super::peers::Peers;
use super::{SyncError, CURSOR_STREAM};

/// What applying one page did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct PageReport {
    /// Events in the page.
    pub events: usize,
    /// Messages stored for the first time (inbound, echoes, unsupported).
    pub messages_inserted: usize,
    /// Messages already stored (redelivery), left untouched.
    pub messages_duplicate: usize,
    /// Status events recorded for the first time.
    pub statuses_recorded: usize,
    /// Reactions (and removals) applied.
    pub reactions: usize,
    /// Edits and deletions applied.
    pub revisions: usize,
    /// Parts kept raw in `sync_raw_events` (unopenable, not JSON, not applied yet, unknown).
    pub kept_raw: usize,
    /// Device events (team inbox) applied.
    pub device_events: usize,
    /// Template, phone-number, account and preference updates applied
    /// (`super::apply_account`).
    pub account_updates: usize,
    /// Of those, template status, quality and category updates (the studio refreshes).
    pub template_updates: usize,
    /// Media downloads queued (one per new media message, [`crate::media`]).
    pub media_queued: usize,
    /// Media rows updated by the relay's `media_status` events.
    pub media_statuses: usize,
    /// Contacts erased by another device's `contact_erased` event; their files and freed
    /// pages are reclaimed after the commit ([`crate::privacy::erase::finish_erasures`]).
    pub contacts_erased: usize,
    /// Messages, statuses, reactions, edits, preferences and device events about a customer
    /// erased here, dated at or before their erasure: not applied (`privacy::tombstones`).
    pub about_erased: usize,
    /// The cursor committed with the page (the relay's `next_after`).
    pub cursor: i64,
}

/// Everything typed out of a page, before it is written.
#[derive(Default)]
struct Batch {
    /// The page's messages, each with its [`Peers`] ticket (their conversation ids are set
    /// once the peers are resolved).
    messages: Vec<(NewMessage, usize)>,
    statuses: Vec<StatusUpdate>,
    reactions: Vec<ReactionUpdate>,
    revisions: Vec<Revision>,
    raw: Vec<RawPart>,
    /// Media downloads to queue once their messages are inserted.
    media: Vec<crate::media::queue::MediaInput>,
    /// The relay's `media_status` events, applied after the media rows exist.
    media_statuses: Vec<protocol::media::MediaStatus>,
    /// Device events applied (through [`crate::team::apply_device_event`]).
    device_events: usize,
    /// Contact erasures from other devices, applied after everything else of the page.
    erasures: Vec<protocol::device_events::ContactErased>,
    account_updates: usize,
    template_updates: usize,
    /// The event being collected, and how many parts of it were kept raw so far: parts are
    /// numbered in a fixed order, so a redelivered event maps to the same keys.
    event_id: String,
    seq: i64,
    parts: i64,
    /// The contacts and conversations of the page's messages.
    peers: Peers,
    /// Business numbers already upserted in this page, as (phone_number_id, waba_id, display).
    phones: HashSet<(String, String, String)>,
    /// The customers erased here, including by this page's erasures so far (whose rows go at
    /// the page's end, after everything else of it).
    tombstones: Tombstones,
    /// What the tombstones kept out so far.
    about_erased: usize,
    /// The wamids that statuses, reactions and edits naming a customer erased here are about
    /// ([`keep_what_names_the_erased`]).
    about_erased_wamids: HashSet<String>,
}

impl Batch {
    /// Before a write made elsewhere (device events, account updates): what the page asked
    /// of contacts so far is written first, in page order, and nothing cached survives it.
    async fn settle(
        &mut self,
        conn: &mut SqliteConnection,
        workspace_id: &str,
    ) -> Result<(), StoreError> {
        self.peers.resolve(conn, workspace_id).await?;
        self.phones.clear();
        Ok(())
    }

    /// The page's messages with their conversations, once every peer is resolved.
    fn resolved_messages(&mut self) -> Result<Vec<NewMessage>, StoreError> {
        std::mem::take(&mut self.messages)
            .into_iter()
            .map(|(mut m, ticket)| {
                m.conversation_id = self.peers.conversation(ticket).ok_or_else(|| {
                    StoreError::Invalid(format!("message {} has no conversation", m.wamid))
                })?;
                Ok(m)
            })
            .collect()
    }

    fn start(&mut self, event: &OpenedEvent) {
        self.event_id.clone_from(&event.id);
        self.seq = event.seq;
        self.parts = 0;
    }

    fn keep(&mut self, reason: &'static str, kind: &str, payload: String) {
        // A part naming a customer erased here, from before their erasure, is not kept either.
        if !self.tombstones.is_empty()
            && serde_json::from_str::<Value>(&payload)
                .is_ok_and(|part| self.tombstones.buries_part(&part))
        {
            self.about_erased += 1;
            return;
        }
        self.raw.push(RawPart {
            event_id: self.event_id.clone(),
            part: self.parts,
            seq: self.seq,
            reason,
            kind: kind.to_string(),
            payload,
        });
        self.parts += 1;
    }
}

struct RawPart {
    event_id: String,
    part: i64,
    seq: i64,
    reason: &'static str,
    kind: String,
    payload: String,
}

/// Opens, parses and applies every event of `page`, and sets the sync cursor to
/// `page.next_after`, all in ONE transaction. Nothing is acknowledged here: the caller acks the
/// relay only after this returned (i.e. after the commit).
///
/// A bad event never fails the page: an envelope that does not open, a plaintext that is not
/// JSON, and webhook parts nothing applies yet are kept in `sync_raw_events` (keyed by event id,
/// so redelivery stores them once) and the cursor moves on. Only a database error fails the
/// page, and then nothing of it is written and the cursor stays.
pub async fn apply_page(
    store: &Store,
    key: &WorkspaceSecretKey,
    workspace_id: &str,
    page: &EventPage,
) -> Result<PageReport, SyncError> {
    apply_page_with(store, key, workspace_id, page, None).await
}

/// [`apply_page`] with the vault that receives the business tokens of `number_connected`
/// device events. Without a vault such events are kept raw (sealed) instead of applied.
pub async fn apply_page_with(
    store: &Store,
    key: &WorkspaceSecretKey,
    workspace_id: &str,
    page: &EventPage,
    vault: Option<&crate::vault::Vault>,
) -> Result<PageReport, SyncError> {
    apply_opened(store, workspace_id, open_page(key, page), vault).await
}

/// A page whose events were opened and parsed ([`open_page`]), ready to be written by
/// [`apply_opened`]. Opening touches no database, so a catch-up opens the next page on another
/// thread while this one is written (`Syncer`'s catch-up does).
pub struct OpenedPage {
    events: Vec<OpenedEvent>,
    next_after: i64,
    /// How long opening took (logged with the page's other phases).
    took: std::time::Duration,
}

impl OpenedPage {
    /// Events in the page.
    pub fn len(&self) -> usize {
        self.events.len()
    }

    /// Whether the page has no events.
    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    /// The relay's `next_after`: the cursor committed with this page, and where the log goes on.
    pub fn next_after(&self) -> i64 {
        self.next_after
    }
}

struct OpenedEvent {
    id: String,
    seq: i64,
    /// When the relay stored it, Unix ms.
    created_ms: i64,
    body: Opened,
}

/// An event's plaintext, as far as it can be typed without the store.
enum Opened {
    /// Kept in `sync_raw_events` as it is: it does not open, or is not JSON.
    Kept {
        reason: &'static str,
        kind: &'static str,
        payload: String,
    },
    /// The relay's `media_status` event (raw when it does not parse).
    MediaStatus(Result<protocol::media::MediaStatus, Value>),
    /// A device event (team inbox), with its envelope: what cannot be applied is kept sealed.
    Device {
        entry: Value,
        sealed: String,
        /// Appended by an owner's or admin's session (the relay's mark, not the content's).
        manager: bool,
    },
    /// One Meta webhook `entry`.
    Entry(Lenient<Entry>),
}

/// Opens every event of `page` with the workspace key and types its JSON: the CPU half of
/// [`apply_page`] (decryption, JSON and the lossless webhook model), no database involved.
pub fn open_page(key: &WorkspaceSecretKey, page: &EventPage) -> OpenedPage {
    let started = std::time::Instant::now();
    // The relay seals webhooks under data keys it rotates rarely: the opener pays the X25519
    // operation once per data key in the page instead of once per event.
    let opener = protocol::sealed::Opener::new(key.clone());
    let events = page
        .events
        .iter()
        .map(|event| OpenedEvent {
            id: event.id.to_string(),
            seq: event.seq,
            created_ms: i64::try_from(event.created_at.unix_timestamp_nanos() / 1_000_000)
                .unwrap_or(i64::MAX),
            body: open_event(&opener, event),
        })
        .collect();
    OpenedPage {
        events,
        next_after: page.next_after,
        took: started.elapsed(),
    }
}

fn open_event(opener: &protocol::sealed::Opener, event: &Event) -> Opened {
    let plaintext =
        match protocol::sealed::from_base64(&event.sealed).and_then(|bytes| opener.open(&bytes)) {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(seq = event.seq, error = %e, "sync: an event does not open; kept");
                return Opened::Kept {
                    reason: "unopenable",
                    kind: event.kind.as_str(),
                    payload: event.sealed.clone(),
                };
            }
        };
    let entry: Value = match serde_json::from_slice(&plaintext) {
        Ok(v) => v,
        Err(_) => {
            tracing::warn!(seq = event.seq, "sync: an event is not JSON; kept");
            return Opened::Kept {
                reason: "not_json",
                kind: event.kind.as_str(),
                payload: protocol::sealed::to_base64(&plaintext),
            };
        }
    };
    match event.kind {
        EventKind::MediaStatus => Opened::MediaStatus(
            serde_json::from_value::<protocol::media::MediaStatus>(entry.clone())
                .map_err(|_| entry),
        ),
        EventKind::Device | EventKind::DeviceManager => Opened::Device {
            entry,
            sealed: event.sealed.clone(),
            manager: event.kind == EventKind::DeviceManager,
        },
        // The relay seals one webhook `entry` per event: typed as `WebhookPayload` types each
        // of its entries, without first copying it into a payload around it.
        _ => Opened::Entry(Lenient::<Entry>::from_value(entry)),
    }
}

/// Writes an [`OpenedPage`] (see [`apply_page`]): everything in ONE transaction with the cursor.
pub async fn apply_opened(
    store: &Store,
    workspace_id: &str,
    page: OpenedPage,
    vault: Option<&crate::vault::Vault>,
) -> Result<PageReport, SyncError> {
    // Phase times, logged at debug level: where a slow catch-up spends its time.
    let started = std::time::Instant::now();
    let mut tx = store.begin_write().await.map_err(StoreError::from)?;
    let mut report = PageReport {
        events: page.events.len(),
        cursor: page.next_after,
        ..PageReport::default()
    };
    ensure_workspace(&mut tx, workspace_id).await?;
    let mut batch = Batch {
        tombstones: Tombstones::load(&mut tx).await?,
        ..Batch::default()
    };
    for event in &page.events {
        collect_event(&mut tx, workspace_id, vault, event, &mut batch).await?;
    }
    // The page's parsed JSON is not needed any more, and freeing its trees is a tenth of this
    // task's time, which is the serial path of a catch-up: freed on a blocking thread instead.
    let events = page.events;
    tokio::task::spawn_blocking(move || drop(events));
    let collected = started.elapsed();
    report.device_events = batch.device_events;
    batch.peers.resolve(&mut tx, workspace_id).await?;
    let messages = batch.resolved_messages()?;
    let resolved = started.elapsed();
    let inserted = insert_messages_in(&mut tx, &messages).await?;
    let written = started.elapsed();
    report.messages_inserted = inserted.inserted;
    report.messages_duplicate = inserted.duplicates;
    // In the page's transaction: a media message is never stored without its download queued.
    report.media_queued = crate::media::queue::queue_in(&mut tx, &batch.media).await?;
    report.media_statuses =
        crate::media::queue::apply_statuses_in(&mut tx, workspace_id, &batch.media_statuses)
            .await?;
    keep_what_names_the_erased(&mut tx, &mut batch).await?;
    report.about_erased = batch.about_erased;
    if report.about_erased > 0 {
        // A count only: which customer must not reach the log.
        tracing::info!(
            events = report.about_erased,
            "sync: events about erased customers, older than their erasure, not applied"
        );
    }
    apply_revisions_in(&mut tx, &batch.revisions).await?;
    report.revisions = batch.revisions.len();
    apply_reactions_in(&mut tx, &batch.reactions).await?;
    report.reactions = batch.reactions.len();
    let statuses = apply_statuses_in(&mut tx, &batch.statuses).await?;
    report.statuses_recorded = statuses.recorded;
    report.account_updates = batch.account_updates;
    report.template_updates = batch.template_updates;
    // Last, so that nothing this page wrote about an erased contact survives the erasure.
    for erased in &batch.erasures {
        let actor = format!("{} (on another device)", erased.author.name);
        report.contacts_erased += crate::privacy::erase::erase_remote_in(
            &mut tx,
            workspace_id,
            &erased.contact,
            erased.at,
            &actor,
        )
        .await?;
    }
    let created = crate::store::now();
    for raw in &batch.raw {
        let new = sqlx::query(
            "INSERT INTO sync_raw_events (event_id, part, seq, reason, kind, payload, created_at)
             VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(event_id, part) DO NOTHING",
        )
        .bind(&raw.event_id)
        .bind(raw.part)
        .bind(raw.seq)
        .bind(raw.reason)
        .bind(&raw.kind)
        .bind(&raw.payload)
        .bind(created)
        .execute(&mut *tx)
        .await
        .map_err(StoreError::from)?;
        report.kept_raw += new.rows_affected() as usize;
    }
    // Never move the cursor backwards (a stale page replayed by hand must not rewind it).
    let current = store_cursor(&mut tx).await?;
    if page.next_after > current {
        set_sync_cursor_in(&mut tx, CURSOR_STREAM, &page.next_after.to_string()).await?;
    } else {
        report.cursor = current;
    }
    let before_commit = started.elapsed();
    tx.commit().await.map_err(StoreError::from)?;
    // Wakes the background checkpoint if it was idle: pages are what grows the WAL.
    store.checkpoint_soon();
    tracing::debug!(
        events = report.events,
        open_and_parse = ?page.took,
        collect = ?collected,
        contacts = ?resolved - collected,
        messages = ?written - resolved,
        rest = ?before_commit - written,
        commit = ?started.elapsed() - before_commit,
        "sync: page applied"
    );
    Ok(report)
}

pub(crate) async fn store_cursor(conn: &mut SqliteConnection) -> Result<i64, StoreError> {
    let raw: Option<String> = sqlx::query_scalar("SELECT cursor FROM sync_cursor WHERE stream = ?")
        .bind(CURSOR_STREAM)
        .fetch_optional(&mut *conn)
        .await?;
    Ok(raw.and_then(|c| c.parse().ok()).unwrap_or(0))
}

async fn ensure_workspace(conn: &mut SqliteConnection, id: &str) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO workspaces (id, name, created_at) VALUES (?, ?, ?)
         ON CONFLICT(id) DO NOTHING",
    )
    .bind(id)
    .bind(id)
    .bind(crate::store::now())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

async fn collect_event(
    conn: &mut SqliteConnection,
    workspace_id: &str,
    vault: Option<&crate::vault::Vault>,
    event: &OpenedEvent,
    batch: &mut Batch,
) -> Result<(), StoreError> {
    batch.start(event);
    let lenient = match &event.body {
        Opened::Kept {
            reason,
            kind,
            payload,
        } => {
            batch.keep(reason, kind, payload.clone());
            return Ok(());
        }
        Opened::MediaStatus(Ok(status)) => {
            batch.media_statuses.push(status.clone());
            return Ok(());
        }
        Opened::MediaStatus(Err(raw)) => {
            batch.keep("unknown", "media_status", raw.to_string());
            return Ok(());
        }
        Opened::Device {
            entry,
            sealed,
            manager,
        } => {
            batch.settle(conn, workspace_id).await?;
            // Team inbox events. What cannot be applied is kept SEALED (a number_connected
            // carries a token), so a later build or a call with a vault can still apply it.
            let outcome = crate::team::apply_device_event_in(
                conn,
                workspace_id,
                vault,
                entry,
                *manager,
                &batch.tombstones,
            )
            .await?;
            match outcome {
                crate::team::DeviceOutcome::Applied => batch.device_events += 1,
                crate::team::DeviceOutcome::KeepRaw { reason, kind } => {
                    batch.keep(reason, &kind, sealed.clone());
                }
                crate::team::DeviceOutcome::NeedsVault => {
                    batch.keep("unapplied", "number_connected", sealed.clone());
                }
                crate::team::DeviceOutcome::EraseContact(mut erased) => {
                    // Dated by the author's clock, but never after the relay had it: a clock
                    // running fast must not bury what the customer writes meanwhile.
                    erased.at = erased.at.min(event.created_ms);
                    // Tombstoned at once: the rest of this page is filtered too, not only
                    // erased at its end (which keeps what is newer than the erasure).
                    let ids = [
                        erased.contact.wa_id.as_deref(),
                        erased.contact.user_id.as_deref(),
                    ];
                    crate::privacy::tombstones::bury_in(conn, ids, erased.at).await?;
                    batch.tombstones = Tombstones::load(conn).await?;
                    batch.device_events += 1;
                    batch.erasures.push(erased);
                }
                crate::team::DeviceOutcome::AboutErased => batch.about_erased += 1,
            }
            return Ok(());
        }
        Opened::Entry(lenient) => lenient,
    };
    let Some(entry_typed) = lenient.typed() else {
        batch.keep(
            "unknown",
            "entry",
            lenient.raw().map(Value::to_string).unwrap_or_default(),
        );
        return Ok(());
    };
    let waba_id = entry_typed.id.as_str();
    for change in &entry_typed.changes {
        let Some(change) = change.typed() else {
            batch.keep(
                "unknown",
                "change",
                change.raw().map(Value::to_string).unwrap_or_default(),
            );
            continue;
        };
        match &change.value {
            ChangeValue::Messages(v) => {
                ensure_phone(conn, workspace_id, waba_id, &v.metadata, batch).await?;
                for m in v.messages.iter().flatten() {
                    collect_message(&v.metadata, m, |msg| v.contact_for(msg), false, batch);
                }
                for s in v.statuses.iter().flatten() {
                    match s.typed().and_then(status_update) {
                        Some(u) => {
                            let recipient = s.typed().and_then(|s| s.recipient_id.as_deref());
                            let user = s.raw().and_then(|r| r.get("recipient_user_id")?.as_str());
                            if let Some(erased) = batch.tombstones.erased_at([recipient, user]) {
                                if secs_to_ms(u.ts) <= erased {
                                    batch.about_erased += 1;
                                    continue;
                                }
                                batch.about_erased_wamids.insert(u.wamid.clone());
                            }
                            batch.statuses.push(u);
                        }
                        None => batch.keep(
                            "unknown",
                            "status",
                            serde_json::to_string(s).unwrap_or_default(),
                        ),
                    }
                }
                if !v.errors().is_empty() {
                    batch.keep(
                        "unapplied",
                        "messages.errors",
                        serde_json::to_string(v.errors()).unwrap_or_default(),
                    );
                }
            }
            ChangeValue::MessageEchoes(v) => {
                ensure_phone(conn, workspace_id, waba_id, &v.metadata, batch).await?;
                for m in v.message_echoes.iter().flatten() {
                    collect_message(&v.metadata, m, |msg| v.contact_for(msg), true, batch);
                }
            }
            other if super::apply_account::handles(other) => {
                batch.settle(conn, workspace_id).await?;
                let cx = super::apply_account::ChangeContext {
                    workspace_id,
                    waba_id,
                    tombstones: &batch.tombstones,
                    ts: entry_typed
                        .time
                        .as_ref()
                        .and_then(|t| t.as_i64())
                        .unwrap_or_else(crate::store::now),
                };
                let buried =
                    super::apply_account::apply_change(conn, cx, &change.field, other).await?;
                batch.about_erased += buried;
                batch.account_updates += 1;
                if super::apply_account::is_template_change(other) {
                    batch.template_updates += 1;
                }
            }
            other => {
                // Account alerts, security and group updates, and unknown fields: kept
                // whole until an applier handles them.
                let reason = if other.is_unknown() {
                    "unknown"
                } else {
                    "unapplied"
                };
                batch.keep(
                    reason,
                    &change.field,
                    serde_json::to_string(change).unwrap_or_default(),
                );
            }
        }
    }

    Ok(())
}

/// Creates the business number, or fills in its display number (once per page and value).
async fn ensure_phone(
    conn: &mut SqliteConnection,
    workspace_id: &str,
    waba_id: &str,
    metadata: &Metadata,
    batch: &mut Batch,
) -> Result<(), StoreError> {
    let seen = (
        metadata.phone_number_id.clone(),
        waba_id.to_string(),
        metadata.display_phone_number.clone(),
    );
    if !batch.phones.insert(seen) {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO phone_numbers (id, workspace_id, waba_id, display_phone_number, updated_at)
         VALUES (?, ?, ?, ?, ?)
         ON CONFLICT(id) DO UPDATE SET
             display_phone_number = COALESCE(excluded.display_phone_number, display_phone_number)",
    )
    .bind(&metadata.phone_number_id)
    .bind(workspace_id)
    .bind(waba_id)
    .bind(&metadata.display_phone_number)
    .bind(crate::store::now())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

fn collect_message<'v>(
    metadata: &Metadata,
    lenient: &'v Lenient<Message>,
    contact_for: impl Fn(&'v Message) -> Option<&'v Contact>,
    echo: bool,
    batch: &mut Batch,
) {
    let raw_json = serde_json::to_string(lenient).unwrap_or_default();
    let Some(msg) = lenient.typed() else {
        // A message that does not fit the typed model (say, no timestamp): stored as
        // 'unsupported' with its JSON when it has an id and a sender, else kept raw.
        let v = lenient.raw().cloned().unwrap_or_default();
        let id = v.get("id").and_then(Value::as_str);
        let peer = if echo { v.get("to") } else { v.get("from") }
            .and_then(Value::as_str)
            .filter(|p| !p.is_empty());
        let ts = v
            .get("timestamp")
            .and_then(|t| t.as_str().and_then(|s| s.parse().ok()).or(t.as_i64()))
            .unwrap_or(0);
        if peer.is_some() && batch.tombstones.buries([peer], secs_to_ms(ts)) {
            batch.about_erased += 1;
            return;
        }
        if let (Some(id), Some(peer)) = (id, peer) {
            let ticket = batch.peers.request(
                &metadata.phone_number_id,
                Some(peer.to_string()),
                None,
                None,
            );
            let message = NewMessage {
                wamid: id.to_string(),
                direction: if echo { Direction::Out } else { Direction::In },
                origin: if echo { Origin::Echo } else { Origin::Cloud },
                kind: "unsupported".into(),
                ts,
                from_id: (!echo).then(|| peer.to_string()),
                raw_json,
                ..NewMessage::default()
            };
            batch.messages.push((message, ticket));
        } else {
            batch.keep("unknown", "message", raw_json);
        }
        return;
    };
    let ts = msg.unix_time().unwrap_or(0);
    let contact = contact_for(msg);
    if !batch.tombstones.is_empty() {
        // Whoever the message is from (or, for an echo, to), under every id it gives.
        let ids = if echo {
            [msg.to.as_deref(), msg.to_user_id.as_deref()]
        } else {
            [msg.from.as_deref(), msg.from_user_id.as_deref()]
        };
        let listed = contact.map_or([None, None], |c| [c.wa_id.as_deref(), c.user_id.as_deref()]);
        match batch.tombstones.erased_at(ids.into_iter().chain(listed)) {
            Some(erased) if secs_to_ms(ts) <= erased => {
                batch.about_erased += 1;
                return;
            }
            // A reaction or an edit after the erasure counts only if its message is here.
            Some(_) => {
                let target = match &msg.content {
                    MessageContent::Reaction(r) => Some(&r.message_id),
                    MessageContent::Edit(e) => Some(&e.original_message_id),
                    MessageContent::Revoke(r) => Some(&r.original_message_id),
                    _ => None,
                };
                if let Some(target) = target {
                    batch.about_erased_wamids.insert(target.clone());
                }
            }
            None => {}
        }
    }
    let sender = msg
        .from
        .clone()
        .or_else(|| msg.from_user_id.clone())
        .unwrap_or_default();
    // Reactions, edits and revokes change another message; they are not rows of their own.
    match &msg.content {
        MessageContent::Reaction(r) => {
            batch.reactions.push(ReactionUpdate {
                message_wamid: r.message_id.clone(),
                reactor: if echo { "me".into() } else { sender },
                emoji: r.emoji.clone(),
                ts,
                raw_json,
            });
            return;
        }
        MessageContent::Edit(e) => {
            let new_text = match &e.message.content {
                MessageContent::Text(t) => Some(t.body.clone()),
                c => c.media().and_then(|m| m.caption.clone()),
            };
            batch.revisions.push(Revision {
                wamid: e.original_message_id.clone(),
                new_text: Some(new_text.unwrap_or_default()),
                ts,
                raw_json,
            });
            return;
        }
        MessageContent::Revoke(r) => {
            batch.revisions.push(Revision {
                wamid: r.original_message_id.clone(),
                new_text: None,
                ts,
                raw_json,
            });
            return;
        }
        _ => {}
    }
    let (wa_id, user_id) = if echo {
        (msg.to.clone(), msg.to_user_id.clone())
    } else {
        (msg.from.clone(), msg.from_user_id.clone())
    };
    // An empty id names nobody (the store would refuse it and fail the page).
    let present = |id: Option<String>| id.filter(|id| !id.is_empty());
    let wa_id = present(contact.and_then(|c| c.wa_id.clone())).or(present(wa_id));
    let user_id = present(contact.and_then(|c| c.user_id.clone())).or(present(user_id));
    if wa_id.is_none() && user_id.is_none() {
        batch.keep("unknown", "message_without_peer", raw_json);
        return;
    }
    let profile_name = if echo {
        None
    } else {
        contact.and_then(|c| c.name().map(str::to_string))
    };
    let ticket = batch
        .peers
        .request(&metadata.phone_number_id, wa_id, user_id, profile_name);
    let mut m = NewMessage {
        wamid: msg.id.clone(),
        direction: if echo { Direction::Out } else { Direction::In },
        origin: if echo { Origin::Echo } else { Origin::Cloud },
        kind: msg.kind().to_string(),
        ts,
        from_id: (!echo).then_some(sender),
        context_wamid: msg.reply_to().map(str::to_string),
        raw_json,
        ..NewMessage::default()
    };
    match &msg.content {
        MessageContent::Text(t) => m.text_body = Some(t.body.clone()),
        MessageContent::Location(l) => {
            m.latitude = l.latitude.as_f64();
            m.longitude = l.longitude.as_f64();
            m.location_name = l.name.clone();
            m.location_address = l.address.clone();
        }
        MessageContent::Button(b) => {
            m.reply_id = b.payload.clone();
            m.reply_title = b.text.clone();
        }
        MessageContent::Interactive(i) => match &i.reply {
            InteractiveReply::ButtonReply(c) | InteractiveReply::ListReply(c) => {
                m.reply_id = Some(c.id.clone());
                m.reply_title = c.title.clone();
            }
            _ => {}
        },
        MessageContent::Unsupported(_) | MessageContent::Other { .. } => {
            // Never dropped: the whole message is in raw_json.
            m.kind = "unsupported".into();
        }
        c => {
            if let Some(media) = c.media() {
                if let Some(media_id) = &media.id {
                    batch.media.push(crate::media::queue::MediaInput {
                        wamid: msg.id.clone(),
                        media_id: media_id.clone(),
                        mime_type: media.mime_type.clone(),
                        sha256: media.sha256.clone(),
                        kind: msg.kind().to_string(),
                        voice: media.voice == Some(true),
                        animated: media.animated == Some(true),
                    });
                }
                m.caption = media.caption.clone();
                m.document_filename = media.filename.clone();
                m.media_meta_id = media.id.clone();
                m.mime_type = media.mime_type.clone();
            }
        }
    }
    batch.messages.push((m, ticket));
}

/// Of the page's statuses, reactions and edits naming a customer erased here (dated after the
/// erasure: older ones were not collected), keeps the reactions and edits only if their
/// message is here, and the statuses of messages not here (yet) without the recipient's id: a
/// status may come before its message (a teammate's send not synced yet), and the rows of the
/// others would otherwise keep the customer's number next to messages the erasure removed.
async fn keep_what_names_the_erased(
    conn: &mut SqliteConnection,
    batch: &mut Batch,
) -> Result<(), StoreError> {
    if batch.about_erased_wamids.is_empty() {
        return Ok(());
    }
    let wamids: Vec<&String> = batch.about_erased_wamids.iter().collect();
    let present: HashSet<String> = sqlx::query_scalar(
        "SELECT wamid FROM messages WHERE wamid IN (SELECT value FROM json_each(?))",
    )
    .bind(serde_json::to_string(&wamids).map_err(|e| StoreError::Invalid(e.to_string()))?)
    .fetch_all(&mut *conn)
    .await?
    .into_iter()
    .collect();
    let absent =
        |wamid: &String| batch.about_erased_wamids.contains(wamid) && !present.contains(wamid);
    let before = batch.reactions.len() + batch.revisions.len();
    batch.reactions.retain(|r| !absent(&r.message_wamid));
    batch.revisions.retain(|r| !absent(&r.wamid));
    let dropped = before - batch.reactions.len() - batch.revisions.len();
    for status in batch.statuses.iter_mut().filter(|u| absent(&u.wamid)) {
        if let Ok(Value::Object(mut raw)) = serde_json::from_str::<Value>(&status.raw_json) {
            raw.remove("recipient_id");
            raw.remove("recipient_user_id");
            status.raw_json = Value::Object(raw).to_string();
        }
    }
    batch.about_erased += dropped;
    batch.about_erased_wamids.clear();
    Ok(())
}

fn status_update(s: &Status) -> Option<StatusUpdate> {
    let status = MessageStatus::parse(s.status.as_str())?;
    let error = s.errors().first();
    Some(StatusUpdate {
        wamid: s.id.clone(),
        status,
        ts: s.timestamp.as_i64().unwrap_or(0),
        error_code: error.map(|e| e.code),
        error_title: error.and_then(|e| e.title.clone()),
        raw_json: serde_json::to_string(s).unwrap_or_default(),
    })
}
