//! Claims kept in a plain PostgreSQL table, reached through DuckDB's postgres extension on pool connections: any
//! number of processes on any number of machines share them. A claim is one statement (a SQL function that takes a
//! free or expired row with `FOR UPDATE SKIP LOCKED`), so two workers never both win; a holder that dies loses its
//! claim when the time to live runs out.

use std::collections::HashMap;
use std::time::Duration;

use duckdb::Connection;

use super::{Claim, Coordinator, Holder};
use crate::db::{sql_detail, Pool};
use crate::error::{Error, Result};
use crate::quote::{ident, literal};

const TABLE: &str = "incremental_leases";

/// Created if missing, and the functions replaced, by the first worker of each load of the extension; the advisory
/// lock keeps workers starting together from racing on PostgreSQL's catalog (`CREATE ... IF NOT EXISTS` alone does
/// not).
const SETUP: &str = r#"
SELECT pg_advisory_xact_lock(7230416);
CREATE TABLE IF NOT EXISTS incremental_leases (model text PRIMARY KEY, holder text, since timestamptz,
  expires timestamptz, last_done timestamptz);
CREATE OR REPLACE FUNCTION incremental_us(t timestamptz) RETURNS bigint LANGUAGE sql IMMUTABLE AS
  $f$ SELECT CAST(floor(extract(epoch FROM t) * 1000000) AS bigint) $f$;
CREATE OR REPLACE FUNCTION incremental_take(p_model text, p_owner text, p_ttl double precision)
RETURNS TABLE(won boolean, holder text, since_us bigint, expires_us bigint, last_done_us bigint) LANGUAGE sql AS $f$
  INSERT INTO incremental_leases (model) VALUES (p_model) ON CONFLICT DO NOTHING;
  WITH taken AS (
    UPDATE incremental_leases l SET holder = p_owner, since = now(), expires = now() + make_interval(secs => p_ttl)
    WHERE l.model = (SELECT f.model FROM incremental_leases f
                     WHERE f.model = p_model AND (f.holder IS NULL OR f.expires < now())
                     FOR UPDATE SKIP LOCKED)
    RETURNING l.holder, l.since, l.expires, l.last_done)
  SELECT true, t.holder, incremental_us(t.since), incremental_us(t.expires), incremental_us(t.last_done) FROM taken t
  UNION ALL
  SELECT false, c.holder, incremental_us(c.since), incremental_us(c.expires), incremental_us(c.last_done)
  FROM incremental_leases c
  WHERE c.model = p_model AND c.holder IS NOT NULL AND c.expires >= now() AND NOT EXISTS (SELECT 1 FROM taken)
$f$;
CREATE OR REPLACE FUNCTION incremental_renew(p_model text, p_owner text, p_ttl double precision)
RETURNS boolean LANGUAGE sql AS $f$
  WITH r AS (UPDATE incremental_leases SET expires = now() + make_interval(secs => p_ttl)
             WHERE model = p_model AND holder = p_owner RETURNING 1)
  SELECT count(*) > 0 FROM r
$f$;
CREATE OR REPLACE FUNCTION incremental_release(p_model text, p_owner text, p_done boolean)
RETURNS boolean LANGUAGE sql AS $f$
  WITH r AS (UPDATE incremental_leases SET holder = NULL, since = NULL, expires = NULL,
               last_done = CASE WHEN p_done THEN now() ELSE last_done END
             WHERE model = p_model AND holder = p_owner RETURNING 1)
  SELECT count(*) > 0 FROM r
$f$;
"#;

/// PostgreSQL runs the extension's transactions at REPEATABLE READ: a claim that overlaps another on the same row
/// fails with this instead of waiting, and nothing was taken.
fn raced(e: &Error) -> bool {
    let text = e.to_string();
    text.contains("could not serialize access") || text.contains("duplicate key value")
}

/// Leases in the PostgreSQL database `dsn` names.
pub struct Leases<'a> {
    pool: &'a Pool,
    alias: String,
}

