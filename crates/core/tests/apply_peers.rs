//! A page resolves its messages' contacts and conversations together (`sync::peers`: all keys
//! at once when they are independent, one by one otherwise). Whatever the page cut, the store
//! must end exactly as when every event is applied alone, in order — the old one-upsert-per-
//! message behaviour: same contacts (merged across phone-number variants, with the last profile
//! name), same conversations, same messages in the same rows, same counters.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use dataoptix_core::store::{ContactInput, PhoneNumberInput, Store};
use dataoptix_core::sync::apply_page;
use dataoptix_core::vault::MasterKey;
use proptest::prelude::*;
use protocol::events::{Event, EventKind, EventPage};
use protocol::sealed::DataKey;
use protocol::WorkspaceSecretKey;
use serde_json::{json, Value};

const WORKSPACE: &str = "ws-peers";
const PHONE: &str = "pn-peers";
const WABA: &str = "waba-peers";

/// Who writes: (wa_id, user_id). Two Brazilian numbers each in both spellings (with and
/// without the 9th digit: one contact each; the store knows one spelling of the first), a
/// customer seen by both ids and then by user id alone, a user known only by user id (stored),
/// and two plain numbers, one with a user id.
const SENDERS: &[(Option<&str>, Option<&str>)] = &[
    (Some("5511999990001"), None),
    (Some("551199990001"), None),
    (Some("5511999990002"), None),
    (Some("551199990002"), None),
    (Some("16505550606"), Some("US.606")),
    (None, Some("US.606")),
    (None, Some("US.404")),
    (Some("16505550303"), Some("US.303")),
    (Some("16505550505"), None),
];
const NAMES: &[Option<&str>] = &[Some("Ana"), Some("Ana B."), None];

fn entry(i: usize, sender: usize, name: usize) -> Value {
    let (wa_id, user_id) = SENDERS[sender];
    let mut contact = json!({});
    let mut message = json!({"id": format!("wamid.peer.{i}"),
        "timestamp": (1_762_300_000 + i).to_string(), "type": "text",
        "text": {"body": format!("message {i}")}});
    if let Some(wa_id) = wa_id {
        contact["wa_id"] = json!(wa_id);
        message["from"] = json!(wa_id);
    }
    if let Some(user_id) = user_id {
        contact["user_id"] = json!(user_id);
        message["from_user_id"] = json!(user_id);
    }
    if let Some(name) = NAMES[name] {
        contact["profile"] = json!({"name": name});
    }
    json!({"id": WABA, "changes": [{"field": "messages", "value": {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550783881", "phone_number_id": PHONE},
        "contacts": [contact], "messages": [message]}}]})
}

fn sealed(key: &WorkspaceSecretKey, entries: &[Value]) -> Vec<Event> {
    let data_key = DataKey::generate(&key.public_key()).unwrap();
    entries
        .iter()
        .enumerate()
        .map(|(i, entry)| Event {
            seq: i as i64 + 1,
            id: uuid::Uuid::from_u128(i as u128 + 1),
            kind: EventKind::MetaWebhook,
            sealed: protocol::sealed::to_base64(
                &data_key.seal(entry.to_string().as_bytes()).unwrap(),
            ),
            created_at: time::OffsetDateTime::UNIX_EPOCH,
            origin_session: None,
            client_event_id: None,
        })
        .collect()
}

/// A store that already knows the 9th-digit-less spelling (so the page merges into a stored
/// contact) and the user-id-only customer.
async fn seeded_store(dir: &std::path::Path, key: &WorkspaceSecretKey) -> Store {
    let store = Store::open(&dir.join("dataoptix.db"), &MasterKey::generate())
        .await
        .unwrap();
    let empty = EventPage {
        events: Vec::new(),
        next_after: 0,
        resync_required: false,
    };
    apply_page(&store, key, WORKSPACE, &empty).await.unwrap();
    store
        .upsert_phone_number(&PhoneNumberInput {
            id: PHONE.into(),
            workspace_id: WORKSPACE.into(),
            waba_id: WABA.into(),
            ..Default::default()
        })
        .await
        .unwrap();
    for (wa_id, user_id, name) in [
        (Some("551199990001"), None, "Stored Ana"),
        (None, Some("US.404"), "Stored Dee"),
    ] {
        store
            .upsert_contact(&ContactInput {
                workspace_id: WORKSPACE.into(),
                wa_id: wa_id.map(str::to_string),
                user_id: user_id.map(str::to_string),
                profile_name: Some(name.into()),
                ..Default::default()
            })
            .await
            .unwrap();
    }
    store
}

