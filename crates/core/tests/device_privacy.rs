//! The device's privacy facade on a real encrypted store of a device registered at a real
//! relay: the contact list (search, paging, workspace scope), corrections and restriction,
//! exports into a folder, erasure, retention (on demand and on the background's timer), the
//! activity log (sign-ins, sends, broadcasts) and its integrity check, and deleting the
//! account (relay and local data).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use dataoptix_core::broadcast::RecipientSource;
use dataoptix_core::device::{
    ActivityView, AttachmentInput, ContactCursor, Device, DeviceError, DeviceEvent, JoinInput,
    Outgoing, RegisterInput, RetentionSchedule, RetentionSettings, SignInInput, SyncState,
};
use dataoptix_core::store::{ContactInput, Direction, NewMessage, Origin, PhoneNumberInput};
use dataoptix_core::vault::{MemoryStore, PassphraseSource, SecretStore, Vault};
use serde_json::json;

mod common;
use common::pacing::{connected_device, order_ready, sim_post};
use common::{eventually, SignupWorld, EMAIL, PASSWORD};

const PHONE: &str = "106540352242922";
const COMPANY: &str = "Panadería Ana";

async fn registered(w: &SignupWorld, dir: &std::path::Path, secrets: &MemoryStore) -> Device {
    let d = Device::open(dir, secrets, &PassphraseSource::none(), "Front desk")
        .await
        .unwrap();
    d.register(RegisterInput {
        relay_url: w.base.clone(),
        name: "Ana Owner".into(),
        email: EMAIL.into(),
        company: COMPANY.into(),
        password: PASSWORD.into(),
    })
    .await
    .unwrap();
    d
}

/// A contact of `workspace` with `n` messages (inbound at even positions) at `ts0 + i`.
async fn contact(d: &Device, workspace: &str, wa_id: &str, name: Option<&str>, n: usize) -> i64 {
    let store = d.store();
    store.upsert_workspace(workspace, COMPANY).await.unwrap();
    store
        .upsert_phone_number(&PhoneNumberInput {
            id: format!("{PHONE}{workspace}"),
            workspace_id: workspace.into(),
            waba_id: "102290129340398".into(),
            display_phone_number: Some("15550783881".into()),
            verified_name: None,
        })
        .await
        .unwrap();
    let id = store
        .upsert_contact(&ContactInput {
            workspace_id: workspace.into(),
            wa_id: Some(wa_id.into()),
            profile_name: name.map(Into::into),
            ..ContactInput::default()
        })
        .await
        .unwrap();
    let conversation = store
        .ensure_conversation(workspace, &format!("{PHONE}{workspace}"), id)
        .await
        .unwrap();
    let messages: Vec<NewMessage> = (0..n)
        .map(|i| NewMessage {
            conversation_id: conversation,
            wamid: format!("wamid.{wa_id}.{i}"),
            direction: if i % 2 == 0 {
                Direction::In
            } else {
                Direction::Out
            },
            origin: Origin::Cloud,
            kind: "text".into(),
            ts: 1_700_000_000 + i as i64,
            from_id: (i % 2 == 0).then(|| wa_id.to_string()),
            text_body: Some(format!("message {i} from {wa_id}")),
            raw_json: json!({"id": format!("wamid.{wa_id}.{i}")}).to_string(),
            ..NewMessage::default()
        })
        .collect();
    store.insert_messages(&messages).await.unwrap();
    id
}

fn drain(events: &mut tokio::sync::broadcast::Receiver<DeviceEvent>) -> Vec<DeviceEvent> {
    let mut out = Vec::new();
    while let Ok(e) = events.try_recv() {
        out.push(e);
    }
    out
}

