//! What a DuckLake source's change feed says before a refresh plans: the snapshot the refresh's transaction reads,
//! and whether the snapshots committed since the stored mark touched the table (insertions only, or more). Read in
//! the refresh's own transaction, whose DuckLake snapshot is fixed at its first read of the lake.

use std::collections::BTreeMap;

use duckdb::Connection;

use super::lookup::{self, Resolved};
use super::sql::{rows, scalar};
use super::Session;
use crate::error::Result;
use crate::model::{FeedProbe, FeedSince, Kind, ModelDef};
use crate::planner::snapshots::{self, Snapshot, Touched};
use crate::quote::ident;

impl Session<'_> {
    /// The DuckLake table a relation name resolves to, with the model's search_path; None for anything else.
    pub fn lake_table(&self, relation: &str, search_path: &str) -> Result<Option<Resolved>> {
        let default_db = self.default_database()?;
        Ok(self.resolve_relation(relation, search_path, &default_db)?.filter(|r| r.kind == "ducklake"))
    }

    /// The feed of each DuckLake source of the model, by relation, since the marks stored at its last refresh.
    pub fn feeds(&self, def: &ModelDef, marks: &BTreeMap<String, String>) -> Result<BTreeMap<String, FeedProbe>> {
        let mut out = BTreeMap::new();
        for s in def.sources.iter().filter(|s| s.kind == Kind::Feed) {
            let Some(t) = self.lake_table(&s.relation, &def.search_path)? else {
                continue;
            };
            let current = current_snapshot(self.conn, &t.database)?;
            let row = t.lake.clone();
            let since = match marks.get(&s.relation).and_then(|m| m.parse::<i64>().ok()) {
                None => FeedSince::NotRead,
                Some(from) if from >= current => FeedSince::Untouched,
                Some(from) => self.since(&t.database, row.as_ref().map(|r| r.id), from, current)?,
            };
            out.insert(
                s.relation.clone(),
                FeedProbe {
                    catalog: t.database.clone(),
                    schema: t.schema.clone(),
                    table: t.table.clone(),
                    current,
                    since,
                    table_id: row.as_ref().map(|r| r.id),
                    rows: row.and_then(|r| r.rows),
                },
            );
        }
        Ok(out)
    }

    /// What the snapshots after `from` did to the table, read from the lake's metadata catalog with the range pushed
    /// down to it: `snapshots()` reads every snapshot the lake ever kept, so its cost grows with the lake's history.
    /// Snapshots up to `current` are committed and never change, so this agrees with the transaction's snapshot.
    /// `id` is the table's id in the lake, None when its metadata row could not be found.
    fn since(&self, lake: &str, id: Option<i64>, from: i64, current: i64) -> Result<FeedSince> {
        Ok(snapshots::since(&range(self.conn, lake, from, current)?, id, from, current))
    }
}

/// The lake's snapshots from `from` to `to`, both included, with what each changed.
/// The snapshot the transaction reads the lake at (its first read of the lake fixes it).
pub(super) fn current_snapshot(conn: &Connection, lake: &str) -> Result<i64> {
    Ok(scalar(conn, &format!("SELECT id FROM {}.current_snapshot()", ident(lake)), &[])?.unwrap_or_default())
}

/// What the snapshots after `since` up to `current` touched; None when one of them was expired unread (snapshot ids
/// grow by one with each commit, so a range with one missing is not complete).
pub(super) fn touched_since(conn: &Connection, lake: &str, since: i64, current: i64) -> Result<Option<Touched>> {
    let range = range(conn, lake, since + 1, current)?;
    let complete = i64::try_from(range.len()).is_ok_and(|n| n == current - since);
    Ok(complete.then(|| snapshots::touched(&range)))
}

pub(super) fn range(conn: &Connection, lake: &str, from: i64, to: i64) -> Result<Vec<Snapshot>> {
    let meta = lookup::metadata(lake);
    let sql = format!(
        "SELECT s.snapshot_id, c.changes_made
         FROM {meta}.ducklake_snapshot s LEFT JOIN {meta}.ducklake_snapshot_changes c USING (snapshot_id)
         WHERE s.snapshot_id >= ? AND s.snapshot_id <= ?"
    );
    rows(conn, &sql, &[&from, &to], |r| Ok(Snapshot::new(r.get(0)?, r.get::<_, Option<String>>(1)?.as_deref())))
}
