"""Shared fixtures for the python tests: the extension and CLI paths, and connections with the extension loaded."""

import os
from pathlib import Path

import duckdb
import pytest

import lakes

REPO = Path(__file__).resolve().parents[2]
DEFAULT_EXTENSION = "build/release/incremental.duckdb_extension"
DEFAULT_CLI = ".hosts/py15/bin/duckdb"


def _resolve(var, default):
    """The path in env var `var` (relative to the working directory, else the repo root), or `default` in the repo."""
    value = os.environ.get(var)
    if not value:
        return (REPO / default).resolve()
    path = Path(value).expanduser()
    if not path.is_absolute() and not path.exists():
        path = REPO / path
    return path.resolve()


@pytest.fixture(scope="session")
def extension_path():
    """Absolute path of the built extension (INCREMENTAL_EXTENSION); fails the test when it is missing."""
    path = _resolve("INCREMENTAL_EXTENSION", DEFAULT_EXTENSION)
    if not path.is_file():
        pytest.fail(f"extension not found at {path}: run `make` or set INCREMENTAL_EXTENSION")
    return str(path)


@pytest.fixture(scope="session")
def cli_path():
    """Absolute path of the DuckDB CLI (INCREMENTAL_CLI); skips the test when it is missing."""
    path = _resolve("INCREMENTAL_CLI", DEFAULT_CLI)
    if not path.is_file():
        pytest.skip(f"duckdb CLI not found at {path}: set INCREMENTAL_CLI")
    return str(path)


def open_loaded(extension, database=":memory:"):
    """A connection to `database` that allows unsigned extensions, with the extension loaded."""
    con = duckdb.connect(str(database), config={"allow_unsigned_extensions": "true"})
    con.execute(f"LOAD '{extension}'")
    return con


@pytest.fixture
def connect(extension_path):
    """Factory: `connect(database=':memory:')` opens a loaded connection; any still open are closed at teardown."""
    opened = []

    def _connect(database=":memory:"):
        con = open_loaded(extension_path, database)
        opened.append(con)
        return con

    yield _connect
    for con in opened:
        try:
            con.close()
        except duckdb.Error:
            pass


@pytest.fixture
def con(connect):
    """An in-memory database with the extension loaded."""
    return connect()


@pytest.fixture(scope="session")
def pg():
    """A private PostgreSQL cluster for the whole session (lakes.PostgresCluster); skips on a host without ducklake.
    A missing PostgreSQL is an error: scripts/hosts.sh installs it."""
    lakes.skip_unless_lake_host()
    with lakes.postgres_cluster() as cluster:
        yield cluster


_EXIT_STATUS = {}


def pytest_sessionfinish(session, exitstatus):
    _EXIT_STATUS["status"] = int(exitstatus)


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config):
    """Leaves with pytest's status once its report is out: a full run of the suite in python duckdb 1.5.5 was seen
    to crash (SIGSEGV) in the interpreter's teardown after every test had passed, which would hide the result."""
    import sys
    sys.stdout.flush()
    sys.stderr.flush()
    if "status" in _EXIT_STATUS:
        os._exit(_EXIT_STATUS["status"])
