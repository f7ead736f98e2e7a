//! The end-to-end harness: the real DataOptix binary in a real window, driven over WebDriver.
//!
//! Each test gets a world of its own, so tests can run in parallel and never touch the
//! developer's desktop, keyring or data:
//! - a throwaway `HOME` (with `XDG_*` dirs inside it: the app, WebKit, gnome-keyring and mesa
//!   all write under the home directory);
//! - its own X server (Xvfb) and D-Bus session bus;
//! - an unlocked gnome-keyring on that bus, checked with `secret-tool` before the app starts, so
//!   the app sees a real Secret Service exactly as on a desktop;
//! - its own `tauri-driver` + `WebKitWebDriver` pair on free ports.
//!
//! [`run`] starts all of it, hands a WebDriver client (and the world) to the test body, saves a
//! screenshot and the page source as artefacts (always, and a `-failure` copy when the body
//! fails), and tears everything down. [`ui`] has the waits and page helpers the bodies use;
//! [`RecordingBrowser`] stands in for the browser the app opens.

mod browser;
pub mod ui;
mod world;

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{anyhow, Context, Result};
use fantoccini::Client;

pub use browser::RecordingBrowser;
pub use world::{stop_group, World};

/// How long to wait for the window's content before a test fails.
pub const UI_TIMEOUT: Duration = Duration::from_secs(30);

/// The app binary under test: `DATAOPTIX_APP_BIN`, else `dataoptix` beside this test's own
/// target directory (the test executable lives in `<target>/<profile>/deps/`).
pub fn app_binary() -> Result<PathBuf> {
    if let Some(bin) = std::env::var_os("DATAOPTIX_APP_BIN") {
        return Ok(PathBuf::from(bin));
    }
    let exe = std::env::current_exe().context("locating the test executable")?;
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .ok_or_else(|| anyhow!("unexpected test executable path {}", exe.display()))?;
    let bin = profile_dir.join("dataoptix");
    if !bin.is_file() {
        return Err(anyhow!(
            "the app binary {} does not exist: build it first with \
             `cargo build -p dataoptix --features custom-protocol` (scripts/test.sh does), \
             or point DATAOPTIX_APP_BIN at one",
            bin.display()
        ));
    }
    Ok(bin)
}

/// Where screenshots and page sources go: `DATAOPTIX_ARTIFACTS`, else `artifacts/e2e` in the
/// repository.
pub fn artifacts_dir() -> PathBuf {
    std::env::var_os("DATAOPTIX_ARTIFACTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../artifacts/e2e")
                .components()
                .collect()
        })
}

/// Runs `body` against a freshly started app in a world of its own, named `name` in artefacts.
///
/// `prepare` runs in the world's fresh home before anything starts (see [`World::start`]) and
/// returns extra environment variables for the app. `body` gets the WebDriver client and the
/// world (for its environment, screenshots or a second launch of the app).
pub async fn run<P, F>(name: &str, prepare: P, body: F) -> Result<()>
where
    P: FnOnce(&Path) -> Result<Vec<(String, String)>> + Send + 'static,
    F: for<'w> AsyncFnOnce(Client, &'w World) -> Result<()>,
{
    let app = app_binary()?;
    let started = std::time::Instant::now();
    let world = World::start(name, prepare).await?;
    eprintln!(
        "[e2e {name}] world ready (display, D-Bus, keyring, tauri-driver) in {:.1?}; launching the app",
        started.elapsed()
    );
    let client = world.connect(&app).await?;
    eprintln!("[e2e {name}] WebDriver session open");
    let outcome = body(client.clone(), &world).await;
    eprintln!(
        "[e2e {name}] test body finished after {:.1?}: {}",
        started.elapsed(),
        if outcome.is_ok() { "ok" } else { "FAILED" }
    );

    let artifacts = artifacts_dir();
    let _ = std::fs::create_dir_all(&artifacts);
    let stem = if outcome.is_ok() {
        name.to_owned()
    } else {
        format!("{name}-failure")
    };
    save_artifacts(&client, &world, &artifacts, &stem).await;

    let _ = tokio::time::timeout(ARTIFACT_TIMEOUT, client.close()).await;
    world.stop().await;
    outcome.with_context(|| {
        format!(
            "end-to-end test `{name}` failed; screenshot and page source in {}",
            artifacts.display()
        )
    })
}

/// WebDriver calls that can hang when the webview is wedged get this long before we fall back.
const ARTIFACT_TIMEOUT: Duration = Duration::from_secs(10);

async fn save_artifacts(client: &Client, world: &World, dir: &Path, stem: &str) {
    // The X server shows exactly what a user would see (window decorations included), and works
    // even when the webview is unresponsive, so it is the screenshot we keep.
    world.screenshot_root(&dir.join(format!("{stem}.png")));
    if let Ok(Ok(source)) = tokio::time::timeout(ARTIFACT_TIMEOUT, client.source()).await {
        let _ = std::fs::write(dir.join(format!("{stem}.html")), source);
    }
}

/// Waits for the element matching `css` and returns its visible text.
pub async fn text_of(client: &Client, css: &str) -> Result<String> {
    ui::on_element(client, css, async |e| e.text().await).await
}

/// Waits until the element matching `css` has text satisfying `accept`, and returns that text.
/// The UI fills some fields asynchronously (after an IPC call), so a single read is not enough.
pub async fn wait_for_text(
    client: &Client,
    css: &str,
    accept: impl Fn(&str) -> bool,
) -> Result<String> {
    let deadline = tokio::time::Instant::now() + UI_TIMEOUT;
    loop {
        let text = text_of(client, css).await?;
        if accept(&text) {
            return Ok(text);
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(anyhow!("`{css}` still reads {text:?} after {UI_TIMEOUT:?}"));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
