//! Which device sessions get `resync_required` after a prune: a device created after the prune
//! was owed nothing that was pruned and reads from the oldest retained event; a device that
//! existed and fell behind retention is told to resync (page route and SSE), never handed a gap.

// Test helpers outside `#[test]` functions are still test code: panicking is the point.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use protocol::auth::SessionCreated;
use protocol::events::EventPage;
use protocol::WorkspaceSecretKey;
use relay::store::PrunePolicy;
use reqwest::StatusCode;
use serde_json::json;
use time::OffsetDateTime;

mod support;
use support::*;

const RETENTION: time::Duration = time::Duration::days(30);

/// Runs the pruner as the relay's loop does, at `now`; returns how many events it removed.
async fn prune_at(t: &TestRelay, now: OffsetDateTime) -> u64 {
    t.state
        .store
        .prune(PrunePolicy {
            now,
            retention: RETENTION,
        })
        .await
        .unwrap()
        .events_removed
}

async fn prune(t: &TestRelay) -> u64 {
    prune_at(t, OffsetDateTime::now_utc()).await
}

async fn ack(t: &TestRelay, token: &str, seq: i64) -> i64 {
    let resp = t
        .post_json("/v1/events/ack", token, &json!({ "seq": seq }))
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let body: serde_json::Value = resp.json().await.unwrap();
    body["acked"].as_i64().unwrap()
}

/// Appends `n` device events named `{prefix}{i}`.
async fn append_n(t: &TestRelay, token: &str, key: &WorkspaceSecretKey, prefix: &str, n: usize) {
    let sealed = protocol::seal(&key.public_key(), b"event").unwrap();
    for i in 0..n {
        let resp = t.append(token, &format!("{prefix}{i}"), &sealed).await;
        assert_eq!(resp.status(), StatusCode::CREATED);
    }
}

fn seqs(page: &EventPage) -> Vec<i64> {
    page.events.iter().map(|e| e.seq).collect()
}

async fn sign_in(t: &TestRelay, email: &str, password: &str) -> SessionCreated {
    let resp = t.sign_in(email, password).await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    resp.json().await.unwrap()
}

/// Opens `GET /v1/events/stream?after=N` and reads until `done` holds for the text so far or
/// the stream ends; returns the text and whether the stream ended.
async fn read_stream(
    t: &TestRelay,
    token: &str,
    after: i64,
    done: impl Fn(&str) -> bool,
) -> (String, bool) {
    let mut resp = t
        .http
        .get(t.url(&format!("/v1/events/stream?after={after}")))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let mut text = String::new();
    while !done(&text) {
        let chunk = tokio::time::timeout_at(deadline, resp.chunk())
            .await
            .unwrap_or_else(|_| panic!("stream timed out with {text:?}"))
            .unwrap();
        match chunk {
            Some(c) => text.push_str(&String::from_utf8_lossy(&c)),
            None => return (text, true),
        }
    }
    (text, false)
}

/// From cursor `after`, the page route answers an empty `resync_required` page and the stream
/// one `resync_required` event, both naming `pruned_through`, and the stream ends.
async fn assert_must_resync(t: &TestRelay, token: &str, after: i64, pruned_through: i64) {
    let page = t.events(token, after).await;
    assert!(page.resync_required, "no resync from {after}");
    assert!(page.events.is_empty());
    assert_eq!(page.next_after, pruned_through);

    let (text, ended) = read_stream(t, token, after, |_| false).await;
    assert!(ended, "the stream must end after resync_required: {text}");
    assert!(text.contains("event: resync_required"), "{text}");
    assert!(text.contains(&format!("data: {pruned_through}")), "{text}");
}

/// A workspace whose only device appended 5 events and acked 3; the pruner removed 1..=3.
async fn pruned_workspace(t: &TestRelay, email: &str) -> (SessionCreated, WorkspaceSecretKey) {
    let key = WorkspaceSecretKey::generate();
    let owner = t.register(email, &key).await;
    append_n(t, &owner.token, &key, "before", 5).await;
    assert_eq!(ack(t, &owner.token, 3).await, 3);
    assert_eq!(prune(t).await, 3);
    // The device that was there still cannot read from 0 without being told.
    assert!(t.events(&owner.token, 0).await.resync_required);
    (owner, key)
}

/// A session created after the prune reads 4 and 5 from cursor 0 (page and SSE), then what
/// is appended after it.
async fn assert_new_device_reads_the_retained_log(
    t: &TestRelay,
    writer: &str,
    key: &WorkspaceSecretKey,
    new_token: &str,
    prefix: &str,
) {
    let first = t.events(new_token, 0).await;
    assert!(!first.resync_required, "a new device was told to resync");
    assert_eq!(seqs(&first), [4, 5]);
    assert_eq!(first.next_after, 5);

    let (text, ended) = read_stream(t, new_token, 0, |s| s.contains("id: 5")).await;
    assert!(!ended && !text.contains("resync_required"), "{text}");
    assert!(text.contains("id: 4"), "{text}");

    append_n(t, writer, key, prefix, 1).await;
    let next = t.events(new_token, first.next_after).await;
    assert!(!next.resync_required);
    assert_eq!(seqs(&next), [6]);
}

