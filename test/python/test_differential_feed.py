"""Differential tests of the DuckLake change feed: models defined with nothing declared over lake tables read each
source's changes from DuckLake's own feed. Random inserts, updates (moving rows between group keys), deletes and
dimension changes, by this process and by two concurrent writer processes; after every `incremental_refresh_all()`
each model's table equals a full run of its query, and its mode says what the round did: noop when none of its
sources changed, incremental otherwise, a rebuild only where its reason names why."""
import json
import random
import subprocess
import sys
import time

import pytest

import lakes
from sqltext import lit, table_equals_query

pytestmark = pytest.mark.skipif(lakes.lake_host_missing() is not None, reason=str(lakes.lake_host_missing()))

ROUNDS = 10
EVENTS = "lake.main.events"
DIMS = "lake.main.dims"
# name -> (query, the tables it reads); nothing is declared, so each one's key and sources come from its query.
MODELS = {
    "per_g": ("SELECT g, count(*) AS n, sum(amount) AS total, min(amount) AS lo, max(amount) AS hi, "
              "count(DISTINCT k) AS ks FROM lake.main.events GROUP BY g", {EVENTS}),
    "latest": ("SELECT id, version, k, g, amount FROM lake.main.events "
               "QUALIFY row_number() OVER (PARTITION BY id ORDER BY version DESC) = 1", {EVENTS}),
    "per_label": ("SELECT d.label, count(*) AS n, sum(e.amount) AS total, count(DISTINCT e.id) AS ids "
                  "FROM lake.main.events e JOIN lake.main.dims d ON d.k = e.k GROUP BY d.label", {EVENTS, DIMS}),
    "filtered": ("SELECT g, k, count(*) AS n, sum(amount) AS total FROM lake.main.events WHERE amount > 0 "
                 "GROUP BY g, k HAVING count(*) > 1", {EVENTS}),
    # keyed by every output column (rows repeat), by the partition of its windows, and by DISTINCT's columns
    "rows": ("SELECT e.id, e.g, d.label, e.amount % 5 AS bucket FROM lake.main.events e "
             "JOIN lake.main.dims d ON d.k = e.k WHERE e.amount > 0", {EVENTS, DIMS}),
    "ranked": ("SELECT id, version, g, amount, rank() OVER (PARTITION BY g ORDER BY amount DESC) AS r, "
               "sum(amount) OVER (PARTITION BY g) AS g_total FROM lake.main.events", {EVENTS}),
    "kinds": ("SELECT DISTINCT g, k FROM lake.main.events", {EVENTS}),
    # keyed partly by the NULL-extended side of a LEFT JOIN: a dims insert or delete moves rows from or to label NULL
    "outer": ("SELECT e.g, d.label, count(*) AS n, sum(e.amount) AS total FROM lake.main.events e "
              "LEFT JOIN lake.main.dims d ON d.k = e.k GROUP BY e.g, d.label", {EVENTS, DIMS}),
    # a FULL JOIN: an unmatched dims row is a row of its own, and either side's change moves rows to or from NULL
    "full": ("SELECT e.g, d.k AS dk, d.label, count(e.id) AS n, sum(e.amount) AS total FROM lake.main.events e "
             "FULL JOIN lake.main.dims d ON d.k = e.k GROUP BY e.g, d.k, d.label", {EVENTS, DIMS}),
    # WHERE subqueries: a dims change reaches the events rows it correlates with, whichever way NOT decides
    "labelled": ("SELECT g, count(*) AS n, sum(amount) AS total FROM lake.main.events e WHERE EXISTS "
                 "(SELECT 1 FROM lake.main.dims d WHERE d.k = e.k AND d.label <> 'label 1') GROUP BY g", {EVENTS, DIMS}),
    "orphans": ("SELECT id, version, k FROM lake.main.events e WHERE NOT EXISTS "
                "(SELECT 1 FROM lake.main.dims d WHERE d.k = e.k)", {EVENTS, DIMS}),
    "listed": ("SELECT k, count(*) AS n FROM lake.main.events WHERE k IN (SELECT k FROM lake.main.dims) GROUP BY k",
               {EVENTS, DIMS}),
    # a one-row model: the empty key, recomputed whenever events changed
    "totals": ("SELECT count(*) AS n, sum(amount) AS total, min(amount) AS lo FROM lake.main.events WHERE g <> 2",
               {EVENTS}),
    # UNION ALL keyed by the group column both branches give at one position, and UNION keyed by every column
    "both": ("SELECT g, count(*) AS n, sum(amount) AS total FROM lake.main.events GROUP BY g UNION ALL "
             "SELECT grp, count(*), NULL FROM lake.main.dims GROUP BY grp", {EVENTS, DIMS}),
    "labels": ("SELECT k, label FROM lake.main.dims UNION SELECT e.k, 'event ' || e.g FROM lake.main.events e "
               "WHERE e.amount > 0", {EVENTS, DIMS}),
    # a top-k: the empty key, recomputed whole when events changed
    "top": ("SELECT id, version, amount FROM lake.main.events ORDER BY amount DESC NULLS LAST, id, version LIMIT 5",
            {EVENTS}),
    # subtotals by grouping set; a NULL label collides with the (g, NULL) subtotal, so that key has two rows
    "rollup": ("SELECT e.g, d.label, count(*) AS n, sum(e.amount) AS total FROM lake.main.events e "
               "JOIN lake.main.dims d ON d.k = e.k GROUP BY ROLLUP (e.g, d.label)", {EVENTS, DIMS}),
    # rows made by set-returning functions in FROM and in the SELECT list follow the row they are made of
    "spread": ("SELECT e.id, e.version, s.i FROM lake.main.events e CROSS JOIN generate_series(1, e.g % 3) AS s(i) "
               "WHERE e.amount > 0", {EVENTS}),
    "parts": ("SELECT id, unnest([k, g]) AS part FROM lake.main.events", {EVENTS}),
    # a model over another model of the lake: its source is per_g's table, refreshed before it
    "per_n": ("SELECT n, count(*) AS groups, sum(total) AS total, max(hi) AS hi FROM lake.main.per_g GROUP BY n",
              {"lake.main.per_g"}),
}
EVENT_COLUMNS = "(id, version, k, g, amount)"
REBUILT_EXPIRED = "was expired, so the changes since are unknown and the model is rebuilt"


