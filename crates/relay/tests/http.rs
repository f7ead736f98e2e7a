//! Full-stack tests: the relay served on 127.0.0.1:0, driven over real HTTP.

// Test helpers outside `#[test]` functions are still test code: panicking is the point.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::time::Duration;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use cloud_api::signature::sign;
use protocol::auth::{Role, SessionCreated};
use protocol::events::{AppendEventResponse, EventKind, EventPage};
use protocol::members::{MemberInfo, MemberList};
use protocol::WorkspaceSecretKey;
use relay::store::{PrunePolicy, DELETED_SESSIONS_DAYS};
use relay::Config;
use reqwest::StatusCode;
use serde_json::{json, Value};
use tokio::sync::oneshot;

mod support;
use support::*;

#[tokio::test]
async fn register_sign_in_list_and_revoke_sessions() {
    let t = TestRelay::start().await;
    let key = WorkspaceSecretKey::generate();
    let owner = t.register("Ana@Example.com", &key).await;
    assert_eq!(owner.workspace.public_key, key.public_key().to_base64());

    // Same email again (any case) is refused.
    let dup = t
        .post_json_anon(
            "/v1/accounts",
            &json!({"name": "X", "email": "ana@example.com", "company": "Y",
            "password": PASSWORD, "workspace_public_key": key.public_key().to_base64(),
            "device_name": "d"}),
        )
        .await;
    assert_eq!(dup.status(), StatusCode::CONFLICT);
    // Short password.
    let short = t
        .post_json_anon(
            "/v1/accounts",
            &json!({"name": "X", "email": "x@example.com", "company": "Y",
            "password": "123456789", "workspace_public_key": key.public_key().to_base64(),
            "device_name": "d"}),
        )
        .await;
    assert_eq!(short.status(), StatusCode::BAD_REQUEST);

    let resp = t.sign_in("ana@example.com", PASSWORD).await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    let laptop: SessionCreated = resp.json().await.unwrap();
    assert_eq!(laptop.workspace.id, owner.workspace.id);

    let list: Value = t.get_json("/v1/sessions", &owner.token).await;
    let sessions = list["sessions"].as_array().unwrap();
    assert_eq!(sessions.len(), 2);
    assert_eq!(sessions.iter().filter(|s| s["current"] == true).count(), 1);

    // The owner revokes the laptop's session; the laptop is out.
    let del = t
        .delete(&format!("/v1/sessions/{}", laptop.session.id), &owner.token)
        .await;
    assert_eq!(del.status(), StatusCode::NO_CONTENT);
    let r = t.get("/v1/sessions", &laptop.token).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);

    // Sign out.
    let out = t.delete("/v1/sessions/current", &owner.token).await;
    assert_eq!(out.status(), StatusCode::NO_CONTENT);
    let r = t.get("/v1/events", &owner.token).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    t.stop().await;
}

#[tokio::test]
async fn wrong_passwords_lock_the_account_out() {
    let t = TestRelay::start().await;
    let key = WorkspaceSecretKey::generate();
    t.register("bo@example.com", &key).await;
    for _ in 0..relay::auth::ACCOUNT_MAX_FAILURES {
        let r = t.sign_in("bo@example.com", "wrong password!!").await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["kind"], "invalid_credentials");
    }
    // Locked: even the right password is refused for now.
    let r = t.sign_in("bo@example.com", PASSWORD).await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    // Unknown email: same answer as a wrong password.
    let r = t.sign_in("nobody@example.com", PASSWORD).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    t.stop().await;
}

/// Sign-in attempts from `client` as a reverse proxy on 127.0.0.1 would send them.
async fn sign_in_via_proxy(t: &TestRelay, client: &str, email: &str, password: &str) -> StatusCode {
    t.http
        .post(t.url("/v1/sessions"))
        .header("x-forwarded-for", client)
        .json(&json!({"email": email, "password": password, "device_name": "Laptop"}))
        .send()
        .await
        .unwrap()
        .status()
}

#[tokio::test]
async fn behind_a_trusted_proxy_one_clients_failures_do_not_lock_out_another() {
    // Each relay: one attacker guesses passwords for many accounts (the per-IP limit trips),
    // then another client signs in with the right password, both through the local proxy.
    async fn other_client_after_attack(trusted: &str) -> StatusCode {
        let trusted = trusted.to_string();
        let t = TestRelay::start_configured(move |c| {
            c.trusted_proxies = trusted
                .split(',')
                .filter(|s| !s.is_empty())
                .map(|s| s.parse().unwrap())
                .collect();
        })
        .await;
        t.register("victim@example.com", &WorkspaceSecretKey::generate())
            .await;
        for i in 0..relay::auth::IP_MAX_FAILURES {
            let status = sign_in_via_proxy(
                &t,
                "203.0.113.9",
                &format!("guess{i}@example.com"),
                "nope!!!!",
            )
            .await;
            assert_eq!(status, StatusCode::UNAUTHORIZED);
        }
        assert_eq!(
            sign_in_via_proxy(&t, "203.0.113.9", "victim@example.com", PASSWORD).await,
            StatusCode::TOO_MANY_REQUESTS,
            "the attacker's address is locked"
        );
        let other = sign_in_via_proxy(&t, "198.51.100.20", "victim@example.com", PASSWORD).await;
        t.stop().await;
        other
    }
    assert_eq!(
        other_client_after_attack("127.0.0.1/32").await,
        StatusCode::CREATED
    );
    // Without the setting the header is not believed: everyone shares the proxy's address.
    assert_eq!(
        other_client_after_attack("").await,
        StatusCode::TOO_MANY_REQUESTS
    );
}

#[tokio::test]
async fn verification_handshake() {
    let t = TestRelay::start().await;
    let ok = t.get_anon("/webhooks/meta?hub.mode=subscribe&hub.verify_token=test-verify-token&hub.challenge=1158201444").await;
    assert_eq!(ok.status(), StatusCode::OK);
    assert_eq!(ok.text().await.unwrap(), "1158201444");
    for q in [
        "hub.mode=subscribe&hub.verify_token=wrong&hub.challenge=1",
        "hub.mode=unsubscribe&hub.verify_token=test-verify-token&hub.challenge=1",
        "",
    ] {
        let r = t.get_anon(&format!("/webhooks/meta?{q}")).await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{q}");
    }
    t.stop().await;
}

#[tokio::test]
async fn signed_webhook_reaches_the_device_sealed_and_replays_are_stored_once() {
    let t = TestRelay::start().await;
    let key = WorkspaceSecretKey::generate();
    let owner = t.register("ana@example.com", &key).await;
    assert_eq!(t.claim(&owner.token, WABA).await.status(), StatusCode::OK);

    let body = message_webhook(WABA, "wamid.A1", MESSAGE_TEXT);
    assert_eq!(t.signed_webhook(&body).await, StatusCode::OK);
    // Meta retries the same delivery: stored once.
    assert_eq!(t.signed_webhook(&body).await, StatusCode::OK);

    let page = t.events(&owner.token, 0).await;
    assert_eq!(page.events.len(), 1);
    assert!(!page.resync_required);
    let ev = &page.events[0];
    assert_eq!(ev.seq, 1);
    assert_eq!(page.next_after, 1);
    let entry = open_entry(&key, &ev.sealed);
    assert_eq!(entry["id"], WABA);
    assert_eq!(
        entry["changes"][0]["value"]["messages"][0]["text"]["body"],
        MESSAGE_TEXT
    );
    // The device can hand the plaintext to cloud-api's lossless parser.
    let plain = protocol::open(&key, &protocol::sealed::from_base64(&ev.sealed).unwrap()).unwrap();
    let envelope = format!(
        r#"{{"object":"whatsapp_business_account","entry":[{}]}}"#,
        String::from_utf8(plain).unwrap()
    );
    let parsed = cloud_api::webhook::WebhookPayload::from_slice(envelope.as_bytes()).unwrap();
    assert_eq!(parsed.waba_ids(), vec![WABA]);

    // Another workspace's key cannot open it.
    let other = WorkspaceSecretKey::generate();
    assert!(protocol::open(&other, &protocol::sealed::from_base64(&ev.sealed).unwrap()).is_err());

    // A second, different message gets seq 2.
    let body2 = message_webhook(WABA, "wamid.A2", "second");
    assert_eq!(t.signed_webhook(&body2).await, StatusCode::OK);
    let page = t.events(&owner.token, 1).await;
    assert_eq!(
        page.events.iter().map(|e| e.seq).collect::<Vec<_>>(),
        vec![2]
    );
    let metrics = t.metrics().await;
    assert!(
        metrics.contains("dataoptix_relay_webhook_entries_stored_total 2\n"),
        "{metrics}"
    );
    assert!(metrics.contains("dataoptix_relay_webhook_entries_duplicate_total 1\n"));
    t.stop().await;
}

