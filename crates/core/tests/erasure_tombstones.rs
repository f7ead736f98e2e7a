//! An erased customer stays erased, page by page (`privacy::tombstones`): events about them
//! dated before their erasure are not applied, wherever in the log they come, also on a device
//! that never met them; what they write afterwards is. Each case writes sealed pages into a
//! fresh encrypted store through `sync::apply_page`, exactly as the sync does.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use dataoptix_core::store::Store;
use dataoptix_core::sync::{apply_page, PageReport};
use dataoptix_core::vault::MasterKey;
use protocol::device_events::{
    Author, ContactErased, ContactRef, ConversationField, ConversationFieldName, DeviceEnvelope,
    DeviceEvent, MessageSent, NoteAdded,
};
use protocol::events::{Event, EventKind, EventPage};
use protocol::sealed::DataKey;
use protocol::WorkspaceSecretKey;
use serde_json::{json, Value};

const WORKSPACE: &str = "ws-tombstones";
const PHONE: &str = "106540352242922";
const WABA: &str = "waba-tombstones";
const ANA: &str = "16505550101";
/// When the owner erased Ana (Unix ms).
const ERASED_MS: i64 = 1_762_300_000_000;
const ERASED_SECS: i64 = ERASED_MS / 1000;

/// One event of the log, before it is sealed: a Meta webhook entry or a device event (marked
/// as a manager's when only owners and admins may make it, as the relay would).
enum Part {
    Webhook(Value),
    Device(DeviceEvent),
}

struct Log {
    key: WorkspaceSecretKey,
    data_key: DataKey,
    seq: i64,
}

impl Log {
    fn new() -> Self {
        let key = WorkspaceSecretKey::generate();
        let data_key = DataKey::generate(&key.public_key()).unwrap();
        Self {
            key,
            data_key,
            seq: 0,
        }
    }

    /// A page of `parts`, each stored by the relay at `relay_ms`.
    fn page(&mut self, parts: Vec<Part>, relay_ms: i64) -> EventPage {
        let created_at =
            time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(relay_ms) * 1_000_000)
                .unwrap();
        let events: Vec<Event> = parts
            .into_iter()
            .map(|part| {
                self.seq += 1;
                let id = uuid::Uuid::from_u128(self.seq as u128);
                let (kind, sealed) = match part {
                    Part::Webhook(entry) => (
                        EventKind::MetaWebhook,
                        self.data_key.seal(entry.to_string().as_bytes()).unwrap(),
                    ),
                    Part::Device(event) => {
                        let manager = event.needs_manager();
                        let plain = serde_json::to_vec(&DeviceEnvelope::new(id.to_string(), event))
                            .unwrap();
                        let kind = if manager {
                            EventKind::DeviceManager
                        } else {
                            EventKind::Device
                        };
                        (
                            kind,
                            protocol::seal(&self.key.public_key(), &plain).unwrap(),
                        )
                    }
                };
                Event {
                    seq: self.seq,
                    id,
                    kind,
                    sealed: protocol::sealed::to_base64(&sealed),
                    created_at,
                    origin_session: None,
                    client_event_id: None,
                }
            })
            .collect();
        EventPage {
            next_after: self.seq,
            events,
            resync_required: false,
        }
    }

    async fn apply(&mut self, store: &Store, parts: Vec<Part>, relay_ms: i64) -> PageReport {
        let page = self.page(parts, relay_ms);
        apply_page(store, &self.key, WORKSPACE, &page)
            .await
            .unwrap()
    }
}

fn ana() -> ContactRef {
    ContactRef {
        wa_id: Some(ANA.into()),
        user_id: None,
    }
}

fn owner() -> Author {
    Author {
        user_id: "u-owner".into(),
        name: "Owner".into(),
    }
}

fn inbound(id: &str, ts: i64, text: &str) -> Part {
    Part::Webhook(
        json!({"id": WABA, "changes": [{"field": "messages", "value": {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550783881", "phone_number_id": PHONE},
        "contacts": [{"profile": {"name": "Ana"}, "wa_id": ANA}],
        "messages": [{"from": ANA, "id": id, "timestamp": ts.to_string(), "type": "text",
                      "text": {"body": text}}]}}]}),
    )
}

fn erased(at: i64) -> Part {
    Part::Device(DeviceEvent::ContactErased(ContactErased {
        contact: ana(),
        at,
        author: owner(),
    }))
}

fn sent(wamid: &str, sent_at: i64, text: &str) -> Part {
    Part::Device(DeviceEvent::MessageSent(MessageSent {
        phone_number_id: PHONE.into(),
        to: format!("+{ANA}"),
        contact: ContactRef::default(),
        wamid: wamid.into(),
        message: json!({"messaging_product": "whatsapp", "to": format!("+{ANA}"),
                        "type": "text", "text": {"body": text}}),
        sent_at,
        author: owner(),
        client_id: format!("c-{wamid}"),
    }))
}

fn note(at: i64, text: &str) -> Part {
    Part::Device(DeviceEvent::NoteAdded(NoteAdded {
        note_id: uuid::Uuid::new_v4(),
        phone_number_id: PHONE.into(),
        contact: ana(),
        text: text.into(),
        at,
        author: owner(),
    }))
}

fn labels(at: i64) -> Part {
    Part::Device(DeviceEvent::ConversationField(ConversationField {
        phone_number_id: PHONE.into(),
        contact: ana(),
        field: ConversationFieldName::Labels,
        value: json!(["vip"]),
        at,
        device: "d-2".into(),
        author: owner(),
    }))
}

