//! [`Vault`]: the master key (from the keyring or a passphrase) and the sealed records under it.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::passphrase::{self, KdfParams, PassphraseHeader};
use super::{MasterKey, SecretStore, VaultError};

/// The environment variable holding the passphrase when no keyring is available. Only the
/// programs (`dataoptix-cli`, the desktop shell) read it and hand its value to the vault through
/// [`PassphraseSource`]; this library never reads the process environment.
pub const PASSPHRASE_ENV: &str = "DATAOPTIX_PASSPHRASE";
/// The vault's metadata file in the data directory (key source, vault id, passphrase header).
pub const META_FILE: &str = "vault.json";
const RECORDS_DIR: &str = "vault";
/// The record holding the local store's SQLCipher key (see [`Vault::store_key`]).
pub const STORE_KEY_RECORD: &str = "store-key";

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

/// What a data directory's vault metadata says, read without unlocking anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VaultInfo {
    /// Where the master key comes from.
    pub source: KeySource,
    /// The vault's id (names its keyring entry).
    pub id: String,
}

impl VaultInfo {
    /// The keyring entry (under [`super::KEYRING_SERVICE`]) holding the master key.
    pub fn keyring_entry(&self) -> String {
        entry_name(&self.id)
    }
}

/// The unlocked vault of one data directory.
pub struct Vault {
    key: MasterKey,
    dir: PathBuf,
    source: KeySource,
    id: String,
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vault")
            .field("dir", &self.dir)
            .field("source", &self.source)
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// Why a passphrase is asked for, so that a prompt can ask twice when one is being chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PassphrasePurpose {
    /// A new passphrase vault is being created.
    Create,
    /// An existing passphrase vault is being unlocked.
    Unlock,
}

/// Asks the user for the passphrase (a terminal prompt, a dialog); `None` if they gave none.
pub type PassphrasePrompt<'a> = &'a dyn Fn(PassphrasePurpose) -> Option<Zeroizing<String>>;

/// Where the passphrase comes from when one is needed: a value the caller read from
/// [`PASSPHRASE_ENV`] (it wins), else an interactive prompt.
///
/// The vault never reads the process environment itself: the program does, once, so the
/// library (and its tests) behave the same whatever the developer's shell exports.
#[derive(Default)]
pub struct PassphraseSource<'a> {
    value: Option<Zeroizing<String>>,
    prompt: Option<PassphrasePrompt<'a>>,
}

impl std::fmt::Debug for PassphraseSource<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PassphraseSource")
            .field("value", &self.value.as_ref().map(|_| "<set>"))
            .field("prompt", &self.prompt.is_some())
            .finish()
    }
}

impl<'a> PassphraseSource<'a> {
    /// No passphrase at all: a vault that needs one fails with
    /// [`VaultError::PassphraseRequired`].
    pub fn none() -> Self {
        Self::default()
    }

    /// The value of [`PASSPHRASE_ENV`] as the program read it (`None` or empty: unset).
    pub fn from_env_value(value: Option<String>) -> Self {
        Self {
            value: value.filter(|v| !v.is_empty()).map(Zeroizing::new),
            prompt: None,
        }
    }

    /// A fixed passphrase (as if given in [`PASSPHRASE_ENV`]).
    pub fn value(value: impl Into<String>) -> Self {
        Self::from_env_value(Some(value.into()))
    }

    /// Asks `prompt` when no value was given.
    #[must_use]
    pub fn with_prompt(mut self, prompt: PassphrasePrompt<'a>) -> Self {
        self.prompt = Some(prompt);
        self
    }

    /// The passphrase: the given value, else the prompt's answer; `None` if neither gave one.
    pub fn get(&self, purpose: PassphrasePurpose) -> Option<Zeroizing<String>> {
        if let Some(value) = &self.value {
            return Some(value.clone());
        }
        self.prompt
            .and_then(|prompt| prompt(purpose))
            .filter(|p| !p.is_empty())
    }
}

