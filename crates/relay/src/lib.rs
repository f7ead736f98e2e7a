//! `dataoptix-relay`: the provider's companion server. Meta's webhooks land here, are sealed
//! to their workspace's key and written durably; staff devices read them back, append their
//! own sealed events, and manage their sessions.
//!
//! Layout: [`app`] builds the router over an [`AppState`]; [`run`] serves it on a listener
//! until a shutdown future resolves; `main.rs` only parses the command line.

pub mod accounts;
pub mod auth;
pub mod config;
pub mod deletion;
pub mod error;
pub mod events;
pub mod invitations;
pub mod media;
pub mod members;
pub mod metrics;
pub mod onboarding;
pub mod owners;
pub mod sealing;
pub mod store;
pub mod timing;
pub mod wabas;
pub mod wakeups;
pub mod webhooks;

use std::future::Future;
use std::net::SocketAddr;
use std::ops::Deref;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{DefaultBodyLimit, State};
use axum::http::{Request, StatusCode};
use axum::routing::{delete, get, patch, post};
use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::trace::TraceLayer;

pub use config::Config;

use crate::auth::SignInLimiter;
use crate::sealing::RelayKeys;
use crate::store::{PrunePolicy, SqliteStore, Store};
use crate::webhooks::commit::Committer;

/// How often retention runs.
const PRUNE_EVERY: Duration = Duration::from_secs(10 * 60);

/// Everything handlers share. Cheap to clone.
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

pub struct Inner {
    pub config: Config,
    pub store: Arc<dyn Store>,
    pub keys: RelayKeys,
    pub committer: Committer,
    pub limiter: SignInLimiter,
    /// Per-workspace wake-ups after commits that appended events; long-polls and streams wait.
    pub wakeups: Arc<wakeups::Wakeups>,
    /// Turns true when the relay is shutting down: long-polls and streams return.
    pub shutdown: watch::Receiver<bool>,
    pub metrics: Arc<metrics::Metrics>,
    /// Argon2id hash of a password nobody knows, for sign-ins with an unknown email.
    pub dummy_hash: String,
    /// The Graph API (`graph_base_url`, `graph_version`), without a token: onboarding adds
    /// the one each call needs.
    pub graph: cloud_api::client::CloudApiClient,
    /// Wakes the inbound-media worker.
    pub media_queue: Arc<media::MediaQueue>,
    /// Data keys webhook entries are sealed with (v2 envelopes), one per workspace key.
    pub data_keys: sealing::DataKeys,
    /// WABA → owning workspace, remembered for seconds (checked again in the commit).
    pub owners: owners::OwnerCache,
}

impl Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl AppState {
    /// Wakes the workspace's long-polls and streams (after writes that bypass the group
    /// commit).
    pub fn notify_events(&self, workspace: uuid::Uuid) {
        self.wakeups.wake(workspace);
    }
}

/// A relay with its background tasks (group-commit writer, retention), before serving.
pub struct Relay {
    state: AppState,
    store: SqliteStore,
    shutdown: watch::Sender<bool>,
    writer: tokio::task::JoinHandle<()>,
    pruner: tokio::task::JoinHandle<()>,
    media_worker: tokio::task::JoinHandle<()>,
}

