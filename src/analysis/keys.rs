//! Which output rows a change in one source can reach: the query's unique key must be a group key (GROUP BY) or a
//! partition key (every window's PARTITION BY), or the query must keep rows as they are; then the rows of a key depend
//! only on source rows with that key, and filtering the sources by key gives exactly those output rows.

use sqlparser::ast::{
    Distinct, Expr, GroupByExpr, JoinOperator, Query, Select, SelectItem, SetExpr, Statement, TableFactor,
};
use sqlparser::dialect::DuckDbDialect;
use sqlparser::parser::Parser;

use super::key_checks::column_name;
use crate::quote::ident;

/// A source as the analysis sees it: its name as declared, the query of its changed rows, and, when those rows hold
/// old versions too, the query of its current rows with those old versions added.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceRows {
    pub name: String,
    pub changed: String,
    /// Old versions of a row that another source's change joins may be gone from the table (both sides changed in
    /// one interval): key discovery joins with this instead of the table, so the keys they reached are found.
    pub widened: Option<String>,
}

impl SourceRows {
    /// The source with the whole relation standing for its changed rows: enough to check that a query is keyed.
    pub fn whole(name: &str, relation_sql: &str) -> SourceRows {
        SourceRows { name: name.to_string(), changed: format!("SELECT * FROM {relation_sql}"), widened: None }
    }
}

/// The SQL a refresh by keys runs, rendered from the model's query.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyedQuery {
    /// Per table in the FROM clause, in order: the keys its changed rows reach, as `SELECT DISTINCT` of the key
    /// expressions named like the unique key columns.
    pub discoveries: Vec<String>,
    /// The query restricted to the keys in the keys table (whose columns are named like the unique key).
    pub restricted: String,
}

pub(super) fn parse_select(query: &str) -> Result<(Statement, Select), String> {
    let statements =
        Parser::parse_sql(&DuckDbDialect {}, query).map_err(|e| format!("its SQL does not parse ({e})"))?;
    let [statement @ Statement::Query(q)] = statements.as_slice() else {
        return Err("it is not a single SELECT".into());
    };
    let q: &Query = q;
    if q.with.is_some() {
        return Err("it has a WITH clause; write the CTE as a model of its own".into());
    }
    if q.order_by.is_some() || q.limit_clause.is_some() || q.fetch.is_some() {
        return Err("it has ORDER BY, LIMIT or FETCH on the whole result".into());
    }
    match q.body.as_ref() {
        SetExpr::Select(select) => Ok((statement.clone(), (**select).clone())),
        _ => Err("it combines results (UNION, INTERSECT, EXCEPT or VALUES)".into()),
    }
}

/// The expression behind each unique key column, and its position in the SELECT list (1-based).
pub(super) fn key_exprs(select: &Select, unique_key: &[String]) -> Result<Vec<(Expr, usize)>, String> {
    let single_table = select.from.len() == 1 && select.from[0].joins.is_empty();
    unique_key
        .iter()
        .map(|key| {
            let same = |name: &str| name.eq_ignore_ascii_case(key);
            let found = select.projection.iter().enumerate().find_map(|(i, item)| match item {
                SelectItem::ExprWithAlias { expr, alias } if same(&alias.value) => Some((expr.clone(), i + 1)),
                SelectItem::UnnamedExpr(e) if column_name(e).is_some_and(same) => Some((e.clone(), i + 1)),
                _ => None,
            });
            let star = select.projection.iter().any(|i| matches!(i, SelectItem::Wildcard(_)));
            found.or_else(|| (star && single_table).then(|| (Expr::Identifier(key.as_str().into()), 0))).ok_or_else(
                || format!("unique_key column \"{key}\" is not a named item of its SELECT list (name it with AS)"),
            )
        })
        .collect()
}

