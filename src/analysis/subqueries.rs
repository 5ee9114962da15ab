//! The keys a changed row of a table read in a subquery of WHERE or the SELECT list (`EXISTS`, `IN (SELECT ...)`, a
//! scalar subquery) reaches: the outer rows it correlates with.
//!
//! A subquery reads one table; its rows decide the outer rows only through the conjuncts of its WHERE that read the
//! outer query's columns (the correlation, `b.i = a.i`). So the discovery keeps the outer FROM as the joins'
//! discoveries do (conditions reduced to the equalities linking tables) and asks, in place of the query's WHERE,
//! whether a changed row correlates: `EXISTS (SELECT 1 FROM (<changed rows>) AS b WHERE <correlation>)`. Negation,
//! aggregates, grouping and limits inside the subquery are left out: each only decides *how* a correlated row
//! counts, never *whether* it can. An uncorrelated subquery correlates with every outer row, so any change to its
//! table reaches every key. A top-level `x IN (SELECT c ...)` keeps its comparison, which narrows the keys to the
//! changed values of `c`; elsewhere (under NOT, in a CASE) a NULL among them can flip every row, so it does not.

use std::ops::ControlFlow;

use sqlparser::ast::{
    visit_expressions, BinaryOperator, Expr, GroupByExpr, ObjectName, Query, Select, SelectItem, SetExpr, TableFactor,
};

use super::keys::replace_factor;

/// The subquery expressions of `select`'s WHERE and SELECT list, each with the table it reads (lowercase, as
/// written), in order; why not when one reads anything but one plain table, or holds a subquery of its own.
pub(super) fn tables(select: &Select) -> Result<Vec<String>, String> {
    let mut found = Vec::new();
    for query in subqueries(select) {
        let inner = inner_select(&query)?;
        found.push(super::name_parts(inner_table(inner)?).join(".").to_lowercase());
    }
    Ok(found)
}

/// The queries of the subquery expressions in WHERE and then in the SELECT list, in order. One inside another is
/// listed too, and refused by `inner_select` when its outer one is analysed.
fn subqueries(select: &Select) -> Vec<Query> {
    let mut found = Vec::new();
    let mut collect = |e: &Expr| {
        if let Expr::Exists { subquery, .. } | Expr::InSubquery { subquery, .. } | Expr::Subquery(subquery) = e {
            // `(SELECT 5)` reads no table: nothing of it changes.
            if !matches!(subquery.body.as_ref(), SetExpr::Select(s) if s.from.is_empty()) {
                found.push(subquery.as_ref().clone());
            }
        }
        ControlFlow::<()>::Continue(())
    };
    if let Some(selection) = &select.selection {
        let _ = visit_expressions(selection, &mut collect);
    }
    let _ = visit_expressions(&select.projection, &mut collect);
    found
}

/// True when `item` holds a subquery expression.
pub(super) fn has_subquery(item: &SelectItem) -> bool {
    visit_expressions(item, |e| match e {
        Expr::Exists { .. } | Expr::InSubquery { .. } | Expr::Subquery(_) => ControlFlow::Break(()),
        _ => ControlFlow::Continue(()),
    })
    .is_break()
}

fn inner_select(query: &Query) -> Result<&Select, String> {
    let SetExpr::Select(inner) = query.body.as_ref() else {
        return Err("it has a subquery that combines results (UNION); make it a model of its own".into());
    };
    if query.with.is_some() {
        return Err("it has a subquery with a WITH clause; make the CTE a model of its own".into());
    }
    let nested = visit_expressions(inner.as_ref(), |e| match e {
        Expr::Exists { .. } | Expr::InSubquery { .. } | Expr::Subquery(_) => ControlFlow::Break(()),
        _ => ControlFlow::Continue(()),
    });
    if nested.is_break() {
        return Err("it has a subquery inside a subquery; make the inner one a model of its own".into());
    }
    Ok(inner)
}

