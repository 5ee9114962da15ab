//! Latest-row-per-key queries, `... QUALIFY row_number() OVER (PARTITION BY k ORDER BY t DESC) = 1`: a filter
//! `t >= x` may run before the window function, since each key's newest row passes it exactly when the key has any
//! row that does. DuckDB cannot move it there itself, so the analysis rewrites the query.

use sqlparser::ast::{
    BinaryOperator, Expr, FunctionArguments, GroupByExpr, OrderBySort, SelectItem, SetExpr, Statement, TableFactor,
    Value, WindowSpec, WindowType,
};
use sqlparser::dialect::DuckDbDialect;
use sqlparser::parser::Parser;

use crate::quote::ident;

fn column_name(expr: &Expr) -> Option<&str> {
    match expr {
        Expr::Identifier(i) => Some(&i.value),
        Expr::CompoundIdentifier(parts) => parts.last().map(|i| i.value.as_str()),
        _ => None,
    }
}

/// The source column an output column is, when it is one unchanged (named, aliased, or passed by `*`).
fn source_of(projection: &[SelectItem], output: &str) -> Option<String> {
    let same = |a: &str| a.eq_ignore_ascii_case(output);
    let named = projection.iter().find_map(|item| match item {
        SelectItem::UnnamedExpr(e) => column_name(e).filter(|c| same(c)),
        SelectItem::ExprWithAlias { expr, alias } if same(&alias.value) => column_name(expr),
        _ => None,
    });
    let star =
        projection.iter().any(|item| matches!(item, SelectItem::Wildcard(_) | SelectItem::QualifiedWildcard(..)));
    named.map(str::to_string).or_else(|| star.then(|| output.to_string()))
}

/// The window of a `row_number() OVER (...) = 1` filter: one row per partition.
pub(super) fn first_row_window(qualify: &Expr) -> Option<&WindowSpec> {
    let Expr::BinaryOp { left, op: BinaryOperator::Eq, right } = qualify else { return None };
    let is_one = matches!(right.as_ref(), Expr::Value(v) if matches!(&v.value, Value::Number(n, _) if n == "1"));
    let Expr::Function(f) = left.as_ref() else { return None };
    let no_args = match &f.args {
        FunctionArguments::None => true,
        FunctionArguments::List(l) => l.args.is_empty(),
        FunctionArguments::Subquery(_) => false,
    };
    if !is_one || !no_args || !f.name.to_string().eq_ignore_ascii_case("row_number") {
        return None;
    }
    let Some(WindowType::WindowSpec(spec)) = &f.over else { return None };
    Some(spec)
}

/// The column the dedup keeps the newest row of: `row_number() OVER (... ORDER BY c DESC ...) = 1`.
fn newest_by(qualify: &Expr) -> Option<&str> {
    let first = first_row_window(qualify)?.order_by.first()?;
    (first.options.sort == Some(OrderBySort::Desc)).then(|| column_name(&first.expr)).flatten()
}

/// The query with `time_column op bound` moved below its latest-row dedup, when the dedup orders by the column the
/// time column comes from; None for any other query.
pub fn push_below_dedup(query: &str, time_column: &str, op: &str, bound: &str) -> Option<String> {
    let mut statements = Parser::parse_sql(&DuckDbDialect {}, query).ok()?;
    let [Statement::Query(q)] = statements.as_mut_slice() else { return None };
    if q.with.is_some() || q.order_by.is_some() || q.limit_clause.is_some() || q.fetch.is_some() {
        return None;
    }
    let SetExpr::Select(select) = q.body.as_mut() else { return None };
    let single_table = matches!(select.from.as_slice(), [t] if t.joins.is_empty() && matches!(t.relation, TableFactor::Table { args: None, .. }));
    let grouped = !matches!(&select.group_by, GroupByExpr::Expressions(e, m) if e.is_empty() && m.is_empty());
    if !single_table || grouped || select.having.is_some() || select.distinct.is_some() {
        return None;
    }
    let column = source_of(&select.projection, time_column)?;
    let ordered_by = newest_by(select.qualify.as_ref()?)?;
    if !ordered_by.eq_ignore_ascii_case(&column)
        || super::aggregates::visit_functions(&select.projection, |f| f.over.is_some())
    {
        return None;
    }
    super::and_where(select, &format!("{} {op} {bound}", ident(&column))).ok()?;
    Some(statements[0].to_string())
}

#[cfg(test)]
mod tests {
    use super::push_below_dedup;

    const BOUND: &str = "CAST('2024-03-01' AS TIMESTAMP)";

    #[test]
    fn pushes_the_window_below_a_dedup_ordered_by_the_time_column() {
        let q = "SELECT id, v, updated_at AS ts FROM raw WHERE v > 0 QUALIFY row_number() OVER (PARTITION BY id ORDER BY updated_at DESC) = 1";
        assert_eq!(
            push_below_dedup(q, "ts", ">=", BOUND).unwrap(),
            "SELECT id, v, updated_at AS ts FROM raw WHERE (v > 0) AND \"updated_at\" >= CAST('2024-03-01' AS TIMESTAMP) QUALIFY row_number() OVER (PARTITION BY id ORDER BY updated_at DESC) = 1"
        );
        let q = "SELECT r.id, r.updated_at FROM raw r QUALIFY row_number() OVER (PARTITION BY r.id ORDER BY r.updated_at DESC, r.v) = 1";
        assert!(push_below_dedup(q, "updated_at", ">=", BOUND).is_some());
        let q = "SELECT * FROM raw QUALIFY row_number() OVER (PARTITION BY id ORDER BY updated_at DESC) = 1";
        assert!(push_below_dedup(q, "updated_at", ">", BOUND).unwrap().contains("WHERE \"updated_at\" > CAST"));
    }

    #[test]
    fn leaves_other_queries_alone() {
        let none = |q: &str| push_below_dedup(q, "updated_at", ">=", BOUND).is_none();
        // ordered by another column, ascending, or not a latest-row filter
        assert!(none(
            "SELECT id, updated_at FROM raw QUALIFY row_number() OVER (PARTITION BY id ORDER BY version DESC) = 1"
        ));
        assert!(none(
            "SELECT id, updated_at FROM raw QUALIFY row_number() OVER (PARTITION BY id ORDER BY updated_at) = 1"
        ));
        assert!(none(
            "SELECT id, updated_at FROM raw QUALIFY row_number() OVER (PARTITION BY id ORDER BY updated_at DESC) = 2"
        ));
        // the time column is computed, the query joins, groups, or has another window function
        assert!(none("SELECT id, updated_at + 1 AS updated_at FROM raw QUALIFY row_number() OVER (PARTITION BY id ORDER BY updated_at DESC) = 1"));
        assert!(none("SELECT r.id, r.updated_at FROM raw r JOIN d ON r.id = d.id QUALIFY row_number() OVER (PARTITION BY r.id ORDER BY r.updated_at DESC) = 1"));
        assert!(none("SELECT id, max(updated_at) AS updated_at FROM raw GROUP BY id QUALIFY row_number() OVER (PARTITION BY id ORDER BY updated_at DESC) = 1"));
        assert!(none("SELECT id, updated_at, sum(v) OVER (PARTITION BY id) AS s FROM raw QUALIFY row_number() OVER (PARTITION BY id ORDER BY updated_at DESC) = 1"));
        assert!(none("SELECT id, updated_at FROM raw"));
    }
}
