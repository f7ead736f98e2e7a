//! Privacy operations (PRODUCT.md: the business's duties towards its customers' data):
//!
//! - [`activity`]: the append-only, hash-chained log every operation below writes to.
//! - [`retention`]: delete messages, media and raw webhook events older than a policy says.
//! - [`export`]: everything held about one contact, or the whole workspace, as a zip.
//! - [`erase`]: a contact erased for good (rows, search index, files, free pages), or all of
//!   the app's data on this device.
//! - [`contacts`]: correct a contact's name, restrict or unrestrict them.
//! - [`tombstones`]: erased customers, remembered as keyed hashes, so that events about them
//!   that arrive after their erasure but are older than it do not bring them back.

pub mod activity;
pub mod contacts;
pub mod erase;
pub mod export;
pub mod retention;
pub(crate) mod tombstones;

use std::path::{Component, Path, PathBuf};

use serde_json::{Map, Value};
use sqlx::sqlite::SqliteRow;
use sqlx::{Column, Row, SqliteConnection, TypeInfo, ValueRef};

use crate::store::StoreError;
use crate::vault::VaultError;

/// Where media files live, relative to the data directory (media rows' `path` is relative to
/// the data directory and normally inside this folder).
pub const MEDIA_DIR: &str = "media";

/// What a privacy operation can fail with.
#[derive(Debug, thiserror::Error)]
pub enum PrivacyError {
    /// The local store failed; nothing of the operation was committed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A file could not be read, written or removed.
    #[error("file error: {0}")]
    Io(#[from] std::io::Error),
    /// The export archive could not be written.
    #[error("could not write the export archive: {0}")]
    Zip(#[from] zip::result::ZipError),
    /// The vault could not remove its records.
    #[error(transparent)]
    Vault(#[from] VaultError),
    /// The contact was erased (rows committed, files removed) but the space could not be
    /// reclaimed yet; call `erase::reclaim_space` again later.
    #[error("the contact was erased, but reclaiming the freed space failed: {0}")]
    ReclaimFailed(Box<StoreError>),
    /// No such contact.
    #[error("there is no contact {0}")]
    ContactNotFound(i64),
    /// Bad input (e.g. an empty display name).
    #[error("invalid input: {0}")]
    Invalid(String),
}

impl From<sqlx::Error> for PrivacyError {
    fn from(e: sqlx::Error) -> Self {
        Self::Store(StoreError::from(e))
    }
}

/// `relative` resolved inside `data_dir`, or `None` when it would leave it (absolute, `..`):
/// a media row must never make us read or delete a file elsewhere.
pub(crate) fn inside(data_dir: &Path, relative: &str) -> Option<PathBuf> {
    let rel = Path::new(relative);
    let safe = !relative.is_empty()
        && rel
            .components()
            .all(|c| matches!(c, Component::Normal(_) | Component::CurDir));
    safe.then(|| data_dir.join(rel))
}

/// A row as a JSON object, whatever its table: integers, reals and text as such, blobs as hex,
/// and `*_json` text columns parsed (so `raw_json` reads as JSON in an export).
pub(crate) fn row_to_json(row: &SqliteRow) -> Value {
    let mut out = Map::new();
    for (i, col) in row.columns().iter().enumerate() {
        let name = col.name();
        let kind = row
            .try_get_raw(i)
            .map(|v| {
                if v.is_null() {
                    "NULL".to_string()
                } else {
                    v.type_info().name().to_string()
                }
            })
            .unwrap_or_default();
        let value = match kind.as_str() {
            "INTEGER" | "BOOLEAN" => row
                .try_get::<i64, _>(i)
                .map(Value::from)
                .unwrap_or(Value::Null),
            "REAL" => row
                .try_get::<f64, _>(i)
                .map(Value::from)
                .unwrap_or(Value::Null),
            "TEXT" | "DATETIME" | "DATE" | "TIME" => {
                let text = row.try_get::<String, _>(i).unwrap_or_default();
                if name.ends_with("_json") {
                    serde_json::from_str(&text).unwrap_or(Value::String(text))
                } else {
                    Value::String(text)
                }
            }
            "BLOB" => row
                .try_get::<Vec<u8>, _>(i)
                .map(|b| Value::String(hex::encode(b)))
                .unwrap_or(Value::Null),
            _ => Value::Null,
        };
        out.insert(name.to_string(), value);
    }
    Value::Object(out)
}

/// The ordinary tables of the database that have a column called `column` (notes, labels and
/// other per-contact or per-conversation tables added by later migrations included), except
/// those in `skip`. Read from the schema so that an export or erasure never misses one.
pub(crate) async fn tables_with_column(
    conn: &mut SqliteConnection,
    column: &str,
    skip: &[&str],
) -> Result<Vec<String>, StoreError> {
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'
             AND name NOT LIKE '%_fts%' AND name NOT LIKE '_sqlx%' ORDER BY name",
    )
    .fetch_all(&mut *conn)
    .await?;
    let mut out = Vec::new();
    for t in tables {
        if skip.contains(&t.as_str()) {
            continue;
        }
        let has: i64 =
            sqlx::query_scalar("SELECT count(*) FROM pragma_table_info(?) WHERE name = ?")
                .bind(&t)
                .bind(column)
                .fetch_one(&mut *conn)
                .await?;
        if has > 0 {
            out.push(t);
        }
    }
    Ok(out)
}

/// `"t"` as an SQL identifier. Table names come from `sqlite_master`, never from users, but are
/// quoted anyway.
pub(crate) fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_stay_inside_the_data_dir() {
        let d = Path::new("/data");
        assert_eq!(
            inside(d, "media/ab/cd.bin"),
            Some(PathBuf::from("/data/media/ab/cd.bin"))
        );
        assert_eq!(inside(d, "../etc/passwd"), None);
        assert_eq!(inside(d, "/etc/passwd"), None);
        assert_eq!(inside(d, "media/../../x"), None);
        assert_eq!(inside(d, ""), None);
    }
}
