//! Broadcasts through the device facade against the real relay and `dataoptix-sim` over HTTP:
//! exclusions and CSV errors, per-recipient statuses up to read, pause / resume / cancel, a
//! restart mid-broadcast, and pacing at the number's messages-per-second.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::eventually_within as eventually;
use common::pacing::{self, connected_device, order_ready, sim_get, sim_post};
use common::SignupWorld;
use dataoptix_core::broadcast::{BroadcastSummary, ParamSource, RecipientSource};
use dataoptix_core::device::{Device, DeviceError, DeviceEvent};
use dataoptix_core::vault::MemoryStore;
use serde_json::{json, Value};

const CONFIG_ID: &str = "cfg-broadcasts";

/// Sends the simulator accepted to `wa_id` (digits).
async fn sent_to(world: &SignupWorld, wa_id: &str) -> Vec<Value> {
    sim_get(world, &format!("/sent?to={wa_id}")).await["data"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

async fn contact_id(d: &Device, wa_id: &str) -> Option<i64> {
    sqlx::query_scalar("SELECT id FROM contacts WHERE wa_id = ?")
        .bind(wa_id)
        .fetch_optional(d.store().pool())
        .await
        .unwrap()
}

/// A customer writes, so that they are a known contact of the device.
async fn customer_writes(world: &SignupWorld, d: &Device, wa_id: &str, name: &str) -> i64 {
    sim_post(
        world,
        "/inbound",
        json!({"from": wa_id, "name": name, "type": "text", "text": {"body": "hello"}}),
    )
    .await;
    eventually("the customer's contact", 30, async || {
        contact_id(d, wa_id).await
    })
    .await
}

async fn wait_counts(
    d: &Device,
    id: i64,
    what: &str,
    done: impl Fn(&BroadcastSummary) -> bool,
) -> BroadcastSummary {
    eventually(what, 100, async || {
        let b = d.broadcast(id).await.unwrap();
        done(&b).then_some(b)
    })
    .await
}

#[tokio::test]
async fn a_csv_broadcast_excludes_who_must_not_get_it_and_each_recipient_ends_read() {
    let w = SignupWorld::start(CONFIG_ID).await;
    let dir = tempfile::tempdir().unwrap();
    let secrets = MemoryStore::new();
    let d = connected_device(&w, dir.path(), &secrets).await;
    d.start_background().await.unwrap();
    let mut events = d.subscribe();

    // Opted out by a marketing STOP (a user_preferences webhook), restricted by the privacy
    // screen: both are known contacts the CSV names again.
    sim_post(
        &w,
        "/users/447700900001/preferences",
        json!({"value": "stop"}),
    )
    .await;
    let opted_out = eventually("the opt-out", 30, async || {
        let id: Option<i64> =
            sqlx::query_scalar("SELECT id FROM contacts WHERE wa_id = ? AND opted_out = 1")
                .bind("447700900001")
                .fetch_optional(d.store().pool())
                .await
                .unwrap();
        id
    })
    .await;
    let restricted = customer_writes(&w, &d, "447700900002", "Rita Restricted").await;
    dataoptix_core::privacy::contacts::set_restricted(d.store(), "test", restricted, true)
        .await
        .unwrap();

    let csv = "Name,Phone,Order\n\
               Olga,+44 7700 900001,#1\n\
               Rita,+44 7700 900002,#2\n\
               Carla,+44 7700 900003,#3\n\
               Dan,0044 7700 900004,#4\n\
               Bad,12ab,#5\n\
               Carla again,447700900003,#6\n\
               Eve,+44 7700 900005,\n";
    let form = order_ready(
        "Pickup reminders",
        RecipientSource::Csv { text: csv.into() },
    );
    let preview = d.preview_broadcast(&form).await.unwrap();
    assert_eq!((preview.total, preview.sendable), (5, 2), "{preview:?}");
    let reasons: Vec<(&str, &str)> = preview
        .excluded
        .iter()
        .map(|r| (r.phone.as_str(), r.skip_reason.as_deref().unwrap()))
        .collect();
    assert!(
        reasons[0].0 == "447700900001" && reasons[0].1.contains("opted out"),
        "{reasons:?}"
    );
    assert!(
        reasons[1].0 == "447700900002" && reasons[1].1.contains("restricted"),
        "{reasons:?}"
    );
    assert!(
        reasons[2].0 == "447700900005" && reasons[2].1.contains("\"order\""),
        "{reasons:?}"
    );
    let issues: Vec<(u32, &str)> = preview
        .import_issues
        .iter()
        .map(|i| (i.line, i.kind.as_str()))
        .collect();
    assert_eq!(issues, [(6, "invalid"), (7, "duplicate")]);
    let sample = preview.sample.unwrap();
    assert_eq!(
        sample.body,
        "Hi Carla, your order #3 is ready for pickup. See you soon!"
    );
    // The opted-out contact stays the same contact (matched by number, not duplicated).
    assert_eq!(contact_id(&d, "447700900001").await, Some(opted_out));

    let created = d.create_broadcast(form).await.unwrap();
    assert_eq!(created.counts.total, 5);
    assert_eq!(created.counts.skipped, 3);
    assert_eq!(created.import_issues.len(), 2);
    let done = wait_counts(&d, created.id, "both read", |b| b.counts.read == 2).await;
    assert_eq!(done.status, "completed");
    let recipients = d.broadcast_recipients(created.id, 0, 100).await.unwrap();
    let states: Vec<(&str, &str)> = recipients
        .iter()
        .map(|r| (r.phone.as_str(), r.state.as_str()))
        .collect();
    assert_eq!(
        states,
        [
            ("447700900001", "skipped"),
            ("447700900002", "skipped"),
            ("447700900003", "read"),
            ("447700900004", "read"),
            ("447700900005", "skipped"),
        ]
    );
    assert!(recipients[2]
        .wamid
        .as_deref()
        .unwrap()
        .starts_with("wamid."));

    // Meta got exactly the two, with each row's values; the excluded got nothing.
    let carla = sent_to(&w, "447700900003").await;
    assert_eq!(carla.len(), 1);
    let params = &carla[0]["request"]["template"]["components"][0]["parameters"];
    assert_eq!(params[0]["text"], "Carla");
    assert_eq!(params[1]["text"], "#3");
    assert_eq!(sent_to(&w, "447700900004").await.len(), 1);
    for excluded in ["447700900001", "447700900002", "447700900005"] {
        assert!(
            sent_to(&w, excluded).await.is_empty(),
            "{excluded} got a message"
        );
    }
    // Progress was announced as it moved, ending with both read.
    let last_read = eventually("a progress event with both read", 10, async || loop {
        match events.try_recv() {
            Ok(DeviceEvent::BroadcastProgress {
                broadcast_id,
                counts,
            }) if broadcast_id == created.id && counts.read == 2 => return Some(counts),
            Ok(_) => continue,
            Err(_) => return None,
        }
    })
    .await;
    assert_eq!(last_read.skipped, 3);
    // The list shows it too.
    assert_eq!(d.broadcasts().await.unwrap()[0].id, created.id);
    d.stop_background().await;
    w.stop().await;
}

#[tokio::test]
async fn recipients_by_label_and_selection_and_refusals_before_anything_is_stored() {
    let w = SignupWorld::start(CONFIG_ID).await;
    let dir = tempfile::tempdir().unwrap();
    let secrets = MemoryStore::new();
    let d = connected_device(&w, dir.path(), &secrets).await;
    d.start_background().await.unwrap();
    let a = customer_writes(&w, &d, "14155550101", "Alma").await;
    let b = customer_writes(&w, &d, "14155550102", "Bea").await;
    let conv: i64 = sqlx::query_scalar("SELECT id FROM conversations WHERE contact_id = ?")
        .bind(a)
        .fetch_one(d.store().pool())
        .await
        .unwrap();
    d.set_labels(conv, &["vip".into()]).await.unwrap();

    let hello = |recipients| dataoptix_core::device::BroadcastForm {
        template_name: "order_ready".into(),
        body: vec![
            ParamSource::ContactName,
            ParamSource::Fixed {
                value: "#77".into(),
            },
        ],
        ..order_ready("VIPs", recipients)
    };
    let by_label = d
        .preview_broadcast(&hello(RecipientSource::Label {
            label: "vip".into(),
        }))
        .await
        .unwrap();
    assert_eq!((by_label.total, by_label.sendable), (1, 1));
    assert_eq!(
        by_label.sample.unwrap().body,
        "Hi Alma, your order #77 is ready for pickup. See you soon!"
    );
    let selection = hello(RecipientSource::Contacts {
        contact_ids: vec![a, b, a],
    });
    assert_eq!(d.preview_broadcast(&selection).await.unwrap().sendable, 2);

    // Refused with a reason, nothing stored.
    let refusals = [
        (
            hello(RecipientSource::Label {
                label: "nobody".into(),
            }),
            "label",
        ),
        (
            order_ready(
                "cols",
                RecipientSource::Contacts {
                    contact_ids: vec![a],
                },
            ),
            "CSV",
        ),
        (
            dataoptix_core::device::BroadcastForm {
                body: vec![ParamSource::ContactName],
                ..hello(RecipientSource::Contacts {
                    contact_ids: vec![a],
                })
            },
            "2 variable(s)",
        ),
        (
            hello(RecipientSource::Csv {
                text: "name,email\nA,a@x.org\n".into(),
            }),
            "phone",
        ),
        (
            dataoptix_core::device::BroadcastForm {
                template_name: "weekend_offer".into(),
                ..hello(RecipientSource::Contacts {
                    contact_ids: vec![a],
                })
            },
            "image header",
        ),
    ];
    for (form, needle) in refusals {
        match d.create_broadcast(form).await {
            Err(DeviceError::InvalidInput(m)) => assert!(m.contains(needle), "{m}"),
            other => panic!("expected a refusal mentioning {needle}: {other:?}"),
        }
    }
    assert!(d.broadcasts().await.unwrap().is_empty());

    let created = d.create_broadcast(selection).await.unwrap();
    wait_counts(&d, created.id, "both sent", |b| b.counts.queued == 0).await;
    assert_eq!(sent_to(&w, "14155550101").await.len(), 1);
    assert_eq!(sent_to(&w, "14155550102").await.len(), 1);
    d.stop_background().await;
    w.stop().await;
}

#[tokio::test]
async fn pause_holds_resume_releases_and_cancel_stops_what_is_left() {
    let w = SignupWorld::start(CONFIG_ID).await;
    let dir = tempfile::tempdir().unwrap();
    let secrets = MemoryStore::new();
    let d = connected_device(&w, dir.path(), &secrets).await;
    let phone = w.sim.info.phone_number_id.clone();
    d.set_messages_per_second(&phone, 4).await.unwrap();
    d.start_background().await.unwrap();
    let created = d
        .create_broadcast(order_ready(
            "slow",
            RecipientSource::Csv {
                text: pacing::csv(24, 3_000_000),
            },
        ))
        .await
        .unwrap();
    wait_counts(&d, created.id, "a first few sent", |b| {
        b.counts.queued <= 20
    })
    .await;
    let paused = d.pause_broadcast(created.id).await.unwrap();
    assert_eq!(paused.status, "paused");
    // What was being sent when paused finishes; then nothing moves.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let at_pause = sim_sent_count(&w).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(sim_sent_count(&w).await, at_pause, "sent while paused");
    assert!(matches!(
        d.pause_broadcast(created.id).await,
        Err(DeviceError::Conflict(_))
    ));

    d.resume_broadcast(created.id).await.unwrap();
    eventually("more sent after resume", 10, async || {
        (sim_sent_count(&w).await >= at_pause + 3).then_some(())
    })
    .await;
    let cancelled = d.cancel_broadcast(created.id).await.unwrap();
    assert_eq!(cancelled.status, "cancelled");
    assert!(cancelled.counts.cancelled > 0, "{:?}", cancelled.counts);
    // The message already handed to the sender (waiting for its slot or at Meta) may still go
    // out; wait for it rather than for a fixed time (CI machines are slow). After that nothing
    // moves, and every recipient is either cancelled or counted as sent (below).
    wait_counts(&d, created.id, "nothing left in flight", |b| {
        b.counts.queued == 0
    })
    .await;
    let final_count = sim_sent_count(&w).await;
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert_eq!(sim_sent_count(&w).await, final_count, "sent after cancel");
    let b = d.broadcast(created.id).await.unwrap();
    assert_eq!(b.counts.queued, 0);
    // Every recipient is accounted for: sent (in some state) or cancelled — and what Meta
    // accepted is what the device counts as sent.
    let went_out = b.counts.sent + b.counts.delivered + b.counts.read + b.counts.failed;
    assert_eq!(went_out + b.counts.cancelled, 24);
    assert_eq!(went_out as usize, final_count);
    let recipients = d.broadcast_recipients(created.id, 0, 100).await.unwrap();
    assert!(recipients.iter().any(|r| r.state == "cancelled"));
    // Each change of course is in the activity log, on the broadcast, once (the refused
    // second pause is not).
    let log = d.activity(None, 50).await.unwrap();
    let subject = format!("broadcast:{}", created.id);
    let course: Vec<&str> = log
        .items
        .iter()
        .rev()
        .filter(|e| e.subject.as_deref() == Some(subject.as_str()))
        .map(|e| e.action.as_str())
        .collect();
    assert_eq!(
        course,
        [
            "broadcast.start",
            "broadcast.pause",
            "broadcast.resume",
            "broadcast.cancel"
        ]
    );
    assert!(matches!(
        d.resume_broadcast(created.id).await,
        Err(DeviceError::Conflict(_))
    ));
    d.stop_background().await;
    w.stop().await;
}

async fn sim_sent_count(w: &SignupWorld) -> usize {
    sim_get(w, "/sent?type=template").await["data"]
        .as_array()
        .map_or(0, Vec::len)
}

#[tokio::test]
async fn a_restart_mid_broadcast_sends_the_rest_once() {
    let w = SignupWorld::start(CONFIG_ID).await;
    let dir = tempfile::tempdir().unwrap();
    let secrets = MemoryStore::new();
    let d = connected_device(&w, dir.path(), &secrets).await;
    let phone = w.sim.info.phone_number_id.clone();
    d.set_messages_per_second(&phone, 5).await.unwrap();
    d.start_background().await.unwrap();
    let n = 20;
    let created = d
        .create_broadcast(order_ready(
            "restart",
            RecipientSource::Csv {
                text: pacing::csv(n, 4_000_000),
            },
        ))
        .await
        .unwrap();
    eventually("a first few sent", 20, async || {
        (sim_sent_count(&w).await >= 5).then_some(())
    })
    .await;
    // The app quits mid-broadcast.
    d.stop_background().await;
    // The tasks see the stop on their next poll (the outbox puts back an item it held).
    tokio::time::sleep(Duration::from_millis(300)).await;
    let before = sim_sent_count(&w).await;
    assert!(before < n, "everything went out before the restart");
    d.store().clone().close().await;
    drop(d);

    // Reopened on the same data directory (the limit is remembered), it carries on. To also
    // cover a crash between queueing a recipient and recording its item, three recipients
    // lose that link first: feeding them again must find their items, not send twice.
    let d = Device::open(
        dir.path(),
        &secrets,
        &dataoptix_core::vault::PassphraseSource::none(),
        "Front desk",
    )
    .await
    .unwrap();
    sqlx::query(
        "UPDATE broadcast_recipients SET outbox_id = NULL
         WHERE broadcast_id = ? AND id IN (SELECT id FROM broadcast_recipients
             WHERE broadcast_id = ? ORDER BY id DESC LIMIT 3)",
    )
    .bind(created.id)
    .bind(created.id)
    .execute(d.store().pool())
    .await
    .unwrap();
    d.start_background().await.unwrap();
    let done = wait_counts(&d, created.id, "all sent after the restart", |b| {
        b.counts.queued == 0
    })
    .await;
    assert_eq!(done.status, "completed");
    assert_eq!(done.counts.total as usize, n);
    assert_eq!(
        done.counts.cancelled + done.counts.skipped + done.counts.failed,
        0
    );
    // Exactly once each at Meta.
    for i in 0..n as u64 {
        let wa_id = format!("1555{:07}", 4_000_000 + i);
        assert_eq!(sent_to(&w, &wa_id).await.len(), 1, "{wa_id}");
    }
    d.stop_background().await;
    w.stop().await;
}

/// The short form of issue #6's measurement (the 5,000-contact run at 80/s with the 95%
/// criterion is `benches/broadcast_pacing.rs`, in a release build). In a debug build on a
/// shared 2-core machine, with the whole test suite running beside it, an item costs the
/// worker ~100-400 ms and each send's HTTP round trip tens of ms — time the one-second window
/// cannot win back (the throttle counts from each send's end). So the short form runs at a
/// limit a debug build can fill, keeps the strict criteria (no 130429, never more than the
/// limit in any second, each recipient exactly once), and asks for 60% of the limit (77-86% measured here while other builds loaded the machine): a
/// throttle that waited a whole extra window would fall to 50%.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_broadcast_paces_at_the_numbers_limit_without_130429() {
    let w = SignupWorld::start(CONFIG_ID).await;
    let report = pacing::measure(&w, 24, 2).await;
    eprintln!("{report:?}");
    assert_eq!(report.rejections_130429, 0, "{report:?}");
    assert_eq!(report.retried, 0, "{report:?}");
    assert!(report.max_in_any_second <= 2, "{report:?}");
    assert!(report.ratio() >= 0.60, "{report:?}");
    w.stop().await;
}

/// `dataoptix-cli broadcast create|list|show|pause|cancel` and `profile set|show`, as a
/// separate process over the same data directory.
#[tokio::test]
async fn the_cli_creates_and_follows_a_broadcast_and_sets_the_profile() {
    let w = SignupWorld::start(CONFIG_ID).await;
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    pacing::cli_connected(&w, h, "cli@example.com").await;
    let file = h.join("guests.csv");
    std::fs::write(
        &file,
        "name,phone,order\nIna,+351 912 345 001,#9\nbad,x,#0\n",
    )
    .unwrap();
    let csv = file.to_str().unwrap();
    let create = |extra: &'static [&'static str]| {
        let mut args = vec![
            "broadcast",
            "create",
            "--name",
            "From the shell",
            "--template",
            "order_ready",
            "--param",
            "@name",
            "--param",
            "col:order",
            "--csv",
            csv,
            "--json",
        ];
        args.extend_from_slice(extra);
        args
    };
    // A dry run reports the refused row and sends nothing.
    let (ok, out, err) = common::cli(h, &create(&["--dry-run"]), b"").await;
    assert!(ok, "{err}");
    assert!(err.contains("line 3"), "{err}");
    let plan: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(plan["sendable"], 1);
    assert!(sent_to(&w, "351912345001").await.is_empty());

    let (ok, out, err) = common::cli(h, &create(&["--wait"]), b"").await;
    assert!(ok, "{err}");
    let created: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(created["counts"]["queued"], 0, "{created}");
    assert_eq!(sent_to(&w, "351912345001").await.len(), 1);
    let id = created["id"].as_i64().unwrap().to_string();
    let (ok, out, err) = common::cli(h, &["broadcast", "show", &id, "--json"], b"").await;
    assert!(ok, "{err}");
    let shown: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(shown["recipients"][0]["phone"], "351912345001");
    assert_eq!(shown["broadcast"]["importIssues"][0]["line"], 3);
    let (ok, out, _) = common::cli(h, &["broadcast", "list"], b"").await;
    assert!(ok);
    assert!(out.contains("From the shell"), "{out}");
    // Finished: nothing left to pause.
    let (ok, _, err) = common::cli(h, &["broadcast", "pause", &id], b"").await;
    assert!(!ok && err.contains("finished"), "{err}");

    let (ok, _, err) = common::cli(
        h,
        &[
            "profile",
            "set",
            "--about",
            "Fresh bread",
            "--website",
            "https://padaria.example",
        ],
        b"",
    )
    .await;
    assert!(ok, "{err}");
    let (ok, out, err) = common::cli(h, &["profile", "show", "--json"], b"").await;
    assert!(ok, "{err}");
    let profile: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(profile["about"], "Fresh bread");
    let (ok, _, err) = common::cli(h, &["profile", "set", "--vertical", "BAKERY"], b"").await;
    assert!(!ok && err.contains("vertical"), "{err}");
    w.stop().await;
}
