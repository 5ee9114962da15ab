//! One worker's loop: claim a due model (each after the models it reads), refresh it under a renewed claim, release
//! it, and go on until nothing is due or the time is up.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::catalog::{self, Attached, Run, Stored};
use super::{cycle_error, session, Pool, Session, Settings};
use crate::coord::hold::Hold;
use crate::coord::leases::Leases;
use crate::coord::local::Local;
use crate::coord::{Claim, Coordinator};
use crate::error::{Error, Result};
use crate::model::Target;
use crate::pipeline::Graph;

/// How soon a worker looks again after a pass left models to other workers, and after a pass that found nothing.
const POLL: Duration = Duration::from_millis(100);
const IDLE_POLL: Duration = Duration::from_millis(500);

/// How a pass ended.
#[derive(PartialEq)]
enum Pass {
    /// Every due model was tried.
    Done,
    /// What is left is held by other workers, or reads or is read by a model they hold: they take it on.
    LeftToOthers,
    OutOfTime,
}

/// What `incremental_work` was asked to do.
#[derive(Debug, Clone)]
pub struct Work {
    pub max_seconds: f64,
    pub leases: Option<String>,
    pub worker: String,
    pub lease_seconds: f64,
    pub idle_seconds: f64,
    pub search_path: String,
    pub settings: Settings,
}

/// One refresh a worker did (or could not do), with when it ran (microseconds since the epoch).
pub struct Done {
    pub model: String,
    pub run: Run,
    pub started_us: i64,
    pub finished_us: i64,
}

fn now_us() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_micros() as i64).unwrap_or(0)
}

/// The claim's name for a model: its schema and table, which are the same in every process, while the name a process
/// attached the lake under is its own.
pub(super) fn lease_key(target: &Target) -> String {
    format!("{}.{}", target.schema, target.table).to_lowercase()
}

/// Runs the worker loop on one pool connection; claims go through the coordinator the databases call for.
pub fn run(pool: &Pool, work: &Work) -> Result<Vec<Done>> {
    session(pool, &work.search_path, |s| {
        // Listed once per call, in one transaction: each listing asks every attached lake for its schemas (5-10 ms
        // on a PostgreSQL catalog). A database attached while the call runs is looked at by the next call.
        let attached = super::transaction(s.conn, || catalog::attached(s.conn))?;
        let coordinator = coordinator(pool, work.leases.as_deref(), &attached)?;
        let owner = owner(&work.worker, &pool.instance);
        Worker { s, coord: coordinator.as_ref(), work, owner, attached }.run()
    })
}

/// A claim's owner: the worker's name made unique to this call, so two calls that share a name never share a claim.
pub(super) fn owner(worker: &str, instance: &str) -> String {
    static CALLS: AtomicU64 = AtomicU64::new(0);
    let n = CALLS.fetch_add(1, Ordering::SeqCst);
    format!("{worker}#{}-{n}", instance.get(..8).unwrap_or(instance))
}

/// Leases in PostgreSQL when `leases` names a database or the models live in a DuckLake whose catalog is one;
/// in-process claims when every model is in a DuckDB file.
fn coordinator<'a>(pool: &'a Pool, leases: Option<&str>, attached: &[Attached]) -> Result<Box<dyn Coordinator + 'a>> {
    if let Some(dsn) = leases {
        return Ok(Box::new(Leases::open(pool, dsn)?));
    }
    let mut dsn: Option<String> = None;
    for a in attached.iter().filter(|a| a.catalog) {
        let db = &a.name;
        match a.kind.as_str() {
            "duckdb" => continue,
            "ducklake" => {}
            other => return Err(no_leases(db, &format!("a {other} database"))),
        }
        let found = a.path.strip_prefix("postgres:").filter(|p| !p.trim().is_empty());
        match (found, &dsn) {
            (None, _) => {
                return Err(no_leases(db, "a DuckLake whose PostgreSQL catalog cannot be read back from its ATTACH"))
            }
            (Some(d), Some(seen)) if d != seen => {
                return Err(no_leases(
                    db,
                    "a DuckLake whose catalog is another PostgreSQL database than the other lakes'",
                ))
            }
            (Some(d), _) => dsn = Some(d.to_string()),
        }
    }
    match dsn {
        Some(d) => Ok(Box::new(Leases::open(pool, &d)?)),
        None => Ok(Box::new(Local::new(&pool.instance))),
    }
}

