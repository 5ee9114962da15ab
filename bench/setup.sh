#!/usr/bin/env bash
# Creates the benchmark venv .hosts/bench from PyPI (idempotent): duckdb 1.5.5 (same file format as the hosts),
# matplotlib for the plots, dbt-core 1.10 + dbt-duckdb 1.10 for the dbt engine.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=.hosts/bench
pkgs="duckdb==1.5.5 matplotlib==3.10.* dbt-core==1.10.* dbt-duckdb==1.10.*"
stamp="$dir/.installed"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$pkgs" ]; then
  exit 0
fi
rm -rf "$dir"
python3 -m venv "$dir"
# shellcheck disable=SC2086
"$dir/bin/python" -m pip install --quiet --disable-pip-version-check $pkgs
echo "$pkgs" > "$stamp"
