//! `incremental_refresh(name, full_refresh := false)`: brings the table up to date in one transaction.

use std::time::Instant;

use super::ModelArgs;
use crate::db::catalog::{self, Run, Stored};
use crate::db::{self, exec, transaction, Pool, Session};
use crate::error::Result;
use crate::glue::{Caller, Cell, ColType, ParamType, Params, SqlFunction};
use crate::model::Target;
use crate::planner;

pub struct Refresh;

/// The columns of a refresh result; the history repeats them.
pub const RUN_COLUMNS: &[(&str, ColType)] = &[
    ("model", ColType::Varchar),
    ("mode", ColType::Varchar),
    ("strategy", ColType::Varchar),
    ("rows_inserted", ColType::BigInt),
    ("rows_updated", ColType::BigInt),
    ("rows_deleted", ColType::BigInt),
    ("watermark_before", ColType::Varchar),
    ("watermark_after", ColType::Varchar),
    ("elapsed_ms", ColType::Double),
    ("reason", ColType::Varchar),
];

pub fn run_row(model: String, run: &Run) -> Vec<Cell> {
    vec![
        model.into(),
        run.mode.as_str().into(),
        run.strategy.as_str().into(),
        Cell::Int(run.inserted),
        Cell::Int(run.updated),
        Cell::Int(run.deleted),
        run.watermark_before.clone().into(),
        run.watermark_after.clone().into(),
        Cell::Double(run.elapsed_ms),
        run.reason.as_str().into(),
    ]
}

impl SqlFunction for Refresh {
    type Args = ModelArgs;
    const NAME: &'static str = "incremental_refresh";
    const POSITIONAL: &'static [ParamType] = &[ParamType::Varchar];
    const NAMED: &'static [(&'static str, ParamType)] = &[("full_refresh", ParamType::Boolean)];
    fn columns() -> Vec<(&'static str, ColType)> {
        RUN_COLUMNS.to_vec()
    }

    fn bind(params: &Params, caller: &Caller) -> Result<ModelArgs> {
        ModelArgs::bind(params, caller, Self::NAME)
    }

    fn run(args: &ModelArgs, pool: &Pool) -> Result<Vec<Vec<Cell>>> {
        db::session(pool, &args.search_path, |s| {
            let started = Instant::now();
            let mut target = None;
            let outcome = transaction(s.conn, || {
                let stored = s.resolve(&args.name, &args.search_path)?;
                target = Some(stored.def.target.clone());
                refresh(s, stored, args.full_refresh, started)
            });
            match outcome {
                Ok((name, run)) => Ok(vec![run_row(name, &run)]),
                Err(e) => {
                    if let Some(t) = &target {
                        record_failure(s, t, &e.to_string(), started);
                    }
                    Err(e)
                }
            }
        })
    }
}

/// Refreshes the model inside the caller's transaction; returns the model's name and the run.
fn refresh(s: &Session, stored: Stored, full_refresh: bool, started: Instant) -> Result<(String, Run)> {
    let state = s.state(&stored)?;
    s.use_search_path(&stored.def.search_path)?;
    s.check_query_columns(&stored.def)?;
    let plan = planner::plan(&stored.def, &state, full_refresh);
    let outcome = exec::run(s.conn, &plan, &stored.def, stored.watermark.clone())?;
    let run = Run {
        mode: outcome.mode.as_str().to_string(),
        strategy: plan.strategy.as_str().to_string(),
        inserted: outcome.inserted,
        updated: outcome.updated,
        deleted: outcome.deleted,
        watermark_before: stored.watermark.clone(),
        watermark_after: outcome.watermark,
        elapsed_ms: started.elapsed().as_secs_f64() * 1000.0,
        reason: match outcome.mode {
            planner::Mode::Noop => "no row beyond the watermark: nothing to do".to_string(),
            _ => plan.reason,
        },
        error: None,
    };
    catalog::save_refresh(s.conn, &stored.def.target, &run)?;
    Ok((stored.def.name(), run))
}

/// Writes the failure to the history of a model that exists; the data and watermark were rolled back.
fn record_failure(s: &Session, target: &Target, error: &str, started: Instant) {
    let _ = transaction(s.conn, || {
        let Some(stored) = s.find(target)? else {
            return Ok(());
        };
        let run = Run {
            mode: "failed".into(),
            strategy: stored.def.strategy.as_str().into(),
            watermark_before: stored.watermark.clone(),
            watermark_after: stored.watermark.clone(),
            elapsed_ms: started.elapsed().as_secs_f64() * 1000.0,
            reason: "the refresh failed and was rolled back".into(),
            error: Some(error.to_string()),
            ..Run::default()
        };
        catalog::save_failure(s.conn, target, &run)
    });
}
