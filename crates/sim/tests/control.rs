//! The control API: every inbound type, account events, provisioning, webhook retries and
//! ordering, the delivery log, and the `dataoptix-sim` binary's start-up line.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

mod support;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use serde_json::{json, Value};
use support::{start, start_with};

const USER: &str = "16505551234";

#[tokio::test]
async fn every_inbound_type_reaches_the_webhook_and_parses() {
    let t = start().await;
    // Something to react to and to answer.
    t.user_says(USER, "hi").await;
    t.send(json!({"messaging_product": "whatsapp", "to": USER, "type": "interactive",
        "interactive": {"type": "list", "body": {"text": "Pickup slot?"}, "action": {"button": "Choose",
        "sections": [{"title": "Saturday", "rows": [{"id": "sat_10", "title": "10:00", "description": "morning"}]}]}}}))
        .await;
    t.send(
        json!({"messaging_product": "whatsapp", "to": USER, "type": "template",
        "template": {"name": "hello_world", "language": {"code": "en_US"}}}),
    )
    .await;

    let types = [
        "text",
        "image",
        "voice",
        "audio",
        "video",
        "document",
        "sticker",
        "location",
        "contacts",
        "reaction",
        "button",
        "button_reply",
        "list_reply",
        "nfm_reply",
        "order",
        "referral",
        "system",
        "unsupported",
    ];
    let mut ids = Vec::new();
    for ty in types {
        let v = t
            .control(
                "/inbound",
                json!({"from": USER, "name": "Sheena Nelson", "type": ty}),
            )
            .await;
        ids.push((ty, v["id"].as_str().unwrap().to_string()));
    }
    let hooks =
        t.rx.wait_for("all inbound types", |h| {
            ids.iter().all(|(_, id)| {
                h.iter()
                    .any(|h| h.value()["messages"][0]["id"] == id.as_str())
            })
        })
        .await;
    let msg = |id: &str| -> (Value, Value) {
        let h = hooks
            .iter()
            .find(|h| h.value()["messages"][0]["id"] == id)
            .unwrap();
        assert!(h.signature_ok);
        h.assert_typed();
        (h.value().clone(), h.value()["messages"][0].clone())
    };
    for (ty, id) in &ids {
        let (value, m) = msg(id);
        assert_eq!(m["from"], USER, "{ty}");
        assert!(m["timestamp"].is_string());
        match *ty {
            "text" => assert!(m["text"]["body"].is_string()),
            "voice" => assert_eq!(
                (m["type"].clone(), m["audio"]["voice"].clone()),
                (json!("audio"), json!(true))
            ),
            "location" => assert!(m["location"]["latitude"].is_f64()),
            "contacts" => assert!(m["contacts"][0]["name"]["formatted_name"].is_string()),
            "reaction" => assert!(m["reaction"]["message_id"]
                .as_str()
                .unwrap()
                .starts_with("wamid.")),
            "button" => {
                assert_eq!(m["button"]["text"], "On my way");
                assert!(m["context"]["id"].is_string());
            }
            "list_reply" => {
                assert_eq!(m["interactive"]["list_reply"]["id"], "sat_10");
                assert_eq!(m["context"]["from"], "15550783881");
            }
            "button_reply" => assert_eq!(m["interactive"]["type"], "button_reply"),
            "nfm_reply" => assert!(m["interactive"]["nfm_reply"]["response_json"].is_string()),
            "order" => assert!(m["order"]["product_items"].is_array()),
            "referral" => assert_eq!(m["referral"]["source_type"], "ad"),
            "system" => {
                assert_eq!(m["system"]["type"], "user_changed_number");
                assert!(value.get("contacts").is_none());
            }
            "unsupported" => assert_eq!(m["errors"][0]["code"], 131051),
            _ => {}
        }
        if *ty != "system" {
            assert_eq!(value["contacts"][0]["profile"]["name"], "Sheena Nelson");
            assert_eq!(value["contacts"][0]["wa_id"], USER);
            assert!(value["contacts"][0]["user_id"]
                .as_str()
                .unwrap()
                .starts_with("US."));
        }
    }
    // The control API lists what was received.
    let inbound = t.control_get("/inbound").await;
    assert!(inbound["data"].as_array().unwrap().len() >= types.len());
}

