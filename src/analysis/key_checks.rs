//! The query shapes a refresh by key can follow: a unique key that is a group or partition key (or the order of a
//! running total), or rows kept as they are; no subquery outside WHERE and the SELECT list; no key from the side of an outer join
//! that a change can turn to NULL.

use std::ops::ControlFlow;

use sqlparser::ast::{visit_expressions, Distinct, Expr, Function, GroupByExpr, JoinOperator, Select};

use super::aggregates::{is_aggregate_call, visit_functions};
use super::running::{check_placement, shape};

/// Every check, in the order a user would fix them.
pub fn check(select: &Select, keys: &[(Expr, usize)], unique_key: &[String]) -> Result<(), String> {
    check_subqueries(select, keys, unique_key)?;
    check_set_returning(keys, unique_key)?;
    check_grouping(select, keys, unique_key)?;
    check_distinct_on(select, keys, unique_key)?;
    check_windows(select, keys, unique_key)?;
    check_outer_joins(select, keys, unique_key)
}

pub fn column_name(expr: &Expr) -> Option<&str> {
    match expr {
        Expr::Identifier(i) => Some(&i.value),
        Expr::CompoundIdentifier(parts) => parts.last().map(|i| i.value.as_str()),
        _ => None,
    }
}

/// Same expression as written, where a bare column also matches the same column with a table prefix.
pub(super) fn same_expr(a: &Expr, b: &Expr) -> bool {
    let bare = |e: &Expr| matches!(e, Expr::Identifier(_));
    match (column_name(a), column_name(b)) {
        (Some(x), Some(y)) if bare(a) || bare(b) => x.eq_ignore_ascii_case(y),
        _ => a.to_string().eq_ignore_ascii_case(&b.to_string()),
    }
}

/// True when GROUP BY term `g` is the key expression `key` as written, or its position in the SELECT list.
pub(super) fn is_key_term(g: &Expr, key: &Expr, position: usize) -> bool {
    same_expr(g, key) || matches!(g, Expr::Value(v) if v.value.to_string() == position.to_string())
}

/// A key computed by `unnest(...)` is one of the rows made of an input row; the input row's own columns key them all.
fn check_set_returning(keys: &[(Expr, usize)], unique_key: &[String]) -> Result<(), String> {
    match keys.iter().zip(unique_key).find(|((expr, _), _)| super::calls_set_returning(expr)) {
        Some((_, name)) => Err(format!(
            "unique_key column \"{name}\" is made by a set-returning function (unnest, generate_series), whose rows of \
             one input row a change reaches together; key by the other columns, which each of those rows repeats"
        )),
        None => Ok(()),
    }
}

fn check_grouping(select: &Select, keys: &[(Expr, usize)], unique_key: &[String]) -> Result<(), String> {
    if let GroupByExpr::Expressions(list, modifiers) = &select.group_by {
        let sets = list.iter().find_map(|g| match g {
            Expr::Rollup(_) => Some("ROLLUP"),
            Expr::Cube(_) => Some("CUBE"),
            Expr::GroupingSets(_) => Some("GROUPING SETS"),
            _ => None,
        });
        if let Some(kind) =
            sets.or_else(|| (!modifiers.is_empty()).then_some("a grouping modifier (WITH ROLLUP, WITH CUBE)"))
        {
            return Err(format!(
                "its GROUP BY uses {kind}, whose subtotal rows every change reaches; write each grouping as a model of its own"
            ));
        }
    }
    let aggregated = visit_functions(&select.projection, is_aggregate_call) || select.having.is_some();
    // A constant key column (a subtotal branch's `NULL AS s`) is the same in every row of a group.
    for ((expr, position), name) in keys.iter().zip(unique_key).filter(|((e, _), _)| !matches!(e, Expr::Value(_))) {
        let grouped = match &select.group_by {
            GroupByExpr::All(_) => !visit_functions(expr, is_aggregate_call),
            GroupByExpr::Expressions(list, _) if list.is_empty() => !aggregated,
            GroupByExpr::Expressions(list, _) => list.iter().any(|g| {
                is_key_term(g, expr, *position) || column_name(g).is_some_and(|c| c.eq_ignore_ascii_case(name))
            }),
        };
        if !grouped {
            return Err(format!(
                "unique_key column \"{name}\" is not a GROUP BY key, so a change to one row can reach other keys' groups"
            ));
        }
    }
    Ok(())
}

