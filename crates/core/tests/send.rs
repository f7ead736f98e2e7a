//! Sending through the outbox against the real relay and `dataoptix-sim` over HTTP: replies
//! and their ticks, the 24-hour window, offline, crash recovery, Meta's error classes,
//! throttling and idempotency.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use cloud_api::client::{ClientConfig, CloudApiClient};
use cloud_api::messages::{SendMessage, Template};
use common::{fast, now, replying_world, Device, Env, CUSTOMER};
use dataoptix_core::send::{OutboxConfig, OutgoingMessage, SendError};
use serde_json::json;
use testkit::TcpProxy;

#[tokio::test]
async fn a_reply_goes_out_and_its_ticks_end_at_read() {
    let (env, device, conversation) = replying_world(|_| {}).await;
    let item = device
        .outbox
        .enqueue(
            conversation,
            OutgoingMessage::text("Yes! Fresh at 8, ask for the seeded one", false),
            "reply-1",
        )
        .await
        .unwrap();
    // Shown at once, pending, under a local placeholder.
    let queued = device.outbox.item(item).await.unwrap().unwrap();
    let message_id = queued.message_id.unwrap();
    let (wamid, status, _) = device.status_of_message(message_id).await;
    assert!(wamid.starts_with("local:"), "{wamid}");
    assert_eq!(status.as_deref(), Some("pending"));

    let report = device.outbox.run_once().await.unwrap();
    assert_eq!(report.sent, 1, "{report:?}");
    let sent = device.outbox.item(item).await.unwrap().unwrap();
    assert_eq!(sent.state, "sent");
    let real = sent.wamid.clone().unwrap();
    assert!(real.starts_with("wamid."), "{real}");
    assert_eq!(device.status_of_message(message_id).await.0, real);

    let sim_sent = env.sim_sent(CUSTOMER).await;
    assert_eq!(sim_sent.len(), 1);
    assert_eq!(sim_sent[0]["id"], json!(real));
    assert_eq!(
        sim_sent[0]["request"]["text"]["body"],
        json!("Yes! Fresh at 8, ask for the seeded one")
    );

    device
        .sync_until("the reply's ticks reach read", async |d: &Device| {
            d.status_of_message(message_id).await.1.as_deref() == Some("read")
        })
        .await;
    // Search finds it under its real wamid (the swap kept FTS right).
    let found = device
        .store
        .search(&env.workspace_id, "seeded", None, 10)
        .await
        .unwrap();
    assert_eq!(found.messages.len(), 1);
    assert_eq!(found.messages[0].wamid, real);
    // The device's own message_sent event came back through the log and changed nothing.
    assert_eq!(
        device
            .scalar::<i64>("SELECT count(*) FROM messages WHERE direction = 'out'")
            .await,
        1
    );
    assert_eq!(device.team.pending_count().await.unwrap(), 0);
    env.stop().await;
}

#[tokio::test]
async fn idempotency_key_twice_sends_once() {
    let (env, device, conversation) = replying_world(|_| {}).await;
    let a = device
        .outbox
        .enqueue(conversation, OutgoingMessage::text("Once", false), "k-1")
        .await
        .unwrap();
    let b = device
        .outbox
        .enqueue(conversation, OutgoingMessage::text("Once", false), "k-1")
        .await
        .unwrap();
    assert_eq!(a, b);
    device.outbox.run_once().await.unwrap();
    let c = device
        .outbox
        .enqueue(conversation, OutgoingMessage::text("Once", false), "k-1")
        .await
        .unwrap();
    assert_eq!(a, c);
    device.outbox.run_once().await.unwrap();
    assert_eq!(env.sim_sent(CUSTOMER).await.len(), 1);
    assert_eq!(
        device
            .scalar::<i64>("SELECT count(*) FROM messages WHERE direction = 'out'")
            .await,
        1
    );
    // The same key for another conversation is refused, not silently merged.
    let other = device.local_conversation(&env, "16505550000").await;
    let reused = device
        .outbox
        .enqueue(other, OutgoingMessage::text("Once", false), "k-1")
        .await;
    assert!(matches!(reused, Err(SendError::KeyReused(_))), "{reused:?}");
    env.stop().await;
}

