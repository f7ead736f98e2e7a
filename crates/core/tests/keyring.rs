//! The vault against the real OS keyring (gnome-keyring's Secret Service on a private D-Bus
//! session), and without any D-Bus session at all.
//!
//! The keyring crate finds the session bus through `DBUS_SESSION_BUS_ADDRESS`, read from the
//! process environment. Changing the environment of a running test is `unsafe` (and forbidden by
//! our lints), so each outer test starts the daemons with `testkit` and runs an inner test — an
//! `#[ignore]`d test of this same binary — in a child process with exactly the environment it
//! needs (`env_clear` first, so the developer's own keyring is never touched).

// Test helpers outside #[test] fns count as non-test code for clippy; a panic is how they
// report a failure.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::Command;

use dataoptix_core::vault::{
    KdfParams, KeySource, KeyringStore, SecretStore, Vault, VaultError, PASSPHRASE_ENV,
};
use testkit::{DbusSession, Keyring};
use zeroize::Zeroizing;

/// Set in the child process: the inner tests do nothing without it.
const INNER: &str = "DATAOPTIX_CORE_INNER_TEST";
const DATA_DIR: &str = "DATAOPTIX_CORE_TEST_DATA_DIR";
const SERVICE: &str = "dataoptix-test";

fn run_inner(test: &str, env: &[(String, String)]) {
    let exe = std::env::current_exe().unwrap();
    let output = Command::new(exe)
        .args([
            test,
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env(INNER, "1")
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    eprintln!("--- {test} stdout ---\n{stdout}\n--- {test} stderr ---\n{stderr}");
    assert!(output.status.success(), "inner test {test} failed");
    assert!(stdout.contains("1 passed"), "inner test {test} did not run");
}

fn inner_enabled() -> bool {
    std::env::var_os(INNER).is_some()
}

fn data_dir() -> std::path::PathBuf {
    std::env::var_os(DATA_DIR).unwrap().into()
}

fn no_prompt() -> Option<Zeroizing<String>> {
    None
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(files(&path));
        } else {
            out.push(path);
        }
    }
    out
}

#[test]
fn keyring_store_and_vault_on_real_secret_service() {
    let home = tempfile::tempdir().unwrap();
    let session = DbusSession::start(home.path()).unwrap();
    let _keyring = Keyring::start_unlocked(&session).unwrap();
    let data = home.path().join("data");
    let mut env = session.env().to_vec();
    env.push((DATA_DIR.into(), data.display().to_string()));
    run_inner("inner_real_secret_service", &env);
    // A second process (a restart of the app) opens the same vault from the keyring.
    run_inner("inner_real_secret_service_reopen", &env);
}

#[test]
#[ignore = "runs in a child process of keyring_store_and_vault_on_real_secret_service"]
fn inner_real_secret_service() {
    if !inner_enabled() {
        return;
    }
    let store = KeyringStore::new(SERVICE);
    let bytes: Vec<u8> = (0..=255u8).collect(); // not UTF-8: the store takes raw bytes
    assert!(store.get("round-trip").unwrap().is_none());
    store.set("round-trip", &bytes).unwrap();
    assert_eq!(
        store.get("round-trip").unwrap().unwrap().as_slice(),
        bytes.as_slice()
    );
    store.set("round-trip", b"replaced").unwrap();
    assert_eq!(
        store.get("round-trip").unwrap().unwrap().as_slice(),
        b"replaced"
    );
    store.delete("round-trip").unwrap();
    store.delete("round-trip").unwrap();
    assert!(store.get("round-trip").unwrap().is_none());

    let dir = data_dir();
    let vault = Vault::open(&dir, &store, &no_prompt).unwrap();
    assert_eq!(vault.source(), KeySource::Keyring);
    vault
        .put_record("token.waba-1", b"EAAG-real-keyring-token")
        .unwrap();
    let store_key = vault.store_key().unwrap();
    for file in files(&dir) {
        let content = std::fs::read(&file).unwrap();
        assert!(
            !contains(&content, b"EAAG-real-keyring-token"),
            "{}",
            file.display()
        );
        assert!(
            !contains(&content, store_key.expose()),
            "{}",
            file.display()
        );
        assert!(
            !contains(&content, store_key.to_hex().as_bytes()),
            "{}",
            file.display()
        );
    }
    std::fs::write(dir.join("store-key.hex"), store_key.to_hex().as_bytes()).unwrap();
}

#[test]
#[ignore = "runs in a child process of keyring_store_and_vault_on_real_secret_service"]
fn inner_real_secret_service_reopen() {
    if !inner_enabled() {
        return;
    }
    let dir = data_dir();
    let vault = Vault::open(&dir, &KeyringStore::new(SERVICE), &no_prompt).unwrap();
    assert_eq!(vault.source(), KeySource::Keyring);
    assert_eq!(
        vault
            .get_record("token.waba-1")
            .unwrap()
            .unwrap()
            .as_slice(),
        b"EAAG-real-keyring-token"
    );
    let expected = std::fs::read_to_string(dir.join("store-key.hex")).unwrap();
    assert_eq!(vault.store_key().unwrap().to_hex().as_str(), expected);
}

#[test]
fn locked_keyring_is_reported_and_the_passphrase_works() {
    let home = tempfile::tempdir().unwrap();
    let session = DbusSession::start(home.path()).unwrap();
    let keyring = Keyring::start_unlocked(&session).unwrap();
    let mut env = session.env().to_vec();
    env.push((
        DATA_DIR.into(),
        home.path().join("data").display().to_string(),
    ));
    run_inner("inner_store_before_lock", &env);
    keyring.lock().unwrap();
    run_inner("inner_locked_keyring", &env);
}

