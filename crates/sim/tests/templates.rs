//! Templates: sends (132000, 132001, 132012, 132015), review and its webhooks, paging,
//! edit/delete, and the management-call rate (80007).

#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

mod support;

use serde_json::{json, Value};
use support::{start, start_with};

const USER: &str = "16505551234";

fn template_send(name: &str, lang: &str, components: Value) -> Value {
    json!({"messaging_product": "whatsapp", "to": USER, "type": "template",
           "template": {"name": name, "language": {"code": lang}, "components": components}})
}

#[tokio::test]
async fn wrong_parameter_count_is_132000() {
    let t = start().await;
    // order_ready has two body variables.
    let (status, resp) = t
        .send(template_send(
            "order_ready",
            "en_US",
            json!([{"type": "body", "parameters": [{"type": "text", "text": "Maria"}]}]),
        ))
        .await;
    assert_eq!(status, 400);
    assert_eq!(resp["error"]["code"], 132000);
    assert!(resp["error"]["error_data"]["details"]
        .as_str()
        .unwrap()
        .contains("(1) does not match the expected number of params (2)"));
    let (status, resp) = t
        .send(template_send(
            "order_ready",
            "en_US",
            json!([{"type": "body", "parameters": [
                {"type": "text", "text": "Maria"}, {"type": "text", "text": "#1042"}]}]),
        ))
        .await;
    assert_eq!(status, 200, "{resp}");
    // hello_world takes none.
    let (status, resp) = t
        .send(template_send(
            "hello_world",
            "en_US",
            json!([{"type": "body", "parameters": [{"type": "text", "text": "x"}]}]),
        ))
        .await;
    assert_eq!(
        (status, resp["error"]["code"].as_i64()),
        (400, Some(132000))
    );
}

#[tokio::test]
async fn named_params_header_media_and_url_buttons() {
    let t = start().await;
    let good = json!([
        {"type": "header", "parameters": [{"type": "image", "image": {"link": "https://example.com/cake.png"}}]},
        {"type": "body", "parameters": [
            {"type": "text", "parameter_name": "first_name", "text": "Maria"},
            {"type": "text", "parameter_name": "discount", "text": "15%"}]},
        {"type": "button", "sub_type": "url", "index": "0", "parameters": [{"type": "text", "text": "spring"}]},
    ]);
    let (status, resp) = t
        .send(template_send("weekend_offer", "en_US", good.clone()))
        .await;
    assert_eq!(status, 200, "{resp}");

    let mut wrong_name = good.clone();
    wrong_name[1]["parameters"][1]["parameter_name"] = json!("percent");
    let (_, resp) = t
        .send(template_send("weekend_offer", "en_US", wrong_name))
        .await;
    assert_eq!(resp["error"]["code"], 132000);

    let mut no_button = good.clone();
    no_button.as_array_mut().unwrap().pop();
    let (_, resp) = t
        .send(template_send("weekend_offer", "en_US", no_button))
        .await;
    assert_eq!(resp["error"]["code"], 132000);

    let mut video_header = good.clone();
    video_header[0]["parameters"][0] =
        json!({"type": "video", "video": {"link": "https://example.com/a.mp4"}});
    let (_, resp) = t
        .send(template_send("weekend_offer", "en_US", video_header))
        .await;
    assert_eq!(resp["error"]["code"], 132012);

    let mut newline = good;
    newline[1]["parameters"][0]["text"] = json!("Maria\nLopez");
    let (_, resp) = t
        .send(template_send("weekend_offer", "en_US", newline))
        .await;
    assert_eq!(resp["error"]["code"], 132018);
}

