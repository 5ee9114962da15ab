"""Differential tests: random event streams; after every refresh, every strategy equals a full recomputation."""

import random
from collections import Counter
from datetime import datetime, timedelta
from decimal import Decimal

import pytest

from sqltext import lit

SEEDS = [7, 1234, 98765]
ROUNDS = 14  # refresh rounds after the first build, per stream
FILE_ROUNDS = 8
BASE = datetime(2024, 3, 1)

EVENTS = "CREATE TABLE events(id BIGINT, k BIGINT, ts TIMESTAMP, day DATE, amount DECIMAL(12,2), version INT)"
DEDUP = (
    "SELECT id, k, ts, amount FROM events "
    "QUALIFY row_number() OVER (PARTITION BY id ORDER BY ts DESC, version DESC) = 1"
)
# The HAVING clauses drop some groups, so keys vanish from the query and come back as rows arrive.
DAILY = (
    "SELECT day, sum(amount) AS revenue, count(*) AS n, count(DISTINCT k) AS ks FROM events GROUP BY day "
    "HAVING count(*) % 5 <> 0"
)
LINES = "SELECT k, ts, amount FROM events"  # an insert-only log, with exact duplicate rows
PER_K = (
    "SELECT k, sum(amount) AS total, count(*) AS n, max(ts) AS last_ts FROM events GROUP BY k HAVING count(*) % 4 <> 0"
)
RANDOM = object()


class Model:
    """A model definition plus what its source stream may contain for the recomputation oracle to hold."""

    def __init__(self, name, query, strategy, expect, key=(), time=None, lookback_days=None, seeds=3, **stream):
        self.name, self.query, self.strategy, self.expect, self.seeds = name, query, strategy, expect, seeds
        self.key, self.time, self.lookback_days = tuple(key), time, lookback_days
        # Late rows stay within the lookback; with no time column the whole query is re-read, so anything goes.
        slack = timedelta(days=lookback_days) if lookback_days else None
        self.stream = dict(late=time is None or lookback_days is not None, slack=slack, versions=True, deletes=None)
        self.stream.update(stream)

    def create_sql(self):
        args = [lit(self.name), lit(self.query), f"strategy := {lit(self.strategy)}"]
        if self.key:
            args.append(f"unique_key := {lit(', '.join(self.key))}")
        if self.time:
            args.append(f"time_column := {lit(self.time)}")
        if self.lookback_days:
            args.append(f"lookback := INTERVAL '{self.lookback_days} days'")
        return f"SELECT * FROM incremental_create({', '.join(args)})"

    def __repr__(self):
        return self.name


MODELS = [
    Model("append_log", LINES, "append", "append", time="ts", late=False, versions=False),
    Model("append_keyed", DEDUP, "append", "append", key=["id"], time="ts", lookback_days=1),
    Model("merge_time", DEDUP, "merge", "merge", key=["id"], time="ts", lookback_days=1),
    Model("merge_whole", PER_K, "merge", "merge", key=["k"], deletes="any"),
    Model("delete_insert_keyed", DAILY, "delete+insert", "delete+insert", ["day"], "day", 2, deletes="recent"),
    Model("delete_insert_dedup", DEDUP, "delete+insert", "delete+insert", ["id"], "ts", 1),
    Model("delete_insert_window", DAILY, "delete+insert", "delete+insert", time="day", lookback_days=2,
          deletes="recent"),
    Model("full_keyed", DEDUP, "full", "full", key=["id"], deletes="any"),
    # 'auto' resolves to the strategies above (fewer seeds for the time budget; all run in the file stream too).
    Model("auto_merge", DAILY, "auto", "merge", key=["day"], time="day", lookback_days=2, seeds=2, deletes="recent"),
    Model("auto_delete_insert", LINES, "auto", "delete+insert", time="ts", lookback_days=1, seeds=2,
          deletes="recent"),
    Model("auto_full", PER_K, "auto", "full", seeds=1, deletes="any"),
]
BY_NAME = {m.name: m for m in MODELS}



def call(con, sql):
    cur = con.execute(sql)
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, row)) for row in cur.fetchall()]


def snapshot(con, name):
    """The table's rows and column names."""
    cur = con.execute(f"SELECT * FROM {name}")
    return cur.fetchall(), [d[0] for d in cur.description]


def by_key(rows, idx, ctx):
    out = {}
    for row in rows:
        key = tuple(row[i] for i in idx)
        assert key not in out, f"{ctx}: duplicate key {key}"
        out[key] = row
    return out


