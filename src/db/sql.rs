//! Small typed helpers to run SQL on a pool connection, with errors that say what was being done.

use duckdb::{Connection, ToSql};

use crate::error::{Error, Result};

pub fn sql_error(context: &str, e: duckdb::Error) -> Error {
    Error::Sql { context: context.to_string(), detail: detail(&e) }
}

/// DuckDB's message as users should read it: without the `LINE n:` excerpt (it shows the SQL the extension wrapped
/// around the model's query, not what the user wrote) and without suggestions of DuckDB's own `pg_` catalog views;
/// a missing table gets a word about TEMP tables, which the extension's connections cannot see.
pub fn detail(e: &duckdb::Error) -> String {
    let text = e.to_string();
    let text = text.split("\nLINE ").next().unwrap_or_default();
    let lines: Vec<&str> = text.lines().filter(|l| !l.starts_with("Did you mean \"pg_")).collect();
    let mut out = lines.join(" ").trim().to_string();
    if out.contains("Catalog Error: Table with name") && out.contains("does not exist") {
        out.push_str(
            " (if it is a TEMP table: a TEMP table belongs to the connection that made it, and refreshes run on connections of their own, so they cannot see it; make it a regular table with CREATE TABLE)",
        );
    }
    out
}

/// Runs one statement; returns how many rows it changed.
pub fn exec(conn: &Connection, sql: &str) -> Result<usize> {
    conn.execute(sql, []).map_err(|e| sql_error("running SQL", e))
}

/// Runs a batch of statements that return nothing.
pub fn batch(conn: &Connection, sql: &str) -> Result<()> {
    conn.execute_batch(sql).map_err(|e| sql_error("running SQL", e))
}

/// The first column of the first row, or `None` when there is no row or it is NULL.
pub fn scalar<T: duckdb::types::FromSql>(conn: &Connection, sql: &str, params: &[&dyn ToSql]) -> Result<Option<T>> {
    let mut stmt = conn.prepare(sql).map_err(|e| sql_error("preparing SQL", e))?;
    let mut rows = stmt.query(params).map_err(|e| sql_error("running SQL", e))?;
    match rows.next().map_err(|e| sql_error("reading a result", e))? {
        Some(row) => row.get::<_, Option<T>>(0).map_err(|e| sql_error("reading a result", e)),
        None => Ok(None),
    }
}

/// Every row, each mapped by `f`.
pub fn rows<T>(
    conn: &Connection,
    sql: &str,
    params: &[&dyn ToSql],
    f: impl FnMut(&duckdb::Row<'_>) -> duckdb::Result<T>,
) -> Result<Vec<T>> {
    let mut stmt = conn.prepare(sql).map_err(|e| sql_error("preparing SQL", e))?;
    let mapped = stmt.query_map(params, f).map_err(|e| sql_error("running SQL", e))?;
    mapped.collect::<duckdb::Result<Vec<T>>>().map_err(|e| sql_error("reading a result", e))
}

/// Runs `f` inside a transaction: committed when it succeeds, rolled back when it fails.
pub fn transaction<T>(conn: &Connection, f: impl FnOnce() -> Result<T>) -> Result<T> {
    batch(conn, "BEGIN TRANSACTION")?;
    match f() {
        Ok(v) => {
            if let Err(e) = batch(conn, "COMMIT") {
                let _ = batch(conn, "ROLLBACK");
                return Err(e);
            }
            Ok(v)
        }
        Err(e) => {
            let _ = batch(conn, "ROLLBACK");
            Err(e)
        }
    }
}
