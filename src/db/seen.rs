//! What one load of the extension remembers of each DuckLake between reads of all its models (a worker's passes,
//! `incremental_models()`): the models and their states as read at one snapshot, the names of the lake's tables,
//! and what changed in each source after a mark. The snapshots committed since say which tables they touched, so a
//! new read re-reads only the states those snapshots wrote: on a PostgreSQL catalog each state table read costs
//! about 7 ms, and a worker reads every model's state before each pass.
//!
//! Only read-only transactions of pool connections use it, and a refresh's transaction before it writes anything:
//! what a transaction wrote and has not committed is in no snapshot, so a cache read after a write could miss it.
//! A refresh that committed leaves the state it wrote: the next read takes it when its commit is the only one since
//! that wrote the state table.

use std::collections::{BTreeMap, HashMap};

use duckdb::Connection;

use super::catalog::{self, Attached, Stored};
use super::lookup::{self, metadata, LakeTable, Resolved};
use super::memo::database_key;
use super::sql::{batch, rows, scalar};
use super::state::State;
use super::{feed, state, Session};
use crate::error::Result;
use crate::model::{FeedProbe, FeedSince, Kind, ModelDef, Target};
use crate::names;
use crate::planner::snapshots;

/// Where a refresh's transaction read a lake: the lake's memo key, the snapshot, and the lake's names there.
pub(super) struct ReadAt {
    lake: String,
    snapshot: i64,
    pub names: LakeNames,
}

/// A lake's live tables and views at one snapshot, by lower-case schema and name, under the lake's name as DuckDB
/// spells it: what the snapshot's name lookups answer, without asking the metadata catalog again.
#[derive(Clone)]
pub struct LakeNames {
    db: String,
    names: HashMap<(String, String), Named>,
}

/// A lake as read at one snapshot.
pub struct LakeSeen {
    snapshot: i64,
    /// Live tables (with their id) and views (without), by lower-case schema and name.
    names: HashMap<(String, String), Named>,
    models: Vec<Stored>,
    /// What the snapshots after a mark up to `snapshot` did to a table, by table id and mark. `used` holds what
    /// this read asked; only that is kept for the next, so marks left behind by later refreshes are forgotten.
    feeds: HashMap<(i64, i64), FeedSince>,
    used: HashMap<(i64, i64), FeedSince>,
    /// Commit times of snapshots, in microseconds since the epoch, kept as `used` is.
    times: HashMap<i64, Option<i64>>,
    times_used: HashMap<i64, Option<i64>>,
    /// States this process's refreshes committed since, by state table id, with the snapshot each one's transaction
    /// read (its commit came after it).
    written: HashMap<i64, (i64, State)>,
}

#[derive(Clone)]
struct Named {
    schema: String,
    name: String,
    /// The table's id and uuid; None for a view.
    id: Option<i64>,
    uuid: Option<String>,
}

/// DuckLake waits 100 ms before it tries again a commit that lost the race for the next snapshot id, while the
/// winner's commit takes a few ms: with two workers and a writer that wait was most of a refresh's time. Set on the
/// extension's own connections only, for the session.
const LAKE_COMMIT_RETRY: &str = "SET SESSION ducklake_retry_wait_ms = 1";

fn name_key(schema: &str, name: &str) -> (String, String) {
    (schema.to_lowercase(), name.to_lowercase())
}

/// The lakes of one read, by database name as DuckDB spells it, with their memo keys.
#[derive(Default)]
pub struct Lakes {
    seen: Vec<(String, String, LakeSeen)>,
}

impl Lakes {
    fn get_mut(&mut self, db: &str) -> Option<(&str, &mut LakeSeen)> {
        self.seen.iter_mut().find(|(_, name, _)| name.eq_ignore_ascii_case(db)).map(|(_, n, s)| (n.as_str(), s))
    }
}

