//! The team inbox across devices, against the real relay and `dataoptix-sim`: sent messages
//! and labels reach the other device, concurrent changes converge whatever the order, notes
//! and quick replies, the number's token, offline publishing, unknown event types.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::{Device, Env};
use dataoptix_core::send::{OutboxConfig, OutgoingMessage};
use dataoptix_core::store::Store;
use dataoptix_core::sync::RelayClient;
use dataoptix_core::team::{self, apply_device_event, DeviceOutcome, Team};
use dataoptix_core::vault::{MemoryStore, PassphraseSource, Vault};
use protocol::device_events::{
    Author, ContactRef, ConversationField, ConversationFieldName, DeviceEnvelope, DeviceEvent,
    MessageSent, NoteAdded, QuickReplySet,
};
use serde_json::{json, Value};

const CUSTOMER: &str = "16505551234";

async fn two_devices() -> (Env, Device, Device, i64, i64) {
    let env = Env::start(|_| {}).await;
    let one = env.first_device(OutboxConfig::default()).await;
    let two = env.another_device("Laptop", OutboxConfig::default()).await;
    env.connect_number(&one, &env.sim.info.access_token.clone())
        .await;
    env.inbound(CUSTOMER, "Is the cake ready?").await;
    for d in [&one, &two] {
        d.sync_until("the customer's message", async |d: &Device| {
            d.conversation(CUSTOMER).await.is_some()
        })
        .await;
    }
    let c1 = one.conversation(CUSTOMER).await.unwrap();
    let c2 = two.conversation(CUSTOMER).await.unwrap();
    (env, one, two, c1, c2)
}

/// Sends `text` to the conversation from `device` through its outbox (published to the team).
async fn send_reply(device: &Device, conversation: i64, text: &str, key: &str) {
    device
        .outbox
        .enqueue(conversation, OutgoingMessage::text(text, false), key)
        .await
        .unwrap();
    assert_eq!(device.outbox.run_once().await.unwrap().sent, 1);
}

#[tokio::test]
async fn a_reply_and_a_label_from_device_one_appear_on_device_two() {
    let (env, one, two, c1, c2) = two_devices().await;
    // Device two learnt the number's token from device one's number_connected event.
    two.sync_until("the number's token", async |d: &Device| {
        team::number_state(&d.store, &d.vault, &env.sim.info.phone_number_id)
            .await
            .unwrap()
            .has_token
    })
    .await;

    send_reply(&one, c1, "Yes, come by at 4", "d1-1").await;
    one.team
        .set_labels(c1, &["vip", " cakes ", "vip"])
        .await
        .unwrap();
    assert_eq!(
        two.scalar::<i64>("SELECT unread_count FROM conversations")
            .await,
        1
    );
    one.team.mark_read(c1).await.unwrap();
    assert_eq!(
        team::labels(&one.store, c1).await.unwrap(),
        ["cakes", "vip"]
    );

    two.sync_until("the reply read and the labels", async |d: &Device| {
        let read: Option<Option<String>> = sqlx::query_scalar(
            "SELECT status FROM messages WHERE direction = 'out' AND text_body = ?",
        )
        .bind("Yes, come by at 4")
        .fetch_optional(d.store.pool())
        .await
        .unwrap();
        read.flatten().as_deref() == Some("read")
            && team::labels(&d.store, c2).await.unwrap() == ["cakes", "vip"]
            && d.scalar::<i64>("SELECT unread_count FROM conversations")
                .await
                == 0
    })
    .await;
    let (origin, author): (String, Option<String>) =
        sqlx::query_as("SELECT origin, author_name FROM messages WHERE direction = 'out'")
            .fetch_one(two.store.pool())
            .await
            .unwrap();
    assert_eq!(
        (origin.as_str(), author.as_deref()),
        ("device", Some("Ana Owner"))
    );
    // The same wamid on both devices, one row each.
    let w1: String = one
        .scalar("SELECT wamid FROM messages WHERE direction = 'out'")
        .await;
    let w2: String = two
        .scalar("SELECT wamid FROM messages WHERE direction = 'out'")
        .await;
    assert_eq!(w1, w2);
    // Device one's own events came back and changed nothing.
    one.syncer.run_once().await.unwrap();
    assert_eq!(
        one.scalar::<i64>("SELECT count(*) FROM messages WHERE direction = 'out'")
            .await,
        1
    );
    env.stop().await;
}

