"""DuckLake benchmarks: the research's worker pool (written by hand and with incremental_work) and workers' throughput
over a DAG on a PostgreSQL-catalog lake, the PostgreSQL statements of a no-op refresh,
and the cost of one refresh after a small batch read through the DuckLake feed, a 'snapshot' copy or a change column.

    .hosts/py15/bin/python bench/lake.py [--quick] [--parts pool,throughput,statements,batch]

Runs with the py15 host (python duckdb 1.5.5 with the ducklake and postgres extension packages) and starts its own
PostgreSQL 15 cluster (test/python/lakes.py). Writes bench/results/lake.json and the "DuckLake" section of
docs/benchmarks.md (with --quick: build/bench/lake-quick.json and build/bench/lake-quick.md). About 25 minutes;
--quick about 3.
"""
import argparse
import hashlib
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "test/python"))
sys.path.insert(0, str(ROOT / "bench"))
import lakes  # noqa: E402
import lake_pool  # noqa: E402
import lake_report  # noqa: E402

WORK = ROOT / "build/bench/lake"
WORKER = ROOT / "bench/lake_worker.py"
POOL = ROOT / "bench/lake_pool.py"
POOL_MODELS = 6

# The throughput DAG, 20 models: those over DuckLake tables are defined by their query alone, so 'auto' reads the
# tables' change feeds with the key the query's shape gives (aggregates, a dedup, joins with a dimension, and one
# keyless total, rebuilt in full); those over models (chains) name their unique_key (without it, a model over models
# is rebuilt in full); once the models they read are built, DuckLake tables too, 'auto' reads those tables' feeds.
DAG = [
    ("ev_by_k", "SELECT k, count(*) AS n, sum(v) AS s FROM ev GROUP BY k"),
    ("ev_by_g", "SELECT g, count(*) AS n, sum(v) AS s FROM ev GROUP BY g"),
    ("ev_minmax", "SELECT g, min(v) AS lo, max(v) AS hi FROM ev GROUP BY g"),
    ("ev_distinct", "SELECT g, count(DISTINCT k) AS dk FROM ev GROUP BY g"),
    ("ev_median", "SELECT g, median(v) AS m FROM ev GROUP BY g"),
    ("ev_kg", "SELECT k, g, count(*) AS n FROM ev GROUP BY k, g"),
    ("ev_big", "SELECT k, count(*) AS n FROM ev WHERE v > 50 GROUP BY k"),
    ("ev_latest", "SELECT id, k, g, v FROM ev QUALIFY row_number() OVER (PARTITION BY k ORDER BY id DESC) = 1"),
    ("ev_label", "SELECT d.label, count(*) AS n, sum(e.v) AS s FROM ev e JOIN dim d ON e.g = d.g GROUP BY d.label"),
    ("ev_g_label", "SELECT e.g, d.label, sum(e.v) AS s FROM ev e JOIN dim d ON e.g = d.g GROUP BY e.g, d.label"),
    ("dim_count", "SELECT label, count(*) AS n FROM dim GROUP BY label"),
    ("ev_total", "SELECT count(*) AS n, sum(v) AS s FROM ev"),
    ("kg_by_g", "SELECT g, sum(n) AS n FROM ev_kg GROUP BY g", "unique_key := 'g'"),
    ("kg_by_g2", "SELECT g, max(n) AS n FROM kg_by_g GROUP BY g", "unique_key := 'g'"),
    ("kg_by_g3", "SELECT g, sum(n) AS n FROM kg_by_g2 GROUP BY g", "unique_key := 'g'"),
    ("k_hist", "SELECT n, count(*) AS keys FROM ev_by_k GROUP BY n", "unique_key := 'n'"),
    ("latest_by_g", "SELECT g, count(*) AS n, max(v) AS mx FROM ev_latest GROUP BY g", "unique_key := 'g'"),
    ("latest_hist", "SELECT n, count(*) AS c FROM latest_by_g GROUP BY n", "unique_key := 'n'"),
    ("label_max", "SELECT label, max(n) AS mx FROM ev_label GROUP BY label", "unique_key := 'label'"),
    ("g_dim", "SELECT b.g, d.label, sum(b.n) AS n FROM ev_by_g b JOIN dim d ON b.g = d.g GROUP BY b.g, d.label",
     "unique_key := 'g, label'"),
]
RESEARCH_E7 = {"refreshes": 209, "seconds": 30, "workers": 2,
               "source": "/work/shared/research/ducklake-scaleout.md, section 5 (e7, SPIKE_MODE=plain)"}


