//! Meta's webhook sender, as the relay sees it: signed POSTs from many connections at once,
//! and a delivery not answered 2xx (an error status, a refused or reset connection, a timeout)
//! is retried later with backoff until it is accepted.

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{anyhow, Result};
use cloud_api::signature::{sign, SIGNATURE_HEADER};

/// First retry delay; doubles up to [`MAX_BACKOFF`] (Meta's schedule, compressed for tests).
const FIRST_BACKOFF: Duration = Duration::from_millis(50);
const MAX_BACKOFF: Duration = Duration::from_secs(1);

/// What a load run saw.
#[derive(Debug, Default, Clone)]
pub struct DeliveryReport {
    /// Webhooks finally answered 2xx (all of them, when `deliver` returns `Ok`).
    pub delivered: usize,
    /// POSTs made, retries included.
    pub attempts: u64,
    /// Non-2xx answers by HTTP status.
    pub refused: BTreeMap<u16, u64>,
    /// Attempts that got no answer (connection refused or reset, timeout).
    pub unanswered: u64,
    pub elapsed: Duration,
}

impl DeliveryReport {
    pub fn per_second(&self) -> f64 {
        self.delivered as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

#[derive(Default)]
struct Tally {
    attempts: AtomicU64,
    unanswered: AtomicU64,
    refused: Mutex<BTreeMap<u16, u64>>,
}

pub struct MetaSender {
    url: String,
    http: reqwest::Client,
    concurrency: usize,
    /// Webhooks answered 2xx so far (for a test that acts at some point of the load).
    delivered: Arc<AtomicUsize>,
    /// How long one webhook may go unaccepted before the run fails.
    give_up_after: Duration,
}

impl MetaSender {
    /// A sender to the relay at `relay_base` with `concurrency` connections.
    pub fn new(relay_base: &str, concurrency: usize) -> Result<Self> {
        Ok(Self {
            url: format!("{relay_base}/webhooks/meta"),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .pool_max_idle_per_host(concurrency)
                .build()?,
            concurrency: concurrency.max(1),
            delivered: Arc::new(AtomicUsize::new(0)),
            give_up_after: Duration::from_secs(120),
        })
    }

    /// The count of webhooks answered 2xx so far.
    pub fn delivered(&self) -> Arc<AtomicUsize> {
        self.delivered.clone()
    }

    /// Delivers every body (signed with the app secret), retrying each until it is accepted.
    pub async fn deliver(&self, bodies: Vec<Vec<u8>>) -> Result<DeliveryReport> {
        let started = Instant::now();
        let queue = Arc::new(Mutex::new(VecDeque::from(bodies)));
        let tally = Arc::new(Tally::default());
        let workers: Vec<_> = (0..self.concurrency)
            .map(|_| {
                let queue = queue.clone();
                let tally = tally.clone();
                let delivered = self.delivered.clone();
                let http = self.http.clone();
                let url = self.url.clone();
                let give_up_after = self.give_up_after;
                tokio::spawn(async move {
                    loop {
                        let next = queue.lock().map_err(|_| anyhow!("poisoned"))?.pop_front();
                        let Some(body) = next else {
                            return Ok::<_, anyhow::Error>(());
                        };
                        deliver_one(&http, &url, body, &tally, give_up_after).await?;
                        delivered.fetch_add(1, Ordering::SeqCst);
                    }
                })
            })
            .collect();
        for worker in workers {
            worker.await??;
        }
        let refused = tally.refused.lock().map_err(|_| anyhow!("poisoned"))?;
        Ok(DeliveryReport {
            delivered: self.delivered.load(Ordering::SeqCst),
            attempts: tally.attempts.load(Ordering::SeqCst),
            refused: refused.clone(),
            unanswered: tally.unanswered.load(Ordering::SeqCst),
            elapsed: started.elapsed(),
        })
    }
}

async fn deliver_one(
    http: &reqwest::Client,
    url: &str,
    body: Vec<u8>,
    tally: &Tally,
    give_up_after: Duration,
) -> Result<()> {
    let signature = sign(crate::APP_SECRET.as_bytes(), &body);
    let first = Instant::now();
    let mut backoff = FIRST_BACKOFF;
    loop {
        tally.attempts.fetch_add(1, Ordering::SeqCst);
        let answer = http
            .post(url)
            .header("content-type", "application/json")
            .header(SIGNATURE_HEADER, &signature)
            .body(body.clone())
            .send()
            .await;
        match answer {
            Ok(resp) if resp.status().is_success() => return Ok(()),
            Ok(resp) => {
                let mut refused = tally.refused.lock().map_err(|_| anyhow!("poisoned"))?;
                *refused.entry(resp.status().as_u16()).or_default() += 1;
            }
            Err(_) => {
                tally.unanswered.fetch_add(1, Ordering::SeqCst);
            }
        }
        if first.elapsed() > give_up_after {
            return Err(anyhow!(
                "a webhook was not accepted within {give_up_after:?} of retrying"
            ));
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}