#[test]
#[ignore = "runs in a child process of locked_keyring_is_reported_and_the_passphrase_works"]
fn inner_store_before_lock() {
    if !inner_enabled() {
        return;
    }
    KeyringStore::new(SERVICE)
        .set("stored-before-lock", b"v")
        .unwrap();
}

#[test]
#[ignore = "runs in a child process of locked_keyring_is_reported_and_the_passphrase_works"]
fn inner_locked_keyring() {
    if !inner_enabled() {
        return;
    }
    let store = KeyringStore::new(SERVICE);
    // Reading an entry stored before the lock, and writing a new one, both say "locked".
    let read = store.get("stored-before-lock");
    eprintln!("keyring read when locked: {read:?}");
    let err = store.set("anything", b"x").unwrap_err();
    eprintln!("keyring write when locked: {err}");
    for err in [read.map(|_| ()), Err(err)] {
        let err = err.expect_err("a locked keyring must refuse");
        assert!(
            matches!(err, VaultError::NoStorageAccess { .. }),
            "expected NoStorageAccess, got {err:?}"
        );
        assert!(err.to_string().contains("unlock it"), "{err}");
    }

    let prompt = || Some(Zeroizing::new("locked-keyring fallback".to_owned()));
    let params = KdfParams::insecure_for_tests();
    let vault = Vault::open_with_params(&data_dir(), &store, &prompt, params).unwrap();
    assert_eq!(vault.source(), KeySource::Passphrase);
}

#[test]
fn without_dbus_the_keyring_error_is_clear_and_the_passphrase_works() {
    let home = tempfile::tempdir().unwrap();
    let runtime = home.path().join("run"); // exists, but no bus socket in it
    std::fs::create_dir_all(&runtime).unwrap();
    let data = home.path().join("data");
    let mut env = vec![
        ("HOME".to_owned(), home.path().display().to_string()),
        ("XDG_RUNTIME_DIR".to_owned(), runtime.display().to_string()),
        (DATA_DIR.to_owned(), data.display().to_string()),
    ];
    run_inner("inner_no_dbus", &env);
    env.push((PASSPHRASE_ENV.to_owned(), "from the environment".to_owned()));
    run_inner("inner_no_dbus", &env);
}

#[test]
#[ignore = "runs in a child process of without_dbus_the_keyring_error_is_clear_and_the_passphrase_works"]
fn inner_no_dbus() {
    if !inner_enabled() {
        return;
    }
    let store = KeyringStore::new(SERVICE);
    let err = store.get("anything").unwrap_err();
    eprintln!("keyring error without D-Bus: {err}");
    // The platform's own message names the variable, and so does ours.
    match &err {
        VaultError::KeyringUnavailable { detail } => {
            assert!(detail.contains("DBUS_SESSION_BUS_ADDRESS"), "{detail}");
        }
        other => panic!("expected KeyringUnavailable, got {other:?}"),
    }
    assert!(err.to_string().contains("DATAOPTIX_PASSPHRASE"), "{err}");
    assert!(store
        .set("anything", b"x")
        .unwrap_err()
        .is_keyring_unavailable());

    let params = KdfParams::insecure_for_tests();
    let dir = data_dir();
    if std::env::var_os(PASSPHRASE_ENV).is_none() {
        // No passphrase anywhere: a clear error, nothing created.
        let err = Vault::open_with_params(&dir.join("a"), &store, &no_prompt, params).unwrap_err();
        assert!(
            matches!(err, VaultError::PassphraseRequired { .. }),
            "{err:?}"
        );
        assert!(err.to_string().contains("DATAOPTIX_PASSPHRASE"), "{err}");
        // From the prompt.
        let prompt = || Some(Zeroizing::new("typed at the prompt".to_owned()));
        let vault = Vault::open_with_params(&dir.join("b"), &store, &prompt, params).unwrap();
        assert_eq!(vault.source(), KeySource::Passphrase);
        vault.put_record("token.x", b"prompted-secret").unwrap();
        let wrong = || Some(Zeroizing::new("typed wrongly".to_owned()));
        let err = Vault::open_with_params(&dir.join("b"), &store, &wrong, params).unwrap_err();
        assert!(matches!(err, VaultError::WrongPassphrase), "{err:?}");
        let vault = Vault::open_with_params(&dir.join("b"), &store, &prompt, params).unwrap();
        assert_eq!(
            vault.get_record("token.x").unwrap().unwrap().as_slice(),
            b"prompted-secret"
        );
    } else {
        // From DATAOPTIX_PASSPHRASE, and again on reopen.
        let vault = Vault::open_with_params(&dir.join("c"), &store, &no_prompt, params).unwrap();
        assert_eq!(vault.source(), KeySource::Passphrase);
        vault.put_record("token.y", b"env-secret").unwrap();
        drop(vault);
        let vault = Vault::open_with_params(&dir.join("c"), &store, &no_prompt, params).unwrap();
        assert_eq!(
            vault.get_record("token.y").unwrap().unwrap().as_slice(),
            b"env-secret"
        );
        for file in files(&dir) {
            let content = std::fs::read(&file).unwrap();
            assert!(!contains(&content, b"env-secret"), "{}", file.display());
            assert!(
                !contains(&content, b"from the environment"),
                "{}",
                file.display()
            );
        }
    }
}
