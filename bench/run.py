"""Benchmark harness: `python bench/run.py --rows 10000000` builds the data, times every engine, checks every result,
writes bench/results/*.json and regenerates docs/benchmarks.md and docs/img/*.png (see docs/benchmarks.md)."""
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
BENCH_PY = ROOT / ".hosts/bench/bin/python"
if Path(sys.prefix).resolve() != (ROOT / ".hosts/bench").resolve():   # re-run inside the bench venv
    if not BENCH_PY.exists():
        subprocess.run([str(ROOT / "bench/setup.sh")], check=True)
    os.execv(str(BENCH_PY), [str(BENCH_PY), __file__] + sys.argv[1:])

import duckdb  # noqa: E402

sys.path.insert(0, str(ROOT / "bench"))
import measure  # noqa: E402
import workload as W  # noqa: E402

RESULTS = ROOT / "bench/results"
FRACTIONS = [0.0001, 0.001, 0.01, 0.05, 0.1, 0.25, 0.5]


def log(*a):
    print(time.strftime("%H:%M:%S"), *a, flush=True)


def connect(path):
    con = duckdb.connect(str(path), config={"allow_unsigned_extensions": "true"})
    con.execute(f"LOAD '{measure.EXT}'")
    return con


def build_base(rows, path, engines, workdir):
    """History, then every engine's first (full) build of every model."""
    for p in (path, Path(str(path) + ".wal")):
        p.unlink(missing_ok=True)
    t0 = time.time()
    con = connect(path)
    con.execute(W.history_sql(rows))
    con.execute("CREATE SCHEMA fullr; CREATE SCHEMA hand; CREATE TABLE hand.state(model VARCHAR, ts TIMESTAMP)")
    for m in W.MODELS:
        con.execute(f"CREATE TABLE fullr.{m} AS {W.query(m)}")
        con.execute(f"CREATE TABLE hand.{m} AS {W.query(m)}")
        con.execute(f"INSERT INTO hand.state SELECT '{m}', max(updated_at) FROM orders")
        con.execute(W.ext_create_sql(m))
        con.execute(f"CALL incremental_refresh('{m}')")
    info = con.execute("SELECT count(*), count(DISTINCT order_id) FROM orders").fetchone()
    con.execute("CHECKPOINT")
    con.close()
    time.sleep(0.3)   # the extension's pool releases the file shortly after the last connection closes
    if "dbt" in engines:
        measure.dbt_build_all(path, workdir / "dbt_target")
    log(f"base {rows:,} rows: {info[0]:,} events, {info[1]:,} orders, {path.stat().st_size / 2**20:.0f} MiB, "
        f"built in {time.time() - t0:.1f}s")
    return {"events": info[0], "orders": info[1], "db_mib": path.stat().st_size / 2**20, "build_s": time.time() - t0}


def apply(path, sql):
    con = duckdb.connect(str(path))
    con.execute(sql)
    n = con.execute(f"SELECT count(*) FROM orders WHERE updated_at >= {W.NEXT_TS}").fetchone()[0]
    con.close()
    return n


def timed(engine, path, model, workdir):
    r = _timed(engine, path, model, workdir)
    r["load1"] = os.getloadavg()[0]   # other work on the machine at the time (2 cores here)
    return r


def _timed(engine, path, model, workdir):
    if engine == "full":
        return measure.run_cli(path, W.full_sql(model))
    if engine == "hand":
        return measure.run_cli(path, W.hand_sql(model))
    if engine == "ext":
        return measure.run_ext(path, model)
    if engine == "dbt":
        return measure.run_dbt(path, model, workdir / "dbt_target")
    raise ValueError(engine)


def make_ref(base, batch_sql, models, workdir):
    """The full recomputation every incremental result is compared with: a copy of the base with the same batch
    and each model's query materialized as fullr.<model> (the batch is deterministic, so one per size/fraction)."""
    ref = workdir / "ref" / "bench.duckdb"
    ref.parent.mkdir(exist_ok=True)
    measure.copy_db(base, ref)
    con = duckdb.connect(str(ref))
    con.execute(batch_sql)
    for m in models:
        con.execute(f"CREATE OR REPLACE TABLE fullr.{m} AS {W.query(m)}")
    con.execute("CHECKPOINT")
    con.close()
    return ref


