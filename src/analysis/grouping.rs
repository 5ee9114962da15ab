//! ROLLUP, CUBE and GROUPING SETS written as the UNION ALL of one grouped SELECT per grouping set, each SELECT list
//! item that is a grouping term outside the set written `NULL`: the same rows, which the union analysis then
//! refreshes branch by branch (a change reaches the keys of its group in every set, the subtotals included).

use sqlparser::ast::{Expr, GroupByExpr, Ident, Select, SelectItem, SetExpr, SetOperator, SetQuantifier, Value};

use super::aggregates::{is_aggregate_call, visit_functions};
use super::key_checks::{column_name, is_key_term, same_expr};

/// The grouping sets of `select`'s GROUP BY in the order DuckDB lists them, or None when it has no ROLLUP, CUBE or
/// GROUPING SETS; why not when they cannot be written out.
fn sets(select: &Select) -> Result<Option<Vec<Vec<Expr>>>, String> {
    let GroupByExpr::Expressions(list, modifiers) = &select.group_by else { return Ok(None) };
    let special = |e: &Expr| matches!(e, Expr::Rollup(_) | Expr::Cube(_) | Expr::GroupingSets(_));
    if !list.iter().any(special) {
        return Ok(None);
    }
    if !modifiers.is_empty() {
        return Err("its GROUP BY adds a grouping modifier (WITH ROLLUP, WITH CUBE) to grouping sets; use one".into());
    }
    let mut product: Vec<Vec<Expr>> = vec![Vec::new()];
    for term in list {
        let options: Vec<Vec<Expr>> = match term {
            Expr::Rollup(parts) => (0..=parts.len()).rev().map(|n| parts[..n].concat()).collect(),
            Expr::Cube(parts) => {
                let n = parts.len();
                (0..1usize << n)
                    .rev()
                    .map(|mask| {
                        (0..n).filter(|i| mask & (1 << (n - 1 - i)) != 0).flat_map(|i| parts[i].clone()).collect()
                    })
                    .collect()
            }
            Expr::GroupingSets(listed) => listed.clone(),
            plain => vec![vec![plain.clone()]],
        };
        product = product
            .iter()
            .flat_map(|done| options.iter().map(move |o| done.iter().chain(o).cloned().collect::<Vec<_>>()))
            .collect();
    }
    Ok(Some(product))
}

/// `select` written as the UNION ALL of its grouping sets, or None when it has none; why not when an item or
/// clause depends on which set a row comes from in a way the branches cannot say.
pub(super) fn expand(select: &Select) -> Result<Option<SetExpr>, String> {
    let Some(sets) = sets(select)? else { return Ok(None) };
    if visit_functions(select, |f| {
        let name = f.name.to_string().to_lowercase();
        name == "grouping" || name == "grouping_id"
    }) {
        return Err("it calls GROUPING() to tell its grouping sets apart; write each grouping set as a branch of a \
                    UNION ALL with a constant column instead"
            .into());
    }
    if select.having.is_some() || select.qualify.is_some() {
        return Err("it filters grouping sets with HAVING or QUALIFY; write each grouping set as a branch of a UNION \
                    ALL with its own HAVING"
            .into());
    }
    let terms: Vec<Expr> = sets.iter().flatten().fold(Vec::new(), |mut all, e| {
        if !all.iter().any(|a| same_expr(a, e)) {
            all.push(e.clone());
        }
        all
    });
    let mut branches = Vec::new();
    for set in &sets {
        let mut branch = select.clone();
        branch.group_by = GroupByExpr::Expressions(set.clone(), Vec::new());
        for (i, item) in branch.projection.iter_mut().enumerate() {
            let (expr, alias) = match item {
                SelectItem::UnnamedExpr(e) => (e.clone(), column_name(e).map(str::to_string)),
                SelectItem::ExprWithAlias { expr, alias } => (expr.clone(), Some(alias.value.clone())),
                _ => return Err("it selects * with grouping sets; name the columns of its SELECT list".into()),
            };
            let grouping = terms.iter().any(|t| is_key_term(t, &expr, i + 1));
            let in_set = set.iter().any(|t| is_key_term(t, &expr, i + 1));
            if grouping && !in_set {
                let name = alias.ok_or_else(|| {
                    format!("its grouping term {expr} is not named in its SELECT list; name it with AS")
                })?;
                *item = SelectItem::ExprWithAlias {
                    expr: Expr::Value(Value::Null.into()),
                    alias: Ident::with_quote('"', name),
                };
            } else if !grouping && !is_aggregate(&expr) {
                return Err(format!(
                    "its SELECT list item {expr} is neither a grouping term nor an aggregate, so its value in a \
                     subtotal row cannot be told; select the grouping terms and aggregates alone"
                ));
            }
        }
        branches.push(SetExpr::Select(Box::new(branch)));
    }
    let union = |left: SetExpr, right: SetExpr| SetExpr::SetOperation {
        op: SetOperator::Union,
        set_quantifier: SetQuantifier::All,
        left: Box::new(left),
        right: Box::new(right),
    };
    Ok(branches.into_iter().reduce(union))
}

