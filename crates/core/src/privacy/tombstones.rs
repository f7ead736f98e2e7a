//! Erased customers, remembered so that they stay erased.
//!
//! Erasing a customer deletes every row about them, and with them the wamids that deduplicate
//! what arrives later. Events about the customer that are older than the erasure keep coming
//! after it: this device's own `message_sent` events coming back from the log, a teammate's
//! reply or note queued while offline, a late read receipt, Meta's retry of an older inbound
//! message. Applied, each would bring the customer back, on some devices and not others.
//!
//! So each erasure leaves a tombstone per id of the customer (`wa_id`, `user_id`): an
//! HMAC-SHA256 of the id (a phone number in its normalised form) under a random key of this
//! store, and the erasure's time. Sync then drops what is about a tombstoned customer and
//! dated at or before their erasure; what is later is the customer writing again (or the team
//! answering that) and is applied as usual, but for a label, note or name, which waits for the
//! customer to be here again (`team::apply`).
//!
//! This is pseudonymisation, not anonymisation: the key lives in the same (encrypted) database,
//! so whoever can open it can test a guessed number against the tombstones, as a business's
//! suppression list would let them. It holds no name, text or number in the clear, and the
//! tombstones are kept for as long as the store, so that the erasure keeps holding.
//!
//! A later status, reaction or edit is about a message, which may be one the erasure removed:
//! a reaction or edit is applied only if its message is here, a status of a message not here
//! (yet) is kept without the recipient's id (`sync::apply`).

use std::collections::HashMap;

use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;
use sqlx::SqliteConnection;

use crate::store::{normalize_phone, now, StoreError};

/// The `settings` row holding the hash key (hex), made at the first erasure.
const KEY_SETTING: &str = "privacy.erasure_key";

type IdHash = [u8; 32];

/// The tombstones of a store, read once per sync page (a row per erased id: small).
#[derive(Default)]
pub(crate) struct Tombstones {
    /// `None` while nothing was ever erased here.
    key: Option<[u8; 32]>,
    /// Each id hash's erasure time, Unix milliseconds.
    erased: HashMap<IdHash, i64>,
}

/// Counts only: the key must not reach a log.
impl std::fmt::Debug for Tombstones {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tombstones")
            .field("erased", &self.erased.len())
            .finish_non_exhaustive()
    }
}

impl Tombstones {
    /// Reads every tombstone inside the caller's transaction.
    pub(crate) async fn load(conn: &mut SqliteConnection) -> Result<Self, StoreError> {
        let rows: Vec<(Vec<u8>, i64)> =
            sqlx::query_as("SELECT id_hash, erased_at FROM erased_contacts")
                .fetch_all(&mut *conn)
                .await?;
        if rows.is_empty() {
            return Ok(Self::default());
        }
        // Nothing can match without the key; sync goes on rather than stall on every page.
        let Some(key) = read_key(conn).await? else {
            tracing::error!("privacy: erased customers are recorded but their hash key is gone");
            return Ok(Self::default());
        };
        let erased = rows
            .into_iter()
            .filter_map(|(hash, at)| Some((IdHash::try_from(hash.as_slice()).ok()?, at)))
            .collect();
        Ok(Self {
            key: Some(key),
            erased,
        })
    }

    /// When the customer known by any of `ids` was last erased here (Unix ms), if ever.
    pub(crate) fn erased_at<'a>(
        &self,
        ids: impl IntoIterator<Item = Option<&'a str>>,
    ) -> Option<i64> {
        let key = self.key.as_ref()?;
        ids.into_iter()
            .flatten()
            .filter(|id| !id.is_empty())
            .filter_map(|id| self.erased.get(&id_hash(key, id)).copied())
            .max()
    }

    /// Whether something about the customer known by `ids`, dated `at_ms`, is from before
    /// their erasure, and so must not be applied.
    pub(crate) fn buries<'a>(
        &self,
        ids: impl IntoIterator<Item = Option<&'a str>>,
        at_ms: i64,
    ) -> bool {
        self.erased_at(ids).is_some_and(|erased| at_ms <= erased)
    }

    /// Whether nothing was ever erased here (every check is then free).
    pub(crate) fn is_empty(&self) -> bool {
        self.erased.is_empty()
    }

    /// Whether a webhook part kept raw (a change or message this build does not apply) names a
    /// customer erased here in any of its strings, and is not dated after their erasure by a
    /// `timestamp` of its own (Unix seconds, the newest one counts): then it is not kept.
    pub(crate) fn buries_part(&self, part: &Value) -> bool {
        if self.is_empty() {
            return false;
        }
        let mut erased: Option<i64> = None;
        let mut newest: Option<i64> = None;
        self.visit(part, &mut erased, &mut newest);
        erased.is_some_and(|erased| newest.is_none_or(|secs| secs_to_ms(secs) <= erased))
    }

    fn visit(&self, value: &Value, erased: &mut Option<i64>, newest: &mut Option<i64>) {
        match value {
            Value::String(s) => {
                if let Some(at) = self.erased_at([Some(s.as_str())]) {
                    *erased = (*erased).max(Some(at));
                }
            }
            Value::Array(items) => {
                for item in items {
                    self.visit(item, erased, newest);
                }
            }
            Value::Object(fields) => {
                for (name, item) in fields {
                    if name == "timestamp" {
                        let secs = item
                            .as_i64()
                            .or_else(|| item.as_str().and_then(|s| s.parse().ok()));
                        *newest = (*newest).max(secs);
                    }
                    self.visit(item, erased, newest);
                }
            }
            _ => {}
        }
    }
}

