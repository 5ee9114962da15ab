# Build, demo and checks of the incremental extension. `make demo` and `make test` are the README's commands.
VERSION := v0.1.0
EXT := build/release/incremental.duckdb_extension
PY15 := .hosts/py15/bin/python
PY20 := .hosts/py20/bin/python
CLI := .hosts/py15/bin/duckdb
SOURCES := $(shell find src -name '*.rs') Cargo.toml Cargo.lock

.PHONY: all hosts demo test golden clean bench

all: $(EXT)

$(EXT): $(SOURCES) scripts/append_metadata.py
	cargo build --release --locked
	mkdir -p build/release
	python3 scripts/append_metadata.py target/release/libincremental.so $@ --extension-version $(VERSION)

hosts:
	scripts/hosts.sh

demo: $(EXT) hosts
	rm -f build/demo.duckdb build/demo.duckdb.wal
	$(CLI) -unsigned build/demo.duckdb < demo/demo.sql

# Every check: fmt, clippy (warnings denied), unit and golden tests, the sqllogictest suite in the three hosts,
# and the python tests (differential, crash, clean exit, hostile input, docs examples, reopen, DuckLake) in both python hosts.
test: $(EXT) hosts
	scripts/check.sh

# Benchmarks (docs/benchmarks.md): full rebuild, hand-written SQL, the extension and dbt-duckdb at 1M, 3M and 10M
# events, the change-fraction sweep, the per-statement times, the pipeline readers at 10M and the DuckLake benchmarks
# (workers, PostgreSQL statements, feed cost); about 75 minutes on 2 cores.
bench: $(EXT) hosts
	bench/setup.sh
	.hosts/bench/bin/python bench/run.py --rows 1000000,3000000,10000000 --reps 3 --no-report
	.hosts/bench/bin/python bench/explain.py --rows 10000000
	.hosts/bench/bin/python bench/pipeline.py --rows 10000000 --reps 3
	# py15, not .hosts/bench: it has the ducklake and postgres extension packages; starts its own PostgreSQL
	$(PY15) bench/lake.py
	.hosts/bench/bin/python bench/report.py

# Regenerates the planner's golden files; review them with `git diff tests/golden`.
golden:
	UPDATE_GOLDEN=1 cargo test --test golden

clean:
	rm -rf build target
