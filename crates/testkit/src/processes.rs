//! Child processes that must not outlive the test: each runs in its own process group, and
//! dropping the handle signals the whole group (tauri-driver's children — WebKitWebDriver and the
//! app with its WebKit helpers — go with it).

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context, Result};

/// A child process (and its process group) that is stopped when the handle drops: `SIGTERM` to
/// the group, then `SIGKILL` after 3 s.
pub struct Guarded {
    /// What the process is, for error messages.
    pub name: &'static str,
    child: Child,
}

impl Guarded {
    /// Spawns `command` in a new process group, its output appended to `log`.
    pub fn spawn(name: &'static str, mut command: Command, log: &Path) -> Result<Self> {
        let out = std::fs::File::create(log)
            .with_context(|| format!("creating log {}", log.display()))?;
        let err = out.try_clone()?;
        command
            .stdout(Stdio::from(out))
            .stderr(Stdio::from(err))
            .process_group(0);
        let child = command.spawn().with_context(|| {
            format!("starting {name} (is it installed? run scripts/install-deps.sh)")
        })?;
        Ok(Self { name, child })
    }

    /// Wraps a child spawned elsewhere (with `process_group(0)`).
    pub fn adopt(name: &'static str, child: Child) -> Self {
        Self { name, child }
    }

    /// Fails if the process has already exited (e.g. Xvfb refusing a display in use).
    pub fn ensure_running(&mut self) -> Result<()> {
        match self.child.try_wait()? {
            None => Ok(()),
            Some(status) => Err(anyhow!("{} exited early with {status}", self.name)),
        }
    }

    /// The process id (also its process group id).
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// `SIGKILL` to the whole group, without warning (a crash, a power cut), and reaps it.
    pub fn kill_now(&mut self) -> Result<()> {
        self.signal_group("-KILL");
        self.child
            .wait()
            .with_context(|| format!("reaping {} after SIGKILL", self.name))?;
        Ok(())
    }

    /// Whether the process has exited, and how.
    pub fn exit_status(&mut self) -> Result<Option<std::process::ExitStatus>> {
        Ok(self.child.try_wait()?)
    }

    fn signal_group(&self, signal: &str) {
        let _ = Command::new("kill")
            .args([signal, "--", &format!("-{}", self.child.id())])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

impl Drop for Guarded {
    fn drop(&mut self) {
        self.signal_group("-TERM");
        let deadline = Instant::now() + Duration::from_secs(3);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        self.signal_group("-KILL");
        let _ = self.child.wait();
    }
}

/// A TCP port that was free a moment ago on 127.0.0.1.
pub fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Polls `ready` every 50 ms until it is true, `process` dies, or `timeout` passes.
pub fn wait_until(
    what: &str,
    process: &mut Guarded,
    timeout: Duration,
    mut ready: impl FnMut() -> bool,
) -> Result<()> {
    let deadline = Instant::now() + timeout;
    loop {
        if ready() {
            return Ok(());
        }
        process.ensure_running()?;
        if Instant::now() >= deadline {
            return Err(anyhow!("{what} not ready after {timeout:?}"));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Whether something accepts TCP connections on `127.0.0.1:port`.
pub fn port_open(port: u16) -> bool {
    TcpStream::connect_timeout(
        &SocketAddr::from(([127, 0, 0, 1], port)),
        Duration::from_millis(200),
    )
    .is_ok()
}
