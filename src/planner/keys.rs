//! The refresh of a model with `sources`: each source's changed rows (beyond its stored watermark, different from its
//! snapshot copy, or logged by its upstream model) give the keys they reach, which are recomputed from the query
//! restricted to them, or, for counts over one model's changes, folded.

use std::collections::BTreeMap;

use super::changes::{Recorder, DIFF};
use super::fold;
use super::render::{self, KEYS};
use super::running;
use super::shapes::Decision;
use super::window::share;
use super::{CostCheck, Step};
use crate::analysis::SourceRows;
use crate::model::{Lookback, ModelDef, ModelState, Source};
use crate::quote::{ident, literal};

fn typed(s: &Source, value: &str) -> String {
    match &s.type_name {
        Some(ty) => format!("CAST({} AS {ty})", literal(value)),
        None => literal(value),
    }
}

/// Why the model must be rebuilt because a table it keeps for a source is gone: a snapshot copy dropped by hand, or
/// a log its upstream model dropped when it could not say what it changed.
pub fn lost(def: &ModelDef, state: &ModelState) -> Option<String> {
    let kept = |name: &String| state.kept_tables.iter().any(|t| t.eq_ignore_ascii_case(name));
    let missing = def.sources.iter().find(|s| s.kept_name(&def.target).is_some_and(|name| !kept(&name)))?;
    Some(match missing.is_snapshot() {
        true => format!("the copy of {} kept at the last refresh is missing, so the model is rebuilt", missing.relation),
        false => format!(
            "the changes of model {} since the last refresh were not recorded (its table was rebuilt with other columns or replaced), so the model is rebuilt",
            missing.relation
        ),
    })
}

/// The source's changed rows: beyond its watermark (every row when none is stored: the source was empty); for a
/// snapshot source, the rows that differ from the copy, in their new and their old version, compared on the
/// recorded columns by name (a set operation pairs columns by position, so a column dropped and added again, or
/// added at the end, would pair wrong or fail); for a model, the rows its refreshes deleted and inserted since.
fn changed_rows(def: &ModelDef, s: &Source, marks: &BTreeMap<String, String>, shapes: &Decision) -> String {
    let rel = s.sql_name();
    match (s.is_snapshot(), s.kept_table(&def.target)) {
        (true, Some(copy)) => {
            let cols = shapes.compared(&s.relation);
            return format!(
                "SELECT * FROM (SELECT {cols} FROM {rel} EXCEPT ALL SELECT {cols} FROM {copy}) UNION ALL \
                 SELECT * FROM (SELECT {cols} FROM {copy} EXCEPT ALL SELECT {cols} FROM {rel})"
            );
        }
        (false, Some(log)) => return format!("SELECT * EXCLUDE ({}) FROM {log}", ident(DIFF)),
        _ => {}
    }
    match marks.get(&s.relation) {
        Some(wm) => format!("SELECT * FROM {rel} WHERE {} > {}", ident(&s.column), since(def, s, wm)),
        None => format!("SELECT * FROM {rel}"),
    }
}

/// The stored watermark minus the model's lookback, if it has one.
fn since(def: &ModelDef, s: &Source, wm: &str) -> String {
    match &def.lookback {
        Some(Lookback::Interval(text)) => format!("{} - CAST({} AS INTERVAL)", typed(s, wm), literal(text)),
        Some(Lookback::Integer(n)) => format!("{} - {n}", typed(s, wm)),
        None => typed(s, wm),
    }
}

