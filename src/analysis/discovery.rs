//! The keys a source's changed rows reach, whatever the query's filters say about their new version.
//!
//! A watermark source shows a changed row in its new version only: a row soft-deleted (`is_deleted = true`), moved
//! out of a `WHERE`, or moved to a dimension row that an `ON ... AND p.active` rejects passes no filter any more, yet
//! the key it left must be recomputed. So no filter decides which keys a changed row reaches:
//! - When every key expression reads only the changed table's columns, a row's key is a function of the row alone:
//!   the output rows of key k depend only on that table's rows with key k (the key check made sure of it), so the
//!   discovery is `SELECT DISTINCT <keys> FROM (<changed rows>) AS <alias>`, no joins and no filters. A key a row
//!   leaves by a change of the key's own columns is in reach only when the old version is among the changed rows
//!   (`'snapshot'`, `'changes'`).
//! - Otherwise a key comes from another table through the joins, which stay, each reduced to its equalities linking
//!   two tables (`p.id = o.p`, and USING); the WHERE keeps only such equalities too, so `CROSS JOIN ... WHERE a.x =
//!   b.y` stays a join. Every dropped condition only widens the rows joined, so the keys found are a superset. An
//!   equality kept is evaluated on the new versions: a row whose old version met it and whose new one does not is
//!   out of reach unless its old version is among the changed rows, the reason a watermark source's columns in such
//!   equalities must not change in place.
//!
//! Recomputing a key that no row reaches any more is exact: the key's rows are deleted and the query gives none.

use std::ops::ControlFlow;

use sqlparser::ast::{
    visit_expressions, visit_expressions_mut, BinaryOperator, Distinct, Expr, GroupByExpr, Ident, JoinConstraint,
    JoinOperator, Select, SelectItem, Statement, TableFactor, Value,
};

use super::keys::{render, replace_factor, SourceRows};

/// The alias each relation of the FROM clause answers to (lowercase): the one written, or the table's last name part.
fn aliases(select: &Select) -> Vec<String> {
    let Some(from) = select.from.first() else { return Vec::new() };
    std::iter::once(&from.relation)
        .chain(from.joins.iter().map(|j| &j.relation))
        .map(|factor| match factor {
            TableFactor::Table { name, alias, .. } => alias
                .as_ref()
                .map(|a| a.name.value.to_lowercase())
                .or_else(|| name.0.last().and_then(|p| p.as_ident()).map(|i| i.value.to_lowercase()))
                .unwrap_or_default(),
            TableFactor::Derived { alias: Some(alias), .. } | TableFactor::UNNEST { alias: Some(alias), .. } => {
                alias.name.value.to_lowercase()
            }
            _ => String::new(),
        })
        .collect()
}

/// The relation a column reference names by its qualifier (`o.c`, `o.s.field`, `main.o.c`), if any.
fn qualifier(parts: &[Ident], aliases: &[String]) -> Option<usize> {
    if parts.len() < 2 {
        return None;
    }
    let find = |p: &Ident| aliases.iter().position(|a| *a == p.value.to_lowercase());
    find(&parts[0]).or_else(|| find(&parts[parts.len() - 2]))
}

/// True when `expr` reads columns of relation `position` only: qualified with its alias first, or bare in a query of
/// one relation.
fn reads_only(expr: &Expr, position: usize, aliases: &[String]) -> bool {
    let alone = aliases.len() == 1;
    let own = |parts: &[Ident]| parts.first().is_some_and(|p| p.value.to_lowercase() == aliases[position]);
    let found = visit_expressions(expr, |e| match e {
        Expr::Identifier(_) if !alone => ControlFlow::Break(()),
        Expr::CompoundIdentifier(parts) if !alone && !own(parts) => ControlFlow::Break(()),
        _ => ControlFlow::Continue(()),
    });
    found.is_continue()
}

/// The relations a condition's qualified columns name, each once.
fn relations_read(expr: &Expr, aliases: &[String]) -> Vec<usize> {
    let mut read = Vec::new();
    let _ = visit_expressions(expr, |e| {
        if let Expr::CompoundIdentifier(parts) = e {
            if let Some(i) = qualifier(parts, aliases).filter(|i| !read.contains(i)) {
                read.push(i);
            }
        }
        ControlFlow::<()>::Continue(())
    });
    read
}

pub(super) fn conjuncts(expr: &Expr, out: &mut Vec<Expr>) {
    match expr {
        Expr::BinaryOp { left, op: BinaryOperator::And, right } => {
            conjuncts(left, out);
            conjuncts(right, out);
        }
        Expr::Nested(inner) => conjuncts(inner, out),
        other => out.push(other.clone()),
    }
}

