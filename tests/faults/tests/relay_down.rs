//! Scenario 5 of issue #6: the relay is down for a while. Customers keep writing: Meta (the
//! simulator) retries the failed webhook deliveries with backoff, and they arrive once the
//! relay is back. The business answers meanwhile: the send reaches the customer at once (the
//! device talks to Meta directly), and its team event — queued on the device — is published
//! when the relay is back, so a teammate's device sees it. Nothing twice.
//!
//! The device is the app's engine in process (`dataoptix_core::device::Device` with its
//! background sync, outbox and team-event publisher); the relay is a child process.

use std::time::{Duration, Instant};

use anyhow::{anyhow, ensure, Result};
use dataoptix_core::device::{Device, JoinInput, ManualSetupInput, Outgoing, RegisterInput};
use dataoptix_core::vault::{MemoryStore, PassphraseSource};
use dataoptix_sim::SimConfig;
use faults::{logs_dir, wamid_counts, RelayProcess, APP_SECRET, PASSWORD};
use serde_json::{json, Value};

const ANA: &str = "15552220001";
const BRUNO: &str = "15552220002";
const EMAIL: &str = "owner@example.com";

async fn open_device(dir: &std::path::Path, name: &str) -> Result<Device> {
    Ok(Device::open(dir, &MemoryStore::new(), &PassphraseSource::none(), name).await?)
}