#[tokio::test]
async fn bad_or_missing_signature_is_refused_and_nothing_is_stored() {
    let t = TestRelay::start().await;
    let body = message_webhook(WABA, "wamid.X", MESSAGE_TEXT);
    assert_eq!(t.webhook(&body, None).await, StatusCode::FORBIDDEN);
    assert_eq!(
        t.webhook(&body, Some(sign(b"other secret", &body))).await,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        t.webhook(&body, Some("sha256=nothex".into())).await,
        StatusCode::FORBIDDEN
    );
    // Signature of a different body.
    assert_eq!(
        t.webhook(&body, Some(sign(SECRET.as_bytes(), b"{}"))).await,
        StatusCode::FORBIDDEN
    );
    // Not JSON and unsigned: refused too, not kept for inspection.
    assert_eq!(t.webhook(b"garbage", None).await, StatusCode::FORBIDDEN);
    assert_eq!(t.counts().await, (0, 0, 0));
    let metrics = t.metrics().await;
    assert!(
        metrics.contains("dataoptix_relay_webhooks_rejected_total 5\n"),
        "{metrics}"
    );
    assert!(metrics.contains("dataoptix_relay_webhooks_received_total 0\n"));
    t.stop().await;
}

#[tokio::test]
async fn three_megabytes_accepted_five_refused_with_413() {
    let t = TestRelay::start().await;
    let key = WorkspaceSecretKey::generate();
    let owner = t.register("big@example.com", &key).await;
    t.claim(&owner.token, WABA).await;
    let big = message_webhook(WABA, "wamid.BIG", &"x".repeat(3 * 1024 * 1024 - 1000));
    assert!(big.len() > 3 * 1024 * 1024 - 1000 && big.len() <= 3 * 1024 * 1024);
    assert_eq!(t.signed_webhook(&big).await, StatusCode::OK);
    let huge = message_webhook(WABA, "wamid.HUGE", &"y".repeat(5 * 1024 * 1024));
    assert_eq!(t.signed_webhook(&huge).await, StatusCode::PAYLOAD_TOO_LARGE);
    let page = t.events(&owner.token, 0).await;
    assert_eq!(page.events.len(), 1);
    t.stop().await;
}

#[tokio::test]
async fn signed_non_json_is_kept_encrypted_and_answered_200() {
    let t = TestRelay::start().await;
    let body = b"this is not json {";
    assert_eq!(t.signed_webhook(body).await, StatusCode::OK);
    assert_eq!(t.counts().await, (0, 0, 1));
    let dir = t.stop().await;
    // The operator can read it back with the encryption key (and only with it).
    let config = Config::for_tests(dir.path(), SECRET);
    let bodies = relay::inspect_invalid_bodies(&config).await.unwrap();
    assert_eq!(bodies.len(), 1);
    assert_eq!(bodies[0].encrypted, body);
}

