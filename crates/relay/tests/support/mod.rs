//! The relay on 127.0.0.1:0 for integration tests, with helpers to drive it over HTTP.
// Not every test binary uses every helper; panicking on failure is the point of test code.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;

use cloud_api::signature::{sign, SIGNATURE_HEADER};
use dataoptix_sim::{RunningSim, SimConfig};
use protocol::auth::SessionCreated;
use protocol::events::EventPage;
use protocol::WorkspaceSecretKey;
use relay::{app, AppState, Config, Relay};
use reqwest::StatusCode;
use serde::de::DeserializeOwned;
use serde_json::{json, Value};
use tokio::sync::oneshot;

pub const SECRET: &str = "test-app-secret";
pub const WABA: &str = "102290129340398";
pub const MESSAGE_TEXT: &str = "Plaintext canary: the quick brown fox 4711";
pub const PASSWORD: &str = "correct horse battery staple";

pub struct TestRelay {
    pub base: String,
    pub http: reqwest::Client,
    pub state: AppState,
    stop: Option<oneshot::Sender<()>>,
    server: tokio::task::JoinHandle<()>,
    relay: Option<Relay>,
    pub dir: tempfile::TempDir,
    /// Meta for this relay (its Graph base URL and app id), unless `configure` pointed it
    /// elsewhere: claims are checked with its `debug_token`.
    pub sim: RunningSim,
}

impl TestRelay {
    pub async fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        Self::start_in(dir).await
    }

    pub async fn start_in(dir: tempfile::TempDir) -> Self {
        Self::start_with(dir, |_| {}).await
    }

    /// Starts with `public_origin` = the listener's URL, then lets `configure` adjust.
    pub async fn start_configured(configure: impl FnOnce(&mut Config)) -> Self {
        Self::start_with(tempfile::tempdir().unwrap(), configure).await
    }

    pub async fn start_with(dir: tempfile::TempDir, configure: impl FnOnce(&mut Config)) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let sim = dataoptix_sim::spawn(SimConfig::for_tests(SECRET))
            .await
            .unwrap();
        let mut config = Config::for_tests(dir.path(), SECRET);
        config.public_origin = Some(base.clone());
        config.graph_base_url = sim.info.base_url.clone();
        config.graph_version = sim.info.graph_version.clone();
        config.meta_app_id = Some(sim.info.app_id.clone());
        configure(&mut config);
        let relay = Relay::open(config).await.unwrap();
        let state = relay.state();
        let (stop, stopped) = oneshot::channel::<()>();
        let router = app(state.clone());
        let server = tokio::spawn(async move {
            axum::serve(
                listener,
                router.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .await
            .unwrap();
        });
        TestRelay {
            base,
            http: reqwest::Client::new(),
            state,
            stop: Some(stop),
            server,
            relay: Some(relay),
            dir,
            sim,
        }
    }

    pub async fn stop(mut self) -> tempfile::TempDir {
        // Long-polls and streams return first, as `relay::run` does on shutdown.
        if let Some(relay) = &self.relay {
            relay.begin_shutdown();
        }
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        (&mut self.server).await.unwrap();
        drop(self.state);
        self.relay.take().unwrap().close().await.unwrap();
        self.dir
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// `GET path` with the session's bearer token.
    pub async fn get(&self, path: &str, token: &str) -> reqwest::Response {
        let req = self.http.get(self.url(path)).bearer_auth(token);
        req.send().await.unwrap()
    }

    /// `GET path` without credentials.
    pub async fn get_anon(&self, path: &str) -> reqwest::Response {
        self.http.get(self.url(path)).send().await.unwrap()
    }

    /// `GET path` with the bearer token, body parsed as JSON (status not checked).
    pub async fn get_json<T: DeserializeOwned>(&self, path: &str, token: &str) -> T {
        self.get(path, token).await.json().await.unwrap()
    }

    /// `POST path` with the bearer token and `body` as JSON.
    pub async fn post_json(&self, path: &str, token: &str, body: &Value) -> reqwest::Response {
        let req = self.http.post(self.url(path)).bearer_auth(token);
        req.json(body).send().await.unwrap()
    }

    /// `POST path` with the bearer token and no body.
    pub async fn post(&self, path: &str, token: &str) -> reqwest::Response {
        let req = self.http.post(self.url(path)).bearer_auth(token);
        req.send().await.unwrap()
    }

    /// `POST path` without credentials, `body` as JSON.
    pub async fn post_json_anon(&self, path: &str, body: &Value) -> reqwest::Response {
        let req = self.http.post(self.url(path)).json(body);
        req.send().await.unwrap()
    }

    /// `PATCH path` with the bearer token and `body` as JSON.
    pub async fn patch_json(&self, path: &str, token: &str, body: &Value) -> reqwest::Response {
        let req = self.http.patch(self.url(path)).bearer_auth(token);
        req.json(body).send().await.unwrap()
    }

    /// `DELETE path` with the bearer token.
    pub async fn delete(&self, path: &str, token: &str) -> reqwest::Response {
        let req = self.http.delete(self.url(path)).bearer_auth(token);
        req.send().await.unwrap()
    }

    pub async fn register(&self, email: &str, key: &WorkspaceSecretKey) -> SessionCreated {
        let resp = self
            .post_json_anon(
                "/v1/accounts",
                &json!({
                    "name": "Ana Owner", "email": email, "company": "Panadería Ana",
                    "password": PASSWORD, "workspace_public_key": key.public_key().to_base64(),
                    "device_name": "Front desk"
                }),
            )
            .await;
        assert_eq!(resp.status(), StatusCode::CREATED);
        resp.json().await.unwrap()
    }

    pub async fn sign_in(&self, email: &str, password: &str) -> reqwest::Response {
        self.post_json_anon(
            "/v1/sessions",
            &json!({"email": email, "password": password, "device_name": "Laptop"}),
        )
        .await
    }

    pub async fn webhook(&self, body: &[u8], signature: Option<String>) -> StatusCode {
        let mut req = self
            .http
            .post(self.url("/webhooks/meta"))
            .header("content-type", "application/json")
            .body(body.to_vec());
        if let Some(sig) = signature {
            req = req.header(SIGNATURE_HEADER, sig);
        }
        req.send().await.unwrap().status()
    }

    pub async fn signed_webhook(&self, body: &[u8]) -> StatusCode {
        self.webhook(body, Some(sign(SECRET.as_bytes(), body)))
            .await
    }

    pub async fn events(&self, token: &str, after: i64) -> EventPage {
        let resp = self.get(&format!("/v1/events?after={after}"), token).await;
        assert_eq!(resp.status(), StatusCode::OK);
        resp.json().await.unwrap()
    }

    /// Claims `waba` for the session's workspace with a token that grants it.
    pub async fn claim(&self, token: &str, waba: &str) -> reqwest::Response {
        let access_token = self.grant(&[waba]).await;
        self.post_json(
            "/v1/wabas",
            token,
            &json!({ "waba_id": waba, "access_token": access_token }),
        )
        .await
    }

    /// A system-user token that the simulated Meta says grants `wabas`: minted by the
    /// simulator the relay asks (its own, or the one a test configured).
    pub async fn grant(&self, wabas: &[&str]) -> String {
        let minted: Value = self
            .http
            .post(format!("{}/_sim/tokens", self.state.config.graph_base_url))
            .json(&json!({ "waba_ids": wabas }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        minted["access_token"].as_str().unwrap().to_owned()
    }

    pub async fn append(&self, token: &str, client_id: &str, sealed: &[u8]) -> reqwest::Response {
        self.post_json(
            "/v1/events",
            token,
            &json!({
                "client_event_id": client_id,
                "sealed": protocol::sealed::to_base64(sealed),
            }),
        )
        .await
    }

    pub async fn metrics(&self) -> String {
        let resp = self.get_anon("/metrics").await;
        assert_eq!(resp.status(), StatusCode::OK);
        resp.text().await.unwrap()
    }

    pub async fn counts(&self) -> (i64, i64, i64) {
        self.state.store.counts().await.unwrap()
    }
}

/// A messages webhook as Meta sends it (CLOUD-API-NOTES §6.8 shape), with `text` as body.
/// Every file under `dir`, subdirectories included (event segments live in `events/`).
pub fn files_under(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    let mut dirs = vec![dir.to_owned()];
    while let Some(d) = dirs.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.is_file() {
                files.push(path);
            }
        }
    }
    files
}

