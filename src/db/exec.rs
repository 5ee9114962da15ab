//! Runs a plan's statements in order on one connection and tallies what they changed.

use duckdb::Connection;

use super::sql::{exec, scalar};
use crate::error::{Error, Result};
use crate::model::{ModelDef, ModelState};
use crate::planner::{Counter, Guard, Mode, Plan, Step};

/// What running a plan did.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub mode: Mode,
    /// Set when the run chose differently from the plan's reason (a no-op, or a full rebuild for a large window).
    pub reason: Option<String>,
    pub inserted: i64,
    pub updated: i64,
    pub deleted: i64,
    pub watermark: Option<String>,
    pub source_marks: std::collections::BTreeMap<String, String>,
}

fn guard_error(def: &ModelDef, guard: Guard, found: &str) -> Error {
    let detail = match guard {
        Guard::NullTime => format!(
            "the query returned NULL in time_column \"{}\" for {found} row(s); filter them out or coalesce them in the query",
            def.time_column.as_deref().unwrap_or_default()
        ),
        Guard::DuplicateKey => format!(
            "the query returned more than one row for unique_key ({}): {found}; make the key unique in the query (e.g. QUALIFY row_number() OVER (PARTITION BY key ORDER BY time DESC) = 1) or choose another unique_key",
            def.unique_key.join(", ")
        ),
    };
    Error::RefreshFailed { model: def.name(), detail }
}

/// Runs the plan; the caller owns the transaction around it. A window holding more than `full_fraction` of the table
/// makes it a full rebuild instead.
pub fn run(conn: &Connection, plan: &Plan, def: &ModelDef, state: &ModelState, full_fraction: f64) -> Result<Outcome> {
    let failed = |e: Error| match e {
        Error::Sql { detail, .. } => Error::RefreshFailed { model: def.name(), detail },
        other => other,
    };
    let mut out = Outcome {
        mode: plan.mode,
        reason: None,
        inserted: 0,
        updated: 0,
        deleted: 0,
        watermark: state.watermark.clone(),
        source_marks: state.source_marks.clone(),
    };
    if let Some(probe) = &plan.probe {
        if !scalar::<bool>(conn, probe, &[]).map_err(failed)?.unwrap_or(true) {
            out.mode = Mode::Noop;
            out.reason = Some(match def.sources.is_empty() {
                true => "no row beyond the watermark: nothing to do".into(),
                false => "no source has changed since the last refresh: nothing to do".into(),
            });
            return Ok(out);
        }
    }
    let mut steps = &plan.steps;
    if let Some(cost) = plan.cost.as_ref().filter(|_| full_fraction < 1.0) {
        let share = scalar::<f64>(conn, &cost.sql, &[]).map_err(failed)?.unwrap_or(0.0);
        if share > full_fraction {
            steps = &cost.full;
            out.mode = Mode::Full;
            out.reason = Some(format!(
                "{:.1}% {}, more than incremental_full_fraction ({:.1}%), so a full rebuild is cheaper",
                share * 100.0,
                cost.measures,
                full_fraction * 100.0
            ));
        }
    }
    // A full rebuild measures every source afresh; an incremental refresh moves the stored marks forward.
    if out.mode == Mode::Full {
        out.source_marks.clear();
    }
    let mut skip = false;
    for step in steps {
        if std::mem::take(&mut skip) {
            continue;
        }
        match step {
            Step::Run(sql) => {
                exec(conn, sql).map_err(failed)?;
            }
            Step::Count(counter, sql) => {
                let n = scalar::<i64>(conn, sql, &[]).map_err(failed)?.unwrap_or(0);
                add(&mut out, *counter, n);
            }
            Step::Apply(counter, sql) => {
                let n = exec(conn, sql).map_err(failed)? as i64;
                add(&mut out, *counter, n);
            }
            Step::Check(guard, sql) => {
                if let Some(found) = scalar::<String>(conn, sql, &[]).map_err(failed)? {
                    return Err(guard_error(def, *guard, &found));
                }
            }
            Step::Watermark(sql) => {
                if let Some(wm) = scalar::<String>(conn, sql, &[]).map_err(failed)? {
                    out.watermark = Some(wm);
                }
            }
            Step::OnlyIf(sql) => skip = !scalar::<bool>(conn, sql, &[]).map_err(failed)?.unwrap_or(false),
            Step::SourceWatermark(source, sql) => {
                if let Some(wm) = scalar::<String>(conn, sql, &[]).map_err(failed)? {
                    out.source_marks.insert(source.clone(), wm);
                }
            }
        }
    }
    Ok(out)
}

fn add(out: &mut Outcome, counter: Counter, n: i64) {
    match counter {
        Counter::Inserted => out.inserted += n,
        Counter::Updated => out.updated += n,
        Counter::Deleted => out.deleted += n,
        Counter::Replaced => {
            out.updated += n;
            out.inserted -= n;
        }
    }
}
