//! Keys whose rows repeat. A query that keeps rows as they are (projections, filters, inner joins, DISTINCT) makes
//! each output row from its source rows alone, so all output columns together are a key, and rows equal in every
//! column are that key's rows, kept as many times as the query returns them. A query whose windows all partition by
//! the same columns makes a partition's rows from that partition's source rows alone: the partition columns are a key
//! with many rows each.

use sqlparser::ast::{Distinct, Expr, Function, GroupByExpr, Select, SelectItem, WindowType};

use super::aggregates::{is_aggregate_call, visit_functions};
use super::key_checks::{column_name, same_expr};
use super::keys::parse_select;

/// Functions whose value is not the same when computed again for the same row: a key computed with them would not
/// find the rows it made.
const VOLATILE: &[&str] = &[
    "random",
    "uuid",
    "gen_random_uuid",
    "uuidv4",
    "uuidv7",
    "now",
    "current_timestamp",
    "get_current_timestamp",
    "transaction_timestamp",
    "current_date",
    "current_time",
    "today",
    "nextval",
    "currval",
    "setseed",
    "unnest",
];

fn name(f: &Function) -> String {
    f.name.0.last().map(|p| p.to_string().to_lowercase().trim_matches('"').to_string()).unwrap_or_default()
}

/// `columns` (the query's output columns) as its key when the query keeps rows as they are: no aggregate, GROUP BY,
/// HAVING, window, QUALIFY or DISTINCT ON, and no function that makes rows (`unnest`) or differs between calls.
pub fn row_key(query: &str, columns: &[String]) -> Option<Vec<String>> {
    if let Ok(Some(branches)) = super::union::branches(query) {
        return super::union::row_key(&branches, columns);
    }
    let (_, select) = parse_select(query).ok()?;
    let grouped = !matches!(&select.group_by, GroupByExpr::Expressions(list, _) if list.is_empty());
    // A set-returning call makes several rows of one input row, which share every other column: those key them.
    let reshaped = |f: &Function| {
        is_aggregate_call(f)
            || f.over.is_some()
            || (VOLATILE.contains(&name(f).as_str()) && !super::is_set_returning(f))
    };
    let kept = !grouped
        && select.having.is_none()
        && select.qualify.is_none()
        && select.named_window.is_empty()
        && !matches!(select.distinct, Some(Distinct::On(_)))
        && !visit_functions(&select, reshaped);
    let key = without_subqueries(&select, columns)?;
    (kept && !key.is_empty()).then_some(key)
}

/// `columns` less those a subquery computes (`(SELECT k FROM b WHERE b.i = a.i) AS k`), a function of the outer row
/// that a change of the subquery's table alters in place, and those reading a column that cannot be placed on a side
/// of an outer join: the row's other columns key it. None when such an item cannot be matched to its column (the
/// SELECT list has a `*`).
fn without_subqueries(select: &Select, columns: &[String]) -> Option<Vec<String>> {
    let unplaced = |item: &SelectItem| match item {
        SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } => {
            super::key_checks::unplaced(select, e)
        }
        _ => false,
    };
    let made = |item: &SelectItem| match item {
        SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } => super::calls_set_returning(e),
        _ => false,
    };
    let computed: Vec<bool> =
        select.projection.iter().map(|i| super::subqueries::has_subquery(i) || unplaced(i) || made(i)).collect();
    if !computed.contains(&true) {
        return Some(columns.to_vec());
    }
    let star =
        select.projection.iter().any(|i| matches!(i, SelectItem::Wildcard(_) | SelectItem::QualifiedWildcard(..)));
    if star || columns.len() != computed.len() {
        return None;
    }
    Some(columns.iter().zip(computed).filter(|(_, c)| !c).map(|(name, _)| name.clone()).collect())
}

/// The output names of the PARTITION BY that every window of the query shares, when the query has windows, no
/// aggregate, GROUP BY, DISTINCT or volatile function, and each partition term is an item of its SELECT list.
pub fn partition_key(query: &str) -> Option<Vec<String>> {
    let (_, select) = parse_select(query).ok()?;
    let grouped = !matches!(&select.group_by, GroupByExpr::Expressions(list, _) if list.is_empty());
    let merged = |f: &Function| is_aggregate_call(f) || VOLATILE.contains(&name(f).as_str());
    if grouped || select.having.is_some() || select.distinct.is_some() || visit_functions(&select, merged) {
        return None;
    }
    let mut partitions: Vec<Vec<Expr>> = Vec::new();
    let _ = visit_functions(&select, |f| {
        match &f.over {
            Some(WindowType::WindowSpec(spec)) => partitions.push(spec.partition_by.clone()),
            Some(WindowType::NamedWindow(_)) => partitions.push(Vec::new()),
            None => {}
        }
        false
    });
    let first = partitions.first().filter(|p| !p.is_empty())?;
    let same = |p: &Vec<Expr>| p.len() == first.len() && p.iter().zip(first).all(|(a, b)| same_expr(a, b));
    if !partitions.iter().all(same) {
        return None;
    }
    first.iter().map(|e| output_name(&select, e)).collect()
}

