//! Reads a model's SQL without DuckDB: which relations it reads, and rewrites it where a filter can go deeper.

mod aggregates;
mod dedup;
mod derived;
mod discovery;
mod fold;
mod grouping;
mod key_checks;
mod keys;
mod normalize;
mod reads;
mod rows;
mod running;
pub mod statement;
mod subqueries;
mod union;
mod unique;
mod whole;

pub use dedup::push_below_dedup;
pub use fold::{fold, Agg, Fold};
pub use keys::{keyed, KeyedQuery, SourceRows};
pub use reads::{read_columns, ReadColumns};
pub use rows::{key_rows_repeat, partition_key, row_key, why_no_key};
pub use running::{running, Combine, Running};
pub use unique::{inferred_key, unique_by_shape};
pub use whole::{whole, Whole};

use std::ops::ControlFlow;

use sqlparser::ast::{
    visit_expressions, BinaryOperator, Expr, ObjectName, Query, Select, SetExpr, Statement, TableFactor, Visit, Visitor,
};
use sqlparser::dialect::DuckDbDialect;
use sqlparser::parser::Parser;

use crate::error::{Error, Result};

/// Adds `filter` (SQL text) to the WHERE clause of `select`, AND-ed with what is there.
fn and_where(select: &mut Select, filter: &str) -> std::result::Result<(), String> {
    let filter = Parser::new(&DuckDbDialect {})
        .try_with_sql(filter)
        .and_then(|mut p| p.parse_expr())
        .map_err(|e| e.to_string())?;
    select.selection = Some(match select.selection.take() {
        Some(existing) => Expr::BinaryOp {
            left: Box::new(Expr::Nested(Box::new(existing))),
            op: BinaryOperator::And,
            right: Box::new(filter),
        },
        None => filter,
    });
    Ok(())
}

/// A relation the query reads, as written: its name parts, unquoted.
pub type RelationName = Vec<String>;

fn cte_names(query: &Query, out: &mut Vec<String>) {
    if let Some(with) = &query.with {
        for cte in &with.cte_tables {
            out.push(cte.alias.name.value.to_lowercase());
            cte_names(&cte.query, out);
        }
    }
    if let SetExpr::Query(inner) = query.body.as_ref() {
        cte_names(inner, out);
    }
}

/// A relation's name parts as written, unquoted.
fn name_parts(name: &ObjectName) -> RelationName {
    name.0.iter().filter_map(|p| p.as_ident().map(|i| i.value.clone())).collect()
}

/// The tables and views the query reads, each once, in order of appearance; names of its CTEs are left out.
pub fn source_relations(model: &str, query: &str) -> Result<Vec<RelationName>> {
    let statements = Parser::parse_sql(&DuckDbDialect {}, query).map_err(|e| Error::BadQuery {
        model: model.to_string(),
        detail: format!(
            "the extension cannot read its SQL ({e}); write it in the common SQL that sqlparser's DuckDB dialect reads"
        ),
    })?;
    // With its CTEs written in place (innermost first), a name reads the table it means in its scope; a WITH
    // RECURSIVE cannot be, so its CTE names are left out instead.
    let mut statements = statements;
    let mut ctes = Vec::new();
    for statement in &mut statements {
        if let Statement::Query(q) = statement {
            if normalize::inline_all(q).is_err() {
                cte_names(q, &mut ctes);
            }
        }
    }
    let mut tables = Tables { ctes, found: Vec::new() };
    let _ = statements.visit(&mut tables);
    Ok(tables.found)
}

/// Collects the relations of table factors; a set-returning function called in FROM (`unnest(xs) AS u(x)`) makes
/// rows and reads none.
struct Tables {
    ctes: Vec<String>,
    found: Vec<RelationName>,
}

impl Visitor for Tables {
    type Break = ();

    fn pre_visit_table_factor(&mut self, factor: &TableFactor) -> ControlFlow<()> {
        if let TableFactor::Table { name, args, .. } = factor {
            let parts = name_parts(name);
            let is_cte = parts.len() == 1 && self.ctes.contains(&parts[0].to_lowercase());
            let generator = args.is_some() && is_set_returning_name(name);
            if !is_cte && !generator && !parts.is_empty() && !self.found.contains(&parts) {
                self.found.push(parts);
            }
        }
        ControlFlow::Continue(())
    }
}

fn is_set_returning_name(name: &ObjectName) -> bool {
    let last = name.0.last().map(|p| p.to_string().to_lowercase()).unwrap_or_default();
    SET_RETURNING.contains(&last.trim_matches('"'))
}