impl<'a> Leases<'a> {
    /// Attaches the leases database under an alias of its own (once per database instance) and creates the lease
    /// table and functions if they are missing.
    pub fn open(pool: &'a Pool, dsn: &str) -> Result<Leases<'a>> {
        let loaded = "SELECT count(*) FROM duckdb_extensions() WHERE extension_name = 'postgres_scanner' AND loaded";
        let loaded = pool.with(|conn| {
            conn.query_row(loaded, [], |r| r.get::<_, i64>(0)).map_err(|e| Error::Sql {
                context: "looking for the postgres extension".into(),
                detail: sql_detail(&e),
            })
        })?;
        if loaded == 0 {
            return Err(Error::usage(
                "incremental_work: leases are kept in PostgreSQL through DuckDB's postgres extension, which is not loaded; run LOAD postgres (INSTALL postgres first if it is missing) before calling incremental_work",
            ));
        }
        let leases = Leases::attach(pool, dsn)?;
        leases.set_up(dsn)?;
        Ok(leases)
    }

    /// Creates the lease table if it is missing and replaces its functions, once per load of the extension: the
    /// setup takes PostgreSQL's catalog locks, under a lock of its own.
    fn set_up(&self, dsn: &str) -> Result<()> {
        let done = format!("leases\u{0}{dsn}");
        if self.pool.memo.is_current(&done) {
            return Ok(());
        }
        let setup = format!("CALL postgres_execute({}, {})", literal(&self.alias), literal(SETUP));
        let mut tries = 0;
        loop {
            match self.pool.with(|conn| run(conn, &setup)) {
                Ok(()) => {
                    self.pool.memo.set_current(done);
                    return Ok(());
                }
                Err(e) if raced(&e) && tries < 5 => tries += 1,
                Err(e) => return Err(unreachable(e)),
            }
            std::thread::sleep(Duration::from_millis(50 * tries));
        }
    }

    /// The leases of `dsn` when workers have used that database (its lease table exists): a refresh called directly
    /// takes a claim only where workers may hold one, and creates nothing in a database they never used. Its
    /// functions are replaced as a worker's first call does, since workers of another version may have made them.
    pub fn existing(pool: &'a Pool, dsn: &str) -> Result<Option<Leases<'a>>> {
        let leases = Leases::attach(pool, dsn)?;
        let found = leases.query(&format!("SELECT to_regclass('{TABLE}') IS NOT NULL"), |r| r.get::<_, bool>(0))?;
        if !found.into_iter().any(|b| b) {
            return Ok(None);
        }
        leases.set_up(dsn)?;
        Ok(Some(leases))
    }

    /// Attaches the database under an alias made from its connection string, so every worker of a process reuses it.
    fn attach(pool: &'a Pool, dsn: &str) -> Result<Leases<'a>> {
        let alias = format!("__incremental_leases_{:016x}", fnv(dsn));
        let attach = format!("ATTACH IF NOT EXISTS {} AS {} (TYPE postgres)", literal(dsn), ident(&alias));
        pool.with(|conn| run(conn, &attach)).map_err(unreachable)?;
        Ok(Leases { pool, alias })
    }

    /// Runs a query in PostgreSQL and reads every row: the postgres extension commits a query's transaction only
    /// once its result has been read to the end, so a claim read only in part would silently roll back.
    fn query<T>(&self, sql: &str, f: impl FnMut(&duckdb::Row<'_>) -> duckdb::Result<T>) -> Result<Vec<T>> {
        let wrapped = format!("SELECT * FROM postgres_query({}, {})", literal(&self.alias), literal(sql));
        self.pool.with(|conn| {
            let fail =
                |e: duckdb::Error| Error::Sql { context: "using the leases database".into(), detail: sql_detail(&e) };
            let mut stmt = conn.prepare(&wrapped).map_err(fail)?;
            let rows = stmt.query_map([], f).map_err(fail)?;
            rows.collect::<duckdb::Result<Vec<T>>>().map_err(fail)
        })
    }

    /// A boolean function of the lease table, retried a few times when it raced another claim on the same row.
    fn owner_call(&self, function: &str, model: &str, owner: &str, arg: &str) -> Result<bool> {
        let sql = format!("SELECT {function}({}, {}, {arg})", literal(model), literal(owner));
        let mut tries = 0;
        loop {
            match self.query(&sql, |r| r.get::<_, Option<bool>>(0)) {
                Ok(rows) => return Ok(rows.into_iter().flatten().any(|b| b)),
                Err(e) if raced(&e) && tries < 3 => tries += 1,
                Err(e) => return Err(e),
            }
            std::thread::sleep(Duration::from_millis(20 * tries));
        }
    }
}

fn run(conn: &Connection, sql: &str) -> Result<()> {
    conn.execute_batch(sql)
        .map_err(|e| Error::Sql { context: "using the leases database".into(), detail: sql_detail(&e) })
}

fn unreachable(e: Error) -> Error {
    let detail = match e {
        Error::Sql { detail, .. } => detail,
        other => other.to_string(),
    };
    Error::usage(format!(
        "incremental_work: could not set up the lease table in the PostgreSQL database of the leases: {detail}; check the connection string (leases := '...', or the lake's ATTACH) and that the server accepts connections"
    ))
}

/// A stable hash of a connection string (FNV-1a).
fn fnv(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

fn seconds(ttl: Duration) -> String {
    format!("{:.3}", ttl.as_secs_f64())
}

impl Coordinator for Leases<'_> {
    fn claim(&self, model: &str, owner: &str, ttl: Duration) -> Result<Claim> {
        let sql = format!("SELECT * FROM incremental_take({}, {}, {})", literal(model), literal(owner), seconds(ttl));
        let rows = match self.query(&sql, |r| {
            let holder = Holder { owner: r.get(1)?, since_us: r.get(2)?, expires_us: r.get(3)? };
            Ok((r.get::<_, bool>(0)?, holder, r.get::<_, Option<i64>>(4)?))
        }) {
            Ok(rows) => rows,
            Err(e) if raced(&e) => return Ok(Claim::Lost),
            Err(e) => return Err(e),
        };
        Ok(match rows.into_iter().next() {
            Some((true, _, last_done)) => Claim::Won { last_done },
            Some((false, holder, _)) => Claim::Held(holder),
            // The row was locked by a claim still running, or inserted by one this snapshot cannot see.
            None => Claim::Lost,
        })
    }

    fn renew(&self, model: &str, owner: &str, ttl: Duration) -> Result<bool> {
        self.owner_call("incremental_renew", model, owner, &seconds(ttl))
    }

    fn release(&self, model: &str, owner: &str, done: bool) -> Result<bool> {
        self.owner_call("incremental_release", model, owner, if done { "true" } else { "false" })
    }

    fn holder(&self, model: &str) -> Result<Option<Holder>> {
        let sql = format!(
            "SELECT holder, incremental_us(since) AS since_us, incremental_us(expires) AS expires_us FROM {TABLE} WHERE model = {} AND holder IS NOT NULL AND expires >= now()",
            literal(model)
        );
        let rows = self.query(&sql, |r| Ok(Holder { owner: r.get(0)?, since_us: r.get(1)?, expires_us: r.get(2)? }))?;
        Ok(rows.into_iter().next())
    }

    fn held(&self) -> Result<Vec<(String, Holder)>> {
        let sql = format!(
            "SELECT model, holder, incremental_us(since) AS since_us, incremental_us(expires) AS expires_us FROM {TABLE} WHERE holder IS NOT NULL AND expires >= now()"
        );
        self.query(&sql, |r| Ok((r.get(0)?, Holder { owner: r.get(1)?, since_us: r.get(2)?, expires_us: r.get(3)? })))
    }

    fn last_done(&self) -> Result<HashMap<String, i64>> {
        let sql = format!("SELECT model, incremental_us(last_done) FROM {TABLE} WHERE last_done IS NOT NULL");
        Ok(self.query(&sql, |r| Ok((r.get(0)?, r.get(1)?)))?.into_iter().collect())
    }
}
