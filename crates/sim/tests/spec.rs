//! The simulator's responses (and webhook bodies) validate against the response schemas of
//! Meta's official OpenAPI spec, where the spec has them. Uses the cloud-api crate's spec
//! loader so both crates read the spec the same way.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

#[path = "../../cloud-api/tests/common/mod.rs"]
mod common;
mod support;

use common::assert_response_valid;
use dataoptix_sim::assets;
use serde_json::{json, Value};
use support::start;

const USER: &str = "16505551234";

#[tokio::test]
async fn graph_responses_match_the_spec() {
    let t = start().await;
    let inbound = t.user_says(USER, "hi").await;

    // Messages.
    let (_, sent) = t.send_text(USER, "hello").await;
    assert_response_valid(
        "/{Version}/{Phone-Number-ID}/messages",
        "post",
        "200",
        &sent,
    );
    let (_, tpl) = t
        .send(
            json!({"messaging_product": "whatsapp", "to": USER, "type": "template",
                     "template": {"name": "hello_world", "language": {"code": "en_US"}}}),
        )
        .await;
    assert_response_valid("/{Version}/{Phone-Number-ID}/messages", "post", "200", &tpl);
    let (_, read) = t
        .send(json!({"messaging_product": "whatsapp", "status": "read", "message_id": inbound}))
        .await;
    common::Spec::official().assert_schema_valid("MarkMessageResponsePayload", &read);

    // Media.
    let form = reqwest::multipart::Form::new()
        .text("messaging_product", "whatsapp")
        .text("type", "image/png")
        .part(
            "file",
            reqwest::multipart::Part::bytes(assets::PNG.bytes)
                .file_name("cake.png")
                .mime_str("image/png")
                .unwrap(),
        );
    let up: Value = t
        .http
        .post(format!("{}/{}/media", t.graph, t.phone))
        .bearer_auth(&t.token)
        .multipart(form)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_response_valid("/{Version}/{Phone-Number-ID}/media", "post", "200", &up);
    let id = up["id"].as_str().unwrap();
    let (_, info) = t.get(id).await;
    assert_response_valid("/{Version}/{Media-ID}", "get", "200", &info);
    let (_, del) = t.delete(id).await;
    assert_response_valid("/{Version}/{Media-ID}", "delete", "200", &del);

    // Templates.
    let (_, list) = t
        .get(&format!("{}/message_templates?limit=2", t.waba))
        .await;
    assert_response_valid(
        "/{Version}/{WABA-ID}/message_templates",
        "get",
        "200",
        &list,
    );
    let (_, created) = t
        .post(
            &format!("{}/message_templates", t.waba),
            json!({"name": "spec_check", "language": "en_US", "category": "UTILITY",
                   "components": [{"type": "BODY", "text": "Your order shipped."}]}),
        )
        .await;
    assert_response_valid(
        "/{Version}/{WABA-ID}/message_templates",
        "post",
        "200",
        &created,
    );
    let tid = created["id"].as_str().unwrap();
    let (_, got) = t.get(tid).await;
    assert_response_valid("/{Version}/{TEMPLATE_ID}", "get", "200", &got);
    t.control(
        &format!("/templates/{tid}/status"),
        json!({"status": "APPROVED"}),
    )
    .await;
    let (_, edited) = t
        .post(
            tid,
            json!({"components": [{"type": "BODY", "text": "Your order has shipped."}]}),
        )
        .await;
    assert_response_valid("/{Version}/{TEMPLATE_ID}", "post", "200", &edited);
    let (_, deleted) = t
        .delete(&format!("{}/message_templates?name=spec_check", t.waba))
        .await;
    assert_response_valid(
        "/{Version}/{WABA-ID}/message_templates",
        "delete",
        "200",
        &deleted,
    );

    // Numbers, WABA, profile, subscriptions, registration.
    let (_, phone) = t.get(&t.phone).await;
    assert_response_valid("/{Version}/{Phone-Number-ID}", "get", "200", &phone);
    let (_, phone_all) = t
        .get(&format!(
            "{}?fields=id,display_phone_number,verified_name,quality_rating,code_verification_status,name_status",
            t.phone
        ))
        .await;
    assert_response_valid("/{Version}/{Phone-Number-ID}", "get", "200", &phone_all);
    let (_, phones) = t.get(&format!("{}/phone_numbers", t.waba)).await;
    assert_response_valid("/{Version}/{WABA-ID}/phone_numbers", "get", "200", &phones);
    let (_, waba) = t.get(&format!("{}?fields=id,name,currency,timezone_id,account_review_status,business_verification_status,ownership_type,country", t.waba)).await;
    assert_response_valid("/{Version}/{WABA-ID}", "get", "200", &waba);
    let (_, profile) = t
        .get(&format!("{}/whatsapp_business_profile", t.phone))
        .await;
    assert_response_valid(
        "/{Version}/{Phone-Number-ID}/whatsapp_business_profile",
        "get",
        "200",
        &profile,
    );
    let (_, updated) = t
        .post(
            &format!("{}/whatsapp_business_profile", t.phone),
            json!({"messaging_product": "whatsapp", "about": "Fresh daily"}),
        )
        .await;
    assert_response_valid(
        "/{Version}/{Phone-Number-ID}/whatsapp_business_profile",
        "post",
        "200",
        &updated,
    );
    let (_, subs) = t.get(&format!("{}/subscribed_apps", t.waba)).await;
    assert_response_valid("/{Version}/{WABA-ID}/subscribed_apps", "get", "200", &subs);
    let (_, sub) = t
        .post(&format!("{}/subscribed_apps", t.waba), json!({}))
        .await;
    assert_response_valid("/{Version}/{WABA-ID}/subscribed_apps", "post", "200", &sub);
    let (_, dereg) = t.post(&format!("{}/deregister", t.phone), json!({})).await;
    assert_response_valid(
        "/{Version}/{Phone-Number-ID}/deregister",
        "post",
        "200",
        &dereg,
    );
    let (_, reg) = t
        .post(
            &format!("{}/register", t.phone),
            json!({"messaging_product": "whatsapp", "pin": "123456"}),
        )
        .await;
    assert_response_valid("/{Version}/{Phone-Number-ID}/register", "post", "200", &reg);
    let (_, unsub) = t.delete(&format!("{}/subscribed_apps", t.waba)).await;
    assert_response_valid(
        "/{Version}/{WABA-ID}/subscribed_apps",
        "delete",
        "200",
        &unsub,
    );
}

