"""Regenerates docs/benchmarks.md and docs/img/*.png from bench/results/*.json (run by bench/run.py)."""
import argparse
import json
import statistics
import sys
from collections import defaultdict
from pathlib import Path

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
import workload as W  # noqa: E402
import notes  # noqa: E402
import lake_report  # noqa: E402
from pipeline import RUNNING  # noqa: E402

ENGINES = ["full", "hand", "ext", "dbt"]
LABEL = {"full": "full rebuild", "hand": "hand-written SQL", "ext": "extension", "dbt": "dbt-duckdb"}
COLOR = {"full": "tab:red", "hand": "tab:green", "ext": "tab:blue", "dbt": "tab:orange"}


def load(quick):
    files = sorted((ROOT / "bench/results").glob("quick_*.json" if quick else "run_*.json"))
    runs, metas = [], {}
    for f in files:
        d = json.loads(f.read_text())
        metas[d["meta"]["rows"]] = d["meta"]
        runs += d["runs"]
    return runs, metas


def stats(runs):
    g = defaultdict(list)
    for r in runs:
        g[(r["rows"], r["phase"], r["model"], r["engine"], r.get("fraction"))].append(r)
    out = {}
    for k, rs in g.items():
        s = {}
        for f in ("sql_s", "wall_s", "rss_mb"):
            v = [r[f] for r in rs]
            s[f] = (statistics.median(v), min(v), max(v))
        s["n"] = len(rs)
        s["mode"] = ",".join(sorted({r.get("mode", "") for r in rs} - {""}))
        s["changed"] = rs[0].get("changed_rows")
        out[k] = s
    return out


def t(sec):
    return f"{sec * 1000:.1f} ms" if sec < 1 else f"{sec:.2f} s"


def cell(s, f="sql_s"):
    med, lo, hi = s[f]
    return f"{t(med)} ({t(lo)}–{t(hi)})"


