//! What the event writer knows without asking SQLite in every commit: the owner of each WABA
//! it has routed (or that nobody owns it) and each workspace's next seq.
//!
//! Why: reading the owners and reserving the seqs were two of the six round trips to SQLite's
//! worker thread that bounded a group commit (BENCHMARKS.md, "Relay webhook ingest"). Both
//! change only under the log lock, by the holder of that lock: claims insert into `wabas`,
//! deletions remove a workspace with its WABAs, and the log's own commits move `next_seq`.
//! Each of them updates or forgets the entry here once its transaction is settled. A missing
//! entry is read from SQLite: whoever changed it committed before releasing the log lock, so
//! any connection reads the current value. Forgetting is always safe, so a commit that may
//! not have landed forgets every seq it touched. The seq update a commit writes also checks
//! the value it starts from (see `Appends::write`): a wrong entry fails the commit instead of
//! reusing seqs.

use std::collections::{HashMap, HashSet};

use sqlx::{QueryBuilder, Row, Sqlite, SqlitePool};
use uuid::Uuid;

use super::{get_uuid, workspace_from_row};
use crate::store::{StoreError, StoreResult, WorkspaceRecord};

/// Ids per `IN (…)` lookup: far below SQLite's 32,766 bound values.
const IDS_PER_LOOKUP: usize = 500;
/// WABAs remembered at most. Only Meta-signed webhooks name new ones, but WABAs nobody owns are
/// remembered too, so the map is bounded all the same: past this, it starts over (forgetting
/// is always safe; the next commits read what they need again).
const MAX_OWNERS: usize = 100_000;

#[derive(Debug, Default)]
pub(in crate::store) struct Known {
    /// `None`: nobody owned the WABA when it was read (its entries are held).
    owners: HashMap<String, Option<WorkspaceRecord>>,
    next_seq: HashMap<Uuid, i64>,
}

impl Known {
    /// Reads the owners of the `wabas` not known yet (one statement per 500).
    pub async fn load_owners(
        &mut self,
        pool: &SqlitePool,
        wabas: &HashSet<&str>,
    ) -> StoreResult<()> {
        if self.owners.len() + wabas.len() > MAX_OWNERS {
            self.owners.clear();
        }
        let missing: Vec<&str> = wabas
            .iter()
            .copied()
            .filter(|w| !self.owners.contains_key(*w))
            .collect();
        for chunk in missing.chunks(IDS_PER_LOOKUP) {
            let mut q = QueryBuilder::<Sqlite>::new(
                "SELECT o.waba_id, w.id, w.company, w.public_key FROM wabas o
                 JOIN workspaces w ON w.id = o.workspace_id WHERE o.waba_id IN (",
            );
            let mut list = q.separated(", ");
            for waba in chunk {
                list.push_bind(*waba);
            }
            q.push(")");
            let mut found = HashMap::new();
            for row in q.build().fetch_all(pool).await? {
                found.insert(
                    row.try_get::<String, _>("waba_id")?,
                    workspace_from_row(&row)?,
                );
            }
            for waba in chunk {
                let owner = found.remove(*waba);
                self.owners.insert((*waba).to_owned(), owner);
            }
        }
        Ok(())
    }

    /// The owner of a WABA loaded by [`Known::load_owners`] (`None`: nobody, or not loaded).
    pub fn owner(&self, waba: &str) -> Option<&WorkspaceRecord> {
        self.owners.get(waba).and_then(Option::as_ref)
    }

    /// A claim committed: `waba` is `owner`'s from now on.
    pub fn claimed(&mut self, waba: &str, owner: WorkspaceRecord) {
        self.owners.insert(waba.to_owned(), Some(owner));
    }

    /// Reads the next seq of the `workspaces` not known yet; a workspace that does not exist
    /// (deleted) is `NotFound`, as appending to it would be.
    pub async fn load_seqs(&mut self, pool: &SqlitePool, workspaces: &[Uuid]) -> StoreResult<()> {
        let missing: Vec<Uuid> = workspaces
            .iter()
            .copied()
            .filter(|w| !self.next_seq.contains_key(w))
            .collect();
        for chunk in missing.chunks(IDS_PER_LOOKUP) {
            let mut q =
                QueryBuilder::<Sqlite>::new("SELECT id, next_seq FROM workspaces WHERE id IN (");
            let mut list = q.separated(", ");
            for ws in chunk {
                list.push_bind(ws.to_string());
            }
            q.push(")");
            for row in q.build().fetch_all(pool).await? {
                self.next_seq
                    .insert(get_uuid(&row, "id")?, row.try_get("next_seq")?);
            }
            if chunk.iter().any(|w| !self.next_seq.contains_key(w)) {
                return Err(StoreError::NotFound);
            }
        }
        Ok(())
    }

    /// The next seq of a workspace loaded by [`Known::load_seqs`].
    pub fn next_seq(&self, workspace: Uuid) -> Option<i64> {
        self.next_seq.get(&workspace).copied()
    }

    /// A commit holding seqs up to `next - 1` of `workspace` committed.
    pub fn appended(&mut self, workspace: Uuid, next: i64) {
        self.next_seq.insert(workspace, next);
    }

    /// After a commit whose outcome is not known for sure: read every seq again.
    pub fn forget_seqs(&mut self) {
        self.next_seq.clear();
    }

    /// The workspace is being deleted: forget its seq and the WABAs it owned (a later
    /// delivery for one of them is held again, as nobody owns it any more).
    pub fn forget_workspace(&mut self, workspace: Uuid) {
        self.next_seq.remove(&workspace);
        self.owners
            .retain(|_, owner| owner.as_ref().is_none_or(|w| w.id != workspace));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_owners_map_stays_bounded() {
        let pool = SqlitePool::connect("sqlite::memory:").await.unwrap();
        sqlx::query(
            "CREATE TABLE workspaces (id TEXT, company TEXT, public_key TEXT);
             CREATE TABLE wabas (waba_id TEXT, workspace_id TEXT);",
        )
        .execute(&pool)
        .await
        .unwrap();
        let mut known = Known::default();
        let batch = 5_000;
        for round in 0..(MAX_OWNERS / batch + 2) {
            let names: Vec<String> = (0..batch).map(|i| format!("{round}-{i}")).collect();
            let wabas: HashSet<&str> = names.iter().map(String::as_str).collect();
            known.load_owners(&pool, &wabas).await.unwrap();
            assert!(known.owners.len() <= MAX_OWNERS, "{}", known.owners.len());
            // What this round asked for is known (as owned by nobody).
            assert!(wabas.iter().all(|w| known.owners.contains_key(*w)));
        }
    }
}
