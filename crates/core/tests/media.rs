//! Inbound media end to end, against the real relay and `dataoptix-sim` over HTTP: an image
//! from a customer is queued with its message, fetched from the relay (which got it from
//! "Meta" with the business token kept from Embedded Signup), stored encrypted and read back
//! exactly; with no token at the relay (a WABA set up by hand) the device falls back to Meta
//! directly; a file whose SHA-256 does not match is refused with a reason; erasure removes
//! the files; a redelivered page queues nothing twice.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine;
use dataoptix_core::device::views::MessageView;
use dataoptix_core::device::{Device, DeviceError, ManualSetupInput};
use dataoptix_core::store::Store;
use dataoptix_core::vault::{MemoryStore, PassphraseSource, Vault};
use protocol::events::{Event, EventKind, EventPage};
use protocol::WorkspaceSecretKey;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

mod common;
use common::SignupWorld;

const CONFIG_ID: &str = "cfg-media";
const CUSTOMER: &str = "16505551234";

/// The shared world, with the relay retrying media fetches quickly so that a fetch it cannot
/// make ends `failed` within the test.
struct World(SignupWorld);

impl std::ops::Deref for World {
    type Target = SignupWorld;
    fn deref(&self) -> &SignupWorld {
        &self.0
    }
}

impl World {
    async fn start() -> Self {
        Self(
            SignupWorld::start_with(CONFIG_ID, |config| {
                config.media_retry_base = Duration::from_millis(50);
                config.media_max_attempts = 2;
            })
            .await,
        )
    }

    async fn stop(self) {
        self.0.stop().await;
    }

    /// Embedded Signup through the relay: the relay keeps the WABA's business token.
    async fn onboard(&self, d: &Device) -> String {
        let start = d.start_onboarding().await.unwrap();
        self.finish_signup_on_the_page(&start.session_id).await;
        let outcome = d.onboarding_status(&start.session_id).await.unwrap();
        let dataoptix_core::device::OnboardingOutcome::Connected { number } = outcome else {
            panic!("not connected: {outcome:?}");
        };
        number.id
    }

    /// A WABA set up by hand: the device and the relay keep its token.
    async fn manual(&self, d: &Device) -> String {
        d.setup_manual(ManualSetupInput {
            waba_id: self.sim.info.waba_id.clone(),
            phone_number_id: self.sim.info.phone_number_id.clone(),
            token: self.sim.info.access_token.clone(),
        })
        .await
        .unwrap()
        .id
    }

    /// The customer sends media; returns the webhook's message object.
    async fn inbound(&self, phone: &str, body: Value) -> Value {
        let mut body = body;
        body["from"] = json!(CUSTOMER);
        body["name"] = json!("Sheena Nelson");
        body["phone_number_id"] = json!(phone);
        let resp = reqwest::Client::new()
            .post(self.sim.control_url("/inbound"))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(resp.status().is_success(), "{}", resp.text().await.unwrap());
        let v: Value = resp.json().await.unwrap();
        v["webhook"]["messages"][0].clone()
    }

    async fn asset(&self, key: &str) -> Vec<u8> {
        reqwest::get(self.sim.control_url(&format!("/assets/{key}")))
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap()
            .to_vec()
    }
}

