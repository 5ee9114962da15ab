//! Decides how a refresh runs (mode and reason, once) and renders the statements for it; pure, no DuckDB.

pub(crate) mod changes;
mod fold;
pub mod freshness;
mod keys;
mod rebuild;
mod render;
mod running;
mod shapes;
pub mod snapshots;
pub mod sources;
pub mod unchanged;
mod values;
mod window;

use std::collections::BTreeMap;

use crate::error::Result;
use crate::model::{ModelDef, ModelState, Strategy};
use crate::placeholders::Vars;

pub use keys::lost;
pub use shapes::{Change, Decision};
pub use values::fill;

pub use window::Window;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Full,
    Incremental,
    Noop,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Full => "full",
            Mode::Incremental => "incremental",
            Mode::Noop => "noop",
        }
    }
}

/// Which refresh counter a counting step adds to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counter {
    Inserted,
    Updated,
    Deleted,
    /// Rows deleted because a row of the same key is inserted again in this refresh: each is an update, not an insert.
    Replaced,
}

/// Why a guard query stops the refresh when it returns a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Guard {
    NullTime,
    DuplicateKey,
}

/// One statement of a refresh, with what the executor does with its result.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// Run it; nothing to read.
    Run(String),
    /// A query returning one number, added to a counter.
    Count(Counter, String),
    /// A data change whose number of changed rows is added to a counter.
    Apply(Counter, String),
    /// A query returning at most one row, described by its first column; a row stops the refresh.
    Check(Guard, String),
    /// A query returning the new watermark as text.
    Watermark(String),
    /// A query returning the new watermark of one source (named first) as text.
    SourceWatermark(String, String),
    /// A query over temp tables returning true or false: false skips the next step, a statement with nothing to
    /// change then (in a DuckLake a statement that joins a table costs its metadata reads even when nothing matches).
    OnlyIf(String),
}

impl Step {
    pub fn sql(&self) -> &str {
        match self {
            Step::Run(s)
            | Step::Count(_, s)
            | Step::Apply(_, s)
            | Step::Check(_, s)
            | Step::Watermark(s)
            | Step::SourceWatermark(_, s)
            | Step::OnlyIf(s) => s,
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Step::Run(_) => "run",
            Step::Count(Counter::Inserted, _) => "count inserted",
            Step::Count(Counter::Updated, _) => "count updated",
            Step::Count(Counter::Deleted, _) => "count deleted",
            Step::Count(Counter::Replaced, _) => "count replaced",
            Step::Apply(Counter::Inserted, _) => "insert",
            Step::Apply(Counter::Updated, _) => "update",
            Step::Apply(Counter::Deleted, _) => "delete",
            Step::Apply(Counter::Replaced, _) => "delete replaced",
            Step::Check(_, _) => "check",
            Step::Watermark(_) => "watermark",
            Step::SourceWatermark(_, _) => "source watermark",
            Step::OnlyIf(_) => "only if",
        }
    }
}

/// The whole decision for one refresh: the executor runs `probe` (when present), then `cost` (when present), then the
/// steps in order.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub mode: Mode,
    pub strategy: Strategy,
    pub reason: String,
    /// A query answering `true` when there may be new rows; `false` makes the refresh a no-op.
    pub probe: Option<String>,
    /// How large a share of the table the window replaces, and the full rebuild to run instead when it is too large.
    pub cost: Option<CostCheck>,
    pub steps: Vec<Step>,
}

/// A query returning a share (0 to 1) of rows a refresh touches: of the table's rows inside the window, or of a
/// source's rows that changed. Over the threshold, `full` runs instead of the steps.
#[derive(Debug, Clone, PartialEq)]
pub struct CostCheck {
    pub sql: String,
    pub full: Vec<Step>,
    /// What the share is of, for the refresh's reason.
    pub measures: &'static str,
}