/// A coupon template's copy-code button wants its code as a `coupon_code` parameter.
#[tokio::test]
async fn a_copy_code_button_wants_its_coupon_code() {
    let t = start().await;
    let (status, created) = t
        .post(
            &format!("{}/message_templates", t.waba),
            json!({"name": "spring_coupon", "language": "en_US", "category": "MARKETING",
                   "components": [
                     {"type": "BODY", "text": "Spring is here: use your code at checkout."},
                     {"type": "BUTTONS", "buttons": [
                        {"type": "COPY_CODE", "example": "SPRING15"}]}]}),
        )
        .await;
    assert_eq!(status, 200, "{created}");
    t.rx.wait_for("the coupon approved", |h| {
        h.iter().any(|h| {
            h.field() == "message_template_status_update" && h.value()["event"] == "APPROVED"
        })
    })
    .await;
    let send = |button: Option<Value>| {
        let mut components = vec![];
        components.extend(button);
        template_send("spring_coupon", "en_US", Value::Array(components))
    };
    let (_, resp) = t.send(send(None)).await;
    assert_eq!(resp["error"]["code"], 132000, "{resp}");
    let (_, resp) = t
        .send(send(Some(
            json!({"type": "button", "sub_type": "copy_code", "index": 0,
                              "parameters": [{"type": "text", "text": "SPRING15"}]}),
        )))
        .await;
    assert_eq!(resp["error"]["code"], 132012, "{resp}");
    let (status, resp) = t
        .send(send(Some(
            json!({"type": "button", "sub_type": "copy_code", "index": 0,
                              "parameters": [{"type": "coupon_code", "coupon_code": "SPRING15"}]}),
        )))
        .await;
    assert_eq!(status, 200, "{resp}");
}

#[tokio::test]
async fn unknown_or_unapproved_template_is_132001() {
    let t = start().await;
    let (status, resp) = t
        .send(template_send("no_such_template", "en_US", json!([])))
        .await;
    assert_eq!(
        (status, resp["error"]["code"].as_i64()),
        (400, Some(132001))
    );
    // Exists, but not in that language.
    let (_, resp) = t.send(template_send("hello_world", "fr", json!([]))).await;
    assert_eq!(resp["error"]["code"], 132001);
    // Exists in German.
    let (status, _) = t.send(template_send("hello_world", "de", json!([]))).await;
    assert_eq!(status, 200);
    // Pending.
    let (_, created) = t
        .post(
            &format!("{}/message_templates", t.waba),
            json!({"name": "still_pending_one", "language": "en_US", "category": "UTILITY",
                   "components": [{"type": "BODY", "text": "Your table is booked."}]}),
        )
        .await;
    assert_eq!(created["status"], "PENDING");
    let (_, resp) = t
        .send(template_send("still_pending_one", "en_US", json!([])))
        .await;
    assert_eq!(resp["error"]["code"], 132001);
    // Paused.
    let id = created["id"].as_str().unwrap();
    t.control(
        &format!("/templates/{id}/status"),
        json!({"status": "PAUSED"}),
    )
    .await;
    let (_, resp) = t
        .send(template_send("still_pending_one", "en_US", json!([])))
        .await;
    assert_eq!(resp["error"]["code"], 132015);
}

