"""sqllogictest runner for DuckDB-dialect .test files on real DuckDB hosts (python module or CLI)."""

import argparse
import os
import sys
import time
import traceback

from slt_exec import FileRun, Outcome
from slt_hosts import session_factory


def _arguments(argv):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", choices=("python", "cli"), required=True,
                        help="python: the duckdb module of the interpreter running this script; cli: --cli binary")
    parser.add_argument("--cli", help="path of the duckdb CLI binary (host cli)")
    parser.add_argument("--extension", help="extension file; `require NAME` for its NAME loads it")
    parser.add_argument("--keep-going", action="store_true",
                        help="after a failing record, run the rest of the file instead of stopping it")
    parser.add_argument("--timeout", type=float, default=300,
                        help="seconds the CLI host may take for one statement (default 300)")
    parser.add_argument("-v", "--verbose", action="store_true", help="print each record as it runs")
    parser.add_argument("paths", nargs="+", metavar="FILE_OR_DIR")
    args = parser.parse_args(argv)
    if args.host == "cli" and not args.cli:
        parser.error("--host cli needs --cli PATH")
    if args.cli and not os.access(args.cli, os.X_OK):
        parser.error(f"--cli {args.cli}: not an executable file")
    if args.extension:
        if not os.path.isfile(args.extension):
            parser.error(f"--extension {args.extension}: no such file")
        args.extension = os.path.abspath(args.extension)
    return args


def _test_files(paths):
    files = []
    for path in paths:
        if os.path.isdir(path):
            files += sorted(os.path.join(path, name) for name in os.listdir(path) if name.endswith(".test"))
        elif os.path.isfile(path):
            files.append(path)
        else:
            raise SystemExit(f"slt.py: {path}: no such file or directory")
    return files


def main(argv):
    args = _arguments(argv)
    files = _test_files(args.paths)
    if not files:
        print("slt.py: no .test files found", file=sys.stderr)
        return 2
    open_session = session_factory(args.host, args.cli, args.timeout)
    log = (lambda message: print(f"  {message}", flush=True)) if args.verbose else (lambda message: None)
    counts = {"PASS": 0, "FAIL": 0, "SKIP": 0}
    executed = 0
    for path in files:
        if args.verbose:
            print(f"RUN  {path}", flush=True)
        started = time.monotonic()
        try:
            outcome = FileRun(path, open_session, args.extension, args.keep_going, log).run()
        except Exception:  # a runner or host-library fault fails this file, the other files still run
            outcome = Outcome("FAIL", [f"runner error:\n{traceback.format_exc().rstrip()}"], 0)
        counts[outcome.status] += 1
        executed += outcome.executed
        elapsed = f" ({time.monotonic() - started:.1f}s)" if args.verbose else ""
        if outcome.status == "SKIP":
            print(f"SKIP {path}: {outcome.details[0]}{elapsed}")
        else:
            print(f"{outcome.status} {path}{elapsed}")
        for detail in outcome.details if outcome.status == "FAIL" else ():
            print("\n".join("    " + line for line in detail.split("\n")))
        sys.stdout.flush()
    print(f"{executed} statements/queries executed in {len(files)} files on host {args.host}")
    summary = f"{counts['PASS']} passed, {counts['FAIL']} failed"
    if counts["SKIP"]:
        summary += f", {counts['SKIP']} skipped"
    print(summary)
    return 1 if counts["FAIL"] else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
