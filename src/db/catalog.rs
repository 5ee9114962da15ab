//! The extension's own tables in `<database>._incremental`: `models` (definitions, written only by create,
//! redefine and drop), each model's state table (`state`), `history` (append-only) and `catalog_version`.

use duckdb::Connection;

use super::lookup::Resolved;
use super::sql::{batch, rows, sql_error};
use super::state::State;
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
    pub state: State,
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
    /// Who ran it: `incremental_work`'s worker name, or NULL for a refresh called directly.
    pub worker: Option<String>,
    /// When it started, in microseconds since the epoch.
    pub started_us: i64,
}

/// The catalog's layout version: `migrate` upgrades an older catalog to it.
pub const VERSION: i32 = 2;

/// Creates the catalog schema and tables of `db` when missing.
pub fn ensure(conn: &Connection, db: &str) -> Result<()> {
    batch(
        conn,
        &format!(
            "CREATE SCHEMA IF NOT EXISTS {schema};
             CREATE TABLE IF NOT EXISTS {models} (schema_name VARCHAR, table_name VARCHAR, definition VARCHAR,
               created_at TIMESTAMPTZ, updated_at TIMESTAMPTZ);
             CREATE TABLE IF NOT EXISTS {history} (run_id BIGINT, schema_name VARCHAR, table_name VARCHAR,
               started_at TIMESTAMPTZ, mode VARCHAR, strategy VARCHAR, rows_inserted BIGINT, rows_updated BIGINT,
               rows_deleted BIGINT, watermark_before VARCHAR, watermark_after VARCHAR, elapsed_ms DOUBLE,
               reason VARCHAR, error VARCHAR, finished_at TIMESTAMPTZ, worker VARCHAR);",
            schema = qualified(&[db, SCHEMA]),
            models = table(db, "models"),
            history = table(db, "history"),
        ),
    )?;
    super::migrate::stamp(conn, db)
}

/// Databases that hold a model catalog.
pub fn databases(conn: &Connection) -> Result<Vec<String>> {
    super::lookup::databases_with(conn, SCHEMA, "models")
}

/// An attached database as `duckdb_databases()` lists it, and whether it holds a model catalog.
#[derive(Clone)]
pub struct Attached {
    pub name: String,
    pub kind: String,
    pub path: String,
    pub catalog: bool,
}

/// Every attached database, with whether it holds a model catalog. For a DuckLake its catalog schema tells: the
/// lake's tables are looked up where its models are read (`seen`). Elsewhere a database with the schema is asked
/// for the table too, and only then: `duckdb_columns()` lists every column of every attached lake.
pub fn attached(conn: &Connection) -> Result<Vec<Attached>> {
    let mut found = rows(
        conn,
        "SELECT d.database_name, d.type, coalesce(d.path, ''), EXISTS (SELECT 1 FROM duckdb_schemas() s
           WHERE s.database_name = d.database_name AND s.schema_name = ?)
         FROM duckdb_databases() d WHERE NOT d.internal ORDER BY 1",
        &[&SCHEMA],
        |r| Ok(Attached { name: r.get(0)?, kind: r.get(1)?, path: r.get(2)?, catalog: r.get(3)? }),
    )?;
    if found.iter().any(|a| a.catalog && a.kind != "ducklake") {
        let with_table = databases(conn)?;
        for a in found.iter_mut().filter(|a| a.kind != "ducklake") {
            a.catalog &= with_table.contains(&a.name);
        }
    }
    Ok(found)
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

fn definition_from_row(db: &str, r: &duckdb::Row<'_>) -> duckdb::Result<ModelDef> {
    let json: String = r.get(0)?;
    let def: ModelDef = serde_json::from_str(&json)
        .map_err(|e| duckdb::Error::FromSqlConversionFailure(0, duckdb::types::Type::Text, Box::new(e)))?;
    Ok(def.relocate(db))
}

fn with_states(conn: &Connection, defs: Vec<ModelDef>) -> Result<Vec<Stored>> {
    let states = super::state::read_all(conn, &defs.iter().map(|d| &d.target).collect::<Vec<_>>())?;
    Ok(defs.into_iter().zip(states).map(|(def, state)| Stored { def, state }).collect())
}

pub fn find(conn: &Connection, target: &Target) -> Result<Option<Stored>> {
    let Some(db) = catalog_database(conn, &target.database)? else {
        return Ok(None);
    };
    let sql = format!("SELECT definition FROM {} WHERE {THIS_MODEL}", table(&target.database, "models"));
    let found = rows(conn, &sql, &[&target.schema, &target.table], |r| definition_from_row(&db, r))?;
    let Some(def) = found.into_iter().next() else {
        return Ok(None);
    };
    Ok(with_states(conn, vec![def])?.pop())
}

