//! The constants a model's placeholders stand for in one refresh: the window's bound, `start`, now, user variables.

use crate::error::{Error, Result};
use crate::model::{ModelDef, TimeKind};
use crate::placeholders::{substitute, Vars, BUILT_IN};
use crate::quote::literal;

fn lowest(def: &ModelDef, ty: &str) -> String {
    match def.time_kind {
        Some(TimeKind::Integer) => format!("CAST({} AS {ty})", literal(&i64::MIN.to_string())),
        _ => format!("CAST('-infinity' AS {ty})"),
    }
}

fn highest(def: &ModelDef, ty: &str) -> String {
    match def.time_kind {
        Some(TimeKind::Integer) => format!("CAST({} AS {ty})", literal(&i64::MAX.to_string())),
        _ => format!("CAST(now() AS {ty})"),
    }
}

/// The definition with its query's placeholders filled: `@watermark` is `bound` (the window's lower bound, or on a
/// full build `start`, else the lowest value), `@start` is `start` (else the lowest value), `@end` is the refresh's
/// start time (the highest value for an integer time column), and `@name` is `vars`' text for `name`.
pub fn fill(def: &ModelDef, bound: Option<&str>, vars: &Vars) -> Result<ModelDef> {
    let ty = def.time_type();
    let start = match (&def.start, ty) {
        (Some(s), Some(t)) => Some(format!("CAST({} AS {t})", literal(s))),
        (None, Some(t)) => Some(lowest(def, t)),
        _ => None,
    };
    let value = |name: &str| -> Option<String> {
        match name {
            "watermark" => bound.map(str::to_string).or_else(|| start.clone()),
            "start" => start.clone(),
            "end" => ty.map(|t| highest(def, t)),
            other => vars.get(other).map(|v| literal(v)),
        }
    };
    let query = substitute(&def.query, value).map_err(|name| {
        if BUILT_IN.contains(&name.as_str()) {
            Error::option(
                &def.name(),
                format!("the query uses @{name}, which needs a time_column; pass time_column := 'column'"),
            )
        } else {
            Error::option(
                &def.name(),
                format!("the query uses @{name}; pass its value with vars := {{'{name}': '...'}}"),
            )
        }
    })?;
    Ok(ModelDef { query, ..def.clone() })
}
