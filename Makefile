# Build, demo and checks of the incremental extension. `make demo` and `make test` are the README's commands.
VERSION := v0.1.0
EXT := build/release/incremental.duckdb_extension
PY15 := .hosts/py15/bin/python
PY20 := .hosts/py20/bin/python
CLI := .hosts/py15/bin/duckdb
SOURCES := $(shell find src -name '*.rs') Cargo.toml Cargo.lock

.PHONY: all hosts demo test golden clean

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
# and the python tests (differential, reopen) in both python hosts.
test: $(EXT) hosts
	scripts/check.sh

# Regenerates the planner's golden files; review them with `git diff tests/golden`.
golden:
	UPDATE_GOLDEN=1 cargo test --test golden

clean:
	rm -rf build target