/// The relations of the FROM clause in order, named as written (lowercase); only tables joined by INNER, LEFT or CROSS.
fn from_tables(select: &Select) -> Result<Vec<String>, String> {
    let [from] = select.from.as_slice() else {
        return Err("its FROM lists several tables with commas; join them with JOIN ... ON".into());
    };
    let mut names = Vec::new();
    let factors = std::iter::once(&from.relation).chain(from.joins.iter().map(|j| &j.relation));
    for factor in factors {
        match factor {
            TableFactor::Table { name, args: None, .. } => names.push(super::name_parts(name).join(".").to_lowercase()),
            TableFactor::Derived { .. } => return Err("it reads a subquery in FROM; make it a model of its own".into()),
            other => return Err(format!("it reads {other}, which is not a plain table")),
        }
    }
    for join in &from.joins {
        match &join.join_operator {
            JoinOperator::Join(_)
            | JoinOperator::Inner(_)
            | JoinOperator::Left(_)
            | JoinOperator::LeftOuter(_)
            | JoinOperator::CrossJoin(_) => {}
            other => {
                return Err(format!(
                    "it uses {}, and only INNER, LEFT and CROSS joins are refreshed by key",
                    join_name(other)
                ))
            }
        }
    }
    Ok(names)
}

/// A join as SQL names it, for messages.
fn join_name(op: &JoinOperator) -> &'static str {
    match op {
        JoinOperator::Right(_) | JoinOperator::RightOuter(_) => "RIGHT JOIN",
        JoinOperator::FullOuter(_) => "FULL JOIN",
        JoinOperator::Semi(_) | JoinOperator::LeftSemi(_) | JoinOperator::RightSemi(_) => "SEMI JOIN",
        JoinOperator::Anti(_) | JoinOperator::LeftAnti(_) | JoinOperator::RightAnti(_) => "ANTI JOIN",
        JoinOperator::CrossApply | JoinOperator::OuterApply => "APPLY",
        JoinOperator::StraightJoin(_) => "STRAIGHT_JOIN",
        _ => "a join of another kind (ASOF, POSITIONAL or ARRAY JOIN)",
    }
}

fn parse_factor(sql: &str) -> Option<TableFactor> {
    let (_, select) = parse_select(&format!("SELECT 1 FROM {sql}")).ok()?;
    select.from.into_iter().next().map(|t| t.relation)
}

/// Replaces the relation at `position` of the FROM clause (0: the first, then each join's) by `(sql) AS alias`, the
/// alias being the one the query gave it or its name, so the query's column references still resolve.
fn replace_factor(select: &mut Select, position: usize, name: &str, sql: &str) -> Result<(), String> {
    let from = &mut select.from[0];
    let factor = if position == 0 { &mut from.relation } else { &mut from.joins[position - 1].relation };
    let TableFactor::Table { name: written, alias, .. } = factor else { return Ok(()) };
    let alias = alias
        .as_ref()
        .map(|a| a.name.to_string())
        .unwrap_or_else(|| written.0.last().map(|p| p.to_string()).unwrap_or_else(|| ident(name)));
    *factor = parse_factor(&format!("({sql}) AS {alias}")).ok_or("its FROM cannot be rewritten")?;
    Ok(())
}

