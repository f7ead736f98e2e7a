//! The relay as a child process (`dataoptix-relay serve`) on a data directory and a fixed
//! port, so that it can be killed and started again on the same directory and address.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context, Result};
use testkit::Guarded;

/// The relay's master key for tests (base64 of 32 bytes of 7).
const ENCRYPTION_KEY: &str = "BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=";
/// How long a start may take before the test fails.
const START_TIMEOUT: Duration = Duration::from_secs(30);

pub struct RelayProcess {
    pub port: u16,
    pub data_dir: PathBuf,
    logs: PathBuf,
    env: Vec<(String, String)>,
    child: Option<Guarded>,
    starts: u32,
}

impl RelayProcess {
    /// A relay (not started yet) on `127.0.0.1:port` with its data in `data_dir`; `settings`
    /// are extra `DATAOPTIX_RELAY_<KEY>` values (without the prefix), e.g. `GRAPH_BASE_URL`.
    pub fn new(data_dir: &Path, port: u16, logs: &Path, settings: &[(&str, &str)]) -> Self {
        let base = format!("http://127.0.0.1:{port}");
        let mut env: Vec<(String, String)> = [
            ("LISTEN", format!("127.0.0.1:{port}")),
            ("PUBLIC_ORIGIN", base),
            ("DATA_DIR", data_dir.display().to_string()),
            ("META_APP_SECRET", crate::APP_SECRET.to_owned()),
            ("META_VERIFY_TOKEN", "faults-verify-token".to_owned()),
            ("ENCRYPTION_KEY", ENCRYPTION_KEY.to_owned()),
            // Cheap password hashing: the tests measure webhooks, not Argon2.
            ("PASSWORD_HASH_MEMORY_KIB", "256".to_owned()),
            ("PASSWORD_HASH_ITERATIONS", "1".to_owned()),
        ]
        .into_iter()
        .map(|(k, v)| (format!("DATAOPTIX_RELAY_{k}"), v))
        .collect();
        for (k, v) in settings {
            env.push((format!("DATAOPTIX_RELAY_{k}"), (*v).to_owned()));
        }
        Self {
            port,
            data_dir: data_dir.to_owned(),
            logs: logs.to_owned(),
            env,
            child: None,
            starts: 0,
        }
    }

    /// Points the relay at `meta` (a simulator): its Graph base URL, version and app id.
    #[must_use]
    pub fn with_meta(mut self, meta: &dataoptix_sim::StartupInfo) -> Self {
        for (k, v) in [
            ("GRAPH_BASE_URL", &meta.base_url),
            ("GRAPH_VERSION", &meta.graph_version),
            ("META_APP_ID", &meta.app_id),
        ] {
            self.env.push((format!("DATAOPTIX_RELAY_{k}"), v.clone()));
        }
        self
    }

    pub fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Starts the binary and waits until `/readyz` answers 200 (its database opened).
    pub async fn start(&mut self) -> Result<()> {
        if self.child.is_some() {
            return Err(anyhow!("the relay is already running"));
        }
        self.starts += 1;
        let mut command = Command::new(crate::binary("dataoptix-relay")?);
        command
            .arg("serve")
            .env_remove("DATAOPTIX_RELAY_CONFIG")
            // One line per webhook at `info` would cost the load generator's cores.
            .env("RUST_LOG", "warn")
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        let log = self.log_path(self.starts);
        let mut child = Guarded::spawn("dataoptix-relay", command, &log)?;
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(2))
            .build()?;
        let ready = format!("{}/readyz", self.base());
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Ok(resp) = http.get(&ready).send().await {
                if resp.status().is_success() {
                    break;
                }
            }
            if let Err(e) = child.ensure_running() {
                return Err(e.context(format!("relay log:\n{}", read(&log))));
            }
            if Instant::now() >= deadline {
                return Err(anyhow!(
                    "the relay was not ready after {START_TIMEOUT:?}; log:\n{}",
                    read(&log)
                ));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        self.child = Some(child);
        Ok(())
    }

    /// `SIGKILL`: no shutdown, no flush — what a crash or a power cut leaves.
    pub fn kill(&mut self) -> Result<()> {
        let mut child = self
            .child
            .take()
            .ok_or_else(|| anyhow!("the relay is not running"))?;
        child.kill_now()
    }

    /// A clean stop (`SIGTERM`, then `SIGKILL` after 3 s).
    pub fn stop(&mut self) {
        self.child = None;
    }

    /// Fails if the relay process died on its own (a crash under a fault).
    pub fn ensure_running(&mut self) -> Result<()> {
        let log = self.log_path(self.starts);
        match &mut self.child {
            Some(child) => child
                .ensure_running()
                .with_context(|| format!("relay log:\n{}", read(&log))),
            None => Err(anyhow!("the relay is not running")),
        }
    }

    /// Every start's log, concatenated.
    pub fn logs(&self) -> String {
        (1..=self.starts)
            .map(|n| read(&self.log_path(n)))
            .collect::<Vec<_>>()
            .join("\n--- restart ---\n")
    }

    fn log_path(&self, start: u32) -> PathBuf {
        self.logs.join(format!("relay-{start}.log"))
    }
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| format!("({}: {e})", path.display()))
}
