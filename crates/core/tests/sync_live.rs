//! The live phase of sync against the real relay (in-process on port 0) and `dataoptix-sim`
//! over HTTP, into real encrypted stores: events after a catch-up come over the relay's
//! Server-Sent Events stream, a cut stream resumes from the committed cursor with nothing lost
//! or doubled, `resync_required` on the stream is surfaced, and a relay without the stream is
//! long-polled.

// Test helpers outside #[test] fns count as non-test code for clippy; a panic is how they
// report a failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::Request;
use axum::http::header::CONTENT_TYPE;
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::IntoResponse;
use dataoptix_core::sync::{
    LiveBatch, PageReport, RelayClient, SyncError, SyncProgress, Syncer, Transport,
};

mod common;
use common::{fast, Device, Env, CUSTOMER};

/// Requests the relay answered, counted by a layer around its router.
#[derive(Clone, Default)]
struct Requests {
    /// `GET /v1/events` (pages and long-polls).
    pages: Arc<AtomicUsize>,
    /// `GET /v1/events/stream`.
    streams: Arc<AtomicUsize>,
}

impl Requests {
    /// Wraps the relay's router: counts, and answers the stream route with `stream_status`
    /// instead of the relay when given (an older relay), `200 OK` meaning an event stream that
    /// ends at once.
    fn layer(
        &self,
        stream_status: Option<StatusCode>,
    ) -> impl FnOnce(axum::Router) -> axum::Router {
        let requests = self.clone();
        move |router| {
            router.layer(axum::middleware::from_fn(
                move |req: Request, next: Next| {
                    let requests = requests.clone();
                    async move {
                        if req.method() == Method::GET {
                            match req.uri().path() {
                                "/v1/events" => {
                                    requests.pages.fetch_add(1, Ordering::SeqCst);
                                }
                                "/v1/events/stream" => {
                                    requests.streams.fetch_add(1, Ordering::SeqCst);
                                    match stream_status {
                                        // An event stream that ends at once.
                                        Some(StatusCode::OK) => {
                                            return ([(CONTENT_TYPE, "text/event-stream")], "")
                                                .into_response();
                                        }
                                        Some(status) => return status.into_response(),
                                        None => {}
                                    }
                                }
                                _ => {}
                            }
                        }
                        next.run(req).await
                    }
                },
            ))
        }
    }

    fn pages(&self) -> usize {
        self.pages.load(Ordering::SeqCst)
    }

    fn streams(&self) -> usize {
        self.streams.load(Ordering::SeqCst)
    }
}

async fn counted_env(requests: &Requests, stream_status: Option<StatusCode>) -> Env {
    Env::start_wrapped(|_| {}, requests.layer(stream_status)).await
}

async fn messages(device: &Device) -> i64 {
    device.scalar("SELECT count(*) FROM messages").await
}

/// Totals of the batches `live` applies until `device` holds `want` messages.
async fn follow_until(
    device: &Device,
    live: &mut dataoptix_core::sync::Live,
    want: i64,
    batches: &mut Vec<LiveBatch>,
) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while messages(device).await < want {
        let batch = tokio::time::timeout_at(deadline, live.next())
            .await
            .expect("timed out waiting for live events")
            .unwrap();
        batches.push(batch);
    }
}

fn sum(batches: &[LiveBatch], field: impl Fn(&PageReport) -> usize) -> usize {
    batches.iter().map(|b| field(&b.report)).sum()
}

