//! The main journey in the real window, against the real relay (in process) with the Cloud API
//! simulator as its Graph API and webhook sender:
//!
//! register → Connect WhatsApp (the browser the app opens is a recorder; the Embedded Signup
//! page's completion is played against the relay; the `dataoptix://` link comes back the way
//! the OS delivers it: a second launch of the app binary, forwarded by single-instance) → a
//! customer writes → the owner replies and watches the ticks reach "read" → hostile content
//! stays text → full-text search finds an earlier message → in the templates studio a new
//! template is linted as it is typed, submitted, and turns approved live (Meta's review
//! arrives as a webhook through the relay; the page is not reloaded) → a customer silent for
//! 25 hours gets that template from the picker the closed window offers → the owner labels the
//! first conversation and leaves a private note → a broadcast of the approved template to that
//! label is previewed, sent, and its recipient reaches "sent" live → the business profile's
//! "about" is refused over Meta's limit, then saved and read back → the owner invites an
//! agent, and a second computer (its own display, keyring and data) joins with the link and
//! shows the reply, label and note →
//! the connection is lost (relay stopped, Meta unreachable): search still works and a reply
//! waits in the outbox, then goes out once when the connection is back → the customer's data
//! is exported as a readable archive, then erased from contacts, inbox and search → nothing
//! readable at rest.

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, ensure, Context, Result};
use dataoptix_sim::{RunningSim, SimConfig};
use e2e::ui::{self, testid};
use e2e::{RecordingBrowser, World, UI_TIMEOUT};
use fantoccini::Client;
use serde_json::{json, Value};
use testkit::TcpProxy;
use tokio::sync::oneshot;

const SECRET: &str = "e2e-journey-app-secret";
const CONFIG_ID: &str = "cfg-e2e-journey";
// Short: WebKitWebDriver types about 80 ms a key.
const PASSWORD: &str = "Crumbs&Co-2026";
const PIN: &str = "246810";

/// A template the simulator does not seed, approved by its review rules.
const TEMPLATE: &str = "e2e_pickup";
/// Long enough that the window shows the template in review before Meta's answer.
const REVIEW_DELAY_MS: u64 = 2_000;

/// A customer who last wrote 25 hours ago: outside the 24-hour window.
const LATE_CUSTOMER: &str = "16505550199";
const LATE_NAME: &str = "Marta Ruiz";
const LATE_MESSAGE: &str = "Could you bake a cake for Saturday?";
/// The parameter of the template sent to her.
const LATE_PARAM: &str = "Marta";

/// The broadcast sent to everyone labelled `LABEL`, and its variable's value.
const BROADCAST: &str = "Rye loaf weekend";
const BROADCAST_PARAM: &str = "Oat crumble";

/// The business profile's new "about" (Meta allows 139 characters).
const ABOUT: &str = "Sourdough and rye, baked at dawn";

/// What the team adds to the conversation, and what the second device must show.
const LABEL: &str = "vip";
const NOTE: &str = "Prefers rye; deliver before 9";
const AGENT_EMAIL: &str = "bo@panaderia.example";
const AGENT_NAME: &str = "Bo Agent";
/// Sent while the connection is lost: it waits in the outbox, then goes out.
const OFFLINE_REPLY: &str = "We will call you back at 9";

const CUSTOMER: &str = "16505551234";
const CUSTOMER_NAME: &str = "Sheena Nelson";
const FIRST_MESSAGE: &str = "Hello! Do you deliver croissants on Sundays?";
const REPLY: &str = "Yes, Sundays from 8 to 11!";

/// What a hostile customer may send. Each must reach the thread as the exact text, and none
/// may become markup, run script or become a link.
const HOSTILE: [&str; 4] = [
    "<script>window.__pwned=1</script>",
    "<img src=x onerror=\"window.__pwned=1\">",
    "[Track your order](javascript:alert(1)) javascript:alert(1)",
    // U+202E RIGHT-TO-LEFT OVERRIDE: "invoice.exe" disguised as a PDF when rendered.
    "Your invoice: \u{202E}fdp.exe",
];

/// The relay (in process, on a free port) with the simulator as its Graph API and the
/// simulator's webhooks pointed at it. The app and the relay reach "Meta" through an
/// unpluggable proxy, and the relay can be stopped and started again on its port and data
/// directory: the journey's offline step takes both away, as a lost connection would.
struct Servers {
    base: String,
    sim: RunningSim,
    graph: TcpProxy,
    config: relay::Config,
    running: Option<RunningRelay>,
    /// The relay's data directory (scanned for plaintext at the end).
    dir: tempfile::TempDir,
}

/// The relay serving on its port.
struct RunningRelay {
    stop: oneshot::Sender<()>,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
    relay: relay::Relay,
}

impl RunningRelay {
    async fn start(config: relay::Config, listener: tokio::net::TcpListener) -> Result<Self> {
        let relay = relay::Relay::open(config)
            .await
            .context("opening the relay")?;
        let router = relay::app(relay.state());
        let (stop, stopped) = oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            axum::serve(
                listener,
                router.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .await
        });
        Ok(Self {
            stop,
            server,
            relay,
        })
    }

    async fn stop(mut self) -> Result<()> {
        // Ends the streams devices hold open, so the graceful shutdown does not wait on them.
        self.relay.begin_shutdown();
        let _ = self.stop.send(());
        match tokio::time::timeout(Duration::from_secs(10), &mut self.server).await {
            Ok(served) => served??,
            Err(_) => self.server.abort(),
        }
        self.relay.close().await.context("closing the relay")
    }
}

impl Servers {
    /// The relay's listener first (the simulator needs its webhook URL), then the simulator,
    /// then the relay configured with the simulator (behind the proxy) as its Graph API.
    async fn start() -> Result<Self> {
        let dir = tempfile::tempdir()?;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let base = format!("http://{}", listener.local_addr()?);
        let mut sim_config = SimConfig {
            webhook_url: Some(format!("{base}/webhooks/meta")),
            ..SimConfig::for_tests(SECRET)
        };
        // Slow enough that the window shows the ticks move, fast enough for a test.
        sim_config.statuses.sent_delay_ms = 150;
        sim_config.statuses.delivered_delay_ms = 400;
        sim_config.statuses.read_delay_ms = Some(800);
        sim_config.templates.review_delay_ms = REVIEW_DELAY_MS;
        let sim = dataoptix_sim::spawn(sim_config)
            .await
            .context("starting the simulator")?;
        let graph = TcpProxy::up_to(&sim.info.base_url).await?;
        let mut config = relay::Config::for_tests(dir.path(), SECRET);
        config.public_origin = Some(base.clone());
        config.graph_base_url = graph.url();
        config.graph_version = sim.info.graph_version.clone();
        config.meta_app_id = Some(sim.info.app_id.clone());
        config.meta_config_id = Some(CONFIG_ID.into());
        config.sdk_url = Some(sim.info.sdk_url.clone());
        let running = RunningRelay::start(config.clone(), listener).await?;
        Ok(Self {
            base,
            sim,
            graph,
            config,
            running: Some(running),
            dir,
        })
    }