def log(*a):
    print(time.strftime("%H:%M:%S"), *a, file=sys.stderr, flush=True)


def differences(con, name, query):
    """Rows of the model missing from its query's result plus rows of the result missing from the model."""
    a = con.execute(f"SELECT count(*) FROM (SELECT * FROM {name} EXCEPT ALL ({query}))").fetchone()[0]
    b = con.execute(f"SELECT count(*) FROM (({query}) EXCEPT ALL SELECT * FROM {name})").fetchone()[0]
    return a + b


def source_tables(con, rows):
    con.execute(f"CREATE TABLE lake.main.ev AS SELECT i AS id, CAST(i % 1000 AS INTEGER) AS k, CAST(i % 16 AS INTEGER) "
                f"AS g, CAST((i * 37) % 100 AS INTEGER) AS v, TIMESTAMP '2026-01-01' + INTERVAL (i) SECOND AS ts "
                f"FROM range(1, {rows + 1}) t(i)")
    con.execute("CREATE TABLE lake.main.dim AS SELECT CAST(i AS INTEGER) AS g, 'L' || CAST(i % 5 AS VARCHAR) AS label "
                "FROM range(16) t(i)")


def throughput(pg, workers, seconds, rows, threads):
    """One run: a fresh lake, the DAG built once, then `workers` worker processes (DuckDB `threads` setting `threads`)
    and one writer for `seconds`."""
    db = f"lake_tp{workers}_t{threads}"
    pg.createdb(db)
    data = WORK / db
    con = lakes.open_lake("postgres", pg.dsn(db), data)
    con.execute("USE lake")
    source_tables(con, rows)
    for name, query, *options in DAG:
        con.execute(f"CALL incremental_create({lakes.lit(name)}, {lakes.lit(query)}{''.join(', ' + o for o in options)})")
    con.execute("SELECT count(*) FROM incremental_work(max_seconds := 600, worker := 'setup')").fetchall()
    strategies = {r[0]: {"strategy": r[1], "reason": r[2]} for r in con.execute(
        "SELECT name, strategy, strategy_reason FROM incremental_models() WHERE database = 'lake'").fetchall()}
    outs = [WORK / f"{db}_w{i}.json" for i in range(workers)] + [WORK / f"{db}_writer.json"]
    args = [["worker", str(outs[i]), str(seconds), f"w{i}", str(threads)] for i in range(workers)]
    args.append(["writer", str(outs[-1]), str(seconds), "1", "default"])
    errs = [WORK / f"{db}_{n}.err" for n in range(len(args))]
    procs = []
    for (role, out, secs, name, t), err in zip(args, errs):
        with open(err, "w") as f:
            procs.append(subprocess.Popen([sys.executable, str(WORKER), role, pg.dsn(db), str(data), out, secs, name,
                                           t], stderr=f))
    load = []
    while any(p.poll() is None for p in procs):
        load.append(os.getloadavg()[0])
        time.sleep(1)
    for p, err in zip(procs, errs):
        if p.returncode != 0:
            raise RuntimeError(f"a throughput process failed (exit {p.returncode}): {err.read_text()[-3000:]}")
    summaries = [json.loads(o.read_text()) for o in outs]
    hist = con.execute(
        "SELECT worker, mode, count(*), count(*) FILTER (rows_inserted + rows_updated + rows_deleted > 0), "
        "median(elapsed_ms), min(epoch_us(started_at)), max(epoch_us(finished_at)) FROM incremental_history() "
        "WHERE worker LIKE 'w%' GROUP BY worker, mode ORDER BY worker, mode").fetchall()
    by_worker = {}
    for worker, mode, n, changed, med_ms, first, last in hist:
        w = by_worker.setdefault(worker, {"modes": {}, "changed_rows": 0, "first_us": first, "last_us": last})
        w["modes"][mode] = {"n": n, "median_ms": med_ms}
        if mode in ("incremental", "full"):
            w["changed_rows"] += changed
        w["first_us"], w["last_us"] = min(w["first_us"], first), max(w["last_us"], last)
    refreshes = sum(m["n"] for w in by_worker.values() for k, m in w["modes"].items() if k in ("incremental", "full"))
    span_s = (max(w["last_us"] for w in by_worker.values()) - min(w["first_us"] for w in by_worker.values())) / 1e6
    # the models equal their queries once a last worker has caught up with the writer's last batch
    final = con.execute("SELECT model, mode, error FROM incremental_work(max_seconds := 600, worker := 'final', "
                        "raise_errors := false)").fetchall()
    wrong = [name for name, query, *_ in DAG if differences(con, name, query)]
    con.close()
    result = {"workers": workers, "threads": threads, "seconds": seconds, "source_rows": rows, "refreshes": refreshes,
              "per_minute": refreshes / seconds * 60, "history_span_s": span_s, "by_worker": by_worker,
              "summaries": summaries, "load1_median": statistics.median(load) if load else None,
              "models_wrong_after_catch_up": wrong, "strategies": strategies,
              "catch_up": [list(r) for r in final]}
    log(f"throughput {workers} workers, threads {threads}: {refreshes} refreshes in {seconds}s ({result['per_minute']:.0f}/min), "
        f"wrong: {wrong or 'none'}")
    return result