impl Session<'_> {
    /// Every model of every database of `attached` with a catalog, as `catalog::all` reads them; a DuckLake's are
    /// taken from the memo where the snapshots since it was read leave them alone. Call in a read-only transaction.
    pub fn all_models(&self, attached: &[Attached]) -> Result<(Vec<Stored>, Lakes)> {
        let (mut all, mut lakes) = (Vec::new(), Lakes::default());
        for a in attached.iter().cloned() {
            if a.kind == "ducklake" {
                let key = database_key(&a.name, &a.kind, &a.path);
                let seen = read(self.conn, &a.name, self.memo.take_lake(&key))?;
                if a.catalog {
                    all.extend(seen.models.iter().cloned());
                }
                lakes.seen.push((key, a.name, seen));
            } else if a.catalog {
                all.extend(catalog::all_in(self.conn, &a.name)?);
            }
        }
        Ok((all, lakes))
    }

    /// Keeps what a read saw of each lake for the next.
    pub fn remember(&self, lakes: Lakes) {
        for (key, _, mut seen) in lakes.seen {
            seen.feeds = std::mem::take(&mut seen.used);
            seen.times = std::mem::take(&mut seen.times_used);
            self.memo.put_lake(key, seen);
        }
    }

    /// The feed of each DuckLake source of the model since its marks, as `feeds` finds them, from what `lakes` saw.
    pub(super) fn seen_feeds(
        &self,
        def: &ModelDef,
        marks: &BTreeMap<String, String>,
        lakes: &mut Lakes,
    ) -> Result<BTreeMap<String, FeedProbe>> {
        let default_db = self.default_database()?;
        let mut out = BTreeMap::new();
        for s in def.sources.iter().filter(|s| s.kind == Kind::Feed) {
            let Ok(candidates) = names::candidates(&s.relation, &def.search_path, &default_db) else {
                continue;
            };
            for t in candidates {
                let Some((db, seen)) = lakes.get_mut(&t.database) else {
                    // A name outside every lake is no feed; one that does not exist there may be found further on.
                    if super::lookup::find(self.conn, &t.database, &t.schema, &t.table)?.is_some() {
                        break;
                    }
                    continue;
                };
                let Some(named) = seen.names.get(&name_key(&t.schema, &t.table)).cloned() else {
                    continue;
                };
                if let Some(id) = named.id {
                    let since = match marks.get(&s.relation).and_then(|m| m.parse::<i64>().ok()) {
                        None => FeedSince::NotRead,
                        Some(from) => seen.since(self.conn, db, id, from)?,
                    };
                    let probe = FeedProbe {
                        catalog: db.to_string(),
                        schema: named.schema,
                        table: named.name,
                        current: seen.snapshot,
                        since,
                        rows: None,
                        table_id: Some(id),
                    };
                    out.insert(s.relation.clone(), probe);
                }
                break;
            }
        }
        Ok(out)
    }

    /// The model at `target` as the last read of its lake saw it, with the snapshot this transaction reads, when the
    /// snapshots since wrote neither the models table nor the model's state and changed no name. Call it first in a
    /// transaction: its first read of the lake fixes the snapshot the transaction reads.
    pub(super) fn seen_model(&self, target: &Target) -> Result<Option<(Stored, ReadAt)>> {
        let Some((lake, key)) = self.lake_key(&target.database)? else {
            return Ok(None);
        };
        batch(self.conn, LAKE_COMMIT_RETRY)?;
        let wanted = target.sql_name().to_lowercase();
        let found = self.memo.with_lake(&key, |seen| {
            let stored = seen.models.iter().find(|m| m.def.target.sql_name().to_lowercase() == wanted)?.clone();
            let ids = [seen.id_of(catalog::SCHEMA, "models")?, seen.id_of(catalog::SCHEMA, &state::name_of(target))?];
            Some((seen.snapshot, stored, ids, seen.names.clone()))
        });
        let Some((since, stored, ids, names)) = found.flatten() else {
            return Ok(None);
        };
        let db = &stored.def.target.database;
        let current = feed::current_snapshot(self.conn, db)?;
        if current < since {
            return Ok(None);
        }
        if current > since {
            let Some(touched) = feed::touched_since(self.conn, db, since, current)? else {
                return Ok(None);
            };
            if touched.names || ids.iter().any(|id| touched.tables.contains_key(id)) {
                return Ok(None);
            }
        }
        // No snapshot since changed a name, so the names seen then are the names now.
        let names = LakeNames { db: lake, names };
        Ok(Some((stored, ReadAt { lake: key, snapshot: current, names })))
    }

    /// Keeps the state a refresh committed, its transaction having read the lake at `at`, for the next read.
    pub(super) fn wrote_state(&self, target: &Target, at: &ReadAt, written: &State) {
        self.memo.with_lake(&at.lake, |seen| {
            if let Some(id) = seen.id_of(catalog::SCHEMA, &state::name_of(target)) {
                seen.written.insert(id, (at.snapshot, written.clone()));
            }
        });
    }

    /// The name (as DuckDB spells it) and memo key of an attached DuckLake; None for any other database, and
    /// without asking when no lake is kept.
    fn lake_key(&self, db: &str) -> Result<Option<(String, String)>> {
        if !self.memo.knows_lakes() {
            return Ok(None);
        }
        let found = rows(
            self.conn,
            "SELECT database_name, type, coalesce(path, '') FROM duckdb_databases() WHERE lower(database_name) = lower(?)",
            &[&db],
            |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?)),
        )?;
        Ok(found.into_iter().find(|(_, kind, _)| kind == "ducklake").map(|(n, k, p)| {
            let key = database_key(&n, &k, &p);
            (n, key)
        }))
    }

    /// The commit time of a lake's snapshot, in microseconds since the epoch.
    pub(super) fn snapshot_time(&self, lake: &str, snapshot: i64, lakes: &mut Lakes) -> Result<Option<i64>> {
        let sql =
            format!("SELECT epoch_us(snapshot_time) FROM {}.ducklake_snapshot WHERE snapshot_id = ?", metadata(lake));
        let Some((_, seen)) = lakes.get_mut(lake) else {
            return scalar(self.conn, &sql, &[&snapshot]);
        };
        let t = match seen.times.get(&snapshot) {
            Some(t) => *t,
            None => scalar(self.conn, &sql, &[&snapshot])?,
        };
        seen.times_used.insert(snapshot, t);
        Ok(t)
    }
}

