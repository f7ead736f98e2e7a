//! Webhook entries committed in bulk: a group commit under load holds hundreds of entries,
//! and one SQL statement per entry per step (owner, dedupe, sequence, event, dedupe key)
//! made the single writer the relay's bottleneck. Here a run of consecutive entries costs a
//! handful of statements whatever its length: one owner lookup, one dedupe lookup and one
//! sequence reservation per workspace, and multi-row inserts.
//!
//! The outcome of every entry is the one the per-entry path gave: appended, duplicate (of a
//! stored delivery or of an earlier entry of the same run), held, held duplicate, or stale.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap, HashSet};

use protocol::events::EventKind;
use sqlx::{QueryBuilder, Row, Sqlite, Transaction};
use time::OffsetDateTime;
use uuid::Uuid;

use super::{get_uuid, ms, workspace_from_row, SqliteStore};
use crate::store::{MediaRef, StoreError, StoreResult, WorkspaceRecord, WriteOp, WriteOutcome};

/// Rows per multi-row statement: 8 bound values each stays far below SQLite's 32,766.
const ROWS_PER_STATEMENT: usize = 500;

/// One entry of the run, borrowed from its [`WriteOp::WebhookEntry`].
struct Entry<'a> {
    waba_id: &'a str,
    dedupe_key: &'a [u8; 32],
    sealed: &'a [u8],
    sealed_for: Option<Uuid>,
    received_at: OffsetDateTime,
    media: &'a [MediaRef],
}

/// An event's place in the run: its workspace and dedupe key.
type Slot<'a> = (Uuid, &'a [u8; 32]);

/// An entry that will become an event of `workspace_id`.
struct Append<'a> {
    index: usize,
    workspace_id: Uuid,
    entry: &'a Entry<'a>,
    sealed: Cow<'a, [u8]>,
}