fn no_leases(db: &str, what: &str) -> Error {
    Error::usage(format!(
        "incremental_work: database {db} holds models and is {what}, so workers in other processes cannot be kept from refreshing the same model; pass leases := '<PostgreSQL connection string>' to keep the claims in a PostgreSQL database every worker reaches"
    ))
}

/// What a pass works from: the models, which reads which, their freshness, and the coordinator's `last_done`, all
/// read before it.
#[derive(Clone, Copy)]
struct Read<'r> {
    all: &'r [Stored],
    graph: &'r Graph,
    fresh: &'r [super::Fresh],
    done: &'r HashMap<String, i64>,
}

/// Where a model stands in the current pass.
#[derive(Clone, Copy, PartialEq)]
enum Step {
    /// Not due when the pass began; due after all once a model it reads changed rows in this pass.
    NotDue,
    Pending,
    Refreshed,
    NotRefreshed,
}

/// A refresh that changed rows: the loop goes on after a pass that had one. The mode alone does not tell, since a
/// model without a way to find its changes is re-read at every refresh, changing nothing when nothing changed.
fn did_work(run: &Run) -> bool {
    run.mode != "failed" && run.mode != "skipped" && run.inserted + run.updated + run.deleted > 0
}

struct Worker<'a> {
    s: &'a Session<'a>,
    coord: &'a dyn Coordinator,
    work: &'a Work,
    owner: String,
    attached: Vec<Attached>,
}