    /// The connection is lost: the relay is stopped and Meta cannot be reached.
    async fn go_offline(&mut self) -> Result<()> {
        self.graph.unplug();
        if let Some(running) = self.running.take() {
            running.stop().await?;
        }
        Ok(())
    }

    /// The connection is back: the relay starts again on its port and data, Meta answers.
    async fn come_back(&mut self) -> Result<()> {
        let address = self.base.trim_start_matches("http://");
        let listener = tokio::net::TcpListener::bind(address)
            .await
            .with_context(|| format!("binding the relay's address {address} again"))?;
        self.running = Some(RunningRelay::start(self.config.clone(), listener).await?);
        self.graph.plug().await
    }

    async fn stop(mut self) -> Result<()> {
        // The app is gone by now; a stream it left open must not hold the test.
        if let Some(running) = self.running.take() {
            running.stop().await?;
        }
        self.sim.stop();
        Ok(())
    }

    /// What the onboarding page does once Meta's flow finishes (the simulator plays Meta):
    /// report code, ids and PIN to the relay. Returns the signup and the page's redirect.
    async fn finish_signup_on_the_page(&self, session_id: &str) -> Result<(Value, String)> {
        let http = reqwest::Client::new();
        let signup: Value = http
            .post(self.sim.control_url("/signup/session"))
            .json(
                &json!({"app_id": self.sim.info.app_id, "config_id": CONFIG_ID,
                "business_name": "Panadería Ana"}),
            )
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        let response = http
            .post(format!("{}/onboarding/{session_id}/complete", self.base))
            .json(&json!({"event": "FINISH", "code": signup["code"],
                "waba_id": signup["waba_id"], "phone_number_id": signup["phone_number_id"],
                "business_id": signup["business_id"], "pin": PIN}))
            .send()
            .await?;
        let status = response.status();
        let body: Value = response.json().await?;
        ensure!(
            status.is_success(),
            "the relay refused the completion: {body}"
        );
        let redirect = body["redirect"]
            .as_str()
            .ok_or_else(|| anyhow!("no redirect in {body}"))?
            .to_owned();
        Ok((signup, redirect))
    }

    /// The customer sends `text` to `phone_number_id`; returns the message's wamid.
    async fn customer_writes(&self, phone_number_id: &str, text: &str) -> Result<String> {
        self.someone_writes(phone_number_id, CUSTOMER, CUSTOMER_NAME, text)
            .await
    }

    /// `from` (named `name`) sends `text` to `phone_number_id`; returns the wamid.
    async fn someone_writes(
        &self,
        phone_number_id: &str,
        from: &str,
        name: &str,
        text: &str,
    ) -> Result<String> {
        let sent: Value = reqwest::Client::new()
            .post(self.sim.control_url("/inbound"))
            .json(&json!({"from": from, "name": name,
                "phone_number_id": phone_number_id, "type": "text", "text": {"body": text}}))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        sent["id"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| anyhow!("the simulator returned no message id: {sent}"))
    }

    /// Moves Meta's (the simulator's) clock by `seconds`, which may be negative.
    async fn move_meta_clock(&self, seconds: i64) -> Result<()> {
        reqwest::Client::new()
            .post(self.sim.control_url("/clock/advance"))
            .json(&json!({ "seconds": seconds }))
            .send()
            .await?
            .error_for_status()?;
        Ok(())
    }

    /// What the business sent to the customer, as Meta (the simulator) recorded it.
    async fn sent_to_customer(&self) -> Result<Vec<Value>> {
        self.sent_to(CUSTOMER).await
    }

