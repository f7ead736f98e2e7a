//! Account, phone-number and preference webhooks from the real simulator, through the real
//! relay, applied by sync.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod common_templates;

use std::time::Duration;

use common_templates::{world, World};
use dataoptix_core::store::{ContactInput, Cursor, PhoneNumberRow};
use dataoptix_core::sync::CURSOR_STREAM;
use serde_json::{json, Value};

const CUSTOMER: &str = "15551230001";

async fn opted_out(w: &World) -> Option<i64> {
    sqlx::query_scalar("SELECT opted_out FROM contacts WHERE wa_id = ?")
        .bind(CUSTOMER)
        .fetch_optional(w.store.pool())
        .await
        .unwrap()
}

async fn number(w: &World) -> PhoneNumberRow {
    let numbers = w.store.phone_numbers(&w.workspace_id).await.unwrap();
    assert_eq!(numbers.len(), 1);
    numbers.into_iter().next().unwrap()
}

#[tokio::test]
async fn marketing_stop_and_resume_follow_the_contact() {
    let w = world().await;
    // A contact we already know, with a custom name that must survive.
    let id = w
        .store
        .upsert_contact(&ContactInput {
            workspace_id: w.workspace_id.clone(),
            wa_id: Some(CUSTOMER.into()),
            profile_name: Some("Maria Lopez".into()),
            ..ContactInput::default()
        })
        .await
        .unwrap();
    assert_eq!(opted_out(&w).await, Some(0));

    w.control(
        &format!("/users/{CUSTOMER}/preferences"),
        json!({"value": "stop"}),
    )
    .await;
    // Fetch and apply by hand once the webhook is there, to see the page's report.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let report = loop {
        let page = w.syncer.fetch(Duration::from_millis(200)).await.unwrap();
        if !page.events.is_empty() {
            break w.syncer.apply(&page).await.unwrap();
        }
        assert!(tokio::time::Instant::now() < deadline, "no STOP webhook");
    };
    assert_eq!(report.account_updates, 1, "{report:?}");
    assert_eq!(report.kept_raw, 0, "{report:?}");
    assert_eq!(opted_out(&w).await, Some(1));
    let contacts: i64 = w.scalar("SELECT count(*) FROM contacts").await;
    assert_eq!(contacts, 1, "the known contact, not a new one");
    let same: i64 = w.scalar("SELECT id FROM contacts").await;
    assert_eq!(same, id);

    w.control(
        &format!("/users/{CUSTOMER}/preferences"),
        json!({"value": "resume"}),
    )
    .await;
    w.sync_until("resumed", async |w: &World| opted_out(w).await == Some(0))
        .await;

    // A STOP from someone we have never heard of creates the contact, opted out.
    w.control("/users/15551239999/preferences", json!({"value": "stop"}))
        .await;
    w.sync_until("unknown user stopped", async |w: &World| {
        w.scalar::<i64>(
            "SELECT count(*) FROM contacts WHERE wa_id = '15551239999' AND opted_out = 1",
        )
        .await
            == 1
    })
    .await;
    let events = w
        .store
        .account_events(&w.workspace_id, None, 10)
        .await
        .unwrap();
    let kinds: Vec<&str> = events.items.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds, ["user_preferences"; 3]);
    w.stop().await;
}

#[tokio::test]
async fn quality_name_limit_and_account_updates_land_on_the_number() {
    let w = world().await;
    let before = number(&w).await;
    assert_eq!(before.quality_rating, None);

    w.control("/events/phone_number_quality_update", json!({}))
        .await;
    w.sync_until("flagged", async |w: &World| {
        number(w).await.quality_rating.as_deref() == Some("YELLOW")
    })
    .await;
    assert_eq!(
        number(&w).await.messaging_limit.as_deref(),
        Some("TIER_250")
    );

    w.control(
        "/events/phone_number_quality_update",
        json!({"value": {"event": "UPGRADE", "current_limit": "TIER_1K"}}),
    )
    .await;
    w.control(
        "/events/phone_number_name_update",
        json!({"value": {"requested_verified_name": "Sweet Crumbs Bakery & Café"}}),
    )
    .await;
    w.control("/events/account_update", json!({})).await;
    w.control("/events/account_review_update", json!({})).await;
    w.control("/events/business_capability_update", json!({}))
        .await;
    w.sync_until("all account events", async |w: &World| {
        w.scalar::<i64>("SELECT count(*) FROM account_events").await == 6
    })
    .await;
    let n = number(&w).await;
    assert_eq!(n.quality_rating.as_deref(), Some("GREEN"));
    assert_eq!(n.messaging_limit.as_deref(), Some("TIER_1K"));
    assert_eq!(n.name_status.as_deref(), Some("APPROVED"));
    assert_eq!(
        n.verified_name.as_deref(),
        Some("Sweet Crumbs Bakery & Café")
    );
    let raw: i64 = w.scalar("SELECT count(*) FROM sync_raw_events").await;
    assert_eq!(raw, 0, "nothing of these is left unapplied");

    // Recent events, newest first, by keyset pages of 4.
    let first = w
        .store
        .account_events(&w.workspace_id, None, 4)
        .await
        .unwrap();
    assert_eq!(first.items.len(), 4);
    let next: Cursor = first.next.unwrap();
    let second = w
        .store
        .account_events(&w.workspace_id, Some(next), 4)
        .await
        .unwrap();
    assert_eq!(second.items.len(), 2);
    assert!(second.next.is_none());
    let all: Vec<_> = first.items.iter().chain(&second.items).collect();
    assert!(all
        .windows(2)
        .all(|p| (p[0].ts, p[0].id) > (p[1].ts, p[1].id)));
    let restriction = all.iter().find(|e| e.kind == "account_update").unwrap();
    assert_eq!(
        restriction.phone_number_id.as_deref(),
        Some(w.sim.info.phone_number_id.as_str()),
        "the number named by its display form is resolved"
    );
    let payload: Value = serde_json::from_str(&restriction.payload_json).unwrap();
    assert_eq!(payload["value"]["event"], "ACCOUNT_RESTRICTION");
    assert_eq!(payload["waba_id"], w.waba_id.as_str());

    // Redelivery changes nothing.
    w.store.set_sync_cursor(CURSOR_STREAM, "0").await.unwrap();
    let again = w.syncer.run_once().await.unwrap();
    assert_eq!(again.account_updates, 6);
    assert_eq!(
        w.scalar::<i64>("SELECT count(*) FROM account_events").await,
        6
    );
    w.stop().await;
}
