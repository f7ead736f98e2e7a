//! Sending files through the outbox, against the real relay and `dataoptix-sim` over HTTP: the
//! file is kept encrypted and shown at once, uploaded (multipart) then sent by media id with
//! its caption or file name; a voice note carries `voice: true`, a sticker its WebP; another
//! device fetches the file from Meta by that id; offline it waits, then uploads once and sends
//! once; an id kept from an upload is reused when the send is retried; an upload that timed out
//! is retried at once (nothing was sent, so nothing is in doubt); an upload Meta refuses fails
//! the message with Meta's reason. Plus the device facade: `check_attachment` on real files (one
//! with a lying extension) and `send_attachment` with its background worker.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use cloud_api::client::{ClientConfig, CloudApiClient};
use cloud_api::media::MediaKind;
use common::{eventually, fast, replying_world, Device, Env, CUSTOMER};
use dataoptix_core::media::{MediaConfig, MediaFetcher};
use dataoptix_core::privacy::retention::{self, RetentionPolicy};
use dataoptix_core::send::{Attachment, Detected, OutboxConfig, UPLOAD_PENDING};
use dataoptix_core::vault::{MemoryStore, PassphraseSource};
use protocol::device_events::ContactRef;
use serde_json::{json, Value};
use testkit::TcpProxy;

/// A 1×1 PNG (signature, IHDR, IDAT, IEND).
fn png() -> Vec<u8> {
    let mut b = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0".to_vec();
    b.extend_from_slice(&[0x1f, 0x15, 0xc4, 0x89]);
    b.extend_from_slice(b"\0\0\0\nIDATx\x9cc\0\x01\0\0\x05\0\x01\r\n-\xb4\0\0\0\0IEND\xaeB`\x82");
    b
}

fn pdf() -> Vec<u8> {
    b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n".to_vec()
}