#[tokio::test]
async fn contacts_are_found_corrected_restricted_exported_and_erased() {
    let w = SignupWorld::start("cfg-privacy").await;
    let data = tempfile::tempdir().unwrap();
    let secrets = MemoryStore::new();
    let d = registered(&w, data.path(), &secrets).await;
    let ws = d.workspace_id().await.unwrap();
    let ana = contact(&d, &ws, "5511987654321", Some("Ana Souza"), 3).await;
    let bruno = contact(&d, &ws, "15550001111", Some("bruno"), 1).await;
    let unnamed = contact(&d, &ws, "4915112345678", None, 0).await;
    // Another workspace's contact (an earlier account on this device) stays out of reach.
    let stranger = contact(&d, "ws-other", "15559990000", Some("Anabel"), 1).await;

    // Sorted by name, paged by keyset.
    let first = d.contacts("", None, 2).await.unwrap();
    let names: Vec<&str> = first
        .items
        .iter()
        .map(|c| c.contact.name.as_str())
        .collect();
    assert_eq!(names, ["+4915112345678", "Ana Souza"]);
    let next: ContactCursor = first.next.clone().expect("a second page");
    let second = d.contacts("", Some(next), 2).await.unwrap();
    assert_eq!(second.items.len(), 1);
    assert_eq!(second.items[0].contact.id, bruno);
    assert!(second.next.is_none());

    // Search by name (case-insensitive) and by a piece of the number; wildcards are literal.
    let by_name = d.contacts("SOUZA", None, 50).await.unwrap();
    assert_eq!(by_name.items.len(), 1);
    assert_eq!(by_name.items[0].contact.id, ana);
    let by_number = d.contacts("+55 11 98765", None, 50).await.unwrap();
    assert_eq!(by_number.items.len(), 1);
    assert_eq!(by_number.items[0].contact.id, ana);
    assert!(d.contacts("%", None, 50).await.unwrap().items.is_empty());
    // Letters and digits together are a name: no number search for the digits.
    assert!(d
        .contacts("bruno 1", None, 50)
        .await
        .unwrap()
        .items
        .is_empty());
    assert!(d
        .contacts("Anabel", None, 50)
        .await
        .unwrap()
        .items
        .is_empty());

    let detail = d.contact(ana).await.unwrap();
    assert_eq!(detail.message_count, 3);
    assert_eq!(detail.profile_name.as_deref(), Some("Ana Souza"));
    assert!(detail.conversation_id.is_some());
    assert_eq!(d.contact(unnamed).await.unwrap().message_count, 0);
    assert!(matches!(
        d.contact(stranger).await,
        Err(DeviceError::NotFound(_))
    ));
    assert!(matches!(
        d.rename_contact(stranger, Some("x")).await,
        Err(DeviceError::NotFound(_))
    ));

    // Corrections: a name of the business's own, then cleared (the profile name is back).
    let mut events = d.subscribe();
    let renamed = d.rename_contact(ana, Some("  Ana S.  ")).await.unwrap();
    assert_eq!(renamed.contact.name, "Ana S.");
    assert_eq!(renamed.display_name.as_deref(), Some("Ana S."));
    assert!(drain(&mut events).contains(&DeviceEvent::InboxChanged {
        conversation_ids: vec![detail.conversation_id.unwrap()]
    }));
    let cleared = d.rename_contact(ana, Some("   ")).await.unwrap();
    assert_eq!(cleared.contact.name, "Ana Souza");
    assert!(cleared.display_name.is_none());
    assert!(matches!(
        d.rename_contact(ana, Some(&"x".repeat(300))).await,
        Err(DeviceError::InvalidInput(_))
    ));
    assert_eq!(d.contact(ana).await.unwrap().contact.name, "Ana Souza");

    let restricted = d.set_contact_restricted(bruno, true).await.unwrap();
    assert!(restricted.contact.restricted);
    assert!(
        !d.set_contact_restricted(bruno, false)
            .await
            .unwrap()
            .contact
            .restricted
    );

    // Export into a folder that does not exist yet; a second export gets a new name.
    let downloads = data.path().join("Downloads");
    let exported = d.export_contact(ana, &downloads).await.unwrap();
    let path = std::path::PathBuf::from(&exported.path);
    assert!(path.exists(), "{path:?}");
    let file_name = path.file_name().unwrap().to_string_lossy().into_owned();
    assert!(
        file_name.starts_with("DataOptix export – Ana Souza – ") && file_name.ends_with(".zip"),
        "{file_name}"
    );
    assert_eq!(exported.contacts, 1);
    assert_eq!(exported.messages, 3);
    let progress = drain(&mut events)
        .into_iter()
        .filter(|e| matches!(e, DeviceEvent::ExportProgress(_)))
        .count();
    assert!(progress >= 2, "export progress was announced");
    let again = d.export_contact(ana, &downloads).await.unwrap();
    assert_ne!(again.path, exported.path);
    assert!(again.path.ends_with(" (2).zip"), "{}", again.path);
    assert!(std::path::Path::new(&exported.path).exists());
    let everything = d.export_everything(&downloads).await.unwrap();
    assert_eq!(everything.contacts, 3, "this workspace's contacts only");
    assert!(everything.path.contains(COMPANY), "{}", everything.path);

    // Erasure: gone from the list and the detail, the inbox told to refresh.
    let erased = d.erase_contact(ana).await.unwrap();
    assert_eq!(erased.messages, 3);
    assert_eq!(erased.conversations, 1);
    assert!(matches!(
        d.contact(ana).await,
        Err(DeviceError::NotFound(_))
    ));
    assert!(d
        .contacts("souza", None, 50)
        .await
        .unwrap()
        .items
        .is_empty());
    assert!(drain(&mut events).contains(&DeviceEvent::InboxChanged {
        conversation_ids: Vec::new()
    }));
    assert!(matches!(
        d.erase_contact(ana).await,
        Err(DeviceError::NotFound(_))
    ));

    // Every change is in the activity log, newest first, paged, without names.
    let page = d.activity(None, 3).await.unwrap();
    assert_eq!(page.items.len(), 3);
    assert_eq!(page.items[0].action, "privacy.erase_contact");
    assert_eq!(page.items[0].actor, format!("Ana Owner <{EMAIL}>"));
    assert!(page.items.windows(2).all(|p| p[0].id > p[1].id));
    let older = d.activity(page.next, 100).await.unwrap();
    let actions: Vec<&str> = older.items.iter().map(|e| e.action.as_str()).collect();
    assert!(actions.contains(&"privacy.restrict_contact"), "{actions:?}");
    assert!(actions.contains(&"privacy.correct_contact"), "{actions:?}");
    assert!(older.next.is_none());
    let all = page.items.iter().chain(&older.items);
    assert!(all.clone().all(|e| !e.details.contains("Ana S.")));
    let integrity = d.verify_activity().await.unwrap();
    assert!(integrity.intact);
    assert_eq!(integrity.broken_at, None);
    assert_eq!(
        integrity.entries as usize,
        page.items.len() + older.items.len()
    );

    // Someone edits the log behind the app's back: the check names the entry.
    let victim = older.items.last().unwrap().id;
    sqlx::query("DROP TRIGGER activity_log_no_update")
        .execute(d.store().pool())
        .await
        .unwrap();
    sqlx::query("UPDATE activity_log SET actor = 'nobody' WHERE id = ?")
        .bind(victim)
        .execute(d.store().pool())
        .await
        .unwrap();
    let integrity = d.verify_activity().await.unwrap();
    assert!(!integrity.intact);
    assert_eq!(integrity.broken_at, Some(victim));
    w.stop().await;
}

