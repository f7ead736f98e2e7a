//! The live phase of sync: once caught up, events come over the relay's Server-Sent Events
//! stream and are applied in batches, exactly as pages are.
//!
//! Why this shape:
//! - **A batch is a page.** What arrived (up to [`PAGE_LIMIT`] events, or whatever came before
//!   [`QUIET`] passed without another) is applied through [`Syncer::apply`] in one
//!   transaction with its cursor, then acked — the same opener, idempotency and reports as
//!   catch-up. A burst of 10,000 webhooks is ten commits, not 10,000.
//! - **The stream always starts from the committed cursor** (`Last-Event-ID`), so a dropped
//!   connection loses nothing: events that were in flight come again, and applying them twice
//!   changes nothing.
//! - **An older relay without the stream (404/405) is long-polled**, as before the stream.
//! - **[`Live::next`] is cancel-safe** (callers race it against shutdown): the batch being
//!   gathered is kept in [`Live`], never only in the dropped future, so the events already read
//!   off the connection are not skipped by the next call; the batch being committed is applied
//!   in a task of its own, which a dropped call does not cut half-way through a transaction.

use std::time::Duration;

use protocol::events::EventPage;

use super::stream::{EventStream, StreamItem};
use super::{PageReport, SyncError, Syncer, PAGE_LIMIT};

/// How long a batch waits for one more event before it is applied: a burst of events arrives
/// within it, a lone event is applied after this delay.
pub const QUIET: Duration = Duration::from_millis(10);

/// A stream silent for this long (no event, no keep-alive; the relay sends one every 15 s) is
/// presumed dead and reconnected.
pub const STREAM_IDLE: Duration = Duration::from_secs(45);

/// Which way a batch reached this device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// The relay's Server-Sent Events stream.
    Stream,
    /// Long-polling `GET /v1/events` (a relay without the stream).
    LongPoll,
}

/// Events applied (committed and acked) in the live phase.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LiveBatch {
    /// What applying them did, as for a page.
    pub report: PageReport,
    /// How they came.
    pub transport: Transport,
}

/// Follows the relay's log after a catch-up; see [`Syncer::live`].
#[derive(Debug)]
pub struct Live {
    syncer: Syncer,
    wait: Duration,
    /// The open stream; `None` before the first call and after it broke.
    stream: Option<EventStream>,
    /// The relay has no stream: long-poll.
    long_poll: bool,
    /// Events read off the stream and not yet handed to a commit, in seq order.
    batch: EventPage,
    /// The batch being applied and acked, in a task of its own: a transaction future dropped
    /// half-way hands its connection back to the pool mid-transaction (the next `BEGIN` on it
    /// fails), so a cancelled call leaves the commit running and the next call collects it.
    committing: Option<(
        tokio::task::JoinHandle<Result<PageReport, SyncError>>,
        Transport,
    )>,
}

impl Live {
    pub(super) fn new(syncer: Syncer, wait: Duration) -> Self {
        Self {
            syncer,
            wait,
            stream: None,
            long_poll: false,
            batch: empty_page(),
            committing: None,
        }
    }

    /// How events come now: [`Transport::LongPoll`] once the relay turned out to have no
    /// stream, [`Transport::Stream`] otherwise.
    pub fn transport(&self) -> Transport {
        if self.long_poll {
            Transport::LongPoll
        } else {
            Transport::Stream
        }
    }

    /// Waits for the next events after the committed cursor, applies them in one transaction
    /// and acks them. Opens the stream from the committed cursor on the first call and after
    /// an error.
    ///
    /// Errors end the connection (the next call reconnects from the committed cursor); the
    /// caller decides whether to retry ([`SyncError::is_transient`]), after its backoff.
    /// [`SyncError::ResyncRequired`] comes as from a page. The relay ending the stream (its
    /// shutdown, this session signed out) is [`SyncError::StreamBroken`] once the events it
    /// sent before are applied.
    pub async fn next(&mut self) -> Result<LiveBatch, SyncError> {
        let outcome = self.next_inner().await;
        if outcome.is_err() {
            self.stream = None;
            self.batch = empty_page();
        }
        outcome
    }

    async fn next_inner(&mut self) -> Result<LiveBatch, SyncError> {
        loop {
            if let Some((task, transport)) = self.committing.as_mut() {
                // Awaiting a `&mut JoinHandle` is cancel-safe: the task runs on.
                let outcome = task.await;
                let transport = *transport;
                self.committing = None;
                let report = outcome.map_err(|e| {
                    SyncError::StreamBroken(format!("applying a batch did not finish: {e}"))
                })??;
                return Ok(LiveBatch { report, transport });
            }
            if self.long_poll {
                let page = self.syncer.fetch(self.wait).await?;
                if !page.events.is_empty() {
                    self.commit(page, Transport::LongPoll);
                }
                continue;
            }
            if self.stream.is_none() {
                // A new stream starts at the committed cursor and so brings again whatever a
                // failed call left uncommitted here.
                self.batch = empty_page();
                let after = self.syncer.cursor().await?;
                match self.syncer.client.event_stream(after, STREAM_IDLE).await? {
                    Some(stream) => self.stream = Some(stream),
                    None => {
                        tracing::info!("sync: the relay has no event stream; long-polling");
                        self.long_poll = true;
                        continue;
                    }
                }
            }
            self.gather().await?;
            let page = std::mem::replace(&mut self.batch, empty_page());
            self.commit(page, Transport::Stream);
        }
    }

    /// Applies `page` in one transaction and acks it after the commit, in its own task.
    fn commit(&mut self, page: EventPage, transport: Transport) {
        let syncer = self.syncer.clone();
        let task = tokio::spawn(async move {
            let report = syncer.apply(&page).await?;
            syncer.ack(report.cursor).await?;
            Ok::<_, SyncError>(report)
        });
        self.committing = Some((task, transport));
    }

    /// Reads events into `self.batch` until it is full, or holds at least one and the stream
    /// was quiet for [`QUIET`] (or ended: what arrived before the end is applied, and the next
    /// call reconnects).
    async fn gather(&mut self) -> Result<(), SyncError> {
        let Some(stream) = self.stream.as_mut() else {
            return Err(SyncError::StreamBroken("no stream is open".into()));
        };
        let mut ended = false;
        while self.batch.events.len() < PAGE_LIMIT as usize {
            let item = if self.batch.events.is_empty() {
                stream.next().await?
            } else {
                match tokio::time::timeout(QUIET, stream.next()).await {
                    Ok(item) => item?,
                    Err(_) => break,
                }
            };
            match item {
                Some(StreamItem::Event(event)) => {
                    self.batch.next_after = event.seq;
                    self.batch.events.push(*event);
                }
                Some(StreamItem::ResyncRequired { next_after }) => {
                    return Err(SyncError::ResyncRequired { next_after });
                }
                None => {
                    ended = true;
                    break;
                }
            }
        }
        if ended {
            self.stream = None;
            if self.batch.events.is_empty() {
                return Err(SyncError::StreamBroken(
                    "the relay ended the event stream".into(),
                ));
            }
        }
        Ok(())
    }
}

fn empty_page() -> EventPage {
    EventPage {
        events: Vec::new(),
        next_after: 0,
        resync_required: false,
    }
}