def real_changes(key_idx, before, after, ctx):
    """(inserted, updated, deleted) between two snapshots: by key when keyed, as multisets otherwise."""
    if key_idx:
        b, a = by_key(before, key_idx, ctx), by_key(after, key_idx, ctx)
        updated = sum(1 for k in a.keys() & b.keys() if a[k] != b[k])
        return len(a.keys() - b.keys()), updated, len(b.keys() - a.keys())
    b, a = Counter(before), Counter(after)
    return sum((a - b).values()), 0, sum((b - a).values())


def counts(res):
    return res["rows_inserted"], res["rows_updated"], res["rows_deleted"]


class Stream:
    """Random changes to `events`: in-order inserts, late rows (never older than `slack` before the newest time seen
    at the last refresh), new versions of existing ids, exact duplicates, and deletes ('any' or 'recent' rows)."""

    def __init__(self, seed, late=True, slack=None, versions=True, deletes=None):
        self.rng = random.Random(seed)
        self.late, self.slack, self.versions, self.deletes = late, slack, versions, deletes
        self.next_id = 1
        self.now = BASE  # newest ts ever inserted: new rows go strictly after it
        self.seen = BASE  # newest ts at the last refresh: the models' watermark
        self.version = {}  # id -> newest version number
        self.best = {}  # id -> ts of its newest version
        self.rows = {}  # (id, version) -> (k, ts, amount) of the rows present

    def refreshed(self):
        self.seen = self.now

    def _late_bound(self):
        return BASE if self.slack is None else self.seen - self.slack

    def _between(self, lo, hi):
        return lo + timedelta(minutes=self.rng.randint(0, max(0, int((hi - lo).total_seconds() // 60))))

    def _row(self, id_, ts, k=RANDOM, amount=RANDOM):
        version = self.version.get(id_, 0) + 1
        self.version[id_] = version
        self.best[id_] = max(ts, self.best.get(id_, ts))
        rng = self.rng
        if k is RANDOM:  # a few NULL keys and amounts: keys compare with IS NOT DISTINCT FROM
            k = None if rng.random() < 0.04 else rng.randint(1, 12)
        if amount is RANDOM:
            amount = None if rng.random() < 0.04 else Decimal(rng.randint(-2000, 50000)) / 100
        self.rows[(id_, version)] = (k, ts, amount)
        k_sql, amount_sql = ("NULL" if v is None else str(v) for v in (k, amount))
        return f"({id_}, {k_sql}, TIMESTAMP '{ts}', DATE '{ts.date()}', {amount_sql}, {version})"

    def _new_id(self):
        self.next_id += 1
        return self.next_id - 1

    def batch(self, initial=False):
        """SQL statements for one round of changes ([] for a quiet round)."""
        rng, values, deleted = self.rng, [], []
        if initial:
            for _ in range(rng.randint(150, 300)):
                values.append(self._row(self._new_id(), self._between(BASE, BASE + timedelta(days=4))))
            self.now = max(self.best.values())
        elif rng.random() >= 0.1:
            bound = self._late_bound()
            start = self.now
            for _ in range(rng.randint(0, 40)):  # in order: strictly after every time so far
                if values and rng.random() < 0.1:  # an exact copy of the previous row, under a new id
                    k, ts, amount = self.rows[(self.next_id - 1, 1)]
                    values.append(self._row(self._new_id(), ts, k, amount))
                    continue
                ts = start + timedelta(minutes=rng.randint(1, 600))
                values.append(self._row(self._new_id(), ts))
                self.now = max(self.now, ts)
            for _ in range(rng.randint(0, 10) if self.late else 0):  # late rows, at most `slack` behind
                ts = bound if rng.random() < 0.2 else self._between(bound, self.seen)
                values.append(self._row(self._new_id(), ts))
            for _ in range(rng.randint(0, 10) if self.versions else 0):
                id_ = rng.randrange(1, self.next_id)
                r = rng.random()
                if r < 0.3:  # same time as its newest version: the version number decides
                    ts = max(self.best[id_], bound)
                elif r < 0.6 or not self.late:
                    ts = self.now + timedelta(minutes=rng.randint(1, 600))
                    self.now = ts
                else:
                    ts = self._between(bound, self.seen)
                newest = self.rows.get((id_, self.version[id_]))
                values.append(self._row(id_, ts, k=newest[0] if newest and rng.random() < 0.5 else RANDOM))
            recent = [r for r in self.rows.items() if r[1][1] >= bound]
            for _ in range(rng.randint(0, 4) if self.late and recent else 0):  # exact copies, new ids
                (_, _), (k, ts, amount) = rng.choice(recent)
                values.append(self._row(self._new_id(), ts, k=k, amount=amount))
            if self.deletes:
                pool = list(self.rows) if self.deletes == "any" else [r for r, v in self.rows.items() if v[1] >= bound]
                deleted = rng.sample(pool, min(len(pool), rng.randint(0, 5)))
        stmts = [f"INSERT INTO events VALUES {', '.join(values)}"] if values else []
        for id_, version in deleted:
            del self.rows[(id_, version)]
            stmts.append(f"DELETE FROM events WHERE id = {id_} AND version = {version}")
        return stmts


class Checker:
    """Refreshes one model and checks it: recomputation oracle, verify, counts, watermark, mode, idempotence."""

    def __init__(self, model, seed):
        self.m, self.seed = model, seed
        self.built = False
        self.watermark = None
        self.diverged = 0  # append with key: keys whose newer version the table rightly kept out

    def create(self, con):
        row = call(con, self.m.create_sql())[0]
        assert row["strategy"] == self.m.expect, f"seed={self.seed} {self.m}: {row}"

    def refresh(self, con, rnd, source_changed=True):
        m, name = self.m, self.m.name
        ctx = f"seed={self.seed} model={name} round={rnd}"
        before = snapshot(con, name)[0] if self.built else []
        res = call(con, f"CALL incremental_refresh({lit(name)})")[0]
        after, cols = snapshot(con, name)
        ctx += f" result={res}"
        key_idx = [cols.index(k) for k in m.key]

        assert res["strategy"] == m.expect, ctx
        if not self.built or m.expect == "full":
            assert res["mode"] == "full", ctx
        elif m.expect == "append" and not m.lookback_days:
            assert res["mode"] == ("incremental" if source_changed else "noop"), ctx
        else:
            assert res["mode"] == "incremental", ctx
        assert counts(res) == real_changes(key_idx, before, after, ctx), f"{ctx}: counts differ from the real diff"

        missing, extra = con.execute(
            f"SELECT (SELECT count(*) FROM ({m.query} EXCEPT ALL SELECT * FROM {name})), "
            f"(SELECT count(*) FROM (SELECT * FROM {name} EXCEPT ALL {m.query}))"
        ).fetchone()
        verify = call(con, f"CALL incremental_verify({lit(name)})")[0]
        reported = (verify["rows_missing"], verify["rows_extra"], verify["ok"])
        assert reported == (missing, extra, not missing and not extra), f"{ctx}: {verify}; EXCEPT ALL {missing, extra}"
        if m.expect == "append" and m.key:
            # Never updates: known keys keep their row, new keys get the query's row, no key is lost.
            fresh = by_key(con.execute(m.query).fetchall(), key_idx, ctx)
            old, now = by_key(before, key_idx, ctx), by_key(after, key_idx, ctx)
            expected = {k: old.get(k, row) for k, row in fresh.items()}
            assert now == expected, f"{ctx}: append with key must insert new keys only"
            self.diverged = sum(1 for k, row in fresh.items() if now[k] != row)
        else:
            assert missing == 0 and extra == 0, f"{ctx}: table != recomputation (missing={missing}, extra={extra})"

        if m.time:
            newest = con.execute(f"SELECT CAST(max({m.time}) AS VARCHAR) FROM {name}").fetchone()[0]
            expected_wm = max(w for w in (self.watermark, newest) if w is not None)
            assert res["watermark_before"] == self.watermark, ctx
            assert res["watermark_after"] == expected_wm, f"{ctx}: watermark should be {expected_wm}"
            self.watermark = res["watermark_after"]
        self.built = True

        again = call(con, f"CALL incremental_refresh({lit(name)})")[0]
        assert counts(again) == (0, 0, 0), f"{ctx}: second refresh not idempotent: {again}"
        if m.expect == "append" and not m.lookback_days:
            assert again["mode"] == "noop", f"{ctx}: {again}"
        assert Counter(snapshot(con, name)[0]) == Counter(after), f"{ctx}: second refresh changed the table"
        if m.time:
            assert again["watermark_after"] == self.watermark, f"{ctx}: {again}"


def run_stream(con, models, seed, rounds, reopen=None):
    """Feeds one stream to `models` and checks each after every refresh; `reopen(con, rnd)` may swap connections."""
    settings = {}
    for m in models:
        for opt, value in m.stream.items():
            settings[opt] = value if opt not in settings else _strictest(opt, settings[opt], value)
    stream = Stream(seed, **settings)
    con.execute(EVENTS)
    checkers = [Checker(m, seed) for m in models]
    for c in checkers:
        c.create(con)
    for rnd in range(rounds + 1):
        stmts = stream.batch(initial=rnd == 0)
        for sql in stmts:
            con.execute(sql)
        if reopen:
            con = reopen(con, rnd)
        for c in checkers:
            c.refresh(con, rnd, source_changed=bool(stmts))
        stream.refreshed()
    return con, checkers


def _strictest(opt, a, b):
    if opt == "slack":
        return min(a, b) if a is not None and b is not None else (a if b is None else b)
    if opt == "deletes":
        return a if a == b else None
    return a and b


@pytest.mark.parametrize("model,seed", [(m, s) for m in MODELS for s in SEEDS[: m.seeds]], ids=str)
def test_random_stream(con, model, seed):
    _, checkers = run_stream(con, [model], seed, ROUNDS)
    if model.expect == "append" and model.key:
        assert checkers[0].diverged > 0, f"seed={seed}: no newer version of a known key was ever kept out"


def test_random_stream_file_database(connect, tmp_path):
    """Every strategy fed the same stream in one file database, reopened (and LOADed again) midway."""
    path = tmp_path / "stream.duckdb"
    models = [m for m in MODELS if m.name != "append_log"]  # its insert-only log takes no late rows

    def reopen(con, rnd):
        if rnd not in (3, 6):
            return con
        con.close()
        con = connect(path)
        stored = {r["name"]: r for r in call(con, "SELECT name, status, pending_rebuild FROM incremental_models()")}
        assert sorted(stored) == sorted(m.name for m in models), stored
        assert all(r["status"] == "ok" and r["pending_rebuild"] is None for r in stored.values()), stored
        return con

    con, checkers = run_stream(connect(path), models, 4242, FILE_ROUNDS, reopen=reopen)
    # History survived the reopens: two refreshes per round, full only on the first build or by strategy.
    history = call(con, "SELECT model, mode FROM incremental_history()")
    assert len(history) == len(models) * 2 * (FILE_ROUNDS + 1)
    full = Counter(h["model"] for h in history if h["mode"] == "full")
    assert full == {m.name: 2 * (FILE_ROUNDS + 1) if m.expect == "full" else 1 for m in models}, full


@pytest.mark.parametrize("name", ["append_keyed", "merge_time", "delete_insert_keyed", "delete_insert_window"])
def test_change_older_than_lookback_is_reported_then_fixed(con, name):
    """The documented limit: a row older than the lookback is not re-read; verify shows it, full_refresh fixes it."""
    model = BY_NAME[name]
    con.execute(EVENTS)
    call(con, model.create_sql())
    stream = Stream(99, **model.stream)
    for sql in stream.batch(initial=True):
        con.execute(sql)
    call(con, f"CALL incremental_refresh({lit(name)})")
    assert call(con, f"CALL incremental_verify({lit(name)})")[0]["ok"]

    old = BASE - timedelta(days=30)
    con.execute(f"INSERT INTO events VALUES (1000000, 1, TIMESTAMP '{old}', DATE '{old.date()}', 12.34, 1)")
    res = call(con, f"CALL incremental_refresh({lit(name)})")[0]
    assert res["mode"] == "incremental" and counts(res) == (0, 0, 0), res
    verify = call(con, f"CALL incremental_verify({lit(name)})")[0]
    assert verify["rows_missing"] > 0 and not verify["ok"], verify

    res = call(con, f"CALL incremental_refresh({lit(name)}, full_refresh := true)")[0]
    assert res["mode"] == "full" and counts(res) == (1, 0, 0), res
    assert call(con, f"CALL incremental_verify({lit(name)})")[0]["ok"]
    for sql in (f"SELECT * FROM {name} EXCEPT ALL {model.query}", f"{model.query} EXCEPT ALL SELECT * FROM {name}"):
        assert con.execute(f"SELECT count(*) FROM ({sql})").fetchone()[0] == 0, sql


def test_append_keyed_watermark_is_the_newest_time_the_table_holds(con):
    """A skipped newer version of a known key must not move the watermark past the newest time the table holds,
    or a new key between the two would never be appended (found by the random streams above)."""
    con.execute(EVENTS)
    row = "({}, 1, TIMESTAMP '2024-03-01 {}', DATE '2024-03-01', 1.00, {})"
    con.execute(f"INSERT INTO events VALUES {row.format(1, '10:00', 1)}, {row.format(2, '11:00', 1)}")
    call(con, f"SELECT * FROM incremental_create('m', {lit(DEDUP)}, strategy := 'append', unique_key := 'id', "
              "time_column := 'ts')")
    call(con, "CALL incremental_refresh('m')")
    con.execute(f"INSERT INTO events VALUES {row.format(1, '12:00', 2)}")  # known key: rightly not inserted
    res = call(con, "CALL incremental_refresh('m')")[0]
    con.execute(f"INSERT INTO events VALUES {row.format(3, '11:30', 1)}")  # new key, after 11:00 the table holds
    call(con, "CALL incremental_refresh('m')")
    ids = sorted(r[0] for r in con.execute("SELECT id FROM m").fetchall())
    assert (res["watermark_after"], ids) == ("2024-03-01 11:00:00", [1, 2, 3])
