//! A subquery in FROM (or a CTE, written in its place) that makes each of its rows from one row of one table:
//! `(SELECT id, CASE ... END AS status FROM orders WHERE region = 'eu') AS t`. It stands in the analysis for that
//! table, and its changed rows are its SELECT list over the table's changed rows, without its WHERE: a row whose new
//! version fails the filter still reaches the key its old version had, as for the query's own filters.

use std::ops::ControlFlow;

use sqlparser::ast::{visit_expressions, Distinct, Expr, GroupByExpr, Query, SetExpr, TableFactor};

use super::aggregates::{is_aggregate_call, visit_functions};

/// The table (lowercase, as written) the subquery `factor` reads, or why it cannot stand for it.
pub(super) fn table_of(factor: &TableFactor) -> Result<String, String> {
    let TableFactor::Derived { lateral, subquery, alias, .. } = factor else {
        return Err(format!("it reads {factor}, which is not a plain table"));
    };
    if *lateral {
        return Err(
            "it reads a LATERAL subquery, whose rows depend on the row before it; join its table instead".into()
        );
    }
    if alias.is_none() {
        return Err("it reads a subquery in FROM without a name; name it with AS".into());
    }
    let SetExpr::Select(inner) = subquery.body.as_ref() else {
        return Err("it reads a subquery in FROM that combines results (UNION, INTERSECT, EXCEPT or VALUES); make \
                    it a model of its own"
            .into());
    };
    let grouped = !matches!(&inner.group_by, GroupByExpr::Expressions(list, _) if list.is_empty());
    let merging = |f: &sqlparser::ast::Function| is_aggregate_call(f) || f.over.is_some();
    if grouped
        || inner.having.is_some()
        || inner.qualify.is_some()
        || matches!(inner.distinct, Some(Distinct::Distinct | Distinct::On(_)))
        || subquery.limit_clause.is_some()
        || subquery.fetch.is_some()
        || visit_functions(&inner.projection, merging)
    {
        return Err("it reads a subquery in FROM that groups, deduplicates, ranks or limits its rows (GROUP BY, \
                    DISTINCT, an aggregate, a window or LIMIT), so a changed row of its table reaches rows of other \
                    keys; make the subquery a model of its own and read that"
            .into());
    }
    let nested = visit_expressions(inner.as_ref(), |e| match e {
        Expr::Exists { .. } | Expr::InSubquery { .. } | Expr::Subquery(_) => ControlFlow::Break(()),
        _ => ControlFlow::Continue(()),
    });
    if nested.is_break() {
        return Err("it reads a subquery in FROM that holds a subquery of its own; make it a model of its own".into());
    }
    match inner.from.as_slice() {
        [t] if t.joins.is_empty() => match &t.relation {
            TableFactor::Table { name, args: None, .. } => Ok(super::name_parts(name).join(".").to_lowercase()),
            TableFactor::Derived { .. } => table_of(&t.relation),
            other => Err(format!("it reads a subquery in FROM over {other}, which is not a plain table")),
        },
        _ => Err("it reads a subquery in FROM over several tables; join them in the query itself, or make the \
                  subquery a model of its own"
            .into()),
    }
}

/// The subquery `query` with its table (named `name`) read as `(sql)` and no WHERE: its rows of the rows of `sql`.
pub(super) fn replace_table(query: &mut Query, name: &str, sql: &str) -> Result<(), String> {
    let SetExpr::Select(inner) = query.body.as_mut() else { return Ok(()) };
    inner.selection = None;
    if let Some(TableFactor::Derived { subquery, .. }) = inner.from.first_mut().map(|t| &mut t.relation) {
        return replace_table(subquery, name, sql);
    }
    super::keys::replace_factor(inner, 0, name, sql)
}

#[cfg(test)]
mod tests {
    use super::super::keys::{keyed, SourceRows};

    fn keyed_by(query: &str, key: &[&str], sources: &[&str]) -> Result<Vec<String>, String> {
        let key: Vec<String> = key.iter().map(|k| k.to_string()).collect();
        let sources: Vec<SourceRows> = sources
            .iter()
            .map(|s| SourceRows { name: s.to_string(), changed: format!("SELECT * FROM changed_{s}"), widened: None })
            .collect();
        keyed(query, &key, &sources, "k").map(|k| k.discoveries)
    }

    #[test]
    fn a_subquery_of_one_table_is_read_through_to_its_changed_rows() {
        let q = "SELECT status, count(*) AS n FROM (SELECT id, CASE WHEN amount > 9 THEN 'big' ELSE status END AS \
                 status FROM orders WHERE region = 'eu') AS t GROUP BY status";
        assert_eq!(
            keyed_by(q, &["status"], &["orders"]).unwrap(),
            ["SELECT DISTINCT status AS status FROM (SELECT id, CASE WHEN amount > 9 THEN 'big' ELSE status END AS \
              status FROM (SELECT * FROM changed_orders) AS orders) AS t"]
        );
        let cte = "WITH eu AS (SELECT customer_id FROM customers WHERE region = 'eu') SELECT o.customer_id, \
                   sum(o.amount) AS revenue FROM orders o JOIN eu ON eu.customer_id = o.customer_id GROUP BY \
                   o.customer_id";
        let found = keyed_by(cte, &["customer_id"], &["orders", "customers"]).unwrap();
        assert_eq!(found.len(), 2);
        assert!(
            found[1].contains("JOIN (SELECT customer_id FROM (SELECT * FROM changed_customers) AS customers) AS eu")
        );
    }

    #[test]
    fn names_the_subqueries_in_from_it_cannot_read_through() {
        let cases: &[(&str, &str)] = &[
            ("SELECT i FROM (SELECT i, count(*) AS n FROM b GROUP BY i) AS s", "groups, deduplicates"),
            ("SELECT i FROM (SELECT i FROM b UNION ALL SELECT i FROM a) AS s", "combines results"),
            ("SELECT s.i FROM (SELECT b.i FROM b JOIN a ON a.i = b.i) AS s", "over several tables"),
            ("SELECT s.i FROM a CROSS JOIN LATERAL (SELECT b.i FROM b WHERE b.i = a.i) AS s", "LATERAL"),
        ];
        for (query, expected) in cases {
            let got = keyed_by(query, &["i"], &["a", "b"]).err().unwrap_or_default();
            assert!(got.contains(expected), "{query}: {got}");
        }
    }
}
