//! Running totals along the unique key's order (`sum(x) OVER ([PARTITION BY k] ORDER BY day)`): a change at one key
//! reaches that key's row and every later row, and a later row's total is the stored total of the row just before
//! the earliest change plus what the rows from there on add. So the refresh recomputes from the earliest changed key
//! on, with the source filtered below the GROUP BY, and continues from the stored value.

use sqlparser::ast::{
    DuplicateTreatment, Expr, Function, FunctionArguments, OrderBySort, Select, SelectItem, WindowFrameBound,
    WindowFrameUnits, WindowType,
};

use super::aggregates::visit_functions;
use super::key_checks::same_expr;
use super::keys::{key_exprs, parse_select, render};

/// How a running aggregate continues from the stored value before the recomputed range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Combine {
    Sum,
    Count,
    Min,
    Max,
}

/// The refresh of a query with running totals: recompute from the earliest changed value of `order` on.
#[derive(Debug, Clone, PartialEq)]
pub struct Running {
    /// The unique key column the running windows order by.
    pub order: String,
    /// The unique key columns they partition by.
    pub partition: Vec<String>,
    /// The output columns they compute, with how each continues from a stored value.
    pub columns: Vec<(String, Combine)>,
    /// The query over the source rows whose order key is at least `bound`, and those whose order key is NULL when
    /// `nulls` is true (a NULL sorts last, so its row totals every row of its partition).
    pub query: String,
}

/// What a window function is to a refresh by key.
pub(super) enum Shape {
    /// It partitions by every unique key column: its rows depend on one key's rows.
    PerKey,
    /// A running aggregate along unique key column `order` (an index into the unique key).
    Running { combine: Combine, order: usize, partition: Vec<usize> },
}

/// The shape of window function `f`, or why a change to one key can reach other keys' rows through it.
pub(super) fn shape(f: &Function, keys: &[(Expr, usize)], unique_key: &[String]) -> Result<Shape, String> {
    let spec = match &f.over {
        None => return Ok(Shape::PerKey),
        Some(WindowType::WindowSpec(spec)) => spec,
        Some(WindowType::NamedWindow(_)) => {
            return Err("it names a window (OVER w); write the window in OVER (...)".into())
        }
    };
    // The key's expression itself, not its output name: DuckDB binds a name in OVER (...) to a source column first.
    let key_of = |e: &Expr| (0..keys.len()).find(|&i| same_expr(e, &keys[i].0));
    let partition: Vec<usize> = spec.partition_by.iter().filter_map(key_of).collect();
    let Some(missing) = (0..keys.len()).find(|i| !partition.contains(i)) else { return Ok(Shape::PerKey) };
    let not_partitioned = || {
        format!(
            "a window function does not PARTITION BY unique_key column \"{}\", so a change to one row can reach other keys' rows",
            unique_key[missing]
        )
    };
    let [ordered] = spec.order_by.as_slice() else { return Err(not_partitioned()) };
    let Some(order) = key_of(&ordered.expr) else { return Err(not_partitioned()) };
    if partition.len() != spec.partition_by.len() {
        return Err(format!(
            "a running total over \"{}\" partitions by a column that is not a unique_key column",
            unique_key[order]
        ));
    }
    let name = &unique_key[order];
    let name_of = f.name.to_string().to_lowercase();
    let combine = match name_of.as_str() {
        "sum" => Combine::Sum,
        "count" => Combine::Count,
        "min" => Combine::Min,
        "max" => Combine::Max,
        other => {
            return Err(format!(
                "{other}() OVER (ORDER BY {name}) cannot continue from a stored row; only running sum, count, min and max can (an average is a running sum over a running count)"
            ))
        }
    };
    let distinct =
        matches!(&f.args, FunctionArguments::List(l) if l.duplicate_treatment == Some(DuplicateTreatment::Distinct));
    if distinct || !f.within_group.is_empty() {
        return Err(format!("{name_of}(DISTINCT ...) OVER (ORDER BY {name}) cannot continue from a stored row"));
    }
    if ordered.options.sort == Some(OrderBySort::Desc) || ordered.options.nulls_first == Some(true) {
        return Err(format!(
            "a running total over \"{name}\" orders descending or NULLS FIRST, so a change reaches rows on both sides; order by {name} ascending"
        ));
    }
    if let Some(frame) = &spec.window_frame {
        let from_start = matches!(frame.start_bound, WindowFrameBound::Preceding(None))
            && matches!(frame.end_bound, None | Some(WindowFrameBound::CurrentRow));
        if !from_start {
            return Err(format!(
                "a window over \"{name}\" has a frame other than UNBOUNDED PRECEDING to CURRENT ROW, which a running total needs"
            ));
        }
        // ROWS splits rows that tie on the order key in no fixed order; only unique order values keep it exact.
        let ties = (0..keys.len()).any(|i| i != order && !partition.contains(&i));
        if frame.units == WindowFrameUnits::Rows && ties {
            return Err(format!(
                "a running total over \"{name}\" counts ROWS among rows that tie on it; use RANGE (the default)"
            ));
        }
    }
    Ok(Shape::Running { combine, order, partition })
}