def check(path, engine, models, ref):
    """Each incremental table against the full recomputation (EXCEPT ALL both ways, exact); raises on a difference."""
    if engine == "full":
        return
    con = duckdb.connect(str(path), read_only=True)
    con.execute(f"ATTACH '{ref}' AS ref (READ_ONLY)")
    for m in models:
        cols = ", ".join(r[0] for r in con.execute(f"DESCRIBE ({W.query(m)})").fetchall())
        a, b = f"{W.ENGINE_SCHEMA[engine]}.{m}", f"ref.fullr.{m}"
        missing, extra = con.execute(
            f"SELECT (SELECT count(*) FROM (SELECT {cols} FROM {b} EXCEPT ALL SELECT {cols} FROM {a})), "
            f"(SELECT count(*) FROM (SELECT {cols} FROM {a} EXCEPT ALL SELECT {cols} FROM {b}))").fetchone()
        if missing or extra:
            con.close()
            raise SystemExit(f"MISMATCH: {engine} {m}: {missing} rows missing, {extra} rows extra vs full recomputation")
    con.close()


def daily(rows, base, engines, reps, workdir, out):
    work = workdir / "work" / "bench.duckdb"
    work.parent.mkdir(exist_ok=True)
    ref = make_ref(base, W.next_day_sql(rows), W.DAILY_MODELS, workdir)
    for rep in range(reps):
        for engine in engines:
            measure.copy_db(base, work)
            changed = apply(work, W.next_day_sql(rows))
            for phase in ("next_day", "nothing_new"):
                for m in W.DAILY_MODELS:
                    if engine == "dbt" and m not in ("daily_revenue", "orders_latest", "customer_product", "refunds"):
                        continue
                    r = timed(engine, work, m, workdir)
                    r.update(rows=rows, engine=engine, model=m, phase=phase, rep=rep, changed_rows=changed)
                    out.append(r)
                    log(f"{rows:,} rep{rep} {engine:4} {phase:11} {m:16} wall {r['wall_s']:.3f}s "
                        f"sql {r['sql_s']:.3f}s rss {r['rss_mb']:.0f}MiB {r.get('mode', '')}")
                check(work, engine, W.DAILY_MODELS, ref)


def sweep(rows, base, engines, reps, fractions, workdir, out):
    work = workdir / "work" / "bench.duckdb"
    work.parent.mkdir(exist_ok=True)
    for f in fractions:
        ref = make_ref(base, W.sweep_sql(f), [W.SWEEP_MODEL], workdir)
        for rep in range(reps):
            for engine in [e for e in engines if e != "dbt"]:
                measure.copy_db(base, work)
                changed = apply(work, W.sweep_sql(f))
                r = timed(engine, work, W.SWEEP_MODEL, workdir)
                r.update(rows=rows, engine=engine, model=W.SWEEP_MODEL, phase="sweep", fraction=f, rep=rep,
                         changed_rows=changed)
                out.append(r)
                check(work, engine, [W.SWEEP_MODEL], ref)
                log(f"sweep {f:.4%} rep{rep} {engine:4} changed {changed:,} wall {r['wall_s']:.3f}s "
                    f"sql {r['sql_s']:.3f}s {r.get('mode', '')}")