/// True when `expr` is an aggregate call, or computed from aggregate calls and constants alone.
fn is_aggregate(expr: &Expr) -> bool {
    match expr {
        Expr::Function(f) if is_aggregate_call(f) => true,
        Expr::Value(_) => true,
        Expr::Cast { expr, .. } | Expr::Nested(expr) | Expr::UnaryOp { expr, .. } => is_aggregate(expr),
        Expr::BinaryOp { left, right, .. } => is_aggregate(left) && is_aggregate(right),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::expand;
    use sqlparser::ast::{SetExpr, Statement};
    use sqlparser::dialect::DuckDbDialect;
    use sqlparser::parser::Parser;

    fn expanded(q: &str) -> Result<Option<String>, String> {
        let statements = Parser::parse_sql(&DuckDbDialect {}, q).unwrap();
        let Statement::Query(query) = &statements[0] else { panic!() };
        let SetExpr::Select(select) = query.body.as_ref() else { panic!() };
        expand(select).map(|e| e.map(|e| e.to_string()))
    }

    #[test]
    fn each_grouping_set_is_a_branch() {
        assert_eq!(
            expanded("SELECT i, sum(j) AS s FROM t GROUP BY GROUPING SETS ((i), ())").unwrap().unwrap(),
            "SELECT i, sum(j) AS s FROM t GROUP BY i UNION ALL SELECT NULL AS \"i\", sum(j) AS s FROM t"
        );
        assert_eq!(
            expanded("SELECT c.r, o.s, sum(o.a) AS v FROM o JOIN c ON c.id = o.c GROUP BY ROLLUP (c.r, o.s)")
                .unwrap()
                .unwrap(),
            "SELECT c.r, o.s, sum(o.a) AS v FROM o JOIN c ON c.id = o.c GROUP BY c.r, o.s UNION ALL \
             SELECT c.r, NULL AS \"s\", sum(o.a) AS v FROM o JOIN c ON c.id = o.c GROUP BY c.r UNION ALL \
             SELECT NULL AS \"r\", NULL AS \"s\", sum(o.a) AS v FROM o JOIN c ON c.id = o.c"
        );
        let cube = expanded("SELECT a, b, count(*) AS n FROM t GROUP BY CUBE (a, b)").unwrap().unwrap();
        assert_eq!(cube.matches("UNION ALL").count(), 3);
        assert!(cube.contains("GROUP BY a, b UNION ALL SELECT a, NULL AS \"b\", count(*) AS n FROM t GROUP BY a UNION"));
        let mixed = expanded("SELECT d, a, count(*) AS n FROM t GROUP BY d, ROLLUP (a)").unwrap().unwrap();
        assert!(mixed.ends_with("SELECT d, NULL AS \"a\", count(*) AS n FROM t GROUP BY d"), "{mixed}");
        assert_eq!(expanded("SELECT a, count(*) FROM t GROUP BY a").unwrap(), None);
    }

    #[test]
    fn names_what_it_cannot_write_out() {
        for (q, expected) in [
            ("SELECT a, GROUPING(a) AS g, count(*) AS n FROM t GROUP BY ROLLUP (a)", "GROUPING()"),
            ("SELECT a, count(*) AS n FROM t GROUP BY ROLLUP (a) HAVING count(*) > 1", "HAVING"),
            ("SELECT a + 1, count(*) AS n FROM t GROUP BY ROLLUP (a + 1)", "name it with AS"),
            ("SELECT a, b, count(*) AS n FROM t GROUP BY ROLLUP (a)", "neither a grouping term"),
        ] {
            let got = expanded(q).unwrap_err();
            assert!(got.contains(expected), "{q}: {got}");
        }
    }
}
