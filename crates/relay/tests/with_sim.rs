//! End to end with `dataoptix-sim` as Meta: a customer's message sent through the simulator
//! arrives as a signed webhook at the relay and reaches the device, sealed.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use dataoptix_sim::SimConfig;
use protocol::events::EventPage;
use protocol::WorkspaceSecretKey;
use serde_json::json;

mod support;
use support::*;

#[tokio::test]
async fn a_message_from_the_simulator_reaches_the_device() {
    let relay = TestRelay::start().await;
    let key = WorkspaceSecretKey::generate();
    let owner = relay.register("sim@example.com", &key).await;

    let config = SimConfig {
        webhook_url: Some(relay.url("/webhooks/meta")),
        ..SimConfig::for_tests(SECRET)
    };
    let sim = dataoptix_sim::spawn(config).await.unwrap();
    let waba = sim.info.waba_id.clone();
    assert_eq!(
        relay.claim(&owner.token, &waba).await.status(),
        reqwest::StatusCode::OK
    );

    let sent = relay
        .http
        .post(sim.control_url("/inbound"))
        .json(
            &json!({"from": "16505551234", "name": "Sheena Nelson", "type": "text",
            "text": {"body": MESSAGE_TEXT}}),
        )
        .send()
        .await
        .unwrap();
    assert!(sent.status().is_success(), "{}", sent.text().await.unwrap());

    // Long-poll until the webhook has landed (the simulator delivers asynchronously).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let mut after = 0;
    let entry = loop {
        assert!(tokio::time::Instant::now() < deadline, "no webhook arrived");
        let page: EventPage = relay
            .get_json(&format!("/v1/events?after={after}&wait=5"), &owner.token)
            .await;
        after = page.next_after;
        let found = page
            .events
            .iter()
            .map(|e| open_entry(&key, &e.sealed))
            .find(|entry| {
                entry["changes"][0]["value"]["messages"][0]["text"]["body"] == MESSAGE_TEXT
            });
        if let Some(entry) = found {
            break entry;
        }
    };
    assert_eq!(entry["id"], waba.as_str());
    sim.stop();
    relay.stop().await;
}
