//! `incremental_refresh(name, full_refresh := false, upstream := false, raise_errors := true, wait_seconds := 60)`:
//! brings the table up to date in one transaction; with `upstream`, after the models it reads.

use super::ModelArgs;
use crate::db::catalog::Run;
use crate::db::{self, Pool};
use crate::error::{Error, Result};
use crate::glue::{Caller, Cell, ColType, ParamType, Params, SqlFunction};

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

/// The rows of a refresh of several models; when `raise` and any model failed or was skipped, an error that lists
/// them instead, so a scheduled job fails as `dbt run` does (every model that could refresh did, and committed).
pub fn rows_or_error(runs: Vec<(String, Run)>, raise: bool) -> Result<Vec<Vec<Cell>>> {
    let not_refreshed: Vec<String> = runs
        .iter()
        .filter(|(_, run)| run.mode == "failed" || run.mode == "skipped")
        .map(|(name, run)| format!("{name} {}: {}", run.mode, run.reason.trim_start_matches("incremental: ")))
        .collect();
    if raise && !not_refreshed.is_empty() {
        return Err(Error::usage(format!(
            "{} of {} models were not refreshed: {}. The other models were refreshed; every result is in incremental_history(); pass raise_errors := false to get the results as rows instead of an error",
            not_refreshed.len(),
            runs.len(),
            not_refreshed.join("; ")
        )));
    }
    Ok(runs.into_iter().map(|(name, run)| run_row(name, &run)).collect())
}

pub struct Args {
    model: ModelArgs,
    upstream: bool,
    raise_errors: bool,
}

impl SqlFunction for Refresh {
    type Args = Args;
    const NAME: &'static str = "incremental_refresh";
    const POSITIONAL: &'static [ParamType] = &[ParamType::Varchar];
    const NAMED: &'static [(&'static str, ParamType)] = &[
        ("full_refresh", ParamType::Any),
        ("upstream", ParamType::Any),
        ("raise_errors", ParamType::Any),
        ("vars", ParamType::Any),
        ("wait_seconds", ParamType::Any),
    ];

    fn columns() -> Vec<(&'static str, ColType)> {
        RUN_COLUMNS.to_vec()
    }

    fn bind(params: &Params, caller: &Caller) -> Result<Args> {
        Ok(Args {
            model: ModelArgs::bind(params, caller, Self::NAME)?,
            upstream: params.flag("upstream", false)?,
            raise_errors: params.flag("raise_errors", true)?,
        })
    }

    fn run(args: &Args, pool: &Pool) -> Result<Vec<Vec<Cell>>> {
        let m = &args.model;
        db::session(pool, &m.search_path, |s| {
            if !args.upstream {
                let (name, run) = s.refresh_model(&m.name, &m.search_path, m.full_refresh, &m.settings)?;
                return Ok(vec![run_row(name, &run)]);
            }
            let wanted = s.resolve(&m.name, &m.search_path)?.def.target;
            let (all, graph) = s.model_graph()?;
            let root =
                all.iter().position(|x| x.def.target == wanted).ok_or(Error::UnknownModel { model: m.name.clone() })?;
            let order = graph.order_from(&[root]).map_err(|cycle| db::cycle_error(&all, &cycle))?;
            let runs = s.refresh_in_order(&all, &graph, &order, |i| i == root && m.full_refresh, &m.settings);
            rows_or_error(runs, args.raise_errors)
        })
    }
}
