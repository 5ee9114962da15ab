"""The "DuckLake" section of docs/benchmarks.md from bench/results/lake.json (written by bench/lake.py, and included by
bench/report.py when it regenerates the whole file)."""
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench/results/lake.json"
HEADER = "## DuckLake"
CMD = ".hosts/py15/bin/python bench/lake.py"


def ms(sec):
    return f"{sec * 1000:.0f} ms" if sec < 10 else f"{sec:.1f} s"


def _throughput(res):
    runs = res["throughput"]
    e7 = res["meta"]["research_e7"]
    lines = ["| DuckDB `threads` per worker | workers | refreshes (mode incremental or full) | per minute | by worker | of them writing rows | "
             "no-ops | failed | median refresh (incremental) | writer batches | load (1 min, median) | models equal "
             "to their query after a catch-up |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in runs:
        ws = r["by_worker"]
        def n(w, mode):
            return w["modes"].get(mode, {}).get("n", 0)
        per = ", ".join(f"{k} {n(w, 'incremental') + n(w, 'full')}" for k, w in sorted(ws.items()))
        noops = sum(n(w, "noop") for w in ws.values())
        failed = sum(n(w, "failed") for w in ws.values())
        meds = [w["modes"]["incremental"]["median_ms"] for w in ws.values() if "incremental" in w["modes"]]
        med = f"{sorted(meds)[len(meds) // 2]:.0f} ms" if meds else ""
        writer = next((s for s in r["summaries"] if "writer" in s), {})
        wrong = r["models_wrong_after_catch_up"]
        threads = str(r.get("threads", "default"))
        shown = "DuckDB's default (the cores)" if threads == "default" else threads
        lines.append(f"| {shown} | {r['workers']} | {r['refreshes']} in {r['seconds']} s | {r['per_minute']:.0f} | {per} | "
                     f"{sum(w['changed_rows'] for w in ws.values())} | "
                     f"{noops} | {failed} | {med} | {writer.get('batches', '?')} ({writer.get('failed', 0)} failed) | "
                     f"{r['load1_median']:.1f} | {'all 20' if not wrong else 'not: ' + ', '.join(wrong)} |")
    strategies = {}
    for name, s in runs[0]["strategies"].items():
        reason = s["reason"]
        how = ("DuckLake feeds" if reason.startswith("auto: reads only DuckLake tables") else "recorded changes of "
               "models" if reason.startswith("auto: reads only models") else "whole query")
        strategies.setdefault(f"{s['strategy']} ({how})", []).append(name)
    strat = "; ".join(f"{k}: {', '.join(sorted(v))}" for k, v in sorted(strategies.items()))
    r0 = runs[0]
    wrong = sorted({m for r in runs for m in r["models_wrong_after_catch_up"]})
    defect = "" if not wrong else f"""
**Models that differed from their query after the catch-up: {', '.join(wrong)}.** This is a defect of the extension,
reproduced in one process on a DuckDB-file lake: a model over a DuckLake join of `ev` with `dim` (nothing declared,
so it reads both feeds) refreshes as `incremental` with 0 rows changed after an UPDATE of `ev` that moves rows
between groups, and after an INSERT into `ev` (an UPDATE of `dim` is seen); `g_dim` (the model `ev_by_g` joined
with `dim`, read through both feeds once `ev_by_g` is built) writes no rows either. The figures above count those
refreshes.
"""
    return f"""### Workers: refreshes per minute

`{CMD} --parts throughput`: a lake with a PostgreSQL catalog (a private PostgreSQL 15 cluster on this machine, over
TCP on 127.0.0.1) holds `ev` ({r0['source_rows']:,} rows at the start) and a 16-row dimension `dim`, and 20 models
defined by their query alone (`bench/lake.py`, `DAG`): aggregates, a dedup, joins with the dimension, chains of models
over models and one keyless total. What `'auto'` decided for them: {strat}. The DAG is built once, then 1, 2 or 4
worker processes each loop on `incremental_work(max_seconds := ..., lease_seconds := 10, idle_seconds := 0.5)` for
{r0['seconds']} s while one writer process commits a batch every 0.2 s (20 new rows, 5 updated rows that move between
groups, now and then a renamed label). Each run is a fresh lake. Counted from `incremental_history()`: refreshes
whose mode is `incremental` or `full`, by worker, and of them those that inserted, updated or deleted a row (a
refresh that found its keys unchanged writes none). After the run one more worker catches up and every model is compared
with its query.

{chr(10).join(lines)}

For comparison, from the research and not from this run: the hand-written refresh with per-model state in the
spike's worker pool did **{e7['refreshes']} refreshes in {e7['seconds']} s with {e7['workers']} workers**
({e7['refreshes'] * 60 // e7['seconds']} per minute; {e7['source']}). That pool's models were 6 independent
watermark aggregates with one writer per model inside the worker, so the figures do not measure the same work.
All processes (workers, writer, PostgreSQL) share the machine's 2 cores: more workers than cores measure contention
as much as parallelism.
{defect}"""


def _pool(res):
    runs = res["pool"]
    by = {(r["mode"], r["workers"], str(r.get("threads", "default"))): r for r in runs}
    lines = ["| DuckDB `threads` per worker | workers | by hand: refreshes | `incremental_work`: refreshes | "
             "extension / by hand | models equal to their query |", "| --- | --- | --- | --- | --- | --- |"]
    for t, w in sorted({(str(r.get("threads", "default")), r["workers"]) for r in runs},
                       key=lambda tw: (tw[0] != "default", tw[0], tw[1])):
        h, k = by.get(("hand", w, t)), by.get(("work", w, t))
        if not h or not k:
            continue
        ok = "all" if not h["models_wrong"] and not k["models_wrong"] else \
            "not: " + ", ".join(h["models_wrong"] + k["models_wrong"])
        shown = "DuckDB's default (the cores)" if t == "default" else t
        lines.append(f"| {shown} | {w} | {h['refreshes']} in {h['seconds']} s | {k['refreshes']} in {k['seconds']} s | "
                     f"{k['refreshes'] / max(1, h['refreshes']):.2f} | {ok} |")
    e7 = res["meta"]["research_e7"]
    return f"""### Workers: the research's worker pool, by hand and with the extension

`{CMD} --parts pool` (`bench/lake_pool.py`): the workload of the research's worker pool ({e7['source']}), on this tree
and machine. {POOL_MODELS_TEXT} Each worker loops: it appends 100 rows to one source and refreshes. **By hand**: it
claims a model from a lease table in PostgreSQL (one `UPDATE ... FOR UPDATE SKIP LOCKED` statement), appends to that
model's source, and runs the refresh the research wrote by hand (the model's watermark in its own table, the changed
groups deleted and recomputed, in one transaction), then releases the lease. **With the extension**: the models are
defined by their query alone (`'auto'` reads the DuckLake feed and infers the key), and after each append the worker
calls `incremental_work(max_seconds := 10, idle_seconds := 0)`, which claims what is due through the extension's
leases, refreshes it and returns. Counted: refreshes that wrote rows, summed over the workers. The research measured
{e7['refreshes']} refreshes in {e7['seconds']} s by hand with {e7['workers']} workers.

{chr(10).join(lines)}

Why DuckDB's `threads` setting matters here: one `incremental_work` call is one long task of DuckDB's scheduler,
and while another of DuckDB's threads runs it, the host's client thread polls for the result without sleeping (the
Python client of duckdb 1.5.5 waits only when a query is blocked, duckdb/duckdb#12512). With one worker the poll takes
the otherwise idle second core; with two workers on 2 cores the two polling threads take half the machine. Measured
with 2 workers on this workload (a script driving `bench/lake_pool.py`'s loop, CPU time of each worker process per
call): about 500 ms of CPU per call with DuckDB's default `threads`, against about 207 ms with `SET threads = 1`,
where the client thread runs the call itself; `perf` put the polling thread's samples in `Executor::ExecuteTask`,
mutex lock and unlock, and the GIL. The refresh written by hand runs short statements, which the client thread takes
part in, so it loses less. Hence the advice in the README: one worker process per core, each with `SET threads = 1`.

Where the rest of a call goes (one call traced statement by statement, 1 worker): the refresh's transaction (name
lookups of the model's table and sources, the plan's statements, the state row's UPDATE, which is the fence, and the
commit), the lease round trips (a claim, which also returns when the model's last refresh under a claim finished,
a release, and one read of every model's such time at the start of each pass), and the passes' reads of the lake's snapshots
since the last pass (`src/db/seen.rs`): the attached databases are listed once per call. A refresh by keys on a lake
runs each of its deletes only when a check on its temp tables finds keys for it, so after insertions alone it joins
the model table once (the delete of the recomputed keys) instead of twice; with 2 workers and `threads = 1`,
alternating builds: 194 refreshes in 30 s before that change, 233 and 206 after. Figures on this machine vary 1.5-2x
between runs an hour apart. With several workers, a worker that wins a claim on a model another worker refreshed since
its pass read the models lets it go instead of refreshing it again.

DuckLake's wait before it tries a lost commit again: traced statement by statement (2 workers, `threads = 1`, the
DAG below, 30 s), the workers' COMMITs took a median of 93 ms (p25 73, p75 116) against 10 ms for the same commits
in the setup's single process: with a writer committing every 0.2 s, most commits lost the race for the next snapshot
id once and waited DuckLake's `ducklake_retry_wait_ms` (100 ms by default) before trying again. Set in the worker
processes, with the same build: 199 refreshes in 30 s at 100 ms, 252 at 20 ms, 279 at 5 ms (commit median 22 ms),
320 at 1 ms. A refresh of a lake model now sets 1 ms on the extension's own connection: 316 refreshes in 30 s
(632/min) with 2 workers, against 418/min by hand in the research's pool workload.
"""


POOL_MODELS_TEXT = ("6 models `SELECT g, count(*) AS n, sum(v) AS s FROM src<i> GROUP BY g` over sources of 100,000 "
                    "rows, 100 groups each.")


def _statements(res):
    st = res["statements"]
    lines = ["| model | declared | strategy | mode | PG statements per refresh (median; each run) | at most 10 | "
             "time, median (min) |", "| --- | --- | --- | --- | --- | --- | --- |"]
    for kind, s in st.items():
        lines.append(f"| {kind} | `{s['options'] or 'nothing'}` | {s['strategy']} | {', '.join(s['logged_modes'])} | {s['statements']:.0f} "
                     f"({', '.join(map(str, s['statements_all']))}) | {'yes' if s['statements'] <= 10 else '**no**'} | "
                     f"{s['noop_ms_median']:.1f} ms ({s['noop_ms_min']:.1f} ms) |")
    tops = []
    for kind, s in st.items():
        tops.append(f"- {kind}: " + "; ".join(f"{n:g} x `{body.replace('|', '/')}`" for n, body in s["top"][:6]))
    return f"""### PostgreSQL statements of a no-op refresh

`{CMD} --parts statements`: the same cluster with `log_statement = 'all'` (ALTER SYSTEM and a reload while
counting), one `incremental_refresh` with nothing new at a time between two marker statements sent by psql, counting the
server log's `statement:` and `execute` lines between them ({len(next(iter(st.values()))['statements_all'])}
refreshes per model, after a first refresh and 20 no-ops). The source has 100,000 rows; the models are a GROUP BY over it
(read by the feed, by a snapshot copy, and by a `time_column` window, which re-reads its window and so reports
`incremental` rather than `noop`) and an `append` copy with a `time_column`, which proves a no-op. The times are measured before the logging is turned on. Each statement is a round trip: with PostgreSQL
on another machine, add statements x round-trip time to each no-op. The goal is at most 10. A feed model's no-op in a
process whose last refresh of it found nothing, with the lake still at that snapshot, is answered from
`current_snapshot()` alone (docs/semantics.md); the first count of each model follows the other models' refreshes,
which committed snapshots, so that one goes the whole way (one DuckLake transaction for a refresh by full name).

{chr(10).join(lines)}

The most frequent statements (per refresh; text cut at 70 characters):

{chr(10).join(tops)}
"""


def _batch(res):
    lines = ["| source rows | source read by | declared | after 100 inserts | after 50 updates + 50 deletes | "
             "mode | the query over the whole table | create + first build |",
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for rows, by in sorted(res["batch"].items(), key=lambda kv: int(kv[0])):
        for kind, e in by.items():
            modes = ",".join(sorted({r["mode"] for b in ("inserts", "updates+deletes") for r in e[b]["runs"]}))
            lines.append(f"| {int(rows):,} | {kind} | `{e['options'] or 'nothing'}` | {ms(e['inserts']['median_s'])} | "
                         f"{ms(e['updates+deletes']['median_s'])} | {modes} | {ms(e['query_s'])} | "
                         f"{ms(e['first_build_s'])} |")
    reps = len(next(iter(next(iter(res["batch"].values())).values()))["inserts"]["runs"])
    return f"""### One refresh after a small batch: DuckLake feed, snapshot copy, change column

`{CMD} --parts batch` (sizes as above): a lake with a DuckDB-file catalog; per way of reading, its own source table (`id, g, v,
updated_at, deleted`, 10,000 groups) and the model `SELECT g, count(*) AS n, sum(v) AS s FROM t WHERE NOT deleted
GROUP BY g`. Each batch is committed, then the model is refreshed; the whole call of `incremental_refresh` is timed
(median of {reps}), and after every refresh the model is compared with its query. A change column sees no deletes, so
its source's 50 deletes are soft (`deleted = true` with a new `updated_at`); the feed and the snapshot sources get
real DELETEs.

{chr(10).join(lines)}
"""


def command(meta):
    """The command line that produced these results (the defaults of bench/lake.py are left out)."""
    sizes, flags = meta["sizes"], []
    if sizes.get("tp_seconds") != 60:
        flags.append(f"--tp-seconds {sizes['tp_seconds']}")
    if sizes.get("batch_rows") != [1_000_000, 10_000_000]:
        flags.append("--batch-rows " + ",".join(str(r) for r in sizes["batch_rows"]))
    return " ".join([CMD] + flags)


def section(res):
    m = res["meta"]
    cmd = command(m)
    mc = m["machine"]
    parts = [f"""{HEADER}

Generated by `{cmd}` (`make bench` runs it with the py15 host, whose python duckdb {mc['python_duckdb']} has the
ducklake and postgres extension packages) from `bench/results/lake.json`; run started {m['started']}, took
{m['total_s'] / 60:.1f} min (tree {mc['git']}, extension {mc['extension_sha256']}). {mc['postgres']} with fsync off,
on the same machine: {mc['cpu']}, {mc['cores']} cores shared with other work, {mc['mem_gib']} GiB RAM. Figures vary
1.5-2x from run to run on this machine.
"""]
    if "pool" in res:
        parts.append(_pool(res))
    if "throughput" in res:
        parts.append(_throughput(res))
    if "statements" in res:
        parts.append(_statements(res))
    if "batch" in res:
        parts.append(_batch(res))
    return "\n".join(parts)


def splice(text, new_section):
    """`text` with its DuckLake section replaced by `new_section` (added before the appendix when it has none)."""
    start = text.find("\n" + HEADER + "\n")
    if start >= 0:
        end = text.find("\n## ", start + len(HEADER) + 2)
        return text[:start + 1] + new_section + ("\n" + text[end + 1:] if end >= 0 else "")
    at = text.find("\n## Appendix")
    if at < 0:
        return text.rstrip("\n") + "\n\n" + new_section
    return text[:at + 1] + new_section + "\n" + text[at + 1:]


def write(md_path, res, standalone=False):
    md_path = Path(md_path)
    if standalone or not md_path.exists():
        md_path.write_text(section(res))
    else:
        md_path.write_text(splice(md_path.read_text(), section(res)))


def saved_section():
    """The section from bench/results/lake.json, or None when the DuckLake benchmark has not been run."""
    return section(json.loads(RESULTS.read_text())) if RESULTS.exists() else None