@pytest.fixture(params=["duckdb", "postgres"])
def lake(request, tmp_path):
    """(kind, meta, data_path) of an empty lake: a DuckDB catalog file, or a new database in the pg cluster."""
    pg = request.getfixturevalue("pg") if request.param == "postgres" else None
    return lakes.empty_lake(request.param, tmp_path, pg, prefix="feed")


def null_or(rng, p, value):
    return "NULL" if rng.random() < p else str(value)


class Stream:
    """Random changes to events and dims, each statement its own commit. The ids and versions come from the tables
    themselves, so rows written by other processes are taken into account; (id, version) stays unique, which keeps
    the dedup's result determined."""

    def __init__(self, con, seed):
        self.con, self.rng = con, random.Random(seed)

    def state(self):
        versions = dict(self.con.execute(f"SELECT id, max(version) FROM {EVENTS} GROUP BY id").fetchall())
        dims = [r[0] for r in self.con.execute(f"SELECT k FROM {DIMS}").fetchall()]
        return versions, dims

    def inserts(self, versions, count):
        rng, rows = self.rng, []
        next_id = max(versions, default=0) + 1
        for _ in range(count):
            if versions and rng.random() < 0.3:
                id_ = rng.choice(list(versions))
            else:
                id_, next_id = next_id, next_id + 1
            versions[id_] = versions.get(id_, 0) + 1
            rows.append(f"({id_}, {versions[id_]}, {null_or(rng, 0.05, rng.randint(1, 14))}, "
                        f"{null_or(rng, 0.05, rng.randint(0, 6))}, {null_or(rng, 0.05, rng.randint(-50, 200))})")
        return [f"INSERT INTO {EVENTS} {EVENT_COLUMNS} VALUES {', '.join(rows)}"] if rows else []

    def batch(self, rnd):
        """(statements, tables they write) of one round: sometimes nothing, sometimes insertions only."""
        rng = self.rng
        versions, dims = self.state()
        if rnd == 0:
            stmts = self.inserts(versions, 300)
            stmts.append(f"INSERT INTO {DIMS} SELECT i, 'label ' || (i % 4), i % 3 FROM range(1, 13) t(i)")
            return stmts, {EVENTS, DIMS}
        pick = rng.random()
        if pick < 0.12:
            return [], set()
        if pick < 0.3:
            return self.inserts(versions, rng.randint(1, 25)), {EVENTS}
        stmts = self.inserts(versions, rng.randint(0, 20))
        ids = list(versions)
        for _ in range(rng.randint(1, 4)):
            what = rng.random()
            if what < 0.35:  # a row moves to another group key and another dimension row
                stmts.append(f"UPDATE {EVENTS} SET g = {null_or(rng, 0.1, rng.randint(0, 7))}, "
                             f"k = {null_or(rng, 0.05, rng.randint(1, 15))} WHERE id = {rng.choice(ids)}")
            elif what < 0.6:
                stmts.append(f"UPDATE {EVENTS} SET amount = amount + {rng.randint(-30, 30)} "
                             f"WHERE id % 17 = {rng.randrange(17)}")
            elif what < 0.8:
                stmts.append(f"DELETE FROM {EVENTS} WHERE id = {rng.choice(ids)}")
            else:
                stmts.append(f"DELETE FROM {EVENTS} WHERE id % 31 = {rng.randrange(31)} AND version = 1")
        touched = {EVENTS}
        for _ in range(rng.randint(0, 2)):
            k = rng.randint(1, 15)
            touched.add(DIMS)
            if k in dims and rng.random() < 0.2:
                dims.remove(k)
                stmts.append(f"DELETE FROM {DIMS} WHERE k = {k}")
            elif k in dims:
                stmts.append(f"UPDATE {DIMS} SET label = 'label {rng.randint(0, 5)}', grp = {rng.randint(0, 3)} "
                             f"WHERE k = {k}")
            else:
                dims.append(k)
                stmts.append(f"INSERT INTO {DIMS} VALUES ({k}, 'label {rng.randint(0, 5)}', {rng.randint(0, 3)})")
        return stmts, touched


