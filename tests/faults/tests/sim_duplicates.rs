//! Scenario 2 of issue #6: the simulator delivers every webhook twice and out of order
//! (`webhooks.duplicate`, `webhooks.shuffle_window`, and `statuses.duplicate` on top); the
//! device's store must end identical to a store fed the very same notifications once, in
//! order.
//!
//! Two worlds, each a relay process and a `dataoptix-cli` device of its own:
//! - **faulty**: the simulator's webhook URL. Its relay is stopped while the script plays, so
//!   every notification queues at the simulator (retried with backoff) and goes out in large
//!   shuffled windows, twice each, once the relay is back;
//! - **reference**: fed by the test, which replays the simulator's delivery log (the exact
//!   bodies, signed) in emission order, once each.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::{anyhow, ensure, Result};
use dataoptix_sim::SimConfig;
use faults::{dump, logs_dir, CliDevice, MetaSender, RelayProcess, APP_SECRET};
use serde_json::{json, Value};

const ANA: &str = "15551110001";
const BRUNO: &str = "15551110002";
const CARLA: &str = "15551110003";

struct Sim {
    sim: dataoptix_sim::RunningSim,
    http: reqwest::Client,
}

impl Sim {
    async fn control(&self, path: &str, body: Value) -> Result<Value> {
        let resp = self
            .http
            .post(self.sim.control_url(path))
            .json(&body)
            .send()
            .await?;
        let status = resp.status();
        let v: Value = resp.json().await?;
        ensure!(status.is_success(), "{path}: {status} {v}");
        Ok(v)
    }

    /// A customer writes; returns the wamid.
    async fn inbound(&self, spec: Value) -> Result<String> {
        let v = self.control("/inbound", spec).await?;
        v["id"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| anyhow!("no id in {v}"))
    }

    /// Meta's clock moves on, so that every event of the script has its own timestamp.
    async fn tick(&self) -> Result<()> {
        self.control("/clock/advance", json!({"seconds": 7}))
            .await?;
        Ok(())
    }

    /// The business sends a text through the Graph API (another of its devices, say).
    async fn business_sends(&self, to: &str, text: &str) -> Result<String> {
        let info = &self.sim.info;
        let v: Value = self
            .http
            .post(format!(
                "{}/{}/{}/messages",
                info.base_url, info.graph_version, info.phone_number_id
            ))
            .bearer_auth(&info.access_token)
            .json(
                &json!({"messaging_product": "whatsapp", "to": to, "type": "text",
                          "text": {"body": text}}),
            )
            .send()
            .await?
            .json()
            .await?;
        v["messages"][0]["id"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| anyhow!("send refused: {v}"))
    }

    async fn deliveries(&self) -> Result<Vec<Value>> {
        let v: Value = self
            .http
            .get(self.sim.control_url("/webhooks"))
            .send()
            .await?
            .json()
            .await?;
        v["data"]
            .as_array()
            .cloned()
            .ok_or_else(|| anyhow!("no delivery log: {v}"))
    }
}

/// Texts, a quoted reply, a location, a reaction changed and then removed, messages sent by
/// the business with their statuses: each step a few (simulated) seconds after the last.
async fn play_script(sim: &Sim) -> Result<()> {
    let text =
        |from: &str, body: &str| json!({"from": from, "type": "text", "text": {"body": body}});
    sim.inbound(text(ANA, "Hola, ¿tenéis pan de centeno?"))
        .await?;
    sim.tick().await?;
    sim.inbound(text(BRUNO, "Bom dia! Encomenda para sábado"))
        .await?;
    sim.tick().await?;
    let to_ana = sim.business_sends(ANA, "¡Sí! Sale a las 8:00").await?;
    sim.tick().await?;
    let to_bruno = sim.business_sends(BRUNO, "Claro, ¿a qué hora?").await?;
    sim.tick().await?;
    sim.inbound(json!({"from": ANA, "type": "reaction",
                       "reaction": {"message_id": to_ana, "emoji": "👍"}}))
        .await?;
    sim.tick().await?;
    sim.inbound(
        json!({"from": BRUNO, "type": "text", "text": {"body": "Às 10h"},
                       "context": {"id": to_bruno}}),
    )
    .await?;
    sim.tick().await?;
    sim.inbound(json!({"from": ANA, "type": "reaction",
                       "reaction": {"message_id": to_ana, "emoji": "❤️"}}))
        .await?;
    sim.tick().await?;
    sim.inbound(json!({"from": CARLA, "type": "location"}))
        .await?;
    sim.tick().await?;
    sim.inbound(json!({"from": BRUNO, "type": "reaction",
                       "reaction": {"message_id": to_bruno, "emoji": "🙏"}}))
        .await?;
    sim.tick().await?;
    sim.inbound(json!({"from": BRUNO, "type": "reaction",
                       "reaction": {"message_id": to_bruno, "emoji": ""}}))
        .await?;
    sim.tick().await?;
    for i in 0..8 {
        sim.inbound(text(CARLA, &format!("línea {i} del pedido")))
            .await?;
        sim.tick().await?;
    }
    sim.business_sends(CARLA, "Anotado, gracias").await?;
    Ok(())
}

