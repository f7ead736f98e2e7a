//! `dataoptix-core`: the DataOptix desktop app's brain, with no Tauri in it.
//!
//! The desktop shell (`src-tauri/`) and the headless `dataoptix-cli` both sit on top of this
//! crate, so everything here builds and tests without GTK or a window.
//!
//! This first increment holds the two foundations everything else needs:
//! - [`vault`]: where secrets live. A 256-bit master key in the OS keyring (or, when no keyring
//!   is reachable, derived from a passphrase with Argon2id), and every other secret — tokens,
//!   the device key pair, the workspace key, the database key — sealed with AES-256-GCM under it.
//! - [`store`]: the local message store, SQLite through sqlx, encrypted with SQLCipher under a
//!   raw key from the vault, with FTS5 search and keyset pagination.
//!
//! Typical start-up:
//! ```no_run
//! # async fn start(data_dir: &std::path::Path) -> Result<(), Box<dyn std::error::Error>> {
//! use dataoptix_core::{store::Store, vault::{KeyringStore, Vault}};
//! let vault = Vault::open(data_dir, &KeyringStore::default(), &|| None)?;
//! let store = Store::open(&data_dir.join("dataoptix.db"), &vault.store_key()?).await?;
//! # let _ = store; Ok(()) }
//! ```

pub mod store;
pub mod vault;
