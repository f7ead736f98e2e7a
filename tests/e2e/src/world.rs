//! One test's private desktop: home directory, X server, D-Bus session, unlocked keyring and a
//! WebDriver server, all torn down together.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::Duration;

use anyhow::{anyhow, Context, Result};
use fantoccini::{Client, ClientBuilder};
use hyper_util::client::legacy::connect::HttpConnector;

use testkit::{free_port, port_open, wait_until, DbusSession, Guarded, Keyring};

const WEBKIT_DRIVER: &str = "/usr/bin/WebKitWebDriver";

pub struct World {
    // Fields drop in this order: WebDriver (and the app) first, the X server last.
    driver: Guarded,
    _keyring: Keyring,
    _dbus: DbusSession,
    _xvfb: Guarded,
    driver_port: u16,
    name: String,
    display: String,
    env: Vec<(String, String)>,
    home: tempfile::TempDir,
}

impl World {
    /// Starts a private desktop named `name` (used in log file names).
    ///
    /// `prepare` runs once the throwaway home exists and before any process starts: it may
    /// write files there (a fake browser, MIME defaults) and returns extra environment
    /// variables for the app (e.g. the relay URL).
    pub async fn start<P>(name: &str, prepare: P) -> Result<Self>
    where
        P: FnOnce(&Path) -> Result<Vec<(String, String)>> + Send + 'static,
    {
        let name = name.to_owned();
        // Everything below blocks on processes; keep it off the async runtime's threads.
        tokio::task::spawn_blocking(move || Self::start_blocking(&name, prepare)).await?
    }

    fn start_blocking<P>(name: &str, prepare: P) -> Result<Self>
    where
        P: FnOnce(&Path) -> Result<Vec<(String, String)>>,
    {
        let home = tempfile::Builder::new()
            .prefix(&format!("dataoptix-e2e-{name}-"))
            .tempdir()?;
        let root = home.path().to_path_buf();
        std::fs::create_dir_all(root.join("logs"))?;
        let logs = root.join("logs");
        let extra_env = prepare(&root)?;

        let (xvfb, display) = start_xvfb(&logs)?;
        let dbus = DbusSession::start(&root)?;
        let mut env: Vec<(String, String)> = dbus.env().to_vec();
        env.extend([
            ("DISPLAY".into(), display.clone()),
            // Xvfb has no GPU: software GL and no accelerated compositing keep WebKit rendering.
            ("LIBGL_ALWAYS_SOFTWARE".into(), "1".into()),
            ("WEBKIT_DISABLE_COMPOSITING_MODE".into(), "1".into()),
            ("NO_AT_BRIDGE".into(), "1".into()),
        ]);
        env.extend(extra_env);

        let keyring = Keyring::start_unlocked(&dbus)?;

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
            name: name.to_owned(),
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

    /// Launches `app` a second time in this world with `args`, as the desktop does when the
    /// browser opens a `dataoptix://` link: single-instance hands the arguments to the running
    /// app over this world's D-Bus and the second process exits. Returns its exit status; fails
    /// if it is still running after [`crate::UI_TIMEOUT`] (it then became a second app instead
    /// of forwarding), after stopping it. Its output is appended to `logs/second-launch.log`.
    pub async fn launch_again(&self, app: &Path, args: &[&str]) -> Result<ExitStatus> {
        let mut child = self
            .app_command(app, "second-launch.log")?
            .args(args)
            .spawn()
            .with_context(|| format!("launching {} again", app.display()))?;
        match tokio::time::timeout(crate::UI_TIMEOUT, child.wait()).await {
            Ok(status) => Ok(status?),
            Err(_) => {
                stop_group(&mut child).await;
                Err(anyhow!(
                    "the second launch of {} did not exit within {:?}: it did not hand its \
                     arguments to the running app; logs in {}",
                    app.display(),
                    crate::UI_TIMEOUT,
                    self.logs_dir().display()
                ))
            }
        }
    }

    /// Launches `app` in this world without WebDriver, as a person starts it: for what a
    /// WebDriver session does not survive (its page's process ending). Its output is appended to
    /// `logs/app.log`; stop it with [`stop_group`].
    pub fn launch_alone(&self, app: &Path) -> Result<tokio::process::Child> {
        self.app_command(app, "app.log")?
            .spawn()
            .with_context(|| format!("launching {}", app.display()))
    }

    /// The app's own log file in this world (tauri-plugin-log's, in the app's log dir).
    pub fn app_log(&self) -> PathBuf {
        self.home
            .path()
            .join(".local/share/com.dataoptix.desktop/logs/DataOptix.log")
    }

    /// `app` in this world's environment, output appended to `logs/{log}`, in a process group
    /// of its own so that an app stopped with [`stop_group`] goes with its WebKit helpers.
    fn app_command(&self, app: &Path, log: &str) -> Result<tokio::process::Command> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.logs_dir().join(log))?;
        let mut command = tokio::process::Command::new(app);
        command
            .env_remove("WAYLAND_DISPLAY")
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .process_group(0)
            .kill_on_drop(true);
        Ok(command)
    }

    /// The name the world was started with (artefact and log names).
    pub fn name(&self) -> &str {
        &self.name
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

    /// The titles of the top-level windows on this world's display (what a taskbar shows).
    pub fn window_titles(&self) -> Result<Vec<String>> {
        let out = Command::new("xwininfo")
            .args(["-display", &self.display, "-root", "-tree"])
            .stderr(Stdio::null())
            .output()
            .context("running xwininfo (package x11-utils)")?;
        let tree = String::from_utf8_lossy(&out.stdout);
        // Lines read `0x400003 "DataOptix": ("dataoptix" "Dataoptix")  1280x800+0+0 …`.
        Ok(tree
            .lines()
            .filter_map(|line| {
                let start = line.find('"')? + 1;
                let len = line[start..].find('"')?;
                Some(line[start..start + len].to_owned())
            })
            .collect())
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

/// Kills `child`'s process group (the app and its WebKit helpers) and waits for it.
pub async fn stop_group(child: &mut tokio::process::Child) {
    if let Some(pid) = child.id() {
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{pid}")])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
    let _ = child.wait().await;
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
