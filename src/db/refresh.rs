//! Refreshing: one model in its own transaction, or many in dependency order with failures contained.

use std::time::Instant;

use super::catalog::{self, Run, Stored};
use super::memo::Unchanged;
use super::state::State;
use super::{exec, transaction, Session};
use crate::error::{Error, Result};
use crate::model::Target;
use crate::options::{build_definition, options_of};
use crate::pipeline::Graph;
use crate::placeholders::Vars;
use crate::planner;
use crate::planner::unchanged::{self, Seen};

/// What the caller's session sets for a refresh: placeholder values and the share of the table over which a window
/// is rebuilt in full (`SET incremental_full_fraction`).
#[derive(Debug, Clone)]
pub struct Settings {
    pub vars: Vars,
    pub full_fraction: f64,
    /// The `incremental_work` worker running the refresh, recorded in the history; None when called directly.
    pub worker: Option<String>,
    /// Asked before commit: a worker whose claim on the model was lost must not commit.
    pub fence: crate::coord::Fence,
    /// How long a refresh called directly waits for a worker that holds the model (`wait_seconds`).
    pub wait: std::time::Duration,
}

/// How often a refresh that lost a commit race is tried again, and the first wait (doubled after each try).
const TRIES: u32 = 8;
const FIRST_WAIT_MS: u64 = 40;

/// True for the errors another writer causes, after which the same refresh succeeds when tried again: DuckLake's
/// per-table commit conflicts, its lost race for the next snapshot id once its own retries ran out (PostgreSQL
/// reports the snapshot key as taken), SQLite's lock, PostgreSQL's serialization failures and DuckDB's own write
/// conflicts.
pub fn retryable(e: &Error) -> bool {
    let text = e.to_string();
    [
        "Transaction conflict",
        "Key (snapshot_id)=",
        "ducklake_snapshot_pkey",
        "Exceeded the maximum retry count",
        "database is locked",
        "could not serialize access",
        "Conflict on tuple deletion",
        "Conflict on update",
    ]
    .iter()
    .any(|t| text.contains(t))
}

/// Runs `f` in a transaction, again after a growing, jittered wait when another writer made it fail.
pub fn retrying<T>(conn: &duckdb::Connection, mut f: impl FnMut() -> Result<T>) -> Result<T> {
    let (mut wait, mut attempt) = (FIRST_WAIT_MS, 1);
    loop {
        match transaction(conn, &mut f) {
            Err(e) if attempt < TRIES && retryable(&e) => {
                let jitter = (super::history::now_us() as u64 / 7) % wait;
                std::thread::sleep(std::time::Duration::from_millis(wait + jitter));
                (wait, attempt) = (wait * 2, attempt + 1);
            }
            outcome => return outcome,
        }
    }
}

/// What one refresh's transaction did: the model's name as shown, its run, where it found nothing to do (when the
/// lake's snapshot alone can answer the next time), and the state it wrote.
struct Refreshed {
    name: String,
    run: Run,
    unchanged: Option<Seen>,
    wrote: Option<State>,
}

