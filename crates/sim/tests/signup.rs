//! Embedded Signup: the SDK stand-in, the code exchange (app id + secret, single use, 30 s),
//! the onboarding calls that follow, `debug_token`.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

mod support;

use serde_json::{json, Value};
use support::{start, TestSim};

async fn new_code(t: &TestSim) -> Value {
    t.control(
        "/signup/session",
        json!({"app_id": t.sim.info.app_id, "config_id": "cfg-123", "business_name": "Crumbs & Co"}),
    )
    .await
}

async fn exchange(t: &TestSim, query: &[(&str, &str)]) -> (u16, Value) {
    let resp = t
        .http
        .get(format!("{}/oauth/access_token", t.graph))
        .query(query)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap())
}

#[tokio::test]
async fn sdk_script_is_served() {
    let t = start().await;
    let resp = t.http.get(&t.sim.info.sdk_url).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert!(resp.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/javascript"));
    assert_eq!(resp.headers()["access-control-allow-origin"], "*");
    let js = resp.text().await.unwrap();
    for needle in [
        "window.FB = FB",
        "WA_EMBEDDED_SIGNUP",
        "'FINISH'",
        "'CANCEL'",
        "current_step",
        "error_code",
        "authResponse",
        "config_id",
        "response_type !== 'code'",
        "fbAsyncInit",
        "new MessageEvent('message'",
        "\"https://www.facebook.com\"",
        &t.sim.info.app_id,
    ] {
        assert!(js.contains(needle), "sdk.js lacks {needle}");
    }
    assert!(!js.contains("__SIM_BASE__"));
    // The script's fetch is cross-origin (the ES page is on the relay): CORS preflight passes.
    let pre = t
        .http
        .request(
            reqwest::Method::OPTIONS,
            t.sim.control_url("/signup/session"),
        )
        .header("origin", "https://relay.example")
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "content-type")
        .send()
        .await
        .unwrap();
    assert!(pre.status().is_success());
}

#[tokio::test]
async fn code_exchange_then_onboarding() {
    let t = start().await;
    let s = new_code(&t).await;
    let code = s["code"].as_str().unwrap();
    let waba = s["waba_id"].as_str().unwrap();
    let phone = s["phone_number_id"].as_str().unwrap();
    assert!(s["business_id"].is_string());

    // The partner app hears about the install.
    t.rx.wait_for("PARTNER_APP_INSTALLED", |h| {
        h.iter()
            .any(|h| h.field() == "account_update" && h.value()["event"] == "PARTNER_APP_INSTALLED")
    })
    .await;

    let app_id = t.sim.info.app_id.clone();
    let (status, resp) = exchange(
        &t,
        &[
            ("client_id", &app_id),
            ("client_secret", "wrong"),
            ("code", code),
        ],
    )
    .await;
    assert_eq!((status, resp["error"]["code"].as_i64()), (400, Some(1)));
    let (status, resp) = exchange(
        &t,
        &[
            ("client_id", "123"),
            ("client_secret", support::SECRET),
            ("code", code),
        ],
    )
    .await;
    assert_eq!((status, resp["error"]["code"].as_i64()), (400, Some(101)));

    let (status, resp) = exchange(
        &t,
        &[
            ("client_id", &app_id),
            ("client_secret", support::SECRET),
            ("code", code),
        ],
    )
    .await;
    assert_eq!(status, 200, "{resp}");
    let token = resp["access_token"].as_str().unwrap().to_string();
    assert_eq!(resp["token_type"], "bearer");

    // Single use.
    let (status, resp) = exchange(
        &t,
        &[
            ("client_id", &app_id),
            ("client_secret", support::SECRET),
            ("code", code),
        ],
    )
    .await;
    assert_eq!(
        (status, resp["error"]["error_subcode"].as_i64()),
        (400, Some(36009))
    );

    // debug_token with the app token shows the WABA in granular scopes.
    let app_token = format!("{app_id}|{}", support::SECRET);
    let resp: Value = t
        .http
        .get(format!("{}/debug_token", t.graph))
        .query(&[
            ("input_token", token.as_str()),
            ("access_token", app_token.as_str()),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(resp["data"]["is_valid"], true);
    assert_eq!(resp["data"]["app_id"], app_id.as_str());
    assert_eq!(resp["data"]["expires_at"], 0);
    assert_eq!(resp["data"]["granular_scopes"][1]["target_ids"][0], waba);

    // The token works for the new WABA: subscribe, register, then send.
    let call = |m: reqwest::Method, p: String, b: Option<Value>| {
        let t = &t;
        let token = token.clone();
        async move { t.graph_call(m, &p, Some(&token), b).await }
    };
    let (status, _) = call(
        reqwest::Method::POST,
        format!("{waba}/subscribed_apps"),
        None,
    )
    .await;
    assert_eq!(status, 200);
    let body = json!({"messaging_product": "whatsapp", "to": "16505551234", "type": "template",
                      "template": {"name": "hello_world", "language": {"code": "en_US"}}});
    let (status, resp) = call(
        reqwest::Method::POST,
        format!("{phone}/messages"),
        Some(body.clone()),
    )
    .await;
    assert_eq!(
        (status, resp["error"]["code"].as_i64()),
        (400, Some(133010))
    );
    let (status, _) = call(
        reqwest::Method::POST,
        format!("{phone}/register"),
        Some(json!({"messaging_product": "whatsapp", "pin": "246810"})),
    )
    .await;
    assert_eq!(status, 200);
    let (status, resp) = call(
        reqwest::Method::POST,
        format!("{phone}/messages"),
        Some(body),
    )
    .await;
    assert_eq!(status, 200, "{resp}");
    // It cannot touch the pre-provisioned number.
    let (status, _) = call(reqwest::Method::GET, t.phone.clone(), None).await;
    assert_eq!(status, 400);
    // /me knows the client business.
    let (_, me) = call(
        reqwest::Method::GET,
        "me?fields=client_business_id".into(),
        None,
    )
    .await;
    assert_eq!(me["client_business_id"], s["business_id"]);
    t.rx.assert_all_typed();
}

#[tokio::test]
async fn codes_expire_after_30_seconds() {
    let t = start().await;
    let s = new_code(&t).await;
    t.advance_clock(31.0).await;
    let app_id = t.sim.info.app_id.clone();
    let (status, resp) = exchange(
        &t,
        &[
            ("client_id", &app_id),
            ("client_secret", support::SECRET),
            ("code", s["code"].as_str().unwrap()),
        ],
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(resp["error"]["code"], 100);
    assert_eq!(resp["error"]["error_subcode"], 36007);
    // 29 seconds is fine; POST with a form works like GET.
    let s = new_code(&t).await;
    t.advance_clock(29.0).await;
    let resp = t
        .http
        .post(format!("{}/oauth/access_token", t.graph))
        .form(&[
            ("client_id", app_id.as_str()),
            ("client_secret", support::SECRET),
            ("code", s["code"].as_str().unwrap()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    // Unknown codes.
    let (_, resp) = exchange(
        &t,
        &[
            ("client_id", &app_id),
            ("client_secret", support::SECRET),
            ("code", "nope"),
        ],
    )
    .await;
    assert_eq!(resp["error"]["error_subcode"], 36008);
}

#[tokio::test]
async fn session_checks_the_app_id() {
    let t = start().await;
    let resp = t
        .http
        .post(t.sim.control_url("/signup/session"))
        .json(&json!({"app_id": "999", "config_id": "c"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
}
