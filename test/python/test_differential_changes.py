"""Differential tests for pipelines: models reading other models' recorded changes. Base tables get inserts, in-place
updates and deletes; upstream models of every strategy record what their refreshes change; after every round each
reader's table equals its query over the upstream tables as they now are."""

import random
from datetime import date, datetime, timedelta

import pytest

from sqltext import lit, table_equals_query

BASE = datetime(2024, 3, 1)
ROUNDS = 10

SCHEMA = [
    "CREATE TABLE events(id BIGINT, version INT, k INT, day DATE, amount DECIMAL(12,2), loaded_at TIMESTAMP)",
    "CREATE TABLE dims(k INT, grp INT)",
]

# name, query, options: the upstream models, one per way a refresh writes its table.
UPSTREAM = [
    ("ups_append", "SELECT id, version, k, day, amount, loaded_at FROM events WHERE amount IS NOT NULL",
     "time_column := 'loaded_at', strategy := 'append'"),
    ("ups_latest", "SELECT * FROM events QUALIFY row_number() OVER (PARTITION BY id ORDER BY version DESC) = 1",
     "unique_key := 'id', sources := {'events': 'snapshot'}"),
    ("ups_merge", "SELECT id, max(version) AS version, max(loaded_at) AS loaded_at FROM events GROUP BY id",
     "unique_key := 'id', time_column := 'loaded_at', strategy := 'merge'"),
    ("ups_days", "SELECT day, k, count(*) AS n, sum(amount) AS total FROM events GROUP BY day, k",
     "time_column := 'day', lookback := INTERVAL '3 days', strategy := 'delete+insert'"),
    ("ups_di_keyed", "SELECT id, max(day) AS day, sum(amount) AS amount FROM events GROUP BY id",
     "unique_key := 'id', time_column := 'day', lookback := INTERVAL '2 days', strategy := 'delete+insert'"),
    ("ups_full", "SELECT k, count(*) AS n FROM events GROUP BY k", "strategy := 'full'"),
]

# name, query, unique key, sources: readers of the upstream models' changes, two of them a level further down.
READERS = [
    ("r_append", "SELECT k, count(*) AS n, sum(amount) AS total FROM ups_append GROUP BY k", "k",
     {"ups_append": "changes"}),
    ("r_daily", "SELECT day, count(*) AS n, sum(amount) AS total, median(amount) AS med, count(DISTINCT k) AS ks "
                "FROM ups_latest GROUP BY day", "day", {"ups_latest": "changes"}),
    ("r_sizes", "SELECT n, count(*) AS days FROM r_daily GROUP BY n", "n", {"r_daily": "changes"}),
    ("r_grp", "SELECT d.grp, count(*) AS n, sum(l.amount) AS total FROM ups_latest l JOIN dims d ON d.k = l.k "
              "GROUP BY d.grp", "grp", {"ups_latest": "changes", "dims": "snapshot"}),
    ("r_rows", "SELECT l.id, l.amount, d.grp FROM ups_latest l LEFT JOIN dims d ON d.k = l.k", "id",
     {"ups_latest": "changes", "dims": "snapshot"}),
    ("r_merge", "SELECT version, count(*) AS ids FROM ups_merge GROUP BY version", "version",
     {"ups_merge": "changes"}),
    ("r_days", "SELECT k, sum(n) AS n, sum(total) AS total FROM ups_days GROUP BY k", "k", {"ups_days": "changes"}),
    ("r_days_top", "SELECT n, count(*) AS ks FROM r_days GROUP BY n", "n", {"r_days": "changes"}),
    ("r_full", "SELECT n, count(*) AS ks FROM ups_full GROUP BY n", "n", {"ups_full": "changes"}),
    # counts folded from the changes: groups emptied, NULL amounts, a NULL key
    ("r_fold", "SELECT k, count(*) AS n, count(amount) AS amounts FROM ups_latest WHERE day > DATE '2024-03-02' "
               "GROUP BY k", "k", {"ups_latest": "changes"}),
    ("r_fold_days", "SELECT day, count(*) AS n, count(k) AS ks FROM ups_append GROUP BY ALL", "day",
     {"ups_append": "changes"}),
    ("r_di_keyed", "SELECT day, count(*) AS ids, sum(amount) AS amount FROM ups_di_keyed GROUP BY day", "day",
     {"ups_di_keyed": "changes"}),
    # running totals: the cumulative number of keys by the day each was first seen (a first day moves both ways as
    # versions are updated and deleted), and a row-level running total over a reader
    ("r_first_seen", "SELECT k, min(day) AS first_day FROM ups_latest GROUP BY k", "k", {"ups_latest": "changes"}),
    ("r_ks_to_date", "SELECT first_day, count(*) AS new_ks, sum(count(*)) OVER (ORDER BY first_day) AS ks_to_date "
                     "FROM r_first_seen GROUP BY first_day", "first_day", {"r_first_seen": "changes"}),
    ("r_daily_to_date", "SELECT day, n, sum(n) OVER (ORDER BY day) AS n_to_date, max(total) OVER (ORDER BY day) AS top "
                        "FROM r_daily", "day", {"r_daily": "changes"}),
]