fn check_windows(select: &Select, keys: &[(Expr, usize)], unique_key: &[String]) -> Result<(), String> {
    if !select.named_window.is_empty() {
        return Err("it names a window (WINDOW w AS ...); write the window in OVER (...)".into());
    }
    let mut problem = None;
    let mut unkeyed = |f: &Function| {
        problem = shape(f, keys, unique_key).err();
        problem.is_some()
    };
    let _ = visit_functions(&select.projection, &mut unkeyed) || visit_functions(&select.qualify, &mut unkeyed);
    match problem {
        Some(why) => Err(why),
        None => check_placement(select, keys, unique_key),
    }
}

/// A subquery in WHERE or in a SELECT item is followed through its correlation (subqueries.rs); one in a key
/// column, an ON, GROUP BY or HAVING gives a value that the keys themselves depend on, which a change of its table
/// moves without the discovery seeing where from.
fn check_subqueries(select: &Select, keys: &[(Expr, usize)], unique_key: &[String]) -> Result<(), String> {
    let holds = |e: &Expr| {
        visit_expressions(e, |e| match e {
            Expr::Subquery(_) | Expr::Exists { .. } | Expr::InSubquery { .. } => ControlFlow::Break(()),
            _ => ControlFlow::Continue(()),
        })
        .is_break()
    };
    if let Some(((_, _), name)) = keys.iter().zip(unique_key).find(|((e, _), _)| holds(e)) {
        return Err(format!(
            "unique_key column \"{name}\" is computed by a subquery, whose value a change of its table moves; key \
             the model by other columns or join the subquery's table in FROM"
        ));
    }
    let mut outside = select.clone();
    outside.selection = None;
    outside.projection.clear();
    match visit_expressions(&outside, |e| if holds(e) { ControlFlow::Break(()) } else { ControlFlow::Continue(()) }) {
        ControlFlow::Break(()) => Err("it has a subquery in an ON, GROUP BY or HAVING clause, whose value the keys \
                                       cannot follow; join its table in FROM or move the subquery into WHERE"
            .into()),
        ControlFlow::Continue(()) => Ok(()),
    }
}

/// `DISTINCT ON (a)` keeps one row per `a`: the keys must be among `a`.
fn check_distinct_on(select: &Select, keys: &[(Expr, usize)], unique_key: &[String]) -> Result<(), String> {
    let Some(Distinct::On(on)) = &select.distinct else { return Ok(()) };
    match keys.iter().zip(unique_key).find(|((e, _), _)| !on.iter().any(|o| same_expr(o, e))) {
        Some((_, name)) => Err(format!("unique_key column \"{name}\" is not a DISTINCT ON expression")),
        None => Ok(()),
    }
}

/// A key read from the nullable side of an outer join turns NULL when its row stops matching; the discovery finds that
/// NULL-extended key from the columns' table, so a bare column name, which cannot be placed on either side, must be
/// qualified.
fn check_outer_joins(select: &Select, keys: &[(Expr, usize)], unique_key: &[String]) -> Result<(), String> {
    match keys.iter().zip(unique_key).find(|((expr, _), _)| unplaced(select, expr)) {
        Some((_, name)) => Err(format!(
            "unique_key column \"{name}\": qualify its columns with their table's alias: with an outer join the \
             analysis must know which side they come from"
        )),
        None => Ok(()),
    }
}

/// True when `select` has an outer join and `expr` reads a bare column name, which cannot be placed on either side.
pub(super) fn unplaced(select: &Select, expr: &Expr) -> bool {
    let outer = |op: &JoinOperator| {
        matches!(
            op,
            JoinOperator::Left(_)
                | JoinOperator::LeftOuter(_)
                | JoinOperator::Right(_)
                | JoinOperator::RightOuter(_)
                | JoinOperator::FullOuter(_)
        )
    };
    let Some(from) = select.from.first() else { return false };
    from.joins.iter().any(|j| outer(&j.join_operator))
        && visit_expressions(expr, |e| match e {
            Expr::Identifier(_) => ControlFlow::Break(()),
            _ => ControlFlow::Continue(()),
        })
        .is_break()
}
