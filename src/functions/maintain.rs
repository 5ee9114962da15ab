//! `incremental_maintain('lake', older_than := INTERVAL '1 day')`: expires the DuckLake snapshots no model still
//! reads from, and merges small data files.

use crate::db::{self, Pool};
use crate::error::{Error, Result};
use crate::glue::{Caller, Cell, ColType, ParamType, Params, SqlFunction};
use crate::options::ParamValue;

pub struct Maintain;

pub struct Args {
    database: String,
    older_than: String,
    search_path: String,
}

impl SqlFunction for Maintain {
    type Args = Args;
    const NAME: &'static str = "incremental_maintain";
    const POSITIONAL: &'static [ParamType] = &[ParamType::Varchar];
    const NAMED: &'static [(&'static str, ParamType)] = &[("older_than", ParamType::Any)];
    fn columns() -> Vec<(&'static str, ColType)> {
        vec![
            ("database", ColType::Varchar),
            ("kept_from_snapshot", ColType::BigInt),
            ("snapshots_expired", ColType::BigInt),
            ("files_merged", ColType::Boolean),
        ]
    }

    fn bind(params: &Params, caller: &Caller) -> Result<Args> {
        let database = params.text(0).filter(|d| !d.trim().is_empty()).ok_or_else(|| {
            Error::usage("incremental_maintain(database) needs the name of an attached DuckLake, such as incremental_maintain('lake')")
        })?;
        let older_than = match params.named.get("older_than") {
            None => "1 day".to_string(),
            Some(ParamValue::Interval(t) | ParamValue::Text(t)) => t.clone(),
            Some(other) => {
                return Err(Error::usage(format!(
                    "incremental_maintain: older_than must be an INTERVAL such as INTERVAL '1 day', not {}",
                    other.shown()
                )))
            }
        };
        Ok(Args { database, older_than, search_path: caller.search_path.clone() })
    }

    fn run(args: &Args, pool: &Pool) -> Result<Vec<Vec<Cell>>> {
        db::session(pool, &args.search_path, |s| {
            let done = s.maintain(&args.database, &args.older_than)?;
            Ok(vec![vec![
                done.database.into(),
                Cell::Int(done.kept_from),
                Cell::Int(done.expired),
                Cell::Bool(done.merged),
            ]])
        })
    }
}