#[tokio::test]
async fn create_then_review_emits_status_updates() {
    let t = start().await;
    let path = format!("{}/message_templates", t.waba);
    let (status, ok) = t
        .post(
            &path,
            json!({"name": "pickup_reminder", "language": "en_US", "category": "UTILITY",
                   "components": [
                     {"type": "BODY", "text": "Hi {{1}}, your order is ready for pickup today.",
                      "example": {"body_text": [["Maria"]]}},
                     {"type": "FOOTER", "text": "Sweet Crumbs"}]}),
        )
        .await;
    assert_eq!(status, 200, "{ok}");
    assert_eq!(ok["status"], "PENDING");
    assert_eq!(ok["category"], "UTILITY");
    let (_, bad) = t
        .post(
            &path,
            json!({"name": "ask_feedback", "language": "en_US", "category": "MARKETING",
                   "components": [{"type": "BODY", "text": "Hi {{1}}, rate us at bit.ly/sweet please"}]}),
        )
        .await;
    let (_, promo) = t
        .post(
            &path,
            json!({"name": "cake_news", "language": "en_US", "category": "UTILITY",
                   "components": [{"type": "BODY", "text": "Big sale on cakes this weekend!"}]}),
        )
        .await;
    let hooks =
        t.rx.wait_for("three reviews", |h| {
            h.iter()
                .filter(|h| h.field() == "message_template_status_update")
                .count()
                >= 3
        })
        .await;
    let update = |id: &Value| {
        hooks
            .iter()
            .find(|h| {
                h.field() == "message_template_status_update"
                    && h.value()["message_template_id"]
                        .as_u64()
                        .map(|n| n.to_string())
                        .as_deref()
                        == id.as_str()
            })
            .unwrap()
            .clone()
    };
    let approved = update(&ok["id"]);
    assert!(approved.signature_ok);
    assert!(approved.json["entry"][0]["time"].is_i64());
    assert_eq!(approved.value()["event"], "APPROVED");
    assert_eq!(approved.value()["reason"], "NONE");
    assert_eq!(approved.value()["message_template_name"], "pickup_reminder");
    assert_eq!(approved.value()["message_template_language"], "en_US");
    assert!(approved.value()["message_template_id"].is_u64());

    let rejected = update(&bad["id"]);
    assert_eq!(rejected.value()["event"], "REJECTED");
    assert_eq!(rejected.value()["reason"], "INVALID_FORMAT");
    assert!(rejected.value()["rejection_info"]["reason"].is_string());

    let recat = update(&promo["id"]);
    assert_eq!(recat.value()["event"], "APPROVED");
    assert_eq!(recat.value()["message_template_category"], "MARKETING");
    assert!(hooks.iter().any(|h| h.field() == "template_category_update"
        && h.value()["new_category"] == "MARKETING"
        && h.value()["previous_category"] == "UTILITY"));

    // The approved one can be sent now.
    let (status, resp) = t
        .send(template_send(
            "pickup_reminder",
            "en_US",
            json!([{"type": "body", "parameters": [{"type": "text", "text": "Maria"}]}]),
        ))
        .await;
    assert_eq!(status, 200, "{resp}");

    // GET /{template-id}
    let (_, got) = t.get(ok["id"].as_str().unwrap()).await;
    assert_eq!(got["status"], "APPROVED");
    assert_eq!(got["name"], "pickup_reminder");
    let (_, got) = t
        .get(&format!("{}?fields=status", ok["id"].as_str().unwrap()))
        .await;
    assert_eq!(got, json!({"id": ok["id"], "status": "APPROVED"}));
    t.rx.assert_all_typed();
}

#[tokio::test]
async fn synchronous_create_errors() {
    let t = start().await;
    let path = format!("{}/message_templates", t.waba);
    let cases = [
        json!({"name": "Bad Name", "language": "en_US", "category": "UTILITY", "components": [{"type": "BODY", "text": "x"}]}),
        json!({"name": "ok_name", "language": "en_US", "category": "PROMO", "components": [{"type": "BODY", "text": "x"}]}),
        json!({"name": "ok_name", "language": "en_US", "category": "UTILITY", "components": [{"type": "FOOTER", "text": "x"}]}),
        json!({"name": "ok_name", "language": "en_US", "category": "UTILITY", "components": [{"type": "BODY", "text": "{{1}} is ready"}]}),
        json!({"name": "hello_world", "language": "en_US", "category": "MARKETING", "components": [{"type": "BODY", "text": "dup"}]}),
    ];
    for body in cases {
        let (status, resp) = t.post(&path, body.clone()).await;
        assert_eq!(status, 400, "{body} -> {resp}");
        assert_eq!(resp["error"]["code"], 100, "{body} -> {resp}");
    }
}

