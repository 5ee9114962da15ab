//! Turns the parameters of `incremental_create` into a validated model definition.

use crate::error::{Error, Result};
use crate::model::{Column, Lookback, ModelDef, Source, Strategy, Target, TimeKind};

/// A parameter value as DuckDB passed it, reduced to what the options need.
#[derive(Debug, Clone, PartialEq)]
pub enum ParamValue {
    Text(String),
    Bool(bool),
    Integer(i64),
    Interval(String),
    List(Vec<ParamValue>),
    /// A STRUCT or a MAP: names (or keys, as text) and values.
    Struct(Vec<(String, ParamValue)>),
    /// Any other type (a DATE, a TIMESTAMP, ...), as DuckDB renders it.
    Other(String),
    /// A NULL inside a list, struct or map (a NULL parameter itself is no value at all).
    Null,
}

impl ParamValue {
    pub fn text(&self) -> String {
        match self {
            ParamValue::Text(t) | ParamValue::Interval(t) => t.clone(),
            ParamValue::Integer(n) => n.to_string(),
            ParamValue::Bool(b) => b.to_string(),
            ParamValue::Other(text) => text.clone(),
            ParamValue::List(items) => items.iter().map(|i| i.text()).collect::<Vec<_>>().join(", "),
            ParamValue::Struct(fields) => {
                fields.iter().map(|(k, v)| format!("{k}: {}", v.text())).collect::<Vec<_>>().join(", ")
            }
            ParamValue::Null => "NULL".into(),
        }
    }

    /// The value as SQL would write it, for messages: quotes, brackets and braces kept, so a list never reads as
    /// its element.
    pub fn shown(&self) -> String {
        let list = |items: Vec<String>| items.join(", ");
        match self {
            ParamValue::Text(t) => crate::quote::literal(t),
            ParamValue::Interval(t) => format!("INTERVAL {}", crate::quote::literal(t)),
            ParamValue::Integer(n) => n.to_string(),
            ParamValue::Bool(b) => b.to_string(),
            ParamValue::Other(t) => t.clone(),
            ParamValue::Null => "NULL".into(),
            ParamValue::List(items) => format!("[{}]", list(items.iter().map(|i| i.shown()).collect())),
            ParamValue::Struct(fields) => format!(
                "{{{}}}",
                list(fields.iter().map(|(k, v)| format!("{}: {}", crate::quote::literal(k), v.shown())).collect())
            ),
        }
    }
}

/// The parameters of `incremental_create`, before they are checked against the query's columns.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CreateOptions {
    pub strategy: Option<String>,
    pub unique_key: Option<ParamValue>,
    pub time_column: Option<String>,
    pub lookback: Option<ParamValue>,
    pub start: Option<ParamValue>,
    pub sources: Option<ParamValue>,
    pub target_lag: Option<ParamValue>,
    pub replace: bool,
    pub keep_data: bool,
}

/// The query text with surrounding blanks and trailing semicolons removed.
pub fn clean_query(query: &str) -> String {
    query.trim().trim_end_matches(|c: char| c == ';' || c.is_whitespace()).to_string()
}

fn find_column<'a>(model: &str, columns: &'a [Column], wanted: &str, role: &str) -> Result<&'a Column> {
    columns.iter().find(|c| c.name.eq_ignore_ascii_case(wanted)).ok_or_else(|| {
        let names = columns.iter().map(|c| c.name.as_str()).collect::<Vec<_>>().join(", ");
        Error::option(model, format!("{role} \"{wanted}\" is not an output column of the query (columns: {names})"))
    })
}

fn key_names(model: &str, value: &ParamValue) -> Result<Vec<String>> {
    let names: Vec<String> = match value {
        ParamValue::List(items) => items.iter().map(|i| i.text().trim().to_string()).collect(),
        ParamValue::Text(t) => t.split(',').map(|s| s.trim().to_string()).collect(),
        other => {
            return Err(Error::option(
                model,
                format!(
                    "unique_key must be a column name, a comma-separated list or a list such as ['a', 'b'], not {}",
                    other.shown()
                ),
            ))
        }
    };
    if names.iter().any(|n| n.is_empty()) || names.is_empty() {
        return Err(Error::option(model, "unique_key has an empty column name; pass e.g. unique_key := 'order_id'"));
    }
    Ok(names)
}

