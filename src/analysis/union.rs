//! `UNION ALL` and `UNION` branch by branch: a key's rows are the rows of that key from every branch, so each branch
//! is analysed as a query of its own, its key columns found at the positions the union's output gives them, and the
//! union of the branches restricted to the changed keys is exactly the union's rows of those keys.

use std::ops::ControlFlow;

use sqlparser::ast::{
    visit_expressions, Expr, Ident, Query, Select, SelectItem, SetExpr, SetOperator, SetQuantifier, Statement,
};
use sqlparser::dialect::DuckDbDialect;
use sqlparser::parser::Parser;

use super::keys::{KeyedQuery, SourceRows};

/// The branches of a top-level union, each a standalone query (its CTEs written in place), and whether the union
/// removes duplicate rows.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Branches {
    pub distinct: bool,
    pub selects: Vec<Select>,
}

/// The branches of `query` when its body is a chain of `UNION ALL` or of `UNION`, or groups by grouping sets (one
/// branch each, see grouping.rs); None when it is neither; why not when it combines results another way.
pub(super) fn branches(query: &str) -> Result<Option<Branches>, String> {
    let Ok(statements) = Parser::parse_sql(&DuckDbDialect {}, query) else { return Ok(None) };
    let [Statement::Query(q)] = statements.as_slice() else { return Ok(None) };
    let mut q: Query = (**q).clone();
    let grouping_sets = match q.body.as_ref() {
        SetExpr::Select(select) => super::grouping::expand(select)?,
        _ => None,
    };
    match grouping_sets {
        Some(union) => *q.body = union,
        None if !matches!(q.body.as_ref(), SetExpr::SetOperation { .. }) => return Ok(None),
        None => {}
    }
    super::normalize::normalize(&mut q)?;
    if q.limit_clause.is_some() || q.fetch.is_some() {
        return Err("it has LIMIT or FETCH on the whole result".into());
    }
    let (mut selects, mut kinds) = (Vec::new(), Vec::new());
    collect(&q.body, &mut selects, &mut kinds)?;
    let distinct = kinds.first().copied().unwrap_or_default();
    if kinds.iter().any(|k| *k != distinct) {
        return Err("it mixes UNION and UNION ALL; make the inner union a model of its own".into());
    }
    Ok(Some(Branches { distinct, selects }))
}

/// Appends the SELECTs of `body` in order to `out`, and to `kinds` whether each union of the chain removes
/// duplicates (`UNION`) or not (`UNION ALL`).
fn collect(body: &SetExpr, out: &mut Vec<Select>, kinds: &mut Vec<bool>) -> Result<(), String> {
    match body {
        SetExpr::Select(select) => out.push((**select).clone()),
        SetExpr::SetOperation { op: SetOperator::Union, set_quantifier, left, right } => {
            kinds.push(match set_quantifier {
                SetQuantifier::All => false,
                SetQuantifier::Distinct | SetQuantifier::None => true,
                _ => return Err("it uses UNION BY NAME; list the columns of each branch in one order".into()),
            });
            collect(left, out, kinds)?;
            collect(right, out, kinds)?;
        }
        SetExpr::SetOperation { op, .. } => {
            return Err(format!(
                "it combines results with {op}, whose rows depend on every branch at once; make each branch a model \
                 of its own and combine them in a plain model"
            ))
        }
        _ => return Err("a branch of its UNION is not a plain SELECT; write each branch as SELECT ... FROM".into()),
    }
    Ok(())
}

