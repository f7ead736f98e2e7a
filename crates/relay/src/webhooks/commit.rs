//! Group commit: one writer task turns every concurrent write request into a single durable
//! transaction, then answers each request. Under load, the requests that arrive while one
//! transaction is being fsync'd form the next batch, so the fsync cost is shared instead of
//! paid per webhook (DESIGN.md: one transaction per batch, never per row).

use std::sync::Arc;
use std::time::Instant;

use tokio::sync::{mpsc, oneshot, watch};

use crate::wakeups::Wakeups;

use crate::metrics::Metrics;
use crate::store::{Store, WriteOp, WriteOutcome};
use crate::timing;

/// Most ops one transaction takes; a backlog larger than this is split across commits.
const MAX_OPS_PER_BATCH: usize = 4096;
/// Requests waiting for the writer before senders wait (backpressure, not unbounded memory).
const QUEUE_DEPTH: usize = 4096;

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CommitError {
    /// Shutting down: nothing of this request was stored; the sender should retry.
    #[error("the writer is shut down")]
    Closed,
    /// The batch's transaction failed (logged by the writer); nothing of it was stored.
    #[error("the commit failed")]
    Failed,
    /// The store is behind (its event index stalled) and refused new writes for now; nothing
    /// of this request was stored: the sender should retry later (503).
    #[error("the store is behind; retry later")]
    Busy,
}

impl CommitError {
    fn from_store(e: &crate::store::StoreError) -> Self {
        use crate::store::StoreError;
        match e {
            StoreError::IndexBehind | StoreError::WalBusy => Self::Busy,
            _ => Self::Failed,
        }
    }
}

type Reply = oneshot::Sender<Result<Vec<WriteOutcome>, CommitError>>;

struct Job {
    ops: Vec<WriteOp>,
    /// When the request was queued (timing only: how long batches wait for the writer).
    queued: Instant,
    reply: Reply,
}

/// The handle requests use to submit writes.
#[derive(Clone)]
pub struct Committer {
    tx: mpsc::Sender<Job>,
}

impl Committer {
    /// Starts the writer task. It ends after `shutdown` turns true and the queued requests
    /// are committed; the workspaces that got events are woken after each commit.
    pub fn start(
        store: Arc<dyn Store>,
        wakeups: Arc<Wakeups>,
        shutdown: watch::Receiver<bool>,
        metrics: Arc<Metrics>,
    ) -> (Self, tokio::task::JoinHandle<()>) {
        let (tx, rx) = mpsc::channel(QUEUE_DEPTH);
        // The writer gets a thread and a runtime of its own: a transaction is a chain of
        // awaits on SQLite's worker thread, and on the server's runtime each of them waited
        // behind every busy HTTP task, so under load a commit spent most of its time queued
        // rather than writing, and every webhook waited for it.
        let (done, finished) = tokio::sync::oneshot::channel::<()>();
        let spawned = std::thread::Builder::new()
            .name("group-commit".into())
            .spawn(move || {
                match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt.block_on(writer(store, rx, wakeups, shutdown, metrics)),
                    Err(e) => tracing::error!(error = %e, "group-commit runtime failed to start"),
                }
                let _ = done.send(());
            });
        if let Err(e) = spawned {
            tracing::error!(error = %e, "group-commit thread failed to start");
        }
        let task = tokio::spawn(async move {
            let _ = finished.await;
        });
        (Self { tx }, task)
    }

    /// Stores `ops` durably; returns once their transaction is committed.
    pub async fn submit(&self, ops: Vec<WriteOp>) -> Result<Vec<WriteOutcome>, CommitError> {
        let (reply, answer) = oneshot::channel();
        self.tx
            .send(Job {
                ops,
                queued: Instant::now(),
                reply,
            })
            .await
            .map_err(|_| CommitError::Closed)?;
        answer.await.map_err(|_| CommitError::Closed)?
    }
}

