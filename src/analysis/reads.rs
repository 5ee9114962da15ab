//! Which source columns a query may read, by name: enough to tell a change to a column the query never names from
//! one that changes its result.

use std::collections::BTreeSet;
use std::ops::ControlFlow;

use sqlparser::ast::{Expr, Ident, JoinConstraint, JoinOperator, Select, SelectItem, TableFactor, Visit, Visitor};
use sqlparser::dialect::DuckDbDialect;
use sqlparser::parser::Parser;

/// The columns a query may read. Over-approximate by design: a name is read when any identifier of the query
/// spells it (an alias or function name included), since taking an unread column for a read one only costs a
/// rebuild, and the reverse would keep a wrong table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadColumns {
    /// A `*`, a `COLUMNS(...)`, a NATURAL join or a whole-row reference: every column may matter.
    All,
    /// Lowercased identifiers of the query.
    Names(BTreeSet<String>),
}

impl ReadColumns {
    pub fn reads(&self, column: &str) -> bool {
        match self {
            ReadColumns::All => true,
            ReadColumns::Names(names) => names.contains(&column.to_lowercase()),
        }
    }
}

#[derive(Default)]
struct Collect {
    all: bool,
    idents: BTreeSet<String>,
    relations: BTreeSet<String>,
    bare: Vec<String>,
}

fn natural(op: &JoinOperator) -> bool {
    use JoinOperator::*;
    match op {
        Join(c) | Inner(c) | Left(c) | LeftOuter(c) | Right(c) | RightOuter(c) | FullOuter(c) | CrossJoin(c)
        | Semi(c) | LeftSemi(c) | RightSemi(c) | Anti(c) | LeftAnti(c) | RightAnti(c) | StraightJoin(c) => {
            matches!(c, JoinConstraint::Natural)
        }
        AsOf { constraint, .. } => matches!(constraint, JoinConstraint::Natural),
        _ => false,
    }
}

impl Visitor for Collect {
    type Break = ();

    fn pre_visit_select(&mut self, select: &Select) -> ControlFlow<()> {
        let star = select
            .projection
            .iter()
            .any(|item| matches!(item, SelectItem::Wildcard(_) | SelectItem::QualifiedWildcard(_, _)));
        let natural = select.from.iter().flat_map(|t| &t.joins).any(|j| natural(&j.join_operator));
        self.all |= star || natural;
        ControlFlow::Continue(())
    }

    fn pre_visit_table_factor(&mut self, factor: &TableFactor) -> ControlFlow<()> {
        if let TableFactor::Table { name, alias, .. } = factor {
            if let Some(last) = name.0.last().and_then(|p| p.as_ident()) {
                self.relations.insert(last.value.to_lowercase());
            }
            if let Some(alias) = alias {
                self.relations.insert(alias.name.value.to_lowercase());
            }
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_expr(&mut self, expr: &Expr) -> ControlFlow<()> {
        match expr {
            Expr::Identifier(id) => self.bare.push(id.value.to_lowercase()),
            Expr::Wildcard(_) | Expr::QualifiedWildcard(_, _) => self.all = true,
            _ => {}
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_ident(&mut self, ident: &Ident) -> ControlFlow<()> {
        self.idents.insert(ident.value.to_lowercase());
        ControlFlow::Continue(())
    }
}

/// The columns `query` may read; a query the analysis cannot read reads them all.
pub fn read_columns(query: &str) -> ReadColumns {
    let Ok(statements) = Parser::parse_sql(&DuckDbDialect {}, query) else {
        return ReadColumns::All;
    };
    let mut c = Collect::default();
    let _ = statements.visit(&mut c);
    // `SELECT o FROM orders o` reads the whole row as a struct; COLUMNS(...) selects columns by pattern.
    let whole_row = c.bare.iter().any(|b| c.relations.contains(b));
    if c.all || whole_row || c.idents.contains("columns") {
        return ReadColumns::All;
    }
    ReadColumns::Names(c.idents)
}

#[cfg(test)]
mod tests {
    use super::{read_columns, ReadColumns};

    #[test]
    fn names_the_identifiers_of_the_query() {
        let r = read_columns("SELECT o.k, sum(amt) AS total FROM orders o JOIN p USING (pid) WHERE x > 1 GROUP BY o.k");
        for read in ["k", "amt", "pid", "x", "total", "o", "orders"] {
            assert!(r.reads(read), "{read}");
        }
        assert!(r.reads("AMT"));
        assert!(!r.reads("note"));
        assert!(!read_columns("SELECT k, count(*) AS n FROM t GROUP BY k").reads("v"));
    }

    #[test]
    fn stars_natural_joins_and_whole_rows_read_everything() {
        for q in [
            "SELECT * FROM t",
            "SELECT t.* FROM t",
            "SELECT * EXCLUDE (v) FROM t",
            "SELECT k FROM t NATURAL JOIN u",
            "SELECT k, COLUMNS('v.*') FROM t",
            "SELECT k, o FROM orders o",
            "SELECT k FROM t WHERE k IN (SELECT * FROM u)",
            "not sql",
        ] {
            assert_eq!(read_columns(q), ReadColumns::All, "{q}");
        }
    }
}