/// Each branch as SQL, the item at each key column's position (taken from the first branch) named like that key
/// column, so that every branch answers to the union's key names.
pub(super) fn aligned(branches: &Branches, unique_key: &[String]) -> Result<Vec<String>, String> {
    let first = branches.selects.first().ok_or("it has no branch")?;
    let width = first.projection.len();
    let positions: Vec<usize> = super::keys::key_exprs(first, unique_key)?.into_iter().map(|(_, p)| p).collect();
    let star = |s: &Select| {
        s.projection.iter().any(|i| matches!(i, SelectItem::Wildcard(_) | SelectItem::QualifiedWildcard(..)))
    };
    if positions.contains(&0) || branches.selects.iter().any(star) {
        return Err("a branch of its UNION selects *; name the columns of each branch".into());
    }
    branches
        .selects
        .iter()
        .map(|select| {
            if select.projection.len() != width {
                return Err("its UNION branches have different numbers of columns".to_string());
            }
            let mut select = select.clone();
            for (position, name) in positions.iter().zip(unique_key) {
                let expr = match &select.projection[position - 1] {
                    SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } => e.clone(),
                    _ => return Err("a branch of its UNION selects *; name the columns of each branch".to_string()),
                };
                let named = |item: &SelectItem| match item {
                    SelectItem::ExprWithAlias { alias, .. } => alias.value.eq_ignore_ascii_case(name),
                    SelectItem::UnnamedExpr(e) => {
                        super::key_checks::column_name(e).is_some_and(|c| c.eq_ignore_ascii_case(name))
                    }
                    _ => false,
                };
                // The key's name given to another branch's item must not already mean a column there (a GROUP BY
                // name would then bind to it).
                if !named(&select.projection[position - 1]) && mentions(&select, name) {
                    return Err(format!(
                        "a branch of its UNION uses the name \"{name}\" for another column than the union's key \
                         column \"{name}\"; name that branch's key column \"{name}\" with AS"
                    ));
                }
                select.projection[position - 1] =
                    SelectItem::ExprWithAlias { expr, alias: Ident::with_quote('"', name.as_str()) };
            }
            Ok(SetExpr::Select(Box::new(select)).to_string())
        })
        .collect()
}

/// True when an identifier of `select` (a column or an alias) is `name`.
fn mentions(select: &Select, name: &str) -> bool {
    let same = |i: &Ident| i.value.eq_ignore_ascii_case(name);
    let aliased = select.projection.iter().any(|i| matches!(i, SelectItem::ExprWithAlias { alias, .. } if same(alias)));
    aliased
        || visit_expressions(select, |e| match e {
            Expr::Identifier(i) if same(i) => ControlFlow::Break(()),
            Expr::CompoundIdentifier(parts) if parts.last().is_some_and(same) => ControlFlow::Break(()),
            _ => ControlFlow::Continue(()),
        })
        .is_break()
}

/// `parts` (each a query) combined as the union combines its branches.
pub(super) fn combine(branches: &Branches, parts: &[String]) -> String {
    let op = if branches.distinct { "\nUNION\n" } else { "\nUNION ALL\n" };
    parts.iter().map(|p| format!("SELECT * FROM ({p}) AS q")).collect::<Vec<_>>().join(op)
}

/// The refresh by keys of a union: each branch's discoveries, and the branches restricted to the keys, combined.
pub(super) fn keyed(
    branches: &Branches,
    query: &str,
    unique_key: &[String],
    sources: &[SourceRows],
    keys_table: &str,
) -> Result<KeyedQuery, String> {
    super::keys::covered(query, sources, &|_| true)?;
    let (mut discoveries, mut parts) = (Vec::new(), Vec::new());
    for branch in aligned(branches, unique_key)? {
        let reads: Vec<String> = crate::analysis::source_relations("", &branch)
            .map_err(|e| e.to_string())?
            .iter()
            .map(|r| r.join(".").to_lowercase())
            .collect();
        let own: Vec<SourceRows> = sources.iter().filter(|s| reads.contains(&s.name.to_lowercase())).cloned().collect();
        let keyed = super::keys::keyed(&branch, unique_key, &own, keys_table)
            .map_err(|why| format!("a branch of its UNION cannot be refreshed by key: {why}"))?;
        discoveries.extend(keyed.discoveries);
        parts.push(keyed.restricted);
    }
    Ok(KeyedQuery { discoveries, restricted: combine(branches, &parts), whole: None })
}

/// Each branch as a query of its own, as written.
fn queries(branches: &Branches) -> Vec<String> {
    branches.selects.iter().map(|s| SetExpr::Select(Box::new(s.clone())).to_string()).collect()
}

/// The positions (1-based) of `names` among the items of `select`, or None when one is not a named item.
fn positions(select: &Select, names: &[String]) -> Option<Vec<usize>> {
    let mut found: Vec<usize> = super::keys::key_exprs(select, names).ok()?.into_iter().map(|(_, p)| p).collect();
    found.sort_unstable();
    (!found.contains(&0)).then_some(found)
}

/// The positions (1-based) of `select`'s items that are constants (`NULL AS s`, `'eu' AS region`): any key of the
/// branch stays one with them added.
fn constants(select: &Select) -> Vec<usize> {
    let constant = |item: &SelectItem| match item {
        SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } => matches!(e, Expr::Value(_)),
        _ => false,
    };
    select.projection.iter().enumerate().filter(|(_, item)| constant(item)).map(|(i, _)| i + 1).collect()
}

