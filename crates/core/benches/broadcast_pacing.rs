//! Issue #6's measurement: a template broadcast to 5,000 contacts against the simulator with
//! `limits.throughput_mps` set paces itself at ≥ 95% of the configured messages-per-second with
//! zero 130429 errors. A plain binary (`harness = false`): one long run, not a statistic of many
//! short ones. Exits non-zero when either criterion is missed.
//!
//! ```sh
//! cargo bench -p dataoptix-core --bench broadcast_pacing
//! DATAOPTIX_PACING_CONTACTS=1000 DATAOPTIX_PACING_MPS=50 cargo bench -p dataoptix-core --bench broadcast_pacing
//! DATAOPTIX_PACING_LATENCY_MS=100,300 cargo bench -p dataoptix-core --bench broadcast_pacing
//! ```

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../tests/common/mod.rs"]
mod common;

use std::process::ExitCode;

fn setting(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() -> ExitCode {
    let contacts = usize::try_from(setting("DATAOPTIX_PACING_CONTACTS", 5_000)).unwrap();
    let mps = u32::try_from(setting("DATAOPTIX_PACING_MPS", 80)).unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let report = runtime.block_on(async {
        let world = common::SignupWorld::start("cfg-pacing").await;
        let report = common::pacing::measure(&world, contacts, mps).await;
        world.stop().await;
        report
    });
    let ratio = report.ratio();
    println!(
        "broadcast pacing: {} contacts at {} msg/s configured, Meta answering in {:?} ms\n  \
         steady rate      {:.2} msg/s = {:.1}% of configured (criterion >= 95%)\n  \
         max in any 1 s   {} (limit {})\n  \
         130429 refusals  {} (criterion 0); items retried for any error: {}\n  \
         create_broadcast {:.2} s (plan, store, queue every recipient)\n  \
         total            {:.2} s from create to the last accepted send",
        report.recipients,
        report.configured_mps,
        common::pacing::send_latency_ms(),
        report.steady_mps,
        ratio * 100.0,
        report.max_in_any_second,
        report.configured_mps,
        report.rejections_130429,
        report.retried,
        report.create_time.as_secs_f64(),
        report.elapsed.as_secs_f64(),
    );
    // For `scripts/bench.sh`'s summary, beside the store's and the relay's figures.
    let dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::PathBuf::from("target"))
        .join("dataoptix-bench");
    std::fs::create_dir_all(&dir).unwrap();
    let summary = serde_json::json!({
        "recipients": report.recipients,
        "configured_mps": report.configured_mps,
        "send_latency_ms": common::pacing::send_latency_ms(),
        "steady_mps": report.steady_mps,
        "ratio": ratio,
        "max_in_any_second": report.max_in_any_second,
        "rejections_130429": report.rejections_130429,
        "retried": report.retried,
        "create_seconds": report.create_time.as_secs_f64(),
        "total_seconds": report.elapsed.as_secs_f64(),
    });
    std::fs::write(
        dir.join("pacing.json"),
        serde_json::to_string_pretty(&summary).unwrap(),
    )
    .unwrap();
    if ratio >= 0.95 && report.rejections_130429 == 0 {
        ExitCode::SUCCESS
    } else {
        eprintln!("broadcast pacing: criterion missed");
        ExitCode::FAILURE
    }
}