fn inner_table(inner: &Select) -> Result<&ObjectName, String> {
    match inner.from.as_slice() {
        [t] if t.joins.is_empty() => match &t.relation {
            TableFactor::Table { name, args: None, .. } => Ok(name),
            other => Err(format!("it has a subquery that reads {other}, which is not a plain table")),
        },
        _ => Err("it has a subquery that reads several tables; join them in a model of its own".into()),
    }
}

/// The alias a subquery's table answers to (lowercase).
fn inner_alias(inner: &Select) -> String {
    match inner.from.first().map(|t| &t.relation) {
        Some(TableFactor::Table { name, alias, .. }) => alias
            .as_ref()
            .map(|a| a.name.value.to_lowercase())
            .or_else(|| name.0.last().and_then(|p| p.as_ident()).map(|i| i.value.to_lowercase()))
            .unwrap_or_default(),
        _ => String::new(),
    }
}

/// The conjuncts of the subquery's WHERE that may read the outer query: all but those whose every column is
/// qualified with the subquery's own alias. A bare column is kept, as SQL may resolve it outside; keeping a
/// condition only narrows when it truly correlates, and a condition on the changed rows alone would lose the keys
/// of rows whose new version fails it.
fn correlation(inner: &Select) -> Option<Expr> {
    let own = inner_alias(inner);
    let mut all = Vec::new();
    if let Some(w) = &inner.selection {
        super::discovery::conjuncts(w, &mut all);
    }
    let outer = |c: &Expr| {
        visit_expressions(c, |e| match e {
            Expr::Identifier(_) => ControlFlow::Break(()),
            Expr::CompoundIdentifier(parts) if !parts[0].value.eq_ignore_ascii_case(&own) => ControlFlow::Break(()),
            _ => ControlFlow::Continue(()),
        })
        .is_break()
    };
    all.into_iter().filter(outer).reduce(|l, r| Expr::BinaryOp {
        left: Box::new(l),
        op: BinaryOperator::And,
        right: Box::new(r),
    })
}

/// True when `query` is a plain `SELECT <column> FROM t WHERE ...`: its values are those of single rows.
fn row_values(inner: &Select) -> bool {
    let grouped = !matches!(&inner.group_by, GroupByExpr::Expressions(list, _) if list.is_empty());
    let aggregated = super::aggregates::visit_functions(&inner.projection, super::aggregates::is_aggregate_call);
    !grouped && !aggregated && inner.having.is_none() && inner.projection.len() == 1
}

/// The condition on outer rows that a changed row of subquery `query` (read as `changed`) correlates with them.
fn reaching(query: &Query, changed: &str, top_level_in: Option<&Expr>) -> Result<Expr, String> {
    let inner = inner_select(query)?;
    let mut s = inner.clone();
    let name = super::name_parts(inner_table(inner)?).join(".");
    replace_factor(&mut s, 0, &name, changed)?;
    s.selection = correlation(inner);
    s.group_by = GroupByExpr::Expressions(Vec::new(), Vec::new());
    s.having = None;
    s.qualify = None;
    s.distinct = None;
    let mut q = query.clone();
    q.order_by = None;
    q.limit_clause = None;
    q.fetch = None;
    if let (Some(expr), true) = (top_level_in, row_values(inner)) {
        *q.body = SetExpr::Select(Box::new(s));
        return Ok(Expr::InSubquery { expr: Box::new(expr.clone()), subquery: Box::new(q), negated: false });
    }
    s.projection = vec![SelectItem::UnnamedExpr(Expr::value(sqlparser::ast::Value::Number("1".into(), false)))];
    *q.body = SetExpr::Select(Box::new(s));
    Ok(Expr::Exists { subquery: Box::new(q), negated: false })
}

