//! The desktop store's budgets (issue #4), on generated data of realistic size, each beside a
//! baseline measured in the same run:
//!
//! - catch-up apply rate: sealed webhook events → `sync::apply_page` page after page, and
//!   pipelined as `Syncer`'s catch-up runs (`open_page` of the next page while
//!   `apply_opened` writes this one) (budget ≥ 30,000 events/s), into the large store (the
//!   budget's case: a device that already holds its history) and, beside it, into an empty one;
//!   baselines: the same messages inserted with plain SQL, one transaction per page, one INSERT
//!   per row and one multi-row INSERT per page;
//! - search, first page newest first (p95 < 20 ms); open a conversation (first screen of its
//!   thread) and list the first screen of conversations (p95 < 5 ms each), through the same
//!   `device::views` functions the app calls; baselines: the bare indexed SQL queries.
//!
//! The store (default 1,000,000 messages in 10,000 conversations; `DATAOPTIX_BENCH_MESSAGES`
//! changes it) is generated once into the target dir and reused. Besides criterion's report,
//! each query's p50/p95/p99 over `DATAOPTIX_BENCH_SAMPLES` (default 500) runs is printed and
//! written to `<target>/dataoptix-bench/summary.json`. BENCHMARKS.md has the figures.
//!
//! For comparing two builds of the apply: `DATAOPTIX_BENCH_ONLY=apply_large` runs only the timed
//! passes into the large store (`DATAOPTIX_BENCH_LARGE_PASSES` of each kind, default 3;
//! `DATAOPTIX_BENCH_LARGE_KIND` keeps only the kinds whose name holds it) and leaves
//! `summary.json` alone. `DATAOPTIX_BENCH_PERF_CTL` lets `perf record` profile those passes alone
//! (`testkit::perf_control`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

/// Rust's allocations go through mimalloc, as in the desktop app whose apply this measures
/// (src-tauri/main.rs says why).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use dataoptix_core::device::views::{self, ConversationFilter};
use dataoptix_core::store::Store;
use dataoptix_core::sync::{apply_opened, apply_page, open_page};
use dataoptix_core::vault::MasterKey;
use protocol::events::{Event, EventKind, EventPage};
use protocol::WorkspaceSecretKey;
use serde_json::json;
use tokio::runtime::Runtime;

#[path = "support/history.rs"]
mod history;
use history::text;

/// The generated store's file name, `store-{GENERATION}-{messages}-{conversations}.db`: bumped
/// whenever the generator's data or the store's format changes, so that an older store is not
/// reused (2: wamids of Meta's shape; 3: pages under `store::PAGE_HMAC`).
const GENERATION: u32 = 3;

const WORKSPACE: &str = "bench-workspace";
const PHONE: &str = "109876543210";

fn target_dir() -> PathBuf {
    let dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("target"))
        .join("dataoptix-bench");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// CPU time of the whole process so far, user and system, from `/proc/self/stat` (in clock ticks
/// of 10 ms: Linux's `USER_HZ`). Zero where there is no procfs.
fn process_cpu() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // The fields after the command name, which is in parentheses and may hold spaces.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    // utime and stime, fields 14 and 15 of the line: indices 11 and 12 after the name.
    let ticks: u64 = [11, 12]
        .iter()
        .filter_map(|&i| fields.get(i)?.parse::<u64>().ok())
        .sum();
    Duration::from_millis(ticks * 10)
}

/// A fixed key, so the generated store can be reused between runs (benchmark data only).
fn bench_key() -> MasterKey {
    MasterKey::from_bytes(&[7u8; 32], "bench key").unwrap()
}