#[tokio::test]
async fn events_after_catch_up_arrive_over_the_stream() {
    let requests = Requests::default();
    let env = counted_env(&requests, None).await;
    let device = env.first_device(fast()).await;

    // A backlog first, caught up by pages.
    env.inbound(CUSTOMER, "before").await;
    device
        .sync_until("the backlog", async |d: &Device| messages(d).await == 1)
        .await;
    let pages = requests.pages();
    assert!(pages > 0);
    assert_eq!(requests.streams(), 0);

    let mut live = device.syncer.live(Duration::from_secs(25));
    let mut batches = Vec::new();
    let sent = tokio::time::Instant::now();
    env.inbound(CUSTOMER, "live 1").await;
    follow_until(&device, &mut live, 2, &mut batches).await;
    let first_latency = sent.elapsed();
    for i in 2..=5 {
        env.inbound(CUSTOMER, &format!("live {i}")).await;
    }
    follow_until(&device, &mut live, 6, &mut batches).await;

    // Every batch came over the one stream; not a single page was fetched meanwhile.
    assert!(batches.iter().all(|b| b.transport == Transport::Stream));
    assert_eq!(live.transport(), Transport::Stream);
    assert_eq!(requests.pages(), pages, "the live phase fetched pages");
    assert_eq!(requests.streams(), 1);
    assert_eq!(sum(&batches, |r| r.events), 5);
    assert_eq!(sum(&batches, |r| r.messages_inserted), 5);
    assert_eq!(sum(&batches, |r| r.messages_duplicate), 0);
    // The cursor was committed (and acked: a catch-up now finds nothing).
    let cursor = device.syncer.cursor().await.unwrap();
    assert_eq!(batches.last().unwrap().report.cursor, cursor);
    let after = device.syncer.run_once().await.unwrap();
    assert_eq!((after.events, after.cursor), (0, cursor));
    eprintln!(
        "live: first event applied {:?} after the simulator accepted it; {} batches for 5 events",
        first_latency,
        batches.len()
    );
    drop(live);

    // `run` (the CLI's `sync`): catch-up, then the stream, totals reported per batch.
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<SyncProgress>();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let syncer = device.syncer.clone();
    let running = tokio::spawn(async move {
        let shutdown = async {
            let _ = stopped.await;
        };
        syncer
            .run(
                Duration::from_secs(25),
                |p| {
                    let _ = tx.send(*p);
                },
                shutdown,
            )
            .await
    });
    // Wait for `run` to be on the stream (the catch-up found nothing) before writing.
    common::eventually("run's stream", async || {
        (requests.streams() == 2).then_some(())
    })
    .await;
    let pages = requests.pages();
    env.inbound(CUSTOMER, "while running").await;
    let progress = tokio::time::timeout(Duration::from_secs(30), rx.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!((progress.events, progress.messages_inserted), (1, 1));
    assert_eq!(messages(&device).await, 7);
    assert_eq!(requests.pages(), pages);
    stop.send(()).unwrap();
    running.await.unwrap().unwrap();
    env.stop().await;
}

/// Forwards TCP connections to the relay, and cuts every open one on demand (a network drop,
/// a relay restart as the device sees it).
struct CuttingProxy {
    base: String,
    open: Arc<Mutex<Vec<tokio::task::AbortHandle>>>,
    accepted: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl CuttingProxy {
    async fn start(upstream: &str) -> Self {
        let upstream = upstream.trim_start_matches("http://").to_string();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let open = Arc::new(Mutex::new(Vec::new()));
        let accepted = Arc::new(AtomicUsize::new(0));
        let (conns, count) = (open.clone(), accepted.clone());
        let task = tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                count.fetch_add(1, Ordering::SeqCst);
                let upstream = upstream.clone();
                let forward = tokio::spawn(async move {
                    if let Ok(mut outbound) = tokio::net::TcpStream::connect(&upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                conns.lock().unwrap().push(forward.abort_handle());
            }
        });
        Self {
            base,
            open,
            accepted,
            task,
        }
    }

    /// Drops every open connection (both sides see it closed).
    fn cut(&self) {
        for conn in self.open.lock().unwrap().drain(..) {
            conn.abort();
        }
    }
}

#[tokio::test]
async fn a_cut_stream_resumes_from_the_cursor_with_nothing_lost_or_doubled() {
    let env = Env::start(|_| {}).await;
    let device = env.first_device(fast()).await;
    let proxy = CuttingProxy::start(&env.relay.base).await;
    // The same device, talking to the relay through the proxy.
    let syncer = Syncer::new(
        device.store.clone(),
        RelayClient::new(&proxy.base).with_token(device.session.token.clone()),
        env.key.clone(),
        env.workspace_id.clone(),
    )
    .with_vault(device.vault.clone());
    let caught_up = syncer.run_once().await.unwrap();

    let mut live = syncer.live(Duration::from_secs(25));
    let mut batches = Vec::new();
    for i in 1..=3 {
        env.inbound(CUSTOMER, &format!("before the cut {i}")).await;
    }
    follow_until(&device, &mut live, 3, &mut batches).await;

    proxy.cut();
    let accepted = proxy.accepted.load(Ordering::SeqCst);
    for i in 1..=3 {
        env.inbound(CUSTOMER, &format!("after the cut {i}")).await;
    }
    // As `run` does: a transient error, a pause, and the next call reconnects from the cursor.
    let mut errors = 0;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while messages(&device).await < 6 {
        match tokio::time::timeout_at(deadline, live.next())
            .await
            .unwrap()
        {
            Ok(batch) => batches.push(batch),
            Err(e) => {
                assert!(e.is_transient(), "{e}");
                errors += 1;
                assert!(errors < 10, "no reconnection: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
    assert!(errors >= 1, "the cut went unnoticed");
    assert!(
        proxy.accepted.load(Ordering::SeqCst) > accepted,
        "no new connection"
    );
    assert!(batches.iter().all(|b| b.transport == Transport::Stream));

    // Every event of the log was applied exactly once: none skipped, none sent again.
    let log = RelayClient::new(&env.relay.base)
        .with_token(device.session.token.clone())
        .events(0, 1000, Duration::ZERO)
        .await
        .unwrap();
    assert_eq!(
        caught_up.events + sum(&batches, |r| r.events),
        log.events.len()
    );
    assert_eq!(sum(&batches, |r| r.messages_inserted), 6);
    assert_eq!(sum(&batches, |r| r.messages_duplicate), 0);
    assert_eq!(messages(&device).await, 6);
    assert_eq!(syncer.cursor().await.unwrap(), log.next_after);

    drop(live);
    proxy.task.abort();
    env.stop().await;
}

/// A relay whose log was pruned past this device's cursor: pages are empty (as if caught up),
/// the stream says `resync_required` — a stub stands in for waiting out the retention.
#[tokio::test]
async fn resync_required_on_the_stream_is_surfaced() {
    use axum::routing::{get, post};
    let router = axum::Router::new()
        .route(
            "/v1/events",
            get(|| async {
                axum::Json(
                    serde_json::json!({"events": [], "next_after": 0, "resync_required": false}),
                )
            }),
        )
        .route(
            "/v1/events/stream",
            get(|| async {
                (
                    [("content-type", "text/event-stream")],
                    ": keep-alive\n\nevent: resync_required\ndata: 42\n\n",
                )
            }),
        )
        .route(
            "/v1/events/ack",
            post(|| async { axum::Json(serde_json::json!({"acked": 0})) }),
        );
    let (syncer, server, _data) = common::stub_relay_syncer(router).await;
    let err = syncer
        .live(Duration::from_secs(1))
        .next()
        .await
        .unwrap_err();
    assert!(
        matches!(err, SyncError::ResyncRequired { next_after: 42 }),
        "{err}"
    );
    assert!(!err.is_transient());
    // `run` stops on it as it does for a page, instead of reconnecting forever.
    let err = tokio::time::timeout(
        Duration::from_secs(10),
        syncer.run(Duration::from_secs(1), |_| {}, std::future::pending()),
    )
    .await
    .unwrap()
    .unwrap_err();
    assert!(matches!(err, SyncError::ResyncRequired { next_after: 42 }));
    assert_eq!(syncer.cursor().await.unwrap(), 0);
    server.abort();
}

#[tokio::test]
async fn a_relay_without_the_stream_is_long_polled() {
    for status in [StatusCode::NOT_FOUND, StatusCode::METHOD_NOT_ALLOWED] {
        let requests = Requests::default();
        let env = counted_env(&requests, Some(status)).await;
        let device = env.first_device(fast()).await;
        device.syncer.run_once().await.unwrap();

        let mut live = device.syncer.live(Duration::from_secs(25));
        let pages = requests.pages();
        let mut batches = Vec::new();
        env.inbound(CUSTOMER, "to an older relay").await;
        follow_until(&device, &mut live, 1, &mut batches).await;
        env.inbound(CUSTOMER, "and another").await;
        follow_until(&device, &mut live, 2, &mut batches).await;

        assert!(
            batches.iter().all(|b| b.transport == Transport::LongPoll),
            "{status}"
        );
        assert_eq!(live.transport(), Transport::LongPoll);
        // The stream was asked for once; the events came by (long-polled) pages.
        assert_eq!(requests.streams(), 1, "{status}");
        assert!(requests.pages() >= pages + 2, "{status}");
        assert_eq!(sum(&batches, |r| r.messages_inserted), 2);
        env.stop().await;
    }
}

/// Callers race `next` against shutdown: a call dropped while it gathers or applies must not
/// lose the events it had read off the stream (the next call carries on with them), nor cut a
/// transaction half-way (sqlx would hand the connection back mid-transaction and the next
/// `BEGIN` on it fail: this test caught that before batches were committed in their own task).
#[tokio::test]
async fn cancelled_calls_lose_nothing() {
    let env = Env::start(|_| {}).await;
    let device = env.first_device(fast()).await;
    device.syncer.run_once().await.unwrap();
    let mut live = device.syncer.live(Duration::from_secs(25));
    for i in 1..=5 {
        env.inbound(CUSTOMER, &format!("raced {i}")).await;
    }
    // Calls cut short after 5 ms, 10 ms, ...: some end mid-read, some mid-apply; the growing
    // allowance (reset after a batch) guarantees progress.
    let (mut cancelled, mut allowance) = (0, 1);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while messages(&device).await < 5 {
        assert!(tokio::time::Instant::now() < deadline, "timed out");
        match tokio::time::timeout(Duration::from_millis(5 * allowance), live.next()).await {
            Ok(batch) => {
                assert_eq!(batch.unwrap().transport, Transport::Stream);
                allowance = 1;
            }
            Err(_) => {
                cancelled += 1;
                allowance += 1;
            }
        }
    }
    assert!(cancelled > 0, "no call was cut short");
    assert_eq!(messages(&device).await, 5);
    let log = RelayClient::new(&env.relay.base)
        .with_token(device.session.token.clone())
        .events(0, 1000, Duration::ZERO)
        .await
        .unwrap();
    assert_eq!(device.syncer.cursor().await.unwrap(), log.next_after);
    env.stop().await;
}

/// A relay (or a proxy in front of it) that ends every stream at once is not asked again every
/// half second: with nothing delivered, the backoff keeps growing (0.5 s, 1 s, 2 s, ...).
#[tokio::test]
async fn streams_that_end_at_once_are_retried_with_a_growing_backoff() {
    let requests = Requests::default();
    let env = counted_env(&requests, Some(StatusCode::OK)).await;
    let device = env.first_device(fast()).await;
    device
        .syncer
        .run(
            Duration::from_secs(25),
            |_| {},
            tokio::time::sleep(Duration::from_millis(3_500)),
        )
        .await
        .unwrap();
    // Streams at about 0 s, 0.5 s, 1.5 s and 3.5 s; a backoff reset after every catch-up
    // asked seven times (every 0.5 s).
    let streams = requests.streams();
    assert!((2..=4).contains(&streams), "{streams} stream requests");
    env.stop().await;
}
