//! `dataoptix-sim`: a faithful local stand-in for Meta's WhatsApp Cloud API (Graph endpoints
//! under `/{version}/...`, webhooks signed with the app secret, media, templates and their
//! review, Embedded Signup and the OAuth code exchange), with simulated customers and a
//! control API under `/_sim/` for tests and the demo. See `crates/sim/README.md`.
//!
//! In-process use (tests of other crates):
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! let sim = dataoptix_sim::spawn(dataoptix_sim::SimConfig::for_tests("app-secret")).await?;
//! println!("{} {}", sim.info.base_url, sim.info.access_token);
//! # Ok(()) }
//! ```

pub mod assets;
pub mod config;
pub mod control;
pub mod error;
pub mod ids;
pub mod inbound;
pub mod personas;
pub mod review;
pub mod routes;
pub mod rules;
pub mod signup;
pub mod state;
pub mod statuses;
pub mod webhooks;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::routing::{any, get};
use axum::Router;
use serde::{Deserialize, Serialize};
use tokio::net::TcpListener;
use tokio::sync::{oneshot, watch};
use tower_http::cors::CorsLayer;

pub use config::SimConfig;
pub use state::{AppState, SimState};

/// What the binary prints as its one JSON line at start, and what `spawn` returns.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct StartupInfo {
    /// The actual listen address (`127.0.0.1:PORT`).
    pub listen: String,
    /// `http://127.0.0.1:PORT` (or `public_url`): the Graph base URL and the control API's.
    pub base_url: String,
    pub graph_version: String,
    pub app_id: String,
    pub business_id: String,
    pub waba_id: String,
    pub phone_number_id: String,
    pub display_phone_number: String,
    pub verified_name: String,
    /// Valid for the pre-provisioned WABA and number.
    pub access_token: String,
    pub webhook_url: Option<String>,
    /// The Facebook JS SDK stand-in for Embedded Signup.
    pub sdk_url: String,
    pub control_url: String,
}

/// The whole HTTP surface.
pub fn app(state: AppState) -> Router {
    let sdk_path = state.config.read().signup.sdk_path.clone();
    let sdk_path = if sdk_path.starts_with('/') {
        sdk_path
    } else {
        format!("/{sdk_path}")
    };
    Router::new()
        .nest("/_sim", control::router())
        .route(&sdk_path, get(signup::sdk))
        .route(
            "/whatsapp_business/attachments/",
            get(routes::media::download),
        )
        .route(
            "/whatsapp_business/attachments",
            get(routes::media::download),
        )
        .route("/{version}/{*rest}", any(routes::graph))
        .layer(DefaultBodyLimit::max(routes::MAX_BODY))
        .layer(CorsLayer::permissive())
        .with_state(state)
}

fn base_url(config: &SimConfig, addr: SocketAddr) -> String {
    if let Some(u) = &config.public_url {
        return u.trim_end_matches('/').to_string();
    }
    let ip = if addr.ip().is_unspecified() {
        "127.0.0.1".to_string()
    } else if addr.is_ipv6() {
        format!("[{}]", addr.ip())
    } else {
        addr.ip().to_string()
    };
    format!("http://{ip}:{}", addr.port())
}

/// A simulator bound to a listener, not yet serving.
pub struct Sim {
    pub state: AppState,
    listener: TcpListener,
    shutdown_tx: watch::Sender<bool>,
}

impl Sim {
    pub fn new(config: SimConfig, listener: TcpListener) -> std::io::Result<Self> {
        let addr = listener.local_addr()?;
        let (shutdown_tx, shutdown_rx) = watch::channel(false);
        let base = base_url(&config, addr);
        let state = Arc::new(SimState::new(config, base, shutdown_rx));
        Ok(Self {
            state,
            listener,
            shutdown_tx,
        })
    }

    pub fn info(&self) -> StartupInfo {
        control::startup_info_typed(&self.state)
    }

    /// Serves until `shutdown` completes; background tasks (webhook queues, status timers,
    /// personas) stop with it.
    pub async fn serve(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let state = self.state.clone();
        personas::spawn_unprompted(state.clone());
        let tx = self.shutdown_tx;
        let result = axum::serve(self.listener, app(state))
            .with_graceful_shutdown(async move {
                shutdown.await;
                let _ = tx.send(true);
            })
            .await;
        result
    }
}

/// Runs the simulator on `listener` until `shutdown` completes.
pub async fn run(
    config: SimConfig,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    Sim::new(config, listener)?.serve(shutdown).await
}

/// A simulator running in the background of the current tokio runtime; stops when dropped.
pub struct RunningSim {
    pub info: StartupInfo,
    pub state: AppState,
    stop: Option<oneshot::Sender<()>>,
}

impl RunningSim {
    /// `{base_url}/_sim{path}`.
    pub fn control_url(&self, path: &str) -> String {
        format!("{}/_sim{}", self.info.base_url, path)
    }

    /// A new system-user token that grants `waba_ids` (as `POST /_sim/tokens`), for a test
    /// that plays a business bringing its own token (manual setup).
    pub fn grant(&self, waba_ids: &[&str]) -> String {
        let now = self.state.clock.now_secs();
        self.state.world.lock().mint_token(
            waba_ids.iter().map(|w| (*w).to_owned()).collect(),
            "SYSTEM_USER",
            now,
        )
    }

    pub fn stop(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
    }
}

impl Drop for RunningSim {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
    }
}

/// Starts a simulator on `127.0.0.1:0` in the background.
pub async fn spawn(config: SimConfig) -> std::io::Result<RunningSim> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let sim = Sim::new(config, listener)?;
    let info = sim.info();
    let state = sim.state.clone();
    let (tx, rx) = oneshot::channel::<()>();
    tokio::spawn(async move {
        if let Err(e) = sim
            .serve(async move {
                let _ = rx.await;
            })
            .await
        {
            tracing::error!(error = %e, "simulator stopped");
        }
    });
    Ok(RunningSim {
        info,
        state,
        stop: Some(tx),
    })
}