/// Opens (generating on first use) a store of `messages` messages in `conversations`
/// conversations, 5 minutes apart per conversation, alternating in and out.
async fn generated_store(messages: usize, conversations: usize) -> Store {
    let path = target_dir().join(format!("store-{GENERATION}-{messages}-{conversations}.db"));
    let ready = target_dir().join(format!(
        "store-{GENERATION}-{messages}-{conversations}.ready"
    ));
    if !ready.exists() {
        let _ = std::fs::remove_file(&path);
        let started = Instant::now();
        let store = Store::open(&path, &bench_key()).await.unwrap();
        sqlx::query("INSERT INTO workspaces (id, name, created_at) VALUES (?, 'Bench', 0)")
            .bind(WORKSPACE)
            .execute(store.pool())
            .await
            .unwrap();
        let target = history::Target {
            workspace_id: WORKSPACE,
            phone_number_id: PHONE,
            waba_id: "1",
        };
        history::fill(&store, &target, messages, conversations, |_| ())
            .await
            .unwrap();
        store.close().await;
        std::fs::write(&ready, b"ok").unwrap();
        println!(
            "generated {messages} messages in {conversations} conversations in {:.1} s ({})",
            started.elapsed().as_secs_f64(),
            path.display()
        );
    }
    Store::open(&path, &bench_key()).await.unwrap()
}

/// The customer of the `i`-th applied event (ten events each), and its message's wamid.
fn applied(i: usize) -> (String, String) {
    let from = format!("{}", 16_660_000_000u64 + (i / 10) as u64);
    // Ids far from the history's, so that none is taken already.
    let wamid = history::wamid(&from, (1 << 40) + i as u64);
    (from, wamid)
}

/// `count` sealed webhook events, one inbound text message each, from `count / 10` customers.
fn sealed_events(key: &WorkspaceSecretKey, count: usize) -> Vec<EventPage> {
    // As the relay seals webhooks: under a data key sealed to the workspace key (v2).
    let data_key = protocol::sealed::DataKey::generate(&key.public_key()).unwrap();
    let events: Vec<Event> = (0..count)
        .map(|i| {
            let (from, wamid) = applied(i);
            let entry = json!({"id": "1", "changes": [{"field": "messages", "value": {
                "messaging_product": "whatsapp",
                "metadata": {"display_phone_number": "15550001111", "phone_number_id": PHONE},
                "contacts": [{"profile": {"name": format!("Catch-up {i}")}, "wa_id": from}],
                "messages": [{"from": from, "id": wamid,
                    "timestamp": (1_700_000_000 + i).to_string(), "type": "text",
                    "text": {"body": text(i as u64)}}]}}]});
            let sealed = data_key.seal(entry.to_string().as_bytes()).unwrap();
            Event {
                seq: i as i64 + 1,
                id: uuid::Uuid::new_v4(),
                kind: EventKind::MetaWebhook,
                sealed: protocol::sealed::to_base64(&sealed),
                created_at: time::OffsetDateTime::now_utc(),
                origin_session: None,
                client_event_id: None,
            }
        })
        .collect();
    events
        .chunks(protocol::events::MAX_PAGE as usize)
        .map(|chunk| EventPage {
            next_after: chunk.last().map_or(0, |e| e.seq),
            events: chunk.to_vec(),
            resync_required: false,
        })
        .collect()
}

/// The pages as `Syncer`'s catch-up applies them: page N+1 opened (decrypted and parsed) on a
/// blocking thread while page N is written, each page its own transaction with its cursor.
/// (The catch-up also fetches the next page from the relay in that time; here they are in
/// memory.)
async fn apply_pipelined(store: &Store, key: &WorkspaceSecretKey, pages: &[EventPage]) {
    let open = |page: &EventPage| {
        let (key, page) = (key.clone(), page.clone());
        tokio::task::spawn_blocking(move || open_page(&key, &page))
    };
    let mut rest = pages.iter();
    let mut next = rest.next().map(open);
    while let Some(opening) = next.take() {
        let opened = opening.await.unwrap();
        next = rest.next().map(open);
        apply_opened(store, WORKSPACE, opened, None).await.unwrap();
    }
}

/// A fresh copy of the generated large store in `dir`, to apply into: a catch-up lands on a
/// device that already holds its history, so every insert also walks and splits the indexes
/// and FTS b-trees of a million messages. The copy is flushed before the pass, so that the
/// kernel does not write its ~400 MB back while the pass runs, with every commit's fsync
/// queued behind that. It stays in the page cache, as a running app's store mostly is.
async fn copy_of_large_store(large: &Path, dir: &Path) -> Store {
    let copy = dir.join("apply-large.db");
    std::fs::copy(large, &copy).unwrap();
    std::fs::File::open(&copy).unwrap().sync_all().unwrap();
    Store::open(&copy, &bench_key()).await.unwrap()
}

