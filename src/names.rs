//! Where a model name points, as the caller's session would resolve it: `name`, `schema.name` or `db.schema.name`.

use crate::error::{Error, Result};
use crate::model::Target;
use crate::quote::{ident, split_name};

/// Splits a search_path setting on commas that are outside double quotes.
fn search_path_entries(search_path: &str) -> Vec<String> {
    let mut entries = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    for c in search_path.chars() {
        match c {
            ',' if !quoted => entries.push(std::mem::take(&mut current)),
            _ => {
                if c == '"' {
                    quoted = !quoted;
                }
                current.push(c);
            }
        }
    }
    entries.push(current);
    entries.into_iter().map(|e| e.trim().to_string()).filter(|e| !e.is_empty()).collect()
}

/// The search_path with every entry in database `old` moved to database `new` (a renamed or copied database file).
pub fn rename_database(search_path: &str, old: &str, new: &str) -> String {
    let entries: Vec<String> = search_path_entries(search_path)
        .into_iter()
        .map(|e| match split_name(&e).as_deref() {
            Some([db, schema]) if db.eq_ignore_ascii_case(old) => format!("{}.{}", ident(new), ident(schema)),
            _ => e,
        })
        .collect();
    entries.join(",")
}

/// The (database, schema) pairs an unqualified name is looked up in: the search_path entries, or `main` of the
/// default database when none is set (after `USE`, DuckDB looks nowhere else either).
fn search_locations(search_path: &str, default_database: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = search_path_entries(search_path)
        .iter()
        .filter_map(|e| match split_name(e)?.as_slice() {
            [db, schema] => Some((db.clone(), schema.clone())),
            [schema] => Some((default_database.to_string(), schema.clone())),
            _ => None,
        })
        .collect();
    if out.is_empty() {
        out.push((default_database.to_string(), "main".to_string()));
    }
    out.dedup();
    out
}

/// Where a model name may refer to, in the order DuckDB looks: `name` along the search_path; `a.name` as schema `a`
/// of the current database, then as database `a`; `db.schema.name` exactly.
pub fn candidates(name: &str, search_path: &str, default_database: &str) -> Result<Vec<Target>> {
    let parts = split_name(name).ok_or_else(|| {
        Error::usage(format!("'{name}' is not a valid model name; use name, schema.name or database.schema.name"))
    })?;
    let locations = search_locations(search_path, default_database);
    let current_db = locations[0].0.clone();
    let target =
        |d: &str, s: &str, t: &str| Target { database: d.to_string(), schema: s.to_string(), table: t.to_string() };
    Ok(match parts.as_slice() {
        [t] => locations.iter().map(|(d, s)| target(d, s, t)).collect(),
        [a, t] => vec![target(&current_db, a, t), target(a, "main", t)],
        [d, s, t] => vec![target(d, s, t)],
        _ => {
            return Err(Error::usage(format!(
                "'{name}' has too many parts; use name, schema.name or database.schema.name"
            )))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn first(name: &str, search_path: &str) -> (String, String, String) {
        let t = candidates(name, search_path, "memory").unwrap().remove(0);
        (t.database, t.schema, t.table)
    }

    #[test]
    fn looks_names_up_as_duckdb_does() {
        let s = |a: &str, b: &str, c: &str| (a.to_string(), b.to_string(), c.to_string());
        assert_eq!(first("m", ""), s("memory", "main", "m"));
        assert_eq!(first("m", "lake.s2,memory.main"), s("lake", "s2", "m"));
        assert_eq!(candidates("m", "lake.s2,memory.main", "memory").unwrap().len(), 2);
        assert_eq!(candidates("m", "lake.s2", "memory").unwrap().len(), 1);
        assert_eq!(first("s.m", "lake.main"), s("lake", "s", "m"));
        let two = candidates("lake.m", "", "memory").unwrap();
        assert_eq!((two[1].database.as_str(), two[1].schema.as_str()), ("lake", "main"));
        assert_eq!(first("d.s.m", "lake.main"), s("d", "s", "m"));
        assert_eq!(first("x", "\"my,db\".main"), s("my,db", "main", "x"));
        assert!(candidates("a.b.c.d", "", "memory").is_err());
        assert!(candidates("a..b", "", "memory").is_err());
    }

    #[test]
    fn moves_search_path_entries_to_a_renamed_database() {
        assert_eq!(rename_database("base.main,lake.s", "base", "copy"), "\"copy\".\"main\",lake.s");
        assert_eq!(rename_database("lake.s", "base", "copy"), "lake.s");
    }
}