    /// What the business sent to `to`, as Meta recorded it.
    async fn sent_to(&self, to: &str) -> Result<Vec<Value>> {
        let sent: Value = reqwest::get(self.sim.control_url(&format!("/sent?to={to}")))
            .await?
            .error_for_status()?
            .json()
            .await?;
        Ok(sent["data"].as_array().cloned().unwrap_or_default())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn register_connect_receive_reply_and_search_in_the_real_window() -> Result<()> {
    let mut servers = Servers::start().await?;
    let relay_base = servers.base.clone();
    // Exports are the user's own readable copies: kept apart from the scanned app files.
    let exports = tempfile::tempdir()?;
    let export_dir = exports.path().display().to_string();
    let browser: Arc<OnceLock<RecordingBrowser>> = Arc::new(OnceLock::new());
    let installed = Arc::clone(&browser);
    let outcome = e2e::run(
        "journey",
        move |home| {
            let recorder = RecordingBrowser::install(home)?;
            let browser_env = recorder.env();
            installed
                .set(recorder)
                .map_err(|_| anyhow!("the browser was installed twice"))?;
            Ok(vec![
                ("DATAOPTIX_DEFAULT_RELAY".to_owned(), relay_base),
                ("DATAOPTIX_EXPORT_DIR".to_owned(), export_dir),
                // WebKit's mock microphone (a generated tone) for the voice note.
                ("DATAOPTIX_FAKE_MICROPHONE".to_owned(), "1".to_owned()),
                browser_env,
            ])
        },
        async |client, world| {
            let browser = browser
                .get()
                .ok_or_else(|| anyhow!("the world was started without the recording browser"))?;
            journey(&client, world, &mut servers, browser, exports.path()).await
        },
    )
    .await;
    let stopped = servers.stop().await;
    outcome?;
    stopped
}

/// Times each stage, for the test's output.
struct Stages {
    started: Instant,
    last: Instant,
}

impl Stages {
    fn new() -> Self {
        let now = Instant::now();
        Self {
            started: now,
            last: now,
        }
    }

    fn done(&mut self, stage: &str) {
        let now = Instant::now();
        eprintln!(
            "[e2e journey] {stage}: {:.1?} (total {:.1?})",
            now - self.last,
            now - self.started
        );
        self.last = now;
    }
}

async fn journey(
    client: &Client,
    world: &World,
    servers: &mut Servers,
    browser: &RecordingBrowser,
    exports: &std::path::Path,
) -> Result<()> {
    let mut stages = Stages::new();
    register(client, world, servers).await?;
    stages.done("registered");
    let number = connect(client, world, servers, browser).await?;
    stages.done("number connected through Embedded Signup and the deep link");
    let (conversation, first_wamid) = receive(client, world, servers, &number).await?;
    stages.done("customer message received and shown");
    reply_and_watch_the_ticks(client, servers).await?;
    stages.done("reply sent, ticks reached read");
    record_a_voice_note(client, servers).await?;
    stages.done("voice note recorded from the microphone, sent as OGG/Opus");
    hostile_content_stays_text(client, world, servers, &number).await?;
    stages.done("hostile content shown as text");
    search(client, &conversation, &first_wamid).await?;
    stages.done("search");
    create_and_submit_a_template(client, world).await?;
    stages.done("template created, submitted and approved live");
    template_outside_the_window(client, world, servers, &number).await?;
    stages.done("outside the window: template picker offered, template sent");
    label_and_note(client, &conversation).await?;
    stages.done("label and private note added");
    broadcast_to_the_label(client, world, servers).await?;
    stages.done("broadcast to the label: preview, send, recipient reached sent live");
    edit_the_business_profile(client).await?;
    stages.done("business profile: over-long about refused on its field, then saved at Meta");
    let link = invite_an_agent(client).await?;
    stages.done("agent invited");
    a_second_device_sees_the_team_inbox(servers, link).await?;
    stages.done("second device joined: reply, label and note shown");
    offline_search_and_queued_send(client, world, servers, &conversation, &first_wamid).await?;
    stages.done("offline: search works, the reply waited and went out when back");
    export_and_erase_the_customer(client, world, exports).await?;
    stages.done("contact exported, then erased from contacts, inbox and search");
    nothing_readable_at_rest(world, servers).await?;
    stages.done("no plaintext at rest (texts, password, PIN, WhatsApp tokens)");
    Ok(())
}

/// After the journey, the app's files (its encrypted store and media, the WebView's storage
/// and caches, its logs — everything under the throwaway home except the harness's own
/// `logs/`, where the WebDriver records the keys it typed) and the relay's data directory hold
/// none of what was typed or said in plaintext: the password, the PIN, message texts, the
/// customer's name, the team's note — nor any WhatsApp access token "Meta" issued (the
/// Embedded Signup exchange's included), which the app keeps sealed in its vault.
async fn nothing_readable_at_rest(world: &World, servers: &Servers) -> Result<()> {
    let state: Value = reqwest::get(servers.sim.control_url("/state"))
        .await?
        .error_for_status()?
        .json()
        .await?;
    let tokens: Vec<&str> = state["tokens"]
        .as_array()
        .ok_or_else(|| anyhow!("no tokens in the simulator's state"))?
        .iter()
        .filter_map(|t| t["token"].as_str())
        .collect();
    // The pre-provisioned number's token and the one the onboarding exchange issued.
    ensure!(
        tokens.len() >= 2,
        "expected at least two tokens: {tokens:?}"
    );
    let scanned = scan_for_plaintext(
        &[world.home(), servers.dir.path()],
        &world.logs_dir(),
        &tokens,
    )?;
    scanned.expect_stores(&["dataoptix.db", "relay.sqlite3"])
}

/// What a plaintext scan saw.
struct Scanned {
    files: usize,
    stores: Vec<String>,
    hits: Vec<String>,
}

impl Scanned {
    /// Clean, and the scan reached exactly these stores (or it looked in the wrong places).
    fn expect_stores(mut self, expected: &[&str]) -> Result<()> {
        self.stores.sort();
        ensure!(
            self.stores == expected,
            "the scan did not reach the stores {expected:?} (found {:?} among {} files)",
            self.stores,
            self.files
        );
        ensure!(
            self.hits.is_empty(),
            "plaintext at rest:\n{}",
            self.hits.join("\n")
        );
        Ok(())
    }
}

/// Reads every file under `roots` (except under `skip`) looking for the journey's secrets and
/// texts.
fn scan_for_plaintext(
    roots: &[&std::path::Path],
    skip: &std::path::Path,
    secrets: &[&str],
) -> Result<Scanned> {
    let needles: Vec<&str> = [
        PASSWORD,
        PIN,
        FIRST_MESSAGE,
        REPLY,
        CUSTOMER_NAME,
        LATE_MESSAGE,
        NOTE,
        OFFLINE_REPLY,
        BROADCAST,
        BROADCAST_PARAM,
    ]
    .into_iter()
    .chain(HOSTILE)
    .chain(secrets.iter().copied())
    .collect();
    let mut scanned = Scanned {
        files: 0,
        stores: Vec::new(),
        hits: Vec::new(),
    };
    for root in roots {
        let mut stack = vec![root.to_path_buf()];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir)? {
                let path = entry?.path();
                if path == skip {
                    continue;
                }
                let meta = std::fs::symlink_metadata(&path)?;
                if meta.is_dir() {
                    stack.push(path);
                } else if meta.is_file() {
                    scanned.files += 1;
                    if let Some(name @ ("dataoptix.db" | "relay.sqlite3")) =
                        path.file_name().and_then(|n| n.to_str())
                    {
                        scanned.stores.push(name.to_owned());
                    }
                    let bytes = std::fs::read(&path)?;
                    for needle in &needles {
                        if bytes.windows(needle.len()).any(|w| w == needle.as_bytes()) {
                            scanned
                                .hits
                                .push(format!("{} holds {needle:?}", path.display()));
                        }
                    }
                }
            }
        }
    }
    eprintln!(
        "[e2e journey] scanned {} files for {} plaintexts",
        scanned.files,
        needles.len()
    );
    Ok(scanned)
}

/// The templates studio: a name that breaks Meta's rules is flagged as it is typed; fixed, the
/// template is submitted, shows "in review", and turns "approved" when the simulator's review
/// webhook arrives — without a reload (a marker set in the page survives).
async fn create_and_submit_a_template(client: &Client, world: &World) -> Result<()> {
    ui::click(client, &testid("nav-templates")).await?;
    ui::click(client, &testid("template-new")).await?;
    ui::type_into(client, &testid("template-name"), "Pickup").await?;
    ui::type_into(
        client,
        &testid("template-body"),
        "Hi {{1}}, your order is ready.",
    )
    .await?;
    // Rust's lint flags the name next to its field, and the body's variable lacks a sample.
    ui::element(
        client,
        &format!("{}[aria-invalid=\"true\"]", testid("template-name")),
    )
    .await?;
    ui::element(
        client,
        &format!("{}[data-field=\"body.example\"]", testid("lint-issue")),
    )
    .await?;
    // Fix the name and give the variable its sample.
    let name = ui::element(client, &testid("template-name")).await?;
    name.clear().await?;
    name.send_keys(TEMPLATE).await?;
    ui::type_into(client, &testid("template-body-example"), "Ana").await?;
    ui::element(client, &testid("lint-clean")).await?;
    let preview = ui::text_content(client, &testid("template-editor-preview")).await?;
    ensure!(
        preview.contains("Hi Ana, your order is ready."),
        "the preview reads {preview:?}"
    );
    ui::screenshot(client, world, "template-editor").await?;
    ui::js(client, "window.__studioMarker = 'kept';", vec![]).await?;
    ui::eventually("the submit button enabled", UI_TIMEOUT, async || {
        let enabled = ui::element(client, &testid("template-submit"))
            .await?
            .is_enabled()
            .await?;
        Ok(enabled.then_some(()))
    })
    .await?;
    ui::click(client, &testid("template-submit")).await?;
    let status = format!(
        "{}[data-name=\"{TEMPLATE}\"] {}",
        testid("template-row"),
        testid("template-status")
    );
    let first = ui::element(client, &status)
        .await?
        .attr("data-status")
        .await?
        .unwrap_or_default();
    ensure!(
        first == "PENDING",
        "a submitted template reads {first:?}, not in review"
    );
    ui::eventually("the template approved live", UI_TIMEOUT, async || {
        let now = ui::element(client, &status)
            .await?
            .attr("data-status")
            .await?;
        Ok((now.as_deref() == Some("APPROVED")).then_some(()))
    })
    .await?;
    let marker = ui::js(client, "return String(window.__studioMarker);", vec![]).await?;
    ensure!(
        marker == json!("kept"),
        "the page was reloaded to show the approval (marker is {marker})"
    );
    ui::screenshot(client, world, "templates").await?;
    Ok(())
}

