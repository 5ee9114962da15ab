"""Pipeline benchmark: models reading a model's recorded changes, against a full rebuild and the hand-written
incremental SQL a dbt user would write. `python bench/pipeline.py --rows 10000000 [--reps 3]`; prints a table and
writes results/pipeline_<rows>.json. In-process timings (python duckdb 1.5.5), medians over fresh copies."""
import argparse
import json
import shutil
import statistics
import subprocess
import time
from pathlib import Path

import duckdb

import measure
import workload as W

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "build/bench"

LATEST = W.MODELS["orders_latest"]["query"].format(w="")
# Readers of the dedup model: a time bucket (keys the changes reach are few) and customer summaries (scattered keys),
# recomputed per key or folded (counts only).
READERS = {
    "daily_latest": ("SELECT order_date, count(*) AS orders, count(DISTINCT customer_id) AS customers, "
                     "sum(amount) AS revenue FROM {src} GROUP BY order_date", "order_date"),
    "customer_latest": ("SELECT customer_id, count(*) AS orders, sum(amount) AS revenue, max(updated_at) AS last "
                        "FROM {src} GROUP BY customer_id", "customer_id"),
    # customer x product grain: millions of groups, of which the changes reach a few; with a sum (recomputed per key)
    # and with counts only (folded from the changed rows, no rescan of the groups' history)
    "customer_product_totals": ("SELECT customer_id, product_id, count(*) AS orders, sum(amount) AS revenue "
                                "FROM {src} GROUP BY customer_id, product_id", "customer_id, product_id"),
    "customer_product_counts": ("SELECT customer_id, product_id, count(*) AS events, count(amount) AS priced "
                                "FROM {src} GROUP BY customer_id, product_id", "customer_id, product_id"),
    # running totals over all days: the late rows reach two weeks back, and every later day's totals move
    "daily_to_date": ("SELECT order_date, count(*) AS orders, sum(count(*)) OVER (ORDER BY order_date) AS "
                      "orders_to_date, sum(sum(amount)) OVER (ORDER BY order_date) AS revenue_to_date "
                      "FROM {src} GROUP BY order_date", "order_date"),
}
RUNNING = {"daily_to_date": ["orders_to_date", "revenue_to_date"]}


def hand_sql(name, query, key, wm):
    """What a careful hand-written incremental model does: recompute the keys of rows changed since the last run; for
    running totals, every day from the earliest changed one on, continuing from the last stored row before it."""
    keys = f"SELECT {key} FROM latest WHERE updated_at > TIMESTAMP '{wm}'"
    if name not in RUNNING:
        restricted = query.format(src=f"(SELECT * FROM latest WHERE ({key}) IN ({keys}))")
        return [f"DELETE FROM hand.{name} WHERE ({key}) IN ({keys})",
                f"INSERT INTO hand.{name} SELECT * FROM ({restricted})"]
    cols = RUNNING[name]
    seed = ", ".join(f"coalesce(arg_max({c}, {key}), 0) AS {c}" for c in cols)
    outs = ", ".join(f"s.{c} + q.{c}" for c in cols)
    restricted = query.format(src=f"(SELECT * FROM latest WHERE {key} >= getvariable('lo'))")
    return [f"SET VARIABLE lo = (SELECT min({key}) FROM ({keys}))",
            f"DELETE FROM hand.{name} WHERE {key} >= getvariable('lo')",
            f"INSERT INTO hand.{name} SELECT q.* EXCLUDE ({', '.join(cols)}), {outs} FROM ({restricted}) AS q, "
            f"(SELECT {seed} FROM hand.{name}) AS s"]


def connect(path):
    con = duckdb.connect(str(path), config={"allow_unsigned_extensions": "true"})
    con.execute(f"LOAD '{measure.EXT}'")
    return con


