//! `@name` placeholders in a model's SQL (`@watermark`, `@start`, `@end`, and user variables), replaced by constants.

use sqlparser::dialect::DuckDbDialect;
use sqlparser::tokenizer::{Location, Token, Tokenizer};

/// User variables for one call: name (lowercase) to text.
pub type Vars = std::collections::BTreeMap<String, String>;

/// The placeholders the extension fills itself; any other `@name` is a user variable passed with `vars := {...}`.
pub const BUILT_IN: [&str; 3] = ["watermark", "start", "end"];

/// One `@name` in the query text: its name (lowercase) and byte range.
#[derive(Debug, Clone, PartialEq)]
pub struct Placeholder {
    pub name: String,
    pub range: std::ops::Range<usize>,
}

fn byte_offset(line_starts: &[usize], text: &str, at: Location) -> usize {
    let line_start = line_starts.get((at.line as usize).saturating_sub(1)).copied().unwrap_or(text.len());
    text[line_start..]
        .char_indices()
        .nth((at.column as usize).saturating_sub(1))
        .map_or(text.len(), |(i, _)| line_start + i)
}

/// Every `@name` outside strings, quoted names and comments; a query the tokenizer cannot read has none.
pub fn find(query: &str) -> Vec<Placeholder> {
    let Ok(tokens) = Tokenizer::new(&DuckDbDialect {}, query).tokenize_with_location() else {
        return Vec::new();
    };
    let mut line_starts = vec![0];
    line_starts.extend(query.match_indices('\n').map(|(i, _)| i + 1));
    let mut found = Vec::new();
    for pair in tokens.windows(2) {
        let (at, word) = (&pair[0], &pair[1]);
        let Token::Word(w) = &word.token else { continue };
        if at.token != Token::AtSign || w.quote_style.is_some() || at.span.end != word.span.start {
            continue;
        }
        let start = byte_offset(&line_starts, query, at.span.start);
        let end = byte_offset(&line_starts, query, word.span.end);
        found.push(Placeholder { name: w.value.to_lowercase(), range: start..end });
    }
    found
}

/// The query with each placeholder replaced by `value(name)`; the first name without a value is the error.
pub fn substitute(query: &str, value: impl Fn(&str) -> Option<String>) -> Result<String, String> {
    let mut out = String::with_capacity(query.len());
    let mut last = 0;
    for p in find(query) {
        let v = value(&p.name).ok_or_else(|| p.name.clone())?;
        out.push_str(&query[last..p.range.start]);
        out.push_str(&v);
        last = p.range.end;
    }
    out.push_str(&query[last..]);
    Ok(out)
}

/// The query with every placeholder replaced by NULL: enough to bind it and read its columns and tables.
pub fn bindable(query: &str) -> String {
    substitute(query, |_| Some("NULL".to_string())).unwrap_or_else(|_| query.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_placeholders_but_not_in_strings_names_or_comments() {
        let q = "SELECT '@a', \"@b\" FROM t -- @c\nWHERE ts >= @watermark AND x = @Start_Date /* @d */";
        let names: Vec<String> = find(q).into_iter().map(|p| p.name).collect();
        assert_eq!(names, vec!["watermark", "start_date"]);
        let out = substitute(q, |n| Some(format!("<{n}>"))).unwrap();
        assert_eq!(out, "SELECT '@a', \"@b\" FROM t -- @c\nWHERE ts >= <watermark> AND x = <start_date> /* @d */");
    }

    #[test]
    fn reports_the_first_missing_value_and_binds_with_nulls() {
        assert_eq!(substitute("SELECT @x, @y", |n| (n == "y").then(|| "1".into())).unwrap_err(), "x");
        assert_eq!(bindable("SELECT * FROM t WHERE d > @watermark"), "SELECT * FROM t WHERE d > NULL");
        assert_eq!(bindable("SELECT 'ü' || @v"), "SELECT 'ü' || NULL");
    }
}
