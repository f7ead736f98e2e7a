//! The device's privacy facade on a real encrypted store of a device registered at a real
//! relay: the contact list (search, paging, workspace scope), corrections and restriction,
//! exports into a folder, erasure, retention, the activity log and its integrity check, and
//! deleting the account (relay and local data).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use dataoptix_core::device::{
    ContactCursor, Device, DeviceError, DeviceEvent, RegisterInput, RetentionSettings, SignInInput,
};
use dataoptix_core::store::{ContactInput, Direction, NewMessage, Origin, PhoneNumberInput};
use dataoptix_core::vault::{MemoryStore, PassphraseSource, SecretStore, Vault};
use serde_json::json;

mod common;
use common::{SignupWorld, EMAIL, PASSWORD};

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
    let left: Vec<_> = std::fs::read_dir(data.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(left.is_empty(), "{left:?}");

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