/// Every model in every database with a catalog.
pub fn all(conn: &Connection) -> Result<Vec<Stored>> {
    let mut out = Vec::new();
    for db in databases(conn)? {
        out.extend(all_in(conn, &db)?);
    }
    Ok(out)
}

/// Every model of one database with a catalog, `db` spelled as DuckDB does.
pub fn all_in(conn: &Connection, db: &str) -> Result<Vec<Stored>> {
    let sql = format!("SELECT definition FROM {} ORDER BY schema_name, table_name", table(db, "models"));
    with_states(conn, rows(conn, &sql, &[], |r| definition_from_row(db, r))?)
}

/// Stores a new or redefined model; a redefinition keeps the state and sets why the table must be rebuilt.
pub fn save_definition(conn: &Connection, def: &ModelDef, rebuild_reason: Option<&str>) -> Result<()> {
    let json = serde_json::to_string(def).map_err(|e| Error::usage(format!("could not store the definition: {e}")))?;
    let t = &def.target;
    let models = table(&t.database, "models");
    let updated = conn
        .execute(
            &format!(
                "UPDATE {models} SET definition = ?, updated_at = now(), schema_name = ?, table_name = ? WHERE {THIS_MODEL}"
            ),
            duckdb::params![json, t.schema, t.table, t.schema, t.table],
        )
        .map_err(|e| sql_error("storing the model", e))?;
    if updated == 0 {
        conn.execute(
            &format!("INSERT INTO {models} (schema_name, table_name, definition, created_at, updated_at) VALUES (?, ?, ?, now(), now())"),
            duckdb::params![t.schema, t.table, json],
        )
        .map_err(|e| sql_error("storing the model", e))?;
        return super::state::create(conn, t, &def.kept_mark(), &State::defined());
    }
    match rebuild_reason {
        Some(reason) => super::state::require_rebuild(conn, t, reason),
        None => Ok(()),
    }
}

/// Records a successful refresh: its state and its history row. A no-op writes nothing but a status that was
/// not `ok` (a failure before it).
pub fn save_refresh(conn: &Connection, target: &Target, state: &State, run: &Run, noop: bool) -> Result<()> {
    if noop {
        return super::state::set_status(conn, target, "ok");
    }
    super::state::save(conn, target, state)?;
    super::history::add(conn, target, run)
}

pub fn remove(conn: &Connection, target: &Target) -> Result<()> {
    for name in ["models", "history"] {
        conn.execute(
            &format!("DELETE FROM {} WHERE {THIS_MODEL}", table(&target.database, name)),
            duckdb::params![target.schema, target.table],
        )
        .map_err(|e| sql_error("removing the model", e))?;
    }
    super::state::drop(conn, target)
}

/// A table or view found at a model's name.
#[derive(Debug, Clone)]
pub struct Relation {
    pub columns: Vec<Column>,
    /// The table's comment: the extension marks the tables it builds with `ModelDef::ownership_mark`.
    pub comment: Option<String>,
    /// The type of its database (`duckdb`, `ducklake`, ...), or `view`.
    pub kind: String,
}

/// The table or view at `target`, or None when there is none.
pub fn relation(conn: &Connection, target: &Target) -> Result<Option<Relation>> {
    relation_of(conn, target, super::lookup::find(conn, &target.database, &target.schema, &target.table)?)
}

/// The table or view at `target`, from what a lookup of its name found.
pub fn relation_of(conn: &Connection, target: &Target, found: Option<Resolved>) -> Result<Option<Relation>> {
    let Some(found) = found else {
        return Ok(None);
    };
    let comment = match found.kind.as_str() {
        "view" => Some("view".to_string()),
        _ => super::lookup::comment(conn, &found)?,
    };
    // DESCRIBE names types exactly as the definition's DESCRIBE of the query did, and reads one table's metadata.
    let table = target.sql_name();
    let columns =
        rows(conn, &format!("DESCRIBE {table}"), &[], |r| Ok(Column { name: r.get(0)?, type_name: r.get(1)? }))?;
    Ok(Some(Relation { columns, comment, kind: found.kind }))
}

/// The names of the tables in the catalog schema of `db`: snapshot copies and change logs among them.
pub fn kept_tables(conn: &Connection, db: &str) -> Result<Vec<String>> {
    super::lookup::names_in(conn, db, SCHEMA)
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
pub(super) fn kept_with_comments(conn: &Connection, db: &str) -> Result<Vec<(String, Option<String>)>> {
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
