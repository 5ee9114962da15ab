//! One file per SQL function: each parses its parameters in bind and does its work in run.

pub mod create;
pub mod drop;
pub mod explain;
pub mod history;
pub mod maintain;
pub mod models;
pub mod refresh;
pub mod refresh_all;
pub mod verify;
pub mod work;

use crate::db::Settings;
use crate::error::{Error, Result};
use crate::glue::{Caller, Params};
use crate::options::ParamValue;
use crate::placeholders::Vars;

/// The required model name in the first position.
pub(crate) fn model_name(params: &Params, function: &str) -> Result<String> {
    let name = params
        .text(0)
        .filter(|n| !n.trim().is_empty())
        .ok_or_else(|| Error::usage(format!("{function} needs a model name, e.g. CALL {function}('daily_revenue')")))?;
    match name.chars().find(|c| c.is_control()) {
        Some(c) => Err(Error::usage(format!(
            "{function}: the model name {name:?} contains the control character U+{:04X}; a model name is a table name: use printable characters",
            c as u32
        ))),
        None => Ok(name),
    }
}

/// The arguments of the functions that act on one model: its name, resolved later as the caller would.
pub struct ModelArgs {
    pub name: String,
    pub full_refresh: bool,
    pub search_path: String,
    pub settings: Settings,
}

/// `vars := {'name': value, ...}` (a STRUCT or a MAP): the values of the query's `@name` placeholders, as text.
/// `wait_seconds := 60`: how long a refresh waits for a worker that holds the model.
pub(crate) fn settings(params: &Params, caller: &Caller, function: &str) -> Result<Settings> {
    Ok(Settings {
        vars: vars(params)?,
        full_fraction: caller.full_fraction,
        worker: None,
        fence: Default::default(),
        wait: std::time::Duration::from_secs_f64(seconds(params, function, "wait_seconds", 60.0, 0.0)?),
    })
}

/// A named parameter that is a number of seconds, at least `min`.
pub(crate) fn seconds(params: &Params, function: &str, name: &str, default: f64, min: f64) -> Result<f64> {
    let value = match params.named.get(name) {
        None => return Ok(default),
        Some(ParamValue::Integer(n)) => Some(*n as f64),
        Some(ParamValue::Text(t) | ParamValue::Other(t)) => t.trim().parse::<f64>().ok(),
        Some(_) => None,
    };
    match value.filter(|v| v.is_finite() && *v >= min && *v <= 1e9) {
        Some(v) => Ok(v),
        None => Err(Error::usage(format!(
            "{function}: {name} must be a number of seconds of at least {min}, not {}; pass e.g. {name} := {default}",
            params.named.get(name).map(|v| v.shown()).unwrap_or_default()
        ))),
    }
}

fn vars(params: &Params) -> Result<Vars> {
    match params.named.get("vars") {
        None => Ok(Vars::new()),
        Some(ParamValue::Struct(fields)) => fields
            .iter()
            .map(|(k, v)| match v {
                ParamValue::Null | ParamValue::List(_) | ParamValue::Struct(_) => Err(Error::usage(format!(
                    "vars gives @{k} the value {}; give one value, such as {{'{k}': '2024-01-01'}}",
                    v.shown()
                ))),
                v => Ok((k.to_lowercase(), v.text())),
            })
            .collect(),
        Some(other) => Err(Error::usage(format!(
            "vars must be a struct such as {{'start_date': '2024-01-01'}}, not {}",
            other.shown()
        ))),
    }
}

impl ModelArgs {
    pub fn bind(params: &Params, caller: &Caller, function: &str) -> Result<ModelArgs> {
        Ok(ModelArgs {
            name: model_name(params, function)?,
            full_refresh: params.flag("full_refresh", false)?,
            search_path: caller.search_path.clone(),
            settings: settings(params, caller, function)?,
        })
    }
}
