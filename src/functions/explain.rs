//! `incremental_explain(name, full_refresh := false)`: the statements the next refresh would run, and why; reads only.

use super::ModelArgs;
use crate::db::{self, Pool};
use crate::error::Result;
use crate::glue::{Caller, Cell, ColType, ParamType, Params, SqlFunction};
use crate::planner;

pub struct Explain;

impl SqlFunction for Explain {
    type Args = ModelArgs;
    const NAME: &'static str = "incremental_explain";
    const POSITIONAL: &'static [ParamType] = &[ParamType::Varchar];
    const NAMED: &'static [(&'static str, ParamType)] = &[("full_refresh", ParamType::Any), ("vars", ParamType::Any)];
    fn columns() -> Vec<(&'static str, ColType)> {
        vec![
            ("model", ColType::Varchar),
            ("mode", ColType::Varchar),
            ("strategy", ColType::Varchar),
            ("reason", ColType::Varchar),
            ("step", ColType::BigInt),
            ("kind", ColType::Varchar),
            ("sql", ColType::Varchar),
        ]
    }

    fn bind(params: &Params, caller: &Caller) -> Result<ModelArgs> {
        ModelArgs::bind(params, caller, Self::NAME)
    }

    fn run(args: &ModelArgs, pool: &Pool) -> Result<Vec<Vec<Cell>>> {
        db::session(pool, &args.search_path, |s| {
            let stored = s.resolve(&args.name, &args.search_path)?;
            if !stored.def.validated {
                let waiting = s.unbuilt_models_read(&stored.def.bindable_query(), &stored.def.search_path)?.join(", ");
                let reason = format!(
                    "it reads models not built yet ({waiting}); its plan is made at its first refresh, a full build"
                );
                let row = vec![
                    stored.def.name().into(),
                    "full".into(),
                    stored.def.strategy.as_str().into(),
                    reason.into(),
                    Cell::Int(0),
                    "waiting".into(),
                    Cell::Null,
                ];
                return Ok(vec![row]);
            }
            let state = s.state(&stored, None)?;
            let plan = planner::plan(&stored.def, &state, args.full_refresh, &args.settings.vars)?;
            let row = |step: usize, kind: &str, sql: &str| -> Vec<Cell> {
                vec![
                    stored.def.name().into(),
                    plan.mode.as_str().into(),
                    plan.strategy.as_str().into(),
                    plan.reason.as_str().into(),
                    Cell::Int(step as i64),
                    kind.into(),
                    sql.into(),
                ]
            };
            let probe = plan.probe.iter().map(|p| row(0, "probe (false: no-op)", p));
            let cost = plan.cost.iter().map(|c| {
                let kind = format!("share {} (over incremental_full_fraction: full rebuild)", c.measures);
                row(0, &kind, &c.sql)
            });
            let steps = plan.steps.iter().enumerate().map(|(i, step)| row(i + 1, step.kind(), step.sql()));
            Ok(probe.chain(cost).chain(steps).collect())
        })
    }
}
