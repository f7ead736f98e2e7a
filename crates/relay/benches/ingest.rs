//! Load benchmark of signed webhook ingest (issue #3: ≥ 20,000 signed 2 KB webhooks/s with
//! fsync'd group commit on 2 cores, p99 < 10 ms).
//!
//! Two servers are measured in the same run with the same load generator, the same body
//! size and the same concurrency:
//! - **baseline**: a bare axum endpoint that reads the body and answers 200;
//! - **relay**: the real relay (`relay::app`) on a fresh data directory, with workspaces that
//!   own the WABAs the webhooks name, so every webhook is verified, split, routed, sealed and
//!   committed durably before its 200.
//!
//! Afterwards the relay's log is counted: every webhook answered 200 must be stored exactly
//! once (the benchmark fails otherwise), so the figure is durable webhooks per second.
//!
//! ```sh
//! cargo bench -p dataoptix-relay --bench ingest
//! DATAOPTIX_INGEST_SECONDS=3 cargo bench -p dataoptix-relay --bench ingest   # shorter
//! ```
//! Knobs: `DATAOPTIX_INGEST_SECONDS` (10), `DATAOPTIX_INGEST_CONCURRENCY` (64),
//! `DATAOPTIX_INGEST_WORKSPACES` (20), `DATAOPTIX_INGEST_BODY_BYTES` (2048),
//! `DATAOPTIX_INGEST_PREPARED` (seconds × 45,000 bodies),
//! `DATAOPTIX_INGEST_TIMINGS` (1: collect and print the relay's per-phase timings),
//! `DATAOPTIX_BENCH_PERF_CTL` (a `perf record --control` FIFO: profile the relay run alone,
//! `testkit::perf_control`). A JSON summary
//! goes to `$CARGO_TARGET_DIR/dataoptix-bench/ingest.json` (or `target/…`).
//!
//! The load generator shares the 2 cores with the server, as the budget's machine does, and
//! keeps its own share small: every body is made and signed before the clock starts
//! (`DATAOPTIX_INGEST_PREPARED`, default enough for 45,000/s), and each sender drives one
//! kept-alive HTTP/1.1 connection with hyper's connection API (no pool), as Meta's deliveries
//! come. Until 2026-11-27 it signed each body and went through hyper-util's pooled client
//! during the run: a quarter of all CPU samples of the relay phase were the generator's.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::routing::post;
use cloud_api::signature::{sign, SIGNATURE_HEADER};
use http_body_util::{BodyExt, Full};
use hyper::header::{HeaderValue, CONTENT_TYPE, HOST};
use hyper_util::rt::TokioIo;
use protocol::WorkspaceSecretKey;
use serde_json::json;
use testkit::meta::CustomerText;

#[path = "ingest/timings.rs"]
mod timings;

/// The relay binary's allocator (its `main.rs`), so that the bench measures what it runs.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const APP_SECRET: &str = "bench-app-secret";

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

struct Knobs {
    seconds: u64,
    concurrency: usize,
    workspaces: usize,
    body_bytes: usize,
    prepared_per_sender: u64,
}

