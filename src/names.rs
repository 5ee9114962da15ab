//! Resolves a model name as the caller's session would: `name`, `schema.name` or `db.schema.name`.

use crate::error::{Error, Result};
use crate::model::Target;
use crate::quote::split_name;

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

/// The caller's current database and schema: the first search_path entry, else the default database's `main`.
pub fn current_location(search_path: &str, default_database: &str) -> (String, String) {
    let first = search_path_entries(search_path).into_iter().next().and_then(|e| split_name(&e));
    match first.as_deref() {
        Some([db, schema]) => (db.clone(), schema.clone()),
        Some([schema]) => (default_database.to_string(), schema.clone()),
        _ => (default_database.to_string(), "main".to_string()),
    }
}

pub fn resolve(name: &str, search_path: &str, default_database: &str) -> Result<Target> {
    let parts = split_name(name).ok_or_else(|| {
        Error::usage(format!("'{name}' is not a valid model name; use name, schema.name or database.schema.name"))
    })?;
    let (db, schema) = current_location(search_path, default_database);
    let (database, schema, table) = match parts.as_slice() {
        [t] => (db, schema, t.clone()),
        [s, t] => (db, s.clone(), t.clone()),
        [d, s, t] => (d.clone(), s.clone(), t.clone()),
        _ => {
            return Err(Error::usage(format!(
                "'{name}' has too many parts; use name, schema.name or database.schema.name"
            )))
        }
    };
    Ok(Target { database, schema, table })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_against_the_callers_search_path() {
        let t = resolve("m", "", "memory").unwrap();
        assert_eq!((t.database.as_str(), t.schema.as_str(), t.table.as_str()), ("memory", "main", "m"));
        let t = resolve("m", "lake.s2,memory.main", "memory").unwrap();
        assert_eq!((t.database.as_str(), t.schema.as_str()), ("lake", "s2"));
        let t = resolve("s.m", "lake.main", "memory").unwrap();
        assert_eq!((t.database.as_str(), t.schema.as_str()), ("lake", "s"));
        let t = resolve("d.s.m", "lake.main", "memory").unwrap();
        assert_eq!(t.database, "d");
        let t = resolve("x", "\"my,db\".main", "memory").unwrap();
        assert_eq!(t.database, "my,db");
        assert!(resolve("a.b.c.d", "", "memory").is_err());
    }
}