/// Manual setup: a WABA is linked (and what was held for it released) only when Meta says the
/// token grants it, and the number given is one of its numbers; the token is kept encrypted.
#[tokio::test]
async fn a_waba_is_claimed_only_with_a_token_meta_says_grants_it() {
    let t = TestRelay::start().await;
    let owner = t
        .register("manual@example.com", &WorkspaceSecretKey::generate())
        .await;
    let body = message_webhook("555000222", "wamid.HELD", MESSAGE_TEXT);
    assert_eq!(t.signed_webhook(&body).await, StatusCode::OK); // held: nobody owns it yet
    let post = |body: Value| {
        let t = &t;
        let token = owner.token.clone();
        async move {
            let resp = t.post_json("/v1/wabas", &token, &body).await;
            let status = resp.status();
            let body: Value = resp.json().await.unwrap();
            (
                status,
                body["message"].as_str().unwrap_or_default().to_owned(),
            )
        }
    };
    let other_waba = t.grant(&["555000999"]).await;
    let revoked = t.grant(&["555000222"]).await;
    let resp = t
        .http
        .post(t.sim.control_url("/tokens/revoke"))
        .json(&json!({"token": revoked}))
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success());
    let refused = [
        (
            json!({"waba_id": "555000222"}),
            StatusCode::BAD_REQUEST,
            "access_token",
        ),
        (
            json!({"waba_id": "555000222", "access_token": " "}),
            StatusCode::BAD_REQUEST,
            "access_token is required",
        ),
        (
            json!({"waba_id": "555000222", "access_token": "EAAG-made-up"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "does not grant WhatsApp Business Account 555000222",
        ),
        (
            json!({"waba_id": "555000222", "access_token": other_waba}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "does not grant",
        ),
        (
            json!({"waba_id": "555000222", "access_token": revoked}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "not valid",
        ),
    ];
    for (request, status, message) in refused {
        let (got, text) = post(request.clone()).await;
        assert_eq!(got, status, "{request}: {text}");
        assert!(text.contains(message), "{request}: {text}");
    }
    // Nothing was linked or released by the refusals.
    let wabas: Value = t.get_json("/v1/wabas", &owner.token).await;
    assert_eq!(wabas["waba_ids"], json!([]));
    assert!(t.events(&owner.token, 0).await.events.is_empty());
    assert!(t
        .state
        .store
        .business_token("555000222")
        .await
        .unwrap()
        .is_none());

    // The simulator's own WABA and number, with its token: a number of another WABA is refused.
    let sim = t.sim.info.clone();
    let (got, text) = post(
        json!({"waba_id": sim.waba_id, "access_token": sim.access_token,
        "phone_number_id": "1234567890"}),
    )
    .await;
    assert_eq!(got, StatusCode::UNPROCESSABLE_ENTITY, "{text}");
    assert!(text.contains("is not a number of"), "{text}");
    let (got, text) = post(
        json!({"waba_id": sim.waba_id, "access_token": sim.access_token,
        "phone_number_id": sim.phone_number_id}),
    )
    .await;
    assert_eq!(got, StatusCode::OK, "{text}");
    let stored = t
        .state
        .store
        .business_token(&sim.waba_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.workspace_id, owner.workspace.id);
    assert!(!stored
        .encrypted
        .windows(sim.access_token.len())
        .any(|w| w == sim.access_token.as_bytes()));

    // A granting token releases what was held.
    let granted = t.grant(&["555000222"]).await;
    let (got, text) = post(json!({"waba_id": "555000222", "access_token": granted})).await;
    assert_eq!(got, StatusCode::OK, "{text}");
    assert_eq!(t.events(&owner.token, 0).await.events.len(), 1);
    let mut wabas: Value = t.get_json("/v1/wabas", &owner.token).await;
    wabas["waba_ids"]
        .as_array_mut()
        .unwrap()
        .sort_by_key(|v| v.to_string());
    let mut expected = json!(["555000222", sim.waba_id]);
    expected
        .as_array_mut()
        .unwrap()
        .sort_by_key(|v| v.to_string());
    assert_eq!(wabas["waba_ids"], expected);
    t.stop().await;
}

/// When Meta cannot be asked, nothing is linked and the device is told to try again.
#[tokio::test]
async fn a_claim_meta_cannot_check_is_refused_with_a_bad_gateway() {
    let t = TestRelay::start_configured(|c| c.graph_base_url = "http://127.0.0.1:1".into()).await;
    let owner = t
        .register("offline@example.com", &WorkspaceSecretKey::generate())
        .await;
    let resp = t
        .post_json(
            "/v1/wabas",
            &owner.token,
            &json!({"waba_id": "555000333", "access_token": "EAAG-any"}),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::BAD_GATEWAY);
    let body: Value = resp.json().await.unwrap();
    assert!(
        body["message"].as_str().unwrap().contains("try again"),
        "{body}"
    );
    let wabas: Value = t.get_json("/v1/wabas", &owner.token).await;
    assert_eq!(wabas["waba_ids"], json!([]));
    t.stop().await;
}

#[tokio::test]
async fn unowned_waba_is_held_then_released_on_claim() {
    let t = TestRelay::start().await;
    let key = WorkspaceSecretKey::generate();
    let owner = t.register("late@example.com", &key).await;
    let body = message_webhook("555000111", "wamid.EARLY", MESSAGE_TEXT);
    assert_eq!(t.signed_webhook(&body).await, StatusCode::OK);
    assert_eq!(t.signed_webhook(&body).await, StatusCode::OK); // held once
    assert_eq!(t.counts().await, (0, 1, 0));
    assert!(t.events(&owner.token, 0).await.events.is_empty());

    let resp = t.claim(&owner.token, "555000111").await;
    assert_eq!(resp.status(), StatusCode::OK);
    let claimed: Value = resp.json().await.unwrap();
    assert_eq!(claimed["released_events"], 1);
    assert_eq!(t.counts().await, (1, 0, 0));
    let page = t.events(&owner.token, 0).await;
    assert_eq!(page.events.len(), 1);
    let entry = open_entry(&key, &page.events[0].sealed);
    assert_eq!(entry["id"], "555000111");

    // The replay arriving after the claim is recognised.
    assert_eq!(t.signed_webhook(&body).await, StatusCode::OK);
    assert_eq!(t.events(&owner.token, 0).await.events.len(), 1);

    // Another workspace cannot take the WABA.
    let other = t
        .register("thief@example.com", &WorkspaceSecretKey::generate())
        .await;
    assert_eq!(
        t.claim(&other.token, "555000111").await.status(),
        StatusCode::CONFLICT
    );
    t.stop().await;
}

#[tokio::test]
async fn device_events_reach_other_devices_once_and_no_other_workspace() {
    let t = TestRelay::start().await;
    let key = WorkspaceSecretKey::generate();
    let desk = t.register("team@example.com", &key).await;
    let laptop: SessionCreated = t
        .sign_in("team@example.com", PASSWORD)
        .await
        .json()
        .await
        .unwrap();

    let sealed = protocol::seal(&key.public_key(), b"{\"sent\":\"wamid.OUT1\"}").unwrap();
    let first = t.append(&desk.token, "client-1", &sealed).await;
    assert_eq!(first.status(), StatusCode::CREATED);
    let first: AppendEventResponse = first.json().await.unwrap();
    // A retry (lost answer) does not append twice.
    let retry = t.append(&desk.token, "client-1", &sealed).await;
    assert_eq!(retry.status(), StatusCode::OK);
    let retry: AppendEventResponse = retry.json().await.unwrap();
    assert_eq!(
        (retry.seq, retry.id, retry.created),
        (first.seq, first.id, false)
    );

    let page = t.events(&laptop.token, 0).await;
    assert_eq!(page.events.len(), 1);
    assert_eq!(page.events[0].client_event_id.as_deref(), Some("client-1"));
    assert_eq!(page.events[0].origin_session, Some(desk.session.id));
    let plain = protocol::open(
        &key,
        &protocol::sealed::from_base64(&page.events[0].sealed).unwrap(),
    )
    .unwrap();
    assert_eq!(plain, b"{\"sent\":\"wamid.OUT1\"}");

    // Not an envelope: refused.
    let bad = t.append(&desk.token, "client-2", b"plain text").await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);

    // Another workspace sees nothing of it and cannot touch its sessions.
    let other = t
        .register("other@example.com", &WorkspaceSecretKey::generate())
        .await;
    assert!(t.events(&other.token, 0).await.events.is_empty());
    let r = t
        .delete(&format!("/v1/sessions/{}", desk.session.id), &other.token)
        .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let sessions: Value = t.get_json("/v1/sessions", &other.token).await;
    assert_eq!(sessions["sessions"].as_array().unwrap().len(), 1);
    let wabas: Value = t.get_json("/v1/wabas", &other.token).await;
    assert_eq!(wabas["waba_ids"].as_array().unwrap().len(), 0);
    // Devices learn the Graph API they send through from the relay's own setting.
    let config: Value = t.get_json("/v1/config", &other.token).await;
    assert_eq!(
        config["graph_base_url"],
        t.state.config.graph_base_url.as_str()
    );
    assert_eq!(
        config["graph_version"],
        t.state.config.graph_version.as_str()
    );
    // And the Meta app that uploads (template samples, the profile photo) are made for.
    assert_eq!(
        config["app_id"].as_str(),
        t.state.config.meta_app_id.as_deref()
    );
    t.stop().await;
}

/// Every route that needs a session (and a body that would pass validation where one is read).
const DEVICE_ROUTES: &[(&str, &str)] = &[
    ("GET", "/v1/sessions"),
    ("GET", "/v1/config"),
    ("DELETE", "/v1/sessions/current"),
    (
        "DELETE",
        "/v1/sessions/00000000-0000-0000-0000-000000000000",
    ),
    ("GET", "/v1/events"),
    ("POST", "/v1/events"),
    ("POST", "/v1/events/ack"),
    ("GET", "/v1/events/stream"),
    ("GET", "/v1/wabas"),
    ("POST", "/v1/wabas"),
    ("POST", "/v1/onboarding"),
    (
        "GET",
        "/v1/onboarding/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    ),
    ("DELETE", "/v1/accounts/current"),
    ("GET", "/v1/media/some-media-id"),
    ("GET", "/v1/invitations"),
    ("POST", "/v1/invitations"),
    (
        "DELETE",
        "/v1/invitations/00000000-0000-0000-0000-000000000000",
    ),
    ("GET", "/v1/members"),
    ("PATCH", "/v1/members/00000000-0000-0000-0000-000000000000"),
    ("DELETE", "/v1/members/00000000-0000-0000-0000-000000000000"),
];

#[tokio::test]
async fn every_device_route_requires_a_session() {
    let t = TestRelay::start().await;
    let routes = DEVICE_ROUTES;
    for (method, path) in routes {
        for auth in [None, Some("Bearer dxr_not-a-real-token"), Some("Basic abc")] {
            let mut req = t
                .http
                .request(method.parse().unwrap(), t.url(path))
                .header("content-type", "application/json")
                .body("{}");
            if let Some(a) = auth {
                req = req.header("authorization", a);
            }
            let r = req.send().await.unwrap();
            assert_eq!(
                r.status(),
                StatusCode::UNAUTHORIZED,
                "{method} {path} {auth:?}"
            );
        }
    }
    for path in ["/healthz", "/readyz"] {
        let r = t.get_anon(path).await;
        assert_eq!(r.status(), StatusCode::OK, "{path}");
    }
    t.stop().await;
}

/// A signed-out (revoked) session is refused everywhere, not only where it was revoked; the
/// other session of the same user keeps working.
#[tokio::test]
async fn a_revoked_session_is_refused_on_every_device_route() {
    let t = TestRelay::start().await;
    let owner = t
        .register("revoked@example.com", &WorkspaceSecretKey::generate())
        .await;
    let laptop = t.sign_in("revoked@example.com", PASSWORD).await;
    assert_eq!(laptop.status(), StatusCode::CREATED);
    let laptop: Value = laptop.json().await.unwrap();
    let laptop = laptop["token"].as_str().unwrap().to_owned();
    let r = t.delete("/v1/sessions/current", &laptop).await;
    assert!(r.status().is_success(), "{}", r.status());
    for (method, path) in DEVICE_ROUTES {
        let r = t
            .http
            .request(method.parse().unwrap(), t.url(path))
            .bearer_auth(&laptop)
            .header("content-type", "application/json")
            .body("{}")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{method} {path}");
    }
    assert_eq!(
        t.get("/v1/sessions", &owner.token).await.status(),
        StatusCode::OK
    );
    t.stop().await;
}

#[tokio::test]
async fn long_poll_wakes_on_a_new_event_and_acks_move_forward_only() {
    let t = TestRelay::start().await;
    let key = WorkspaceSecretKey::generate();
    let owner = t.register("poll@example.com", &key).await;
    let http = t.http.clone();
    let url = t.url("/v1/events?after=0&wait=20");
    let token = owner.token.clone();
    let started = std::time::Instant::now();
    let waiter = tokio::spawn(async move {
        let r = http.get(url).bearer_auth(token).send().await.unwrap();
        r.json::<EventPage>().await.unwrap()
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let sealed = protocol::seal(&key.public_key(), b"note").unwrap();
    t.append(&owner.token, "n1", &sealed).await;
    let page = waiter.await.unwrap();
    assert_eq!(page.events.len(), 1);
    assert!(started.elapsed() < Duration::from_secs(10));

    for (seq, expect) in [(1, 1), (0, 1), (99, 1)] {
        let r: Value = t
            .post_json("/v1/events/ack", &owner.token, &json!({ "seq": seq }))
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(r["acked"], expect, "ack {seq}");
    }
    t.stop().await;
}

#[tokio::test]
async fn retention_prunes_acked_and_old_events_and_reports_resync() {
    let t = TestRelay::start().await;
    let key = WorkspaceSecretKey::generate();
    let desk = t.register("keep@example.com", &key).await;
    let sealed = protocol::seal(&key.public_key(), b"e").unwrap();
    for i in 0..3 {
        t.append(&desk.token, &format!("c{i}"), &sealed).await;
    }
    // Only device: ack 2 → events 1..=2 may go.
    t.post_json("/v1/events/ack", &desk.token, &json!({"seq": 2}))
        .await;
    let now = time::OffsetDateTime::now_utc();
    let report = t
        .state
        .store
        .prune(PrunePolicy {
            now,
            retention: time::Duration::days(30),
        })
        .await
        .unwrap();
    assert_eq!(report.events_removed, 2);
    // The device's own cursor is fine.
    let page = t.events(&desk.token, 2).await;
    assert!(!page.resync_required);
    assert_eq!(page.events.len(), 1);
    // This device existed when events 1..=2 were pruned: from 0 it must resync, never see a
    // silent gap (a device created after the prune starts past them: see tests/resync.rs).
    let page = t.events(&desk.token, 0).await;
    assert!(page.resync_required);
    assert!(page.events.is_empty());
    assert_eq!(page.next_after, 2);

    // 31 days later, the unacked event 3 is past retention too.
    let report = t
        .state
        .store
        .prune(PrunePolicy {
            now: now + time::Duration::days(31),
            retention: time::Duration::days(30),
        })
        .await
        .unwrap();
    assert_eq!(report.events_removed, 1);
    assert!(t.events(&desk.token, 2).await.resync_required);
    assert!(!t.events(&desk.token, 3).await.resync_required);
    t.stop().await;
}

#[tokio::test]
async fn sse_resumes_from_last_event_id() {
    let t = TestRelay::start().await;
    let key = WorkspaceSecretKey::generate();
    let owner = t.register("sse@example.com", &key).await;
    let sealed = protocol::seal(&key.public_key(), b"e").unwrap();
    for i in 0..3 {
        t.append(&owner.token, &format!("s{i}"), &sealed).await;
    }
    let mut resp = t
        .http
        .get(t.url("/v1/events/stream"))
        .bearer_auth(&owner.token)
        .header("last-event-id", "1")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let mut text = String::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !text.contains("id: 3") {
        let chunk = tokio::time::timeout_at(deadline, resp.chunk())
            .await
            .expect("stream timed out")
            .unwrap()
            .expect("stream ended");
        text.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert!(!text.contains("id: 1\n"), "{text}");
    assert!(text.contains("id: 2"), "{text}");
    // A live event arrives on the open stream.
    t.append(&owner.token, "s-live", &sealed).await;
    while !text.contains("id: 4") {
        let chunk = tokio::time::timeout_at(deadline, resp.chunk())
            .await
            .expect("stream timed out")
            .unwrap()
            .expect("stream ended");
        text.push_str(&String::from_utf8_lossy(&chunk));
    }
    // Revoking the session ends its open stream at the next event.
    let r = t.delete("/v1/sessions/current", &owner.token).await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let laptop: SessionCreated = t
        .sign_in("sse@example.com", PASSWORD)
        .await
        .json()
        .await
        .unwrap();
    t.append(&laptop.token, "after-revoke", &sealed).await;
    loop {
        match tokio::time::timeout_at(deadline, resp.chunk())
            .await
            .expect("stream of a revoked session stayed open")
            .unwrap()
        {
            None => break,
            Some(chunk) => {
                let chunk = String::from_utf8_lossy(&chunk).into_owned();
                assert!(!chunk.contains("id: 5"), "revoked session got {chunk}");
            }
        }
    }
    t.stop().await;
}

fn scan_for(dir: &Path, needles: &[(&str, &[u8])]) -> Vec<String> {
    let mut found = Vec::new();
    let mut files = 0;
    for path in files_under(dir) {
        // A file gone between listing and reading (SQLite's transient files while the
        // relay runs) held nothing at rest.
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => panic!("{}: {e}", path.display()),
        };
        files += 1;
        for (what, needle) in needles {
            if bytes.windows(needle.len()).any(|w| w == *needle) {
                found.push(format!("{what} in {}", path.display()));
            }
        }
    }
    assert!(files > 0, "no files in the data dir");
    found
}

#[tokio::test]
async fn the_data_dir_holds_no_plaintext_content_password_or_token() {
    let t = TestRelay::start().await;
    let key = WorkspaceSecretKey::generate();
    let owner = t.register("scan@example.com", &key).await;
    let laptop: SessionCreated = t
        .sign_in("scan@example.com", PASSWORD)
        .await
        .json()
        .await
        .unwrap();
    t.claim(&owner.token, WABA).await;
    t.signed_webhook(&message_webhook(WABA, "wamid.S1", MESSAGE_TEXT))
        .await;
    t.signed_webhook(&message_webhook("999888777", "wamid.S2", MESSAGE_TEXT))
        .await; // held
    let canary = format!("not json but {MESSAGE_TEXT}");
    t.signed_webhook(canary.as_bytes()).await; // inspection
    let device_note = "Device note canary 0815";
    let sealed = protocol::seal(&key.public_key(), device_note.as_bytes()).unwrap();
    t.append(&laptop.token, "scan-1", &sealed).await;
    assert_eq!(t.counts().await, (2, 1, 1));

    let needles: Vec<(&str, &[u8])> = vec![
        ("message text", MESSAGE_TEXT.as_bytes()),
        ("device note", device_note.as_bytes()),
        ("password", PASSWORD.as_bytes()),
        ("owner token", owner.token.as_bytes()),
        ("laptop token", laptop.token.as_bytes()),
        ("app secret", SECRET.as_bytes()),
        ("contact name", b"Sheena Nelson"),
    ];
    // While running (WAL not yet checkpointed) and after shutdown.
    let running = scan_for(t.dir.path(), &needles);
    assert!(running.is_empty(), "{running:?}");
    let dir = t.stop().await;
    let stopped = scan_for(dir.path(), &needles);
    assert!(stopped.is_empty(), "{stopped:?}");
}

#[tokio::test]
async fn run_serves_on_port_zero_and_shuts_down_gracefully() {
    let dir = tempfile::tempdir().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(relay::run(
        Config::for_tests(dir.path(), SECRET),
        listener,
        async {
            let _ = stopped.await;
        },
    ));
    let http = reqwest::Client::new();
    let r = http.get(format!("{base}/readyz")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    // A long-poll in flight must not hold the shutdown up.
    let key = WorkspaceSecretKey::generate();
    let owner: SessionCreated = http
        .post(format!("{base}/v1/accounts"))
        .json(
            &json!({"name": "R", "email": "run@example.com", "company": "C",
            "password": PASSWORD, "workspace_public_key": key.public_key().to_base64(),
            "device_name": "d"}),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let poll = tokio::spawn(
        http.get(format!("{base}/v1/events?wait=60"))
            .bearer_auth(owner.token)
            .send(),
    );
    tokio::time::sleep(Duration::from_millis(200)).await;
    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(10), server)
        .await
        .expect("shutdown took too long")
        .unwrap()
        .unwrap();
    let r = poll.await.unwrap().unwrap();
    assert_eq!(r.status(), StatusCode::OK);
}

/// Built-in TLS: with `tls_cert` / `tls_key` the relay speaks HTTPS itself (a client trusting
/// the certificate gets through, plain HTTP does not), and still shuts down on request.
#[tokio::test]
async fn run_serves_https_with_the_configured_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let (cert_path, key_path) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert_path, cert.cert.pem()).unwrap();
    std::fs::write(&key_path, cert.key_pair.serialize_pem()).unwrap();
    let mut config = Config::for_tests(&dir.path().join("data"), SECRET);
    config.tls = Some(relay::config::TlsFiles {
        cert: cert_path,
        key: key_path.clone(),
    });

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(relay::run(config.clone(), listener, async {
        let _ = stopped.await;
    }));
    let trusting = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(cert.cert.pem().as_bytes()).unwrap())
        .build()
        .unwrap();
    let mut ready = None;
    for _ in 0..50 {
        match trusting
            .get(format!("https://localhost:{port}/readyz"))
            .send()
            .await
        {
            Ok(r) => {
                ready = Some(r.status());
                break;
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
    assert_eq!(ready, Some(StatusCode::OK));
    // A client that does not trust the certificate is refused by its own TLS check, and
    // plain HTTP on the HTTPS port gets no HTTP answer.
    assert!(reqwest::get(format!("https://localhost:{port}/readyz"))
        .await
        .is_err());
    let plain = reqwest::get(format!("http://localhost:{port}/readyz")).await;
    assert!(plain.map_or(true, |r| !r.status().is_success()));
    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(15), server)
        .await
        .expect("shutdown took too long")
        .unwrap()
        .unwrap();

    // A key that is not PEM stops start-up with a message naming the file.
    std::fs::write(&key_path, "not a key").unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let err = relay::run(config, listener, std::future::pending())
        .await
        .unwrap_err();
    assert!(format!("{err:#}").contains("key.pem"), "{err:#}");
}

#[tokio::test]
async fn invited_agent_joins_gets_the_key_and_is_limited_by_role() {
    use protocol::invitations::{InvitationAccepted, InvitationSecret};
    let t = TestRelay::start().await;
    let key = WorkspaceSecretKey::generate();
    let owner = t.register("boss@example.com", &key).await;
    t.claim(&owner.token, WABA).await;
    t.signed_webhook(&message_webhook(WABA, "wamid.I1", MESSAGE_TEXT))
        .await;

    // The owner's device makes the link secret and uploads only derived values.
    let secret = InvitationSecret::generate();
    let create = |token: String, role: &str, email: &str| {
        let body = json!({
            "email": email, "role": role, "accept_token": secret.accept_token(),
            "wrapped_workspace_key": protocol::sealed::to_base64(
                &secret.wrap_workspace_key(&key).unwrap()),
        });
        let req = t
            .http
            .post(t.url("/v1/invitations"))
            .bearer_auth(token)
            .json(&body);
        async move { req.send().await.unwrap() }
    };
    let resp = create(owner.token.clone(), "agent", "Agent@Example.com").await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    let invitation: Value = resp.json().await.unwrap();
    let id = invitation["id"].as_str().unwrap().to_owned();
    assert_eq!(invitation["email"], "agent@example.com");

    let accept = |token: String| {
        let req = t
            .http
            .post(t.url(&format!("/v1/invitations/{id}/accept")))
            .json(&json!({"accept_token": token, "name": "Ali Agent",
                "password": "agents own password", "device_name": "Till"}));
        async move { req.send().await.unwrap() }
    };
    // A wrong token is refused like an unknown invitation.
    assert_eq!(
        accept(InvitationSecret::generate().accept_token())
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    let resp = accept(secret.accept_token()).await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    let joined: InvitationAccepted = resp.json().await.unwrap();
    assert_eq!(joined.session.user.role, protocol::auth::Role::Agent);
    assert_eq!(joined.session.workspace.id, owner.workspace.id);
    // Single use.
    assert_eq!(
        accept(secret.accept_token()).await.status(),
        StatusCode::NOT_FOUND
    );

    // The new device recovers the workspace key from the link secret and reads the inbox.
    let link_secret = InvitationSecret::from_fragment(&secret.to_fragment()).unwrap();
    let agent_key = link_secret
        .unwrap_workspace_key(
            &protocol::sealed::from_base64(&joined.wrapped_workspace_key).unwrap(),
        )
        .unwrap();
    let agent = &joined.session.token;
    let page = t.events(agent, 0).await;
    assert_eq!(page.events.len(), 1);
    let entry = open_entry(&agent_key, &page.events[0].sealed);
    assert_eq!(entry["id"], WABA);
    // And can sign in with the password chosen on acceptance.
    assert_eq!(
        t.sign_in("agent@example.com", "agents own password")
            .await
            .status(),
        StatusCode::CREATED
    );

    // Role limits: an agent manages nothing.
    assert_eq!(t.claim(agent, "777").await.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        create(agent.clone(), "agent", "x@example.com")
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    let r = t.get("/v1/invitations", agent).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = t
        .delete(&format!("/v1/sessions/{}", owner.session.id), agent)
        .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let mine: Value = t.get_json("/v1/sessions", agent).await;
    // Its own two sessions (accept + sign-in), not the owner's.
    assert_eq!(mine["sessions"].as_array().unwrap().len(), 2);

    // The owner cannot invite a second owner; another workspace cannot revoke this one's
    // invitations.
    assert_eq!(
        create(owner.token.clone(), "owner", "o2@example.com")
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    let resp = create(owner.token.clone(), "admin", "adm@example.com").await;
    let pending: Value = resp.json().await.unwrap();
    let other = t
        .register("else@example.com", &WorkspaceSecretKey::generate())
        .await;
    let r = t
        .delete(
            &format!("/v1/invitations/{}", pending["id"].as_str().unwrap()),
            &other.token,
        )
        .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let list: Value = t.get_json("/v1/invitations", &owner.token).await;
    assert_eq!(list["invitations"].as_array().unwrap().len(), 1);
    t.stop().await;
}

#[tokio::test]
async fn deleting_the_account_removes_the_workspace_from_the_relay() {
    let t = TestRelay::start().await;
    let key = WorkspaceSecretKey::generate();
    let owner = t.register("gone.owner@example.com", &key).await;
    t.claim(&owner.token, WABA).await;
    t.signed_webhook(&message_webhook(WABA, "wamid.D1", MESSAGE_TEXT))
        .await;
    let sealed = protocol::seal(&key.public_key(), b"note").unwrap();
    t.append(&owner.token, "d1", &sealed).await;
    // Another workspace whose events share the deleted one's segment files.
    let stay_key = WorkspaceSecretKey::generate();
    let stay = t.register("stays@example.com", &stay_key).await;
    let stay_note = protocol::seal(&stay_key.public_key(), b"kept").unwrap();
    t.append(&stay.token, "s1", &stay_note).await;
    let laptop: SessionCreated = t
        .sign_in("gone.owner@example.com", PASSWORD)
        .await
        .json()
        .await
        .unwrap();
    // A device signed out before the deletion was not part of it: it stays plainly signed out.
    let old_phone: SessionCreated = t
        .sign_in("gone.owner@example.com", PASSWORD)
        .await
        .json()
        .await
        .unwrap();
    let r = t
        .delete(
            &format!("/v1/sessions/{}", old_phone.session.id),
            &owner.token,
        )
        .await;
    assert!(r.status().is_success(), "{}", r.status());
    // The deleted workspace's event bytes, as stored (sealed) in the segment files.
    let gone_bytes: Vec<Vec<u8>> = t
        .events(&owner.token, 0)
        .await
        .events
        .iter()
        .map(|e| B64.decode(&e.sealed).unwrap())
        .collect();
    assert_eq!(gone_bytes.len(), 2);
    let on_disk = |bytes: &[u8]| scan_for(t.dir.path(), &[("event", bytes)]);
    assert!(
        !on_disk(&gone_bytes[0]).is_empty(),
        "events are in segments"
    );
    // Only the owner may delete the account (no agent here: another device of the owner may).
    let r = t.delete("/v1/accounts/current", &laptop.token).await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(t.counts().await, (1, 0, 0));
    for sealed in &gone_bytes {
        let found = on_disk(sealed);
        assert!(
            found.is_empty(),
            "deleted workspace's event left on disk: {found:?}"
        );
    }
    // The other workspace's events, in the same segment, are untouched.
    let kept = t.events(&stay.token, 0).await;
    assert_eq!(kept.events.len(), 1);
    assert_eq!(
        protocol::open(&stay_key, &B64.decode(&kept.events[0].sealed).unwrap()).unwrap(),
        b"kept"
    );
    // Its devices are told why their sessions ended (410, not a bare 401), so they can offer
    // to erase their copy instead of asking for a sign-in that cannot work; a token that was
    // never a session of it still gets 401.
    for token in [&owner.token, &laptop.token] {
        let r = t.get("/v1/events", token).await;
        assert_eq!(r.status(), StatusCode::GONE);
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["kind"], "workspace_deleted", "{body}");
    }
    for token in ["dxr_never-a-session", old_phone.token.as_str()] {
        let r = t.get("/v1/events", token).await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    }
    // That trace (the tokens' hashes) goes with retention after 180 days, not before: then
    // those tokens are as unknown as any other.
    let deleted_at = time::OffsetDateTime::now_utc();
    for (days, gone) in [
        (DELETED_SESSIONS_DAYS - 1, false),
        (DELETED_SESSIONS_DAYS + 1, true),
    ] {
        t.state
            .store
            .prune(PrunePolicy {
                now: deleted_at + time::Duration::days(days),
                retention: time::Duration::days(30),
            })
            .await
            .unwrap();
        let r = t.get("/v1/events", &owner.token).await;
        let expected = if gone {
            StatusCode::UNAUTHORIZED
        } else {
            StatusCode::GONE
        };
        assert_eq!(r.status(), expected, "{days} days after the deletion");
    }
    assert_eq!(
        t.sign_in("gone.owner@example.com", PASSWORD).await.status(),
        StatusCode::UNAUTHORIZED
    );
    // The WABA is free again, the email can register again.
    let next = t
        .register("next@example.com", &WorkspaceSecretKey::generate())
        .await;
    assert_eq!(t.claim(&next.token, WABA).await.status(), StatusCode::OK);
    let found = scan_for(t.dir.path(), &[("email", b"gone.owner@example.com")]);
    assert!(found.is_empty(), "{found:?}");
    t.stop().await;
}

#[tokio::test]
async fn meta_data_deletion_callback_accepts_signed_and_refuses_forged_requests() {
    let t = TestRelay::start().await;
    let payload = br#"{"algorithm":"HMAC-SHA256","issued_at":1291836800,"user_id":"218471"}"#;
    let signed = relay::deletion::sign_request(payload, SECRET.as_bytes());
    let resp = t
        .http
        .post(t.url("/meta/data-deletion"))
        .form(&[("signed_request", signed.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let answer: Value = resp.json().await.unwrap();
    let code = answer["confirmation_code"].as_str().unwrap();
    let url = answer["url"].as_str().unwrap();
    assert!(
        url.ends_with(&format!("/meta/data-deletion/{code}")),
        "{url}"
    );
    let status: Value = t
        .get_anon(&format!("/meta/data-deletion/{code}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(status["status"], "completed");

    let forged = relay::deletion::sign_request(payload, b"not the app secret");
    let resp = t
        .http
        .post(t.url("/meta/data-deletion"))
        .form(&[("signed_request", forged.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    let r = t
        .get_anon("/meta/data-deletion/0123456789abcdef01234567")
        .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    // The Meta user id is not stored in plaintext.
    let found = scan_for(t.dir.path(), &[("meta user id", b"218471")]);
    assert!(found.is_empty(), "{found:?}");
    t.stop().await;
}

/// The members of a workspace as the relay lists them, by email.
async fn members(t: &TestRelay, token: &str) -> std::collections::HashMap<String, MemberInfo> {
    let r = t.get("/v1/members", token).await;
    assert_eq!(r.status(), StatusCode::OK);
    let list: MemberList = r.json().await.unwrap();
    list.members
        .into_iter()
        .map(|m| (m.email.clone(), m))
        .collect()
}

async fn remove_member(t: &TestRelay, member: uuid::Uuid, token: &str) -> StatusCode {
    t.delete(&format!("/v1/members/{member}"), token)
        .await
        .status()
}

async fn set_role(t: &TestRelay, token: &str, member: uuid::Uuid, role: &str) -> StatusCode {
    t.patch_json(
        &format!("/v1/members/{member}"),
        token,
        &json!({ "role": role }),
    )
    .await
    .status()
}

/// What only owners and admins may do (a customer erased on every device) is appended with
/// `manager: true`: the relay refuses it to an agent and marks it for the devices, which cannot
/// trust the sealed content's own claim.
#[tokio::test]
async fn only_owners_and_admins_append_manager_events_and_the_relay_marks_them() {
    let t = TestRelay::start().await;
    let key = WorkspaceSecretKey::generate();
    let owner = t.register("own@example.com", &key).await;
    let agent = join(&t, &owner.token, &key, "agent", "agt@example.com").await;
    let sealed = protocol::seal(&key.public_key(), b"{\"erase\":\"16505551234\"}").unwrap();
    let append = async |token: &str, id: &str, manager: bool| {
        let body = json!({"client_event_id": id, "manager": manager,
                          "sealed": protocol::sealed::to_base64(&sealed)});
        t.post_json("/v1/events", token, &body).await
    };
    let refused = append(&agent.session.token, "agent-1", true).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    // The same content unmarked is an ordinary device event: the devices will not act on it.
    let plain = append(&agent.session.token, "agent-2", false).await;
    assert_eq!(plain.status(), StatusCode::CREATED);
    let marked = append(&owner.token, "owner-1", true).await;
    assert_eq!(marked.status(), StatusCode::CREATED);

    let page = t.events(&owner.token, 0).await;
    let kinds: Vec<(Option<&str>, EventKind)> = page
        .events
        .iter()
        .map(|e| (e.client_event_id.as_deref(), e.kind))
        .collect();
    assert_eq!(
        kinds,
        [
            (Some("agent-2"), EventKind::Device),
            (Some("owner-1"), EventKind::DeviceManager)
        ]
    );
    assert_eq!(
        serde_json::to_value(page.events[1].kind).unwrap(),
        "device_manager"
    );
    t.stop().await;
}

#[tokio::test]
async fn member_roles_change_by_the_rules() {
    let t = TestRelay::start().await;
    let key = WorkspaceSecretKey::generate();
    let owner = t.register("own@example.com", &key).await;
    let admin = join(&t, &owner.token, &key, "admin", "adm@example.com").await;
    let admin2 = join(&t, &owner.token, &key, "admin", "adm2@example.com").await;
    let agent = join(&t, &owner.token, &key, "agent", "agt@example.com").await;
    let (admin, admin2, agent) = (admin.session, admin2.session, agent.session);

    // Every member lists everyone, with roles, and all are active.
    let list = members(&t, &agent.token).await;
    assert_eq!(list.len(), 4);
    assert_eq!(list["own@example.com"].role, Role::Owner);
    assert_eq!(list["own@example.com"].id, owner.user.id);
    assert_eq!(list["adm2@example.com"].role, Role::Admin);
    assert_eq!(list["agt@example.com"].name, "Member agt@example.com");
    assert!(list.values().all(|m| m.active && m.removed_at.is_none()));

    // Agents change nothing, not even themselves.
    for target in [agent.user.id, admin.user.id] {
        assert_eq!(
            set_role(&t, &agent.token, target, "admin").await,
            StatusCode::FORBIDDEN
        );
    }
    // Admins neither make an owner nor touch one.
    assert_eq!(
        set_role(&t, &admin.token, agent.user.id, "owner").await,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        set_role(&t, &admin.token, owner.user.id, "agent").await,
        StatusCode::FORBIDDEN
    );
    // An admin demotes another admin; the new role applies to their live session at once.
    let r = t
        .patch_json(
            &format!("/v1/members/{}", admin2.user.id),
            &admin.token,
            &json!({"role": "agent"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let changed: MemberInfo = r.json().await.unwrap();
    assert_eq!((changed.id, changed.role), (admin2.user.id, Role::Agent));
    assert_eq!(
        t.get("/v1/invitations", &admin2.token).await.status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        members(&t, &owner.token).await["adm2@example.com"].role,
        Role::Agent
    );

    // The only owner cannot step down.
    let r = t
        .patch_json(
            &format!("/v1/members/{}", owner.user.id),
            &owner.token,
            &json!({"role": "admin"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["kind"], "conflict");
    assert!(body["message"].as_str().unwrap().contains("owner"));
    // With a second owner, they can; the former owner then loses owner rights.
    assert_eq!(
        set_role(&t, &owner.token, admin.user.id, "owner").await,
        StatusCode::OK
    );
    assert_eq!(
        set_role(&t, &owner.token, owner.user.id, "admin").await,
        StatusCode::OK
    );
    assert_eq!(
        t.delete("/v1/accounts/current", &owner.token)
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    // Now the promoted admin is the last owner, and the former owner (an admin) cannot
    // touch them.
    assert_eq!(
        set_role(&t, &admin.token, admin.user.id, "agent").await,
        StatusCode::CONFLICT
    );
    assert_eq!(
        set_role(&t, &owner.token, admin.user.id, "agent").await,
        StatusCode::FORBIDDEN
    );
    let list = members(&t, &agent.token).await;
    assert_eq!(list["adm@example.com"].role, Role::Owner);
    assert_eq!(list["own@example.com"].role, Role::Admin);

    // Bad role, unknown and malformed ids.
    let r = t
        .patch_json(
            &format!("/v1/members/{}", agent.user.id),
            &admin.token,
            &json!({"role": "superuser"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        set_role(&t, &admin.token, uuid::Uuid::new_v4(), "agent").await,
        StatusCode::NOT_FOUND
    );
    let r = t
        .patch_json(
            "/v1/members/not-a-uuid",
            &admin.token,
            &json!({"role": "agent"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    t.stop().await;
}

#[tokio::test]
async fn removing_a_member_revokes_sessions_blocks_sign_in_and_frees_retention() {
    let t = TestRelay::start().await;
    let key = WorkspaceSecretKey::generate();
    let owner = t.register("rm-own@example.com", &key).await;
    let admin = join(&t, &owner.token, &key, "admin", "rm-adm@example.com").await;
    let agent = join(&t, &owner.token, &key, "agent", "rm-agt@example.com").await;
    let (admin, agent) = (admin.session, agent.session);
    // The agent has a second device.
    let second = t.sign_in("rm-agt@example.com", MEMBER_PASSWORD).await;
    assert_eq!(second.status(), StatusCode::CREATED);
    let second: SessionCreated = second.json().await.unwrap();

    // Three events, acked by every device except the agent's.
    let sealed = protocol::seal(&key.public_key(), b"e").unwrap();
    for i in 0..3 {
        t.append(&owner.token, &format!("c{i}"), &sealed).await;
    }
    for token in [&owner.token, &admin.token] {
        t.post_json("/v1/events/ack", token, &json!({"seq": 3}))
            .await;
    }
    let prune = || {
        t.state.store.prune(PrunePolicy {
            now: time::OffsetDateTime::now_utc(),
            retention: time::Duration::days(30),
        })
    };
    assert_eq!(
        prune().await.unwrap().events_removed,
        0,
        "the agent holds them"
    );

    // Who may remove whom: not agents, not an admin removing the owner, not the last owner.
    assert_eq!(
        remove_member(&t, admin.user.id, &agent.token).await,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        remove_member(&t, owner.user.id, &admin.token).await,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        remove_member(&t, owner.user.id, &owner.token).await,
        StatusCode::CONFLICT
    );

    // The admin removes the agent.
    assert_eq!(
        remove_member(&t, agent.user.id, &admin.token).await,
        StatusCode::NO_CONTENT
    );
    for token in [&agent.token, &second.token] {
        let r = t.get("/v1/events", token).await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    }
    let r = t.sign_in("rm-agt@example.com", MEMBER_PASSWORD).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["kind"], "invalid_credentials");
    // Listed as removed; their sessions are gone from the list.
    let list = members(&t, &owner.token).await;
    assert!(!list["rm-agt@example.com"].active);
    assert!(list["rm-agt@example.com"].removed_at.is_some());
    assert!(list["rm-adm@example.com"].active);
    let sessions: Value = t.get_json("/v1/sessions", &owner.token).await;
    assert!(sessions["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .all(|s| s["user_id"] != agent.user.id.to_string()));
    // Removed is final: no second removal, no role change.
    assert_eq!(
        remove_member(&t, agent.user.id, &owner.token).await,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        set_role(&t, &owner.token, agent.user.id, "admin").await,
        StatusCode::NOT_FOUND
    );
    // Their never-acked cursor no longer holds the events back.
    assert_eq!(prune().await.unwrap().events_removed, 3);

    // Removing an admin also withdraws the invitations they made, so they cannot come back
    // through a link of their own.
    let (invitation, secret) =
        invite(&t, &admin.token, &key, "agent", "back-door@example.com").await;
    assert_eq!(
        remove_member(&t, admin.user.id, &owner.token).await,
        StatusCode::NO_CONTENT
    );
    let pending: Value = t.get_json("/v1/invitations", &owner.token).await;
    assert_eq!(pending["invitations"].as_array().unwrap().len(), 0);
    let r = t
        .post_json_anon(
            &format!(
                "/v1/invitations/{}/accept",
                invitation["id"].as_str().unwrap()
            ),
            &json!({"accept_token": secret.accept_token(), "name": "Back Door",
                "password": MEMBER_PASSWORD, "device_name": "Laptop"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    // The owner's own device still works.
    assert_eq!(
        t.get("/v1/members", &owner.token).await.status(),
        StatusCode::OK
    );
    t.stop().await;
}

/// Workspace A with something behind every kind of id a route takes: sessions, a pending
/// invitation, members, stored media, an onboarding session, events and a claimed WABA.
struct WorkspaceA {
    key: WorkspaceSecretKey,
    owner: SessionCreated,
    agent: SessionCreated,
    invitation_id: String,
    media_id: &'static str,
    onboarding_id: String,
}

impl WorkspaceA {
    async fn create(t: &TestRelay) -> Self {
        let key = WorkspaceSecretKey::generate();
        let owner = t.register("a-owner@example.com", &key).await;
        assert_eq!(t.claim(&owner.token, WABA).await.status(), StatusCode::OK);
        t.signed_webhook(&message_webhook(WABA, "wamid.A1", MESSAGE_TEXT))
            .await;
        let agent = join(t, &owner.token, &key, "agent", "a-agent@example.com")
            .await
            .session;
        let (invitation, _) = invite(t, &owner.token, &key, "agent", "a-pending@example.com").await;
        // Stored media, as the fetch worker leaves it (queued far ahead so the worker
        // leaves it alone): the row and the sealed file.
        let media_id = "a-media-4711";
        let later = time::OffsetDateTime::now_utc() + time::Duration::days(1);
        let store = &t.state.store;
        store
            .enqueue_media(
                vec![relay::store::NewMediaJob {
                    workspace_id: owner.workspace.id,
                    media_id: media_id.into(),
                    waba_id: WABA.into(),
                    phone_number_id: "106540352242922".into(),
                }],
                later,
            )
            .await
            .unwrap();
        let sealed = protocol::seal(&key.public_key(), b"photo bytes").unwrap();
        let path = relay::media::media_path(t.dir.path(), owner.workspace.id, media_id);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &sealed).unwrap();
        store
            .media_stored(
                owner.workspace.id,
                media_id,
                relay::store::StoredMedia {
                    mime_type: "image/jpeg".into(),
                    size: 11,
                    sha256: "00".repeat(32),
                    fetched_at: later,
                },
            )
            .await
            .unwrap();
        let r = t.post("/v1/onboarding", &owner.token).await;
        assert_eq!(r.status(), StatusCode::CREATED);
        let onboarding: Value = r.json().await.unwrap();
        let a = WorkspaceA {
            key,
            owner,
            agent,
            invitation_id: invitation["id"].as_str().unwrap().to_owned(),
            media_id,
            onboarding_id: onboarding["session_id"].as_str().unwrap().to_owned(),
        };
        // Everything is reachable for A itself, so a refusal below is about who asks.
        a.assert_intact(t).await;
        a
    }

    /// What must not appear in an answer to anyone outside A.
    fn secrets(&self) -> Vec<String> {
        vec![
            self.owner.workspace.id.to_string(),
            self.owner.user.id.to_string(),
            self.owner.session.id.to_string(),
            self.agent.user.id.to_string(),
            self.agent.session.id.to_string(),
            self.owner.user.email.clone(),
            self.agent.user.email.clone(),
            "a-pending@example.com".into(),
            self.invitation_id.clone(),
            WABA.into(),
        ]
    }

    /// A's data, unchanged: both sessions live, roles as made, the invitation pending, the
    /// WABA, one event, the media and the onboarding session still A's.
    async fn assert_intact(&self, t: &TestRelay) {
        let token = &self.owner.token;
        let sessions: Value = t.get_json("/v1/sessions", token).await;
        assert_eq!(sessions["sessions"].as_array().unwrap().len(), 2);
        let list = members(t, token).await;
        assert_eq!(list.len(), 2);
        assert!(list.values().all(|m| m.active));
        assert_eq!(list["a-agent@example.com"].role, Role::Agent);
        assert_eq!(list["a-owner@example.com"].role, Role::Owner);
        let pending: Value = t.get_json("/v1/invitations", token).await;
        assert_eq!(pending["invitations"][0]["id"], self.invitation_id.as_str());
        let wabas: Value = t.get_json("/v1/wabas", token).await;
        assert_eq!(wabas["waba_ids"], json!([WABA]));
        let page = t.events(&self.agent.token, 0).await;
        assert_eq!(page.events.len(), 1);
        assert_eq!(open_entry(&self.key, &page.events[0].sealed)["id"], WABA);
        let r = t.get(&format!("/v1/media/{}", self.media_id), token).await;
        assert_eq!(r.status(), StatusCode::OK);
        let r = t
            .get(&format!("/v1/onboarding/{}", self.onboarding_id), token)
            .await;
        assert_eq!(r.status(), StatusCode::OK);
        let result: Value = r.json().await.unwrap();
        assert_eq!(result["status"], "pending");
    }
}

async fn onboarding_relay() -> TestRelay {
    // Enough configuration to create onboarding sessions; no Graph call is made here.
    TestRelay::start_configured(|c| c.meta_config_id = Some("cfg-1".into())).await
}

async fn send(
    t: &TestRelay,
    method: &str,
    path: &str,
    token: &str,
    body: &Value,
) -> (StatusCode, String) {
    let r = t
        .http
        .request(method.parse().unwrap(), t.url(path))
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .unwrap();
    let status = r.status();
    (status, r.text().await.unwrap())
}

/// Every device route, tried with another workspace's valid owner session against A's ids:
/// each is refused (or, for routes without an id, answers about the caller's own
/// workspace), no answer holds anything of A's, and A is unchanged afterwards.
#[tokio::test]
async fn another_workspaces_session_reaches_nothing_of_workspace_a() {
    let t = onboarding_relay().await;
    let a = WorkspaceA::create(&t).await;
    let b = t
        .register("b-owner@example.com", &WorkspaceSecretKey::generate())
        .await;
    let invitation = json!({
        "email": "b-new@example.com", "role": "agent",
        "accept_token": protocol::invitations::InvitationSecret::generate().accept_token(),
        "wrapped_workspace_key": protocol::sealed::to_base64(
            &protocol::invitations::InvitationSecret::generate()
                .wrap_workspace_key(&WorkspaceSecretKey::generate())
                .unwrap()),
    });
    let role = json!({"role": "admin"});
    let none = json!({});
    let (owner_user, agent_user) = (a.owner.user.id, a.agent.user.id);
    // Routes naming one of A's resources: 404, exactly as for an unknown id.
    let targeted: Vec<(&str, String, &Value)> = vec![
        (
            "DELETE",
            format!("/v1/sessions/{}", a.owner.session.id),
            &none,
        ),
        (
            "DELETE",
            format!("/v1/sessions/{}", a.agent.session.id),
            &none,
        ),
        (
            "DELETE",
            format!("/v1/invitations/{}", a.invitation_id),
            &none,
        ),
        ("PATCH", format!("/v1/members/{agent_user}"), &role),
        ("PATCH", format!("/v1/members/{owner_user}"), &role),
        ("DELETE", format!("/v1/members/{agent_user}"), &none),
        ("DELETE", format!("/v1/members/{owner_user}"), &none),
        ("GET", format!("/v1/media/{}", a.media_id), &none),
        ("GET", format!("/v1/onboarding/{}", a.onboarding_id), &none),
    ];
    let secrets = a.secrets();
    let leaks = |path: &str, body: &str| {
        for s in &secrets {
            assert!(!body.contains(s.as_str()), "{path} leaked {s}: {body}");
        }
    };
    for (method, path, body) in &targeted {
        let (status, text) = send(&t, method, path, &b.token, body).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{method} {path}");
        leaks(path, &text);
    }
    // Routes without an id answer about B's own workspace only.
    let own: Vec<(&str, &str, Value, StatusCode)> = vec![
        ("GET", "/v1/sessions", none.clone(), StatusCode::OK),
        ("GET", "/v1/members", none.clone(), StatusCode::OK),
        ("GET", "/v1/invitations", none.clone(), StatusCode::OK),
        ("POST", "/v1/invitations", invitation, StatusCode::CREATED),
        ("GET", "/v1/wabas", none.clone(), StatusCode::OK),
        ("GET", "/v1/events?after=0", none.clone(), StatusCode::OK),
        (
            "POST",
            "/v1/events/ack",
            json!({"seq": 1000}),
            StatusCode::OK,
        ),
        ("GET", "/v1/config", none.clone(), StatusCode::OK),
        // A's WABA, even with a token that grants it: refused as taken, never moved.
        (
            "POST",
            "/v1/wabas",
            json!({"waba_id": WABA, "access_token": t.grant(&[WABA]).await}),
            StatusCode::CONFLICT,
        ),
    ];
    for (method, path, body, expect) in &own {
        let (status, text) = send(&t, method, path, &b.token, body).await;
        assert_eq!(status, *expect, "{method} {path}: {text}");
        leaks(path, &text);
    }
    let page = t.events(&b.token, 0).await;
    assert!(page.events.is_empty());
    assert_eq!(members(&t, &b.token).await.len(), 1);
    // B deleting its own account leaves A alone.
    assert_eq!(
        t.delete("/v1/accounts/current", &b.token).await.status(),
        StatusCode::NO_CONTENT
    );
    a.assert_intact(&t).await;
    t.stop().await;
}

/// An agent of the workspace gets 403 on every owner/admin route, and nothing changes.
#[tokio::test]
async fn an_agent_is_refused_on_every_admin_route() {
    let t = onboarding_relay().await;
    let a = WorkspaceA::create(&t).await;
    let secret = protocol::invitations::InvitationSecret::generate();
    let invitation = json!({
        "email": "by-agent@example.com", "role": "agent",
        "accept_token": secret.accept_token(),
        "wrapped_workspace_key": protocol::sealed::to_base64(
            &secret.wrap_workspace_key(&a.key).unwrap()),
    });
    let none = json!({});
    let (owner_user, agent_user) = (a.owner.user.id, a.agent.user.id);
    let routes: Vec<(&str, String, Value)> = vec![
        ("POST", "/v1/invitations".into(), invitation),
        ("GET", "/v1/invitations".into(), none.clone()),
        (
            "DELETE",
            format!("/v1/invitations/{}", a.invitation_id),
            none.clone(),
        ),
        (
            "PATCH",
            format!("/v1/members/{owner_user}"),
            json!({"role": "agent"}),
        ),
        // Not even promoting or removing itself.
        (
            "PATCH",
            format!("/v1/members/{agent_user}"),
            json!({"role": "owner"}),
        ),
        (
            "PATCH",
            format!("/v1/members/{agent_user}"),
            json!({"role": "admin"}),
        ),
        ("DELETE", format!("/v1/members/{owner_user}"), none.clone()),
        ("DELETE", format!("/v1/members/{agent_user}"), none.clone()),
        (
            "POST",
            "/v1/wabas".into(),
            json!({"waba_id": "999000111", "access_token": t.grant(&["999000111"]).await}),
        ),
        ("POST", "/v1/onboarding".into(), none.clone()),
        ("DELETE", "/v1/accounts/current".into(), none.clone()),
    ];
    for (method, path, body) in &routes {
        let (status, text) = send(&t, method, path, &a.agent.token, body).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{method} {path}: {text}");
        let body: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(body["kind"], "forbidden", "{method} {path}");
    }
    a.assert_intact(&t).await;
    t.stop().await;
}

#[tokio::test]
async fn a_removed_member_can_be_invited_again_and_keeps_their_history_row() {
    let t = TestRelay::start().await;
    let key = WorkspaceSecretKey::generate();
    let owner = t.register("again-own@example.com", &key).await;
    let first = join(&t, &owner.token, &key, "agent", "again@example.com").await;
    assert_eq!(
        remove_member(&t, first.session.user.id, &owner.token).await,
        StatusCode::NO_CONTENT
    );
    // The same address joins again: a new member, the old row stays listed as removed.
    let back = join(&t, &owner.token, &key, "agent", "again@example.com").await;
    assert_ne!(back.session.user.id, first.session.user.id);
    let r = t.get("/v1/members", &owner.token).await;
    let list: MemberList = r.json().await.unwrap();
    let rows: Vec<&MemberInfo> = list
        .members
        .iter()
        .filter(|m| m.email == "again@example.com")
        .collect();
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert!(rows
        .iter()
        .any(|m| m.id == first.session.user.id && !m.active));
    assert!(rows
        .iter()
        .any(|m| m.id == back.session.user.id && m.active));
    // The new member signs in; the old row never does.
    let r = t.sign_in("again@example.com", MEMBER_PASSWORD).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let session: SessionCreated = r.json().await.unwrap();
    assert_eq!(session.user.id, back.session.user.id);

    // A removed address may also start a workspace of its own.
    let other = join(&t, &owner.token, &key, "agent", "leaver@example.com").await;
    assert_eq!(
        remove_member(&t, other.session.user.id, &owner.token).await,
        StatusCode::NO_CONTENT
    );
    let own = t
        .register("leaver@example.com", &WorkspaceSecretKey::generate())
        .await;
    assert_ne!(own.user.id, other.session.user.id);
    t.stop().await;
}