impl SqliteStore {
    /// Applies a run of `WebhookEntry` ops (any other op is a caller bug and is refused).
    pub(super) async fn apply_webhook_entries(
        &self,
        tx: &mut Transaction<'static, Sqlite>,
        ops: &[&WriteOp],
    ) -> StoreResult<Vec<WriteOutcome>> {
        let entries: Vec<Entry<'_>> = ops
            .iter()
            .map(|op| match op {
                WriteOp::WebhookEntry {
                    waba_id,
                    dedupe_key,
                    sealed,
                    sealed_for,
                    received_at,
                    media,
                } => Ok(Entry {
                    waba_id,
                    dedupe_key,
                    sealed,
                    sealed_for: *sealed_for,
                    received_at: *received_at,
                    media,
                }),
                _ => Err(StoreError::Corrupt(
                    "a webhook run holds another kind of write".into(),
                )),
            })
            .collect::<StoreResult<_>>()?;
        let mut outcomes: Vec<Option<WriteOutcome>> = vec![None; entries.len()];

        // Ownership is read again inside the transaction: a claim racing a delivery either
        // committed before (the entry was sealed for the relay: re-seal it) or after (it is
        // held and released by the claim).
        let owners = owners_in_tx(tx, &entries).await?;
        let mut appends: BTreeMap<Uuid, Vec<Append<'_>>> = BTreeMap::new();
        let mut held: Vec<(usize, &Entry<'_>)> = Vec::new();
        for (index, entry) in entries.iter().enumerate() {
            match (owners.get(entry.waba_id), entry.sealed_for) {
                (Some(ws), Some(sealed_for)) if ws.id == sealed_for => {
                    appends.entry(ws.id).or_default().push(Append {
                        index,
                        workspace_id: ws.id,
                        entry,
                        sealed: Cow::Borrowed(entry.sealed),
                    });
                }
                (Some(ws), None) => {
                    let resealed = self.reseal(entry.sealed, &ws.public_key)?;
                    appends.entry(ws.id).or_default().push(Append {
                        index,
                        workspace_id: ws.id,
                        entry,
                        sealed: Cow::Owned(resealed),
                    });
                }
                (None, None) => held.push((index, entry)),
                _ => outcomes[index] = Some(WriteOutcome::Stale),
            }
        }

        // Which deliveries are already stored (Meta's retries), for every workspace at once.
        let all: Vec<&Append<'_>> = appends.values().flatten().collect();
        let known = stored_deliveries(tx, &all).await?;
        let mut first_in_run: HashMap<Slot<'_>, Option<(i64, Uuid)>> = HashMap::new();
        let mut counts: BTreeMap<Uuid, usize> = BTreeMap::new();
        let mut pending = Vec::new();
        for append in appends.into_values().flatten() {
            let workspace_id = append.workspace_id;
            if let Some(&(seq, id)) = known.get(&(workspace_id, *append.entry.dedupe_key)) {
                outcomes[append.index] = Some(WriteOutcome::Duplicate {
                    workspace_id,
                    seq,
                    id,
                });
                continue;
            }
            let first = !first_in_run.contains_key(&(workspace_id, append.entry.dedupe_key));
            if first {
                first_in_run.insert((workspace_id, append.entry.dedupe_key), None);
                *counts.entry(workspace_id).or_default() += 1;
            }
            pending.push((append, first));
        }
        // Consecutive sequence numbers per workspace, reserved in one statement.
        let mut next_seq = reserve_seqs(tx, &counts).await?;
        let mut fresh: Vec<(Append<'_>, i64, Uuid)> = Vec::new();
        for (append, first) in pending {
            let workspace_id = append.workspace_id;
            let slot = (workspace_id, append.entry.dedupe_key);
            if first {
                let seq = next_seq
                    .get_mut(&workspace_id)
                    .ok_or(StoreError::NotFound)?;
                let (id, this) = (super::event_id(), *seq);
                *seq += 1;
                first_in_run.insert(slot, Some((this, id)));
                outcomes[append.index] = Some(WriteOutcome::Appended {
                    workspace_id,
                    seq: this,
                    id,
                });
                fresh.push((append, this, id));
            } else {
                // A second copy in the same run: a duplicate of the first.
                let (seq, id) =
                    first_in_run.get(&slot).copied().flatten().ok_or_else(|| {
                        StoreError::Corrupt("duplicate before its original".into())
                    })?;
                outcomes[append.index] = Some(WriteOutcome::Duplicate {
                    workspace_id,
                    seq,
                    id,
                });
            }
        }
        insert_events(tx, &fresh).await?;
        insert_media(tx, &fresh).await?;
        for (index, outcome) in insert_held(tx, &held).await? {
            outcomes[index] = Some(outcome);
        }
        outcomes
            .into_iter()
            .map(|o| o.ok_or_else(|| StoreError::Corrupt("a webhook entry got no outcome".into())))
            .collect()
    }
}

/// The workspaces owning the run's WABAs.
async fn owners_in_tx(
    tx: &mut Transaction<'static, Sqlite>,
    entries: &[Entry<'_>],
) -> StoreResult<HashMap<String, WorkspaceRecord>> {
    let wabas: HashSet<&str> = entries.iter().map(|e| e.waba_id).collect();
    let wabas: Vec<&str> = wabas.into_iter().collect();
    let mut owners = HashMap::new();
    for chunk in wabas.chunks(ROWS_PER_STATEMENT) {
        let mut q = QueryBuilder::<Sqlite>::new(
            "SELECT o.waba_id, w.id, w.company, w.public_key FROM wabas o
             JOIN workspaces w ON w.id = o.workspace_id WHERE o.waba_id IN (",
        );
        let mut list = q.separated(", ");
        for waba in chunk {
            list.push_bind(*waba);
        }
        q.push(")");
        for row in q.build().fetch_all(&mut **tx).await? {
            owners.insert(row.try_get("waba_id")?, workspace_from_row(&row)?);
        }
    }
    Ok(owners)
}

/// Deliveries of the run already stored, by (workspace, dedupe key): one indexed lookup of
/// row values for all workspaces.
async fn stored_deliveries(
    tx: &mut Transaction<'static, Sqlite>,
    all: &[&Append<'_>],
) -> StoreResult<HashMap<(Uuid, [u8; 32]), (i64, Uuid)>> {
    let mut known = HashMap::new();
    for chunk in all.chunks(ROWS_PER_STATEMENT) {
        let mut q = QueryBuilder::<Sqlite>::new(
            "SELECT workspace_id, dedupe_key, seq, event_id FROM delivery_keys
             WHERE (workspace_id, dedupe_key) IN (VALUES ",
        );
        let mut keys = q.separated(", ");
        for a in chunk {
            keys.push("(")
                .push_bind_unseparated(a.workspace_id.to_string())
                .push_unseparated(", ")
                .push_bind_unseparated(&a.entry.dedupe_key[..])
                .push_unseparated(")");
        }
        q.push(")");
        for row in q.build().fetch_all(&mut **tx).await? {
            let key: Vec<u8> = row.try_get("dedupe_key")?;
            let key: [u8; 32] = key
                .try_into()
                .map_err(|_| StoreError::Corrupt("bad dedupe key".into()))?;
            known.insert(
                (get_uuid(&row, "workspace_id")?, key),
                (row.try_get("seq")?, get_uuid(&row, "event_id")?),
            );
        }
    }
    Ok(known)
}

/// Reserves `counts[w]` consecutive sequence numbers of each workspace's log in one
/// statement; returns the first of each.
async fn reserve_seqs(
    tx: &mut Transaction<'static, Sqlite>,
    counts: &BTreeMap<Uuid, usize>,
) -> StoreResult<HashMap<Uuid, i64>> {
    let mut first = HashMap::new();
    let counts: Vec<(Uuid, i64)> = counts
        .iter()
        .map(|(w, n)| (*w, i64::try_from(*n).unwrap_or(i64::MAX)))
        .collect();
    for chunk in counts.chunks(ROWS_PER_STATEMENT) {
        let mut q = QueryBuilder::<Sqlite>::new("WITH r(id, n) AS (VALUES ");
        let mut rows = q.separated(", ");
        for (w, n) in chunk {
            rows.push("(")
                .push_bind_unseparated(w.to_string())
                .push_unseparated(", ")
                .push_bind_unseparated(*n)
                .push_unseparated(")");
        }
        q.push(
            ") UPDATE workspaces SET next_seq = next_seq + (SELECT n FROM r WHERE r.id = workspaces.id)
             WHERE id IN (SELECT id FROM r) RETURNING id, next_seq",
        );
        for row in q.build().fetch_all(&mut **tx).await? {
            let id = get_uuid(&row, "id")?;
            let after: i64 = row.try_get("next_seq")?;
            let n = chunk.iter().find(|(w, _)| *w == id).map_or(0, |(_, n)| *n);
            first.insert(id, after - n);
        }
    }
    Ok(first)
}

async fn insert_events(
    tx: &mut Transaction<'static, Sqlite>,
    fresh: &[(Append<'_>, i64, Uuid)],
) -> StoreResult<()> {
    for chunk in fresh.chunks(ROWS_PER_STATEMENT) {
        let mut q = QueryBuilder::<Sqlite>::new(
            "INSERT INTO events (workspace_id, seq, id, kind, sealed, created_at) ",
        );
        q.push_values(chunk, |mut row, (a, seq, id)| {
            row.push_bind(a.workspace_id.to_string())
                .push_bind(*seq)
                .push_bind(id.to_string())
                .push_bind(EventKind::MetaWebhook.as_str())
                .push_bind(&a.sealed[..])
                .push_bind(ms(a.entry.received_at));
        });
        q.build().execute(&mut **tx).await?;

        let mut q = QueryBuilder::<Sqlite>::new(
            "INSERT INTO delivery_keys (workspace_id, dedupe_key, seq, event_id, seen_at) ",
        );
        q.push_values(chunk, |mut row, (a, seq, id)| {
            row.push_bind(a.workspace_id.to_string())
                .push_bind(&a.entry.dedupe_key[..])
                .push_bind(*seq)
                .push_bind(id.to_string())
                .push_bind(ms(a.entry.received_at));
        });
        q.build().execute(&mut **tx).await?;
    }
    Ok(())
}

/// Queues the inbound media of the appended entries (same transaction as their events).
async fn insert_media(
    tx: &mut Transaction<'static, Sqlite>,
    fresh: &[(Append<'_>, i64, Uuid)],
) -> StoreResult<()> {
    let jobs: Vec<(Uuid, &MediaRef, OffsetDateTime)> = fresh
        .iter()
        .flat_map(|(a, _, _)| {
            a.entry
                .media
                .iter()
                .map(|m| (a.workspace_id, m, a.entry.received_at))
        })
        .collect();
    for chunk in jobs.chunks(ROWS_PER_STATEMENT) {
        let mut q = QueryBuilder::<Sqlite>::new(
            "INSERT INTO media (workspace_id, media_id, waba_id, phone_number_id, status,
               next_attempt_at, created_at) ",
        );
        q.push_values(chunk, |mut row, (ws, m, at)| {
            row.push_bind(ws.to_string())
                .push_bind(&m.media_id)
                .push_bind(&m.waba_id)
                .push_bind(&m.phone_number_id)
                .push_bind("pending")
                .push_bind(ms(*at))
                .push_bind(ms(*at));
        });
        q.push(" ON CONFLICT (workspace_id, media_id) DO NOTHING");
        q.build().execute(&mut **tx).await?;
    }
    Ok(())
}

/// Holds entries of WABAs nobody owns yet (sealed to the relay's key) until a claim.
async fn insert_held(
    tx: &mut Transaction<'static, Sqlite>,
    held: &[(usize, &Entry<'_>)],
) -> StoreResult<Vec<(usize, WriteOutcome)>> {
    let mut outcomes = Vec::with_capacity(held.len());
    for chunk in held.chunks(ROWS_PER_STATEMENT) {
        let mut q = QueryBuilder::<Sqlite>::new(
            "INSERT INTO held_events (waba_id, dedupe_key, sealed, received_at) ",
        );
        q.push_values(chunk, |mut row, (_, e)| {
            row.push_bind(e.waba_id)
                .push_bind(&e.dedupe_key[..])
                .push_bind(e.sealed)
                .push_bind(ms(e.received_at));
        });
        q.push(" ON CONFLICT (dedupe_key) DO NOTHING RETURNING dedupe_key");
        let inserted: HashSet<Vec<u8>> = q
            .build()
            .fetch_all(&mut **tx)
            .await?
            .iter()
            .map(|row| row.try_get("dedupe_key"))
            .collect::<Result<_, _>>()?;
        // Of several copies in one run, the first is the one that was held.
        let mut claimed = HashSet::new();
        for (index, e) in chunk {
            let first = inserted.contains(&e.dedupe_key[..]) && claimed.insert(e.dedupe_key);
            outcomes.push((
                *index,
                if first {
                    WriteOutcome::Held
                } else {
                    WriteOutcome::HeldDuplicate
                },
            ));
        }
    }
    Ok(outcomes)
}
