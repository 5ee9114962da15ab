//! `incremental_history(name := NULL)`: one row per past refresh, failed ones included.

use crate::db::{self, history, Pool};
use crate::error::Result;
use crate::glue::{Caller, Cell, ColType, ParamType, Params, SqlFunction};

pub struct History;

pub struct Args {
    name: Option<String>,
    search_path: String,
}

impl SqlFunction for History {
    type Args = Args;
    const NAME: &'static str = "incremental_history";
    const POSITIONAL: &'static [ParamType] = &[];
    const NAMED: &'static [(&'static str, ParamType)] = &[("name", ParamType::Varchar)];
    fn columns() -> Vec<(&'static str, ColType)> {
        let extra = [
            ("started_at", ColType::TimestampTz),
            ("error", ColType::Varchar),
            ("run_id", ColType::BigInt),
            ("database", ColType::Varchar),
            ("finished_at", ColType::TimestampTz),
            ("worker", ColType::Varchar),
        ];
        super::refresh::RUN_COLUMNS.iter().copied().chain(extra).collect()
    }

    fn bind(params: &Params, caller: &Caller) -> Result<Args> {
        Ok(Args { name: params.named_text("name"), search_path: caller.search_path.clone() })
    }

    fn run(args: &Args, pool: &Pool) -> Result<Vec<Vec<Cell>>> {
        db::session(pool, &args.search_path, |s| {
            let only = match &args.name {
                Some(n) => Some(s.resolve(n, &args.search_path)?.def.target),
                None => None,
            };
            Ok(history::list(s.conn, only.as_ref())?
                .into_iter()
                .map(|e| {
                    let mut row = super::refresh::run_row(e.target.display(), &e.run);
                    row.push(Cell::Micros(e.run.started_us));
                    row.push(e.run.error.clone().into());
                    row.push(Cell::Int(e.run_id));
                    row.push(e.target.database.into());
                    row.push(e.finished_us.map(Cell::Micros).unwrap_or(Cell::Null));
                    row.push(e.run.worker.clone().into());
                    row
                })
                .collect())
        })
    }
}