/// The first start shows the registration form with the relay prefilled; the owner registers.
async fn register(client: &Client, world: &World, servers: &Servers) -> Result<()> {
    ui::expect_registration_form(client).await?;
    let relay = ui::value_of(client, &testid("register-relay")).await?;
    ensure!(
        relay == servers.base,
        "the relay field holds {relay:?}, not DATAOPTIX_DEFAULT_RELAY {:?}",
        servers.base
    );
    for (field, value) in [
        ("register-name", "Ana Owner"),
        ("register-email", "ana@panaderia.example"),
        ("register-company", "Panadería Ana"),
        ("register-password", PASSWORD),
        ("register-password-confirm", PASSWORD),
    ] {
        ui::type_into(client, &testid(field), value).await?;
    }
    ui::screenshot(client, world, "register").await?;
    ui::click(client, &testid("register-submit")).await?;
    // Signed in without a number: the app goes straight to Connect WhatsApp.
    let connect = testid("connect-whatsapp");
    let error = testid("auth-error");
    let outcome = ui::eventually("the Connect WhatsApp screen", UI_TIMEOUT, async || {
        if ui::exists(client, &connect).await? {
            return Ok(Some(None));
        }
        if ui::exists(client, &error).await? {
            return Ok(Some(Some(ui::text_content(client, &error).await?)));
        }
        Ok(None)
    })
    .await?;
    if let Some(error) = outcome {
        bail!("registering failed in the window: {error}");
    }
    Ok(())
}

/// Connect WhatsApp → the page opens in "the browser" → Meta's flow finishes there → the
/// `dataoptix://` link reaches the running app through a second launch. Returns the
/// connected number's id.
async fn connect(
    client: &Client,
    world: &World,
    servers: &Servers,
    browser: &RecordingBrowser,
) -> Result<String> {
    let app = e2e::app_binary()?;
    ui::screenshot(client, world, "connect").await?;
    ui::click(client, &testid("connect-whatsapp")).await?;

    let url = browser.wait_for_url(UI_TIMEOUT).await?;
    let page = format!("{}/onboarding/", servers.base);
    let session_id = url
        .strip_prefix(&page)
        .filter(|id| !id.is_empty() && !id.contains(['/', '?', '#']))
        .ok_or_else(|| anyhow!("the app opened {url:?}, not a page under {page}"))?
        .to_owned();
    let waiting = format!("{}[data-state=\"waiting\"]", testid("onboarding-status"));
    ui::element(client, &waiting).await?;

    // The OS path for links works end to end: a link for a session this app did not start,
    // handed over by a second launch, is refused with a notice (and changes nothing).
    let foreign = format!(
        "dataoptix://onboarding/complete?session={}",
        "A".repeat(session_id.len().max(16))
    );
    let status = world.launch_again(&app, &[&foreign]).await?;
    ensure!(
        status.success(),
        "the second launch with a link exited with {status}"
    );
    ui::element(client, &testid("deep-link-rejected")).await?;
    ui::click(client, &format!("{} button", testid("deep-link-rejected"))).await?;
    ensure!(
        ui::exists(client, &waiting).await?,
        "a refused link changed the Connect screen"
    );

    let (signup, redirect) = servers.finish_signup_on_the_page(&session_id).await?;
    ensure!(
        redirect == format!("dataoptix://onboarding/complete?session={session_id}"),
        "the page would redirect to {redirect:?}"
    );
    let number = signup["phone_number_id"]
        .as_str()
        .ok_or_else(|| anyhow!("no phone_number_id in {signup}"))?
        .to_owned();
    let status = world.launch_again(&app, &[&redirect]).await?;
    ensure!(
        status.success(),
        "the second launch with the onboarding link exited with {status}"
    );
    ensure!(
        browser.opened().len() == 1,
        "the browser was asked to open more than the onboarding page: {:?}",
        browser.opened()
    );

    let card = ui::element(client, &testid("connected-number")).await?;
    let shown = card.attr("data-phone-number-id").await?;
    ensure!(
        shown.as_deref() == Some(number.as_str()),
        "the window shows number {shown:?}, Embedded Signup connected {number}"
    );
    let display = signup["display_phone_number"].as_str().unwrap_or_default();
    let text = ui::text_content(client, &testid("connected-number")).await?;
    ensure!(
        !display.is_empty() && text.contains(display),
        "the number card reads {text:?}, expected the display number {display:?}"
    );
    ui::click(client, &testid("connect-done")).await?;
    ui::element(client, &testid("inbox-empty")).await?;
    Ok(number)
}

/// A customer writes through Meta; the conversation appears and its thread shows the text.
/// Returns the conversation id and the message's wamid.
async fn receive(
    client: &Client,
    world: &World,
    servers: &Servers,
    number: &str,
) -> Result<(String, String)> {
    let wamid = servers.customer_writes(number, FIRST_MESSAGE).await?;
    let conversation = conversation_row_of(client, CUSTOMER_NAME).await?;
    ui::screenshot(client, world, "inbox").await?;
    ui::click(client, &conversation_row(&conversation)).await?;
    let message = wait_for_message(client, "the customer's message in the thread", |m| {
        m.text.as_deref() == Some(FIRST_MESSAGE)
    })
    .await?;
    ensure!(!message.out, "the customer's message is drawn as outgoing");
    ensure!(
        message.wamid.as_deref() == Some(wamid.as_str()),
        "the thread's message has wamid {:?}, Meta sent {wamid}",
        message.wamid
    );
    let window = ui::element(client, &testid("window-state"))
        .await?
        .attr("data-open")
        .await?;
    ensure!(
        window.as_deref() == Some("true"),
        "the 24-hour window should be open after the customer wrote (data-open={window:?})"
    );
    Ok((conversation, wamid))
}