def own_work(rows, base, workdir, reps):
    """The extension's own work per refresh: (a) elapsed_ms of refreshes of a tiny model, whose SQL costs almost
    nothing; (b) elapsed_ms minus the time of the statements incremental_explain lists, run by us on a copy."""
    tiny = workdir / "tiny.duckdb"
    for p in (tiny, Path(str(tiny) + ".wal")):
        p.unlink(missing_ok=True)
    con = connect(tiny)
    con.execute("CREATE TABLE src AS SELECT i AS id, DATE '2025-01-01' + i::INTEGER AS day FROM range(10) t(i)")
    res = {}
    for name, opts in (("tiny_di", "strategy := 'delete+insert', time_column := 'day', lookback := INTERVAL '1 day'"),
                       ("tiny_append", "strategy := 'append', time_column := 'day'")):
        con.execute(f"CALL incremental_create('{name}', 'SELECT * FROM src', {opts})")
        con.execute(f"CALL incremental_refresh('{name}')")
        ms, wall = [], []
        for _ in range(max(10, reps * 5)):
            t0 = time.perf_counter()
            row = con.execute(f"SELECT mode, elapsed_ms FROM incremental_refresh('{name}')").fetchone()
            wall.append((time.perf_counter() - t0) * 1000)
            ms.append(row[1])
        res[name] = {"mode": row[0], "elapsed_ms": statistics.median(ms), "call_ms": statistics.median(wall)}
    # reference: a one-row write transaction on the same file (what committing anything costs here)
    con.execute("CREATE TABLE one(i INTEGER)")
    wall = []
    for i in range(10):
        t0 = time.perf_counter()
        con.execute(f"BEGIN; INSERT INTO one VALUES ({i}); COMMIT")
        wall.append((time.perf_counter() - t0) * 1000)
    res["commit_ms"] = statistics.median(wall)
    con.close()
    work = workdir / "work" / "bench.duckdb"
    work.parent.mkdir(exist_ok=True)
    measure.copy_db(base, work)
    apply(work, W.next_day_sql(rows))
    con = connect(work)
    for m in W.DAILY_MODELS:
        stmts = con.execute(f"SELECT kind, sql FROM incremental_explain('{m}') ORDER BY step").fetchall()
        con.execute("BEGIN")
        t0 = time.perf_counter()
        for kind, sql in stmts:
            con.execute(sql).fetchall()
        sql_ms = (time.perf_counter() - t0) * 1000
        con.execute("ROLLBACK")
        row = con.execute(f"SELECT mode, elapsed_ms FROM incremental_refresh('{m}')").fetchone()
        res[m] = {"mode": row[0], "elapsed_ms": row[1], "statements_ms": sql_ms, "own_ms": row[1] - sql_ms,
                  "statements": len(stmts)}
    con.close()
    time.sleep(0.3)
    log("own work:", json.dumps(res))
    return res


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rows", default="10000000", help="history sizes, comma-separated (events in orders)")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--engines", default="full,hand,ext,dbt")
    ap.add_argument("--sweep-rows", type=int, default=None, help="history size of the sweep (default: the largest --rows)")
    ap.add_argument("--sweep-reps", type=int, default=None, help="default: --reps")
    ap.add_argument("--fractions", default=",".join(map(str, FRACTIONS)))
    ap.add_argument("--no-sweep", action="store_true")
    ap.add_argument("--quick", action="store_true", help="smoke run: 200k rows, 1 rep, 3 fractions")
    ap.add_argument("--workdir", default=str(ROOT / "build/bench"))
    ap.add_argument("--no-report", action="store_true")
    a = ap.parse_args()
    if a.quick:
        a.rows, a.reps, a.fractions = "200000", 1, "0.001,0.1,0.5"
    rows_list = [int(float(x)) for x in a.rows.split(",")]
    engines = a.engines.split(",")
    sweep_rows = a.sweep_rows or max(rows_list)
    workdir = Path(a.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    subprocess.run(["make", "-s", "-C", str(ROOT), "all"], check=True)
    # A snapshot of the build, so that a rebuild during the run does not change what is measured.
    shutil.copyfile(ROOT / "build/release/incremental.duckdb_extension", measure.EXT)
    ext_sha = hashlib.sha256(measure.EXT.read_bytes()).hexdigest()[:16]
    git = subprocess.run(["git", "-C", str(ROOT), "describe", "--always", "--dirty"], capture_output=True,
                         text=True).stdout.strip()
    for rows in sorted(set(rows_list + ([] if a.no_sweep else [sweep_rows]))):
        t0 = time.time()
        base = workdir / f"base_{rows}" / "bench.duckdb"
        base.parent.mkdir(exist_ok=True)
        out, meta = [], {"rows": rows, "reps": a.reps, "engines": engines, "quick": a.quick,
                         "started": time.strftime("%Y-%m-%d %H:%M:%S"), "machine": machine(),
                         "extension_sha256": ext_sha, "git": git}
        meta["data"] = build_base(rows, base, engines, workdir)
        if rows in rows_list:
            daily(rows, base, engines, a.reps, workdir, out)
            if "ext" in engines:
                meta["own_work"] = own_work(rows, base, workdir, a.reps)
        if rows == sweep_rows and not a.no_sweep:
            sweep(rows, base, engines, a.sweep_reps or a.reps, [float(x) for x in a.fractions.split(",")],
                  workdir, out)
        meta["total_s"] = time.time() - t0
        name = f"{'quick' if a.quick else 'run'}_{rows}.json"
        (RESULTS / name).write_text(json.dumps({"meta": meta, "runs": out}, indent=1))
        log(f"wrote bench/results/{name} ({meta['total_s']:.0f}s)")
        base.unlink(missing_ok=True)
    if not a.no_report:
        subprocess.run([sys.executable, str(ROOT / "bench/report.py")] + (["--quick"] if a.quick else []), check=True)


def machine():
    cpu = next((ln.split(":", 1)[1].strip() for ln in open("/proc/cpuinfo") if ln.startswith("model name")), "?")
    mem = next((int(ln.split()[1]) // 2**20 for ln in open("/proc/meminfo") if ln.startswith("MemTotal")), 0)
    return {"cpu": cpu, "cores": os.cpu_count(), "mem_gib": mem, "os": platform.platform(),
            "duckdb_cli": subprocess.run([measure.duckdb_binary(), "--version"], capture_output=True,
                                         text=True).stdout.strip(), "python_duckdb": duckdb.__version__}


if __name__ == "__main__":
    main()