#[tokio::test]
async fn errors_match_the_graph_error_schema() {
    let t = start().await;
    let (status, e) = t
        .graph_call(reqwest::Method::GET, &t.phone, Some("EAAbad"), None)
        .await;
    assert_eq!(status, 401);
    assert_response_valid("/{Version}/{Phone-Number-ID}", "get", "401", &e);
    let (status, e) = t.get("123456789012345").await;
    assert_eq!(status, 400);
    assert_response_valid("/{Version}/{Phone-Number-ID}", "get", "400", &e);
    let (_, e) = t
        .post(
            &format!("{}/register", t.phone),
            json!({"messaging_product": "whatsapp", "pin": "1"}),
        )
        .await;
    assert_response_valid("/{Version}/{Phone-Number-ID}/register", "post", "400", &e);
    let (_, e) = t.get(&format!("{}?fields=status", t.waba)).await;
    assert!(e.get("error").is_none());
}

/// Every JSON path of `v` (array items collapsed to `[]`) with its JSON type.
fn shape(v: &Value, at: String, out: &mut std::collections::BTreeMap<String, &'static str>) {
    let ty = match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(a) => {
            for item in a {
                shape(item, format!("{at}[]"), out);
            }
            "array"
        }
        Value::Object(m) => {
            for (k, item) in m {
                shape(item, format!("{at}/{k}"), out);
            }
            "object"
        }
    };
    out.insert(at, ty);
}

/// The spec's `WebhookPayload` schema rejects Meta's own webhook examples (its `value` is a
/// `oneOf` whose `messages` items are the *outbound* message schemas), so inbound webhooks
/// are checked against the official examples instead: every path of Meta's example exists
/// in ours with the same JSON type.
#[tokio::test]
async fn inbound_webhooks_have_the_shape_of_metas_examples() {
    let spec_rejects_meta = {
        let ex: Value = serde_json::from_str(
            &std::fs::read_to_string(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../../shared/meta/examples/openapi_webhook_text_message.json"
            ))
            .unwrap(),
        )
        .unwrap();
        !common::Spec::official()
            .request_errors("/whatsapp/webhooks", "post", &ex)
            .is_empty()
    };
    assert!(
        spec_rejects_meta,
        "the spec now accepts Meta's examples: validate webhooks against it here"
    );

    let t = support::start_with(|c| c.bsuid = false).await;
    // Something for the replies to refer to.
    t.user_says(USER, "hi").await;
    t.send(
        json!({"messaging_product": "whatsapp", "to": USER, "type": "template",
                  "template": {"name": "hello_world", "language": {"code": "en_US"}}}),
    )
    .await;
    t.send(json!({"messaging_product": "whatsapp", "to": USER, "type": "interactive",
        "interactive": {"type": "list", "body": {"text": "Pick"}, "action": {"button": "Choose",
        "sections": [{"title": "S", "rows": [{"id": "r1", "title": "Row", "description": "d"}]}]}}}))
        .await;
    let cases = [
        ("text_message", "text"),
        ("image_message", "image"),
        ("reaction_message", "reaction"),
        ("location_message", "location"),
        ("contact_sharing_message", "contacts"),
        ("button_message", "button"),
        ("interactive_button_reply_message", "button_reply"),
        ("interactive_list_reply_message", "list_reply"),
        ("order_message", "order"),
        ("system_message", "system"),
        ("unsupported_message", "unsupported"),
        ("text_message_from_click_to_whatsapp_ad", "referral"),
    ];
    for (file, ty) in cases {
        let example: Value = serde_json::from_str(
            &std::fs::read_to_string(format!(
                "{}/../../../shared/meta/examples/openapi_webhook_{file}.json",
                env!("CARGO_MANIFEST_DIR")
            ))
            .unwrap(),
        )
        .unwrap();
        let ours = t
            .control(
                "/inbound",
                json!({"from": USER, "name": "Sheena Nelson", "type": ty}),
            )
            .await;
        let id = ours["id"].as_str().unwrap().to_string();
        let hooks =
            t.rx.wait_for(ty, |h| {
                h.iter()
                    .any(|h| h.value()["messages"][0]["id"] == id.as_str())
            })
            .await;
        let hook = hooks
            .iter()
            .find(|h| h.value()["messages"][0]["id"] == id.as_str())
            .unwrap();
        let (mut want, mut got) = (Default::default(), Default::default());
        shape(&example, String::new(), &mut want);
        shape(&hook.json, String::new(), &mut got);
        for (path, ty_) in &want {
            assert_eq!(
                got.get(path),
                Some(ty_),
                "{file}: {path} is {ty_} in Meta's example; ours: {}",
                hook.json
            );
        }
    }
}
