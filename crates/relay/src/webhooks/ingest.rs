//! `POST /webhooks/meta`: verify, split into entries, route, seal, store durably, answer.
//!
//! Order matters: the signature is checked on the raw bytes before anything is parsed or
//! stored (fail-closed), and 200 goes out only after the group commit holding every entry of
//! the delivery returned. Any failure after the signature check answers 5xx so Meta retries.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use cloud_api::signature::{verify, SignatureError, SIGNATURE_HEADER};
use serde::Deserialize;
use serde_json::value::RawValue;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use crate::error::{AppError, AppResult};
use crate::metrics::Metrics;
use crate::store::{WriteOp, WriteOutcome};
use crate::timing;
use crate::webhooks::commit::CommitError;
use crate::AppState;

/// The part of Meta's envelope the relay needs. Entries stay raw: what devices get is exactly
/// what Meta sent, and the dedupe key is computed over those exact bytes.
#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(borrow)]
    entry: Vec<&'a RawValue>,
}

#[derive(Deserialize)]
struct EntryHead {
    id: String,
}

/// One entry of a delivery, ready to route.
#[derive(Debug)]
pub struct Entry<'a> {
    pub waba_id: String,
    pub raw: &'a [u8],
}

/// Splits a body into entries, or `None` if it is not a webhook envelope at all.
pub fn split_entries(body: &[u8]) -> Option<Vec<Entry<'_>>> {
    let envelope: Envelope<'_> = serde_json::from_slice(body).ok()?;
    envelope
        .entry
        .into_iter()
        .map(|raw| {
            let head: EntryHead = serde_json::from_str(raw.get()).ok()?;
            Some(Entry {
                waba_id: head.id,
                raw: raw.get().as_bytes(),
            })
        })
        .collect()
}

/// Two deliveries carrying the same entry bytes are the same entry (Meta retries resend the
/// body unchanged); different entries always differ somewhere (ids, timestamps).
pub fn dedupe_key(raw_entry: &[u8]) -> [u8; 32] {
    Sha256::digest(raw_entry).into()
}

/// What a delivery comes to before anything is stored.
#[derive(Debug)]
pub enum Ingest {
    /// The signature is missing, malformed or wrong: answer 403, store nothing.
    Refused(SignatureError),
    /// Store these in one commit, then answer 200 (none: answer 200 at once).
    Store(Vec<WriteOp>),
}

/// Everything `POST /webhooks/meta` does before the commit: verify the signature on the raw
/// bytes, split the envelope, look up each WABA's owner, seal each entry to it (or to the
/// held-event key), or encrypt a signed non-envelope for inspection. No writes: the fuzz target
/// `relay_ingest` drives this with a real store, where a commit per input would be too slow.
pub async fn prepare(
    state: &AppState,
    body: &[u8],
    signature: Option<&str>,
    now: OffsetDateTime,
) -> AppResult<Ingest> {
    if let Err(e) = verify(
        state.config.meta_app_secret.expose().as_bytes(),
        body,
        signature,
    ) {
        return Ok(Ingest::Refused(e));
    }
    let ops = match split_entries(body) {
        Some(entries) => route_and_seal(state, &entries, now).await?,
        None => {
            // Signed by Meta but not an envelope we understand: keep it (encrypted) for a
            // human to look at, and answer 200 so Meta does not retry it for 7 days.
            tracing::warn!(
                bytes = body.len(),
                "signed webhook body is not an envelope; kept for inspection"
            );
            let encrypted = state
                .keys
                .encrypt_for_inspection(body)
                .map_err(|e| AppError::Internal(e.into()))?;
            vec![WriteOp::InvalidBody {
                encrypted,
                received_at: now,
            }]
        }
    };
    Ok(Ingest::Store(ops))
}

