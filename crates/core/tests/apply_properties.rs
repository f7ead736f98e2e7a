//! Properties of applying the relay's log (issue #6): whatever the order the events arrive in,
//! however often each is redelivered and however the pages are cut, the store ends the same as
//! after applying each event once, in order; and a message's status never goes backwards.
//!
//! The events are a small conversation as Meta sends it: inbound texts from two customers, a
//! reaction and its change, an edit, and the statuses of one outbound message (sent,
//! delivered, read, each with its own timestamp). Each case applies them into a fresh
//! encrypted store through `sync::apply_page`, exactly as the sync does.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use dataoptix_core::store::{ContactInput, Direction, NewMessage, Origin, PhoneNumberInput, Store};
use dataoptix_core::sync::apply_page;
use dataoptix_core::vault::MasterKey;
use proptest::prelude::*;
use protocol::events::{Event, EventKind, EventPage};
use protocol::sealed::DataKey;
use protocol::WorkspaceSecretKey;
use serde_json::{json, Value};

const WORKSPACE: &str = "ws-props";
const PHONE: &str = "pn-props";
const WABA: &str = "waba-props";
const ANA: &str = "16505550101";
const BO: &str = "16505550202";
const OUTBOUND: &str = "wamid.OUT-1";

fn envelope(value: Value) -> Value {
    json!({"id": WABA, "changes": [{"field": "messages", "value": value}]})
}

fn metadata() -> Value {
    json!({"display_phone_number": "15550783881", "phone_number_id": PHONE})
}

fn inbound(from: &str, id: &str, ts: i64, message: Value) -> Value {
    let mut m = json!({"from": from, "id": id, "timestamp": ts.to_string()});
    if let (Some(m), Some(extra)) = (m.as_object_mut(), message.as_object()) {
        m.extend(extra.clone());
    }
    envelope(json!({
        "messaging_product": "whatsapp", "metadata": metadata(),
        "contacts": [{"profile": {"name": format!("Customer {from}")}, "wa_id": from}],
        "messages": [m]
    }))
}

fn status(status: &str, ts: i64) -> Value {
    envelope(json!({
        "messaging_product": "whatsapp", "metadata": metadata(),
        "statuses": [{"id": OUTBOUND, "status": status, "timestamp": ts.to_string(),
                      "recipient_id": ANA}]
    }))
}

/// The log of one afternoon, in the order Meta would send it.
fn entries() -> Vec<Value> {
    vec![
        inbound(
            ANA,
            "wamid.A1",
            1_762_300_000,
            json!({"type": "text", "text": {"body": "hola, ¿abren mañana?"}}),
        ),
        inbound(
            BO,
            "wamid.B1",
            1_762_300_005,
            json!({"type": "text", "text": {"body": "order 1042 status?"}}),
        ),
        status("sent", 1_762_300_010),
        inbound(
            ANA,
            "wamid.A2",
            1_762_300_012,
            json!({"type": "text", "text": {"body": "gracias"}}),
        ),
        status("delivered", 1_762_300_015),
        inbound(
            ANA,
            "wamid.A3",
            1_762_300_020,
            json!({"type": "reaction", "reaction": {"message_id": OUTBOUND, "emoji": "👍"}}),
        ),
        status("read", 1_762_300_025),
        inbound(
            BO,
            "wamid.B2",
            1_762_300_030,
            json!({"type": "text", "text": {"body": "never mind, found it"}}),
        ),
        inbound(
            ANA,
            "wamid.A4",
            1_762_300_040,
            json!({"type": "reaction", "reaction": {"message_id": OUTBOUND, "emoji": "❤️"}}),
        ),
    ]
}

