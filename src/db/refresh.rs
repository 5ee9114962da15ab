//! Refreshing: one model in its own transaction, or many in dependency order with failures contained.

use std::time::Instant;

use super::catalog::{self, Run, Stored};
use super::{exec, transaction, Session};
use crate::error::{Error, Result};
use crate::model::Target;
use crate::options::{build_definition, options_of};
use crate::pipeline::Graph;
use crate::placeholders::Vars;
use crate::planner;

/// What the caller's session sets for a refresh: placeholder values and the share of the table over which a window
/// is rebuilt in full (`SET incremental_full_fraction`).
#[derive(Debug, Clone)]
pub struct Settings {
    pub vars: Vars,
    pub full_fraction: f64,
    /// Asked before commit: a worker whose claim on the model was lost must not commit.
    pub fence: crate::coord::Fence,
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
        let started = Instant::now();
        let target = self.resolve(name, search_path)?.def.target;
        let _refreshing = self.locks.lock(target.sql_name().to_lowercase())?;
        let outcome = transaction(self.conn, || {
            let stored = self.find(&target)?.ok_or_else(|| Error::UnknownModel { model: name.to_string() })?;
            let done = self.refresh(stored, full_refresh, settings, started)?;
            match settings.fence.lost() {
                Some(detail) => Err(Error::RefreshFailed { model: done.0, detail }),
                None => Ok(done),
            }
        });
        if let Err(e) = &outcome {
            self.record_failure(&target, &e.to_string(), started);
        }
        outcome
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
                        watermark_before: all[i].watermark.clone(),
                        watermark_after: all[i].watermark.clone(),
                        reason,
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
        full_refresh: bool,
        settings: &Settings,
        started: Instant,
    ) -> Result<(String, Run)> {
        let stored = if stored.def.validated { stored } else { self.complete_definition(stored)? };
        let state = self.state(&stored)?;
        self.use_search_path(&stored.def.search_path)?;
        self.checked_fill(&stored.def, &settings.vars)?;
        self.check_query_columns(&stored.def)?;
        let plan = planner::plan(&stored.def, &state, full_refresh, &settings.vars)?;
        let outcome = exec::run(self.conn, &plan, &stored.def, stored.watermark.clone(), settings.full_fraction)?;
        let run = Run {
            mode: outcome.mode.as_str().to_string(),
            strategy: plan.strategy.as_str().to_string(),
            inserted: outcome.inserted,
            updated: outcome.updated,
            deleted: outcome.deleted,
            watermark_before: stored.watermark.clone(),
            watermark_after: outcome.watermark,
            elapsed_ms: started.elapsed().as_secs_f64() * 1000.0,
            reason: outcome.reason.unwrap_or(plan.reason),
            error: None,
        };
        catalog::save_refresh(self.conn, &stored.def.target, &run)?;
        // The shapes are compared with the recorded ones at every refresh; rewriting equal ones would make every
        // no-op write to the catalog.
        if state.source_shapes != state.recorded_shapes {
            super::shapes::save(self.conn, &stored.def.target, &state.source_shapes)?;
        }
        Ok((stored.def.name(), run))
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
    fn record_failure(&self, target: &Target, error: &str, started: Instant) {
        let _ = transaction(self.conn, || {
            let Some(stored) = self.find(target)? else {
                return Ok(());
            };
            let run = Run {
                mode: "failed".into(),
                strategy: stored.def.strategy.as_str().into(),
                watermark_before: stored.watermark.clone(),
                watermark_after: stored.watermark.clone(),
                elapsed_ms: started.elapsed().as_secs_f64() * 1000.0,
                reason: "the refresh failed and was rolled back".into(),
                error: Some(error.to_string()),
                ..Run::default()
            };
            catalog::save_failure(self.conn, target, &run)
        });
    }
}
