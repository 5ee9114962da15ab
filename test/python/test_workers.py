"""incremental_work on a lake whose catalog is PostgreSQL: worker processes keep 20 models fresh while writers change
the sources and one worker is killed mid-refresh; claims in PostgreSQL keep each model to one worker at a time, a
worker that lost its claim does not commit, and every model ends equal to its query."""
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import lakes

HERE = Path(__file__).resolve().parent
SCRIPT = HERE / "work_worker.py"

# (name, query, options): aggregates, a dedup, joins with a dimension, a chain of 4, and models over models; the
# source tables are read by 'snapshot', models by the 'changes' their refreshes record
MODELS = [
    ("ev_by_k", "SELECT k, count(*) AS n, sum(v) AS s FROM ev GROUP BY k", "unique_key := 'k', sources := {'ev': 'snapshot'}"),
    ("ev_by_g", "SELECT g, count(*) AS n, sum(v) AS s FROM ev GROUP BY g", "unique_key := 'g', sources := {'ev': 'snapshot'}"),
    ("ev_latest", "SELECT id, k, g, v FROM ev QUALIFY row_number() OVER (PARTITION BY k ORDER BY id DESC) = 1",
     "unique_key := 'k', sources := {'ev': 'snapshot'}"),
    ("ev_dim", "SELECT e.id, e.v, d.label FROM ev e JOIN dim d ON e.g = d.g",
     "unique_key := 'id', sources := {'ev': 'snapshot', 'dim': 'snapshot'}"),
    ("label_totals", "SELECT label, count(*) AS n, sum(v) AS s FROM ev_dim GROUP BY label",
     "unique_key := 'label', sources := {'ev_dim': 'changes'}"),
    ("chain1", "SELECT k, n, s FROM ev_by_k WHERE n > 0", "unique_key := 'k', sources := {'ev_by_k': 'changes'}"),
    ("chain2", "SELECT k, s * 2 AS s2 FROM chain1", "unique_key := 'k', sources := {'chain1': 'changes'}"),
    ("chain3", "SELECT k % 5 AS b, sum(s2) AS t FROM chain2 GROUP BY k % 5",
     "unique_key := 'b', sources := {'chain2': 'changes'}"),
    ("chain4", "SELECT b, t + 1 AS t1 FROM chain3", "unique_key := 'b', sources := {'chain3': 'changes'}"),
    ("latest_by_g", "SELECT g, count(*) AS n, max(v) AS mx FROM ev_latest GROUP BY g",
     "unique_key := 'g', sources := {'ev_latest': 'changes'}"),
    ("dim_count", "SELECT label, count(*) AS n FROM dim GROUP BY label", "unique_key := 'label', sources := {'dim': 'snapshot'}"),
    ("ev_big", "SELECT id, v FROM ev WHERE v > 50", "unique_key := 'id', sources := {'ev': 'snapshot'}"),
    ("big_by_r", "SELECT id % 7 AS r, count(*) AS n FROM ev_big GROUP BY id % 7",
     "unique_key := 'r', sources := {'ev_big': 'changes'}"),
    ("g_label", "SELECT b.g, b.n, d.label FROM ev_by_g b JOIN dim d ON b.g = d.g",
     "unique_key := 'g', sources := {'ev_by_g': 'changes', 'dim': 'snapshot'}"),
    ("ev_minmax", "SELECT g, min(v) AS lo, max(v) AS hi FROM ev GROUP BY g", "unique_key := 'g', sources := {'ev': 'snapshot'}"),
    ("ev_distinct", "SELECT g, count(DISTINCT k) AS dk FROM ev GROUP BY g", "unique_key := 'g', sources := {'ev': 'snapshot'}"),
    ("ev_total", "SELECT count(*) AS n, sum(v) AS s FROM ev", "strategy := 'full'"),
    ("label_big", "SELECT label, s FROM label_totals WHERE s > 100",
     "unique_key := 'label', sources := {'label_totals': 'changes'}"),
    ("g_summary", "SELECT g, n FROM latest_by_g", "unique_key := 'g', sources := {'latest_by_g': 'changes'}"),
    ("k_parity", "SELECT k % 2 AS p, sum(n) AS n FROM ev_by_k GROUP BY k % 2",
     "unique_key := 'p', sources := {'ev_by_k': 'changes'}"),
]


