//! The encrypted store on fresh database files: encryption at rest, idempotency, status
//! precedence, search and pagination.

// Test helpers outside #[test] fns count as non-test code for clippy; a panic is how they
// report a failure.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use dataoptix_core::device::views;
use dataoptix_core::store::{
    ContactInput, Cursor, Direction, MessageStatus, NewMessage, PhoneNumberInput, StatusUpdate,
    Store, StoreError, LEGACY_PAGE_HMAC, PAGE_HMAC,
};
use dataoptix_core::vault::MasterKey;

const WS: &str = "ws-1";
const PHONE: &str = "pn-1";

struct Fixture {
    _dir: tempfile::TempDir,
    path: PathBuf,
    key: MasterKey,
    store: Store,
}

async fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dataoptix.db");
    let key = MasterKey::generate();
    let store = Store::open(&path, &key).await.unwrap();
    seed(&store).await;
    Fixture {
        _dir: dir,
        path,
        key,
        store,
    }
}

/// The workspace and business number every test's conversations belong to.
async fn seed(store: &Store) {
    store
        .upsert_workspace(WS, "Padaria São João")
        .await
        .unwrap();
    store
        .upsert_phone_number(&PhoneNumberInput {
            id: PHONE.into(),
            workspace_id: WS.into(),
            waba_id: "waba-1".into(),
            ..Default::default()
        })
        .await
        .unwrap();
}

async fn conversation(store: &Store, wa_id: &str, name: &str) -> i64 {
    let contact = store
        .upsert_contact(&ContactInput {
            workspace_id: WS.into(),
            wa_id: Some(wa_id.into()),
            profile_name: Some(name.into()),
            ..Default::default()
        })
        .await
        .unwrap();
    store.ensure_conversation(WS, PHONE, contact).await.unwrap()
}

