//! Sync against the real relay and `dataoptix-sim` over HTTP (both in-process on port 0), into
//! a fresh encrypted store: catch-up, idempotency, redelivery, out-of-order statuses, bad
//! events, and a crash between commit and ack.

// Test helpers outside #[test] fns count as non-test code for clippy; a panic is how they
// report a failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use cloud_api::client::{ClientConfig, CloudApiClient};
use cloud_api::messages::SendMessage;
use dataoptix_core::store::{ContactInput, Direction, NewMessage, Origin, Store};
use dataoptix_core::sync::{RelayClient, SyncError, Syncer, CURSOR_STREAM};
use dataoptix_core::vault::{MemoryStore, PassphraseSource, Vault};
use dataoptix_sim::RunningSim;
use protocol::auth::{RegisterRequest, SignInRequest};
use protocol::events::{Event, EventKind, EventPage};
use protocol::WorkspaceSecretKey;
use serde_json::{json, Value};

mod common;
use common::{cli, relay_and_sim, TestRelay};

const SECRET: &str = "test-app-secret";
const CUSTOMER: &str = "16505551234";
const PASSWORD: &str = "correct horse battery staple";
const TOKEN_RECORD: &str = "relay-session-token";

/// Everything one test needs: relay, sim, a device (vault + store) registered and syncing.
struct World {
    relay: TestRelay,
    sim: RunningSim,
    http: reqwest::Client,
    store: Store,
    syncer: Syncer,
    client: RelayClient,
    workspace_id: String,
    public: protocol::WorkspacePublicKey,
    _data: tempfile::TempDir,
}