async fn fresh_store(dir: &std::path::Path) -> Store {
    Store::open(&dir.join("dataoptix.db"), &MasterKey::generate())
        .await
        .unwrap()
}

async fn texts(store: &Store) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT m.text_body FROM messages m JOIN conversations c ON c.id = m.conversation_id
         JOIN contacts ct ON ct.id = c.contact_id WHERE ct.wa_id = ? ORDER BY m.ts",
    )
    .bind(ANA)
    .fetch_all(store.pool())
    .await
    .unwrap()
}

async fn count(store: &Store, sql: &str) -> i64 {
    sqlx::query_scalar(sql)
        .fetch_one(store.pool())
        .await
        .unwrap()
}

/// A device that never met Ana applies her erasure: nothing to erase, but her tombstone is
/// set, so a teammate's older reply (addressed as an older build wrote it, `+` and all),
/// Meta's retry of her older message and a label made before the erasure reached its author
/// do not bring her in; what she writes later does, and the team's changes after that apply.
#[tokio::test]
async fn an_erasure_buries_a_customer_this_device_never_met() {
    let dir = tempfile::tempdir().unwrap();
    let store = fresh_store(dir.path()).await;
    let mut log = Log::new();
    let report = log
        .apply(&store, vec![erased(ERASED_MS)], ERASED_MS + 500)
        .await;
    assert_eq!(report.contacts_erased, 0);
    assert_eq!(
        count(&store, "SELECT count(*) FROM erased_contacts").await,
        1
    );

    let report = log
        .apply(
            &store,
            vec![
                sent("wamid.OLD-OUT", ERASED_SECS - 30, "your order is ready"),
                inbound("wamid.OLD-IN", ERASED_SECS - 60, "is my order ready?"),
            ],
            ERASED_MS + 5_000,
        )
        .await;
    assert_eq!(report.about_erased, 2, "{report:?}");
    assert_eq!(count(&store, "SELECT count(*) FROM contacts").await, 0);
    assert_eq!(count(&store, "SELECT count(*) FROM messages").await, 0);

    // A teammate labelled her after the erasure, before it reached their device (where it
    // then erased her and the label): not here either, as she has not written again.
    let report = log
        .apply(&store, vec![labels(ERASED_MS + 2_000)], ERASED_MS + 6_000)
        .await;
    assert_eq!(report.about_erased, 1, "{report:?}");
    assert_eq!(count(&store, "SELECT count(*) FROM contacts").await, 0);

    let report = log
        .apply(
            &store,
            vec![inbound("wamid.NEW-IN", ERASED_SECS + 60, "hello again")],
            ERASED_MS + 61_000,
        )
        .await;
    assert_eq!(report.about_erased, 0);
    assert_eq!(texts(&store).await, ["hello again"]);
    // Now that she is back, the team's later changes about her apply.
    let report = log
        .apply(&store, vec![labels(ERASED_MS + 70_000)], ERASED_MS + 71_000)
        .await;
    assert_eq!(report.about_erased, 0, "{report:?}");
    assert_eq!(
        count(&store, "SELECT count(*) FROM conversation_labels").await,
        1
    );
}

/// Ana wrote again before her erasure reached this device, and the same page carries older
/// events about her after the erasure: her new message stays, and nothing older survives,
/// not even the note and the labels that an erasure keeping her newer conversation would keep.
#[tokio::test]
async fn the_rest_of_the_erasures_page_is_buried_too() {
    let dir = tempfile::tempdir().unwrap();
    let store = fresh_store(dir.path()).await;
    let mut log = Log::new();
    log.apply(
        &store,
        vec![
            inbound("wamid.IN-1", ERASED_SECS - 600, "first order"),
            inbound("wamid.IN-2", ERASED_SECS + 30, "written after the erasure"),
        ],
        ERASED_MS + 31_000,
    )
    .await;
    assert_eq!(texts(&store).await.len(), 2);

    let report = log
        .apply(
            &store,
            vec![
                erased(ERASED_MS),
                note(ERASED_MS - 10_000, "likes rye"),
                labels(ERASED_MS - 5_000),
                sent("wamid.OUT-OLD", ERASED_SECS - 20, "see you at 4"),
            ],
            ERASED_MS + 32_000,
        )
        .await;
    assert_eq!(report.contacts_erased, 1);
    assert_eq!(report.about_erased, 3, "{report:?}");
    assert_eq!(texts(&store).await, ["written after the erasure"]);
    assert_eq!(count(&store, "SELECT count(*) FROM notes").await, 0);
    assert_eq!(
        count(&store, "SELECT count(*) FROM conversation_labels").await,
        0
    );
}

/// The erasing device's clock ran an hour fast: the erasure counts from when the relay had it,
/// so what Ana writes in that hour is not buried.
#[tokio::test]
async fn a_fast_clock_does_not_bury_what_the_customer_writes_meanwhile() {
    let dir = tempfile::tempdir().unwrap();
    let store = fresh_store(dir.path()).await;
    let mut log = Log::new();
    log.apply(&store, vec![erased(ERASED_MS + 3_600_000)], ERASED_MS)
        .await;
    let report = log
        .apply(
            &store,
            vec![
                inbound("wamid.BEFORE", ERASED_SECS - 1, "before"),
                inbound("wamid.MEANWHILE", ERASED_SECS + 600, "ten minutes later"),
            ],
            ERASED_MS + 601_000,
        )
        .await;
    assert_eq!(report.about_erased, 1, "{report:?}");
    assert_eq!(texts(&store).await, ["ten minutes later"]);
}