#[tokio::test]
async fn a_device_signed_in_after_a_prune_reads_from_the_oldest_retained_event() {
    let t = TestRelay::start().await;
    let (owner, key) = pruned_workspace(&t, "late-laptop@example.com").await;

    let laptop = sign_in(&t, "late-laptop@example.com", PASSWORD).await;
    assert_new_device_reads_the_retained_log(&t, &owner.token, &key, &laptop.token, "after").await;
    t.stop().await;
}

#[tokio::test]
async fn a_member_joining_after_a_prune_reads_from_the_oldest_retained_event() {
    let t = TestRelay::start().await;
    let (owner, key) = pruned_workspace(&t, "late-join@example.com").await;

    let joined = join(&t, &owner.token, &key, "agent", "late-agent@example.com").await;
    let agent = joined.session.token;
    assert_new_device_reads_the_retained_log(&t, &owner.token, &key, &agent, "after").await;

    // The member's second device, signed in later still, starts at the same place.
    let till = sign_in(&t, "late-agent@example.com", MEMBER_PASSWORD).await;
    let page = t.events(&till.token, 0).await;
    assert!(!page.resync_required);
    assert_eq!(seqs(&page), [4, 5, 6]);
    t.stop().await;
}

#[tokio::test]
async fn a_device_that_fell_behind_retention_must_resync_on_the_page_and_the_stream() {
    let t = TestRelay::start().await;
    let key = WorkspaceSecretKey::generate();
    let owner = t.register("behind@example.com", &key).await;
    // The laptop exists before any event and never acks.
    let laptop = sign_in(&t, "behind@example.com", PASSWORD).await;
    append_n(&t, &owner.token, &key, "e", 3).await;
    assert_eq!(ack(&t, &owner.token, 3).await, 3);
    assert_eq!(
        prune(&t).await,
        0,
        "the laptop holds the events it was owed"
    );
    assert_eq!(seqs(&t.events(&laptop.token, 0).await), [1, 2, 3]);

    // 31 days on, retention removes them without the laptop's ack.
    assert_eq!(
        prune_at(&t, OffsetDateTime::now_utc() + time::Duration::days(31)).await,
        3
    );
    assert_must_resync(&t, &laptop.token, 0, 3).await;
    t.stop().await;
}

#[tokio::test]
async fn a_device_created_after_one_prune_must_resync_when_retention_passes_it() {
    let t = TestRelay::start().await;
    let (owner, _key) = pruned_workspace(&t, "twice@example.com").await;
    // Created at watermark 3; owed 4 and 5 but never reads or acks them.
    let laptop = sign_in(&t, "twice@example.com", PASSWORD).await;
    assert_eq!(ack(&t, &owner.token, 5).await, 5);
    assert_eq!(prune(&t).await, 0, "the laptop holds 4 and 5");
    assert_eq!(
        prune_at(&t, OffsetDateTime::now_utc() + time::Duration::days(31)).await,
        2
    );

    // Events it was owed are gone, from cursor 0 and from its watermark alike.
    assert_must_resync(&t, &laptop.token, 0, 5).await;
    assert_must_resync(&t, &laptop.token, 3, 5).await;
    t.stop().await;
}

#[tokio::test]
async fn a_device_created_after_a_prune_holds_only_what_it_is_owed_until_it_acks() {
    let t = TestRelay::start().await;
    let (owner, key) = pruned_workspace(&t, "holds@example.com").await;
    let laptop = sign_in(&t, "holds@example.com", PASSWORD).await;
    append_n(&t, &owner.token, &key, "after", 1).await;
    assert_eq!(ack(&t, &owner.token, 6).await, 6);

    // Everything the laptop is owed (4, 5 retained; 6 appended after it) stays until it acks.
    assert_eq!(prune(&t).await, 0);
    let page = t.events(&laptop.token, 0).await;
    assert_eq!(seqs(&page), [4, 5, 6]);

    assert_eq!(ack(&t, &laptop.token, 5).await, 5);
    assert_eq!(prune(&t).await, 2);
    assert_eq!(ack(&t, &laptop.token, page.next_after).await, 6);
    assert_eq!(prune(&t).await, 1);

    // Both devices are caught up: nothing to resync, nothing left.
    for token in [&owner.token, &laptop.token] {
        let page = t.events(token, 6).await;
        assert!(!page.resync_required);
        assert!(page.events.is_empty());
    }
    t.stop().await;
}
