//! Each model's own state table, `_incremental."state of <schema>.<table>"`: one row, written only by a refresh
//! that changes something, so refreshes of different models never write the same table and a no-op writes nothing.
//! In a DuckLake every refresh's update of this row is also its fence: a worker whose lease expired cannot commit
//! over its successor's refresh, since DuckLake refuses the second of two commits that changed one table.

use std::collections::BTreeMap;

use duckdb::Connection;

use super::catalog::table;
use super::sql::{batch, rows, sql_error};
use crate::error::{Error, Result};
use crate::model::{SourceShape, Target};
use crate::quote::{literal, qualified};

/// The state a refresh starts from and leaves.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct State {
    pub built: bool,
    /// The newest value of the time column the table holds.
    pub watermark: Option<String>,
    /// Where each declared source was read up to, by relation; what a mark means is its source kind's.
    pub source_marks: BTreeMap<String, String>,
    /// The declared table sources' identity and columns as the last refresh saw them.
    pub source_shapes: Vec<SourceShape>,
    /// Set when the definition changed and the next refresh must rebuild.
    pub rebuild_reason: Option<String>,
    pub last_refresh_us: Option<i64>,
    pub last_mode: Option<String>,
    pub status: String,
    pub worker: Option<String>,
}

impl State {
    pub fn defined() -> State {
        State { status: "defined".into(), ..State::default() }
    }

    /// The watermark as users see it: the time column's value, or each source's mark.
    pub fn shown_watermark(&self) -> Option<String> {
        match self.source_marks.is_empty() {
            true => self.watermark.clone(),
            false => serde_json::to_string(&self.source_marks).ok(),
        }
    }
}

/// The name of the model's state table in its catalog schema.
pub fn name_of(target: &Target) -> String {
    format!("state of {}", qualified(&[&target.schema, &target.table]))
}

fn table_of(target: &Target) -> String {
    table(&target.database, &name_of(target))
}

/// Creates the model's state table with `state` as its row, replacing any it had.
pub fn create(conn: &Connection, target: &Target, mark: &str, state: &State) -> Result<()> {
    let t = table_of(target);
    batch(
        conn,
        &format!(
            "CREATE OR REPLACE TABLE {t} (built BOOLEAN, watermark VARCHAR, source_marks VARCHAR, source_shapes VARCHAR,
               rebuild_reason VARCHAR, last_refresh_at TIMESTAMPTZ, last_mode VARCHAR, status VARCHAR, worker VARCHAR);
             COMMENT ON TABLE {t} IS {};",
            literal(mark)
        ),
    )?;
    write(conn, &format!("INSERT INTO {t} VALUES (?, ?, ?, ?, ?, make_timestamp(?)::TIMESTAMPTZ, ?, ?, ?)"), state)
}

/// Runs `sql` with the state's columns as its parameters, in table order.
fn write(conn: &Connection, sql: &str, state: &State) -> Result<()> {
    let (marks, shapes) = encode(state)?;
    conn.execute(
        sql,
        duckdb::params![
            state.built,
            state.watermark,
            marks,
            shapes,
            state.rebuild_reason,
            state.last_refresh_us,
            state.last_mode,
            state.status,
            state.worker
        ],
    )
    .map_err(|e| sql_error("storing the model's state", e))?;
    Ok(())
}

fn encode(state: &State) -> Result<(String, String)> {
    let fail = |e: serde_json::Error| Error::usage(format!("could not store the model's state: {e}"));
    Ok((
        serde_json::to_string(&state.source_marks).map_err(fail)?,
        serde_json::to_string(&state.source_shapes).map_err(fail)?,
    ))
}

/// The states of `targets`, in their order, read in one statement: on a DuckLake each statement that reads a table
/// costs a round of catalog reads (measured: 12 ms per state table). A model's state table is created with the
/// model's row and dropped with it, so a model always has one; an empty one reads as a defined model.
pub fn read_all(conn: &Connection, targets: &[&Target]) -> Result<Vec<State>> {
    if targets.is_empty() {
        return Ok(Vec::new());
    }
    let selects: Vec<String> = targets
        .iter()
        .enumerate()
        .map(|(i, t)| {
            format!(
                "SELECT {i} AS i, built, watermark, source_marks, source_shapes, rebuild_reason,
                 epoch_us(last_refresh_at), last_mode, status, worker FROM {}",
                table_of(t)
            )
        })
        .collect();
    let found = rows(conn, &selects.join(" UNION ALL "), &[], |r| {
        let state = State {
            built: r.get::<_, Option<bool>>(1)?.unwrap_or(false),
            watermark: r.get(2)?,
            source_marks: decode(r, 3)?,
            source_shapes: decode(r, 4)?,
            rebuild_reason: r.get(5)?,
            last_refresh_us: r.get(6)?,
            last_mode: r.get(7)?,
            status: r.get::<_, Option<String>>(8)?.unwrap_or_else(|| "defined".into()),
            worker: r.get(9)?,
        };
        Ok((r.get::<_, i64>(0)?, state))
    })?;
    let mut out = vec![State::defined(); targets.len()];
    for (i, state) in found {
        if let Some(slot) = usize::try_from(i).ok().and_then(|i| out.get_mut(i)) {
            *slot = state;
        }
    }
    Ok(out)
}

fn decode<T: serde::de::DeserializeOwned + Default>(r: &duckdb::Row<'_>, i: usize) -> duckdb::Result<T> {
    match r.get::<_, Option<String>>(i)? {
        Some(text) => serde_json::from_str(&text)
            .map_err(|e| duckdb::Error::FromSqlConversionFailure(i, duckdb::types::Type::Text, Box::new(e))),
        None => Ok(T::default()),
    }
}

/// Writes the state a successful refresh leaves.
pub fn save(conn: &Connection, target: &Target, state: &State) -> Result<()> {
    let sql = format!(
        "UPDATE {} SET built = ?, watermark = ?, source_marks = ?, source_shapes = ?, rebuild_reason = ?,
         last_refresh_at = make_timestamp(?)::TIMESTAMPTZ, last_mode = ?, status = ?, worker = ?",
        table_of(target)
    );
    write(conn, &sql, state)
}

/// Sets the model's status (a failure, or `ok` again after a no-op that followed one) and nothing else.
pub fn set_status(conn: &Connection, target: &Target, status: &str) -> Result<()> {
    let sql = format!("UPDATE {} SET status = ? WHERE status IS DISTINCT FROM ?", table_of(target));
    conn.execute(&sql, duckdb::params![status, status]).map_err(|e| sql_error("storing the refresh state", e))?;
    Ok(())
}

/// Marks that the next refresh must rebuild, and why (a redefinition).
pub fn require_rebuild(conn: &Connection, target: &Target, reason: &str) -> Result<()> {
    let sql = format!("UPDATE {} SET rebuild_reason = ?", table_of(target));
    conn.execute(&sql, duckdb::params![reason]).map_err(|e| sql_error("storing the model", e))?;
    Ok(())
}

pub fn drop(conn: &Connection, target: &Target) -> Result<()> {
    batch(conn, &format!("DROP TABLE IF EXISTS {}", table_of(target)))
}
