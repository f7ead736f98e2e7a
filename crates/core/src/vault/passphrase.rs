//! The fallback when no OS keyring exists: a master key derived from a passphrase with Argon2id.
//!
//! What is stored (in the vault metadata file) is only the random salt, the Argon2 parameters
//! and a verifier — a fixed text sealed under the derived key. Opening the verifier tells a wrong
//! passphrase apart from damaged data without ever storing the key or a hash that could be used
//! as the key.

use argon2::{Algorithm, Argon2, Params, Version};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::{MasterKey, VaultError};

/// The record name of the verifier (its AAD).
pub(crate) const VERIFIER_RECORD: &str = "passphrase-verifier";
const VERIFIER_TEXT: &[u8] = b"dataoptix passphrase verifier v1";

/// Argon2id cost parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct KdfParams {
    /// Memory in KiB.
    pub m_cost_kib: u32,
    /// Iterations.
    pub t_cost: u32,
    /// Lanes.
    pub p_cost: u32,
}

impl Default for KdfParams {
    /// OWASP's recommended Argon2id setting (19 MiB, 2 iterations, 1 lane).
    fn default() -> Self {
        Self {
            m_cost_kib: 19 * 1024,
            t_cost: 2,
            p_cost: 1,
        }
    }
}

impl KdfParams {
    /// Cheap parameters for tests only: never use them for real data.
    pub fn insecure_for_tests() -> Self {
        Self {
            m_cost_kib: 64,
            t_cost: 1,
            p_cost: 1,
        }
    }
}

/// What the vault stores for a passphrase-protected data directory.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PassphraseHeader {
    /// Hex salt (16 random bytes).
    pub salt: String,
    /// Argon2id parameters.
    pub params: KdfParams,
    /// Hex envelope of a fixed text sealed under the derived key.
    pub verifier: String,
}

/// Derives a 256-bit key from `passphrase`.
pub fn derive(passphrase: &str, salt: &[u8], params: KdfParams) -> Result<MasterKey, VaultError> {
    let argon_params = Params::new(params.m_cost_kib, params.t_cost, params.p_cost, Some(32))
        .map_err(|e| VaultError::Kdf(e.to_string()))?;
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, argon_params);
    let mut out = Zeroizing::new([0u8; 32]);
    argon
        .hash_password_into(passphrase.as_bytes(), salt, out.as_mut())
        .map_err(|e| VaultError::Kdf(e.to_string()))?;
    MasterKey::from_bytes(out.as_ref(), "passphrase key")
}

/// Sets up a new passphrase: fresh salt, derived key, verifier.
pub fn create(
    passphrase: &str,
    params: KdfParams,
) -> Result<(MasterKey, PassphraseHeader), VaultError> {
    if passphrase.is_empty() {
        return Err(VaultError::PassphraseRequired {
            cause: "an empty passphrase is not allowed".into(),
        });
    }
    let mut salt = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut salt);
    let key = derive(passphrase, &salt, params)?;
    let verifier = key.seal(VERIFIER_RECORD, VERIFIER_TEXT)?;
    Ok((
        key,
        PassphraseHeader {
            salt: hex::encode(salt),
            params,
            verifier: hex::encode(verifier),
        },
    ))
}

/// Re-derives the key from `passphrase` and checks it against the stored verifier.
pub fn unlock(passphrase: &str, header: &PassphraseHeader) -> Result<MasterKey, VaultError> {
    let bad = |what: &str| VaultError::Metadata {
        path: "vault.json".into(),
        detail: format!("bad {what}"),
    };
    let salt = hex::decode(&header.salt).map_err(|_| bad("salt"))?;
    let verifier = hex::decode(&header.verifier).map_err(|_| bad("verifier"))?;
    let key = derive(passphrase, &salt, header.params)?;
    match key.open(VERIFIER_RECORD, &verifier) {
        Ok(text) if text.as_slice() == VERIFIER_TEXT => Ok(key),
        Ok(_) | Err(VaultError::Tampered { .. }) => Err(VaultError::WrongPassphrase),
        Err(other) => Err(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn right_passphrase_unlocks_wrong_one_is_named() {
        let (key, header) = create("correct horse", KdfParams::insecure_for_tests()).unwrap();
        let again = unlock("correct horse", &header).unwrap();
        assert_eq!(key.expose(), again.expose());
        let err = unlock("Correct horse", &header).unwrap_err();
        assert!(matches!(err, VaultError::WrongPassphrase));
        assert!(err.to_string().contains("wrong passphrase"));
    }

    #[test]
    fn salt_makes_keys_differ_and_header_holds_no_key() {
        let (a, ha) = create("same", KdfParams::insecure_for_tests()).unwrap();
        let (b, hb) = create("same", KdfParams::insecure_for_tests()).unwrap();
        assert_ne!(a.expose(), b.expose());
        assert_ne!(ha.salt, hb.salt);
        let json = serde_json::to_string(&ha).unwrap();
        assert!(!json.contains(a.to_hex().as_str()));
        assert!(create("", KdfParams::insecure_for_tests()).is_err());
    }
}
