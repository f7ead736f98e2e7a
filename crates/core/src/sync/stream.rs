//! The relay's Server-Sent Events (`GET /v1/events/stream`) as a sequence of log events.
//!
//! The SSE framing (multi-line `data:`, `id:`, `event:`, comments used as keep-alives) is
//! `eventsource-stream`'s; this module only guards the byte stream against going silent and
//! turns the relay's two event types into [`StreamItem`]s:
//! - `event: event`, `id: <seq>`, `data: <Event JSON>`: one event of the log;
//! - `event: resync_required`, `data: <next_after>`: the cursor is behind retention, and the
//!   relay ends the stream after it.
//!
//! Other event types are skipped (a newer relay may add some), so an older device keeps working.

use std::pin::Pin;
use std::time::Duration;

use eventsource_stream::{EventStreamError, Eventsource};
use futures::stream::{Stream, StreamExt};
use protocol::events::Event;

use super::SyncError;

/// One thing the relay's stream said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum StreamItem {
    /// An event of the log, in seq order.
    Event(Box<Event>),
    /// The relay pruned events this device never got; the log continues after `next_after`.
    ResyncRequired {
        /// The last pruned seq.
        next_after: i64,
    },
}

/// Why the bytes under the SSE framing stopped.
#[derive(Debug, thiserror::Error)]
enum ReadError {
    #[error(transparent)]
    Http(#[from] reqwest::Error),
    /// Neither an event nor a keep-alive comment for this long: the connection is presumed dead
    /// (a half-open TCP connection never errors by itself).
    #[error("nothing, not even a keep-alive, for {0:?}")]
    Idle(Duration),
}

type Framed = Pin<
    Box<dyn Stream<Item = Result<eventsource_stream::Event, EventStreamError<ReadError>>> + Send>,
>;

/// An open event stream. Dropping it closes the connection.
pub(crate) struct EventStream {
    events: Framed,
}

impl std::fmt::Debug for EventStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventStream").finish_non_exhaustive()
    }
}

impl EventStream {
    /// Reads the SSE body `bytes` (chunks split anywhere), failing when nothing arrives for
    /// `idle` (the relay sends a keep-alive comment every 15 s).
    pub(crate) fn new<S, B>(bytes: S, idle: Duration) -> Self
    where
        S: Stream<Item = Result<B, reqwest::Error>> + Send + 'static,
        B: AsRef<[u8]> + Send + 'static,
    {
        // A timeout per chunk, not per event: keep-alive comments reset it although the framing
        // swallows them.
        let guarded = futures::stream::unfold(Some(Box::pin(bytes)), move |source| async move {
            let mut source = source?;
            match tokio::time::timeout(idle, source.next()).await {
                Ok(Some(Ok(chunk))) => Some((Ok(chunk), Some(source))),
                Ok(Some(Err(e))) => Some((Err(ReadError::Http(e)), None)),
                Ok(None) => None,
                Err(_) => Some((Err(ReadError::Idle(idle)), None)),
            }
        });
        Self {
            events: Box::pin(guarded.eventsource()),
        }
    }

    /// The next item; `None` when the relay ended the stream (shutdown, session ended).
    /// A broken or garbled stream is an error worth retrying from the committed cursor.
    ///
    /// Cancel-safe: an item is either returned or still in the stream.
    pub(crate) async fn next(&mut self) -> Result<Option<StreamItem>, SyncError> {
        loop {
            let Some(framed) = self.events.next().await else {
                return Ok(None);
            };
            let sse = framed.map_err(|e| match e {
                EventStreamError::Transport(ReadError::Http(e)) => SyncError::Http(e),
                other => SyncError::StreamBroken(other.to_string()),
            })?;
            if let Some(item) = item_of(&sse)? {
                return Ok(Some(item));
            }
        }
    }
}

