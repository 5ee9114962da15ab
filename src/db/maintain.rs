//! Lake maintenance that keeps every model's change feed readable: snapshots are expired only below the oldest
//! one a model still reads from (and older than the given age, so recent time travel stays possible), then small
//! files are merged, which leaves the feed intact. One maintenance per lake at a time in this process; compaction
//! that conflicts with a concurrent writer is tried again.

use super::refresh::retrying;
use super::sql::{batch, rows, scalar};
use super::Session;
use crate::error::{Error, Result};
use crate::quote::{ident, literal};

pub struct Maintained {
    pub database: String,
    pub kept_from: i64,
    pub expired: i64,
    pub merged: bool,
}

impl Session<'_> {
    pub fn maintain(&self, database: &str, older_than: &str) -> Result<Maintained> {
        let found: Option<String> = scalar(
            self.conn,
            "SELECT database_name FROM duckdb_databases() WHERE lower(database_name) = lower(?) AND type = 'ducklake'",
            &[&database],
        )?;
        let db = found.ok_or_else(|| {
            Error::usage(format!(
                "incremental_maintain: {database} is not an attached DuckLake; pass the name it was attached as (see SELECT database_name FROM duckdb_databases() WHERE type = 'ducklake')"
            ))
        })?;
        self.check_cast(&db, "older_than", older_than, "INTERVAL")?;
        let _one_at_a_time = self.locks.lock(format!("maintenance of {}", db.to_lowercase()))?;
        let lake = ident(&db);
        let current = super::feed::current_snapshot(self.conn, &db)?;
        let kept_from = self.oldest_needed(&db)?.unwrap_or(current).min(current);
        let versions: Vec<i64> = rows(
            self.conn,
            &format!(
                "SELECT snapshot_id FROM {lake}.snapshots() WHERE snapshot_id < ? AND snapshot_id < ?
                 AND snapshot_time < now() - CAST({} AS INTERVAL) ORDER BY 1",
                literal(older_than)
            ),
            &[&kept_from, &current],
            |r| r.get(0),
        )?;
        if !versions.is_empty() {
            let list = versions.iter().map(i64::to_string).collect::<Vec<_>>().join(", ");
            let sql = format!("CALL ducklake_expire_snapshots({}, versions => [{list}])", literal(&db));
            retrying(self.conn, || batch(self.conn, &sql))?;
        }
        let merge = format!("CALL ducklake_merge_adjacent_files({})", literal(&db));
        retrying(self.conn, || batch(self.conn, &merge))?;
        Ok(Maintained { database: db, kept_from, expired: versions.len() as i64, merged: true })
    }

    /// The oldest snapshot of lake `db` that a model of any attached catalog still reads its feed from.
    fn oldest_needed(&self, db: &str) -> Result<Option<i64>> {
        let mut oldest: Option<i64> = None;
        for m in super::catalog::all(self.conn)? {
            for (relation, probe) in self.feeds(&m.def, &m.state.source_marks)? {
                let mark = m.state.source_marks.get(&relation).and_then(|v| v.parse::<i64>().ok());
                if let Some(mark) = mark.filter(|_| probe.catalog.eq_ignore_ascii_case(db)) {
                    oldest = Some(oldest.map_or(mark, |o| o.min(mark)));
                }
            }
        }
        Ok(oldest)
    }
}
