//! Shared harness of the integration tests: the real relay in-process on port 0, the real
//! `dataoptix-sim` over HTTP, and devices (vault + encrypted store + team + outbox + syncer)
//! signed in to one workspace.

// Each test binary uses a different part of this module.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

pub mod pacing;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use cloud_api::client::{ClientConfig, CloudApiClient};
use dataoptix_core::send::{Outbox, OutboxConfig};
use dataoptix_core::store::{ContactInput, Direction, NewMessage, Origin, Store};
use dataoptix_core::sync::{RelayClient, Syncer};
use dataoptix_core::team::{Identity, Team};
use dataoptix_core::vault::{MemoryStore, PassphraseSource, Vault};
use dataoptix_sim::{RunningSim, SimConfig};
use protocol::auth::{RegisterRequest, SessionCreated, SignInRequest};
use protocol::WorkspaceSecretKey;
use serde_json::{json, Value};
use tokio::sync::oneshot;

pub const SECRET: &str = "test-app-secret";
pub const PASSWORD: &str = "correct horse battery staple";
pub const EMAIL: &str = "ana@example.com";

/// The relay, serving on 127.0.0.1:<free port> until stopped.
pub struct TestRelay {
    pub base: String,
    stop: Option<oneshot::Sender<()>>,
    server: tokio::task::JoinHandle<()>,
    relay: Option<relay::Relay>,
    _dir: tempfile::TempDir,
}

impl TestRelay {
    pub async fn start(secret: &str) -> Self {
        Self::start_configured(secret, |_| {}).await
    }

    /// A relay whose configuration `configure` adjusts (e.g. the simulator as its Graph API).
    pub async fn start_configured(
        secret: &str,
        configure: impl FnOnce(&mut relay::Config),
    ) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        Self::serve(listener, secret, configure).await
    }

    /// Serves on an already bound `listener` — bind first when something started before the
    /// relay (the simulator) needs its URL.
    pub async fn serve(
        listener: tokio::net::TcpListener,
        secret: &str,
        configure: impl FnOnce(&mut relay::Config),
    ) -> Self {
        Self::serve_wrapped(listener, secret, configure, |router| router).await
    }

    /// A relay whose router `wrap` adjusts (a layer counting requests, a route taken away to
    /// play an older relay).
    pub async fn start_wrapped(
        secret: &str,
        wrap: impl FnOnce(axum::Router) -> axum::Router,
    ) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        Self::serve_wrapped(listener, secret, |_| {}, wrap).await
    }

    pub async fn serve_wrapped(
        listener: tokio::net::TcpListener,
        secret: &str,
        configure: impl FnOnce(&mut relay::Config),
        wrap: impl FnOnce(axum::Router) -> axum::Router,
    ) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let mut config = relay::Config::for_tests(dir.path(), secret);
        config.public_origin = Some(base.clone());
        configure(&mut config);
        let relay = relay::Relay::open(config).await.unwrap();
        let router = wrap(relay::app(relay.state()));
        let (stop, stopped) = oneshot::channel::<()>();
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
        Self {
            base,
            stop: Some(stop),
            server,
            relay: Some(relay),
            _dir: dir,
        }
    }

    /// Deletes the relay's copy of a WABA's business token, as a relay holds none for a WABA
    /// claimed before it kept manual setups' tokens: its media fetches then fail.
    pub async fn forget_business_token(&self, waba_id: &str) {
        use sqlx::ConnectOptions;
        let mut conn = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(self._dir.path().join("relay.sqlite3"))
            .busy_timeout(std::time::Duration::from_secs(10))
            .connect()
            .await
            .unwrap();
        let deleted = sqlx::query("DELETE FROM business_tokens WHERE waba_id = ?")
            .bind(waba_id)
            .execute(&mut conn)
            .await
            .unwrap();
        assert_eq!(
            deleted.rows_affected(),
            1,
            "the relay kept no token for {waba_id}"
        );
    }

    /// Runs the relay's pruner now with its configured retention, as its loop does; returns
    /// how many events it removed.
    pub async fn prune_now(&self) -> u64 {
        let state = self.relay.as_ref().unwrap().state();
        let policy = relay::store::PrunePolicy {
            now: time::OffsetDateTime::now_utc(),
            retention: state.config.retention(),
        };
        state.store.prune(policy).await.unwrap().events_removed
    }

    pub async fn stop(mut self) {
        // Release devices' long-polls first, as the relay does on shutdown; otherwise the
        // graceful shutdown waits for each of them to time out.
        if let Some(relay) = &self.relay {
            relay.begin_shutdown();
        }
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        (&mut self.server).await.unwrap();
        self.relay.take().unwrap().close().await.unwrap();
    }
}

