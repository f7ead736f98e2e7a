//! A desktop device driven through `dataoptix-cli` (a real process on its own data directory,
//! no keyring: the vault's key comes from `DATAOPTIX_PASSPHRASE`), and its store opened in
//! the test for inspection.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use anyhow::{anyhow, Context, Result};
use dataoptix_core::store::{Store, DB_FILE};
use dataoptix_core::vault::{MemoryStore, PassphraseSource, Vault};
use serde_json::Value;
use testkit::Guarded;
use tokio::io::AsyncWriteExt;

const PASSPHRASE: &str = "a passphrase for the fault tests";

pub struct CliDevice {
    home: tempfile::TempDir,
}

impl CliDevice {
    pub fn new() -> Result<Self> {
        Ok(Self {
            home: tempfile::tempdir()?,
        })
    }

    pub fn data_dir(&self) -> PathBuf {
        self.home.path().join("data")
    }

    /// The CLI with a clean environment: no D-Bus session (so no keyring), the passphrase
    /// from the environment, data in `home/data`.
    pub fn command(&self, args: &[&str]) -> Result<std::process::Command> {
        let home = self.home.path();
        let runtime = home.join("run");
        std::fs::create_dir_all(&runtime)?;
        let mut command = std::process::Command::new(crate::binary("dataoptix-cli")?);
        command
            .args(args)
            .env_clear()
            .env("HOME", home)
            .env("XDG_RUNTIME_DIR", &runtime)
            .env("DATAOPTIX_DATA_DIR", self.data_dir())
            .env("DATAOPTIX_PASSPHRASE", PASSPHRASE);
        Ok(command)
    }

    /// Runs a command to completion; its stdout, or an error with its stderr.
    pub async fn run(&self, args: &[&str], stdin: &[u8]) -> Result<String> {
        let mut command = tokio::process::Command::from(self.command(args)?);
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .context("starting dataoptix-cli")?;
        if let Some(mut input) = child.stdin.take() {
            input.write_all(stdin).await?;
        }
        let out = child.wait_with_output().await?;
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        if !out.status.success() {
            return Err(anyhow!(
                "dataoptix-cli {} failed ({}): {}",
                args.join(" "),
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        Ok(stdout)
    }

    /// A device that registered a workspace at `relay` as `email`, claimed `waba_id` with
    /// `access_token` (its webhooks now reach this workspace) and synced what the relay had.
    pub async fn owner(
        relay: &str,
        email: &str,
        waba_id: &str,
        access_token: &str,
    ) -> Result<Self> {
        let device = Self::new()?;
        device.register(relay, email).await?;
        device.claim_waba(waba_id, access_token).await?;
        device.sync_once().await?;
        Ok(device)
    }

    /// Registers a new workspace at `relay` (this device is the owner's first).
    pub async fn register(&self, relay: &str, email: &str) -> Result<()> {
        let password = format!("{}\n", crate::PASSWORD);
        self.run(
            &[
                "register",
                "--relay",
                relay,
                "--name",
                "Ana Owner",
                "--email",
                email,
                "--company",
                "Panadería Ana",
            ],
            password.as_bytes(),
        )
        .await?;
        Ok(())
    }

    /// The token goes on standard input, never on the command line.
    pub async fn claim_waba(&self, waba_id: &str, access_token: &str) -> Result<()> {
        self.run(&["claim-waba", waba_id], access_token.as_bytes())
            .await?;
        Ok(())
    }

    /// `sync --once`: the last progress line (totals of this run).
    pub async fn sync_once(&self) -> Result<Value> {
        let out = self.run(&["sync", "--once", "--json"], b"").await?;
        let last = out
            .lines()
            .last()
            .ok_or_else(|| anyhow!("sync printed nothing"))?;
        Ok(serde_json::from_str(last)?)
    }

    /// `sync --once --json` as a child process the test may kill; progress lines in `log`.
    pub fn spawn_sync(&self, log: &Path) -> Result<Guarded> {
        Guarded::spawn(
            "dataoptix-cli sync",
            self.command(&["sync", "--once", "--json"])?,
            log,
        )
    }

    /// The device's store, opened the way the CLI opens it.
    pub async fn store(&self) -> Result<Store> {
        let dir = self.data_dir();
        let vault = Vault::open_existing(
            &dir,
            &MemoryStore::new(),
            &PassphraseSource::value(PASSPHRASE),
        )?
        .ok_or_else(|| anyhow!("no vault in {}", dir.display()))?;
        Ok(Store::open(&dir.join(DB_FILE), &vault.store_key()?).await?)
    }
}