/// What one SSE event means; `None` for event types this device does not know.
fn item_of(sse: &eventsource_stream::Event) -> Result<Option<StreamItem>, SyncError> {
    match sse.event.as_str() {
        "event" => serde_json::from_str::<Event>(&sse.data)
            .map(|e| Some(StreamItem::Event(Box::new(e))))
            .map_err(|e| SyncError::StreamBroken(format!("an event that is not an Event: {e}"))),
        "resync_required" => sse
            .data
            .trim()
            .parse::<i64>()
            .map(|next_after| Some(StreamItem::ResyncRequired { next_after }))
            .map_err(|_| {
                SyncError::StreamBroken(format!("resync_required without a seq: {:?}", sse.data))
            }),
        other => {
            tracing::debug!(event = other, "sync: skipping an unknown stream event type");
            Ok(None)
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    fn event_json(seq: i64) -> String {
        serde_json::json!({
            "seq": seq,
            "id": uuid::Uuid::nil(),
            "kind": "meta_webhook",
            "sealed": "AAAA",
            "created_at": "2026-01-01T00:00:00Z",
        })
        .to_string()
    }

    /// The items of `chunks` read as one body, and the error that ended it if any.
    async fn read(chunks: Vec<String>) -> (Vec<StreamItem>, Option<SyncError>) {
        let source = futures::stream::iter(
            chunks
                .into_iter()
                .map(|c| Ok::<_, reqwest::Error>(c.into_bytes())),
        );
        let mut stream = EventStream::new(source, Duration::from_secs(5));
        let mut items = Vec::new();
        loop {
            match stream.next().await {
                Ok(Some(item)) => items.push(item),
                Ok(None) => return (items, None),
                Err(e) => return (items, Some(e)),
            }
        }
    }

    fn seqs(items: &[StreamItem]) -> Vec<i64> {
        items
            .iter()
            .filter_map(|i| match i {
                StreamItem::Event(e) => Some(e.seq),
                StreamItem::ResyncRequired { .. } => None,
            })
            .collect()
    }

    #[tokio::test]
    async fn events_split_across_chunks_with_comments_between_them() {
        let body = format!(
            ": keep-alive\n\nid: 7\nevent: event\ndata: {}\n\n:\n\nid: 8\r\nevent: event\r\ndata: {}\r\n\r\n",
            event_json(7),
            event_json(8)
        );
        // Every split point: the framing must not depend on how TCP cut the bytes.
        for cut in 1..body.len() {
            let (a, b) = body.split_at(cut);
            let (items, err) = read(vec![a.to_string(), b.to_string()]).await;
            assert!(err.is_none(), "cut at {cut}: {err:?}");
            assert_eq!(seqs(&items), vec![7, 8], "cut at {cut}");
        }
    }

    #[tokio::test]
    async fn multi_line_data_is_joined_with_newlines() {
        // JSON may be spread over several data lines; they join with '\n', which JSON allows
        // between tokens.
        let json = event_json(3);
        let (head, tail) = json.split_at(json.find(",\"kind\"").unwrap() + 1);
        let body = format!("event: event\nid: 3\ndata: {head}\ndata: {tail}\n\n");
        let (items, err) = read(vec![body]).await;
        assert!(err.is_none(), "{err:?}");
        assert_eq!(seqs(&items), vec![3]);
    }

    #[tokio::test]
    async fn resync_required_and_unknown_types() {
        let body = format!(
            "event: hello\ndata: from a newer relay\n\nevent: event\nid: 4\ndata: {}\n\nevent: resync_required\ndata: 42\n\n",
            event_json(4)
        );
        let (items, err) = read(vec![body]).await;
        assert!(err.is_none(), "{err:?}");
        assert_eq!(items.len(), 2);
        assert_eq!(seqs(&items), vec![4]);
        assert_eq!(items[1], StreamItem::ResyncRequired { next_after: 42 });
    }

    #[tokio::test]
    async fn a_half_written_event_at_the_end_is_not_delivered() {
        let body = format!("event: event\nid: 5\ndata: {}\n", event_json(5));
        let (items, err) = read(vec![body]).await;
        assert!(err.is_none(), "{err:?}");
        assert!(items.is_empty());
    }

    #[tokio::test]
    async fn garbage_is_a_transient_error() {
        let (items, err) = read(vec!["event: event\ndata: {not json\n\n".into()]).await;
        assert!(items.is_empty());
        let err = err.unwrap();
        assert!(matches!(err, SyncError::StreamBroken(_)), "{err}");
        assert!(err.is_transient());
        let (_, err) = read(vec!["event: resync_required\ndata: soon\n\n".into()]).await;
        assert!(matches!(err, Some(SyncError::StreamBroken(_))));
    }

    #[tokio::test]
    async fn a_silent_connection_times_out() {
        let source = futures::stream::once(async { Ok::<_, reqwest::Error>(b": hi\n\n".to_vec()) })
            .chain(futures::stream::pending());
        let mut stream = EventStream::new(source, Duration::from_millis(50));
        let started = tokio::time::Instant::now();
        let err = stream.next().await.unwrap_err();
        assert!(matches!(err, SyncError::StreamBroken(_)), "{err}");
        assert!(err.is_transient());
        assert!(started.elapsed() >= Duration::from_millis(50));
    }
}