impl Relay {
    /// Opens the data directory (creating it), runs migrations and starts the writer.
    pub async fn open(config: Config) -> anyhow::Result<Self> {
        std::fs::create_dir_all(&config.data_dir).map_err(|e| {
            anyhow::anyhow!("cannot create data dir {}: {e}", config.data_dir.display())
        })?;
        let keys = RelayKeys::derive(&config.encryption_key);
        let store = SqliteStore::open(&config.data_dir, keys.held_secret()).await?;
        let shared: Arc<dyn Store> = Arc::new(store.clone());
        let wakeups = Arc::new(wakeups::Wakeups::default());
        let media_queue = Arc::new(media::MediaQueue::default());
        {
            // Readers woken by a commit wait for its index rows only so long: wake them (and
            // the media worker) again once the rows are there.
            let (wakeups, media_queue) = (wakeups.clone(), media_queue.clone());
            store.on_indexed(move |workspaces, media| {
                for ws in workspaces {
                    wakeups.wake(*ws);
                }
                if media {
                    media_queue.wake();
                }
            });
        }
        let (shutdown_tx, shutdown_rx) = watch::channel(false);
        let metrics = Arc::new(metrics::Metrics::default());
        let (committer, writer) = Committer::start(
            shared.clone(),
            wakeups.clone(),
            shutdown_rx.clone(),
            metrics.clone(),
        );
        let graph = cloud_api::client::CloudApiClient::new(cloud_api::client::ClientConfig {
            base_url: config.graph_base_url.clone(),
            graph_version: config.graph_version.clone(),
            ..cloud_api::client::ClientConfig::default()
        })
        .map_err(|e| anyhow::anyhow!("graph_base_url / graph_version: {e}"))?;
        let cost = config.password_hashing;
        let dummy_hash = tokio::task::spawn_blocking(move || {
            auth::hash_password("no one's password, only for timing", cost)
        })
        .await??;
        let state = AppState(Arc::new(Inner {
            config,
            store: shared,
            keys,
            committer,
            limiter: SignInLimiter::default(),
            metrics,
            wakeups,
            shutdown: shutdown_rx,
            dummy_hash,
            graph,
            media_queue,
            data_keys: sealing::DataKeys::default(),
            owners: owners::OwnerCache::default(),
        }));
        let pruner = tokio::spawn(prune_loop(state.clone()));
        let media_worker = tokio::spawn(media::worker(state.clone()));
        Ok(Self {
            state,
            store,
            shutdown: shutdown_tx,
            writer,
            pruner,
            media_worker,
        })
    }

    pub fn state(&self) -> AppState {
        self.state.clone()
    }

    /// The first step of stopping, as `run` takes it before the graceful shutdown: long-polls
    /// and streams return at once (so open connections do not hold the server up) and the
    /// writer commits what is queued, then takes nothing new.
    pub fn begin_shutdown(&self) {
        let _ = self.shutdown.send(true);
    }

    /// Stops: long-polls return, the writer commits what is queued, the database closes.
    pub async fn close(self) -> anyhow::Result<()> {
        let _ = self.shutdown.send(true);
        drop(self.state);
        self.pruner.await?;
        self.media_worker.await?;
        self.writer.await?;
        self.store.close().await;
        Ok(())
    }
}

/// For an operator: the signed webhook bodies that were not an envelope, with `encrypted`
/// replaced by the decrypted body. Used by `dataoptix-relay inspect-invalid`.
pub async fn inspect_invalid_bodies(config: &Config) -> anyhow::Result<Vec<store::InvalidBody>> {
    let keys = RelayKeys::derive(&config.encryption_key);
    let store = SqliteStore::open(&config.data_dir, keys.held_secret()).await?;
    let rows = store.invalid_bodies().await?;
    store.close().await;
    rows.into_iter()
        .map(|row| {
            let body = keys.decrypt_inspection(&row.encrypted).map_err(|e| {
                anyhow::anyhow!("body {}: {e} (was the encryption key changed?)", row.id)
            })?;
            Ok(store::InvalidBody {
                encrypted: body,
                ..row
            })
        })
        .collect()
}

async fn prune_loop(state: AppState) {
    let store = state.store.clone();
    let retention = state.config.retention();
    let wakeups = state.wakeups.clone();
    let mut shutdown = state.shutdown.clone();
    let mut tick = tokio::time::interval(PRUNE_EVERY);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stopping(&mut shutdown) => return,
        }
        let policy = PrunePolicy {
            now: time::OffsetDateTime::now_utc(),
            retention,
        };
        match store.prune(policy).await {
            Ok(r) if r.events_removed > 0 => {
                tracing::info!(removed = r.events_removed, "retention pruned events");
                // Waiting readers may now need `resync_required`.
                wakeups.wake_all();
            }
            Ok(_) => {}
            Err(e) => tracing::error!(error = %e, "retention failed"),
        }
        media::prune(&state, policy.now - retention).await;
        state.data_keys.drop_expired();
    }
}

