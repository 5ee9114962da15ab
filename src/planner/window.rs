//! The slice of the query a refresh re-reads: from the watermark (less the lookback) on, or everything.

use crate::model::{Lookback, ModelDef, Strategy};
use crate::quote::{ident, literal};

/// Tables smaller than this are always refreshed as planned.
pub const MIN_ROWS_FOR_COST: u64 = 100_000;

/// A lower bound on the time column; `None` bound means the whole query is re-read.
#[derive(Debug, Clone, PartialEq)]
pub struct Window {
    /// SQL expression of the bound, a constant DuckDB folds before filter pushdown.
    pub bound: Option<String>,
    /// `time_column > bound` rather than `>=`: append without lookback takes only rows beyond the watermark.
    pub strict: bool,
    watermark: Option<String>,
}

fn typed(value: &str, type_name: &str) -> String {
    format!("CAST({} AS {type_name})", literal(value))
}

impl Window {
    pub fn for_refresh(def: &ModelDef, watermark: Option<&str>) -> Window {
        let (Some(ty), Some(wm)) = (def.time_type(), watermark) else {
            return Window { bound: None, strict: false, watermark: None };
        };
        let wm_sql = typed(wm, ty);
        let behind = match &def.lookback {
            None => wm_sql,
            Some(Lookback::Integer(n)) => format!("CAST({wm_sql} - {n} AS {ty})"),
            Some(Lookback::Interval(i)) => format!("CAST({wm_sql} - CAST({} AS INTERVAL) AS {ty})", literal(i)),
        };
        let bound = match &def.start {
            Some(s) => format!("greatest({}, {behind})", typed(s, ty)),
            None => behind,
        };
        let strict = def.strategy == Strategy::Append && def.lookback.is_none();
        Window { bound: Some(bound), strict, watermark: Some(wm.to_string()) }
    }

    /// The window over query rows aliased `alias`; rows with a NULL time are let in so a check can reject them.
    pub fn query_filter(&self, def: &ModelDef, alias: &str) -> Option<String> {
        let (Some(bound), Some(tc)) = (&self.bound, &def.time_column) else {
            return None;
        };
        let tc = format!("{alias}.{}", ident(tc));
        let op = if self.strict { ">" } else { ">=" };
        Some(format!("({tc} {op} {bound} OR {tc} IS NULL)"))
    }

    /// The window over the target's rows aliased `alias`: `TRUE` when the whole query is re-read.
    pub fn target_filter(&self, def: &ModelDef, alias: &str) -> String {
        match (&self.bound, &def.time_column) {
            (Some(b), Some(tc)) => {
                let op = if self.strict { ">" } else { ">=" };
                format!("{alias}.{} {op} {b}", ident(tc))
            }
            _ => "TRUE".to_string(),
        }
    }

    /// A query that is false only when no row can be beyond the watermark: then the refresh is a no-op.
    pub fn noop_probe(&self, def: &ModelDef) -> Option<String> {
        if !self.strict {
            return None;
        }
        let filter = self.query_filter(def, "q")?;
        Some(format!("SELECT EXISTS (SELECT 1 FROM (\n{}\n) AS q WHERE {filter})", def.query))
    }

    /// The share of the table's rows inside the window, from zone maps and the row count; 0 for a table under
    /// `MIN_ROWS_FOR_COST` rows, where either way takes milliseconds. Only merge and delete+insert have one: a full
    /// rebuild gives what their window promises, while append never rewrites rows it already inserted.
    pub fn share_of_table(&self, def: &ModelDef) -> Option<String> {
        self.bound.as_ref()?;
        if !matches!(def.strategy, Strategy::Merge | Strategy::DeleteInsert) {
            return None;
        }
        let t = &def.target;
        let table = crate::quote::qualified(&[&t.database, &t.schema, &t.table]);
        Some(format!(
            "SELECT CASE WHEN n < {MIN_ROWS_FOR_COST} THEN 0 ELSE CAST(w AS DOUBLE) / n END FROM \
             (SELECT count(*) AS w FROM {table} AS t WHERE {}), (SELECT count(*) AS n FROM {table})",
            self.target_filter(def, "t")
        ))
    }

    /// The query with the window's filter moved below its latest-row dedup, when it has one ordered by the time
    /// column's source.
    pub fn push_below_dedup(&self, def: &ModelDef) -> Option<String> {
        let op = if self.strict { ">" } else { ">=" };
        crate::analysis::push_below_dedup(&def.query, def.time_column.as_ref()?, op, self.bound.as_ref()?)
    }

    /// The stored watermark as a typed SQL constant.
    pub fn watermark_sql(&self, def: &ModelDef) -> Option<String> {
        Some(typed(self.watermark.as_ref()?, def.time_type()?))
    }

    pub fn describe(&self, def: &ModelDef) -> String {
        match (&def.time_column, &self.watermark) {
            (Some(tc), Some(wm)) => {
                let op = if self.strict { ">" } else { ">=" };
                let mut text = format!("re-reads rows with {tc} {op} watermark {wm}");
                if let Some(lb) = &def.lookback {
                    text.push_str(&format!(" minus lookback {}", lb.display()));
                }
                if let Some(s) = &def.start {
                    text.push_str(&format!(" (not before start {s})"));
                }
                text
            }
            _ => "no time_column: the whole query is re-read and compared with the table".to_string(),
        }
    }
}
