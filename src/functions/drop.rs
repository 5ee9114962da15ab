//! `incremental_drop(name, drop_table := true)`: forgets a model and drops the table it built.

use crate::db::{self, catalog, transaction, Pool};
use crate::error::{Error, Result};
use crate::glue::{Caller, Cell, ColType, ParamType, Params, SqlFunction};

pub struct Drop;

pub struct Args {
    name: String,
    drop_table: bool,
    search_path: String,
}

impl SqlFunction for Drop {
    type Args = Args;
    const NAME: &'static str = "incremental_drop";
    const POSITIONAL: &'static [ParamType] = &[ParamType::Varchar];
    const NAMED: &'static [(&'static str, ParamType)] = &[("drop_table", ParamType::Any)];
    fn columns() -> Vec<(&'static str, ColType)> {
        vec![("model", ColType::Varchar), ("table_dropped", ColType::Boolean)]
    }

    fn bind(params: &Params, caller: &Caller) -> Result<Args> {
        Ok(Args {
            name: super::model_name(params, Self::NAME)?,
            drop_table: params.flag("drop_table", true)?,
            search_path: caller.search_path.clone(),
        })
    }

    fn run(args: &Args, pool: &Pool) -> Result<Vec<Vec<Cell>>> {
        db::session(pool, &args.search_path, |s| {
            transaction(s.conn, || {
                let stored = s.resolve(&args.name, &args.search_path)?;
                let target = stored.def.target.clone();
                // Only a table this extension built is dropped; one a user made under the same name stays.
                let ours = s.owns_table(&stored)?;
                let dropped = args.drop_table && ours;
                let t = &stored.def.target;
                let table = t.sql_name();
                // A kept table becomes the user's: it loses the mark that made it the extension's.
                let sql =
                    if dropped { format!("DROP TABLE {table}") } else { format!("COMMENT ON TABLE {table} IS NULL") };
                if ours {
                    s.conn.execute_batch(&sql).map_err(|e| Error::Sql {
                        context: format!("dropping the table of model {}", t.display()),
                        detail: crate::db::sql_detail(&e),
                    })?;
                }
                catalog::drop_kept(s.conn, &stored.def, None)?;
                catalog::drop_logs_of(s.conn, &target)?;
                catalog::remove(s.conn, &target)?;
                Ok(vec![vec![stored.def.name().into(), Cell::Bool(dropped)]])
            })
        })
    }
}
