"""The coverage corpus: incremental-view cases translated from peers' regression suites (OpenIVM, pg_ivm, Snowflake's
dynamic-table docs, dbt-duckdb), each a query plus batches of changes, kept as JSON lists in test/corpus/*.json.

`run_case` runs one case on a DuckLake whose catalog is a DuckDB file: the setup, `incremental_create('m', query,
<options>)`, a first refresh (the build), then per batch its statements, a refresh, and a multiset comparison of the
model's table with the query. The outcome is one of

- `incremental`: every refresh after the build was incremental or a no-op, and every comparison equal;
- `full`: some refresh after the build rebuilt in full (its reason is kept), every comparison equal;
- `refused: <message>`: incremental_create raised (the first line of its message);
- `failed: <message>`: a refresh raised;
- `wrong`: a comparison differed (never a recorded expectation).

As a script (the py15 host, INCREMENTAL_EXTENSION as for the tests):
    python test/python/corpus.py --record              rewrites each case's `expect` from a run
    python test/python/corpus.py --report docs/coverage.md   writes the coverage table
"""
import argparse
import json
import shutil
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import lakes  # noqa: E402

CORPUS = lakes.REPO / "test" / "corpus"
MODEL = "m"
FIELDS = ("name", "from", "construct", "setup", "query", "options", "changes", "expect")
CLASSES = ("incremental", "full", "refused", "failed", "wrong")


class CorpusError(Exception):
    """A case that is itself broken: its setup or a change statement failed, or a field is missing."""


def load_files():
    """{path: [case, ...]} of every corpus file, in name order."""
    return {p: json.loads(p.read_text()) for p in sorted(CORPUS.glob("*.json"))}


def load_cases():
    """Every case of the corpus, checked for its fields and a unique name."""
    cases, seen = [], set()
    for path, listed in load_files().items():
        for case in listed:
            missing = [f for f in FIELDS if f not in case]
            if missing or case["name"] in seen:
                raise CorpusError(f"{path.name}: case {case.get('name')}: missing {missing} or a duplicate name")
            if len(case["changes"]) < 3:
                raise CorpusError(f"{path.name}: case {case['name']} has fewer than 3 change batches")
            seen.add(case["name"])
            cases.append(case)
    return cases


def first_line(error, tmp):
    """An error's first line, with the case's temporary folder written as <tmp> so messages compare across runs."""
    return str(error).strip().splitlines()[0].replace(str(tmp), "<tmp>") if str(error).strip() else type(error).__name__


def outcome_class(outcome):
    return outcome.split(":", 1)[0]


def create_sql(case):
    named = "".join(f", {k} := {v}" for k, v in case["options"].items())
    return f"CALL incremental_create({lakes.lit(MODEL)}, {lakes.lit(case['query'])}{named})"


def differences(con, query):
    """(rows of the query missing from the table, rows of the table the query does not return), as multisets; one
    counting statement first, the rows only when it finds a difference."""
    missing_sql = f"SELECT * FROM ({query}) EXCEPT ALL SELECT * FROM {MODEL}"
    extra_sql = f"SELECT * FROM {MODEL} EXCEPT ALL SELECT * FROM ({query})"
    counted = con.execute(f"SELECT (SELECT count(*) FROM ({missing_sql})) + (SELECT count(*) FROM ({extra_sql}))")
    if counted.fetchone()[0] == 0:
        return [], []
    return con.execute(missing_sql).fetchall(), con.execute(extra_sql).fetchall()


def refresh(con):
    """(mode, reason) of one refresh of the model."""
    return con.execute(f"SELECT mode, reason FROM incremental_refresh({lakes.lit(MODEL)})").fetchone()


def run_statements(con, statements, what, case):
    for sql in statements:
        try:
            con.execute(sql)
        except Exception as e:
            raise CorpusError(f"case {case['name']}: {what} statement failed: {sql}: {e}") from e


def run_setup(con, case):
    """The setup in one transaction (one lake snapshot, one commit of the catalog file)."""
    con.execute("BEGIN")
    try:
        run_statements(con, case["setup"], "setup", case)
    except CorpusError:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")


def play(con, case, tmp):
    """The outcome of a case on an open lake connection: a dict with `outcome`, `modes` and, when some refresh
    rebuilt in full or a comparison differed, `reason` or `detail`."""
    run_setup(con, case)
    try:
        con.execute(create_sql(case))
    except Exception as e:
        return {"outcome": "refused: " + first_line(e, tmp), "modes": []}
    modes, reason = [], None
    for step, batch in enumerate([[]] + case["changes"]):
        run_statements(con, batch, f"batch {step}", case)
        try:
            mode, why = refresh(con)
        except Exception as e:
            return {"outcome": "failed: " + first_line(e, tmp), "modes": modes}
        modes.append(mode)
        if not step:
            continue
        if mode not in ("incremental", "noop") and reason is None:
            reason = f"batch {step}: {mode}: {why}"
        missing, extra = differences(con, case["query"])
        if missing or extra:
            detail = f"after batch {step} ({mode}): missing {missing[:3]}, extra {extra[:3]}"
            return {"outcome": "wrong", "modes": modes, "detail": detail}
    return {"outcome": "full" if reason else "incremental", "modes": modes, "reason": reason}


def run_case(case, tmp_path):
    """Runs `case` in a fresh lake under `tmp_path` and returns its result (see `play`)."""
    kind, meta, data = lakes.empty_lake("duckdb", Path(tmp_path))
    Path(data).mkdir(parents=True, exist_ok=True)
    con = lakes.open_lake(kind, meta, data)
    try:
        con.execute("USE lake")
        return play(con, case, tmp_path)
    finally:
        con.close()