/// The media objects the simulator holds (uploads), from `GET /_sim/state`.
async fn sim_media(env: &Env) -> Vec<Value> {
    let state: Value = env
        .http
        .get(env.sim.control_url("/state"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    state["media"].as_array().cloned().unwrap_or_default()
}

async fn row<T>(device: &Device, sql: &str, id: i64) -> T
where
    T: Send + Unpin + for<'r> sqlx::Decode<'r, sqlx::Sqlite> + sqlx::Type<sqlx::Sqlite>,
{
    sqlx::query_scalar(sql)
        .bind(id)
        .fetch_one(device.store.pool())
        .await
        .unwrap()
}

fn graph(env: &Env) -> CloudApiClient {
    CloudApiClient::new(ClientConfig {
        base_url: env.sim.info.base_url.clone(),
        ..ClientConfig::default()
    })
    .unwrap()
    .with_token(env.sim.info.access_token.clone())
}

#[tokio::test]
async fn an_image_with_caption_and_a_document_with_filename_go_out_by_media_id() {
    let (env, device, conversation) = replying_world(|_| {}).await;
    let image = Attachment::new(png(), Some("Today's menu".into()), None, false).unwrap();
    let document = Attachment::new(
        pdf(),
        Some("Prices from May".into()),
        Some("prices.pdf".into()),
        false,
    )
    .unwrap();
    let image_item = device
        .outbox
        .enqueue_attachment(conversation, &image, None, "a-1")
        .await
        .unwrap();
    let doc_item = device
        .outbox
        .enqueue_attachment(conversation, &document, None, "a-2")
        .await
        .unwrap();
    // The same key again queues nothing more and leaves no second file behind.
    assert_eq!(
        device
            .outbox
            .enqueue_attachment(conversation, &image, None, "a-1")
            .await
            .unwrap(),
        image_item
    );
    assert_eq!(
        device
            .scalar::<i64>("SELECT count(*) FROM media WHERE path IS NOT NULL")
            .await,
        2
    );
    let media_files = std::fs::read_dir(device.vault.data_dir().join("media"))
        .unwrap()
        .count();
    assert_eq!(media_files, 2, "one encrypted copy per attachment");

    // Shown at once: pending, its file readable (decrypted) from the media store.
    let image_msg = device.outbox.item(image_item).await.unwrap().unwrap();
    let message_id = image_msg.message_id.unwrap();
    assert_eq!(
        device.status_of_message(message_id).await.1.as_deref(),
        Some("pending")
    );
    let shown =
        dataoptix_core::media::read(&device.store, &device.vault, &env.workspace_id, message_id)
            .await
            .unwrap();
    assert_eq!(shown.mime_type, "image/png");
    assert_eq!(shown.bytes, png());
    let kind: String = row(
        &device,
        "SELECT kind FROM messages WHERE id = ?",
        message_id,
    )
    .await;
    assert_eq!(kind, "image");

    let report = device.outbox.run_once().await.unwrap();
    assert_eq!(report.sent, 2, "{report:?}");
    let sent = env.sim_sent(CUSTOMER).await;
    let image_req = &sent.iter().find(|m| m["type"] == "image").unwrap()["request"];
    let doc_req = &sent.iter().find(|m| m["type"] == "document").unwrap()["request"];
    assert_eq!(image_req["image"]["caption"], "Today's menu");
    assert_eq!(doc_req["document"]["caption"], "Prices from May");
    assert_eq!(doc_req["document"]["filename"], "prices.pdf");
    let image_id = image_req["image"]["id"].as_str().unwrap().to_string();
    let doc_id = doc_req["document"]["id"].as_str().unwrap().to_string();
    assert_ne!(image_id, UPLOAD_PENDING);
    // The ids name the uploaded files, with the detected types and the exact bytes.
    let uploads = sim_media(&env).await;
    assert_eq!(uploads.len(), 2, "{uploads:?}");
    let graph = graph(&env);
    let info = graph.media_info(&image_id, None).await.unwrap();
    assert_eq!(info.mime_type, "image/png");
    assert_eq!(
        graph.download_media(&info.url).await.unwrap().to_vec(),
        png()
    );
    assert_eq!(
        graph.media_info(&doc_id, None).await.unwrap().mime_type,
        "application/pdf"
    );
    // The item and the row keep Meta's id.
    let kept: Option<String> = row(
        &device,
        "SELECT uploaded_media_id FROM outbox WHERE id = ?",
        image_item,
    )
    .await;
    assert_eq!(kept.as_deref(), Some(image_id.as_str()));
    let on_row: Option<String> = row(
        &device,
        "SELECT media_meta_id FROM messages WHERE id = ?",
        message_id,
    )
    .await;
    assert_eq!(on_row.as_deref(), Some(image_id.as_str()));
    assert_eq!(
        device.outbox.item(doc_item).await.unwrap().unwrap().state,
        "sent"
    );

    // Another device learns the send from the message_sent event and fetches the file from
    // Meta by its id.
    let other = env.another_device("Back office", fast()).await;
    let wamid = image_msg_wamid(&device, message_id).await;
    other
        .sync_until("the sent image", async |d: &Device| {
            d.scalar::<i64>(&format!(
                "SELECT count(*) FROM media md JOIN messages m ON m.id = md.message_id
                 WHERE m.wamid = '{wamid}'"
            ))
            .await
                == 1
        })
        .await;
    let fetcher = media_fetcher(&env, &other);
    let fetched = fetcher.run_once().await.unwrap();
    assert_eq!(fetched.done, 2, "{fetched:?}");
    let other_id: i64 = other
        .scalar(&format!("SELECT id FROM messages WHERE wamid = '{wamid}'"))
        .await;
    let copy = dataoptix_core::media::read(&other.store, &other.vault, &env.workspace_id, other_id)
        .await
        .unwrap();
    assert_eq!(copy.bytes, png());
    assert_eq!(copy.mime_type, "image/png");
    env.stop().await;
}

/// The media worker of `device`, fetching from the relay and the simulator.
fn media_fetcher(env: &Env, device: &Device) -> MediaFetcher {
    MediaFetcher::new(
        device.store.clone(),
        device.vault.clone(),
        dataoptix_core::sync::RelayClient::new(&env.relay.base)
            .with_token(device.session.token.clone()),
        env.key.clone(),
        CloudApiClient::new(ClientConfig {
            base_url: env.sim.info.base_url.clone(),
            ..ClientConfig::default()
        })
        .unwrap(),
        env.workspace_id.clone(),
        MediaConfig::default(),
    )
}

async fn image_msg_wamid(device: &Device, message_id: i64) -> String {
    device.status_of_message(message_id).await.0
}

#[tokio::test]
async fn offline_an_attachment_waits_then_uploads_once_and_sends_once() {
    let env = Env::start(|_| {}).await;
    // The device reaches "Meta" only through a proxy that is down for now.
    let mut proxy = TcpProxy::down(&env.sim.info.base_url).await;
    let session = env.first_device(fast()).await.session;
    let device = env.device_with(session, &proxy.url(), fast()).await;
    env.connect_number(&device, &env.sim.info.access_token.clone())
        .await;
    let conversation = env.customer_writes(&device, "Menu please").await;
    let image = Attachment::new(png(), Some("Menu".into()), None, false).unwrap();
    let item = device
        .outbox
        .enqueue_attachment(conversation, &image, None, "off-1")
        .await
        .unwrap();
    let report = device.outbox.run_once().await.unwrap();
    assert_eq!((report.sent, report.deferred), (0, 1), "{report:?}");
    let waiting = device.outbox.item(item).await.unwrap().unwrap();
    assert_eq!(waiting.state, "queued");
    assert_eq!(waiting.error_class.as_deref(), Some("retryable"));
    let uploaded: Option<String> = row(
        &device,
        "SELECT uploaded_media_id FROM outbox WHERE id = ?",
        item,
    )
    .await;
    assert_eq!(uploaded, None);
    assert!(sim_media(&env).await.is_empty());

    proxy.plug().await.unwrap();
    assert_eq!(device.outbox.connection_back().await.unwrap(), 1);
    let deadline = Instant::now() + Duration::from_secs(15);
    while device.outbox.run_once().await.unwrap().sent == 0 {
        assert!(Instant::now() < deadline, "never sent after reconnecting");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(sim_media(&env).await.len(), 1, "uploaded once");
    let sent = env.sim_sent(CUSTOMER).await;
    assert_eq!(sent.len(), 1, "sent once");
    assert_eq!(sent[0]["request"]["image"]["caption"], "Menu");
    env.stop().await;
}

#[tokio::test]
async fn a_send_refused_after_the_upload_is_retried_with_the_same_media_id() {
    let env = Env::start(|c| c.limits.throughput_mps = 1).await;
    // Our own pacing far above the simulator's limit, to provoke Meta's 130429.
    let device = env
        .first_device(OutboxConfig {
            messages_per_second: 1000,
            ..fast()
        })
        .await;
    env.connect_number(&device, &env.sim.info.access_token.clone())
        .await;
    let conversation = env.customer_writes(&device, "Menu?").await;
    device
        .outbox
        .enqueue(
            conversation,
            dataoptix_core::send::OutgoingMessage::text("Here it is", false),
            "t-1",
        )
        .await
        .unwrap();
    let image = Attachment::new(png(), None, None, false).unwrap();
    let item = device
        .outbox
        .enqueue_attachment(conversation, &image, None, "r-1")
        .await
        .unwrap();
    let report = device.outbox.run_once().await.unwrap();
    assert_eq!((report.sent, report.deferred), (1, 1), "{report:?}");
    let limited = device.outbox.item(item).await.unwrap().unwrap();
    assert_eq!(
        (limited.state.as_str(), limited.error_code),
        ("queued", Some(130429))
    );
    let first_id: Option<String> = row(
        &device,
        "SELECT uploaded_media_id FROM outbox WHERE id = ?",
        item,
    )
    .await;
    assert!(first_id.is_some(), "uploaded before the send was refused");

    tokio::time::sleep(Duration::from_millis(1100)).await;
    device.outbox.retry_now(item).await.unwrap();
    let report = device.outbox.run_once().await.unwrap();
    assert_eq!(report.sent, 1, "{report:?}");
    assert_eq!(sim_media(&env).await.len(), 1, "not uploaded again");
    let sent = env.sim_sent(CUSTOMER).await;
    let image_req = &sent.iter().find(|m| m["type"] == "image").unwrap()["request"];
    assert_eq!(image_req["image"]["id"].as_str(), first_id.as_deref());
    env.stop().await;
}

#[tokio::test]
async fn an_upload_meta_refuses_fails_the_message_with_the_reason() {
    let (env, device, conversation) = replying_world(|_| {}).await;
    // OGG with Vorbis inside, presented as OGG/Opus: what this device's checks would refuse,
    // standing in for any file Meta refuses after our checks passed.
    let mut vorbis = b"OggS\0\x02".to_vec();
    vorbis.extend_from_slice(&[0; 20]);
    vorbis.extend_from_slice(&[1, 30]);
    vorbis.extend_from_slice(b"\x01vorbis\0\0\0\0\x01\x44\xac\0\0");
    vorbis.resize(600, 0);
    let lying = Attachment {
        bytes: zeroize::Zeroizing::new(vorbis),
        detected: Detected {
            mime_type: "audio/ogg".into(),
            kind: MediaKind::Audio,
            animated: false,
            opus: true,
        },
        caption: None,
        filename: None,
        voice: true,
    };
    let item = device
        .outbox
        .enqueue_attachment(conversation, &lying, None, "bad-1")
        .await
        .unwrap();
    let report = device.outbox.run_once().await.unwrap();
    assert_eq!(report.failed, 1, "{report:?}");
    let failed = device.outbox.item(item).await.unwrap().unwrap();
    assert_eq!(failed.state, "failed");
    assert_eq!(failed.error_code, Some(131053));
    let reason = failed.error_message.clone().unwrap();
    assert!(
        reason.contains("could not accept this attachment"),
        "{reason}"
    );
    let (_, status, code) = device.status_of_message(failed.message_id.unwrap()).await;
    assert_eq!((status.as_deref(), code), (Some("failed"), Some(131053)));
    assert!(env.sim_sent(CUSTOMER).await.is_empty(), "nothing was sent");
    env.stop().await;
}

#[tokio::test]
async fn check_attachment_reads_the_content_not_the_name() {
    let dir = tempfile::tempdir().unwrap();
    let device = dataoptix_core::device::Device::open(
        &dir.path().join("data"),
        &MemoryStore::new(),
        &PassphraseSource::none(),
        "test",
    )
    .await
    .unwrap();
    let files = tempfile::tempdir().unwrap();
    let write = |name: &str, bytes: &[u8]| {
        let path = files.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        path.to_string_lossy().into_owned()
    };
    // A PDF named like a photo is a document.
    let lying = device
        .check_attachment(&write("photo.jpg", &pdf()))
        .await
        .unwrap();
    assert_eq!(lying.error, None);
    assert_eq!(lying.kind.as_deref(), Some("document"));
    assert_eq!(lying.mime_type.as_deref(), Some("application/pdf"));
    assert_eq!(lying.file_name, "photo.jpg");
    assert!(lying.caption_allowed && !lying.voice_allowed);
    // A PNG is a photo with a caption allowed and Meta's 5 MB limit.
    let photo = device
        .check_attachment(&write("a.png", &png()))
        .await
        .unwrap();
    assert_eq!(
        (photo.kind.as_deref(), photo.limit.as_deref()),
        (Some("image"), Some("5 MB"))
    );
    // Too big: refused with the limit named, before anything is queued.
    let mut big = png();
    big.resize(6 * 1024 * 1024, 0);
    let too_big = device
        .check_attachment(&write("big.png", &big))
        .await
        .unwrap();
    let error = too_big.error.unwrap();
    assert!(error.contains("5 MB"), "{error}");
    // An executable named .pdf is refused.
    let exe = device
        .check_attachment(&write(
            "invoice.pdf",
            b"MZ\x90\0\x03\0\0\0\x04\0\0\0\xff\xff",
        ))
        .await
        .unwrap();
    assert!(exe.error.is_some(), "{exe:?}");
    // A path that is not a file is an input error.
    let err = device
        .check_attachment(&files.path().to_string_lossy())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), "invalidInput");
    assert!(photo
        .preview
        .as_deref()
        .unwrap()
        .starts_with("data:image/png;base64,iVBORw0KGgo"));
    assert_eq!(lying.preview, None, "thumbnails for photos only");
    let json = serde_json::to_value(&photo).unwrap();
    assert_eq!(json["captionAllowed"], json!(true));
}

#[tokio::test]
async fn an_upload_that_times_out_is_retried_at_once_not_held_in_doubt() {
    let (env, device, conversation) = replying_world(|_| {}).await;
    // "Meta" accepts the connection and never answers.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let silent_url = format!("http://{}", silent.local_addr().unwrap());
    let hold = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((socket, _)) = silent.accept().await {
            open.push(socket);
        }
    });
    let client = |base: &str| {
        CloudApiClient::new(ClientConfig {
            base_url: base.to_string(),
            timeout: Duration::from_millis(500),
            media_timeout: Duration::from_millis(500),
            ..ClientConfig::default()
        })
        .unwrap()
    };
    let hanging =
        dataoptix_core::send::Outbox::new(device.team.clone(), client(&silent_url), fast());
    let image = Attachment::new(png(), None, None, false).unwrap();
    let item = hanging
        .enqueue_attachment(conversation, &image, None, "slow-1")
        .await
        .unwrap();
    let report = hanging.run_once().await.unwrap();
    assert_eq!(report.deferred, 1, "{report:?}");
    let in_doubt: Option<i64> = row(
        &device,
        "SELECT in_doubt_since_ms FROM outbox WHERE id = ?",
        item,
    )
    .await;
    assert_eq!(in_doubt, None, "no send happened, so nothing is in doubt");
    hold.abort();

    // Meta answers again: the retry uploads and sends without waiting for a grace period.
    let outbox = dataoptix_core::send::Outbox::new(
        device.team.clone(),
        client(&env.sim.info.base_url),
        OutboxConfig {
            in_doubt_grace: Duration::from_secs(3600),
            ..fast()
        },
    );
    outbox.connection_back().await.unwrap();
    let report = outbox.run_once().await.unwrap();
    assert_eq!(report.sent, 1, "{report:?}");
    assert_eq!(sim_media(&env).await.len(), 1);
    env.stop().await;
}

