//! The relay + simulator harness of the template and account-event tests: a real relay
//! (in-process, port 0), a real `dataoptix-sim` whose webhooks go to it, and a registered
//! device with an encrypted store that syncs from it.

// Test helpers outside #[test] fns count as non-test code for clippy; a panic is how they
// report a failure.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use std::time::Duration;

use cloud_api::client::{ClientConfig, CloudApiClient};
use dataoptix_core::store::{PhoneNumberInput, Store};
use dataoptix_core::sync::{RelayClient, Syncer};
use dataoptix_core::vault::{MemoryStore, PassphraseSource, Vault};
use dataoptix_sim::RunningSim;
use protocol::auth::{RegisterRequest, SignInRequest};
use protocol::WorkspaceSecretKey;
use serde_json::Value;

pub const SECRET: &str = "test-app-secret";

pub use crate::common::TestRelay;

/// Relay, simulator, and a device syncing into its own encrypted store.
pub struct World {
    pub relay: TestRelay,
    pub sim: RunningSim,
    pub http: reqwest::Client,
    pub store: Store,
    pub syncer: Syncer,
    /// The Graph client, pointed at the simulator with its token.
    pub api: CloudApiClient,
    pub workspace_id: String,
    pub waba_id: String,
    pub data: tempfile::TempDir,
}

pub async fn world() -> World {
    // The test profile gives up on a webhook after ~1 s of retries; on a loaded machine (the
    // whole suite in parallel) the relay can be slower than that, and a dropped status update
    // would fail a test for the wrong reason. Meta itself retries for days.
    let (relay, sim) = crate::common::relay_and_sim(
        |config| {
            config.webhooks.max_attempts = 200;
            config.webhooks.max_backoff_ms = 250;
        },
        |router| router,
    )
    .await;
    let data = tempfile::tempdir().unwrap();
    let vault = Vault::open(data.path(), &MemoryStore::new(), &PassphraseSource::none()).unwrap();
    let store = Store::open(
        &data.path().join("dataoptix.db"),
        &vault.store_key().unwrap(),
    )
    .await
    .unwrap();
    let key = WorkspaceSecretKey::generate();
    let anonymous = RelayClient::new(&relay.base);
    let created = anonymous
        .register(&RegisterRequest {
            name: "Ana Owner".into(),
            email: "ana@example.com".into(),
            company: "Panadería Ana".into(),
            password: "correct horse battery staple".into(),
            workspace_public_key: key.public_key().to_base64(),
            device_name: "Front desk".into(),
        })
        .await
        .unwrap();
    let client = anonymous.clone().with_token(created.token.clone());
    // A second device that never acks keeps the relay from pruning acked events, so tests can
    // ask for a real redelivery.
    anonymous
        .sign_in(&SignInRequest {
            email: "ana@example.com".into(),
            password: "correct horse battery staple".into(),
            device_name: "Laptop".into(),
        })
        .await
        .unwrap();
    client
        .claim_waba(&sim.info.waba_id, &sim.info.access_token, None)
        .await
        .unwrap();
    let workspace_id = created.workspace.id.to_string();
    let syncer = Syncer::new(store.clone(), client, key, workspace_id.clone());
    let api = CloudApiClient::new(ClientConfig {
        base_url: sim.info.base_url.clone(),
        ..ClientConfig::default()
    })
    .unwrap()
    .with_token(sim.info.access_token.clone());
    // The number as onboarding stores it.
    store
        .upsert_workspace(&workspace_id, "Panadería Ana")
        .await
        .unwrap();
    store
        .upsert_phone_number(&PhoneNumberInput {
            id: sim.info.phone_number_id.clone(),
            workspace_id: workspace_id.clone(),
            waba_id: sim.info.waba_id.clone(),
            display_phone_number: Some(sim.info.display_phone_number.clone()),
            verified_name: None,
        })
        .await
        .unwrap();
    World {
        waba_id: sim.info.waba_id.clone(),
        relay,
        sim,
        http: reqwest::Client::new(),
        store,
        syncer,
        api,
        workspace_id,
        data,
    }
}

impl World {
    /// POSTs to the simulator's control API and returns its JSON answer.
    pub async fn control(&self, path: &str, body: Value) -> Value {
        let resp = self
            .http
            .post(self.sim.control_url(path))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(resp.status().is_success(), "{}", resp.text().await.unwrap());
        resp.json().await.unwrap()
    }

    /// A signed webhook straight to the relay, as Meta would send it (for orders and times the
    /// simulator does not produce).
    pub async fn meta_webhook(&self, time: i64, field: &str, value: Value) {
        let body = serde_json::to_vec(&serde_json::json!({"object": "whatsapp_business_account",
            "entry": [{"id": self.waba_id, "time": time,
                       "changes": [{"field": field, "value": value}]}]}))
        .unwrap();
        let resp = self
            .http
            .post(format!("{}/webhooks/meta", self.relay.base))
            .header("content-type", "application/json")
            .header(
                cloud_api::signature::SIGNATURE_HEADER,
                cloud_api::signature::sign(SECRET.as_bytes(), &body),
            )
            .body(body)
            .send()
            .await
            .unwrap();
        assert!(resp.status().is_success(), "{}", resp.status());
    }

    /// Syncs until `done` holds (webhooks reach the relay asynchronously).
    pub async fn sync_until(&self, what: &str, done: impl AsyncFn(&World) -> bool) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            self.syncer.run_once().await.unwrap();
            if done(self).await {
                return;
            }
            if tokio::time::Instant::now() >= deadline {
                let log = self
                    .http
                    .get(self.sim.control_url("/webhooks"))
                    .send()
                    .await
                    .unwrap()
                    .text()
                    .await
                    .unwrap();
                panic!("timed out: {what}; the simulator's deliveries: {log}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub async fn scalar<T>(&self, sql: &str) -> T
    where
        T: Send + Unpin + for<'r> sqlx::Decode<'r, sqlx::Sqlite> + sqlx::Type<sqlx::Sqlite>,
    {
        sqlx::query_scalar(sql)
            .fetch_one(self.store.pool())
            .await
            .unwrap()
    }

    pub async fn stop(self) {
        self.sim.stop();
        self.relay.stop().await;
    }
}
