//! The vault and the store through `dataoptix-cli`, as a user or a support script runs them:
//! against the real OS keyring (gnome-keyring's Secret Service on a private D-Bus session), a
//! locked keyring, and no D-Bus session at all.
//!
//! The keyring crate finds the session bus through `DBUS_SESSION_BUS_ADDRESS` in the process
//! environment, and changing the environment of a running test is `unsafe` (forbidden by our
//! lints). So every check runs the real binary (`CARGO_BIN_EXE_dataoptix-cli`) in a child
//! process whose environment is exactly the one the test gives it (`env_clear` first: the
//! developer's own keyring, data directory and `DATAOPTIX_PASSPHRASE` are never seen).

// Test helpers outside #[test] fns count as non-test code for clippy; a panic is how they
// report a failure.
#![allow(clippy::unwrap_used)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use dataoptix_core::store::{ContactInput, NewMessage, PhoneNumberInput, Store};
use dataoptix_core::vault::MasterKey;
use testkit::{DbusSession, Keyring};

const CLI: &str = env!("CARGO_BIN_EXE_dataoptix-cli");

/// What one run of the CLI gave.
struct Run {
    what: String,
    code: Option<i32>,
    stdout: Vec<u8>,
    stderr: String,
}

impl Run {
    fn ok(self) -> Self {
        assert_eq!(self.code, Some(0), "{} failed: {}", self.what, self.stderr);
        assert!(
            self.stderr.is_empty(),
            "{} wrote to stderr: {}",
            self.what,
            self.stderr
        );
        self
    }

    /// Exit code 1 and one line of error on stderr, which is returned.
    fn fails(self) -> String {
        assert_eq!(
            self.code,
            Some(1),
            "{} should fail with 1; stdout {:?} stderr {:?}",
            self.what,
            self.text(),
            self.stderr
        );
        assert!(self.stdout.is_empty(), "{}: {:?}", self.what, self.text());
        assert_eq!(
            self.stderr.lines().count(),
            1,
            "{}: {}",
            self.what,
            self.stderr
        );
        assert!(self.stderr.starts_with("error: "), "{}", self.stderr);
        self.stderr
    }

    fn text(&self) -> String {
        String::from_utf8(self.stdout.clone()).unwrap()
    }

    fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.stdout)
            .unwrap_or_else(|e| panic!("{}: not JSON ({e}): {:?}", self.what, self.text()))
    }
}

/// The environment of the CLI's processes: nothing but what is pushed here.
#[derive(Clone)]
struct Env(Vec<(String, String)>);

impl Env {
    fn with(&self, key: &str, value: impl Into<String>) -> Self {
        let mut vars = self.0.clone();
        vars.retain(|(k, _)| k != key);
        vars.push((key.to_owned(), value.into()));
        Self(vars)
    }

    fn passphrase(&self, value: &str) -> Self {
        self.with("DATAOPTIX_PASSPHRASE", value)
    }

