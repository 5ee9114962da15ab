//! Everything that talks to DuckDB: the connection pool, the catalog tables, and running plans.

mod called;
pub mod catalog;
pub mod exec;
mod feed;
mod freshness;
mod graph;
pub mod history;
mod lookup;
mod maintain;
mod memo;
mod migrate;
mod pool;
mod query;
mod refresh;
mod seen;
mod shapes;
mod sources;
mod sql;
pub mod state;
pub mod work;

use duckdb::Connection;

pub use freshness::Fresh;
pub use graph::cycle_error;
pub use pool::Pool;
pub use refresh::Settings;
pub use sql::{detail as sql_detail, transaction};

use crate::error::{Error, Result};
use crate::model::{Column, ModelDef, ModelState, Target};
use crate::names;
use crate::quote::literal;
use catalog::Stored;

/// A pool connection set up to resolve names as the calling session does.
pub struct Session<'a> {
    pub conn: &'a Connection,
    pool: &'a Pool,
    locks: &'a pool::ModelLocks,
    instance: &'a str,
    builtins: &'a std::sync::Mutex<std::collections::HashSet<String>>,
    memo: &'a memo::Memo,
    /// The search_path last set on the connection, and the database it makes current once asked.
    search_path: std::cell::RefCell<Option<(String, Option<String>)>>,
    /// Relations found by name while `state` gathers a refresh's probes, which look up each source more than once.
    found: std::cell::RefCell<Option<std::collections::HashMap<Target, Option<lookup::Resolved>>>>,
    /// The names of the lake a refresh's transaction reads, while `state` gathers its probes, when the last read of
    /// that lake saw them and no snapshot since changed one.
    names: std::cell::RefCell<Option<seen::LakeNames>>,
}

/// Runs `f` on a pool connection whose search_path is the caller's. The setup runs in one transaction: with a
/// DuckLake first on the search_path, every statement in a transaction of its own starts a DuckLake transaction
/// (measured: 2-7 ms each on a PostgreSQL catalog, against 0.3 ms inside one).
pub fn session<T>(pool: &Pool, search_path: &str, f: impl FnOnce(&Session) -> Result<T>) -> Result<T> {
    pool.with(|conn| {
        let s = Session {
            conn,
            pool,
            locks: &pool.locks,
            instance: &pool.instance,
            builtins: &pool.builtins,
            memo: &pool.memo,
            search_path: Default::default(),
            found: Default::default(),
            names: Default::default(),
        };
        let outdated = transaction(conn, || {
            s.use_search_path(search_path)?;
            s.default_database()?;
            migrate::outdated(conn, &pool.memo)
        })?;
        for db in outdated {
            migrate::upgrade(conn, &db)?;
        }
        f(&s)
    })
}