pub fn message_webhook(waba: &str, wamid: &str, text: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "object": "whatsapp_business_account",
        "entry": [{
            "id": waba,
            "changes": [{
                "field": "messages",
                "value": {
                    "messaging_product": "whatsapp",
                    "metadata": {"display_phone_number": "15550783881", "phone_number_id": "106540352242922"},
                    "contacts": [{"profile": {"name": "Sheena Nelson"}, "wa_id": "16505551234"}],
                    "messages": [{
                        "from": "16505551234", "id": wamid, "timestamp": "1749416383",
                        "type": "text", "text": {"body": text}
                    }]
                }
            }]
        }]
    }))
    .unwrap()
}

pub fn open_entry(key: &WorkspaceSecretKey, sealed_b64: &str) -> Value {
    let sealed = protocol::sealed::from_base64(sealed_b64).unwrap();
    serde_json::from_slice(&protocol::open(key, &sealed).unwrap()).unwrap()
}

/// Creates an invitation as `inviter_token` (201 asserted); returns its JSON and the secret
/// whose accept token and wrapped key went with it.
pub async fn invite(
    t: &TestRelay,
    inviter_token: &str,
    key: &WorkspaceSecretKey,
    role: &str,
    email: &str,
) -> (Value, protocol::invitations::InvitationSecret) {
    let secret = protocol::invitations::InvitationSecret::generate();
    let resp = t
        .post_json(
            "/v1/invitations",
            inviter_token,
            &json!({
                "email": email, "role": role, "accept_token": secret.accept_token(),
                "wrapped_workspace_key": protocol::sealed::to_base64(
                    &secret.wrap_workspace_key(key).unwrap()),
            }),
        )
        .await;
    assert_eq!(
        resp.status(),
        StatusCode::CREATED,
        "invite {email} as {role}"
    );
    (resp.json().await.unwrap(), secret)
}

/// Invites `email` as `role` with the inviter's token and accepts on a new device: the joined
/// member's first session (password [`MEMBER_PASSWORD`]).
pub async fn join(
    t: &TestRelay,
    inviter_token: &str,
    key: &WorkspaceSecretKey,
    role: &str,
    email: &str,
) -> protocol::invitations::InvitationAccepted {
    let (invitation, secret) = invite(t, inviter_token, key, role, email).await;
    let id = invitation["id"].as_str().unwrap();
    let resp = t
        .post_json_anon(
            &format!("/v1/invitations/{id}/accept"),
            &json!({"accept_token": secret.accept_token(), "name": format!("Member {email}"),
                "password": MEMBER_PASSWORD, "device_name": "Till"}),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::CREATED, "accept {email}");
    resp.json().await.unwrap()
}

pub const MEMBER_PASSWORD: &str = "a member's own password";