/// The running totals of `query`, or None when it has none; `bound` and `nulls` are SQL expressions the refresh sets
/// before the query runs. Errors say why such a query cannot be refreshed by key.
pub fn running(query: &str, unique_key: &[String], bound: &str, nulls: &str) -> Result<Option<Running>, String> {
    if super::union::branches(query)?.is_some() {
        return Ok(None);
    }
    let (statement, mut select) = parse_select(query)?;
    let keys = key_exprs(&select, unique_key)?;
    let mut found: Vec<(String, Combine, usize, Vec<usize>)> = Vec::new();
    for item in &select.projection {
        let SelectItem::ExprWithAlias { expr: Expr::Function(f), alias } = item else { continue };
        if let Shape::Running { combine, order, partition } = shape(f, &keys, unique_key)? {
            found.push((alias.value.clone(), combine, order, partition));
        }
    }
    // `check_placement` refused running totals that differ in order or partition.
    let Some((_, _, order, partition)) = found.first().cloned() else { return Ok(None) };
    let e = &keys[order].0;
    let range = format!("({e} >= {bound} OR ({nulls} AND {e} IS NULL))");
    super::and_where(&mut select, &range).map_err(|err| format!("its order key cannot be filtered ({err})"))?;
    Ok(Some(Running {
        order: unique_key[order].clone(),
        partition: partition.iter().map(|&i| unique_key[i].clone()).collect(),
        columns: found.into_iter().map(|(name, combine, _, _)| (name, combine)).collect(),
        query: render(&statement, select),
    }))
}

