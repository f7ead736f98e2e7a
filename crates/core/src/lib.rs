//! `dataoptix-core`: the DataOptix desktop app's brain, with no Tauri in it.
//!
//! The desktop shell (`src-tauri/`) and the headless `dataoptix-cli` (this package's binary,
//! `src/bin/dataoptix-cli.rs`; usage in README.md) both sit on top of this crate, so everything
//! here builds and tests without GTK or a window. The tests that need a real process
//! environment (a private D-Bus session and keyring, or none) drive that binary.
//!
//! So far it holds the two foundations everything else needs, and sync on top of them:
//! - [`vault`]: where secrets live. A 256-bit master key in the OS keyring (or, when no keyring
//!   is reachable, derived from a passphrase with Argon2id), and every other secret — tokens,
//!   the device key pair, the workspace key, the database key — sealed with AES-256-GCM under it.
//! - [`store`]: the local message store, SQLite through sqlx, encrypted with SQLCipher under a
//!   raw key from the vault, with FTS5 search and keyset pagination.
//! - [`sync`]: the relay's sealed event log applied to the store, one transaction per page,
//!   acknowledged only after the commit, including template, account and preference webhooks.
//! - [`templates`]: lint, preview and send objects for message templates, kept in step with
//!   Graph.
//! - [`privacy`]: the hash-chained activity log, retention, export and erasure.
//! - [`media`]: inbound media downloaded in the background (relay first, Meta as fallback),
//!   checked, and kept encrypted on disk.
//!
//! Typical start-up:
//! ```no_run
//! # async fn start(data_dir: &std::path::Path) -> Result<(), Box<dyn std::error::Error>> {
//! use dataoptix_core::{store::{Store, DB_FILE}, vault::{KeyringStore, PassphraseSource, Vault}};
//! // The program reads DATAOPTIX_PASSPHRASE (and may add a prompt); the library never does.
//! let passphrase = PassphraseSource::from_env_value(std::env::var("DATAOPTIX_PASSPHRASE").ok());
//! let vault = Vault::open(data_dir, &KeyringStore::default(), &passphrase)?;
//! let store = Store::open(&data_dir.join(DB_FILE), &vault.store_key()?).await?;
//! # let _ = store; Ok(()) }
//! ```

pub mod broadcast;
pub mod device;
pub mod media;
pub mod privacy;
pub mod send;
pub mod store;
pub mod sync;
pub mod team;
pub mod templates;
pub mod vault;
