//! `incremental_work(max_seconds := 60, leases := NULL, worker := NULL, lease_seconds := 60, idle_seconds := 0,
//! raise_errors := true)`: one worker keeping every model fresh, alongside any number of others.

use super::seconds;
use crate::db::work::{self, Done, Work as WorkArgs};
use crate::db::Pool;
use crate::error::{Error, Result};
use crate::glue::{Caller, Cell, ColType, ParamType, Params, SqlFunction};
use crate::options::ParamValue;

pub struct Work;

pub struct Args {
    work: WorkArgs,
    raise_errors: bool,
}

fn text(params: &Params, name: &str) -> Result<Option<String>> {
    match params.named.get(name) {
        None => Ok(None),
        Some(ParamValue::Text(t)) if !t.trim().is_empty() => Ok(Some(t.clone())),
        Some(other) => {
            Err(Error::usage(format!("incremental_work: {name} must be a non-empty string, not {}", other.shown())))
        }
    }
}

/// `hostname:pid`, the worker's name when none is given.
fn default_worker() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".to_string());
    format!("{host}:{}", std::process::id())
}

impl SqlFunction for Work {
    type Args = Args;
    const NAME: &'static str = "incremental_work";
    const POSITIONAL: &'static [ParamType] = &[];
    const NAMED: &'static [(&'static str, ParamType)] = &[
        ("max_seconds", ParamType::Any),
        ("leases", ParamType::Any),
        ("worker", ParamType::Any),
        ("lease_seconds", ParamType::Any),
        ("idle_seconds", ParamType::Any),
        ("raise_errors", ParamType::Any),
        ("vars", ParamType::Any),
    ];

    fn columns() -> Vec<(&'static str, ColType)> {
        vec![
            ("model", ColType::Varchar),
            ("mode", ColType::Varchar),
            ("worker", ColType::Varchar),
            ("reason", ColType::Varchar),
            ("strategy", ColType::Varchar),
            ("rows_inserted", ColType::BigInt),
            ("rows_updated", ColType::BigInt),
            ("rows_deleted", ColType::BigInt),
            ("started_at", ColType::TimestampTz),
            ("finished_at", ColType::TimestampTz),
            ("error", ColType::Varchar),
        ]
    }

    fn bind(params: &Params, caller: &Caller) -> Result<Args> {
        let lease_seconds = seconds(params, Self::NAME, "lease_seconds", 60.0, 1.0)?;
        Ok(Args {
            work: WorkArgs {
                max_seconds: seconds(params, Self::NAME, "max_seconds", 60.0, 0.0)?,
                leases: text(params, "leases")?,
                worker: text(params, "worker")?.unwrap_or_else(default_worker),
                lease_seconds,
                idle_seconds: seconds(params, Self::NAME, "idle_seconds", 0.0, 0.0)?,
                search_path: caller.search_path.clone(),
                settings: super::settings(params, caller, Self::NAME)?,
            },
            raise_errors: params.flag("raise_errors", true)?,
        })
    }

    fn run(args: &Args, pool: &Pool) -> Result<Vec<Vec<Cell>>> {
        let done = work::run(pool, &args.work)?;
        let failures: Vec<String> = done
            .iter()
            .filter(|d| d.run.mode == "failed" || d.run.mode == "skipped")
            .map(|d| format!("{} {}: {}", d.model, d.run.mode, d.run.reason.trim_start_matches("incremental: ")))
            .collect();
        if args.raise_errors && !failures.is_empty() {
            return Err(Error::usage(format!(
                "incremental_work: {} of {} refreshes did not succeed: {}. The worker went on with the other models; pass raise_errors := false to get the results as rows instead of an error",
                failures.len(),
                done.len(),
                failures.join("; ")
            )));
        }
        Ok(done.into_iter().map(|d| row(d, &args.work.worker)).collect())
    }
}

fn row(d: Done, worker: &str) -> Vec<Cell> {
    vec![
        d.model.into(),
        d.run.mode.as_str().into(),
        worker.into(),
        d.run.reason.as_str().into(),
        d.run.strategy.as_str().into(),
        Cell::Int(d.run.inserted),
        Cell::Int(d.run.updated),
        Cell::Int(d.run.deleted),
        Cell::Micros(d.started_us),
        Cell::Micros(d.finished_us),
        d.run.error.into(),
    ]
}
