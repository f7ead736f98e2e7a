//! [`Vault`]: the master key (from the keyring or a passphrase) and the sealed records under it.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::passphrase::{self, KdfParams, PassphraseHeader};
use super::{MasterKey, SecretStore, VaultError};

/// The environment variable holding the passphrase when no keyring is available.
pub const PASSPHRASE_ENV: &str = "DATAOPTIX_PASSPHRASE";
const META_FILE: &str = "vault.json";
const RECORDS_DIR: &str = "vault";
const STORE_KEY_RECORD: &str = "store-key";

/// Where this data directory's master key comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KeySource {
    /// The OS keyring holds it.
    Keyring,
    /// It is derived from a passphrase with Argon2id.
    Passphrase,
}

#[derive(Debug, Serialize, Deserialize)]
struct Meta {
    version: u32,
    /// Makes the keyring entry unique per data directory.
    id: String,
    source: KeySource,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    passphrase: Option<PassphraseHeader>,
}

/// The unlocked vault of one data directory.
pub struct Vault {
    key: MasterKey,
    dir: PathBuf,
    source: KeySource,
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vault")
            .field("dir", &self.dir)
            .field("source", &self.source)
            .finish_non_exhaustive()
    }
}

/// Asks the user for the passphrase (a terminal prompt, a dialog); `None` if they gave none.
pub type PassphrasePrompt<'a> = &'a dyn Fn() -> Option<Zeroizing<String>>;

impl Vault {
    /// Opens (or on first use creates) the vault of `data_dir`.
    ///
    /// The master key goes to `store` (the OS keyring). If the keyring cannot be reached or is
    /// locked, and the directory was not already set up with the keyring, the key is derived
    /// from a passphrase taken from `DATAOPTIX_PASSPHRASE`, else from `prompt`.
    pub fn open(
        data_dir: &Path,
        store: &dyn SecretStore,
        prompt: PassphrasePrompt<'_>,
    ) -> Result<Self, VaultError> {
        Self::open_with_params(data_dir, store, prompt, KdfParams::default())
    }

    /// Like [`Vault::open`], with the Argon2id parameters used if a passphrase vault is created.
    pub fn open_with_params(
        data_dir: &Path,
        store: &dyn SecretStore,
        prompt: PassphrasePrompt<'_>,
        params: KdfParams,
    ) -> Result<Self, VaultError> {
        std::fs::create_dir_all(data_dir).map_err(|e| VaultError::io(data_dir, e))?;
        let meta_path = data_dir.join(META_FILE);
        let ready = |key, source| Self {
            key,
            dir: data_dir.to_path_buf(),
            source,
        };
        if let Some(meta) = read_meta(&meta_path)? {
            return match meta.source {
                KeySource::Keyring => {
                    let entry = entry_name(&meta.id);
                    match store.get(&entry) {
                        Ok(Some(bytes)) => Ok(ready(
                            MasterKey::from_bytes(&bytes, "master key")?,
                            KeySource::Keyring,
                        )),
                        Ok(None) => Err(VaultError::MasterKeyMissing { entry }),
                        Err(e) if e.is_keyring_unavailable() => {
                            Err(VaultError::KeyringRequired(Box::new(e)))
                        }
                        Err(e) => Err(e),
                    }
                }
                KeySource::Passphrase => {
                    let header = meta.passphrase.ok_or_else(|| VaultError::Metadata {
                        path: meta_path.display().to_string(),
                        detail: "passphrase parameters missing".into(),
                    })?;
                    let phrase =
                        passphrase_from(prompt).ok_or_else(|| VaultError::PassphraseRequired {
                            cause: "this data directory is protected by a passphrase".into(),
                        })?;
                    Ok(ready(
                        passphrase::unlock(&phrase, &header)?,
                        KeySource::Passphrase,
                    ))
                }
            };
        }

        // First use of this data directory.
        let id = uuid::Uuid::new_v4().to_string();
        let entry = entry_name(&id);
        let key = MasterKey::generate();
        match store_in_keyring(store, &entry, &key) {
            Ok(()) => {
                write_meta(
                    &meta_path,
                    &Meta {
                        version: 1,
                        id,
                        source: KeySource::Keyring,
                        passphrase: None,
                    },
                )?;
                tracing::info!(dir = %data_dir.display(), "vault created; master key in the OS keyring");
                Ok(ready(key, KeySource::Keyring))
            }
            Err(e) if e.is_keyring_unavailable() => {
                tracing::warn!(error = %e, "no usable OS keyring; falling back to a passphrase");
                let phrase =
                    passphrase_from(prompt).ok_or_else(|| VaultError::PassphraseRequired {
                        cause: e.to_string(),
                    })?;
                let (key, header) = passphrase::create(&phrase, params)?;
                write_meta(
                    &meta_path,
                    &Meta {
                        version: 1,
                        id,
                        source: KeySource::Passphrase,
                        passphrase: Some(header),
                    },
                )?;
                Ok(ready(key, KeySource::Passphrase))
            }
            Err(e) => Err(e),
        }
    }