def pool(pg, mode, workers, seconds, threads):
    """One run of the research's worker-pool workload (bench/lake_pool.py) on a fresh lake: `mode` is `work`
    (incremental_work) or `hand` (the refresh written by hand); `threads` is each worker process's DuckDB `threads`
    setting (`default`: DuckDB's own, the number of cores)."""
    db = f"lake_pool_{mode}{workers}_t{threads}"
    pg.createdb(db)
    data = WORK / db
    lake_pool.setup(mode, pg.dsn(db), data, POOL_MODELS)
    outs = [WORK / f"{db}_w{i}.json" for i in range(workers)]
    errs = [WORK / f"{db}_w{i}.err" for i in range(workers)]
    procs = []
    for i, (out, err) in enumerate(zip(outs, errs)):
        with open(err, "w") as f:
            procs.append(subprocess.Popen([sys.executable, str(POOL), mode, pg.dsn(db), str(data), str(out),
                                           str(seconds), str(i), str(workers), str(POOL_MODELS), str(threads)],
                                          stderr=f))
    for p, err in zip(procs, errs):
        if p.wait() != 0:
            raise RuntimeError(f"a pool worker failed (exit {p.returncode}): {err.read_text()[-3000:]}")
    summaries = [json.loads(o.read_text()) for o in outs]
    con = lakes.open_lake("postgres", pg.dsn(db), data)
    wrong = lake_pool.wrong_models(con, mode, POOL_MODELS)
    con.close()
    refreshes = sum(s["refreshes"] for s in summaries)
    log(f"pool {mode}, {workers} workers, threads {threads}: {refreshes} refreshes in {seconds}s, "
        f"wrong: {wrong or 'none'}")
    return {"mode": mode, "workers": workers, "threads": threads, "seconds": seconds, "refreshes": refreshes,
            "summaries": summaries, "models_wrong": wrong}


def statement_lines(log_path, start, marker_a, marker_b):
    """The statements PostgreSQL logged between the two marker statements (from offset `start` of the log)."""
    with open(log_path, errors="replace") as f:
        f.seek(start)
        lines = f.read().splitlines()
    stmts = [ln for ln in lines if "LOG:  statement: " in ln or "LOG:  execute " in ln]
    i = next(n for n, ln in enumerate(stmts) if marker_a in ln)
    j = next(n for n, ln in enumerate(stmts) if marker_b in ln)
    return stmts[i + 1:j]