impl Vault {
    /// Opens (or on first use creates) the vault of `data_dir`.
    ///
    /// The master key goes to `store` (the OS keyring). If the keyring cannot be reached or is
    /// locked, and the directory was not already set up with the keyring, the key is derived
    /// from a passphrase taken from `passphrase` (the caller's `DATAOPTIX_PASSPHRASE`, else its
    /// prompt).
    pub fn open(
        data_dir: &Path,
        store: &dyn SecretStore,
        passphrase: &PassphraseSource<'_>,
    ) -> Result<Self, VaultError> {
        Self::open_with_params(data_dir, store, passphrase, KdfParams::default())
    }

    /// What the vault of `data_dir` is, without unlocking it; `None` if there is none yet.
    pub fn info(data_dir: &Path) -> Result<Option<VaultInfo>, VaultError> {
        Ok(read_meta(&data_dir.join(META_FILE))?.map(|meta| VaultInfo {
            source: meta.source,
            id: meta.id,
        }))
    }

    /// Opens the vault of `data_dir` only if it exists (never creates one); `Ok(None)` if there
    /// is none yet.
    pub fn open_existing(
        data_dir: &Path,
        store: &dyn SecretStore,
        passphrase: &PassphraseSource<'_>,
    ) -> Result<Option<Self>, VaultError> {
        if Self::info(data_dir)?.is_none() {
            return Ok(None);
        }
        Self::open(data_dir, store, passphrase).map(Some)
    }