def build(rows, path, readers):
    for p in (path, Path(str(path) + ".wal")):
        p.unlink(missing_ok=True)
    con = connect(path)
    con.execute(W.history_sql(rows))
    con.execute(f"CALL incremental_create('latest', '{LATEST}', unique_key := 'order_id', "
                "sources := {'orders': 'updated_at'})")
    con.execute("CREATE SCHEMA hand; CREATE SCHEMA fullr")
    for name, (query, key) in READERS.items():
        if readers:
            con.execute(f"CALL incremental_create('{name}', '{query.format(src='latest')}', unique_key := '{key}')")
    con.execute("SELECT * FROM incremental_refresh_all()")
    for name, (query, key) in READERS.items():
        con.execute(f"CREATE TABLE hand.{name} AS {query.format(src='latest')}")
    con.execute("CHECKPOINT")
    con.close()
    time.sleep(0.3)
    # The extension's pool closes its connection shortly after: checkpoint once more so the file copies whole.
    plain = duckdb.connect(str(path))
    plain.execute("CHECKPOINT")
    plain.close()


def clock(con, sql):
    # An automatic checkpoint (the WAL passing its limit) would land in whichever statement crosses it.
    con.execute("CHECKPOINT")
    t0 = time.perf_counter()
    row = con.execute(sql).fetchall()
    return time.perf_counter() - t0, row


def one_rep(base, copy, rows):
    shutil.copy(base, copy)
    Path(str(copy) + ".wal").unlink(missing_ok=True)
    con = connect(copy)
    con.execute(W.next_day_sql(rows))
    wm = con.execute("SELECT max(updated_at) FROM latest WHERE updated_at < " + W.NEXT_TS).fetchone()[0]
    out = {}
    out["latest_s"], r = clock(con, "CALL incremental_refresh('latest')")
    out["latest_changed"] = r[0][3] + r[0][4]
    for name, (query, key) in READERS.items():
        if con.execute(f"SELECT count(*) FROM incremental_models() WHERE name = '{name}'").fetchone()[0] == 0:
            continue
        out[f"{name}_ext_s"], r = clock(con, f"CALL incremental_refresh('{name}')")
        out[f"{name}_ext_mode"] = r[0][1]
        out[f"{name}_folded"] = "folds them" in r[0][-1]
        out[f"{name}_running"] = "recomputes from the earliest" in r[0][-1]
        con.execute("CHECKPOINT")
        t0 = time.perf_counter()
        con.execute("BEGIN")
        for sql in hand_sql(name, query, key, wm):
            con.execute(sql)
        con.execute("COMMIT")
        out[f"{name}_hand_s"] = time.perf_counter() - t0
        out[f"{name}_full_s"], _ = clock(con, f"CREATE OR REPLACE TABLE fullr.{name} AS {query.format(src='latest')}")
        same = con.execute(
            f"SELECT (SELECT count(*) FROM (FROM {name} EXCEPT ALL FROM fullr.{name})) + "
            f"(SELECT count(*) FROM (FROM fullr.{name} EXCEPT ALL FROM {name}))").fetchone()[0]
        assert same == 0, f"{name}: the extension's table differs from the full rebuild"
        same = con.execute(
            f"SELECT (SELECT count(*) FROM (FROM hand.{name} EXCEPT ALL FROM fullr.{name})) + "
            f"(SELECT count(*) FROM (FROM fullr.{name} EXCEPT ALL FROM hand.{name}))").fetchone()[0]
        assert same == 0, f"{name}: the hand-written table differs from the full rebuild"
    con.close()
    time.sleep(0.3)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--reps", type=int, default=3)
    args = ap.parse_args()
    WORK.mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "build/release/incremental.duckdb_extension", measure.EXT)
    results = {}
    for readers in (True, False):
        base = WORK / f"pipeline_base_{readers}.duckdb"
        build(args.rows, base, readers)
        # A fresh file per repetition: the extension's pool may still hold the previous one open for a moment.
        copies = [WORK / f"pipeline_copy_{readers}_{i}.duckdb" for i in range(args.reps)]
        reps = [one_rep(base, copy, args.rows) for copy in copies]
        keys = reps[0].keys()
        results["with_readers" if readers else "without_readers"] = {
            k: statistics.median(r[k] for r in reps) if type(reps[0][k]) is float else reps[0][k] for k in keys}
        for p in [base] + copies:
            p.unlink(missing_ok=True)
            Path(str(p) + ".wal").unlink(missing_ok=True)
    results["reps"] = args.reps
    results["git"] = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                                    cwd=ROOT).stdout.strip()
    print(json.dumps(results, indent=2))
    (ROOT / f"bench/results/pipeline_{args.rows}.json").write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