#[tokio::test]
async fn the_device_sends_a_chosen_file_and_shows_it_at_once() {
    use dataoptix_core::device::views::ConversationFilter;
    use dataoptix_core::device::{AttachmentInput, ManualSetupInput, VoiceRecording};

    let w = common::SignupWorld::start("cfg-attachments").await;
    let data = tempfile::tempdir().unwrap();
    let d = w.register(data.path()).await;
    d.setup_manual(ManualSetupInput {
        waba_id: w.sim.info.waba_id.clone(),
        phone_number_id: w.sim.info.phone_number_id.clone(),
        token: w.sim.info.access_token.clone(),
    })
    .await
    .unwrap();
    d.start_background().await.unwrap();
    reqwest::Client::new()
        .post(w.sim.control_url("/inbound"))
        .json(
            &json!({"from": CUSTOMER, "name": "Sheena Nelson", "type": "text",
                      "text": {"body": "The menu?"}}),
        )
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap();
    let conversation = eventually("the customer's conversation", async || {
        let page = d
            .conversations(&ConversationFilter::default(), None, 10)
            .await
            .unwrap();
        page.items.first().map(|c| c.id)
    })
    .await;
    let files = tempfile::tempdir().unwrap();
    let path = files.path().join("menu.png");
    std::fs::write(&path, png()).unwrap();
    let input = |voice: bool| AttachmentInput {
        path: path.to_string_lossy().into_owned(),
        caption: Some("Menu of the day".into()),
        filename: None,
        voice,
    };

    // A photo cannot be a voice note: refused before anything is queued.
    let refused = d
        .send_attachment(conversation, input(true), None)
        .await
        .unwrap_err();
    assert_eq!(refused.kind(), "invalidInput");
    assert!(refused.to_string().contains("voice note"), "{refused}");

    let sent = d
        .send_attachment(conversation, input(false), None)
        .await
        .unwrap();
    assert_eq!(sent.kind, "image");
    assert_eq!(sent.caption.as_deref(), Some("Menu of the day"));
    let media = sent.media.clone().unwrap();
    assert_eq!(media.state, "done", "shown at once: {media:?}");
    assert_eq!(
        media.local_url.as_deref(),
        Some(format!("media://localhost/{}", sent.id).as_str())
    );
    let (mime, bytes) = d.media(sent.id).await.unwrap();
    assert_eq!((mime.as_str(), bytes), ("image/png", png()));

    let status = left_the_outbox(&d, conversation, sent.id).await;
    assert_ne!(status, "failed");
    let page = d.messages(conversation, None, 20).await.unwrap();
    let out = page.items.into_iter().find(|m| m.id == sent.id).unwrap();
    let meta_id = out.media.unwrap().meta_id.unwrap();
    assert!(meta_id.bytes().all(|b| b.is_ascii_digit()), "{meta_id}");
    assert_eq!(
        d.outbox_count().await.unwrap(),
        0,
        "nothing left in the outbox"
    );

    // A voice note recorded in the composer: 1.5 s of 16 kHz samples become OGG/Opus sent
    // with `voice: true`.
    let samples: Vec<u8> = (0..24_000)
        .flat_map(|i: i32| {
            let t = f64::from(i) / 16_000.0;
            ((6_000.0 * (2.0 * std::f64::consts::PI * 300.0 * t).sin()) as i16).to_le_bytes()
        })
        .collect();
    let recording = |samples: String, sample_rate| VoiceRecording {
        samples,
        sample_rate,
    };
    use base64::Engine;
    let encoded = base64::engine::general_purpose::STANDARD.encode(&samples);
    let refused = d
        .send_voice_note(conversation, recording(encoded.clone(), 44_100), None)
        .await
        .unwrap_err();
    assert_eq!(refused.kind(), "invalidInput");
    assert!(refused.to_string().contains("44100 Hz"), "{refused}");
    let note = d
        .send_voice_note(conversation, recording(encoded, 16_000), None)
        .await
        .unwrap();
    assert_eq!(note.kind, "audio");
    assert!(note.media.as_ref().unwrap().voice, "{note:?}");
    let (mime, bytes) = d.media(note.id).await.unwrap();
    assert_eq!(mime, "audio/ogg");
    assert!(bytes.starts_with(b"OggS"));
    let status = left_the_outbox(&d, conversation, note.id).await;
    assert_ne!(status, "failed");
    let sent = common::sim_sent(&reqwest::Client::new(), &w.sim, CUSTOMER).await;
    let audio = &sent.iter().find(|m| m["type"] == "audio").unwrap()["request"]["audio"];
    assert_eq!(audio["voice"], true, "{sent:?}");
    w.stop().await;
}