impl Worker<'_> {
    fn run(&self) -> Result<Vec<Done>> {
        let deadline = Instant::now() + Duration::from_secs_f64(self.work.max_seconds);
        let idle = Duration::from_secs_f64(self.work.idle_seconds);
        let mut out = Vec::new();
        let mut last_work = Instant::now();
        loop {
            // Read before the models: a refresh another worker finishes after this read changes what it says.
            let done = self.coord.last_done()?;
            let (all, graph, fresh) = self.s.models_fresh(Some(&self.attached))?;
            let order = graph.order().map_err(|cycle| cycle_error(&all, &cycle))?;
            let before = out.len();
            let ended =
                self.pass(&Read { all: &all, graph: &graph, fresh: &fresh, done: &done }, &order, deadline, &mut out)?;
            if ended == Pass::OutOfTime {
                break;
            }
            if out[before..].iter().any(|d| did_work(&d.run)) {
                last_work = Instant::now();
                continue;
            }
            let now = Instant::now();
            let waited = now.duration_since(last_work);
            if waited >= idle || now >= deadline {
                break;
            }
            let poll = if ended == Pass::LeftToOthers { POLL } else { IDLE_POLL };
            std::thread::sleep((idle - waited).min(deadline - now).min(poll));
        }
        Ok(out)
    }

    /// Tries every due model once, each after the models it reads. A model another worker holds is not waited for:
    /// its holder refreshes it, and the models it makes due, while this worker goes on with others.
    fn pass(&self, read: &Read, order: &[usize], deadline: Instant, out: &mut Vec<Done>) -> Result<Pass> {
        let Read { all, graph, fresh, done } = *read;
        // Due as `incremental_models()` says (see `planner::freshness`): a model whose sources are all DuckLake feeds
        // is taken only when one of them changed and its target_lag is near; others are tried, and their refresh's
        // probe decides. A model that reads one this pass changed can be due in this pass too (`readers_due`).
        let mut step: Vec<Step> =
            fresh.iter().map(|f| if f.freshness.due { Step::Pending } else { Step::NotDue }).collect();
        loop {
            let mut pending = false;
            let mut progressed = false;
            for &i in order {
                if step[i] != Step::Pending {
                    continue;
                }
                if Instant::now() >= deadline {
                    return Ok(Pass::OutOfTime);
                }
                let reads = &graph.reads[i];
                if let Some(&j) = reads.iter().find(|&&j| step[j] == Step::NotRefreshed) {
                    out.push(skipped(&all[i], &all[j], &self.work.worker));
                    step[i] = Step::NotRefreshed;
                    progressed = true;
                    continue;
                }
                // An upstream model still due goes first.
                if reads.iter().any(|&j| step[j] == Step::Pending) {
                    pending = true;
                    continue;
                }
                if self.neighbour_held(all, graph, i)? {
                    pending = true;
                    continue;
                }
                let sent = Instant::now();
                let key = lease_key(&all[i].def.target);
                match self.coord.claim(&key, &self.owner, self.ttl())? {
                    // Refreshed by another worker since this pass read the models: what made it due may be gone,
                    // and the next pass reads again.
                    Claim::Won { last_done } if last_done.as_ref() != done.get(&key) => {
                        let _ = self.coord.release(&key, &self.owner, false);
                        step[i] = Step::Refreshed;
                        progressed = true;
                    }
                    Claim::Won { .. } => {
                        let done = self.refresh_claimed(&all[i], sent);
                        step[i] = if done.run.mode == "failed" { Step::NotRefreshed } else { Step::Refreshed };
                        if did_work(&done.run) {
                            self.readers_due(all, graph, i, &mut step);
                        }
                        out.push(done);
                        progressed = true;
                    }
                    Claim::Held(_) | Claim::Lost => pending = true,
                }
            }
            if !pending {
                return Ok(Pass::Done);
            }
            if !progressed {
                return Ok(Pass::LeftToOthers);
            }
        }
    }

    /// Models that read `changed` and were not due become due, unless a target_lag of their own lets them wait:
    /// without one a model follows every change, so waiting for the next pass would only cost a pass.
    fn readers_due(&self, all: &[Stored], graph: &Graph, changed: usize, step: &mut [Step]) {
        for r in 0..all.len() {
            if step[r] == Step::NotDue && all[r].def.target_lag.is_none() && graph.reads[r].contains(&changed) {
                step[r] = Step::Pending;
            }
        }
    }

    /// True when another worker holds a model this one reads, or one that reads it: a reader refreshed while its
    /// upstream model refreshes reads it as it was and empties the change log the upstream refresh writes, so the
    /// two commits conflict (and an upstream refresh under way is not yet in what the reader reads).
    fn neighbour_held(&self, all: &[Stored], graph: &Graph, i: usize) -> Result<bool> {
        let readers = (0..all.len()).filter(|&r| graph.reads[r].contains(&i));
        let neighbours: Vec<String> =
            graph.reads[i].iter().copied().chain(readers).map(|j| lease_key(&all[j].def.target)).collect();
        if neighbours.is_empty() {
            return Ok(false);
        }
        Ok(self.coord.held()?.iter().any(|(model, h)| h.owner != self.owner && neighbours.contains(model)))
    }

    fn ttl(&self) -> Duration {
        Duration::from_secs_f64(self.work.lease_seconds)
    }

    /// Refreshes a model this worker has claimed under a renewed claim; the refresh rolls back instead of committing
    /// once the claim is lost or about to run out. `claimed` is when the claim was sent.
    fn refresh_claimed(&self, stored: &Stored, claimed: Instant) -> Done {
        let key = lease_key(&stored.def.target);
        let hold = Hold {
            coord: self.coord,
            key: &key,
            owner: &self.owner,
            who: format!("worker {}", self.work.worker),
            hint: ". Give a larger lease_seconds if refreshes are slow to renew",
            ttl: self.ttl(),
            claimed,
        };
        let started_us = now_us();
        let outcome = hold.run(
            |fence| {
                let settings = Settings { fence, worker: Some(self.work.worker.clone()), ..self.work.settings.clone() };
                self.s.refresh_model(&stored.def.target.sql_name(), "", false, &settings)
            },
            Result::is_ok,
        );
        let finished_us = now_us();
        let (model, run) =
            outcome.unwrap_or_else(|e| (stored.def.name(), failed(stored, &e, &self.work.worker, started_us)));
        Done { model, run, started_us, finished_us }
    }
}

fn failed(stored: &Stored, e: &Error, worker: &str, started_us: i64) -> Run {
    Run {
        mode: "failed".into(),
        strategy: stored.def.strategy.as_str().into(),
        watermark_before: stored.state.shown_watermark(),
        watermark_after: stored.state.shown_watermark(),
        reason: e.to_string(),
        error: Some(e.to_string()),
        worker: Some(worker.to_string()),
        started_us,
        ..Run::default()
    }
}

fn skipped(stored: &Stored, upstream: &Stored, worker: &str) -> Done {
    let now = now_us();
    let run = Run {
        mode: "skipped".into(),
        strategy: stored.def.strategy.as_str().into(),
        watermark_before: stored.state.shown_watermark(),
        watermark_after: stored.state.shown_watermark(),
        reason: format!("upstream model {} was not refreshed, so this one was skipped", upstream.def.name()),
        worker: Some(worker.to_string()),
        started_us: now,
        ..Run::default()
    };
    Done { model: stored.def.name(), run, started_us: now, finished_us: now }
}