/// Resolves once the relay is shutting down (or its shutdown sender is gone).
pub(crate) async fn stopping(rx: &mut watch::Receiver<bool>) {
    // The guard `wait_for` returns is not `Send`; drop it here, inside.
    let _ = rx.wait_for(|s| *s).await.map(|_| ());
}

/// `GET /v1/config` (any signed-in device): the Graph API devices send through — the relay's
/// own setting, so a workspace is pointed at Meta (or the simulator) in one place.
async fn device_config(
    State(state): State<AppState>,
    _auth: auth::Auth,
) -> error::Json<protocol::config::DeviceConfig> {
    error::Json(protocol::config::DeviceConfig {
        graph_base_url: state.config.graph_base_url.clone(),
        graph_version: state.config.graph_version.clone(),
        app_id: state.config.meta_app_id.clone(),
    })
}

async fn healthz() -> &'static str {
    "ok"
}

async fn readyz(State(state): State<AppState>) -> StatusCode {
    match state.store.ping().await {
        Ok(()) => StatusCode::OK,
        Err(e) => {
            tracing::error!(error = %e, "not ready: the store is unreachable or its event index stalled");
            StatusCode::SERVICE_UNAVAILABLE
        }
    }
}

/// The relay's routes. Every `/v1` route except registration, sign-in and accepting an
/// invitation (authenticated by its accept token) requires a device
/// session (the [`auth::Auth`] extractor); the webhook authenticates by signature.
pub fn app(state: AppState) -> Router {
    let webhook = Router::new()
        .route(
            "/webhooks/meta",
            get(webhooks::verify::handshake).post(webhooks::ingest::receive),
        )
        // Meta sends up to 3 MB: lift axum's 2 MB default on this route only, and refuse
        // larger bodies (413) while streaming, before they are buffered.
        .layer(DefaultBodyLimit::max(webhooks::MAX_WEBHOOK_BODY))
        .layer(RequestBodyLimitLayer::new(webhooks::MAX_WEBHOOK_BODY));

    let device = Router::new()
        .route("/v1/accounts", post(accounts::register))
        .route("/v1/accounts/current", delete(accounts::delete_account))
        .route(
            "/v1/sessions",
            post(accounts::sign_in).get(accounts::list_sessions),
        )
        .route("/v1/sessions/{id}", delete(accounts::revoke_session))
        .route(
            "/v1/invitations",
            post(invitations::create).get(invitations::list),
        )
        .route("/v1/invitations/{id}", delete(invitations::revoke))
        .route("/v1/invitations/{id}/accept", post(invitations::accept))
        .route("/v1/members", get(members::list))
        .route(
            "/v1/members/{id}",
            patch(members::change_role).delete(members::remove),
        )
        .route("/v1/config", get(device_config))
        .route("/v1/wabas", post(wabas::claim).get(wabas::list))
        .route("/v1/events", get(events::list).post(events::append))
        .route("/v1/events/ack", post(events::ack))
        .route("/v1/events/stream", get(events::stream))
        .route("/v1/media/{media_id}", get(media::download))
        .route("/v1/onboarding", post(onboarding::create))
        .route("/v1/onboarding/{id}", get(onboarding::result))
        .layer(DefaultBodyLimit::max(2 * events::MAX_SEALED_BYTES));

    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics::render))
        // Meta's data-deletion callback: authenticated by the signed_request, not a session.
        .route("/meta/data-deletion", post(deletion::callback))
        .route("/meta/data-deletion/{code}", get(deletion::status))
        // The Embedded Signup page and its report: the unguessable session id is the credential.
        .route("/onboarding/{id}", get(onboarding::page))
        .route("/onboarding/{id}/complete", post(onboarding::complete))
        .merge(device)
        .layer(
            // Span with method and path only: bodies, headers (session tokens) and query
            // strings are never logged.
            TraceLayer::new_for_http().make_span_with(|req: &Request<_>| {
                let path = loggable_path(req.uri().path());
                tracing::info_span!("http", method = %req.method(), path = %path)
            }),
        )
        // Merged after the trace layer, so outside it: Meta's webhooks come thousands a
        // second, and a span each (its fields formatted when made) cost the ingest what
        // mimalloc had gained (BENCHMARKS.md, relay round 11). `webhooks::ingest::receive`
        // logs what is refused or fails, and `/metrics` counts every outcome.
        .merge(webhook)
        .with_state(state)
}