/// Decides the mode of the next refresh and renders its statements, with the query's placeholders filled.
pub fn plan(def: &ModelDef, state: &ModelState, full_refresh: bool, vars: &Vars) -> Result<Plan> {
    let shapes = match def.sources.is_empty() || !state.built || !state.table_exists {
        true => shapes::for_full_build(def, state),
        false => shapes::decide(def, state),
    };
    let full_reason = if !state.built || !state.table_exists {
        Some("first build: the table does not exist yet".to_string())
    } else if full_refresh {
        Some("full_refresh := true was requested".to_string())
    } else if let Some(why) = &state.rebuild_reason {
        Some(why.clone())
    } else if let Some(why) = keys::lost(def, state) {
        Some(why)
    } else if let Some(why) = shapes.reason() {
        Some(why)
    } else if def.strategy == Strategy::Full {
        Some(def.strategy_reason.clone())
    } else if !state.columns_match {
        Some("the table's columns differ from the definition's, so it is rebuilt".to_string())
    } else if def.time_column.is_some() && state.watermark.is_none() {
        Some("no watermark is stored (the table was empty), so it is rebuilt".to_string())
    } else {
        None
    };
    let rec = changes::Recorder::new(def, state);
    let full_steps = |def: &ModelDef| {
        let mut steps = rebuild::full(def, state, &rec);
        let build = shapes::for_full_build(def, state);
        let cx = sources::Cx {
            def,
            marks: &BTreeMap::new(),
            shapes: &build,
            feeds: &state.feeds,
            target_in_lake: state.target_in_lake,
        };
        steps.extend(keys::source_watermarks(&cx, true));
        steps
    };
    let records = match (rec.count(), full_reason.is_some() && !(state.table_exists && state.columns_match)) {
        (0, _) => String::new(),
        (n, true) => format!("; the {n} model(s) reading its changes rebuild in full next, since its table is replaced by one with other columns"),
        (n, false) => format!("; records the rows it changes for the {n} model(s) reading its changes"),
    };
    if let Some(reason) = full_reason {
        let steps = full_steps(&fill(def, None, vars)?);
        let reason = reason + &records;
        return Ok(Plan { mode: Mode::Full, strategy: def.strategy, reason, probe: None, cost: None, steps });
    }
    if !def.sources.is_empty() {
        let marks = state.source_marks.clone();
        let def = fill(def, None, vars)?;
        let cx = sources::Cx {
            def: &def,
            marks: &marks,
            shapes: &shapes,
            feeds: &state.feeds,
            target_in_lake: state.target_in_lake,
        };
        if def.sources.iter().all(|s| sources::unchanged(&cx, s)) {
            let reason = "no source has changed since the last refresh: nothing to do".to_string();
            return Ok(Plan {
                mode: Mode::Noop,
                strategy: def.strategy,
                reason,
                probe: None,
                cost: None,
                steps: Vec::new(),
            });
        }
        let how = |s: &crate::model::Source| sources::describe(&cx, s);
        let reason = format!(
            "{}; reads the changed rows of {}",
            def.strategy_reason,
            def.sources.iter().map(how).collect::<Vec<_>>().join(", ")
        );
        return match keys::steps(&cx, &rec) {
            Ok((steps, how)) => Ok(Plan {
                mode: Mode::Incremental,
                strategy: def.strategy,
                reason: reason + &how + &records,
                probe: keys::probe(&cx),
                cost: keys::cost(&cx, full_steps(&def)),
                steps,
            }),
            Err(why) => Ok(Plan {
                mode: Mode::Full,
                strategy: def.strategy,
                reason: format!("the query cannot be refreshed by key ({why}), so it is rebuilt{records}"),
                probe: None,
                cost: None,
                steps: full_steps(&def),
            }),
        };
    }
    let window = Window::for_refresh(def, state.watermark.as_deref());
    let full_def = fill(def, None, vars)?;
    let mut window = window;
    let mut def = fill(def, window.bound.as_deref(), vars)?;
    let mut reason = format!("{}; {}{records}", def.strategy_reason, window.describe(&def));
    if let Some(pushed) = window.push_below_dedup(&def) {
        def.query = pushed;
        window.nulls = window::NullCheck::Skipped;
        reason.push_str("; the window's filter runs before the row_number() dedup, which keeps the newest row by it");
    }
    let def = &def;
    let probe = window.noop_probe(def);
    let steps = match def.strategy {
        Strategy::Append => render::append(def, &window, &rec),
        Strategy::Merge => render::merge(def, &window, &rec),
        Strategy::DeleteInsert => render::delete_insert(def, &window, &rec),
        Strategy::Full => rebuild::full(def, state, &rec),
    };
    let cost = window.share_of_table(def).map(|sql| CostCheck {
        sql,
        full: rebuild::full(&full_def, state, &rec),
        measures: "of the table is in the window",
    });
    Ok(Plan { mode: Mode::Incremental, strategy: def.strategy, reason, probe, cost, steps })
}