#[tokio::test]
async fn retention_is_validated_stored_and_applied() {
    let w = SignupWorld::start("cfg-retention").await;
    let data = tempfile::tempdir().unwrap();
    let secrets = MemoryStore::new();
    let d = registered(&w, data.path(), &secrets).await;
    let ws = d.workspace_id().await.unwrap();
    // Messages from 2023: older than any limit below.
    let old = contact(&d, &ws, "15550002222", Some("Old Customer"), 4).await;

    assert_eq!(d.retention().await.unwrap(), RetentionSettings::default());
    for bad in [Some(0), Some(36_501)] {
        let refused = d
            .set_retention(RetentionSettings {
                messages_days: bad,
                ..RetentionSettings::default()
            })
            .await;
        assert!(
            matches!(refused, Err(DeviceError::InvalidInput(_))),
            "{bad:?}"
        );
    }
    assert_eq!(d.retention().await.unwrap(), RetentionSettings::default());
    // Keeping everything deletes nothing.
    let nothing = d.apply_retention().await.unwrap();
    assert_eq!(nothing.messages, 0);
    assert_eq!(d.contact(old).await.unwrap().message_count, 4);

    let policy = RetentionSettings {
        messages_days: Some(30),
        media_days: Some(7),
        raw_events_days: None,
    };
    assert_eq!(d.set_retention(policy).await.unwrap(), policy);
    assert_eq!(d.retention().await.unwrap(), policy);
    let mut events = d.subscribe();
    let applied = d.apply_retention().await.unwrap();
    assert_eq!(applied.messages, 4);
    assert_eq!(d.contact(old).await.unwrap().message_count, 0);
    assert!(drain(&mut events).contains(&DeviceEvent::InboxChanged {
        conversation_ids: Vec::new()
    }));
    let log = d.activity(None, 10).await.unwrap();
    assert_eq!(log.items[0].action, "privacy.retention_applied");
    assert_eq!(log.items[1].action, "privacy.retention_policy");
    assert!(d.verify_activity().await.unwrap().intact);
    w.stop().await;
}