/// Which logs the relay writes: `RUST_LOG` if set, else `info` (no line per stored webhook:
/// `/metrics` counts them; refused and failed ones are logged). `main.rs` and the ingest
/// bench both use it, so that the bench pays for the spans production makes.
pub fn log_filter() -> tracing_subscriber::EnvFilter {
    tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"))
}

/// The path as logged: onboarding session ids are credentials, so they are replaced.
fn loggable_path(path: &str) -> std::borrow::Cow<'_, str> {
    for prefix in ["/onboarding/", "/v1/onboarding/"] {
        if let Some(rest) = path.strip_prefix(prefix) {
            let tail = rest.find('/').map_or("", |i| &rest[i..]);
            return format!("{prefix}<session>{tail}").into();
        }
    }
    path.into()
}

/// Serves the relay on `listener` until `shutdown` resolves, then stops accepting, lets
/// in-flight requests finish (the group commit included) and closes the database. With
/// `config.tls` it speaks HTTPS (rustls) itself; otherwise plain HTTP for a reverse proxy.
pub async fn run(
    config: Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    // Read the certificate before opening anything: a bad path or PEM stops start-up here.
    let tls = match &config.tls {
        Some(files) => Some(tls_config(files).await?),
        None => None,
    };
    let relay = Relay::open(config).await?;
    let router = app(relay.state());
    let stop = relay.shutdown.clone();
    let addr = listener.local_addr()?;
    let service = router.into_make_service_with_connect_info::<SocketAddr>();
    match tls {
        None => {
            tracing::info!(%addr, "relay listening (HTTP; TLS is the reverse proxy's)");
            axum::serve(listener, service)
                .with_graceful_shutdown(async move {
                    shutdown.await;
                    // Release long-polls and streams so the graceful shutdown does not wait
                    // on them.
                    let _ = stop.send(true);
                })
                .await?;
        }
        Some(tls) => {
            tracing::info!(%addr, "relay listening (HTTPS)");
            let handle = axum_server::Handle::new();
            let stopper = handle.clone();
            tokio::spawn(async move {
                shutdown.await;
                let _ = stop.send(true);
                stopper.graceful_shutdown(Some(GRACEFUL_TLS_SHUTDOWN));
            });
            axum_server::from_tcp_rustls(listener.into_std()?, tls)
                .handle(handle)
                .serve(service)
                .await?;
        }
    }
    relay.close().await
}

/// Longest an HTTPS connection may keep the relay from stopping once asked to.
const GRACEFUL_TLS_SHUTDOWN: Duration = Duration::from_secs(10);

/// The rustls configuration from the PEM files, with a clear error naming the bad one.
pub async fn tls_config(
    files: &config::TlsFiles,
) -> anyhow::Result<axum_server::tls_rustls::RustlsConfig> {
    // One process-wide provider: ring, already used by the HTTP client. Installing twice is
    // harmless (the second call reports the first).
    let _ = rustls::crypto::ring::default_provider().install_default();
    axum_server::tls_rustls::RustlsConfig::from_pem_file(&files.cert, &files.key)
        .await
        .map_err(|e| {
            anyhow::anyhow!(
                "TLS: cannot use certificate {} with key {}: {e}",
                files.cert.display(),
                files.key.display()
            )
        })
}

#[cfg(test)]
mod tests {
    use super::loggable_path;

    #[test]
    fn onboarding_session_ids_are_not_logged() {
        assert_eq!(loggable_path("/onboarding/abc"), "/onboarding/<session>");
        assert_eq!(
            loggable_path("/onboarding/abc/complete"),
            "/onboarding/<session>/complete"
        );
        assert_eq!(
            loggable_path("/v1/onboarding/abc"),
            "/v1/onboarding/<session>"
        );
        assert_eq!(loggable_path("/v1/events"), "/v1/events");
    }
}