async fn world(reorder_statuses: bool) -> World {
    let (relay, sim) = relay_and_sim(
        |config| config.statuses.reorder = reorder_statuses,
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

    // Register with a fresh workspace key pair; only the public half goes to the relay.
    let key = WorkspaceSecretKey::generate();
    let anonymous = RelayClient::new(&relay.base);
    let created = anonymous
        .register(&RegisterRequest {
            name: "Ana Owner".into(),
            email: "ana@example.com".into(),
            company: "Panadería Ana".into(),
            password: PASSWORD.into(),
            workspace_public_key: key.public_key().to_base64(),
            device_name: "Front desk".into(),
        })
        .await
        .unwrap();
    // The caller keeps the session token sealed in the vault.
    vault
        .put_record(TOKEN_RECORD, created.token.as_bytes())
        .unwrap();
    let token =
        String::from_utf8(vault.get_record(TOKEN_RECORD).unwrap().unwrap().to_vec()).unwrap();
    let client = anonymous.clone().with_token(token);

    // A second device that never acks keeps the relay from pruning acked events, so tests can
    // ask for a real redelivery.
    anonymous
        .sign_in(&SignInRequest {
            email: "ana@example.com".into(),
            password: PASSWORD.into(),
            device_name: "Laptop".into(),
        })
        .await
        .unwrap();

    let claimed = client
        .claim_waba(&sim.info.waba_id, &sim.info.access_token, None)
        .await
        .unwrap();
    assert_eq!(claimed.waba_id, sim.info.waba_id);

    let workspace_id = created.workspace.id.to_string();
    let public = key.public_key();
    let syncer = Syncer::new(store.clone(), client.clone(), key, workspace_id.clone());
    World {
        relay,
        sim,
        http: reqwest::Client::new(),
        store,
        syncer,
        client,
        workspace_id,
        public,
        _data: data,
    }
}

impl World {
    async fn inbound(&self, spec: Value) -> String {
        let mut spec = spec;
        spec["from"] = json!(CUSTOMER);
        spec["name"] = json!("Sheena Nelson");
        let resp = self
            .http
            .post(self.sim.control_url("/inbound"))
            .json(&spec)
            .send()
            .await
            .unwrap();
        assert!(resp.status().is_success(), "{}", resp.text().await.unwrap());
        let v: Value = resp.json().await.unwrap();
        v["id"].as_str().unwrap().to_string()
    }

    /// A signed webhook straight to the relay, as Meta would send it.
    async fn meta_webhook(&self, changes: Value) {
        let body = serde_json::to_vec(&json!({"object": "whatsapp_business_account",
            "entry": [{"id": self.sim.info.waba_id, "changes": changes}]}))
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

    /// The business replies through the Cloud API (the simulator), and records the message
    /// locally as the outbox will.
    async fn business_sends(&self, text: &str) -> String {
        let api = CloudApiClient::new(ClientConfig {
            base_url: self.sim.info.base_url.clone(),
            ..ClientConfig::default()
        })
        .unwrap()
        .with_token(self.sim.info.access_token.clone());
        let sent = api
            .send_message(
                &self.sim.info.phone_number_id,
                &SendMessage::text(CUSTOMER, text),
            )
            .await
            .unwrap();
        let wamid = sent.message_id().unwrap().to_string();
        self.store
            .upsert_workspace(&self.workspace_id, "Panadería Ana")
            .await
            .unwrap();
        self.store
            .upsert_phone_number(&dataoptix_core::store::PhoneNumberInput {
                id: self.sim.info.phone_number_id.clone(),
                workspace_id: self.workspace_id.clone(),
                waba_id: self.sim.info.waba_id.clone(),
                ..Default::default()
            })
            .await
            .unwrap();
        let contact = self
            .store
            .upsert_contact(&ContactInput {
                workspace_id: self.workspace_id.clone(),
                wa_id: Some(CUSTOMER.into()),
                ..Default::default()
            })
            .await
            .unwrap();
        let conversation = self
            .store
            .ensure_conversation(&self.workspace_id, &self.sim.info.phone_number_id, contact)
            .await
            .unwrap();
        self.store
            .insert_messages(&[NewMessage {
                conversation_id: conversation,
                wamid: wamid.clone(),
                direction: Direction::Out,
                origin: Origin::Cloud,
                kind: "text".into(),
                ts: 1,
                text_body: Some(text.into()),
                raw_json: "{}".into(),
                ..Default::default()
            }])
            .await
            .unwrap();
        wamid
    }

    /// Syncs until `done` holds (webhooks reach the relay asynchronously).
    async fn sync_until(&self, what: &str, done: impl AsyncFn(&World) -> bool) {
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

    async fn scalar(&self, sql: &str) -> i64 {
        sqlx::query_scalar(sql)
            .fetch_one(self.store.pool())
            .await
            .unwrap()
    }

    async fn status_of(&self, wamid: &str) -> Option<String> {
        sqlx::query_scalar("SELECT status FROM messages WHERE wamid = ?")
            .bind(wamid)
            .fetch_one(self.store.pool())
            .await
            .unwrap()
    }

    /// A fingerprint of everything sync writes, to show that replays change nothing.
    async fn snapshot(&self) -> Vec<i64> {
        let mut out = Vec::new();
        for table in [
            "contacts",
            "conversations",
            "messages",
            "message_statuses",
            "reactions",
            "message_revisions",
            "sync_raw_events",
        ] {
            out.push(self.scalar(&format!("SELECT count(*) FROM {table}")).await);
        }
        out.push(
            self.scalar("SELECT COALESCE(SUM(unread_count), 0) FROM conversations")
                .await,
        );
        out.push(
            self.scalar("SELECT COALESCE(SUM(status_rank), 0) FROM messages")
                .await,
        );
        out
    }

    async fn stop(self) {
        self.sim.stop();
        self.relay.stop().await;
    }
}

#[tokio::test]
async fn catch_up_is_complete_idempotent_and_survives_redelivery_and_a_lost_ack() {
    let w = world(false).await;
    let hello = w
        .inbound(json!({"type": "text", "text": {"body": "Do you have sourdough today?"}}))
        .await;
    let reply = w.business_sends("Yes! Fresh at 8").await;
    let image = w.inbound(json!({"type": "image"})).await;
    w.inbound(json!({"type": "reaction", "reaction": {"message_id": reply, "emoji": "❤️"}}))
        .await;
    let button = w
        .inbound(json!({"type": "button", "button": {"payload": "yes", "text": "Yes please"}}))
        .await;
    let unsupported = w.inbound(json!({"type": "unsupported"})).await;
    // A type nobody knows yet, and a change field nobody knows yet, as Meta would sign them
    // (the simulator only makes known types).
    let unknown = "wamid.HBgLMTY1MDU1NTEyMzQVAgASGBRIT0xPR1JBTV9DUk9JU1NBTlQA".to_string();
    w.meta_webhook(json!([
        {"field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": w.sim.info.display_phone_number,
                         "phone_number_id": w.sim.info.phone_number_id},
            "contacts": [{"profile": {"name": "Sheena Nelson"}, "wa_id": CUSTOMER}],
            "messages": [{"from": CUSTOMER, "id": unknown, "timestamp": "1767225600",
                          "type": "hologram", "hologram": {"shape": "croissant"}}]}},
        {"field": "future_thing", "value": {"anything": [1, 2, 3]}}
    ]))
    .await;

    // Including the relay's word on the image: it holds the token of the WABA claimed with
    // one, fetches the file and appends a `media_status` event.
    w.sync_until("everything applied, reply read", async |w: &World| {
        w.scalar("SELECT count(*) FROM messages").await == 6
            && w.scalar("SELECT count(*) FROM reactions").await == 1
            && w.status_of(&reply).await.as_deref() == Some("read")
            && w.scalar("SELECT count(*) FROM media WHERE relay_status IS NOT NULL")
                .await
                == 1
    })
    .await;

    assert_eq!(w.scalar("SELECT count(*) FROM conversations").await, 1);
    assert_eq!(w.scalar("SELECT count(*) FROM contacts").await, 1);
    let kind = |wamid: String| {
        let pool = w.store.pool().clone();
        async move {
            sqlx::query_as::<_, (String, Option<String>, Option<String>)>(
                "SELECT kind, text_body, reply_title FROM messages WHERE wamid = ?",
            )
            .bind(wamid)
            .fetch_one(&pool)
            .await
            .unwrap()
        }
    };
    assert_eq!(
        kind(hello.clone()).await,
        (
            "text".into(),
            Some("Do you have sourdough today?".into()),
            None
        )
    );
    assert_eq!(kind(image.clone()).await.0, "image");
    assert_eq!(
        kind(button).await,
        ("button".into(), None, Some("Yes please".into()))
    );
    // The unknown type is kept, as unsupported, with its JSON whole.
    assert_eq!(kind(unknown.clone()).await.0, "unsupported");
    assert_eq!(kind(unsupported).await.0, "unsupported");
    let kept: Vec<(String, String)> = sqlx::query_as("SELECT reason, kind FROM sync_raw_events")
        .fetch_all(w.store.pool())
        .await
        .unwrap();
    assert_eq!(kept, [("unknown".to_string(), "future_thing".to_string())]);
    let raw: String = sqlx::query_scalar("SELECT raw_json FROM messages WHERE wamid = ?")
        .bind(&unknown)
        .fetch_one(w.store.pool())
        .await
        .unwrap();
    assert!(raw.contains("croissant"), "{raw}");
    assert_eq!(
        w.store.reactions(&reply).await.unwrap(),
        vec![(CUSTOMER.to_string(), "❤️".to_string())]
    );
    assert_eq!(
        w.scalar("SELECT count(*) FROM message_statuses").await,
        3,
        "sent, delivered, read"
    );
    let unread = w.scalar("SELECT unread_count FROM conversations").await;
    assert_eq!(unread, 5);

    // Again: nothing new, cursor where it was (and acked).
    let cursor = w.syncer.cursor().await.unwrap();
    assert!(cursor > 0);
    assert_eq!(
        w.store.sync_cursor(CURSOR_STREAM).await.unwrap(),
        Some(cursor.to_string())
    );
    let before = w.snapshot().await;
    let again = w.syncer.run_once().await.unwrap();
    assert_eq!((again.events, again.cursor), (0, cursor));
    assert_eq!(w.snapshot().await, before);

    // Redelivery by the relay: rewind the local cursor; every event comes again, nothing
    // changes, and the cursor ends where it was.
    w.store.set_sync_cursor(CURSOR_STREAM, "0").await.unwrap();
    let replay = w.syncer.run_once().await.unwrap();
    assert_eq!(replay.events as i64, cursor, "{replay:?}");
    assert_eq!(replay.messages_duplicate, 5);
    assert_eq!(replay.messages_inserted, 0);
    assert_eq!(replay.statuses_recorded, 0);
    assert_eq!(replay.kept_raw, 0);
    assert_eq!(replay.cursor, cursor);
    assert_eq!(w.snapshot().await, before);

    // A crash between commit and ack: a new message is fetched and committed, not acked.
    let late = w
        .inbound(json!({"type": "text", "text": {"body": "See you at 8"}}))
        .await;
    let page = loop {
        let page = w.syncer.fetch(Duration::from_secs(5)).await.unwrap();
        if !page.events.is_empty() {
            break page;
        }
    };
    let report = w.syncer.apply(&page).await.unwrap();
    assert_eq!(report.messages_inserted, 1);
    let after_commit = w.snapshot().await;
    // "Restart": the same page is delivered again before the ack (applied twice), then a
    // normal run acks what was committed.
    let again = w.syncer.apply(&page).await.unwrap();
    assert_eq!((again.messages_inserted, again.messages_duplicate), (0, 1));
    let resumed = w.syncer.run_once().await.unwrap();
    assert_eq!(resumed.events, 0);
    assert_eq!(w.snapshot().await, after_commit);
    assert_eq!(
        w.scalar(&format!(
            "SELECT count(*) FROM messages WHERE wamid = '{late}'"
        ))
        .await,
        1
    );
    w.stop().await;
}

#[tokio::test]
async fn out_of_order_statuses_end_monotonic() {
    let w = world(true).await;
    w.inbound(json!({"type": "text", "text": {"body": "hi"}}))
        .await;
    let reply = w.business_sends("hello").await;
    w.sync_until("read and delivered both arrived", async |w: &World| {
        w.scalar("SELECT count(*) FROM message_statuses").await == 3
    })
    .await;
    assert_eq!(w.status_of(&reply).await.as_deref(), Some("read"));
    // `read` came before `delivered` in the log: the later `delivered` did not move it back.
    let order: Vec<String> = sqlx::query_scalar("SELECT status FROM message_statuses ORDER BY id")
        .fetch_all(w.store.pool())
        .await
        .unwrap();
    assert_eq!(order, ["sent", "read", "delivered"]);
    w.stop().await;
}

#[tokio::test]
async fn a_bad_event_does_not_lose_the_rest_of_the_page() {
    let w = world(false).await;
    let good = w
        .inbound(json!({"type": "text", "text": {"body": "still here"}}))
        .await;
    let page = loop {
        let page = w.syncer.fetch(Duration::from_secs(5)).await.unwrap();
        if !page.events.is_empty() {
            break page;
        }
    };
    // Forge three bad events around the good ones: one sealed to another key, one that is
    // not an envelope at all, one sealed to us whose plaintext is not JSON.
    let other = WorkspaceSecretKey::generate().public_key();
    let mut events = page.events.clone();
    let template = events[0].clone();
    let forged = |seq: i64, sealed: Vec<u8>| Event {
        seq,
        id: uuid::Uuid::new_v4(),
        kind: EventKind::MetaWebhook,
        sealed: protocol::sealed::to_base64(&sealed),
        ..template.clone()
    };
    let last = page.next_after;
    events.insert(
        0,
        forged(last + 1, protocol::seal(&other, b"{\"id\":\"x\"}").unwrap()),
    );
    events.push(forged(last + 2, b"\x01not an envelope".to_vec()));
    events.push(forged(
        last + 3,
        protocol::seal(&w.public, b"{not json").unwrap(),
    ));
    let bad_page = EventPage {
        events,
        next_after: last + 3,
        resync_required: false,
    };
    let report = w.syncer.apply(&bad_page).await.unwrap();
    assert_eq!(report.messages_inserted, 1);
    assert_eq!(report.kept_raw, 3);
    assert_eq!(report.cursor, last + 3);
    assert_eq!(
        w.scalar(&format!(
            "SELECT count(*) FROM messages WHERE wamid = '{good}'"
        ))
        .await,
        1
    );
    let reasons: Vec<String> =
        sqlx::query_scalar("SELECT reason FROM sync_raw_events ORDER BY seq")
            .fetch_all(w.store.pool())
            .await
            .unwrap();
    assert_eq!(reasons, ["unopenable", "unopenable", "not_json"]);
    // Applying it again keeps them once.
    let again = w.syncer.apply(&bad_page).await.unwrap();
    assert_eq!(again.kept_raw, 0);
    w.stop().await;
}

#[tokio::test]
async fn an_invalid_session_is_a_distinct_error() {
    let w = world(false).await;
    let bad = w.client.clone().with_token("dxr_not-a-session");
    let err = bad.events(0, 10, Duration::ZERO).await.unwrap_err();
    assert!(err.is_unauthenticated(), "{err}");
    assert!(!err.is_transient());
    w.stop().await;
}

/// The relay answers `resync_required` only after retention pruned events a device never got;
/// a stub answering exactly that page stands in for waiting 30 days.
#[tokio::test]
async fn resync_required_is_surfaced() {
    use axum::routing::{get, post};
    let router = axum::Router::new()
        .route(
            "/v1/events",
            get(|| async {
                axum::Json(json!({"events": [], "next_after": 42, "resync_required": true}))
            }),
        )
        .route(
            "/v1/events/ack",
            post(|| async { axum::Json(json!({"acked": 0})) }),
        );
    let (syncer, server, _data) = common::stub_relay_syncer(router).await;
    let err = syncer.run_once().await.unwrap_err();
    assert!(
        matches!(err, SyncError::ResyncRequired { next_after: 42 }),
        "{err}"
    );
    // The loop stops on it too, instead of retrying forever.
    let err = syncer
        .run(Duration::from_secs(1), |_| {}, std::future::pending())
        .await
        .unwrap_err();
    assert!(matches!(err, SyncError::ResyncRequired { .. }));
    assert_eq!(syncer.cursor().await.unwrap(), 0);
    server.abort();
}

#[tokio::test]
async fn cli_register_claim_and_sync() {
    let (relay, sim) = relay_and_sim(|_| {}, |router| router).await;
    let home = tempfile::tempdir().unwrap();
    let h = home.path();

    let (ok, _, err) = cli(
        h,
        &[
            "register",
            "--relay",
            &relay.base,
            "--name",
            "Ana",
            "--email",
            "cli@example.com",
            "--company",
            "Padaria",
            "--json",
        ],
        format!("{PASSWORD}\n").as_bytes(),
    )
    .await;
    assert!(ok, "{err}");

    // The team from the command line: invite, list, withdraw; the last owner stays owner.
    let (ok, _, err) = cli(h, &["invite", "bo@example.com", "--json"], b"").await;
    assert!(ok, "{err}");
    let (ok, out, err) = cli(h, &["team", "--json"], b"").await;
    assert!(ok, "{err}");
    let team: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(team["myRole"], "owner");
    assert_eq!(team["members"].as_array().unwrap().len(), 1);
    assert_eq!(team["invitations"][0]["email"], "bo@example.com");
    let invitation = team["invitations"][0]["id"].as_str().unwrap().to_owned();
    let me = team["members"][0]["id"].as_str().unwrap().to_owned();
    let (ok, _, err) = cli(h, &["revoke-invitation", &invitation], b"").await;
    assert!(ok, "{err}");
    let (ok, out, _) = cli(h, &["team", "--json"], b"").await;
    assert!(ok);
    let team: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(team["invitations"].as_array().unwrap().len(), 0);
    let (ok, _, err) = cli(h, &["role", &me, "agent"], b"").await;
    assert!(!ok, "the only owner cannot step down");
    assert!(err.contains("owner"), "{err}");

    // The token on standard input, as a script would pipe it.
    let (ok, _, err) = cli(
        h,
        &["claim-waba", &sim.info.waba_id],
        sim.info.access_token.as_bytes(),
    )
    .await;
    assert!(ok, "{err}");

    let resp = reqwest::Client::new()
        .post(sim.control_url("/inbound"))
        .json(&json!({"from": CUSTOMER, "type": "text", "text": {"body": "from the cli test"}}))
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success());

    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let (ok, out, err) = cli(h, &["sync", "--once", "--json"], b"").await;
        assert!(ok, "{err}");
        let (ok, stats, err) = cli(h, &["store", "stats", "--json"], b"").await;
        assert!(ok, "{err}");
        let stats: Value = serde_json::from_str(stats.trim()).unwrap();
        if stats["messages"] == 1 {
            let last: Value = serde_json::from_str(out.lines().last().unwrap()).unwrap();
            assert!(last["cursor"].as_i64().unwrap() >= 1, "{out}");
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "never synced: {out}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // The inbox, search, labels, export, the activity log and erasure, headless.
    let json_of = |out: &str| serde_json::from_str::<Value>(out.trim()).unwrap();
    let (ok, out, err) = cli(h, &["conversations", "--json"], b"").await;
    assert!(ok, "{err}");
    let conversations = json_of(&out);
    assert_eq!(conversations["items"].as_array().unwrap().len(), 1, "{out}");
    let conversation = conversations["items"][0]["id"]
        .as_i64()
        .unwrap()
        .to_string();
    let contact = conversations["items"][0]["contact"]["id"]
        .as_i64()
        .unwrap()
        .to_string();
    let (ok, out, err) = cli(h, &["messages", &conversation, "--json"], b"").await;
    assert!(ok, "{err}");
    assert_eq!(json_of(&out)["items"][0]["text"], "from the cli test");
    let (ok, out, err) = cli(h, &["search", "cli", "--json"], b"").await;
    assert!(ok, "{err}");
    assert_eq!(
        json_of(&out)["messages"].as_array().unwrap().len(),
        1,
        "{out}"
    );
    let (ok, _, err) = cli(h, &["label", &conversation, "vip"], b"").await;
    assert!(ok, "{err}");
    let (ok, out, err) = cli(h, &["conversations", "--label", "vip", "--json"], b"").await;
    assert!(ok, "{err}");
    assert_eq!(json_of(&out)["items"][0]["labels"], json!(["vip"]));
    let zip = h.join("contact.zip");
    let (ok, out, err) = cli(
        h,
        &[
            "export",
            "--contact",
            &contact,
            "--out",
            zip.to_str().unwrap(),
            "--json",
        ],
        b"",
    )
    .await;
    assert!(ok, "{err}");
    assert_eq!(json_of(&out)["messages"], 1);
    assert!(std::fs::metadata(&zip).unwrap().len() > 100);
    let (ok, _, err) = cli(h, &["erase-contact", &contact], b"").await;
    assert!(ok, "{err}");
    let (ok, out, err) = cli(h, &["conversations", "--json"], b"").await;
    assert!(ok, "{err}");
    assert_eq!(json_of(&out)["items"], json!([]));
    let (ok, out, err) = cli(h, &["activity", "--verify", "--json"], b"").await;
    assert!(ok, "{err}");
    let actions: Vec<String> = json_of(&out)["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_owned())
        .collect();
    assert!(actions.iter().any(|a| a.contains("erase")), "{actions:?}");
    assert!(actions.iter().any(|a| a.contains("export")), "{actions:?}");
    // Signing out keeps the history but refuses workspace commands.
    let (ok, _, err) = cli(h, &["logout"], b"").await;
    assert!(ok, "{err}");
    let (ok, _, err) = cli(h, &["conversations"], b"").await;
    assert!(!ok);
    assert!(err.contains("not signed in"), "{err}");
    sim.stop();
    relay.stop().await;
}

#[tokio::test]
async fn every_inbound_type_edits_revokes_and_echoes_apply_in_one_page() {
    let w = world(false).await;
    let metadata = json!({"display_phone_number": w.sim.info.display_phone_number,
                          "phone_number_id": w.sim.info.phone_number_id});
    let text = |id: &str, body: &str| {
        json!({"from": CUSTOMER, "id": id, "timestamp": "1762300000", "type": "text",
               "text": {"body": body}})
    };
    w.meta_webhook(json!([
        {"field": "messages", "value": {"messaging_product": "whatsapp", "metadata": metadata,
            "contacts": [{"profile": {"name": "Sheena Nelson"}, "wa_id": CUSTOMER}],
            "messages": [text("wamid.ORIGINALTEXT1", "Text before the edit"),
                         text("wamid.ORIGINALTEXT2", "Text that gets deleted")]}},
        {"field": "smb_message_echoes", "value": {"messaging_product": "whatsapp",
            "metadata": metadata,
            "message_echoes": [{"from": w.sim.info.display_phone_number, "to": CUSTOMER,
                "id": "wamid.ECHO1", "timestamp": "1762300001", "type": "text",
                "text": {"body": "sent from the phone app"}}]}}
    ]))
    .await;
    // Every inbound type Meta documents (the cloud-api fixture), as one signed notification.
    let fixture: Value = serde_json::from_str(include_str!(
        "../../cloud-api/tests/fixtures/webhooks/inbound_types.json"
    ))
    .unwrap();
    w.meta_webhook(fixture["entry"][0]["changes"].clone()).await;

    // 2 texts + 1 echo + 15 fixture messages - 3 reactions - 2 edits - 1 revoke.
    w.sync_until("both notifications applied", async |w: &World| {
        w.scalar("SELECT count(*) FROM messages").await == 12
    })
    .await;
    let row = |wamid: &'static str| {
        let pool = w.store.pool().clone();
        async move {
            sqlx::query_as::<_, (String, String, Option<String>, Option<i64>)>(
                "SELECT direction, origin, text_body, deleted_at FROM messages WHERE wamid = ?",
            )
            .bind(wamid)
            .fetch_one(&pool)
            .await
            .unwrap()
        }
    };
    assert_eq!(
        row("wamid.ORIGINALTEXT1").await.2.as_deref(),
        Some("Text was edited")
    );
    let deleted = row("wamid.ORIGINALTEXT2").await;
    assert_eq!((deleted.2, deleted.3.is_some()), (None, true));
    let echo = row("wamid.ECHO1").await;
    assert_eq!((echo.0.as_str(), echo.1.as_str()), ("out", "echo"));
    assert_eq!(w.scalar("SELECT count(*) FROM message_revisions").await, 3);
    assert_eq!(w.scalar("SELECT count(*) FROM reactions").await, 3);
    assert_eq!(
        w.scalar("SELECT count(*) FROM messages WHERE kind = 'unsupported'")
            .await,
        1
    );
    assert_eq!(w.scalar("SELECT count(*) FROM sync_raw_events").await, 0);
    w.stop().await;
}

/// An encrypted store and a syncer on it whose relay is unreachable: pages are sealed and
/// applied locally.
async fn offline_syncer(data: &tempfile::TempDir) -> (Store, Syncer, protocol::WorkspacePublicKey) {
    let store = Store::open(
        &data.path().join("dataoptix.db"),
        &dataoptix_core::vault::MasterKey::generate(),
    )
    .await
    .unwrap();
    let key = WorkspaceSecretKey::generate();
    let public = key.public_key();
    let syncer = Syncer::new(
        store.clone(),
        RelayClient::new("http://127.0.0.1:1"),
        key,
        "ws-bench",
    );
    (store, syncer, public)
}

/// `pages` pages of `per_page` sealed events, each a text message in one of 50 conversations,
/// sealed as the relay seals webhooks (under a data key sealed to the workspace key).
fn text_pages(public: &protocol::WorkspacePublicKey, pages: i64, per_page: i64) -> Vec<EventPage> {
    let data_key = protocol::sealed::DataKey::generate(public).unwrap();
    let mut out = Vec::new();
    let mut seq = 0i64;
    for p in 0..pages {
        let mut events = Vec::new();
        for i in 0..per_page {
            seq += 1;
            let n = p * per_page + i;
            let wa_id = format!("1650555{:04}", n % 50);
            let entry = json!({"id": "waba-1", "changes": [{"field": "messages", "value": {
                "messaging_product": "whatsapp",
                "metadata": {"display_phone_number": "15550783881", "phone_number_id": "pn-1"},
                "contacts": [{"profile": {"name": "Customer"}, "wa_id": wa_id}],
                "messages": [{"from": wa_id, "id": format!("wamid.BENCH{n}"),
                    "timestamp": (1_762_300_000 + n).to_string(), "type": "text",
                    "text": {"body": format!("message number {n}")}}]}}]});
            let sealed = data_key.seal(&serde_json::to_vec(&entry).unwrap()).unwrap();
            events.push(Event {
                seq,
                id: uuid::Uuid::new_v4(),
                kind: EventKind::MetaWebhook,
                sealed: protocol::sealed::to_base64(&sealed),
                created_at: time::OffsetDateTime::now_utc(),
                origin_session: None,
                client_event_id: None,
            });
        }
        out.push(EventPage {
            events,
            next_after: seq,
            resync_required: false,
        });
    }
    out
}

/// Apply on locally sealed pages (no network): 2 pages of 100 events, each a text message in
/// one of 50 conversations. Prints the rate; asserts only correctness. The figure of a debug
/// build is dominated by unoptimised crypto (sealing and opening); the 30,000 events/s budget
/// is measured by the criterion benchmark `benches/store.rs` on a release build (BENCHMARKS.md).
#[tokio::test]
async fn apply_rate_on_full_pages() {
    let data = tempfile::tempdir().unwrap();
    let (store, syncer, public) = offline_syncer(&data).await;
    let pages = text_pages(&public, 2, 100);
    let seq = pages[1].next_after;
    let started = std::time::Instant::now();
    for page in &pages {
        syncer.apply(page).await.unwrap();
    }
    let elapsed = started.elapsed();
    println!(
        "applied {seq} events in {elapsed:?}: {:.0} events/s",
        seq as f64 / elapsed.as_secs_f64()
    );
    assert_eq!(store.counts().await.unwrap().messages, seq);
    assert_eq!(store.counts().await.unwrap().conversations, 50);
    assert_eq!(syncer.cursor().await.unwrap(), seq);
}

/// Sync is raced against shutdown (the app quitting, signing out): an apply whose caller is
/// dropped half-way still finishes its page (never leaving a connection mid-transaction), the
/// store takes the next write at once, and applying the page again changes nothing.
#[tokio::test]
async fn an_apply_cut_short_finishes_and_leaves_the_store_usable() {
    let data = tempfile::tempdir().unwrap();
    let (store, syncer, public) = offline_syncer(&data).await;
    let pages = text_pages(&public, 3, 100);
    for page in &pages {
        // 1 ms is far less than a page of 100 takes: the call is cut while events are opened
        // or the transaction is open.
        let cut = tokio::time::timeout(Duration::from_millis(1), syncer.apply(page)).await;
        assert!(cut.is_err(), "the apply was not cut short");
        store
            .set_setting("probe", &json!({"after": page.next_after}))
            .await
            .unwrap();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        while syncer.cursor().await.unwrap() < page.next_after {
            assert!(
                tokio::time::Instant::now() < deadline,
                "the cut apply never committed"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let again = syncer.apply(page).await.unwrap();
        assert_eq!(
            (again.messages_inserted, again.messages_duplicate),
            (0, 100)
        );
    }
    let last = pages.last().unwrap().next_after;
    assert_eq!(store.counts().await.unwrap().messages, last);
    assert_eq!(store.counts().await.unwrap().conversations, 50);
}

/// A catch-up acknowledges each page after its commit, in order, in the background while the
/// next page is written; an acknowledgement that fails fails the catch-up (one page later at
/// most), and the next run acknowledges what was committed.
#[tokio::test]
async fn pages_are_acknowledged_in_order_after_their_commit_and_a_failed_one_is_redone() {
    use axum::extract::{Query, State};
    use axum::routing::{get, post};
    use protocol::events::{AckRequest, EventsQuery};
    use std::sync::atomic::{AtomicI64, Ordering};
    use std::sync::{Arc, Mutex, OnceLock};

    #[derive(Clone, Default)]
    struct Relay {
        /// The log's last seq.
        last: Arc<AtomicI64>,
        acks: Arc<Mutex<Vec<i64>>>,
        /// The acknowledgement of this cursor is refused once (a relay restarting).
        refuse: Arc<Mutex<Option<i64>>>,
        /// The device, to check that what it acknowledges is committed.
        device: Arc<OnceLock<Syncer>>,
        /// Acknowledgements of a cursor not yet committed: (ack, committed).
        early: Arc<Mutex<Vec<(i64, i64)>>>,
    }
    async fn events(
        State(relay): State<Relay>,
        Query(q): Query<EventsQuery>,
    ) -> axum::Json<EventPage> {
        let limit = i64::from(q.limit.unwrap_or(1_000));
        let last = relay.last.load(Ordering::SeqCst).min(q.after + limit);
        let events: Vec<Event> = (q.after + 1..=last)
            .map(|seq| Event {
                seq,
                id: uuid::Uuid::from_u128(seq as u128),
                kind: EventKind::MetaWebhook,
                // Sealed to another key: kept raw, which commits the page like any other.
                sealed: "bm90IHNlYWxlZA".into(),
                created_at: time::OffsetDateTime::now_utc(),
                origin_session: None,
                client_event_id: None,
            })
            .collect();
        axum::Json(EventPage {
            next_after: events.last().map_or(q.after, |e| e.seq),
            events,
            resync_required: false,
        })
    }
    async fn ack(
        State(relay): State<Relay>,
        axum::Json(req): axum::Json<AckRequest>,
    ) -> Result<axum::Json<Value>, axum::http::StatusCode> {
        // Recorded, not asserted here: a panic would only drop the connection, which the
        // device takes for the transient failure the first run expects anyway.
        let committed = relay.device.get().unwrap().cursor().await.unwrap();
        if committed < req.seq {
            relay.early.lock().unwrap().push((req.seq, committed));
        }
        if relay
            .refuse
            .lock()
            .unwrap()
            .take_if(|c| *c == req.seq)
            .is_some()
        {
            return Err(axum::http::StatusCode::SERVICE_UNAVAILABLE);
        }
        relay.acks.lock().unwrap().push(req.seq);
        Ok(axum::Json(json!({"acked": req.seq})))
    }
    let relay = Relay::default();
    relay.last.store(3_005, Ordering::SeqCst);
    *relay.refuse.lock().unwrap() = Some(1_000);
    let router = axum::Router::new()
        .route("/v1/events", get(events))
        .route("/v1/events/ack", post(ack))
        .with_state(relay.clone());
    let (syncer, server, _data) = common::stub_relay_syncer(router).await;
    relay.device.set(syncer.clone()).ok().unwrap();

    // The first page's acknowledgement fails while the second page is written: the catch-up
    // stops there, with both pages committed and nothing acknowledged.
    let err = syncer.run_once().await.unwrap_err();
    assert!(err.is_transient(), "{err}");
    assert_eq!(syncer.cursor().await.unwrap(), 2_000);
    assert!(relay.acks.lock().unwrap().is_empty());

    // The next run acknowledges the committed cursor first, then each page as it commits.
    let totals = syncer.run_once().await.unwrap();
    assert_eq!(totals.cursor, 3_005);
    assert_eq!(*relay.acks.lock().unwrap(), vec![2_000, 3_000, 3_005]);

    // A log that ends on a full page: the empty page after it ends the run, which still
    // waits for the last page's acknowledgement.
    relay.last.store(4_005, Ordering::SeqCst);
    let totals = syncer.run_once().await.unwrap();
    assert_eq!(totals.cursor, 4_005);
    assert_eq!(
        *relay.acks.lock().unwrap(),
        vec![2_000, 3_000, 3_005, 3_005, 4_005]
    );
    assert!(relay.early.lock().unwrap().is_empty(), "{:?}", relay.early);
    server.abort();
}
