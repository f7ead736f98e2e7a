//! Scenario 1 of issue #6: `kill -9` the relay in the middle of a load of signed webhooks,
//! start it again on the same data directory and port, let Meta's retries finish; then a
//! device syncs. Every webhook answered 200 must be in the desktop store exactly once, and —
//! since Meta retries what was not answered 200 — every webhook must be there in the end.
//!
//! `DATAOPTIX_FAULTS_WEBHOOKS` (default 1,000; 10,000 for the figure, see TESTING.md)
//! and `DATAOPTIX_FAULTS_CONCURRENCY` (32) size the load.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{ensure, Context, Result};
use faults::{env_or, logs_dir, wamid_counts, CliDevice, MetaSender, RelayProcess};
use testkit::meta::CustomerText;

const WABA: &str = "900000000000061";
const PHONE_NUMBER_ID: &str = "106540352242922";
/// Distinct customers the messages come from.
const CUSTOMERS: usize = 25;

/// `n` distinct customer messages, each with its own wamid.
fn webhooks(n: usize) -> (Vec<String>, Vec<Vec<u8>>) {
    let wamids: Vec<String> = (0..n).map(|i| format!("wamid.FAULTKILL{i:08}")).collect();
    let bodies = wamids
        .iter()
        .enumerate()
        .map(|(i, wamid)| {
            let from = format!("1555000{:04}", i % CUSTOMERS);
            CustomerText {
                waba_id: WABA,
                phone_number_id: PHONE_NUMBER_ID,
                display_phone_number: "15550783881",
                from: &from,
                profile_name: "Customer",
                wamid,
                timestamp: 1_764_000_000 + i as i64,
                text: &format!("order #{i}: two croissants, please"),
            }
            .body()
        })
        .collect();
    (wamids, bodies)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relay_killed_mid_load_loses_nothing_and_doubles_nothing() -> Result<()> {
    let n: usize = env_or("DATAOPTIX_FAULTS_WEBHOOKS", 1_000);
    let concurrency: usize = env_or("DATAOPTIX_FAULTS_CONCURRENCY", 32);
    let logs = logs_dir("relay_killed")?;
    let data = tempfile::tempdir()?;
    let mut relay = RelayProcess::new(data.path(), testkit::free_port()?, &logs, &[]);
    relay.start().await?;

    let device = CliDevice::new()?;
    device.register(&relay.base(), "ana@example.com").await?;
    device.claim_waba(WABA).await?;
    device.sync_once().await?;

    let (wamids, bodies) = webhooks(n);
    let sender = Arc::new(MetaSender::new(&relay.base(), concurrency)?);
    let delivered = sender.delivered();
    let load = tokio::spawn({
        let sender = sender.clone();
        async move { sender.deliver(bodies).await }
    });

    // SIGKILL at about half of the load.
    let deadline = Instant::now() + Duration::from_secs(120);
    while delivered.load(Ordering::SeqCst) < n / 2 {
        ensure!(
            !load.is_finished(),
            "the load ended before half was delivered"
        );
        ensure!(
            Instant::now() < deadline,
            "half the load not delivered in 120 s"
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    relay.kill()?;
    let answered_before_kill = delivered.load(Ordering::SeqCst);
    let killed = Instant::now();
    tokio::time::sleep(Duration::from_millis(300)).await;
    relay
        .start()
        .await
        .context("restarting the relay on the same data dir")?;
    let downtime = killed.elapsed();
    let report = load.await??;

    let progress = device.sync_once().await?;
    let store = device.store().await?;
    let counts = wamid_counts(&store).await?;
    store.close().await;

    eprintln!(
        "[relay_killed] {n} webhooks, {concurrency} connections: {answered_before_kill} answered \
         200 before SIGKILL, relay down {downtime:.2?}; {} attempts ({} unanswered, refused {:?}), \
         {:.0} webhooks/s overall in {:.2?}; device synced {} events, {} messages",
        report.attempts,
        report.unanswered,
        report.refused,
        report.per_second(),
        report.elapsed,
        progress["events"],
        counts.len()
    );
    ensure!(
        report.delivered == n,
        "Meta's retries delivered every webhook"
    );
    ensure!(
        report.unanswered + report.refused.values().sum::<u64>() > 0,
        "the kill interrupted no delivery: the test did not test anything"
    );
    let missing: Vec<&String> = wamids.iter().filter(|w| !counts.contains_key(*w)).collect();
    ensure!(
        missing.is_empty(),
        "{} acknowledged webhooks missing from the store, e.g. {:?}",
        missing.len(),
        &missing[..missing.len().min(5)]
    );
    let doubled: Vec<_> = counts.iter().filter(|(_, &c)| c != 1).collect();
    ensure!(doubled.is_empty(), "stored more than once: {doubled:?}");
    ensure!(
        counts.len() == n,
        "{} messages for {n} webhooks",
        counts.len()
    );
    // The relay's log itself holds each webhook once (the store's unique wamid would hide a
    // duplicate event): the device got exactly one event per webhook.
    ensure!(
        progress["events"] == n,
        "the relay served {} events for {n} webhooks",
        progress["events"]
    );
    relay.stop();
    Ok(())
}