/// The output name of the SELECT item that is `expr`, or `expr`'s column under `SELECT *` of one table.
fn output_name(select: &Select, expr: &Expr) -> Option<String> {
    let found = select.projection.iter().find_map(|item| match item {
        SelectItem::ExprWithAlias { expr: e, alias } if same_expr(e, expr) => Some(alias.value.clone()),
        SelectItem::UnnamedExpr(e) if same_expr(e, expr) => column_name(e).map(str::to_string),
        _ => None,
    });
    let star = select.projection.iter().any(|i| matches!(i, SelectItem::Wildcard(_)));
    let single = select.from.len() == 1 && select.from[0].joins.is_empty();
    found.or_else(|| (star && single).then(|| column_name(expr).map(str::to_string)).flatten())
}

/// Why no key can be inferred for `query` and what the user can do, in SQL words; for `strategy_reason` when
/// `inferred_key`, `row_key` and `partition_key` all find none.
pub fn why_no_key(query: &str) -> String {
    match super::union::branches(query) {
        Err(why) => return why,
        Ok(Some(_)) => {
            return "its UNION branches share no key: each branch must keep its rows as they are, or all must group \
                    by the columns at the same positions; pass unique_key"
                .into()
        }
        Ok(None) => {}
    }
    let (_, select) = match parse_select(query) {
        Ok(parsed) => parsed,
        Err(why) if why.contains(';') => return why,
        Err(why) => return format!("{why}; make each part a model of its own, which is refreshed by key"),
    };
    let grouped = !matches!(&select.group_by, GroupByExpr::Expressions(list, _) if list.is_empty());
    if let Some(call) = super::set_returning_call(query) {
        return format!(
            "its SELECT list calls {call}(), which makes several rows of one input row; pass unique_key naming \
             columns that tell them apart"
        );
    }
    if !grouped && visit_functions(&select.projection, is_aggregate_call) {
        return "it aggregates without GROUP BY, so its one row is keyed by the empty key: leave unique_key out".into();
    }
    if grouped {
        return "its GROUP BY terms are not all items of its SELECT list, or it uses ROLLUP, CUBE or GROUPING SETS; \
                name every GROUP BY term in the SELECT list"
            .into();
    }
    "its windows do not share one PARTITION BY that is an item of its SELECT list; pass unique_key".into()
}

/// True when `unique_key` is every one of `columns` (in any order): a row's key is then its whole value, and a query
/// returning a row twice returns one key twice, which the model keeps.
pub fn keyed_by_rows(unique_key: &[String], columns: &[String]) -> bool {
    !columns.is_empty() && same_names(unique_key, columns)
}

/// True when `a` and `b` name the same columns, in any order and case.
fn same_names(a: &[String], b: &[String]) -> bool {
    a.len() == b.len() && b.iter().all(|c| a.iter().any(|k| k.eq_ignore_ascii_case(c)))
}