/// Polls `check` (every 100 ms, up to 60 s) until it holds.
async fn eventually<F, Fut>(what: &str, mut check: F) -> Result<()>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<bool>>,
{
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if check().await? {
            return Ok(());
        }
        ensure!(Instant::now() < deadline, "timed out: {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn scalar_i64(device: &Device, sql: &str, bind: &str) -> Result<i64> {
    Ok(sqlx::query_scalar(sql)
        .bind(bind)
        .fetch_one(device.store().pool())
        .await?)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn while_the_relay_is_down_webhooks_wait_at_meta_and_sends_queue_their_team_event(
) -> Result<()> {
    let port = testkit::free_port()?;
    let mut config = SimConfig {
        webhook_url: Some(format!("http://127.0.0.1:{port}/webhooks/meta")),
        ..SimConfig::for_tests(APP_SECRET)
    };
    // Meta retries for days with growing delays; compressed here.
    config.webhooks.max_attempts = 10_000;
    config.webhooks.initial_backoff_ms = 50;
    config.webhooks.max_backoff_ms = 400;
    let sim = dataoptix_sim::spawn(config).await?;
    let http = reqwest::Client::new();
    let inbound = |from: &'static str, text: String| {
        let http = http.clone();
        let url = sim.control_url("/inbound");
        async move {
            let v: Value = http
                .post(url)
                .json(&json!({"from": from, "type": "text", "text": {"body": text}}))
                .send()
                .await?
                .json()
                .await?;
            v["id"]
                .as_str()
                .map(str::to_owned)
                .ok_or_else(|| anyhow!("inbound refused: {v}"))
        }
    };

    let logs = logs_dir("relay_down")?;
    let data = tempfile::tempdir()?;
    // The simulator is the relay's Meta: its Graph API, and the `debug_token` a claim needs.
    let mut relay = RelayProcess::new(data.path(), port, &logs, &[]).with_meta(&sim.info);
    relay.start().await?;

    let front_desk_dir = tempfile::tempdir()?;
    let owner = open_device(front_desk_dir.path(), "Front desk").await?;
    owner
        .register(RegisterInput {
            relay_url: relay.base(),
            name: "Ana Owner".into(),
            email: EMAIL.into(),
            company: "Panadería Ana".into(),
            password: PASSWORD.into(),
        })
        .await?;
    owner
        .setup_manual(ManualSetupInput {
            waba_id: sim.info.waba_id.clone(),
            phone_number_id: sim.info.phone_number_id.clone(),
            token: sim.info.access_token.clone(),
        })
        .await?;
    owner.start_background().await?;
    let mut wamids = vec![inbound(ANA, "¿Abrís el domingo?".into()).await?];
    eventually("Ana's first message", || async {
        Ok(wamid_counts(owner.store()).await?.len() == 1)
    })
    .await?;
    let conversation = scalar_i64(
        &owner,
        "SELECT c.id FROM conversations c JOIN contacts ct ON ct.id = c.contact_id
         WHERE ct.wa_id = ?",
        ANA,
    )
    .await?;

    // A teammate's device, in sync before the outage.
    let link = owner
        .invite("bo@example.com", protocol::auth::Role::Agent)
        .await?;
    let laptop_dir = tempfile::tempdir()?;
    let laptop = open_device(laptop_dir.path(), "Laptop").await?;
    laptop
        .join(JoinInput {
            invite_link: link,
            name: "Bo Agent".into(),
            password: PASSWORD.into(),
        })
        .await?;
    laptop.syncer().await?.run_once().await?;

    // The relay goes down.
    relay.kill()?;
    let down = Instant::now();
    for i in 0..3 {
        wamids.push(inbound(ANA, format!("Ana, mensaje {i} sin relay")).await?);
        wamids.push(inbound(BRUNO, format!("Bruno, mensagem {i} sem relay")).await?);
    }
    owner
        .send(
            conversation,
            Outgoing::Text {
                body: "Sí, de 8 a 14".into(),
                preview_url: false,
            },
            None,
        )
        .await?;
    // The customer gets the answer although the relay is down.
    let sent_url = sim.control_url(&format!("/sent?to={ANA}"));
    eventually("the answer reaching Ana", || async {
        let v: Value = http.get(&sent_url).send().await?.json().await?;
        Ok(v.to_string().contains("Sí, de 8 a 14"))
    })
    .await?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let deliveries: Value = http
        .get(sim.control_url("/webhooks"))
        .send()
        .await?
        .json()
        .await?;
    let failed_attempts = deliveries["data"].as_array().map_or(0, |d| {
        d.iter()
            .flat_map(|d| d["attempts"].as_array().cloned().unwrap_or_default())
            .filter(|a| a["status"] != 200)
            .count()
    });
    ensure!(
        failed_attempts > 0,
        "no webhook failed while the relay was down: the test did not test anything"
    );

    relay.start().await?;
    let downtime = down.elapsed();
    eventually(
        "every customer message and the answer's statuses",
        || async {
            let counts = wamid_counts(owner.store()).await?;
            let status: Option<String> =
                sqlx::query_scalar("SELECT status FROM messages WHERE direction = 'out'")
                    .fetch_optional(owner.store().pool())
                    .await?;
            Ok(wamids.iter().all(|w| counts.contains_key(w)) && status.as_deref() == Some("read"))
        },
    )
    .await?;
    let counts = wamid_counts(owner.store()).await?;
    ensure!(
        counts.len() == wamids.len() + 1 && counts.values().all(|&n| n == 1),
        "the store holds {counts:?} for {} inbound messages and one answer",
        wamids.len()
    );
    let answer: String = sqlx::query_scalar("SELECT wamid FROM messages WHERE direction = 'out'")
        .fetch_one(owner.store().pool())
        .await?;

    // The teammate learns of the answer from its team event, published once the relay is back.
    eventually("the answer on the laptop", || async {
        laptop.syncer().await?.run_once().await?;
        Ok(wamid_counts(laptop.store()).await?.contains_key(&answer))
    })
    .await?;
    let on_laptop = wamid_counts(laptop.store()).await?;
    ensure!(
        on_laptop.values().all(|&n| n == 1) && on_laptop.len() == counts.len(),
        "the laptop holds {on_laptop:?}"
    );
    let to_ana: Value = http.get(&sent_url).send().await?.json().await?;
    let sends = to_ana.to_string().matches("Sí, de 8 a 14").count();
    ensure!(sends == 1, "Ana got the answer {sends} times: {to_ana}");
    eprintln!(
        "[relay_down] relay down {downtime:.2?}: {} customer messages waited at Meta \
         ({failed_attempts} failed deliveries), all stored once after the restart; the answer \
         ({}) reached the customer while down and a teammate's device after",
        wamids.len() - 1,
        answer
    );
    owner.stop_background().await;
    relay.stop();
    sim.stop();
    Ok(())
}