    /// Where the master key comes from.
    pub fn source(&self) -> KeySource {
        self.source
    }

    /// Seals `plaintext` as record `name` under the master key (no file written).
    pub fn seal(&self, name: &str, plaintext: &[u8]) -> Result<Vec<u8>, VaultError> {
        check_name(name)?;
        self.key.seal(name, plaintext)
    }

    /// Opens an envelope made by [`Vault::seal`] for the same `name`.
    pub fn unseal(&self, name: &str, envelope: &[u8]) -> Result<Zeroizing<Vec<u8>>, VaultError> {
        check_name(name)?;
        self.key.open(name, envelope)
    }

    /// Seals `plaintext` and writes it as `<data dir>/vault/<name>.sealed`.
    pub fn put_record(&self, name: &str, plaintext: &[u8]) -> Result<(), VaultError> {
        let sealed = self.seal(name, plaintext)?;
        let dir = self.dir.join(RECORDS_DIR);
        std::fs::create_dir_all(&dir).map_err(|e| VaultError::io(&dir, e))?;
        write_atomic(&self.record_path(name), &sealed)
    }

    /// Reads and opens the record `name`, `None` if it does not exist.
    pub fn get_record(&self, name: &str) -> Result<Option<Zeroizing<Vec<u8>>>, VaultError> {
        check_name(name)?;
        let path = self.record_path(name);
        match std::fs::read(&path) {
            Ok(sealed) => self.key.open(name, &sealed).map(Some),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(VaultError::io(&path, e)),
        }
    }

    /// Deletes the record `name` (no error if it does not exist).
    pub fn delete_record(&self, name: &str) -> Result<(), VaultError> {
        check_name(name)?;
        let path = self.record_path(name);
        match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(VaultError::io(&path, e)),
            _ => Ok(()),
        }
    }

    /// The raw 256-bit SQLCipher key of the local store, created on first use and kept as a
    /// sealed record.
    pub fn store_key(&self) -> Result<MasterKey, VaultError> {
        if let Some(bytes) = self.get_record(STORE_KEY_RECORD)? {
            return MasterKey::from_bytes(&bytes, STORE_KEY_RECORD);
        }
        let key = MasterKey::generate();
        self.put_record(STORE_KEY_RECORD, key.expose())?;
        Ok(key)
    }

    fn record_path(&self, name: &str) -> PathBuf {
        self.dir.join(RECORDS_DIR).join(format!("{name}.sealed"))
    }
}

fn entry_name(id: &str) -> String {
    format!("master-key.{id}")
}

/// Stores the key and reads it back, so that a keyring that silently drops writes is caught now
/// rather than at the next start.
fn store_in_keyring(
    store: &dyn SecretStore,
    entry: &str,
    key: &MasterKey,
) -> Result<(), VaultError> {
    store.set(entry, key.expose())?;
    match store.get(entry)? {
        Some(back) if back.as_slice() == key.expose() => Ok(()),
        _ => Err(VaultError::Keyring(
            "the keyring did not return the key just stored".into(),
        )),
    }
}

fn passphrase_from(prompt: PassphrasePrompt<'_>) -> Option<Zeroizing<String>> {
    match std::env::var(PASSPHRASE_ENV) {
        Ok(value) if !value.is_empty() => Some(Zeroizing::new(value)),
        _ => prompt().filter(|p| !p.is_empty()),
    }
}

fn check_name(name: &str) -> Result<(), VaultError> {
    let ok = !name.is_empty()
        && name.len() <= 128
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(VaultError::InvalidName(name.to_owned()))
    }
}

fn read_meta(path: &Path) -> Result<Option<Meta>, VaultError> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| VaultError::Metadata {
                path: path.display().to_string(),
                detail: e.to_string(),
            }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(VaultError::io(path, e)),
    }
}

fn write_meta(path: &Path, meta: &Meta) -> Result<(), VaultError> {
    let json = serde_json::to_vec_pretty(meta).map_err(|e| VaultError::Metadata {
        path: path.display().to_string(),
        detail: e.to_string(),
    })?;
    write_atomic(path, &json)
}