async fn writer(
    store: Arc<dyn Store>,
    mut rx: mpsc::Receiver<Job>,
    wakeups: Arc<Wakeups>,
    mut shutdown: watch::Receiver<bool>,
    metrics: Arc<Metrics>,
) {
    loop {
        let first = tokio::select! {
            biased;
            job = rx.recv() => job,
            _ = crate::stopping(&mut shutdown) => None,
        };
        let Some(first) = first else {
            // Shutting down (or every sender is gone): refuse new work, but commit what is
            // already queued before stopping.
            rx.close();
            while let Some(job) = rx.recv().await {
                commit(&*store, vec![job], &wakeups, &metrics).await;
            }
            break;
        };
        let mut jobs = vec![first];
        let mut ops = jobs[0].ops.len();
        while ops < MAX_OPS_PER_BATCH {
            match rx.try_recv() {
                Ok(job) => {
                    ops += job.ops.len();
                    jobs.push(job);
                }
                Err(_) => break,
            }
        }
        commit(&*store, jobs, &wakeups, &metrics).await;
    }
    tracing::debug!("group-commit writer stopped");
}

async fn commit(store: &dyn Store, jobs: Vec<Job>, wakeups: &Wakeups, metrics: &Metrics) {
    Metrics::add(&metrics.group_commits, 1);
    Metrics::add(&metrics.group_commit_requests, jobs.len() as u64);
    // The ops move into one batch (no copy of their sealed bytes); each job keeps its count.
    let queue_us = jobs
        .first()
        .map_or(0, |j| timing::micros(j.queued.elapsed()));
    let requests = jobs.len();
    let mut all: Vec<WriteOp> = Vec::with_capacity(jobs.iter().map(|j| j.ops.len()).sum());
    let mut waiting = Vec::with_capacity(jobs.len());
    for job in jobs {
        waiting.push((job.ops.len(), job.reply));
        all.extend(job.ops);
    }
    let started = Instant::now();
    let result = store.commit_batch(&all).await;
    let store_us = timing::micros(started.elapsed());
    Metrics::add(&metrics.group_commit_micros, store_us);
    let answering = Instant::now();
    answer(store, result, all, waiting, wakeups).await;
    tracing::debug!(
        target: timing::TARGET,
        requests,
        queue_us,
        store_us,
        answer_us = timing::micros(answering.elapsed()),
        "group_commit"
    );
}

/// Hands each waiter its outcomes (retrying each request alone if the batch failed).
async fn answer(
    store: &dyn Store,
    result: Result<Vec<WriteOutcome>, crate::store::StoreError>,
    all: Vec<WriteOp>,
    waiting: Vec<(usize, Reply)>,
    wakeups: &Wakeups,
) {
    match result {
        Ok(outcomes) => {
            notify(&outcomes, wakeups);
            let mut rest = outcomes.into_iter();
            for (n, reply) in waiting {
                // A requester that went away (client hung up) just misses its answer.
                let _ = reply.send(Ok(rest.by_ref().take(n).collect()));
            }
        }
        // A store that refuses writes for now refuses each of them alike: no point retrying.
        Err(e) if waiting.len() > 1 && CommitError::from_store(&e) != CommitError::Busy => {
            // One bad request must not fail its neighbours: retry each on its own.
            tracing::warn!(error = %e, requests = waiting.len(), "group commit failed; retrying singly");
            let mut ops = all.as_slice();
            for (n, reply) in waiting {
                let (mine, rest) = ops.split_at(n.min(ops.len()));
                ops = rest;
                let result = store.commit_batch(mine).await;
                if let Ok(outcomes) = &result {
                    notify(outcomes, wakeups);
                }
                let _ = reply.send(result.map_err(|e| {
                    tracing::error!(error = %e, "commit failed");
                    CommitError::from_store(&e)
                }));
            }
        }
        Err(e) => {
            tracing::error!(error = %e, "commit failed");
            let error = CommitError::from_store(&e);
            for (_, reply) in waiting {
                let _ = reply.send(Err(error));
            }
        }
    }
}

fn notify(outcomes: &[WriteOutcome], wakeups: &Wakeups) {
    let mut woken = Vec::new();
    for o in outcomes {
        if let WriteOutcome::Appended { workspace_id, .. } = o {
            if !woken.contains(workspace_id) {
                woken.push(*workspace_id);
                wakeups.wake(*workspace_id);
            }
        }
    }
}
