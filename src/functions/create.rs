//! `incremental_create(name, query, ...)`: validates and stores a model definition; builds nothing.

use crate::db::{self, catalog, transaction, Pool};
use crate::error::{Error, Result};
use crate::glue::{Caller, Cell, ColType, ParamType, Params, SqlFunction};
use crate::options::{build_definition, clean_query, deferred_definition, CreateOptions};

pub struct Create;

pub struct Args {
    name: String,
    query: String,
    options: CreateOptions,
    search_path: String,
}

const REBUILD: &str = "the definition changed (replace := true), so the table is rebuilt";

impl SqlFunction for Create {
    type Args = Args;
    const NAME: &'static str = "incremental_create";
    const POSITIONAL: &'static [ParamType] = &[ParamType::Varchar, ParamType::Varchar];
    const NAMED: &'static [(&'static str, ParamType)] = &[
        ("strategy", ParamType::Varchar),
        ("unique_key", ParamType::Any),
        ("time_column", ParamType::Varchar),
        ("lookback", ParamType::Any),
        ("start", ParamType::Any),
        ("sources", ParamType::Any),
        ("target_lag", ParamType::Any),
        ("replace", ParamType::Any),
        ("keep_data", ParamType::Any),
    ];
    fn columns() -> Vec<(&'static str, ColType)> {
        super::models::DEFINITION_COLUMNS.to_vec()
    }

    fn bind(params: &Params, caller: &Caller) -> Result<Args> {
        let name = super::model_name(params, Self::NAME)?;
        let query = params.text(1).ok_or_else(|| {
            Error::usage(format!(
                "incremental_create('{name}', query) needs the model's SELECT query as second argument"
            ))
        })?;
        let options = CreateOptions {
            strategy: params.named_text("strategy"),
            unique_key: params.named.get("unique_key").cloned(),
            time_column: params.named_text("time_column"),
            lookback: params.named.get("lookback").cloned(),
            start: params.named.get("start").cloned(),
            sources: params.named.get("sources").cloned(),
            target_lag: params.named.get("target_lag").cloned(),
            replace: params.flag("replace", false)?,
            keep_data: params.flag("keep_data", false)?,
        };
        Ok(Args { name, query, options, search_path: caller.search_path.clone() })
    }

    fn run(args: &Args, pool: &Pool) -> Result<Vec<Vec<Cell>>> {
        db::session(pool, &args.search_path, |s| {
            let target = match s.resolve(&args.name, &args.search_path) {
                Err(Error::UnknownModel { .. } | Error::NotAModel { .. }) => {
                    s.resolve_new(&args.name, &args.search_path)?
                }
                found => found?.def.target,
            };
            let query = clean_query(&args.query);
            s.check_query(&target.display(), &query)?;
            // An empty search_path means the default database's main schema: stored by name, so the query resolves
            // the same when the file is later attached under another name or beside another default database.
            let stored_path = match args.search_path.as_str() {
                "" => format!("{}.main", crate::quote::ident(&s.default_database()?)),
                given => given.to_string(),
            };
            // Bound before the transaction: a failed statement aborts a DuckDB 2.0 transaction.
            let bindable = crate::placeholders::bindable(&query);
            let bound = s.describe(&target.display(), &bindable);
            let reads_unbuilt = bound.is_err() && !s.unbuilt_models_read(&bindable, &args.search_path)?.is_empty();
            transaction(s.conn, || {
                let existing = s.find(&target)?;
                match &existing {
                    Some(_) if !args.options.replace => return Err(Error::ModelExists { model: target.display() }),
                    None if s.relation(&target)?.is_some() => {
                        return Err(Error::NotOurTable { table: target.display() })
                    }
                    _ => {}
                }
                let (query, search_path) = (query.clone(), stored_path.clone());
                let def = match bound.clone() {
                    Ok(columns) => build_definition(target.clone(), query, columns, &args.options, search_path)?,
                    // A pipeline may be defined before it is built: a query reading models not built yet is
                    // checked against its columns at its first refresh.
                    Err(_) if reads_unbuilt => deferred_definition(target.clone(), query, &args.options, search_path)?,
                    Err(e) => return Err(e),
                };
                let def = s.resolve_sources(s.infer_sources(def)?)?;
                let def = s.check_values(def)?;
                check_placeholders(&def)?;
                let rebuild = match &existing {
                    Some(old) if args.options.keep_data => {
                        if !db::same_columns(&old.def.columns, &def.columns) {
                            return Err(Error::option(
                                &def.name(),
                                format!(
                                    "keep_data := true needs the same output columns, but they change from ({}) to ({}); drop keep_data to rebuild",
                                    db::show_columns(&old.def.columns),
                                    db::show_columns(&def.columns)
                                ),
                            ));
                        }
                        None
                    }
                    Some(_) => Some(REBUILD),
                    None => None,
                };
                catalog::ensure(s.conn, &target.database)?;
                if let Some(old) = &existing {
                    catalog::drop_kept(s.conn, &old.def, Some(&def))?;
                }
                catalog::save_definition(s.conn, &def, rebuild)?;
                Ok(vec![super::models::definition_row(&def, if existing.is_some() { "redefined" } else { "defined" })])
            })
        })
    }
}

/// `@watermark`, `@start` and `@end` stand for values of the time column, so a model using them needs one.
fn check_placeholders(def: &crate::model::ModelDef) -> Result<()> {
    let used = crate::placeholders::find(&def.query);
    match used.iter().find(|p| crate::placeholders::BUILT_IN.contains(&p.name.as_str())) {
        Some(p) if def.time_column.is_none() => Err(Error::option(
            &def.name(),
            format!("the query uses @{}, which needs a time_column; pass time_column := 'column'", p.name),
        )),
        _ => Ok(()),
    }
}