#[tokio::test]
async fn list_pages_with_cursors() {
    let t = start().await;
    let path = format!("{}/message_templates", t.waba);
    for i in 0..5 {
        t.post(
            &path,
            json!({"name": format!("bulk_{i}"), "language": "en_US", "category": "UTILITY",
                   "components": [{"type": "BODY", "text": "Order update for you."}]}),
        )
        .await;
    }
    let mut names = Vec::new();
    let (status, mut page) = t.get(&format!("{path}?limit=3")).await;
    assert_eq!(status, 200);
    loop {
        for item in page["data"].as_array().unwrap() {
            names.push(item["name"].as_str().unwrap().to_string());
            assert!(item["components"].is_array());
            assert!(item["language"].is_string());
        }
        assert!(page["paging"]["cursors"]["before"].is_string());
        assert!(page["paging"]["cursors"]["after"].is_string());
        let Some(next) = page["paging"]["next"].as_str() else {
            break;
        };
        assert!(next.starts_with(&t.graph), "{next}");
        page = t
            .http
            .get(next)
            .bearer_auth(&t.token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    }
    // 4 seeded (hello_world en_US + de, order_ready, weekend_offer) + 5 new.
    assert_eq!(names.len(), 9, "{names:?}");
    assert_eq!(names[0], "hello_world");
    // before goes back.
    let (_, second) = t
        .get(&format!("{path}?limit=3&after={}", {
            let (_, p) = t.get(&format!("{path}?limit=3")).await;
            p["paging"]["cursors"]["after"]
                .as_str()
                .unwrap()
                .to_string()
        }))
        .await;
    let before = second["paging"]["cursors"]["before"].as_str().unwrap();
    assert!(second["paging"]["previous"].is_string());
    let (_, back) = t.get(&format!("{path}?limit=3&before={before}")).await;
    assert_eq!(back["data"][0]["name"], "hello_world");
    // Filters.
    let (_, approved) = t.get(&format!("{path}?status=APPROVED&name=hello")).await;
    assert_eq!(approved["data"].as_array().unwrap().len(), 2);
}

/// A forged cursor for the largest offset must not overflow (a panic drops the connection).
#[tokio::test]
async fn hostile_cursors_are_answered() {
    let t = start().await;
    let huge = dataoptix_sim::ids::cursor(usize::MAX);
    for path in [
        format!("{}/message_templates?after={huge}", t.waba),
        format!("{}/phone_numbers?after={huge}", t.waba),
    ] {
        let (status, page) = t.get(&path).await;
        assert_eq!(status, 200, "{path}: {page}");
        assert_eq!(page["data"], json!([]), "{path}");
    }
    let (status, page) = t
        .get(&format!(
            "{}/message_templates?limit=2&before={huge}",
            t.waba
        ))
        .await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["data"].as_array().map(Vec::len), Some(2), "{page}");
}