/// Records that the customer known by `ids` was erased at `at_ms` (Unix ms), inside the
/// erasing transaction; an earlier erasure's time is moved forward, never back.
pub(crate) async fn bury_in(
    conn: &mut SqliteConnection,
    ids: [Option<&str>; 2],
    at_ms: i64,
) -> Result<(), StoreError> {
    let key = match read_key(conn).await? {
        Some(key) => key,
        None => create_key(conn).await?,
    };
    for id in ids.into_iter().flatten().filter(|id| !id.is_empty()) {
        sqlx::query(
            "INSERT INTO erased_contacts (id_hash, erased_at) VALUES (?, ?)
             ON CONFLICT(id_hash) DO UPDATE SET
                 erased_at = MAX(erased_at, excluded.erased_at)",
        )
        .bind(id_hash(&key, id).as_slice())
        .bind(at_ms)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Seconds (a message's or webhook's time) as the milliseconds tombstones are dated in.
pub(crate) fn secs_to_ms(secs: i64) -> i64 {
    secs.saturating_mul(1000)
}

/// The keyed hash of a customer id. A phone number is hashed in its normalised form, as the
/// store matches contacts by it: `+1 650-555-1234` in an older build's `to` is `16505551234`.
fn id_hash(key: &[u8; 32], id: &str) -> IdHash {
    let normalised = normalize_phone(id);
    let id = normalised.as_deref().unwrap_or(id);
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes a key of any length");
    mac.update(id.as_bytes());
    mac.finalize().into_bytes().into()
}

async fn read_key(conn: &mut SqliteConnection) -> Result<Option<[u8; 32]>, StoreError> {
    let stored: Option<String> =
        sqlx::query_scalar("SELECT value_json FROM settings WHERE key = ?")
            .bind(KEY_SETTING)
            .fetch_optional(&mut *conn)
            .await?;
    let Some(stored) = stored else {
        return Ok(None);
    };
    let hex_key: String = serde_json::from_str(&stored)
        .map_err(|e| StoreError::Invalid(format!("the erasure hash key is unreadable: {e}")))?;
    let bytes = hex::decode(hex_key)
        .map_err(|e| StoreError::Invalid(format!("the erasure hash key is unreadable: {e}")))?;
    let key = <[u8; 32]>::try_from(bytes.as_slice())
        .map_err(|_| StoreError::Invalid("the erasure hash key is not 32 bytes".into()))?;
    Ok(Some(key))
}

async fn create_key(conn: &mut SqliteConnection) -> Result<[u8; 32], StoreError> {
    let key: [u8; 32] = rand::random();
    let value = serde_json::Value::String(hex::encode(key)).to_string();
    sqlx::query("INSERT INTO settings (key, value_json, updated_at) VALUES (?, ?, ?)")
        .bind(KEY_SETTING)
        .bind(value)
        .bind(now())
        .execute(&mut *conn)
        .await?;
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(key: [u8; 32], erased: &[(&str, i64)]) -> Tombstones {
        Tombstones {
            key: Some(key),
            erased: erased
                .iter()
                .map(|(id, at)| (id_hash(&key, id), *at))
                .collect(),
        }
    }

    #[test]
    fn only_what_predates_the_erasure_is_buried() {
        let t = with([7; 32], &[("16505551234", 5_000)]);
        assert!(t.buries([Some("16505551234")], 5_000));
        assert!(t.buries([None, Some("16505551234")], 4_999));
        assert!(!t.buries([Some("16505551234")], 5_001), "they wrote again");
        assert!(!t.buries([Some("16505559999")], 1), "someone else");
        assert!(!t.buries([Some("")], 1));
        assert_eq!(t.erased_at([Some("x"), Some("16505551234")]), Some(5_000));
    }

    #[test]
    fn the_hash_depends_on_the_key_and_is_not_the_number() {
        let a = id_hash(&[1; 32], "16505551234");
        assert_ne!(a, id_hash(&[2; 32], "16505551234"));
        assert!(!hex::encode(a).contains("16505551234"));
        let t = with([1; 32], &[("16505551234", 5_000)]);
        let other_key = Tombstones {
            key: Some([2; 32]),
            erased: t.erased.clone(),
        };
        assert!(!other_key.buries([Some("16505551234")], 1));
    }

    #[test]
    fn a_number_is_the_same_customer_however_it_is_written() {
        let t = with([7; 32], &[("16505551234", 5_000)]);
        assert!(t.buries([Some("+1 650-555-1234")], 5_000));
        assert!(t.buries([Some("+16505551234")], 5_000));
        assert!(
            !t.buries([Some("US.16505551234")], 5_000),
            "a user id is not a number"
        );
    }

    #[test]
    fn raw_parts_naming_them_are_buried_unless_dated_after() {
        let t = with([7; 32], &[("16505551234", 5_000)]);
        let call = |ts: Value| {
            serde_json::json!({"calls": [{"from": "16505551234", "timestamp": ts,
                                          "to": "15550783881"}]})
        };
        assert!(t.buries_part(&call(serde_json::json!("4"))));
        assert!(t.buries_part(&call(serde_json::json!(5))));
        assert!(
            !t.buries_part(&call(serde_json::json!("6"))),
            "they called again"
        );
        assert!(
            t.buries_part(&serde_json::json!({"wa_id": "16505551234"})),
            "undated"
        );
        assert!(!t.buries_part(&serde_json::json!({"wa_id": "16505559999"})));
        assert!(!Tombstones::default().buries_part(&serde_json::json!({"wa_id": "1"})));
    }

    #[test]
    fn nothing_is_buried_before_the_first_erasure() {
        let t = Tombstones::default();
        assert!(t.is_empty());
        assert!(!t.buries([Some("16505551234")], 0));
    }
}
