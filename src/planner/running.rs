//! The refresh of a model with running totals: the rows from the earliest key the changes reach on are recomputed
//! from the source filtered to them, and each running total continues from the table's row just before them.

use super::changes::Recorder;
use super::render::{self, KEYS, NEW};
use super::Step;
use crate::analysis::{Combine, Running};
use crate::model::ModelDef;
use crate::quote::{column_list, ident, literal};

const SEED: &str = "\"temp\".\"main\".\"__incremental_seed\"";
const FROM: &str = "__incremental_from";
const NULLS: &str = "__incremental_nulls";

/// Where the recomputation starts, read by the restricted query as constants (DuckDB folds `getvariable`, so the
/// filter reaches the source's zone maps): the earliest order key the changes reach, and whether the NULL order
/// key's row (sorted last, so it totals everything before it) must be recomputed too.
pub fn bound() -> (String, String) {
    (format!("getvariable({})", literal(FROM)), format!("getvariable({})", literal(NULLS)))
}

/// The table's rows from the start on, aliased `alias`.
fn in_range(order: &str, alias: &str) -> String {
    let (from, nulls) = bound();
    let k = format!("{alias}.{}", ident(order));
    format!("({k} >= {from} OR ({nulls} AND {k} IS NULL))")
}

/// The running column continued from the stored value `s.c`; sums and extremes skip a NULL side, as the window would.
fn combined(c: &str, combine: Combine) -> String {
    let (q, s) = (format!("q.{c}"), format!("s.{c}"));
    match combine {
        Combine::Sum => format!("CASE WHEN {s} IS NULL THEN {q} WHEN {q} IS NULL THEN {s} ELSE {s} + {q} END"),
        Combine::Count => format!("coalesce({s}, 0) + {q}"),
        Combine::Min => format!("least({s}, {q})"),
        Combine::Max => format!("greatest({s}, {q})"),
    }
}

/// Finds the keys with `discover`, sets where the recomputation starts, takes each partition's stored totals before
/// it, recomputes the rest, and replaces the table's rows from there on.
pub fn steps(def: &ModelDef, discover: String, running: &Running, rec: &Recorder) -> Vec<Step> {
    let t = def.target.sql_name();
    let k = ident(&running.order);
    let (from, _) = bound();
    let parts = column_list(&running.partition, None);
    let seeds = running
        .columns
        .iter()
        .map(|(c, _)| format!("arg_max_null({c}, {k}) AS {c}", c = ident(c)))
        .collect::<Vec<_>>()
        .join(", ");
    let (seed_items, group) = match running.partition.is_empty() {
        true => (seeds, String::new()),
        false => (format!("{parts}, {seeds}"), format!(" GROUP BY {parts}")),
    };
    let on = match running.partition.is_empty() {
        true => "TRUE".to_string(),
        false => render::columns_equal(&running.partition, "q", "s"),
    };
    let outputs = def
        .column_names()
        .iter()
        .map(|name| {
            let c = ident(name);
            match running.columns.iter().find(|(r, _)| r.eq_ignore_ascii_case(name)) {
                Some((_, combine)) => format!("{} AS {c}", combined(&c, *combine)),
                None => format!("q.{c}"),
            }
        })
        .collect::<Vec<_>>()
        .join(", ");
    let old = format!("SELECT * FROM {t} AS t WHERE {}", in_range(&running.order, "t"));
    let eq = render::keys_equal(def, "n", "t");
    let mut steps = vec![
        Step::Run(format!("CREATE TEMP TABLE {KEYS} AS {discover}")),
        Step::Run(format!("SET VARIABLE {FROM} = (SELECT min({k}) FROM {KEYS})")),
        Step::Run(format!(
            "SET VARIABLE {NULLS} = (SELECT EXISTS (SELECT 1 FROM {KEYS} WHERE {k} IS NULL) OR EXISTS (SELECT 1 FROM {t} WHERE {k} IS NULL))"
        )),
        // Rows before the start: with no start (only the NULL key changed), every row with an order key.
        Step::Run(format!(
            "CREATE TEMP TABLE {SEED} AS SELECT {seed_items} FROM {t} WHERE {k} < {from} OR ({from} IS NULL AND {k} IS NOT NULL){group}"
        )),
        Step::Run(format!(
            "CREATE TEMP TABLE {NEW} AS SELECT {outputs} FROM (\n{}\n) AS q LEFT JOIN {SEED} AS s ON {on}",
            running.query
        )),
    ];
    steps.extend(render::checks(def, NEW, false));
    steps.push(Step::Count(
        super::Counter::Updated,
        format!("SELECT count(*) FROM {NEW} AS n SEMI JOIN ({old}) AS t ON {eq}"),
    ));
    steps.push(Step::Count(
        super::Counter::Inserted,
        format!("SELECT count(*) FROM {NEW} AS n ANTI JOIN ({old}) AS t ON {eq}"),
    ));
    steps.push(Step::Count(
        super::Counter::Deleted,
        format!("SELECT count(*) FROM ({old}) AS t ANTI JOIN {NEW} AS n ON {eq}"),
    ));
    steps.extend(rec.start(NEW));
    steps.extend(rec.rows(&old, -1));
    steps.extend(rec.rows(&format!("SELECT * FROM {NEW}"), 1));
    steps.push(Step::Run(format!("DELETE FROM {t} AS t WHERE {}", in_range(&running.order, "t"))));
    steps.push(Step::Run(render::insert_from(def, NEW)));
    for table in [SEED, NEW, KEYS] {
        steps.push(Step::Run(format!("DROP TABLE {table}")));
    }
    steps.push(Step::Run(format!("RESET VARIABLE {FROM}")));
    steps.push(Step::Run(format!("RESET VARIABLE {NULLS}")));
    steps.extend(rec.finish());
    steps
}
