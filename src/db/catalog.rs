//! The extension's own tables, `<database>._incremental.models` and `.history`: definitions, watermarks, runs.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

use duckdb::Connection;

use super::sql::{batch, rows, sql_error};
use crate::error::{Error, Result};
use crate::model::{Column, ModelDef, Target};
use crate::quote::qualified;

pub const SCHEMA: &str = "_incremental";

pub(super) fn table(db: &str, name: &str) -> String {
    qualified(&[db, SCHEMA, name])
}

/// A model as stored: its definition and the state the last refresh left.
#[derive(Debug, Clone)]
pub struct Stored {
    pub def: ModelDef,
    pub built: bool,
    pub watermark: Option<String>,
    pub rebuild_reason: Option<String>,
    pub last_refresh_us: Option<i64>,
    pub last_mode: Option<String>,
    pub status: String,
}

/// One finished or failed refresh, as written to the history.
#[derive(Debug, Clone, Default)]
pub struct Run {
    pub mode: String,
    pub strategy: String,
    pub inserted: i64,
    pub updated: i64,
    pub deleted: i64,
    pub watermark_before: Option<String>,
    pub watermark_after: Option<String>,
    pub elapsed_ms: f64,
    pub reason: String,
    pub error: Option<String>,
}

pub fn ensure(conn: &Connection, db: &str) -> Result<()> {
    batch(
        conn,
        &format!(
            "CREATE SCHEMA IF NOT EXISTS {schema};
             CREATE TABLE IF NOT EXISTS {models} (schema_name VARCHAR, table_name VARCHAR, definition VARCHAR,
               built BOOLEAN, watermark VARCHAR, rebuild_reason VARCHAR, created_at TIMESTAMPTZ, updated_at TIMESTAMPTZ,
               last_refresh_at TIMESTAMPTZ, last_mode VARCHAR, status VARCHAR);
             CREATE TABLE IF NOT EXISTS {history} (run_id BIGINT, schema_name VARCHAR, table_name VARCHAR,
               started_at TIMESTAMPTZ, mode VARCHAR, strategy VARCHAR, rows_inserted BIGINT, rows_updated BIGINT,
               rows_deleted BIGINT, watermark_before VARCHAR, watermark_after VARCHAR, elapsed_ms DOUBLE,
               reason VARCHAR, error VARCHAR);",
            schema = qualified(&[db, SCHEMA]),
            models = table(db, "models"),
            history = table(db, "history"),
        ),
    )?;
    super::shapes::ensure(conn, db)
}

/// Databases that hold a model catalog.
pub fn databases(conn: &Connection) -> Result<Vec<String>> {
    rows(
        conn,
        "SELECT database_name FROM duckdb_tables() WHERE schema_name = ? AND table_name = 'models' ORDER BY 1",
        &[&SCHEMA],
        |r| r.get(0),
    )
}

/// The database's name as DuckDB spells it, when it holds a catalog.
fn catalog_database(conn: &Connection, db: &str) -> Result<Option<String>> {
    super::sql::scalar(
        conn,
        "SELECT database_name FROM duckdb_schemas() WHERE lower(database_name) = lower(?) AND schema_name = ?",
        &[&db, &SCHEMA],
    )
}

/// Matches one model's rows, bound to its schema and table name; names compare case-insensitively, as in DuckDB.
pub(super) const THIS_MODEL: &str = "lower(schema_name) = lower(?) AND lower(table_name) = lower(?)";

const STORED_COLUMNS: &str =
    "definition, built, watermark, rebuild_reason, epoch_us(last_refresh_at), last_mode, status";

fn stored_from_row(db: &str, r: &duckdb::Row<'_>) -> duckdb::Result<Stored> {
    let json: String = r.get(0)?;
    let def: ModelDef = serde_json::from_str(&json)
        .map_err(|e| duckdb::Error::FromSqlConversionFailure(0, duckdb::types::Type::Text, Box::new(e)))?;
    Ok(Stored {
        def: def.relocate(db),
        built: r.get(1)?,
        watermark: r.get(2)?,
        rebuild_reason: r.get(3)?,
        last_refresh_us: r.get(4)?,
        last_mode: r.get(5)?,
        status: r.get(6)?,
    })
}

pub fn find(conn: &Connection, target: &Target) -> Result<Option<Stored>> {
    let Some(db) = catalog_database(conn, &target.database)? else {
        return Ok(None);
    };
    let sql = format!("SELECT {STORED_COLUMNS} FROM {} WHERE {THIS_MODEL}", table(&target.database, "models"));
    let found = rows(conn, &sql, &[&target.schema, &target.table], |r| stored_from_row(&db, r))?;
    Ok(found.into_iter().next())
}

