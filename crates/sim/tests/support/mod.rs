//! Test harness: a simulator on 127.0.0.1:0 and a local axum webhook receiver that checks
//! every signature with `cloud_api::signature::verify`.

#![allow(dead_code)] // each test binary uses a different subset
#![allow(clippy::unwrap_used)] // test helpers

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use dataoptix_sim::{RunningSim, SimConfig};
use parking_lot::Mutex;
use serde_json::{json, Value};
use tokio::sync::Notify;

pub const SECRET: &str = "test-app-secret-ünïcode";

/// One webhook POST as received.
#[derive(Debug, Clone)]
pub struct Hook {
    pub signature_ok: bool,
    pub raw: Bytes,
    pub json: Value,
}

impl Hook {
    /// Asserts the notification parses with the cloud-api types *and* that every part of it is
    /// typed (parsing alone never fails: unknown shapes are kept as raw JSON, so a bare
    /// `is_ok()` would not catch a shape the simulator and cloud-api disagree on).
    pub fn assert_typed(&self) {
        let parsed = cloud_api::webhook::WebhookPayload::from_slice(&self.raw)
            .unwrap_or_else(|e| panic!("{}: {e}", self.json));
        assert_eq!(
            parsed.untyped_parts(),
            0,
            "parts of this webhook are not typed by cloud-api: {}",
            self.json
        );
        let back = serde_json::to_value(&parsed).unwrap();
        assert_eq!(back, self.json, "the webhook does not round-trip");
    }

    pub fn field(&self) -> &str {
        self.json["entry"][0]["changes"][0]["field"]
            .as_str()
            .unwrap_or("")
    }
    pub fn value(&self) -> &Value {
        &self.json["entry"][0]["changes"][0]["value"]
    }
}

#[derive(Clone, Default)]
struct RxState {
    hooks: Arc<Mutex<Vec<Hook>>>,
    attempts: Arc<AtomicUsize>,
    fail_first: Arc<AtomicUsize>,
    notify: Arc<Notify>,
    verify_token: Arc<Mutex<String>>,
}

/// A local webhook receiver.
pub struct Receiver {
    pub url: String,
    st: RxState,
}

async fn receive(State(st): State<RxState>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let n = st.attempts.fetch_add(1, Ordering::SeqCst);
    if n < st.fail_first.load(Ordering::SeqCst) {
        return StatusCode::INTERNAL_SERVER_ERROR;
    }
    let sig = headers
        .get("x-hub-signature-256")
        .and_then(|v| v.to_str().ok());
    let signature_ok = cloud_api::signature::verify(SECRET.as_bytes(), &body, sig).is_ok();
    let json = serde_json::from_slice(&body).unwrap_or(Value::Null);
    st.hooks.lock().push(Hook {
        signature_ok,
        raw: body,
        json,
    });
    st.notify.notify_waiters();
    StatusCode::OK
}

async fn verify(
    State(st): State<RxState>,
    axum::extract::Query(q): axum::extract::Query<cloud_api::signature::VerificationQuery>,
) -> (StatusCode, String) {
    let token = st.verify_token.lock().clone();
    match cloud_api::signature::verify_subscription(&q, &token) {
        Some(c) => (StatusCode::OK, c.to_string()),
        None => (StatusCode::FORBIDDEN, String::new()),
    }
}

impl Receiver {
    pub async fn start() -> Self {
        let st = RxState::default();
        *st.verify_token.lock() = "verify-me".into();
        let app = Router::new()
            .route("/hook", post(receive).get(verify))
            .with_state(st.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Self {
            url: format!("http://{addr}/hook"),
            st,
        }
    }

    /// The next `n` POSTs answer 500.
    pub fn fail_next(&self, n: usize) {
        let done = self.st.attempts.load(Ordering::SeqCst);
        self.st.fail_first.store(done + n, Ordering::SeqCst);
    }

    pub fn attempts(&self) -> usize {
        self.st.attempts.load(Ordering::SeqCst)
    }

    pub fn hooks(&self) -> Vec<Hook> {
        self.st.hooks.lock().clone()
    }

    /// Waits (up to 10 s) until `pred` holds for the received hooks; returns them.
    pub async fn wait_for(&self, what: &str, pred: impl Fn(&[Hook]) -> bool) -> Vec<Hook> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let notified = self.st.notify.notified();
            {
                let hooks = self.st.hooks.lock();
                if pred(&hooks) {
                    return hooks.clone();
                }
            }
            if tokio::time::Instant::now() > deadline {
                let hooks = self.hooks();
                let dump: Vec<&Value> = hooks.iter().map(|h| &h.json).collect();
                panic!(
                    "timed out waiting for {what}; got {}",
                    serde_json::to_string_pretty(&dump).unwrap()
                );
            }
            let _ = tokio::time::timeout(Duration::from_millis(50), notified).await;
        }
    }

    /// `(wamid, status)` of every status webhook so far, in arrival order.
    pub fn statuses(&self) -> Vec<(String, String)> {
        statuses_of(&self.hooks())
    }

    /// Asserts every webhook received so far is fully typed by cloud-api (see
    /// [`Hook::assert_typed`]).
    pub fn assert_all_typed(&self) {
        let hooks = self.hooks();
        assert!(!hooks.is_empty(), "no webhook received");
        for h in &hooks {
            h.assert_typed();
        }
    }

    /// Inbound messages received so far.
    pub fn messages(&self) -> Vec<Value> {
        self.hooks()
            .iter()
            .filter_map(|h| h.value().get("messages").and_then(Value::as_array).cloned())
            .flatten()
            .collect()
    }
}

