//! Handler tests through `app()` with `tower::ServiceExt::oneshot`: no socket, no server.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use axum::body::Body;
use axum::http::{Request, StatusCode};
use cloud_api::signature::{sign, SIGNATURE_HEADER};
use http_body_util::BodyExt;
use protocol::WorkspaceSecretKey;
use relay::{app, Config, Relay};
use serde_json::{json, Value};
use tower::ServiceExt;

const SECRET: &str = "oneshot-secret";

async fn relay() -> (Relay, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let relay = Relay::open(Config::for_tests(dir.path(), SECRET))
        .await
        .unwrap();
    (relay, dir)
}

async fn json_body(resp: axum::response::Response) -> Value {
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    serde_json::from_slice(&bytes).unwrap()
}

#[tokio::test]
async fn health_and_readiness() {
    let (relay, _dir) = relay().await;
    for path in ["/healthz", "/readyz"] {
        let resp = app(relay.state())
            .oneshot(Request::get(path).body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::OK, "{path}");
    }
    relay.close().await.unwrap();
}

#[tokio::test]
async fn errors_have_a_kind_and_no_session_is_401() {
    let (relay, _dir) = relay().await;
    let resp = app(relay.state())
        .oneshot(Request::get("/v1/events").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(json_body(resp).await["kind"], "unauthenticated");

    let bad_key = json!({"name": "A", "email": "a@example.com", "company": "C",
        "password": "long enough password", "workspace_public_key": "short",
        "device_name": "d"});
    let resp = app(relay.state())
        .oneshot(
            Request::post("/v1/accounts")
                .header("content-type", "application/json")
                .body(Body::from(bad_key.to_string()))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let body = json_body(resp).await;
    assert_eq!(body["kind"], "bad_request");
    assert!(body["message"]
        .as_str()
        .unwrap()
        .contains("workspace_public_key"));
    relay.close().await.unwrap();
}

#[tokio::test]
async fn concurrent_webhooks_share_group_commits_and_get_contiguous_seqs() {
    // The claim below is checked with Meta: the simulator stands in.
    let sim = dataoptix_sim::spawn(dataoptix_sim::SimConfig::for_tests(SECRET))
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::for_tests(dir.path(), SECRET);
    config.graph_base_url = sim.info.base_url.clone();
    config.graph_version = sim.info.graph_version.clone();
    config.meta_app_id = Some(sim.info.app_id.clone());
    let relay = Relay::open(config).await.unwrap();
    let access_token = sim.grant(&["42"]);
    let key = WorkspaceSecretKey::generate();
    let register = json!({"name": "A", "email": "gc@example.com", "company": "C",
        "password": "long enough password",
        "workspace_public_key": key.public_key().to_base64(), "device_name": "d"});
    let resp = app(relay.state())
        .oneshot(
            Request::post("/v1/accounts")
                .header("content-type", "application/json")
                .body(Body::from(register.to_string()))
                .unwrap(),
        )
        .await
        .unwrap();
    let token = json_body(resp).await["token"].as_str().unwrap().to_owned();
    let claim = app(relay.state())
        .oneshot(
            Request::post("/v1/wabas")
                .header("content-type", "application/json")
                .header("authorization", format!("Bearer {token}"))
                .body(Body::from(
                    json!({"waba_id": "42", "access_token": access_token}).to_string(),
                ))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(claim.status(), StatusCode::OK);

    const N: usize = 64;
    let mut tasks = Vec::new();
    for i in 0..N {
        let router = app(relay.state());
        tasks.push(tokio::spawn(async move {
            let body = format!(
                r#"{{"object":"whatsapp_business_account","entry":[{{"id":"42","time":{i},"changes":[]}}]}}"#
            );
            let sig = sign(SECRET.as_bytes(), body.as_bytes());
            router
                .oneshot(
                    Request::post("/webhooks/meta")
                        .header(SIGNATURE_HEADER, sig)
                        .body(Body::from(body))
                        .unwrap(),
                )
                .await
                .unwrap()
                .status()
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap(), StatusCode::OK);
    }
    let resp = app(relay.state())
        .oneshot(
            Request::get("/v1/events?after=0")
                .header("authorization", format!("Bearer {token}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    let page = json_body(resp).await;
    let seqs: Vec<i64> = page["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["seq"].as_i64().unwrap())
        .collect();
    assert_eq!(seqs, (1..=N as i64).collect::<Vec<_>>());
    let resp = app(relay.state())
        .oneshot(Request::get("/metrics").body(Body::empty()).unwrap())
        .await
        .unwrap();
    let text = String::from_utf8(
        resp.into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec(),
    )
    .unwrap();
    let value = |name: &str| -> u64 {
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{name} ")))
            .unwrap()
            .parse()
            .unwrap()
    };
    let commits = value("dataoptix_relay_group_commits_total");
    let requests = value("dataoptix_relay_group_commit_requests_total");
    // 64 webhooks + the registration's claim (not through the writer) → 64 requests; how many
    // transactions depends on timing, never more than requests.
    assert_eq!(requests, N as u64);
    assert!(commits >= 1 && commits <= requests, "{commits} commits");
    println!("{requests} webhook requests in {commits} group commits");
    relay.close().await.unwrap();
}

#[tokio::test]
async fn malformed_json_is_a_400_with_a_kind() {
    let (relay, _dir) = relay().await;
    let resp = app(relay.state())
        .oneshot(
            Request::post("/v1/sessions")
                .header("content-type", "application/json")
                .body(Body::from(r#"{"email": 1"#))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert_eq!(json_body(resp).await["kind"], "bad_request");
    relay.close().await.unwrap();
}

/// `prepare` is the ingest without its commit (what the `relay_ingest` fuzz target drives):
/// refusals carry the reason, signed entries come back sealed to the held-event key (no WABA
/// is claimed here) with their exact bytes, a signed non-envelope comes back for inspection,
/// and nothing reaches the log.
#[tokio::test]
async fn ingest_prepare_verifies_splits_and_seals_without_storing() {
    use cloud_api::signature::SignatureError;
    use relay::store::WriteOp;
    use relay::webhooks::ingest::{prepare, Ingest};

    let (relay, _dir) = relay().await;
    let state = relay.state();
    let now = time::OffsetDateTime::now_utc();
    let raw = [
        r#"{"id":"1","changes":[]}"#,
        r#"{"id": "2" ,"changes":[{"field":"messages"}]}"#,
    ];
    let body = format!(
        r#"{{"object":"whatsapp_business_account","entry":[{},{}]}}"#,
        raw[0], raw[1]
    );
    let body = body.as_bytes();

    let refused = prepare(&state, body, None, now).await.unwrap();
    assert!(matches!(refused, Ingest::Refused(SignatureError::Missing)));
    let other = sign(SECRET.as_bytes(), b"{}");
    let refused = prepare(&state, body, Some(&other), now).await.unwrap();
    assert!(matches!(refused, Ingest::Refused(SignatureError::Mismatch)));

    let signed = sign(SECRET.as_bytes(), body);
    let Ingest::Store(ops) = prepare(&state, body, Some(&signed), now).await.unwrap() else {
        panic!("a signed body was refused");
    };
    assert_eq!(ops.len(), 2);
    let held = state.keys.held_secret();
    for (op, raw) in ops.iter().zip(raw) {
        let WriteOp::WebhookEntry {
            waba_id,
            sealed,
            sealed_for,
            ..
        } = op
        else {
            panic!("not an entry: {op:?}");
        };
        assert!(raw.contains(&format!("\"{waba_id}\"")));
        assert_eq!(sealed_for, &None);
        assert_eq!(protocol::open(&held, sealed).unwrap(), raw.as_bytes());
    }

    let not_an_envelope = b"[1, 2, 3]";
    let signed = sign(SECRET.as_bytes(), not_an_envelope);
    let Ingest::Store(ops) = prepare(&state, not_an_envelope, Some(&signed), now)
        .await
        .unwrap()
    else {
        panic!("a signed body was refused");
    };
    let [WriteOp::InvalidBody { encrypted, .. }] = ops.as_slice() else {
        panic!("expected one body to inspect: {ops:?}");
    };
    assert_eq!(
        state.keys.decrypt_inspection(encrypted).unwrap(),
        not_an_envelope
    );

    // No commit happened, and `prepare` counts nothing (the handler does).
    let counted = |c: &std::sync::atomic::AtomicU64| c.load(std::sync::atomic::Ordering::SeqCst);
    assert_eq!(counted(&state.metrics.group_commits), 0);
    assert_eq!(counted(&state.metrics.webhooks_received), 0);
    drop(state);
    relay.close().await.unwrap();
}