    /// Like [`Vault::open`], with the Argon2id parameters used if a passphrase vault is created.
    pub fn open_with_params(
        data_dir: &Path,
        store: &dyn SecretStore,
        passphrase: &PassphraseSource<'_>,
        params: KdfParams,
    ) -> Result<Self, VaultError> {
        std::fs::create_dir_all(data_dir).map_err(|e| VaultError::io(data_dir, e))?;
        let meta_path = data_dir.join(META_FILE);
        let ready = |key, source, id: &str| Self {
            key,
            dir: data_dir.to_path_buf(),
            source,
            id: id.to_owned(),
        };
        if let Some(meta) = read_meta(&meta_path)? {
            tracing::debug!(dir = %data_dir.display(), source = ?meta.source, "opening the vault");
            return match meta.source {
                KeySource::Keyring => {
                    let entry = entry_name(&meta.id);
                    match store.get(&entry) {
                        Ok(Some(bytes)) => Ok(ready(
                            MasterKey::from_bytes(&bytes, "master key")?,
                            KeySource::Keyring,
                            &meta.id,
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
                    let phrase = passphrase.get(PassphrasePurpose::Unlock).ok_or_else(|| {
                        VaultError::PassphraseRequired {
                            cause: "this data directory is protected by a passphrase".into(),
                        }
                    })?;
                    Ok(ready(
                        passphrase::unlock(&phrase, &header)?,
                        KeySource::Passphrase,
                        &meta.id,
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
                        id: id.clone(),
                        source: KeySource::Keyring,
                        passphrase: None,
                    },
                )?;
                tracing::info!(dir = %data_dir.display(), "vault created; master key in the OS keyring");
                Ok(ready(key, KeySource::Keyring, &id))
            }
            Err(e) if e.is_keyring_unavailable() => {
                tracing::warn!(error = %e, "no usable OS keyring; falling back to a passphrase");
                let phrase = passphrase.get(PassphrasePurpose::Create).ok_or_else(|| {
                    VaultError::PassphraseRequired {
                        cause: e.to_string(),
                    }
                })?;
                let (key, header) = passphrase::create(&phrase, params)?;
                write_meta(
                    &meta_path,
                    &Meta {
                        version: 1,
                        id: id.clone(),
                        source: KeySource::Passphrase,
                        passphrase: Some(header),
                    },
                )?;
                Ok(ready(key, KeySource::Passphrase, &id))
            }
            Err(e) => Err(e),
        }
    }

    /// Where the master key comes from.
    pub fn source(&self) -> KeySource {
        self.source
    }

    /// This vault's id (it names the keyring entry; not a secret).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The data directory this vault belongs to.
    pub fn data_dir(&self) -> &Path {
        &self.dir
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

    fn none() -> PassphraseSource<'static> {
        PassphraseSource::none()
    }

    #[test]
    fn keyring_vault_reopens_with_the_same_key_and_records() {
        let dir = tempfile::tempdir().unwrap();
        let store = MemoryStore::new();
        let vault = Vault::open(dir.path(), &store, &none()).unwrap();
        assert_eq!(vault.source(), KeySource::Keyring);
        vault.put_record("token.waba-1", b"EAAGsecret").unwrap();
        let db_key = vault.store_key().unwrap();
        drop(vault);

        let vault = Vault::open(dir.path(), &store, &none()).unwrap();
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
        let vault = Vault::open(dir.path(), &MemoryStore::new(), &none()).unwrap();
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
        Vault::open(dir.path(), &MemoryStore::new(), &none()).unwrap();
        let err = Vault::open(dir.path(), &MemoryStore::new(), &none()).unwrap_err();
        assert!(matches!(err, VaultError::MasterKeyMissing { .. }), "{err}");
        let err = Vault::open(dir.path(), &MemoryStore::unavailable(), &none()).unwrap_err();
        assert!(matches!(err, VaultError::KeyringRequired(_)), "{err}");
        assert!(err.to_string().contains("DBUS_SESSION_BUS_ADDRESS"));
    }

    #[test]
    fn passphrase_fallback_right_and_wrong() {
        // The process environment plays no part: the passphrase comes only from the source.
        let dir = tempfile::tempdir().unwrap();
        let store = MemoryStore::unavailable();
        let params = KdfParams::insecure_for_tests();
        let err = Vault::open_with_params(dir.path(), &store, &none(), params).unwrap_err();
        assert!(matches!(err, VaultError::PassphraseRequired { .. }));
        assert!(err.to_string().contains("DATAOPTIX_PASSPHRASE"));
        assert!(
            Vault::info(dir.path()).unwrap().is_none(),
            "nothing created"
        );
        // An empty value counts as unset.
        let empty = PassphraseSource::from_env_value(Some(String::new()));
        let err = Vault::open_with_params(dir.path(), &store, &empty, params).unwrap_err();
        assert!(matches!(err, VaultError::PassphraseRequired { .. }));

        let asked = std::cell::RefCell::new(Vec::new());
        let prompt = |purpose| {
            asked.borrow_mut().push(purpose);
            Some(Zeroizing::new("open sesame".to_owned()))
        };
        let right = PassphraseSource::none().with_prompt(&prompt);
        let vault = Vault::open_with_params(dir.path(), &store, &right, params).unwrap();
        let info = Vault::info(dir.path()).unwrap().unwrap();
        assert_eq!(info.source, KeySource::Passphrase);
        assert_eq!(info.id, vault.id());
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
        assert_eq!(
            *asked.borrow(),
            [PassphrasePurpose::Create, PassphrasePurpose::Unlock]
        );
        let wrong = PassphraseSource::value("open sesame!");
        let err = Vault::open_with_params(dir.path(), &store, &wrong, params).unwrap_err();
        assert!(matches!(err, VaultError::WrongPassphrase), "{err}");
        // The given value wins over the prompt, which is then not asked.
        let wrong_wins = PassphraseSource::value("open sesame!").with_prompt(&prompt);
        let err = Vault::open_with_params(dir.path(), &store, &wrong_wins, params).unwrap_err();
        assert!(matches!(err, VaultError::WrongPassphrase), "{err}");
        assert_eq!(asked.borrow().len(), 2);
        let from_value = PassphraseSource::value("open sesame");
        let vault = Vault::open_with_params(dir.path(), &store, &from_value, params).unwrap();
        assert_eq!(vault.source(), KeySource::Passphrase);
        // A passphrase vault never needs the keyring, even when one appears later.
        let vault = Vault::open_with_params(dir.path(), &MemoryStore::new(), &right, params);
        assert_eq!(vault.unwrap().source(), KeySource::Passphrase);
        // Debug never shows the passphrase.
        assert!(!format!("{from_value:?}").contains("sesame"));
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