#[tokio::test]
async fn retention_runs_on_the_background_timer_until_the_background_stops() {
    let w = SignupWorld::start("cfg-retention-timer").await;
    let data = tempfile::tempdir().unwrap();
    let secrets = MemoryStore::new();
    let d = registered(&w, data.path(), &secrets).await;
    let ws = d.workspace_id().await.unwrap();
    // Messages from 2023, older than the policy's 30 days.
    let old = contact(&d, &ws, "15550006666", Some("Old Customer"), 4).await;
    d.set_retention(RetentionSettings {
        messages_days: Some(30),
        ..RetentionSettings::default()
    })
    .await
    .unwrap();
    // The app's schedule is a minute, then every 6 hours; the same timer, shortened.
    let every = Duration::from_millis(200);
    d.set_retention_schedule(RetentionSchedule {
        first_after: Duration::from_millis(100),
        every,
    });
    let mut events = d.subscribe();

    // Nobody calls apply: the background does.
    d.start_background().await.unwrap();
    eventually("the timer's retention run", async || {
        (d.contact(old).await.unwrap().message_count == 0).then_some(())
    })
    .await;
    // Open views are told (just after the run's last commit, which the probe above saw).
    tokio::time::timeout(Duration::from_secs(10), async {
        while !matches!(
            events.recv().await,
            Ok(DeviceEvent::InboxChanged { conversation_ids }) if conversation_ids.is_empty()
        ) {}
    })
    .await
    .expect("views told to refresh");
    // The run logs after its last commit (the sync applying the policy's own event may have
    // told the views first).
    eventually("the run in the activity log", async || {
        let log = d.activity(None, 50).await.unwrap().items;
        log.iter()
            .any(|e| e.action == "privacy.retention_applied")
            .then_some(())
    })
    .await;
    let log = d.activity(None, 50).await.unwrap().items;
    let runs: Vec<&ActivityView> = log
        .iter()
        .filter(|e| e.action == "privacy.retention_applied")
        .collect();
    // Runs that deleted nothing (the timer's later ticks) are not logged.
    assert_eq!(runs.len(), 1, "{log:?}");
    assert_eq!(runs[0].actor, "retention", "the timer's actor");
    let details: serde_json::Value = serde_json::from_str(&runs[0].details).unwrap();
    assert_eq!(details["deleted"]["messages"], 4);

    // Stopped with the background: old data arriving now stays through many ticks.
    d.stop_background().await;
    let later = contact(&d, &ws, "15550007777", Some("Later Customer"), 2).await;
    tokio::time::sleep(every * 5).await;
    assert_eq!(d.contact(later).await.unwrap().message_count, 2);

    // "Apply now" does the same, logged under the member's name: told apart from the timer.
    let applied = d.apply_retention().await.unwrap();
    assert_eq!(applied.messages, 2);
    let newest = &d.activity(None, 1).await.unwrap().items[0];
    assert_eq!(newest.action, "privacy.retention_applied");
    assert_eq!(newest.actor, format!("Ana Owner <{EMAIL}>"));

    // Started again with the timer's run due at once: "Apply now" clicked while that run is
    // deleting waits for it to finish (and then finds nothing left) instead of running beside
    // it and reporting a part, and each message is deleted once.
    let third = contact(&d, &ws, "15550008888", Some("Third Customer"), 5000).await;
    d.set_retention_schedule(RetentionSchedule {
        first_after: Duration::ZERO,
        every: Duration::from_secs(3600),
    });
    d.start_background().await.unwrap();
    // Mid-run: the first of its ten batches committed.
    while d.contact(third).await.unwrap().message_count == 5000 {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let manual = d.apply_retention().await.unwrap();
    assert_eq!(manual.messages, 0, "{manual:?}");
    assert_eq!(d.contact(third).await.unwrap().message_count, 0);
    d.stop_background().await;
    let log = d.activity(None, 500).await.unwrap().items;
    let deleted: u64 = log
        .iter()
        .filter(|e| e.action == "privacy.retention_applied")
        .map(|e| {
            let details: serde_json::Value = serde_json::from_str(&e.details).unwrap();
            details["deleted"]["messages"].as_u64().unwrap()
        })
        .sum();
    assert_eq!(deleted, 4 + 2 + 5000);
    assert!(d.verify_activity().await.unwrap().intact);
    w.stop().await;
}

/// The activity entries of `action`, oldest first.
/// A second device ("Laptop") of a member `d` invited with `role`; keep the directory alive.
/// The device of `dir` restarted after its workspace was deleted: it comes up knowing it, and
/// starting the background work (as the app does) changes nothing.
async fn reopened_knowing_it_is_deleted(dir: &std::path::Path, secrets: &MemoryStore) -> Device {
    let d = Device::open(dir, secrets, &PassphraseSource::none(), "Restarted")
        .await
        .unwrap();
    assert_eq!(d.sync_state(), SyncState::WorkspaceDeleted);
    d.start_background().await.unwrap();
    d
}

/// Fails naming what is left in `dir` unless nothing is.
fn assert_empty(dir: &std::path::Path) {
    let left: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

async fn joined_laptop(
    d: &Device,
    email: &str,
    role: protocol::auth::Role,
    name: &str,
    secrets: &MemoryStore,
) -> (tempfile::TempDir, Device) {
    let link = d.invite(email, role).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let laptop = Device::open(dir.path(), secrets, &PassphraseSource::none(), "Laptop")
        .await
        .unwrap();
    laptop
        .join(JoinInput {
            invite_link: link,
            name: name.into(),
            password: PASSWORD.into(),
        })
        .await
        .unwrap();
    (dir, laptop)
}

async fn entries(d: &Device, action: &str) -> Vec<ActivityView> {
    let mut found: Vec<ActivityView> = d
        .activity(None, 500)
        .await
        .unwrap()
        .items
        .into_iter()
        .filter(|e| e.action == action)
        .collect();
    found.reverse();
    found
}

#[tokio::test]
async fn sign_ins_sends_and_broadcasts_are_logged_without_what_was_sent_to_whom() {
    let w = SignupWorld::start("cfg-activity").await;
    let data = tempfile::tempdir().unwrap();
    let secrets = MemoryStore::new();
    let d = connected_device(&w, data.path(), &secrets).await;
    let ws = d.workspace_id().await.unwrap();
    let ana = format!("Ana Owner <{EMAIL}>");
    let workspace = format!("workspace:{ws}");

    let registered = entries(&d, "account.register").await;
    assert_eq!(registered.len(), 1);
    assert_eq!(registered[0].actor, ana);
    assert_eq!(registered[0].subject.as_deref(), Some(workspace.as_str()));
    let details: serde_json::Value = serde_json::from_str(&registered[0].details).unwrap();
    assert_eq!(details["device"], "Front desk");
    assert_eq!(details["role"], "owner");
    assert!(!details["session_id"].as_str().unwrap().is_empty());

    // A customer writes; the member answers with text, a template and a photo.
    d.start_background().await.unwrap();
    sim_post(
        &w,
        "/inbound",
        json!({"from": "16505551234", "name": "Sheena Nelson", "type": "text",
               "text": {"body": "Is the sourdough ready?"}}),
    )
    .await;
    let conversation = eventually("the customer's conversation", async || {
        let page = d
            .conversations(&Default::default(), None, 10)
            .await
            .unwrap();
        page.items.first().map(|c| c.id)
    })
    .await;
    let sheena: i64 = sqlx::query_scalar("SELECT contact_id FROM conversations WHERE id = ?")
        .bind(conversation)
        .fetch_one(d.store().pool())
        .await
        .unwrap();
    let text = d
        .send(
            conversation,
            Outgoing::Text {
                body: "Your sourdough is ready, Sheena".into(),
                preview_url: false,
            },
            None,
        )
        .await
        .unwrap();
    d.send(
        conversation,
        Outgoing::Template {
            name: "order_ready".into(),
            language: "en_US".into(),
            params: vec!["Sheena".into(), "#4711".into()],
            header_params: Vec::new(),
            header_media: None,
            button_params: Vec::new(),
        },
        None,
    )
    .await
    .unwrap();
    let photo = data.path().join("cake.png");
    std::fs::write(&photo, dataoptix_sim::assets::PNG.bytes).unwrap();
    d.send_attachment(
        conversation,
        AttachmentInput {
            path: photo.display().to_string(),
            caption: Some("Birthday cake for Sheena".into()),
            filename: None,
            voice: false,
        },
        None,
    )
    .await
    .unwrap();

    let sends = entries(&d, "message.send").await;
    let kinds: Vec<String> = sends
        .iter()
        .map(|e| {
            let details: serde_json::Value = serde_json::from_str(&e.details).unwrap();
            assert_eq!(details["conversation_id"], conversation);
            assert!(details["outbox_id"].as_i64().unwrap() > 0);
            details["kind"].as_str().unwrap().to_owned()
        })
        .collect();
    assert_eq!(kinds, ["text", "template", "image"]);
    for e in &sends {
        assert_eq!(e.actor, ana);
        assert_eq!(
            e.subject.as_deref(),
            Some(format!("contact:{sheena}").as_str())
        );
    }
    let first: serde_json::Value = serde_json::from_str(&sends[0].details).unwrap();
    let item: i64 = sqlx::query_scalar("SELECT id FROM outbox WHERE message_id = ?")
        .bind(text.id)
        .fetch_one(d.store().pool())
        .await
        .unwrap();
    assert_eq!(first["outbox_id"], item);

    // A broadcast is one entry, with counts: not one per recipient.
    let csv = "name,phone,order\nCarla Broadcast,+44 7700 900003,#3\nDan,+44 7700 900004,#4\n";
    let broadcast = d
        .create_broadcast(order_ready(
            "Pickup reminders",
            RecipientSource::Csv { text: csv.into() },
        ))
        .await
        .unwrap();
    let started = entries(&d, "broadcast.start").await;
    assert_eq!(started.len(), 1);
    assert_eq!(started[0].actor, ana);
    assert_eq!(
        started[0].subject.as_deref(),
        Some(format!("broadcast:{}", broadcast.id).as_str())
    );
    let details: serde_json::Value = serde_json::from_str(&started[0].details).unwrap();
    assert_eq!(details["template"], "order_ready");
    assert_eq!(details["recipients"], 2);
    assert_eq!(details["excluded"], 0);
    assert_eq!(entries(&d, "message.send").await.len(), 3);

    // Erasing the customer: the log keeps its entries (it is never edited), and none of them
    // holds anything the erasure removed: no text, caption, number or name.
    d.erase_contact(sheena).await.unwrap();
    assert_eq!(entries(&d, "message.send").await.len(), 3);
    let mut jsonl = Vec::new();
    dataoptix_core::privacy::activity::export_jsonl(d.store(), &mut jsonl)
        .await
        .unwrap();
    let whole_log = String::from_utf8(jsonl).unwrap();
    for erased in [
        "sourdough",
        "Sheena",
        "Birthday",
        "16505551234",
        "#4711",
        "Carla",
        "447700900003",
    ] {
        assert!(!whole_log.contains(erased), "{erased:?} in {whole_log}");
    }

    // Signing out and in again, and a new member joining on another device.
    d.sign_out().await.unwrap();
    let out = entries(&d, "account.sign_out").await;
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].actor, ana, "logged while the member was still known");
    d.sign_in(SignInInput {
        relay_url: w.base.clone(),
        email: EMAIL.into(),
        password: PASSWORD.into(),
    })
    .await
    .unwrap();
    let signed_in = entries(&d, "account.sign_in").await;
    assert_eq!(signed_in.len(), 1);
    assert_eq!(signed_in[0].actor, ana);
    assert_eq!(signed_in[0].subject.as_deref(), Some(workspace.as_str()));
    // Nothing brings the erased customer back: this device's own `message_sent` events,
    // logged before the erasure and coming back from the relay after it, are not applied (the
    // tombstone), so the erasure's own event finds nothing to erase and logs nothing.
    let newest: Vec<String> = d
        .activity(None, 3)
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|e| e.action)
        .collect();
    assert_eq!(
        newest,
        [
            "account.sign_in",
            "account.sign_out",
            "privacy.erase_contact"
        ]
    );

    let (_laptop_dir, laptop) = joined_laptop(
        &d,
        "bo@example.com",
        protocol::auth::Role::Agent,
        "Bo Agent",
        &MemoryStore::new(),
    )
    .await;
    // An agent may not erase a customer (it reaches every device) nor set or apply retention.
    let laptop_ws = laptop.workspace_id().await.unwrap();
    let dora = contact(&laptop, &laptop_ws, "15550004444", Some("Dora"), 1).await;
    assert!(matches!(
        laptop.erase_contact(dora).await,
        Err(DeviceError::Forbidden)
    ));
    assert!(laptop.contact(dora).await.is_ok(), "nothing was erased");
    assert!(matches!(
        laptop
            .set_retention(RetentionSettings {
                messages_days: Some(1),
                media_days: None,
                raw_events_days: None,
            })
            .await,
        Err(DeviceError::Forbidden)
    ));
    assert!(matches!(
        laptop.apply_retention().await,
        Err(DeviceError::Forbidden)
    ));
    let joined = entries(&laptop, "account.join").await;
    assert_eq!(joined.len(), 1);
    assert_eq!(joined[0].actor, "Bo Agent <bo@example.com>");
    let details: serde_json::Value = serde_json::from_str(&joined[0].details).unwrap();
    assert_eq!(
        (&details["device"], &details["role"]),
        (&json!("Laptop"), &json!("agent"))
    );
    assert!(d.verify_activity().await.unwrap().intact);
    assert!(laptop.verify_activity().await.unwrap().intact);
    laptop.stop_background().await;
    d.stop_background().await;
    w.stop().await;
}