fn text(conversation_id: i64, wamid: &str, ts: i64, body: &str) -> NewMessage {
    NewMessage {
        conversation_id,
        wamid: wamid.into(),
        kind: "text".into(),
        ts,
        text_body: Some(body.into()),
        raw_json: format!(r#"{{"id":"{wamid}","type":"text"}}"#),
        ..Default::default()
    }
}

fn status(wamid: &str, status: MessageStatus, ts: i64) -> StatusUpdate {
    StatusUpdate {
        wamid: wamid.into(),
        status,
        ts,
        error_code: (status == MessageStatus::Failed).then_some(131026),
        error_title: (status == MessageStatus::Failed).then(|| "Message undeliverable".into()),
        raw_json: "{}".into(),
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    PathBuf::from(format!("{}{suffix}", path.display()))
}

#[tokio::test]
async fn migrations_apply_and_reopen() {
    let f = fixture().await;
    let tables: Vec<String> =
        sqlx::query_scalar("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
            .fetch_all(f.store.pool())
            .await
            .unwrap();
    for expected in [
        "account_events",
        "activity_log",
        "contacts",
        "conversations",
        "media",
        "message_revisions",
        "message_statuses",
        "messages",
        "messages_fts",
        "outbox",
        "phone_numbers",
        "reactions",
        "settings",
        "sync_cursor",
        "template_status_history",
        "templates",
        "workspaces",
    ] {
        assert!(
            tables.iter().any(|t| t == expected),
            "missing {expected}: {tables:?}"
        );
    }
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(f.store.pool())
        .await
        .unwrap();
    assert_eq!(mode, "wal");
    let fk: i64 = sqlx::query_scalar("PRAGMA foreign_keys")
        .fetch_one(f.store.pool())
        .await
        .unwrap();
    assert_eq!(fk, 1);
    f.store.close().await;
    // Reopening runs no migration twice.
    let store = Store::open(&f.path, &f.key).await.unwrap();
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM workspaces")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(n, 1);
}

#[tokio::test]
async fn file_and_wal_hold_no_plaintext() {
    let f = fixture().await;
    let conv = conversation(&f.store, "5511999998888", "Zéfiro Quintanilha").await;
    let secret = "the-plaintext-canary-7f3a olá coração";
    f.store
        .insert_messages(&[text(conv, "wamid.CANARY", 100, secret)])
        .await
        .unwrap();

    // Look at the files while the pool is open (the WAL has the latest pages), then after close.
    for phase in ["open", "closed"] {
        if phase == "closed" {
            f.store.clone().close().await;
        }
        let mut seen_any = false;
        for file in [f.path.clone(), with_suffix(&f.path, "-wal")] {
            let Ok(bytes) = std::fs::read(&file) else {
                continue;
            };
            seen_any |= !bytes.is_empty();
            assert!(
                !bytes.starts_with(b"SQLite format 3"),
                "{phase}: {}",
                file.display()
            );
            for needle in [
                secret.as_bytes(),
                b"plaintext-canary".as_slice(),
                "Zéfiro".as_bytes(),
                b"wamid.CANARY",
                b"CREATE TABLE",
            ] {
                assert!(
                    !contains(&bytes, needle),
                    "{phase}: {} contains {:?}",
                    file.display(),
                    String::from_utf8_lossy(needle)
                );
            }
        }
        assert!(seen_any, "{phase}: no database bytes written");
    }
}

/// Writes a `sync_raw_events` row: bulk that grows the WAL in the checkpoint tests.
async fn raw_event<'e>(
    executor: impl sqlx::Executor<'e, Database = sqlx::Sqlite>,
    event_id: &str,
    seq: i64,
    payload: &str,
) {
    sqlx::query(
        "INSERT INTO sync_raw_events (event_id, part, seq, reason, kind, payload, created_at)
         VALUES (?, 0, ?, 'unknown', 'test', ?, 0)",
    )
    .bind(event_id)
    .bind(seq)
    .bind(payload)
    .execute(executor)
    .await
    .unwrap();
}

/// Commits leave the WAL to the store's background checkpoint (not to the commit that crosses
/// SQLite's default 1,000 pages): the data reaches the database file without anyone here
/// checkpointing, and the WAL stays bounded.
#[tokio::test]
async fn the_wal_is_checkpointed_in_the_background_not_in_commits() {
    let f = fixture().await;
    let pages: i64 = sqlx::query_scalar("PRAGMA wal_autocheckpoint")
        .fetch_one(f.store.pool())
        .await
        .unwrap();
    assert!(
        pages > 1_000,
        "the commit's own checkpoint is only a bound: {pages}"
    );
    // ~6 MB in 60 commits: past the default threshold (which would have checkpointed in a
    // commit), short of the store's own bound.
    let payload = "x".repeat(100_000);
    for event in 0..60 {
        raw_event(f.store.pool(), &format!("event-{event}"), event, &payload).await;
    }
    f.store.checkpoint_soon();
    let started = std::time::Instant::now();
    loop {
        let size = std::fs::metadata(&f.path).unwrap().len();
        if size > 6_000_000 {
            break;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(10),
            "the database file stayed at {size} bytes: no checkpoint ran"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    // The WAL is not truncated by a passive checkpoint; erasure truncates it on purpose.
    f.store.truncate_wal().await.unwrap();
    let wal = std::fs::metadata(with_suffix(&f.path, "-wal"))
        .unwrap()
        .len();
    assert_eq!(wal, 0);
    f.store.close().await;
}

/// A WAL the background checkpoint copied whole is not truncated there: TRUNCATE blocks the
/// writer while it copies and syncs, and a catch-up's next page would wait for it. The next
/// commit starts the WAL over instead, and `journal_size_limit` cuts the file back to 16 MB.
#[tokio::test]
async fn a_large_wal_copied_whole_is_cut_back_by_the_next_commit_not_truncated_in_the_background() {
    const LIMIT: u64 = 16 * 1024 * 1024;
    let f = fixture().await;
    let limit: i64 = sqlx::query_scalar("PRAGMA journal_size_limit")
        .fetch_one(f.store.pool())
        .await
        .unwrap();
    assert_eq!(limit as u64, LIMIT);
    // ~24 MB in one transaction: a WAL past the limit before any checkpoint can run.
    let payload = "y".repeat(100_000);
    let mut tx = f.store.begin_write().await.unwrap();
    for event in 0..240 {
        raw_event(&mut *tx, &format!("big-{event}"), event, &payload).await;
    }
    tx.commit().await.unwrap();
    let wal_path = with_suffix(&f.path, "-wal");
    let wal_size = || std::fs::metadata(&wal_path).map_or(0, |m| m.len());
    assert!(wal_size() > LIMIT, "the WAL holds the transaction");
    f.store.checkpoint_soon();
    let started = std::time::Instant::now();
    while std::fs::metadata(&f.path).unwrap().len() < 24_000_000 {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(10),
            "no background checkpoint copied the WAL"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    // Two more ticks of the background task: it must leave the copied WAL alone.
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    assert!(
        wal_size() > LIMIT,
        "the background task truncated a WAL it had copied whole ({} bytes)",
        wal_size()
    );
    // The next commit starts the WAL over and gives the space beyond the limit back.
    raw_event(f.store.pool(), "small", 1000, "z").await;
    assert!(
        wal_size() <= LIMIT,
        "the commit after the checkpoint left a WAL of {} bytes",
        wal_size()
    );
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM sync_raw_events")
        .fetch_one(f.store.pool())
        .await
        .unwrap();
    assert_eq!(stored, 241);
    f.store.close().await;
}

/// The page HMAC a connection of the store uses.
async fn page_hmac(store: &Store) -> String {
    sqlx::query_scalar("PRAGMA cipher_hmac_algorithm")
        .fetch_one(store.pool())
        .await
        .unwrap()
}

/// A connection to `path` as SQLCipher opens it by default: under HMAC-SHA512, as versions
/// before `PAGE_HMAC` made their stores.
async fn default_sqlcipher_connection(
    path: &Path,
    key: &MasterKey,
) -> Result<sqlx::SqliteConnection, sqlx::Error> {
    use sqlx::ConnectOptions as _;
    sqlx::sqlite::SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true)
        .pragma("key", format!("\"x'{}'\"", key.to_hex().as_str()))
        .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
        .disable_statement_logging()
        .connect()
        .await
}

#[tokio::test]
async fn a_new_store_authenticates_its_pages_with_hmac_sha256() {
    let f = fixture().await;
    assert_eq!(page_hmac(&f.store).await, PAGE_HMAC);
    f.store.close().await;
    // The file really is in that format: SQLCipher's default (HMAC-SHA512) cannot read it,
    // although the key is right.
    let read = async {
        let mut connection = default_sqlcipher_connection(&f.path, &f.key).await?;
        sqlx::query("SELECT count(*) FROM sqlite_master")
            .execute(&mut connection)
            .await
    }
    .await;
    let error = read.expect_err("read under HMAC-SHA512");
    assert!(
        error.to_string().contains("file is not a database"),
        "{error}"
    );
}

#[tokio::test]
async fn a_store_made_under_hmac_sha512_opens_as_it_is_and_keeps_working() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dataoptix.db");
    let key = MasterKey::generate();
    // The store as an earlier version left it: the schema, a row, SQLCipher's default HMAC.
    {
        let mut legacy = default_sqlcipher_connection(&path, &key).await.unwrap();
        sqlx::migrate!().run(&mut legacy).await.unwrap();
        sqlx::query("INSERT INTO settings (key, value_json, updated_at) VALUES ('legacy', '1', 0)")
            .execute(&mut legacy)
            .await
            .unwrap();
        let hmac: String = sqlx::query_scalar("PRAGMA cipher_hmac_algorithm")
            .fetch_one(&mut legacy)
            .await
            .unwrap();
        assert_eq!(hmac, LEGACY_PAGE_HMAC);
    }

    let store = Store::open(&path, &key).await.unwrap();
    assert_eq!(page_hmac(&store).await, LEGACY_PAGE_HMAC);
    let kept: String = sqlx::query_scalar("SELECT value_json FROM settings WHERE key = 'legacy'")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(kept, "1");
    // Writes go on in the same format: a conversation with a message, read back after reopening.
    seed(&store).await;
    let conv = conversation(&store, "5511999990000", "Ana").await;
    store
        .insert_messages(&[text(conv, "wamid.legacy.1", 1, "still here")])
        .await
        .unwrap();
    store.close().await;

    let store = Store::open(&path, &key).await.unwrap();
    assert_eq!(page_hmac(&store).await, LEGACY_PAGE_HMAC);
    assert_eq!(store.counts().await.unwrap().messages, 1);
    store.close().await;
    // A wrong key is still a wrong key for such a store, under either HMAC.
    let err = Store::open(&path, &MasterKey::generate())
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::WrongKey { .. }), "{err:?}");
}

#[tokio::test]
async fn wrong_key_is_a_clear_error() {
    let f = fixture().await;
    f.store.close().await;
    let err = Store::open(&f.path, &MasterKey::generate())
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::WrongKey { .. }), "{err:?}");
    assert!(err.to_string().contains("cannot be opened with this key"));
    // The right key still works afterwards.
    Store::open(&f.path, &f.key).await.unwrap();
}

