//! `dataoptix-relay serve --config relay.toml` | `dataoptix-relay check-config --config ...`

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use relay::Config;

#[derive(Parser)]
#[command(
    name = "dataoptix-relay",
    version,
    about = "The DataOptix companion relay"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve until SIGINT/SIGTERM.
    Serve {
        /// TOML settings; every key can also come from DATAOPTIX_RELAY_<KEY>.
        #[arg(long, env = "DATAOPTIX_RELAY_CONFIG")]
        config: Option<PathBuf>,
    },
    /// Validate the settings (file + environment) and exit.
    CheckConfig {
        #[arg(long, env = "DATAOPTIX_RELAY_CONFIG")]
        config: Option<PathBuf>,
    },
    /// Print the signed webhook bodies that were not valid JSON envelopes (kept encrypted).
    InspectInvalid {
        #[arg(long, env = "DATAOPTIX_RELAY_CONFIG")]
        config: Option<PathBuf>,
    },
}

/// Rust's allocations go through mimalloc: glibc's malloc and free took ~11 % of the CPU of
/// the webhook ingest (`perf`), and under mimalloc the ingest bench ran 3–10 % faster
/// (BENCHMARKS.md, relay round 11). SQLite keeps its own allocator.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

enum Action {
    Serve,
    Check,
    Inspect,
}

fn main() -> ExitCode {
    // Logs go to stderr (stdout is for command output), coloured only on a terminal.
    tracing_subscriber::fmt()
        .with_env_filter(relay::log_filter())
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let cli = Cli::parse();
    let (path, action) = match cli.command {
        Command::Serve { config } => (config, Action::Serve),
        Command::CheckConfig { config } => (config, Action::Check),
        Command::InspectInvalid { config } => (config, Action::Inspect),
    };
    let config = match Config::load(path.as_deref()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("dataoptix-relay: {e}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("dataoptix-relay: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    if let Action::Check = action {
        if let Some(files) = &config.tls {
            if let Err(e) = runtime.block_on(relay::tls_config(files)) {
                eprintln!("dataoptix-relay: {e:#}");
                return ExitCode::from(2);
            }
        }
        println!(
            "configuration OK: listen {} ({}), data dir {}, retention {} days",
            config.listen,
            if config.tls.is_some() {
                "HTTPS"
            } else {
                "HTTP behind a TLS proxy"
            },
            config.data_dir.display(),
            config.retention_days
        );
        return ExitCode::SUCCESS;
    }
    if let Action::Inspect = action {
        return match runtime.block_on(relay::inspect_invalid_bodies(&config)) {
            Ok(bodies) => {
                for b in bodies {
                    println!(
                        "--- #{} received {}, {} bytes",
                        b.id,
                        b.received_at,
                        b.encrypted.len()
                    );
                    println!("{}", String::from_utf8_lossy(&b.encrypted));
                }
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("dataoptix-relay: {e:#}");
                ExitCode::FAILURE
            }
        };
    }
    match runtime.block_on(serve_until_signal(config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("dataoptix-relay: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn serve_until_signal(config: Config) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", config.listen))?;
    relay::run(config, listener, shutdown_signal()).await
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
    tracing::info!("shutting down");
}
