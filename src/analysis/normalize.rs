//! The query as the analysis reads it, the same rows in a plainer shape: each CTE written in place of its references
//! as a subquery in FROM, tables listed with commas joined by CROSS JOIN (their WHERE then links them, as an ON
//! would), and an ORDER BY without LIMIT dropped, since a table keeps no order (but for DISTINCT ON, which it
//! steers).

use std::ops::ControlFlow;

use sqlparser::ast::{
    Cte, Distinct, Join, JoinConstraint, JoinOperator, Query, SetExpr, TableAlias, TableFactor, VisitMut, VisitorMut,
};

/// `query` normalized in place, or why its shape cannot be.
pub(super) fn normalize(query: &mut Query) -> Result<(), String> {
    if let Some(with) = query.with.take() {
        if with.recursive {
            return Err("it has WITH RECURSIVE, whose rows each depend on the ones before".into());
        }
        let mut inlined: Vec<Cte> = Vec::new();
        for mut cte in with.cte_tables {
            inline(&mut cte.query, &inlined)?;
            inlined.push(cte);
        }
        inline(query, &inlined)?;
    }
    if nested_with(query) {
        return Err("it has a WITH clause inside a subquery; move the CTE to the top of the query".into());
    }
    // DISTINCT ON keeps the first row of each key in that order: there the ORDER BY decides which rows are kept.
    let distinct_on = matches!(query.body.as_ref(), SetExpr::Select(s) if matches!(s.distinct, Some(Distinct::On(_))));
    if query.limit_clause.is_none() && query.fetch.is_none() && !distinct_on {
        query.order_by = None;
    }
    if let SetExpr::Select(select) = query.body.as_mut() {
        join_commas(&mut select.from);
    }
    Ok(())
}

/// Every reference to one of `ctes` in `query` (its FROM clauses and subqueries) replaced by the CTE's query as a
/// subquery, named like the reference.
fn inline(query: &mut Query, ctes: &[Cte]) -> Result<(), String> {
    struct Inliner<'a>(&'a [Cte]);
    impl VisitorMut for Inliner<'_> {
        type Break = ();
        fn post_visit_table_factor(&mut self, factor: &mut TableFactor) -> ControlFlow<()> {
            let TableFactor::Table { name, alias, args: None, .. } = factor else { return ControlFlow::Continue(()) };
            let [part] = name.0.as_slice() else { return ControlFlow::Continue(()) };
            let Some(ident) = part.as_ident() else { return ControlFlow::Continue(()) };
            let Some(cte) = self.0.iter().rev().find(|c| c.alias.name.value.eq_ignore_ascii_case(&ident.value)) else {
                return ControlFlow::Continue(());
            };
            let mut named = alias.clone().unwrap_or_else(|| TableAlias {
                explicit: true,
                name: cte.alias.name.clone(),
                columns: Vec::new(),
                at: None,
            });
            if named.columns.is_empty() {
                named.columns = cte.alias.columns.clone();
            }
            *factor =
                TableFactor::Derived { lateral: false, subquery: cte.query.clone(), alias: Some(named), sample: None };
            ControlFlow::Continue(())
        }
    }
    let _ = query.visit(&mut Inliner(ctes));
    Ok(())
}

/// True when a subquery of `query` has a WITH clause of its own, whose names may shadow the top-level ones.
fn nested_with(query: &Query) -> bool {
    struct Finder;
    impl sqlparser::ast::Visitor for Finder {
        type Break = ();
        fn pre_visit_query(&mut self, q: &Query) -> ControlFlow<()> {
            if q.with.is_some() {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        }
    }
    sqlparser::ast::Visit::visit(query, &mut Finder).is_break()
}

/// `FROM a, b JOIN c ON ...` as `FROM a CROSS JOIN b JOIN c ON ...`: the same rows, since the ON of a join after
/// `b` can only read `b`'s side of the comma.
fn join_commas(from: &mut Vec<sqlparser::ast::TableWithJoins>) {
    if from.len() < 2 {
        return;
    }
    let mut rest = from.split_off(1);
    let first = &mut from[0];
    for table in rest.drain(..) {
        first.joins.push(Join {
            relation: table.relation,
            global: false,
            join_operator: JoinOperator::CrossJoin(JoinConstraint::None),
        });
        first.joins.extend(table.joins);
    }
}

#[cfg(test)]
mod tests {
    use sqlparser::ast::Statement;
    use sqlparser::dialect::DuckDbDialect;
    use sqlparser::parser::Parser;

    fn normalized(sql: &str) -> Result<String, String> {
        let Ok(mut statements) = Parser::parse_sql(&DuckDbDialect {}, sql) else { return Err("parse".into()) };
        let Some(Statement::Query(q)) = statements.first_mut() else { return Err("not a query".into()) };
        super::normalize(q)?;
        Ok(q.to_string())
    }

    #[test]
    fn ctes_become_subqueries_named_like_their_references() {
        assert_eq!(
            normalized("WITH t AS (SELECT * FROM base_t) SELECT t1.v, t2.v FROM t AS t1 JOIN t AS t2 ON t1.i = t2.i")
                .unwrap(),
            "SELECT t1.v, t2.v FROM (SELECT * FROM base_t) AS t1 JOIN (SELECT * FROM base_t) AS t2 ON t1.i = t2.i"
        );
        assert_eq!(
            normalized("WITH a (x) AS (SELECT i FROM s), b AS (SELECT x FROM a) SELECT x FROM b WHERE x IN (SELECT x FROM a)")
                .unwrap(),
            "SELECT x FROM (SELECT x FROM (SELECT i FROM s) AS a (x)) AS b WHERE x IN (SELECT x FROM (SELECT i FROM s) AS a (x))"
        );
    }

    #[test]
    fn commas_become_cross_joins_and_order_without_limit_goes() {
        assert_eq!(
            normalized("SELECT a.i FROM a, b JOIN c ON c.i = b.i WHERE a.i = b.i ORDER BY a.i").unwrap(),
            "SELECT a.i FROM a CROSS JOIN b JOIN c ON c.i = b.i WHERE a.i = b.i"
        );
        assert_eq!(normalized("SELECT i FROM a ORDER BY i LIMIT 3").unwrap(), "SELECT i FROM a ORDER BY i LIMIT 3");
        let first = "SELECT DISTINCT ON (i) i, j FROM a ORDER BY i, j";
        assert_eq!(normalized(first).unwrap(), first);
    }

    #[test]
    fn refuses_what_it_cannot_place() {
        assert!(normalized("WITH RECURSIVE r AS (SELECT 1) SELECT * FROM r").unwrap_err().contains("WITH RECURSIVE"));
        assert!(normalized("SELECT * FROM (WITH a AS (SELECT 1) SELECT * FROM a) AS v")
            .unwrap_err()
            .contains("inside a subquery"));
    }
}