fn parse_strategy(model: &str, text: &str) -> Result<Option<Strategy>> {
    match text.trim().to_ascii_lowercase().as_str() {
        "auto" => Ok(None),
        "append" => Ok(Some(Strategy::Append)),
        "merge" => Ok(Some(Strategy::Merge)),
        "delete+insert" | "delete_insert" => Ok(Some(Strategy::DeleteInsert)),
        "full" => Ok(Some(Strategy::Full)),
        other => Err(Error::option(
            model,
            format!("unknown strategy '{other}'; use 'auto', 'append', 'merge', 'delete+insert' or 'full'"),
        )),
    }
}

/// `sources := {'orders': 'updated_at', ...}`: each table the query reads, with its change column.
fn parse_sources(model: &str, value: &ParamValue) -> Result<Vec<Source>> {
    let ParamValue::Struct(fields) = value else {
        return Err(Error::option(
            model,
            format!(
                "sources must map each table to its change column, such as {{'orders': 'updated_at'}}, not {}",
                value.shown()
            ),
        ));
    };
    fields
        .iter()
        .map(|(relation, column)| match column {
            ParamValue::Text(c) if !c.trim().is_empty() && !relation.trim().is_empty() => {
                Ok(Source { relation: relation.trim().to_string(), kind: crate::model::Kind::declared(c.trim()) })
            }
            other => Err(Error::option(
                model,
                format!(
                    "sources names table '{relation}' with change column {}; give a column name such as 'updated_at'",
                    other.shown()
                ),
            )),
        })
        .collect()
}

/// Checks that the query can be refreshed by the keys its sources' changes reach, and that the options agree.
fn check_sources(model: &str, query: &str, sources: &[Source], unique_key: &[String], has_time: bool) -> Result<()> {
    let bad = |detail: String| Err(Error::option(model, detail));
    if has_time {
        return bad("sources and time_column are two ways to find changed rows; pass only one of them".into());
    }
    if unique_key.is_empty() && crate::analysis::whole(query).is_none() {
        return bad("sources needs a unique_key: the group or partition key whose rows a change can reach".into());
    }
    let named: Vec<crate::analysis::SourceRows> =
        sources.iter().map(|s| crate::analysis::SourceRows::whole(&s.relation, &s.sql_name())).collect();
    match crate::analysis::keyed(query, unique_key, &named, "k") {
        Ok(_) => Ok(()),
        Err(why) => bad(format!(
            "sources cannot be used because the query cannot be refreshed by key: {why}; change the query, or leave sources out (the model then uses time_column or a full rebuild)"
        )),
    }
}

/// Picks the strategy for `'auto'` and checks a requested one has what it needs.
fn choose_strategy(
    model: &str,
    requested: Option<Strategy>,
    has_key: bool,
    has_time: bool,
    has_lookback: bool,
    has_sources: bool,
) -> Result<(Strategy, String)> {
    let need = |detail: &str| Err(Error::option(model, detail.to_string()));
    match requested {
        None if has_sources => Ok((Strategy::Merge, "auto: sources and unique_key given, so the keys that the sources' changed rows reach are recomputed and merged".into())),
        Some(Strategy::Append | Strategy::Full) if has_sources => need("sources works with strategy 'auto', 'merge' or 'delete+insert'; leave strategy out"),
        None if has_key => Ok((Strategy::Merge, "auto: unique_key given, so changed keys are upserted (merge)".into())),
        None if has_time => Ok((
            Strategy::DeleteInsert,
            "auto: time_column without unique_key, so the time window from watermark - lookback is replaced (delete+insert)".into(),
        )),
        None => Ok((Strategy::Full, "auto: neither unique_key nor time_column identifies changed rows, so the table is rebuilt (full)".into())),
        Some(Strategy::Merge) if !has_key => need("strategy 'merge' needs unique_key; pass unique_key := 'column', or use strategy := 'delete+insert' with a time_column"),
        Some(Strategy::DeleteInsert) if !has_key && !has_time => need("strategy 'delete+insert' needs a unique_key or a time_column; pass unique_key := 'column' or time_column := 'column'"),
        Some(Strategy::Append) if !has_key && !has_time => need("strategy 'append' needs a time_column (to find new rows) or a unique_key (to skip rows already present)"),
        Some(Strategy::Append) if has_lookback && !has_key => need("strategy 'append' with a lookback needs a unique_key, otherwise re-read rows would be inserted twice"),
        Some(s) => Ok((s, format!("strategy '{}' requested", s.as_str()))),
    }
}

