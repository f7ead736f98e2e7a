//! Privacy operations on a real encrypted store in a temporary data directory: the activity
//! log's hash chain, retention, export, erasure, corrections.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Read;
use std::path::{Path, PathBuf};

use dataoptix_core::media::file as media_file;
use dataoptix_core::privacy::activity::{self, BrokenAt, VerifyError};
use dataoptix_core::privacy::contacts::{correct_display_name, set_restricted};
use dataoptix_core::privacy::erase::{erase_contact, erase_everything};
use dataoptix_core::privacy::export::{
    export, ExportProgress, ExportScope, ExportStage, MediaFiles,
};
use dataoptix_core::privacy::retention::{self, RetentionPolicy};
use dataoptix_core::privacy::PrivacyError;
use dataoptix_core::store::{
    ContactInput, Direction, MessageStatus, NewMessage, Origin, PhoneNumberInput, ReactionUpdate,
    Revision, StatusUpdate, Store, DB_FILE,
};
use dataoptix_core::vault::{MemoryStore, PassphraseSource, SecretStore, Vault};
use serde_json::{json, Value};

const WS: &str = "ws-1";
const PHONE: &str = "106540352242922";
/// A word only Maria's messages contain, to look for after erasure.
const MARKER: &str = "zanzibarsourdough";
const HOSTILE: &str = "<script>alert('pwned')</script>";

struct Fixture {
    dir: tempfile::TempDir,
    store: Store,
    vault: Vault,
    secrets: MemoryStore,
}

async fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let secrets = MemoryStore::new();
    let vault = Vault::open(dir.path(), &secrets, &PassphraseSource::none()).unwrap();
    let store = Store::open(&dir.path().join(DB_FILE), &vault.store_key().unwrap())
        .await
        .unwrap();
    store.upsert_workspace(WS, "Panadería Ana").await.unwrap();
    store
        .upsert_phone_number(&PhoneNumberInput {
            id: PHONE.into(),
            workspace_id: WS.into(),
            waba_id: "102290129340398".into(),
            display_phone_number: Some("15550783881".into()),
            verified_name: None,
        })
        .await
        .unwrap();
    Fixture {
        dir,
        store,
        vault,
        secrets,
    }
}

impl Fixture {
    fn data(&self) -> &Path {
        self.dir.path()
    }

    async fn scalar(&self, sql: &str) -> i64 {
        sqlx::query_scalar(sql)
            .fetch_one(self.store.pool())
            .await
            .unwrap()
    }