class Stream:
    """Events: new ids, new versions, late days, in-place amount updates and deletes; loaded_at only grows, so the
    time-column upstreams see inserts (what they are for) while the snapshot upstream sees everything."""

    def __init__(self, seed):
        self.rng = random.Random(seed)
        self.next_id, self.versions, self.round = 1, {}, 0

    def batch(self):
        rng, stmts = self.rng, []
        self.round += 1
        at = BASE + timedelta(days=self.round)
        rows = []
        for _ in range(rng.randint(0, 25) if self.round > 1 else 150):
            if self.versions and rng.random() < 0.3:
                id_ = rng.choice(list(self.versions))
            else:
                id_, self.next_id = self.next_id, self.next_id + 1
            self.versions[id_] = self.versions.get(id_, 0) + 1
            k = "NULL" if rng.random() < 0.05 else str(rng.randint(1, 12))
            late = rng.randint(0, 2) if rng.random() < 0.8 else rng.randint(3, 9)
            day = max(date(2024, 3, 1), (at - timedelta(days=late)).date())
            amount = "NULL" if rng.random() < 0.05 else f"{rng.randint(-500, 5000) / 100:.2f}"
            rows.append(f"({id_}, {self.versions[id_]}, {k}, DATE '{day}', {amount}, TIMESTAMP '{at}')")
        if rows:
            stmts.append(f"INSERT INTO events VALUES {', '.join(rows)}")
        if self.round > 1 and self.versions:
            for _ in range(rng.randint(0, 3)):
                id_ = rng.choice(list(self.versions))
                if rng.random() < 0.5:
                    stmts.append(f"DELETE FROM events WHERE id = {id_} AND version = {self.versions[id_]}")
                else:
                    stmts.append(f"UPDATE events SET amount = amount + 1, k = {rng.randint(1, 12)} WHERE id = {id_}")
        for _ in range(rng.randint(0, 2)):
            k, grp = rng.randint(1, 13), rng.choice(["NULL", "1", "2", "3"])
            stmts.append(f"DELETE FROM dims WHERE k = {k}")
            if rng.random() < 0.8:
                stmts.append(f"INSERT INTO dims VALUES ({k}, {grp})")
        return stmts



