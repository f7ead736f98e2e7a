//! The workspace log as devices see it: pages with long-poll, Server-Sent Events, acks,
//! and device-appended events.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use futures::stream::{self, Stream, StreamExt};
use protocol::events::{
    AckRequest, AckResponse, AppendEventRequest, AppendEventResponse, Event, EventKind, EventPage,
    EventsQuery, MAX_PAGE,
};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use tokio::sync::watch;

use crate::auth::Auth;
use crate::error::{AppError, AppResult, Json};
use crate::metrics::{Metrics, StreamGuard};
use crate::store::{EventRecord, WriteOp, WriteOutcome};
use crate::webhooks::commit::CommitError;
use crate::AppState;

/// Longest a long-poll may wait; proxies commonly cut idle requests after 60-100 s.
pub const MAX_WAIT_SECS: u64 = 60;
/// Largest sealed envelope a device may append (messages, notes; media travel separately).
pub const MAX_SEALED_BYTES: usize = 1024 * 1024;
const MAX_CLIENT_EVENT_ID: usize = 128;

fn to_event(r: EventRecord) -> Event {
    Event {
        seq: r.seq,
        id: r.id,
        kind: r.kind,
        sealed: protocol::sealed::to_base64(&r.sealed),
        created_at: r.created_at,
        origin_session: r.origin_session,
        client_event_id: r.client_event_id,
    }
}

/// One page for `auth`'s session from cursor `after`.
///
/// A cursor below the session's `entitled_after` (a device created after a prune, reading
/// from 0) starts at that watermark: what was pruned before the device existed was never
/// owed to it. Below `pruned_through` after that, events the session was owed are gone.
async fn page(state: &AppState, auth: &Auth, after: i64, limit: u32) -> AppResult<EventPage> {
    let after = after.max(auth.entitled_after);
    let (records, pruned_through) = state
        .store
        .events_after(auth.workspace_id, after, limit)
        .await?;
    if after < pruned_through {
        // Events after this cursor are gone: say so rather than hand out a gap.
        return Ok(EventPage {
            events: Vec::new(),
            next_after: pruned_through,
            resync_required: true,
        });
    }
    let next_after = records.last().map_or(after, |r| r.seq);
    Ok(EventPage {
        events: records.into_iter().map(to_event).collect(),
        next_after,
        resync_required: false,
    })
}

/// `GET /v1/events?after=N&limit=L&wait=S`.
pub async fn list(
    State(state): State<AppState>,
    auth: Auth,
    Query(q): Query<EventsQuery>,
) -> AppResult<Json<EventPage>> {
    let after = q.after.max(0);
    let limit = q.limit.unwrap_or(MAX_PAGE).clamp(1, MAX_PAGE);
    let wait = Duration::from_secs(q.wait.unwrap_or(0).min(MAX_WAIT_SECS));
    // Subscribe before reading, so a commit between the read and the wait is not missed.
    let mut changed = state.wakeups.subscribe(auth.workspace_id);
    let mut shutdown = state.shutdown.clone();
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let result = page(&state, &auth, after, limit).await?;
        if !result.events.is_empty() || result.resync_required || wait.is_zero() {
            return Ok(Json(result));
        }
        tokio::select! {
            r = changed.changed() => if r.is_err() { return Ok(Json(result)) },
            _ = tokio::time::sleep_until(deadline) => return Ok(Json(result)),
            _ = crate::stopping(&mut shutdown) => return Ok(Json(result)),
        }
    }
}

