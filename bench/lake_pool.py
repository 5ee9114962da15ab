"""The worker-pool workload of the research (e7 in ../shared/research/ducklake-scaleout.md), run on this tree: MODELS
models `SELECT g, count(*) AS n, sum(v) AS s FROM src<i> GROUP BY g` over sources of 100k rows; each worker, in a
loop, appends 100 rows to one source and refreshes. Two ways to refresh, measured in the same run:

- `work`: the models are defined by their query alone (the DuckLake feed, the key inferred), and the worker calls
  `incremental_work`, which claims due models through the extension's leases in PostgreSQL;
- `hand`: the refresh written by hand as the research did, with each model's watermark in its own table and a lease
  claimed from a PostgreSQL table with `FOR UPDATE SKIP LOCKED` (one statement), released after the refresh.

    python bench/lake_pool.py setup MODE META DATA MODELS
    python bench/lake_pool.py MODE META DATA OUT SECONDS ID WORKERS MODELS THREADS

THREADS is DuckDB's `threads` setting of the worker process, or `default` to leave it as DuckDB sets it (the number
of cores).

Both count the refreshes that wrote rows; bench/lake.py starts the processes and reports.
"""
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "test/python"))
import lakes  # noqa: E402

QUERY = "SELECT g, count(*) AS n, sum(v) AS s FROM src{n} GROUP BY g"
SOURCE_ROWS = 100_000
BATCH = 100
CLAIM = """CREATE FUNCTION bench_claim(p_owner text) RETURNS text LANGUAGE sql AS 'UPDATE bench_leases
  SET owner = p_owner, expires = now() + interval ''10 seconds'' WHERE name = (SELECT name FROM bench_leases
  WHERE owner IS NULL OR expires < now() ORDER BY last_done NULLS FIRST LIMIT 1 FOR UPDATE SKIP LOCKED) RETURNING name'"""
RELEASE = """CREATE FUNCTION bench_release(p_owner text, p_name text) RETURNS void LANGUAGE sql AS 'UPDATE bench_leases
  SET owner = NULL, expires = NULL, last_done = now() WHERE name = p_name AND owner = p_owner'"""


def attach_pg(con, meta):
    con.execute(f"ATTACH {lakes.lit(meta)} AS pg (TYPE postgres)")


def setup(mode, meta, data, models):
    con = lakes.open_lake("postgres", meta, data)
    con.execute("USE lake")
    for n in range(models):
        con.execute(f"CREATE TABLE src{n} AS SELECT i AS id, i % 100 AS g, 1 AS v FROM range({SOURCE_ROWS}) r(i)")
        if mode == "work":
            con.execute(f"CALL incremental_create('m{n}', {lakes.lit(QUERY.format(n=n))})")
            con.execute(f"CALL incremental_refresh('m{n}')")
        else:
            con.execute(f"CREATE TABLE mt{n} AS {QUERY.format(n=n)}")
            con.execute(f"CREATE TABLE st{n} AS SELECT max(id) AS wm FROM src{n}")
    if mode == "hand":
        attach_pg(con, meta)
        for sql in ["CREATE TABLE bench_leases(name text PRIMARY KEY, owner text, expires timestamptz, "
                    "last_done timestamptz)", CLAIM, RELEASE]:
            con.execute(f"CALL postgres_execute('pg', {lakes.lit(sql)})")
        values = ", ".join(f"(''m{n}'')" for n in range(models))
        con.execute(f"CALL postgres_execute('pg', 'INSERT INTO bench_leases (name) VALUES {values}')")
    con.close()


def append(con, n, base):
    con.execute(f"INSERT INTO src{n} SELECT i, i % 100, 1 FROM range({base}, {base + BATCH}) r(i)")


