//! What DuckDB's own parser says about a model's query, read from its `json_serialize_sql` output: whether it is one
//! SELECT, which functions it calls and where its `@name` placeholders are.

use serde_json::Value;

/// A query DuckDB parsed as exactly one SELECT statement.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Parsed {
    /// Every call of a function in the query (scalar, aggregate, window and table functions), lowercase, as
    /// written, once per call, in no particular order.
    pub functions: Vec<String>,
    /// Byte offsets of the `@` of each `@name` DuckDB sees outside strings, names and comments, in order.
    pub placeholders: Vec<usize>,
    /// The tables and views it reads by name, as written: catalog, schema and name, empty where not given.
    pub tables: Vec<[String; 3]>,
}

/// Reads `json_serialize_sql(query)`; the error says, in the words a user reads, why the text is not one SELECT.
pub fn parsed(json: &str) -> Result<Parsed, String> {
    let root: Value = serde_json::from_str(json).map_err(|e| format!("its parse could not be read ({e})"))?;
    if root.get("error").and_then(Value::as_bool) == Some(true) {
        let message = root.get("error_message").and_then(Value::as_str).unwrap_or_default();
        return Err(match root.get("error_type").and_then(Value::as_str) {
            // DuckDB serializes SELECT statements only: anything else in the text (CALL, PRAGMA, DROP, ...) ends here.
            Some("not implemented") => {
                "it holds a statement other than SELECT (such as CALL, PRAGMA, INSERT or DROP); pass a single SELECT (or FROM ...) query".into()
            }
            _ => format!("it does not parse: {message}"),
        });
    }
    let statements = root.get("statements").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
    let [statement] = statements else {
        return Err(match statements.len() {
            0 => "it is empty; pass a SELECT statement".into(),
            n => format!("it holds {n} statements; pass a single SELECT"),
        });
    };
    let mut out = Parsed::default();
    walk(statement, &mut out);
    out.placeholders.sort_unstable();
    out.placeholders.dedup();
    Ok(out)
}

