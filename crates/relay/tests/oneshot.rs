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
    let (relay, _dir) = relay().await;
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
                .body(Body::from(r#"{"waba_id":"42"}"#))
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
