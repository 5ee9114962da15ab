//! Queries whose result is recomputed whole, keyed by the empty key: an aggregate without GROUP BY (one row, none when
//! HAVING fails) and a top-k (`ORDER BY ... LIMIT n`, with OFFSET too). Any change of their sources may change any of
//! their rows, and their result is small, so a refresh recomputes it and writes the rows that differ.

use sqlparser::ast::{GroupByExpr, Query, SetExpr, Statement};
use sqlparser::dialect::DuckDbDialect;
use sqlparser::parser::Parser;

use super::aggregates::{is_aggregate_call, visit_functions};
use super::keys::parse_select;

/// What makes a query's result whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Whole {
    /// An aggregate without GROUP BY.
    OneRow,
    /// ORDER BY with LIMIT or FETCH on the whole result.
    TopK,
}

impl Whole {
    /// How a refresh keeps it, for `strategy_reason`.
    pub fn how(self) -> &'static str {
        match self {
            Whole::OneRow => "its one row (the empty key) is recomputed from the whole query",
            Whole::TopK => {
                "its rows (ORDER BY ... LIMIT, the empty key) are recomputed from the whole query and written where \
                 they differ"
            }
        }
    }

    /// What the query does that makes it whole, and what a change does, for `strategy_reason`.
    pub fn shape(self) -> &'static str {
        match self {
            Whole::OneRow => "aggregates without GROUP BY, so its one row (the empty key) is recomputed",
            Whole::TopK => {
                "keeps the first rows of an order (ORDER BY ... LIMIT), so its rows (the empty key) are recomputed"
            }
        }
    }
}

/// The query as the analysis reads it (CTEs in place), when it is one statement.
fn normalized(query: &str) -> Option<Query> {
    let statements = Parser::parse_sql(&DuckDbDialect {}, query).ok()?;
    let [Statement::Query(q)] = statements.as_slice() else { return None };
    let mut q: Query = (**q).clone();
    super::normalize::normalize(&mut q).ok()?;
    Some(q)
}

/// Why `query`'s result is recomputed whole, or None when it is not.
pub fn whole(query: &str) -> Option<Whole> {
    if one_row(query) {
        return Some(Whole::OneRow);
    }
    let q = normalized(query)?;
    // Without ORDER BY, a LIMIT keeps any n rows: a recomputation may keep others than the build did.
    let limited = q.limit_clause.is_some() || q.fetch.is_some();
    (limited && q.order_by.is_some() && !matches!(q.body.as_ref(), SetExpr::Values(_))).then_some(Whole::TopK)
}

/// The query with its CTEs written in place, as a whole recomputation runs it.
pub(super) fn recompute(query: &str) -> Option<String> {
    normalized(query).map(|q| q.to_string())
}

/// True when `query` aggregates without GROUP BY: it returns one row (none when HAVING fails), whose key is the
/// empty key, so any change of its sources recomputes that row and nothing else.
pub fn one_row(query: &str) -> bool {
    let Ok((_, select)) = parse_select(query) else { return false };
    let ungrouped = matches!(&select.group_by, GroupByExpr::Expressions(list, m) if list.is_empty() && m.is_empty());
    ungrouped && visit_functions(&select.projection, is_aggregate_call) && super::set_returning_call(query).is_none()
}

#[cfg(test)]
mod tests {
    use super::{whole, Whole};

    #[test]
    fn one_row_aggregates_and_top_k_are_recomputed_whole() {
        assert_eq!(whole("SELECT sum(x) AS s, count(*) AS n FROM t"), Some(Whole::OneRow));
        assert_eq!(whole("SELECT id, v FROM t ORDER BY v DESC LIMIT 3"), Some(Whole::TopK));
        assert_eq!(whole("SELECT i, j FROM t ORDER BY i, j LIMIT 3 OFFSET 1"), Some(Whole::TopK));
        assert_eq!(
            whole("WITH g AS (SELECT c, sum(x) AS s FROM t GROUP BY c) SELECT * FROM g ORDER BY s DESC LIMIT 5"),
            Some(Whole::TopK)
        );
        assert_eq!(whole("SELECT a FROM t UNION ALL SELECT a FROM u ORDER BY a LIMIT 2"), Some(Whole::TopK));
    }

    #[test]
    fn other_shapes_are_not() {
        for q in [
            "SELECT id, v FROM t LIMIT 3",
            "SELECT id, v FROM t ORDER BY v",
            "SELECT c, sum(x) AS s FROM t GROUP BY c",
            "SELECT sum(x) FROM t GROUP BY ROLLUP (c)",
            "SELECT unnest(xs) AS x, count(*) OVER () AS n FROM t",
            "SELECT a FROM t; SELECT b FROM t",
        ] {
            assert_eq!(whole(q), None, "{q}");
        }
    }
}
