//! Templates against the real simulator over HTTP, with review outcomes arriving as webhooks
//! through the real relay and applied by sync.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod common_templates;

use std::collections::BTreeSet;
use std::time::Duration;

use cloud_api::messages::SendMessage;
use cloud_api::templates::{
    NewTemplate, TemplateButton, TemplateCategory, TemplateComponent, TemplateEdit, TemplateQuery,
};
use common_templates::{world, World};
use dataoptix_core::templates::{
    create_template, delete_template, edit_template, find_template, get_template, list_templates,
    render, send_template, sync_templates_with, Params, TemplateError,
};
use serde_json::{json, Value};

fn pickup(name: &str) -> NewTemplate {
    NewTemplate::new(
        name,
        "en_US",
        TemplateCategory::Utility,
        vec![
            TemplateComponent::body_positional(
                "Hi {{1}}, your order {{2}} is ready for pickup.",
                ["Ana", "A-17"],
            ),
            TemplateComponent::footer("Sweet Crumbs Bakery"),
            TemplateComponent::buttons(vec![TemplateButton::quick_reply("On my way")]),
        ],
    )
}

async fn status_of(w: &World, name: &str) -> Option<String> {
    find_template(&w.store, &w.waba_id, name, "en_US")
        .await
        .unwrap()
        .and_then(|t| t.status)
}

/// Waits until the simulator has delivered `n` webhooks of `field` to the relay.
async fn delivered(w: &World, field: &str, n: usize) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let log: Value = w
            .http
            .get(
                w.sim
                    .control_url(&format!("/webhooks?field={field}&state=delivered")),
            )
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if log["data"].as_array().unwrap().len() >= n {
            return;
        }
        assert!(tokio::time::Instant::now() < deadline, "{field} x{n}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn remote_names(w: &World, name: &str) -> usize {
    w.api
        .list_all_templates(
            &w.waba_id,
            TemplateQuery {
                name: Some(name.into()),
                ..TemplateQuery::default()
            },
        )
        .await
        .unwrap()
        .len()
}

