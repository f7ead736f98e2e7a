//! Inbound media survive, over real HTTP with `dataoptix-sim` as Meta: after an Embedded
//! Signup onboarding gives the relay a business token, a customer's image and voice note are
//! fetched, sealed to the workspace and served to its devices; failures are retried and end
//! as a `media_status` event; a restart resumes a pending fetch.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use cloud_api::client::{ClientConfig, CloudApiClient};
use dataoptix_sim::{RunningSim, SimConfig};
use protocol::events::{EventKind, EventPage};
use protocol::media::{MediaFetchStatus, MediaStatus, MIME_HEADER, SHA256_HEADER, SIZE_HEADER};
use protocol::onboarding::{OnboardingCreated, OnboardingResult, OnboardingStatus};
use protocol::WorkspaceSecretKey;
use relay::config::Config;
use relay::sealing::RelayKeys;
use relay::store::{NewMediaJob, SqliteStore, Store};
use reqwest::StatusCode;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

mod support;
use support::*;

const CONFIG_ID: &str = "cfg-media";

async fn sim() -> RunningSim {
    dataoptix_sim::spawn(SimConfig::for_tests(SECRET))
        .await
        .unwrap()
}

fn wire(c: &mut Config, sim: &RunningSim) {
    c.graph_base_url = sim.info.base_url.clone();
    c.graph_version = sim.info.graph_version.clone();
    c.meta_app_id = Some(sim.info.app_id.clone());
    c.meta_config_id = Some(CONFIG_ID.into());
    c.sdk_url = Some(sim.info.sdk_url.clone());
    c.media_retry_base = Duration::from_millis(50);
    c.media_max_attempts = 3;
}

async fn relay_for(sim: &RunningSim) -> TestRelay {
    TestRelay::start_configured(|c| wire(c, sim)).await
}

struct Onboarded {
    waba: String,
    phone: String,
    token: String,
}

/// A complete Embedded Signup: the relay ends up with the WABA's business token.
async fn onboard(
    t: &TestRelay,
    sim: &RunningSim,
    session: &str,
    key: &WorkspaceSecretKey,
) -> Onboarded {
    let (created, s) = start_onboarding(t, sim, session).await;
    finish_onboarding(t, session, key, &created, &s).await
}