def run_all(cases):
    """{name: result} of every case, each in a temporary folder of its own."""
    results = {}
    for case in cases:
        tmp = Path(tempfile.mkdtemp(prefix="corpus-"))
        try:
            results[case["name"]] = run_case(case, tmp)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return results


def dump_case(case):
    """One case as JSON, a field a line, so that a recorded `expect` shows as a one-line diff."""
    fields = [f"  {json.dumps(k)}: {json.dumps(case[k], ensure_ascii=False)}" for k in FIELDS]
    return "{\n" + ",\n".join(fields) + "\n}"


def record(results):
    """Rewrites every `expect` from `results`; a `wrong` outcome is never recorded: its case stays `incremental`."""
    for path, listed in load_files().items():
        for case in listed:
            got = results[case["name"]]["outcome"]
            case["expect"] = "incremental" if got == "wrong" else got
        path.write_text("[\n" + ",\n".join(dump_case(c) for c in listed) + "\n]\n")


def cell(text):
    return str(text).replace("|", "\\|").replace("\n", " ")


def full_reasons(cases, results):
    """The report's section on rebuilds: each reason of the first full refresh after the build, with its cases."""
    by_reason = defaultdict(list)
    for c in cases:
        got = results[c["name"]]
        if got["outcome"] == "full":
            by_reason[got["reason"].split(": full: ", 1)[1]].append(c["name"])
    lines = ["", f"## Rebuilt in full after the build ({sum(map(len, by_reason.values()))})", "",
             "| cases | reason of the first rebuild | which |", "| ---: | --- | --- |"]
    for reason, names in sorted(by_reason.items(), key=lambda kv: -len(kv[1])):
        lines.append(f"| {len(names)} | {cell(reason)} | {', '.join(names)} |")
    return lines


def report(cases, results, seconds):
    """The coverage page: counts per construct, the overall shares, then every refusal, failure, rebuild and wrong."""
    by_construct = defaultdict(Counter)
    for case in cases:
        by_construct[case["construct"]][outcome_class(results[case["name"]]["outcome"])] += 1
    total = Counter(outcome_class(r["outcome"]) for r in results.values())
    n = len(cases)
    lines = ["Generated by `python test/python/corpus.py --report docs/coverage.md` (py15 host, "
             "INCREMENTAL_EXTENSION set); do not edit by hand.", "", "# Coverage corpus", "",
             f"{n} cases from peers' regression suites (test/corpus/*.json), each a query and at least 3 batches of "
             "inserts, updates and deletes, run on a DuckLake (DuckDB-file catalog) with nothing declared beyond the "
             "case's options, and compared with a full run of the query after every refresh "
             f"(test/python/test_corpus.py; this run took {seconds:.0f} s).", "",
             f"- incremental and exact: {total['incremental']} of {n} ({100 * total['incremental'] / n:.0f}%)",
             f"- exact (every comparison equal, among the {n - total['refused'] - total['failed']} that ran): "
             f"{n - total['refused'] - total['failed'] - total['wrong']}",
             "- " + ", ".join(f"{c}: {total[c]}" for c in CLASSES), "",
             "| construct | cases | " + " | ".join(CLASSES) + " |", "| --- | ---: |" + " ---: |" * len(CLASSES)]
    for construct in sorted(by_construct):
        counts = by_construct[construct]
        lines.append(f"| {cell(construct)} | {sum(counts.values())} | "
                     + " | ".join(str(counts[c]) for c in CLASSES) + " |")
    lines.append(f"| **all** | {n} | " + " | ".join(str(total[c]) for c in CLASSES) + " |")
    sections = [("Refused at incremental_create", "refused", "outcome"), ("Failed at a refresh", "failed", "outcome"),
                ("Wrong results", "wrong", "detail")]
    lines += full_reasons(cases, results)
    for title, klass, field in sections:
        rows = [c for c in cases if outcome_class(results[c["name"]]["outcome"]) == klass]
        lines += ["", f"## {title} ({len(rows)})", ""]
        if not rows:
            lines.append("None.")
            continue
        lines += ["| case | from | construct | message |", "| --- | --- | --- | --- |"]
        for c in rows:
            text = results[c["name"]].get(field) or ""
            text = text.split(": ", 1)[1] if field == "outcome" else text
            lines.append(f"| {c['name']} | {cell(c['from'])} | {cell(c['construct'])} | {cell(text)} |")
    return "\n".join(lines) + "\n"


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--record", action="store_true", help="rewrite every case's expect field from this run")
    parser.add_argument("--report", metavar="PATH", help="write the markdown coverage table to PATH")
    parser.add_argument("--only", metavar="NAME", action="append", help="run only these cases (prints results)")
    args = parser.parse_args(argv)
    cases = load_cases()
    if args.only:
        cases = [c for c in cases if c["name"] in args.only]
    started = time.monotonic()
    results = run_all(cases)
    seconds = time.monotonic() - started
    for case in cases:
        got = results[case["name"]]
        mark = "" if got["outcome"] == case["expect"] else f"   (expected {case['expect']})"
        extra = got.get("detail") or got.get("reason") or ""
        print(f"{case['name']}: {got['outcome']} {got['modes']} {extra}{mark}")
    print(f"{len(cases)} cases in {seconds:.1f} s: {dict(Counter(outcome_class(r['outcome']) for r in results.values()))}")
    if args.record and not args.only:
        record(results)
    if args.report and not args.only:
        Path(args.report).write_text(report(cases, results, seconds))


if __name__ == "__main__":
    main(sys.argv[1:])