/// The status of message `id` once the outbox sent it (or gave up).
async fn left_the_outbox(d: &dataoptix_core::device::Device, conversation: i64, id: i64) -> String {
    eventually("the message leaves the outbox", async || {
        let page = d.messages(conversation, None, 20).await.unwrap();
        let m = page.items.into_iter().find(|m| m.id == id)?;
        m.status.filter(|s| s != "pending")
    })
    .await
}

/// An OGG stream whose first page carries a mono Opus identification header.
fn ogg_opus() -> Vec<u8> {
    let mut b = b"OggS\0\x02".to_vec();
    b.extend_from_slice(&[0; 8]); // granule position
    b.extend_from_slice(&[1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]); // serial, sequence, checksum
    b.extend_from_slice(&[1, 19]); // one segment of 19 bytes
    b.extend_from_slice(b"OpusHead\x01\x01\x38\x01\x80\xbb\0\0\0\0\0");
    b.resize(2048, 0);
    b
}

/// A static WebP of 2 KB.
fn webp() -> Vec<u8> {
    let mut b = b"RIFF\xf8\x07\0\0WEBPVP8L\x0a\0\0\0\x2f\0\0\0\0\0\0\0\0\0".to_vec();
    b.resize(2048, 0);
    b
}

#[tokio::test]
async fn a_voice_note_and_a_sticker_go_out_as_meta_expects() {
    let (env, device, conversation) = replying_world(|_| {}).await;
    let voice = Attachment::new(ogg_opus(), None, None, true).unwrap();
    let sticker = Attachment::new(webp(), None, None, false).unwrap();
    device
        .outbox
        .enqueue_attachment(conversation, &voice, None, "v-1")
        .await
        .unwrap();
    device
        .outbox
        .enqueue_attachment(conversation, &sticker, None, "s-1")
        .await
        .unwrap();
    let report = device.outbox.run_once().await.unwrap();
    assert_eq!(report.sent, 2, "{report:?}");
    let sent = env.sim_sent(CUSTOMER).await;
    let audio = &sent.iter().find(|m| m["type"] == "audio").unwrap()["request"]["audio"];
    assert_eq!(audio["voice"], true);
    assert!(audio.get("caption").is_none());
    let sticker = &sent.iter().find(|m| m["type"] == "sticker").unwrap()["request"]["sticker"];
    let mut types: Vec<String> = sim_media(&env)
        .await
        .iter()
        .map(|m| m["mime_type"].as_str().unwrap().to_string())
        .collect();
    types.sort();
    assert_eq!(types, ["audio/ogg", "image/webp"]);
    assert!(sticker["id"].as_str().is_some());
    let voice_flag: bool = device
        .scalar("SELECT voice FROM media WHERE mime_type = 'audio/ogg'")
        .await;
    assert!(voice_flag, "the thread shows it as a voice note");
    env.stop().await;
}

