"""Runs one timed refresh in a fresh process (DuckDB CLI or dbt) and measures wall time, in-DuckDB time, peak RSS."""
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXT = ROOT / "build/bench/incremental.duckdb_extension"   # run.py snapshots the build here
BENCH_BIN = ROOT / ".hosts/bench/bin"
DBT_DIR = ROOT / "bench/dbt"
TIME = "/usr/bin/time"   # GNU time, for the peak RSS of the measured process


def duckdb_binary():
    """The real CLI binary that .hosts/py15/bin/duckdb (a python launcher) starts."""
    found = sorted((ROOT / ".hosts/py15/lib").glob("python3*/site-packages/duckdb_cli/duckdb"))
    if not found:
        raise SystemExit("duckdb CLI binary not found; run scripts/hosts.sh")
    return str(found[0])


def _run(argv, stdin_text=None, env=None, cwd=None):
    """Runs argv; returns (wall seconds, peak RSS MiB, exit status, stdout, stderr)."""
    with tempfile.TemporaryFile("w+") as fin, tempfile.TemporaryFile("w+") as fout, \
            tempfile.TemporaryFile("w+") as ferr:
        if stdin_text is not None:
            fin.write(stdin_text)
            fin.seek(0)
        # Peak RSS comes from /usr/bin/time: a child forked straight from this (large) python process would
        # report this process's RSS as its own maximum (Linux carries the high-water mark across exec).
        with tempfile.NamedTemporaryFile("r") as frss:
            t0 = time.perf_counter()
            p = subprocess.run([TIME, "-f", "%M", "-o", frss.name] + argv, stdin=fin, stdout=fout, stderr=ferr,
                               env=env, cwd=cwd)
            wall = time.perf_counter() - t0
            rss = int(frss.read().strip().splitlines()[-1]) / 1024.0
        fout.seek(0)
        ferr.seek(0)
        return wall, rss, p.returncode, fout.read(), ferr.read()


def run_cli(db, statements, load_ext=False):
    """Runs statements in one `duckdb` process. sql_s sums `.timer` of the statements (LOAD excluded)."""
    script = (f"LOAD '{EXT}';\n" if load_ext else "") + ".mode line\n.timer on\n" + "\n".join(statements) + "\n"
    wall, rss, rc, out, err = _run([duckdb_binary(), "-unsigned", "-bail", str(db)], script)
    if rc != 0 or "Error" in err:
        raise RuntimeError(f"duckdb failed ({rc}): {err.strip()[:2000]}\nscript:\n{script[:2000]}")
    times = [float(x) for x in re.findall(r"Run Time \(s\): real ([0-9.]+)", out)]
    res = {"wall_s": wall, "sql_s": sum(times), "rss_mb": rss, "stmt_s": times}
    for key in ("mode", "elapsed_ms", "rows_inserted", "rows_updated", "rows_deleted", "reason"):
        m = re.search(rf"^\s*{key} = (.*)$", out, re.M)
        if m:
            res[key] = m.group(1).strip()
    return res


def run_ext(db, model):
    return run_cli(db, [f"CALL incremental_refresh('{model}');"], load_ext=True)


def run_dbt(db, model, target_dir):
    """`dbt run --select model`; sql_s is dbt's execution_time of the model (all of its queries)."""
    env = dict(os.environ, BENCH_DB=str(db), DBT_SEND_ANONYMOUS_USAGE_STATS="false")
    argv = [str(BENCH_BIN / "dbt"), "run", "--quiet", "--select", model, "--project-dir", str(DBT_DIR),
            "--profiles-dir", str(DBT_DIR), "--target-path", str(target_dir), "--log-path", str(target_dir)]
    wall, rss, rc, out, err = _run(argv, env=env, cwd=str(DBT_DIR))
    rr = Path(target_dir) / "run_results.json"
    if rc != 0 or not rr.exists():
        raise RuntimeError(f"dbt run failed ({rc}): {out[-2000:]} {err[-2000:]}")
    results = json.loads(rr.read_text())["results"]
    if any(r["status"] != "success" for r in results):
        raise RuntimeError(f"dbt run failed: {[r.get('message') for r in results]}")
    return {"wall_s": wall, "sql_s": sum(r["execution_time"] for r in results), "rss_mb": rss}


def dbt_build_all(db, target_dir):
    """The first (full) dbt build of every model, when the base database is made."""
    env = dict(os.environ, BENCH_DB=str(db), DBT_SEND_ANONYMOUS_USAGE_STATS="false")
    argv = [str(BENCH_BIN / "dbt"), "run", "--quiet", "--project-dir", str(DBT_DIR), "--profiles-dir", str(DBT_DIR),
            "--target-path", str(target_dir), "--log-path", str(target_dir)]
    _, _, rc, out, err = _run(argv, env=env, cwd=str(DBT_DIR))
    if rc != 0:
        raise RuntimeError(f"dbt build failed: {out[-3000:]} {err[-3000:]}")


def copy_db(src, dst):
    for suffix in ("", ".wal"):
        if Path(str(dst) + suffix).exists():
            os.remove(str(dst) + suffix)
    shutil.copyfile(src, dst)