fn parse_lookback(model: &str, value: &ParamValue, kind: TimeKind) -> Result<Lookback> {
    match (kind, value) {
        (TimeKind::Integer, ParamValue::Integer(n)) if *n >= 0 => Ok(Lookback::Integer(*n)),
        (TimeKind::Integer, ParamValue::Text(t)) if t.trim().parse::<i64>().is_ok_and(|n| n >= 0) => {
            Ok(Lookback::Integer(t.trim().parse().unwrap_or(0)))
        }
        (TimeKind::Integer, other) => Err(Error::option(
            model,
            format!("lookback for an integer time_column must be a non-negative integer, not {}", other.shown()),
        )),
        (_, ParamValue::Interval(t)) | (_, ParamValue::Text(t)) => Ok(Lookback::Interval(t.trim().to_string())),
        (_, other) => Err(Error::option(
            model,
            format!(
                "lookback for a date or timestamp time_column must be an INTERVAL such as INTERVAL '14 days', not {}",
                other.shown()
            ),
        )),
    }
}

/// `start` is one value of the time column's type; a list, struct or NULL inside is refused, not flattened to text.
fn scalar_start(model: &str, value: &ParamValue) -> Result<String> {
    match value {
        ParamValue::List(_) | ParamValue::Struct(_) | ParamValue::Null => Err(Error::option(
            model,
            format!(
                "start must be one value of the time column's type, such as DATE '2024-01-01', not {}",
                value.shown()
            ),
        )),
        scalar => Ok(scalar.text()),
    }
}

/// Validates the options against the query's output columns and returns the definition to store.
pub fn build_definition(
    target: Target,
    query: String,
    columns: Vec<Column>,
    opts: &CreateOptions,
    search_path: String,
) -> Result<ModelDef> {
    define(target, query, Some(columns), opts, search_path)
}

/// A definition whose query cannot bind yet because it reads models not built yet: the options are parsed, and
/// checked against the columns at its first refresh (`build_definition` with `options_of`).
pub fn deferred_definition(
    target: Target,
    query: String,
    opts: &CreateOptions,
    search_path: String,
) -> Result<ModelDef> {
    define(target, query, None, opts, search_path)
}