/// The three customers [`one_file_for_three_customers`] sends one image to.
const SHARING: [&str; 3] = [CUSTOMER, "15550002222", "15550003333"];

/// `device` sends one image to the three [`SHARING`] customers (one upload, its media id
/// named by each send); another device syncs the three messages and fetches them: one file
/// for the three. Returns the sending device, the other one and the media id.
async fn one_file_for_three_customers(env: &Env) -> (Device, Device, String) {
    let device = env.first_device(fast()).await;
    env.connect_number(&device, &env.sim.info.access_token.clone())
        .await;
    let customers = SHARING;
    for customer in customers {
        env.inbound(customer, "Is the menu out?").await;
    }
    device
        .sync_until("three customers", async |d: &Device| {
            for customer in customers {
                if d.conversation(customer).await.is_none() {
                    return false;
                }
            }
            true
        })
        .await;
    let mut conversations = Vec::new();
    for customer in customers {
        conversations.push(device.conversation(customer).await.unwrap());
    }
    // The first send uploads the file; the others name the upload's id.
    let image = Attachment::new(png(), None, None, false).unwrap();
    let first = device
        .outbox
        .enqueue_attachment(conversations[0], &image, None, "menu-1")
        .await
        .unwrap();
    assert_eq!(device.outbox.run_once().await.unwrap().sent, 1);
    let media_id: String = row(
        &device,
        "SELECT uploaded_media_id FROM outbox WHERE id = ?",
        first,
    )
    .await;
    for (i, conversation) in conversations[1..].iter().enumerate() {
        let again = dataoptix_core::send::OutgoingMessage::new(cloud_api::messages::Image::id(
            media_id.clone(),
        ));
        device
            .outbox
            .enqueue(*conversation, again, &format!("menu-{}", i + 2))
            .await
            .unwrap();
    }
    let sent = eventually("the other two sends", async || {
        device.outbox.run_once().await.unwrap();
        let sent = device
            .scalar::<i64>("SELECT count(*) FROM outbox WHERE state = 'sent'")
            .await;
        (sent == 3).then_some(sent)
    })
    .await;
    assert_eq!(sent, 3);

    let other = env.another_device("Back office", fast()).await;
    let rows_for = format!("SELECT count(*) FROM media WHERE media_meta_id = '{media_id}'");
    other
        .sync_until("the three sent images", async |d: &Device| {
            d.scalar::<i64>(&rows_for).await == 3
        })
        .await;
    let fetcher = media_fetcher(env, &other);
    let fetched = fetcher.run_once().await.unwrap();
    assert_eq!(fetched.done, 3, "{fetched:?}");
    assert_eq!(media_files(&other), 1, "one file for the three messages");
    assert_eq!(
        other
            .scalar::<i64>(&format!(
                "SELECT count(DISTINCT path) FROM media WHERE media_meta_id = '{media_id}'"
            ))
            .await,
        1
    );
    for customer in customers {
        assert_eq!(
            image_of(env, &other, customer).await.unwrap(),
            png(),
            "{customer}"
        );
    }
    (device, other, media_id)
}