/// What one workspace queued is not sent under another's session: a device signed out of a
/// workspace and into another keeps the first one's queue in its store, and only an outbox
/// of that workspace sends it.
#[tokio::test]
async fn an_outbox_sends_only_what_its_own_workspace_queued() {
    let (env, device, conversation) = replying_world(|_| {}).await;
    device
        .outbox
        .enqueue(
            conversation,
            OutgoingMessage::text("Only from this workspace", false),
            "ws-1",
        )
        .await
        .unwrap();
    let another = dataoptix_core::team::Team::new(
        device.store.clone(),
        device.vault.clone(),
        None,
        env.key.public_key(),
        "another-workspace",
        dataoptix_core::team::Identity {
            user_id: "u-2".into(),
            name: "Bo Other".into(),
            device: "d-2".into(),
        },
    );
    let graph = CloudApiClient::new(ClientConfig {
        base_url: env.sim.info.base_url.clone(),
        ..ClientConfig::default()
    })
    .unwrap();
    let elsewhere = dataoptix_core::send::Outbox::new(another, graph, fast());
    let report = elsewhere.run_once().await.unwrap();
    assert_eq!(report.sent, 0, "{report:?}");
    assert!(env.sim_sent(CUSTOMER).await.is_empty());
    assert_eq!(device.outbox.run_once().await.unwrap().sent, 1);
    assert_eq!(env.sim_sent(CUSTOMER).await.len(), 1);
    env.stop().await;
}

#[tokio::test]
async fn a_closed_window_refuses_free_form_but_a_template_goes_out() {
    let env = Env::start(|_| {}).await;
    let device = env.first_device(fast()).await;
    env.connect_number(&device, &env.sim.info.access_token.clone())
        .await;
    // Never wrote.
    let never = device.local_conversation(&env, CUSTOMER).await;
    let refused = device
        .outbox
        .enqueue(never, OutgoingMessage::text("Hi!", false), "w-1")
        .await;
    assert!(
        matches!(
            refused,
            Err(SendError::WindowClosed {
                last_inbound_at: None
            })
        ),
        "{refused:?}"
    );
    // Wrote 25 hours ago.
    let old = device.local_conversation(&env, "16505550001").await;
    let then = now() - 25 * 3600;
    device.local_inbound(old, "wamid.old", then).await;
    let refused = device
        .outbox
        .enqueue(old, OutgoingMessage::text("Hi!", false), "w-2")
        .await;
    assert!(
        matches!(refused, Err(SendError::WindowClosed { last_inbound_at: Some(t) }) if t == then),
        "{refused:?}"
    );
    // Nothing was queued or shown for the refused sends.
    assert_eq!(device.scalar::<i64>("SELECT count(*) FROM outbox").await, 0);
    // A template needs no window.
    let item = device
        .outbox
        .enqueue(
            never,
            OutgoingMessage::new(Template::new("hello_world", "en_US")),
            "w-3",
        )
        .await
        .unwrap();
    let report = device.outbox.run_once().await.unwrap();
    assert_eq!(report.sent, 1, "{report:?}");
    assert_eq!(
        device.outbox.item(item).await.unwrap().unwrap().state,
        "sent"
    );
    let sent = env.sim_sent(CUSTOMER).await;
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0]["type"], json!("template"));
    env.stop().await;
}