async fn empty_store(dir: &Path) -> Store {
    let store = Store::open(&dir.join("apply.db"), &bench_key())
        .await
        .unwrap();
    store.upsert_workspace(WORKSPACE, "Bench").await.unwrap();
    store
        .upsert_phone_number(&dataoptix_core::store::PhoneNumberInput {
            id: PHONE.into(),
            workspace_id: WORKSPACE.into(),
            waba_id: "1".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    store
}

/// How the baseline writes a page with plain SQL.
#[derive(Clone, Copy)]
enum RawSql {
    /// One INSERT per message.
    RowByRow,
    /// One multi-row INSERT (`VALUES (..), (..), ...`) per page: the fastest plain SQL here.
    MultiRow,
}

/// How a pass of the apply rate writes the pages.
#[derive(Clone, Copy)]
enum Pass {
    /// `apply_page` one page after the other.
    PageByPage,
    /// [`apply_pipelined`].
    Pipelined,
    /// A baseline.
    Raw(RawSql),
}

/// One pass over `pages` into `store`.
async fn pass(store: &Store, key: &WorkspaceSecretKey, pages: &[EventPage], how: Pass) {
    match how {
        Pass::Raw(how) => raw_insert(store, pages, how).await,
        Pass::Pipelined => apply_pipelined(store, key, pages).await,
        Pass::PageByPage => {
            for page in pages {
                apply_page(store, key, WORKSPACE, page).await.unwrap();
            }
        }
    }
}

/// The baseline of the apply rate: the same messages, plain SQL, one transaction per page.
async fn raw_insert(store: &Store, pages: &[EventPage], how: RawSql) {
    let conv: i64 = sqlx::query_scalar(
        "INSERT INTO contacts (workspace_id, wa_id, created_at, updated_at)
         VALUES (?, 'raw', 0, 0) RETURNING id",
    )
    .bind(WORKSPACE)
    .fetch_one(store.pool())
    .await
    .unwrap();
    let conv: i64 = sqlx::query_scalar(
        "INSERT INTO conversations (workspace_id, phone_number_id, contact_id) VALUES (?, ?, ?)
         RETURNING id",
    )
    .bind(WORKSPACE)
    .bind(PHONE)
    .bind(conv)
    .fetch_one(store.pool())
    .await
    .unwrap();
    for page in pages {
        let mut tx = store.begin_write().await.unwrap();
        if let RawSql::MultiRow = how {
            let mut insert = sqlx::QueryBuilder::new(
                "INSERT INTO messages (conversation_id, wamid, direction, kind, ts, text_body,
                     raw_json, created_at) ",
            );
            insert.push_values(&page.events, |mut row, e| {
                row.push_bind(conv)
                    .push_bind(applied(e.seq as usize - 1).1)
                    .push("'in'")
                    .push("'text'")
                    .push_bind(e.seq)
                    .push_bind(text(e.seq as u64))
                    .push("'{}'")
                    .push("0");
            });
            insert.push(" ON CONFLICT(wamid) DO NOTHING");
            insert.build().execute(&mut *tx).await.unwrap();
            tx.commit().await.unwrap();
            continue;
        }
        for e in &page.events {
            sqlx::query(
                "INSERT INTO messages (conversation_id, wamid, direction, kind, ts, text_body,
                     raw_json, created_at) VALUES (?, ?, 'in', 'text', ?, ?, '{}', 0)
                 ON CONFLICT(wamid) DO NOTHING",
            )
            .bind(conv)
            .bind(applied(e.seq as usize - 1).1)
            .bind(e.seq)
            .bind(text(e.seq as u64))
            .execute(&mut *tx)
            .await
            .unwrap();
        }
        tx.commit().await.unwrap();
    }
}

/// Baseline: the first screen of conversations as one bare indexed query.
async fn raw_conversations(store: &Store) -> Vec<(i64, i64)> {
    sqlx::query_as(
        "SELECT id, last_message_at FROM conversations WHERE workspace_id = ?
         ORDER BY last_message_at DESC, id DESC LIMIT 50",
    )
    .bind(WORKSPACE)
    .fetch_all(store.pool())
    .await
    .unwrap()
}