fn sealed_events(key: &WorkspaceSecretKey) -> Vec<Event> {
    let data_key = DataKey::generate(&key.public_key()).unwrap();
    entries()
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

/// A fresh store with the number and the outbound message the statuses are about (it was sent
/// by this device before the log starts).
async fn fresh_store(dir: &std::path::Path, key: &WorkspaceSecretKey) -> Store {
    let store = Store::open(&dir.join("dataoptix.db"), &MasterKey::generate())
        .await
        .unwrap();
    // An empty page creates the workspace, as the first sync does.
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
    let contact = store
        .upsert_contact(&ContactInput {
            workspace_id: WORKSPACE.into(),
            wa_id: Some(ANA.into()),
            ..Default::default()
        })
        .await
        .unwrap();
    let conversation = store
        .ensure_conversation(WORKSPACE, PHONE, contact)
        .await
        .unwrap();
    store
        .insert_messages(&[NewMessage {
            conversation_id: conversation,
            wamid: OUTBOUND.into(),
            direction: Direction::Out,
            origin: Origin::Device,
            kind: "text".into(),
            ts: 1_762_299_990,
            text_body: Some("¡Sí! De 9 a 14.".into()),
            raw_json: "{}".into(),
            ..Default::default()
        }])
        .await
        .unwrap();
    store
}

/// Everything the sync writes that a person could see, without row ids (they follow arrival
/// order and mean nothing).
async fn fingerprint(store: &Store) -> Vec<String> {
    let queries = [
        "SELECT wa_id || '|' || COALESCE(profile_name, '') FROM contacts ORDER BY wa_id",
        "SELECT c.wa_id || '|' || v.unread_count || '|' || COALESCE(v.last_message_at, '')
           || '|' || COALESCE(v.last_inbound_at, '')
         FROM conversations v JOIN contacts c ON c.id = v.contact_id ORDER BY c.wa_id",
        "SELECT wamid || '|' || direction || '|' || kind || '|' || ts || '|' || COALESCE(text_body, '')
           || '|' || COALESCE(status, '') || '|' || status_rank || '|' || COALESCE(status_at, '')
         FROM messages ORDER BY wamid",
        "SELECT wamid || '|' || status || '|' || ts FROM message_statuses ORDER BY wamid, status",
        "SELECT message_wamid || '|' || reactor || '|' || COALESCE(emoji, '') || '|' || ts
         FROM reactions ORDER BY message_wamid, reactor",
    ];
    let mut out = Vec::new();
    for q in queries {
        let rows: Vec<String> = sqlx::query_scalar(q).fetch_all(store.pool()).await.unwrap();
        out.push(format!("{q}\n  {}", rows.join("\n  ")));
    }
    out
}

async fn apply_in_pages(store: &Store, key: &WorkspaceSecretKey, events: &[Event], cuts: &[usize]) {
    let mut start = 0;
    let mut pages: Vec<&[Event]> = Vec::new();
    for &cut in cuts {
        let end = (start + cut).min(events.len());
        if end > start {
            pages.push(&events[start..end]);
        }
        start = end;
    }
    if start < events.len() {
        pages.push(&events[start..]);
    }
    for page in pages {
        let page = EventPage {
            events: page.to_vec(),
            next_after: page.last().map_or(0, |e| e.seq),
            resync_required: false,
        };
        apply_page(store, key, WORKSPACE, &page).await.unwrap();
    }
}

/// Any order, any duplicates: each event at least once, some again, shuffled.
fn deliveries(n: usize) -> impl Strategy<Value = Vec<usize>> {
    (prop::collection::vec(0..n, 0..n * 2), any::<u64>()).prop_flat_map(move |(extra, _)| {
        let mut all: Vec<usize> = (0..n).collect();
        all.extend(extra);
        Just(all).prop_shuffle()
    })
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 24,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn any_order_and_duplication_ends_in_the_same_store(
        order in deliveries(entries().len()),
        cuts in prop::collection::vec(1usize..6, 0..8),
    ) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let key = WorkspaceSecretKey::generate();
            let events = sealed_events(&key);

            let reference_dir = tempfile::tempdir().unwrap();
            let reference = fresh_store(reference_dir.path(), &key).await;
            apply_in_pages(&reference, &key, &events, &[]).await;
            let expected = fingerprint(&reference).await;
            // The reference holds what the log says (so the comparison is not of empty stores).
            prop_assert!(expected[2].contains("wamid.A2|in|text|1762300012|gracias"), "{}", expected[2]);
            prop_assert!(expected[2].contains("wamid.OUT-1|out|text|1762299990|¡Sí! De 9 a 14.|read|"), "{}", expected[2]);
            prop_assert!(expected[3].contains("wamid.OUT-1|delivered|1762300015"), "{}", expected[3]);
            prop_assert!(expected[4].contains(&format!("wamid.OUT-1|{ANA}|❤️|1762300040")), "{}", expected[4]);

            let dir = tempfile::tempdir().unwrap();
            let store = fresh_store(dir.path(), &key).await;
            let shuffled: Vec<Event> = order.iter().map(|&i| events[i].clone()).collect();
            apply_in_pages(&store, &key, &shuffled, &cuts).await;
            let got = fingerprint(&store).await;
            for (g, e) in got.iter().zip(&expected) {
                prop_assert_eq!(g, e, "delivery order {:?}, pages {:?}", order, cuts);
            }

            // Statuses never go backwards: the outbound message shows the highest one seen.
            let status: Option<String> =
                sqlx::query_scalar("SELECT status FROM messages WHERE wamid = ?")
                    .bind(OUTBOUND)
                    .fetch_one(store.pool())
                    .await
                    .unwrap();
            prop_assert_eq!(status.as_deref(), Some("read"));
            reference.close().await;
            store.close().await;
            Ok(())
        })?;
    }
}