#[tokio::test]
async fn inserting_twice_stores_once() {
    let f = fixture().await;
    let conv = conversation(&f.store, "14155550100", "Ann").await;
    let page = vec![
        text(conv, "wamid.1", 10, "one"),
        text(conv, "wamid.2", 11, "two"),
        text(conv, "wamid.1", 10, "one again"),
    ];
    let first = f.store.insert_messages(&page).await.unwrap();
    assert_eq!((first.inserted, first.duplicates), (2, 1));
    let again = f.store.insert_messages(&page).await.unwrap();
    assert_eq!((again.inserted, again.duplicates), (0, 3));
    let thread = f.store.list_thread(conv, None, 10).await.unwrap();
    assert_eq!(thread.items.len(), 2);
    assert_eq!(thread.items[1].text_body.as_deref(), Some("one"));
    let inbox = f.store.list_conversations(WS, None, 10).await.unwrap();
    assert_eq!(
        inbox.items[0].unread_count, 2,
        "duplicates do not count as unread"
    );
    assert_eq!(inbox.items[0].last_preview.as_deref(), Some("two"));
    assert_eq!(inbox.items[0].last_inbound_at, Some(11));
}

#[tokio::test]
async fn statuses_never_go_backwards_and_failed_is_final() {
    let f = fixture().await;
    let conv = conversation(&f.store, "14155550101", "Bo").await;
    let mut a = text(conv, "wamid.out.a", 10, "hello");
    a.direction = Direction::Out;
    let mut b = text(conv, "wamid.out.b", 11, "hello again");
    b.direction = Direction::Out;
    f.store.insert_messages(&[a, b]).await.unwrap();

    let shown = |wamid: &'static str| {
        let pool = f.store.pool().clone();
        async move {
            sqlx::query_scalar::<_, Option<String>>("SELECT status FROM messages WHERE wamid = ?")
                .bind(wamid)
                .fetch_one(&pool)
                .await
                .unwrap()
        }
    };
    use MessageStatus::*;
    // Out of order and duplicated, as webhooks arrive.
    let report = f
        .store
        .apply_statuses(&[
            status("wamid.out.a", Read, 30),
            status("wamid.out.a", Sent, 10),
            status("wamid.out.a", Delivered, 20),
            status("wamid.out.a", Read, 30),
        ])
        .await
        .unwrap();
    assert_eq!(report.recorded, 3);
    assert_eq!(report.duplicates, 1);
    assert_eq!(report.advanced, 1);
    assert_eq!(shown("wamid.out.a").await.as_deref(), Some("read"));
    f.store
        .apply_statuses(&[status("wamid.out.a", Played, 40)])
        .await
        .unwrap();
    assert_eq!(shown("wamid.out.a").await.as_deref(), Some("played"));

    f.store
        .apply_statuses(&[
            status("wamid.out.b", Sent, 11),
            status("wamid.out.b", Failed, 12),
        ])
        .await
        .unwrap();
    f.store
        .apply_statuses(&[
            status("wamid.out.b", Delivered, 13),
            status("wamid.out.b", Read, 14),
        ])
        .await
        .unwrap();
    assert_eq!(shown("wamid.out.b").await.as_deref(), Some("failed"));
    let code: Option<i64> = sqlx::query_scalar("SELECT error_code FROM messages WHERE wamid = ?")
        .bind("wamid.out.b")
        .fetch_one(f.store.pool())
        .await
        .unwrap();
    assert_eq!(code, Some(131026));

    // A status that arrives before its message is applied when the message is stored.
    f.store
        .apply_statuses(&[
            status("wamid.out.c", Delivered, 21),
            status("wamid.out.c", Sent, 20),
        ])
        .await
        .unwrap();
    let mut c = text(conv, "wamid.out.c", 19, "late");
    c.direction = Direction::Out;
    f.store.insert_messages(&[c]).await.unwrap();
    assert_eq!(shown("wamid.out.c").await.as_deref(), Some("delivered"));
}