/// True when a key of `query` (with output `columns`) has many rows by design: every column, or the partition of its
/// windows; never when its shape keeps one row per key (DISTINCT, a `row_number() = 1` dedup).
pub fn key_rows_repeat(query: &str, unique_key: &[String], columns: &[String]) -> bool {
    // Two branches may give one key, whatever each branch's shape.
    if let Ok(Some(_)) = super::union::branches(query) {
        return !super::unique_by_shape(query, unique_key);
    }
    let partitioned = || partition_key(query).is_some_and(|p| same_names(unique_key, &p));
    let by_rows = || row_key(query, columns).is_some_and(|k| same_names(unique_key, &k));
    !super::unique_by_shape(query, unique_key) && (keyed_by_rows(unique_key, columns) || by_rows() || partitioned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(query: &str) -> Option<String> {
        let columns: Vec<String> = ["a", "b"].iter().map(|c| c.to_string()).collect();
        row_key(query, &columns).map(|k| k.join(", "))
    }

    #[test]
    fn rows_kept_as_they_are_are_keyed_by_every_column() {
        for q in [
            "SELECT a, b FROM t",
            "SELECT a * 2 AS a, b || 'x' AS b FROM t WHERE a > 1",
            "SELECT DISTINCT a, b FROM t",
            "SELECT t.a, u.b FROM t JOIN u ON t.id = u.id",
            "SELECT md5(a || b) AS a, b FROM t",
            "SELECT a, b FROM t UNION ALL SELECT x, y FROM u WHERE x > 0",
        ] {
            assert_eq!(key(q).as_deref(), Some("a, b"), "{q}");
        }
    }

    #[test]
    fn rows_made_or_merged_by_the_query_are_not() {
        for q in [
            "SELECT a, count(*) AS b FROM t GROUP BY a",
            "SELECT sum(x) AS a, count(*) AS b FROM t",
            "SELECT a, b FROM t GROUP BY ALL",
            "SELECT a, row_number() OVER (PARTITION BY a) AS b FROM t",
            "SELECT a, b FROM t QUALIFY row_number() OVER (PARTITION BY a ORDER BY b) = 1",
            "SELECT DISTINCT ON (a) a, b FROM t",
            "SELECT a, random() AS b FROM t",
            "SELECT a, b FROM t ORDER BY a LIMIT 3",
            "SELECT a, b FROM t UNION ALL SELECT a, count(*) FROM u GROUP BY a",
        ] {
            assert_eq!(key(q), None, "{q}");
        }
        assert_eq!(row_key("SELECT a FROM t", &[]), None);
        assert_eq!(key("SELECT *, (SELECT max(x) FROM u) AS b FROM t"), None);
    }

    #[test]
    fn a_column_a_set_returning_function_makes_is_left_out_of_the_row_key() {
        assert_eq!(key("SELECT a, unnest(bs) AS b FROM t").as_deref(), Some("a"));
        assert_eq!(key("SELECT unnest(xs) AS a, generate_series(1, n) AS b FROM t"), None);
        assert_eq!(key("SELECT a, unnest(bs) AS b, count(*) OVER () AS n FROM t"), None);
    }

    #[test]
    fn a_column_a_subquery_computes_is_left_out_of_the_row_key() {
        let q = "SELECT t.a, (SELECT u.b FROM u WHERE u.a = t.a) AS b FROM t";
        assert_eq!(key(q).as_deref(), Some("a"));
        assert_eq!(key("SELECT (SELECT 1) AS a, (SELECT 2) AS b FROM t"), None);
        assert_eq!(
            key("SELECT t.a, CASE WHEN k > 0 THEN 1 END AS b FROM t LEFT JOIN u ON u.a = t.a").as_deref(),
            Some("a")
        );
    }

    #[test]
    fn windows_of_one_partition_are_keyed_by_it() {
        let key = |q: &str| partition_key(q).map(|k| k.join(", "));
        assert_eq!(key("SELECT id, dept, sum(x) OVER (PARTITION BY dept) AS t FROM w").as_deref(), Some("dept"));
        assert_eq!(
            key("SELECT w.g AS grp, rank() OVER (PARTITION BY w.g ORDER BY v) AS r, v FROM w").as_deref(),
            Some("grp")
        );
        assert_eq!(key("SELECT *, row_number() OVER (PARTITION BY g ORDER BY v) AS r FROM w").as_deref(), Some("g"));
        for q in [
            "SELECT id, sum(x) OVER (PARTITION BY dept) AS t FROM w",
            "SELECT dept, sum(x) OVER (PARTITION BY dept) AS t, rank() OVER (PARTITION BY id) AS r, id FROM w",
            "SELECT i, cume_dist() OVER (ORDER BY i) AS c FROM w",
            "SELECT dept, count(*) AS n FROM w GROUP BY dept",
            "SELECT dept, id FROM w",
        ] {
            assert_eq!(key(q), None, "{q}");
        }
    }

    #[test]
    fn a_key_of_every_column_in_any_order() {
        let s = |v: &[&str]| v.iter().map(|c| c.to_string()).collect::<Vec<_>>();
        assert!(keyed_by_rows(&s(&["B", "a"]), &s(&["a", "b"])));
        assert!(!keyed_by_rows(&s(&["a"]), &s(&["a", "b"])));
        assert!(!keyed_by_rows(&s(&[]), &s(&[])));
    }

    #[test]
    fn a_key_the_shape_keeps_unique_does_not_repeat() {
        let s = |v: &[&str]| v.iter().map(|c| c.to_string()).collect::<Vec<_>>();
        let dedup = "SELECT * FROM o QUALIFY row_number() OVER (PARTITION BY c, p ORDER BY v DESC) = 1";
        assert!(!key_rows_repeat(dedup, &s(&["c", "p"]), &s(&["c", "p", "v"])));
        assert!(!key_rows_repeat("SELECT DISTINCT a, b FROM t", &s(&["a", "b"]), &s(&["a", "b"])));
        assert!(key_rows_repeat("SELECT a, b FROM t", &s(&["a", "b"]), &s(&["a", "b"])));
        let ranked = "SELECT g, v, rank() OVER (PARTITION BY g ORDER BY v) AS r FROM t";
        assert!(key_rows_repeat(ranked, &s(&["g"]), &s(&["g", "v", "r"])));
    }

    #[test]
    fn no_key_is_explained_by_the_construct() {
        for (q, expected) in [
            ("WITH RECURSIVE s AS (SELECT 1 AS a) SELECT a FROM s", "WITH RECURSIVE, whose rows each depend"),
            ("SELECT a FROM t UNION ALL SELECT count(*) FROM u", "its UNION branches share no key"),
            ("SELECT a FROM t INTERSECT SELECT a FROM u", "with INTERSECT"),
            ("SELECT sum(x) AS s FROM t", "aggregates without GROUP BY"),
            ("SELECT a, unnest(xs) AS x FROM t", "unnest()"),
            ("SELECT a, GROUPING(a) AS g, count(*) AS n FROM t GROUP BY ROLLUP (a)", "GROUPING()"),
            ("SELECT a, rank() OVER (ORDER BY a) AS r FROM t", "do not share one PARTITION BY"),
        ] {
            assert!(why_no_key(q).contains(expected), "{q}: {}", why_no_key(q));
        }
    }
}