#[tokio::test]
async fn custom_payloads_and_username_users() {
    let t = start().await;
    t.control("/users/16505552222", json!({"hide_phone": true}))
        .await;
    let v = t
        .control(
            "/inbound",
            json!({"from": "16505552222", "type": "text", "text": "Is the shop open?",
                   "context": {"id": "wamid.abc"}}),
        )
        .await;
    let m = &v["webhook"]["messages"][0];
    assert_eq!(m["text"]["body"], "Is the shop open?");
    assert!(m.get("from").is_none());
    assert!(m["from_user_id"].as_str().unwrap().starts_with("US."));
    assert!(v["webhook"]["contacts"][0].get("wa_id").is_none());
    assert_eq!(m["context"]["from"], "15550783881");
    let bad = t
        .http
        .post(t.sim.control_url("/inbound"))
        .json(&json!({"from": USER, "type": "hologram"}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
}

#[tokio::test]
async fn account_events_on_demand() {
    let t = start().await;
    let fields = [
        "phone_number_quality_update",
        "phone_number_name_update",
        "account_update",
        "account_review_update",
        "account_alerts",
        "business_capability_update",
        "security",
    ];
    for f in fields {
        t.control(&format!("/events/{f}"), json!({})).await;
    }
    t.control(
        "/events/account_update",
        json!({"value": {"event": "DISABLED_UPDATE", "restriction_info": null,
                         "ban_info": {"waba_ban_state": "DISABLE", "waba_ban_date": "2026-12-01"}}}),
    )
    .await;
    t.control(
        "/events/smb_message_echoes",
        json!({"value": {"messaging_product": "whatsapp", "message_echoes": [
            {"from": "15550783881", "to": USER, "id": "wamid.echo", "timestamp": "1", "type": "text", "text": {"body": "from the phone app"}}]}}),
    )
    .await;
    let hooks =
        t.rx.wait_for("all events", |h| h.len() >= fields.len() + 2)
            .await;
    for f in fields {
        let h = hooks.iter().find(|h| h.field() == f).unwrap();
        assert!(h.signature_ok);
        assert!(h.json["entry"][0]["time"].is_i64());
    }
    let disabled = hooks
        .iter()
        .find(|h| h.value()["event"] == "DISABLED_UPDATE")
        .unwrap();
    assert!(disabled.value().get("restriction_info").is_none());
    for h in &hooks {
        h.assert_typed();
    }
    // Side effect: the number's quality is YELLOW after FLAGGED.
    let (_, phone) = t.get(&format!("{}?fields=quality_rating", t.phone)).await;
    assert_eq!(phone["quality_rating"], "YELLOW");
}

#[tokio::test]
async fn webhooks_retry_with_backoff_in_order() {
    let t = start().await;
    t.rx.fail_next(3);
    let a = t.user_says_nowait("first").await;
    let b = t.user_says_nowait("second").await;
    let hooks = t.rx.wait_for("both", |h| h.len() >= 2).await;
    let order: Vec<&str> = hooks
        .iter()
        .map(|h| h.value()["messages"][0]["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        order,
        [a.as_str(), b.as_str()],
        "delivered in order after retries"
    );
    assert_eq!(t.rx.attempts(), 5);
    let log = t.control_get("/webhooks?field=messages").await;
    let first = &log["data"][0];
    assert_eq!(first["state"], "delivered");
    let attempts = first["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 4);
    assert_eq!(attempts[0]["status"], 500);
    assert_eq!(attempts[3]["status"], 200);
    // Backoff grows: 10, 20, 40 ms at least between attempts (sim clock in ms).
    let at: Vec<i64> = attempts.iter().map(|a| a["at"].as_i64().unwrap()).collect();
    assert!(at[3] - at[0] >= 70, "{at:?}");
}

/// `webhooks.duplicate` + `webhooks.shuffle_window`, switched on at run time: each of a burst
/// arrives twice, and not in the order the users wrote.
#[tokio::test]
async fn webhooks_can_arrive_twice_and_out_of_order() {
    let t = start().await;
    t.control(
        "/settings",
        json!({"webhooks": {"duplicate": true, "shuffle_window": 12, "shuffle_wait_ms": 5000}}),
    )
    .await;
    let mut sent = Vec::new();
    for i in 0..12 {
        sent.push(t.user_says_nowait(&format!("message {i}")).await);
    }
    let hooks = t.rx.wait_for("each twice", |h| h.len() >= 24).await;
    let got: Vec<String> = hooks
        .iter()
        .map(|h| h.value()["messages"][0]["id"].as_str().unwrap().to_owned())
        .collect();
    assert_ne!(got[..12], sent[..], "a burst is delivered shuffled");
    for wamid in &sent {
        assert_eq!(got.iter().filter(|g| *g == wamid).count(), 2, "{wamid}");
    }
    // Identical bodies, as Meta's redeliveries are.
    let first = hooks
        .iter()
        .find(|h| h.value()["messages"][0]["id"] == sent[0]);
    let last = hooks
        .iter()
        .rfind(|h| h.value()["messages"][0]["id"] == sent[0]);
    assert_eq!(first.unwrap().raw, last.unwrap().raw);
    let log = t.control_get("/webhooks?field=messages").await;
    for d in log["data"].as_array().unwrap() {
        assert_eq!(d["state"], "delivered");
        assert_eq!(d["attempts"].as_array().unwrap().len(), 2, "{d}");
    }
}

#[tokio::test]
async fn webhooks_are_dropped_after_max_attempts_and_unsubscribed_wabas_get_none() {
    let t = start_with(|c| c.webhooks.max_attempts = 2).await;
    t.rx.fail_next(2);
    t.user_says_nowait("lost").await;
    let kept = t.user_says_nowait("kept").await;
    t.rx.wait_for("the second", |h| {
        h.iter()
            .any(|h| h.value()["messages"][0]["id"] == kept.as_str())
    })
    .await;
    let log = t.control_get("/webhooks").await;
    assert_eq!(log["data"][0]["state"], "dropped");

    // A WABA whose app subscription is removed gets no webhooks.
    let (status, _) = t.delete(&format!("{}/subscribed_apps", t.waba)).await;
    assert_eq!(status, 200);
    let (_, subs) = t.get(&format!("{}/subscribed_apps", t.waba)).await;
    assert_eq!(subs, json!({"data": []}));
    t.control("/inbound", json!({"from": USER, "type": "text"}))
        .await;
    let log = t.control_get("/webhooks?state=not_subscribed").await;
    assert_eq!(log["data"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn override_callback_uri_is_verified_then_used() {
    let t = start().await;
    let other = support::Receiver::start().await;
    // Wrong verify token: Meta's verification fails.
    let (status, resp) = t
        .post(
            &format!("{}/subscribed_apps", t.waba),
            json!({"override_callback_uri": other.url, "verify_token": "wrong"}),
        )
        .await;
    assert_eq!((status, resp["error"]["code"].as_i64()), (400, Some(2200)));
    let (status, resp) = t
        .post(
            &format!("{}/subscribed_apps", t.waba),
            json!({"override_callback_uri": other.url, "verify_token": "verify-me"}),
        )
        .await;
    assert_eq!(status, 200, "{resp}");
    let (_, subs) = t.get(&format!("{}/subscribed_apps", t.waba)).await;
    assert_eq!(subs["data"][0]["override_callback_uri"], other.url.as_str());
    assert_eq!(
        subs["data"][0]["whatsapp_business_api_data"]["id"],
        t.sim.info.app_id.as_str()
    );
    t.control("/inbound", json!({"from": USER, "type": "text"}))
        .await;
    other
        .wait_for("the override gets it", |h| !h.is_empty())
        .await;
}

#[tokio::test]
async fn provision_another_waba_and_number() {
    let t = start().await;
    let p = t
        .control("/provision", json!({"business_name": "Corner Cafe"}))
        .await;
    let token = p["access_token"].as_str().unwrap();
    let phone = p["phone_number_id"].as_str().unwrap();
    let (status, info) = t
        .graph_call(reqwest::Method::GET, phone, Some(token), None)
        .await;
    assert_eq!(status, 200, "{info}");
    assert_eq!(info["verified_name"], "Corner Cafe");
    // The new WABA has hello_world too.
    let (_, list) = t
        .graph_call(
            reqwest::Method::GET,
            &format!("{}/message_templates", p["waba_id"].as_str().unwrap()),
            Some(token),
            None,
        )
        .await;
    assert_eq!(list["data"][0]["name"], "hello_world");
    // The default token cannot use it.
    let (status, _) = t.get(phone).await;
    assert_eq!(status, 400);
    // Inbound to the new number reaches the app's webhook with its WABA id.
    t.control(
        "/inbound",
        json!({"from": USER, "phone_number_id": phone, "type": "text"}),
    )
    .await;
    let waba = p["waba_id"].as_str().unwrap().to_string();
    t.rx.wait_for("inbound on the new number", |h| {
        h.iter().any(|h| h.json["entry"][0]["id"] == waba.as_str())
    })
    .await;
}

#[tokio::test]
async fn business_profile_and_phone_numbers() {
    let t = start().await;
    let (status, prof) = t
        .get(&format!("{}/whatsapp_business_profile", t.phone))
        .await;
    assert_eq!(status, 200);
    assert_eq!(prof["data"][0]["messaging_product"], "whatsapp");
    assert_eq!(prof["data"][0]["vertical"], "RESTAURANT");
    let (status, _) = t
        .post(
            &format!("{}/whatsapp_business_profile", t.phone),
            json!({"messaging_product": "whatsapp", "about": "Open 7-19", "websites": ["https://a.example/"]}),
        )
        .await;
    assert_eq!(status, 200);
    let (_, prof) = t
        .get(&format!(
            "{}/whatsapp_business_profile?fields=about",
            t.phone
        ))
        .await;
    assert_eq!(prof["data"][0]["about"], "Open 7-19");
    let (status, resp) = t
        .post(
            &format!("{}/whatsapp_business_profile", t.phone),
            json!({"messaging_product": "whatsapp", "about": "x".repeat(140)}),
        )
        .await;
    assert_eq!((status, resp["error"]["code"].as_i64()), (400, Some(100)));
    let (_, phones) = t.get(&format!("{}/phone_numbers", t.waba)).await;
    assert_eq!(phones["data"][0]["id"], t.phone.as_str());
    assert_eq!(phones["data"][0]["status"], "LINKED");
    let (_, waba) = t.get(&t.waba).await;
    assert_eq!(waba["id"], t.waba.as_str());
    assert!(waba["message_template_namespace"].is_string());
}

#[test]
fn binary_prints_one_json_line() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_dataoptix-sim"))
        .args([
            "--listen",
            "127.0.0.1:0",
            "--app-secret",
            "cli-secret",
            "--webhook-url",
            "http://127.0.0.1:9/hook",
            "--access-token",
            "EAAfixedtoken",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    let info: Value = serde_json::from_str(&line).unwrap();
    for key in [
        "listen",
        "waba_id",
        "phone_number_id",
        "display_phone_number",
        "access_token",
        "app_id",
    ] {
        assert!(info[key].is_string(), "{key} in {info}");
    }
    assert_eq!(info["access_token"], "EAAfixedtoken");
    let listen = info["listen"].as_str().unwrap();
    assert!(!listen.ends_with(":0"));
    // It answers with the printed token.
    let rt = tokio::runtime::Runtime::new().unwrap();
    let status = rt.block_on(async {
        reqwest::Client::new()
            .get(format!(
                "http://{listen}/v23.0/{}",
                info["phone_number_id"].as_str().unwrap()
            ))
            .bearer_auth("EAAfixedtoken")
            .send()
            .await
            .unwrap()
            .status()
    });
    assert_eq!(status, 200);
    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn binary_reads_a_toml_config() {
    let dir = std::env::temp_dir().join(format!("sim-cfg-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("sim.toml");
    std::fs::write(
        &path,
        "app_id = \"42\"\napp_secret = \"from-file\"\n[provision]\ndisplay_phone_number = \"15550001111\"\n",
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_dataoptix-sim"))
        .args(["--config", path.to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let info: Value = serde_json::from_str(&line).unwrap();
    assert_eq!(info["app_id"], "42");
    assert_eq!(info["display_phone_number"], "15550001111");
    child.kill().unwrap();
    child.wait().unwrap();
    // Without any secret it refuses to start.
    let out = Command::new(env!("CARGO_BIN_EXE_dataoptix-sim"))
        .env_remove("DATAOPTIX_SIM_APP_SECRET")
        .output()
        .unwrap();
    assert!(!out.status.success());
}

trait Says {
    async fn user_says_nowait(&self, text: &str) -> String;
}

impl Says for support::TestSim {
    async fn user_says_nowait(&self, text: &str) -> String {
        let v = self
            .control(
                "/inbound",
                json!({"from": USER, "type": "text", "text": {"body": text}}),
            )
            .await;
        v["id"].as_str().unwrap().to_string()
    }
}

/// `app(state)` is a plain Router: it can be driven without a socket.
#[tokio::test]
async fn app_router_serves_without_a_socket() {
    use tower::ServiceExt;
    let (_tx, rx) = tokio::sync::watch::channel(false);
    let state = std::sync::Arc::new(dataoptix_sim::SimState::new(
        dataoptix_sim::SimConfig::for_tests("s"),
        "http://sim.invalid".into(),
        rx,
    ));
    let token = state.world.lock().default_token.clone();
    let phone = state.world.lock().default_phone.clone();
    let app = dataoptix_sim::app(state);
    let resp = app
        .clone()
        .oneshot(
            axum::http::Request::get(format!("/v21.0/{phone}?fields=display_phone_number"))
                .header("authorization", format!("Bearer {token}"))
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let resp = app
        .oneshot(
            axum::http::Request::get("/_sim/healthz")
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
}