/// The `customer`'s image message on `device`.
async fn image_message(device: &Device, customer: &str) -> Option<i64> {
    sqlx::query_scalar(
        "SELECT m.id FROM messages m JOIN conversations c ON c.id = m.conversation_id
         JOIN contacts ct ON ct.id = c.contact_id WHERE ct.wa_id = ? AND m.kind = 'image'",
    )
    .bind(customer)
    .fetch_optional(device.store.pool())
    .await
    .unwrap()
}

/// The bytes of the `customer`'s image as `device` reads them back.
async fn image_of(env: &Env, device: &Device, customer: &str) -> Option<Vec<u8>> {
    let message = image_message(device, customer).await?;
    dataoptix_core::media::read(&device.store, &device.vault, &env.workspace_id, message)
        .await
        .ok()
        .map(|m| m.bytes)
}

/// How many media files `device` keeps.
fn media_files(device: &Device) -> usize {
    std::fs::read_dir(device.vault.data_dir().join("media"))
        .unwrap()
        .count()
}

/// A file sent to several customers under one media id (as a broadcast's header is) is
/// downloaded and kept once on the team's other devices, not once per recipient. Erasing one
/// of those customers leaves the file to the others; erasing the last one removes it.
#[tokio::test]
async fn one_media_id_sent_to_several_customers_is_kept_once_on_another_device() {
    let env = Env::start(|_| {}).await;
    let (_device, other, _media_id) = one_file_for_three_customers(&env).await;
    let customers = SHARING;
    let files = || media_files(&other);
    let readable = async |customer: &str| image_of(&env, &other, customer).await;
    // Retention takes the first customer's image (made old here) and its media row, not the
    // file the other two messages name; then their message kept, the second customer's media
    // row alone.
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let age = async |customer: &str, days: i64| {
        sqlx::query("UPDATE messages SET ts = ts - ? WHERE id = ?")
            .bind(days * 86_400)
            .bind(image_message(&other, customer).await)
            .execute(other.store.pool())
            .await
            .unwrap();
    };
    let retain = async |policy: RetentionPolicy| {
        retention::set_policy(&other.store, "Ana Owner", &policy)
            .await
            .unwrap();
        retention::apply(&other.store, other.vault.data_dir(), now, "Ana Owner")
            .await
            .unwrap()
    };
    age(customers[0], 400).await;
    let report = retain(RetentionPolicy {
        messages_days: Some(365),
        ..RetentionPolicy::default()
    })
    .await;
    assert_eq!(
        (report.messages, report.media, report.media_files),
        (1, 1, 0),
        "{report:?}"
    );
    age(customers[1], 200).await;
    let report = retain(RetentionPolicy {
        media_days: Some(100),
        ..RetentionPolicy::default()
    })
    .await;
    assert_eq!((report.media, report.media_files), (1, 0), "{report:?}");
    assert_eq!(files(), 1);
    assert_eq!(readable(customers[2]).await.unwrap(), png());

    // Erasing a customer leaves the file the others' messages name; the last one takes it.
    let erase = async |customer: &str| {
        let contact: i64 = other
            .scalar(&format!(
                "SELECT id FROM contacts WHERE wa_id = '{customer}'"
            ))
            .await;
        dataoptix_core::privacy::erase::erase_contact(
            &other.store,
            other.vault.data_dir(),
            "Ana Owner",
            contact,
        )
        .await
        .unwrap()
    };
    let report = erase(customers[1]).await;
    assert_eq!(report.media_files, 0, "{report:?}");
    assert_eq!(files(), 1);
    assert_eq!(readable(customers[2]).await.unwrap(), png());
    assert_eq!(erase(customers[2]).await.media_files, 1);
    assert_eq!(files(), 0, "the last message naming it took the file");
    env.stop().await;
}

