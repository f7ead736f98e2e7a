//! Fills a signed-in data directory with a generated history, for the app's start-up benchmark
//! over a large store (`scripts/bench-app.py`, issue #5): the desktop app then opens straight
//! into an inbox of `--conversations` conversations holding `--messages` messages.
//!
//! The data directory must belong to a signed-in device (e.g. `dataoptix-cli register`): the
//! vault opens with the OS keyring, as in the app, and the history goes to that session's
//! workspace with a business number, so the inbox (not Connect WhatsApp) is the first screen.
//!
//! ```sh
//! cargo run --release -p dataoptix-core --example fill_history -- \
//!     --data-dir DIR --messages 1000000 --conversations 10000
//! ```

#![allow(clippy::print_stdout)]

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::Parser;
use dataoptix_core::device::Device;
use dataoptix_core::vault::{KeyringStore, PassphraseSource};

#[path = "../benches/support/history.rs"]
mod history;

/// Fills a signed-in DataOptix data directory with a generated history.
#[derive(Debug, Parser)]
struct Args {
    /// The data directory of a signed-in device.
    #[arg(long)]
    data_dir: PathBuf,
    /// How many messages in all.
    #[arg(long, default_value_t = 1_000_000)]
    messages: usize,
    /// Spread over this many conversations (one customer each).
    #[arg(long, default_value_t = 10_000)]
    conversations: usize,
}

const PHONE_NUMBER_ID: &str = "109876543210";
const WABA_ID: &str = "102290129340398";

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("fill_history: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: &Args) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let vault = Device::unlock(
        &args.data_dir,
        &KeyringStore::default(),
        &PassphraseSource::from_env_value(None),
    )?;
    let device = Device::open_with(vault, "fill_history").await?;
    let account = device
        .account()
        .await?
        .ok_or("the data directory has no signed-in session: register or sign in first")?;
    let started = Instant::now();
    let target = history::Target {
        workspace_id: &account.workspace_id,
        phone_number_id: PHONE_NUMBER_ID,
        waba_id: WABA_ID,
    };
    let step = (args.conversations / 10).max(1);
    history::fill(
        device.store(),
        &target,
        args.messages,
        args.conversations,
        |done| {
            if done % step == 0 {
                println!(
                    "  {done} of {} conversations ({:.0} s)",
                    args.conversations,
                    started.elapsed().as_secs_f64()
                );
            }
        },
    )
    .await?;
    // Checkpoints the WAL, so that the app starts over a compact database file.
    device.store().clone().close().await;
    println!(
        "filled {} messages in {} conversations in {:.1} s",
        args.messages,
        args.conversations,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