#[tokio::test]
async fn concurrent_label_changes_converge_on_both_devices() {
    let (env, one, two, c1, c2) = two_devices().await;
    // Both change the labels before seeing each other's change.
    one.team.set_labels(c1, &["one"]).await.unwrap();
    two.team.set_labels(c2, &["two"]).await.unwrap();
    one.team.set_archived(c1, true).await.unwrap();
    two.team.assign(c2, Some("user-2")).await.unwrap();
    two.team
        .add_note(c2, "Prefers pickup after 4")
        .await
        .unwrap();
    for _ in 0..2 {
        one.syncer.run_once().await.unwrap();
        two.syncer.run_once().await.unwrap();
    }
    let l1 = team::labels(&one.store, c1).await.unwrap();
    let l2 = team::labels(&two.store, c2).await.unwrap();
    assert_eq!(l1, l2);
    assert!(l1 == ["one"] || l1 == ["two"], "{l1:?}");
    let fields = |d: &Device, c: i64| {
        let pool = d.store.pool().clone();
        async move {
            sqlx::query_as::<_, (bool, Option<String>)>(
                "SELECT archived, assigned_to FROM conversations WHERE id = ?",
            )
            .bind(c)
            .fetch_one(&pool)
            .await
            .unwrap()
        }
    };
    assert_eq!(fields(&one, c1).await, (true, Some("user-2".to_string())));
    assert_eq!(fields(&two, c2).await, (true, Some("user-2".to_string())));
    let notes = team::notes(&one.store, c1).await.unwrap();
    assert_eq!(notes.len(), 1);
    assert_eq!(notes, team::notes(&two.store, c2).await.unwrap());
    env.stop().await;
}

fn field(field: ConversationFieldName, value: Value, at: i64, device: &str) -> Value {
    serde_json::to_value(DeviceEnvelope::new(
        format!("{device}-{at}-{}", field.as_str()),
        DeviceEvent::ConversationField(ConversationField {
            phone_number_id: "106540352242922".into(),
            contact: ContactRef {
                wa_id: Some(CUSTOMER.into()),
                user_id: None,
            },
            field,
            value,
            at,
            device: device.into(),
            author: Author {
                user_id: device.into(),
                name: device.into(),
            },
        }),
    ))
    .unwrap()
}

fn quick_reply(id: &str, text: &str, deleted: bool, at: i64, device: &str) -> Value {
    serde_json::to_value(DeviceEnvelope::new(
        format!("qr-{device}-{at}"),
        DeviceEvent::QuickReplySet(QuickReplySet {
            id: id.into(),
            shortcut: "/hours".into(),
            text: text.into(),
            deleted,
            at,
            device: device.into(),
            author: Author {
                user_id: device.into(),
                name: device.into(),
            },
        }),
    ))
    .unwrap()
}

fn permutations(n: usize) -> Vec<Vec<usize>> {
    if n == 0 {
        return vec![vec![]];
    }
    let mut out = Vec::new();
    for p in permutations(n - 1) {
        for i in 0..=p.len() {
            let mut q = p.clone();
            q.insert(i, n - 1);
            out.push(q);
        }
    }
    out
}