/// The same file on the other device, with the erasures coming from the device that sent it
/// (the path each device of the team takes): a customer erased in full leaves the file to the
/// others; one who wrote again before the erasure arrived keeps the new message and loses the
/// image, and the file stays too; the last erasure takes it.
#[tokio::test]
async fn a_shared_file_stays_until_the_last_erasure_from_another_device_naming_it() {
    let env = Env::start(|_| {}).await;
    let (device, other, _media_id) = one_file_for_three_customers(&env).await;
    let erase_on_device = async |customer: &str| -> i64 {
        let contact: i64 = device
            .scalar(&format!(
                "SELECT id FROM contacts WHERE wa_id = '{customer}'"
            ))
            .await;
        let at = now_ms();
        dataoptix_core::privacy::erase::erase_contact_at(
            &device.store,
            device.data_dir(),
            "Ana Owner",
            contact,
            at,
        )
        .await
        .unwrap();
        at
    };
    let publish = async |customer: &str, at: i64| {
        let contact = ContactRef {
            wa_id: Some(customer.into()),
            user_id: None,
        };
        device
            .team
            .publish_contact_erased(contact, at)
            .await
            .unwrap();
    };
    // As the app does after each sync: the files the sync's erasures left are removed.
    let finish = async || {
        dataoptix_core::privacy::erase::finish_erasures(&other.store, other.vault.data_dir())
            .await
            .unwrap()
    };

    // Erased on the sending device, then in full on the other one (nothing newer there).
    let erase_in_full = async |customer: &str| {
        let at = erase_on_device(customer).await;
        publish(customer, at).await;
        other
            .sync_until("the erasure", async |d: &Device| {
                d.conversation(customer).await.is_none()
            })
            .await;
        finish().await
    };

    // The first customer.
    assert_eq!(
        erase_in_full(SHARING[0]).await,
        0,
        "two messages still name the file"
    );
    assert_eq!(media_files(&other), 1);
    assert_eq!(image_of(&env, &other, SHARING[2]).await.unwrap(), png());

    // The second writes again (a second later: Meta's whole-second timestamps) before the
    // erasure reaches the other device, which keeps that message and erases the older ones.
    let at = erase_on_device(SHARING[1]).await;
    env.control("/clock/advance", json!({"seconds": 2})).await;
    env.inbound(SHARING[1], "One more thing").await;
    let again = format!(
        "SELECT count(*) FROM messages WHERE text_body = 'One more thing' AND conversation_id = \
         (SELECT c.id FROM conversations c JOIN contacts ct ON ct.id = c.contact_id \
          WHERE ct.wa_id = '{}')",
        SHARING[1]
    );
    other
        .sync_until("the second customer's new message", async |d: &Device| {
            d.scalar::<i64>(&again).await == 1
        })
        .await;
    publish(SHARING[1], at).await;
    other
        .sync_until("the second erasure", async |d: &Device| {
            image_message(d, SHARING[1]).await.is_none()
        })
        .await;
    assert_eq!(
        other.scalar::<i64>(&again).await,
        1,
        "the newer message stays"
    );
    assert_eq!(finish().await, 0, "the third message still names the file");
    assert_eq!(media_files(&other), 1);
    assert_eq!(image_of(&env, &other, SHARING[2]).await.unwrap(), png());

    // The third: no row names the file any more, so it goes.
    assert_eq!(erase_in_full(SHARING[2]).await, 1);
    assert_eq!(
        media_files(&other),
        0,
        "the last message naming it took the file"
    );
    env.stop().await;
}