pub fn statuses_of(hooks: &[Hook]) -> Vec<(String, String)> {
    hooks
        .iter()
        .filter_map(|h| h.value().get("statuses").and_then(Value::as_array).cloned())
        .flatten()
        .map(|s| {
            (
                s["id"].as_str().unwrap_or("").to_string(),
                s["status"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

/// A simulator with a receiver and helpers.
pub struct TestSim {
    pub sim: RunningSim,
    pub rx: Receiver,
    pub http: reqwest::Client,
    /// `{base_url}/v23.0`
    pub graph: String,
    pub token: String,
    pub phone: String,
    pub waba: String,
}

pub async fn start() -> TestSim {
    start_with(|_| {}).await
}

pub async fn start_with(tune: impl FnOnce(&mut SimConfig)) -> TestSim {
    let rx = Receiver::start().await;
    let mut cfg = SimConfig::for_tests(SECRET);
    cfg.webhook_url = Some(rx.url.clone());
    tune(&mut cfg);
    let sim = dataoptix_sim::spawn(cfg).await.unwrap();
    TestSim {
        graph: format!("{}/v23.0", sim.info.base_url),
        token: sim.info.access_token.clone(),
        phone: sim.info.phone_number_id.clone(),
        waba: sim.info.waba_id.clone(),
        sim,
        rx,
        http: reqwest::Client::new(),
    }
}

impl TestSim {
    pub async fn graph_call(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (u16, Value) {
        let url = format!("{}/{}", self.graph, path.trim_start_matches('/'));
        let mut req = self.http.request(method, url);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        self.graph_call(reqwest::Method::GET, path, Some(&self.token), None)
            .await
    }

    pub async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.graph_call(reqwest::Method::POST, path, Some(&self.token), Some(body))
            .await
    }

    pub async fn delete(&self, path: &str) -> (u16, Value) {
        self.graph_call(reqwest::Method::DELETE, path, Some(&self.token), None)
            .await
    }

    /// `POST /{phone}/messages` with the default token.
    pub async fn send(&self, body: Value) -> (u16, Value) {
        self.post(&format!("{}/messages", self.phone), body).await
    }

    pub async fn send_text(&self, to: &str, text: &str) -> (u16, Value) {
        self.send(json!({
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": to,
            "type": "text",
            "text": {"preview_url": false, "body": text},
        }))
        .await
    }

    pub async fn control(&self, path: &str, body: Value) -> Value {
        let resp = self
            .http
            .post(self.sim.control_url(path))
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = resp.status();
        let v: Value = resp.json().await.unwrap();
        assert!(status.is_success(), "control {path}: {status} {v}");
        v
    }

    pub async fn control_get(&self, path: &str) -> Value {
        self.http
            .get(self.sim.control_url(path))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// A user writes to the business (opens the 24-hour window); waits for its webhook.
    pub async fn user_says(&self, from: &str, text: &str) -> String {
        let v = self
            .control(
                "/inbound",
                json!({"from": from, "type": "text", "text": {"body": text}}),
            )
            .await;
        let id = v["id"].as_str().unwrap().to_string();
        let wanted = id.clone();
        self.rx
            .wait_for("the inbound message", |h| {
                h.iter()
                    .any(|h| h.value()["messages"][0]["id"] == wanted.as_str())
            })
            .await;
        id
    }

    pub async fn advance_clock(&self, seconds: f64) {
        self.control("/clock/advance", json!({"seconds": seconds}))
            .await;
    }
}