def statements(pg, rows, reps):
    """PostgreSQL statements and time of one refresh with nothing new of a feed model, a 'snapshot' sources model and
    two time_column models (log_statement = 'all' while counting; the times are measured before it is on). Only the
    feed, snapshot and append models can prove a no-op; the delete+insert one re-reads its window (docs/semantics.md)."""
    pg.createdb("lake_stmts")
    con = lakes.open_lake("postgres", pg.dsn("lake_stmts"), WORK / "lake_stmts")
    source_tables(con, rows)
    models = {
        "feed": ("SELECT g, count(*) AS n, sum(v) AS s FROM lake.main.ev GROUP BY g", ""),
        "snapshot": ("SELECT g, count(*) AS n, sum(v) AS s FROM lake.main.ev GROUP BY g",
                     ", unique_key := 'g', sources := {'lake.main.ev': 'snapshot'}"),
        "time_column": ("SELECT CAST(ts AS DATE) AS day, count(*) AS n, sum(v) AS s FROM lake.main.ev "
                        "GROUP BY CAST(ts AS DATE)", ", time_column := 'day'"),
        "time_column append": ("SELECT id, ts, v FROM lake.main.ev", ", time_column := 'ts', strategy := 'append'"),
    }
    out = {}
    for kind, (query, options) in models.items():
        name = f"lake.main.noop_{kind.replace(' ', '_')}"
        con.execute(f"CALL incremental_create({lakes.lit(name)}, {lakes.lit(query)}{options})")
        con.execute(f"CALL incremental_refresh({lakes.lit(name)})")
        strategy, reason = con.execute("SELECT strategy, strategy_reason FROM incremental_models() WHERE name = ?",
                                       [f"noop_{kind.replace(' ', '_')}"]).fetchone()
        times = []
        for _ in range(20):
            t0 = time.perf_counter()
            mode = con.execute(f"SELECT mode FROM incremental_refresh({lakes.lit(name)})").fetchone()[0]
            times.append((time.perf_counter() - t0) * 1000)
        out[kind] = {"query": query, "options": options.lstrip(", "), "strategy": strategy, "reason": reason,
                     "mode": mode, "noop_ms_median": statistics.median(times[5:]), "noop_ms_min": min(times[5:])}
    pg.psql("ALTER SYSTEM SET log_statement = 'all'")
    pg.psql("SELECT pg_reload_conf()")
    time.sleep(1.0)
    try:
        for kind in models:
            name = lakes.lit(f"lake.main.noop_{kind.replace(' ', '_')}")
            counts, kinds, modes = [], {}, set()
            for rep in range(reps):
                start = pg.log.stat().st_size
                tag = kind.replace(" ", "-")
                a, b = f"incremental-bench-{tag}-{rep}-start", f"incremental-bench-{tag}-{rep}-end"
                pg.psql(f"SELECT {lakes.lit(a)}")
                mode = con.execute(f"SELECT mode FROM incremental_refresh({name})").fetchone()[0]
                pg.psql(f"SELECT {lakes.lit(b)}")
                time.sleep(0.3)
                modes.add(mode)
                lines = statement_lines(pg.log, start, a, b)
                counts.append(len(lines))
                for ln in lines:
                    body = ln.split("statement: ", 1)[-1] if "statement: " in ln else ln.split("execute ", 1)[-1]
                    key = " ".join(body.split())[:70]
                    kinds[key] = kinds.get(key, 0) + 1
            out[kind].update(statements=statistics.median(counts), statements_all=counts, logged_modes=sorted(modes),
                             top=sorted(((v / reps, k) for k, v in kinds.items()), reverse=True)[:12])
            log(f"no-op {kind}: {out[kind]['statements']} PG statements, {out[kind]['noop_ms_median']:.1f} ms")
    finally:
        pg.psql("ALTER SYSTEM RESET log_statement")
        pg.psql("SELECT pg_reload_conf()")
    con.close()
    return out


# A 'snapshot' source compares the whole table with its copy at every refresh: 3.5-16 s a refresh at 1M rows here, so
# at 10M its 6 refreshes alone would take longer than the rest of this script.
SNAPSHOT_MAX_ROWS = 2_000_000
BATCH_QUERY = "SELECT g, count(*) AS n, sum(v) AS s FROM {t} WHERE NOT deleted GROUP BY g"
BATCH_MODELS = {  # source read by: (table, options); the change column sees no deletes, so its deletes are soft
    "feed": ("ev_feed", ""),
    "snapshot": ("ev_snap", ", unique_key := 'g', sources := {'lake.main.ev_snap': 'snapshot'}"),
    "change column": ("ev_col", ", unique_key := 'g', sources := {'lake.main.ev_col': 'updated_at'}"),
}