impl Session<'_> {
    pub fn use_search_path(&self, search_path: &str) -> Result<()> {
        if self.search_path.borrow().as_ref().is_some_and(|(set, _)| set == search_path) {
            return Ok(());
        }
        self.search_path.replace(None);
        if search_path.is_empty() {
            sql::batch(self.conn, "RESET search_path")?;
        } else {
            sql::batch(self.conn, &format!("SET search_path = {}", literal(search_path)))?;
        }
        self.search_path.replace(Some((search_path.to_string(), None)));
        Ok(())
    }

    /// The registered model the caller means: the first place along its search_path that holds one by that name.
    pub fn resolve(&self, name: &str, search_path: &str) -> Result<Stored> {
        let candidates = names::candidates(name, search_path, &self.default_database()?)?;
        for target in &candidates {
            if let Some(stored) = catalog::find(self.conn, target)? {
                return Ok(stored);
            }
        }
        for target in &candidates {
            if catalog::relation(self.conn, target)?.is_some() {
                return Err(Error::NotAModel { relation: target.display() });
            }
        }
        Err(Error::UnknownModel { model: name.to_string() })
    }

    /// Where a new model of that name goes: the first candidate whose database and schema exist.
    pub fn resolve_new(&self, name: &str, search_path: &str) -> Result<Target> {
        // The catalog schema is never a place for a model: its tables are the extension's own.
        let in_catalog = |t: &Target| t.schema.eq_ignore_ascii_case(catalog::SCHEMA);
        let mut candidates = names::candidates(name, search_path, &self.default_database()?)?;
        if let Some(t) = candidates.first().filter(|t| in_catalog(t)) {
            return Err(Error::usage(format!(
                "model {name}: schema {}.{} holds the extension's own tables, so no model can be created in it; choose another schema",
                t.database,
                catalog::SCHEMA
            )));
        }
        candidates.retain(|t| !in_catalog(t));
        for target in &candidates {
            let exists: Option<i64> = sql::scalar(
                self.conn,
                "SELECT count(*) FROM duckdb_schemas() WHERE lower(database_name) = lower(?) AND lower(schema_name) = lower(?)",
                &[&target.database, &target.schema],
            )?;
            if exists.unwrap_or(0) > 0 {
                return Ok(target.clone());
            }
        }
        let place = candidates.first().map(|t| format!("{}.{}", t.database, t.schema)).unwrap_or_default();
        Err(Error::usage(format!(
            "model {name}: schema {place} does not exist; create it with CREATE SCHEMA or choose another name"
        )))
    }

    /// The database unqualified names fall back to when the search_path is empty; it follows the search_path set.
    pub fn default_database(&self) -> Result<String> {
        if let Some((_, Some(db))) = self.search_path.borrow().as_ref() {
            return Ok(db.clone());
        }
        let db: String = sql::scalar(self.conn, "SELECT current_database()", &[])?.unwrap_or_default();
        if let Some((_, known)) = self.search_path.borrow_mut().as_mut() {
            *known = Some(db.clone());
        }
        Ok(db)
    }

    /// The query's output columns, found by binding it without running it.
    pub fn describe(&self, model: &str, query: &str) -> Result<Vec<Column>> {
        sql::rows(self.conn, &format!("DESCRIBE {}", query::wrapped(query)), &[], |r| {
            Ok(Column { name: r.get(0)?, type_name: r.get(1)? })
        })
        .map_err(|e| match e {
            Error::Sql { detail, .. } => Error::BadQuery { model: model.to_string(), detail },
            other => other,
        })
    }

    /// `start` and an interval `lookback` must be values DuckDB can cast to the time column's type.
    /// `start` comes back as DuckDB renders it in the time column's type: what is stored is the value every
    /// refresh compares with, not text DuckDB happened to accept.
    pub fn check_values(&self, mut def: ModelDef) -> Result<ModelDef> {
        let model = def.name();
        if let (Some(start), Some(ty)) = (def.start.clone(), def.time_type().map(str::to_string)) {
            self.check_cast(&model, "start", &start, &ty)?;
            let rendered = format!("SELECT CAST(CAST({} AS {ty}) AS VARCHAR)", literal(&start));
            def.start = sql::scalar::<String>(self.conn, &rendered, &[])?;
        }
        if let Some(crate::model::TargetLag::Interval { text, seconds }) = &mut def.target_lag {
            self.check_cast(&model, "target_lag", text, "INTERVAL")?;
            let length = format!("SELECT epoch(CAST({} AS INTERVAL))", literal(text));
            *seconds = sql::scalar::<f64>(self.conn, &length, &[])?.unwrap_or(0.0);
            if *seconds <= 0.0 {
                return Err(Error::option(
                    &model,
                    format!("target_lag INTERVAL '{text}' is not positive; give how stale the model may become, such as INTERVAL '5 minutes'"),
                ));
            }
        }
        match &def.lookback {
            Some(crate::model::Lookback::Interval(text)) => {
                self.check_cast(&model, "lookback", text, "INTERVAL")?;
                let lookback = format!("CAST({} AS INTERVAL)", literal(text));
                let negative = format!("SELECT {lookback} < INTERVAL '0 seconds'");
                if sql::scalar::<bool>(self.conn, &negative, &[])?.unwrap_or(false) {
                    return Err(Error::option(
                        &model,
                        format!("lookback INTERVAL '{text}' is negative; give how far back to re-read, such as INTERVAL '3 days'"),
                    ));
                }
                // A refresh subtracts it from a timestamp; one that reaches before the earliest timestamp DuckDB holds
                // would fail every refresh.
                let reach = format!("SELECT CAST(now() AS TIMESTAMP) - {lookback} IS NOT NULL");
                if sql::scalar::<bool>(self.conn, &reach, &[]).is_err() {
                    return Err(Error::option(
                        &model,
                        format!("lookback INTERVAL '{text}' reaches before the earliest timestamp DuckDB can hold; give a lookback of at most a few thousand years"),
                    ));
                }
            }
            Some(crate::model::Lookback::Integer(n)) if *n < 0 => {
                return Err(Error::option(
                    &model,
                    format!("lookback {n} is negative; give how far back to re-read, such as 100"),
                ));
            }
            _ => {}
        }
        Ok(def)
    }

    /// Checks that a value casts to `type_name`; `what` names the option in the error.
    pub fn check_cast(&self, model: &str, what: &str, value: &str, type_name: &str) -> Result<()> {
        let sql = format!("SELECT CAST({} AS {type_name}) IS NOT NULL", literal(value));
        sql::scalar::<bool>(self.conn, &sql, &[])
            .map_err(|_| Error::option(model, format!("{what} '{value}' is not a valid {type_name}")))
            .map(|_| ())
    }

    pub fn find(&self, target: &Target) -> Result<Option<Stored>> {
        catalog::find(self.conn, target)
    }

    pub fn relation(&self, target: &Target) -> Result<Option<catalog::Relation>> {
        let known = self.names.borrow().as_ref().and_then(|n| n.find(self.conn, target));
        match known {
            Some(found) => catalog::relation_of(self.conn, target, found?),
            None => catalog::relation(self.conn, target),
        }
    }

    /// True when the model's table exists and is the one the extension built: built, and still carrying its mark.
    pub fn owns_table(&self, stored: &Stored) -> Result<bool> {
        Ok(owns(stored, self.relation(&stored.def.target)?.as_ref()))
    }

    /// What the planner needs to know about the model's table; refuses a table the extension did not build.
    /// `names` are the lake's names at the transaction's snapshot, when known.
    pub fn state(&self, stored: &Stored, names: Option<&seen::LakeNames>) -> Result<ModelState> {
        // Nothing is created or dropped while the probes run, so a name found once stays found.
        self.found.replace(Some(Default::default()));
        self.names.replace(names.cloned());
        let state = self.probe_state(stored);
        self.found.replace(None);
        self.names.replace(None);
        state
    }

    fn probe_state(&self, stored: &Stored) -> Result<ModelState> {
        let def = &stored.def;
        let existing = self.relation(&def.target)?;
        if existing.is_some() && !owns(stored, existing.as_ref()) {
            return Err(Error::NotOurTable { table: def.name() });
        }
        for (s, up) in def.sources.iter().filter_map(|s| Some((s, s.upstream()?))) {
            if catalog::find(self.conn, up)?.is_none() {
                return Err(Error::RefreshFailed {
                    model: def.name(),
                    detail: format!(
                        "it reads the changes of model {}, which is no longer a model (it was dropped); define it again, or redefine this model with incremental_create(..., replace := true) and another way to find its changes",
                        s.relation
                    ),
                });
            }
        }
        let columns_match = existing.as_ref().is_some_and(|r| same_columns(&r.columns, &def.columns));
        let known = self.names.borrow().as_ref().and_then(|n| n.in_schema(&def.target.database, catalog::SCHEMA));
        let kept_tables = match known {
            Some(names) => names,
            None => catalog::kept_tables(self.conn, &def.target.database)?,
        };
        Ok(ModelState {
            built: stored.state.built,
            table_exists: existing.is_some(),
            columns_match,
            watermark: stored.state.watermark.clone(),
            source_marks: stored.state.source_marks.clone(),
            rebuild_reason: stored.state.rebuild_reason.clone(),
            source_shapes: self.source_shapes(def)?,
            recorded_shapes: stored.state.source_shapes.clone(),
            feeds: self.feeds(def, &stored.state.source_marks)?,
            kept_tables,
            target_in_lake: existing.as_ref().is_some_and(|r| r.kind == "ducklake"),
        })
    }

    /// Fails when the query no longer returns the columns the model was defined with.
    pub fn check_query_columns(&self, def: &ModelDef) -> Result<()> {
        let now = self.describe(&def.name(), &def.bindable_query()).map_err(|e| match e {
            Error::BadQuery { model, detail } => Error::RefreshFailed {
                model,
                detail: format!(
                    "its query no longer binds ({detail}); fix the source tables or redefine the model with incremental_create(..., replace := true)"
                ),
            },
            other => other,
        })?;
        if same_columns(&now, &def.columns) {
            return Ok(());
        }
        Err(Error::RefreshFailed {
            model: def.name(),
            detail: format!(
                "the query now returns ({}) but the model was defined with ({}); redefine it with incremental_create(..., replace := true)",
                show_columns(&now),
                show_columns(&def.columns)
            ),
        })
    }
}

fn owns(stored: &Stored, relation: Option<&catalog::Relation>) -> bool {
    let mark = stored.def.ownership_mark();
    stored.state.built && relation.is_some_and(|r| r.comment.as_deref() == Some(mark.as_str()))
}

pub fn same_columns(a: &[Column], b: &[Column]) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(x, y)| x.name.eq_ignore_ascii_case(&y.name) && x.type_name.eq_ignore_ascii_case(&y.type_name))
}

pub fn show_columns(cols: &[Column]) -> String {
    cols.iter().map(|c| format!("{} {}", c.name, c.type_name)).collect::<Vec<_>>().join(", ")
}
