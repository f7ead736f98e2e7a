//! A private D-Bus session bus and an unlocked gnome-keyring (Secret Service) on it.

use std::io::Write;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{Context, Result};

use crate::processes::{wait_until, Guarded};

/// The password of the throwaway login keyring (it protects nothing real).
const KEYRING_PASSWORD: &str = "dataoptix-test";

/// A `dbus-daemon --session` of our own, listening on a socket inside `home/run`.
///
/// [`DbusSession::env`] gives the environment a process needs to use it (and nothing of the
/// developer's session): `HOME`, the `XDG_*` directories inside `home`, and
/// `DBUS_SESSION_BUS_ADDRESS`. Logs go to `home/logs`.
pub struct DbusSession {
    guard: Guarded,
    address: String,
    env: Vec<(String, String)>,
    logs: PathBuf,
}

impl DbusSession {
    /// Creates the XDG directories under `home` and starts the bus, waiting until its socket
    /// exists.
    pub fn start(home: &Path) -> Result<Self> {
        let runtime = home.join("run");
        for dir in [".cache", ".config", ".local/share", "run", "logs"] {
            std::fs::create_dir_all(home.join(dir))
                .with_context(|| format!("creating {}", home.join(dir).display()))?;
        }
        set_mode_700(&runtime)?;
        let logs = home.join("logs");

        let bus_socket = runtime.join("bus");
        let address = format!("unix:path={}", bus_socket.display());
        let mut cmd = Command::new("dbus-daemon");
        cmd.args([
            "--session",
            "--nofork",
            "--nopidfile",
            &format!("--address={address}"),
        ]);
        let mut guard = Guarded::spawn("dbus-daemon", cmd, &logs.join("dbus.log"))?;
        wait_until(
            "D-Bus session bus",
            &mut guard,
            Duration::from_secs(10),
            || bus_socket.exists(),
        )?;

        let env = vec![
            ("HOME".into(), path_str(home)),
            ("XDG_CACHE_HOME".into(), path_str(&home.join(".cache"))),
            ("XDG_CONFIG_HOME".into(), path_str(&home.join(".config"))),
            ("XDG_DATA_HOME".into(), path_str(&home.join(".local/share"))),
            ("XDG_RUNTIME_DIR".into(), path_str(&runtime)),
            ("DBUS_SESSION_BUS_ADDRESS".into(), address.clone()),
        ];
        Ok(Self {
            guard,
            address,
            env,
            logs,
        })
    }

    /// The bus address, as `DBUS_SESSION_BUS_ADDRESS` wants it.
    pub fn address(&self) -> &str {
        &self.address
    }

    /// `HOME`, `XDG_*` and `DBUS_SESSION_BUS_ADDRESS` for processes that use this session.
    pub fn env(&self) -> &[(String, String)] {
        &self.env
    }

    /// Where the daemons started by this crate write their logs.
    pub fn logs_dir(&self) -> &Path {
        &self.logs
    }

    /// Fails if the bus daemon has exited.
    pub fn ensure_running(&mut self) -> Result<()> {
        self.guard.ensure_running()
    }
}

/// gnome-keyring's Secret Service on a [`DbusSession`], unlocked.
pub struct Keyring {
    _guard: Guarded,
    env: Vec<(String, String)>,
}

impl Keyring {
    /// Starts `gnome-keyring-daemon --foreground --unlock --components=secrets` (the password on
    /// stdin) and waits until it owns `org.freedesktop.secrets` on the bus and a secret can be
    /// stored and read back with `secret-tool`.
    pub fn start_unlocked(session: &DbusSession) -> Result<Self> {
        let env = session.env();
        let log = std::fs::File::create(session.logs_dir().join("gnome-keyring.log"))?;
        let mut child = Command::new("gnome-keyring-daemon")
            .args(["--foreground", "--unlock", "--components=secrets"])
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::piped())
            .stdout(Stdio::from(log.try_clone()?))
            .stderr(Stdio::from(log))
            .process_group(0)
            .spawn()
            .context("starting gnome-keyring-daemon (run scripts/install-deps.sh)")?;
        if let Some(mut stdin) = child.stdin.take() {
            stdin.write_all(KEYRING_PASSWORD.as_bytes())?;
        }
        let mut guard = Guarded::adopt("gnome-keyring-daemon", child);

        // Probe only once our daemon owns the Secret Service name: a probe sent earlier would
        // make D-Bus activate a second, unsupervised daemon.
        wait_until(
            "Secret Service on the bus",
            &mut guard,
            Duration::from_secs(15),
            || secrets_name_has_owner(env),
        )?;
        let probe = "keyring-probe";
        wait_until(
            "unlocked Secret Service",
            &mut guard,
            Duration::from_secs(15),
            || {
                secret_tool(
                    env,
                    &["store", "--label=dataoptix test probe", "probe", "test"],
                    Some(probe),
                )
                .is_some()
                    && secret_tool(env, &["lookup", "probe", "test"], None).as_deref()
                        == Some(probe)
            },
        )?;
        Ok(Self {
            _guard: guard,
            env: env.to_vec(),
        })
    }

    /// Locks the login collection, as a screen lock or a timeout would. Unlocking it again
    /// needs a prompt, which a headless test session cannot show, so clients get "locked".
    pub fn lock(&self) -> Result<()> {
        let output = Command::new("dbus-send")
            .args([
                "--session",
                "--print-reply",
                "--dest=org.freedesktop.secrets",
                "/org/freedesktop/secrets",
                "org.freedesktop.Secret.Service.Lock",
                "array:objpath:/org/freedesktop/secrets/collection/login",
            ])
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .output()
            .context("running dbus-send")?;
        if !output.status.success() {
            anyhow::bail!(
                "locking the keyring failed: {}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
        Ok(())
    }
}

fn path_str(path: &Path) -> String {
    path.display().to_string()
}

fn set_mode_700(path: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o700))?;
    Ok(())
}

fn secrets_name_has_owner(env: &[(String, String)]) -> bool {
    Command::new("dbus-send")
        .args([
            "--session",
            "--print-reply",
            "--dest=org.freedesktop.DBus",
            "/org/freedesktop/DBus",
            "org.freedesktop.DBus.NameHasOwner",
            "string:org.freedesktop.secrets",
        ])
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .stderr(Stdio::null())
        .output()
        .map(|out| String::from_utf8_lossy(&out.stdout).contains("boolean true"))
        .unwrap_or(false)
}

fn secret_tool(env: &[(String, String)], args: &[&str], input: Option<&str>) -> Option<String> {
    let mut child = Command::new("secret-tool")
        .args(args)
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(input.unwrap_or_default().as_bytes());
    }
    let output = child.wait_with_output().ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_and_unlocked_keyring_start_and_serve_secrets() {
        let home = tempfile::tempdir().unwrap();
        let session = DbusSession::start(home.path()).unwrap();
        assert!(session.address().starts_with("unix:path="));
        let _keyring = Keyring::start_unlocked(&session).unwrap();
        let env = session.env();
        assert!(secret_tool(env, &["store", "--label=t", "k", "v"], Some("hello")).is_some());
        assert_eq!(
            secret_tool(env, &["lookup", "k", "v"], None).as_deref(),
            Some("hello")
        );
    }
}
