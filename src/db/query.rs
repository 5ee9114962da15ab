//! Asks DuckDB's parser what a model's query is, before any of it is prepared or run: one SELECT, calling no
//! function with effects, with its placeholders where the extension substitutes them.

use std::hash::{BuildHasher, Hasher};

use super::sql::scalar;
use super::Session;
use crate::analysis::statement::{parsed, refused_function, Parsed};
use crate::error::{Error, Result};

/// How the extension embeds a model's query in the statements it writes: on lines of its own, so a trailing
/// comment ends before the closing parenthesis.
pub fn wrapped(query: &str) -> String {
    format!("SELECT * FROM (\n{query}\n) AS q")
}

fn bad(model: &str, detail: String) -> Error {
    Error::BadQuery { model: model.to_string(), detail }
}

impl Session<'_> {
    /// What DuckDB's parser makes of `sql`; the text travels as a parameter, so nothing in it is run.
    fn parse(&self, model: &str, sql: &str) -> Result<Parsed> {
        let json: Option<String> = scalar(self.conn, "SELECT json_serialize_sql(CAST(? AS VARCHAR))", &[&sql])?;
        parsed(&json.unwrap_or_default()).map_err(|detail| bad(model, detail))
    }

    /// One SELECT as DuckDB reads it, also as the extension embeds it, calling no refused function.
    fn parse_embeddable(&self, model: &str, sql: &str) -> Result<Parsed> {
        let parsed = self.parse(model, sql)?;
        self.parse(model, &wrapped(sql))
            .map_err(|_| bad(model, "it cannot be used as a subquery; pass a single SELECT statement".into()))?;
        if let Some((f, why)) = parsed.functions.iter().find_map(|f| Some((f, refused_function(f)?))) {
            return Err(bad(
                model,
                format!("it calls {f}(), which a model's query may not call: {why}; remove the call"),
            ));
        }
        Ok(parsed)
    }

    /// Checks a model's query as stored. Each `@name` the extension will replace is first replaced by a call of a
    /// function no query names (a fresh random name): DuckDB must read the text as one SELECT with exactly that
    /// many calls and no `@` operator left, so every value later lands where DuckDB reads code, never inside a
    /// string or comment it reads differently from the extension.
    pub fn check_query(&self, model: &str, query: &str) -> Result<()> {
        let marker = format!(
            "__incremental_placeholder_{}",
            std::collections::hash_map::RandomState::new().build_hasher().finish()
        );
        let expected = crate::placeholders::find(query).len();
        let marked = crate::placeholders::substitute(query, |_| Some(format!("{marker}()"))).unwrap_or_default();
        let parsed = self.parse_embeddable(model, &marked)?;
        let seen = parsed.functions.iter().filter(|f| **f == marker).count();
        if seen != expected || !parsed.placeholders.is_empty() {
            return Err(bad(
                model,
                "its @ placeholders cannot be located safely (the extension and DuckDB read its strings or comments differently, e.g. an E'...' string with a backslash escape); write its strings with standard quotes ('it''s')"
                    .into(),
            ));
        }
        Ok(())
    }

    /// Checks a query with its placeholders filled: still one SELECT as embedded, calling no refused function.
    pub fn check_filled(&self, model: &str, query: &str) -> Result<()> {
        self.parse_embeddable(model, query).map(|_| ())
    }
}