/// Every order of the same events gives the same state (last writer wins by (at, device);
/// the same `at` is broken by the device id; a deletion is not undone by an older edit).
#[tokio::test]
async fn every_apply_order_converges() {
    use ConversationFieldName::*;
    let events = [
        field(Labels, json!(["a"]), 10, "dev-a"),
        field(Labels, json!(["b"]), 10, "dev-b"),
        field(Labels, json!(["c"]), 9, "dev-c"),
        field(Archived, json!(true), 11, "dev-a"),
        field(Archived, json!(false), 5, "dev-b"),
        quick_reply("q1", "Open 8-18", false, 20, "dev-a"),
        quick_reply("q1", "", true, 21, "dev-b"),
    ];
    let orders = permutations(events.len());
    assert_eq!(orders.len(), 5040);
    let dir = tempfile::tempdir().unwrap();
    let vault = Vault::open(dir.path(), &MemoryStore::new(), &PassphraseSource::none()).unwrap();
    let store = Store::open(&dir.path().join("db"), &vault.store_key().unwrap())
        .await
        .unwrap();
    store.upsert_workspace("ws", "ws").await.unwrap();
    let mut seen = None;
    // A spread of the orders (every 11th and the reversed ones) keeps the test quick.
    for order in orders
        .iter()
        .step_by(11)
        .chain(orders.iter().rev().take(20))
    {
        let mut tx = store.pool().begin().await.unwrap();
        for table in [
            "conversation_fields",
            "conversation_labels",
            "quick_replies",
        ] {
            sqlx::query(&format!("DELETE FROM {table}"))
                .execute(&mut *tx)
                .await
                .unwrap();
        }
        sqlx::query("UPDATE conversations SET archived = 0")
            .execute(&mut *tx)
            .await
            .unwrap();
        for &i in order {
            // Applying twice is the author's echo: no change.
            for _ in 0..2 {
                let outcome = apply_device_event(&mut tx, "ws", Some(&vault), &events[i], false)
                    .await
                    .unwrap();
                assert_eq!(outcome, DeviceOutcome::Applied);
            }
        }
        tx.commit().await.unwrap();
        let labels = team::labels(&store, 1).await.unwrap();
        let archived: bool = sqlx::query_scalar("SELECT archived FROM conversations")
            .fetch_one(store.pool())
            .await
            .unwrap();
        let replies = team::quick_replies(&store).await.unwrap();
        let state = (labels, archived, replies);
        assert_eq!(state.0, ["b"], "order {order:?}");
        assert!(state.1, "order {order:?}");
        assert!(state.2.is_empty(), "order {order:?}");
        match &seen {
            None => seen = Some(state),
            Some(s) => assert_eq!(*s, state, "order {order:?}"),
        }
    }
}

#[tokio::test]
async fn quick_replies_and_notes_reach_the_other_device_once() {
    let (env, one, two, c1, c2) = two_devices().await;
    let id = one
        .team
        .quick_reply_set(None, "/hours", "We are open 8-18")
        .await
        .unwrap();
    let note = one.team.add_note(c1, "Allergic to nuts").await.unwrap();
    two.sync_until("the quick reply and the note", async |d: &Device| {
        !team::quick_replies(&d.store).await.unwrap().is_empty()
            && !team::notes(&d.store, c2).await.unwrap().is_empty()
    })
    .await;
    let replies = team::quick_replies(&two.store).await.unwrap();
    assert_eq!(replies.len(), 1);
    assert_eq!(
        (replies[0].id.as_str(), replies[0].text.as_str()),
        (id.as_str(), "We are open 8-18")
    );
    let notes = team::notes(&two.store, c2).await.unwrap();
    assert_eq!(notes.len(), 1);
    assert_eq!(notes[0].id, note.to_string());
    assert_eq!(notes[0].author_name.as_deref(), Some("Ana Owner"));
    // Device two edits, device one deletes afterwards: deleted everywhere.
    two.team
        .quick_reply_set(Some(&id), "/hours", "Open 8-20")
        .await
        .unwrap();
    one.syncer.run_once().await.unwrap();
    tokio::time::sleep(Duration::from_millis(5)).await;
    one.team.quick_reply_delete(&id).await.unwrap();
    two.sync_until("the deletion", async |d: &Device| {
        team::quick_replies(&d.store).await.unwrap().is_empty()
    })
    .await;
    assert!(team::quick_replies(&one.store).await.unwrap().is_empty());
    env.stop().await;
}