/// The media message `wamid` once its download ended (`done` or `failed`).
async fn settled(d: &Device, wamid: &str) -> MessageView {
    for _ in 0..300 {
        let conv: Option<i64> =
            sqlx::query_scalar("SELECT conversation_id FROM messages WHERE wamid = ?")
                .bind(wamid)
                .fetch_optional(d.store().pool())
                .await
                .unwrap();
        if let Some(conv) = conv {
            let page = d.messages(conv, None, 50).await.unwrap();
            if let Some(m) = page.items.into_iter().find(|m| m.wamid == wamid) {
                let state = m
                    .media
                    .as_ref()
                    .map(|x| x.state.clone())
                    .unwrap_or_default();
                if state == "done" || state == "failed" {
                    return m;
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the media of {wamid} never settled");
}

async fn row(d: &Device, wamid: &str) -> (Option<String>, Option<String>, Option<String>, i64) {
    sqlx::query_as(
        "SELECT md.relay_status, md.relay_error, md.sha256, md.attempts FROM media md
         JOIN messages m ON m.id = md.message_id WHERE m.wamid = ?",
    )
    .bind(wamid)
    .fetch_one(d.store().pool())
    .await
    .unwrap()
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(files(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

#[tokio::test]
async fn an_image_is_fetched_through_the_relay_kept_encrypted_and_read_back() {
    let w = World::start().await;
    let data = tempfile::tempdir().unwrap();
    let d = w.register(data.path()).await;
    let phone = w.onboard(&d).await;
    d.start_background().await.unwrap();

    let msg = w
        .inbound(
            &phone,
            json!({"type": "image", "asset": "png",
        "image": {"caption": "our order"}}),
        )
        .await;
    let wamid = msg["id"].as_str().unwrap().to_string();
    let m = settled(&d, &wamid).await;
    let media = m.media.clone().unwrap();
    assert_eq!(media.state, "done", "{media:?}");
    assert_eq!(
        media.local_url.as_deref(),
        Some(format!("media://localhost/{}", m.id).as_str())
    );
    assert_eq!(media.mime_type.as_deref(), Some("image/png"));
    let (relay_status, _, sha, _) = row(&d, &wamid).await;
    assert_eq!(
        relay_status.as_deref(),
        Some("stored"),
        "fetched through the relay"
    );

    let png = w.asset("png").await;
    assert!(png.starts_with(b"\x89PNG"));
    let (mime, bytes) = d.media(m.id).await.unwrap();
    assert_eq!(mime, "image/png");
    assert_eq!(bytes, png, "the exact bytes");
    assert_eq!(sha.unwrap(), hex::encode(Sha256::digest(&png)));
    assert_eq!(media.size_bytes, Some(png.len() as i64));

    // On disk: one media file, and nowhere the plaintext.
    let media_files = files(&data.path().join("media"));
    assert_eq!(media_files.len(), 1, "{media_files:?}");
    assert!(media_files[0].extension().unwrap() == "enc");
    for f in files(data.path()) {
        let on_disk = std::fs::read(&f).unwrap();
        assert!(!contains(&on_disk, &png[..32]), "plaintext in {f:?}");
        assert!(
            !contains(&on_disk, &png[png.len() - 32..]),
            "plaintext in {f:?}"
        );
    }

    // Not a media message, or unknown: 404, never a file from elsewhere.
    assert!(matches!(
        d.media(i64::MAX).await,
        Err(DeviceError::NotFound(_))
    ));

    // Erasing the contact takes the file.
    d.stop_background().await;
    let contact: i64 = sqlx::query_scalar(
        "SELECT c.contact_id FROM conversations c JOIN messages m ON m.conversation_id = c.id
         WHERE m.wamid = ?",
    )
    .bind(&wamid)
    .fetch_one(d.store().pool())
    .await
    .unwrap();

    // The contact's export holds the photo, decrypted: the exact bytes Meta served.
    let exports = tempfile::tempdir().unwrap();
    let exported = d.export_contact(contact, exports.path()).await.unwrap();
    assert_eq!((exported.media_included, exported.media_skipped), (1, 0));
    let mut zip = zip::ZipArchive::new(std::fs::File::open(&exported.path).unwrap()).unwrap();
    let name = format!("media/{}-", m.id);
    let entry = zip
        .file_names()
        .filter_map(Result::ok)
        .find(|n| n.starts_with(&name) && n.ends_with(".png"))
        .map(|n| n.into_owned())
        .expect("the photo is in the export");
    let mut exported_png = Vec::new();
    std::io::Read::read_to_end(&mut zip.by_name(&entry).unwrap(), &mut exported_png).unwrap();
    assert_eq!(exported_png, png);

    let report =
        dataoptix_core::privacy::erase::erase_contact(d.store(), data.path(), "test", contact)
            .await
            .unwrap();
    assert_eq!(report.media_files, 1);
    assert!(files(&data.path().join("media")).is_empty());
    assert!(matches!(d.media(m.id).await, Err(DeviceError::NotFound(_))));
    w.stop().await;
}

#[tokio::test]
async fn without_a_token_at_the_relay_the_device_fetches_from_meta() {
    let w = World::start().await;
    let data = tempfile::tempdir().unwrap();
    let d = w.register(data.path()).await;
    let phone = w.manual(&d).await;
    // As for a WABA claimed before the relay kept manual setups' tokens.
    w.relay.forget_business_token(&w.sim.info.waba_id).await;
    d.start_background().await.unwrap();

    let msg = w.inbound(&phone, json!({"type": "voice"})).await;
    assert_eq!(msg["audio"]["voice"], json!(true));
    let wamid = msg["id"].as_str().unwrap().to_string();
    let m = settled(&d, &wamid).await;
    let media = m.media.clone().unwrap();
    assert_eq!(media.state, "done", "{media:?}");
    assert!(media.voice);
    let (relay_status, relay_error, _, _) = row(&d, &wamid).await;
    assert_eq!(relay_status.as_deref(), Some("failed"));
    assert!(relay_error.unwrap().contains("no business token"));
    let ogg = w.asset("voice").await;
    let (mime, bytes) = d.media(m.id).await.unwrap();
    assert!(mime.starts_with("audio/ogg"), "{mime}");
    assert_eq!(bytes, ogg);
    // Stopped first: the relay's graceful shutdown would wait for the device's long-poll.
    d.stop_background().await;
    w.stop().await;
}

#[tokio::test]
async fn a_file_whose_sha256_does_not_match_is_refused_with_a_reason() {
    let w = World::start().await;
    let data = tempfile::tempdir().unwrap();
    let d = w.register(data.path()).await;
    let phone = w.manual(&d).await;
    d.start_background().await.unwrap();

    let wrong = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(b"not the file"));
    let msg = w
        .inbound(&phone, json!({"type": "image", "image": {"sha256": wrong}}))
        .await;
    assert_eq!(msg["image"]["sha256"], json!(wrong));
    let wamid = msg["id"].as_str().unwrap().to_string();
    let m = settled(&d, &wamid).await;
    let media = m.media.clone().unwrap();
    assert_eq!(media.state, "failed");
    assert!(media.local_url.is_none());
    let reason = media.error.unwrap();
    assert!(reason.contains("SHA-256"), "{reason}");
    assert!(matches!(d.media(m.id).await, Err(DeviceError::NotFound(_))));
    assert!(files(&data.path().join("media")).is_empty(), "nothing kept");
    d.stop_background().await;
    w.stop().await;
}

#[tokio::test]
async fn a_redelivered_page_queues_each_download_once() {
    let dir = tempfile::tempdir().unwrap();
    let vault = Vault::open(dir.path(), &MemoryStore::new(), &PassphraseSource::none()).unwrap();
    let store = Store::open(
        &dir.path().join("dataoptix.db"),
        &vault.store_key().unwrap(),
    )
    .await
    .unwrap();
    let key = WorkspaceSecretKey::generate();
    let entry = json!({"id": "111", "changes": [{"field": "messages", "value": {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550001111", "phone_number_id": "222"},
        "contacts": [{"profile": {"name": "Sheena"}, "wa_id": CUSTOMER}],
        "messages": [{"from": CUSTOMER, "id": "wamid.IMG1", "timestamp": "1700000000",
            "type": "image", "image": {"id": "9001", "mime_type": "image/jpeg",
            "sha256": "abc", "caption": "hi"}}]}}]});
    let event = |seq: i64, kind: EventKind, plain: &Value| Event {
        seq,
        id: uuid::Uuid::new_v4(),
        kind,
        sealed: protocol::sealed::to_base64(
            &protocol::seal(&key.public_key(), plain.to_string().as_bytes()).unwrap(),
        ),
        created_at: time::OffsetDateTime::now_utc(),
        origin_session: None,
        client_event_id: None,
    };
    let page = EventPage {
        events: vec![
            event(1, EventKind::MetaWebhook, &entry),
            event(
                2,
                EventKind::MediaStatus,
                &json!({"media_id": "9001", "status": "failed",
                "error": "no business token for this WABA"}),
            ),
        ],
        next_after: 2,
        resync_required: false,
    };
    let first = dataoptix_core::sync::apply_page(&store, &key, "ws", &page)
        .await
        .unwrap();
    assert_eq!((first.media_queued, first.media_statuses), (1, 1));
    let again = dataoptix_core::sync::apply_page(&store, &key, "ws", &page)
        .await
        .unwrap();
    assert_eq!(again.media_queued, 0);
    type Row = (String, String, Option<String>, Option<String>, String);
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT media_meta_id, download_state, relay_status, relay_error, expected_sha256
         FROM media",
    )
    .fetch_all(store.pool())
    .await
    .unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].0, "9001");
    assert_eq!(rows[0].1, "pending");
    assert_eq!(rows[0].2.as_deref(), Some("failed"));
    assert_eq!(
        rows[0].3.as_deref(),
        Some("no business token for this WABA")
    );
    assert_eq!(rows[0].4, "abc");
    store.close().await;
}
