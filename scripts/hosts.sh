#!/usr/bin/env bash
# Installs the DuckDB hosts the tests and the demo run in, from PyPI, into .hosts/ (idempotent).
#   .hosts/py15: python duckdb 1.5.5, the duckdb CLI 1.5.6 (package duckdb-cli), the signed ducklake extension 1.5.5
#   .hosts/py20: python duckdb 2.0.0
set -euo pipefail
cd "$(dirname "$0")/.."
make_venv() {
  local dir=$1; shift
  local stamp="$dir/.installed"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$*" ]; then
    return
  fi
  rm -rf "$dir"
  python3 -m venv "$dir"
  "$dir/bin/python" -m pip install --quiet --disable-pip-version-check "$@"
  echo "$*" > "$stamp"
}
make_venv .hosts/py15 duckdb==1.5.5 duckdb-cli==1.5.6 duckdb-extension-ducklake==1.5.5 pytest==8.3.5
make_venv .hosts/py20 duckdb==2.0.0 pytest==8.3.5
