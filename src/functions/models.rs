//! `incremental_models()`: one row per model with its definition and the state of its last refresh.

use crate::db::{self, catalog, Pool};
use crate::error::Result;
use crate::glue::{Caller, Cell, ColType, ParamType, Params, SqlFunction};
use crate::model::{ModelDef, ModelState};
use crate::planner;

pub struct Models;

/// The columns describing a definition, shared by `incremental_create`'s result.
pub const DEFINITION_COLUMNS: &[(&str, ColType)] = &[
    ("name", ColType::Varchar),
    ("database", ColType::Varchar),
    ("query", ColType::Varchar),
    ("strategy", ColType::Varchar),
    ("strategy_reason", ColType::Varchar),
    ("unique_key", ColType::Varchar),
    ("time_column", ColType::Varchar),
    ("lookback", ColType::Varchar),
    ("start", ColType::Varchar),
    ("status", ColType::Varchar),
];

pub fn definition_row(def: &ModelDef, status: &str) -> Vec<Cell> {
    let key = (!def.unique_key.is_empty()).then(|| def.unique_key.join(", "));
    vec![
        def.name().into(),
        def.target.database.as_str().into(),
        def.query.as_str().into(),
        def.strategy.as_str().into(),
        def.strategy_reason.as_str().into(),
        key.into(),
        def.time_column.clone().into(),
        def.lookback.as_ref().map(|l| l.display()).into(),
        def.start.clone().into(),
        status.into(),
    ]
}

impl SqlFunction for Models {
    type Args = String;
    const NAME: &'static str = "incremental_models";
    const POSITIONAL: &'static [ParamType] = &[];
    const NAMED: &'static [(&'static str, ParamType)] = &[];
    fn columns() -> Vec<(&'static str, ColType)> {
        let state = [
            ("watermark", ColType::Varchar),
            ("last_refresh_at", ColType::TimestampTz),
            ("last_mode", ColType::Varchar),
            ("pending_rebuild", ColType::Varchar),
            ("target_lag", ColType::Varchar),
            ("data_timestamp", ColType::TimestampTz),
            ("lag_seconds", ColType::Double),
            ("due", ColType::Boolean),
            ("needs_snapshot", ColType::BigInt),
        ];
        DEFINITION_COLUMNS.iter().copied().chain(state).collect()
    }

    fn bind(_: &Params, caller: &Caller) -> Result<String> {
        Ok(caller.search_path.clone())
    }

    fn run(search_path: &String, pool: &Pool) -> Result<Vec<Vec<Cell>>> {
        db::session(pool, search_path, |s| {
            let (mut rows, mut kept) = (Vec::new(), std::collections::BTreeMap::new());
            let (all, _, fresh) = s.models_fresh(None)?;
            for (m, f) in all.into_iter().zip(fresh) {
                // A log or copy gone since the last refresh makes the next one a rebuild, as the planner decides.
                let db = m.def.target.database.clone();
                if !kept.contains_key(&db) {
                    kept.insert(db.clone(), catalog::kept_tables(s.conn, &db)?);
                }
                let state =
                    ModelState { kept_tables: kept[&db].clone(), feeds: f.feeds.clone(), ..ModelState::default() };
                let st = &m.state;
                let pending =
                    st.rebuild_reason.clone().or_else(|| st.built.then(|| planner::lost(&m.def, &state)).flatten());
                let mut row = definition_row(&m.def, &st.status);
                row.push(st.shown_watermark().into());
                row.push(st.last_refresh_us.map(Cell::Micros).unwrap_or(Cell::Null));
                row.push(st.last_mode.clone().into());
                row.push(pending.into());
                row.push(m.def.target_lag.as_ref().map(|l| l.display()).into());
                row.push(f.data_us.map(Cell::Micros).unwrap_or(Cell::Null));
                row.push(f.freshness.lag_seconds.map(Cell::Double).unwrap_or(Cell::Null));
                row.push(Cell::Bool(f.freshness.due));
                row.push(f.needs_snapshot.map(Cell::Int).unwrap_or(Cell::Null));
                rows.push(row);
            }
            Ok(rows)
        })
    }
}