/// The conjuncts of `expr` that are equalities reading columns of two relations or more (`p.id = o.p`), AND-ed
/// again; None when there is none. Other conditions between tables (`o.ts < p.valid_to`) are left out too: they
/// would add their columns to those a watermark source must not change in place, and the equalities bound the rows
/// joined as well.
fn linking(expr: &Expr, aliases: &[String]) -> Option<Expr> {
    let mut all = Vec::new();
    conjuncts(expr, &mut all);
    let equality = |c: &Expr| {
        matches!(c, Expr::BinaryOp { op: BinaryOperator::Eq, .. } | Expr::IsNotDistinctFrom(..))
            && relations_read(c, aliases).len() >= 2
    };
    all.into_iter().filter(equality).reduce(|left, right| Expr::BinaryOp {
        left: Box::new(left),
        op: BinaryOperator::And,
        right: Box::new(right),
    })
}

/// The relations that turn NULL-extended when a row of the relation at `position` stops (or starts) matching: it,
/// when an outer join can NULL-extend its partners (LEFT or FULL JOIN bringing it in; RIGHT or FULL JOIN after it
/// as the first), and every later LEFT-joined relation whose ON reads one of those.
fn nulled_with(select: &Select, position: usize, aliases: &[String]) -> Vec<usize> {
    let Some(from) = select.from.first() else { return Vec::new() };
    let operator = |i: usize| &from.joins[i - 1].join_operator;
    let nullable = match position {
        0 => from.joins.first().is_some_and(|j| {
            matches!(j.join_operator, JoinOperator::Right(_) | JoinOperator::RightOuter(_) | JoinOperator::FullOuter(_))
        }),
        p => matches!(operator(p), JoinOperator::Left(_) | JoinOperator::LeftOuter(_) | JoinOperator::FullOuter(_)),
    };
    if !nullable {
        return Vec::new();
    }
    let mut nulled = vec![position];
    for i in position + 1..aliases.len() {
        let on = match operator(i) {
            JoinOperator::Left(JoinConstraint::On(on)) | JoinOperator::LeftOuter(JoinConstraint::On(on)) => on,
            _ => continue,
        };
        if relations_read(on, aliases).iter().any(|r| nulled.contains(r)) {
            nulled.push(i);
        }
    }
    nulled
}

/// The join operator that keeps, of the rows `op` makes, those holding a row of the changed relation (on the right
/// of `op` when `changed_right`, else on its left), plus at most rows that only widen the keys found.
fn keeping_changed(op: &JoinOperator, changed_right: bool) -> Option<JoinOperator> {
    use JoinOperator::*;
    match (op, changed_right) {
        (Left(c) | LeftOuter(c), true) | (Right(c) | RightOuter(c), false) => Some(Inner(c.clone())),
        (FullOuter(c), true) => Some(Right(c.clone())),
        (FullOuter(c), false) => Some(Left(c.clone())),
        // The rows a SEMI or ANTI JOIN keeps or drops are those joining the changed row, whichever way it decides.
        (Semi(c) | LeftSemi(c) | Anti(c) | LeftAnti(c), true) => Some(Inner(c.clone())),
        _ => None,
    }
}

/// `expr` with every column of the `nulled` relations read as NULL: the key of a NULL-extended row.
fn null_extended(expr: &Expr, nulled: &[usize], aliases: &[String]) -> Expr {
    let mut e = expr.clone();
    let _ = visit_expressions_mut(&mut e, |e| {
        if let Expr::CompoundIdentifier(parts) = e {
            if qualifier(parts, aliases).is_some_and(|i| nulled.contains(&i)) {
                *e = Expr::Value(Value::Null.into());
            }
        }
        ControlFlow::<()>::Continue(())
    });
    e
}

/// The FROM and WHERE of a discovery through the joins: the relation at `position` read as its changed rows, the
/// others as they are (or widened by their old versions), each condition reduced to its equalities linking tables.
fn through_joins(
    s: &mut Select,
    tables: &[String],
    rows: &[&SourceRows],
    position: usize,
    aliases: &[String],
) -> Result<(), String> {
    for (other, other_name) in tables.iter().enumerate().filter(|(other, _)| *other != position) {
        if let Some(widened) = &rows[other].widened {
            replace_factor(s, other, other_name, widened)?;
        }
    }
    for (i, join) in s.from[0].joins.iter_mut().enumerate() {
        // Only rows that join a changed row matter: an outer join must not bring every other row in. A RIGHT or
        // FULL JOIN is the only join (keys.rs), so the changed relation is on one of its two sides.
        if i + 1 == position || (position == 0 && i == 0) {
            if let Some(op) = keeping_changed(&join.join_operator, i + 1 == position) {
                join.join_operator = op;
            }
        }
        if let JoinOperator::Join(JoinConstraint::On(on))
        | JoinOperator::Inner(JoinConstraint::On(on))
        | JoinOperator::Left(JoinConstraint::On(on))
        | JoinOperator::LeftOuter(JoinConstraint::On(on))
        | JoinOperator::Right(JoinConstraint::On(on))
        | JoinOperator::RightOuter(JoinConstraint::On(on))
        | JoinOperator::FullOuter(JoinConstraint::On(on))
        | JoinOperator::CrossJoin(JoinConstraint::On(on)) = &mut join.join_operator
        {
            *on = linking(on, aliases).unwrap_or(Expr::Value(Value::Boolean(true).into()));
        }
    }
    // Another relation's SEMI or ANTI JOIN only filters the rows, and its columns are not read after it.
    s.from[0].joins.retain(|j| !semi_or_anti(&j.join_operator));
    s.selection = s.selection.as_ref().and_then(|w| linking(w, aliases));
    Ok(())
}

