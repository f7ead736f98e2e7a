//! One test's private desktop: home directory, X server, D-Bus session, unlocked keyring and a
//! WebDriver server, all torn down together.

use std::io::Write;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{anyhow, Context, Result};
use fantoccini::{Client, ClientBuilder};
use hyper_util::client::legacy::connect::HttpConnector;

use crate::processes::{free_port, port_open, wait_until, Guarded};

const WEBKIT_DRIVER: &str = "/usr/bin/WebKitWebDriver";
const KEYRING_PASSWORD: &str = "dataoptix-e2e";

pub struct World {
    // Fields drop in this order: WebDriver (and the app) first, the X server last.
    driver: Guarded,
    _keyring: Guarded,
    _dbus: Guarded,
    _xvfb: Guarded,
    driver_port: u16,
    display: String,
    env: Vec<(String, String)>,
    home: tempfile::TempDir,
}

impl World {
    /// Starts a private desktop named `name` (used in log file names).
    pub async fn start(name: &str) -> Result<Self> {
        Self::start_with_env(name, &[]).await
    }

    /// Like [`World::start`], with extra environment variables for the app (e.g. its data dir
    /// or the relay URL).
    pub async fn start_with_env(name: &str, extra_env: &[(&str, &str)]) -> Result<Self> {
        let name = name.to_owned();
        let extra: Vec<(String, String)> = extra_env
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        // Everything below blocks on processes; keep it off the async runtime's threads.
        tokio::task::spawn_blocking(move || Self::start_blocking(&name, extra)).await?
    }

    fn start_blocking(name: &str, extra_env: Vec<(String, String)>) -> Result<Self> {
        let home = tempfile::Builder::new()
            .prefix(&format!("dataoptix-e2e-{name}-"))
            .tempdir()?;
        let root = home.path().to_path_buf();
        let runtime = root.join("run");
        for dir in [".cache", ".config", ".local/share", "run", "logs"] {
            std::fs::create_dir_all(root.join(dir))?;
        }
        set_mode_700(&runtime)?;
        let logs = root.join("logs");

        let (xvfb, display) = start_xvfb(&logs)?;
        let bus_socket = runtime.join("bus");
        let bus_address = format!("unix:path={}", bus_socket.display());
        let mut dbus_cmd = Command::new("dbus-daemon");
        dbus_cmd.args([
            "--session",
            "--nofork",
            "--nopidfile",
            &format!("--address={bus_address}"),
        ]);
        let mut dbus = Guarded::spawn("dbus-daemon", dbus_cmd, &logs.join("dbus.log"))?;
        wait_until(
            "D-Bus session bus",
            &mut dbus,
            Duration::from_secs(10),
            || bus_socket.exists(),
        )?;

        let mut env: Vec<(String, String)> = vec![
            ("HOME".into(), path_str(&root)),
            ("XDG_CACHE_HOME".into(), path_str(&root.join(".cache"))),
            ("XDG_CONFIG_HOME".into(), path_str(&root.join(".config"))),
            ("XDG_DATA_HOME".into(), path_str(&root.join(".local/share"))),
            ("XDG_RUNTIME_DIR".into(), path_str(&runtime)),
            ("DISPLAY".into(), display.clone()),
            ("DBUS_SESSION_BUS_ADDRESS".into(), bus_address),
            // Xvfb has no GPU: software GL and no accelerated compositing keep WebKit rendering.
            ("LIBGL_ALWAYS_SOFTWARE".into(), "1".into()),
            ("WEBKIT_DISABLE_COMPOSITING_MODE".into(), "1".into()),
            ("NO_AT_BRIDGE".into(), "1".into()),
        ];
        env.extend(extra_env);

        let keyring = start_keyring(&env, &logs)?;

        let driver_port = free_port()?;
        let native_port = free_port()?;
        let mut driver_cmd = Command::new("tauri-driver");
        driver_cmd
            .args([
                "--port",
                &driver_port.to_string(),
                "--native-port",
                &native_port.to_string(),
                "--native-driver",
                WEBKIT_DRIVER,
            ])
            .env_remove("WAYLAND_DISPLAY")
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        let mut driver =
            Guarded::spawn("tauri-driver", driver_cmd, &logs.join("tauri-driver.log"))?;
        wait_until("tauri-driver", &mut driver, Duration::from_secs(20), || {
            port_open(driver_port)
        })?;

        Ok(Self {
            driver,
            _keyring: keyring,
            _dbus: dbus,
            _xvfb: xvfb,
            driver_port,
            display,
            env,
            home,
        })
    }