#[tokio::test]
async fn an_erasure_by_an_admin_demoted_meanwhile_stays_on_that_device_and_the_log_says_so() {
    let w = SignupWorld::start("cfg-demoted").await;
    let data = tempfile::tempdir().unwrap();
    let secrets = MemoryStore::new();
    let d = registered(&w, data.path(), &secrets).await;
    let (_laptop_dir, laptop) = joined_laptop(
        &d,
        "cy@example.com",
        protocol::auth::Role::Admin,
        "Cy Admin",
        &MemoryStore::new(),
    )
    .await;
    // The owner takes the role away; the laptop's session still says admin.
    let cy = d
        .team()
        .await
        .unwrap()
        .members
        .into_iter()
        .find(|m| m.email == "cy@example.com")
        .unwrap();
    d.change_role(&cy.id, "agent").await.unwrap();

    let ws = laptop.workspace_id().await.unwrap();
    let dora = contact(&laptop, &ws, "15550004444", Some("Dora"), 1).await;
    laptop.erase_contact(dora).await.unwrap();
    // Erased here; the relay refused the marked event, which no longer holds up the queue,
    // and the laptop's activity log says the team never got it.
    assert!(laptop.contact(dora).await.is_err());
    let pending: i64 = sqlx::query_scalar("SELECT count(*) FROM pending_events")
        .fetch_one(laptop.store().pool())
        .await
        .unwrap();
    assert_eq!(pending, 0);
    let refused = entries(&laptop, "team.change_refused").await;
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert_eq!(refused[0].actor, "Cy Admin");
    assert_eq!(refused[0].subject.as_deref(), Some("contact_erased"));
    let details: serde_json::Value = serde_json::from_str(&refused[0].details).unwrap();
    assert_eq!(details["event"], json!("contact_erased"));
    assert!(laptop.verify_activity().await.unwrap().intact);
    // The team's log holds nothing of it.
    let syncer = d.syncer().await.unwrap();
    let page = syncer
        .client()
        .events(0, 1000, std::time::Duration::ZERO)
        .await
        .unwrap();
    assert!(
        page.events
            .iter()
            .all(|e| e.kind != protocol::events::EventKind::DeviceManager),
        "a refused erasure reached the log"
    );
    laptop.stop_background().await;
    d.stop_background().await;
    w.stop().await;
}