/// Changes made while the relay is unreachable are kept (sealed) and published later.
#[tokio::test]
async fn offline_changes_are_published_later() {
    let (env, one, two, c1, c2) = two_devices().await;
    let dead = testkit::TcpProxy::down(&env.relay.base).await;
    let offline = Team::new(
        one.store.clone(),
        one.vault.clone(),
        Some(RelayClient::new(&dead.url()).with_token(one.session.token.clone())),
        env.key.public_key(),
        env.workspace_id.clone(),
        one.team.identity().clone(),
    );
    offline.set_labels(c1, &["offline"]).await.unwrap();
    // Written locally at once, queued for the relay.
    assert_eq!(team::labels(&one.store, c1).await.unwrap(), ["offline"]);
    assert_eq!(offline.pending_count().await.unwrap(), 1);
    let sealed: String = one.scalar("SELECT sealed FROM pending_events").await;
    assert!(!sealed.contains("offline"), "queued sealed, not in clear");
    // Back online (the worker drains the queue on every run).
    let report = one.outbox.run_once().await.unwrap();
    assert_eq!(report.published, 1);
    assert_eq!(one.team.pending_count().await.unwrap(), 0);
    two.sync_until("the offline label", async |d: &Device| {
        team::labels(&d.store, c2).await.unwrap() == ["offline"]
    })
    .await;
    env.stop().await;
}

/// A device event of a type this build does not know (a newer desktop) is kept, sealed, and
/// the page goes on; the token of a number_connected applied without a vault is kept too.
#[tokio::test]
async fn unknown_device_events_are_kept_and_never_fail_the_page() {
    let (env, one, _two, c1, _c2) = two_devices().await;
    let client = RelayClient::new(&env.relay.base).with_token(one.session.token.clone());
    let future = json!({"v": 2, "id": "future-1", "event": {"type": "poll_created", "q": "?"}});
    let sealed = protocol::sealed::to_base64(
        &protocol::seal(&env.key.public_key(), future.to_string().as_bytes()).unwrap(),
    );
    client
        .append_event("future-1", &sealed, false)
        .await
        .unwrap();
    one.team.set_labels(c1, &["after"]).await.unwrap();

    // A third device without a vault for tokens: its number_connected is kept, not lost.
    let three = env.another_device("Tablet", OutboxConfig::default()).await;
    let novault = dataoptix_core::sync::Syncer::new(
        three.store.clone(),
        RelayClient::new(&env.relay.base).with_token(three.session.token.clone()),
        env.key.clone(),
        env.workspace_id.clone(),
    );
    novault.run_once().await.unwrap();
    let kept: Vec<(String, String)> =
        sqlx::query_as("SELECT reason, kind FROM sync_raw_events ORDER BY seq")
            .fetch_all(three.store.pool())
            .await
            .unwrap();
    assert!(
        kept.contains(&("unapplied".into(), "number_connected".into())),
        "{kept:?}"
    );
    assert!(
        kept.contains(&("unknown".into(), "poll_created".into())),
        "{kept:?}"
    );
    let c3 = three.conversation(CUSTOMER).await.unwrap();
    assert_eq!(team::labels(&three.store, c3).await.unwrap(), ["after"]);
    // Nothing kept raw holds the token in clear.
    let payloads: Vec<String> = sqlx::query_scalar("SELECT payload FROM sync_raw_events")
        .fetch_all(three.store.pool())
        .await
        .unwrap();
    assert!(payloads
        .iter()
        .all(|p| !p.contains(&env.sim.info.access_token)));
    env.stop().await;
}

fn now_ms() -> i64 {
    let t = time::OffsetDateTime::now_utc();
    t.unix_timestamp() * 1000 + i64::from(t.millisecond())
}

