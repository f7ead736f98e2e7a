//! Nothing secret in logs: with every tracing event of every crate captured at TRACE level,
//! opening the store and writing to it logs neither the database key nor message text.
//!
//! A binary of its own, because it installs a global subscriber (sqlx runs each SQLite
//! connection on a worker thread of its own, so a thread-local subscriber would miss it).

// Test helpers outside #[test] fns count as non-test code for clippy.
#![allow(clippy::unwrap_used)]

use dataoptix_core::store::{ContactInput, NewMessage, PhoneNumberInput, Store};
use dataoptix_core::vault::MasterKey;
use testkit::CapturedLog;

#[tokio::test]
async fn store_logs_no_key_and_no_message_text() {
    let captured = CapturedLog::default();
    let writer = captured.clone();
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .init();

    let dir = tempfile::tempdir().unwrap();
    let key = MasterKey::generate();
    let store = Store::open(&dir.path().join("db"), &key).await.unwrap();
    store.upsert_workspace("w", "W").await.unwrap();
    store
        .upsert_phone_number(&PhoneNumberInput {
            id: "p".into(),
            workspace_id: "w".into(),
            waba_id: "b".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    let contact = store
        .upsert_contact(&ContactInput {
            workspace_id: "w".into(),
            wa_id: Some("14155550100".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    let conv = store.ensure_conversation("w", "p", contact).await.unwrap();
    store
        .insert_messages(&[NewMessage {
            conversation_id: conv,
            wamid: "wamid.log".into(),
            kind: "text".into(),
            ts: 1,
            text_body: Some("log-canary-text".into()),
            raw_json: "{}".into(),
            ..Default::default()
        }])
        .await
        .unwrap();
    store.search("w", "canary", None, 5).await.unwrap();
    store.close().await;
    tracing::info!("capture works");

    let logs = captured.text();
    assert!(
        logs.contains("capture works"),
        "the subscriber captured nothing"
    );
    assert!(
        !logs.contains(key.to_hex().as_str()),
        "the key is in the logs"
    );
    assert!(!logs.to_lowercase().contains("pragma key"), "{logs}");
    assert!(
        !logs.contains("log-canary-text"),
        "message text is in the logs"
    );
}