/// The definition; without `columns` the names are taken as given and checked later.
fn define(
    target: Target,
    query: String,
    columns: Option<Vec<Column>>,
    opts: &CreateOptions,
    search_path: String,
) -> Result<ModelDef> {
    let model = target.display();
    let requested = opts.strategy.clone().unwrap_or_else(|| "auto".to_string());
    let strategy_choice = parse_strategy(&model, &requested)?;
    let output = |name: &str, role: &str| -> Result<Option<&Column>> {
        columns.as_deref().map(|cols| find_column(&model, cols, name, role)).transpose()
    };
    let mut unique_key = Vec::new();
    for k in opts.unique_key.as_ref().map(|v| key_names(&model, v)).transpose()?.unwrap_or_default() {
        unique_key.push(output(&k, "unique_key column")?.map_or(k, |c| c.name.clone()));
    }
    let (time_column, time_kind) = match &opts.time_column {
        None => (None, None),
        Some(tc) => match output(tc.trim(), "time_column")? {
            None => (Some(tc.trim().to_string()), None),
            Some(col) => {
                let kind = TimeKind::of_type(&col.type_name).ok_or_else(|| {
                    Error::option(
                        &model,
                        format!(
                            "time_column \"{}\" has type {}; use a DATE, TIMESTAMP, TIMESTAMPTZ or integer column",
                            col.name, col.type_name
                        ),
                    )
                })?;
                (Some(col.name.clone()), Some(kind))
            }
        },
    };
    let has_sources = opts.sources.is_some();
    if time_column.is_none() {
        // A lookback also applies to every change column of `sources`.
        for (given, what) in [(opts.lookback.is_some() && !has_sources, "lookback"), (opts.start.is_some(), "start")] {
            if given {
                return Err(Error::option(&model, format!("{what} needs a time_column; pass time_column := 'column'")));
            }
        }
    }
    let lookback = match (&opts.lookback, time_kind) {
        (None, _) => None,
        (Some(v), Some(kind)) => Some(parse_lookback(&model, v, kind)?),
        (Some(ParamValue::Integer(n)), None) => Some(Lookback::Integer(*n)),
        (Some(v @ (ParamValue::Text(_) | ParamValue::Interval(_))), None) => Some(Lookback::Interval(v.text())),
        (Some(other), None) => {
            return Err(Error::option(
                &model,
                format!(
                    "lookback must be an INTERVAL such as INTERVAL '14 days' or a non-negative integer, not {}",
                    other.shown()
                ),
            ))
        }
    };
    let sources = opts.sources.as_ref().map(|v| parse_sources(&model, v)).transpose()?.unwrap_or_default();
    // With sources, the key checks accept a set-returning call outside the key (the input row's columns key its rows).
    if !unique_key.is_empty() && time_column.is_some() {
        if let Some(f) = crate::analysis::set_returning_call(&crate::placeholders::bindable(&query)) {
            return Err(Error::option(
                &model,
                format!(
                    "the query calls {f}(), which returns several rows per input row, so its rows cannot be refreshed by unique_key with a time_column; leave unique_key out (a time_column alone replaces the window's rows), or declare sources instead, keyed by columns of the input row (the keys a change reaches are recomputed)"
                ),
            ));
        }
    }
    if !sources.is_empty() {
        check_sources(&model, &crate::placeholders::bindable(&query), &sources, &unique_key, time_column.is_some())?;
    }
    let (strategy, strategy_reason) = choose_strategy(
        &model,
        strategy_choice,
        // An aggregate without GROUP BY or a top-k read from sources is keyed by the empty key (`analysis::whole`).
        !unique_key.is_empty()
            || (!sources.is_empty() && crate::analysis::whole(&crate::placeholders::bindable(&query)).is_some()),
        time_column.is_some(),
        lookback.is_some(),
        !sources.is_empty(),
    )?;
    Ok(ModelDef {
        target,
        query,
        requested_strategy: requested.trim().to_ascii_lowercase(),
        strategy,
        strategy_reason,
        unique_key,
        time_column,
        time_kind,
        lookback,
        start: opts.start.as_ref().map(|v| scalar_start(&model, v)).transpose()?,
        validated: columns.is_some(),
        columns: columns.unwrap_or_default(),
        search_path,
        sources,
        sources_inferred: false,
        target_lag: opts.target_lag.as_ref().map(|v| parse_target_lag(&model, v)).transpose()?,
    })
}

/// `'downstream'`, or an interval (its length is read by DuckDB in `Session::check_values`).
fn parse_target_lag(model: &str, value: &ParamValue) -> Result<crate::model::TargetLag> {
    match value {
        ParamValue::Text(t) if t.trim().eq_ignore_ascii_case("downstream") => Ok(crate::model::TargetLag::Downstream),
        ParamValue::Interval(t) | ParamValue::Text(t) => {
            Ok(crate::model::TargetLag::Interval { text: t.clone(), seconds: 0.0 })
        }
        other => Err(Error::option(
            model,
            format!(
                "target_lag must be an INTERVAL such as INTERVAL '5 minutes' or 'downstream', not {}",
                other.shown()
            ),
        )),
    }
}

/// The options a definition was made from, to check them again against the query's columns.
pub fn options_of(def: &ModelDef) -> CreateOptions {
    CreateOptions {
        strategy: Some(def.requested_strategy.clone()),
        unique_key: (!def.unique_key.is_empty())
            .then(|| ParamValue::List(def.unique_key.iter().map(|k| ParamValue::Text(k.clone())).collect())),
        time_column: def.time_column.clone(),
        lookback: def.lookback.as_ref().map(|l| match l {
            Lookback::Integer(n) => ParamValue::Integer(*n),
            Lookback::Interval(t) => ParamValue::Interval(t.clone()),
        }),
        start: def.start.clone().map(ParamValue::Text),
        sources: (!def.sources.is_empty() && !def.sources_inferred).then(|| {
            ParamValue::Struct(
                def.sources.iter().map(|s| (s.relation.clone(), ParamValue::Text(s.kind.declaration()))).collect(),
            )
        }),
        target_lag: def.target_lag.as_ref().map(|l| match l {
            crate::model::TargetLag::Interval { text, .. } => ParamValue::Interval(text.clone()),
            crate::model::TargetLag::Downstream => ParamValue::Text("downstream".into()),
        }),
        replace: false,
        keep_data: false,
    }
}