/// Baseline: a conversation's newest 50 messages as one bare indexed query.
async fn raw_thread(store: &Store, conversation_id: i64) -> Vec<(i64, i64, Option<String>)> {
    sqlx::query_as(
        "SELECT id, ts, text_body FROM messages WHERE conversation_id = ?
         ORDER BY ts DESC, id DESC LIMIT 50",
    )
    .bind(conversation_id)
    .fetch_all(store.pool())
    .await
    .unwrap()
}

/// Baseline: the bare FTS5 query behind a search's first page (every word a prefix).
async fn raw_search(store: &Store, query: &str) -> Vec<(i64,)> {
    let fts: Vec<String> = query
        .split_whitespace()
        .map(|w| format!("\"{w}\"*"))
        .collect();
    sqlx::query_as(
        "SELECT m.id FROM messages_fts JOIN messages m ON m.id = messages_fts.rowid
         WHERE messages_fts MATCH ? ORDER BY messages_fts.rowid DESC LIMIT 20",
    )
    .bind(fts.join(" "))
    .fetch_all(store.pool())
    .await
    .unwrap()
}

fn percentiles(
    name: &str,
    mut samples: Vec<Duration>,
    summary: &mut serde_json::Map<String, serde_json::Value>,
) {
    samples.sort();
    let at =
        |p: f64| samples[((samples.len() as f64 - 1.0) * p).round() as usize].as_secs_f64() * 1e3;
    println!(
        "{name:<40} p50 {:>8.3} ms   p95 {:>8.3} ms   p99 {:>8.3} ms   ({} runs)",
        at(0.5),
        at(0.95),
        at(0.99),
        samples.len()
    );
    summary.insert(
        name.to_owned(),
        json!({"p50_ms": at(0.5), "p95_ms": at(0.95), "p99_ms": at(0.99), "runs": samples.len()}),
    );
}

fn benches(c: &mut Criterion) {
    // `RUST_LOG=dataoptix_core::sync=debug` prints each page's phase times (`apply_opened`).
    if std::env::var_os("RUST_LOG").is_some() {
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .init();
    }
    let rt = Runtime::new().unwrap();
    let messages = env_usize("DATAOPTIX_BENCH_MESSAGES", 1_000_000);
    let conversations = env_usize("DATAOPTIX_BENCH_CONVERSATIONS", 10_000);
    let samples = env_usize("DATAOPTIX_BENCH_SAMPLES", 500);
    let apply_events = env_usize("DATAOPTIX_BENCH_APPLY_EVENTS", 20_000);
    // `DATAOPTIX_BENCH_LARGE_KIND=pipelined` keeps the kinds whose name holds it (a profile of
    // one); either knob runs the apply into the large store alone.
    let only_kind = std::env::var("DATAOPTIX_BENCH_LARGE_KIND").unwrap_or_default();
    let only_large = std::env::var("DATAOPTIX_BENCH_ONLY").as_deref() == Ok("apply_large")
        || !only_kind.is_empty();
    let large_passes = env_usize("DATAOPTIX_BENCH_LARGE_PASSES", 3).max(1);
    let mut summary = serde_json::Map::new();

    // --- Catch-up apply rate -------------------------------------------------------------
    let key = WorkspaceSecretKey::generate();
    let pages = sealed_events(&key, apply_events);
    if !only_large {
        apply_into_empty(c, &rt, &key, &pages, apply_events, &mut summary);
    }

    // --- Catch-up apply into the large store ----------------------------------------------
    // The budget's realistic case. Timed passes only (each needs a fresh copy of the store),
    // alternating kinds; the median of `large_passes` is kept.
    let large = rt.block_on(async {
        let store = generated_store(messages, conversations).await;
        store.close().await;
        target_dir().join(format!("store-{GENERATION}-{messages}-{conversations}.db"))
    });
    let kinds = [
        ("apply_into_large_events_per_second", Pass::PageByPage),
        (
            "apply_pipelined_into_large_events_per_second",
            Pass::Pipelined,
        ),
        (
            "baseline_raw_rows_into_large_per_second",
            Pass::Raw(RawSql::RowByRow),
        ),
        (
            "baseline_multirow_rows_into_large_per_second",
            Pass::Raw(RawSql::MultiRow),
        ),
    ];
    let kinds: Vec<_> = kinds
        .into_iter()
        .filter(|(name, _)| name.contains(only_kind.as_str()))
        .collect();
    let mut rates = vec![Vec::new(); kinds.len()];
    // CPU time (all threads) per event beside the rate: how much of the two cores a pass
    // used, where the rate alone does not say whether it waited or worked.
    let mut cpu = vec![Vec::new(); kinds.len()];
    for _ in 0..large_passes {
        for (((_, how), rates), cpu) in kinds.iter().zip(&mut rates).zip(&mut cpu) {
            let dir = tempfile::tempdir_in(target_dir()).unwrap();
            let store = rt.block_on(copy_of_large_store(&large, dir.path()));
            testkit::perf_control("enable");
            let (started, cpu_before) = (Instant::now(), process_cpu());
            rt.block_on(pass(&store, &key, &pages, *how));
            testkit::perf_control("disable");
            rates.push(apply_events as f64 / started.elapsed().as_secs_f64());
            cpu.push((process_cpu() - cpu_before).as_secs_f64() * 1e6 / apply_events as f64);
            rt.block_on(store.close());
        }
    }
    for (((name, _), mut rates), mut cpu) in kinds.into_iter().zip(rates).zip(cpu) {
        rates.sort_by(f64::total_cmp);
        cpu.sort_by(f64::total_cmp);
        let median = rates[rates.len() / 2];
        let all: Vec<String> = rates.iter().map(|r| format!("{r:.0}")).collect();
        println!(
            "{name:<46} {median:>10.0} /s median ({apply_events} events into {messages} messages; {}); CPU {:.1} µs/event",
            all.join(", "),
            cpu[cpu.len() / 2],
        );
        summary.insert(name.to_owned(), json!(median.round()));
    }
    if only_large {
        return;
    }
    reads(c, &rt, messages, conversations, samples, summary);
}

