//! `dataoptix-sim --listen 127.0.0.1:PORT --app-secret SECRET --webhook-url URL [--config FILE]`
//!
//! Prints one JSON line on stdout (listen address, ids, access token...) once it accepts
//! connections; logs go to stderr (`RUST_LOG` to tune).

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use clap::Parser;
use dataoptix_sim::{Sim, SimConfig};

#[derive(Debug, Parser)]
#[command(
    name = "dataoptix-sim",
    version,
    about = "A local stand-in for Meta's WhatsApp Cloud API"
)]
struct Args {
    /// Address to listen on (port 0 picks a free port; the line printed at start says which).
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: String,
    /// The Meta app secret: signs webhooks, authenticates the OAuth code exchange.
    #[arg(long, env = "DATAOPTIX_SIM_APP_SECRET")]
    app_secret: Option<String>,
    /// The app's webhook callback URL.
    #[arg(long, env = "DATAOPTIX_SIM_WEBHOOK_URL")]
    webhook_url: Option<String>,
    /// A TOML (.toml) or JSON config file; see crates/sim/README.md.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Override the app id.
    #[arg(long)]
    app_id: Option<String>,
    /// Use this access token for the pre-provisioned number instead of a random one.
    #[arg(long)]
    access_token: Option<String>,
    /// The URL clients reach the simulator at, if not http://<listen>.
    #[arg(long)]
    public_url: Option<String>,
    /// Let the demo personas write to the business unprompted.
    #[arg(long)]
    personas: bool,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let args = Args::parse();
    let mut config = match &args.config {
        Some(path) => SimConfig::from_file(path)?,
        None => SimConfig::default(),
    };
    if let Some(s) = args.app_secret {
        config.app_secret = s;
    }
    if config.app_secret.is_empty() {
        anyhow::bail!("an app secret is required: --app-secret, DATAOPTIX_SIM_APP_SECRET or app_secret in --config");
    }
    if let Some(u) = args.webhook_url {
        config.webhook_url = Some(u);
    }
    if let Some(a) = args.app_id {
        config.app_id = a;
    }
    if let Some(t) = args.access_token {
        config.provision.access_token = Some(t);
    }
    if let Some(u) = args.public_url {
        config.public_url = Some(u);
    }
    if args.personas {
        config.personas.unprompted = true;
    }
    let listener = tokio::net::TcpListener::bind(&args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let sim = Sim::new(config, listener)?;
    let line = serde_json::to_string(&sim.info())?;
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "{line}")?;
        out.flush()?;
    }
    tracing::info!(base_url = %sim.info().base_url, "dataoptix-sim ready");
    sim.serve(shutdown_signal()).await?;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
}