#[derive(Debug, serde::Serialize)]
struct Run {
    name: &'static str,
    ok: u64,
    failed: u64,
    /// Bodies built and signed during the run because the prepared ones ran out (load
    /// generator CPU taken from the server: raise `DATAOPTIX_INGEST_PREPARED` if not 0).
    made_on_the_fly: u64,
    seconds: f64,
    per_second: f64,
    p50_ms: f64,
    p99_ms: f64,
    max_ms: f64,
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` passes nothing: both run once.
    // The relay's per-phase timings (`DATAOPTIX_INGEST_TIMINGS=0`: not collected).
    let recorder = timings::Recorder::install(env_or("DATAOPTIX_INGEST_TIMINGS", 1) == 1);
    let knobs = Knobs {
        seconds: env_or("DATAOPTIX_INGEST_SECONDS", 10),
        concurrency: env_or("DATAOPTIX_INGEST_CONCURRENCY", 64),
        workspaces: env_or("DATAOPTIX_INGEST_WORKSPACES", 20),
        body_bytes: env_or("DATAOPTIX_INGEST_BODY_BYTES", 2048),
        prepared_per_sender: 0,
    };
    // Enough signed bodies for 45,000 webhooks/s (about 1 GB at the defaults), made before
    // either run starts; `DATAOPTIX_INGEST_PREPARED` sets the total instead.
    let prepared_total: u64 = env_or("DATAOPTIX_INGEST_PREPARED", knobs.seconds * 45_000);
    let knobs = Knobs {
        prepared_per_sender: prepared_total.div_ceil(knobs.concurrency as u64),
        ..knobs
    };
    let server_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("server")
        .enable_all()
        .build()
        .unwrap();
    let client_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("loadgen")
        .enable_all()
        .build()
        .unwrap();

    let wabas: Vec<String> = (0..knobs.workspaces)
        .map(|i| format!("90000000000{i:04}"))
        .collect();

    // Baseline: the same HTTP stack with nothing behind it.
    let baseline_addr = server_rt.block_on(async {
        let router = axum::Router::new().route(
            "/webhooks/meta",
            post(|body: Bytes| async move {
                std::hint::black_box(body.len());
                axum::http::StatusCode::OK
            }),
        );
        serve(router).await
    });
    let prepared = Arc::new(Prepared::make(&knobs, &wabas));
    let baseline = client_rt.block_on(load(
        "baseline",
        baseline_addr,
        &prepared,
        Reuse::Cycle,
        &knobs,
    ));

    // The relay, with every WABA owned by a workspace.
    let dir = tempfile::tempdir().unwrap();
    // Meta for the claims (the relay checks each token's grant); idle during the load.
    let sim = server_rt.block_on(async {
        dataoptix_sim::spawn(dataoptix_sim::SimConfig::for_tests(APP_SECRET))
            .await
            .unwrap()
    });
    let (relay, addr) = server_rt.block_on(async {
        let mut config = relay::Config::for_tests(dir.path(), APP_SECRET);
        config.graph_base_url = sim.info.base_url.clone();
        config.graph_version = sim.info.graph_version.clone();
        config.meta_app_id = Some(sim.info.app_id.clone());
        config.retention_days = 30;
        let relay = relay::Relay::open(config).await.unwrap();
        let router = relay::app(relay.state());
        let addr = serve(router).await;
        (relay, addr)
    });
    client_rt.block_on(set_up_workspaces(addr, &sim, &wabas));
    let before = server_rt.block_on(relay.state().store.counts()).unwrap().0;
    if let Some(r) = &recorder {
        r.clear();
    }
    let relay_started = std::time::Instant::now();
    testkit::perf_control("enable");
    let relayed = client_rt.block_on(load("relay", addr, &prepared, Reuse::Once, &knobs));
    testkit::perf_control("disable");
    let timed = recorder.as_ref().map(timings::Recorder::take);
    let after = server_rt.block_on(relay.state().store.counts()).unwrap().0;
    let stored = after - before;
    let metrics = &relay.state().metrics;
    let commits = metrics.group_commits.load(Ordering::Relaxed);
    let requests = metrics.group_commit_requests.load(Ordering::Relaxed);
    let micros = metrics.group_commit_micros.load(Ordering::Relaxed);
    println!(
        "  relay group commits: {commits} for {requests} requests ({:.1} per commit, {:.2} ms each)",
        requests as f64 / commits.max(1) as f64,
        micros as f64 / 1000.0 / commits.max(1) as f64
    );

    if let Some(records) = &timed {
        timings::report(records, relay_started);
    }
    print_report(&knobs, &baseline, &relayed, stored);
    write_summary(&knobs, &baseline, &relayed, stored);
    assert_eq!(
        stored as u64, relayed.ok,
        "every webhook answered 200 must be stored exactly once"
    );
    assert_eq!(relayed.failed, 0, "no webhook may fail under load");
    server_rt.block_on(relay.close()).unwrap();
}

async fn serve(router: axum::Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .unwrap();
    });
    addr
}

/// Registers one workspace per WABA (through the device API, as a device would) and claims it
/// with a token `meta` grants it.
async fn set_up_workspaces(addr: SocketAddr, meta: &dataoptix_sim::RunningSim, wabas: &[String]) {
    let http = reqwest::Client::new();
    for (i, waba) in wabas.iter().enumerate() {
        let key = WorkspaceSecretKey::generate();
        let created: serde_json::Value = http
            .post(format!("http://{addr}/v1/accounts"))
            .json(&json!({
                "name": "Bench Owner", "email": format!("owner{i}@bench.example"),
                "company": format!("Bench {i}"), "password": "correct horse battery staple",
                "workspace_public_key": key.public_key().to_base64(), "device_name": "bench"
            }))
            .send()
            .await
            .unwrap()
            .error_for_status()
            .unwrap()
            .json()
            .await
            .unwrap();
        let token = created["token"].as_str().expect("session token");
        http.post(format!("http://{addr}/v1/wabas"))
            .bearer_auth(token)
            .json(&json!({ "waba_id": waba, "access_token": meta.grant(&[waba]) }))
            .send()
            .await
            .unwrap()
            .error_for_status()
            .unwrap();
    }
}

/// Marks where each request writes its unique message id into a prepared body.
const ID_SLOT: &str = "SENDERNNNNNNNNNNNNNNNN";

/// A messages webhook as Meta sends it, padded with chat-like text to `size` bytes, with an
/// id slot ([`ID_SLOT`]) the senders overwrite: building each body with serde would cost the
/// load generator more CPU than the server spends on it, on the same two cores.
fn webhook_template(waba: &str, size: usize) -> (Vec<u8>, usize) {
    const WORDS: &[&str] = &[
        "hola",
        "pedido",
        "gracias",
        "mañana",
        "entrega",
        "precio",
        "¿cuánto",
        "cuesta?",
        "order",
        "tomorrow",
        "delivery",
        "thanks",
        "😀",
        "por",
        "favor",
        "confirmo",
        "10:30",
    ];
    let wamid = format!("wamid.HBgLMTY1MDU1NTEyMzQVAgASGBQz{ID_SLOT}");
    let make = |text: &str| {
        CustomerText {
            waba_id: waba,
            phone_number_id: "106540352242922",
            display_phone_number: "15550783881",
            from: "16505551234",
            profile_name: "Sheena Nelson",
            wamid: &wamid,
            timestamp: 1_749_416_383,
            text,
        }
        .body()
    };
    let bare = make("").len();
    let mut text = String::new();
    let mut i = 0usize;
    while text.len() + bare < size {
        text.push_str(WORDS[(i * 7 + waba.len()) % WORDS.len()]);
        text.push(' ');
        i += 1;
    }
    let body = make(text.trim_end());
    let slot = body
        .windows(ID_SLOT.len())
        .position(|w| w == ID_SLOT.as_bytes())
        .unwrap();
    (body, slot)
}

/// One sender's requests, made and signed before the clock starts: in production the
/// sender is Meta, not a process on the relay's two cores, so building, signing and pooling
/// requests here would only take CPU away from the server being measured.
struct Prepared {
    /// Per sender, unique bodies (the relay dedupes, so each may be sent once) and their
    /// `X-Hub-Signature-256` values.
    per_sender: Vec<Vec<(Bytes, HeaderValue)>>,
    /// The bodies' templates, to make more on the fly should a run outrun the prepared ones.
    templates: Vec<(Vec<u8>, usize)>,
}

impl Prepared {
    fn make(knobs: &Knobs, wabas: &[String]) -> Self {
        let templates: Vec<(Vec<u8>, usize)> = wabas
            .iter()
            .map(|w| webhook_template(w, knobs.body_bytes))
            .collect();
        let per_sender = (0..knobs.concurrency)
            .map(|sender| {
                (0..knobs.prepared_per_sender)
                    .map(|n| signed_body(&templates, sender, n))
                    .collect()
            })
            .collect();
        Self {
            per_sender,
            templates,
        }
    }
}

/// The `n`-th body of `sender`: its template (WABAs in turn) with a unique message id.
fn signed_body(templates: &[(Vec<u8>, usize)], sender: usize, n: u64) -> (Bytes, HeaderValue) {
    let (template, slot) = &templates[(sender + n as usize) % templates.len()];
    let mut body = template.clone();
    let id = format!("{sender:06}{n:016}");
    body[*slot..*slot + ID_SLOT.len()].copy_from_slice(id.as_bytes());
    let signature = HeaderValue::from_str(&sign(APP_SECRET.as_bytes(), &body)).unwrap();
    (Bytes::from(body), signature)
}

/// What one run may do with the prepared bodies.
#[derive(Clone, Copy, PartialEq)]
enum Reuse {
    /// The bare endpoint stores nothing: cycle through the prepared bodies.
    Cycle,
    /// The relay dedupes: each body once, then fresh ones made on the fly.
    Once,
}

async fn load(
    name: &'static str,
    addr: SocketAddr,
    prepared: &Arc<Prepared>,
    reuse: Reuse,
    knobs: &Knobs,
) -> Run {
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let senders: Vec<_> = (0..knobs.concurrency)
        .map(|sender| {
            let stop = stop.clone();
            let prepared = prepared.clone();
            tokio::spawn(async move {
                // One kept-alive HTTP/1.1 connection per sender, as Meta's deliveries come.
                let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
                stream.set_nodelay(true).unwrap();
                let (mut http, connection) =
                    hyper::client::conn::http1::handshake(TokioIo::new(stream))
                        .await
                        .unwrap();
                tokio::spawn(connection);
                let mine = &prepared.per_sender[sender];
                let mut latencies_us: Vec<u32> = Vec::with_capacity(1 << 16);
                let mut failed = 0u64;
                let mut made_on_the_fly = 0u64;
                let mut n = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    let i = n as usize;
                    let (body, signature) = match (mine.get(i % mine.len().max(1)), reuse) {
                        (Some(p), Reuse::Cycle) => p.clone(),
                        (Some(p), Reuse::Once) if i < mine.len() => p.clone(),
                        _ => {
                            made_on_the_fly += 1;
                            signed_body(&prepared.templates, sender, n)
                        }
                    };
                    n += 1;
                    let request = hyper::Request::post("/webhooks/meta")
                        .header(HOST, "relay.bench")
                        .header(CONTENT_TYPE, "application/json")
                        .header(SIGNATURE_HEADER, signature)
                        .body(Full::new(body))
                        .unwrap();
                    let sent = Instant::now();
                    if http.ready().await.is_err() {
                        failed += 1;
                        break;
                    }
                    match http.send_request(request).await {
                        Ok(response) => {
                            let ok = response.status().is_success();
                            let _ = response.into_body().collect().await;
                            if ok {
                                latencies_us.push(sent.elapsed().as_micros() as u32);
                            } else {
                                failed += 1;
                            }
                        }
                        Err(_) => failed += 1,
                    }
                }
                (latencies_us, failed, made_on_the_fly)
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_secs(knobs.seconds)).await;
    stop.store(true, Ordering::Relaxed);
    let mut latencies = Vec::new();
    let mut failed = 0;
    let mut made_on_the_fly = 0;
    for s in senders {
        let (l, f, m) = s.await.unwrap();
        latencies.extend(l);
        failed += f;
        made_on_the_fly += m;
    }
    let seconds = started.elapsed().as_secs_f64();
    latencies.sort_unstable();
    let pct = |p: f64| -> f64 {
        if latencies.is_empty() {
            return f64::NAN;
        }
        let i = ((latencies.len() as f64 * p).ceil() as usize).clamp(1, latencies.len()) - 1;
        f64::from(latencies[i]) / 1000.0
    };
    Run {
        name,
        ok: latencies.len() as u64,
        failed,
        made_on_the_fly,
        seconds,
        per_second: latencies.len() as f64 / seconds,
        p50_ms: pct(0.50),
        p99_ms: pct(0.99),
        max_ms: pct(1.0),
    }
}

fn print_report(knobs: &Knobs, baseline: &Run, relayed: &Run, stored: i64) {
    println!(
        "signed webhook ingest: {} s per run, {} concurrent senders, {} B bodies, {} workspaces",
        knobs.seconds, knobs.concurrency, knobs.body_bytes, knobs.workspaces
    );
    for r in [baseline, relayed] {
        println!(
            "  {:<8} {:>9.0} webhooks/s  p50 {:>6.2} ms  p99 {:>6.2} ms  max {:>7.2} ms  ({} ok, {} failed, {} bodies made during the run)",
            r.name, r.per_second, r.p50_ms, r.p99_ms, r.max_ms, r.ok, r.failed, r.made_on_the_fly
        );
    }
    println!(
        "  relay / baseline: {:.2}× the throughput; stored {stored} events for {} answered 200",
        relayed.per_second / baseline.per_second,
        relayed.ok
    );
    let verdict = |met: bool| if met { "met" } else { "MISSED" };
    println!(
        "  budget ≥ 20,000/s: {}; p99 < 10 ms: {}",
        verdict(relayed.per_second >= 20_000.0),
        verdict(relayed.p99_ms < 10.0)
    );
}

fn write_summary(knobs: &Knobs, baseline: &Run, relayed: &Run, stored: i64) {
    let dir = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| std::path::PathBuf::from("target"), Into::into)
        .join("dataoptix-bench");
    let _ = std::fs::create_dir_all(&dir);
    let summary = json!({
        "seconds": knobs.seconds, "concurrency": knobs.concurrency,
        "body_bytes": knobs.body_bytes, "workspaces": knobs.workspaces,
        "baseline": baseline, "relay": relayed, "stored": stored,
    });
    let _ = std::fs::write(
        dir.join("ingest.json"),
        serde_json::to_vec_pretty(&summary).unwrap(),
    );
}
