//! A stand-in for the user's web browser: a script that records every URL it is asked to open.
//!
//! The app opens Embedded Signup's page with tauri-plugin-opener, which runs `xdg-open`.
//! Without a desktop environment `xdg-open` first asks the MIME database for the
//! `x-scheme-handler/http` default (on this machine's system data that is Chromium, which would
//! really start) and only then falls back to `$BROWSER`. So the world gets both: a desktop entry
//! for the recorder made the http/https default in the world's own `mimeapps.list`, and
//! `BROWSER` pointing at the same script.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{anyhow, Context, Result};

/// Where the recorder lives and writes, inside one world's home.
#[derive(Debug, Clone)]
pub struct RecordingBrowser {
    /// One opened URL per line, in order.
    pub log: PathBuf,
    script: PathBuf,
}

const DESKTOP_ID: &str = "dataoptix-e2e-browser.desktop";

impl RecordingBrowser {
    /// Installs the recorder in `home` (whose XDG dirs are `home/.config` and
    /// `home/.local/share`, as the world sets them).
    pub fn install(home: &Path) -> Result<Self> {
        let bin = home.join("bin");
        let applications = home.join(".local/share/applications");
        let config = home.join(".config");
        for dir in [&bin, &applications, &config] {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        let log = home.join("opened-urls.txt");
        let script = bin.join("record-browser");
        // printf, not echo: a URL is data and must not be interpreted.
        std::fs::write(
            &script,
            format!("#!/bin/sh\nprintf '%s\\n' \"$1\" >> '{}'\n", log.display()),
        )?;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755))?;
        std::fs::write(
            applications.join(DESKTOP_ID),
            format!(
                "[Desktop Entry]\nType=Application\nName=DataOptix test browser\n\
                 Exec={} %u\nMimeType=x-scheme-handler/http;x-scheme-handler/https;\n\
                 NoDisplay=true\n",
                script.display()
            ),
        )?;
        std::fs::write(
            config.join("mimeapps.list"),
            format!(
                "[Default Applications]\nx-scheme-handler/http={DESKTOP_ID}\n\
                 x-scheme-handler/https={DESKTOP_ID}\n"
            ),
        )?;
        Ok(Self { log, script })
    }

    /// `BROWSER` for the app's environment.
    pub fn env(&self) -> (String, String) {
        ("BROWSER".into(), self.script.display().to_string())
    }

    /// The URLs opened so far.
    pub fn opened(&self) -> Vec<String> {
        std::fs::read_to_string(&self.log)
            .map(|text| text.lines().map(str::to_owned).collect())
            .unwrap_or_default()
    }

    /// Waits until a URL has been opened and returns the first one.
    pub async fn wait_for_url(&self, timeout: Duration) -> Result<String> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if let Some(url) = self.opened().into_iter().next() {
                return Ok(url);
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(anyhow!(
                    "the app opened no URL in the browser within {timeout:?} ({} is empty)",
                    self.log.display()
                ));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}