#[tokio::test]
async fn deleting_the_account_removes_it_at_the_relay_and_erases_this_device() {
    let w = SignupWorld::start("cfg-delete").await;
    let data = tempfile::tempdir().unwrap();
    let secrets = MemoryStore::new();
    let d = registered(&w, data.path(), &secrets).await;
    let ws = d.workspace_id().await.unwrap();
    contact(&d, &ws, "15550003333", Some("Carla"), 2).await;
    let info = Vault::info(data.path()).unwrap().unwrap();
    assert!(secrets.get(&info.keyring_entry()).unwrap().is_some());

    // A wrong confirmation changes nothing, here or at the relay.
    for typed in ["", "Panaderia", "someone@example.com"] {
        assert!(matches!(
            d.delete_account(typed, &secrets).await,
            Err(DeviceError::InvalidInput(_))
        ));
    }
    assert_eq!(d.contacts("", None, 10).await.unwrap().items.len(), 1);

    let deleted = d
        .delete_account(&format!("  {}  ", COMPANY.to_uppercase()), &secrets)
        .await
        .unwrap();
    assert!(deleted.keyring_entry_deleted);
    assert!(secrets.get(&info.keyring_entry()).unwrap().is_none());
    assert!(
        deleted.removed.contains(&"dataoptix.db".to_string()),
        "{deleted:?}"
    );
    assert_empty(data.path());

    // The relay forgot the account: signing in is refused.
    let fresh = tempfile::tempdir().unwrap();
    let other = Device::open(
        fresh.path(),
        &MemoryStore::new(),
        &PassphraseSource::none(),
        "x",
    )
    .await
    .unwrap();
    let refused = other
        .sign_in(SignInInput {
            relay_url: w.base.clone(),
            email: EMAIL.into(),
            password: PASSWORD.into(),
        })
        .await;
    assert!(
        matches!(refused, Err(DeviceError::Unauthenticated(_))),
        "{refused:?}"
    );

    // The data directory starts over: a first run, signed out.
    let again = Device::open(
        data.path(),
        &secrets,
        &PassphraseSource::none(),
        "Front desk",
    )
    .await
    .unwrap();
    assert!(again.account().await.unwrap().is_none());
    assert!(matches!(
        again.contacts("", None, 10).await,
        Err(DeviceError::SignedOut)
    ));
    w.stop().await;
}

