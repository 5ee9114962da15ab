//! A refresh called directly (`incremental_refresh`, `incremental_refresh_all`) on a model of a lake that workers
//! keep fresh takes the model's claim as a worker does: it waits while a worker holds the model, and when the wait
//! runs out it says who holds it since when, instead of racing the worker to the commit.

use std::time::{Duration, Instant};

use super::{work, Session, Settings};
use crate::coord::hold::Hold;
use crate::coord::leases::Leases;
use crate::coord::{Claim, Coordinator, Holder};
use crate::error::{Error, Result};
use crate::model::Target;

/// The claim a direct refresh holds lasts this long from each renewal; it is renewed every third of it.
const TTL: Duration = Duration::from_secs(60);
/// How often a direct refresh looks again while a worker holds its model.
const POLL: Duration = Duration::from_millis(200);
/// The name a direct refresh's claim goes by, for workers and for the history.
const CALLER: &str = "incremental_refresh";
/// Its claim is lost only when the lake's PostgreSQL could not be reached for a renewal.
const HINT: &str = "; check that the PostgreSQL server of the lake's catalog is reachable and call it again";

impl Session<'_> {
    /// Runs `refresh` under the model's claim when its lake keeps claims (a DuckLake on PostgreSQL whose catalog
    /// database has the workers' lease table), else as it is. A worker's refresh already runs under its own claim.
    pub(super) fn under_claim<T>(
        &self,
        target: &Target,
        settings: &Settings,
        refresh: impl FnOnce(&Settings) -> Result<T>,
    ) -> Result<T> {
        if settings.worker.is_some() {
            return refresh(settings);
        }
        let Some(dsn) = self.lake_catalog_dsn(&target.database)? else {
            return refresh(settings);
        };
        let Some(leases) = Leases::existing(self.pool, &dsn)? else {
            return refresh(settings);
        };
        let key = work::lease_key(target);
        let owner = work::owner(CALLER, self.instance);
        let claimed = self.wait_for_claim(&leases, target, &key, &owner, settings.wait)?;
        let hold = Hold { coord: &leases, key: &key, owner: &owner, who: CALLER.into(), hint: HINT, ttl: TTL, claimed };
        hold.run(|fence| refresh(&Settings { fence, ..settings.clone() }), Result::is_ok)
    }

    /// Claims the model, looking again while someone else holds it, for at most `wait`; returns when the claim was
    /// sent (it lasts `TTL` from then).
    fn wait_for_claim(
        &self,
        leases: &Leases,
        target: &Target,
        key: &str,
        owner: &str,
        wait: Duration,
    ) -> Result<Instant> {
        let start = Instant::now();
        loop {
            let sent = Instant::now();
            let holder = match leases.claim(key, owner, TTL)? {
                Claim::Won { .. } => return Ok(sent),
                Claim::Held(holder) => Some(holder),
                Claim::Lost => None,
            };
            let waited = start.elapsed();
            if waited >= wait {
                return Err(self.held_error(target, holder, waited));
            }
            std::thread::sleep(POLL.min(wait - waited));
        }
    }

    fn held_error(&self, target: &Target, holder: Option<Holder>, waited: Duration) -> Error {
        let (holder, since) = match holder {
            Some(h) => {
                let name = h.owner.split('#').next().unwrap_or_default();
                let who =
                    if name == CALLER { format!("{CALLER} in another session") } else { format!("worker {name}") };
                (who, self.utc(h.since_us).unwrap_or_else(|_| format!("{} microseconds after 1970", h.since_us)))
            }
            None => ("another worker".into(), "a moment ago".into()),
        };
        Error::Held { model: target.display(), holder, since, waited: format!("{:.1}", waited.as_secs_f64()) }
    }

    /// A time in microseconds since the epoch as `2026-03-01 09:00:00 UTC`.
    fn utc(&self, us: i64) -> Result<String> {
        let sql = "SELECT strftime(make_timestamp(?::BIGINT), '%Y-%m-%d %H:%M:%S') || ' UTC'";
        Ok(super::sql::scalar(self.conn, sql, &[&us])?.unwrap_or_default())
    }

    /// The PostgreSQL connection string of a DuckLake's catalog, when `database` is a DuckLake on PostgreSQL.
    fn lake_catalog_dsn(&self, database: &str) -> Result<Option<String>> {
        let sql = "SELECT path FROM duckdb_databases() WHERE lower(database_name) = lower(?) AND type = 'ducklake'";
        let path: Option<String> = super::sql::scalar(self.conn, sql, &[&database])?;
        Ok(path.and_then(|p| p.strip_prefix("postgres:").filter(|d| !d.trim().is_empty()).map(str::to_string)))
    }
}
