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
use faults::{
    customer_messages, ensure_each_once, env_or, logs_dir, wamid_counts, CliDevice, Meta,
    MetaSender, RelayProcess,
};

const WABA: &str = "900000000000061";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relay_killed_mid_load_loses_nothing_and_doubles_nothing() -> Result<()> {
    let n: usize = env_or("DATAOPTIX_FAULTS_WEBHOOKS", 1_000);
    let concurrency: usize = env_or("DATAOPTIX_FAULTS_CONCURRENCY", 32);
    let logs = logs_dir("relay_killed")?;
    let data = tempfile::tempdir()?;
    // Meta, which the relay asks before it links the WABA to the device's workspace.
    let meta = Meta::start().await?;
    let mut relay =
        RelayProcess::new(data.path(), testkit::free_port()?, &logs, &[]).with_meta(meta.info());
    relay.start().await?;

    let device =
        CliDevice::owner(&relay.base(), "ana@example.com", WABA, &meta.grant(WABA)).await?;

    let (wamids, bodies) = customer_messages("KILL", WABA, 0..n);
    let sender = Arc::new(MetaSender::new(&relay.base(), concurrency)?);
    let delivered = sender.delivered();
    let load = tokio::spawn({
        let sender = sender.clone();
        async move { sender.deliver(bodies).await }
    });

    // SIGKILL at about half of the load (however long that takes, as long as it progresses).
    let mut progress = (0, Instant::now());
    while delivered.load(Ordering::SeqCst) < n / 2 {
        ensure!(
            !load.is_finished(),
            "the load ended before half was delivered"
        );
        let now = delivered.load(Ordering::SeqCst);
        if now != progress.0 {
            progress = (now, Instant::now());
        }
        ensure!(
            progress.1.elapsed() < Duration::from_secs(60),
            "no webhook accepted for 60 s ({now} of {n})"
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
    let stored = wamid_counts(&store).await?.len();
    let each_once = ensure_each_once(&store, &wamids).await;
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
        stored
    );
    ensure!(
        report.delivered == n,
        "Meta's retries delivered every webhook"
    );
    ensure!(
        report.unanswered + report.refused.values().sum::<u64>() > 0,
        "the kill interrupted no delivery: the test did not test anything"
    );
    each_once?;
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