/// `GET /v1/events/stream`: Server-Sent Events from `Last-Event-ID` (or `?after=`). Each
/// event's SSE id is its seq and its data the [`Event`] JSON; a cursor behind retention gets
/// one `resync_required` event and the stream ends.
pub async fn stream(
    State(state): State<AppState>,
    auth: Auth,
    headers: HeaderMap,
    Query(q): Query<EventsQuery>,
) -> AppResult<Sse<impl Stream<Item = Result<SseEvent, Infallible>>>> {
    let after = match headers.get("last-event-id") {
        Some(v) => v
            .to_str()
            .ok()
            .and_then(|s| s.trim().parse::<i64>().ok())
            .ok_or_else(|| AppError::BadRequest("Last-Event-ID must be an event seq".into()))?,
        None => q.after,
    }
    .max(0);
    struct Cursor {
        state: AppState,
        auth: Auth,
        after: i64,
        changed: watch::Receiver<u64>,
        shutdown: watch::Receiver<bool>,
        done: bool,
        _connected: StreamGuard,
    }
    let cursor = Cursor {
        _connected: StreamGuard::new(state.metrics.clone()),
        changed: state.wakeups.subscribe(auth.workspace_id),
        shutdown: state.shutdown.clone(),
        state,
        auth,
        after,
        done: false,
    };
    let events = stream::unfold(cursor, |mut c| async move {
        if c.done {
            return None;
        }
        loop {
            // A session revoked (or a workspace deleted) while its stream is open must stop
            // receiving: re-check before every page, not only when the stream started.
            match c.state.store.session_is_live(c.auth.session_id).await {
                Ok(true) => {}
                Ok(false) => return None,
                Err(e) => {
                    tracing::warn!(error = %e, "event stream ended by a read error");
                    return None;
                }
            }
            let result = match page(&c.state, &c.auth, c.after, MAX_PAGE).await {
                Ok(p) => p,
                Err(e) => {
                    tracing::warn!(error = %e, "event stream ended by a read error");
                    return None;
                }
            };
            if result.resync_required {
                c.done = true;
                let ev = SseEvent::default()
                    .event("resync_required")
                    .data(result.next_after.to_string());
                return Some((vec![ev], c));
            }
            if !result.events.is_empty() {
                c.after = result.next_after;
                let evs = result
                    .events
                    .iter()
                    .filter_map(|e| {
                        SseEvent::default()
                            .id(e.seq.to_string())
                            .event("event")
                            .json_data(e)
                            .ok()
                    })
                    .collect();
                return Some((evs, c));
            }
            tokio::select! {
                r = c.changed.changed() => if r.is_err() { return None },
                _ = crate::stopping(&mut c.shutdown) => return None,
            }
        }
    })
    .flat_map(|evs| stream::iter(evs.into_iter().map(Ok)));
    Ok(Sse::new(events).keep_alive(KeepAlive::default()))
}

/// `POST /v1/events/ack`.
pub async fn ack(
    State(state): State<AppState>,
    auth: Auth,
    Json(req): Json<AckRequest>,
) -> AppResult<Json<AckResponse>> {
    let acked = state
        .store
        .ack(
            auth.workspace_id,
            auth.session_id,
            req.seq,
            OffsetDateTime::now_utc(),
        )
        .await?;
    Ok(Json(AckResponse { acked }))
}

/// `POST /v1/events`: append a device-sealed event, idempotent by `client_event_id`.
pub async fn append(
    State(state): State<AppState>,
    auth: Auth,
    Json(req): Json<AppendEventRequest>,
) -> AppResult<(StatusCode, Json<AppendEventResponse>)> {
    let id = req.client_event_id.trim();
    if id.is_empty() || id.len() > MAX_CLIENT_EVENT_ID {
        return Err(AppError::BadRequest(format!(
            "client_event_id must be 1 to {MAX_CLIENT_EVENT_ID} characters"
        )));
    }
    let sealed = protocol::sealed::from_base64(&req.sealed)
        .ok()
        .filter(|s| s.len() <= MAX_SEALED_BYTES && protocol::sealed::is_well_formed(s))
        .ok_or_else(|| {
            AppError::BadRequest("sealed must be a base64 sealed envelope of at most 1 MiB".into())
        })?;
    // What only owners and admins may do is marked by the relay, which knows the session's
    // role: the devices trust the mark, not the sealed content's claim.
    let kind = if req.manager {
        auth.require_manager()?;
        EventKind::DeviceManager
    } else {
        EventKind::Device
    };
    let mut h = Sha256::new();
    h.update(b"device-event:");
    h.update(id.as_bytes());
    let op = WriteOp::DeviceEvent {
        workspace_id: auth.workspace_id,
        session_id: auth.session_id,
        kind,
        client_event_id: id.to_owned(),
        dedupe_key: h.finalize().into(),
        sealed,
        created_at: OffsetDateTime::now_utc(),
    };
    let outcomes = state
        .committer
        .submit(vec![op])
        .await
        .map_err(|e| match e {
            CommitError::Closed | CommitError::Busy => AppError::Unavailable,
            CommitError::Failed => AppError::Internal(e.into()),
        })?;
    match outcomes.first() {
        Some(WriteOutcome::Appended { seq, id, .. }) => {
            Metrics::add(&state.metrics.device_events_appended, 1);
            Ok((
                StatusCode::CREATED,
                Json(AppendEventResponse {
                    seq: *seq,
                    id: *id,
                    created: true,
                }),
            ))
        }
        Some(WriteOutcome::Duplicate { seq, id, .. }) => Ok((
            StatusCode::OK,
            Json(AppendEventResponse {
                seq: *seq,
                id: *id,
                created: false,
            }),
        )),
        other => Err(AppError::Internal(anyhow::anyhow!(
            "unexpected append outcome {other:?}"
        ))),
    }
}