def create_models(con):
    con.execute(f"CREATE TABLE {EVENTS} (id BIGINT, version INTEGER, k INTEGER, g INTEGER, amount INTEGER)")
    con.execute(f"CREATE TABLE {DIMS} (k INTEGER, label VARCHAR, grp INTEGER)")
    # A model's sources are settled when it is defined, and per_g's table exists only once it was built: per_n is
    # defined after that first build.
    for name, (query, _) in MODELS.items():
        if name == "per_n":
            built = con.execute("SELECT model, mode FROM incremental_refresh_all()").fetchall()
            assert sorted(built) == sorted((n, "full") for n in MODELS if n != "per_n"), built
        con.execute(f"CALL incremental_create({lit('lake.main.' + name)}, {lit(query)})")
    reasons = dict(con.execute("SELECT name, strategy_reason FROM incremental_models()").fetchall())
    for name, (_, reads) in MODELS.items():
        assert "through their change feeds" in reasons[name], (name, reasons[name])
        for table in reads:
            assert table in reasons[name], (name, table, reasons[name])


def refresh_and_check(con, touched, ctx, rebuilt=None):
    """Refreshes every model and checks it: `touched` are the tables written since the last refresh; `rebuilt` maps
    a model that must be rebuilt to a text its reason contains. Returns {model: (mode, reason)}."""
    got = con.execute("SELECT model, mode, rows_inserted, rows_updated, rows_deleted, reason "
                      "FROM incremental_refresh_all()").fetchall()
    results = {r[0]: r for r in got}
    assert sorted(results) == sorted(MODELS), f"{ctx}: {got}"
    rebuilt = rebuilt or {}
    written = set(touched)
    for name in MODELS:  # in dependency order: per_g before per_n
        _, mode, ins, upd, dele, reason = results[name]
        query, reads = MODELS[name]
        where = f"{ctx} model={name}: {results[name]}"
        if name in rebuilt:
            assert mode == "full" and rebuilt[name] in reason, where
        elif reads & written:
            assert mode == "incremental", where
        else:
            assert mode == "noop" and (ins, upd, dele) == (0, 0, 0), where
        if ins + upd + dele or mode == "full":
            written.add("lake.main." + name)
        assert table_equals_query(con, "lake.main." + name, query), f"{where}: the table differs from its query"
    return {name: (r[1], r[5]) for name, r in results.items()}