    fn run(&self, args: &[&str], stdin: &[u8]) -> Run {
        let mut child = Command::new(CLI)
            .args(args)
            .env_clear()
            .envs(self.0.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // A command that refuses its arguments exits without reading stdin: the pipe then
        // breaks, which is not the test's concern (its exit code and message are).
        match child.stdin.take().unwrap().write_all(stdin) {
            Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => panic!("writing stdin: {e}"),
            _ => {}
        }
        let output = child.wait_with_output().unwrap();
        let run = Run {
            what: format!("dataoptix-cli {}", args.join(" ")),
            code: output.status.code(),
            stdout: output.stdout,
            stderr: String::from_utf8(output.stderr).unwrap(),
        };
        eprintln!("$ {} -> {:?}\n{}", run.what, run.code, run.stderr);
        run
    }

    /// Runs `args` with `--data-dir dir` first.
    fn at(&self, dir: &Path, args: &[&str]) -> Run {
        let dir = dir.display().to_string();
        let mut all = vec!["--data-dir", dir.as_str()];
        all.extend_from_slice(args);
        self.run(&all, b"")
    }

    fn put(&self, dir: &Path, name: &str, secret: &[u8]) -> Run {
        let dir = dir.display().to_string();
        self.run(&["--data-dir", &dir, "vault", "put", name], secret)
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn files(dir: &Path) -> Vec<PathBuf> {
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

/// Fails if any file under `dir` holds any of `secrets` (raw bytes).
fn assert_no_plaintext(dir: &Path, secrets: &[&[u8]]) {
    let all = files(dir);
    assert!(!all.is_empty(), "nothing to scan in {}", dir.display());
    for file in all {
        // gnome-keyring and SQLite create and remove short-lived files (temporary writes,
        // journals) beside what we scan: one that vanished since the listing holds nothing.
        let content = match std::fs::read(&file) {
            Ok(content) => content,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => panic!("cannot read {}: {e}", file.display()),
        };
        for (i, secret) in secrets.iter().enumerate() {
            assert!(
                !contains(&content, secret),
                "secret #{i} in plaintext in {}",
                file.display()
            );
        }
    }
}

/// A token that is not UTF-8: the vault takes and gives raw bytes.
fn binary_secret() -> Vec<u8> {
    let mut bytes = b"EAAG-token-".to_vec();
    bytes.extend((0..=255u8).rev());
    bytes.extend_from_slice(b"\xff\xfe\x00end");
    bytes
}

const MESSAGE_TEXT: &str = "Quero encomendar um bolo de fubá para sábado";

/// Writes one contact, conversation and message into the store with the key the vault holds
/// (what sync will do), so that `store stats` has something to count.
async fn write_one_message(db: &Path, key: &MasterKey) {
    let store = Store::open(db, key).await.unwrap();
    store.upsert_workspace("ws-1", "Padaria").await.unwrap();
    store
        .upsert_phone_number(&PhoneNumberInput {
            id: "pn-1".into(),
            workspace_id: "ws-1".into(),
            waba_id: "waba-1".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    let contact = store
        .upsert_contact(&ContactInput {
            workspace_id: "ws-1".into(),
            wa_id: Some("5511987654321".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    let conversation = store
        .ensure_conversation("ws-1", "pn-1", contact)
        .await
        .unwrap();
    store
        .insert_messages(&[NewMessage {
            conversation_id: conversation,
            wamid: "wamid.1".into(),
            kind: "text".into(),
            ts: 1_700_000_000,
            text_body: Some(MESSAGE_TEXT.into()),
            raw_json: r#"{"id":"wamid.1","type":"text"}"#.into(),
            ..Default::default()
        }])
        .await
        .unwrap();
    store.close().await;
}

#[tokio::test]
async fn cli_on_real_secret_service() {
    let home = tempfile::tempdir().unwrap();
    let session = DbusSession::start(home.path()).unwrap();
    let _keyring = Keyring::start_unlocked(&session).unwrap();
    let env = Env(session.env().to_vec());
    // No --data-dir and no DATAOPTIX_DATA_DIR: the platform data dir under XDG_DATA_HOME.
    let data = home.path().join(".local/share/dataoptix");

    let err = env.run(&["vault", "status"], b"").fails();
    assert!(
        err.contains("no vault") && err.contains("vault init"),
        "{err}"
    );

    let init = env.run(&["vault", "init", "--json"], b"").ok().json();
    assert_eq!(init["source"], "keyring", "{init}");
    assert_eq!(init["created"], true, "{init}");
    let vault_id = init["vault_id"].as_str().unwrap().to_owned();
    assert!(!vault_id.is_empty());
    assert!(data.join("vault.json").is_file());

    // The master key really is in the Secret Service, under the entry the CLI names.
    let lookup = Command::new("secret-tool")
        .args(["lookup", "service", "dataoptix", "username"])
        .arg(format!("master-key.{vault_id}"))
        .env_clear()
        .envs(session.env().iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .output()
        .unwrap();
    assert!(lookup.status.success(), "{lookup:?}");
    assert_eq!(lookup.stdout.len(), 32, "a raw 256-bit key");
    let master = lookup.stdout;

    // Non-UTF-8 bytes in, the same bytes out; nothing secret on stdout of `put`.
    let secret = binary_secret();
    let put = env.put(&data, "token.waba-1", &secret).ok();
    assert!(put.text().contains("token.waba-1"));
    assert!(!contains(&put.stdout, &secret));
    let got = env.at(&data, &["vault", "get", "token.waba-1"]).ok();
    assert_eq!(got.stdout, secret);

    // A second process (a restart) reopens the same vault from the keyring.
    let again = env.at(&data, &["vault", "init", "--json"]).ok().json();
    assert_eq!(again["created"], false, "{again}");
    assert_eq!(again["vault_id"], vault_id.as_str());
    assert_eq!(again["source"], "keyring");
    let status = env.at(&data, &["vault", "status", "--json"]).ok().json();
    assert_eq!(status["opens"], true, "{status}");
    assert_eq!(status["source"], "keyring");
    let human = env.at(&data, &["vault", "status"]).ok().text();
    assert!(
        human.contains("OS keyring") && human.contains("it opens"),
        "{human}"
    );

    let err = env.at(&data, &["vault", "get", "token.absent"]).fails();
    assert!(err.contains("no record"), "{err}");
    let err = env.at(&data, &["vault", "get", "../vault"]).fails();
    assert!(err.contains("invalid record name"), "{err}");
    let err = env.put(&data, "store-key", b"overwrite").fails();
    assert!(err.contains("database key"), "{err}");
    let err = env.put(&data, "token.empty", b"").fails();
    assert!(err.contains("stdin"), "{err}");

    // The store: created with the vault's key, counted, readable only with that key.
    let err = env.at(&data, &["store", "stats"]).fails();
    assert!(err.contains("store init"), "{err}");
    let init = env.at(&data, &["store", "init", "--json"]).ok().json();
    assert_eq!(init["counts"]["messages"], 0, "{init}");
    let store_key = env.at(&data, &["vault", "get", "store-key"]).ok().stdout;
    let store_key = MasterKey::from_bytes(&store_key, "store key").unwrap();
    let db = data.join("dataoptix.db");
    write_one_message(&db, &store_key).await;
    let stats = env.at(&data, &["store", "stats", "--json"]).ok().json();
    assert_eq!(
        stats,
        serde_json::json!({"contacts": 1, "conversations": 1, "messages": 1})
    );
    let text = env.at(&data, &["store", "stats"]).ok().text();
    assert_eq!(text, "contacts: 1\nconversations: 1\nmessages: 1\n");
    let err = Store::open(&db, &MasterKey::generate()).await.unwrap_err();
    assert!(
        err.to_string().contains("cannot be opened with this key"),
        "{err}"
    );

    // Nothing secret in plaintext anywhere in the data directory.
    let header = std::fs::read(&db).unwrap();
    assert!(
        !header.starts_with(b"SQLite format 3"),
        "the database is not encrypted"
    );
    assert_no_plaintext(
        &data,
        &[
            &secret,
            &secret[..24],
            &master,
            hex::encode(&master).as_bytes(),
            store_key.expose(),
            store_key.to_hex().as_bytes(),
            MESSAGE_TEXT.as_bytes(),
            "bolo de fub".as_bytes(),
        ],
    );
}

#[test]
fn cli_with_a_locked_keyring() {
    let home = tempfile::tempdir().unwrap();
    let session = DbusSession::start(home.path()).unwrap();
    let keyring = Keyring::start_unlocked(&session).unwrap();
    let env = Env(session.env().to_vec());
    let with_keyring = home.path().join("with-keyring");
    let init = env
        .at(&with_keyring, &["vault", "init", "--json"])
        .ok()
        .json();
    assert_eq!(init["source"], "keyring");
    env.put(&with_keyring, "token.a", b"EAAG-before-lock").ok();

    keyring.lock().unwrap();

    // A directory set up with the keyring says the keyring is locked, and how to unlock it...
    for args in [
        &["vault", "status"][..],
        &["vault", "init"],
        &["vault", "get", "token.a"],
    ] {
        let err = env.at(&with_keyring, args).fails();
        assert!(err.contains("locked") && err.contains("unlock"), "{err}");
    }
    // ...and never silently switches to a passphrase, even with one in the environment.
    let err = env
        .passphrase("a passphrase")
        .at(&with_keyring, &["vault", "init"])
        .fails();
    assert!(err.contains("locked"), "{err}");

    // A new data directory: the locked keyring is named, and the way out too.
    let fresh = home.path().join("fresh");
    let err = env.at(&fresh, &["vault", "init"]).fails();
    assert!(err.contains("locked"), "{err}");
    assert!(err.contains("DATAOPTIX_PASSPHRASE"), "{err}");
    assert!(
        !fresh.join("vault.json").exists(),
        "nothing set up on failure"
    );

    // With DATAOPTIX_PASSPHRASE, the new directory uses the passphrase.
    let env = env.passphrase("locked-keyring fallback");
    let init = env.at(&fresh, &["vault", "init", "--json"]).ok().json();
    assert_eq!(init["source"], "passphrase", "{init}");
    env.put(&fresh, "token.b", b"EAAG-after-lock").ok();
    let got = env.at(&fresh, &["vault", "get", "token.b"]).ok();
    assert_eq!(got.stdout, b"EAAG-after-lock");
    let status = env.at(&fresh, &["vault", "status", "--json"]).ok().json();
    assert_eq!(status["source"], "passphrase", "{status}");
    assert_no_plaintext(
        home.path().join("fresh").as_path(),
        &[b"EAAG-after-lock", b"locked-keyring fallback"],
    );
}

#[test]
fn cli_without_any_dbus_session() {
    let home = tempfile::tempdir().unwrap();
    let runtime = home.path().join("run"); // exists, but no bus socket in it
    std::fs::create_dir_all(&runtime).unwrap();
    let data = home.path().join("data");
    let env = Env(vec![
        ("HOME".to_owned(), home.path().display().to_string()),
        ("XDG_RUNTIME_DIR".to_owned(), runtime.display().to_string()),
        // The data directory from the environment this time.
        ("DATAOPTIX_DATA_DIR".to_owned(), data.display().to_string()),
    ]);

    // Usage errors exit with 2; help with 0.
    let usage = env.run(&["vault", "put"], b"");
    assert_eq!(usage.code, Some(2), "{}", usage.stderr);
    let help = env.run(&["--help"], b"");
    assert_eq!(help.code, Some(0));
    assert!(help.text().contains("vault"));

    // No keyring and no passphrase (and no terminal to ask on): one clear line.
    let err = env.run(&["vault", "init"], b"").fails();
    assert!(err.contains("DBUS_SESSION_BUS_ADDRESS"), "{err}");
    assert!(err.contains("set DATAOPTIX_PASSPHRASE"), "{err}");
    assert!(err.contains("no terminal"), "{err}");
    assert!(
        !data.join("vault.json").exists(),
        "nothing set up on failure"
    );

    // The passphrase path works from DATAOPTIX_PASSPHRASE, across processes.
    let phrase = "correct horse battery staple";
    let right = env.passphrase(phrase);
    let init = right.run(&["vault", "init", "--json"], b"").ok().json();
    assert_eq!(init["source"], "passphrase", "{init}");
    assert_eq!(init["created"], true);
    let secret = binary_secret();
    right.run(&["vault", "put", "token.waba-2"], &secret).ok();
    assert_eq!(
        right
            .run(&["vault", "get", "token.waba-2"], b"")
            .ok()
            .stdout,
        secret
    );
    let status = right.run(&["vault", "status"], b"").ok().text();
    assert!(
        status.contains("passphrase") && status.contains("it opens"),
        "{status}"
    );
    right.run(&["store", "init"], b"").ok();
    let stats = right.run(&["store", "stats", "--json"], b"").ok().json();
    assert_eq!(stats["messages"], 0, "{stats}");

    // A wrong passphrase: a clear error and a non-zero exit, for every command.
    let wrong = env.passphrase("correct horse battery stapler");
    for args in [
        &["vault", "status"][..],
        &["vault", "init"],
        &["vault", "get", "token.waba-2"],
        &["store", "stats"],
    ] {
        let err = wrong.run(args, b"").fails();
        assert!(err.contains("wrong passphrase"), "{err}");
    }
    let err = wrong.run(&["vault", "put", "token.x"], b"x").fails();
    assert!(err.contains("wrong passphrase"), "{err}");
    // No passphrase at all for a passphrase vault.
    let err = env.run(&["vault", "get", "token.waba-2"], b"").fails();
    assert!(err.contains("protected by a passphrase"), "{err}");
    assert!(err.contains("DATAOPTIX_PASSPHRASE"), "{err}");

    // Logs only with RUST_LOG, on stderr, and without secrets.
    let logged = right
        .with("RUST_LOG", "trace")
        .run(&["vault", "put", "token.waba-3"], b"EAAG-logged-run");
    assert_eq!(logged.code, Some(0), "{}", logged.stderr);
    assert!(!logged.stderr.is_empty(), "RUST_LOG=trace logs something");
    let logged_store = right.with("RUST_LOG", "trace").run(&["store", "init"], b"");
    assert_eq!(logged_store.code, Some(0), "{}", logged_store.stderr);
    let store_key = right.run(&["vault", "get", "store-key"], b"").ok().stdout;
    for log in [&logged.stderr, &logged_store.stderr] {
        for needle in [phrase, "EAAG-logged-run", &hex::encode(&store_key)] {
            assert!(!log.contains(needle), "secret in the log: {log}");
        }
    }

    assert_no_plaintext(
        &data,
        &[
            &secret,
            phrase.as_bytes(),
            b"EAAG-logged-run",
            &store_key,
            hex::encode(&store_key).as_bytes(),
        ],
    );
}
