"""A file database can be closed and reopened, in the same process and by another, after the extension ran."""
import gc
import os
import subprocess
import sys
import threading
import time

import duckdb

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXTENSION = os.path.abspath(os.path.join(ROOT, os.environ.get("INCREMENTAL_EXTENSION", "build/release/incremental.duckdb_extension")))
CONFIG = {"allow_unsigned_extensions": "true"}


def open_db(path):
    con = duckdb.connect(str(path), config=CONFIG)
    con.execute(f"LOAD '{EXTENSION}'")
    return con


def close(con):
    """Closes the database; the extension's watchdog lets go of it within 10 ms, so wait 20 times that."""
    con.close()
    del con
    gc.collect()
    time.sleep(0.2)


def in_other_process(path, sql):
    """Runs SQL on the file from a new process of this same duckdb version (file formats differ across versions)."""
    code = (
        "import duckdb, sys\n"
        "con = duckdb.connect(sys.argv[1], config={'allow_unsigned_extensions': 'true'})\n"
        "con.execute(f\"LOAD '{sys.argv[2]}'\")\n"
        "for stmt in sys.argv[3].split(';'):\n"
        "    print(*[v for row in con.execute(stmt).fetchall() for v in row])\n"
    )
    return subprocess.run([sys.executable, "-c", code, str(path), EXTENSION, sql], capture_output=True, text=True, timeout=60)


def run_with_timeout(fn, seconds=20):
    """Runs fn on a thread; a reopen that hangs on a held file lock fails the test instead of hanging it."""
    result = {}

    def target():
        try:
            result["value"] = fn()
        except Exception as e:  # reported below with the test's assertion
            result["error"] = e

    t = threading.Thread(target=target, daemon=True)
    t.start()
    t.join(seconds)
    assert not t.is_alive(), f"still blocked after {seconds}s: the database was not released"
    if "error" in result:
        raise result["error"]
    return result.get("value")


def test_reopen_in_same_process_and_in_another(tmp_path):
    path = tmp_path / "shop.duckdb"
    con = open_db(path)
    con.execute("CREATE TABLE orders AS SELECT i AS id, i % 5 AS grp FROM range(100) t(i)")
    con.execute("CALL incremental_create('by_grp', 'SELECT grp, count(*) AS n FROM orders GROUP BY grp', unique_key := 'grp')")
    assert con.execute("SELECT mode, rows_inserted FROM incremental_refresh('by_grp')").fetchall() == [("full", 5)]
    close(con)

    con = run_with_timeout(lambda: open_db(path))
    con.execute("INSERT INTO orders VALUES (1000, 7)")
    row = con.execute("SELECT mode, rows_inserted, rows_updated FROM incremental_refresh('by_grp')").fetchall()
    assert row == [("incremental", 1, 0)]
    assert con.execute("SELECT status, last_mode FROM incremental_models()").fetchall() == [("ok", "incremental")]
    close(con)

    out = run_with_timeout(lambda: in_other_process(path, "SELECT count(*) FROM by_grp; SELECT ok FROM incremental_verify('by_grp')"), 60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["6", "True"]


def test_database_released_without_any_refresh(tmp_path):
    path = tmp_path / "plain.duckdb"
    con = open_db(path)
    con.execute("CREATE TABLE t AS SELECT 1 AS a")
    close(con)
    out = run_with_timeout(lambda: in_other_process(path, "SELECT a FROM t"), 60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["1"]


def test_models_keep_working_in_a_copied_database_file(tmp_path):
    """A model lives in the database that holds its catalog, whatever the file is called now."""
    import shutil

    original = tmp_path / "base.duckdb"
    con = open_db(original)
    con.execute("CREATE TABLE orders AS SELECT i AS id, i % 5 AS grp FROM range(100) t(i)")
    con.execute("CALL incremental_create('by_grp', 'SELECT grp, count(*) AS n FROM orders GROUP BY grp', unique_key := 'grp')")
    con.execute("CALL incremental_refresh('by_grp')")
    close(con)
    copy = tmp_path / "copy.duckdb"
    shutil.copyfile(original, copy)

    con = run_with_timeout(lambda: open_db(copy))
    con.execute("INSERT INTO orders VALUES (1000, 9)")
    assert con.execute("SELECT mode, rows_inserted FROM incremental_refresh('by_grp')").fetchall() == [("incremental", 1)]
    assert con.execute("SELECT name, database FROM incremental_models()").fetchall() == [("by_grp", "copy")]
    # attached beside another default database, its query still reads its own tables
    close(con)
    con = duckdb.connect(config=CONFIG)
    con.execute(f"LOAD '{EXTENSION}'")
    con.execute(f"ATTACH '{copy}' AS shop")
    con.execute("CREATE TABLE orders AS SELECT 1 AS id, 1 AS grp")
    assert con.execute("SELECT mode FROM incremental_refresh('shop.main.by_grp')").fetchall() == [("incremental",)]
    assert con.execute("SELECT ok FROM incremental_verify('shop.main.by_grp')").fetchall() == [(True,)]
    assert con.execute("SELECT sum(n) FROM shop.by_grp").fetchone() == (101,)
    close(con)