/// Every model in every database with a catalog.
pub fn all(conn: &Connection) -> Result<Vec<Stored>> {
    let mut out = Vec::new();
    for db in databases(conn)? {
        let sql = format!("SELECT {STORED_COLUMNS} FROM {} ORDER BY schema_name, table_name", table(&db, "models"));
        out.extend(rows(conn, &sql, &[], |r| stored_from_row(&db, r))?);
    }
    Ok(out)
}

/// Stores a new or redefined model; a redefinition keeps the watermark and sets why the table must be rebuilt.
pub fn save_definition(conn: &Connection, def: &ModelDef, rebuild_reason: Option<&str>) -> Result<()> {
    let json = serde_json::to_string(def).map_err(|e| Error::usage(format!("could not store the definition: {e}")))?;
    let t = &def.target;
    let models = table(&t.database, "models");
    let updated = conn
        .execute(
            &format!(
                "UPDATE {models} SET definition = ?, rebuild_reason = coalesce(?, rebuild_reason), updated_at = now(),
                 schema_name = ?, table_name = ? WHERE {THIS_MODEL}"
            ),
            duckdb::params![json, rebuild_reason, t.schema, t.table, t.schema, t.table],
        )
        .map_err(|e| sql_error("storing the model", e))?;
    if updated == 0 {
        conn.execute(
            &format!("INSERT INTO {models} VALUES (?, ?, ?, FALSE, NULL, NULL, now(), now(), NULL, NULL, 'defined')"),
            duckdb::params![t.schema, t.table, json],
        )
        .map_err(|e| sql_error("storing the model", e))?;
    }
    Ok(())
}

/// Records a successful refresh: new watermark, built, the rebuild reason cleared.
pub fn save_refresh(conn: &Connection, target: &Target, run: &Run) -> Result<()> {
    conn.execute(
        &format!(
            "UPDATE {} SET built = TRUE, watermark = ?, rebuild_reason = NULL, last_refresh_at = now(), last_mode = ?,
             status = 'ok' WHERE {THIS_MODEL}",
            table(&target.database, "models")
        ),
        duckdb::params![run.watermark_after, run.mode, target.schema, target.table],
    )
    .map_err(|e| sql_error("storing the refresh state", e))?;
    add_history(conn, target, run)
}

/// Records a failed refresh: the status and the history row only; data and watermark stay as they were.
pub fn save_failure(conn: &Connection, target: &Target, run: &Run) -> Result<()> {
    conn.execute(
        &format!("UPDATE {} SET status = 'failed' WHERE {THIS_MODEL}", table(&target.database, "models")),
        duckdb::params![target.schema, target.table],
    )
    .map_err(|e| sql_error("storing the refresh state", e))?;
    add_history(conn, target, run)
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
    let micros = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_micros() as i64);
    let candidate = micros * 1024 + tag;
    let previous = LAST.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |last| Some(candidate.max(last + 1024)));
    previous.map_or(candidate, |last| candidate.max(last + 1024))
}

fn add_history(conn: &Connection, target: &Target, run: &Run) -> Result<()> {
    let history = table(&target.database, "history");
    conn.execute(
        &format!("INSERT INTO {history} SELECT ?, ?, ?, now(), ?, ?, ?, ?, ?, ?, ?, ?, ?, ?"),
        duckdb::params![
            next_run_id(),
            target.schema,
            target.table,
            run.mode,
            run.strategy,
            run.inserted,
            run.updated,
            run.deleted,
            run.watermark_before,
            run.watermark_after,
            run.elapsed_ms,
            run.reason,
            run.error
        ],
    )
    .map_err(|e| sql_error("writing the refresh history", e))?;
    Ok(())
}

pub fn remove(conn: &Connection, target: &Target) -> Result<()> {
    for name in ["models", "history"] {
        conn.execute(
            &format!("DELETE FROM {} WHERE {THIS_MODEL}", table(&target.database, name)),
            duckdb::params![target.schema, target.table],
        )
        .map_err(|e| sql_error("removing the model", e))?;
    }
    super::shapes::remove(conn, target)
}

/// A table or view found at a model's name.
#[derive(Debug, Clone)]
pub struct Relation {
    pub columns: Vec<Column>,
    /// The table's comment: the extension marks the tables it builds with `ModelDef::ownership_mark`.
    pub comment: Option<String>,
}

