//! The Embedded Signup stand-in: a script that mimics the Facebook JS SDK (`FB.init`,
//! `FB.login` with `config_id` and `response_type: 'code'`), shows a small simulated Meta
//! dialog (or completes by itself in a test mode), dispatches the `WA_EMBEDDED_SIGNUP`
//! `message` event (FINISH / CANCEL with `current_step` / CANCEL with `error_code`) and calls
//! the login callback with `{authResponse: {code}}`. CLOUD-API-NOTES §2.3–2.5.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use crate::ids;
use crate::state::{AppState, SignupCode};
use crate::webhooks;

/// Creates what a customer's signup creates: a business portfolio, a WABA (our app not yet
/// subscribed) and an unregistered number, plus an exchangeable code for them.
pub fn new_session(state: &AppState, app_id: &str, business_name: Option<&str>) -> Value {
    let now = state.clock.now_ms();
    let name = business_name.unwrap_or("New Customer Bakery");
    let (partner_business, code, business_id, waba_id, phone_id, display) = {
        let mut world = state.world.lock();
        let n = world.phones.len() + 1;
        let display = format!("1555{:07}", 640_000 + n);
        let (business_id, waba_id, phone_id) = world.provision(name, &display, false, false);
        let code = ids::oauth_code();
        world.codes.insert(
            code.clone(),
            SignupCode {
                app_id: app_id.into(),
                business_id: business_id.clone(),
                waba_id: waba_id.clone(),
                phone_number_id: phone_id.clone(),
                created_ms: now,
                used: false,
            },
        );
        let partner = world
            .wabas
            .get(&world.default_waba)
            .map(|w| w.business_id.clone())
            .unwrap_or_default();
        (partner, code, business_id, waba_id, phone_id, display)
    };
    // Meta tells the partner app that a customer installed it.
    let app = state.config.read().app_id.clone();
    webhooks::emit(
        state,
        &waba_id,
        None,
        "account_update",
        json!({
            "event": "PARTNER_APP_INSTALLED",
            "waba_info": {
                "waba_id": waba_id,
                "owner_business_id": business_id,
                "partner_app_id": app,
                "solution_partner_business_ids": [partner_business],
            }
        }),
    );
    json!({
        "code": code,
        "business_id": business_id,
        "waba_id": waba_id,
        "phone_number_id": phone_id,
        "display_phone_number": display,
    })
}

/// `POST /_sim/signup/session` (called by the script, and by tests without a browser):
/// `{app_id, config_id, business_name?}` → `{code, business_id, waba_id, phone_number_id}`.
pub async fn session(State(state): State<AppState>, Json(body): Json<Value>) -> Response {
    let cfg = state.cfg();
    let app_id = body
        .get("app_id")
        .and_then(Value::as_str)
        .unwrap_or(&cfg.app_id)
        .to_string();
    if app_id != cfg.app_id {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": format!("Invalid App ID: {app_id}. The simulator's app id is {}.", cfg.app_id)})),
        )
            .into_response();
    }
    if body
        .get("config_id")
        .is_some_and(|c| c.as_str().is_none_or(str::is_empty))
    {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": "config_id must be a non-empty string"})),
        )
            .into_response();
    }
    let name = body.get("business_name").and_then(Value::as_str);
    Json(new_session(&state, &app_id, name)).into_response()
}

/// The SDK stand-in script.
pub async fn sdk(State(state): State<AppState>) -> Response {
    let cfg = state.cfg();
    let js = SDK_JS
        .replace("__SIM_BASE__", &js_string(&state.base_url))
        .replace("__DEFAULT_MODE__", &js_string(&cfg.signup.default_mode))
        .replace("__EVENT_ORIGIN__", &js_string(&cfg.signup.event_origin))
        .replace("__APP_ID__", &js_string(&cfg.app_id));
    (
        [
            (
                header::CONTENT_TYPE,
                "application/javascript; charset=utf-8",
            ),
            (header::CACHE_CONTROL, "no-store"),
        ],
        js,
    )
        .into_response()
}