def test_feed_random_changes(lake):
    con = lakes.open_lake(*lake)
    create_models(con)
    seen = set()
    for seed in (11, 202, 3003):
        stream = Stream(con, seed)
        for rnd in range(ROUNDS):
            stmts, touched = stream.batch(rnd if seed == 11 else rnd + 1)
            for sql in stmts:
                con.execute(sql)
            ctx = f"seed={seed} round={rnd} after {len(stmts)} statements"
            first = {"per_n": "first build"} if seed == 11 and rnd == 0 else None
            for name, (mode, reason) in refresh_and_check(con, touched, ctx, first).items():
                if "only insertions" in reason:
                    seen.add("insertions")
                if "its DuckLake changes after" in reason:
                    seen.add("changes")
                if mode == "noop":
                    seen.add("noop")
    assert seen == {"insertions", "changes", "noop"}, seen
    for name in MODELS:
        assert con.execute(f"SELECT ok FROM incremental_verify({lit('lake.main.' + name)})").fetchone()[0], name
    con.close()


def marks(con):
    """Every snapshot id a model stored as where it stopped reading a source."""
    found = set()
    for (watermark,) in con.execute("SELECT watermark FROM incremental_models()").fetchall():
        found |= {int(v) for v in json.loads(watermark).values()}
    return found


def expire(con, versions):
    if versions:
        listed = ", ".join(str(v) for v in sorted(versions))
        con.execute(f"SELECT count(*) FROM ducklake_expire_snapshots('lake', versions => [{listed}])").fetchall()
        kept = {r[0] for r in con.execute("SELECT snapshot_id FROM lake.snapshots()").fetchall()}
        assert not kept & set(versions), (versions, kept)


def play(con, stream, rnd, ctx, rebuilt=None):
    stmts, touched = stream.batch(rnd)
    for sql in stmts:
        con.execute(sql)
    return refresh_and_check(con, touched, ctx, rebuilt)


def test_feed_expired_recreated_and_altered_sources(lake):
    con = lakes.open_lake(*lake)
    create_models(con)
    stream = Stream(con, 5)
    play(con, stream, 0, "first", {"per_n": "first build"})
    play(con, stream, 1, "before expiry")

    # Snapshots after the stored ones expired: the feed still gives their changes through a range that spans them.
    stored = marks(con)
    stmts, touched = Stream(con, 6).batch(2)
    stmts += [f"UPDATE {EVENTS} SET g = g + 1 WHERE id % 5 = 0", f"DELETE FROM {EVENTS} WHERE id % 7 = 3"]
    for sql in stmts:
        con.execute(sql)
    current = con.execute("SELECT id FROM lake.current_snapshot()").fetchone()[0]
    expire(con, set(range(min(stored) + 1, current)) - stored)
    refresh_and_check(con, touched | {EVENTS}, "snapshots after the stored ones expired")

    # The stored snapshots themselves expired: the changes since are unknown, every model is rebuilt and says so.
    expire(con, marks(con))
    con.execute(f"INSERT INTO {EVENTS} {EVENT_COLUMNS} VALUES (900001, 1, 3, 2, 17)")
    refresh_and_check(con, {EVENTS}, "stored snapshots expired", {n: REBUILT_EXPIRED for n in MODELS})
    play(con, stream, 3, "after the expiry rebuild")

    # The dimension dropped and created again: only the models reading it are rebuilt, and their reasons name it.
    con.execute(f"DROP TABLE {DIMS}")
    con.execute(f"CREATE TABLE {DIMS} AS SELECT i::INTEGER AS k, 'again ' || (i % 3) AS label, (i % 2)::INTEGER AS grp "
                "FROM range(2, 12) t(i)")
    recreated = ("source lake.main.dims changed since the last refresh: it was dropped and created again, so the "
                 "model is rebuilt")
    reading = [m for m, (_, reads) in MODELS.items() if DIMS in reads]
    refresh_and_check(con, set(), "dims created again", {m: recreated for m in reading})
    play(con, stream, 4, "after dims were created again")

    # A column the models do not read added to events, and written: every refresh stays incremental.
    con.execute(f"ALTER TABLE {EVENTS} ADD COLUMN note VARCHAR")
    con.execute(f"INSERT INTO {EVENTS} (id, version, k, g, amount, note) VALUES (900002, 1, 4, 1, 5, 'new')")
    con.execute(f"UPDATE {EVENTS} SET note = 'touched', amount = amount + 1 WHERE id % 9 = 2")
    refresh_and_check(con, {EVENTS}, "events gained a column")
    for rnd in range(5, 8):
        play(con, stream, rnd, f"after the added column round={rnd}")
    for name in MODELS:
        assert con.execute(f"SELECT ok FROM incremental_verify({lit('lake.main.' + name)})").fetchone()[0], name
    con.close()