#[tokio::test]
async fn edit_and_delete() {
    let t = start().await;
    let path = format!("{}/message_templates", t.waba);
    let (_, created) = t
        .post(
            &path,
            json!({"name": "to_edit", "language": "en_US", "category": "UTILITY",
                   "components": [{"type": "BODY", "text": "Version one."}]}),
        )
        .await;
    let id = created["id"].as_str().unwrap().to_string();
    // In review: cannot edit.
    t.control("/settings", json!({"templates": {"auto_review": false}}))
        .await;
    let (_, created2) = t
        .post(
            &path,
            json!({"name": "in_review", "language": "en_US", "category": "UTILITY",
                   "components": [{"type": "BODY", "text": "Wait."}]}),
        )
        .await;
    let (status, resp) = t
        .post(
            created2["id"].as_str().unwrap(),
            json!({"components": [{"type": "BODY", "text": "Changed."}]}),
        )
        .await;
    assert_eq!(
        (status, resp["error"]["code"].as_i64()),
        (400, Some(2388039))
    );
    t.control("/settings", json!({"templates": {"auto_review": true}}))
        .await;
    t.rx.wait_for("approval", |h| {
        h.iter().any(|h| {
            h.field() == "message_template_status_update"
                && h.value()["message_template_name"] == "to_edit"
        })
    })
    .await;
    // Approved: category cannot change, components can.
    let (_, resp) = t.post(&id, json!({"category": "MARKETING"})).await;
    assert_eq!(resp["error"]["code"], 100);
    let (status, resp) = t
        .post(
            &id,
            json!({"components": [{"type": "BODY", "text": "Version two."}]}),
        )
        .await;
    assert_eq!(status, 200, "{resp}");
    let (_, got) = t.get(&id).await;
    assert_eq!(got["status"], "PENDING");
    assert_eq!(got["components"][0]["text"], "Version two.");
    // Delete by name.
    let (status, resp) = t.delete(&format!("{path}?name=to_edit")).await;
    assert_eq!((status, resp), (200, json!({"success": true})));
    let (status, resp) = t.get(&id).await;
    assert_eq!((status, resp["error"]["code"].as_i64()), (400, Some(100)));
    // Delete by hsm_id only removes that language.
    let de_id = t
        .get(&format!("{path}?name=hello_world&language=de"))
        .await
        .1["data"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    t.delete(&format!("{path}?name=hello_world&hsm_id={de_id}"))
        .await;
    let (_, left) = t.get(&format!("{path}?name=hello_world")).await;
    assert_eq!(left["data"].as_array().unwrap().len(), 1);
    t.rx.assert_all_typed();
}

#[tokio::test]
async fn management_calls_are_rate_limited_80007() {
    let t = start_with(|c| c.limits.management_calls_per_hour_active = 3).await;
    let path = format!("{}/message_templates", t.waba);
    for _ in 0..3 {
        let resp = t
            .http
            .get(format!("{}/{path}", t.graph))
            .bearer_auth(&t.token)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        let usage: Value = serde_json::from_str(
            resp.headers()["x-business-use-case-usage"]
                .to_str()
                .unwrap(),
        )
        .unwrap();
        assert_eq!(usage[&t.waba][0]["type"], "whatsapp_business_management");
    }
    let (status, resp) = t.get(&path).await;
    assert_eq!((status, resp["error"]["code"].as_i64()), (429, Some(80007)));
    // Messaging is not a management call.
    t.user_says(USER, "hi").await;
    assert_eq!(t.send_text(USER, "still fine").await.0, 200);
    // An hour later the budget is back.
    t.advance_clock(3601.0).await;
    assert_eq!(t.get(&path).await.0, 200);
}

#[tokio::test]
async fn quality_and_pause_events_on_demand() {
    let t = start().await;
    let (_, list) = t
        .get(&format!("{}/message_templates?name=order_ready", t.waba))
        .await;
    let id = list["data"][0]["id"].as_str().unwrap().to_string();
    t.control(&format!("/templates/{id}/quality"), json!({"score": "RED"}))
        .await;
    t.control(
        &format!("/templates/{id}/status"),
        json!({"status": "PAUSED"}),
    )
    .await;
    t.control(
        &format!("/templates/{id}/status"),
        json!({"status": "REJECTED", "reason": "SCAM"}),
    )
    .await;
    let hooks =
        t.rx.wait_for("quality + paused + rejected", |h| {
            h.iter()
                .filter(|h| h.field().starts_with("message_template"))
                .count()
                >= 3
        })
        .await;
    let q = hooks
        .iter()
        .find(|h| h.field() == "message_template_quality_update")
        .unwrap();
    assert_eq!(q.value()["new_quality_score"], "RED");
    let events: Vec<&str> = hooks
        .iter()
        .filter(|h| h.field() == "message_template_status_update")
        .map(|h| h.value()["event"].as_str().unwrap())
        .collect();
    assert_eq!(events, ["PAUSED", "REJECTED"]);
    let rejected = hooks
        .iter()
        .rfind(|h| h.field() == "message_template_status_update")
        .unwrap();
    assert_eq!(rejected.value()["reason"], "SCAM");
    t.rx.assert_all_typed();
}