/// Meta's opt-out (`user_preferences`) is from marketing: a marketing template is refused, while
/// a utility one, one this device does not know (Meta decides) and a reply in the window go.
#[tokio::test]
async fn an_opted_out_customer_gets_no_marketing_template_but_replies_still_go() {
    let env = Env::start(|_| {}).await;
    let device = env.first_device(fast()).await;
    env.connect_number(&device, &env.sim.info.access_token.clone())
        .await;
    let stopped = device.local_conversation(&env, "16505550002").await;
    sqlx::query("UPDATE contacts SET opted_out = 1 WHERE wa_id = '16505550002'")
        .execute(device.store.pool())
        .await
        .unwrap();
    for (name, category) in [("spring_sale", "MARKETING"), ("order_ready", "UTILITY")] {
        sqlx::query(
            "INSERT INTO templates (workspace_id, waba_id, name, language, category, status,
                 updated_at) VALUES (?, ?, ?, 'en_US', ?, 'APPROVED', 0)",
        )
        .bind(&env.workspace_id)
        .bind(&env.sim.info.waba_id)
        .bind(name)
        .bind(category)
        .execute(device.store.pool())
        .await
        .unwrap();
    }
    let refused = device
        .outbox
        .enqueue(
            stopped,
            OutgoingMessage::new(Template::new("spring_sale", "en_US")),
            "m-1",
        )
        .await;
    assert!(
        matches!(&refused, Err(SendError::ContactBlocked(why)) if why.contains("opted out of marketing")),
        "{refused:?}"
    );
    assert_eq!(device.scalar::<i64>("SELECT count(*) FROM outbox").await, 0);
    for (template, key) in [("order_ready", "m-2"), ("not_synced_here", "m-3")] {
        device
            .outbox
            .enqueue(
                stopped,
                OutgoingMessage::new(Template::new(template, "en_US")),
                key,
            )
            .await
            .unwrap_or_else(|e| panic!("{template}: {e}"));
    }
    device
        .local_inbound(stopped, "wamid.stopped", now() - 60)
        .await;
    device
        .outbox
        .enqueue(
            stopped,
            OutgoingMessage::text("Your order is ready", false),
            "m-4",
        )
        .await
        .unwrap();
    assert_eq!(device.scalar::<i64>("SELECT count(*) FROM outbox").await, 3);
    env.stop().await;
}