/// Steps recording where each source now is: its newest change value (the stored one when nothing changed), a
/// fresh copy of a snapshot source, or the upstream model's log emptied (created afresh by a `full` build, with the
/// upstream table's columns).
pub fn source_watermarks(def: &ModelDef, marks: &BTreeMap<String, String>, full: bool, shapes: &Decision) -> Vec<Step> {
    // A kept table is marked with the model it belongs to: only a table with that mark is ever dropped for it.
    let marked = |table: &str| Step::Run(format!("COMMENT ON TABLE {table} IS {}", literal(&def.kept_mark())));
    def.sources
        .iter()
        .flat_map(|s| {
            let rel = s.sql_name();
            match (s.is_snapshot(), s.kept_table(&def.target)) {
                (true, Some(copy)) => {
                    let cols = shapes.copied(&s.relation);
                    let create = Step::Run(format!("CREATE OR REPLACE TABLE {copy} AS SELECT {cols} FROM {rel}"));
                    return vec![create, marked(&copy)];
                }
                (false, Some(log)) if full => {
                    let create = Step::Run(format!(
                        "CREATE OR REPLACE TABLE {log} AS SELECT *, CAST(NULL AS TINYINT) AS {} FROM {rel} LIMIT 0",
                        ident(DIFF)
                    ));
                    return vec![create, marked(&log)];
                }
                (false, Some(log)) => return vec![Step::Run(format!("DELETE FROM {log}"))],
                _ => {}
            }
            // With a lookback the changed rows start before the watermark, which must not move back.
            let newest = format!("max({})", ident(&s.column));
            let value = match marks.get(&s.relation) {
                Some(wm) => format!("greatest(coalesce({newest}, {wm}), {wm})", wm = typed(s, wm)),
                None => newest,
            };
            let sql = format!("SELECT CAST({value} AS VARCHAR) FROM ({}) AS s", changed_rows(def, s, marks, shapes));
            vec![Step::SourceWatermark(s.relation.clone(), sql)]
        })
        .collect()
}

/// A query answering `true` when any source has a changed row.
pub fn probe(def: &ModelDef, marks: &BTreeMap<String, String>, shapes: &Decision) -> String {
    let any =
        def.sources.iter().map(|s| format!("EXISTS ({})", changed_rows(def, s, marks, shapes))).collect::<Vec<_>>();
    format!("SELECT {}", any.join(" OR "))
}

/// The largest share of a source's rows that changed, against `incremental_full_fraction`.
pub fn cost(def: &ModelDef, marks: &BTreeMap<String, String>, shapes: &Decision, full: Vec<Step>) -> CostCheck {
    let shares = def
        .sources
        .iter()
        .map(|s| format!("({})", share(&format!("({})", changed_rows(def, s, marks, shapes)), &s.sql_name())))
        .collect::<Vec<_>>();
    let sql = match shares.as_slice() {
        [one] => format!("SELECT {one}"),
        many => format!("SELECT greatest({})", many.join(", ")),
    };
    CostCheck { sql, full, measures: "of a source's rows changed" }
}

/// The steps of a refresh by keys, or why the query cannot be refreshed that way, with what the reason should add: a
/// query over one model's changes whose outputs are counts folds them (see `fold`).
pub fn steps(
    def: &ModelDef,
    marks: &BTreeMap<String, String>,
    shapes: &Decision,
    rec: &Recorder,
) -> Result<(Vec<Step>, String), String> {
    let named: Vec<SourceRows> = def
        .sources
        .iter()
        .map(|s| SourceRows {
            name: s.relation.clone(),
            changed: changed_rows(def, s, marks, shapes),
            widened: s.kept_table(&def.target).map(|_| {
                // The same columns as the changed rows: a snapshot's are compared on its recorded columns.
                let cols = if s.is_snapshot() { shapes.compared(&s.relation) } else { "*".into() };
                format!("SELECT {cols} FROM {} UNION ALL {}", s.sql_name(), changed_rows(def, s, marks, shapes))
            }),
        })
        .collect();
    let keyed = crate::analysis::keyed(&def.query, &def.unique_key, &named, KEYS)?;
    let folding = match def.sources.as_slice() {
        [one] if one.is_changes() => one.kept_table(&def.target).and_then(|log| {
            crate::analysis::fold(
                &def.query,
                &def.unique_key,
                &def.column_names(),
                &format!("SELECT * FROM {log}"),
                DIFF,
            )
            .ok()
        }),
        _ => None,
    };
    let (from, nulls) = running::bound();
    let discover = keyed.discoveries.join("\nUNION\n");
    let (mut steps, how) = match (folding, crate::analysis::running(&def.query, &def.unique_key, &from, &nulls)?) {
        (Some(f), _) => (fold::steps(def, &f, rec), "; folds them into the stored counts".to_string()),
        (None, Some(r)) => {
            let how = format!(
                "; recomputes from the earliest {} they reach on, continuing {} from the row before it",
                r.order,
                r.columns.iter().map(|(c, _)| c.as_str()).collect::<Vec<_>>().join(", ")
            );
            (running::steps(def, discover, &r, rec), how)
        }
        (None, None) => (render::by_keys(def, discover, &keyed.restricted, rec), String::new()),
    };
    steps.extend(source_watermarks(def, marks, false, shapes));
    Ok((steps, how))
}
