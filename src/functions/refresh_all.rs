//! `incremental_refresh_all(full_refresh := false, raise_errors := true, wait_seconds := 60)`: every model, each after the models it
//! reads; failures end the statement with an error once every other model has refreshed.

use super::refresh::{rows_or_error, RUN_COLUMNS};
use crate::db::Settings;
use crate::db::{self, Pool};
use crate::error::Result;
use crate::glue::{Caller, Cell, ColType, ParamType, Params, SqlFunction};

pub struct RefreshAll;

pub struct Args {
    full_refresh: bool,
    raise_errors: bool,
    search_path: String,
    settings: Settings,
}

impl SqlFunction for RefreshAll {
    type Args = Args;
    const NAME: &'static str = "incremental_refresh_all";
    const POSITIONAL: &'static [ParamType] = &[];
    const NAMED: &'static [(&'static str, ParamType)] = &[
        ("full_refresh", ParamType::Any),
        ("raise_errors", ParamType::Any),
        ("vars", ParamType::Any),
        ("wait_seconds", ParamType::Any),
    ];

    fn columns() -> Vec<(&'static str, ColType)> {
        RUN_COLUMNS.to_vec()
    }

    fn bind(params: &Params, caller: &Caller) -> Result<Args> {
        Ok(Args {
            full_refresh: params.flag("full_refresh", false)?,
            raise_errors: params.flag("raise_errors", true)?,
            search_path: caller.search_path.clone(),
            settings: super::settings(params, caller, Self::NAME)?,
        })
    }

    fn run(args: &Args, pool: &Pool) -> Result<Vec<Vec<Cell>>> {
        db::session(pool, &args.search_path, |s| {
            let (all, graph) = s.model_graph()?;
            let order = graph.order().map_err(|cycle| db::cycle_error(&all, &cycle))?;
            let runs = s.refresh_in_order(&all, &graph, &order, |_| args.full_refresh, &args.settings);
            rows_or_error(runs, args.raise_errors)
        })
    }
}