/// Analyses `query` for a refresh by keys. `sources` are the relations as the user declared them, with their changed
/// rows; every relation the query reads must be one. Returns why not when it cannot.
pub fn keyed(
    query: &str,
    unique_key: &[String],
    sources: &[SourceRows],
    keys_table: &str,
) -> Result<KeyedQuery, String> {
    let (statement, select) = parse_select(query)?;
    if unique_key.is_empty() {
        return Err("it has no unique_key".into());
    }
    let tables = from_tables(&select)?;
    let all = crate::analysis::source_relations("", query).map_err(|e| e.to_string())?;
    let declared = |name: &str| sources.iter().position(|s| s.name.to_lowercase() == name);
    for relation in &all {
        let name = relation.join(".").to_lowercase();
        if declared(&name).is_none() {
            return Err(format!("it reads {name}, which sources does not list: add it with its change column"));
        }
        if !tables.contains(&name) {
            return Err(format!("it reads {name} in a subquery; join it in FROM instead"));
        }
    }
    if let Some(unread) = sources.iter().find(|s| !tables.contains(&s.name.to_lowercase())) {
        return Err(format!("sources lists {}, which its FROM clause does not read", unread.name));
    }
    let keys = key_exprs(&select, unique_key)?;
    super::key_checks::check(&select, &keys, unique_key)?;
    let mut discoveries = Vec::new();
    let source = |name: &str| &sources[declared(name).unwrap_or_default()];
    for (position, name) in tables.iter().enumerate() {
        let mut s = select.clone();
        replace_factor(&mut s, position, name, &source(name).changed)?;
        for (other, other_name) in tables.iter().enumerate().filter(|(other, _)| *other != position) {
            if let Some(widened) = &source(other_name).widened {
                replace_factor(&mut s, other, other_name, widened)?;
            }
        }
        if position > 0 {
            // Only rows that join a changed row matter: an outer join must not bring every other row in.
            let join = &mut s.from[0].joins[position - 1].join_operator;
            if let JoinOperator::Left(c) | JoinOperator::LeftOuter(c) = join {
                *join = JoinOperator::Inner(c.clone());
            }
        }
        s.projection = keys
            .iter()
            .zip(unique_key)
            .map(|((e, _), k)| SelectItem::ExprWithAlias { expr: e.clone(), alias: k.as_str().into() })
            .collect();
        s.distinct = Some(Distinct::Distinct);
        s.group_by = GroupByExpr::Expressions(Vec::new(), Vec::new());
        s.having = None;
        s.qualify = None;
        discoveries.push(render(&statement, s));
    }
    // Keys without NULLs are matched with `=`, which DuckDB turns into a range filter on the source's scan (zone
    // maps skip the rest; measured 12 ms against 230 ms for `IS NOT DISTINCT FROM`); keys with a NULL go through a
    // NULL-safe match of their own. Their rows never share a group or partition, so the two parts are disjoint.
    let renamed = |i: usize| format!("\"__incremental_k{i}\"");
    let columns =
        unique_key.iter().enumerate().map(|(i, k)| format!("{} AS {}", ident(k), renamed(i))).collect::<Vec<_>>();
    let any_null = unique_key.iter().map(|k| format!("{} IS NULL", ident(k))).collect::<Vec<_>>().join(" OR ");
    let part = |op: &str, filter: &str| -> Result<String, String> {
        let on = keys
            .iter()
            .enumerate()
            .map(|(i, (e, _))| format!("\"__incremental_k\".{} {op} {e}", renamed(i)))
            .collect::<Vec<_>>()
            .join(" AND ");
        let semi = parse_select(&format!(
            "SELECT 1 FROM x SEMI JOIN (SELECT {} FROM {keys_table} WHERE {filter}) AS \"__incremental_k\" ON {on}",
            columns.join(", ")
        ))?
        .1;
        let mut restricted = select.clone();
        restricted.from[0].joins.extend(semi.from[0].joins.clone());
        Ok(render(&statement, restricted))
    };
    let restricted = format!(
        "SELECT * FROM ({}) AS q UNION ALL SELECT * FROM ({}) AS q",
        part("=", &format!("NOT ({any_null})"))?,
        part("IS NOT DISTINCT FROM", &any_null)?
    );
    Ok(KeyedQuery { discoveries, restricted })
}

pub(super) fn render(statement: &Statement, select: Select) -> String {
    let mut statement = statement.clone();
    if let Statement::Query(q) = &mut statement {
        *q.body = SetExpr::Select(Box::new(select));
    }
    statement.to_string()
}

#[cfg(test)]
mod tests {
    use super::{keyed, SourceRows};

    fn rows(name: &str, widened: bool) -> SourceRows {
        SourceRows {
            name: name.into(),
            changed: format!("SELECT * FROM changed_{name}"),
            widened: widened.then(|| format!("SELECT * FROM {name} UNION ALL SELECT * FROM changed_{name}")),
        }
    }

    fn why(query: &str, key: &[&str], sources: &[&str]) -> String {
        let key: Vec<String> = key.iter().map(|k| k.to_string()).collect();
        let sources: Vec<SourceRows> = sources.iter().map(|s| rows(s, false)).collect();
        keyed(query, &key, &sources, "k").err().unwrap_or_else(|| "supported".into())
    }