/// Waits until the simulator has emitted everything (statuses come after delays): the log
/// stops growing for a while.
async fn wait_until_emitted(sim: &Sim) -> Result<usize> {
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut last = (0, Instant::now());
    loop {
        let n = sim.deliveries().await?.len();
        if n != last.0 {
            last = (n, Instant::now());
        } else if last.1.elapsed() > Duration::from_millis(1500) {
            return Ok(n);
        }
        ensure!(Instant::now() < deadline, "the simulator kept emitting");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A relay process and a device registered on it that claimed the simulator's WABA (the relay
/// checks the claim with the simulator, as Meta).
async fn world(
    name: &str,
    port: u16,
    data: &std::path::Path,
    meta: &dataoptix_sim::StartupInfo,
) -> Result<(RelayProcess, CliDevice)> {
    let logs = logs_dir(&format!("sim_duplicates-{name}"))?;
    let mut relay = RelayProcess::new(data, port, &logs, &[]).with_meta(meta);
    relay.start().await?;
    let device = CliDevice::owner(
        &relay.base(),
        &format!("{name}@example.com"),
        &meta.waba_id,
        &meta.access_token,
    )
    .await?;
    Ok((relay, device))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicated_shuffled_webhooks_end_in_the_same_store_as_in_order_once() -> Result<()> {
    let faulty_port = testkit::free_port()?;
    let mut config = SimConfig {
        webhook_url: Some(format!("http://127.0.0.1:{faulty_port}/webhooks/meta")),
        ..SimConfig::for_tests(APP_SECRET)
    };
    config.statuses.duplicate = true;
    config.webhooks.duplicate = true;
    config.webhooks.shuffle_window = 64;
    config.webhooks.shuffle_wait_ms = 300;
    // Meta retries for days; the faulty relay is down for the whole script.
    config.webhooks.max_attempts = 10_000;
    config.webhooks.max_backoff_ms = 200;
    let sim = Sim {
        sim: dataoptix_sim::spawn(config).await?,
        http: reqwest::Client::new(),
    };
    let meta = sim.sim.info.clone();
    let (faulty_dir, reference_dir) = (tempfile::tempdir()?, tempfile::tempdir()?);
    let (mut faulty, faulty_device) =
        world("faulty", faulty_port, faulty_dir.path(), &meta).await?;
    let (mut reference, reference_device) = world(
        "reference",
        testkit::free_port()?,
        reference_dir.path(),
        &meta,
    )
    .await?;

    faulty.stop();
    play_script(&sim).await?;
    let emitted = wait_until_emitted(&sim).await?;
    faulty.start().await?;

    // The faulty world gets everything twice, shuffled.
    let accepted = |d: &Value| {
        d["attempts"]
            .as_array()
            .map_or(0, |a| a.iter().filter(|a| a["status"] == 200).count())
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    let log = loop {
        let log = sim.deliveries().await?;
        if log.iter().all(|d| accepted(d) >= 2) {
            break log;
        }
        ensure!(
            Instant::now() < deadline,
            "the simulator never delivered everything"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    ensure!(
        log.len() == emitted,
        "{} deliveries, {emitted} emitted",
        log.len()
    );
    // When each notification first got through: out of emission order somewhere.
    let first_ok: Vec<i64> = log
        .iter()
        .map(|d| {
            d["attempts"]
                .as_array()
                .and_then(|a| a.iter().find(|a| a["status"] == 200))
                .and_then(|a| a["at"].as_i64())
                .unwrap_or(i64::MAX)
        })
        .collect();
    ensure!(
        first_ok.windows(2).any(|w| w[0] > w[1]),
        "the deliveries were not reordered: {first_ok:?}"
    );
    let failed_attempts: usize = log
        .iter()
        .map(|d| d["attempts"].as_array().map_or(0, Vec::len) - accepted(d))
        .sum();
    ensure!(
        log.iter().all(|d| accepted(d) == 2),
        "not every notification was delivered exactly twice: {:?}",
        log.iter().map(accepted).collect::<Vec<_>>()
    );

    // The reference world gets the same bodies once, in order.
    let bodies: Vec<Vec<u8>> = log
        .iter()
        .map(|d| serde_json::to_vec(&d["body"]))
        .collect::<Result<_, _>>()?;
    MetaSender::new(&reference.base(), 1)?
        .deliver(bodies)
        .await?;

    let mut dumps = Vec::new();
    for device in [&faulty_device, &reference_device] {
        device.sync_once().await?;
        let store = device.store().await?;
        dumps.push(dump(&store).await?);
        store.close().await;
    }
    let (got, want) = (&dumps[0], &dumps[1]);
    let sizes: BTreeMap<_, _> = want.iter().map(|(k, v)| (*k, v.len())).collect();
    eprintln!(
        "[sim_duplicates] {emitted} notifications, each delivered twice and shuffled \
         ({failed_attempts} failed attempts while the relay was down); store sections {sizes:?}"
    );
    for (section, rows) in want {
        ensure!(
            got.get(section) == Some(rows),
            "section {section} differs:\nwith duplicates and reordering: {:#?}\nin order once: {rows:#?}",
            got.get(section)
        );
    }
    // The script's content really is in the store (a comparison of two empty stores would
    // prove nothing).
    // 12 inbound messages (reactions are not messages) from 3 customers; 3 sends with sent,
    // delivered and read each; Ana's last reaction and Bruno's removed one.
    let expected = [
        ("contacts", 3),
        ("conversations", 3),
        ("messages", 12),
        ("reactions", 2),
        ("statuses", 9),
    ];
    for (section, n) in expected {
        ensure!(sizes[section] == n, "{section}: {sizes:?}");
    }
    let reactions = want["reactions"].join("\n");
    ensure!(
        reactions.contains("\"❤️\"") && reactions.contains(",null,") && !reactions.contains("👍"),
        "the reactions are not the script's last ones: {reactions}"
    );
    faulty.stop();
    reference.stop();
    sim.sim.stop();
    Ok(())
}