/// The owner replies with the composer; the bubble's status climbs to `read` and never goes
/// back, and Meta received exactly that text.
async fn reply_and_watch_the_ticks(client: &Client, servers: &Servers) -> Result<()> {
    ui::type_into(client, &testid("composer-input"), REPLY).await?;
    ui::click(client, &testid("composer-send")).await?;

    let rank = |status: &str| {
        ["pending", "sent", "delivered", "read"]
            .iter()
            .position(|s| *s == status)
    };
    let mut seen: Vec<String> = Vec::new();
    let reply = ui::eventually("the reply to be read", UI_TIMEOUT, async || {
        let Some(message) = thread_messages(client)
            .await?
            .into_iter()
            .find(|m| m.out && m.text.as_deref() == Some(REPLY))
        else {
            return Ok(None);
        };
        let status = message.status.clone().unwrap_or_default();
        if status == "failed" {
            bail!("the reply failed: {message:?}");
        }
        if seen.last() != Some(&status) {
            seen.push(status.clone());
        }
        Ok((status == "read").then_some(message))
    })
    .await
    .with_context(|| format!("statuses seen on the reply: {seen:?}"))?;
    let ranks: Vec<_> = seen.iter().map(|s| rank(s)).collect();
    ensure!(
        ranks.iter().all(Option::is_some) && ranks.windows(2).all(|w| w[0] < w[1]),
        "the reply's status went {seen:?}: unknown or backwards"
    );
    eprintln!("[e2e journey] reply statuses seen in the window: {seen:?}");
    let composer = ui::value_of(client, &testid("composer-input")).await?;
    ensure!(
        composer.is_empty(),
        "the composer still holds {composer:?} after sending"
    );

    let wamid = reply
        .wamid
        .ok_or_else(|| anyhow!("the read reply has no wamid in the window"))?;
    let sent = servers.sent_to_customer().await?;
    let at_meta = sent
        .iter()
        .find(|m| m["id"] == wamid.as_str())
        .ok_or_else(|| anyhow!("Meta has no message {wamid}; it has {sent:?}"))?;
    ensure!(
        at_meta["request"]["text"]["body"] == REPLY,
        "Meta received {:?}",
        at_meta["request"]
    );
    ensure!(
        at_meta["statuses"]
            .as_array()
            .is_some_and(|s| s.iter().any(|s| s == "read")),
        "Meta never reported the reply read: {at_meta}"
    );
    Ok(())
}

/// The microphone button records (WebKit's mock microphone here, through the real
/// `getUserMedia` pipeline and permission handler), Send encodes OGG/Opus, and Meta receives an
/// audio message marked as a voice note, which the thread shows with a player.
async fn record_a_voice_note(client: &Client, servers: &Servers) -> Result<()> {
    let before = voice_notes_at_meta(servers).await?.len();
    ui::click(client, &testid("composer-record")).await?;
    ui::eventually("two seconds recorded", UI_TIMEOUT, async || {
        let elapsed = ui::text_content(client, &testid("voice-elapsed")).await?;
        let seconds = elapsed
            .trim()
            .split_once(':')
            .and_then(|(m, s)| Some(m.parse::<u32>().ok()? * 60 + s.parse::<u32>().ok()?));
        Ok(seconds.filter(|s| *s >= 2).map(|_| ()))
    })
    .await
    .context("the recorder never counted two seconds (is the microphone allowed?)")?;
    ui::click(client, &testid("voice-send")).await?;
    ui::eventually("the voice note in the thread", UI_TIMEOUT, async || {
        let players = ui::js(
            client,
            "return Array.from(document.querySelectorAll(\
               '[data-testid=thread] [data-testid=message].out audio[data-voice=true]')).length;",
            vec![],
        )
        .await?;
        Ok((players.as_u64().unwrap_or(0) > 0).then_some(()))
    })
    .await?;
    let sent = ui::eventually("Meta to receive the voice note", UI_TIMEOUT, async || {
        let notes = voice_notes_at_meta(servers).await?;
        Ok((notes.len() > before).then_some(notes))
    })
    .await?;
    let note = sent
        .last()
        .ok_or_else(|| anyhow!("no voice note at Meta"))?;
    let id = note["request"]["audio"]["id"]
        .as_str()
        .ok_or_else(|| anyhow!("Meta received {:?}", note["request"]))?;
    // What was uploaded: OGG, and sound rather than silence (the mock microphone plays a tone;
    // Opus spends a few bytes per frame on silence, ~8 KB on two seconds of tone at 32 kbit/s).
    let state: Value = reqwest::get(servers.sim.control_url("/state"))
        .await?
        .error_for_status()?
        .json()
        .await?;
    let media = state["media"]
        .as_array()
        .and_then(|all| all.iter().find(|m| m["id"] == id))
        .ok_or_else(|| anyhow!("Meta holds no media {id}"))?;
    let size = media["file_size"].as_u64().unwrap_or(0);
    ensure!(
        media["mime_type"] == "audio/ogg" && size > 4_000,
        "the voice note uploaded to Meta is {media}: not OGG, or silence"
    );
    eprintln!("[e2e journey] voice note at Meta: {size} bytes of OGG/Opus");
    Ok(())
}

/// The audio messages marked as voice notes that Meta received for the customer.
async fn voice_notes_at_meta(servers: &Servers) -> Result<Vec<Value>> {
    Ok(servers
        .sent_to_customer()
        .await?
        .into_iter()
        .filter(|m| m["type"] == "audio" && m["request"]["audio"]["voice"] == true)
        .collect())
}

/// Markup, script, `javascript:` links and bidi overrides from a customer are shown as the
/// exact text they sent: nothing is parsed, run or linked.
async fn hostile_content_stays_text(
    client: &Client,
    world: &World,
    servers: &Servers,
    number: &str,
) -> Result<()> {
    for text in HOSTILE {
        servers.customer_writes(number, text).await?;
    }
    ui::eventually(
        "every hostile message in the thread",
        UI_TIMEOUT,
        async || {
            let texts: Vec<String> = thread_messages(client)
                .await?
                .into_iter()
                .filter_map(|m| m.text)
                .collect();
            Ok(HOSTILE
                .iter()
                .all(|h| texts.iter().any(|t| t == h))
                .then_some(()))
        },
    )
    .await?;
    let injected = ui::js(
        client,
        "return document.querySelectorAll(\
           '[data-testid=thread] img[src=\"x\"], [data-testid=thread] script, \
            [data-testid=thread] a[href^=\"javascript:\" i]').length;",
        vec![],
    )
    .await?;
    ensure!(
        injected == json!(0),
        "customer text became markup in the thread: {injected} injected elements"
    );
    let pwned = ui::js(client, "return typeof window.__pwned;", vec![]).await?;
    ensure!(
        pwned == json!("undefined"),
        "customer text ran script: window.__pwned is {pwned}"
    );
    ui::screenshot(client, world, "thread").await?;
    Ok(())
}

/// A word from the first message finds it; the result opens its conversation.
async fn search(client: &Client, conversation: &str, first_wamid: &str) -> Result<()> {
    ui::type_into(client, &testid("search-input"), "croissants").await?;
    let hit = format!("{}[data-wamid=\"{first_wamid}\"]", testid("search-result"));
    let result = ui::element(client, &hit).await?;
    let text = ui::text_content(client, &hit).await?;
    ensure!(
        text.contains(CUSTOMER_NAME) && text.contains("croissants"),
        "the search result reads {text:?}"
    );
    let others = ui::js(
        client,
        "return document.querySelectorAll('[data-testid=search-result]').length;",
        vec![],
    )
    .await?;
    ensure!(
        others == json!(1),
        "\"croissants\" is in one message, the search shows {others} results"
    );
    result.click().await?;
    ui::element(client, &thread_of(conversation)).await?;
    let query = ui::value_of(client, &testid("search-input")).await?;
    ensure!(
        query.is_empty(),
        "opening a result leaves the search at {query:?}"
    );
    Ok(())
}

/// One bubble of the open thread, as the page draws it.
#[derive(Debug, Clone)]
struct Bubble {
    text: Option<String>,
    status: Option<String>,
    wamid: Option<String>,
    out: bool,
}