impl LakeSeen {
    fn since(&mut self, conn: &Connection, lake: &str, id: i64, from: i64) -> Result<FeedSince> {
        if from >= self.snapshot {
            return Ok(FeedSince::Untouched);
        }
        let since = match self.feeds.get(&(id, from)).or_else(|| self.used.get(&(id, from))) {
            Some(known) => known.clone(),
            None => snapshots::since(&feed::range(conn, lake, from, self.snapshot)?, Some(id), from, self.snapshot),
        };
        self.used.insert((id, from), since.clone());
        Ok(since)
    }

    fn id_of(&self, schema: &str, name: &str) -> Option<i64> {
        self.names.get(&name_key(schema, name)).and_then(|n| n.id)
    }
}

impl LakeNames {
    /// The relation `t` names, when it names one in this lake; None for a name in another database. A table's
    /// size is read from the lake's statistics (it changes with every insert, its name does not).
    pub(super) fn find(&self, conn: &Connection, t: &Target) -> Option<Result<Option<Resolved>>> {
        if !t.database.eq_ignore_ascii_case(&self.db) {
            return None;
        }
        let Some(named) = self.names.get(&name_key(&t.schema, &t.table)) else {
            return Some(Ok(None));
        };
        let lake = match named.id {
            None => None,
            Some(id) => match lookup::table_rows(conn, &self.db, id) {
                Ok(rows) => Some(LakeTable { id, uuid: named.uuid.clone().unwrap_or_default(), rows }),
                Err(e) => return Some(Err(e)),
            },
        };
        let kind = if lake.is_some() { "ducklake" } else { "view" };
        Some(Ok(Some(Resolved {
            oids: None,
            lake,
            kind: kind.into(),
            database: self.db.clone(),
            schema: named.schema.clone(),
            table: named.name.clone(),
        })))
    }