def daily_table(S, rows, phase):
    lines = ["| model | engine | in DuckDB: median (min–max) | whole process: median (min–max) | peak RSS | x hand-written (in DuckDB) | mode |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    for m in W.DAILY_MODELS:
        hand = S.get((rows, phase, m, "hand", None))
        for e in ENGINES:
            s = S.get((rows, phase, m, e, None))
            if not s:
                continue
            ratio = f"{s['sql_s'][0] / hand['sql_s'][0]:.2f}x" if hand else ""
            lines.append(f"| {m} | {LABEL[e]} | {cell(s)} | {cell(s, 'wall_s')} | {s['rss_mb'][0]:.0f} MiB | "
                         f"{ratio} | {s['mode']} |")
    return "\n".join(lines)


def sweep_table(S, rows):
    keys = sorted({k[4] for k in S if k[1] == "sweep" and k[0] == rows})
    lines = ["| changed | rows changed | full rebuild | hand-written | extension | extension / better of full and extension's incremental | extension / full |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    for f in keys:
        c = {e: S.get((rows, "sweep", W.SWEEP_MODEL, e, f)) for e in ("full", "hand", "ext")}
        if not c["ext"] or not c["full"]:
            continue
        best = min(c["full"]["sql_s"][0], c["ext"]["sql_s"][0])
        lines.append(f"| {f:.2%} | {c['ext']['changed']:,} | {cell(c['full'])} | "
                     f"{cell(c['hand']) if c['hand'] else ''} | {cell(c['ext'])} | "
                     f"{c['ext']['sql_s'][0] / best:.2f}x | {c['ext']['sql_s'][0] / c['full']['sql_s'][0]:.2f}x |")
    return "\n".join(lines)


def plot_history(S, rows_list, path):
    models = ["daily_revenue", "orders_latest", "customer_product", "refunds"]
    fig, axes = plt.subplots(1, len(models), figsize=(16, 4.2))
    for ax, m in zip(axes, models):
        for e in ENGINES:
            pts = [(r, S[(r, "next_day", m, e, None)]["sql_s"]) for r in rows_list if (r, "next_day", m, e, None) in S]
            if not pts:
                continue
            x = [p[0] for p in pts]
            ax.plot(x, [p[1][0] for p in pts], "o-", color=COLOR[e], label=LABEL[e])
            ax.fill_between(x, [p[1][1] for p in pts], [p[1][2] for p in pts], color=COLOR[e], alpha=0.15)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_title(m)
        ax.set_xlabel("history (events)")
        ax.grid(True, which="both", alpha=0.3)
    axes[0].set_ylabel("next-day refresh, in-DuckDB seconds")
    axes[0].legend(fontsize=8)
    fig.suptitle("Refresh after one day of new data, against history size (median; band = min..max)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_sweep(S, rows, path):
    fig, ax = plt.subplots(figsize=(8, 4.5))
    for e in ("full", "hand", "ext"):
        pts = sorted((k[4], s["sql_s"]) for k, s in S.items() if k[:4] == (rows, "sweep", W.SWEEP_MODEL, e))
        if pts:
            ax.plot([p[0] * 100 for p in pts], [p[1][0] for p in pts], "o-", color=COLOR[e], label=LABEL[e])
    ax.set_xscale("log")
    ax.set_xlabel("orders changed (% of all orders)")
    ax.set_ylabel("refresh, in-DuckDB seconds")
    ax.set_title(f"{W.SWEEP_MODEL} at {rows:,} events: refresh time against change fraction")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def targets(S, metas, rows_list):
    """(target, measured, met) rows."""
    out = []
    for rows in rows_list:
        worst = []
        for m in W.DAILY_MODELS:
            e, h = S.get((rows, "next_day", m, "ext", None)), S.get((rows, "next_day", m, "hand", None))
            if e and h:
                worst.append((e["sql_s"][0] / h["sql_s"][0], m))
        if worst:
            txt = ", ".join(f"{m} {r:.1f}x" for r, m in worst)
            out.append((f"{rows:,}: incremental refresh within 1.2x of hand-written (in DuckDB)", txt,
                        all(r <= 1.2 for r, _ in worst)))
        nn = [(S[(rows, "nothing_new", m, "ext", None)]["sql_s"][0], m) for m in W.DAILY_MODELS
              if (rows, "nothing_new", m, "ext", None) in S]
        if nn:
            out.append((f"{rows:,}: nothing-new refresh under 5 ms in DuckDB",
                        ", ".join(f"{m} {t(s)}" for s, m in nn), all(s < 0.005 for s, _ in nn)))
        d = [(S[(rows, "next_day", m, "dbt", None)]["wall_s"][0] / S[(rows, "next_day", m, "ext", None)]["wall_s"][0], m)
             for m in W.DAILY_MODELS if (rows, "next_day", m, "dbt", None) in S and (rows, "next_day", m, "ext", None) in S]
        if d:
            out.append((f"{rows:,}: whole process at least 10x faster than `dbt run`",
                        ", ".join(f"{m} {r:.1f}x" for r, m in d), all(r >= 10 for r, _ in d)))
        ow = metas.get(rows, {}).get("own_work")
        if ow:
            out.append((f"{rows:,}: the extension's own work per refresh under 2 ms",
                        f"tiny model: {ow['tiny_di']['elapsed_ms']:.1f} ms (delete+insert), "
                        f"{ow['tiny_append']['elapsed_ms']:.1f} ms (append no-op); elapsed_ms minus its statements: "
                        + ", ".join(f"{m} {ow[m]['own_ms']:.0f} ms" for m in W.DAILY_MODELS if m in ow),
                        ow["tiny_di"]["elapsed_ms"] < 2 and ow["tiny_append"]["elapsed_ms"] < 2))
    if len(rows_list) > 1:
        lo, hi = min(rows_list), max(rows_list)
        g = [(S[(hi, "next_day", m, "ext", None)]["rss_mb"][0], S[(lo, "next_day", m, "ext", None)]["rss_mb"][0], m)
             for m in W.DAILY_MODELS if (hi, "next_day", m, "ext", None) in S and (lo, "next_day", m, "ext", None) in S]
        out.append((f"incremental peak RSS does not grow with history ({lo:,} -> {hi:,} events)",
                    ", ".join(f"{m} {a:.0f}->{b:.0f} MiB" for b, a, m in g), all(b <= 1.25 * a for b, a, _ in g)))
    sw = [k for k in S if k[1] == "sweep" and k[3] == "ext"]
    if sw:
        rows = sw[0][0]
        r = [(S[k]["sql_s"][0] / min(S[k]["sql_s"][0], S[(rows, "sweep", k[2], "full", k[4])]["sql_s"][0]), k[4])
             for k in sw if (rows, "sweep", k[2], "full", k[4]) in S]
        out.append((f"{rows:,}: sweep never more than 1.1x slower than the better of full and incremental",
                    "worst " + ", ".join(f"{f:.2%}: {x:.2f}x" for x, f in sorted(r, reverse=True)[:3]),
                    all(x <= 1.1 for x, _ in r)))
    return out


def load_line(runs, rows):
    la = [r["load1"] for r in runs if r["rows"] == rows and "load1" in r]
    if not la:
        return ""
    return (f"Load average (1 min) when each timed process started: median {statistics.median(la):.1f} "
            f"(min {min(la):.1f}, max {max(la):.1f}) on {len(la)} runs; above 2 means other work shared the 2 cores.\n\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="report the --quick results (to build/bench/)")
    a = ap.parse_args()
    runs, metas = load(a.quick)
    if not runs:
        raise SystemExit("no results in bench/results/")
    S = stats(runs)
    rows_list = sorted({r["rows"] for r in runs if r["phase"] == "next_day"})
    sweep_rows = sorted({r["rows"] for r in runs if r["phase"] == "sweep"})
    out_md = ROOT / ("build/bench/benchmarks-quick.md" if a.quick else "docs/benchmarks.md")
    img = (ROOT / "build/bench/img") if a.quick else (ROOT / "docs/img")
    img.mkdir(parents=True, exist_ok=True)
    plot_history(S, rows_list, img / "bench_history.png")
    if sweep_rows:
        plot_sweep(S, sweep_rows[-1], img / "bench_sweep.png")
    meta = metas[max(metas)]
    parts = [notes.intro(meta, metas, W)]
    for rows in rows_list:
        m = metas[rows]
        parts.append(f"### {rows:,} events of history\n\n{m['data']['events']:,} events, {m['data']['orders']:,} "
                     f"orders, database {m['data']['db_mib']:.0f} MiB; next-day batch "
                     f"{next(r['changed_rows'] for r in runs if r['rows'] == rows and r['phase'] == 'next_day'):,} "
                     f"events; {m['reps']} repetitions; run started {m['started']} (extension "
                     f"{m.get('extension_sha256', '?')}, tree {m.get('git', '?')}), took {m['total_s'] / 60:.1f} min.\n\n"
                     f"{load_line(runs, rows)}"
                     f"Next-day refresh:\n\n{daily_table(S, rows, 'next_day')}\n\n"
                     f"Refresh again with nothing new:\n\n{daily_table(S, rows, 'nothing_new')}\n")
    parts.append(notes.HISTORY_PLOT)
    for rows in sweep_rows:
        parts.append(notes.sweep_intro(rows) + sweep_table(S, rows) + "\n")
    tl = ["| target | measured | met |", "| --- | --- | --- |"]
    tl += [f"| {a_} | {b} | {'yes' if c else '**no**'} |" for a_, b, c in targets(S, metas, rows_list)]
    parts.append("## Targets\n\n" + "\n".join(tl) + "\n")
    for f in sorted((ROOT / "bench/results").glob("pipeline_*.json"), key=lambda p: int(p.stem.split("_")[1])):
        parts.append(pipeline_section(int(f.stem.split("_")[1]), json.loads(f.read_text())))
    parts.append(notes.own_work(metas))
    parts.append(notes.CAUSES)
    lake = lake_report.saved_section()
    if lake and not a.quick:
        parts.append(lake)
    for f in sorted((ROOT / "bench/results").glob("explain_*.md"), key=lambda p: int(p.stem.split("_")[1])):
        parts.append("## Appendix: " + f.read_text().lstrip("# "))
    out_md.write_text("\n".join(parts))
    print(f"wrote {out_md.relative_to(ROOT)} and {img.relative_to(ROOT)}/bench_*.png")


def pipeline_section(rows, res):
    """A model's readers of its recorded changes (bench/pipeline.py), against hand-written SQL and a full rebuild."""
    w, wo = res["with_readers"], res["without_readers"]
    ms = lambda x: f"{x * 1000:.0f} ms"  # noqa: E731
    lines = ["| reader of `latest` | how | extension | hand-written | full rebuild |", "| --- | --- | --- | --- | --- |"]
    for name in [k[:-6] for k in w if k.endswith("_ext_s")]:
        how = ("folded" if w.get(f"{name}_folded") else "from the earliest changed day on"
               if w.get(f"{name}_running", name in RUNNING) else "keys recomputed")
        lines.append(f"| {name} | {how} | {ms(w[name + '_ext_s'])} | {ms(w[name + '_hand_s'])} | "
                     f"{ms(w[name + '_full_s'])} |")
    return (notes.pipeline_intro(rows, res) + "\n".join(lines) + "\n\n"
            + f"The upstream refresh (`latest`, {w['latest_changed']:,} rows inserted or updated) takes "
            f"{ms(w['latest_s'])} with its readers' logs to write, {ms(wo['latest_s'])} without readers.\n")


if __name__ == "__main__":
    main()