/// A row shares another row's file only while that file is on the disk: one that is lost
/// (removed by hand, a backup restored without its media) is downloaded again for the new
/// row, not pointed at.
#[tokio::test]
async fn a_file_that_is_gone_is_downloaded_again_not_shared() {
    let env = Env::start(|_| {}).await;
    let (device, other, media_id) = one_file_for_three_customers(&env).await;
    for file in std::fs::read_dir(other.vault.data_dir().join("media")).unwrap() {
        std::fs::remove_file(file.unwrap().path()).unwrap();
    }
    // A fourth customer gets the same image: its media id once more.
    let fourth = "15550004444";
    env.inbound(fourth, "And for me?").await;
    device
        .sync_until("the fourth customer", async |d: &Device| {
            d.conversation(fourth).await.is_some()
        })
        .await;
    let conversation = device.conversation(fourth).await.unwrap();
    let again = dataoptix_core::send::OutgoingMessage::new(cloud_api::messages::Image::id(
        media_id.clone(),
    ));
    device
        .outbox
        .enqueue(conversation, again, "menu-4")
        .await
        .unwrap();
    eventually("the fourth send", async || {
        device.outbox.run_once().await.unwrap();
        let sent = device
            .scalar::<i64>("SELECT count(*) FROM outbox WHERE state = 'sent'")
            .await;
        (sent == 4).then_some(())
    })
    .await;
    let rows_for = format!("SELECT count(*) FROM media WHERE media_meta_id = '{media_id}'");
    other
        .sync_until("the fourth image", async |d: &Device| {
            d.scalar::<i64>(&rows_for).await == 4
        })
        .await;
    let fetched = media_fetcher(&env, &other).run_once().await.unwrap();
    assert_eq!(fetched.done, 1, "{fetched:?}");
    assert_eq!(media_files(&other), 1, "downloaded again");
    assert_eq!(image_of(&env, &other, fourth).await.unwrap(), png());
    assert_eq!(
        other
            .scalar::<i64>(&format!(
                "SELECT count(DISTINCT path) FROM media WHERE media_meta_id = '{media_id}'"
            ))
            .await,
        2,
        "the new row names a file of its own"
    );
    env.stop().await;
}

/// Unix milliseconds, as the app dates an erasure.
fn now_ms() -> i64 {
    let now = time::OffsetDateTime::now_utc();
    now.unix_timestamp() * 1000 + i64::from(now.millisecond())
}
