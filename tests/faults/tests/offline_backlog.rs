//! Issue #4: "a backlog of 100,000 events built while offline is caught up". The device
//! (`dataoptix-cli`, a child process against the relay binary) is not running while 100,000
//! messages reach the relay in signed webhooks; then one `sync --once` catches up by pages of
//! 1,000, each applied in one transaction with its cursor: every message is stored exactly
//! once and the cursor ends at the last event.
//!
//! `DATAOPTIX_FAULTS_OFFLINE_BACKLOG` (default 100,000 messages) sizes it.

use std::time::Instant;

use anyhow::{ensure, Result};
use faults::{
    customer_message_batches, ensure_each_once, env_or, logs_dir, CliDevice, Meta, MetaSender,
    RelayProcess,
};

const WABA: &str = "900000000000065";
const PER_WEBHOOK: usize = 100;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backlog_built_while_offline_is_caught_up_once() -> Result<()> {
    let n: usize = env_or("DATAOPTIX_FAULTS_OFFLINE_BACKLOG", 100_000);
    let logs = logs_dir("offline_backlog")?;
    let data = tempfile::tempdir()?;
    // Meta, which the relay asks before it links the WABA to the device's workspace.
    let meta = Meta::start().await?;
    let mut relay =
        RelayProcess::new(data.path(), testkit::free_port()?, &logs, &[]).with_meta(meta.info());
    relay.start().await?;
    let device =
        CliDevice::owner(&relay.base(), "ana@example.com", WABA, &meta.grant(WABA)).await?;
    // Whatever onboarding left in the log (the number's own events) first: the backlog is
    // what arrives after.
    let before = device.sync_once().await?;
    let start = before["cursor"].as_i64().unwrap_or(0);

    // 100 entries per webhook, as Meta batches deliveries under load: the relay logs one
    // event per entry, so the log grows by `n` all the same, in far fewer requests.
    let (wamids, bodies) = customer_message_batches("OFFLINE", WABA, 0..n, PER_WEBHOOK);
    let webhooks = bodies.len();
    let load = MetaSender::new(&relay.base(), 16)?.deliver(bodies).await?;
    ensure!(
        load.delivered == webhooks,
        "the relay accepted {} of {webhooks} webhooks",
        load.delivered
    );

    let started = Instant::now();
    let progress = device.sync_once().await?;
    let took = started.elapsed();
    let store = device.store().await?;
    let each_once = ensure_each_once(&store, &wamids).await;
    store.close().await;
    eprintln!(
        "[offline_backlog] {n} events built up at the relay ({:.0}/s in webhooks of \
         {PER_WEBHOOK}), caught up in {took:.1?} ({:.0} events/s, {} pages): {progress}",
        load.per_second() * PER_WEBHOOK as f64,
        n as f64 / took.as_secs_f64(),
        progress["pages"],
    );
    each_once?;
    ensure!(
        progress["events"].as_u64() == Some(n as u64)
            && progress["messages_inserted"].as_u64() == Some(n as u64),
        "the catch-up applied {progress}, not {n} new messages"
    );
    ensure!(
        progress["cursor"].as_i64() == Some(start + n as i64),
        "the cursor ended at {}, not {} events past {start}",
        progress["cursor"],
        n
    );
    ensure!(
        progress["pages"].as_u64() == Some(n.div_ceil(1_000) as u64),
        "{} pages for {n} events",
        progress["pages"]
    );
    relay.stop();
    Ok(())
}
