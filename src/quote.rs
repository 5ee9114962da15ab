//! Quoting for every identifier and literal the extension writes into SQL.

/// A double-quoted identifier; embedded quotes are doubled, so no name can end the quote.
pub fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// A single-quoted string literal; embedded quotes are doubled.
pub fn literal(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

/// `"db"."schema"."name"`.
pub fn qualified(parts: &[&str]) -> String {
    parts.iter().map(|p| ident(p)).collect::<Vec<_>>().join(".")
}

/// A comma-separated list of quoted identifiers, each prefixed by `alias.` when given.
pub fn column_list(columns: &[String], alias: Option<&str>) -> String {
    columns
        .iter()
        .map(|c| match alias {
            Some(a) => format!("{a}.{}", ident(c)),
            None => ident(c),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Splits a possibly dotted, possibly quoted name such as `db."my schema".t` into its parts.
pub fn split_name(name: &str) -> Option<Vec<String>> {
    let mut parts = Vec::new();
    let mut cur = String::new();
    let mut chars = name.trim().chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' => loop {
                match chars.next() {
                    Some('"') if chars.peek() == Some(&'"') => {
                        chars.next();
                        cur.push('"');
                    }
                    Some('"') => break,
                    Some(ch) => cur.push(ch),
                    None => return None,
                }
            },
            '.' => {
                if cur.is_empty() {
                    return None;
                }
                parts.push(std::mem::take(&mut cur));
            }
            c => cur.push(c),
        }
    }
    if cur.is_empty() {
        return None;
    }
    parts.push(cur);
    Some(parts)
}

/// A DuckLake's metadata catalog, which DuckLake attaches as `__ducklake_metadata_<name>` (its default name).
pub fn ducklake_metadata(lake: &str) -> String {
    ident(&format!("__ducklake_metadata_{lake}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_cannot_be_escaped() {
        assert_eq!(ident("a\"b"), "\"a\"\"b\"");
        assert_eq!(literal("it's"), "'it''s'");
        assert_eq!(qualified(&["d", "s", "t x"]), "\"d\".\"s\".\"t x\"");
    }

    #[test]
    fn splits_dotted_and_quoted_names() {
        assert_eq!(split_name("a.b").unwrap(), vec!["a", "b"]);
        assert_eq!(split_name("\"my.db\".\"x\"\"y\"").unwrap(), vec!["my.db", "x\"y"]);
        assert_eq!(split_name("\"order lines\"").unwrap(), vec!["order lines"]);
        assert_eq!(split_name("Ünïcode").unwrap(), vec!["Ünïcode"]);
        assert!(split_name("a..b").is_none());
        assert!(split_name("").is_none());
        assert_eq!(split_name("order lines").unwrap(), vec!["order lines"]);
        assert!(split_name("\"open").is_none());
    }
}
