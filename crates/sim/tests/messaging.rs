//! Sending: the status webhooks that follow, and Meta's rules (131047, 130429, 131056, 190,
//! 133010, 131026, 131050, validation errors), over real HTTP.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

mod support;

use serde_json::{json, Value};
use support::{start, start_with, statuses_of};

const USER: &str = "16505551234";

fn wamid(resp: &Value) -> String {
    resp["messages"][0]["id"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn send_then_sent_delivered_read_with_valid_signatures() {
    let t = start().await;
    t.user_says(USER, "Hi, do you have croissants?").await;
    let (status, resp) = t.send_text("+1 (650) 555-1234", "Yes, fresh ones!").await;
    assert_eq!(status, 200, "{resp}");
    assert_eq!(resp["messaging_product"], "whatsapp");
    assert_eq!(resp["contacts"][0]["input"], "+1 (650) 555-1234");
    assert_eq!(resp["contacts"][0]["wa_id"], USER);
    let id = wamid(&resp);
    assert!(id.starts_with("wamid.HBgL"), "{id}");
    assert!(resp["messages"][0].get("message_status").is_none());

    let hooks =
        t.rx.wait_for("sent, delivered and read", |h| {
            statuses_of(h).iter().filter(|(i, _)| *i == id).count() >= 3
        })
        .await;
    let ours: Vec<String> = statuses_of(&hooks)
        .into_iter()
        .filter(|(i, _)| *i == id)
        .map(|(_, s)| s)
        .collect();
    assert_eq!(ours, ["sent", "delivered", "read"]);
    assert!(
        hooks.iter().all(|h| h.signature_ok),
        "every webhook is signed"
    );

    // Shapes as Meta sends them.
    let sent = hooks
        .iter()
        .find(|h| h.value()["statuses"][0]["status"] == "sent")
        .unwrap();
    assert_eq!(sent.json["object"], "whatsapp_business_account");
    assert_eq!(sent.json["entry"][0]["id"], t.waba.as_str());
    assert!(sent.json["entry"][0].get("time").is_none());
    let v = sent.value();
    assert_eq!(v["metadata"]["phone_number_id"], t.phone.as_str());
    assert_eq!(v["metadata"]["display_phone_number"], "15550783881");
    let s = &v["statuses"][0];
    assert_eq!(s["recipient_id"], USER);
    assert!(s["timestamp"].as_str().unwrap().parse::<i64>().is_ok());
    assert_eq!(s["conversation"]["origin"]["type"], "service");
    assert!(s["conversation"]["expiration_timestamp"].is_string());
    assert_eq!(
        s["pricing"],
        json!({"billable": false, "pricing_model": "PMP", "type": "free_customer_service", "category": "service"})
    );
    let read = hooks
        .iter()
        .find(|h| h.value()["statuses"][0]["status"] == "read")
        .unwrap();
    assert!(read.value()["statuses"][0].get("pricing").is_none());

    // Every webhook parses with the cloud-api types.
    for h in &hooks {
        h.assert_typed();
    }

    // The control API lists what the business sent.
    let sent_list = t.control_get(&format!("/sent?to={USER}")).await;
    assert_eq!(sent_list["data"][0]["id"], id.as_str());
    assert_eq!(
        sent_list["data"][0]["request"]["text"]["body"],
        "Yes, fresh ones!"
    );
}

#[tokio::test]
async fn template_send_is_marketing_and_accepted() {
    let t = start().await;
    let (status, resp) = t
        .send(json!({
            "messaging_product": "whatsapp", "to": USER, "type": "template",
            "template": {"name": "hello_world", "language": {"code": "en_US"}},
        }))
        .await;
    assert_eq!(status, 200, "{resp}");
    assert_eq!(resp["messages"][0]["message_status"], "accepted");
    let id = wamid(&resp);
    let hooks =
        t.rx.wait_for("sent", |h| {
            statuses_of(h).contains(&(id.clone(), "sent".into()))
        })
        .await;
    let s = hooks
        .iter()
        .map(|h| &h.value()["statuses"][0])
        .find(|s| s["status"] == "sent")
        .unwrap()
        .clone();
    assert_eq!(s["pricing"]["category"], "marketing");
    assert_eq!(s["pricing"]["billable"], true);
    assert_eq!(s["conversation"]["origin"]["type"], "marketing");
    t.rx.assert_all_typed();
}

#[tokio::test]
async fn free_form_outside_the_window_fails_with_131047_by_webhook() {
    let t = start().await;
    // Never wrote: Meta accepts the request, then reports a failed status.
    let (status, resp) = t.send_text(USER, "Hello?").await;
    assert_eq!(status, 200, "{resp}");
    let id = wamid(&resp);
    let hooks =
        t.rx.wait_for("failed", |h| {
            statuses_of(h).contains(&(id.clone(), "failed".into()))
        })
        .await;
    let failed = hooks
        .iter()
        .map(|h| h.value()["statuses"][0].clone())
        .find(|s| s["status"] == "failed")
        .unwrap();
    assert_eq!(failed["errors"][0]["code"], 131047);
    assert_eq!(failed["errors"][0]["title"], "Re-engagement message");
    assert!(failed["errors"][0]["error_data"]["details"]
        .as_str()
        .unwrap()
        .contains("24 hours"));

    // Inside the window it goes through; 25 hours later it fails again.
    t.user_says(USER, "hi").await;
    let (_, ok) = t.send_text(USER, "Hello!").await;
    let ok_id = wamid(&ok);
    t.rx.wait_for("sent", |h| {
        statuses_of(h).contains(&(ok_id.clone(), "sent".into()))
    })
    .await;
    t.advance_clock(25.0 * 3600.0).await;
    let (_, late) = t.send_text(USER, "Still there?").await;
    let late_id = wamid(&late);
    t.rx.wait_for("failed again", |h| {
        statuses_of(h).contains(&(late_id.clone(), "failed".into()))
    })
    .await;
    t.rx.assert_all_typed();
}

#[tokio::test]
async fn window_enforcement_sync_answers_131047() {
    let t = start_with(|c| {
        c.statuses.window_enforcement = dataoptix_sim::config::WindowEnforcement::Sync
    })
    .await;
    let (status, resp) = t.send_text(USER, "Hello?").await;
    assert_eq!(status, 400);
    assert_eq!(resp["error"]["code"], 131047);
    assert_eq!(resp["error"]["type"], "OAuthException");
    assert!(resp["error"]["fbtrace_id"].is_string());
    assert_eq!(resp["error"]["error_data"]["messaging_product"], "whatsapp");
}

#[tokio::test]
async fn throughput_above_the_limit_is_130429() {
    let t = start_with(|c| {
        c.limits.throughput_mps = 5;
        c.statuses.read_delay_ms = None;
    })
    .await;
    let mut codes = Vec::new();
    for i in 0..8 {
        let to = format!("1650555{:04}", 2000 + i);
        let (status, resp) = t
            .send(
                json!({"messaging_product": "whatsapp", "to": to, "type": "template",
                         "template": {"name": "hello_world", "language": {"code": "en_US"}}}),
            )
            .await;
        codes.push((status, resp["error"]["code"].as_i64()));
    }
    let ok = codes.iter().filter(|(s, _)| *s == 200).count();
    assert!(ok >= 5, "{codes:?}");
    assert!(
        codes.contains(&(429, Some(130429))),
        "expected a 130429 among {codes:?}"
    );
    // A second later the number may send again.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let (status, _) = t
        .send(
            json!({"messaging_product": "whatsapp", "to": "16505559999", "type": "template",
                     "template": {"name": "hello_world", "language": {"code": "en_US"}}}),
        )
        .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn pair_rate_is_131056_and_recovers() {
    let t = start_with(|c| {
        c.limits.pair_burst = 3;
        c.limits.pair_interval_ms = 6_000;
    })
    .await;
    t.user_says(USER, "hi").await;
    for _ in 0..3 {
        let (status, resp) = t.send_text(USER, "burst").await;
        assert_eq!(status, 200, "{resp}");
    }
    let (status, resp) = t.send_text(USER, "one too many").await;
    assert_eq!(status, 429);
    assert_eq!(resp["error"]["code"], 131056);
    assert!(resp["error"]["message"]
        .as_str()
        .unwrap()
        .contains("pair rate limit"));
    // Another user is not affected.
    t.user_says("16505550000", "hi").await;
    let (status, _) = t.send_text("16505550000", "hello").await;
    assert_eq!(status, 200);
    // Six seconds later one more message may go.
    t.advance_clock(6.5).await;
    let (status, resp) = t.send_text(USER, "later").await;
    assert_eq!(status, 200, "{resp}");
}

#[tokio::test]
async fn unknown_missing_and_revoked_tokens() {
    let t = start().await;
    let path = format!("{}/messages", t.phone);
    let body =
        json!({"messaging_product": "whatsapp", "to": USER, "type": "text", "text": {"body": "x"}});
    let (status, resp) = t
        .graph_call(
            reqwest::Method::POST,
            &path,
            Some("EAAbogus"),
            Some(body.clone()),
        )
        .await;
    assert_eq!(status, 401);
    assert_eq!(resp["error"]["code"], 190);
    let (status, resp) = t
        .graph_call(reqwest::Method::POST, &path, None, Some(body.clone()))
        .await;
    assert_eq!(status, 401);
    assert_eq!(resp["error"]["code"], 104);

    let minted = t.control("/tokens", json!({})).await;
    let tok = minted["access_token"].as_str().unwrap().to_string();
    let (status, _) = t
        .graph_call(reqwest::Method::GET, &t.phone, Some(&tok), None)
        .await;
    assert_eq!(status, 200);
    t.control("/tokens/revoke", json!({"token": tok})).await;
    let (status, resp) = t
        .graph_call(reqwest::Method::GET, &t.phone, Some(&tok), None)
        .await;
    assert_eq!(status, 401);
    assert_eq!(resp["error"]["code"], 190);
    assert_eq!(resp["error"]["error_subcode"], 460);

    // A token of another WABA cannot see this number.
    let other = t.control("/provision", json!({})).await;
    let (status, resp) = t
        .graph_call(
            reqwest::Method::GET,
            &t.phone,
            other["access_token"].as_str(),
            None,
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(resp["error"]["code"], 100);
    assert_eq!(resp["error"]["error_subcode"], 33);
}

#[tokio::test]
async fn unregistered_number_is_133010_until_registered() {
    let t = start().await;
    let (status, _) = t.post(&format!("{}/deregister", t.phone), json!({})).await;
    assert_eq!(status, 200);
    let (status, resp) = t.send_text(USER, "x").await;
    assert_eq!(status, 400);
    assert_eq!(resp["error"]["code"], 133010);
    let (status, resp) = t
        .post(
            &format!("{}/register", t.phone),
            json!({"messaging_product": "whatsapp", "pin": "12345"}),
        )
        .await;
    assert_eq!((status, resp["error"]["code"].as_i64()), (400, Some(100)));
    let (status, resp) = t
        .post(
            &format!("{}/register", t.phone),
            json!({"messaging_product": "whatsapp", "pin": "123456"}),
        )
        .await;
    assert_eq!(status, 200, "{resp}");
    assert_eq!(resp, json!({"success": true}));
    // The PIN is now the two-step PIN: another one is refused.
    t.post(&format!("{}/deregister", t.phone), json!({})).await;
    let (status, resp) = t
        .post(
            &format!("{}/register", t.phone),
            json!({"messaging_product": "whatsapp", "pin": "654321"}),
        )
        .await;
    assert_eq!(
        (status, resp["error"]["code"].as_i64()),
        (400, Some(133005))
    );
}

#[tokio::test]
async fn undeliverable_user_gets_failed_131026_and_opt_out_131050() {
    let t = start().await;
    t.control("/users/16505557777", json!({"undeliverable": true}))
        .await;
    let (status, resp) = t
        .send(
            json!({"messaging_product": "whatsapp", "to": "16505557777", "type": "template",
                     "template": {"name": "hello_world", "language": {"code": "en_US"}}}),
        )
        .await;
    assert_eq!(status, 200);
    let id = wamid(&resp);
    let hooks =
        t.rx.wait_for("failed", |h| {
            statuses_of(h).contains(&(id.clone(), "failed".into()))
        })
        .await;
    let codes: Vec<i64> = hooks
        .iter()
        .filter(|h| h.value()["statuses"][0]["id"] == id.as_str())
        .filter_map(|h| h.value()["statuses"][0]["errors"][0]["code"].as_i64())
        .collect();
    assert_eq!(codes, [131026]);

    // STOP: a user_preferences webhook, then marketing templates fail with 131050.
    t.control("/users/16505558888/preferences", json!({"value": "stop"}))
        .await;
    t.rx.wait_for("user_preferences", |h| {
        h.iter().any(|h| h.field() == "user_preferences")
    })
    .await;
    let (_, resp) = t
        .send(
            json!({"messaging_product": "whatsapp", "to": "16505558888", "type": "template",
                     "template": {"name": "hello_world", "language": {"code": "en_US"}}}),
        )
        .await;
    let id = wamid(&resp);
    let hooks =
        t.rx.wait_for("failed 131050", |h| {
            statuses_of(h).contains(&(id.clone(), "failed".into()))
        })
        .await;
    let err = hooks
        .iter()
        .find(|h| h.value()["statuses"][0]["id"] == id.as_str())
        .unwrap()
        .value()["statuses"][0]["errors"][0]["code"]
        .clone();
    assert_eq!(err, 131050);
    t.rx.assert_all_typed();
}

#[tokio::test]
async fn duplicated_and_reordered_statuses() {
    let t = start_with(|c| {
        c.statuses.duplicate = true;
        c.statuses.reorder = true;
    })
    .await;
    t.user_says(USER, "hi").await;
    let (_, resp) = t.send_text(USER, "hello").await;
    let id = wamid(&resp);
    let hooks =
        t.rx.wait_for("6 statuses", |h| {
            statuses_of(h).iter().filter(|(i, _)| *i == id).count() >= 6
        })
        .await;
    let ours: Vec<String> = statuses_of(&hooks)
        .into_iter()
        .filter(|(i, _)| *i == id)
        .map(|(_, s)| s)
        .collect();
    assert_eq!(
        ours,
        ["sent", "sent", "read", "read", "delivered", "delivered"]
    );
    t.rx.assert_all_typed();
}

#[tokio::test]
async fn settings_change_at_run_time() {
    let t = start().await;
    let v = t
        .control("/settings", json!({"statuses": {"duplicate": true}}))
        .await;
    assert_eq!(v["statuses"]["duplicate"], true);
    assert_eq!(v["app_secret"], "(hidden)");
    t.user_says(USER, "hi").await;
    let (_, resp) = t.send_text(USER, "hello").await;
    let id = wamid(&resp);
    t.rx.wait_for("duplicate sent", |h| {
        statuses_of(h)
            .iter()
            .filter(|(i, s)| *i == id && s == "sent")
            .count()
            == 2
    })
    .await;
}

#[tokio::test]
async fn mark_as_read_and_typing_indicator() {
    let t = start().await;
    let inbound = t.user_says(USER, "hello?").await;
    let (status, resp) = t
        .send(
            json!({"messaging_product": "whatsapp", "status": "read", "message_id": inbound,
                     "typing_indicator": {"type": "text"}}),
        )
        .await;
    assert_eq!(status, 200, "{resp}");
    assert_eq!(resp, json!({"success": true}));
    let marks = t.control_get("/read_marks").await;
    assert_eq!(marks["data"][0]["typing_indicator"], true);
    let (status, resp) = t
        .send(
            json!({"messaging_product": "whatsapp", "status": "read", "message_id": "wamid.nope"}),
        )
        .await;
    assert_eq!(
        (status, resp["error"]["code"].as_i64()),
        (400, Some(131009))
    );
}

#[tokio::test]
async fn request_validation_errors() {
    let t = start().await;
    t.user_says(USER, "hi").await;
    let cases = [
        (
            json!({"to": USER, "type": "text", "text": {"body": "x"}}),
            100,
        ),
        (
            json!({"messaging_product": "whatsapp", "type": "text", "text": {"body": "x"}}),
            100,
        ),
        (
            json!({"messaging_product": "whatsapp", "to": USER, "type": "text"}),
            131008,
        ),
        (
            json!({"messaging_product": "whatsapp", "to": USER, "type": "text", "text": {"body": "x".repeat(4097)}}),
            100,
        ),
        (
            json!({"messaging_product": "whatsapp", "to": USER, "type": "image", "image": {}}),
            131008,
        ),
        (
            json!({"messaging_product": "whatsapp", "to": USER, "type": "image", "image": {"id": "999"}}),
            131009,
        ),
        (
            json!({"messaging_product": "whatsapp", "to": USER, "type": "location", "location": {"latitude": 1}}),
            131008,
        ),
        (
            json!({"messaging_product": "whatsapp", "to": USER, "type": "interactive", "interactive": {
            "type": "button", "body": {"text": "Pick"}, "action": {"buttons": [
                {"type": "reply", "reply": {"id": "a", "title": "A"}},
                {"type": "reply", "reply": {"id": "b", "title": "B"}},
                {"type": "reply", "reply": {"id": "c", "title": "C"}},
                {"type": "reply", "reply": {"id": "d", "title": "D"}}]}}}),
            100,
        ),
        (
            json!({"messaging_product": "whatsapp", "to": USER, "type": "interactive", "interactive": {
            "type": "button", "body": {"text": "Pick"}, "action": {"buttons": [
                {"type": "reply", "reply": {"id": "a", "title": "This title is far too long"}}]}}}),
            100,
        ),
        (
            json!({"messaging_product": "whatsapp", "to": USER, "type": "carrier_pigeon"}),
            131008,
        ),
    ];
    for (body, code) in cases {
        let (status, resp) = t.send(body.clone()).await;
        assert_eq!(status, 400, "{body} -> {resp}");
        assert_eq!(resp["error"]["code"], code, "{body} -> {resp}");
    }
}

#[tokio::test]
async fn every_outbound_type_is_accepted() {
    let t = start().await;
    t.user_says(USER, "hi").await;
    let examples: Vec<Value> = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../../shared/meta/examples/openapi_send_message_examples.json"
        ))
        .unwrap(),
    )
    .map(|v: Value| match v {
        Value::Array(a) => a,
        Value::Object(m) => m.into_values().collect(),
        _ => Vec::new(),
    })
    .unwrap();
    let mut accepted = 0;
    for ex in examples {
        let mut body = ex.get("value").cloned().unwrap_or(ex.clone());
        let kinds = [
            "text",
            "image",
            "audio",
            "video",
            "document",
            "sticker",
            "location",
            "contacts",
            "reaction",
            "interactive",
        ];
        let ty = body["type"]
            .as_str()
            .map(str::to_string)
            .or_else(|| {
                kinds
                    .iter()
                    .find(|k| body.get(**k).is_some())
                    .map(|k| k.to_string())
            })
            .unwrap_or_else(|| "text".into());
        let interactive = body["interactive"]["type"].as_str().unwrap_or("");
        // Only types we can send without catalog/flow fixtures, by link (ids are placeholders).
        if !kinds.contains(&ty.as_str())
            || (ty == "interactive" && !["button", "list", "cta_url"].contains(&interactive))
            || body.get("status").is_some()
        {
            continue;
        }
        body["to"] = json!(USER);
        if let Some(m) = body.get_mut(&ty) {
            if m.get("id").is_some() {
                m.as_object_mut().unwrap().remove("id");
                m["link"] = json!("https://example.com/file");
            }
            if m.get("link").is_some() {
                m["link"] = json!("https://example.com/file");
            }
        }
        let (status, resp) = t.send(body.clone()).await;
        assert_eq!(status, 200, "{body} -> {resp}");
        accepted += 1;
    }
    assert!(accepted >= 10, "only {accepted} examples sent");
}

#[tokio::test]
async fn personas_answer_the_business() {
    let t = start().await;
    let maria = "15551230001";
    t.control("/personas/maria/start", json!({})).await;
    t.rx.wait_for("Maria's opener", |h| {
        h.iter().any(|h| h.value()["messages"][0]["from"] == maria)
    })
    .await;
    let (status, resp) = t
        .send(
            json!({"messaging_product": "whatsapp", "to": maria, "type": "interactive",
            "interactive": {"type": "button", "body": {"text": "Your cake is ready. Pickup?"},
            "action": {"buttons": [
                {"type": "reply", "reply": {"id": "pickup_10", "title": "10:00"}},
                {"type": "reply", "reply": {"id": "pickup_12", "title": "12:00"}}]}}}),
        )
        .await;
    assert_eq!(status, 200, "{resp}");
    let id = wamid(&resp);
    let hooks =
        t.rx.wait_for("Maria taps a button", |h| {
            h.iter()
                .any(|h| h.value()["messages"][0]["interactive"]["type"] == "button_reply")
        })
        .await;
    let reply = hooks
        .iter()
        .find(|h| h.value()["messages"][0]["interactive"]["type"] == "button_reply")
        .unwrap()
        .value()["messages"][0]
        .clone();
    assert_eq!(reply["interactive"]["button_reply"]["id"], "pickup_10");
    assert_eq!(reply["context"]["id"], id.as_str());
    // Statuses of a persona include read.
    assert!(statuses_of(&hooks).contains(&(id.clone(), "read".into())));

    // A plain text gets the scripted answer.
    let (_, _) = t.send_text(maria, "See you tomorrow!").await;
    t.rx.wait_for("Maria's scripted reply", |h| {
        h.iter().any(|h| {
            h.value()["messages"][0]["text"]["body"] == "Perfect, I'll come by around 10 🙂"
        })
    })
    .await;
    t.rx.assert_all_typed();
}