WRITER = """
import sys, json, time
import duckdb
sys.path.insert(0, {here!r})
import lakes
prelude, stmts, start = json.loads(sys.argv[1])
con = lakes.connect()
for s in prelude:
    con.execute(s)
time.sleep(max(0.0, start - time.time()))
for s in stmts:
    for attempt in range(40):
        try:
            con.execute(s)
            break
        except duckdb.Error as e:
            if "onflict" not in str(e) and "retry" not in str(e):
                raise
            time.sleep(0.05 * (attempt + 1))
    else:
        raise SystemExit("gave up on " + s)
con.close()
"""


def writer_statements(rng, first_id, count):
    """Insertions of ids of the writer's own range, updates moving them between groups, deletes of some of them."""
    stmts = []
    for b in range(count):
        base = first_id + b * 20
        rows = ", ".join(f"({base + i}, 1, {rng.randint(1, 14)}, {rng.randint(0, 6)}, {rng.randint(-50, 200)})"
                         for i in range(rng.randint(1, 20)))
        stmts.append(f"INSERT INTO {EVENTS} {EVENT_COLUMNS} VALUES {rows}")
        stmts.append(f"UPDATE {EVENTS} SET g = (g + 1) % 7, amount = amount + 1 WHERE id BETWEEN {base} AND {base + 5}")
        stmts.append(f"UPDATE {EVENTS} SET amount = amount - 2 WHERE id % 13 = {rng.randrange(13)}")
        stmts.append(f"DELETE FROM {EVENTS} WHERE id = {base + rng.randrange(20)}")
    return stmts


def concurrent_writes(lake, rng, first_id):
    """Two processes write events at the same instant; each retries a statement whose commit lost a race."""
    prelude = lakes.lake_prelude(*lake)
    start = time.time() + 3.0
    script = WRITER.format(here=str(lakes.REPO / "test" / "python"))
    procs = [subprocess.Popen([sys.executable, "-c", script,
                               json.dumps([prelude, writer_statements(rng, first_id + w * 100_000, 4), start])],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for w in range(2)]
    for p in procs:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, f"writer failed (exit {p.returncode}): {out}{err}"


def test_feed_concurrent_writers(request, tmp_path):
    """On a PostgreSQL lake two writer processes change the same source at once before each refresh."""
    lake = lakes.empty_lake("postgres", tmp_path, request.getfixturevalue("pg"), prefix="feed")
    con = lakes.open_lake(*lake)
    create_models(con)
    stream, rng = Stream(con, 77), random.Random(77)
    stmts, touched = stream.batch(0)
    for sql in stmts:
        con.execute(sql)
    refresh_and_check(con, touched, "first build", {"per_n": "first build"})
    for rnd in range(4):
        concurrent_writes(lake, rng, 1_000_000 * (rnd + 1))
        stmts, touched = stream.batch(rnd + 1)
        for sql in stmts:
            con.execute(sql)
        refresh_and_check(con, touched | {EVENTS}, f"concurrent round={rnd}")
    con.close()