/// Per subquery of `select`'s WHERE and SELECT list, in the order of `tables`: the condition on the outer rows that its table's
/// changed rows (`changed[i]`) reach, to stand for the WHERE of a discovery over the outer FROM.
pub(super) fn reaching_conditions(select: &Select, changed: &[&str]) -> Result<Vec<Expr>, String> {
    let mut top = Vec::new();
    if let Some(w) = &select.selection {
        super::discovery::conjuncts(w, &mut top);
    }
    // `conjuncts` copies its expressions, so a top-level IN is matched to its subquery by text.
    let top_level_in = |query: &Query| {
        let text = query.to_string();
        top.iter().find_map(|c| match c {
            Expr::InSubquery { expr, subquery, negated: false } if subquery.to_string() == text => Some(expr.as_ref()),
            _ => None,
        })
    };
    subqueries(select)
        .iter()
        .zip(changed)
        .map(|(query, changed)| reaching(query, changed, top_level_in(query)))
        .collect()
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
    fn a_subquery_table_reaches_the_outer_rows_it_correlates_with() {
        let q = "SELECT a.g, count(*) AS n FROM a WHERE NOT EXISTS (SELECT 1 FROM b WHERE b.i = a.i AND b.x > 0) \
                 GROUP BY a.g";
        let found = keyed_by(q, &["g"], &["a", "b"]).unwrap();
        assert_eq!(found[0], "SELECT DISTINCT a.g AS g FROM (SELECT * FROM changed_a) AS a");
        assert_eq!(
            found[1],
            "SELECT DISTINCT a.g AS g FROM a WHERE EXISTS (SELECT 1 FROM (SELECT * FROM changed_b) AS b WHERE b.i = a.i)"
        );
        // A top-level IN narrows to the changed values; under NOT it reaches every row that any change correlates with.
        let q = "SELECT a.g, count(*) AS n FROM a WHERE a.i IN (SELECT i FROM b WHERE b.x > 0) GROUP BY a.g";
        let found = keyed_by(q, &["g"], &["a", "b"]).unwrap();
        assert_eq!(
            found[1],
            "SELECT DISTINCT a.g AS g FROM a WHERE a.i IN (SELECT i FROM (SELECT * FROM changed_b) AS b)"
        );
        let q = "SELECT a.g, count(*) AS n FROM a WHERE a.i NOT IN (SELECT i FROM b) GROUP BY a.g";
        let found = keyed_by(q, &["g"], &["a", "b"]).unwrap();
        assert_eq!(
            found[1],
            "SELECT DISTINCT a.g AS g FROM a WHERE EXISTS (SELECT 1 FROM (SELECT * FROM changed_b) AS b)"
        );
    }

    #[test]
    fn a_scalar_subquery_in_the_select_list_reaches_the_rows_it_is_computed_for() {
        let q = "SELECT a.i, a.j, (SELECT b.k FROM b WHERE b.i = a.i) AS k FROM a";
        let found = keyed_by(q, &["i", "j"], &["a", "b"]).unwrap();
        assert_eq!(
            found[1],
            "SELECT DISTINCT a.i AS i, a.j AS j FROM a WHERE EXISTS (SELECT 1 FROM (SELECT * FROM changed_b) AS b WHERE \
             b.i = a.i)"
        );
        assert!(keyed_by(q, &["i", "k"], &["a", "b"]).unwrap_err().contains("\"k\" is computed by a subquery"));
    }

    #[test]
    fn names_the_subqueries_it_cannot_follow() {
        let cases: &[(&str, &str)] = &[
            ("SELECT a.g FROM a WHERE a.i IN (SELECT i FROM b UNION SELECT i FROM b)", "combines results (UNION)"),
            ("SELECT a.g FROM a WHERE a.i IN (SELECT b.i FROM b JOIN b AS c ON c.i = b.i)", "reads several tables"),
            ("SELECT a.g FROM a WHERE a.i IN (SELECT i FROM b WHERE i IN (SELECT i FROM b))", "inside a subquery"),
            ("SELECT a.g FROM a WHERE a.i IN (SELECT * FROM range(3) AS b(i))", "which is not a plain table"),
        ];
        for (query, expected) in cases {
            let got = keyed_by(query, &["g"], &["a", "b"]).err().unwrap_or_default();
            assert!(got.contains(expected), "{query}: {got}");
        }
    }
}