def work(con, worker, deadline, workers, models):
    con.execute("USE lake")
    refreshed = calls = i = 0
    while time.time() < deadline:
        # ids of this worker's own range: workers append to one source at once, and the feed needs no order
        append(con, (worker + i * workers) % models, SOURCE_ROWS + worker * 10_000_000 + i * BATCH)
        i += 1
        calls += 1
        rows = con.execute(f"SELECT mode FROM incremental_work(max_seconds := 10, worker := 'w{worker}', "
                           "idle_seconds := 0, lease_seconds := 10, raise_errors := false)").fetchall()
        refreshed += sum(1 for (mode,) in rows if mode in ("incremental", "full"))
    return {"refreshes": refreshed, "calls": calls, "batches": i}


def hand(con, meta, worker, deadline):
    con.execute("USE lake")
    attach_pg(con, meta)
    refreshed = conflicts = claim_errors = i = 0
    me = f"w{worker}"
    while time.time() < deadline:
        # fetchall: a postgres_query result left unread rolls its PostgreSQL transaction (and the claim) back
        try:
            name = con.execute(f"SELECT * FROM postgres_query('pg', 'SELECT bench_claim(''{me}'')')").fetchall()[0][0]
        except lakes.duckdb.Error:  # the scanner reads at REPEATABLE READ: a concurrent claim is a serialization failure
            claim_errors += 1
            continue
        if name is None:
            time.sleep(0.05)
            continue
        n = int(name[1:])
        # the lease holder is the only writer of the source, so new ids keep growing, as the watermark needs
        append(con, n, con.execute(f"SELECT max(id) + 1 FROM src{n}").fetchone()[0])
        i += 1
        for _ in range(10):
            try:
                con.execute("BEGIN")
                wm = con.execute(f"SELECT wm FROM st{n}").fetchone()[0]
                keys = f"(SELECT DISTINCT g FROM src{n} WHERE id > {wm})"
                con.execute(f"DELETE FROM mt{n} WHERE g IN {keys}")
                con.execute(f"INSERT INTO mt{n} SELECT g, count(*), sum(v) FROM src{n} WHERE g IN {keys} GROUP BY g")
                con.execute(f"UPDATE st{n} SET wm = (SELECT max(id) FROM src{n})")
                con.execute("COMMIT")
                refreshed += 1
                break
            except lakes.duckdb.Error:
                con.execute("ROLLBACK")
                conflicts += 1
        con.execute(f"CALL postgres_execute('pg', 'SELECT bench_release(''{me}'', ''{name}'')')")
    return {"refreshes": refreshed, "conflicts_retried": conflicts, "claim_errors": claim_errors, "batches": i}


def wrong_models(con, mode, models):
    """Models that differ from their query (after a catch-up refresh for `work`; up to the watermark for `hand`)."""
    con.execute("USE lake")
    if mode == "work":
        con.execute("SELECT count(*) FROM incremental_work(max_seconds := 120, worker := 'final')").fetchall()
    bad = []
    for n in range(models):
        table, query = (f"m{n}", QUERY.format(n=n)) if mode == "work" else \
            (f"mt{n}", QUERY.format(n=n).replace(f"FROM src{n}", f"FROM src{n} WHERE id <= (SELECT wm FROM st{n})"))
        diff = con.execute(f"SELECT count(*) FROM ((SELECT * FROM {table} EXCEPT ALL ({query})) UNION ALL "
                           f"(({query}) EXCEPT ALL SELECT * FROM {table}))").fetchone()[0]
        if diff:
            bad.append(table)
    return bad


def main(argv):
    if argv[1] == "setup":
        setup(argv[2], argv[3], argv[4], int(argv[5]))
        return
    mode, meta, data, out, seconds, worker, workers, models, threads = argv[1:10]
    con = lakes.open_lake("postgres", meta, data)
    if threads != "default":
        con.execute(f"SET threads = {int(threads)}")
    deadline = time.time() + float(seconds)
    if mode == "work":
        result = work(con, int(worker), deadline, int(workers), int(models))
    else:
        result = hand(con, meta, int(worker), deadline)
    con.close()
    Path(out).write_text(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv)