/// Writes through a temporary file and a rename, so a crash never leaves half a record; the
/// files are readable by their owner only (they are sealed anyway: defence in depth).
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), VaultError> {
    use std::io::Write;
    let tmp = path.with_extension("tmp");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(&tmp).map_err(|e| VaultError::io(&tmp, e))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(|e| VaultError::io(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| VaultError::io(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vault::MemoryStore;

    fn no_prompt() -> Option<Zeroizing<String>> {
        None
    }

    #[test]
    fn keyring_vault_reopens_with_the_same_key_and_records() {
        let dir = tempfile::tempdir().unwrap();
        let store = MemoryStore::new();
        let vault = Vault::open(dir.path(), &store, &no_prompt).unwrap();
        assert_eq!(vault.source(), KeySource::Keyring);
        vault.put_record("token.waba-1", b"EAAGsecret").unwrap();
        let db_key = vault.store_key().unwrap();
        drop(vault);

        let vault = Vault::open(dir.path(), &store, &no_prompt).unwrap();
        assert_eq!(
            vault
                .get_record("token.waba-1")
                .unwrap()
                .unwrap()
                .as_slice(),
            b"EAAGsecret"
        );
        assert_eq!(vault.store_key().unwrap().expose(), db_key.expose());
        assert!(vault.get_record("absent").unwrap().is_none());
        vault.delete_record("token.waba-1").unwrap();
        assert!(vault.get_record("token.waba-1").unwrap().is_none());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join("vault.json"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert!(matches!(
            vault.put_record("../escape", b"x"),
            Err(VaultError::InvalidName(_))
        ));

        // Nothing on disk holds the secret or the key in plaintext.
        for file in walk(dir.path()) {
            let bytes = std::fs::read(&file).unwrap();
            assert!(!contains(&bytes, b"EAAGsecret"), "{}", file.display());
            assert!(!contains(&bytes, db_key.expose()), "{}", file.display());
            assert!(
                !contains(&bytes, db_key.to_hex().as_bytes()),
                "{}",
                file.display()
            );
        }
    }

    #[test]
    fn record_moved_under_another_name_is_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let vault = Vault::open(dir.path(), &MemoryStore::new(), &no_prompt).unwrap();
        vault.put_record("token.a", b"secret-a").unwrap();
        let records = dir.path().join(RECORDS_DIR);
        std::fs::copy(
            records.join("token.a.sealed"),
            records.join("token.b.sealed"),
        )
        .unwrap();
        assert!(matches!(
            vault.get_record("token.b"),
            Err(VaultError::Tampered { .. })
        ));
    }

    #[test]
    fn missing_keyring_entry_and_lost_keyring_are_explained() {
        let dir = tempfile::tempdir().unwrap();
        Vault::open(dir.path(), &MemoryStore::new(), &no_prompt).unwrap();
        let err = Vault::open(dir.path(), &MemoryStore::new(), &no_prompt).unwrap_err();
        assert!(matches!(err, VaultError::MasterKeyMissing { .. }), "{err}");
        let err = Vault::open(dir.path(), &MemoryStore::unavailable(), &no_prompt).unwrap_err();
        assert!(matches!(err, VaultError::KeyringRequired(_)), "{err}");
        assert!(err.to_string().contains("DBUS_SESSION_BUS_ADDRESS"));
    }

    #[test]
    fn passphrase_fallback_right_and_wrong() {
        if std::env::var_os(PASSPHRASE_ENV).is_some() {
            // The variable wins over the prompt; tests/keyring.rs covers that path.
            eprintln!("skipped: {PASSPHRASE_ENV} is set in this environment");
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let store = MemoryStore::unavailable();
        let params = KdfParams::insecure_for_tests();
        let err = Vault::open_with_params(dir.path(), &store, &no_prompt, params).unwrap_err();
        assert!(matches!(err, VaultError::PassphraseRequired { .. }));
        assert!(err.to_string().contains("DATAOPTIX_PASSPHRASE"));

        let right = || Some(Zeroizing::new("open sesame".to_owned()));
        let vault = Vault::open_with_params(dir.path(), &store, &right, params).unwrap();
        assert_eq!(vault.source(), KeySource::Passphrase);
        vault.put_record("workspace-key", b"ws-secret").unwrap();
        drop(vault);

        let vault = Vault::open_with_params(dir.path(), &store, &right, params).unwrap();
        assert_eq!(
            vault
                .get_record("workspace-key")
                .unwrap()
                .unwrap()
                .as_slice(),
            b"ws-secret"
        );
        let wrong = || Some(Zeroizing::new("open sesame!".to_owned()));
        let err = Vault::open_with_params(dir.path(), &store, &wrong, params).unwrap_err();
        assert!(matches!(err, VaultError::WrongPassphrase), "{err}");
        // A passphrase vault never needs the keyring, even when one appears later.
        let vault = Vault::open_with_params(dir.path(), &MemoryStore::new(), &right, params);
        assert_eq!(vault.unwrap().source(), KeySource::Passphrase);
    }

    pub(crate) fn walk(dir: &Path) -> Vec<PathBuf> {
        let mut out = Vec::new();
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                out.extend(walk(&path));
            } else {
                out.push(path);
            }
        }
        out
    }

    pub(crate) fn contains(haystack: &[u8], needle: &[u8]) -> bool {
        haystack.windows(needle.len()).any(|w| w == needle)
    }
}