/// A customer is erased on the other devices only by an event the relay marked as an owner's
/// or admin's (`EventKind::DeviceManager`): the sealed content's own author claim proves
/// nothing, so an unmarked erasure (an agent's device, changed) is kept and not applied.
#[tokio::test]
async fn an_erasure_is_applied_only_when_the_relay_marked_it_as_a_managers() {
    let (env, one, two, _c1, _c2) = two_devices().await;
    let client = RelayClient::new(&env.relay.base).with_token(one.session.token.clone());
    let erasure = |id: &str| {
        let event = DeviceEvent::ContactErased(protocol::device_events::ContactErased {
            contact: ContactRef {
                wa_id: Some(CUSTOMER.into()),
                user_id: None,
            },
            // Erased up to now: everything the devices hold about her.
            at: now_ms(),
            author: Author {
                user_id: "someone".into(),
                name: "Ana Owner".into(),
            },
        });
        let plain = serde_json::to_vec(&DeviceEnvelope::new(id, event)).unwrap();
        protocol::sealed::to_base64(&protocol::seal(&env.key.public_key(), &plain).unwrap())
    };
    client
        .append_event("unmarked-1", &erasure("unmarked-1"), false)
        .await
        .unwrap();
    two.sync_until("the unmarked erasure kept", async |d: &Device| {
        let kept: Vec<(String, String)> =
            sqlx::query_as("SELECT reason, kind FROM sync_raw_events")
                .fetch_all(d.store.pool())
                .await
                .unwrap();
        kept.contains(&("not_permitted".into(), "contact_erased".into()))
    })
    .await;
    assert!(
        two.conversation(CUSTOMER).await.is_some(),
        "erased without the mark"
    );
    // Nor does an unmarked number connection replace the team's business token.
    let forged = DeviceEvent::NumberConnected(protocol::device_events::NumberConnected {
        waba_id: env.sim.info.waba_id.clone(),
        phone_number_id: env.sim.info.phone_number_id.clone(),
        display_phone_number: None,
        verified_name: None,
        token: "EAAG-a-token-of-the-agents-own".into(),
        at: now_ms(),
        author: Author {
            user_id: "someone".into(),
            name: "Ana Owner".into(),
        },
    });
    let plain = serde_json::to_vec(&DeviceEnvelope::new("unmarked-2", forged)).unwrap();
    let sealed =
        protocol::sealed::to_base64(&protocol::seal(&env.key.public_key(), &plain).unwrap());
    client
        .append_event("unmarked-2", &sealed, false)
        .await
        .unwrap();
    two.sync_until("the unmarked number kept", async |d: &Device| {
        let kept: Vec<(String, String)> =
            sqlx::query_as("SELECT reason, kind FROM sync_raw_events")
                .fetch_all(d.store.pool())
                .await
                .unwrap();
        kept.contains(&("not_permitted".into(), "number_connected".into()))
    })
    .await;

    client
        .append_event("marked-1", &erasure("marked-1"), true)
        .await
        .unwrap();
    two.sync_until("the marked erasure applied", async |d: &Device| {
        d.conversation(CUSTOMER).await.is_none()
    })
    .await;
    env.stop().await;
}