fn walk(node: &Value, out: &mut Parsed) {
    match node {
        Value::Object(map) => {
            if map.get("class").and_then(Value::as_str) == Some("FUNCTION") {
                let name = map.get("function_name").and_then(Value::as_str).unwrap_or_default().to_lowercase();
                let operator = map.get("is_operator").and_then(Value::as_bool) == Some(true);
                match map.get("query_location").and_then(Value::as_u64) {
                    Some(at) if operator && name == "@" => out.placeholders.push(at as usize),
                    _ if !operator => out.functions.push(name),
                    _ => {}
                }
            }
            if map.get("type").and_then(Value::as_str) == Some("BASE_TABLE") {
                let part = |key: &str| map.get(key).and_then(Value::as_str).unwrap_or_default().to_string();
                let table = [part("catalog_name"), part("schema_name"), part("table_name")];
                if !out.tables.contains(&table) {
                    out.tables.push(table);
                }
            }
            map.values().for_each(|v| walk(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| walk(v, out)),
        _ => {}
    }
}

/// The query of a view, from the `CREATE VIEW` statement DuckDB keeps for it; None when the extension cannot read
/// that statement.
pub fn view_query(create_view: &str) -> Option<String> {
    use sqlparser::ast::Statement;
    let statements = sqlparser::parser::Parser::parse_sql(&sqlparser::dialect::DuckDbDialect {}, create_view).ok()?;
    match statements.as_slice() {
        [Statement::CreateView(view)] => Some(view.query.to_string()),
        _ => None,
    }
}

/// Why a model's query may not call `function`, when it may not: the extension's own functions (they change models,
/// or wait on the refresh that runs them) and functions that change the database or the world outside it.
pub fn refused_function(function: &str) -> Option<&'static str> {
    let f = function.to_ascii_lowercase();
    if f.starts_with("incremental_") {
        return Some("it is a function of this extension, which a refresh would run again inside itself");
    }
    if f.starts_with("ducklake_") && !DUCKLAKE_READS.contains(&f.as_str()) {
        return Some("it changes a DuckLake catalog");
    }
    CHANGES.iter().find(|(name, _)| *name == f).map(|(_, why)| *why)
}

/// DuckLake functions that only read.
const DUCKLAKE_READS: [&str; 9] = [
    "ducklake_snapshots",
    "ducklake_table_info",
    "ducklake_table_changes",
    "ducklake_table_insertions",
    "ducklake_table_deletions",
    "ducklake_list_files",
    "ducklake_current_snapshot",
    "ducklake_last_committed_snapshot",
    "ducklake_options",
];

/// Functions with effects beyond their result, with the reason users read.
const CHANGES: [(&str, &str); 16] = [
    ("query", "it runs SQL text that the extension cannot check"),
    ("query_table", "it reads tables named at run time, which the extension cannot check"),
    ("nextval", "it advances a sequence at every refresh"),
    ("setseed", "it changes the session's random seed"),
    ("checkpoint", "it checkpoints the database"),
    ("force_checkpoint", "it checkpoints the database"),
    ("write_log", "it writes to DuckDB's log"),
    ("postgres_execute", "it runs statements in PostgreSQL"),
    ("postgres_query", "it runs SQL text in PostgreSQL that the extension cannot check"),
    ("pg_clear_cache", "it clears the postgres extension's cache"),
    ("mysql_execute", "it runs statements in MySQL"),
    ("mysql_query", "it runs SQL text in MySQL that the extension cannot check"),
    ("mysql_clear_cache", "it clears the mysql extension's cache"),
    ("sqlite_attach", "it attaches a database"),
    ("load_aws_credentials", "it creates secrets"),
    ("http_post", "it sends data over the network"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_functions_and_placeholders_from_both_formats() {
        // DuckDB 1.5 puts function arguments under "children", DuckDB 2.0 under "arguments".
        let v15 = r#"{"error":false,"statements":[{"node":{"select_list":[{"class":"FUNCTION","function_name":"@","is_operator":true,"query_location":10,"children":[{"class":"COLUMN_REF"}]},{"class":"FUNCTION","function_name":"Sum","is_operator":false,"query_location":3,"children":[{"class":"FUNCTION","function_name":"@","is_operator":true,"query_location":2}]}],"from_table":{"type":"TABLE_FUNCTION","function":{"class":"FUNCTION","function_name":"read_csv","is_operator":false}}}}]}"#;
        let v20 = r#"{"error":false,"statements":[{"node":{"select_list":[{"class":"FUNCTION","function_name":"+","is_operator":true,"arguments":[{"name":"","expression":{"class":"FUNCTION","function_name":"nextval","is_operator":false}}]}]}}]}"#;
        let mut p = parsed(v15).unwrap();
        p.functions.sort();
        assert_eq!(p.functions, ["read_csv", "sum"]);
        assert_eq!(p.placeholders, vec![2, 10]);
        assert_eq!(parsed(v20).unwrap().functions, vec!["nextval"]);
    }

    #[test]
    fn names_what_is_not_one_select() {
        let not_select = r#"{"error":true,"error_type":"not implemented","error_message":"Only SELECT statements can be serialized to json!"}"#;
        assert!(parsed(not_select).unwrap_err().starts_with("it holds a statement other than SELECT"));
        let syntax = r#"{"error":true,"error_type":"parser","error_message":"syntax error at or near \")\""}"#;
        assert_eq!(parsed(syntax).unwrap_err(), "it does not parse: syntax error at or near \")\"");
        assert_eq!(
            parsed(r#"{"error":false,"statements":[{},{}]}"#).unwrap_err(),
            "it holds 2 statements; pass a single SELECT"
        );
        assert_eq!(parsed(r#"{"error":false,"statements":[]}"#).unwrap_err(), "it is empty; pass a SELECT statement");
    }

    #[test]
    fn reads_the_query_of_a_view() {
        assert_eq!(
            view_query("CREATE VIEW v AS SELECT nextval('s') AS x FROM t;").unwrap(),
            "SELECT nextval('s') AS x FROM t"
        );
        assert!(view_query("CREATE TABLE t (a INT)").is_none());
    }

    #[test]
    fn refuses_functions_with_effects() {
        assert!(refused_function("incremental_drop").is_some());
        assert!(refused_function("INCREMENTAL_REFRESH_ALL").is_some());
        assert!(refused_function("nextval").is_some());
        assert!(refused_function("ducklake_expire_snapshots").is_some());
        assert!(refused_function("ducklake_table_changes").is_none());
        assert!(refused_function("read_parquet").is_none());
        assert!(refused_function("sum").is_none());
    }
}