/// True when a relation of FROM makes rows of the ones before it and reads no table: a set-returning function
/// (`unnest(s.tags) AS u(tag)`, `generate_series(1, w.n)`) or a LATERAL subquery over such functions alone. Each
/// row it makes depends on the row it is joined to alone, so it follows that row's key.
fn is_generator(factor: &TableFactor) -> bool {
    match factor {
        TableFactor::Table { name, args: Some(_), .. } => is_set_returning_name(name),
        TableFactor::UNNEST { .. } => true,
        TableFactor::Derived { lateral: true, subquery, .. } => {
            source_relations("", &subquery.to_string()).is_ok_and(|found| found.is_empty())
        }
        _ => false,
    }
}

/// Functions that return several rows per input row when called in a SELECT list.
const SET_RETURNING: [&str; 4] = ["unnest", "generate_series", "range", "generate_subscripts"];

/// True when `expr` calls a set-returning function: its value is one of several rows made of one input row.
fn calls_set_returning(expr: &Expr) -> bool {
    let found = visit_expressions(expr, |e| match e {
        Expr::Function(f) if is_set_returning(f) => ControlFlow::Break(()),
        _ => ControlFlow::Continue(()),
    });
    found.is_break()
}

fn is_set_returning(f: &sqlparser::ast::Function) -> bool {
    is_set_returning_name(&f.name)
}

/// The first set-returning function the query's SELECT lists call (`unnest(tags)`): rows of one input row then
/// share everything but that column, which plans that match rows by key or time window cannot follow.
pub fn set_returning_call(query: &str) -> Option<String> {
    let statements = Parser::parse_sql(&DuckDbDialect {}, query).ok()?;
    let mut found = None;
    let _ = visit_expressions(&statements, |e| {
        if let Expr::Function(f) = e {
            if is_set_returning(f) {
                found = f.name.0.last().map(|p| p.to_string().to_lowercase());
                return ControlFlow::Break(());
            }
        }
        ControlFlow::Continue(())
    });
    found
}

/// True when the query computes a window function (`OVER`, `QUALIFY`): a filter on its output cannot reach its source
/// below it. A query the analysis cannot read counts as having one.
pub fn has_window_function(query: &str) -> bool {
    let Ok(statements) = Parser::parse_sql(&DuckDbDialect {}, query) else {
        return true;
    };
    aggregates::visit_functions(&statements, |f| f.over.is_some()) || query.to_ascii_uppercase().contains("QUALIFY")
}

#[cfg(test)]
mod tests {
    use super::{has_window_function, source_relations};

    #[test]
    fn finds_window_functions() {
        assert!(has_window_function("SELECT a, sum(b) OVER (PARTITION BY a) FROM t"));
        assert!(has_window_function("SELECT * FROM (SELECT a, row_number() OVER () AS rn FROM t) WHERE rn = 1"));
        assert!(!has_window_function("SELECT d, sum(v) FROM t JOIN u USING (k) WHERE x > 1 GROUP BY d"));
    }

    fn names(q: &str) -> Vec<String> {
        source_relations("m", q).unwrap().into_iter().map(|p| p.join(".")).collect()
    }

    #[test]
    fn finds_tables_in_joins_subqueries_and_set_operations() {
        assert_eq!(
            names("SELECT o.c, p.n FROM orders o JOIN lake.main.products p ON o.p = p.id GROUP BY ALL"),
            vec!["orders", "lake.main.products"]
        );
        assert_eq!(
            names("SELECT a FROM t1 UNION ALL SELECT a FROM t2 WHERE EXISTS (SELECT 1 FROM t3)"),
            vec!["t1", "t2", "t3"]
        );
        assert_eq!(names("SELECT * FROM \"my schema\".\"t x\""), vec!["my schema.t x"]);
        assert_eq!(names("SELECT a FROM t QUALIFY row_number() OVER (PARTITION BY a ORDER BY b) = 1"), vec!["t"]);
        assert_eq!(names("FROM t SELECT a"), vec!["t"]);
    }

    #[test]
    fn leaves_out_ctes_and_repeats() {
        assert_eq!(
            names("WITH x AS (SELECT * FROM a) SELECT * FROM x JOIN a USING (id) JOIN x y USING (id)"),
            vec!["a"]
        );
        assert_eq!(
            names("WITH b AS (SELECT * FROM t) SELECT * FROM (WITH a AS (SELECT * FROM u) SELECT * FROM a, b)"),
            vec!["u", "t"]
        );
    }
}
