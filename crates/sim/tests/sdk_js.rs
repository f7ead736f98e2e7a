//! The Embedded Signup script, executed: Node runs the served `sdk.js` with a minimal
//! window/document, calls `FB.init` + `FB.login` the way Meta's sample page does, and reports
//! the `message` events and the login callback. The code it yields is then exchanged.
//! Needs `node`, which the project requires anyway (scripts/install-deps.sh checks it).

#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

mod support;

use std::process::Command;

use serde_json::{json, Value};
use support::{start, TestSim};

const HARNESS: &str = r#"
const [src, appId, sdkPath, loginOpts] = process.argv.slice(2);
const fs = require('fs');
const events = [];
const target = new EventTarget();
globalThis.window = globalThis;
window.addEventListener = target.addEventListener.bind(target);
window.dispatchEvent = target.dispatchEvent.bind(target);
window.location = { search: '' };
globalThis.document = { currentScript: { src }, body: { appendChild() {} }, createElement() { return {}; } };
window.addEventListener('message', (event) => {
  // Meta's sample listener: only messages from facebook.com, JSON data.
  if (!event.origin.endsWith('facebook.com')) return;
  try { events.push({ origin: event.origin, data: JSON.parse(event.data) }); } catch (e) {}
});
window.fbAsyncInit = function () {
  FB.init({ appId, autoLogAppEvents: true, xfbml: true, version: 'v23.0' });
  FB.login((response) => {
    setTimeout(() => { console.log(JSON.stringify({ events, response })); }, 10);
  }, JSON.parse(loginOpts));
};
eval(fs.readFileSync(sdkPath, 'utf8'));
"#;

fn node_available() -> bool {
    Command::new("node")
        .arg("--version")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

async fn run_login(t: &TestSim, mode: &str, opts: Value) -> Value {
    let js = t
        .http
        .get(&t.sim.info.sdk_url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let dir = std::env::temp_dir().join(format!("sim-sdk-{}-{mode}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let sdk = dir.join("sdk.js");
    let harness = dir.join("harness.js");
    std::fs::write(&sdk, js).unwrap();
    std::fs::write(&harness, HARNESS).unwrap();
    let src = format!("{}?mode={mode}", t.sim.info.sdk_url);
    let app_id = t.sim.info.app_id.clone();
    // Blocking in a worker thread: the simulator runs on this test's runtime.
    let out = tokio::task::spawn_blocking(move || {
        Command::new("node")
            .arg(&harness)
            .arg(src)
            .arg(app_id)
            .arg(&sdk)
            .arg(opts.to_string())
            .output()
    })
    .await
    .unwrap()
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "node failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(stdout.lines().last().unwrap_or(""))
        .unwrap_or_else(|e| panic!("{e}: {stdout}\n{}", String::from_utf8_lossy(&out.stderr)))
}

fn es_opts() -> Value {
    json!({"config_id": "1234567890", "response_type": "code",
           "override_default_response_type": true, "extras": {"setup": {}}})
}

#[tokio::test]
async fn fb_login_finish_cancel_and_error() {
    // Node.js is a build requirement of the project (the UI), so its absence is a failure.
    assert!(
        node_available(),
        "node is not installed: run scripts/install-deps.sh (the sdk.js test executes the script)"
    );
    let t = start().await;

    // FINISH: the event with the new assets, then the callback with a code.
    let out = run_login(&t, "finish", es_opts()).await;
    let ev = &out["events"][0];
    assert_eq!(ev["origin"], "https://www.facebook.com");
    assert_eq!(ev["data"]["type"], "WA_EMBEDDED_SIGNUP");
    assert_eq!(ev["data"]["event"], "FINISH");
    let waba = ev["data"]["data"]["waba_id"].as_str().unwrap().to_string();
    assert!(ev["data"]["data"]["phone_number_id"].is_string());
    assert!(ev["data"]["data"]["business_id"].is_string());
    assert_eq!(out["response"]["status"], "connected");
    let code = out["response"]["authResponse"]["code"].as_str().unwrap();
    let resp = t
        .http
        .get(format!("{}/oauth/access_token", t.graph))
        .query(&[
            ("client_id", t.sim.info.app_id.as_str()),
            ("client_secret", support::SECRET),
            ("code", code),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let token: Value = resp.json().await.unwrap();
    let (status, _) = t
        .graph_call(
            reqwest::Method::GET,
            &format!("{waba}/phone_numbers"),
            token["access_token"].as_str(),
            None,
        )
        .await;
    assert_eq!(status, 200);

    // CANCEL with the step the user left at.
    let out = run_login(&t, "cancel", es_opts()).await;
    assert_eq!(out["events"][0]["data"]["event"], "CANCEL");
    assert_eq!(
        out["events"][0]["data"]["data"]["current_step"],
        "PHONE_NUMBER_SETUP"
    );
    assert_eq!(out["response"]["authResponse"], Value::Null);

    // CANCEL with an error reported in the flow.
    let out = run_login(&t, "error", es_opts()).await;
    let data = &out["events"][0]["data"]["data"];
    assert_eq!(out["events"][0]["data"]["event"], "CANCEL");
    assert_eq!(data["error_code"], "524126");
    assert!(data["error_message"].is_string());
    assert!(data["session_id"].is_string());

    // A page that forgets response_type: 'code' gets an error, not a code.
    let out = run_login(
        &t,
        "finish",
        json!({"config_id": "1234567890", "extras": {"setup": {}}}),
    )
    .await;
    assert_eq!(out["response"]["authResponse"], Value::Null);
    assert_eq!(out["events"][0]["data"]["event"], "CANCEL");
}
