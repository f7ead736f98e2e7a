//! Driving the window: waiting for elements, typing, clicking, asking the page with a script,
//! and screenshots of the main screens. Every wait is bounded by [`UI_TIMEOUT`] and polls in
//! small steps; none sleeps a fixed time to "let the UI settle".

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{anyhow, Context, Result};
use fantoccini::elements::Element;
use fantoccini::error::CmdError;
use fantoccini::{Client, Locator};
use serde_json::Value;

use crate::{artifacts_dir, World, UI_TIMEOUT};

/// How often a condition is polled.
const POLL: Duration = Duration::from_millis(100);

/// The CSS selector of `data-testid=id`.
pub fn testid(id: &str) -> String {
    format!("[data-testid=\"{id}\"]")
}

/// Polls `probe` until it yields `Some`, for at most `timeout`. A probe that fails (e.g. an
/// element replaced while it was read) is retried; the last failure is in the timeout error.
pub async fn eventually<T>(
    what: &str,
    timeout: Duration,
    mut probe: impl AsyncFnMut() -> Result<Option<T>>,
) -> Result<T> {
    let deadline = tokio::time::Instant::now() + timeout;
    let mut last = None;
    loop {
        match probe().await {
            Ok(Some(value)) => return Ok(value),
            Ok(None) => {}
            Err(error) => last = Some(error),
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(match last {
                Some(error) => error.context(format!("{what}: not within {timeout:?}")),
                None => anyhow!("{what}: not within {timeout:?}"),
            });
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Waits for the element matching `css`.
pub async fn element(client: &Client, css: &str) -> Result<Element> {
    client
        .wait()
        .at_most(UI_TIMEOUT)
        .every(POLL)
        .for_element(Locator::Css(css))
        .await
        .with_context(|| format!("no element matches `{css}` within {UI_TIMEOUT:?}"))
}

/// Runs `act` on the element matching `css`, finding it again when the page replaced it
/// between finding and acting: the UI re-renders lists as data arrives, so a node found a
/// moment ago may be gone.
pub async fn on_element<T>(
    client: &Client,
    css: &str,
    act: impl AsyncFn(Element) -> Result<T, CmdError>,
) -> Result<T> {
    const ATTEMPTS: usize = 5;
    let mut attempt = 1;
    loop {
        let found = element(client, css).await?;
        match act(found).await {
            Ok(value) => return Ok(value),
            Err(e)
                if attempt < ATTEMPTS
                    && (e.is_stale_element_reference() || e.is_no_such_element()) =>
            {
                attempt += 1;
                tokio::time::sleep(POLL).await;
            }
            Err(e) => {
                let status = match &e {
                    CmdError::Standard(w) => format!(" ({})", w.error),
                    _ => String::new(),
                };
                return Err(e).with_context(|| format!("acting on `{css}`{status}"));
            }
        }
    }
}

/// Waits for the element and clicks it.
pub async fn click(client: &Client, css: &str) -> Result<()> {
    on_element(client, css, async |e| e.click().await)
        .await
        .with_context(|| format!("clicking `{css}`"))
}

/// Waits for the input and types `text` into it (after what it already holds).
///
/// WebKitWebDriver now and then fails a send-keys under load with an unnamed "unknown error"
/// (once in CI: the second field of a fresh form). Typing is then resumed from what the field
/// really holds: the rest of `text` is typed if the field holds a prefix of the intended
/// value, so a retry never types a character twice; anything else fails with what it holds.
pub async fn type_into(client: &Client, css: &str, text: &str) -> Result<()> {
    const ATTEMPTS: usize = 3;
    let before = value_of(client, css).await?;
    let intended = format!("{before}{text}");
    let mut rest = text.to_owned();
    let mut attempt = 1;
    loop {
        let typed = on_element(client, css, async |e| e.send_keys(&rest).await).await;
        let Err(error) = typed else { return Ok(()) };
        let error = error.context(format!("typing into `{css}` (attempt {attempt})"));
        let holds = value_of(client, css).await?;
        if holds == intended {
            return Ok(());
        }
        let resumable = holds.len() >= before.len() && intended.starts_with(&holds);
        if attempt >= ATTEMPTS || !resumable {
            return Err(error.context(format!(
                "the field holds {holds:?}, not the intended {intended:?}"
            )));
        }
        eprintln!("[e2e] {error:#}; typing the rest");
        rest = intended[holds.len()..].to_owned();
        attempt += 1;
        tokio::time::sleep(POLL).await;
    }
}

/// The current `value` of the input matching `css`.
pub async fn value_of(client: &Client, css: &str) -> Result<String> {
    Ok(on_element(client, css, async |e| e.prop("value").await)
        .await?
        .unwrap_or_default())
}

/// Runs `script` in the page (its `return` value comes back as JSON).
pub async fn js(client: &Client, script: &str, args: Vec<Value>) -> Result<Value> {
    client
        .execute(script, args)
        .await
        .with_context(|| format!("running in the page: {script}"))
}

/// Whether an element matches `css` now.
pub async fn exists(client: &Client, css: &str) -> Result<bool> {
    Ok(client
        .find_all(Locator::Css(css))
        .await?
        .into_iter()
        .next()
        .is_some())
}

/// Waits until the page has painted what the DOM holds now (two animation frames), so an X
/// screenshot shows it. Bounded: a wedged webview only costs the wait.
pub async fn painted(client: &Client) {
    let script = "const done = arguments[arguments.length - 1];\
                  requestAnimationFrame(() => requestAnimationFrame(() => done(true)));";
    let _ =
        tokio::time::timeout(Duration::from_secs(5), client.execute_async(script, vec![])).await;
}

/// Screenshot of a main screen, `shot` naming it (`register`, `inbox`…): into
/// `docs/screenshots/{shot}.png` when `DATAOPTIX_UPDATE_SCREENSHOTS=1` (the README's pictures),
/// else into the artefacts as `{world}-{shot}.png`.
pub async fn screenshot(client: &Client, world: &World, shot: &str) -> Result<PathBuf> {
    let path = if std::env::var("DATAOPTIX_UPDATE_SCREENSHOTS").as_deref() == Ok("1") {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../docs/screenshots")
            .components()
            .collect::<PathBuf>()
            .join(format!("{shot}.png"))
    } else {
        artifacts_dir().join(format!("{}-{shot}.png", world.name()))
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    painted(client).await;
    world.screenshot_root(&path);
    Ok(path)
}

/// Waits for the first start's screen and fails clearly unless it is the registration form:
/// the world's keyring is unlocked, so a passphrase prompt means the app did not find it.
pub async fn expect_registration_form(client: &Client) -> Result<()> {
    let form = testid("register-name");
    let passphrase = testid("passphrase");
    let shown = eventually("the registration form", UI_TIMEOUT, async || {
        if exists(client, &form).await? {
            return Ok(Some("form"));
        }
        if exists(client, &passphrase).await? {
            return Ok(Some("passphrase"));
        }
        Ok(None)
    })
    .await?;
    if shown == "passphrase" {
        return Err(anyhow!(
            "the app asks for a passphrase although the world's keyring is unlocked: it could \
             not use the Secret Service (see gnome-keyring.log and tauri-driver.log)"
        ));
    }
    Ok(())
}

/// The `textContent` of the element matching `css` (all of its text, exactly as the DOM holds
/// it; WebDriver's visible-text reading skips some inline children in WebKit).
pub async fn text_content(client: &Client, css: &str) -> Result<String> {
    element(client, css).await?;
    let text = js(
        client,
        "const e = document.querySelector(arguments[0]); return e === null ? null : e.textContent;",
        vec![Value::String(css.to_owned())],
    )
    .await?;
    text.as_str()
        .map(str::to_owned)
        .ok_or_else(|| anyhow!("`{css}` went away before its text was read"))
}
