//! The broadcast pacing measurement (issue #6), shared by the short test in
//! `tests/broadcasts.rs` and the 5,000-contact run in `benches/broadcast_pacing.rs`: a device
//! connected to the simulator with `limits.throughput_mps` set broadcasts a template to `n`
//! new contacts from a CSV, and the simulator's own record of accepted sends is read back.

use std::time::{Duration, Instant};

use dataoptix_core::broadcast::{ParamSource, RecipientSource};
use dataoptix_core::device::{BroadcastForm, Device, ManualSetupInput};
use dataoptix_core::vault::MemoryStore;
use serde_json::{json, Value};

use super::SignupWorld;

/// What one pacing run measured.
#[derive(Debug, Clone)]
pub struct PacingReport {
    pub recipients: usize,
    pub configured_mps: u32,
    /// Sends after the first second's allowance, divided by the time they took: the rate the
    /// throttle sustains (the first `configured_mps` sends may legitimately go at once).
    pub steady_mps: f64,
    /// The most sends the simulator accepted within any 1,000 ms.
    pub max_in_any_second: usize,
    /// Sends the simulator refused with 130429.
    pub rejections_130429: u64,
    /// Recipients whose item needed more than one attempt (any error).
    pub retried: i64,
    /// From `create_broadcast` to the last accepted send.
    pub elapsed: Duration,
    /// `create_broadcast`'s own time (plan, store, hand every recipient to the outbox).
    pub create_time: Duration,
}

impl PacingReport {
    pub fn ratio(&self) -> f64 {
        self.steady_mps / f64::from(self.configured_mps)
    }
}

/// A device of Ana's workspace in `dir`, with the simulator's pre-provisioned number set up by
/// hand (its demo templates: `order_ready` has two body variables) and templates synced.
pub async fn connected_device(
    world: &SignupWorld,
    dir: &std::path::Path,
    secrets: &MemoryStore,
) -> Device {
    let d = world.register_with(dir, secrets).await;
    d.setup_manual(ManualSetupInput {
        waba_id: world.sim.info.waba_id.clone(),
        phone_number_id: world.sim.info.phone_number_id.clone(),
        token: world.sim.info.access_token.clone(),
    })
    .await
    .unwrap();
    d.sync_templates().await.unwrap();
    d
}

/// The same through `dataoptix-cli` in the data directory `home`: registered as Ana with
/// `email`, the number set up by hand, templates synced.
pub async fn cli_connected(world: &SignupWorld, home: &std::path::Path, email: &str) {
    let register = [
        "register",
        "--relay",
        &world.base,
        "--name",
        "Ana",
        "--email",
        email,
        "--company",
        "Padaria",
    ];
    let password = format!("{}\n", super::PASSWORD);
    let (ok, _, err) = super::cli(home, &register, password.as_bytes()).await;
    assert!(ok, "{err}");
    let setup = [
        "setup-manual",
        "--waba-id",
        &world.sim.info.waba_id,
        "--phone-number-id",
        &world.sim.info.phone_number_id,
    ];
    let token = format!("{}\n", world.sim.info.access_token);
    let (ok, _, err) = super::cli(home, &setup, token.as_bytes()).await;
    assert!(ok, "{err}");
    let (ok, _, err) = super::cli(home, &["templates", "--sync"], b"").await;
    assert!(ok, "{err}");
}

/// `n` distinct numbers as a CSV with `name` and `order` columns.
pub fn csv(n: usize, first: u64) -> String {
    let mut out = String::from("name,phone,order\n");
    for i in 0..n as u64 {
        out.push_str(&format!(
            "Guest {i},+1 555 {:07},#{}\n",
            first + i,
            1000 + i
        ));
    }
    out
}

/// The `order_ready` form ("Hi {{1}}, your order {{2}} is ready") with both values per row.
pub fn order_ready(name: &str, recipients: RecipientSource) -> BroadcastForm {
    BroadcastForm {
        name: name.into(),
        phone_number_id: None,
        template_name: "order_ready".into(),
        language: "en_US".into(),
        body: vec![
            ParamSource::ContactName,
            ParamSource::Column {
                column: "order".into(),
            },
        ],
        header: Vec::new(),
        buttons: Vec::new(),
        header_media: None,
        recipients,
    }
}

