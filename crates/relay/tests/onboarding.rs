//! Embedded Signup onboarding over real HTTP, with `dataoptix-sim` as Meta: session, page,
//! completion (code exchange, debug_token, subscribe, register, claim, sealed token), result.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use cloud_api::client::{ClientConfig, CloudApiClient};
use dataoptix_sim::{RunningSim, SimConfig};
use protocol::onboarding::{OnboardingCreated, OnboardingResult, OnboardingStatus};
use protocol::WorkspaceSecretKey;
use reqwest::StatusCode;
use serde_json::{json, Value};

mod support;
use support::*;

const CONFIG_ID: &str = "cfg-4711";

async fn sim() -> RunningSim {
    dataoptix_sim::spawn(SimConfig::for_tests(SECRET))
        .await
        .unwrap()
}

/// A relay wired to the simulator (Graph base URL, app id, SDK).
async fn relay_for(sim: &RunningSim, ttl: Option<time::Duration>) -> TestRelay {
    let info = sim.info.clone();
    TestRelay::start_configured(move |c| {
        c.graph_base_url = info.base_url.clone();
        c.graph_version = info.graph_version.clone();
        c.meta_app_id = Some(info.app_id.clone());
        c.meta_config_id = Some(CONFIG_ID.into());
        c.sdk_url = Some(info.sdk_url.clone());
        if let Some(ttl) = ttl {
            c.onboarding_ttl = ttl;
        }
    })
    .await
}

async fn create(t: &TestRelay, token: &str) -> reqwest::Response {
    t.post("/v1/onboarding", token).await
}

async fn new_session(t: &TestRelay, token: &str) -> OnboardingCreated {
    let resp = create(t, token).await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    resp.json().await.unwrap()
}

/// What a finished Embedded Signup gives the page: code, WABA, number, business.
async fn signup(sim: &RunningSim) -> Value {
    let resp = reqwest::Client::new()
        .post(sim.control_url("/signup/session"))
        .json(&json!({"app_id": sim.info.app_id, "config_id": CONFIG_ID}))
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success());
    resp.json().await.unwrap()
}

async fn complete(t: &TestRelay, session: &str, body: &Value) -> reqwest::Response {
    t.post_json_anon(&format!("/onboarding/{session}/complete"), body)
        .await
}

fn finish_body(s: &Value, pin: &str) -> Value {
    json!({"event": "FINISH", "code": s["code"], "waba_id": s["waba_id"],
           "phone_number_id": s["phone_number_id"], "business_id": s["business_id"], "pin": pin})
}

async fn result(t: &TestRelay, token: &str, session: &str) -> reqwest::Response {
    t.get(&format!("/v1/onboarding/{session}"), token).await
}