#[tokio::test]
async fn search_finds_text_caption_document_and_contact_names() {
    let f = fixture().await;
    let conv = conversation(&f.store, "5511988887777", "José Araújo").await;
    let other = conversation(&f.store, "380501234567", "Олена Коваленко").await;
    let mut image = text(conv, "wamid.img", 2, "");
    image.kind = "image".into();
    image.text_body = None;
    image.caption = Some("Bolo de coração para a festa".into());
    let mut doc = text(conv, "wamid.doc", 3, "");
    doc.kind = "document".into();
    doc.text_body = None;
    doc.document_filename = Some("Orçamento-2026.pdf".into());
    f.store
        .insert_messages(&[
            text(conv, "wamid.t1", 1, "Olá! Vocês entregam em São Paulo?"),
            image,
            doc,
            text(other, "wamid.t2", 4, "Привіт, коли відкриваєтесь? 🎂"),
        ])
        .await
        .unwrap();

    let wamids = |r: &dataoptix_core::store::SearchResults| {
        r.messages
            .iter()
            .map(|m| m.wamid.clone())
            .collect::<Vec<_>>()
    };
    let r = f.store.search(WS, "sao paulo", None, 10).await.unwrap();
    assert_eq!(wamids(&r), ["wamid.t1"], "diacritics ignored");
    let r = f.store.search(WS, "CORAÇÃO", None, 10).await.unwrap();
    assert_eq!(wamids(&r), ["wamid.img"], "caption, case-insensitive");
    assert!(
        r.messages[0].snippet.contains("[coração]"),
        "{}",
        r.messages[0].snippet
    );
    let r = f.store.search(WS, "orçamento", None, 10).await.unwrap();
    assert_eq!(wamids(&r), ["wamid.doc"], "document name");
    let r = f.store.search(WS, "привіт", None, 10).await.unwrap();
    assert_eq!(wamids(&r), ["wamid.t2"], "Cyrillic");
    let r = f.store.search(WS, "entreg", None, 10).await.unwrap();
    assert_eq!(wamids(&r), ["wamid.t1"], "prefix");
    let r = f.store.search(WS, "araujo", None, 10).await.unwrap();
    assert_eq!(r.contacts.len(), 1);
    assert_eq!(r.contacts[0].profile_name.as_deref(), Some("José Araújo"));
    let r = f.store.search(WS, "коваленко", None, 10).await.unwrap();
    assert_eq!(r.contacts[0].wa_id.as_deref(), Some("380501234567"));
    // FTS syntax typed by a user is plain text, not an error.
    let r = f
        .store
        .search(WS, "\"unbalanced OR NEAR(", None, 10)
        .await
        .unwrap();
    assert!(r.messages.is_empty());
    // A renamed contact is found under the new name only.
    f.store
        .upsert_contact(&ContactInput {
            workspace_id: WS.into(),
            wa_id: Some("380501234567".into()),
            profile_name: Some("Olena K".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(f
        .store
        .search(WS, "коваленко", None, 10)
        .await
        .unwrap()
        .contacts
        .is_empty());
    assert_eq!(
        f.store
            .search(WS, "olena", None, 10)
            .await
            .unwrap()
            .contacts
            .len(),
        1
    );
}

#[tokio::test]
async fn keyset_pagination_returns_every_row_once() {
    let f = fixture().await;
    // 23 conversations whose last messages share timestamps (ties broken by id).
    let mut conversations = Vec::new();
    for i in 0..23 {
        conversations
            .push(conversation(&f.store, &format!("1415555{i:04}"), &format!("C{i}")).await);
    }
    let mut page = Vec::new();
    for (i, conv) in conversations.iter().enumerate() {
        page.push(text(
            *conv,
            &format!("wamid.c{i}"),
            1000 + (i as i64 % 4),
            "hi",
        ));
    }
    // One conversation with 157 messages, many in the same second.
    let busy = conversations[0];
    for i in 0..157 {
        page.push(text(busy, &format!("wamid.m{i}"), 2000 + i / 10, "msg"));
    }
    f.store.insert_messages(&page).await.unwrap();

    let mut seen = Vec::new();
    let mut cursor: Option<Cursor> = None;
    loop {
        let p = f.store.list_conversations(WS, cursor, 5).await.unwrap();
        assert!(p.items.len() <= 5);
        seen.extend(p.items.iter().map(|c| (c.last_message_at, c.id)));
        match p.next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    assert_eq!(seen.len(), 23);
    let mut sorted = seen.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    sorted.dedup();
    assert_eq!(seen, sorted, "newest first, no duplicates");

    let mut ids = Vec::new();
    let mut cursor = None;
    loop {
        let p = f.store.list_thread(busy, cursor, 20).await.unwrap();
        ids.extend(p.items.iter().map(|m| (m.ts, m.id)));
        match p.next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    assert_eq!(ids.len(), 158);
    let mut sorted = ids.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    sorted.dedup();
    assert_eq!(ids, sorted);

    // The thread as the app pages it: up from the newest with `before`, then back down from
    // the oldest with `after` (a history scrolled far back), ties of a second included.
    let mut up = Vec::new();
    let mut before = None;
    loop {
        let p = views::messages(&f.store, busy, before, 20).await.unwrap();
        up.extend(p.items.iter().map(|m| (m.ts, m.id)));
        match p.next {
            Some(next) => before = Some(next.into()),
            None => break,
        }
    }
    assert_eq!(up, ids);
    let oldest = *up.last().unwrap();
    let mut down = vec![oldest];
    let mut after = Cursor {
        ts: oldest.0,
        id: oldest.1,
    };
    loop {
        let p = views::messages_after(&f.store, busy, after, 20)
            .await
            .unwrap();
        assert!(p.items.len() <= 20);
        down.extend(p.items.iter().map(|m| (m.ts, m.id)));
        match p.next {
            Some(next) => after = next.into(),
            None => break,
        }
    }
    let mut ascending = ids.clone();
    ascending.reverse();
    assert_eq!(down, ascending, "oldest first, every message once");
}

#[tokio::test]
async fn list_queries_use_their_indexes() {
    let f = fixture().await;
    for (sql, index) in [
        (
            "EXPLAIN QUERY PLAN SELECT id FROM conversations WHERE workspace_id = 'w'
             AND (last_message_at, id) < (5, 5) ORDER BY last_message_at DESC, id DESC LIMIT 5",
            "conversations_inbox",
        ),
        (
            "EXPLAIN QUERY PLAN SELECT id FROM messages WHERE conversation_id = 1
             AND (ts, id) < (5, 5) ORDER BY ts DESC, id DESC LIMIT 5",
            "messages_thread",
        ),
        (
            "EXPLAIN QUERY PLAN SELECT id FROM messages WHERE conversation_id = 1
             AND (ts, id) > (5, 5) ORDER BY ts ASC, id ASC LIMIT 5",
            "messages_thread",
        ),
    ] {
        let rows = sqlx::query(sql).fetch_all(f.store.pool()).await.unwrap();
        let details: Vec<String> = rows
            .iter()
            .map(|r| sqlx::Row::get::<String, _>(r, "detail"))
            .collect();
        let text = details.join(" | ");
        assert!(text.contains(index), "{text}");
        assert!(!text.contains("TEMP B-TREE"), "sorts in memory: {text}");
    }
}

#[tokio::test]
async fn phone_variants_merge_into_one_contact() {
    let f = fixture().await;
    let input = |wa_id: Option<&str>, user_id: Option<&str>, phone: Option<&str>| ContactInput {
        workspace_id: WS.into(),
        wa_id: wa_id.map(Into::into),
        user_id: user_id.map(Into::into),
        phone: phone.map(Into::into),
        profile_name: None,
    };
    // Brazil: wa_id without the 9th digit, then a message from the 13-digit form.
    let a = f
        .store
        .upsert_contact(&input(Some("551199998888"), None, None))
        .await
        .unwrap();
    let b = f
        .store
        .upsert_contact(&input(Some("5511999998888"), None, None))
        .await
        .unwrap();
    assert_eq!(a, b);
    let c = f
        .store
        .upsert_contact(&input(
            Some("5511999998888"),
            None,
            Some("+55 (11) 9 9999-8888"),
        ))
        .await
        .unwrap();
    assert_eq!(a, c);
    let wa: Option<String> = sqlx::query_scalar("SELECT wa_id FROM contacts WHERE id = ?")
        .bind(a)
        .fetch_one(f.store.pool())
        .await
        .unwrap();
    assert_eq!(
        wa.as_deref(),
        Some("5511999998888"),
        "the wa_id Meta used last"
    );

    // A contact known only by business-scoped user id, later seen with a wa_id.
    let u = f
        .store
        .upsert_contact(&input(None, Some("BR.user.42"), None))
        .await
        .unwrap();
    let u2 = f
        .store
        .upsert_contact(&input(Some("447700900123"), Some("BR.user.42"), None))
        .await
        .unwrap();
    assert_eq!(u, u2);
    // A different number is a different contact; a phone alone identifies nobody.
    let d = f
        .store
        .upsert_contact(&input(Some("551133334444"), None, None))
        .await
        .unwrap();
    assert_ne!(a, d);
    let err = f
        .store
        .upsert_contact(&input(None, None, Some("+5511999998888")))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Invalid(_)));
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM contacts")
        .fetch_one(f.store.pool())
        .await
        .unwrap();
    assert_eq!(n, 3);
}

#[tokio::test]
async fn deleting_a_message_removes_it_from_search() {
    let f = fixture().await;
    let conv = conversation(&f.store, "14155550199", "Di").await;
    f.store
        .insert_messages(&[text(conv, "wamid.x", 1, "ephemeral words")])
        .await
        .unwrap();
    assert_eq!(
        f.store
            .search(WS, "ephemeral", None, 5)
            .await
            .unwrap()
            .messages
            .len(),
        1
    );
    sqlx::query("DELETE FROM messages WHERE wamid = 'wamid.x'")
        .execute(f.store.pool())
        .await
        .unwrap();
    assert!(f
        .store
        .search(WS, "ephemeral", None, 5)
        .await
        .unwrap()
        .messages
        .is_empty());
    let n: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM messages_fts WHERE messages_fts MATCH 'ephemeral'",
    )
    .fetch_one(f.store.pool())
    .await
    .unwrap();
    assert_eq!(n, 0);
}

#[tokio::test]
async fn reactions_newest_wins_and_removal() {
    use dataoptix_core::store::ReactionUpdate;
    let f = fixture().await;
    let conv = conversation(&f.store, "14155550150", "Eve").await;
    f.store
        .insert_messages(&[text(conv, "wamid.r", 1, "nice cake")])
        .await
        .unwrap();
    let r = |emoji: &str, ts: i64| ReactionUpdate {
        message_wamid: "wamid.r".into(),
        reactor: "14155550150".into(),
        emoji: Some(emoji.into()),
        ts,
        raw_json: "{}".into(),
    };
    // Out of order: the older 👍 arrives after the newer ❤️.
    f.store
        .apply_reactions(&[r("❤️", 20), r("👍", 10)])
        .await
        .unwrap();
    assert_eq!(
        f.store.reactions("wamid.r").await.unwrap(),
        [("14155550150".to_owned(), "❤️".to_owned())]
    );
    f.store.apply_reactions(&[r("", 30)]).await.unwrap();
    assert!(f.store.reactions("wamid.r").await.unwrap().is_empty());
}

#[tokio::test]
async fn edits_and_deletions_are_reflected_and_deletion_removes_content() {
    use dataoptix_core::store::Revision;
    let f = fixture().await;
    let conv = conversation(&f.store, "14155550160", "Fay").await;
    let mut photo = text(conv, "wamid.p", 2, "");
    photo.text_body = None;
    photo.caption = Some("first caption".into());
    f.store
        .insert_messages(&[text(conv, "wamid.e", 1, "orginal typo"), photo])
        .await
        .unwrap();
    let edit = |wamid: &str, t: &str, ts: i64| Revision {
        wamid: wamid.into(),
        new_text: Some(t.into()),
        ts,
        raw_json: "{}".into(),
    };
    f.store
        .apply_revisions(&[
            edit("wamid.e", "original fixed", 20),
            edit("wamid.e", "original half-fixed", 10),
            edit("wamid.p", "better caption", 5),
        ])
        .await
        .unwrap();
    let thread = f.store.list_thread(conv, None, 10).await.unwrap();
    let by = |w: &str| thread.items.iter().find(|m| m.wamid == w).unwrap().clone();
    assert_eq!(by("wamid.e").text_body.as_deref(), Some("original fixed"));
    assert_eq!(by("wamid.e").edited_at, Some(20));
    assert_eq!(by("wamid.p").caption.as_deref(), Some("better caption"));
    assert_eq!(by("wamid.p").text_body, None);
    assert!(f
        .store
        .search(WS, "orginal", None, 5)
        .await
        .unwrap()
        .messages
        .is_empty());
    assert_eq!(
        f.store
            .search(WS, "fixed", None, 5)
            .await
            .unwrap()
            .messages
            .len(),
        1
    );

    let delete = Revision {
        wamid: "wamid.e".into(),
        new_text: None,
        ts: 30,
        raw_json: "{}".into(),
    };
    f.store
        .apply_revisions(&[delete.clone(), delete])
        .await
        .unwrap();
    let thread = f.store.list_thread(conv, None, 10).await.unwrap();
    let gone = thread.items.iter().find(|m| m.wamid == "wamid.e").unwrap();
    assert_eq!(gone.deleted_at, Some(30));
    assert_eq!(gone.text_body, None);
    assert!(f
        .store
        .search(WS, "fixed", None, 5)
        .await
        .unwrap()
        .messages
        .is_empty());
    let leftovers: i64 = sqlx::query_scalar(
        "SELECT (SELECT count(*) FROM messages WHERE raw_json LIKE '%fixed%')
              + (SELECT count(*) FROM message_revisions WHERE new_text LIKE '%fixed%')",
    )
    .fetch_one(f.store.pool())
    .await
    .unwrap();
    assert_eq!(leftovers, 0);
    // An edit after the deletion does not bring the text back.
    f.store
        .apply_revisions(&[edit("wamid.e", "resurrected", 40)])
        .await
        .unwrap();
    assert!(f
        .store
        .search(WS, "resurrected", None, 5)
        .await
        .unwrap()
        .messages
        .is_empty());
}

#[tokio::test]
async fn settings_and_sync_cursor_round_trip() {
    let f = fixture().await;
    assert_eq!(f.store.setting("theme").await.unwrap(), None);
    f.store
        .set_setting("theme", &serde_json::json!({"mode": "dark"}))
        .await
        .unwrap();
    f.store
        .set_setting("theme", &serde_json::json!({"mode": "light"}))
        .await
        .unwrap();
    assert_eq!(
        f.store.setting("theme").await.unwrap(),
        Some(serde_json::json!({"mode": "light"}))
    );
    assert_eq!(f.store.sync_cursor("relay").await.unwrap(), None);
    f.store.set_sync_cursor("relay", "42").await.unwrap();
    f.store.set_sync_cursor("relay", "43").await.unwrap();
    assert_eq!(
        f.store.sync_cursor("relay").await.unwrap().as_deref(),
        Some("43")
    );
}

#[tokio::test]
async fn search_pages_newest_first_without_gaps() {
    let f = fixture().await;
    let conv = conversation(&f.store, "14155550170", "Gil").await;
    let page: Vec<NewMessage> = (0..45)
        .map(|i| {
            text(
                conv,
                &format!("wamid.s{i}"),
                100 + i / 7,
                &format!("pão número {i}"),
            )
        })
        .collect();
    f.store.insert_messages(&page).await.unwrap();
    let mut seen = Vec::new();
    let mut before = None;
    loop {
        let r = f.store.search(WS, "pao", before, 10).await.unwrap();
        assert!(r.messages.len() <= 10);
        seen.extend(r.messages.iter().map(|m| (m.ts, m.message_id)));
        match r.next {
            Some(next) => before = Some(next),
            None => break,
        }
    }
    assert_eq!(seen.len(), 45);
    let mut sorted = seen.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    sorted.dedup();
    assert_eq!(seen, sorted);
}

/// Search expands each typed word into the indexed terms it is a prefix of (fast on a large
/// history); it must find exactly what FTS5's own prefix query finds, including words with
/// diacritics, operators typed as text, words with no match and prefixes shared by more terms
/// than the expansion takes (which keep the prefix query).
#[tokio::test]
async fn search_finds_exactly_what_a_prefix_query_finds() {
    let f = fixture().await;
    let conv = conversation(&f.store, "14155550171", "Prefix").await;
    // 30 words under "ca" (more than the expansion takes), a few under "pa", accents, digits.
    let mut words: Vec<String> = (0..30)
        .map(|i| format!("ca{}", (b'a' + i % 26) as char))
        .collect();
    words.extend((0..30).map(|i| format!("cab{i}")));
    words.extend(
        [
            "pão",
            "Paulo",
            "pastel",
            "São",
            "coração",
            "straße",
            "e-mail",
            "OR",
            "near",
        ]
        .map(String::from),
    );
    let messages: Vec<NewMessage> = (0..200)
        .map(|i| {
            let body = format!(
                "{} {} {}",
                words[i % words.len()],
                words[(i * 7 + 3) % words.len()],
                words[(i * 13 + 5) % words.len()]
            );
            text(conv, &format!("wamid.p{i}"), 1000 + i as i64, &body)
        })
        .collect();
    f.store.insert_messages(&messages).await.unwrap();

    let queries = [
        "ca",
        "cab",
        "cab1",
        "cab2",
        "caz",
        "cabz",
        "pa",
        "pão",
        "PAO",
        "sao",
        "são",
        "cor",
        "coração",
        "stra",
        "straße",
        "e-mail",
        "mail",
        "or",
        "OR",
        "near",
        "ca pa",
        "cab1 sao",
        "nothing",
        "x",
        "\"",
        "pa*",
        "c",
    ];
    for q in queries {
        let found: Vec<i64> = f
            .store
            .search(WS, q, None, 500)
            .await
            .unwrap()
            .messages
            .iter()
            .map(|m| m.message_id)
            .collect();
        let prefix_query = q
            .split_whitespace()
            .map(|w| format!("\"{}\"*", w.replace('"', "\"\"")))
            .collect::<Vec<_>>()
            .join(" ");
        let expected: Vec<i64> = sqlx::query_scalar(
            "SELECT rowid FROM messages_fts WHERE messages_fts MATCH ? ORDER BY rowid DESC",
        )
        .bind(&prefix_query)
        .fetch_all(f.store.pool())
        .await
        .unwrap();
        assert_eq!(found, expected, "query {q:?}");
        if !["nothing", "x", "\"", "cabz"].contains(&q) {
            assert!(!found.is_empty(), "query {q:?} should find something");
        }
    }
}