#[tokio::test]
async fn a_teammates_device_learns_its_workspace_was_deleted_and_may_erase_its_copy() {
    let w = SignupWorld::start("cfg-gone").await;
    let data = tempfile::tempdir().unwrap();
    let secrets = MemoryStore::new();
    let d = registered(&w, data.path(), &secrets).await;
    let laptop_secrets = MemoryStore::new();
    let (laptop_dir, laptop) = joined_laptop(
        &d,
        "dee@example.com",
        protocol::auth::Role::Admin,
        "Dee Admin",
        &laptop_secrets,
    )
    .await;
    laptop.start_background().await.unwrap();
    let ws = laptop.workspace_id().await.unwrap();
    contact(&laptop, &ws, "15550005555", Some("Eli"), 1).await;
    // Not while the workspace lives.
    assert!(matches!(
        laptop.erase_deleted_workspace(&laptop_secrets).await,
        Err(DeviceError::InvalidInput(_))
    ));

    d.delete_account(COMPANY, &secrets).await.unwrap();
    // The relay tells the laptop why its session ended (its open stream is cut at once).
    eventually("the laptop told its workspace is gone", async || {
        (laptop.sync_state() == SyncState::WorkspaceDeleted).then_some(())
    })
    .await;
    assert_eq!(laptop.contacts("", None, 10).await.unwrap().items.len(), 1);

    // Restarted, with the relay out of reach, the laptop knows it before anything runs:
    // nothing starts (the outbox would send what is queued), and erasing stays possible.
    laptop.stop_background().await;
    drop(laptop);
    w.stop().await;
    let laptop = reopened_knowing_it_is_deleted(laptop_dir.path(), &laptop_secrets).await;
    // A sync loop, had one started, would be connecting or offline by now.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(laptop.sync_state(), SyncState::WorkspaceDeleted);
    assert_eq!(laptop.contacts("", None, 10).await.unwrap().items.len(), 1);
    // Nor does anything that acts on customers or Meta run when asked (the CLI asks).
    assert!(matches!(
        laptop.flush_outbox().await,
        Err(DeviceError::WorkspaceDeleted)
    ));
    assert!(matches!(
        laptop.fetch_media_now().await,
        Err(DeviceError::WorkspaceDeleted)
    ));
    // An admin's changes at Meta neither (the stored token still works there).
    assert!(matches!(
        laptop.delete_template(1).await,
        Err(DeviceError::WorkspaceDeleted)
    ));
    // Signing out would forget the deletion (and the way to erase).
    assert!(matches!(
        laptop.sign_out().await,
        Err(DeviceError::WorkspaceDeleted)
    ));

    let erased = laptop
        .erase_deleted_workspace(&laptop_secrets)
        .await
        .unwrap();
    assert!(erased.keyring_entry_deleted, "{erased:?}");
    assert_empty(laptop_dir.path());
}