/// The signup at Meta is done (WABA and number exist) but the relay has not completed yet.
async fn start_onboarding(
    t: &TestRelay,
    sim: &RunningSim,
    session: &str,
) -> (OnboardingCreated, Value) {
    let created: OnboardingCreated = t
        .post("/v1/onboarding", session)
        .await
        .json()
        .await
        .unwrap();
    let s: Value = t
        .http
        .post(sim.control_url("/signup/session"))
        .json(&json!({"app_id": sim.info.app_id, "config_id": CONFIG_ID}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    (created, s)
}

async fn finish_onboarding(
    t: &TestRelay,
    session: &str,
    key: &WorkspaceSecretKey,
    created: &OnboardingCreated,
    s: &Value,
) -> Onboarded {
    let body = json!({"event": "FINISH", "code": s["code"], "waba_id": s["waba_id"],
        "phone_number_id": s["phone_number_id"], "business_id": s["business_id"], "pin": "135790"});
    let resp = t
        .post_json_anon(
            &format!("/onboarding/{}/complete", created.session_id),
            &body,
        )
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let r: OnboardingResult = t
        .get_json(&format!("/v1/onboarding/{}", created.session_id), session)
        .await;
    assert_eq!(r.status, OnboardingStatus::Done, "{r:?}");
    let sealed = protocol::sealed::from_base64(r.sealed_token.as_deref().unwrap()).unwrap();
    Onboarded {
        waba: s["waba_id"].as_str().unwrap().to_owned(),
        phone: s["phone_number_id"].as_str().unwrap().to_owned(),
        token: String::from_utf8(protocol::open(key, &sealed).unwrap()).unwrap(),
    }
}

/// The simulator's customer sends a media message; returns the change `value` Meta delivers.
async fn inbound(sim: &RunningSim, phone: &str, body: Value) -> Value {
    let mut body = body;
    body["from"] = json!("16505551234");
    body["phone_number_id"] = json!(phone);
    let resp = reqwest::Client::new()
        .post(sim.control_url("/inbound"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success(), "{}", resp.text().await.unwrap());
    let delivered: Value = resp.json().await.unwrap();
    delivered["webhook"].clone()
}

fn envelope(waba: &str, value: &Value) -> Vec<u8> {
    serde_json::to_vec(&json!({"object": "whatsapp_business_account",
        "entry": [{"id": waba, "changes": [{"field": "messages", "value": value}]}]}))
    .unwrap()
}

fn media_id(value: &Value, kind: &str) -> String {
    value["messages"][0][kind]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn asset(sim: &RunningSim, name: &str) -> Vec<u8> {
    reqwest::get(sim.control_url(&format!("/assets/{name}")))
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap()
        .to_vec()
}

/// Reads the workspace log until `n` `media_status` events arrived.
async fn media_statuses(
    t: &TestRelay,
    session: &str,
    key: &WorkspaceSecretKey,
    n: usize,
) -> Vec<MediaStatus> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let mut after = 0;
    let mut found = Vec::new();
    while found.len() < n {
        assert!(
            tokio::time::Instant::now() < deadline,
            "media_status events missing: {found:?}"
        );
        let page: EventPage = t
            .get_json(&format!("/v1/events?after={after}&wait=2"), session)
            .await;
        after = page.next_after;
        for e in page
            .events
            .iter()
            .filter(|e| e.kind == EventKind::MediaStatus)
        {
            let sealed = protocol::sealed::from_base64(&e.sealed).unwrap();
            found.push(serde_json::from_slice(&protocol::open(key, &sealed).unwrap()).unwrap());
        }
    }
    found
}

async fn get_media(t: &TestRelay, session: Option<&str>, id: &str) -> reqwest::Response {
    let path = format!("/v1/media/{id}");
    match session {
        Some(s) => t.get(&path, s).await,
        None => t.get_anon(&path).await,
    }
}

fn all_files(dir: &std::path::Path) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(all_files(&p));
            } else {
                out.push(std::fs::read(&p).unwrap());
            }
        }
    }
    out
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

#[tokio::test]
async fn inbound_media_are_fetched_sealed_and_served() {
    let sim = sim().await;
    let t = relay_for(&sim).await;
    let key = WorkspaceSecretKey::generate();
    let owner = t.register("media@example.com", &key).await;
    let o = onboard(&t, &sim, &owner.token, &key).await;

    let image = inbound(&sim, &o.phone, json!({"type": "image", "asset": "png"})).await;
    let voice = inbound(&sim, &o.phone, json!({"type": "voice"})).await;
    let image_id = media_id(&image, "image");
    let voice_id = media_id(&voice, "audio");
    assert_eq!(
        t.signed_webhook(&envelope(&o.waba, &image)).await,
        StatusCode::OK
    );
    assert_eq!(
        t.signed_webhook(&envelope(&o.waba, &voice)).await,
        StatusCode::OK
    );

    let statuses = media_statuses(&t, &owner.token, &key, 2).await;
    for s in &statuses {
        assert_eq!(s.status, MediaFetchStatus::Stored, "{s:?}");
    }
    let mut ids: Vec<&str> = statuses.iter().map(|s| s.media_id.as_str()).collect();
    ids.sort();
    let mut want = vec![image_id.as_str(), voice_id.as_str()];
    want.sort();
    assert_eq!(ids, want);

    let png = asset(&sim, "png").await;
    let ogg = asset(&sim, "voice").await;
    assert!(png.starts_with(b"\x89PNG"));
    for (id, plain, mime) in [
        (&image_id, &png, "image/png"),
        (&voice_id, &ogg, "audio/ogg"),
    ] {
        let resp = get_media(&t, Some(&owner.token), id).await;
        assert_eq!(resp.status(), StatusCode::OK);
        let h = resp.headers().clone();
        assert_eq!(h["content-type"], "application/octet-stream");
        assert!(h[MIME_HEADER].to_str().unwrap().starts_with(mime), "{h:?}");
        assert_eq!(h[SIZE_HEADER].to_str().unwrap(), plain.len().to_string());
        let sha = hex::encode(Sha256::digest(plain));
        assert_eq!(h[SHA256_HEADER].to_str().unwrap(), sha);
        let sealed = resp.bytes().await.unwrap();
        assert!(!contains(&sealed, &plain[..16]));
        let opened = protocol::open(&key, &sealed).unwrap();
        assert_eq!(hex::encode(Sha256::digest(&opened)), sha);
        assert_eq!(&opened, plain);
    }

    // Another workspace: 404; no session: 401; unknown id: 404.
    let other_key = WorkspaceSecretKey::generate();
    let other = t.register("other@example.com", &other_key).await;
    assert_eq!(
        get_media(&t, Some(&other.token), &image_id).await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        get_media(&t, None, &image_id).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        get_media(&t, Some(&owner.token), "nope").await.status(),
        StatusCode::NOT_FOUND
    );

    // On disk: only ciphertext.
    let media_dir = t.dir.path().join("media");
    let files = all_files(&media_dir);
    assert_eq!(files.len(), 2);
    for f in &files {
        assert!(!contains(f, b"\x89PNG"));
        assert!(!contains(f, &png[..32]));
        assert!(!contains(f, &ogg[..32]));
    }

    // Account deletion takes the files.
    let resp = t.delete("/v1/accounts/current", &owner.token).await;
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    assert!(all_files(&media_dir).is_empty());
    sim.stop();
    t.stop().await;
}

