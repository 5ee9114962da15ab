//! The refresh of a model with `sources`: each source's changed rows (beyond its stored watermark, different from its
//! snapshot copy, or logged by its upstream model) give the keys they reach, which are recomputed from the query
//! restricted to them, or, for counts over one model's changes, folded.

use super::changes::{Recorder, DIFF};
use super::fold;
use super::render::{self, KEYS};
use super::running;
use super::sources::{self, Cx};
use super::window::{share, share_of_count, share_of_known, MIN_ROWS_FOR_COST};
use super::{CostCheck, Step};
use crate::analysis::SourceRows;
use crate::model::{ModelDef, ModelState};

/// Why the model must be rebuilt because what records a source's changes is gone (see each kind's `lost`).
pub fn lost(def: &ModelDef, state: &ModelState) -> Option<String> {
    def.sources.iter().find_map(|s| sources::lost(def, state, s))
}

/// Steps recording where each source now is, after the refresh (`full`: a rebuild).
pub fn source_watermarks(cx: &Cx, full: bool) -> Vec<Step> {
    cx.def.sources.iter().flat_map(|s| sources::marks(cx, s, full)).collect()
}

/// A query answering `true` when any source whose change is not already known has a changed row; None when a
/// source is known to have changed.
pub fn probe(cx: &Cx) -> Option<String> {
    let mut any = Vec::new();
    for s in &cx.def.sources {
        match (sources::unchanged(cx, s), s.kind == crate::model::Kind::Feed) {
            (true, _) => {}
            (false, true) => return None,
            (false, false) => any.push(format!("EXISTS ({})", sources::changed(cx, s))),
        }
    }
    Some(format!("SELECT {}", any.join(" OR ")))
}

/// The largest share of a source's rows that changed, against `incremental_full_fraction`. A source whose size the
/// probes found is not counted again, and one smaller than `MIN_ROWS_FOR_COST` is left out; None when no source is left.
pub fn cost(cx: &Cx, full: Vec<Step>) -> Option<CostCheck> {
    let shares = cx
        .def
        .sources
        .iter()
        .filter(|s| !sources::unchanged(cx, s))
        .filter_map(|s| {
            let changed = format!("({})", sources::changed(cx, s));
            match sources::rows(cx, s) {
                Some(n) if n < MIN_ROWS_FOR_COST => None,
                Some(n) => match sources::changed_count(cx, s) {
                    Some(count) => Some(format!("({})", share_of_count(&count, n))),
                    None => Some(format!("({})", share_of_known(&changed, n))),
                },
                None => Some(format!("({})", share(&changed, &s.sql_name()))),
            }
        })
        .collect::<Vec<_>>();
    let sql = match shares.as_slice() {
        [] => return None,
        [one] => format!("SELECT {one}"),
        many => format!("SELECT greatest({})", many.join(", ")),
    };
    Some(CostCheck { sql, full, measures: "of a source's rows changed" })
}

/// The steps of a refresh by keys, or why the query cannot be refreshed that way, with what the reason should add: a
/// query over one model's changes whose outputs are counts folds them (see `fold`).
pub fn steps(cx: &Cx, rec: &Recorder) -> Result<(Vec<Step>, String), String> {
    let def = cx.def;
    let named: Vec<SourceRows> = def
        .sources
        .iter()
        .map(|s| SourceRows {
            name: s.relation.clone(),
            changed: sources::changed(cx, s),
            widened: sources::widened(cx, s),
        })
        .collect();
    let keyed = crate::analysis::keyed(&def.query, &def.unique_key, &named, KEYS)?;
    let folding = match def.sources.as_slice() {
        [one] if matches!(one.kind, crate::model::Kind::Changes(_)) => one.kept_table(&def.target).and_then(|log| {
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
    if let Some(whole) = keyed.whole {
        let mut steps = render::whole(def, &keyed.restricted, rec);
        steps.extend(source_watermarks(cx, false));
        return Ok((steps, format!("; {}", whole.how())));
    }
    let (mut steps, how) = match (folding, crate::analysis::running(&def.query, &def.unique_key, &from, &nulls)?) {
        (Some(f), _) => {
            (fold::steps(def, &f, rec, cx.target_in_lake), "; folds them into the stored counts".to_string())
        }
        (None, Some(r)) => {
            let how = format!(
                "; recomputes from the earliest {} they reach on, continuing {} from the row before it",
                r.order,
                r.columns.iter().map(|(c, _)| c.as_str()).collect::<Vec<_>>().join(", ")
            );
            (running::steps(def, discover, &r, rec), how)
        }
        (None, None) => (render::by_keys(def, discover, &keyed.restricted, rec, cx.target_in_lake), String::new()),
    };
    steps.extend(source_watermarks(cx, false));
    Ok((steps, how))
}