async fn thread_messages(client: &Client) -> Result<Vec<Bubble>> {
    let rows = ui::js(
        client,
        "return Array.from(document.querySelectorAll(\
           '[data-testid=thread] [data-testid=message]')).map(m => {\
           const text = m.querySelector('[data-testid=message-text]');\
           return { text: text === null ? null : text.textContent,\
                    status: m.getAttribute('data-status'),\
                    wamid: m.getAttribute('data-wamid'),\
                    out: m.classList.contains('out') };\
         });",
        vec![],
    )
    .await?;
    let owned = |v: &Value| v.as_str().map(str::to_owned);
    Ok(rows
        .as_array()
        .map(|rows| {
            rows.iter()
                .map(|row| Bubble {
                    text: owned(&row["text"]),
                    status: owned(&row["status"]),
                    wamid: owned(&row["wamid"]),
                    out: row["out"].as_bool().unwrap_or(false),
                })
                .collect()
        })
        .unwrap_or_default())
}

async fn wait_for_message(
    client: &Client,
    what: &str,
    accept: impl Fn(&Bubble) -> bool,
) -> Result<Bubble> {
    ui::eventually(what, UI_TIMEOUT, async || {
        Ok(thread_messages(client).await?.into_iter().find(&accept))
    })
    .await
}

/// The id of the conversation row showing `name`, once the inbox lists it.
async fn conversation_row_of(client: &Client, name: &str) -> Result<String> {
    ui::eventually(
        &format!("the conversation row of {name}"),
        UI_TIMEOUT,
        async || {
            let rows = ui::js(
                client,
                "return Array.from(document.querySelectorAll('[data-testid=conversation-row]'))\
               .map(r => [r.getAttribute('data-conversation-id'), r.textContent]);",
                vec![],
            )
            .await?;
            Ok(rows.as_array().and_then(|rows| {
                rows.iter().find_map(|row| {
                    let text = row[1].as_str()?;
                    text.contains(name)
                        .then(|| row[0].as_str().map(str::to_owned))
                        .flatten()
                })
            }))
        },
    )
    .await
}

/// Waits until the conversation's row in the list contains `text`.
async fn row_shows(client: &Client, conversation: &str, text: &str) -> Result<()> {
    let row = conversation_row(conversation);
    ui::eventually(
        &format!("the conversation row showing {text:?}"),
        UI_TIMEOUT,
        async || {
            Ok(ui::text_content(client, &row)
                .await?
                .contains(text)
                .then_some(()))
        },
    )
    .await
}

fn conversation_row(conversation: &str) -> String {
    format!(
        "{}[data-conversation-id=\"{conversation}\"]",
        testid("conversation-row")
    )
}

/// Waits until the app's window is titled `title`.
async fn window_title_becomes(world: &World, title: &str) -> Result<()> {
    let mut seen = Vec::new();
    ui::eventually(
        &format!("the window titled {title:?}"),
        UI_TIMEOUT,
        async || {
            seen = world.window_titles()?;
            Ok(seen.iter().any(|t| t == title).then_some(()))
        },
    )
    .await
    .with_context(|| format!("window titles: {seen:?}"))
}

/// Opens the inbox and the conversation.
async fn open_conversation(client: &Client, conversation: &str) -> Result<()> {
    ui::click(client, &testid("nav-inbox")).await?;
    ui::click(client, &conversation_row(conversation)).await?;
    ui::element(client, &thread_of(conversation)).await?;
    Ok(())
}

/// The open thread of `conversation`.
fn thread_of(conversation: &str) -> String {
    format!(
        "{}[data-conversation-id=\"{conversation}\"]",
        testid("thread")
    )
}

/// A customer whose last message is 25 hours old: the thread says the window is closed, the
/// composer gives way to the template picker, and the approved template goes out with its
/// parameter — Meta receives a template message, not free text.
async fn template_outside_the_window(
    client: &Client,
    world: &World,
    servers: &Servers,
    number: &str,
) -> Result<()> {
    const DAY_AND_AN_HOUR: i64 = 25 * 3600;
    // Meta's clock goes back for her message, and forward again at once.
    servers.move_meta_clock(-DAY_AND_AN_HOUR).await?;
    let written = servers
        .someone_writes(number, LATE_CUSTOMER, LATE_NAME, LATE_MESSAGE)
        .await;
    servers.move_meta_clock(DAY_AND_AN_HOUR).await?;
    written?;

    // Unread: the window's title counts it (taskbars show it), until the thread is opened.
    window_title_becomes(world, "(1) DataOptix").await?;
    ui::click(client, &testid("nav-inbox")).await?;
    let conversation = conversation_row_of(client, LATE_NAME).await?;
    open_conversation(client, &conversation).await?;
    window_title_becomes(world, "DataOptix").await?;
    wait_for_message(client, "her day-old message", |m| {
        m.text.as_deref() == Some(LATE_MESSAGE)
    })
    .await?;
    let window = ui::element(client, &testid("window-state"))
        .await?
        .attr("data-open")
        .await?;
    ensure!(
        window.as_deref() == Some("false"),
        "a customer silent for 25 hours shows the window as data-open={window:?}"
    );
    ensure!(
        !ui::exists(client, &testid("composer-input")).await?,
        "the free-form composer is offered outside the window"
    );
    ui::click(
        client,
        &format!("{}[data-name=\"{TEMPLATE}\"]", testid("template-option")),
    )
    .await?;
    ui::type_into(client, &testid("template-param"), LATE_PARAM).await?;
    ui::screenshot(client, world, "template-outside-window").await?;
    ui::click(client, &testid("template-send")).await?;

    let sent = wait_for_message(client, "the template delivered in the thread", |m| {
        m.out && matches!(m.status.as_deref(), Some("delivered" | "read"))
    })
    .await?;
    let wamid = sent
        .wamid
        .ok_or_else(|| anyhow!("the sent template has no wamid in the window"))?;
    let at_meta = servers.sent_to(LATE_CUSTOMER).await?;
    let request = at_meta
        .iter()
        .find(|m| m["id"] == wamid.as_str())
        .map(|m| &m["request"])
        .ok_or_else(|| anyhow!("Meta has no message {wamid}: {at_meta:?}"))?;
    ensure!(
        request["type"] == "template" && request["template"]["name"] == TEMPLATE,
        "Meta received {request}, not the template {TEMPLATE}"
    );
    ensure!(
        request.to_string().contains(LATE_PARAM),
        "the template's parameter {LATE_PARAM:?} did not reach Meta: {request}"
    );
    Ok(())
}

/// The owner labels the conversation and leaves a private note in its details panel.
async fn label_and_note(client: &Client, conversation: &str) -> Result<()> {
    open_conversation(client, conversation).await?;
    ui::click(client, &testid("details-toggle")).await?;
    ui::type_into(client, &testid("label-input"), LABEL).await?;
    ui::click(client, &testid("label-add")).await?;
    ui::element(
        client,
        &format!("{}[data-label=\"{LABEL}\"]", testid("label-chip")),
    )
    .await?;
    ui::type_into(client, &testid("note-input"), NOTE).await?;
    ui::click(client, &testid("note-add")).await?;
    e2e::wait_for_text(client, &testid("note"), |t| t.contains(NOTE)).await?;
    // The row in the list shows the label too.
    row_shows(client, conversation, LABEL).await?;
    ui::click(client, &testid("details-toggle")).await?;
    Ok(())
}

