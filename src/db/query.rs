//! Asks DuckDB's parser what a model's query is, before any of it is prepared or run: one SELECT, calling no
//! function with effects, with its placeholders where the extension substitutes them.

use std::hash::{BuildHasher, Hasher};

use super::sql::{rows, scalar};
use super::Session;
use crate::analysis::statement::{parsed, refused_function, view_query, Parsed};
use crate::error::{Error, Result};
use crate::model::ModelDef;
use crate::placeholders::Vars;

/// How the extension embeds a model's query in the statements it writes: on lines of its own, so a trailing
/// comment ends before the closing parenthesis.
pub fn wrapped(query: &str) -> String {
    format!("SELECT * FROM (\n{query}\n) AS q")
}

/// How the function names standing for placeholders begin (a random number follows).
const MARKER: &str = "__incremental_placeholder_";

/// How many views and macros are followed for refused calls.
const MAX_DEPTH: usize = 16;

fn bad(model: &str, detail: String) -> Error {
    Error::BadQuery { model: model.to_string(), detail }
}

/// Refuses a call of a refused function written in `parsed` itself; `via` names the views and macros it came
/// through.
fn refuse_calls(model: &str, parsed: &Parsed, via: &str) -> Result<()> {
    match parsed.functions.iter().find_map(|f| Some((f, refused_function(f)?))) {
        Some((f, why)) => {
            Err(bad(model, format!("it calls {f}(){via}, which a model's query may not call: {why}; remove the call")))
        }
        None => Ok(()),
    }
}

impl Session<'_> {
    /// What DuckDB's parser makes of `sql`; the text travels as a parameter, so nothing in it is run.
    fn parse(&self, model: &str, sql: &str) -> Result<Parsed> {
        let json: Option<String> = scalar(self.conn, "SELECT json_serialize_sql(CAST(? AS VARCHAR))", &[&sql])?;
        parsed(&json.unwrap_or_default()).map_err(|detail| bad(model, detail))
    }

    /// One SELECT as DuckDB reads it, also as the extension embeds it, calling no refused function, directly or,
    /// with `follow`, through the views and macros it uses.
    fn parse_embeddable(&self, model: &str, sql: &str, follow: bool) -> Result<Parsed> {
        let parsed = self.parse(model, sql)?;
        self.parse(model, &wrapped(sql))
            .map_err(|_| bad(model, "it cannot be used as a subquery; pass a single SELECT statement".into()))?;
        match follow {
            true => self.check_calls(model, &parsed, "", &mut Vec::new())?,
            false => refuse_calls(model, &parsed, "")?,
        }
        Ok(parsed)
    }

    /// Refuses a call of a refused function in `parsed` or in the definition of a view or macro it uses, followed to
    /// a depth of `MAX_DEPTH`; `via` says through which views and macros, for the message.
    fn check_calls(&self, model: &str, parsed: &Parsed, via: &str, seen: &mut Vec<String>) -> Result<()> {
        refuse_calls(model, parsed, via)?;
        if seen.len() >= MAX_DEPTH {
            return Ok(());
        }
        for (name, definition) in self.definitions_used(parsed)? {
            if seen.contains(&name) {
                continue;
            }
            seen.push(name.clone());
            // A definition DuckDB wrote itself; one its parser cannot read again is left to DuckDB's binder.
            if let Ok(inner) = self.parse(model, &definition) {
                self.check_calls(model, &inner, &format!("{via} through {name}"), seen)?;
            }
        }
        Ok(())
    }

    /// The views and macros `parsed` uses, each with its definition as a query.
    fn definitions_used(&self, parsed: &Parsed) -> Result<Vec<(String, String)>> {
        let mut out = Vec::new();
        let known = |f: &String| self.builtins.lock().is_ok_and(|b| b.contains(f));
        let unknown: Vec<&String> = parsed.functions.iter().filter(|f| !known(f) && !f.starts_with(MARKER)).collect();
        if !unknown.is_empty() {
            // Read once per query that calls something new: DuckDB's own functions are remembered, the macros among
            // the unknown names are followed.
            let all: Vec<(String, bool, String, Option<String>)> = rows(
                self.conn,
                "SELECT lower(function_name), internal, function_type, macro_definition FROM duckdb_functions()",
                &[],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )?;
            if let Ok(mut builtins) = self.builtins.lock() {
                builtins.extend(all.iter().filter(|(_, internal, ..)| *internal).map(|(name, ..)| name.clone()));
            }
            for (name, _, kind, definition) in
                all.into_iter().filter(|(name, internal, ..)| !internal && unknown.contains(&name))
            {
                let query = match kind.as_str() {
                    "table_macro" => definition.unwrap_or_default(),
                    "macro" => format!("SELECT {}", definition.unwrap_or_default()),
                    _ => continue,
                };
                out.push((format!("macro {name}"), query));
            }
        }
        for [catalog, schema, name] in &parsed.tables {
            let found: Vec<String> = rows(
                self.conn,
                "SELECT sql FROM duckdb_views() WHERE NOT internal AND lower(view_name) = lower(?)
                 AND (? = '' OR lower(schema_name) = lower(?)) AND (? = '' OR lower(database_name) = lower(?))",
                &[name, schema, schema, catalog, catalog],
                |r| r.get(0),
            )?;
            out.extend(found.iter().filter_map(|sql| view_query(sql)).map(|q| (format!("view {name}"), q)));
        }
        Ok(out)
    }

    /// Checks a model's query as stored. Each `@name` the extension will replace is first replaced by a call of a
    /// function no query names (a fresh random name): DuckDB must read the text as one SELECT with exactly that
    /// many calls and no `@` operator left, so every value later lands where DuckDB reads code, never inside a
    /// string or comment it reads differently from the extension.
    pub fn check_query(&self, model: &str, query: &str) -> Result<()> {
        let marker = format!("{MARKER}{}", std::collections::hash_map::RandomState::new().build_hasher().finish());
        let expected = crate::placeholders::find(query).len();
        let marked = crate::placeholders::substitute(query, |_| Some(format!("{marker}()"))).unwrap_or_default();
        // An error about the marked text would show the marker: the user's own text is parsed for the message.
        let parsed = self.parse_embeddable(model, &marked, true).map_err(|e| match self.parse(model, query) {
            Err(original) => original,
            Ok(_) => match e {
                Error::BadQuery { detail, .. } => bad(model, detail.replace(&format!("{marker}()"), "@placeholder")),
                other => other,
            },
        })?;
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

    /// The definition with its query filled as for a full build with `vars`, after checking the query as stored
    /// and, again, as filled: still one SELECT as embedded, calling no refused function. The views and macros are
    /// those `check_query` just followed, so only the filled text itself is read again.
    pub fn checked_fill(&self, def: &ModelDef, vars: &Vars) -> Result<ModelDef> {
        let model = def.name();
        self.check_query(&model, &def.query)?;
        let filled = crate::planner::fill(def, None, vars)?;
        self.parse_embeddable(&model, &filled.query, false)?;
        Ok(filled)
    }
}