pub async fn sim_get(world: &SignupWorld, path: &str) -> Value {
    reqwest::get(world.sim.control_url(path))
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

pub async fn sim_post(world: &SignupWorld, path: &str, body: Value) -> Value {
    let resp = reqwest::Client::new()
        .post(world.sim.control_url(path))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success(), "{path}: {}", resp.status());
    resp.json().await.unwrap_or(Value::Null)
}

/// The simulator's answer time per send, `[min, max]` ms, from `DATAOPTIX_PACING_LATENCY_MS`
/// ("100,300"); none by default. A provably safe throttle cannot know when within a send's
/// round trip Meta counted it, so a slot is free again only a second after the send *ended*:
/// the steady rate is at most limit / (1 s + round trip).
pub fn send_latency_ms() -> [u64; 2] {
    std::env::var("DATAOPTIX_PACING_LATENCY_MS")
        .ok()
        .and_then(|v| {
            let (min, max) = v.split_once(',')?;
            Some([min.trim().parse().ok()?, max.trim().parse().ok()?])
        })
        .unwrap_or([0, 0])
}

/// Broadcasts `order_ready` to `n` new contacts with the number (and the simulator) at `mps`.
pub async fn measure(world: &SignupWorld, n: usize, mps: u32) -> PacingReport {
    let dir = tempfile::tempdir().unwrap();
    let secrets = MemoryStore::new();
    let d = connected_device(world, dir.path(), &secrets).await;
    let phone = world.sim.info.phone_number_id.clone();
    sim_post(
        world,
        "/settings",
        json!({"limits": {"throughput_mps": mps}, "send_latency_ms": send_latency_ms()}),
    )
    .await;
    d.set_messages_per_second(&phone, mps).await.unwrap();
    d.start_background().await.unwrap();

    let started = Instant::now();
    let created = d
        .create_broadcast(order_ready(
            "pacing",
            RecipientSource::Csv {
                text: csv(n, 2_000_000),
            },
        ))
        .await
        .unwrap();
    let create_time = started.elapsed();
    assert_eq!(created.counts.total as usize, n);
    let deadline = started
        + Duration::from_secs(30)
        + Duration::from_secs_f64(3.0 * n as f64 / f64::from(mps));
    loop {
        let b = d.broadcast(created.id).await.unwrap();
        if b.counts.queued == 0 {
            break;
        }
        assert!(Instant::now() < deadline, "still queued: {:?}", b.counts);
        // Not more often: each look counts every recipient, which competes with the sends.
        tokio::time::sleep(Duration::from_millis(1000)).await;
    }
    let elapsed = started.elapsed();
    let retried: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM outbox o JOIN broadcast_recipients r ON r.outbox_id = o.id
         WHERE r.broadcast_id = ? AND o.attempts > 1",
    )
    .bind(created.id)
    .fetch_one(d.store().pool())
    .await
    .unwrap();
    d.stop_background().await;

    let sent = sim_get(world, &format!("/sent?phone_number_id={phone}")).await;
    let mut times: Vec<i64> = sent["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["request"]["template"]["name"] == "order_ready")
        .map(|m| m["accepted_at_ms"].as_i64().unwrap())
        .collect();
    times.sort_unstable();
    assert_eq!(
        times.len(),
        n,
        "every recipient exactly once at the simulator"
    );
    let limit = mps as usize;
    let steady_mps = if n > limit {
        let span = (times[n - 1] - times[limit - 1]) as f64 / 1000.0;
        (n - limit) as f64 / span.max(0.001)
    } else {
        f64::from(mps)
    };
    let max_in_any_second = times
        .iter()
        .enumerate()
        .map(|(i, t)| times[i..].iter().take_while(|u| *u - t < 1000).count())
        .max()
        .unwrap_or(0);
    let state = sim_get(world, "/state").await;
    let rejections_130429 = state["phones"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == phone.as_str())
        .and_then(|p| p["throughput_rejections"].as_u64())
        .unwrap();
    PacingReport {
        recipients: n,
        configured_mps: mps,
        steady_mps,
        max_in_any_second,
        rejections_130429,
        retried,
        elapsed,
        create_time,
    }
}