    /// A contact with `n` messages (`text(i)` each, at `ts(i)`), every other one outbound with
    /// statuses, a reaction and an edit on the first, and a media file on the second.
    async fn contact(
        &self,
        wa_id: &str,
        name: &str,
        n: usize,
        text: impl Fn(usize) -> String,
        ts: impl Fn(usize) -> i64,
    ) -> (i64, Vec<String>) {
        let contact = self
            .store
            .upsert_contact(&ContactInput {
                workspace_id: WS.into(),
                wa_id: Some(wa_id.into()),
                profile_name: Some(name.into()),
                ..ContactInput::default()
            })
            .await
            .unwrap();
        let conversation = self
            .store
            .ensure_conversation(WS, PHONE, contact)
            .await
            .unwrap();
        let wamids: Vec<String> = (0..n).map(|i| format!("wamid.{wa_id}.{i}")).collect();
        let messages: Vec<NewMessage> = (0..n)
            .map(|i| {
                let body = text(i);
                NewMessage {
                    conversation_id: conversation,
                    wamid: wamids[i].clone(),
                    direction: if i % 2 == 0 {
                        Direction::In
                    } else {
                        Direction::Out
                    },
                    origin: Origin::Cloud,
                    kind: "text".into(),
                    ts: ts(i),
                    from_id: (i % 2 == 0).then(|| wa_id.to_string()),
                    text_body: Some(body.clone()),
                    raw_json: json!({"id": wamids[i], "text": {"body": body}}).to_string(),
                    ..NewMessage::default()
                }
            })
            .collect();
        self.store.insert_messages(&messages).await.unwrap();
        let statuses: Vec<StatusUpdate> = wamids
            .iter()
            .enumerate()
            .filter(|(i, _)| i % 2 == 1)
            .map(|(i, w)| StatusUpdate {
                wamid: w.clone(),
                status: MessageStatus::parse("delivered").unwrap(),
                ts: ts(i) + 1,
                error_code: None,
                error_title: None,
                raw_json: json!({"id": w, "recipient_id": wa_id}).to_string(),
            })
            .collect();
        self.store.apply_statuses(&statuses).await.unwrap();
        self.store
            .apply_reactions(&[ReactionUpdate {
                message_wamid: wamids[0].clone(),
                reactor: wa_id.into(),
                emoji: Some("❤️".into()),
                ts: ts(0) + 2,
                raw_json: json!({"from": wa_id}).to_string(),
            }])
            .await
            .unwrap();
        self.store
            .apply_revisions(&[Revision {
                wamid: wamids[0].clone(),
                new_text: Some(format!("{} (edited)", text(0))),
                ts: ts(0) + 3,
                raw_json: json!({"from": wa_id}).to_string(),
            }])
            .await
            .unwrap();
        if n > 1 {
            // Encrypted at rest, as the media store writes it.
            let rel = format!("media/{wa_id}-1.bin");
            let key = media_file::file_key(&self.vault, true).unwrap().unwrap();
            media_file::write(
                self.data(),
                &key,
                &rel,
                format!("photo of {}", text(1)).as_bytes(),
            )
            .unwrap();
            sqlx::query(
                "INSERT INTO media (message_id, media_meta_id, path, mime_type, size_bytes,
                                    download_state, updated_at)
                 SELECT id, 'm-1', ?, 'image/jpeg', 10, 'done', 0 FROM messages WHERE wamid = ?",
            )
            .bind(&rel)
            .bind(&wamids[1])
            .execute(self.store.pool())
            .await
            .unwrap();
        }
        (contact, wamids)
    }

    /// Every file under the data directory.
    fn files(&self) -> Vec<PathBuf> {
        fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
            for e in std::fs::read_dir(dir).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    walk(&p, out);
                } else {
                    out.push(p);
                }
            }
        }
        let mut out = Vec::new();
        walk(self.data(), &mut out);
        out
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn db_size(f: &Fixture) -> u64 {
    [DB_FILE.to_string(), format!("{DB_FILE}-wal")]
        .iter()
        .map(|n| std::fs::metadata(f.data().join(n)).map_or(0, |m| m.len()))
        .sum()
}