#[tokio::test]
async fn create_review_webhook_approval_edit_and_delete() {
    let w = world().await;

    // Lint refuses a bad draft before anything reaches Graph.
    let mut bad = pickup("Pickup Reminder");
    bad.components[0] = TemplateComponent::body("{{1}} is ready");
    let Err(TemplateError::Lint(issues)) =
        create_template(&w.store, &w.api, &w.workspace_id, &w.waba_id, &bad).await
    else {
        panic!("lint should refuse");
    };
    let rules: BTreeSet<_> = issues.iter().map(|i| i.rule).collect();
    assert!(rules.contains("name_format"), "{rules:?}");
    assert!(rules.contains("body_variable_edge"), "{rules:?}");
    assert_eq!(remote_names(&w, "Pickup Reminder").await, 0);

    // Created in Graph as PENDING; the simulator's reviewer approves it and the status webhook
    // comes through the relay into the store.
    let created = create_template(
        &w.store,
        &w.api,
        &w.workspace_id,
        &w.waba_id,
        &pickup("pickup_reminder"),
    )
    .await
    .unwrap();
    assert_eq!(created.status.as_deref(), Some("PENDING"));
    let meta_id = created.meta_id.clone().unwrap();
    w.sync_until("approved by webhook", async |w: &World| {
        status_of(w, "pickup_reminder").await.as_deref() == Some("APPROVED")
    })
    .await;
    let detail = get_template(&w.store, created.id).await.unwrap().unwrap();
    assert_eq!(detail.template.meta_id.as_deref(), Some(meta_id.as_str()));
    let statuses: Vec<&str> = detail
        .history
        .iter()
        .filter(|h| h.event == "status")
        .map(|h| h.value.as_str())
        .collect();
    assert_eq!(statuses, ["APPROVED", "PENDING"], "newest first");

    // A duplicate is refused by Graph, with a clear message.
    let dup = create_template(
        &w.store,
        &w.api,
        &w.workspace_id,
        &w.waba_id,
        &pickup("pickup_reminder"),
    )
    .await
    .unwrap_err();
    match &dup {
        TemplateError::Graph {
            code, explanation, ..
        } => {
            assert_eq!(*code, Some(100));
            assert!(!explanation.is_empty());
        }
        other => panic!("{other:?}"),
    }
    assert!(!dup.to_string().contains("(#"), "no developer text: {dup}");

    // The reviewer rejects another one: the reason lands on the row.
    let rejected = create_template(
        &w.store,
        &w.api,
        &w.workspace_id,
        &w.waba_id,
        &pickup("reject_me"),
    )
    .await
    .unwrap();
    w.sync_until("rejected by webhook", async |w: &World| {
        status_of(w, "reject_me").await.as_deref() == Some("REJECTED")
    })
    .await;
    let row = get_template(&w.store, rejected.id).await.unwrap().unwrap();
    assert_eq!(
        row.template.rejected_reason.as_deref(),
        Some("INVALID_FORMAT"),
        "{row:?}"
    );

    // Edit: back to review, then approved again. The simulator's clock moves on first: an
    // approval in the same second as the first one would be a byte-identical webhook, which
    // the relay rightly drops as a duplicate delivery.
    w.control("/clock/advance", json!({"seconds": 60})).await;
    let mut components = pickup("x").components;
    components[1] = TemplateComponent::footer("Sweet Crumbs, Main St.");
    let edited = edit_template(
        &w.store,
        &w.api,
        created.id,
        &TemplateEdit {
            components: Some(components),
            ..TemplateEdit::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(edited.status.as_deref(), Some("PENDING"));
    w.sync_until("approved after edit", async |w: &World| {
        status_of(w, "pickup_reminder").await.as_deref() == Some("APPROVED")
    })
    .await;
    let shown = render(&edited, &Params::body_positional(["Ana", "B-2"]));
    assert_eq!(shown.footer.as_deref(), Some("Sweet Crumbs, Main St."));

    // Delete: gone from Graph and here, and the DELETED webhook does not bring it back.
    let before = w
        .http
        .get(
            w.sim
                .control_url("/webhooks?field=message_template_status_update&state=delivered"),
        )
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap()["data"]
        .as_array()
        .unwrap()
        .len();
    delete_template(&w.store, &w.api, created.id).await.unwrap();
    assert_eq!(remote_names(&w, "pickup_reminder").await, 0);
    assert!(get_template(&w.store, created.id).await.unwrap().is_none());
    delivered(&w, "message_template_status_update", before + 1).await;
    w.syncer.run_once().await.unwrap();
    assert_eq!(status_of(&w, "pickup_reminder").await, None);

    w.stop().await;
}

#[tokio::test]
async fn sync_reads_every_page_replaces_stale_rows_and_records_changes() {
    let w = world().await;
    // A row Meta does not have (deleted elsewhere): sync removes it.
    sqlx::query(
        "INSERT INTO templates (workspace_id, waba_id, name, language, status, updated_at)
         VALUES (?, ?, 'gone_template', 'en_US', 'APPROVED', 0)",
    )
    .bind(&w.workspace_id)
    .bind(&w.waba_id)
    .execute(w.store.pool())
    .await
    .unwrap();

    let remote = w
        .api
        .list_all_templates(&w.waba_id, TemplateQuery::default())
        .await
        .unwrap();
    assert!(remote.len() >= 4, "the simulator's templates: {remote:?}");
    // One template per page: every page must be followed.
    let report = sync_templates_with(&w.store, &w.api, &w.workspace_id, &w.waba_id, 1)
        .await
        .unwrap();
    assert_eq!(report.fetched, remote.len());
    assert_eq!(report.inserted, remote.len());
    assert_eq!(report.deleted, 1);
    let local = list_templates(&w.store, &w.workspace_id, None)
        .await
        .unwrap();
    let names = |it: Vec<(String, String)>| it.into_iter().collect::<BTreeSet<_>>();
    assert_eq!(
        names(
            local
                .iter()
                .map(|t| (t.name.clone(), t.language.clone()))
                .collect()
        ),
        names(
            remote
                .iter()
                .map(|t| (t.name.clone(), t.language.clone().unwrap()))
                .collect()
        )
    );
    assert!(local
        .iter()
        .any(|t| t.name == "hello_world" && t.language == "de"));
    let approved = list_templates(&w.store, &w.workspace_id, Some("APPROVED"))
        .await
        .unwrap();
    assert_eq!(approved.len(), local.len());

    // The stored components are enough to send: the simulator checks the parameters.
    let order_ready = find_template(&w.store, &w.waba_id, "order_ready", "en_US")
        .await
        .unwrap()
        .unwrap();
    let params = Params::body_positional(["Ana", "A-17"]);
    assert!(render(&order_ready, &params).missing.is_empty());
    let send = SendMessage::new("16505551234", send_template(&order_ready, &params).unwrap());
    w.api
        .send_message(&w.sim.info.phone_number_id, &send)
        .await
        .unwrap();
    let weekend = find_template(&w.store, &w.waba_id, "weekend_offer", "en_US")
        .await
        .unwrap()
        .unwrap();
    let missing = render(&weekend, &Params::default()).missing;
    assert!(missing.contains(&"header.media".to_string()), "{missing:?}");
    assert!(
        missing.contains(&"body.{{first_name}}".to_string()),
        "{missing:?}"
    );

    // Meta pauses one: the next sync records the change in its history.
    let meta_id = order_ready.meta_id.clone().unwrap();
    w.control(
        &format!("/templates/{meta_id}/status"),
        json!({"status": "PAUSED"}),
    )
    .await;
    let again = sync_templates_with(&w.store, &w.api, &w.workspace_id, &w.waba_id, 2)
        .await
        .unwrap();
    assert_eq!(
        (again.inserted, again.deleted, again.status_changes),
        (0, 0, 1)
    );
    let detail = get_template(&w.store, order_ready.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(detail.template.status.as_deref(), Some("PAUSED"));
    assert_eq!(detail.history[0].value, "PAUSED");

    w.stop().await;
}

#[tokio::test]
async fn quality_and_category_webhooks_land_on_the_template() {
    let w = world().await;
    sync_templates_with(&w.store, &w.api, &w.workspace_id, &w.waba_id, 100)
        .await
        .unwrap();
    let t = find_template(&w.store, &w.waba_id, "order_ready", "en_US")
        .await
        .unwrap()
        .unwrap();
    let meta_id = t.meta_id.clone().unwrap();
    w.control(
        &format!("/templates/{meta_id}/quality"),
        json!({"score": "RED"}),
    )
    .await;
    w.control(
        &format!("/templates/{meta_id}/category"),
        json!({"category": "MARKETING"}),
    )
    .await;
    w.sync_until("quality and category", async |w: &World| {
        let t = get_template(&w.store, t.id)
            .await
            .unwrap()
            .unwrap()
            .template;
        t.quality.as_deref() == Some("RED") && t.category.as_deref() == Some("MARKETING")
    })
    .await;
    let history = get_template(&w.store, t.id).await.unwrap().unwrap().history;
    let events: BTreeSet<(&str, &str)> = history
        .iter()
        .map(|h| (h.event.as_str(), h.value.as_str()))
        .collect();
    assert!(events.contains(&("quality", "RED")), "{history:?}");
    assert!(events.contains(&("category", "MARKETING")), "{history:?}");
    // Redelivery of the whole stream writes no second history row.
    let rows: i64 = w
        .scalar("SELECT count(*) FROM template_status_history")
        .await;
    w.store
        .set_sync_cursor(dataoptix_core::sync::CURSOR_STREAM, "0")
        .await
        .unwrap();
    w.syncer.run_once().await.unwrap();
    assert_eq!(
        w.scalar::<i64>("SELECT count(*) FROM template_status_history")
            .await,
        rows
    );
    w.stop().await;
}

#[tokio::test]
async fn an_older_status_webhook_does_not_overwrite_a_newer_one() {
    let w = world().await;
    sync_templates_with(&w.store, &w.api, &w.workspace_id, &w.waba_id, 100)
        .await
        .unwrap();
    let t = find_template(&w.store, &w.waba_id, "order_ready", "en_US")
        .await
        .unwrap()
        .unwrap();
    let id: i64 = t.meta_id.clone().unwrap().parse().unwrap();
    let update = |event: &str| {
        json!({"event": event, "message_template_id": id,
               "message_template_name": "order_ready", "message_template_language": "en_US",
               "reason": "NONE", "message_template_category": "UTILITY"})
    };
    let t0 = 1_767_225_600;
    // Meta paused it at t0+100, and the approval of t0 is delivered late.
    w.meta_webhook(t0 + 100, "message_template_status_update", update("PAUSED"))
        .await;
    w.meta_webhook(t0, "message_template_status_update", update("APPROVED"))
        .await;
    w.sync_until("both updates applied", async |w: &World| {
        w.scalar::<i64>(
            "SELECT count(*) FROM template_status_history WHERE raw_json LIKE '%event%'",
        )
        .await
            == 2
    })
    .await;
    let detail = get_template(&w.store, t.id).await.unwrap().unwrap();
    assert_eq!(detail.template.status.as_deref(), Some("PAUSED"));
    let timeline: Vec<(&str, i64)> = detail
        .history
        .iter()
        .filter(|h| h.ts <= t0 + 100)
        .map(|h| (h.value.as_str(), h.ts))
        .collect();
    assert_eq!(timeline, [("PAUSED", t0 + 100), ("APPROVED", t0)]);
    // A newer one applies.
    w.meta_webhook(
        t0 + 200,
        "message_template_status_update",
        update("REINSTATED"),
    )
    .await;
    w.sync_until("reinstated", async |w: &World| {
        get_template(&w.store, t.id)
            .await
            .unwrap()
            .unwrap()
            .template
            .status
            .as_deref()
            == Some("REINSTATED")
    })
    .await;
    w.stop().await;
}
