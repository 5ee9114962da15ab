"""A process that loaded the extension leaves its database as plain DuckDB does when it exits: checkpointed, no
`.wal`, so a copy of the `.duckdb` file alone holds everything, and the file is free for the next process.

Each way of ending a job runs in a child process that exits right after its last statement: the CLI (`-c` and a
script on stdin, INCREMENTAL_CLI) and this python (`close()` then exit, exit without `close()`). Run the file with
each python host to cover both.
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest

CONFIG = "{'allow_unsigned_extensions': 'true'}"

# The job: a source and two models built, more rows and an incremental refresh, then a plain table written after LOAD.
JOB = [
    "CREATE TABLE src AS SELECT i AS id, i % 5 AS g FROM range(100) t(i)",
    "CALL incremental_create('by_grp', 'SELECT g, count(*) AS n, sum(id) AS s FROM src GROUP BY g', unique_key := 'g')",
    "CALL incremental_create('totals', 'SELECT count(*) AS n, max(id) AS top FROM src', strategy := 'full')",
    "CALL incremental_refresh_all()",
    "INSERT INTO src SELECT i, i % 7 FROM range(100, 150) t(i)",
    "CALL incremental_refresh('by_grp')",
    "CALL incremental_refresh('totals')",
    "CREATE TABLE plain AS SELECT i AS x, 'v' || i AS y FROM range(3) t(i)",
]

# What the copy must hold: each model equal to its query recomputed (both ways), the source and the plain table.
CHECK = """
SELECT
  (SELECT count(*) FROM src) AS src_rows,
  (SELECT count(*) FROM by_grp) AS by_grp_rows,
  (SELECT count(*) FROM (
     (SELECT g, n, s FROM by_grp EXCEPT ALL SELECT g, count(*), sum(id) FROM src GROUP BY g)
     UNION ALL
     (SELECT g, count(*), sum(id) FROM src GROUP BY g EXCEPT ALL SELECT g, n, s FROM by_grp))) AS by_grp_diff,
  (SELECT count(*) FROM (
     (SELECT n, top FROM totals EXCEPT ALL SELECT count(*), max(id) FROM src)
     UNION ALL
     (SELECT count(*), max(id) FROM src EXCEPT ALL SELECT n, top FROM totals))) AS totals_diff,
  (SELECT string_agg(x || ':' || y, ',' ORDER BY x) FROM plain) AS plain_rows,
  (SELECT string_agg(name || ':' || status, ',' ORDER BY name) FROM incremental_models()) AS models,
  (SELECT bool_and(ok) FROM (SELECT ok FROM incremental_verify('by_grp')
                             UNION ALL SELECT ok FROM incremental_verify('totals'))) AS verified
"""

EXPECTED = {
    "src_rows": 150,
    "by_grp_rows": 7,
    "by_grp_diff": 0,
    "totals_diff": 0,
    "plain_rows": "0:v0,1:v1,2:v2",
    "models": "by_grp:ok,totals:ok",
    "verified": True,
}

PY_JOB = """
import duckdb, sys
con = duckdb.connect(sys.argv[1], config=%s)
con.execute(f"LOAD '{sys.argv[2]}'")
for stmt in %r:
    con.execute(stmt)
if sys.argv[3] == 'close':
    con.close()
""" % (CONFIG, JOB)

PY_QUERY = """
import duckdb, json, sys
con = duckdb.connect(sys.argv[1], config=%s)
con.execute(f"LOAD '{sys.argv[2]}'")
cur = con.execute(sys.argv[3])
names = [d[0] for d in cur.description]
print(json.dumps([dict(zip(names, row)) for row in cur.fetchall()], default=str))
con.close()
""" % CONFIG


def run(cmd, **kw):
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=120, **kw)
    assert out.returncode == 0, f"{cmd[:3]} failed ({out.returncode}): {out.stderr}"
    return out


def job_sql(extension):
    return f"LOAD '{extension}';\n" + ";\n".join(JOB) + ";\n"


def query_cli(cli, extension, path, sql):
    out = run([cli, "-unsigned", "-json", str(path), "-c", f"LOAD '{extension}'", "-c", sql])
    return json.loads(out.stdout)


def query_py(extension, path, sql):
    return json.loads(run([sys.executable, "-c", PY_QUERY, str(path), extension, sql]).stdout)


def cli_dash_c(cli, extension, path):
    run([cli, "-unsigned", str(path), "-c", job_sql(extension)])


def cli_stdin(cli, extension, path):
    run([cli, "-unsigned", str(path)], input=job_sql(extension))


def py_close(cli, extension, path):
    run([sys.executable, "-c", PY_JOB, str(path), extension, "close"])


def py_no_close(cli, extension, path):
    run([sys.executable, "-c", PY_JOB, str(path), extension, "exit"])


WAYS = {
    "cli -c": (cli_dash_c, "cli"),
    "cli stdin": (cli_stdin, "cli"),
    "python close then exit": (py_close, "python"),
    "python exit without close": (py_no_close, "python"),
}


@pytest.fixture
def host(request, extension_path):
    """The job's host: the CLI (skipped without INCREMENTAL_CLI) or this python."""
    return request.getfixturevalue("cli_path") if WAYS[request.param][1] == "cli" else None