/// Broadcasts: the approved template goes to everyone labelled `LABEL` (the customer), its
/// variable filled with a fixed value. The core's preview counts her; after Send the detail
/// shows her reaching "sent" (or further) without a reload, and Meta received the template
/// with that value.
async fn broadcast_to_the_label(client: &Client, world: &World, servers: &Servers) -> Result<()> {
    ui::click(client, &testid("nav-broadcasts")).await?;
    ui::element(client, &testid("broadcasts-empty")).await?;
    ui::click(client, &testid("broadcast-new")).await?;
    ui::type_into(client, &testid("broadcast-name-input"), BROADCAST).await?;
    ui::type_into(client, &testid("broadcast-label"), LABEL).await?;
    // A <select>: chosen as a person would, by the option's text.
    ui::element(client, &testid("broadcast-template")).await?;
    let chosen = ui::js(
        client,
        "const s = document.querySelector(arguments[0]);\
         const o = Array.from(s.options).find(o => o.textContent.startsWith(arguments[1] + ' ('));\
         if (o === undefined) return false;\
         s.value = o.value; s.dispatchEvent(new Event('change', { bubbles: true }));\
         return true;",
        vec![json!(testid("broadcast-template")), json!(TEMPLATE)],
    )
    .await?;
    ensure!(
        chosen == json!(true),
        "the approved {TEMPLATE} is not offered for broadcasts"
    );
    ui::type_into(client, &testid("param-value"), BROADCAST_PARAM).await?;
    e2e::wait_for_text(client, &testid("broadcast-sendable"), |t| {
        t.starts_with("1 of 1 ")
    })
    .await?;
    e2e::wait_for_text(client, &testid("broadcast-sample"), |t| {
        t.contains(BROADCAST_PARAM)
    })
    .await?;
    ui::screenshot(client, world, "broadcast-new").await?;
    ui::click(client, &testid("broadcast-send")).await?;

    let her = format!("{}[data-phone=\"{CUSTOMER}\"]", testid("recipient-row"));
    ui::eventually("the recipient reached sent", UI_TIMEOUT, async || {
        let state = ui::on_element(client, &her, async |e| e.attr("data-state").await).await?;
        Ok(matches!(state.as_deref(), Some("sent" | "delivered" | "read")).then_some(()))
    })
    .await?;
    e2e::wait_for_text(client, &testid("count-sent"), |t| t == "Sent 1").await?;
    ui::screenshot(client, world, "broadcast-detail").await?;

    let at_meta = servers.sent_to_customer().await?;
    ensure!(
        at_meta.iter().any(|m| {
            let request = &m["request"];
            request["type"] == "template"
                && request["template"]["name"] == TEMPLATE
                && request.to_string().contains(BROADCAST_PARAM)
        }),
        "Meta has no broadcast of {TEMPLATE} with {BROADCAST_PARAM:?}: {at_meta:?}"
    );
    Ok(())
}

/// Settings → Business profile: an "about" over Meta's 139 characters is flagged on the field
/// and cannot be saved; a valid one is saved at Meta (the simulator) and read back from it
/// when Settings opens again.
async fn edit_the_business_profile(client: &Client) -> Result<()> {
    ui::click(client, &testid("nav-settings")).await?;
    let about = testid("profile-about");
    ui::element(client, &about).await?;
    paste(client, &about, &"x".repeat(140)).await?;
    ui::element(client, &format!("{about}[aria-invalid=\"true\"]")).await?;
    let save = ui::element(client, &testid("profile-save")).await?;
    ensure!(
        !save.is_enabled().await?,
        "an about over 139 characters can be saved"
    );
    paste(client, &about, ABOUT).await?;
    ui::eventually("Save enabled for a valid about", UI_TIMEOUT, async || {
        let enabled = ui::on_element(client, &testid("profile-save"), async |e| {
            e.is_enabled().await
        })
        .await?;
        Ok(enabled.then_some(()))
    })
    .await?;
    ui::click(client, &testid("profile-save")).await?;
    ui::element(client, &testid("profile-saved")).await?;
    // Read back from Meta: leave Settings and come back.
    ui::click(client, &testid("nav-inbox")).await?;
    ui::click(client, &testid("nav-settings")).await?;
    ui::eventually("the saved about read back", UI_TIMEOUT, async || {
        let value = ui::value_of(client, &about).await?;
        Ok((value == ABOUT).then_some(()))
    })
    .await?;
    Ok(())
}

/// Settings → Team: the owner invites an agent and gets the `dataoptix://join` link.
async fn invite_an_agent(client: &Client) -> Result<String> {
    ui::click(client, &testid("nav-settings")).await?;
    ui::type_into(client, &testid("invite-email"), AGENT_EMAIL).await?;
    ui::click(client, &testid("invite-send")).await?;
    let field = format!("{} input", testid("invite-link"));
    let link = ui::eventually("the invitation link", UI_TIMEOUT, async || {
        if !ui::exists(client, &field).await? {
            return Ok(None);
        }
        let link = ui::value_of(client, &field).await?;
        Ok((!link.is_empty()).then_some(link))
    })
    .await?;
    ensure!(
        link.starts_with("dataoptix://join?") && link.contains('#'),
        "the invitation link reads {link:?}"
    );
    Ok(link)
}

/// Another computer (its own display, keyring and data directory) joins with the link; its
/// inbox shows the conversation with the owner's reply, the label and the note.
async fn a_second_device_sees_the_team_inbox(servers: &Servers, link: String) -> Result<()> {
    let relay = servers.base.clone();
    e2e::run(
        "journey-second-device",
        move |_home| Ok(vec![("DATAOPTIX_DEFAULT_RELAY".to_owned(), relay)]),
        async |client, world| {
            ui::expect_registration_form(&client).await?;
            ui::click(&client, &testid("auth-tab-join")).await?;
            // The link is pasted, as a person would (typing it takes WebDriver a while).
            paste(&client, &testid("join-invite"), &link).await?;
            ui::type_into(&client, &testid("join-name"), AGENT_NAME).await?;
            ui::type_into(&client, &testid("join-password"), PASSWORD).await?;
            ui::type_into(&client, &testid("join-password-confirm"), PASSWORD).await?;
            ui::click(&client, &testid("join-submit")).await?;

            let conversation = conversation_row_of(&client, CUSTOMER_NAME).await?;
            row_shows(&client, &conversation, LABEL).await?;
            open_conversation(&client, &conversation).await?;
            let reply = wait_for_message(&client, "the owner's reply on the second device", |m| {
                m.out && m.text.as_deref() == Some(REPLY)
            })
            .await?;
            ensure!(
                reply.status.as_deref() == Some("read"),
                "the second device shows the reply as {:?}, the customer read it",
                reply.status
            );
            wait_for_message(
                &client,
                "the customer's message on the second device",
                |m| !m.out && m.text.as_deref() == Some(FIRST_MESSAGE),
            )
            .await?;
            ui::click(&client, &testid("details-toggle")).await?;
            ui::element(
                &client,
                &format!("{}[data-label=\"{LABEL}\"]", testid("label-chip")),
            )
            .await?;
            e2e::wait_for_text(&client, &testid("note"), |t| {
                t.contains(NOTE) && t.contains("Ana Owner")
            })
            .await?;
            ui::screenshot(&client, world, "second-device").await?;
            // The second computer keeps what it received as encrypted as the first.
            scan_for_plaintext(&[world.home()], &world.logs_dir(), &[])?
                .expect_stores(&["dataoptix.db"])
        },
    )
    .await
}

