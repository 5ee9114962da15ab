//! What a DuckLake source's change feed says before a refresh plans: the snapshot the refresh's transaction reads,
//! and whether the snapshots committed since the stored mark touched the table (insertions only, or more). Read in
//! the refresh's own transaction, whose DuckLake snapshot is fixed at its first read of the lake.

use std::collections::BTreeMap;

use super::lookup::{self, Resolved};
use super::sql::{rows, scalar};
use super::Session;
use crate::error::Result;
use crate::model::{FeedProbe, FeedSince, Kind, ModelDef};
use crate::quote::{ident, literal};

/// The entries of `ducklake_snapshot_changes.changes_made` (a comma-separated list of `kind:table id`, what
/// `snapshots().changes` parses) that remove or rewrite a table's rows, and those that only add rows. A table created
/// again gets a new id and uuid, which the source's recorded identity catches.
const REWRITES: &[&str] = &["deleted_from_table", "inlined_delete", "altered_table", "dropped_table"];
const INSERTS: &[&str] = &["inserted_into_table", "inlined_insert"];

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
            let lake = ident(&t.database);
            let current: i64 =
                scalar(self.conn, &format!("SELECT id FROM {lake}.current_snapshot()"), &[])?.unwrap_or_default();
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
        let entries = |kinds: &[&str]| match id {
            Some(id) => {
                let items: Vec<String> = kinds.iter().map(|k| literal(&format!("{k}:{id}"))).collect();
                format!("[{}]", items.join(", "))
            }
            None => "CAST([] AS VARCHAR[])".to_string(),
        };
        let meta = lookup::metadata(lake);
        let touched = |kinds: &[&str]| {
            format!(
                "coalesce(bool_or(s.snapshot_id > ? AND list_has_any(string_split(c.changes_made, ','), {})), false)",
                entries(kinds)
            )
        };
        let sql = format!(
            "SELECT coalesce(bool_or(s.snapshot_id = ?), false), coalesce(bool_or(s.snapshot_id = ? + 1), false), {}, {}
             FROM {meta}.ducklake_snapshot s LEFT JOIN {meta}.ducklake_snapshot_changes c USING (snapshot_id)
             WHERE s.snapshot_id >= ? AND s.snapshot_id <= ?",
            touched(REWRITES),
            touched(INSERTS)
        );
        let found = rows(self.conn, &sql, &[&from, &from, &from, &from, &from, &current], |r| {
            Ok((r.get::<_, bool>(0)?, r.get::<_, bool>(1)?, r.get::<_, bool>(2)?, r.get::<_, bool>(3)?))
        })?;
        let (from_kept, next_kept, rewrites, inserts) = found.first().copied().unwrap_or((false, false, true, true));
        Ok(match (from_kept, id, rewrites, inserts) {
            (false, _, _, _) => FeedSince::Expired { from },
            (true, None, _, _) | (true, _, true, _) => FeedSince::Changed { from, next_kept },
            (true, _, false, true) => FeedSince::InsertsOnly { from, next_kept },
            (true, _, false, false) => FeedSince::Untouched,
        })
    }
}
