//! What a DuckLake source's change feed says before a refresh plans: the snapshot the refresh's transaction reads,
//! and whether the snapshots committed since the stored mark touched the table (insertions only, or more). Read in
//! the refresh's own transaction, whose DuckLake snapshot is fixed at its first read of the lake.

use std::collections::BTreeMap;

use super::shapes::Resolved;
use super::sql::{rows, scalar};
use super::Session;
use crate::error::Result;
use crate::model::{FeedProbe, FeedSince, Kind, ModelDef};
use crate::quote::ident;

/// The change kinds of `snapshots().changes` that remove or rewrite rows, and those that only add rows; values are
/// table ids as text. A table created again gets a new id and uuid, which the source's recorded identity catches.
const REWRITES: &[&str] = &["tables_deleted_from", "inlined_delete", "tables_altered", "tables_dropped"];
const INSERTS: &[&str] = &["tables_inserted_into", "inlined_insert"];

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
            let since = match marks.get(&s.relation).and_then(|m| m.parse::<i64>().ok()) {
                None => FeedSince::NotRead,
                Some(from) if from >= current => FeedSince::Untouched,
                Some(from) => self.since(&t, from, current)?,
            };
            out.insert(
                s.relation.clone(),
                FeedProbe {
                    catalog: t.database.clone(),
                    schema: t.schema.clone(),
                    table: t.table.clone(),
                    current,
                    since,
                },
            );
        }
        Ok(out)
    }

    fn since(&self, t: &Resolved, from: i64, current: i64) -> Result<FeedSince> {
        let lake = ident(&t.database);
        let kept = rows(
            self.conn,
            &format!(
                "SELECT coalesce(bool_or(snapshot_id = ?), false), coalesce(bool_or(snapshot_id = ? + 1), false)
                 FROM {lake}.snapshots() WHERE snapshot_id IN (?, ? + 1)"
            ),
            &[&from, &from, &from, &from],
            |r| Ok((r.get::<_, bool>(0)?, r.get::<_, bool>(1)?)),
        )?;
        let (from_kept, next_kept) = kept.first().copied().unwrap_or((false, false));
        if !from_kept {
            return Ok(FeedSince::Expired { from });
        }
        let id = self.lake_table_row(&t.database, &t.schema, &t.table)?.map(|(id, _)| id);
        let Some(id) = id else {
            return Ok(FeedSince::Changed { from, next_kept });
        };
        let touched = |keys: &[&str]| {
            keys.iter()
                .map(|k| {
                    format!(
                        "list_contains(coalesce(changes[{}], []), {})",
                        crate::quote::literal(k),
                        crate::quote::literal(&id.to_string())
                    )
                })
                .collect::<Vec<_>>()
                .join(" OR ")
        };
        let sql = format!(
            "SELECT coalesce(bool_or({}), false), coalesce(bool_or({}), false) FROM {lake}.snapshots()
             WHERE snapshot_id > ? AND snapshot_id <= ?",
            touched(REWRITES),
            touched(INSERTS)
        );
        let found = rows(self.conn, &sql, &[&from, &current], |r| Ok((r.get::<_, bool>(0)?, r.get::<_, bool>(1)?)))?;
        Ok(match found.first().copied().unwrap_or((true, true)) {
            (true, _) => FeedSince::Changed { from, next_kept },
            (false, true) => FeedSince::InsertsOnly { from, next_kept },
            (false, false) => FeedSince::Untouched,
        })
    }
}