async fn sim_state(sim: &RunningSim) -> Value {
    reqwest::get(sim.control_url("/state"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn embedded_signup_end_to_end_with_the_simulator() {
    let sim = sim().await;
    let t = relay_for(&sim, None).await;
    let key = WorkspaceSecretKey::generate();
    let owner = t.register("owner@example.com", &key).await;

    let created = new_session(&t, &owner.token).await;
    assert_eq!(
        created.url,
        t.url(&format!("/onboarding/{}", created.session_id))
    );
    // Before completion the device sees it pending.
    let r: OnboardingResult = result(&t, &owner.token, &created.session_id)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(r.status, OnboardingStatus::Pending);

    let s = signup(&sim).await;
    let waba = s["waba_id"].as_str().unwrap().to_owned();
    let phone = s["phone_number_id"].as_str().unwrap().to_owned();
    let resp = complete(&t, &created.session_id, &finish_body(&s, "246810")).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(
        body["redirect"],
        format!(
            "dataoptix://onboarding/complete?session={}",
            created.session_id
        )
    );

    // Meta's side: the app is subscribed and the number registered with the chosen PIN.
    let state = sim_state(&sim).await;
    let w = state["wabas"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["id"] == waba.as_str())
        .unwrap();
    assert_eq!(w["subscribed"], true);
    let p = state["phones"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == phone.as_str())
        .unwrap();
    assert_eq!(p["registered"], true);
    assert_eq!(p["pin"], "246810");

    // The device: result with the token sealed to the workspace key; the token works.
    let r: OnboardingResult = result(&t, &owner.token, &created.session_id)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(r.status, OnboardingStatus::Done, "{r:?}");
    assert_eq!(r.waba_id.as_deref(), Some(waba.as_str()));
    assert_eq!(r.phone_number_id.as_deref(), Some(phone.as_str()));
    assert_eq!(
        r.display_phone_number.as_deref(),
        s["display_phone_number"].as_str()
    );
    let sealed = protocol::sealed::from_base64(r.sealed_token.as_deref().unwrap()).unwrap();
    let token = String::from_utf8(protocol::open(&key, &sealed).unwrap()).unwrap();
    let graph = CloudApiClient::new(ClientConfig {
        base_url: sim.info.base_url.clone(),
        graph_version: sim.info.graph_version.clone(),
        ..ClientConfig::default()
    })
    .unwrap()
    .with_token(token.clone());
    let number = graph.phone_number(&phone, None).await.unwrap();
    assert_eq!(number.id, phone);

    // The WABA is the workspace's now; the relay keeps the token encrypted, not in clear.
    let wabas: Value = t.get_json("/v1/wabas", &owner.token).await;
    assert_eq!(wabas["waba_ids"], json!([waba]));
    let kept = t.state.store.business_token(&waba).await.unwrap().unwrap();
    assert_eq!(kept.workspace_id, owner.workspace.id);
    let encrypted = kept.encrypted;
    assert_eq!(
        t.state
            .keys
            .decrypt_business_token(&waba, &encrypted)
            .unwrap(),
        token
    );

    // Single use: a second completion, and the page, are refused.
    let again = complete(&t, &created.session_id, &finish_body(&s, "246810")).await;
    assert_eq!(again.status(), StatusCode::NOT_FOUND);
    let page = t
        .get_anon(&format!("/onboarding/{}", created.session_id))
        .await;
    assert_eq!(page.status(), StatusCode::NOT_FOUND);

    // Another workspace cannot read the result; no session, no result.
    let other = t
        .register("other@example.com", &WorkspaceSecretKey::generate())
        .await;
    assert_eq!(
        result(&t, &other.token, &created.session_id).await.status(),
        StatusCode::NOT_FOUND
    );
    let anon = t
        .get_anon(&format!("/v1/onboarding/{}", created.session_id))
        .await;
    assert_eq!(anon.status(), StatusCode::UNAUTHORIZED);
    let anon = t.http.post(t.url("/v1/onboarding")).send().await.unwrap();
    assert_eq!(anon.status(), StatusCode::UNAUTHORIZED);

    // The business token never reaches the disk in clear.
    let dir = t.stop().await;
    for path in files_under(dir.path()) {
        let bytes = std::fs::read(path).unwrap();
        assert!(
            !bytes.windows(token.len()).any(|w| w == token.as_bytes()),
            "token in clear on disk"
        );
    }
    sim.stop();
}

#[tokio::test]
async fn cancel_and_errors_are_recorded() {
    let sim = sim().await;
    let t = relay_for(&sim, None).await;
    let owner = t
        .register("owner@example.com", &WorkspaceSecretKey::generate())
        .await;

    // CANCEL with the screen the user left.
    let c = new_session(&t, &owner.token).await;
    let resp = complete(
        &t,
        &c.session_id,
        &json!({"event": "CANCEL", "current_step": "PHONE_NUMBER_SETUP"}),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let r: OnboardingResult = result(&t, &owner.token, &c.session_id)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(r.status, OnboardingStatus::Cancelled);
    let e = r.error.unwrap();
    assert_eq!(e.code, "cancelled");
    assert_eq!(e.step.as_deref(), Some("PHONE_NUMBER_SETUP"));

    // v4 error reported as CANCEL with error_code.
    let c = new_session(&t, &owner.token).await;
    complete(
        &t,
        &c.session_id,
        &json!({"event": "CANCEL", "error_code": "524126", "error_message": "Something went wrong"}),
    )
    .await;
    let r: OnboardingResult = result(&t, &owner.token, &c.session_id)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(r.status, OnboardingStatus::Cancelled);
    let e = r.error.unwrap();
    assert_eq!(e.code, "signup_error");
    assert_eq!(e.meta_code.as_deref(), Some("524126"));

    // A code the simulator refuses: failed at the exchange, with Meta's error and class.
    let c = new_session(&t, &owner.token).await;
    let mut s = signup(&sim).await;
    s["code"] = json!("not-a-real-code");
    let resp = complete(&t, &c.session_id, &finish_body(&s, "123456")).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let r: OnboardingResult = result(&t, &owner.token, &c.session_id)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(r.status, OnboardingStatus::Failed);
    assert!(r.sealed_token.is_none());
    let e = r.error.unwrap();
    assert_eq!(e.code, "exchange_code");
    assert_eq!(e.meta_code.as_deref(), Some("100"), "{e:?}");
    assert!(e.class.is_some() && e.explanation.is_some(), "{e:?}");

    // A malformed PIN is refused before the session is consumed; it still works afterwards.
    let c = new_session(&t, &owner.token).await;
    let s = signup(&sim).await;
    let bad = complete(&t, &c.session_id, &finish_body(&s, "12ab")).await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    let ok = complete(&t, &c.session_id, &finish_body(&s, "123456")).await;
    assert_eq!(ok.status(), StatusCode::OK);
    let r: OnboardingResult = result(&t, &owner.token, &c.session_id)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(r.status, OnboardingStatus::Done, "{r:?}");

    // A WABA another workspace already has: failed with waba_taken, no token handed out.
    let other = t
        .register("other@example.com", &WorkspaceSecretKey::generate())
        .await;
    let s = signup(&sim).await;
    let claimed = t.claim(&other.token, s["waba_id"].as_str().unwrap()).await;
    assert_eq!(claimed.status(), StatusCode::OK);
    let c = new_session(&t, &owner.token).await;
    let ok = complete(&t, &c.session_id, &finish_body(&s, "123456")).await;
    assert_eq!(ok.status(), StatusCode::OK);
    let r: OnboardingResult = result(&t, &owner.token, &c.session_id)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(r.status, OnboardingStatus::Failed);
    assert!(r.sealed_token.is_none());
    assert_eq!(r.error.unwrap().code, "waba_taken");
    // Refused before any Graph call: the app was not subscribed to that WABA.
    let state = sim_state(&sim).await;
    let w = state["wabas"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["id"] == s["waba_id"])
        .unwrap();
    assert_eq!(w["subscribed"], false);

    t.stop().await;
    sim.stop();
}

#[tokio::test]
async fn unknown_and_expired_sessions_are_refused() {
    let sim = sim().await;
    let t = relay_for(&sim, Some(time::Duration::milliseconds(300))).await;
    let owner = t
        .register("owner@example.com", &WorkspaceSecretKey::generate())
        .await;
    let c = new_session(&t, &owner.token).await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let s = signup(&sim).await;
    let resp = complete(&t, &c.session_id, &finish_body(&s, "123456")).await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    let page = t.get_anon(&format!("/onboarding/{}", c.session_id)).await;
    assert_eq!(page.status(), StatusCode::NOT_FOUND);
    let r: OnboardingResult = result(&t, &owner.token, &c.session_id)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(r.status, OnboardingStatus::Failed);
    assert_eq!(r.error.unwrap().code, "expired");

    // Unknown (well-formed) and malformed ids.
    let unknown = "A".repeat(43);
    let resp = complete(&t, &unknown, &finish_body(&s, "123456")).await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    let resp = complete(&t, "short", &json!({"event": "CANCEL"})).await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        result(&t, &owner.token, &unknown).await.status(),
        StatusCode::NOT_FOUND
    );
    t.stop().await;
    sim.stop();
}

/// A session whose completion was lost (the relay stopped, or the request was dropped while
/// talking to Meta) stays `in_progress` in the database; after `INTERRUPTED_AFTER` the device
/// is told it failed as `interrupted` instead of waiting forever. Younger ones are still
/// reported in progress.
#[tokio::test]
async fn a_session_stuck_in_progress_is_reported_interrupted() {
    use relay::onboarding::INTERRUPTED_AFTER;
    use sha2::{Digest, Sha256};
    let sim = sim().await;
    let t = relay_for(&sim, None).await;
    let owner = t
        .register("owner@example.com", &WorkspaceSecretKey::generate())
        .await;
    let now = time::OffsetDateTime::now_utc();
    let mut sessions = Vec::new();
    // The page's report was taken this long ago, and nothing finished the session since.
    for taken_ago in [
        INTERRUPTED_AFTER + time::Duration::minutes(1),
        INTERRUPTED_AFTER - time::Duration::minutes(1),
    ] {
        let c = new_session(&t, &owner.token).await;
        let id_hash: [u8; 32] = Sha256::digest(c.session_id.as_bytes()).into();
        let began = t
            .state
            .store
            .begin_onboarding(id_hash, now - taken_ago)
            .await
            .unwrap();
        assert_eq!(began, Some(owner.workspace.id));
        sessions.push(c.session_id);
    }
    let r: OnboardingResult = result(&t, &owner.token, &sessions[0])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(r.status, OnboardingStatus::Failed);
    let error = r.error.unwrap();
    assert_eq!(error.code, "interrupted");
    assert!(error.message.unwrap().contains("Connect WhatsApp"));
    assert!(r.sealed_token.is_none());
    let r: OnboardingResult = result(&t, &owner.token, &sessions[1])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(r.status, OnboardingStatus::InProgress);
    assert!(r.error.is_none());
    // An interrupted session cannot be resumed: the page and the report refuse it.
    let page = t.get_anon(&format!("/onboarding/{}", sessions[0])).await;
    assert_eq!(page.status(), StatusCode::NOT_FOUND);
    let resp = complete(&t, &sessions[0], &json!({"event": "CANCEL"})).await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    t.stop().await;
    sim.stop();
}

#[tokio::test]
async fn agents_cannot_start_onboarding() {
    use protocol::invitations::{InvitationAccepted, InvitationSecret};
    let sim = sim().await;
    let t = relay_for(&sim, None).await;
    let key = WorkspaceSecretKey::generate();
    let owner = t.register("owner@example.com", &key).await;
    let secret = InvitationSecret::generate();
    let invitation: Value = t.post_json("/v1/invitations", &owner.token, &json!({
            "email": "agent@example.com", "role": "agent", "accept_token": secret.accept_token(),
            "wrapped_workspace_key": protocol::sealed::to_base64(
                &secret.wrap_workspace_key(&key).unwrap()),
        })).await
        .json()
        .await
        .unwrap();
    let id = invitation["id"].as_str().unwrap();
    let joined: InvitationAccepted = t
        .post_json_anon(
            &format!("/v1/invitations/{id}/accept"),
            &json!({"accept_token": secret.accept_token(), "name": "Ali Agent",
            "password": "agents own password", "device_name": "Till"}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        create(&t, &joined.session.token).await.status(),
        StatusCode::FORBIDDEN
    );
    // The agent may read its workspace's results, though (same workspace).
    let c = new_session(&t, &owner.token).await;
    assert_eq!(
        result(&t, &joined.session.token, &c.session_id)
            .await
            .status(),
        StatusCode::OK
    );
    t.stop().await;
    sim.stop();
}

#[tokio::test]
async fn the_page_is_locked_down_and_never_reflects_input() {
    let sim = sim().await;
    let hostile = "</script><img src=x onerror=alert(1)>";
    let info = sim.info.clone();
    let t = TestRelay::start_configured(move |c| {
        c.graph_base_url = info.base_url.clone();
        c.meta_app_id = Some(info.app_id.clone());
        c.meta_config_id = Some(hostile.into());
        c.sdk_url = Some(info.sdk_url.clone());
    })
    .await;
    let owner = t
        .register("owner@example.com", &WorkspaceSecretKey::generate())
        .await;
    let c = new_session(&t, &owner.token).await;
    let resp = t.http.get(&c.url).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(resp.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    let csp = resp.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(csp.contains("script-src 'nonce-"), "{csp}");
    assert!(!csp.contains("'unsafe-inline' ;") && !csp.contains("script-src 'unsafe"));
    assert!(csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'"));
    let sim_origin = sim.info.base_url.trim_end_matches('/');
    assert!(csp.contains(sim_origin), "{csp}");
    let body = resp.text().await.unwrap();
    // The config is JSON-encoded in a data block, the hostile value escaped.
    assert!(
        body.contains(&format!("\"appId\":\"{}\"", sim.info.app_id)),
        "{body}"
    );
    assert!(body.contains(
        "\"configId\":\"\\u003c/script\\u003e\\u003cimg src=x onerror=alert(1)\\u003e\""
    ));
    assert!(!body.contains(hostile));
    assert!(!body.contains("onclick") && !body.contains("onerror=alert(1)>"));
    assert!(body.contains("\"sdkUrl\":"));
    assert!(body.contains("WA_EMBEDDED_SIGNUP") && body.contains("sessionInfoVersion: '3'"));
    // Every script element carries the nonce of the header.
    let nonce = csp
        .split("'nonce-")
        .nth(1)
        .unwrap()
        .split('\'')
        .next()
        .unwrap();
    assert_eq!(
        body.matches("<script nonce=").count(),
        body.matches(&format!("<script nonce=\"{nonce}\">")).count()
    );

    // A hostile session id in the path: the error page, nothing reflected.
    for path in [
        "/onboarding/%3Cscript%3Ealert(1)%3C%2Fscript%3E",
        "/onboarding/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA%22",
    ] {
        let resp = t.get_anon(path).await;
        assert_eq!(resp.status(), StatusCode::NOT_FOUND);
        assert!(resp.headers().contains_key("content-security-policy"));
        let body = resp.text().await.unwrap();
        assert!(!body.contains("alert") && !body.contains("%3C") && !body.contains("AAAAAAAA"));
        assert!(body.contains("not valid"));
    }
    t.stop().await;
    sim.stop();
}
