//! Where the master key lives: the OS keyring in production, memory in unit tests.

use std::collections::HashMap;
use std::sync::Mutex;

use zeroize::Zeroizing;

use super::VaultError;

/// The keyring "service" under which DataOptix stores its entries.
pub const KEYRING_SERVICE: &str = "dataoptix";

/// A small key-value store for secret bytes, by name.
///
/// Implementations must not log the values.
pub trait SecretStore: Send + Sync {
    /// The secret called `name`, or `None` if there is none.
    fn get(&self, name: &str) -> Result<Option<Zeroizing<Vec<u8>>>, VaultError>;
    /// Stores (or replaces) the secret called `name`.
    fn set(&self, name: &str, secret: &[u8]) -> Result<(), VaultError>;
    /// Deletes the secret called `name`; deleting a missing secret is not an error.
    fn delete(&self, name: &str) -> Result<(), VaultError>;
}

/// The OS keyring through the `keyring` crate: Secret Service over D-Bus on Linux, Keychain on
/// macOS, Credential Manager on Windows.
///
/// On Linux the Secret Service is found through `DBUS_SESSION_BUS_ADDRESS`, read when the first
/// call connects.
#[derive(Debug, Clone)]
pub struct KeyringStore {
    service: String,
}

impl KeyringStore {
    /// Entries under the keyring service `service`.
    pub fn new(service: impl Into<String>) -> Self {
        Self {
            service: service.into(),
        }
    }

    fn entry(&self, name: &str) -> Result<keyring::Entry, VaultError> {
        keyring::Entry::new(&self.service, name).map_err(map_keyring_error)
    }
}

impl Default for KeyringStore {
    fn default() -> Self {
        Self::new(KEYRING_SERVICE)
    }
}

impl SecretStore for KeyringStore {
    fn get(&self, name: &str) -> Result<Option<Zeroizing<Vec<u8>>>, VaultError> {
        match self.entry(name)?.get_secret() {
            Ok(secret) => Ok(Some(Zeroizing::new(secret))),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(error) => Err(map_keyring_error(error)),
        }
    }

    fn set(&self, name: &str, secret: &[u8]) -> Result<(), VaultError> {
        self.entry(name)?
            .set_secret(secret)
            .map_err(map_keyring_error)
    }

    fn delete(&self, name: &str) -> Result<(), VaultError> {
        match self.entry(name)?.delete_credential() {
            Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(error) => Err(map_keyring_error(error)),
        }
    }
}

/// Sorts the keyring crate's errors into "no keyring here" (the passphrase fallback applies),
/// "locked", and real failures.
fn map_keyring_error(error: keyring::Error) -> VaultError {
    match error {
        keyring::Error::NoStorageAccess(inner) => VaultError::NoStorageAccess {
            detail: inner.to_string(),
        },
        // gnome-keyring answers a write to a locked collection with a plain D-Bus error
        // ("Cannot create an item in a locked collection"), which the keyring crate passes on
        // as a platform failure: that is a locked keyring too, and the user should unlock it.
        keyring::Error::PlatformFailure(inner)
            if inner.to_string().to_ascii_lowercase().contains("locked") =>
        {
            VaultError::NoStorageAccess {
                detail: inner.to_string(),
            }
        }
        // Without a reachable D-Bus session or Secret Service the secret-service backend fails
        // with a platform error (its text names DBUS_SESSION_BUS_ADDRESS when the variable is
        // unset). Any other platform failure means there is no usable keyring.
        keyring::Error::PlatformFailure(inner) => VaultError::KeyringUnavailable {
            detail: inner.to_string(),
        },
        other => VaultError::Keyring(other.to_string()),
    }
}

/// An in-memory [`SecretStore`] for unit tests (and for simulating a locked or missing keyring).
type Entries = HashMap<String, Zeroizing<Vec<u8>>>;

#[derive(Default)]
pub struct MemoryStore {
    entries: Mutex<Entries>,
    unavailable: bool,
}

impl MemoryStore {
    /// An empty, working store.
    pub fn new() -> Self {
        Self::default()
    }

    /// A store that behaves like a machine without a keyring: every call fails with
    /// [`VaultError::KeyringUnavailable`].
    pub fn unavailable() -> Self {
        Self {
            entries: Mutex::default(),
            unavailable: true,
        }
    }

    fn check(&self) -> Result<std::sync::MutexGuard<'_, Entries>, VaultError> {
        if self.unavailable {
            return Err(VaultError::KeyringUnavailable {
                detail: "MemoryStore::unavailable".into(),
            });
        }
        self.entries
            .lock()
            .map_err(|_| VaultError::Keyring("memory store poisoned".into()))
    }
}

impl SecretStore for MemoryStore {
    fn get(&self, name: &str) -> Result<Option<Zeroizing<Vec<u8>>>, VaultError> {
        Ok(self.check()?.get(name).cloned())
    }

    fn set(&self, name: &str, secret: &[u8]) -> Result<(), VaultError> {
        self.check()?
            .insert(name.to_owned(), Zeroizing::new(secret.to_vec()));
        Ok(())
    }

    fn delete(&self, name: &str) -> Result<(), VaultError> {
        self.check()?.remove(name);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_store_round_trip() {
        let store = MemoryStore::new();
        assert!(store.get("a").unwrap().is_none());
        store.set("a", b"1").unwrap();
        assert_eq!(store.get("a").unwrap().unwrap().as_slice(), b"1");
        store.delete("a").unwrap();
        store.delete("a").unwrap();
        assert!(store.get("a").unwrap().is_none());
        assert!(MemoryStore::unavailable()
            .get("a")
            .unwrap_err()
            .is_keyring_unavailable());
    }
}
