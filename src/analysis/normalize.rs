//! The query as the analysis reads it, the same rows in a plainer shape: each CTE (at any depth) written in place of
//! its references as a subquery in FROM, tables listed with commas joined by CROSS JOIN (their WHERE then links
//! them, as an ON would), and an ORDER BY without LIMIT dropped, since a table keeps no order (but for DISTINCT ON,
//! which it steers); window items of a subquery in FROM that nothing reads are dropped.

use std::ops::ControlFlow;

use sqlparser::ast::{
    visit_expressions, Cte, Distinct, Expr, Join, JoinConstraint, JoinOperator, Query, SelectItem, SetExpr, TableAlias,
    TableFactor, VisitMut, VisitorMut,
};

/// `query` normalized in place, or why its shape cannot be.
pub(super) fn normalize(query: &mut Query) -> Result<(), String> {
    inline_all(query)?;
    // DISTINCT ON keeps the first row of each key in that order: there the ORDER BY decides which rows are kept.
    let distinct_on = matches!(query.body.as_ref(), SetExpr::Select(s) if matches!(s.distinct, Some(Distinct::On(_))));
    if query.limit_clause.is_none() && query.fetch.is_none() && !distinct_on {
        query.order_by = None;
    }
    if let SetExpr::Select(select) = query.body.as_mut() {
        join_commas(&mut select.from);
    }
    prune_windows(query);
    Ok(())
}

/// Window items of a subquery in FROM that nothing reads (`SELECT i FROM (SELECT *, rank() OVER (...) AS r FROM t)`)
/// dropped: a window adds a column and never a row, so the rows stay the same, and the query no longer looks
/// windowed.
fn prune_windows(query: &mut Query) {
    let SetExpr::Select(outer) = query.body.as_ref() else { return };
    if outer.projection.iter().any(|i| matches!(i, SelectItem::Wildcard(_) | SelectItem::QualifiedWildcard(..))) {
        return;
    }
    let read = names_read(query);
    let SetExpr::Select(outer) = query.body.as_mut() else { return };
    for table in &mut outer.from {
        let factors = std::iter::once(&mut table.relation).chain(table.joins.iter_mut().map(|j| &mut j.relation));
        for factor in factors {
            let TableFactor::Derived { subquery, .. } = factor else { continue };
            let SetExpr::Select(inner) = subquery.body.as_mut() else { continue };
            if inner.distinct.is_some() {
                continue;
            }
            inner.projection.retain(|item| match item {
                SelectItem::ExprWithAlias { expr: Expr::Function(f), alias } if f.over.is_some() => {
                    read.contains(&alias.value.to_lowercase())
                }
                _ => true,
            });
        }
    }
}

/// Every identifier `query` mentions (each part of a qualified one), lowercase.
fn names_read(query: &Query) -> Vec<String> {
    let mut names = Vec::new();
    let _ = visit_expressions(query, |e| {
        match e {
            Expr::Identifier(i) => names.push(i.value.to_lowercase()),
            Expr::CompoundIdentifier(parts) => names.extend(parts.iter().map(|p| p.value.to_lowercase())),
            _ => {}
        }
        ControlFlow::<()>::Continue(())
    });
    names
}

/// Every reference to one of `ctes` in `query` (its FROM clauses and subqueries) replaced by the CTE's query as a
/// subquery, named like the reference.
fn inline(query: &mut Query, ctes: &[Cte]) {
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
}

/// Every WITH of `query` and its subqueries written in place, innermost first, so that a CTE named again inside a
/// subquery stands for its own definition there.
pub(super) fn inline_all(query: &mut Query) -> Result<(), String> {
    struct Scopes(Result<(), String>);
    impl VisitorMut for Scopes {
        type Break = ();
        fn post_visit_query(&mut self, query: &mut Query) -> ControlFlow<()> {
            if query.with.as_ref().is_some_and(|w| w.recursive) {
                self.0 = Err("it has WITH RECURSIVE, whose rows each depend on the ones before".into());
                return ControlFlow::Break(());
            }
            let Some(with) = query.with.take() else { return ControlFlow::Continue(()) };
            let mut inlined: Vec<Cte> = Vec::new();
            for mut cte in with.cte_tables {
                inline(&mut cte.query, &inlined);
                inlined.push(cte);
            }
            inline(query, &inlined);
            ControlFlow::Continue(())
        }
    }
    let mut scopes = Scopes(Ok(()));
    let _ = query.visit(&mut scopes);
    scopes.0
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
    fn a_cte_inside_a_subquery_shadows_the_outer_one_there() {
        assert_eq!(
            normalized("WITH a AS (SELECT 1 AS i) SELECT v.i FROM (WITH a AS (SELECT 2 AS i) SELECT i FROM a) AS v, a")
                .unwrap(),
            "SELECT v.i FROM (SELECT i FROM (SELECT 2 AS i) AS a) AS v CROSS JOIN (SELECT 1 AS i) AS a"
        );
    }

    #[test]
    fn window_items_nothing_reads_go() {
        assert_eq!(
            normalized("SELECT i, j FROM (SELECT *, cume_dist() OVER (ORDER BY i) AS r FROM a) AS t").unwrap(),
            "SELECT i, j FROM (SELECT * FROM a) AS t"
        );
        for kept in [
            "SELECT i, r FROM (SELECT *, cume_dist() OVER (ORDER BY i) AS r FROM a) AS t",
            "SELECT i FROM (SELECT *, cume_dist() OVER (ORDER BY i) AS r FROM a) AS t WHERE t.r > 0.5",
            "SELECT * FROM (SELECT *, cume_dist() OVER (ORDER BY i) AS r FROM a) AS t",
        ] {
            assert_eq!(normalized(kept).unwrap(), kept);
        }
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
        assert!(normalized("SELECT * FROM (WITH RECURSIVE a AS (SELECT 1) SELECT * FROM a) AS v")
            .unwrap_err()
            .contains("WITH RECURSIVE"));
    }
}
