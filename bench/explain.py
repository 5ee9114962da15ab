"""Where a refresh's time goes: times each statement incremental_explain lists (and the hand-written SQL) for every
model after the next-day batch, with DuckDB's EXPLAIN ANALYZE of the slowest; writes bench/results/explain_<rows>.md.
Usage: python bench/explain.py --rows 1000000"""
import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH_PY = ROOT / ".hosts/bench/bin/python"
if Path(sys.prefix).resolve() != (ROOT / ".hosts/bench").resolve():
    os.execv(str(BENCH_PY), [str(BENCH_PY), __file__] + sys.argv[1:])

import duckdb  # noqa: E402

sys.path.insert(0, str(ROOT / "bench"))
import workload as W  # noqa: E402

# the snapshot bench/run.py measured, when there is one; else the build
EXT = next(p for p in (ROOT / "build/bench/incremental.duckdb_extension", ROOT / "build/release/incremental.duckdb_extension")
           if p.exists())


def connect(path):
    con = duckdb.connect(str(path), config={"allow_unsigned_extensions": "true"})
    con.execute(f"LOAD '{EXT}'")
    return con


def timed(con, sql):
    t0 = time.perf_counter()
    con.execute(sql).fetchall()
    return (time.perf_counter() - t0) * 1000


def operators(con, sql, path, top=5):
    """Runs sql with DuckDB's JSON profiler; the operators' times summed by operator type, slowest first."""
    con.execute(f"PRAGMA enable_profiling = 'json'; PRAGMA profiling_output = '{path}'")
    con.execute(sql).fetchall()
    con.execute("PRAGMA disable_profiling")
    acc = {}

    def walk(n):
        name = n.get("operator_type") or n.get("name")
        if name:
            acc[name] = acc.get(name, 0.0) + float(n.get("operator_timing", 0) or 0)
        for ch in n.get("children", []):
            walk(ch)
    walk(json.loads(Path(path).read_text()))
    return ", ".join(f"{k} {v * 1000:.0f} ms" for k, v in sorted(acc.items(), key=lambda x: -x[1])[:top] if v > 0.0005)


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rows", type=int, default=1000000)
    ap.add_argument("--workdir", default=str(ROOT / "build/bench/explain"))
    a = ap.parse_args()
    wd = Path(a.workdir)
    (wd / "base").mkdir(parents=True, exist_ok=True)
    (wd / "work").mkdir(parents=True, exist_ok=True)
    base, work = wd / "base/bench.duckdb", wd / "work/bench.duckdb"
    for p in (base, Path(str(base) + ".wal")):
        p.unlink(missing_ok=True)
    con = connect(base)
    con.execute(W.history_sql(a.rows))
    con.execute("CREATE SCHEMA hand; CREATE TABLE hand.state(model VARCHAR, ts TIMESTAMP)")
    for m in W.DAILY_MODELS:
        con.execute(W.ext_create_sql(m))
        con.execute(f"CALL incremental_refresh('{m}')")
        con.execute(f"CREATE TABLE hand.{m} AS {W.query(m)}")
        con.execute(f"INSERT INTO hand.state SELECT '{m}', max(updated_at) FROM orders")
    con.execute("CHECKPOINT")
    con.close()
    time.sleep(0.5)
    out = [f"# Statement times after the next-day batch, {a.rows:,} events\n",
           "Each statement timed from python on a fresh copy, in a transaction rolled back; then the refresh itself "
           "(elapsed_ms, and the call as seen from python).\n"]
    for m in W.DAILY_MODELS:
        shutil.copyfile(base, work)
        c = duckdb.connect(str(work))
        c.execute(W.next_day_sql(a.rows))
        c.close()
        con = connect(work)
        stmts = con.execute(f"SELECT step, kind, sql FROM incremental_explain('{m}') ORDER BY step").fetchall()
        out.append(f"## {m}\n\n| step | kind | ms | operators (EXPLAIN ANALYZE, slowest first) | sql |\n| --- | --- | --- | --- | --- |")
        con.execute("BEGIN")
        total = 0.0
        for step, kind, sql in stmts:
            ms = timed(con, sql)
            total += ms
            ops = ""
            if ms > 20 and not sql.startswith(("DROP", "COMMENT")):
                con.execute("ROLLBACK")
                con.execute("BEGIN")
                # re-run the statements before this one so that the temp table exists, then analyze this one
                for s2, _, q2 in stmts:
                    if s2 == step:
                        break
                    con.execute(q2).fetchall()
                ops = operators(con, sql, wd / "profile.json")
            short = sql.replace("\n", " ").replace("|", "/")[:160]
            out.append(f"| {step} | {kind} | {ms:.1f} | {ops} | `{short}` |")
        con.execute("ROLLBACK")
        t0 = time.perf_counter()
        row = con.execute(f"SELECT mode, elapsed_ms FROM incremental_refresh('{m}')").fetchone()
        call = (time.perf_counter() - t0) * 1000
        t0 = time.perf_counter()
        row2 = con.execute(f"SELECT mode, elapsed_ms FROM incremental_refresh('{m}')").fetchone()
        call2 = (time.perf_counter() - t0) * 1000
        out.append(f"\nstatements {total:.0f} ms; refresh: mode {row[0]}, elapsed_ms {row[1]:.0f}, call {call:.0f} ms; "
                   f"again with nothing new: mode {row2[0]}, elapsed_ms {row2[1]:.0f}, call {call2:.0f} ms\n")
        con.close()
        time.sleep(0.3)
        shutil.copyfile(base, work)
        c = duckdb.connect(str(work))
        c.execute(W.next_day_sql(a.rows))
        hand = [s for s in W.hand_sql(m) if s not in ("BEGIN;", "COMMIT;")]
        c.execute("BEGIN")
        ht = [(timed(c, s), s) for s in hand]
        c.execute("ROLLBACK")
        c.close()
        out.append("hand-written: " + "; ".join(f"{ms:.0f} ms `{s[:70]}`" for ms, s in ht)
                   + f"; total {sum(x for x, _ in ht):.0f} ms\n")
    dst = ROOT / f"bench/results/explain_{a.rows}.md"
    dst.write_text("\n".join(out))
    print(f"wrote {dst.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