def batch_sql(kind, table, batch, next_id, clock, rnd_ids):
    """The statements of one 100-row batch: 100 inserts, or 50 updates and 50 deletes (soft for the change column).
    `clock` grows by 1000 s a batch, so every batch's updated_at is beyond every earlier one's."""
    t = f"lake.main.{table}"
    if batch == "inserts":
        return [f"INSERT INTO {t} SELECT i, CAST(i % 10000 AS INTEGER), CAST(i % 100 AS INTEGER), "
                f"TIMESTAMP '2030-01-01' + INTERVAL ({clock}) SECOND + INTERVAL (i - {next_id}) MILLISECOND, false "
                f"FROM range({next_id}, {next_id + 100}) r(i)"]
    ups, dels = ", ".join(map(str, rnd_ids[:50])), ", ".join(map(str, rnd_ids[50:]))
    stamp = f"TIMESTAMP '2030-01-01' + INTERVAL ({clock}) SECOND"
    delete = (f"UPDATE {t} SET deleted = true, updated_at = {stamp} WHERE id IN ({dels})" if kind == "change column"
              else f"DELETE FROM {t} WHERE id IN ({dels})")
    return [f"UPDATE {t} SET v = v + 1, updated_at = {stamp} WHERE id IN ({ups})", delete]