/// The table or view at `target`, or None when there is none.
pub fn relation(conn: &Connection, target: &Target) -> Result<Option<Relation>> {
    let filter = format!("lower(database_name) = lower(?) AND {THIS_MODEL}");
    let found = rows(
        conn,
        &format!(
            "SELECT comment FROM duckdb_tables() WHERE {filter} UNION ALL
             SELECT 'view' FROM (SELECT database_name, schema_name, view_name AS table_name FROM duckdb_views()) WHERE {filter}"
        ),
        &[&target.database, &target.schema, &target.table, &target.database, &target.schema, &target.table],
        |r| r.get::<_, Option<String>>(0),
    )?;
    let Some(comment) = found.into_iter().next() else {
        return Ok(None);
    };
    // DESCRIBE names types exactly as the definition's DESCRIBE of the query did, and reads one table's metadata.
    let table = target.sql_name();
    let columns =
        rows(conn, &format!("DESCRIBE {table}"), &[], |r| Ok(Column { name: r.get(0)?, type_name: r.get(1)? }))?;
    Ok(Some(Relation { columns, comment }))
}

/// History rows, newest last, optionally for one model.
pub fn history(conn: &Connection, only: Option<&Target>) -> Result<Vec<(Target, i64, i64, Run)>> {
    let mut out = Vec::new();
    for db in databases(conn)? {
        if only.is_some_and(|t| !t.database.eq_ignore_ascii_case(&db)) {
            continue;
        }
        let (schema, name) = only.map(|t| (t.schema.clone(), t.table.clone())).unwrap_or_default();
        let sql = format!(
            "SELECT schema_name, table_name, run_id, epoch_us(started_at), mode, strategy, rows_inserted, rows_updated,
             rows_deleted, watermark_before, watermark_after, elapsed_ms, reason, error FROM {}
             WHERE ? = '' OR ({THIS_MODEL}) ORDER BY run_id",
            table(&db, "history")
        );
        let db2 = db.clone();
        out.extend(rows(conn, &sql, &[&name, &schema, &name], move |r| {
            Ok((
                Target { database: db2.clone(), schema: r.get(0)?, table: r.get(1)? },
                r.get(2)?,
                r.get(3)?,
                Run {
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
                },
            ))
        })?);
    }
    Ok(out)
}

/// The names of the tables in the catalog schema of `db`: snapshot copies and change logs among them.
pub fn kept_tables(conn: &Connection, db: &str) -> Result<Vec<String>> {
    Ok(kept_with_comments(conn, db)?.into_iter().map(|(name, _)| name).collect())
}

/// Drops the tables `old` keeps for its sources (snapshot copies, change logs), except those `new` (its
/// redefinition) keeps too.
pub fn drop_kept(conn: &Connection, old: &ModelDef, new: Option<&ModelDef>) -> Result<()> {
    let kept =
        |def: &ModelDef| -> Vec<String> { def.sources.iter().filter_map(|s| s.kept_table(&def.target)).collect() };
    let still: Vec<String> = new.map(kept).unwrap_or_default();
    let mark = old.kept_mark();
    for (name, comment) in kept_with_comments(conn, &old.target.database)? {
        let table = table(&old.target.database, &name);
        if kept(old).contains(&table) && !still.contains(&table) && comment.as_deref() == Some(mark.as_str()) {
            batch(conn, &format!("DROP TABLE IF EXISTS {table}"))?;
        }
    }
    Ok(())
}

/// The catalog schema's tables with their comments, which say for which model the extension keeps each.
fn kept_with_comments(conn: &Connection, db: &str) -> Result<Vec<(String, Option<String>)>> {
    rows(
        conn,
        "SELECT table_name, comment FROM duckdb_tables() WHERE lower(database_name) = lower(?) AND schema_name = ?",
        &[&db, &SCHEMA],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
}

/// Drops the logs a dropped model wrote for its readers; each reader then rebuilds, or fails naming the model.
pub fn drop_logs_of(conn: &Connection, upstream: &Target) -> Result<()> {
    for (name, comment) in kept_with_comments(conn, &upstream.database)? {
        let marked = comment.is_some_and(|c| c.starts_with(crate::model::KEPT_MARK_PREFIX));
        if marked && crate::model::is_changes_log_of(&name, upstream) {
            batch(conn, &format!("DROP TABLE IF EXISTS {}", table(&upstream.database, &name)))?;
        }
    }
    Ok(())
}
