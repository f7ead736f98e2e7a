//! Scenario 4 of issue #6: the desktop sync (`dataoptix-cli sync`, a child process) is killed
//! with SIGKILL in the middle of a large backlog — while it fetches or applies a page — and
//! run again. Each page is applied in one transaction together with its cursor, so after
//! every kill the store must hold exactly the messages up to its cursor, each once; after the
//! last run, all of them.
//!
//! `DATAOPTIX_FAULTS_BACKLOG` (default 12,000 webhooks: twelve pages) sizes it. The first run
//! is killed 150 ms after its first page, the second 400 ms after it starts, so the backlog
//! must outlast both: with 1,500 webhooks the second page was already applied by then once
//! pages were written in a few statements, and with 6,000 the second run finished in its
//! 400 ms once envelopes were opened with `ring` (~7,500 events/s in this debug build).

use std::time::{Duration, Instant};

use anyhow::{ensure, Result};
use dataoptix_core::sync::CURSOR_STREAM;
use faults::{
    customer_messages, ensure_each_once, env_or, logs_dir, wamid_counts, CliDevice, Meta,
    MetaSender, RelayProcess,
};

const WABA: &str = "900000000000064";

/// The store's committed cursor and how many messages (each counted once) it holds.
async fn cursor_and_messages(device: &CliDevice) -> Result<(i64, usize)> {
    let store = device.store().await?;
    let cursor: Option<String> =
        sqlx::query_scalar("SELECT cursor FROM sync_cursor WHERE stream = ?")
            .bind(CURSOR_STREAM)
            .fetch_optional(store.pool())
            .await?;
    let counts = wamid_counts(&store).await?;
    store.close().await;
    ensure!(
        counts.values().all(|&n| n == 1),
        "a message is stored twice"
    );
    Ok((
        cursor.and_then(|c| c.parse().ok()).unwrap_or(0),
        counts.len(),
    ))
}

/// Waits until the sync's log has `lines` progress lines (pages committed).
async fn wait_for_pages(log: &std::path::Path, lines: usize) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        if text.lines().filter(|l| l.starts_with('{')).count() >= lines {
            return Ok(());
        }
        ensure!(
            Instant::now() < deadline,
            "no page committed in 120 s: {text}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sync_killed_mid_page_loses_and_doubles_nothing() -> Result<()> {
    let n: usize = env_or("DATAOPTIX_FAULTS_BACKLOG", 12_000);
    let logs = logs_dir("sync_killed")?;
    let data = tempfile::tempdir()?;
    // Meta, which the relay asks before it links the WABA to the device's workspace.
    let meta = Meta::start().await?;
    let mut relay =
        RelayProcess::new(data.path(), testkit::free_port()?, &logs, &[]).with_meta(meta.info());
    relay.start().await?;
    let device =
        CliDevice::owner(&relay.base(), "ana@example.com", WABA, &meta.grant(WABA)).await?;
    let (start, _) = cursor_and_messages(&device).await?;

    let (wamids, bodies) = customer_messages("SYNC", WABA, 0..n);
    let load = MetaSender::new(&relay.base(), 64)?.deliver(bodies).await?;

    // Kill 1: once the first page is committed, part-way into the next ones.
    // Kill 2: a fresh run, shortly after it starts (fetching or applying).
    let mut kills = Vec::new();
    for (run, after_first_page, delay) in [(1, true, 150), (2, false, 400)] {
        let log = logs.join(format!("sync-{run}.log"));
        let mut sync = device.spawn_sync(&log)?;
        if after_first_page {
            wait_for_pages(&log, 1).await?;
        }
        tokio::time::sleep(Duration::from_millis(delay)).await;
        ensure!(
            sync.exit_status()?.is_none(),
            "sync run {run} finished before it could be killed: make the backlog larger"
        );
        sync.kill_now()?;
        let (cursor, messages) = cursor_and_messages(&device).await?;
        ensure!(
            (cursor - start) as usize == messages,
            "after kill {run}: cursor {cursor} (from {start}) but {messages} messages"
        );
        kills.push((cursor - start, messages));
    }

    let progress = device.sync_once().await?;
    let store = device.store().await?;
    let each_once = ensure_each_once(&store, &wamids).await;
    store.close().await;
    let (cursor, _) = cursor_and_messages(&device).await?;
    eprintln!(
        "[sync_killed] backlog of {n} webhooks (ingested at {:.0}/s); after each SIGKILL \
         (events past the start, messages): {kills:?}; the last run applied {} events, cursor \
         {} past the start",
        load.per_second(),
        progress["events"],
        cursor - start
    );
    each_once?;
    ensure!(
        (cursor - start) as usize == n,
        "cursor {cursor} is not {n} events past {start}"
    );
    ensure!(
        kills
            .iter()
            .any(|&(past, _)| past > 0 && (past as usize) < n),
        "no kill landed between pages: {kills:?}"
    );
    relay.stop();
    Ok(())
}
