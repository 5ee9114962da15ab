//! The refresh of a GROUP BY model that folds its source's signed changes into the stored groups: each group's counts
//! and sums move by the deltas of the changed rows alone, with no rescan of the group's history. A group whose sum
//! comes to exactly 0 is recomputed from the source instead: its values may all be NULL now, which a sum cannot tell.

use super::changes::Recorder;
use super::render;
use super::Step;
use crate::analysis::{Agg, Fold};
use crate::model::ModelDef;
use crate::quote::{column_list, ident};

const DELTA: &str = "\"temp\".\"main\".\"__incremental_delta\"";
const FOLDED: &str = "\"temp\".\"main\".\"__incremental_folded\"";
pub const ZEROED: &str = "\"temp\".\"main\".\"__incremental_zeroed\"";
const ZERO: &str = "\"__incremental_zero\"";

/// The steps of a fold; `recompute` is the query restricted to the keys in ZEROED.
pub fn steps(def: &ModelDef, fold: &Fold, recompute: &str, rec: &Recorder) -> Vec<Step> {
    let cols = column_list(&def.column_names(), None);
    let keys = column_list(&def.unique_key, None);
    let on = def
        .unique_key
        .iter()
        .map(|k| format!("d.{k} IS NOT DISTINCT FROM t.{k}", k = ident(k)))
        .collect::<Vec<_>>()
        .join(" AND ");
    let (mut values, mut moved, mut zero) = (Vec::new(), Vec::new(), Vec::new());
    let mut count_star = String::new();
    for (col, agg) in def.columns.iter().zip(&fold.outputs) {
        let (c, ty) = (ident(&col.name), &col.type_name);
        values.push(match agg {
            None => format!("d.{c}"),
            Some(Agg::CountStar | Agg::Count) => format!("CAST(coalesce(t.{c}, 0) + d.{c} AS {ty}) AS {c}"),
            Some(Agg::Sum) => format!(
                "CASE WHEN t.{c} IS NULL AND d.{c} IS NULL THEN NULL ELSE CAST(coalesce(t.{c}, 0) + coalesce(d.{c}, 0) AS {ty}) END AS {c}"
            ),
        });
        if agg.is_some() {
            moved.push(format!("d.{c} <> 0"));
        }
        match agg {
            Some(Agg::CountStar) if count_star.is_empty() => count_star = c,
            Some(Agg::Sum) => zero.push(format!("coalesce({c} = 0, FALSE)")),
            _ => {}
        }
    }
    let zero = if zero.is_empty() { "FALSE".to_string() } else { zero.join(" OR ") };
    let mut steps = vec![
        Step::Run(format!("CREATE TEMP TABLE {DELTA} AS {}", fold.delta)),
        // Keys whose deltas all came to 0 (a row deleted and inserted again) are left alone.
        Step::Run(format!(
            "CREATE TEMP TABLE {FOLDED} AS SELECT *, {count_star} > 0 AND ({zero}) AS {ZERO} FROM (SELECT {} FROM {DELTA} AS d \
             LEFT JOIN {} AS t ON {on} WHERE {}) AS f",
            values.join(", "),
            def.target.sql_name(),
            moved.join(" OR ")
        )),
        Step::Run(format!("CREATE TEMP TABLE {ZEROED} AS SELECT {keys} FROM {FOLDED} WHERE {ZERO}")),
    ];
    let rows = format!(
        "SELECT {cols} FROM {FOLDED} WHERE {count_star} > 0 AND NOT {ZERO} UNION ALL SELECT * FROM ({recompute}) AS z"
    );
    steps.extend(render::by_keys(def, format!("SELECT {keys} FROM {FOLDED}"), &rows, rec));
    for table in [DELTA, FOLDED, ZEROED] {
        steps.push(Step::Run(format!("DROP TABLE {table}")));
    }
    steps
}