#[tokio::test]
async fn offline_the_item_waits_then_goes_out_once() {
    let env = Env::start(|_| {}).await;
    let mut proxy = TcpProxy::down(&env.sim.info.base_url).await;
    let session = env.first_device(fast()).await.session;
    let device = env.device_with(session, &proxy.url(), fast()).await;
    env.connect_number(&device, &env.sim.info.access_token.clone())
        .await;
    env.inbound(CUSTOMER, "Are you open?").await;
    device
        .sync_until("the customer's message", async |d: &Device| {
            d.conversation(CUSTOMER).await.is_some()
        })
        .await;
    let conversation = device.conversation(CUSTOMER).await.unwrap();
    let item = device
        .outbox
        .enqueue(
            conversation,
            OutgoingMessage::text("Yes, until 6", false),
            "o-1",
        )
        .await
        .unwrap();

    let report = device.outbox.run_once().await.unwrap();
    assert_eq!((report.sent, report.deferred), (0, 1), "{report:?}");
    let waiting = device.outbox.item(item).await.unwrap().unwrap();
    assert_eq!(waiting.state, "queued");
    assert_eq!(waiting.error_class.as_deref(), Some("retryable"));
    assert!(
        waiting.due_ms > common::now() * 1000,
        "backoff, not a hot loop"
    );
    assert_eq!(
        device
            .status_of_message(waiting.message_id.unwrap())
            .await
            .1
            .as_deref(),
        Some("pending")
    );
    // A second message queued meanwhile waits behind the first (order kept), and a run
    // before the backoff is over sends nothing.
    let second = device
        .outbox
        .enqueue(
            conversation,
            OutgoingMessage::text("And Sunday 8-12", false),
            "o-2",
        )
        .await
        .unwrap();
    assert_eq!(device.outbox.run_once().await.unwrap(), Default::default());

    proxy.plug().await.unwrap();
    // The connection is back: the waiting item is due now, not at the end of its backoff;
    // the second (never tried) and anything Meta itself refused are left as they are.
    assert_eq!(device.outbox.connection_back().await.unwrap(), 1);
    let woken = device.outbox.item(item).await.unwrap().unwrap();
    assert!(woken.due_ms <= common::now() * 1000 + 1000, "{woken:?}");
    assert_eq!(device.outbox.connection_back().await.unwrap(), 0);
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut sent = 0;
    while sent < 2 {
        sent += device.outbox.run_once().await.unwrap().sent;
        assert!(Instant::now() < deadline, "never sent after reconnecting");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    for id in [item, second] {
        assert_eq!(device.outbox.item(id).await.unwrap().unwrap().state, "sent");
    }
    let bodies: Vec<_> = env
        .sim_sent(CUSTOMER)
        .await
        .iter()
        .map(|m| m["request"]["text"]["body"].clone())
        .collect();
    assert_eq!(bodies, [json!("Yes, until 6"), json!("And Sunday 8-12")]);
    env.stop().await;
}

/// Meta accepted the message but the device crashed before recording it. On restart the item
/// is in doubt: the status webhook carrying its callback data proves the send, so the wamid is
/// adopted and nothing is sent twice. Without proof after the grace period it is sent again
/// (at-least-once).
#[tokio::test]
async fn a_crash_after_graph_success_does_not_send_twice() {
    let (env, device, conversation) = replying_world(|_| {}).await;
    let item = device
        .outbox
        .enqueue(
            conversation,
            OutgoingMessage::text("Your cake is ready", false),
            "crash-1",
        )
        .await
        .unwrap();
    // What the worker does up to the crash: mark sending, POST the stored body to Graph...
    let payload: String = sqlx::query_scalar("SELECT payload_json FROM outbox WHERE id = ?")
        .bind(item)
        .fetch_one(device.store.pool())
        .await
        .unwrap();
    sqlx::query("UPDATE outbox SET state = 'sending', attempts = 1 WHERE id = ?")
        .bind(item)
        .execute(device.store.pool())
        .await
        .unwrap();
    let body: SendMessage = serde_json::from_str(&payload).unwrap();
    let graph = CloudApiClient::new(ClientConfig {
        base_url: env.sim.info.base_url.clone(),
        ..ClientConfig::default()
    })
    .unwrap()
    .with_token(env.sim.info.access_token.clone());
    let accepted = graph
        .send_message(&env.sim.info.phone_number_id, &body)
        .await
        .unwrap();
    let real = accepted.message_id().unwrap().to_string();
    // ... and the process dies: the outbox never learnt the wamid. Restart:
    let restarted = dataoptix_core::send::Outbox::new(
        device.team.clone(),
        CloudApiClient::new(ClientConfig {
            base_url: env.sim.info.base_url.clone(),
            ..ClientConfig::default()
        })
        .unwrap(),
        fast(),
    );
    assert_eq!(restarted.recover().await.unwrap(), 1);
    // Within the grace period and without proof: waits, sends nothing.
    let report = restarted.run_once().await.unwrap();
    assert_eq!((report.sent, report.deferred), (0, 1), "{report:?}");
    // Sync brings the status webhooks (with the callback data) ...
    device
        .sync_until("the status of the crashed send", async |d: &Device| {
            d.scalar::<i64>("SELECT count(*) FROM message_statuses")
                .await
                > 0
        })
        .await;
    restarted.retry_now(item).await.unwrap();
    let report = restarted.run_once().await.unwrap();
    assert_eq!((report.sent, report.adopted), (0, 1), "{report:?}");
    let done = restarted.item(item).await.unwrap().unwrap();
    assert_eq!(done.state, "sent");
    assert_eq!(done.wamid.as_deref(), Some(real.as_str()));
    assert_eq!(
        device.status_of_message(done.message_id.unwrap()).await.0,
        real
    );
    assert_eq!(env.sim_sent(CUSTOMER).await.len(), 1, "sent exactly once");
    // The statuses synced before the swap apply when it happens.
    let best: String = device
        .scalar("SELECT status FROM message_statuses ORDER BY rank DESC LIMIT 1")
        .await;
    assert_eq!(
        device
            .status_of_message(done.message_id.unwrap())
            .await
            .1
            .as_deref(),
        Some(best.as_str())
    );

    // No proof at all (the crash happened before Graph got it) and the grace is over: sent.
    let lost = device
        .outbox
        .enqueue(
            conversation,
            OutgoingMessage::text("Still there?", false),
            "crash-2",
        )
        .await
        .unwrap();
    sqlx::query("UPDATE outbox SET state = 'sending', attempts = 1 WHERE id = ?")
        .bind(lost)
        .execute(device.store.pool())
        .await
        .unwrap();
    let impatient = dataoptix_core::send::Outbox::new(
        device.team.clone(),
        CloudApiClient::new(ClientConfig {
            base_url: env.sim.info.base_url.clone(),
            ..ClientConfig::default()
        })
        .unwrap(),
        OutboxConfig {
            in_doubt_grace: Duration::ZERO,
            ..OutboxConfig::default()
        },
    );
    impatient.recover().await.unwrap();
    let report = impatient.run_once().await.unwrap();
    assert_eq!(report.sent, 1, "{report:?}");
    assert_eq!(env.sim_sent(CUSTOMER).await.len(), 2);
    env.stop().await;
}

#[tokio::test]
async fn re_engagement_131047_fails_the_item_and_asks_for_a_template() {
    let env = Env::start(|c| {
        c.statuses.window_enforcement = dataoptix_sim::config::WindowEnforcement::Sync;
    })
    .await;
    let device = env.first_device(fast()).await;
    env.connect_number(&device, &env.sim.info.access_token.clone())
        .await;
    // The device believes the window is open; Meta (the simulator) knows better.
    let conversation = device.local_conversation(&env, CUSTOMER).await;
    device
        .local_inbound(conversation, "wamid.local-only", now() - 60)
        .await;
    let item = device
        .outbox
        .enqueue(
            conversation,
            OutgoingMessage::text("Hello again", false),
            "e-1",
        )
        .await
        .unwrap();
    let report = device.outbox.run_once().await.unwrap();
    assert_eq!(report.failed, 1, "{report:?}");
    let failed = device.outbox.item(item).await.unwrap().unwrap();
    assert_eq!(failed.state, "failed");
    assert_eq!(failed.error_code, Some(131047));
    assert_eq!(failed.error_class.as_deref(), Some("needs_template"));
    assert!(failed.error_message.unwrap().contains("template"));
    let (_, status, code) = device.status_of_message(failed.message_id.unwrap()).await;
    assert_eq!((status.as_deref(), code), (Some("failed"), Some(131047)));
    // A failed item is not retried by itself.
    assert_eq!(device.outbox.run_once().await.unwrap().sent, 0);
    env.stop().await;
}

#[tokio::test]
async fn throughput_130429_and_pair_rate_131056_requeue_with_backoff() {
    let env = Env::start(|c| {
        c.limits.throughput_mps = 1;
        c.limits.pair_burst = 1;
        c.limits.pair_interval_ms = 60_000;
    })
    .await;
    // Our own pacing switched off (far above the simulator's limits) to provoke Meta's.
    let device = env
        .first_device(OutboxConfig {
            messages_per_second: 1000,
            pair_burst: 1000,
            ..fast()
        })
        .await;
    env.connect_number(&device, &env.sim.info.access_token.clone())
        .await;
    let a = device.local_conversation(&env, "16505550010").await;
    let b = device.local_conversation(&env, "16505550011").await;
    let hello = || OutgoingMessage::new(Template::new("hello_world", "en_US"));
    let to_a = device.outbox.enqueue(a, hello(), "t-1").await.unwrap();
    let to_b = device.outbox.enqueue(b, hello(), "t-2").await.unwrap();
    let report = device.outbox.run_once().await.unwrap();
    assert_eq!((report.sent, report.deferred), (1, 1), "{report:?}");
    // Both were in flight together: whichever reached Meta second was refused.
    let state_of_a = device.outbox.item(to_a).await.unwrap().unwrap().state;
    let (sent, throughput) = if state_of_a == "sent" {
        (to_a, to_b)
    } else {
        (to_b, to_a)
    };
    assert_eq!(
        device.outbox.item(sent).await.unwrap().unwrap().state,
        "sent"
    );
    let limited = device.outbox.item(throughput).await.unwrap().unwrap();
    assert_eq!(
        (limited.state.as_str(), limited.error_code),
        ("queued", Some(130429))
    );
    assert_eq!(limited.error_class.as_deref(), Some("rate_limited"));

    // Once the second is over, the throughput-limited one goes.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    sqlx::query("UPDATE outbox SET due_ms = 0 WHERE id = ?")
        .bind(throughput)
        .execute(device.store.pool())
        .await
        .unwrap();
    let report = device.outbox.run_once().await.unwrap();
    assert_eq!(report.sent, 1, "{report:?}");

    // Pair rate: a second message to customer a within the simulator's minute.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let pair = device.outbox.enqueue(a, hello(), "t-3").await.unwrap();
    let before = common::now() * 1000;
    let report = device.outbox.run_once().await.unwrap();
    assert_eq!(report.deferred, 1, "{report:?}");
    let paced = device.outbox.item(pair).await.unwrap().unwrap();
    assert_eq!(
        (paced.state.as_str(), paced.error_code),
        ("queued", Some(131056))
    );
    // Meta's rule: retry after 4^0 = 1 s for the first time.
    let wait = paced.due_ms - before;
    assert!((500..=3000).contains(&wait), "{wait} ms");
    env.stop().await;
}

#[tokio::test]
async fn an_invalid_token_parks_the_number_until_reconnected() {
    let (env, device, conversation) = replying_world(|_| {}).await;
    env.control(
        "/tokens/revoke",
        json!({"token": env.sim.info.access_token.clone()}),
    )
    .await;
    let item = device
        .outbox
        .enqueue(conversation, OutgoingMessage::text("Hello", false), "tok-1")
        .await
        .unwrap();
    device.outbox.run_once().await.unwrap();
    let parked = device.outbox.item(item).await.unwrap().unwrap();
    assert_eq!(parked.state, "queued");
    assert_eq!(parked.error_code, Some(190));
    assert_eq!(parked.error_class.as_deref(), Some("token_invalid"));
    let state = dataoptix_core::team::number_state(
        &device.store,
        &device.vault,
        &env.sim.info.phone_number_id,
    )
    .await
    .unwrap();
    assert!(state.reconnect_required, "{state:?}");
    // No retry storm: the number's items are not tried while it needs reconnecting.
    sqlx::query("UPDATE outbox SET due_ms = 0")
        .execute(device.store.pool())
        .await
        .unwrap();
    let report = device.outbox.run_once().await.unwrap();
    assert_eq!(report, Default::default());
    assert_eq!(device.outbox.item(item).await.unwrap().unwrap().attempts, 0);

    // Connect WhatsApp again: a fresh token releases the item.
    let fresh = env.control("/tokens", json!({})).await;
    env.connect_number(&device, fresh["access_token"].as_str().unwrap())
        .await;
    let report = device.outbox.run_once().await.unwrap();
    assert_eq!(report.sent, 1, "{report:?}");
    assert_eq!(env.sim_sent(CUSTOMER).await.len(), 1);
    env.stop().await;
}

#[tokio::test]
async fn an_undeliverable_user_131026_ends_failed_after_sync() {
    let env = Env::start(|_| {}).await;
    let device = env.first_device(fast()).await;
    env.connect_number(&device, &env.sim.info.access_token.clone())
        .await;
    env.control(
        &format!("/users/{CUSTOMER}"),
        json!({"undeliverable": true}),
    )
    .await;
    let conversation = device.local_conversation(&env, CUSTOMER).await;
    let item = device
        .outbox
        .enqueue(
            conversation,
            OutgoingMessage::new(Template::new("hello_world", "en_US")),
            "u-1",
        )
        .await
        .unwrap();
    device.outbox.run_once().await.unwrap();
    // Meta accepts the request; the failure comes as a status webhook.
    let sent = device.outbox.item(item).await.unwrap().unwrap();
    assert_eq!(sent.state, "sent");
    let message_id = sent.message_id.unwrap();
    device
        .sync_until("the failed status", async |d: &Device| {
            d.status_of_message(message_id).await.1.as_deref() == Some("failed")
        })
        .await;
    assert_eq!(device.status_of_message(message_id).await.2, Some(131026));
    env.stop().await;
}

/// Sends `n` templates to `n` new customers in one run; returns how long the run took.
async fn burst(env: &Env, device: &Device, tag: &str, n: usize) -> Duration {
    for i in 0..n {
        let conversation = device
            .local_conversation(env, &format!("1650{}{i:04}", tag.len() + 100))
            .await;
        device
            .outbox
            .enqueue(
                conversation,
                OutgoingMessage::new(Template::new("hello_world", "en_US")),
                &format!("{tag}-{i}"),
            )
            .await
            .unwrap();
    }
    let started = Instant::now();
    let report = device.outbox.run_once().await.unwrap();
    let took = started.elapsed();
    assert_eq!(report.sent, n, "{report:?}");
    took
}

#[tokio::test]
async fn the_throttle_keeps_a_burst_under_the_numbers_limit() {
    // The simulator enforces the per-second limit Meta would, set to the number's limit.
    let env = Env::start(|c| c.limits.throughput_mps = 20).await;
    let device = env.first_device(fast()).await;
    env.connect_number(&device, &env.sim.info.access_token.clone())
        .await;
    let phone = env.sim.info.phone_number_id.clone();
    let no_retry = "SELECT count(*) FROM outbox WHERE attempts != 1 OR error_code IS NOT NULL";

    // 60 sends at 20 msg/s: the first 20 at once, then paced.
    device.outbox.set_messages_per_second(&phone, 20);
    let took = burst(&env, &device, "a", 60).await;
    assert!(
        took >= Duration::from_secs(2),
        "{took:?} < (60 - 20) / 20 s"
    );
    assert_eq!(device.scalar::<i64>(no_retry).await, 0, "no 130429 at all");

    // A limit well below what this machine sends unpaced (a debug build sends ~10/s), so the
    // pacing is what holds the burst back: 10 sends at 2 msg/s take >= (10 - 2) / 2 s.
    env.control("/settings", json!({"limits": {"throughput_mps": 2}}))
        .await;
    device.outbox.set_messages_per_second(&phone, 2);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let took = burst(&env, &device, "bb", 10).await;
    assert!(took >= Duration::from_secs(4), "{took:?} < (10 - 2) / 2 s");
    assert_eq!(device.scalar::<i64>(no_retry).await, 0, "no 130429 at all");
    env.stop().await;
}

#[tokio::test]
async fn reactions_media_and_read_receipts_use_the_right_bodies() {
    let (env, device, conversation) = replying_world(|_| {}).await;
    let inbound: String = device
        .scalar("SELECT wamid FROM messages WHERE direction = 'in' LIMIT 1")
        .await;
    device
        .outbox
        .enqueue(
            conversation,
            OutgoingMessage::new(cloud_api::messages::Reaction::new(inbound.clone(), "👍")),
            "r-1",
        )
        .await
        .unwrap();
    device
        .outbox
        .enqueue(
            conversation,
            OutgoingMessage::new(
                cloud_api::messages::Image::link("https://example.com/cake.jpg")
                    .caption("Seeded sourdough"),
            )
            .reply_to(inbound.clone()),
            "m-1",
        )
        .await
        .unwrap();
    device
        .outbox
        .mark_read(conversation, &inbound, true)
        .await
        .unwrap();
    let report = device.outbox.run_once().await.unwrap();
    assert_eq!(report.sent, 3, "{report:?}");
    assert_eq!(
        device.store.reactions(&inbound).await.unwrap(),
        vec![("me".to_string(), "👍".to_string())]
    );
    let sent = env.sim_sent(CUSTOMER).await;
    let image = sent.iter().find(|m| m["type"] == json!("image")).unwrap();
    assert_eq!(image["request"]["context"]["message_id"], json!(inbound));
    assert_eq!(
        image["request"]["image"]["caption"],
        json!("Seeded sourdough")
    );
    let marks: serde_json::Value = env
        .http
        .get(env.sim.control_url("/read_marks"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(marks["data"].as_array().unwrap().len(), 1, "{marks}");
    // The image row is searchable by its caption, with kind image.
    let kind: String = device
        .scalar("SELECT kind FROM messages WHERE caption = 'Seeded sourdough'")
        .await;
    assert_eq!(kind, "image");
    env.stop().await;
}

#[tokio::test]
async fn the_worker_loop_sends_what_is_enqueued_and_stops_on_shutdown() {
    let (env, device, conversation) = replying_world(|_| {}).await;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let outbox = device.outbox.clone();
    let worker = tokio::spawn(async move {
        outbox
            .run(async {
                let _ = stopped.await;
            })
            .await
    });
    let item = device
        .outbox
        .enqueue(
            conversation,
            OutgoingMessage::text("On its way", false),
            "loop-1",
        )
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while device.outbox.item(item).await.unwrap().unwrap().state != "sent" {
        assert!(Instant::now() < deadline, "the worker never sent it");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stop.send(()).unwrap();
    worker.await.unwrap().unwrap();
    assert_eq!(env.sim_sent(CUSTOMER).await.len(), 1);
    env.stop().await;
}

#[tokio::test]
async fn sends_in_flight_together_keep_each_customers_order() {
    const OTHER: &str = "16505559876";
    // Meta answers each send after a random delay: sends in flight together overtake each
    // other, so only the worker's ordering keeps a customer's messages in order.
    let (env, device, first) = replying_world(|c| c.send_latency_ms = [0, 60]).await;
    env.inbound(OTHER, "And croissants?").await;
    device
        .sync_until("the second customer's message", async |d: &Device| {
            d.conversation(OTHER).await.is_some()
        })
        .await;
    let second = device.conversation(OTHER).await.unwrap();
    // Interleaved, so that both customers' messages are due at once and several are in flight.
    for i in 1..=6 {
        for (conversation, who) in [(first, "a"), (second, "b")] {
            device
                .outbox
                .enqueue(
                    conversation,
                    OutgoingMessage::text(format!("{who} {i}"), false),
                    &format!("{who}-{i}"),
                )
                .await
                .unwrap();
        }
    }
    let report = device.outbox.run_once().await.unwrap();
    assert_eq!(report.sent, 12, "{report:?}");
    for (to, who) in [(CUSTOMER, "a"), (OTHER, "b")] {
        let texts: Vec<String> = env
            .sim_sent(to)
            .await
            .iter()
            .map(|m| m["request"]["text"]["body"].as_str().unwrap().to_string())
            .collect();
        let expected: Vec<String> = (1..=6).map(|i| format!("{who} {i}")).collect();
        assert_eq!(texts, expected, "{to} got its messages out of order");
    }
    env.stop().await;
}
