//! The slice of the query a refresh re-reads: from the watermark (less the lookback) on, or everything.

use crate::model::{Lookback, ModelDef, Strategy};
use crate::quote::{ident, literal};

/// Tables smaller than this are always refreshed as planned.
pub const MIN_ROWS_FOR_COST: u64 = 100_000;

/// A query answering what share of the rows of `whole` the rows of `part` (a FROM item) are; 0 when `whole` has
/// fewer than `MIN_ROWS_FOR_COST` rows, where either way takes milliseconds.
pub fn share(part: &str, whole: &str) -> String {
    format!(
        "SELECT CASE WHEN n < {MIN_ROWS_FOR_COST} THEN 0 ELSE CAST(w AS DOUBLE) / n END FROM \
         (SELECT count(*) AS w FROM {part}), (SELECT count(*) AS n FROM {whole})"
    )
}

/// The share of `rows` (a known row count of at least `MIN_ROWS_FOR_COST`) that the rows of `part` are.
pub fn share_of_known(part: &str, rows: u64) -> String {
    format!("SELECT CAST(count(*) AS DOUBLE) / {rows} FROM {part}")
}

/// The share of `rows` (as above) that `count` (a scalar query of a number of rows) is.
pub fn share_of_count(count: &str, rows: u64) -> String {
    format!("SELECT CAST(({count}) AS DOUBLE) / {rows}")
}

/// How a refresh finds rows whose time is NULL, decided from the query's shape.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum NullCheck {
    /// The window's filter lets NULL times in and a check on the computed rows rejects them: for queries with a
    /// window function, where no filter reaches the source anyway.
    InWindow,
    /// A query of its own (`time_column IS NULL`), so the window's filter stays a plain comparison that reaches the
    /// source's zone maps (an `OR ... IS NULL` would stop it there).
    Separate,
    /// None: the window's filter runs below a dedup, so a row with a NULL time never enters the window.
    Skipped,
}

/// A lower bound on the time column; `None` bound means the whole query is re-read.
#[derive(Debug, Clone, PartialEq)]
pub struct Window {
    pub nulls: NullCheck,
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
            return Window { nulls: NullCheck::InWindow, bound: None, strict: false, watermark: None };
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
        let nulls = if crate::analysis::has_window_function(&def.bindable_query()) {
            NullCheck::InWindow
        } else {
            NullCheck::Separate
        };
        Window { nulls, bound: Some(bound), strict, watermark: Some(wm.to_string()) }
    }

    /// The window over query rows aliased `alias`; with `NullCheck::InWindow` rows with a NULL time are let in so
    /// the check on the computed rows can reject them.
    pub fn query_filter(&self, def: &ModelDef, alias: &str) -> Option<String> {
        let (Some(bound), Some(tc)) = (&self.bound, &def.time_column) else {
            return None;
        };
        let tc = format!("{alias}.{}", ident(tc));
        let op = if self.strict { ">" } else { ">=" };
        Some(match self.nulls {
            NullCheck::InWindow => format!("({tc} {op} {bound} OR {tc} IS NULL)"),
            NullCheck::Separate | NullCheck::Skipped => format!("{tc} {op} {bound}"),
        })
    }

    /// The query that finds NULL times in the source, with `NullCheck::Separate`.
    pub fn source_null_check(&self, def: &ModelDef) -> Option<String> {
        let tc = ident(def.time_column.as_ref()?);
        (self.nulls == NullCheck::Separate).then(|| {
            format!(
                "SELECT CAST(count(*) AS VARCHAR) FROM (\n{}\n) AS q WHERE q.{tc} IS NULL HAVING count(*) > 0",
                def.query
            )
        })
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
        let beyond = format!("EXISTS (SELECT 1 FROM (\n{}\n) AS q WHERE {filter})", def.query);
        Some(match self.nulls {
            NullCheck::Separate => format!(
                "SELECT {beyond} OR EXISTS (SELECT 1 FROM (\n{}\n) AS q WHERE q.{} IS NULL)",
                def.query,
                ident(def.time_column.as_ref()?)
            ),
            NullCheck::InWindow | NullCheck::Skipped => format!("SELECT {beyond}"),
        })
    }

    /// The share of the table's rows inside the window, from zone maps and the row count. Only merge and
    /// delete+insert have one: a full rebuild gives what their window promises, while append never rewrites rows it
    /// already inserted.
    pub fn share_of_table(&self, def: &ModelDef) -> Option<String> {
        self.bound.as_ref()?;
        if !matches!(def.strategy, Strategy::Merge | Strategy::DeleteInsert) {
            return None;
        }
        let table = def.target.sql_name();
        Some(share(&format!("{table} AS t WHERE {}", self.target_filter(def, "t")), &table))
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