    /// Opens a WebDriver session, which launches the app binary in this world.
    pub async fn connect(&self, app: &Path) -> Result<Client> {
        let mut caps = serde_json::Map::new();
        caps.insert(
            "tauri:options".into(),
            serde_json::json!({ "application": app }),
        );
        let url = format!("http://127.0.0.1:{}", self.driver_port);
        let mut last_error = None;
        // tauri-driver accepts connections a moment before WebKitWebDriver is ready.
        for _ in 0..20 {
            match ClientBuilder::new(HttpConnector::new())
                .capabilities(caps.clone())
                .connect(&url)
                .await
            {
                Ok(client) => return Ok(client),
                Err(error) => last_error = Some(error),
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        Err(anyhow!(
            "could not open a WebDriver session for {}: {last_error:?}; logs in {}",
            app.display(),
            self.logs_dir().display()
        ))
    }

    /// The environment the app runs in (HOME, DISPLAY, D-Bus, XDG dirs, extras).
    pub fn env(&self) -> &[(String, String)] {
        &self.env
    }

    /// The throwaway home directory.
    pub fn home(&self) -> &Path {
        self.home.path()
    }

    pub fn logs_dir(&self) -> PathBuf {
        self.home.path().join("logs")
    }

    /// Screenshot of the whole X screen (works even when the webview is unresponsive).
    pub fn screenshot_root(&self, to: &Path) {
        let _ = Command::new("import")
            .args(["-display", &self.display, "-window", "root"])
            .arg(to)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }

    /// Stops every process of this world, WebDriver and the app first. The throwaway home (with
    /// the logs of every process) is deleted unless `DATAOPTIX_KEEP_E2E_HOME` is set.
    pub async fn stop(self) {
        let keep = std::env::var_os("DATAOPTIX_KEEP_E2E_HOME").is_some();
        let _ = tokio::task::spawn_blocking(move || {
            let World {
                driver,
                _keyring,
                _dbus,
                _xvfb,
                home,
                ..
            } = self;
            drop(driver);
            drop(_keyring);
            drop(_dbus);
            drop(_xvfb);
            if keep {
                eprintln!("kept e2e home at {}", home.keep().display());
            }
        })
        .await;
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

/// Starts Xvfb on the first display number that is free, retrying if another test took it first.
fn start_xvfb(logs: &Path) -> Result<(Guarded, String)> {
    for number in 90..250u32 {
        if Path::new(&format!("/tmp/.X{number}-lock")).exists() {
            continue;
        }
        let display = format!(":{number}");
        let mut cmd = Command::new("Xvfb");
        cmd.args([
            display.as_str(),
            "-screen",
            "0",
            "1280x800x24",
            "-nolisten",
            "tcp",
            "-noreset",
        ]);
        let mut xvfb = Guarded::spawn("Xvfb", cmd, &logs.join(format!("xvfb{number}.log")))?;
        let socket = PathBuf::from(format!("/tmp/.X11-unix/X{number}"));
        match wait_until("Xvfb", &mut xvfb, Duration::from_secs(10), || {
            socket.exists()
        }) {
            Ok(()) => return Ok((xvfb, display)),
            Err(_) => continue, // lost a race for this display number
        }
    }
    Err(anyhow!("no free X display number between :90 and :249"))
}

/// Starts gnome-keyring's Secret Service on the session bus, unlocked, and proves it works by
/// storing and reading back a secret with `secret-tool`.
fn start_keyring(env: &[(String, String)], logs: &Path) -> Result<Guarded> {
    let log = std::fs::File::create(logs.join("gnome-keyring.log"))?;
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
    let mut keyring = Guarded::adopt("gnome-keyring-daemon", child);

    // Probe only once our daemon owns the Secret Service name: a probe sent earlier would make
    // D-Bus activate a second, unsupervised daemon.
    wait_until(
        "Secret Service on the bus",
        &mut keyring,
        Duration::from_secs(15),
        || secrets_name_has_owner(env),
    )?;
    let probe = "keyring-probe";
    wait_until(
        "unlocked Secret Service",
        &mut keyring,
        Duration::from_secs(15),
        || {
            secret_tool(
                env,
                &["store", "--label=dataoptix-e2e probe", "probe", "e2e"],
                Some(probe),
            )
            .is_some()
                && secret_tool(env, &["lookup", "probe", "e2e"], None).as_deref() == Some(probe)
        },
    )?;
    Ok(keyring)
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