def log_is_the_difference(con, name):
    """The rows a reader's log holds, netted by sign, are exactly the rows the upstream gained (+) and lost (-)."""
    reader = next(r for r, _, _, sources in READERS if name in sources)
    log = '"_incremental"."changes of ""main"".""%s"" for ""main"".""%s"""' % (name, reader)
    netted = f"SELECT * EXCLUDE (__n), CAST(__n AS BIGINT) AS __n FROM (SELECT * EXCLUDE (__incremental_diff), " \
             f"sum(__incremental_diff) AS __n FROM {log} GROUP BY ALL) WHERE __n <> 0"
    expected = f"SELECT *, CAST(count(*) AS BIGINT) AS __n FROM (FROM {name} EXCEPT ALL FROM before_{name}) GROUP BY ALL " \
               f"UNION ALL SELECT *, -CAST(count(*) AS BIGINT) FROM (FROM before_{name} EXCEPT ALL FROM {name}) GROUP BY ALL"
    return con.execute(f"SELECT (SELECT count(*) FROM (({netted}) EXCEPT ALL ({expected}))) + "
                       f"(SELECT count(*) FROM (({expected}) EXCEPT ALL ({netted})))").fetchone()[0] == 0


@pytest.mark.parametrize("seed", [5, 41, 2024])
def test_changes_random_stream(con, seed):
    for sql in SCHEMA:
        con.execute(sql)
    for name, query, options in UPSTREAM:
        con.execute(f"CALL incremental_create({lit(name)}, {lit(query)}, {options})")
    for name, query, key, sources in READERS:
        src = ", ".join(f"{lit(t)}: {lit(c)}" for t, c in sources.items())
        con.execute(f"CALL incremental_create({lit(name)}, {lit(query)}, unique_key := {lit(key)}, "
                    f"sources := {{{src}}})")
    stream = Stream(seed)
    for rnd in range(ROUNDS):
        for name, *_ in UPSTREAM if rnd else []:
            con.execute(f"CREATE OR REPLACE TABLE before_{name} AS FROM {name}")
        for sql in stream.batch():
            con.execute(sql)
        if rnd and stream.rng.random() < 0.3:
            # an upstream rebuilt in full records the exact difference, so its readers stay incremental
            name = stream.rng.choice(UPSTREAM)[0]
            con.execute(f"CALL incremental_refresh({lit(name)}, full_refresh := true)")
        for name, *_ in UPSTREAM if rnd else []:
            con.execute(f"CALL incremental_refresh({lit(name)})")
            assert log_is_the_difference(con, name), f"seed={seed} round={rnd}: the log of {name} is not its change"
        before = {name: con.execute(f"SELECT count(*) FROM {name}").fetchone()[0] if rnd else 0
                  for name, *_ in READERS}
        runs = {r[0]: r for r in con.execute(
            "SELECT model, mode, rows_inserted, rows_deleted, reason FROM incremental_refresh_all()").fetchall()}
        for name, query, key, sources in READERS:
            ctx = f"seed={seed} round={rnd} model={name}"
            run = runs[name]
            assert run[1] == ("full" if rnd == 0 else run[1]) and run[1] in ("full", "incremental", "noop"), ctx
            assert rnd == 0 or run[1] != "full", f"{ctx}: rebuilt instead of reading changes: {run}"
            if name.startswith("r_fold") and run[1] == "incremental":
                assert "folds them into the stored counts" in run[4], f"{ctx}: not folded: {run}"
            after = con.execute(f"SELECT count(*) FROM {name}").fetchone()[0]
            assert after - before[name] == run[2] - run[3], f"{ctx}: counts {run} for {before[name]} -> {after}"
            assert table_equals_query(con, name, query), f"{ctx}: table differs from its query; {run}"
            assert con.execute(f"SELECT ok FROM incremental_verify({lit(name)})").fetchone()[0], ctx
        logs = con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE schema_name = '_incremental' AND "
            "starts_with(table_name, 'changes of')").fetchall()
        assert len(logs) == sum(1 for *_, s in READERS for c in s.values() if c == "changes"), logs
        for (log,) in logs:
            left = con.execute(f'SELECT count(*) FROM "_incremental"."{log.replace(chr(34), chr(34) * 2)}"').fetchone()
            assert left[0] == 0, f"seed={seed} round={rnd}: {log} still holds {left[0]} rows after refresh_all"
        again = con.execute("SELECT model, mode FROM incremental_refresh_all()").fetchall()
        assert all(mode == "noop" for _, mode in again if not _.startswith("ups_")), again