/// The apply into an empty store (a new device's catch-up): criterion's samples, then one timed
/// pass of each kind for the summary.
fn apply_into_empty(
    c: &mut Criterion,
    rt: &Runtime,
    key: &WorkspaceSecretKey,
    pages: &[EventPage],
    apply_events: usize,
    summary: &mut serde_json::Map<String, serde_json::Value>,
) {
    let mut group = c.benchmark_group("apply");
    group
        .sample_size(10)
        .throughput(Throughput::Elements(apply_events as u64));
    for (name, how) in [
        ("sealed_webhooks_apply_page", Pass::PageByPage),
        ("sealed_webhooks_pipelined", Pass::Pipelined),
        ("baseline_raw_sql_insert", Pass::Raw(RawSql::RowByRow)),
        (
            "baseline_raw_sql_multirow_insert",
            Pass::Raw(RawSql::MultiRow),
        ),
    ] {
        group.bench_function(name, |b| {
            b.iter_batched(
                || {
                    let dir = tempfile::tempdir().unwrap();
                    let store = rt.block_on(empty_store(dir.path()));
                    (dir, store)
                },
                |(dir, store)| {
                    rt.block_on(async {
                        pass(&store, key, pages, how).await;
                        store.close().await;
                    });
                    dir
                },
                BatchSize::PerIteration,
            )
        });
    }
    group.finish();
    // One timed pass of each for the summary (events per second).
    for (name, how) in [
        ("apply_events_per_second", Pass::PageByPage),
        ("apply_pipelined_events_per_second", Pass::Pipelined),
        ("baseline_raw_rows_per_second", Pass::Raw(RawSql::RowByRow)),
        (
            "baseline_multirow_rows_per_second",
            Pass::Raw(RawSql::MultiRow),
        ),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let store = rt.block_on(empty_store(dir.path()));
        let started = Instant::now();
        rt.block_on(pass(&store, key, pages, how));
        let rate = apply_events as f64 / started.elapsed().as_secs_f64();
        println!("{name:<40} {rate:>10.0} /s ({apply_events} events)");
        summary.insert(name.to_owned(), json!(rate.round()));
        rt.block_on(store.close());
    }
}