/// Points a relay at the simulator as its Graph API: the Meta it asks before it links a WABA
/// to a workspace (a claim's `debug_token`) and fetches media from.
pub fn use_sim_as_meta(config: &mut relay::Config, info: &dataoptix_sim::StartupInfo) {
    config.graph_base_url = info.base_url.clone();
    config.graph_version = info.graph_version.clone();
    config.meta_app_id = Some(info.app_id.clone());
}

/// The relay's listener first (the simulator needs its webhook URL), then the simulator
/// (`tweak` adjusts it), then the relay with the simulator as its Meta ([`use_sim_as_meta`])
/// and its router adjusted by `wrap`.
pub async fn relay_and_sim(
    tweak: impl FnOnce(&mut SimConfig),
    wrap: impl FnOnce(axum::Router) -> axum::Router,
) -> (TestRelay, RunningSim) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let mut config = SimConfig {
        webhook_url: Some(format!("{base}/webhooks/meta")),
        ..SimConfig::for_tests(SECRET)
    };
    tweak(&mut config);
    let sim = dataoptix_sim::spawn(config).await.unwrap();
    let info = sim.info.clone();
    let relay = TestRelay::serve_wrapped(
        listener,
        SECRET,
        |config| use_sim_as_meta(config, &info),
        wrap,
    )
    .await;
    (relay, sim)
}

/// The relay's listener first (the simulator needs its webhook URL), then the simulator, then
/// the relay configured with the simulator as its Graph API and Embedded Signup stand-in.
pub struct SignupWorld {
    pub base: String,
    pub sim: RunningSim,
    pub relay: TestRelay,
    config_id: String,
}

impl SignupWorld {
    pub async fn start(config_id: &str) -> Self {
        Self::start_with(config_id, |_| {}).await
    }