/// Sets a field's value as a paste does, so the page sees an `input` event.
async fn paste(client: &Client, css: &str, text: &str) -> Result<()> {
    let done = ui::js(
        client,
        "const el = document.querySelector(arguments[0]);\
         if (el === null) return false;\
         el.focus(); el.value = arguments[1];\
         el.dispatchEvent(new Event('input', { bubbles: true }));\
         return true;",
        vec![json!(css), json!(text)],
    )
    .await?;
    ensure!(done == json!(true), "nothing to paste into at `{css}`");
    Ok(())
}

/// The connection is lost (relay stopped, Meta unreachable): the banner says so, search still
/// finds an old message, and a reply waits in the outbox; when the connection is back it goes
/// out once and its ticks move on.
async fn offline_search_and_queued_send(
    client: &Client,
    world: &World,
    servers: &mut Servers,
    conversation: &str,
    first_wamid: &str,
) -> Result<()> {
    open_conversation(client, conversation).await?;
    servers.go_offline().await?;
    ui::element(
        client,
        &format!("{}[data-state=\"offline\"]", testid("sync-banner")),
    )
    .await?;

    ui::type_into(client, &testid("search-input"), "croissants").await?;
    let hit = format!("{}[data-wamid=\"{first_wamid}\"]", testid("search-result"));
    ui::click(client, &hit).await?;

    ui::type_into(client, &testid("composer-input"), OFFLINE_REPLY).await?;
    ui::click(client, &testid("composer-send")).await?;
    let queued = wait_for_message(client, "the offline reply in the thread", |m| {
        m.out && m.text.as_deref() == Some(OFFLINE_REPLY)
    })
    .await?;
    ensure!(
        queued.status.as_deref() == Some("pending"),
        "a reply sent offline shows {:?}, not waiting",
        queued.status
    );
    ui::element(client, &testid("outbox-count")).await?;
    ui::screenshot(client, world, "offline").await?;
    // It keeps waiting while the connection is down.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let still = thread_messages(client)
        .await?
        .into_iter()
        .find(|m| m.out && m.text.as_deref() == Some(OFFLINE_REPLY));
    ensure!(
        still.as_ref().and_then(|m| m.status.as_deref()) == Some("pending"),
        "the offline reply moved on without a connection: {still:?}"
    );

    servers.come_back().await?;
    let delivered = wait_for_message(client, "the queued reply delivered", |m| {
        m.out
            && m.text.as_deref() == Some(OFFLINE_REPLY)
            && matches!(m.status.as_deref(), Some("delivered" | "read"))
    })
    .await?;
    ui::eventually("the outbox emptied", UI_TIMEOUT, async || {
        Ok((!ui::exists(client, &testid("outbox-count")).await?).then_some(()))
    })
    .await?;
    ui::eventually("the offline banner gone", UI_TIMEOUT, async || {
        Ok((!ui::exists(client, &testid("sync-banner")).await?).then_some(()))
    })
    .await?;
    let at_meta: Vec<Value> = servers
        .sent_to_customer()
        .await?
        .into_iter()
        .filter(|m| m["request"]["text"]["body"] == OFFLINE_REPLY)
        .collect();
    ensure!(
        at_meta.len() == 1 && delivered.wamid.as_deref() == at_meta[0]["id"].as_str(),
        "Meta received the queued reply {} times: {at_meta:?}",
        at_meta.len()
    );
    Ok(())
}

/// Contacts: the customer's data is exported into the export folder as a readable archive
/// holding her messages, then erased after typing her name: she leaves the contacts, the inbox
/// and the search.
async fn export_and_erase_the_customer(
    client: &Client,
    world: &World,
    exports: &std::path::Path,
) -> Result<()> {
    ui::click(client, &testid("nav-contacts")).await?;
    let row = format!("{}[data-wa-id=\"{CUSTOMER}\"]", testid("contact-row"));
    ui::click(client, &row).await?;
    ui::click(client, &testid("contact-export")).await?;
    e2e::wait_for_text(client, &testid("export-result"), |t| t.contains(".zip")).await?;
    let archives: Vec<std::path::PathBuf> = std::fs::read_dir(exports)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "zip"))
        .collect();
    ensure!(
        archives.len() == 1,
        "one export expected in {}, found {archives:?}",
        exports.display()
    );
    let listing = std::process::Command::new("unzip")
        .arg("-p")
        .arg(&archives[0])
        .output()
        .context("reading the export with unzip")?;
    let content = String::from_utf8_lossy(&listing.stdout);
    ensure!(
        listing.status.success() && content.contains(FIRST_MESSAGE) && content.contains(REPLY),
        "the export does not hold the conversation ({} bytes read)",
        content.len()
    );
    ui::screenshot(client, world, "contact-exported").await?;

    ui::click(client, &testid("contact-erase")).await?;
    ui::type_into(client, &testid("erase-confirm-input"), CUSTOMER_NAME).await?;
    ui::click(client, &testid("erase-confirm")).await?;
    ui::element(client, &testid("erase-result")).await?;
    ui::eventually("the contact gone from the list", UI_TIMEOUT, async || {
        Ok((!ui::exists(client, &row).await?).then_some(()))
    })
    .await?;
    ui::click(client, &testid("nav-inbox")).await?;
    ui::eventually(
        "her conversation gone from the inbox",
        UI_TIMEOUT,
        async || {
            let rows = ui::js(
                client,
                "return Array.from(document.querySelectorAll('[data-testid=conversation-row]'))\
               .map(r => r.textContent);",
                vec![],
            )
            .await?;
            let listed = rows.as_array().is_some_and(|r| {
                r.iter()
                    .any(|t| t.as_str().is_some_and(|t| t.contains(CUSTOMER_NAME)))
            });
            Ok((!listed).then_some(()))
        },
    )
    .await?;
    ui::type_into(client, &testid("search-input"), "croissants").await?;
    ui::eventually(
        "a search that finds nothing of hers",
        UI_TIMEOUT,
        async || {
            let hits = ui::js(
                client,
                "return document.querySelectorAll('[data-testid=search-result]').length;",
                vec![],
            )
            .await?;
            let settled = ui::exists(client, &testid("search-empty")).await?;
            Ok((hits == json!(0) && settled).then_some(()))
        },
    )
    .await?;
    Ok(())
}