/// Reads on the large store, criterion's samples and then the percentiles the budgets name.
fn reads(
    c: &mut Criterion,
    rt: &Runtime,
    messages: usize,
    conversations: usize,
    samples: usize,
    mut summary: serde_json::Map<String, serde_json::Value>,
) {
    // --- Reads on the large store --------------------------------------------------------
    let store = rt.block_on(generated_store(messages, conversations));
    let filter = ConversationFilter::default();
    // A conversation in the middle of the list.
    let conv_id: i64 = rt
        .block_on(
            sqlx::query_scalar("SELECT id FROM conversations ORDER BY id LIMIT 1 OFFSET ?")
                .bind((conversations / 2) as i64)
                .fetch_one(store.pool()),
        )
        .unwrap();
    let now = 1_700_000_000 + 3_600;

    let mut group = c.benchmark_group("reads");
    group.bench_function("conversations_first_screen", |b| {
        b.iter(|| {
            rt.block_on(views::conversations(
                &store, WORKSPACE, None, &filter, None, 50, now,
            ))
            .unwrap()
        })
    });
    group.bench_function("baseline_conversations_raw_sql", |b| {
        b.iter(|| rt.block_on(raw_conversations(&store)))
    });
    group.bench_function("open_conversation_first_screen", |b| {
        b.iter(|| {
            rt.block_on(views::messages(&store, conv_id, None, 50))
                .unwrap()
        })
    });
    group.bench_function("baseline_thread_raw_sql", |b| {
        b.iter(|| rt.block_on(raw_thread(&store, conv_id)))
    });
    group.bench_function("search_first_page", |b| {
        b.iter(|| {
            rt.block_on(views::search(&store, WORKSPACE, "sourdough croissant", 20))
                .unwrap()
        })
    });
    group.bench_function("baseline_search_raw_fts", |b| {
        b.iter(|| rt.block_on(raw_search(&store, "sourdough croissant")))
    });
    group.finish();

    // Percentiles (the budgets are p95).
    let time = |f: &dyn Fn()| {
        (0..samples)
            .map(|_| {
                let t = Instant::now();
                f();
                t.elapsed()
            })
            .collect::<Vec<_>>()
    };
    percentiles(
        "conversations_first_screen",
        time(&|| {
            rt.block_on(views::conversations(
                &store, WORKSPACE, None, &filter, None, 50, now,
            ))
            .unwrap();
        }),
        &mut summary,
    );
    percentiles(
        "open_conversation_first_screen",
        time(&|| {
            rt.block_on(views::messages(&store, conv_id, None, 50))
                .unwrap();
        }),
        &mut summary,
    );
    // Search terms vary so the page cache is not the only thing measured.
    let terms = [
        "sourdough croissant",
        "delivery friday",
        "cafe",
        "sao paulo",
        "refund",
        "vegan birthday cake",
    ];
    let counter = std::cell::Cell::new(0usize);
    percentiles(
        "search_first_page",
        time(&|| {
            let q = terms[counter.get() % terms.len()];
            counter.set(counter.get() + 1);
            rt.block_on(views::search(&store, WORKSPACE, q, 20))
                .unwrap();
        }),
        &mut summary,
    );
    // The baselines, timed the same way, so the summary holds both sides of every ratio.
    percentiles(
        "baseline_conversations_raw_sql",
        time(&|| {
            rt.block_on(raw_conversations(&store));
        }),
        &mut summary,
    );
    percentiles(
        "baseline_thread_raw_sql",
        time(&|| {
            rt.block_on(raw_thread(&store, conv_id));
        }),
        &mut summary,
    );
    percentiles(
        "baseline_search_raw_fts",
        time(&|| {
            let q = terms[counter.get() % terms.len()];
            counter.set(counter.get() + 1);
            rt.block_on(raw_search(&store, q));
        }),
        &mut summary,
    );
    summary.insert("messages".into(), json!(messages));
    summary.insert("conversations".into(), json!(conversations));
    std::fs::write(
        target_dir().join("summary.json"),
        serde_json::to_string_pretty(&summary).unwrap(),
    )
    .unwrap();
    rt.block_on(store.close());
}

criterion_group!(store_benches, benches);
criterion_main!(store_benches);
