//! `incremental_verify(name)`: compares the table with a full recomputation of the model's query.

use super::ModelArgs;
use crate::db::{self, Pool};
use crate::error::{Error, Result};
use crate::glue::{Caller, Cell, ColType, ParamType, Params, SqlFunction};
use crate::model::ModelDef;
use crate::planner;
use crate::quote::{column_list, ident, literal};

pub struct Verify;

/// Counts rows of the recomputation (the query with its placeholders filled as for a full build) missing from the table and table rows the recomputation lacks (as multisets).
pub fn verify_sql(def: &ModelDef) -> String {
    let cols = column_list(&def.column_names(), None);
    let t = &def.target;
    let table = t.sql_name();
    let start = match (&def.time_column, &def.start, def.time_type()) {
        (Some(tc), Some(s), Some(ty)) => format!(" WHERE q.{} >= CAST({} AS {ty})", ident(tc), literal(s)),
        _ => String::new(),
    };
    let fresh = format!("SELECT {cols} FROM (\n{}\n) AS q{start}", def.query);
    let current = format!("SELECT {cols} FROM {table}");
    format!(
        "SELECT (SELECT count(*) FROM ({fresh} EXCEPT ALL {current})), (SELECT count(*) FROM ({current} EXCEPT ALL {fresh}))"
    )
}

impl SqlFunction for Verify {
    type Args = ModelArgs;
    const NAME: &'static str = "incremental_verify";
    const POSITIONAL: &'static [ParamType] = &[ParamType::Varchar];
    const NAMED: &'static [(&'static str, ParamType)] = &[("vars", ParamType::Any)];
    fn columns() -> Vec<(&'static str, ColType)> {
        vec![
            ("model", ColType::Varchar),
            ("rows_missing", ColType::BigInt),
            ("rows_extra", ColType::BigInt),
            ("ok", ColType::Boolean),
        ]
    }

    fn bind(params: &Params, caller: &Caller) -> Result<ModelArgs> {
        ModelArgs::bind(params, caller, Self::NAME)
    }

    fn run(args: &ModelArgs, pool: &Pool) -> Result<Vec<Vec<Cell>>> {
        db::session(pool, &args.search_path, |s| {
            let stored = s.resolve(&args.name, &args.search_path)?;
            let model = stored.def.name();
            if !s.owns_table(&stored)? {
                return Err(Error::usage(format!(
                    "model {model} has not been built yet; run CALL incremental_refresh('{model}') first"
                )));
            }
            s.use_search_path(&stored.def.search_path)?;
            let (missing, extra) = s
                .conn
                .query_row(&verify_sql(&planner::fill(&stored.def, None, &args.settings.vars)?), [], |r| {
                    Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?))
                })
                .map_err(|e| Error::Sql { context: format!("verifying model {model}"), detail: e.to_string() })?;
            Ok(vec![vec![model.into(), Cell::Int(missing), Cell::Int(extra), Cell::Bool(missing == 0 && extra == 0)]])
        })
    }
}
