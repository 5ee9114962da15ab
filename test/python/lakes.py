"""Lakes for tests: a private PostgreSQL cluster, the extension files of ducklake and its catalog scanners, and DuckDB
connections with a DuckLake attached whose catalog is PostgreSQL, SQLite or a DuckDB file.

The lake extension files ship in pip packages built for one duckdb version (1.5.5); the 2.0.0 host has none, so lake
tests skip there (`skip_unless_lake_host`). The duckdb CLI in .hosts/py15 is 1.5.6 and refuses files built for 1.5.5:
worker processes that attach a lake run the py15 python with `lake_prelude`.
"""
import atexit
import contextlib
import gc
import importlib
import os
import shlex
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import duckdb

REPO = Path(__file__).resolve().parents[2]
PG_BIN = Path(os.environ.get("INCREMENTAL_PG_BIN", "/usr/lib/postgresql/15/bin"))
PG_USER = "postgres"
KINDS = ("postgres", "sqlite", "duckdb")
# The lake's own extensions must come from the files LOADed here: an autoload would try to download them.
CONNECT_CONFIG = {
    "allow_unsigned_extensions": "true",
    "autoinstall_known_extensions": "false",
    "autoload_known_extensions": "false",
}


def lit(text):
    """A SQL string literal."""
    return "'" + str(text).replace("'", "''") + "'"


def ident(name):
    """A SQL identifier, double-quoted."""
    return '"' + str(name).replace('"', '""') + '"'


def _plain_name(name):
    """PostgreSQL database names used here go into libpq key=value strings unquoted, so they are kept plain."""
    if not name or not all(c.isalnum() or c == "_" for c in name):
        raise ValueError(f"database name {name!r}: use letters, digits and underscores only")
    return name


def _free_port():
    """A TCP port on 127.0.0.1 that was free a moment ago (the cluster start retries when another process takes it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_pg(cmd):
    """`cmd` run as the postgres OS user when we are root: initdb and the server refuse to run as root."""
    if os.geteuid() != 0:
        return cmd
    if shutil.which("runuser"):
        return ["runuser", "-u", PG_USER, "--"] + cmd
    return ["su", PG_USER, "-s", "/bin/sh", "-c", shlex.join(cmd)]


def _run(cmd, what, cwd=None, stdin=None):
    done = subprocess.run(cmd, cwd=cwd, input=stdin, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{what} failed (exit {done.returncode}): {shlex.join(cmd)}\n{done.stdout}{done.stderr}")
    return done.stdout


class PostgresCluster:
    """A running private cluster: trust auth, its unix socket in its own folder, TCP only on 127.0.0.1:port."""

    def __init__(self, root, port):
        self.root = Path(root)
        self.port = port
        self.socket_dir = self.root
        self.data_dir = self.root / "data"
        self.log = self.root / "server.log"

    def dsn(self, dbname):
        """libpq key=value string for `dbname`, as DuckDB's postgres extension and DuckLake take it."""
        return f"dbname={_plain_name(dbname)} host=127.0.0.1 port={self.port} user={PG_USER}"

    def psql(self, sql, db="postgres"):
        """Runs `sql` (one or more statements) with psql and returns its output: unaligned rows, `|` between fields."""
        cmd = [str(PG_BIN / "psql"), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", str(self.socket_dir),
               "-p", str(self.port), "-U", PG_USER, "-d", _plain_name(db), "-f", "-"]
        return _run(cmd, f"psql on database {db}", cwd=self.root, stdin=sql).strip()

    def createdb(self, name):
        """Creates an empty database `name` (an error if it exists)."""
        self.psql(f"CREATE DATABASE {ident(_plain_name(name))}")

    def _start(self):
        opts = (f"-p {self.port} -k {self.socket_dir} -c listen_addresses=127.0.0.1 -c max_connections=200 "
                "-c fsync=off -c synchronous_commit=off -c full_page_writes=off")
        cmd = [str(PG_BIN / "pg_ctl"), "-D", str(self.data_dir), "-l", str(self.log), "-w", "-t", "60", "-o", opts, "start"]
        return subprocess.run(_as_pg(cmd), cwd=self.root, capture_output=True, text=True)

    def _stop(self):
        cmd = [str(PG_BIN / "pg_ctl"), "-D", str(self.data_dir), "-m", "fast", "-w", "-t", "60", "stop"]
        subprocess.run(_as_pg(cmd), cwd=self.root, capture_output=True, text=True)


@contextlib.contextmanager
def postgres_cluster():
    """Starts a fresh cluster in a temp folder, yields its PostgresCluster, and always stops it and removes the folder."""
    initdb = PG_BIN / "initdb"
    if not initdb.is_file():
        raise RuntimeError(f"PostgreSQL 15 not found ({initdb} is missing): run scripts/hosts.sh, which installs postgresql-15")
    root = Path(tempfile.mkdtemp(prefix="incr-pg-"))
    cluster = None
    try:
        if os.geteuid() == 0:
            shutil.chown(root, PG_USER, PG_USER)
        cmd = [str(initdb), "-D", str(root / "data"), "-A", "trust", "-U", PG_USER, "--no-locale", "-E", "UTF8", "-N"]
        _run(_as_pg(cmd), "initdb", cwd=root)
        for _ in range(5):
            candidate = PostgresCluster(root, _free_port())
            started = candidate._start()
            if started.returncode == 0:
                cluster = candidate
                break
            log = candidate.log.read_text(errors="replace") if candidate.log.exists() else ""
            if "could not bind" not in log and "already in use" not in log:
                raise RuntimeError(f"pg_ctl start failed (exit {started.returncode}):\n{started.stdout}{started.stderr}\n{log}")
        if cluster is None:
            raise RuntimeError("pg_ctl start failed 5 times: every free port was taken before the server bound it")
        yield cluster
    finally:
        if cluster is not None:
            cluster._stop()
        shutil.rmtree(root, ignore_errors=True)