def batch_cost(rows, reps, seed=7):
    """Refresh after a 100-row batch, per way of reading the source, on a lake with a DuckDB-file catalog."""
    import random
    rnd = random.Random(seed)
    folder = WORK / f"batch_{rows}"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    con = lakes.open_lake("duckdb", folder / "meta.ducklake", folder / "data")
    out = {}
    for kind, (table, options) in BATCH_MODELS.items():
        if kind == "snapshot" and rows > SNAPSHOT_MAX_ROWS:
            continue
        t0 = time.perf_counter()
        con.execute(f"CREATE TABLE lake.main.{table} AS SELECT i AS id, CAST(i % 10000 AS INTEGER) AS g, "
                    f"CAST((i * 37) % 100 AS INTEGER) AS v, TIMESTAMP '2026-01-01' + INTERVAL (i) SECOND AS updated_at, "
                    f"false AS deleted FROM range({rows}) t(i)")
        name, query = f"lake.main.m_{table}", BATCH_QUERY.format(t=f"lake.main.{table}")
        con.execute(f"CALL incremental_create({lakes.lit(name)}, {lakes.lit(query)}{options})")
        con.execute(f"CALL incremental_refresh({lakes.lit(name)})")
        first_build_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        con.execute(query).fetchall()
        entry = {"table": table, "options": options.lstrip(", "), "first_build_s": first_build_s,
                 "query_s": time.perf_counter() - t0,
                 "strategy": con.execute("SELECT strategy_reason FROM incremental_models() WHERE name = ?",
                                         [f"m_{table}"]).fetchone()[0]}
        next_id, clock, gone = rows, 0, set()
        for batch in ("inserts", "updates+deletes"):
            runs = []
            for _ in range(reps):
                clock += 1000
                picked = [] if batch == "inserts" else \
                    rnd.sample([i for i in rnd.sample(range(rows // 2, rows), 200) if i not in gone], 100)
                con.execute("BEGIN")
                for s in batch_sql(kind, table, batch, next_id, clock, picked):
                    con.execute(s)
                con.execute("COMMIT")
                if batch == "inserts":
                    next_id += 100
                gone.update(picked[50:])
                t0 = time.perf_counter()
                mode, ins, upd, dele, ms = con.execute(
                    f"SELECT mode, rows_inserted, rows_updated, rows_deleted, elapsed_ms "
                    f"FROM incremental_refresh({lakes.lit(name)})").fetchone()
                wall = time.perf_counter() - t0
                diff = differences(con, name, query)
                if diff:
                    raise RuntimeError(f"{kind} at {rows} rows after {batch}: the model differs from its query "
                                       f"in {diff} rows")
                runs.append({"wall_s": wall, "elapsed_ms": ms, "mode": mode, "rows": [ins, upd, dele]})
            entry[batch] = {"median_s": statistics.median(r["wall_s"] for r in runs), "runs": runs}
            log(f"{rows:,} rows, {kind}, {batch}: {entry[batch]['median_s'] * 1000:.0f} ms ({runs[-1]['mode']})")
        out[kind] = entry
        con.execute(f"CALL incremental_drop({lakes.lit(name)}, drop_table := true)")
        con.execute(f"DROP TABLE lake.main.{table}")
    con.close()
    lakes.wait_released()
    shutil.rmtree(folder, ignore_errors=True)
    return out


def machine(ext):
    cpu = next((ln.split(":", 1)[1].strip() for ln in open("/proc/cpuinfo") if ln.startswith("model name")), "?")
    mem = next((int(ln.split()[1]) // 2**20 for ln in open("/proc/meminfo") if ln.startswith("MemTotal")), 0)
    pg = subprocess.run([str(lakes.PG_BIN / "postgres"), "--version"], capture_output=True, text=True).stdout.strip()
    git = subprocess.run(["git", "-C", str(ROOT), "describe", "--always", "--dirty"], capture_output=True,
                         text=True).stdout.strip()
    return {"cpu": cpu, "cores": os.cpu_count(), "mem_gib": mem, "os": platform.platform(),
            "python_duckdb": lakes.duckdb.__version__, "postgres": pg, "git": git,
            "extension_sha256": hashlib.sha256(Path(ext).read_bytes()).hexdigest()[:16]}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="small sizes, about 3 minutes; results to build/bench/")
    ap.add_argument("--parts", default="pool,throughput,statements,batch",
                    help="a subset replaces only its parts in an earlier results file")
    ap.add_argument("--batch-rows", default=None, help="source sizes of the batch part, comma-separated")
    ap.add_argument("--tp-seconds", type=int, default=None, help="seconds of each throughput run")
    a = ap.parse_args()
    parts = a.parts.split(",")
    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir(parents=True)
    # A copy of the build, so that a rebuild during the run does not change what is measured (workers included).
    ext = WORK / "incremental.duckdb_extension"
    shutil.copyfile(lakes.incremental_extension(), ext)
    os.environ["INCREMENTAL_EXTENSION"] = str(ext)
    sizes = {"tp_rows": 20_000, "tp_seconds": 15, "batch_rows": [100_000], "reps": 3, "stmt_reps": 3} if a.quick \
        else {"tp_rows": 100_000, "tp_seconds": 60, "batch_rows": [1_000_000, 10_000_000], "reps": 3, "stmt_reps": 5}
    if a.batch_rows:
        sizes["batch_rows"] = [int(float(x)) for x in a.batch_rows.split(",")]
    if a.tp_seconds:
        sizes["tp_seconds"] = a.tp_seconds
    out = ROOT / ("build/bench/lake-quick.json" if a.quick else "bench/results/lake.json")
    res = json.loads(out.read_text()) if out.exists() else {}
    res["meta"] = {"started": time.strftime("%Y-%m-%d %H:%M:%S"), "quick": a.quick, "sizes": sizes, "parts": parts,
                   "machine": machine(ext), "research_e7": RESEARCH_E7}
    t_all = time.time()

    def save():  # after each part, so that an interrupted run keeps what it measured
        res["meta"]["total_s"] = time.time() - t_all
        out.write_text(json.dumps(res, indent=1))

    if "throughput" in parts or "statements" in parts or "pool" in parts:
        with lakes.postgres_cluster() as pg:
            if "pool" in parts:
                res["pool"] = [pool(pg, mode, n, sizes["tp_seconds"], threads) for threads in ("default", 1)
                               for n in (1, 2, 4) for mode in ("hand", "work")]
                save()
            if "throughput" in parts:
                res["throughput"] = [throughput(pg, n, sizes["tp_seconds"], sizes["tp_rows"], threads)
                                     for threads in ("default", 1) for n in (1, 2, 4)]
                save()
            if "statements" in parts:
                res["statements"] = statements(pg, 100_000, sizes["stmt_reps"])
                save()
    if "batch" in parts:
        res["batch"] = {}
        for rows in sizes["batch_rows"]:
            res["batch"][str(rows)] = batch_cost(rows, sizes["reps"])
            save()
    md = ROOT / ("build/bench/lake-quick.md" if a.quick else "docs/benchmarks.md")
    lake_report.write(md, res, standalone=a.quick)
    log(f"wrote {out.relative_to(ROOT)} and {md.relative_to(ROOT)} ({res['meta']['total_s'] / 60:.1f} min)")
    shutil.rmtree(WORK, ignore_errors=True)


if __name__ == "__main__":
    main()