/// Contacts, conversations and messages with their row ids (creation order must match too).
async fn fingerprint(store: &Store) -> Vec<String> {
    let queries = [
        "SELECT id || '|' || COALESCE(wa_id, '') || '|' || COALESCE(user_id, '') || '|'
             || COALESCE(phone_normalized, '') || '|' || COALESCE(profile_name, '')
         FROM contacts ORDER BY id",
        "SELECT id || '|' || contact_id || '|' || last_message_at || '|'
             || COALESCE(last_message_id, '') || '|' || COALESCE(last_inbound_at, '') || '|'
             || unread_count
         FROM conversations ORDER BY id",
        "SELECT id || '|' || wamid || '|' || conversation_id || '|' || COALESCE(from_id, '')
         FROM messages ORDER BY id",
        "SELECT rowid || '|' || COALESCE(profile_name, '') || '|' || COALESCE(wa_id, '')
         FROM contacts_fts ORDER BY rowid",
    ];
    let mut out = Vec::new();
    for q in queries {
        let rows: Vec<String> = sqlx::query_scalar(q).fetch_all(store.pool()).await.unwrap();
        out.push(format!("{q}\n  {}", rows.join("\n  ")));
    }
    out
}

async fn apply_cut(store: &Store, key: &WorkspaceSecretKey, events: &[Event], size: usize) {
    for chunk in events.chunks(size) {
        let page = EventPage {
            events: chunk.to_vec(),
            next_after: chunk.last().map_or(0, |e| e.seq),
            resync_required: false,
        };
        apply_page(store, key, WORKSPACE, &page).await.unwrap();
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 32,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn a_page_resolves_its_peers_as_one_upsert_per_message_would(
        messages in prop::collection::vec((0..SENDERS.len(), 0..NAMES.len()), 1..30),
        page in 2usize..40,
    ) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let key = WorkspaceSecretKey::generate();
            let entries: Vec<Value> = messages
                .iter()
                .enumerate()
                .map(|(i, &(sender, name))| entry(i, sender, name))
                .collect();
            let events = sealed(&key, &entries);

            let reference_dir = tempfile::tempdir().unwrap();
            let reference = seeded_store(reference_dir.path(), &key).await;
            apply_cut(&reference, &key, &events, 1).await;
            let expected = fingerprint(&reference).await;
            prop_assert!(expected[2].matches("wamid.peer.").count() == messages.len(), "{}", expected[2]);

            let dir = tempfile::tempdir().unwrap();
            let store = seeded_store(dir.path(), &key).await;
            apply_cut(&store, &key, &events, page).await;
            let got = fingerprint(&store).await;
            for (g, e) in got.iter().zip(&expected) {
                prop_assert_eq!(g, e, "messages {:?}, pages of {}", messages, page);
            }
            reference.close().await;
            store.close().await;
            Ok(())
        })?;
    }
}

/// A message whose sender is named by an empty id names nobody: it is kept raw and the page
/// (with the messages around it) commits, instead of the store refusing the contact and the
/// whole page failing again on every retry.
#[tokio::test]
async fn a_message_from_an_empty_id_is_kept_and_the_page_commits() {
    let key = WorkspaceSecretKey::generate();
    let mut nobody = entry(1, 0, 0);
    let value = &mut nobody["changes"][0]["value"];
    value["contacts"][0]["wa_id"] = json!("");
    value["messages"][0]["from"] = json!("");
    let events = sealed(&key, &[entry(0, 2, 0), nobody, entry(2, 2, 1)]);
    let dir = tempfile::tempdir().unwrap();
    let store = seeded_store(dir.path(), &key).await;
    let page = EventPage {
        next_after: 3,
        events,
        resync_required: false,
    };
    let report = apply_page(&store, &key, WORKSPACE, &page).await.unwrap();
    assert_eq!(report.messages_inserted, 2);
    assert_eq!(report.kept_raw, 1);
    assert_eq!(report.cursor, 3);
    let kept: Vec<(String, String)> =
        sqlx::query_as("SELECT reason, kind FROM sync_raw_events ORDER BY seq")
            .fetch_all(store.pool())
            .await
            .unwrap();
    assert_eq!(
        kept,
        vec![("unknown".to_string(), "message_without_peer".to_string())]
    );
    store.close().await;
}
