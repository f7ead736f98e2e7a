// The Embedded Signup page's script. Static: every dynamic value comes from the JSON block
// #dx-config (JSON-encoded by the relay), never from string interpolation.
(function () {
  'use strict';
  var cfg = JSON.parse(document.getElementById('dx-config').textContent);
  var pin = document.getElementById('dx-pin');
  var pin2 = document.getElementById('dx-pin2');
  var start = document.getElementById('dx-start');
  var statusEl = document.getElementById('dx-status');
  var sdkReady = false;
  var signup = null;
  var code = null;
  var sent = false;
  var started = false;

  function show(text) { statusEl.textContent = text; }
  function pinOk() { return /^[0-9]{6}$/.test(pin.value) && pin.value === pin2.value; }
  function update() { start.disabled = !(sdkReady && pinOk()) || started; }
  function str(v) { return v === undefined || v === null ? undefined : String(v); }

  function allowedOrigin(origin) {
    if (cfg.sdkOrigin && origin === cfg.sdkOrigin) { return true; }
    try {
      var u = new URL(origin);
      return u.protocol === 'https:' &&
        (u.hostname === 'facebook.com' || u.hostname.slice(-13) === '.facebook.com');
    } catch (e) { return false; }
  }

  function post(body) {
    if (sent) { return; }
    sent = true;
    show('Finishing the connection…');
    fetch(cfg.completeUrl, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
      credentials: 'omit'
    }).then(function (r) {
      return r.json().then(function (j) { return { ok: r.ok, j: j }; });
    }).then(function (res) {
      var target = res.j && res.j.redirect;
      if (res.ok && typeof target === 'string' && target.indexOf('dataoptix://') === 0) {
        show('Returning to DataOptix…');
        window.location.href = target;
      } else {
        show('This onboarding link can no longer be used. Start again from DataOptix.');
      }
    }).catch(function () {
      show('Could not reach the DataOptix relay. Start again from DataOptix.');
    });
  }

  function maybeSend() {
    if (!signup || sent) { return; }
    var d = signup.data || {};
    if (signup.event === 'FINISH') {
      if (code) {
        post({ event: 'FINISH', code: code, waba_id: str(d.waba_id),
          phone_number_id: str(d.phone_number_id), business_id: str(d.business_id),
          pin: pin.value });
      }
    } else if (signup.event === 'CANCEL') {
      post({ event: 'CANCEL', current_step: str(d.current_step),
        error_code: str(d.error_code), error_message: str(d.error_message) });
    } else if (signup.event === 'ERROR') {
      post({ event: 'ERROR', error_code: str(d.error_code), error_message: str(d.error_message) });
    } else {
      post({ event: 'ERROR', error_code: 'unsupported_flow',
        error_message: 'Embedded Signup finished with ' + String(signup.event) });
    }
  }

  window.addEventListener('message', function (event) {
    if (!allowedOrigin(event.origin)) { return; }
    var data;
    try { data = typeof event.data === 'string' ? JSON.parse(event.data) : event.data; }
    catch (e) { return; }
    if (!data || data.type !== 'WA_EMBEDDED_SIGNUP') { return; }
    signup = data;
    maybeSend();
  });

  function onLogin(response) {
    if (response && response.authResponse && response.authResponse.code) {
      code = response.authResponse.code;
      maybeSend();
    } else {
      // No code: wait briefly for the session-info event, else record a cancel.
      window.setTimeout(function () {
        if (!signup) { post({ event: 'CANCEL' }); }
      }, 2000);
    }
  }

  start.addEventListener('click', function () {
    if (!sdkReady || !pinOk() || started) { return; }
    started = true;
    update();
    show('Follow the steps in the Meta window…');
    window.FB.login(onLogin, {
      config_id: cfg.configId,
      response_type: 'code',
      override_default_response_type: true,
      extras: { setup: {}, sessionInfoVersion: '3' }
    });
  });
  document.getElementById('dx-form').addEventListener('submit', function (e) {
    e.preventDefault();
  });
  pin.addEventListener('input', update);
  pin2.addEventListener('input', update);

  window.fbAsyncInit = function () {
    window.FB.init({ appId: cfg.appId, autoLogAppEvents: true, xfbml: true,
      version: cfg.graphVersion });
    sdkReady = true;
    update();
  };
  var s = document.createElement('script');
  s.src = cfg.sdkUrl;
  s.async = true;
  s.defer = true;
  s.crossOrigin = 'anonymous';
  document.head.appendChild(s);
  update();
}());