/// A running window must be a whole output column with a name, outside QUALIFY, so its stored value can be added back;
/// all of them share one order and partition, from which the refresh restarts.
pub(super) fn check_placement(select: &Select, keys: &[(Expr, usize)], unique_key: &[String]) -> Result<(), String> {
    let is_running = |f: &Function| matches!(shape(f, keys, unique_key), Ok(Shape::Running { .. }));
    let mut along = None;
    let differ = visit_functions(&select.projection, |f| match shape(f, keys, unique_key) {
        Ok(Shape::Running { order, partition, .. }) => {
            along.replace((order, partition.clone())).is_some_and(|a| a != (order, partition))
        }
        _ => false,
    });
    if differ {
        return Err("its running totals differ in ORDER BY or PARTITION BY; give them one order and partition".into());
    }
    if visit_functions(&select.qualify, is_running) {
        return Err("it filters on a running total in QUALIFY, whose stored values a refresh continues from".into());
    }
    for item in &select.projection {
        let whole = matches!(item, SelectItem::ExprWithAlias { expr: Expr::Function(f), .. } if f.over.is_some());
        let expr = match item {
            SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } => e,
            _ => continue,
        };
        if !whole && visit_functions(expr, is_running) {
            return Err(format!(
                "the running total in {expr} must be a whole output column with a name (sum(x) OVER (...) AS total), so its stored value can be continued"
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{running, Combine};
    use crate::analysis::{keyed, SourceRows};

    fn check(query: &str, key: &[&str]) -> Result<(), String> {
        let key: Vec<String> = key.iter().map(|k| k.to_string()).collect();
        keyed(query, &key, &[SourceRows::whole("o", "o")], "k").map(|_| ())
    }

    fn run(query: &str, key: &[&str]) -> super::Running {
        let key: Vec<String> = key.iter().map(|k| k.to_string()).collect();
        running(query, &key, "B", "N").unwrap().unwrap()
    }

    #[test]
    fn recomputes_from_the_bound_with_the_filter_below_the_grouping() {
        let q = "SELECT day, count(*) AS n, sum(count(*)) OVER (ORDER BY day) AS cum FROM o GROUP BY day";
        assert_eq!(check(q, &["day"]), Ok(()));
        let r = run(q, &["day"]);
        assert_eq!((r.order.as_str(), r.partition.len()), ("day", 0));
        assert_eq!(r.columns, vec![("cum".to_string(), Combine::Sum)]);
        assert!(r.query.contains("FROM o WHERE (day >= B OR (N AND day IS NULL)) GROUP BY day"), "{}", r.query);

        let q = "SELECT CAST(ts AS DATE) AS day, region, min(x) AS low, \
                 min(min(x)) OVER (PARTITION BY region ORDER BY CAST(ts AS DATE)) AS low_to_date, \
                 count(x) OVER (PARTITION BY region ORDER BY CAST(ts AS DATE) RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS days \
                 FROM o WHERE x > 0 GROUP BY 1, 2";
        assert_eq!(check(q, &["region", "day"]), Ok(()));
        let r = run(q, &["region", "day"]);
        assert_eq!((r.order.as_str(), r.partition.clone()), ("day", vec!["region".to_string()]));
        assert_eq!(r.columns, vec![("low_to_date".into(), Combine::Min), ("days".into(), Combine::Count)]);
        assert!(r.query.contains("WHERE (x > 0) AND (CAST(ts AS DATE) >= B OR"), "{}", r.query);
        // Per-key windows are no running totals; a query without windows has none.
        let per_key = "SELECT id, v, sum(v) OVER (PARTITION BY id) AS s FROM o";
        assert_eq!(check(per_key, &["id"]), Ok(()));
        assert_eq!(running(per_key, &["id".into()], "B", "N"), Ok(None));
    }

    #[test]
    fn names_running_windows_it_cannot_continue() {
        let key2 = &["day", "region"][..];
        let cases = [
            ("SELECT day, avg(x) OVER (ORDER BY day) AS a FROM o", &["day"][..], "only running sum, count, min and max"),
            ("SELECT day, count(DISTINCT u) OVER (ORDER BY day) AS a FROM o", &["day"], "DISTINCT"),
            ("SELECT day, sum(x) OVER (ORDER BY day DESC) AS a FROM o", &["day"], "descending"),
            ("SELECT day, sum(x) OVER (ORDER BY day ROWS BETWEEN 6 PRECEDING AND CURRENT ROW) AS a FROM o", &["day"], "frame"),
            ("SELECT day, region, sum(sum(x)) OVER (ORDER BY day ROWS UNBOUNDED PRECEDING) AS a FROM o GROUP BY 1, 2", key2, "ROWS"),
            ("SELECT day, sum(x) OVER (ORDER BY day) FROM o", &["day"], "whole output column"),
            ("SELECT day, sum(x) OVER (ORDER BY day) / 2 AS half FROM o", &["day"], "whole output column"),
            ("SELECT day, x FROM o QUALIFY sum(x) OVER (ORDER BY day) > 3", &["day"], "QUALIFY"),
            ("SELECT day, region, sum(x) OVER (PARTITION BY region ORDER BY day) AS a, sum(x) OVER (ORDER BY day) AS b FROM o", key2, "differ"),
            ("SELECT day, sum(x) OVER (PARTITION BY u ORDER BY day) AS a FROM o", &["day"], "not a unique_key column"),
            ("SELECT day, sum(x) OVER (ORDER BY ts) AS a FROM o", &["day"], "does not PARTITION BY"),
            ("SELECT a AS k, x, sum(x) OVER (PARTITION BY k) AS s FROM o", &["k"], "does not PARTITION BY"),
        ];
        for (query, key, expected) in cases {
            let got = check(query, key).and_then(|_| {
                let key: Vec<String> = key.iter().map(|k| k.to_string()).collect();
                running(query, &key, "B", "N").map(|_| ())
            });
            assert!(got.as_ref().is_err_and(|e| e.contains(expected)), "{query}: {got:?}");
        }
    }
}
