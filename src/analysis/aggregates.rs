//! Function calls in expressions, and which of them aggregate rows.

use std::ops::ControlFlow;

use sqlparser::ast::{visit_expressions, Expr, Function, Visit};

/// DuckDB's aggregate functions, by name; a call to one without OVER folds many rows into one.
const AGGREGATES: &[&str] = &[
    "any_value",
    "approx_count_distinct",
    "approx_quantile",
    "arbitrary",
    "arg_max",
    "arg_max_null",
    "arg_min",
    "arg_min_null",
    "argmax",
    "argmin",
    "array_agg",
    "avg",
    "bit_and",
    "bit_or",
    "bit_xor",
    "bitstring_agg",
    "bool_and",
    "bool_or",
    "corr",
    "count",
    "count_if",
    "count_star",
    "countif",
    "covar_pop",
    "covar_samp",
    "entropy",
    "favg",
    "first",
    "fsum",
    "geomean",
    "group_concat",
    "histogram",
    "kurtosis",
    "last",
    "list",
    "listagg",
    "mad",
    "max",
    "max_by",
    "mean",
    "median",
    "min",
    "min_by",
    "mode",
    "product",
    "quantile",
    "quantile_cont",
    "quantile_disc",
    "regr_avgx",
    "regr_avgy",
    "regr_count",
    "regr_intercept",
    "regr_r2",
    "regr_slope",
    "regr_sxx",
    "regr_sxy",
    "regr_syy",
    "reservoir_quantile",
    "sem",
    "skewness",
    "stddev",
    "stddev_pop",
    "stddev_samp",
    "string_agg",
    "sum",
    "sumkahan",
    "var_pop",
    "var_samp",
    "variance",
    "weighted_avg",
];

pub fn is_aggregate_call(f: &Function) -> bool {
    let name = f.name.0.last().map(|p| p.to_string().to_lowercase()).unwrap_or_default();
    f.over.is_none() && AGGREGATES.contains(&name.trim_matches('"'))
}

/// True when `found` holds for a function call anywhere in `node` (subqueries included).
pub fn visit_functions<V: Visit>(node: &V, mut found: impl FnMut(&Function) -> bool) -> bool {
    visit_expressions(node, |e| match e {
        Expr::Function(f) if found(f) => ControlFlow::Break(()),
        _ => ControlFlow::Continue(()),
    })
    .is_break()
}