#[tokio::test]
async fn retention_changes_converge_on_the_last_one_set() {
    use dataoptix_core::privacy::retention::{policy, RetentionPolicy};
    let (env, one, two, _c1, _c2) = two_devices().await;
    let days = |d: u32| RetentionPolicy {
        messages_days: Some(d),
        media_days: None,
        raw_events_days: None,
    };
    let clock = async |d: &Device| -> String {
        d.scalar("SELECT value_json FROM settings WHERE key = 'privacy.retention_clock'")
            .await
    };

    // One after the other: the second device had seen the first's, so its own is the later
    // one everywhere, whatever the two clocks say.
    one.team.publish_retention_policy(&days(30)).await.unwrap();
    two.sync_until("the first device's policy", async |d: &Device| {
        policy(&d.store).await.unwrap() == days(30)
    })
    .await;
    two.team.publish_retention_policy(&days(90)).await.unwrap();
    one.sync_until("the second device's policy", async |d: &Device| {
        policy(&d.store).await.unwrap() == days(90)
    })
    .await;
    assert_eq!(policy(&two.store).await.unwrap(), days(90));

    // At once, neither having seen the other's: both keep the same one, by time then device.
    one.team.publish_retention_policy(&days(7)).await.unwrap();
    two.team.publish_retention_policy(&days(365)).await.unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        one.syncer.run_once().await.unwrap();
        two.syncer.run_once().await.unwrap();
        let (a, b) = (
            policy(&one.store).await.unwrap(),
            policy(&two.store).await.unwrap(),
        );
        if a == b {
            assert!(a == days(7) || a == days(365), "{a:?}");
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "{a:?} and {b:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Both devices saw both changes and kept the later by (time, device).
    for _ in 0..3 {
        one.syncer.run_once().await.unwrap();
        two.syncer.run_once().await.unwrap();
    }
    assert_eq!(clock(&one).await, clock(&two).await);
    assert_eq!(
        policy(&one.store).await.unwrap(),
        policy(&two.store).await.unwrap()
    );
    env.stop().await;
}

/// A device added after the relay pruned the log (every earlier device had acked it) was owed
/// none of it: it syncs without `ResyncRequired` and gets what arrives after it joined.
#[tokio::test]
async fn a_device_added_after_the_log_was_pruned_syncs_without_resync() {
    let env = Env::start(|_| {}).await;
    let one = env.first_device(OutboxConfig::default()).await;
    env.connect_number(&one, &env.sim.info.access_token.clone())
        .await;
    env.inbound(CUSTOMER, "Is the cake ready?").await;
    one.sync_until("the customer's message", async |d: &Device| {
        d.conversation(CUSTOMER).await.is_some()
    })
    .await;
    // sync_until acked what it applied: the only device has everything, so it all goes.
    assert!(env.relay.prune_now().await > 0, "nothing was pruned");

    let two = env.another_device("Laptop", OutboxConfig::default()).await;
    let first = two.syncer.run_once().await.unwrap();
    assert_eq!(first.events, 0, "everything before the laptop was pruned");

    const LATER: &str = "16505550199";
    env.inbound(LATER, "Do you deliver?").await;
    two.sync_until(
        "a message sent after the laptop joined",
        async |d: &Device| d.conversation(LATER).await.is_some(),
    )
    .await;
    assert!(two.conversation(CUSTOMER).await.is_none());
    env.stop().await;
}

/// The tables of `store` with a row holding `needle` in any column (read as text).
async fn tables_holding(store: &Store, needle: &str) -> Vec<String> {
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
    )
    .fetch_all(store.pool())
    .await
    .unwrap();
    let mut holding = Vec::new();
    for table in tables {
        let columns: Vec<String> = sqlx::query_scalar("SELECT name FROM pragma_table_info(?)")
            .bind(&table)
            .fetch_all(store.pool())
            .await
            .unwrap();
        let any = columns
            .iter()
            .map(|c| format!("instr(CAST(\"{c}\" AS TEXT), ?1) > 0"))
            .collect::<Vec<_>>()
            .join(" OR ");
        if any.is_empty() {
            continue;
        }
        let rows: i64 =
            sqlx::query_scalar(&format!("SELECT count(*) FROM \"{table}\" WHERE {any}"))
                .bind(needle)
                .fetch_one(store.pool())
                .await
                .unwrap();
        if rows > 0 {
            holding.push(table);
        }
    }
    holding
}