/// A key every branch gives at the same positions: `per_branch` answers one branch's key names; the union's names
/// are the first branch's at those positions. When the branches' keys differ, each widened by its constant columns
/// may agree (the grouping sets of a ROLLUP: the subtotal branches hold NULL where the finer ones group).
fn common(branches: &Branches, per_branch: impl Fn(&str) -> Option<Vec<String>>) -> Option<Vec<String>> {
    agreed(branches, &per_branch, false).or_else(|| agreed(branches, &per_branch, true))
}

fn agreed(
    branches: &Branches,
    per_branch: &impl Fn(&str) -> Option<Vec<String>>,
    with_constants: bool,
) -> Option<Vec<String>> {
    let sqls = queries(branches);
    let mut agreed: Option<Vec<usize>> = None;
    for (select, sql) in branches.selects.iter().zip(&sqls) {
        let mut found = match per_branch(sql) {
            Some(names) => positions(select, &names)?,
            // An aggregate without GROUP BY has the empty key.
            None if with_constants && super::whole::one_row(sql) => Vec::new(),
            None => return None,
        };
        if with_constants {
            found.extend(constants(select));
            found.sort_unstable();
            found.dedup();
        }
        if agreed.as_ref().is_some_and(|a| *a != found) {
            return None;
        }
        agreed = Some(found);
    }
    let first = branches.selects.first()?;
    let names = |p: &usize| match first.projection.get(p - 1)? {
        SelectItem::ExprWithAlias { alias, .. } => Some(alias.value.clone()),
        SelectItem::UnnamedExpr(e) => super::key_checks::column_name(e).map(str::to_string),
        _ => None,
    };
    agreed?.iter().map(names).collect()
}

/// The key the branches' shapes give (each grouped or deduplicated by the columns at the same positions).
pub(super) fn inferred_key(branches: &Branches) -> Option<Vec<String>> {
    common(branches, super::unique::inferred_key)
}

/// Every output column, when every branch keeps its rows as they are.
pub(super) fn row_key(branches: &Branches, columns: &[String]) -> Option<Vec<String>> {
    let keys: Vec<Vec<String>> =
        queries(branches).iter().map(|q| super::rows::row_key(q, columns)).collect::<Option<_>>()?;
    keys.iter().all(|k| k.len() == columns.len()).then(|| columns.to_vec())
}

/// True when the union returns one row per key: it removes duplicates and the key is every column.
pub(super) fn unique(branches: &Branches, unique_key: &[String]) -> bool {
    let Some(first) = branches.selects.first() else { return false };
    branches.distinct && positions(first, unique_key).is_some_and(|p| p.len() == first.projection.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(q: &str) -> Result<Option<(bool, usize)>, String> {
        Ok(branches(q)?.map(|b| (b.distinct, b.selects.len())))
    }

    #[test]
    fn a_chain_of_one_kind_of_union_splits_into_its_branches() {
        assert_eq!(split("SELECT a FROM t UNION ALL SELECT a FROM u UNION ALL SELECT b FROM v"), Ok(Some((false, 3))));
        assert_eq!(split("SELECT a FROM t UNION SELECT a FROM u ORDER BY a"), Ok(Some((true, 2))));
        assert_eq!(split("SELECT a FROM t"), Ok(None));
        assert!(split("SELECT a FROM t UNION ALL SELECT a FROM u UNION SELECT a FROM v")
            .unwrap_err()
            .contains("mixes"));
        assert!(split("SELECT a FROM t EXCEPT SELECT a FROM u").unwrap_err().contains("with EXCEPT"));
        assert!(split("SELECT a FROM t UNION ALL SELECT a FROM u LIMIT 3").unwrap_err().contains("LIMIT"));
    }

    #[test]
    fn branches_answer_to_the_key_names_of_the_first() {
        let b =
            branches("WITH c AS (SELECT * FROM x) SELECT i, j FROM t UNION ALL SELECT i, k FROM c").unwrap().unwrap();
        let got = aligned(&b, &["j".to_string()]).unwrap();
        assert_eq!(got, ["SELECT i, j AS \"j\" FROM t", "SELECT i, k AS \"j\" FROM (SELECT * FROM x) AS c"]);
        let star = branches("SELECT * FROM t UNION ALL SELECT * FROM u").unwrap().unwrap();
        assert!(aligned(&star, &["i".to_string()]).unwrap_err().contains("selects *"));
    }
}
