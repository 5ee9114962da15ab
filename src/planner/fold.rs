//! The refresh of a GROUP BY model that folds its source's signed changes into the stored groups: each group's counts
//! move by the deltas of the changed rows alone, with no rescan of the group's history; a group whose `count(*)`
//! comes to 0 is deleted.

use super::changes::Recorder;
use super::render;
use super::Step;
use crate::analysis::Fold;
use crate::model::ModelDef;
use crate::quote::{column_list, ident};

const DELTA: &str = "\"temp\".\"main\".\"__incremental_delta\"";
const FOLDED: &str = "\"temp\".\"main\".\"__incremental_folded\"";

/// The steps of a fold: the deltas per key, the stored counts moved by them, then the same write as a recompute.
pub fn steps(def: &ModelDef, fold: &Fold, rec: &Recorder, in_lake: bool) -> Vec<Step> {
    let cols = column_list(&def.column_names(), None);
    let keys = column_list(&def.unique_key, None);
    let on = render::keys_equal(def, "d", "t");
    let (mut values, mut moved, mut count_star) = (Vec::new(), Vec::new(), None);
    for (col, agg) in def.columns.iter().zip(&fold.outputs) {
        let (c, ty) = (ident(&col.name), &col.type_name);
        match agg {
            None => values.push(format!("d.{c}")),
            Some(agg) => {
                values.push(format!("CAST(coalesce(t.{c}, 0) + d.{c} AS {ty}) AS {c}"));
                moved.push(format!("d.{c} <> 0"));
                if *agg == crate::analysis::Agg::CountStar && count_star.is_none() {
                    count_star = Some(c);
                }
            }
        }
    }
    let count_star = count_star.unwrap_or_default();
    let mut steps = vec![
        Step::Run(format!("CREATE TEMP TABLE {DELTA} AS {}", fold.delta)),
        // Keys whose deltas all came to 0 (a row deleted and inserted again) are left alone.
        Step::Run(format!(
            "CREATE TEMP TABLE {FOLDED} AS SELECT {} FROM {DELTA} AS d LEFT JOIN {} AS t ON {on} WHERE {}",
            values.join(", "),
            def.target.sql_name(),
            moved.join(" OR ")
        )),
    ];
    let rows = format!("SELECT {cols} FROM {FOLDED} WHERE {count_star} > 0");
    steps.extend(render::by_keys(def, format!("SELECT {keys} FROM {FOLDED}"), &rows, rec, in_lake));
    for table in [DELTA, FOLDED] {
        steps.push(Step::Run(format!("DROP TABLE {table}")));
    }
    steps
}