/// An erased customer stays erased. Events about them dated before the erasure that reach a
/// device after it are not applied, on the erasing device or another: the erasing device's own
/// reply coming back from the log, a teammate's reply and note queued while offline, a late
/// read receipt, Meta's retry of an older message, an older marketing opt-out. No row anywhere
/// names the customer afterwards. Only the customer writing again starts a conversation anew,
/// and a status of a reply to her that comes before the reply is kept (without her number).
#[tokio::test]
async fn an_erased_customer_is_not_brought_back_by_older_events_arriving_late() {
    let (env, one, two, c1, _c2) = two_devices().await;
    let info = env.sim.info.clone();
    send_reply(&one, c1, "Yes, come by at 4", "d1-1").await;
    let reply: String = one
        .scalar("SELECT wamid FROM messages WHERE direction = 'out'")
        .await;
    two.sync_until("the reply", async |d: &Device| {
        d.scalar::<i64>("SELECT count(*) FROM messages WHERE direction = 'out'")
            .await
            == 1
    })
    .await;

    // Device one erases her (it has not synced its own reply back from the log yet), and
    // device two applies the erasure: what follows reaches both in later pages.
    let customer = ContactRef {
        wa_id: Some(CUSTOMER.into()),
        user_id: None,
    };
    let contact: i64 = one
        .scalar(&format!(
            "SELECT id FROM contacts WHERE wa_id = '{CUSTOMER}'"
        ))
        .await;
    let erased_at = now_ms();
    dataoptix_core::privacy::erase::erase_contact_at(
        &one.store,
        one.data_dir(),
        "Ana Owner",
        contact,
        erased_at,
    )
    .await
    .unwrap();
    one.team
        .publish_contact_erased(customer.clone(), erased_at)
        .await
        .unwrap();
    two.sync_until("the erasure", async |d: &Device| {
        d.conversation(CUSTOMER).await.is_none()
    })
    .await;
    let earlier_secs = erased_at / 1000 - 60;

    // Then, older events about her arrive. A teammate's reply and note, written offline.
    let teammate = Author {
        user_id: two.session.user.id.to_string(),
        name: "Ben Agent".into(),
    };
    let client = RelayClient::new(&env.relay.base).with_token(two.session.token.clone());
    let append = async |id: &str, event: DeviceEvent| {
        let plain = serde_json::to_vec(&DeviceEnvelope::new(id, event)).unwrap();
        let sealed =
            protocol::sealed::to_base64(&protocol::seal(&env.key.public_key(), &plain).unwrap());
        client.append_event(id, &sealed, false).await.unwrap();
    };
    let sent = |wamid: &str, text: &str, sent_at: i64| {
        DeviceEvent::MessageSent(MessageSent {
            phone_number_id: info.phone_number_id.clone(),
            to: CUSTOMER.into(),
            contact: customer.clone(),
            wamid: wamid.into(),
            message: json!({"messaging_product": "whatsapp", "to": CUSTOMER, "type": "text",
                            "text": {"body": text}}),
            sent_at,
            author: teammate.clone(),
            client_id: format!("client-{wamid}"),
        })
    };
    append(
        "offline-1",
        sent("wamid.sent-offline-1", "It is ready, Sheena", earlier_secs),
    )
    .await;
    let note = DeviceEvent::NoteAdded(NoteAdded {
        note_id: uuid::Uuid::new_v4(),
        phone_number_id: info.phone_number_id.clone(),
        contact: customer.clone(),
        text: "Sheena prefers rye".into(),
        at: erased_at - 60_000,
        author: teammate.clone(),
    });
    append("offline-2", note).await;
    // A late read receipt of the reply, Meta's retry of an older message of hers, and an older
    // marketing opt-out.
    env.control(
        &format!("/messages/{reply}/status"),
        json!({"status": "read"}),
    )
    .await;
    let metadata = json!({"display_phone_number": info.display_phone_number,
                          "phone_number_id": info.phone_number_id});
    let contacts = json!([{"profile": {"name": "Sheena Nelson"}, "wa_id": CUSTOMER}]);
    env.control(
        "/events/messages",
        json!({"value": {"messaging_product": "whatsapp", "metadata": metadata,
                         "contacts": contacts,
                         "messages": [{"from": CUSTOMER, "id": "wamid.retried-1",
                                       "timestamp": earlier_secs.to_string(), "type": "text",
                                       "text": {"body": "Hello? Is the cake ready?"}}]}}),
    )
    .await;
    env.control(
        "/events/user_preferences",
        json!({"value": {"messaging_product": "whatsapp", "metadata": metadata,
                         "contacts": contacts,
                         "user_preferences": [{"wa_id": CUSTOMER, "value": "stop",
                                               "category": "marketing_messages",
                                               "detail": "User requested to stop marketing",
                                               "timestamp": earlier_secs}]}}),
    )
    .await;
    // Another customer writes last: a device that has her message has everything before it
    // (the simulator delivers its webhooks in order, after the device events above).
    env.inbound("16505550000", "Two baguettes please").await;
    for d in [&one, &two] {
        d.sync_until("the next customer's message", async |d: &Device| {
            d.conversation("16505550000").await.is_some()
        })
        .await;
        // As the app does after each sync: old index segments of what the sync erased go.
        dataoptix_core::privacy::erase::finish_erasures(&d.store, d.data_dir())
            .await
            .unwrap();
        assert!(d.conversation(CUSTOMER).await.is_none());
        assert_eq!(
            tables_holding(&d.store, CUSTOMER).await,
            Vec::<String>::new()
        );
        for text in [
            "It is ready, Sheena",
            "Sheena prefers rye",
            "Hello? Is the cake",
        ] {
            assert_eq!(tables_holding(&d.store, text).await, Vec::<String>::new());
        }
    }
    // The erasing device logged only its own erasure: its echo found nothing to erase again.
    let synced: i64 = one
        .scalar("SELECT count(*) FROM activity_log WHERE action = 'privacy.erase_contact_synced'")
        .await;
    assert_eq!(synced, 0);

    // She writes again, later: a new conversation, with the new message only.
    env.control("/clock/advance", json!({"seconds": 2})).await;
    env.inbound(CUSTOMER, "Me again: two more cakes?").await;
    for d in [&one, &two] {
        d.sync_until("her new message", async |d: &Device| {
            d.conversation(CUSTOMER).await.is_some()
        })
        .await;
        let texts: Vec<String> =
            sqlx::query_scalar("SELECT text_body FROM messages WHERE conversation_id = ?")
                .bind(d.conversation(CUSTOMER).await.unwrap())
                .fetch_all(d.store.pool())
                .await
                .unwrap();
        assert_eq!(texts, ["Me again: two more cakes?"]);
    }
    // The status of the teammate's answer comes before the answer itself: kept, without her
    // number while its message is not here, and shown once it is.
    let answered = erased_at / 1000 + 10;
    env.control(
        "/events/messages",
        json!({"value": {"messaging_product": "whatsapp", "metadata": metadata,
                         "statuses": [{"id": "wamid.answer-1", "status": "delivered",
                                       "timestamp": (answered + 1).to_string(),
                                       "recipient_id": CUSTOMER}]}}),
    )
    .await;
    for d in [&one, &two] {
        d.sync_until("the early status", async |d: &Device| {
            d.scalar::<i64>("SELECT count(*) FROM message_statuses WHERE wamid = 'wamid.answer-1'")
                .await
                == 1
        })
        .await;
        let raw: String = d
            .scalar("SELECT raw_json FROM message_statuses WHERE wamid = 'wamid.answer-1'")
            .await;
        assert!(!raw.contains(CUSTOMER), "{raw}");
    }
    append(
        "answer-1",
        sent("wamid.answer-1", "Yes, two more at 5", answered),
    )
    .await;
    for d in [&one, &two] {
        d.sync_until("the answer, delivered", async |d: &Device| {
            let status: Option<String> =
                sqlx::query_scalar("SELECT status FROM messages WHERE wamid = 'wamid.answer-1'")
                    .fetch_optional(d.store.pool())
                    .await
                    .unwrap();
            status.as_deref() == Some("delivered")
        })
        .await;
    }
    env.stop().await;
}