@pytest.mark.parametrize("host", list(WAYS), indirect=True)
@pytest.mark.parametrize("attempt", range(3))
def test_exit_leaves_a_checkpointed_file(tmp_path, extension_path, host, request, attempt):
    way, kind = WAYS[request.node.callspec.params["host"]]
    query = (lambda p, sql: query_cli(host, extension_path, p, sql)) if kind == "cli" else (
        lambda p, sql: query_py(extension_path, p, sql))
    original = tmp_path / "job.duckdb"
    way(host, extension_path, original)
    # right after the exit: no .wal, and the file is free for another process
    assert sorted(os.listdir(tmp_path)) == ["job.duckdb"]
    assert query(original, "SELECT count(*) AS n FROM plain") == [{"n": 3}]

    copy_dir = tmp_path / "copy"
    copy_dir.mkdir()
    copy = copy_dir / "backup.duckdb"
    shutil.copyfile(original, copy)
    assert query(copy, CHECK) == [EXPECTED]


# A refresh on another thread when the main thread ends: python waits for a plain thread, not for a daemon thread.
REFRESH_AT_EXIT = """
import duckdb, sys, threading, time
con = duckdb.connect(sys.argv[1], config=%s)
if sys.argv[2]:
    con.execute(f"LOAD '{sys.argv[2]}'")
con.execute("CREATE TABLE src AS SELECT i AS id, i %% 1000 AS g FROM range(%d) t(i)")
if sys.argv[2]:
    con.execute("CALL incremental_create('by_grp', 'SELECT g, count(*) AS n, sum(id) AS s FROM src GROUP BY g', unique_key := 'g')")
    work = "CALL incremental_refresh('by_grp')"
else:
    work = "CREATE TABLE by_grp AS SELECT g, count(*) AS n, sum(id) AS s FROM src GROUP BY g"
cur = con.cursor()
threading.Thread(target=lambda: cur.execute(work), daemon=sys.argv[3] == 'daemon').start()
time.sleep(0.3)
print('exiting', flush=True)
"""


def refresh_at_exit(path, extension, thread, rows):
    code = REFRESH_AT_EXIT % (CONFIG, rows)
    return subprocess.run([sys.executable, "-c", code, str(path), extension, thread], capture_output=True, text=True,
                          timeout=120)


def test_exit_after_a_refresh_on_another_thread(tmp_path, extension_path):
    """Python joins a plain thread before it shuts down, so the refresh finishes and the database is checkpointed."""
    path = tmp_path / "joined.duckdb"
    out = refresh_at_exit(path, extension_path, "plain", 3_000_000)
    assert out.returncode == 0, out.stderr
    assert sorted(os.listdir(tmp_path)) == ["joined.duckdb"]
    rows = query_py(extension_path, path, """
        SELECT (SELECT count(*) FROM by_grp) AS model_rows,
               (SELECT bool_and(ok) FROM incremental_verify('by_grp')) AS verified,
               (SELECT string_agg(mode, ',') FROM incremental_history(name := 'by_grp')) AS runs""")
    assert rows == [{"model_rows": 1000, "verified": True, "runs": "full"}]


def test_exit_during_a_refresh_on_a_daemon_thread(tmp_path, extension_path):
    """A refresh still running on a daemon thread at exit neither hangs the exit nor crashes it; the file opens
    afterwards, consistent. Python 3.11 stops a daemon thread whose DuckDB call returns during shutdown by unwinding
    it through C++ frames, which aborts ("terminate called without an active exception"); plain DuckDB does the same
    with a statement still running on a daemon thread at exit, so SIGABRT is the host's, any other signal a failure."""
    path = tmp_path / "busy.duckdb"
    out = refresh_at_exit(path, extension_path, "daemon", 20_000_000)
    assert out.stdout.split()[-1:] == ["exiting"]
    assert out.returncode in (0, -signal.SIGABRT), out.stderr
    rows = query_py(extension_path, path, """
        SELECT (SELECT count(*) FROM src) AS src_rows,
               (SELECT count(*) FROM duckdb_tables() WHERE table_name = 'by_grp') AS built,
               (SELECT string_agg(name, ',') FROM incremental_models()) AS models""")
    assert rows[0]["src_rows"] == 20_000_000 and rows[0]["models"] == "by_grp"
    if rows[0]["built"]:
        verified = query_py(extension_path, path, "SELECT bool_and(ok) AS ok FROM incremental_verify('by_grp')")
        assert verified == [{"ok": True}]