    /// The names of the tables and views in `schema` of `db`, sorted; None for another database.
    pub(super) fn in_schema(&self, db: &str, schema: &str) -> Option<Vec<String>> {
        if !db.eq_ignore_ascii_case(&self.db) {
            return None;
        }
        let mut out: Vec<String> = self.names.values().filter(|n| n.schema == schema).map(|n| n.name.clone()).collect();
        out.sort();
        Some(out)
    }
}

/// The lake as this transaction reads it, from `before` (what an earlier read saw) where the snapshots since leave
/// it alone; everything is read again when one of them was expired unread.
fn read(conn: &Connection, db: &str, before: Option<LakeSeen>) -> Result<LakeSeen> {
    let snapshot = feed::current_snapshot(conn, db)?;
    let Some(mut seen) = before.filter(|b| b.snapshot <= snapshot) else {
        return fresh(conn, db, snapshot, HashMap::new(), HashMap::new());
    };
    if seen.snapshot == snapshot {
        return Ok(seen);
    }
    let Some(touched) = feed::touched_since(conn, db, seen.snapshot, snapshot)? else {
        return fresh(conn, db, snapshot, HashMap::new(), seen.times);
    };
    seen.feeds.retain(|(id, _), _| !touched.tables.contains_key(id));
    let models_touched = seen.id_of(catalog::SCHEMA, "models").is_none_or(|id| touched.tables.contains_key(&id));
    if touched.names || models_touched {
        return fresh(conn, db, snapshot, seen.feeds, seen.times);
    }
    let (since, written) = (seen.snapshot, std::mem::take(&mut seen.written));
    let mut stale = Vec::new();
    for i in 0..seen.models.len() {
        let id = seen.id_of(catalog::SCHEMA, &state::name_of(&seen.models[i].def.target));
        match id.map(|id| (touched.tables.get(&id), written.get(&id))) {
            Some((None, _)) => {}
            // One commit since wrote the state, and a refresh of this process committed a write of it after `since`:
            // that commit is this one.
            Some((Some(1), Some((at, st)))) if *at >= since => seen.models[i].state = st.clone(),
            _ => stale.push(i),
        }
    }
    let targets: Vec<_> = stale.iter().map(|&i| &seen.models[i].def.target).collect();
    let states = state::read_all(conn, &targets)?;
    for (i, st) in stale.into_iter().zip(states) {
        seen.models[i].state = st;
    }
    seen.snapshot = snapshot;
    Ok(seen)
}

fn fresh(
    conn: &Connection,
    db: &str,
    snapshot: i64,
    feeds: HashMap<(i64, i64), FeedSince>,
    times: HashMap<i64, Option<i64>>,
) -> Result<LakeSeen> {
    let meta = metadata(db);
    let live = |t: &str| format!("{t}.begin_snapshot <= ? AND ({t}.end_snapshot IS NULL OR {t}.end_snapshot > ?)");
    let sql = format!(
        "SELECT s.schema_name, t.table_name, t.table_id, CAST(t.table_uuid AS VARCHAR)
         FROM {meta}.ducklake_table t JOIN {meta}.ducklake_schema s USING (schema_id) WHERE {} AND {}
         UNION ALL
         SELECT s.schema_name, v.view_name, NULL, NULL
         FROM {meta}.ducklake_view v JOIN {meta}.ducklake_schema s USING (schema_id) WHERE {} AND {}",
        live("t"),
        live("s"),
        live("v"),
        live("s")
    );
    let at = [&snapshot as &dyn duckdb::ToSql; 8];
    let found =
        rows(conn, &sql, &at, |r| Ok(Named { schema: r.get(0)?, name: r.get(1)?, id: r.get(2)?, uuid: r.get(3)? }))?;
    let names: HashMap<_, _> = found.into_iter().map(|n| (name_key(&n.schema, &n.name), n)).collect();
    let has_catalog = names.contains_key(&name_key(catalog::SCHEMA, "models"));
    let models = if has_catalog { catalog::all_in(conn, db)? } else { Vec::new() };
    Ok(LakeSeen {
        snapshot,
        names,
        models,
        feeds,
        used: HashMap::new(),
        times,
        times_used: HashMap::new(),
        written: HashMap::new(),
    })
}
