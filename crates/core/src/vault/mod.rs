//! The vault: every secret of the desktop app, encrypted at rest.
//!
//! Why this shape (DESIGN.md "Secrets like Yaak / Atuin Desktop", PRODUCT.md "Security
//! promises"):
//! - Only **one** secret, the 256-bit master key, goes to the OS keyring (Secret Service,
//!   Keychain, Credential Manager) through a [`SecretStore`]. Keyrings are slow, size-limited and
//!   differ per platform; one small entry works everywhere.
//! - Every other secret (access tokens, the device key pair, the workspace key, the database key)
//!   is a **record**: sealed with AES-256-GCM under the master key in a versioned envelope
//!   (`v1 | nonce(12) | ciphertext+tag`, see [`envelope`]) with a fresh random nonce and the
//!   record's name as AAD, so a sealed token cannot be swapped in for another record. Records are
//!   files under `<data dir>/vault/`.
//! - When no keyring is reachable (no D-Bus session on Linux, a locked keyring, a headless
//!   server), the master key is derived from a passphrase with Argon2id instead
//!   ([`passphrase`]): the salt, the parameters and a verifier are stored, never the key. A wrong
//!   passphrase is reported as such, not as corrupt data. The passphrase reaches the vault
//!   through a [`PassphraseSource`] (the program's `DATAOPTIX_PASSPHRASE` value, else its
//!   prompt): this library never reads the process environment.
//! - Key material is zeroized when dropped, and nothing secret is logged or shown in `Debug`.

pub mod envelope;
pub mod passphrase;
mod secret_store;
mod vault_impl;

pub use envelope::{MasterKey, ENVELOPE_VERSION};
pub use passphrase::KdfParams;
pub use secret_store::{KeyringStore, MemoryStore, SecretStore, KEYRING_SERVICE};
pub use vault_impl::{
    KeySource, PassphrasePrompt, PassphrasePurpose, PassphraseSource, Vault, VaultInfo, META_FILE,
    PASSPHRASE_ENV, STORE_KEY_RECORD,
};

/// Everything that can go wrong with secrets, each with what the user can do about it.
#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    /// No OS keyring could be reached at all.
    #[error(
        "no OS keyring is reachable ({detail}). On Linux a Secret Service (gnome-keyring, \
         KeePassXC) must run on the D-Bus session bus named by DBUS_SESSION_BUS_ADDRESS; start \
         your desktop session's keyring, or set DATAOPTIX_PASSPHRASE to protect the data with a \
         passphrase instead"
    )]
    KeyringUnavailable {
        /// The platform's own error text.
        detail: String,
    },
    /// The keyring exists but refused access (typically: locked).
    #[error(
        "the OS keyring is locked or refused access ({detail}); unlock it (log in to your \
         desktop session, or unlock the \"login\" keyring) and try again, or set \
         DATAOPTIX_PASSPHRASE to use a passphrase instead"
    )]
    NoStorageAccess {
        /// The platform's own error text.
        detail: String,
    },
    /// Any other keyring failure.
    #[error("the OS keyring failed: {0}")]
    Keyring(String),
    /// The data directory was set up with the OS keyring, which is not reachable now.
    #[error(
        "this data directory keeps its key in the OS keyring, which is not available now: {0}"
    )]
    KeyringRequired(Box<VaultError>),
    /// The keyring entry holding the master key disappeared although the vault exists.
    #[error(
        "the master key of this data directory is missing from the OS keyring (entry \
         {entry:?}); without it the sealed secrets and the database cannot be read. Restore the \
         keyring, or erase the data directory and set up again"
    )]
    MasterKeyMissing {
        /// The keyring entry that was looked up.
        entry: String,
    },
    /// A passphrase is needed and none was given.
    #[error(
        "no OS keyring is available, so a passphrase protects this data: set \
         DATAOPTIX_PASSPHRASE or enter it when asked. Cause: {cause}"
    )]
    PassphraseRequired {
        /// Why the keyring could not be used.
        cause: String,
    },
    /// The passphrase does not match the one the vault was created with.
    #[error("wrong passphrase: it does not unlock this data directory; try again")]
    WrongPassphrase,
    /// A sealed record failed authentication: tampered, truncated, or sealed for another name.
    #[error(
        "the sealed record {record:?} cannot be opened: it was altered, truncated or belongs \
         to another record"
    )]
    Tampered {
        /// The record name.
        record: String,
    },
    /// An envelope of a version this build does not know.
    #[error(
        "the sealed record {record:?} has format version {version}, which this version of \
         DataOptix does not know; update the app"
    )]
    UnknownVersion {
        /// The record name.
        record: String,
        /// The version byte found.
        version: u8,
    },
    /// A record name outside `[a-z0-9._-]`.
    #[error("invalid record name {0:?}: use lowercase letters, digits, '.', '_' and '-'")]
    InvalidName(String),
    /// A stored key had the wrong length.
    #[error("the stored key {0:?} is malformed (wrong length); the vault is damaged")]
    MalformedKey(String),
    /// Key derivation failed (bad parameters).
    #[error("passphrase key derivation failed: {0}")]
    Kdf(String),
    /// The vault's metadata file is unreadable.
    #[error("the vault metadata {path} is damaged: {detail}")]
    Metadata {
        /// The file.
        path: String,
        /// What is wrong.
        detail: String,
    },
    /// File system errors on the data directory.
    #[error("vault file error at {path}: {source}")]
    Io {
        /// The file or directory.
        path: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

impl VaultError {
    pub(crate) fn io(path: &std::path::Path, source: std::io::Error) -> Self {
        Self::Io {
            path: path.display().to_string(),
            source,
        }
    }

    /// Whether this error means "there is no usable keyring here", so that the passphrase
    /// fallback applies.
    pub fn is_keyring_unavailable(&self) -> bool {
        matches!(
            self,
            Self::KeyringUnavailable { .. } | Self::NoStorageAccess { .. }
        )
    }
}