def lake_host_missing():
    """Why this duckdb host cannot attach a lake (no ducklake package for its version), or None when it can."""
    try:
        importlib.import_module("duckdb_extension_ducklake")
    except ImportError:
        return f"no duckdb-extension-ducklake package for duckdb {duckdb.__version__} (it ships for 1.5.5 only)"
    return None


def skip_unless_lake_host():
    reason = lake_host_missing()
    if reason:
        import pytest

        pytest.skip(reason)


def _package_file(package, name):
    try:
        module = importlib.import_module(package)
    except ImportError as e:
        pip_name = package.replace("_", "-")
        raise RuntimeError(f"python package {pip_name} is not installed for duckdb {duckdb.__version__}: "
                           f"run scripts/hosts.sh") from e
    path = Path(module.__file__).parent / "extensions" / ("v" + duckdb.__version__.lstrip("v")) / f"{name}.duckdb_extension"
    if not path.is_file():
        raise RuntimeError(f"{path} is missing: the {package} package does not match duckdb {duckdb.__version__}")
    return path


_copies = {}


def _postgres_copy(source):
    """The postgres wheel's file answers to the entry point postgres_scanner_*, which LOAD derives from the file name,
    so it is loaded from a copy named postgres_scanner.duckdb_extension, made once per process."""
    if "postgres" not in _copies:
        folder = Path(tempfile.mkdtemp(prefix="incr-ext-"))
        atexit.register(shutil.rmtree, folder, True)
        target = folder / "postgres_scanner.duckdb_extension"
        shutil.copyfile(source, target)
        _copies["postgres"] = target
    return _copies["postgres"]


def extension_files():
    """Paths (str) of the ducklake, postgres_scanner and sqlite_scanner files for the running duckdb version."""
    return {
        "ducklake": str(_package_file("duckdb_extension_ducklake", "ducklake")),
        "postgres": str(_postgres_copy(_package_file("duckdb_extension_postgres", "postgres"))),
        "sqlite": str(_package_file("duckdb_extension_sqlite_scanner", "sqlite_scanner")),
    }


def incremental_extension():
    """The built extension: INCREMENTAL_EXTENSION (relative to the working directory, else the repo root) or the
    default release build."""
    value = os.environ.get("INCREMENTAL_EXTENSION")
    path = Path(value).expanduser() if value else REPO / "build/release/incremental.duckdb_extension"
    if not path.is_absolute() and not path.exists():
        path = REPO / path
    path = path.resolve()
    if not path.is_file():
        raise RuntimeError(f"extension not found at {path}: run `make` or set INCREMENTAL_EXTENSION")
    return str(path)


def attach_target(kind, meta):
    """The ATTACH string of a lake: `meta` is a libpq dsn for "postgres", a file path for "sqlite" and "duckdb"."""
    if kind == "postgres":
        return f"ducklake:postgres:{meta}"
    if kind == "sqlite":
        return f"ducklake:sqlite:{meta}"
    if kind == "duckdb":
        return f"ducklake:{meta}"
    raise ValueError(f"lake kind {kind!r}: use one of {', '.join(KINDS)}")


def lake_prelude(kind, meta, data_path, alias="lake"):
    """The statements that make a connection opened with allow_unsigned_extensions a lake client: LOAD ducklake, the
    catalog's scanner, the incremental extension, then ATTACH the lake as `alias` with its DATA_PATH."""
    target = attach_target(kind, meta)
    files = extension_files()
    loads = [files["ducklake"]]
    if kind in ("postgres", "sqlite"):
        loads.append(files[kind])
    loads.append(incremental_extension())
    data = str(data_path).rstrip("/") + "/"
    return [f"LOAD {lit(f)}" for f in loads] + [f"ATTACH {lit(target)} AS {ident(alias)} (DATA_PATH {lit(data)})"]


def empty_lake(kind, tmp_path, pg=None, prefix="lake"):
    """(kind, meta, data_path) of an empty lake: a new database of the cluster `pg` for "postgres", else a catalog file
    in `tmp_path` ("sqlite" or "duckdb"); its data goes to `tmp_path`/data."""
    if kind == "postgres":
        name = f"{prefix}_{uuid.uuid4().hex[:12]}"
        pg.createdb(name)
        meta = pg.dsn(name)
    else:
        meta = str(tmp_path / ("meta.sqlite" if kind == "sqlite" else "meta.ducklake"))
    return kind, meta, str(tmp_path / "data")


def commit_all(con, statements):
    """Runs `statements` in one transaction; False when it failed (a conflict with another writer) and was rolled
    back as a whole."""
    try:
        con.execute("BEGIN")
        for s in statements:
            con.execute(s)
        con.execute("COMMIT")
        return True
    except Exception:
        try:
            con.execute("ROLLBACK")
        except Exception:
            pass
        return False


def connect():
    """A fresh in-memory duckdb connection that may LOAD unsigned files and never autoloads or installs extensions."""
    return duckdb.connect(config=dict(CONNECT_CONFIG))


def open_lake(kind, meta, data_path, alias="lake"):
    """A connection with the lake attached as `alias` (the caller creates `data_path`'s parent; the first ATTACH of an
    empty catalog creates the lake, so create it once before starting processes that attach it)."""
    con = connect()
    try:
        for statement in lake_prelude(kind, meta, data_path, alias):
            con.execute(statement)
    except Exception:
        con.close()
        raise
    return con


def wait_released():
    """The extension lets go of a closed database within 10 ms of its last use: wait 20 times that before reopening."""
    gc.collect()
    time.sleep(0.2)