#[tokio::test]
async fn a_failing_fetch_is_retried_then_reported() {
    let sim = sim().await;
    let t = relay_for(&sim).await;
    let key = WorkspaceSecretKey::generate();
    let owner = t.register("retry@example.com", &key).await;
    let o = onboard(&t, &sim, &owner.token, &key).await;

    // The media is gone at Meta before the relay gets to it.
    let image = inbound(&sim, &o.phone, json!({"type": "image"})).await;
    let id = media_id(&image, "image");
    CloudApiClient::new(ClientConfig {
        base_url: sim.info.base_url.clone(),
        graph_version: sim.info.graph_version.clone(),
        ..ClientConfig::default()
    })
    .unwrap()
    .with_token(o.token.clone())
    .delete_media(&id, Some(&o.phone))
    .await
    .unwrap();
    assert_eq!(
        t.signed_webhook(&envelope(&o.waba, &image)).await,
        StatusCode::OK
    );

    let statuses = media_statuses(&t, &owner.token, &key, 1).await;
    assert_eq!(statuses[0].media_id, id);
    assert_eq!(statuses[0].status, MediaFetchStatus::Failed);
    assert!(statuses[0].error.is_some());
    let record = t
        .state
        .store
        .media(owner.workspace.id, &id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(record.status, "failed");
    assert_eq!(record.attempts, 3, "retried up to media_max_attempts");
    assert_eq!(
        get_media(&t, Some(&owner.token), &id).await.status(),
        StatusCode::NOT_FOUND
    );
    let metrics = t.metrics().await;
    assert!(
        metrics.contains("dataoptix_relay_media_failed_total 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("dataoptix_relay_media_attempts_failed_total 3"),
        "{metrics}"
    );

    // A WABA claimed by manual setup: the relay keeps the token it was shown, and fetches.
    let key2 = WorkspaceSecretKey::generate();
    let manual = t.register("manual@example.com", &key2).await;
    assert_eq!(
        t.claim(&manual.token, &sim.info.waba_id).await.status(),
        StatusCode::OK
    );
    let image = inbound(&sim, &sim.info.phone_number_id, json!({"type": "image"})).await;
    assert_eq!(
        t.signed_webhook(&envelope(&sim.info.waba_id, &image)).await,
        StatusCode::OK
    );
    let statuses = media_statuses(&t, &manual.token, &key2, 1).await;
    assert_eq!(statuses[0].status, MediaFetchStatus::Stored, "{statuses:?}");

    // A WABA linked without a token yet (an onboarding between its claim and storing the
    // token): retried, then reported failed.
    let key3 = WorkspaceSecretKey::generate();
    let pending = t.register("pending@example.com", &key3).await;
    t.state
        .store
        .claim_waba(
            pending.workspace.id,
            "777000111",
            time::OffsetDateTime::now_utc(),
        )
        .await
        .unwrap();
    t.state.owners.clear();
    let image = inbound(&sim, &sim.info.phone_number_id, json!({"type": "image"})).await;
    assert_eq!(
        t.signed_webhook(&envelope("777000111", &image)).await,
        StatusCode::OK
    );
    let statuses = media_statuses(&t, &pending.token, &key3, 1).await;
    assert_eq!(statuses[0].status, MediaFetchStatus::Failed);
    assert!(statuses[0]
        .error
        .as_deref()
        .unwrap()
        .contains("no business token"));
    sim.stop();
    t.stop().await;
}

#[tokio::test]
async fn a_restart_resumes_a_pending_fetch() {
    let sim = sim().await;
    let t = relay_for(&sim).await;
    let key = WorkspaceSecretKey::generate();
    let owner = t.register("restart@example.com", &key).await;
    let o = onboard(&t, &sim, &owner.token, &key).await;
    let dir = t.stop().await;

    // While the relay is down, a fetch is pending in its queue (as after a crash between the
    // queueing and the fetch).
    let image = inbound(&sim, &o.phone, json!({"type": "image", "asset": "png"})).await;
    let id = media_id(&image, "image");
    let config = Config::for_tests(dir.path(), SECRET);
    let keys = RelayKeys::derive(&config.encryption_key);
    let store = SqliteStore::open(dir.path(), keys.held_secret())
        .await
        .unwrap();
    store
        .enqueue_media(
            vec![NewMediaJob {
                workspace_id: owner.workspace.id,
                media_id: id.clone(),
                waba_id: o.waba.clone(),
                phone_number_id: o.phone.clone(),
            }],
            time::OffsetDateTime::now_utc(),
        )
        .await
        .unwrap();
    store.close().await;

    let t = TestRelay::start_with(dir, |c| wire(c, &sim)).await;
    let statuses = media_statuses(&t, &owner.token, &key, 1).await;
    assert_eq!(
        statuses[0].status,
        MediaFetchStatus::Stored,
        "{:?}",
        statuses[0]
    );
    let resp = get_media(&t, Some(&owner.token), &id).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let opened = protocol::open(&key, &resp.bytes().await.unwrap()).unwrap();
    assert_eq!(opened, asset(&sim, "png").await);
    sim.stop();
    t.stop().await;
}

#[tokio::test]
async fn media_of_an_entry_held_before_the_claim_are_fetched_after_onboarding() {
    let sim = sim().await;
    let t = relay_for(&sim).await;
    let key = WorkspaceSecretKey::generate();
    let owner = t.register("held@example.com", &key).await;
    let (created, s) = start_onboarding(&t, &sim, &owner.token).await;
    let waba = s["waba_id"].as_str().unwrap().to_owned();
    let phone = s["phone_number_id"].as_str().unwrap().to_owned();

    // The customer's photo arrives while the WABA is not linked yet: held by the relay.
    let image = inbound(&sim, &phone, json!({"type": "image", "asset": "png"})).await;
    let id = media_id(&image, "image");
    assert_eq!(
        t.signed_webhook(&envelope(&waba, &image)).await,
        StatusCode::OK
    );
    assert_eq!(t.counts().await.1, 1, "held");

    finish_onboarding(&t, &owner.token, &key, &created, &s).await;
    let statuses = media_statuses(&t, &owner.token, &key, 1).await;
    assert_eq!(statuses[0].media_id, id);
    assert_eq!(
        statuses[0].status,
        MediaFetchStatus::Stored,
        "{:?}",
        statuses[0]
    );
    let resp = get_media(&t, Some(&owner.token), &id).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let opened = protocol::open(&key, &resp.bytes().await.unwrap()).unwrap();
    assert_eq!(opened, asset(&sim, "png").await);
    sim.stop();
    t.stop().await;
}