/// A JSON string literal (safe inside a script).
fn js_string(s: &str) -> String {
    serde_json::to_string(s)
        .unwrap_or_else(|_| "\"\"".into())
        .replace('<', "\\u003c")
}

const SDK_JS: &str = r#"/* dataoptix-sim: a stand-in for https://connect.facebook.net/en_US/sdk.js (Embedded Signup only). */
(function () {
  'use strict';
  var SIM_BASE = __SIM_BASE__;
  var MODE = __DEFAULT_MODE__;
  var EVENT_ORIGIN = __EVENT_ORIGIN__;
  var SIM_APP_ID = __APP_ID__;
  var STEP = 'PHONE_NUMBER_SETUP';
  try {
    var src = document.currentScript && document.currentScript.src;
    if (src) {
      var u = new URL(src);
      SIM_BASE = u.origin;
      if (u.searchParams.get('mode')) { MODE = u.searchParams.get('mode'); }
      if (u.searchParams.get('step')) { STEP = u.searchParams.get('step'); }
    }
  } catch (e) { /* keep defaults */ }
  try {
    var page = new URLSearchParams(window.location.search);
    if (page.get('sim_es_mode')) { MODE = page.get('sim_es_mode'); }
    if (page.get('sim_es_step')) { STEP = page.get('sim_es_step'); }
  } catch (e) { /* keep defaults */ }

  var initialized = false;
  var appId = null;
  var overlay = null;

  function emit(payload) {
    var ev = new MessageEvent('message', { data: JSON.stringify(payload), origin: EVENT_ORIGIN });
    window.dispatchEvent(ev);
  }

  function later(fn) { setTimeout(fn, 0); }

  function closeDialog() {
    if (overlay && overlay.parentNode) { overlay.parentNode.removeChild(overlay); }
    overlay = null;
  }

  function cancel(cb, step) {
    closeDialog();
    emit({ data: { current_step: step || STEP }, type: 'WA_EMBEDDED_SIGNUP', event: 'CANCEL' });
    later(function () { cb({ authResponse: null, status: 'unknown' }); });
  }

  function fail(cb, message, code) {
    closeDialog();
    emit({
      data: {
        error_message: message || 'There was an issue connecting your phone number. Try again later.',
        error_code: code || '524126',
        session_id: Math.random().toString(16).slice(2, 17),
        timestamp: String(Math.floor(Date.now() / 1000))
      },
      type: 'WA_EMBEDDED_SIGNUP',
      event: 'CANCEL'
    });
    later(function () { cb({ authResponse: null, status: 'unknown' }); });
  }

  function finish(cb, opts, businessName) {
    fetch(SIM_BASE + '/_sim/signup/session', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ app_id: appId, config_id: opts.config_id, extras: opts.extras || null, business_name: businessName || null })
    }).then(function (r) {
      return r.json().then(function (j) { return { ok: r.ok, body: j }; });
    }).then(function (res) {
      if (!res.ok) { fail(cb, res.body.error || 'Embedded Signup failed', '1'); return; }
      closeDialog();
      var d = res.body;
      emit({
        data: { phone_number_id: d.phone_number_id, waba_id: d.waba_id, business_id: d.business_id },
        type: 'WA_EMBEDDED_SIGNUP',
        event: 'FINISH'
      });
      later(function () {
        cb({
          authResponse: { code: d.code, userID: '', expiresIn: 0, graphDomain: 'facebook', data_access_expiration_time: 0 },
          status: 'connected'
        });
      });
    }, function (err) { fail(cb, 'Network error: ' + err, '1'); });
  }

  function el(tag, style, text) {
    var e = document.createElement(tag);
    if (style) { e.setAttribute('style', style); }
    if (text) { e.textContent = text; }
    return e;
  }

  function dialog(cb, opts) {
    closeDialog();
    overlay = el('div', 'position:fixed;inset:0;background:rgba(0,0,0,.45);display:flex;align-items:center;justify-content:center;z-index:2147483647;font-family:Helvetica,Arial,sans-serif');
    overlay.id = 'sim-es-dialog';
    overlay.setAttribute('role', 'dialog');
    overlay.setAttribute('aria-label', 'Simulated Meta Embedded Signup');
    var box = el('div', 'background:#fff;border-radius:8px;width:380px;max-width:92vw;padding:20px;box-shadow:0 8px 30px rgba(0,0,0,.3);color:#1c1e21');
    box.appendChild(el('div', 'font-size:12px;color:#65676b;margin-bottom:6px', 'Meta (simulated by dataoptix-sim)'));
    box.appendChild(el('h2', 'font-size:18px;margin:0 0 10px', 'Connect your WhatsApp Business Account'));
    box.appendChild(el('p', 'font-size:13px;margin:0 0 12px', 'App ' + appId + ' asks to manage WhatsApp for your business (configuration ' + opts.config_id + ').'));
    var label = el('label', 'display:block;font-size:13px;margin-bottom:4px', 'Business name');
    var input = el('input', 'width:100%;box-sizing:border-box;padding:6px;margin-bottom:14px;border:1px solid #ccd0d5;border-radius:4px');
    input.id = 'sim-es-business-name';
    input.value = 'New Customer Bakery';
    label.setAttribute('for', input.id);
    box.appendChild(label);
    box.appendChild(input);
    var row = el('div', 'display:flex;gap:8px;justify-content:flex-end');
    var err = el('button', 'padding:8px 12px;border:1px solid #ccd0d5;background:#fff;border-radius:6px;cursor:pointer', 'Report error');
    err.id = 'sim-es-error';
    var no = el('button', 'padding:8px 12px;border:1px solid #ccd0d5;background:#fff;border-radius:6px;cursor:pointer', 'Cancel');
    no.id = 'sim-es-cancel';
    var yes = el('button', 'padding:8px 12px;border:0;background:#1877f2;color:#fff;border-radius:6px;cursor:pointer', 'Finish');
    yes.id = 'sim-es-finish';
    err.onclick = function () { fail(cb); };
    no.onclick = function () { cancel(cb); };
    yes.onclick = function () { finish(cb, opts, input.value); };
    row.appendChild(err); row.appendChild(no); row.appendChild(yes);
    box.appendChild(row);
    overlay.appendChild(box);
    document.body.appendChild(overlay);
    yes.focus();
  }

  var FB = {
    init: function (opts) {
      opts = opts || {};
      appId = String(opts.appId || '');
      initialized = true;
      if (appId !== SIM_APP_ID) {
        console.warn('[dataoptix-sim] FB.init appId ' + appId + ' is not the simulator app id ' + SIM_APP_ID);
      }
    },
    login: function (cb, opts) {
      cb = typeof cb === 'function' ? cb : function () {};
      opts = opts || {};
      if (!initialized) {
        console.error('FB.login() called before FB.init().');
        return;
      }
      if (!opts.config_id || opts.response_type !== 'code' || opts.override_default_response_type !== true) {
        fail(cb, 'Embedded Signup needs config_id, response_type: \'code\' and override_default_response_type: true', '1');
        return;
      }
      if (MODE === 'finish' || MODE === 'auto') { finish(cb, opts, null); }
      else if (MODE === 'cancel') { cancel(cb, STEP); }
      else if (MODE === 'error') { fail(cb); }
      else { dialog(cb, opts); }
    },
    getLoginStatus: function (cb) { if (typeof cb === 'function') { cb({ status: 'unknown', authResponse: null }); } },
    logout: function (cb) { if (typeof cb === 'function') { cb({ status: 'unknown' }); } },
    getAuthResponse: function () { return null; },
    AppEvents: { logPageView: function () {}, logEvent: function () {} },
    XFBML: { parse: function () {} },
    Event: { subscribe: function () {}, unsubscribe: function () {} },
    __sim: { base: SIM_BASE, mode: function () { return MODE; }, setMode: function (m) { MODE = m; } }
  };
  window.FB = FB;
  if (typeof window.fbAsyncInit === 'function') { later(window.fbAsyncInit); }
})();
"#;
