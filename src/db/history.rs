//! The append-only history, `<database>._incremental.history`: one row per refresh that wrote or failed, with a
//! run id no other run gets, so concurrent refreshes append without reading it.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

use duckdb::Connection;

use super::catalog::{databases, table, Run, THIS_MODEL};
use super::sql::{rows, sql_error};
use crate::error::Result;
use crate::model::Target;

/// Microseconds since the epoch, now.
pub fn now_us() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_micros() as i64)
}

/// A run id no other run gets, found without reading the history (concurrent refreshes would read the same
/// maximum): microseconds since the epoch times 1024 plus a tag drawn once per process, and always past the last id
/// this process gave, so ids grow with time. Two processes collide only when they start a run in the same
/// microsecond and drew the same tag.
fn next_run_id() -> i64 {
    use std::hash::{BuildHasher, Hasher};
    static LAST: AtomicI64 = AtomicI64::new(0);
    static TAG: OnceLock<i64> = OnceLock::new();
    let tag =
        *TAG.get_or_init(|| (std::collections::hash_map::RandomState::new().build_hasher().finish() % 1024) as i64);
    let candidate = now_us() * 1024 + tag;
    let previous = LAST.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |last| Some(candidate.max(last + 1024)));
    previous.map_or(candidate, |last| candidate.max(last + 1024))
}

pub fn add(conn: &Connection, target: &Target, run: &Run) -> Result<()> {
    let history = table(&target.database, "history");
    conn.execute(
        &format!(
            "INSERT INTO {history} (run_id, schema_name, table_name, started_at, mode, strategy, rows_inserted,
             rows_updated, rows_deleted, watermark_before, watermark_after, elapsed_ms, reason, error, finished_at, worker)
             SELECT ?, ?, ?, make_timestamp(?)::TIMESTAMPTZ, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, make_timestamp(?)::TIMESTAMPTZ, ?"
        ),
        duckdb::params![
            next_run_id(),
            target.schema,
            target.table,
            run.started_us,
            run.mode,
            run.strategy,
            run.inserted,
            run.updated,
            run.deleted,
            run.watermark_before,
            run.watermark_after,
            run.elapsed_ms,
            run.reason,
            run.error,
            // The refresh's last statement before its commit: DuckDB's now() is the transaction's start.
            now_us(),
            run.worker
        ],
    )
    .map_err(|e| sql_error("writing the refresh history", e))?;
    Ok(())
}

/// One history row: the model, its run id, when it finished, and the run.
pub struct Entry {
    pub target: Target,
    pub run_id: i64,
    pub finished_us: Option<i64>,
    pub run: Run,
}

/// History rows, oldest first, optionally for one model.
pub fn list(conn: &Connection, only: Option<&Target>) -> Result<Vec<Entry>> {
    let mut out = Vec::new();
    for db in databases(conn)? {
        if only.is_some_and(|t| !t.database.eq_ignore_ascii_case(&db)) {
            continue;
        }
        let (schema, name) = only.map(|t| (t.schema.clone(), t.table.clone())).unwrap_or_default();
        let sql = format!(
            "SELECT schema_name, table_name, run_id, epoch_us(started_at), mode, strategy, rows_inserted, rows_updated,
             rows_deleted, watermark_before, watermark_after, elapsed_ms, reason, error, epoch_us(finished_at), worker
             FROM {} WHERE ? = '' OR ({THIS_MODEL}) ORDER BY run_id",
            table(&db, "history")
        );
        let db2 = db.clone();
        out.extend(rows(conn, &sql, &[&name, &schema, &name], move |r| {
            Ok(Entry {
                target: Target { database: db2.clone(), schema: r.get(0)?, table: r.get(1)? },
                run_id: r.get(2)?,
                finished_us: r.get(14)?,
                run: Run {
                    started_us: r.get(3)?,
                    mode: r.get(4)?,
                    strategy: r.get(5)?,
                    inserted: r.get(6)?,
                    updated: r.get(7)?,
                    deleted: r.get(8)?,
                    watermark_before: r.get(9)?,
                    watermark_after: r.get(10)?,
                    elapsed_ms: r.get(11)?,
                    reason: r.get(12)?,
                    error: r.get(13)?,
                    worker: r.get(15)?,
                },
            })
        })?);
    }
    Ok(out)
}