def make_lake(pg, tmp_path, name):
    pg.createdb(name)
    data = tmp_path / "data"
    con = lakes.open_lake("postgres", pg.dsn(name), data)
    con.execute("USE lake")
    return con, data


def differences(con, name, query):
    """Rows of the model missing from its query's result plus rows of the result missing from the model."""
    a = con.execute(f"SELECT count(*) FROM (SELECT * FROM {name} EXCEPT ALL ({query}))").fetchone()[0]
    b = con.execute(f"SELECT count(*) FROM (({query}) EXCEPT ALL SELECT * FROM {name})").fetchone()[0]
    return a + b


def overlaps(rows):
    """Pairs of refreshes of one model by different claims whose [started, finished] intervals overlap."""
    by_model = {}
    for r in rows:
        by_model.setdefault(r["model"], []).append(r)
    found = []
    for model, runs in by_model.items():
        runs.sort(key=lambda r: r["started_us"])
        for a, b in zip(runs, runs[1:]):
            if b["started_us"] < a["finished_us"]:
                found.append((model, a, b))
    return found


def spawn(*args):
    return subprocess.Popen([sys.executable, str(SCRIPT), *map(str, args)], cwd=HERE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def read_rows(path):
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def test_four_workers_two_writers_and_a_killed_worker_keep_twenty_models_exact(pg, tmp_path):
    con, data = make_lake(pg, tmp_path, "lake_pool")
    con.execute("CREATE TABLE ev AS SELECT i AS id, CAST(i % 40 AS INTEGER) AS k, CAST(i % 8 AS INTEGER) AS g, "
                "CAST((i * 37) % 100 AS INTEGER) AS v FROM range(1, 2001) t(i)")
    con.execute("CREATE TABLE dim AS SELECT CAST(i AS INTEGER) AS g, 'L' || CAST(i % 3 AS VARCHAR) AS label FROM range(8) t(i)")
    for name, query, options in MODELS:
        con.execute(f"CALL incremental_create({lakes.lit(name)}, {lakes.lit(query)}, {options})")
    meta = pg.dsn("lake_pool")
    outs = [tmp_path / f"worker{i}.jsonl" for i in range(4)]
    writers_out = tmp_path / "writers.jsonl"
    workers = [spawn("worker", meta, data, outs[i], 30, f"w{i}", 4) for i in range(4)]
    writers = [spawn("writer", meta, data, writers_out, 22, f"writer{i}", i) for i in range(2)]
    started = time.time()

    # Kill worker 0 while it holds a claim, that is while it refreshes a model.
    killed_at, held = None, None
    deadline = time.time() + 40
    while time.time() < deadline and killed_at is None:
        out = pg.psql("SELECT model FROM incremental_leases WHERE holder LIKE 'w0#%' AND expires > now()", "lake_pool") \
            if _table_exists(pg) else ""
        if out and time.time() > started + 5:
            workers[0].send_signal(signal.SIGKILL)
            killed_at, held = time.time(), out.splitlines()[0].split(".")[-1]
        time.sleep(0.05)
    assert killed_at is not None, "worker 0 never held a claim"

    for p in writers + workers[1:]:
        stdout, stderr = p.communicate(timeout=180)
        assert p.returncode == 0, stderr
    workers[0].wait(timeout=30)
    assert workers[0].returncode == -signal.SIGKILL

    # a final catch-up in this process, with its claims in the lake's own catalog database (no leases given)
    caught_up = con.execute("SELECT model, mode FROM incremental_work(max_seconds := 120, worker := 'final')").fetchall()
    assert {m for m, _ in caught_up} == {name for name, _, _ in MODELS}
    for name, query, _ in MODELS:
        assert differences(con, name, query) == 0, f"model {name} differs from its query"

    rows = [r for path in outs for r in read_rows(path)]
    survivors = {r["worker"] for r in rows}
    assert {"w1", "w2", "w3"} <= survivors
    assert not overlaps(rows), overlaps(rows)[:3]
    # The history, written by every worker's refreshes (the killed one's included), agrees: each row names its worker,
    # no two refreshes of one model overlap, and every refresh a surviving worker reported that wrote rows is there.
    history = [dict(zip(("model", "mode", "worker", "started_us", "finished_us"), h)) for h in con.execute(
        "SELECT model, mode, worker, epoch_us(started_at), epoch_us(finished_at) FROM incremental_history() "
        "WHERE mode <> 'failed'").fetchall()]
    by_workers = [h for h in history if h["worker"] is not None]
    assert {h["worker"] for h in by_workers} <= {"w0", "w1", "w2", "w3", "final"}
    assert not overlaps(by_workers), overlaps(by_workers)[:3]

    def wrote(entries):
        return sorted((e["model"], e["worker"], e["mode"]) for e in entries
                      if e["worker"] in ("w1", "w2", "w3") and e["mode"] in ("full", "incremental"))

    assert wrote(history) == wrote(rows)
    # The killed worker's claim expired and another worker refreshed that model afterwards.
    later = [r for r in rows if r["model"] == held and r["worker"] != "w0" and r["started_us"] > killed_at * 1e6]
    assert later, f"no worker refreshed {held} after w0 was killed holding it"
    writers_done = read_rows(writers_out)
    assert len(writers_done) == 2 and all(w["batches"] > 10 for w in writers_done), writers_done

    # No refresh gave up: commit conflicts between workers are retried inside the refresh, and none may be left.
    gave_up = [r for r in rows if r["mode"] in ("failed", "skipped")]
    assert not gave_up, gave_up[:3]
    assert con.execute("SELECT count(*) FROM incremental_history() WHERE mode = 'failed'").fetchone() == (0,)
    # The workers shared the work.
    assert len({r["worker"] for r in rows if r["mode"] in ("full", "incremental")}) >= 2


def _table_exists(pg):
    return pg.psql("SELECT to_regclass('incremental_leases') IS NOT NULL", "lake_pool") == "t"


def test_a_worker_whose_claim_was_taken_rolls_back_instead_of_committing(pg, tmp_path):
    con, _ = make_lake(pg, tmp_path, "lake_fence")
    con.execute("CREATE TABLE src AS SELECT 1 AS x")
    # slow enough that the claim is renewed at least once while the refresh runs
    slow = "SELECT x, (SELECT count(*) FROM range(2000000000) t(i) WHERE hash(i) % 7 = 3) AS c FROM src"
    con.execute(f"CALL incremental_create('slow', {lakes.lit(slow)}, strategy := 'full')")
    result = {}

    def run():
        result["rows"] = con.execute(
            "SELECT model, mode, reason FROM incremental_work(worker := 'victim', lease_seconds := 1, raise_errors := false)"
        ).fetchall()

    t = threading.Thread(target=run)
    t.start()
    deadline = time.time() + 30
    while time.time() < deadline:
        if pg.psql("SELECT to_regclass('incremental_leases') IS NOT NULL", "lake_fence") == "t" and pg.psql(
            "SELECT count(*) FROM incremental_leases WHERE holder LIKE 'victim#%'", "lake_fence") == "1":
            break
        time.sleep(0.02)
    pg.psql("UPDATE incremental_leases SET holder = 'thief', expires = now() + interval '1 hour' WHERE model = 'main.slow'",
            "lake_fence")
    t.join(timeout=120)
    assert result["rows"][0] == (
        "slow", "failed",
        "incremental: refresh of model slow failed: worker victim lost its claim on the model while refreshing it (the "
        "claim could not be renewed in time), so another worker may be refreshing it; this refresh was rolled back "
        "instead of committing. Give a larger lease_seconds if refreshes are slow to renew; nothing was changed",
    )
    # rolled back: the table was never built
    assert con.execute("SELECT last_mode, status FROM incremental_models() WHERE name = 'slow'").fetchall() == [(None, "failed")]
    assert con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'slow'").fetchone() == (0,)
    # The thief's claim stands: the victim's release did not free it.
    assert pg.psql("SELECT holder FROM incremental_leases WHERE model = 'main.slow'", "lake_fence") == "thief"


def test_a_lake_whose_catalog_is_not_postgres_needs_leases(tmp_path):
    lakes.skip_unless_lake_host()
    con = lakes.open_lake("duckdb", tmp_path / "meta.ducklake", tmp_path / "data")
    con.execute("USE lake")
    con.execute("CREATE TABLE src AS SELECT 1 AS x")
    con.execute("CALL incremental_create('m', 'SELECT x FROM src', strategy := 'full')")
    with pytest.raises(Exception) as e:
        con.execute("SELECT * FROM incremental_work()")
    assert str(e.value) == (
        "Invalid Input Error: incremental: incremental_work: database lake holds models and is a DuckLake whose "
        "PostgreSQL catalog cannot be read back from its ATTACH, so workers in other processes cannot be kept from "
        "refreshing the same model; pass leases := '<PostgreSQL connection string>' to keep the claims in a PostgreSQL "
        "database every worker reaches"
    )


def test_leases_given_for_a_duckdb_database_are_kept_in_postgres(pg, tmp_path):
    pg.createdb("leases_only")
    con = lakes.connect()
    con.execute(f"LOAD {lakes.lit(lakes.incremental_extension())}")
    con.execute("CREATE TABLE src AS SELECT range AS id, range % 3 AS g FROM range(30)")
    query = "SELECT g, count(*) AS n FROM src GROUP BY g"
    con.execute(f"CALL incremental_create('per_g', {lakes.lit(query)}, unique_key := 'g', sources := {{'src': 'snapshot'}})")
    call = "SELECT model, mode, worker FROM incremental_work(leases := {}, worker := 'solo')"
    with pytest.raises(Exception) as e:
        con.execute(call.format(lakes.lit(pg.dsn("leases_only"))))
    assert str(e.value) == (
        "Invalid Input Error: incremental: incremental_work: leases are kept in PostgreSQL through DuckDB's postgres "
        "extension, which is not loaded; run LOAD postgres (INSTALL postgres first if it is missing) before calling "
        "incremental_work"
    )
    con.execute(f"LOAD {lakes.lit(lakes.extension_files()['postgres'])}")
    with pytest.raises(Exception) as e:
        con.execute(call.format(lakes.lit("dbname=nope host=127.0.0.1 port=1 user=postgres")))
    assert str(e.value) == (
        "Invalid Input Error: incremental: incremental_work: could not set up the lease table in the PostgreSQL "
        "database of the leases: IO Error: Unable to connect to Postgres at \"dbname=nope host=127.0.0.1 port=1 "
        "user=postgres\": connection to server at \"127.0.0.1\", port 1 failed: Connection refused \tIs the server "
        "running on that host and accepting TCP/IP connections?; check the connection string (leases := '...', or "
        "the lake's ATTACH) and that the server accepts connections"
    )
    assert pg.psql("SELECT count(*) FROM pg_tables WHERE tablename = 'incremental_leases'", "leases_only") == "0"

    rows = con.execute(call.format(lakes.lit(pg.dsn("leases_only")))).fetchall()
    assert rows == [("per_g", "full", "solo"), ("per_g", "noop", "solo")]
    assert differences(con, "per_g", query) == 0
    # released by its owner, with the time of the last refresh that finished
    assert pg.psql("SELECT model, holder IS NULL, last_done IS NOT NULL FROM incremental_leases", "leases_only") == "main.per_g|t|t"
    con.execute("UPDATE src SET g = 0 WHERE id < 5")
    rows = con.execute(call.format(lakes.lit(pg.dsn("leases_only")))).fetchall()
    assert rows[0][:2] == ("per_g", "incremental")
    assert differences(con, "per_g", query) == 0