/// The owner's own device: the erasure after the account's deletion stops halfway (a media
/// file that cannot be removed). Restarted, with the relay gone, the device knows the
/// workspace is gone (nothing starts), and erasing finishes. Linux, as root (`chattr`).
#[cfg(target_os = "linux")]
#[tokio::test]
async fn an_erasure_stopped_halfway_after_the_deletion_can_be_finished_after_a_restart() {
    let w = SignupWorld::start("cfg-halfway").await;
    let data = tempfile::tempdir().unwrap();
    let secrets = MemoryStore::new();
    let d = registered(&w, data.path(), &secrets).await;
    let media = data.path().join("media");
    std::fs::create_dir_all(&media).unwrap();
    let stuck = media.join("stuck.bin");
    std::fs::write(&stuck, b"a photo").unwrap();
    let immutable = testkit::Immutable::set(&stuck);
    let stopped = d.delete_account(COMPANY, &secrets).await;
    assert!(
        matches!(stopped, Err(DeviceError::Internal(_))),
        "{stopped:?}"
    );
    drop(d);
    drop(immutable);
    w.stop().await;

    let d = reopened_knowing_it_is_deleted(data.path(), &secrets).await;
    assert_eq!(d.sync_state(), SyncState::WorkspaceDeleted);
    d.erase_deleted_workspace(&secrets).await.unwrap();
    assert_empty(data.path());
}

/// A deletion noted by an earlier answer holds across restarts only until the relay takes a
/// session of that workspace again (a relay restored from a backup, say): then the device
/// works as before, also after the next restart.
#[tokio::test]
async fn a_deletion_noted_earlier_is_cleared_by_a_new_sign_in_to_that_workspace() {
    let w = SignupWorld::start("cfg-noted").await;
    let data = tempfile::tempdir().unwrap();
    let secrets = MemoryStore::new();
    let d = registered(&w, data.path(), &secrets).await;
    let ws = d.workspace_id().await.unwrap();
    d.store()
        .set_setting(&format!("workspace_deleted:{ws}"), &json!(1))
        .await
        .unwrap();
    drop(d);
    let reopen = async || {
        Device::open(
            data.path(),
            &secrets,
            &PassphraseSource::none(),
            "Front desk",
        )
        .await
        .unwrap()
    };
    let d = reopen().await;
    assert_eq!(d.sync_state(), SyncState::WorkspaceDeleted);
    let sign_in = SignInInput {
        relay_url: w.base.clone(),
        email: EMAIL.into(),
        password: PASSWORD.into(),
    };
    d.sign_in(sign_in.clone()).await.unwrap();
    assert_eq!(d.sync_state(), SyncState::Connecting);
    drop(d);
    let d = reopen().await;
    assert_eq!(d.sync_state(), SyncState::Connecting);
    assert!(d.flush_outbox().await.is_ok());

    // A copy of another workspace its owner deleted is erased before this device serves a
    // workspace again (the outbox would send what is queued for the old one).
    d.store()
        .set_setting("workspace_deleted:another-workspace", &json!(1))
        .await
        .unwrap();
    assert!(matches!(
        d.sign_in(sign_in).await,
        Err(DeviceError::WorkspaceDeleted)
    ));
    w.stop().await;
}

#[tokio::test]
async fn nothing_local_is_erased_when_the_relay_cannot_delete_the_account() {
    let w = SignupWorld::start("cfg-delete-offline").await;
    let data = tempfile::tempdir().unwrap();
    let secrets = MemoryStore::new();
    let d = registered(&w, data.path(), &secrets).await;
    let ws = d.workspace_id().await.unwrap();
    contact(&d, &ws, "15550004444", Some("Dora"), 2).await;
    let base = w.base.clone();
    w.stop().await;

    let refused = d.delete_account(EMAIL, &secrets).await;
    assert!(
        matches!(&refused, Err(DeviceError::RelayUnreachable { url }) if *url == base),
        "{refused:?}"
    );
    // Still signed in, the data and the key where they were.
    assert_eq!(d.contacts("", None, 10).await.unwrap().items.len(), 1);
    assert!(data.path().join("dataoptix.db").exists());
    let info = Vault::info(data.path()).unwrap().unwrap();
    assert!(secrets.get(&info.keyring_entry()).unwrap().is_some());
}