pub(super) fn semi_or_anti(op: &JoinOperator) -> bool {
    matches!(op, JoinOperator::Semi(_) | JoinOperator::LeftSemi(_) | JoinOperator::Anti(_) | JoinOperator::LeftAnti(_))
}

/// The discovery of a table read in a WHERE subquery: the keys of the outer rows meeting `reached` (the condition
/// that a changed row of the table correlates with them, see subqueries.rs), over the FROM as the joins'
/// discoveries read it, every relation widened by its old versions.
pub(super) fn through_subquery(
    statement: &Statement,
    select: &Select,
    tables: &[String],
    rows: &[&SourceRows],
    reached: Expr,
    keys: &[(Expr, usize)],
    unique_key: &[String],
) -> Result<String, String> {
    let mut s = select.clone();
    through_joins(&mut s, tables, rows, usize::MAX, &aliases(select))?;
    s.selection = Some(match s.selection.take() {
        Some(linked) => Expr::BinaryOp { left: Box::new(linked), op: BinaryOperator::And, right: Box::new(reached) },
        None => reached,
    });
    let exprs: Vec<Expr> = keys.iter().map(|(e, _)| e.clone()).collect();
    Ok(select_keys(statement, s, &exprs, unique_key))
}

/// `s` as `SELECT DISTINCT <keys>`, named like the unique key columns.
fn select_keys(statement: &Statement, mut s: Select, keys: &[Expr], unique_key: &[String]) -> String {
    s.projection = keys
        .iter()
        .zip(unique_key)
        .map(|(e, k)| SelectItem::ExprWithAlias { expr: e.clone(), alias: k.as_str().into() })
        .collect();
    s.distinct = Some(Distinct::Distinct);
    s.group_by = GroupByExpr::Expressions(Vec::new(), Vec::new());
    s.having = None;
    s.qualify = None;
    render(statement, s)
}

/// The discovery of the relation at `position` of the FROM clause (named `tables[position]`, its rows `rows[position]`):
/// the distinct key values, named like the unique key columns, its changed rows reach. A changed row of a LEFT
/// JOIN's nullable side also reaches the keys of the rows it joins as they read without it (NULL-extended): the key
/// they leave when it starts matching, or enter when it stops.
pub(super) fn discovery(
    statement: &Statement,
    select: &Select,
    tables: &[String],
    rows: &[&SourceRows],
    position: usize,
    keys: &[(Expr, usize)],
    unique_key: &[String],
) -> Result<String, String> {
    let aliases = aliases(select);
    let mut s = select.clone();
    replace_factor(&mut s, position, &tables[position], &rows[position].changed)?;
    let joined = || -> Result<Select, String> {
        let mut joined = s.clone();
        through_joins(&mut joined, tables, rows, position, &aliases)?;
        Ok(joined)
    };
    let exprs: Vec<Expr> = keys.iter().map(|(e, _)| e.clone()).collect();
    let nulled = nulled_with(select, position, &aliases);
    let extended: Vec<Expr> = exprs.iter().map(|e| null_extended(e, &nulled, &aliases)).collect();
    let also_extended = match extended != exprs {
        true => Some(select_keys(statement, joined()?, &extended, unique_key)),
        false => None,
    };
    let found = if keys.iter().all(|(e, _)| reads_only(e, position, &aliases)) {
        let from = &mut s.from[0];
        if position > 0 {
            from.relation = from.joins[position - 1].relation.clone();
        }
        from.joins.clear();
        s.selection = None;
        select_keys(statement, s, &exprs, unique_key)
    } else {
        select_keys(statement, joined()?, &exprs, unique_key)
    };
    Ok(match also_extended {
        Some(extended) => format!("{found}\nUNION\n{extended}"),
        None => found,
    })
}