#[tokio::test]
async fn activity_log_chain_verifies_pages_exports_and_detects_tampering() {
    let f = fixture().await;
    for i in 1..=5 {
        activity::record(
            &f.store,
            "ana",
            "test.action",
            Some(&format!("contact:{i}")),
            &json!({"n": i}),
        )
        .await
        .unwrap();
    }
    activity::verify(&f.store).await.unwrap();

    // Keyset pages, newest first.
    let mut ids = Vec::new();
    let mut before = None;
    loop {
        let page = activity::list(&f.store, before, 2).await.unwrap();
        ids.extend(page.items.iter().map(|e| e.id));
        match page.next {
            Some(n) => before = Some(n),
            None => break,
        }
    }
    assert_eq!(ids, [5, 4, 3, 2, 1]);

    // JSON lines, oldest first, each line a whole entry.
    let mut out = Vec::new();
    assert_eq!(activity::export_jsonl(&f.store, &mut out).await.unwrap(), 5);
    let lines: Vec<Value> = String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines[0]["id"], 1);
    assert_eq!(lines[4]["prev_hash"], lines[3]["hash"]);

    // The triggers refuse edits and deletions outright.
    let update = sqlx::query("UPDATE activity_log SET actor = 'mallory' WHERE id = 3")
        .execute(f.store.pool())
        .await;
    assert!(update.unwrap_err().to_string().contains("append-only"));
    let delete = sqlx::query("DELETE FROM activity_log WHERE id = 3")
        .execute(f.store.pool())
        .await;
    assert!(delete.unwrap_err().to_string().contains("append-only"));

    // Someone with the key drops the trigger and edits a row: the chain breaks right there.
    let mut raw = f.store.pool().acquire().await.unwrap();
    sqlx::query("DROP TRIGGER activity_log_no_update")
        .execute(&mut *raw)
        .await
        .unwrap();
    sqlx::query("UPDATE activity_log SET details_json = '{\"n\":30}' WHERE id = 3")
        .execute(&mut *raw)
        .await
        .unwrap();
    drop(raw);
    match activity::verify(&f.store).await {
        Err(VerifyError::Broken(BrokenAt { id })) => assert_eq!(id, 3),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn activity_log_detects_a_deleted_row() {
    let f = fixture().await;
    for i in 1..=3 {
        activity::record(&f.store, "ana", "test.action", None, &json!({"n": i}))
            .await
            .unwrap();
    }
    sqlx::query("DROP TRIGGER activity_log_no_delete")
        .execute(f.store.pool())
        .await
        .unwrap();
    sqlx::query("DELETE FROM activity_log WHERE id = 2")
        .execute(f.store.pool())
        .await
        .unwrap();
    assert!(matches!(
        activity::verify(&f.store).await,
        Err(VerifyError::Broken(BrokenAt { id: 3 }))
    ));
}

#[tokio::test]
async fn export_of_a_contact_holds_every_row_and_an_escaped_transcript() {
    let f = fixture().await;
    let (maria, _) = f
        .contact(
            "15551230001",
            "Maria <b>Lopez</b>",
            4,
            |i| format!("{HOSTILE} message {i} about {MARKER}"),
            |i| 1_767_225_600 + i as i64,
        )
        .await;
    f.contact(
        "15551230002",
        "Tom",
        2,
        |i| format!("tom {i}"),
        |i| 1_767_225_700 + i as i64,
    )
    .await;
    // A table another feature added (notes), with a contact_id: exported without being known.
    sqlx::query(
        "CREATE TABLE contact_notes (id INTEGER PRIMARY KEY, contact_id INTEGER, body TEXT)",
    )
    .execute(f.store.pool())
    .await
    .unwrap();
    sqlx::query("INSERT INTO contact_notes (contact_id, body) VALUES (?, 'prefers rye')")
        .bind(maria)
        .execute(f.store.pool())
        .await
        .unwrap();

    let dest = f.data().join("exports").join("maria.zip");
    std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
    // A second media message whose download has not finished: listed, not included.
    sqlx::query(
        "INSERT INTO media (message_id, media_meta_id, mime_type, download_state, updated_at)
         SELECT m.id, 'm-2', 'audio/ogg', 'pending', 0 FROM messages m
         JOIN conversations c ON c.id = m.conversation_id
         WHERE c.contact_id = ? ORDER BY m.id DESC LIMIT 1",
    )
    .bind(maria)
    .execute(f.store.pool())
    .await
    .unwrap();
    let mut seen: Vec<ExportProgress> = Vec::new();
    let media = MediaFiles::of(&f.vault).unwrap();
    let report = export(
        &f.store,
        &media,
        "ana",
        &ExportScope::Contact(maria),
        &dest,
        |p| seen.push(p),
    )
    .await
    .unwrap();
    assert_eq!((report.contacts, report.messages), (1, 4));
    assert_eq!(report.media_included.len(), 1);
    assert_eq!(report.media_skipped.len(), 1);
    assert_eq!(report.media_skipped[0].reason, "not downloaded yet");
    assert_eq!(
        seen.last().map(|p| (p.stage, p.done, p.total)),
        Some((ExportStage::Done, 1, 1))
    );
    assert!(seen.iter().any(|p| p.stage == ExportStage::Data));
    assert!(seen
        .iter()
        .any(|p| (p.stage, p.done, p.total) == (ExportStage::Media, 2, 2)));
    assert!(seen.iter().any(|p| p.stage == ExportStage::Transcript));
    assert!(!f.data().join("exports/maria.zip.partial").exists());

    let mut zip = zip::ZipArchive::new(std::fs::File::open(&dest).unwrap()).unwrap();
    // The photo, decrypted, under a name of ours.
    let included = &report.media_included[0];
    assert!(included.file.starts_with("media/") && included.file.ends_with(".jpg"));
    let mut photo = String::new();
    zip.by_name(&included.file)
        .unwrap()
        .read_to_string(&mut photo)
        .unwrap();
    assert!(
        photo.starts_with("photo of ") && photo.contains(MARKER),
        "{photo}"
    );
    assert_eq!(included.size_bytes, photo.len() as u64);
    let mut read = |name: &str| {
        let mut s = String::new();
        zip.by_name(name).unwrap().read_to_string(&mut s).unwrap();
        s
    };
    let data: Value = serde_json::from_str(&read("data.json")).unwrap();
    assert_eq!(data["format"], "dataoptix-export/1");
    let contacts = data["contacts"].as_array().unwrap();
    assert_eq!(contacts.len(), 1);
    let c = &contacts[0];
    assert_eq!(c["contact"]["wa_id"], "15551230001");
    assert_eq!(c["contact"]["opted_out"], 0);
    assert_eq!(c["conversations"].as_array().unwrap().len(), 1);
    let messages = c["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 4);
    // raw_json is there, parsed.
    assert_eq!(
        messages[1]["raw_json"]["text"]["body"],
        format!("{HOSTILE} message 1 about {MARKER}")
    );
    assert_eq!(c["message_statuses"].as_array().unwrap().len(), 2);
    assert_eq!(c["reactions"][0]["emoji"], "❤️");
    assert_eq!(c["message_revisions"].as_array().unwrap().len(), 1);
    assert_eq!(c["media"][0]["mime_type"], "image/jpeg");
    assert_eq!(c["contact_notes"][0]["body"], "prefers rye");
    assert!(!data.to_string().contains("tom 1"), "only Maria");

    let html = read("transcript.html");
    assert!(!html.contains("<script>"), "content is escaped");
    assert!(!html.contains("<b>Lopez"), "names are escaped");
    assert!(html.contains("&lt;script&gt;alert(&#39;pwned&#39;)&lt;/script&gt; message 3"));
    assert!(html.contains("Maria &lt;b&gt;Lopez&lt;/b&gt;"));
    assert!(html.contains("Content-Security-Policy"));
    assert!(html.contains(&format!("<a href=\"{}\">open file</a>", included.file)));
    let manifest: Value = serde_json::from_str(&read("manifest.json")).unwrap();
    assert_eq!(manifest["media"]["skipped"].as_array().unwrap().len(), 1);
    assert_eq!(
        manifest["media"]["included"][0]["file"],
        included.file.as_str()
    );

    // Logged, without content.
    let log = activity::list(&f.store, None, 10).await.unwrap();
    let entry = &log.items[0];
    assert_eq!(entry.action, "privacy.export");
    assert_eq!(
        entry.subject.as_deref(),
        Some(format!("contact:{maria}").as_str())
    );
    assert!(!entry.details_json.contains(MARKER));

    // The whole workspace: both contacts.
    let all = f.data().join("exports/all.zip");
    let report = export(
        &f.store,
        &media,
        "ana",
        &ExportScope::Workspace(WS.into()),
        &all,
        |_| {},
    )
    .await
    .unwrap();
    assert_eq!((report.contacts, report.messages), (2, 6));
    assert_eq!(report.media_included.len(), 2, "both contacts' photos");
    // A media file altered on disk is reported, never exported as it is.
    let tom_photo = f.data().join("media/15551230002-1.bin");
    let mut bytes = std::fs::read(&tom_photo).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    std::fs::write(&tom_photo, bytes).unwrap();
    let report = export(
        &f.store,
        &media,
        "ana",
        &ExportScope::Workspace(WS.into()),
        &f.data().join("exports/all-again.zip"),
        |_| {},
    )
    .await
    .unwrap();
    assert_eq!(report.media_included.len(), 1);
    assert!(report
        .media_skipped
        .iter()
        .any(|m| m.reason.contains("integrity check")));
    // An unknown contact is a clear error, and leaves no file.
    let missing = f.data().join("exports/none.zip");
    assert!(matches!(
        export(
            &f.store,
            &media,
            "ana",
            &ExportScope::Contact(999),
            &missing,
            |_| {}
        )
        .await,
        Err(PrivacyError::ContactNotFound(999))
    ));
    assert!(!missing.exists());
    activity::verify(&f.store).await.unwrap();
}

#[tokio::test]
async fn erasing_a_contact_leaves_no_row_index_entry_file_or_space() {
    let f = fixture().await;
    let filler = "lorem ipsum dolor sit amet ".repeat(80);
    let (maria, maria_wamids) = f
        .contact(
            "15551230001",
            "Maria Lopez",
            400,
            |i| format!("{MARKER} {i} {filler}"),
            |i| 1_767_225_600 + i as i64,
        )
        .await;
    let (tom, _) = f
        .contact(
            "15551230002",
            "Tom Becker",
            3,
            |i| format!("tom says {i}"),
            |i| 1_767_225_600 + i as i64,
        )
        .await;
    f.store.truncate_wal().await.unwrap();
    let size_before = db_size(&f);
    assert!(f.data().join("media/15551230001-1.bin").exists());

    let report = erase_contact(&f.store, f.data(), "ana", maria)
        .await
        .unwrap();
    assert_eq!(report.messages, 400);
    assert_eq!(report.conversations, 1);
    assert_eq!(report.media_files, 1);

    // No row left.
    assert_eq!(
        f.scalar("SELECT count(*) FROM contacts WHERE wa_id = '15551230001'")
            .await,
        0
    );
    assert_eq!(
        f.scalar("SELECT count(*) FROM messages").await,
        3,
        "Tom's only"
    );
    for wamid in &maria_wamids[..2] {
        for sql in [
            "SELECT count(*) FROM message_statuses WHERE wamid = ?",
            "SELECT count(*) FROM reactions WHERE message_wamid = ?",
            "SELECT count(*) FROM message_revisions WHERE wamid = ?",
        ] {
            let n: i64 = sqlx::query_scalar(sql)
                .bind(wamid)
                .fetch_one(f.store.pool())
                .await
                .unwrap();
            assert_eq!(n, 0, "{sql}");
        }
    }
    assert_eq!(
        f.scalar("SELECT count(*) FROM media").await,
        1,
        "Tom's only"
    );
    // No search hit, in messages or contacts.
    let hits = f.store.search(WS, MARKER, None, 10).await.unwrap();
    assert!(
        hits.messages.is_empty() && hits.contacts.is_empty(),
        "{hits:?}"
    );
    let fts: i64 =
        sqlx::query_scalar("SELECT count(*) FROM messages_fts WHERE messages_fts MATCH ?")
            .bind(MARKER)
            .fetch_one(f.store.pool())
            .await
            .unwrap();
    assert_eq!(fts, 0);
    assert_eq!(
        f.scalar("SELECT count(*) FROM contacts_fts WHERE contacts_fts MATCH 'Maria'")
            .await,
        0
    );
    // Tom is untouched.
    assert_eq!(
        f.scalar(&format!("SELECT count(*) FROM contacts WHERE id = {tom}"))
            .await,
        1
    );
    assert!(f.data().join("media/15551230002-1.bin").exists());
    // Space reclaimed: the file shrank by most of Maria's ~800 kB.
    let size_after = db_size(&f);
    assert!(
        size_after + 500_000 < size_before,
        "before {size_before}, after {size_after}"
    );
    // Nothing under the data directory holds the erased text.
    for file in f.files() {
        let bytes = std::fs::read(&file).unwrap();
        assert!(!contains(&bytes, MARKER.as_bytes()), "{}", file.display());
    }
    // Logged, with counts and no content.
    let entry = &activity::list(&f.store, None, 1).await.unwrap().items[0];
    assert_eq!(entry.action, "privacy.erase_contact");
    assert!(!entry.details_json.contains("15551230001"));
    assert!(!entry.details_json.contains(MARKER));
    activity::verify(&f.store).await.unwrap();
    assert!(matches!(
        erase_contact(&f.store, f.data(), "ana", maria).await,
        Err(PrivacyError::ContactNotFound(_))
    ));
}

#[tokio::test]
async fn retention_deletes_old_data_in_batches_and_keeps_the_rest() {
    let f = fixture().await;
    let now = 1_800_000_000_i64;
    let day = 86_400;
    // 1200 old messages (more than two batches) and 6 recent ones.
    f.contact(
        "15551230001",
        "Old",
        1200,
        |i| format!("old {i}"),
        |i| now - 40 * day + i as i64,
    )
    .await;
    f.contact(
        "15551230002",
        "New",
        6,
        |i| format!("new {i}"),
        |i| now - day + i as i64,
    )
    .await;
    for (i, age) in [(0, 10), (1, 10), (2, 1)] {
        sqlx::query(
            "INSERT INTO sync_raw_events (event_id, part, seq, reason, kind, payload, created_at)
             VALUES (?, 0, ?, 'unknown', 'x', '{}', ?)",
        )
        .bind(format!("e{i}"))
        .bind(i)
        .bind(now - age * day)
        .execute(f.store.pool())
        .await
        .unwrap();
    }
    // Nothing happens without a policy.
    let none = retention::apply(&f.store, f.data(), now, "ana")
        .await
        .unwrap();
    assert_eq!(none.messages + none.raw_events, 0);
    assert!(
        activity::list(&f.store, None, 10)
            .await
            .unwrap()
            .items
            .is_empty(),
        "a run that deletes nothing is not logged"
    );

    retention::set_policy(
        &f.store,
        "ana",
        &RetentionPolicy {
            messages_days: Some(30),
            media_days: None,
            raw_events_days: Some(7),
        },
    )
    .await
    .unwrap();
    assert_eq!(
        retention::policy(&f.store).await.unwrap().messages_days,
        Some(30)
    );
    let report = retention::apply(&f.store, f.data(), now, "ana")
        .await
        .unwrap();
    assert_eq!(report.messages, 1200);
    assert_eq!((report.media, report.media_files), (1, 1));
    assert_eq!(report.raw_events, 2);
    assert_eq!(f.scalar("SELECT count(*) FROM messages").await, 6);
    assert_eq!(f.scalar("SELECT count(*) FROM message_statuses").await, 3);
    assert_eq!(f.scalar("SELECT count(*) FROM reactions").await, 1);
    assert_eq!(f.scalar("SELECT count(*) FROM message_revisions").await, 1);
    assert_eq!(f.scalar("SELECT count(*) FROM sync_raw_events").await, 1);
    assert!(!f.data().join("media/15551230001-1.bin").exists());
    assert!(f.data().join("media/15551230002-1.bin").exists());
    let old_hits: i64 =
        sqlx::query_scalar("SELECT count(*) FROM messages_fts WHERE messages_fts MATCH 'old'")
            .fetch_one(f.store.pool())
            .await
            .unwrap();
    assert_eq!(old_hits, 0, "the index follows");
    assert_eq!(
        f.scalar(
            "SELECT count(*) FROM conversations WHERE last_message_id IS NOT NULL
             AND last_message_id NOT IN (SELECT id FROM messages)"
        )
        .await,
        0
    );
    let entry = &activity::list(&f.store, None, 1).await.unwrap().items[0];
    assert_eq!(entry.action, "privacy.retention_applied");
    assert_eq!(entry.actor, "ana", "logged as whoever applied it");
    let details: Value = serde_json::from_str(&entry.details_json).unwrap();
    assert_eq!(details["deleted"]["messages"], 1200);

    // Media only: the recent message keeps its text, loses its file.
    retention::set_policy(
        &f.store,
        "ana",
        &RetentionPolicy {
            media_days: Some(0),
            ..RetentionPolicy::default()
        },
    )
    .await
    .unwrap();
    let media = retention::apply(&f.store, f.data(), now, "ana")
        .await
        .unwrap();
    assert_eq!((media.messages, media.media, media.media_files), (0, 1, 1));
    assert_eq!(f.scalar("SELECT count(*) FROM messages").await, 6);
    assert!(!f.data().join("media/15551230002-1.bin").exists());
    activity::verify(&f.store).await.unwrap();
}

#[tokio::test]
async fn corrections_and_restrictions_are_applied_and_logged() {
    let f = fixture().await;
    let (id, _) = f
        .contact("15551230001", "Maria", 1, |_| "hi".into(), |_| 1)
        .await;
    correct_display_name(&f.store, "ana", id, Some("Maria López (cakes)"))
        .await
        .unwrap();
    let hits = f.store.search(WS, "cakes", None, 10).await.unwrap();
    assert_eq!(hits.contacts.len(), 1, "the index follows the correction");
    set_restricted(&f.store, "ana", id, true).await.unwrap();
    assert_eq!(
        f.scalar(&format!("SELECT restricted FROM contacts WHERE id = {id}"))
            .await,
        1
    );
    set_restricted(&f.store, "ana", id, false).await.unwrap();
    assert_eq!(
        f.scalar(&format!("SELECT restricted FROM contacts WHERE id = {id}"))
            .await,
        0
    );
    assert!(matches!(
        correct_display_name(&f.store, "ana", id, Some("  ")).await,
        Err(PrivacyError::Invalid(_))
    ));
    assert!(matches!(
        set_restricted(&f.store, "ana", 999, true).await,
        Err(PrivacyError::ContactNotFound(999))
    ));
    let actions: Vec<String> = activity::list(&f.store, None, 10)
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|e| e.action)
        .collect();
    assert_eq!(
        actions,
        [
            "privacy.unrestrict_contact",
            "privacy.restrict_contact",
            "privacy.correct_contact"
        ]
    );
    let entry = &activity::list(&f.store, None, 10).await.unwrap().items[2];
    assert!(
        !entry.details_json.contains("cakes"),
        "no personal data in the log"
    );
    activity::verify(&f.store).await.unwrap();
}

/// The fixture with one customer, Maria: two messages, one of them with a photo on disk
/// (`media/15551230001-1.bin`).
async fn maria_with_a_photo() -> Fixture {
    let f = fixture().await;
    f.contact(
        "15551230001",
        "Maria",
        2,
        |i| format!("{MARKER} {i}"),
        |i| i as i64,
    )
    .await;
    f
}

#[tokio::test]
async fn erasing_everything_removes_database_media_vault_and_keyring_entry() {
    let f = maria_with_a_photo().await;
    let info = Vault::info(f.data()).unwrap().unwrap();
    assert!(f.secrets.get(&info.keyring_entry()).unwrap().is_some());
    assert!(f.data().join(DB_FILE).exists());
    let Fixture {
        dir,
        store,
        vault,
        secrets,
    } = f;
    let report = erase_everything(store, vault, &secrets).await.unwrap();
    assert!(report.keyring_entry_deleted);
    assert!(secrets.get(&info.keyring_entry()).unwrap().is_none());
    assert!(report.removed.contains(&DB_FILE.to_string()), "{report:?}");
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

/// A media file that cannot be removed (its permissions, an I/O error; here the immutable
/// flag, which stops even root) stops the erasure before the database goes: the data still
/// opens with its key, so erasing can be tried again, and then it finishes. Linux, as root.
#[cfg(target_os = "linux")]
#[tokio::test]
async fn an_erasure_stopped_by_a_media_file_keeps_the_database_to_try_again() {
    let f = maria_with_a_photo().await;
    let photo = f.data().join("media/15551230001-1.bin");
    assert!(photo.is_file());
    let immutable = testkit::Immutable::set(&photo);
    let Fixture {
        dir,
        store,
        vault,
        secrets,
    } = f;
    let stopped = erase_everything(store, vault, &secrets).await;
    drop(immutable);
    assert!(stopped.is_err(), "{stopped:?}");
    assert!(dir.path().join(DB_FILE).exists());

    let vault = Vault::open(dir.path(), &secrets, &PassphraseSource::none()).unwrap();
    let store = Store::open(&dir.path().join(DB_FILE), &vault.store_key().unwrap())
        .await
        .unwrap();
    let messages: i64 = sqlx::query_scalar("SELECT count(*) FROM messages")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(messages, 2, "the data still opens");
    erase_everything(store, vault, &secrets).await.unwrap();
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(left.is_empty(), "{left:?}");
}