    /// Like [`SignupWorld::start`], with `configure` adjusting the relay's configuration last.
    pub async fn start_with(config_id: &str, configure: impl FnOnce(&mut relay::Config)) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let sim = dataoptix_sim::spawn(SimConfig {
            webhook_url: Some(format!("{base}/webhooks/meta")),
            ..SimConfig::for_tests(SECRET)
        })
        .await
        .unwrap();
        let info = sim.info.clone();
        let relay = TestRelay::serve(listener, SECRET, |config| {
            use_sim_as_meta(config, &info);
            config.meta_config_id = Some(config_id.to_owned());
            config.sdk_url = Some(info.sdk_url.clone());
            configure(config);
        })
        .await;
        Self {
            base,
            sim,
            relay,
            config_id: config_id.to_owned(),
        }
    }

    pub async fn stop(self) {
        self.relay.stop().await;
    }

    /// A device in `dir` (its own in-memory keyring) that registered Ana's workspace here.
    pub async fn register(&self, dir: &std::path::Path) -> dataoptix_core::device::Device {
        self.register_with(dir, &MemoryStore::new()).await
    }

    /// [`Self::register`] with the keyring kept by the caller, so that the device can be
    /// reopened on `dir` later.
    pub async fn register_with(
        &self,
        dir: &std::path::Path,
        secrets: &MemoryStore,
    ) -> dataoptix_core::device::Device {
        let d = dataoptix_core::device::Device::open(
            dir,
            secrets,
            &PassphraseSource::none(),
            "Front desk",
        )
        .await
        .unwrap();
        d.register(dataoptix_core::device::RegisterInput {
            relay_url: self.base.clone(),
            name: "Ana Owner".into(),
            email: EMAIL.into(),
            company: "Panadería Ana".into(),
            password: PASSWORD.into(),
        })
        .await
        .unwrap();
        d
    }

    /// What the onboarding page does once Meta's flow finishes: report code, ids and PIN.
    /// Returns the simulator's signup (code, WABA, number).
    pub async fn finish_signup_on_the_page(&self, session_id: &str) -> serde_json::Value {
        let http = reqwest::Client::new();
        let s: serde_json::Value = http
            .post(self.sim.control_url("/signup/session"))
            .json(&serde_json::json!({"app_id": self.sim.info.app_id, "config_id": self.config_id}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let resp = http
            .post(format!("{}/onboarding/{session_id}/complete", self.base))
            .json(
                &serde_json::json!({"event": "FINISH", "code": s["code"], "waba_id": s["waba_id"],
                "phone_number_id": s["phone_number_id"], "business_id": s["business_id"],
                "pin": "246810"}),
            )
            .send()
            .await
            .unwrap();
        assert!(resp.status().is_success(), "{}", resp.text().await.unwrap());
        s
    }
}

/// The customer of the outbox tests.
pub const CUSTOMER: &str = "16505551234";

/// The default outbox, with a shorter in-doubt grace period.
pub fn fast() -> OutboxConfig {
    OutboxConfig {
        in_doubt_grace: Duration::from_secs(30),
        ..OutboxConfig::default()
    }
}

/// A started world with one device whose number is connected and a customer who wrote.
pub async fn replying_world(tweak: impl FnOnce(&mut SimConfig)) -> (Env, Device, i64) {
    let env = Env::start(tweak).await;
    let device = env.first_device(fast()).await;
    env.connect_number(&device, &env.sim.info.access_token.clone())
        .await;
    let conversation = env
        .customer_writes(&device, "Do you have sourdough today?")
        .await;
    (env, device, conversation)
}

/// Relay + simulator + a registered workspace whose owner claimed the simulator's WABA.
pub struct Env {
    pub relay: TestRelay,
    pub sim: RunningSim,
    pub http: reqwest::Client,
    pub key: WorkspaceSecretKey,
    pub workspace_id: String,
    owner: SessionCreated,
}

/// One device: its own data directory, vault, store, team inbox, outbox and syncer.
pub struct Device {
    pub store: Store,
    pub vault: Arc<Vault>,
    pub team: Team,
    pub outbox: Outbox,
    pub syncer: Syncer,
    pub session: SessionCreated,
    dir: tempfile::TempDir,
}

impl Env {
    pub async fn start(tweak: impl FnOnce(&mut SimConfig)) -> Self {
        Self::start_wrapped(tweak, |router| router).await
    }

    /// The same with the relay's router adjusted by `wrap` (a layer counting requests, say).
    pub async fn start_wrapped(
        tweak: impl FnOnce(&mut SimConfig),
        wrap: impl FnOnce(axum::Router) -> axum::Router,
    ) -> Self {
        let (relay, sim) = relay_and_sim(tweak, wrap).await;
        let key = WorkspaceSecretKey::generate();
        let owner = RelayClient::new(&relay.base)
            .register(&RegisterRequest {
                name: "Ana Owner".into(),
                email: EMAIL.into(),
                company: "Panadería Ana".into(),
                password: PASSWORD.into(),
                workspace_public_key: key.public_key().to_base64(),
                device_name: "Front desk".into(),
            })
            .await
            .unwrap();
        RelayClient::new(&relay.base)
            .with_token(owner.token.clone())
            .claim_waba(&sim.info.waba_id, &sim.info.access_token, None)
            .await
            .unwrap();
        Self {
            relay,
            sim,
            http: reqwest::Client::new(),
            workspace_id: owner.workspace.id.to_string(),
            key,
            owner,
        }
    }

    /// The owner's first device (the session made at registration), sending to the simulator.
    pub async fn first_device(&self, config: OutboxConfig) -> Device {
        let session = self.owner.clone();
        self.device_with(session, &self.sim.info.base_url, config)
            .await
    }

    /// Another device of the owner (a new session).
    pub async fn another_device(&self, name: &str, config: OutboxConfig) -> Device {
        let session = RelayClient::new(&self.relay.base)
            .sign_in(&SignInRequest {
                email: EMAIL.into(),
                password: PASSWORD.into(),
                device_name: name.into(),
            })
            .await
            .unwrap();
        self.device_with(session, &self.sim.info.base_url, config)
            .await
    }

    pub async fn device_with(
        &self,
        session: SessionCreated,
        graph_base: &str,
        config: OutboxConfig,
    ) -> Device {
        let dir = tempfile::tempdir().unwrap();
        let vault = Arc::new(
            Vault::open(dir.path(), &MemoryStore::new(), &PassphraseSource::none()).unwrap(),
        );
        let store = Store::open(
            &dir.path().join("dataoptix.db"),
            &vault.store_key().unwrap(),
        )
        .await
        .unwrap();
        store
            .upsert_workspace(&self.workspace_id, "Panadería Ana")
            .await
            .unwrap();
        let client = RelayClient::new(&self.relay.base).with_token(session.token.clone());
        let team = Team::new(
            store.clone(),
            vault.clone(),
            Some(client.clone()),
            self.key.public_key(),
            self.workspace_id.clone(),
            Identity {
                user_id: session.user.id.to_string(),
                name: session.user.name.clone(),
                device: session.session.id.to_string(),
            },
        );
        let graph = CloudApiClient::new(ClientConfig {
            base_url: graph_base.to_string(),
            timeout: Duration::from_secs(5),
            ..ClientConfig::default()
        })
        .unwrap();
        let outbox = Outbox::new(team.clone(), graph, config);
        let syncer = Syncer::new(
            store.clone(),
            client,
            self.key.clone(),
            self.workspace_id.clone(),
        )
        .with_vault(vault.clone());
        Device {
            store,
            vault,
            team,
            outbox,
            syncer,
            session,
            dir,
        }
    }

    /// Connects the simulator's number on `device` (token into its vault, event published).
    pub async fn connect_number(&self, device: &Device, token: &str) {
        device
            .team
            .publish_number_connected(
                &self.sim.info.waba_id,
                &self.sim.info.phone_number_id,
                Some(&self.sim.info.display_phone_number),
                Some(&self.sim.info.verified_name),
                token,
            )
            .await
            .unwrap();
    }

    /// `customer` writes to the business (through the simulator → relay).
    pub async fn inbound(&self, customer: &str, text: &str) -> String {
        let v = self
            .control(
                "/inbound",
                json!({"from": customer, "name": "Sheena Nelson", "type": "text",
                       "text": {"body": text}}),
            )
            .await;
        v["id"].as_str().unwrap().to_string()
    }

    /// [`CUSTOMER`] writes `text` and `device` syncs until it has the conversation, returned.
    pub async fn customer_writes(&self, device: &Device, text: &str) -> i64 {
        self.inbound(CUSTOMER, text).await;
        device
            .sync_until("the customer's message", async |d: &Device| {
                d.conversation(CUSTOMER).await.is_some()
            })
            .await;
        device.conversation(CUSTOMER).await.unwrap()
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
        let text = resp.text().await.unwrap();
        assert!(status.is_success(), "{path}: {status} {text}");
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }

    /// What the business sent, per the simulator (`GET /_sim/sent`).
    pub async fn sim_sent(&self, to: &str) -> Vec<Value> {
        sim_sent(&self.http, &self.sim, to).await
    }

    pub async fn stop(self) {
        self.sim.stop();
        self.relay.stop().await;
    }
}

impl Device {
    /// The device's data directory (its database, vault and media).
    pub fn data_dir(&self) -> &std::path::Path {
        self.dir.path()
    }

    /// Syncs until `done` holds (webhooks and device events reach the relay asynchronously).
    pub async fn sync_until(&self, what: &str, done: impl AsyncFn(&Device) -> bool) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            self.syncer.run_once().await.unwrap();
            if done(self).await {
                return;
            }
            assert!(tokio::time::Instant::now() < deadline, "timed out: {what}");
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

    /// The conversation with `customer` (wa_id) on the simulator's number.
    pub async fn conversation(&self, customer: &str) -> Option<i64> {
        sqlx::query_scalar(
            "SELECT c.id FROM conversations c JOIN contacts ct ON ct.id = c.contact_id
             WHERE ct.wa_id = ?",
        )
        .bind(customer)
        .fetch_optional(self.store.pool())
        .await
        .unwrap()
    }

    /// A conversation this device knows without the customer having written (through the
    /// simulator): for template sends and local-window tests.
    pub async fn local_conversation(&self, env: &Env, customer: &str) -> i64 {
        self.store
            .upsert_phone_number(&dataoptix_core::store::PhoneNumberInput {
                id: env.sim.info.phone_number_id.clone(),
                workspace_id: env.workspace_id.clone(),
                waba_id: env.sim.info.waba_id.clone(),
                ..Default::default()
            })
            .await
            .unwrap();
        let contact = self
            .store
            .upsert_contact(&ContactInput {
                workspace_id: env.workspace_id.clone(),
                wa_id: Some(customer.into()),
                ..Default::default()
            })
            .await
            .unwrap();
        self.store
            .ensure_conversation(&env.workspace_id, &env.sim.info.phone_number_id, contact)
            .await
            .unwrap()
    }

    /// Records an inbound message locally only (the simulator does not know it).
    pub async fn local_inbound(&self, conversation: i64, wamid: &str, ts: i64) {
        self.store
            .insert_messages(&[NewMessage {
                conversation_id: conversation,
                wamid: wamid.into(),
                direction: Direction::In,
                origin: Origin::Cloud,
                kind: "text".into(),
                ts,
                text_body: Some("hello".into()),
                raw_json: "{}".into(),
                ..Default::default()
            }])
            .await
            .unwrap();
    }

    pub async fn status_of_message(
        &self,
        message_id: i64,
    ) -> (String, Option<String>, Option<i64>) {
        sqlx::query_as("SELECT wamid, status, error_code FROM messages WHERE id = ?")
            .bind(message_id)
            .fetch_one(self.store.pool())
            .await
            .unwrap()
    }
}

pub fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// Runs `dataoptix-cli` with a clean environment: no D-Bus (so no keyring), the passphrase
/// from `DATAOPTIX_PASSPHRASE`, data in `home/data`.
pub async fn cli(home: &std::path::Path, args: &[&str], stdin: &[u8]) -> (bool, String, String) {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let home = home.to_path_buf();
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    let stdin = stdin.to_vec();
    tokio::task::spawn_blocking(move || {
        let runtime = home.join("run");
        std::fs::create_dir_all(&runtime).unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_dataoptix-cli"))
            .args(&args)
            .env_clear()
            .env("HOME", &home)
            .env("XDG_RUNTIME_DIR", &runtime)
            .env("DATAOPTIX_DATA_DIR", home.join("data"))
            .env("DATAOPTIX_PASSPHRASE", "a passphrase for the cli test")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let _ = child.stdin.take().unwrap().write_all(&stdin);
        let out = child.wait_with_output().unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    })
    .await
    .unwrap()
}

/// Polls `probe` until it answers or `secs` pass (the device syncs and sends in the
/// background).
pub async fn eventually_within<T>(
    what: &str,
    secs: u64,
    mut probe: impl AsyncFnMut() -> Option<T>,
) -> T {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = probe().await {
            return v;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// [`eventually_within`] 15 seconds.
pub async fn eventually<T>(what: &str, probe: impl AsyncFnMut() -> Option<T>) -> T {
    eventually_within(what, 15, probe).await
}

/// `router` served on 127.0.0.1:<free port> (a stub relay answering what the real one only
/// does in rare states), and a syncer with a fresh store signed in to it.
pub async fn stub_relay_syncer(
    router: axum::Router,
) -> (Syncer, tokio::task::JoinHandle<()>, tempfile::TempDir) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let server = tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    let data = tempfile::tempdir().unwrap();
    let store = Store::open(
        &data.path().join("dataoptix.db"),
        &dataoptix_core::vault::MasterKey::generate(),
    )
    .await
    .unwrap();
    let syncer = Syncer::new(
        store,
        RelayClient::new(&base).with_token("dxr_stub"),
        WorkspaceSecretKey::generate(),
        "ws",
    );
    (syncer, server, data)
}

/// What the business sent to `to`, per the simulator (`GET /_sim/sent`).
pub async fn sim_sent(http: &reqwest::Client, sim: &RunningSim, to: &str) -> Vec<Value> {
    let v: Value = http
        .get(sim.control_url(&format!("/sent?to={to}")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v.as_array()
        .cloned()
        .or_else(|| v["sent"].as_array().cloned())
        .or_else(|| v["data"].as_array().cloned())
        .unwrap_or_default()
}
