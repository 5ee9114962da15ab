#!/usr/bin/env bash
# Installs the DuckDB hosts the tests and the demo run in, from PyPI, into .hosts/ (idempotent), and PostgreSQL 15
# for the tests whose lake catalog is PostgreSQL.
#   .hosts/py15: python duckdb 1.5.5, the duckdb CLI 1.5.6 (package duckdb-cli), the signed extensions ducklake,
#                postgres and sqlite_scanner 1.5.5
#   .hosts/py20: python duckdb 2.0.0
#   /usr/lib/postgresql/15/bin: the Debian package postgresql-15, when missing
set -euo pipefail
cd "$(dirname "$0")/.."
make_venv() {
  local dir=$1; shift
  local stamp="$dir/.installed"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$*" ]; then
    return
  fi
  # A venv whose list changed is brought to the new list in place, so a running test never loses its python.
  if [ ! -x "$dir/bin/python" ]; then
    rm -rf "$dir"
    python3 -m venv "$dir"
  fi
  "$dir/bin/python" -m pip install --quiet --disable-pip-version-check "$@"
  echo "$*" > "$stamp"
}
make_venv .hosts/py15 duckdb==1.5.5 duckdb-cli==1.5.6 duckdb-extension-ducklake==1.5.5 duckdb-extension-postgres==1.5.5 \
  duckdb-extension-sqlite-scanner==1.5.5 pytest==8.3.5
make_venv .hosts/py20 duckdb==2.0.0 pytest==8.3.5

install_postgres() {
  [ -x /usr/lib/postgresql/15/bin/initdb ] && return
  local sudo=()
  [ "$(id -u)" -eq 0 ] || sudo=(sudo)
  echo "installing postgresql-15 (apt-get)"
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql-15 >/dev/null
}
install_postgres
