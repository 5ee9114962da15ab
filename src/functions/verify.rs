//! `incremental_verify(name, raise_errors := false)`: compares the table with a full recomputation of the model's
//! query; with `raise_errors`, a difference is an error naming some of the differing rows.

use super::ModelArgs;
use crate::db::{self, Pool};
use crate::error::{Error, Result};
use crate::glue::{Caller, Cell, ColType, ParamType, Params, SqlFunction};
use crate::model::ModelDef;
use crate::quote::{column_list, ident, literal};

pub struct Verify;

/// Counts rows of the recomputation (the query with its placeholders filled as for a full build) missing from the
/// table and table rows the recomputation lacks (as multisets), with a few of them (their keys, or whole rows for a
/// model without one) as text.
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
    let shown = match def.unique_key.is_empty() {
        true => def.column_names(),
        false => def.unique_key.clone(),
    };
    let fields = shown.iter().map(|c| format!("{}: d.{}", literal(c), ident(c))).collect::<Vec<_>>().join(", ");
    let sample = |side: &str, from: &str| {
        format!("(SELECT {} || CAST({{{fields}}} AS VARCHAR) AS s FROM {from} AS d LIMIT {SAMPLE})", literal(side))
    };
    format!(
        "WITH \"__incremental_missing\" AS ({fresh} EXCEPT ALL {current}), \"__incremental_extra\" AS ({current} EXCEPT ALL {fresh}) \
         SELECT (SELECT count(*) FROM \"__incremental_missing\"), (SELECT count(*) FROM \"__incremental_extra\"), \
         (SELECT string_agg(s, '; ') FROM ({} UNION ALL {}))",
        sample("missing from the table: ", "\"__incremental_missing\""),
        sample("not in the query's result: ", "\"__incremental_extra\"")
    )
}

/// How many differing rows of each side `raise_errors` names.
const SAMPLE: usize = 3;

pub struct Args {
    model: ModelArgs,
    raise_errors: bool,
}

impl SqlFunction for Verify {
    type Args = Args;
    const NAME: &'static str = "incremental_verify";
    const POSITIONAL: &'static [ParamType] = &[ParamType::Varchar];
    const NAMED: &'static [(&'static str, ParamType)] = &[("raise_errors", ParamType::Any), ("vars", ParamType::Any)];
    fn columns() -> Vec<(&'static str, ColType)> {
        vec![
            ("model", ColType::Varchar),
            ("rows_missing", ColType::BigInt),
            ("rows_extra", ColType::BigInt),
            ("ok", ColType::Boolean),
        ]
    }

    fn bind(params: &Params, caller: &Caller) -> Result<Args> {
        Ok(Args {
            model: ModelArgs::bind(params, caller, Self::NAME)?,
            raise_errors: params.flag("raise_errors", false)?,
        })
    }

    fn run(args: &Args, pool: &Pool) -> Result<Vec<Vec<Cell>>> {
        let (args, raise) = (&args.model, args.raise_errors);
        db::session(pool, &args.search_path, |s| {
            let stored = s.resolve(&args.name, &args.search_path)?;
            let model = stored.def.name();
            if !s.owns_table(&stored)? {
                return Err(Error::usage(format!(
                    "model {model} has not been built yet; run CALL incremental_refresh('{model}') first"
                )));
            }
            s.use_search_path(&stored.def.search_path)?;
            let filled = s.checked_fill(&stored.def, &args.settings.vars)?;
            let (missing, extra, sample) = s
                .conn
                .query_row(&verify_sql(&filled), [], |r| {
                    Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?, r.get::<_, Option<String>>(2)?))
                })
                .map_err(|e| Error::Sql {
                    context: format!("verifying model {model}"),
                    detail: crate::db::sql_detail(&e),
                })?;
            if raise && (missing > 0 || extra > 0) {
                return Err(Error::usage(format!(
                    "model {model} differs from a full recomputation of its query: {missing} row(s) missing from the table, {extra} row(s) the query does not return (for example {}); rebuild it with CALL incremental_refresh('{model}', full_refresh := true)",
                    sample.unwrap_or_default()
                )));
            }
            Ok(vec![vec![model.into(), Cell::Int(missing), Cell::Int(extra), Cell::Bool(missing == 0 && extra == 0)]])
        })
    }
}
