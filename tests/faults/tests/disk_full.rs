//! Scenario 3 of issue #6: the relay's disk fills up. It must answer 5xx (so Meta retries)
//! and never 200 for a webhook it did not store, stay up, and — once space is freed — take
//! Meta's retries, so that every webhook ends in the desktop store exactly once.
//!
//! The relay's data dir is a small tmpfs (`mount -t tmpfs`), filled by a file until ENOSPC.
//! Mounting needs root: without it this test fails with a message saying so.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{ensure, Result};
use faults::{
    customer_messages, ensure_each_once, logs_dir, CliDevice, Meta, MetaSender, RelayProcess,
    TinyDisk,
};

const WABA: &str = "900000000000063";
/// Webhooks stored before the disk fills, and sent while it is full.
const BEFORE: usize = 100;
const WHILE_FULL: usize = 200;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_answers_5xx_and_loses_nothing_it_acknowledged() -> Result<()> {
    let disk = TinyDisk::mount(24)?;
    let logs = logs_dir("disk_full")?;
    let data = disk.path().join("relay");
    std::fs::create_dir(&data)?;
    // Meta, which the relay asks before it links the WABA to the device's workspace.
    let meta = Meta::start().await?;
    let mut relay =
        RelayProcess::new(&data, testkit::free_port()?, &logs, &[]).with_meta(meta.info());
    relay.start().await?;
    let device =
        CliDevice::owner(&relay.base(), "ana@example.com", WABA, &meta.grant(WABA)).await?;

    let (mut wamids, before) = customer_messages("DISK", WABA, 0..BEFORE);
    let first = MetaSender::new(&relay.base(), 8)?.deliver(before).await?;

    let filled = disk.fill()?;
    let (later, while_full) = customer_messages("DISK", WABA, BEFORE..BEFORE + WHILE_FULL);
    wamids.extend(later);
    let sender = Arc::new(MetaSender::new(&relay.base(), 8)?);
    let delivered = sender.delivered();
    let load = tokio::spawn({
        let sender = sender.clone();
        async move { sender.deliver(while_full).await }
    });
    // A few seconds of a full disk under Meta's retries.
    tokio::time::sleep(Duration::from_secs(4)).await;
    relay.ensure_running()?;
    let health = reqwest::get(format!("{}/healthz", relay.base())).await?;
    ensure!(health.status().is_success(), "healthz: {}", health.status());
    let accepted_while_full = delivered.load(Ordering::SeqCst);

    disk.free()?;
    let freed = Instant::now();
    let report = load.await??;
    let recovered_in = freed.elapsed();
    relay.ensure_running()?;

    let progress = device.sync_once().await?;
    let store = device.store().await?;
    let each_once = ensure_each_once(&store, &wamids).await;
    store.close().await;
    eprintln!(
        "[disk_full] {BEFORE} webhooks stored, disk filled ({filled} bytes more); {WHILE_FULL} \
         sent: {accepted_while_full} accepted while full, non-2xx answers {:?}, {} \
         unanswered; all accepted {recovered_in:.2?} after freeing; device synced {} events",
        report.refused, report.unanswered, progress["events"]
    );
    let refused: u64 = report.refused.values().sum();
    ensure!(
        refused > 0,
        "the relay refused nothing while its disk was full: the test did not test anything"
    );
    ensure!(
        report.refused.keys().all(|&status| status >= 500),
        "a full disk must be answered 5xx (Meta retries those), got {:?}",
        report.refused
    );
    ensure!(
        report.unanswered == 0,
        "the relay dropped connections instead of answering"
    );
    // Each 5xx is counted for the operator (the webhook route has no request span).
    let metrics = reqwest::get(format!("{}/metrics", relay.base()))
        .await?
        .text()
        .await?;
    let failed = metrics
        .lines()
        .find_map(|l| l.strip_prefix("dataoptix_relay_webhooks_failed_total "))
        .and_then(|n| n.trim().parse::<u64>().ok());
    let answered_5xx = refused
        + first
            .refused
            .iter()
            .filter(|(status, _)| **status >= 500)
            .map(|(_, n)| n)
            .sum::<u64>();
    ensure!(
        failed == Some(answered_5xx),
        "/metrics counts {failed:?} failed webhooks for {answered_5xx} answered 5xx"
    );
    each_once?;
    ensure!(
        progress["events"] == BEFORE + WHILE_FULL,
        "the relay served {} events for {} webhooks",
        progress["events"],
        BEFORE + WHILE_FULL
    );
    relay.stop();
    Ok(())
}