pub async fn receive(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> AppResult<StatusCode> {
    let answer = store(&state, &headers, &body).await;
    if let Err(e) = &answer {
        // The route has no request span (see `app`): say here which request failed. Meta
        // retries a 5xx, so nothing is lost, but an operator must see it happening.
        Metrics::add(&state.metrics.webhooks_failed, 1);
        tracing::warn!(error = %e, bytes = body.len(), "webhook not stored; Meta will retry it");
    }
    answer
}

async fn store(state: &AppState, headers: &HeaderMap, body: &[u8]) -> AppResult<StatusCode> {
    let signature = headers.get(SIGNATURE_HEADER).and_then(|v| v.to_str().ok());
    let now = OffsetDateTime::now_utc();
    let mut clock = std::time::Instant::now();
    let ops = match prepare(state, body, signature, now).await? {
        Ingest::Refused(e) => {
            Metrics::add(&state.metrics.webhooks_rejected, 1);
            tracing::warn!(reason = %e, bytes = body.len(), "webhook refused");
            return Ok(StatusCode::FORBIDDEN);
        }
        Ingest::Store(ops) => ops,
    };
    Metrics::add(&state.metrics.webhooks_received, 1);
    if ops.is_empty() {
        return Ok(StatusCode::OK);
    }
    let media_counts: Vec<usize> = ops
        .iter()
        .map(|op| match op {
            WriteOp::WebhookEntry { media, .. } => media.len(),
            _ => 0,
        })
        .collect();
    let prepare_us = timing::lap(&mut clock);
    let outcomes = state.committer.submit(ops).await.map_err(|e| match e {
        CommitError::Closed | CommitError::Busy => AppError::Unavailable,
        CommitError::Failed => AppError::Internal(e.into()),
    })?;
    tracing::debug!(
        target: timing::TARGET,
        prepare_us,
        submit_us = timing::lap(&mut clock),
        "request"
    );
    if outcomes.contains(&WriteOutcome::Stale) {
        // A WABA changed hands mid-delivery; Meta's retry will be routed afresh.
        return Err(AppError::Unavailable);
    }
    // Inbound media were queued in the same commit as their events: wake the fetcher.
    if outcomes
        .iter()
        .zip(&media_counts)
        .any(|(outcome, &media)| media > 0 && matches!(outcome, WriteOutcome::Appended { .. }))
    {
        state.media_queue.wake();
    }
    let count = |f: fn(&WriteOutcome) -> bool| outcomes.iter().filter(|o| f(o)).count() as u64;
    let appended = count(|o| matches!(o, WriteOutcome::Appended { .. }));
    let held = count(|o| matches!(o, WriteOutcome::Held));
    let m = &state.metrics;
    Metrics::add(&m.webhook_entries_stored, appended);
    Metrics::add(&m.webhook_entries_held, held);
    Metrics::add(
        &m.webhook_entries_duplicate,
        count(|o| {
            matches!(
                o,
                WriteOutcome::Duplicate { .. } | WriteOutcome::HeldDuplicate
            )
        }),
    );
    Metrics::add(
        &m.webhook_bodies_invalid,
        count(|o| matches!(o, WriteOutcome::InvalidStored)),
    );
    // Debug, not info: at thousands of webhooks a second a line each would be most of the
    // relay's writing; `/metrics` counts them.
    tracing::debug!(entries = outcomes.len(), appended, held, "webhook stored");
    Ok(StatusCode::OK)
}

/// Seals each entry to the workspace owning its WABA, or to the relay's held-event key, with
/// that key's current data key (a v2 envelope: AES-GCM, no X25519 per entry). Sealing
/// happens here, concurrently across requests, not in the single writer.
async fn route_and_seal(
    state: &AppState,
    entries: &[Entry<'_>],
    now: OffsetDateTime,
) -> AppResult<Vec<WriteOp>> {
    let mut wabas: Vec<String> = entries.iter().map(|e| e.waba_id.clone()).collect();
    wabas.sort();
    wabas.dedup();
    let owners = state.owners.owners(&*state.store, &wabas).await?;
    let held_key = state.keys.held_public();
    entries
        .iter()
        .map(|entry| {
            let owner = owners.get(&entry.waba_id);
            let key = owner.map_or(held_key, |w| &w.public_key);
            let sealed = state
                .data_keys
                .seal(key, entry.raw)
                .map_err(|e| AppError::Internal(e.into()))?;
            Ok(WriteOp::WebhookEntry {
                waba_id: entry.waba_id.clone(),
                dedupe_key: dedupe_key(entry.raw),
                sealed,
                sealed_for: owner.map(|w| w.id),
                received_at: now,
                media: crate::media::media_refs(entry.raw),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_keep_their_exact_bytes() {
        let body = br#"{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[]}, {"id": "2" ,"changes":[{"field":"messages"}]}]}"#;
        let entries = split_entries(body).unwrap();
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0].waba_id, "1");
        assert_eq!(entries[0].raw, br#"{"id":"1","changes":[]}"#);
        assert_eq!(
            entries[1].raw,
            br#"{"id": "2" ,"changes":[{"field":"messages"}]}"#
        );
    }

    #[test]
    fn non_envelopes_are_recognised() {
        assert!(split_entries(b"not json").is_none());
        assert!(split_entries(br#"{"object":"x"}"#).is_none());
        assert!(split_entries(br#"{"entry":[{"changes":[]}]}"#).is_none());
        assert_eq!(split_entries(br#"{"entry":[]}"#).map(|e| e.len()), Some(0));
    }
}