    #[test]
    fn discovery_joins_changed_rows_with_the_other_sides_old_versions_too() {
        let q = "SELECT a.day, count(*) AS n FROM up AS a JOIN up AS b ON a.grp = b.grp GROUP BY a.day";
        let found = keyed(q, &["day".into()], &[rows("up", true)], "k").unwrap().discoveries;
        assert_eq!(found.len(), 2);
        for d in &found {
            assert!(
                d.contains("(SELECT * FROM changed_up) AS a") != d.contains("(SELECT * FROM changed_up) AS b"),
                "{d}"
            );
            assert!(d.contains("UNION ALL SELECT * FROM changed_up"), "{d}");
        }
        let q = "SELECT o.c, count(*) AS n FROM o JOIN p ON p.id = o.p GROUP BY o.c";
        let found = keyed(q, &["c".into()], &[rows("o", false), rows("p", true)], "k").unwrap().discoveries;
        assert!(found[0].contains("(SELECT * FROM p UNION ALL SELECT * FROM changed_p) AS p"), "{}", found[0]);
        assert!(found[1].contains("FROM o JOIN (SELECT * FROM changed_p) AS p"), "{}", found[1]);
    }

    #[test]
    fn accepts_group_partition_and_row_keys() {
        let q = "SELECT o.c, p.n, sum(o.x) AS x FROM o JOIN p ON p.id = o.p GROUP BY o.c, p.n";
        assert_eq!(why(q, &["c", "n"], &["o", "p"]), "supported");
        assert_eq!(why("SELECT c AS day, count(DISTINCT u) FROM o GROUP BY 1", &["day"], &["o"]), "supported");
        assert_eq!(why("SELECT c, max(x) FROM o GROUP BY ALL", &["c"], &["o"]), "supported");
        let dedup = "SELECT * FROM o QUALIFY row_number() OVER (PARTITION BY id ORDER BY v DESC) = 1";
        assert_eq!(why(dedup, &["id"], &["o"]), "supported");
        assert_eq!(
            why("SELECT o.id, p.n FROM o LEFT JOIN p ON p.id = o.p WHERE o.x > 0", &["id"], &["o", "p"]),
            "supported"
        );
    }

    #[test]
    fn names_what_it_cannot_refresh_by_key() {
        let cases = [
            ("SELECT c, sum(x) AS s FROM o GROUP BY c", &["s"][..], "is not a GROUP BY key"),
            ("SELECT c, sum(x) OVER (ORDER BY t) AS s FROM o", &["c"], "does not PARTITION BY"),
            ("SELECT c FROM o, p", &["c"], "with commas"),
            ("SELECT c FROM (SELECT * FROM o) AS s", &["c"], "subquery in FROM"),
            ("SELECT c FROM o WHERE c IN (SELECT c FROM p)", &["c"], "in a subquery"),
            ("SELECT c FROM o JOIN q ON q.c = o.c", &["c"], "sources does not list"),
            ("WITH s AS (SELECT * FROM o) SELECT c FROM s", &["c"], "WITH clause"),
            ("SELECT c FROM o UNION SELECT c FROM o", &["c"], "combines results"),
            ("SELECT c FROM o ORDER BY c LIMIT 5", &["c"], "LIMIT"),
            ("SELECT c FROM o RIGHT JOIN p ON p.c = o.c", &["c"], "it uses RIGHT JOIN, and only INNER"),
            ("SELECT c FROM o FULL JOIN p ON p.c = o.c", &["c"], "it uses FULL JOIN, and only INNER"),
            ("SELECT c + 1 FROM o", &["c"], "is not a named item"),
            ("SELECT c, x FROM o WHERE x > (SELECT avg(x) FROM o)", &["c"], "subquery in an expression"),
            ("SELECT DISTINCT ON (x) c, x FROM o", &["c"], "is not a DISTINCT ON expression"),
            ("SELECT p.c, o.x FROM o LEFT JOIN p ON p.id = o.p", &["c"], "outer side of a LEFT JOIN"),
            ("SELECT c, p.n FROM o LEFT JOIN p ON p.id = o.p", &["c"], "qualify its columns"),
        ];
        for (query, key, expected) in cases {
            let sources: &[&str] = if query.contains(" p") { &["o", "p"] } else { &["o"] };
            let got = why(query, key, sources);
            assert!(got.contains(expected), "{query}: {got}");
        }
        assert!(why("SELECT c FROM o", &["c"], &["o", "p"]).contains("does not read"));
    }
}