impl Session<'_> {
    /// Refreshes one model in its own transaction; a failure is rolled back and written to its history.
    pub fn refresh_model(
        &self,
        name: &str,
        search_path: &str,
        full_refresh: bool,
        settings: &Settings,
    ) -> Result<(String, Run)> {
        let started = (Instant::now(), super::history::now_us());
        let target = self.model_target(name, search_path)?;
        let key = target.sql_name().to_lowercase();
        let _refreshing = self.locks.lock(key.clone())?;
        if let Some(done) = self.known_unchanged(&key, full_refresh, settings, started)? {
            return Ok(done);
        }
        let outcome = self.under_claim(&target, settings, |settings| {
            retrying(self.conn, || {
                let (stored, at) = match self.seen_model(&target)? {
                    Some((stored, at)) => (stored, Some(at)),
                    None => (self.find(&target)?.ok_or_else(|| self.missing(name, &target))?, None),
                };
                let names = at.as_ref().map(|a: &super::seen::ReadAt| &a.names);
                let done = self.refresh(stored, names, full_refresh, settings, started)?;
                match settings.fence.lost() {
                    Some(detail) => Err(Error::RefreshFailed { model: done.name, detail }),
                    None => Ok((done, at)),
                }
            })
        });
        match outcome {
            Ok((Refreshed { name, run, unchanged, wrote }, at)) => {
                if let (Some(at), Some(state)) = (at, wrote) {
                    self.wrote_state(&target, &at, &state);
                }
                let remembered = unchanged.map(|seen| Unchanged { seen, name: name.clone(), run: run.clone() });
                self.memo.set_unchanged(&key, remembered);
                Ok((name, run))
            }
            Err(e) => {
                self.memo.set_unchanged(&key, None);
                self.record_failure(&target, &e.to_string(), settings, started);
                Err(e)
            }
        }
    }

    /// The model a name means; a fully qualified name needs no lookup before the refresh's transaction.
    fn model_target(&self, name: &str, search_path: &str) -> Result<Target> {
        match crate::names::candidates(name, search_path, &self.default_database()?)?.as_slice() {
            [only] => Ok(only.clone()),
            _ => Ok(self.resolve(name, search_path)?.def.target),
        }
    }

    /// The error for a name that holds no model: a table or view there, or nothing.
    fn missing(&self, name: &str, target: &Target) -> Error {
        match self.relation(target) {
            Ok(Some(_)) => Error::NotAModel { relation: target.display() },
            _ => Error::UnknownModel { model: name.to_string() },
        }
    }

    /// A no-op answered from the lake's snapshot id alone, when the model's last refresh found nothing to do at the
    /// snapshot the lake is still at (`planner::unchanged`); it reads and writes nothing else.
    fn known_unchanged(
        &self,
        key: &str,
        full_refresh: bool,
        settings: &Settings,
        started: (Instant, i64),
    ) -> Result<Option<(String, Run)>> {
        let Some(Unchanged { seen, name, run }) = self.memo.unchanged(key) else {
            return Ok(None);
        };
        // A lake detached since is not an error here: the refresh then finds out what it can.
        let Ok((path, current)) = self.lake_snapshot(&seen.lake) else {
            return Ok(None);
        };
        if !unchanged::still_unchanged(&seen, &path, current, full_refresh, &settings.vars) {
            return Ok(None);
        }
        let run = Run {
            elapsed_ms: started.0.elapsed().as_secs_f64() * 1000.0,
            started_us: started.1,
            worker: settings.worker.clone(),
            reason: unchanged::reason(&seen, &run.reason),
            ..run
        };
        Ok(Some((name, run)))
    }

    /// Where an attached lake's data lives and its current snapshot, in one statement.
    pub(super) fn lake_snapshot(&self, lake: &str) -> Result<(String, Option<i64>)> {
        let sql = format!(
            "SELECT (SELECT coalesce(path, '') FROM duckdb_databases() WHERE database_name = {}),
                    (SELECT id FROM {}.current_snapshot())",
            crate::quote::literal(lake),
            crate::quote::ident(lake)
        );
        let found = super::sql::rows(self.conn, &sql, &[], |r| {
            Ok((r.get::<_, Option<String>>(0)?.unwrap_or_default(), r.get::<_, Option<i64>>(1)?))
        })?;
        Ok(found.into_iter().next().unwrap_or_default())
    }

    /// Refreshes `order` (each model after the models it reads); a model reading a failed or skipped one is
    /// skipped with that reason, and models that do not depend on it still refresh.
    pub fn refresh_in_order(
        &self,
        all: &[Stored],
        graph: &Graph,
        order: &[usize],
        full_refresh: impl Fn(usize) -> bool,
        settings: &Settings,
    ) -> Vec<(String, Run)> {
        let mut out: Vec<(String, Run)> = Vec::new();
        let mut not_refreshed: Vec<usize> = Vec::new();
        for &i in order {
            let def = &all[i].def;
            let blocked = graph.reads[i].iter().find(|j| not_refreshed.contains(j));
            let outcome = match blocked {
                Some(&j) => Err((
                    "skipped",
                    format!("upstream model {} was not refreshed, so this one was skipped", all[j].def.name()),
                )),
                None => self
                    .refresh_model(&def.target.sql_name(), "", full_refresh(i), settings)
                    .map_err(|e| ("failed", e.to_string())),
            };
            match outcome {
                Ok(done) => out.push(done),
                Err((mode, reason)) => {
                    not_refreshed.push(i);
                    let run = Run {
                        mode: mode.into(),
                        strategy: def.strategy.as_str().into(),
                        watermark_before: all[i].state.shown_watermark(),
                        watermark_after: all[i].state.shown_watermark(),
                        reason,
                        worker: settings.worker.clone(),
                        started_us: super::history::now_us(),
                        ..Run::default()
                    };
                    out.push((def.name(), run));
                }
            }
        }
        out
    }

    fn refresh(
        &self,
        stored: Stored,
        names: Option<&super::seen::LakeNames>,
        full_refresh: bool,
        settings: &Settings,
        started: (Instant, i64),
    ) -> Result<Refreshed> {
        let stored = if stored.def.validated { stored } else { self.complete_definition(stored)? };
        let state = self.state(&stored, names)?;
        self.use_search_path(&stored.def.search_path)?;
        self.checked_fill(&stored.def, &settings.vars)?;
        self.check_query_columns(&stored.def)?;
        let plan = planner::plan(&stored.def, &state, full_refresh, &settings.vars)?;
        let outcome = exec::run(self.conn, &plan, &stored.def, &state, settings.full_fraction)?;
        let after = State {
            built: true,
            watermark: outcome.watermark.clone(),
            source_marks: outcome.source_marks.clone(),
            source_shapes: state.source_shapes.clone(),
            rebuild_reason: None,
            last_refresh_us: Some(super::history::now_us()),
            last_mode: Some(outcome.mode.as_str().to_string()),
            status: "ok".into(),
            worker: settings.worker.clone(),
        };
        let run = Run {
            mode: outcome.mode.as_str().to_string(),
            strategy: plan.strategy.as_str().to_string(),
            inserted: outcome.inserted,
            updated: outcome.updated,
            deleted: outcome.deleted,
            watermark_before: stored.state.shown_watermark(),
            watermark_after: after.shown_watermark(),
            elapsed_ms: started.0.elapsed().as_secs_f64() * 1000.0,
            reason: outcome.reason.unwrap_or(plan.reason),
            error: None,
            worker: settings.worker.clone(),
            started_us: started.1,
        };
        // A no-op writes nothing: shapes that changed without changing a row are seen again at the next refresh.
        let noop = outcome.mode == planner::Mode::Noop && state.source_shapes == state.recorded_shapes;
        catalog::save_refresh(self.conn, &stored.def.target, &after, &run, noop)?;
        let unchanged = match unchanged::rememberable(&stored.def, &state) {
            Some((lake, snapshot)) if noop && stored.state.status == "ok" => {
                let path = self.lake_snapshot(&lake)?.0;
                Some(Seen { lake, path, snapshot, vars: settings.vars.clone() })
            }
            _ => None,
        };
        Ok(Refreshed { name: stored.def.name(), run, unchanged, wrote: (!noop).then_some(after) })
    }

    /// Checks a definition made before the models it reads were built, now that its query binds.
    fn complete_definition(&self, stored: Stored) -> Result<Stored> {
        let def = &stored.def;
        self.use_search_path(&def.search_path)?;
        let waiting = self.unbuilt_models_read(&def.bindable_query(), &def.search_path)?;
        if !waiting.is_empty() {
            return Err(Error::RefreshFailed {
                model: def.name(),
                detail: format!(
                    "it reads models not built yet ({}); refresh them first, or call incremental_refresh('{}', upstream := true)",
                    waiting.join(", "),
                    def.name()
                ),
            });
        }
        let columns = self.describe(&def.name(), &def.bindable_query())?;
        let checked = build_definition(
            def.target.clone(),
            def.query.clone(),
            columns,
            &options_of(def),
            def.search_path.clone(),
        )?;
        let checked = self.resolve_sources(self.infer_sources(checked)?)?;
        let checked = self.check_values(checked)?;
        catalog::save_definition(self.conn, &checked, None)?;
        Ok(Stored { def: checked, ..stored })
    }

    /// Writes the failure to the history of a model that exists; the data and watermark were rolled back.
    /// The history row and the status are written apart, so the row lands even when the status is what a
    /// concurrent refresh of the model conflicts on.
    fn record_failure(&self, target: &Target, error: &str, settings: &Settings, started: (Instant, i64)) {
        let Ok(Some(stored)) = self.find(target) else {
            return;
        };
        let _ = retrying(self.conn, || {
            let run = Run {
                mode: "failed".into(),
                strategy: stored.def.strategy.as_str().into(),
                watermark_before: stored.state.shown_watermark(),
                watermark_after: stored.state.shown_watermark(),
                elapsed_ms: started.0.elapsed().as_secs_f64() * 1000.0,
                reason: "the refresh failed and was rolled back".into(),
                error: Some(error.to_string()),
                worker: settings.worker.clone(),
                started_us: started.1,
                ..Run::default()
            };
            super::history::add(self.conn, target, &run)
        });
        let _ = retrying(self.conn, || super::state::set_status(self.conn, target, "failed"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sql(detail: &str) -> Error {
        Error::Sql { context: "running SQL".into(), detail: detail.into() }
    }

    #[test]
    fn lost_commit_races_are_retried_and_other_errors_are_not() {
        let race = "TransactionContext Error: Failed to commit: Failed to commit DuckLake transaction. \
                    Failed to flush changes into DuckLake: ERROR: duplicate key value violates unique constraint \
                    \"ducklake_snapshot_pkey\" DETAIL: Key (snapshot_id)=(107) already exists.";
        assert!(retryable(&sql(race)));
        assert!(retryable(&sql("Exceeded the maximum retry count of 10 set by the ducklake_max_retry_count setting.")));
        assert!(retryable(&sql(
            "Transaction conflict - attempting to insert into table with index \"1\" - but another transaction has deleted from it"
        )));
        assert!(retryable(&sql("database is locked")));
        assert!(!retryable(&sql("Catalog Error: Table with name ev does not exist!")));
        assert!(!retryable(&sql("Constraint Error: Duplicate key \"id: 1\" violates primary key constraint.")));
    }
}
