#!/usr/bin/env bash
# Every check the project has, in one command (`make test`): formatting, clippy with warnings denied, unit and
# golden tests, the sqllogictest suite in the CLI 1.5.6 and python duckdb 1.5.5 and 2.0.0 hosts, and the python
# tests (differential, crash, clean exit, hostile input, docs examples, reopen, DuckLake, workers) in both python hosts.
# Ends with one line: `N passed, N failed`.
set -uo pipefail
cd "$(dirname "$0")/.."
EXT=build/release/incremental.duckdb_extension
PY15=.hosts/py15/bin/python
PY20=.hosts/py20/bin/python
CLI=.hosts/py15/bin/duckdb
passed=0
failed=0
failures=()

step() {
  local name=$1; shift
  echo "== $name"
  if "$@"; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    failures+=("$name")
  fi
}

step "cargo fmt --check" cargo fmt --check
step "cargo clippy (warnings denied)" cargo clippy --locked --all-targets -- -D warnings
step "cargo test (unit and golden)" cargo test --locked
step "sqllogictest: duckdb CLI 1.5.6" python3 test/runner/slt.py --host cli --cli "$CLI" --extension "$EXT" test/sql
step "sqllogictest: python duckdb 1.5.5" "$PY15" test/runner/slt.py --host python --extension "$EXT" test/sql
step "sqllogictest: python duckdb 2.0.0" "$PY20" test/runner/slt.py --host python --extension "$EXT" test/sql
step "python tests: duckdb 1.5.5" env INCREMENTAL_EXTENSION="$EXT" INCREMENTAL_CLI="$CLI" "$PY15" -m pytest -q test/python
step "python tests: duckdb 2.0.0" env INCREMENTAL_EXTENSION="$EXT" INCREMENTAL_CLI="$CLI" "$PY20" -m pytest -q test/python

echo
for f in "${failures[@]}"; do echo "failed: $f"; done
echo "checks: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
