"""DuckDB hosts for the runner: the in-process python module and a persistent CLI process."""

import gc
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass

# The CLI prints rows in list mode with these separators; control characters keep values that contain
# newlines, tabs, commas or quotes intact (a value containing one of these two would be mis-split).
COL_SEP = "\x1f"
ROW_SEP = "\x1e"
# Applies to both hosts: every value is rendered by DuckDB's own CAST(... AS VARCHAR), NULL as the text NULL.
CAST_ALL = "CAST(COLUMNS(*) AS VARCHAR)"


class SessionLost(Exception):
    """The host can no longer be used (process died or hung); the rest of the test file cannot run."""


@dataclass
class Result:
    error: str | None
    ncols: int | None  # None when the host cannot tell (no result set, or no rows from the CLI)
    rows: list[list[str]]


class PythonSession:
    """One duckdb.connect() connection in this interpreter."""

    def __init__(self, db_path, read_only):
        # Imported here so that the CLI host runs under interpreters without the duckdb module.
        import duckdb

        self._duckdb = duckdb
        kwargs = {"read_only": True} if read_only else {}
        self.con = duckdb.connect(db_path or ":memory:", config={"allow_unsigned_extensions": "true"}, **kwargs)

    def query(self, sql):
        # con.sql() + a VARCHAR projection lets DuckDB render values (fetching TIMESTAMPTZ as Python objects
        # would need pytz, and nested types have quoting rules that are easy to get subtly wrong).
        # A SELECT relation is lazy and runs once, when the projection is fetched; other statements run
        # inside con.sql() and the projection reads their materialized result.
        try:
            rel = self.con.sql(sql)
            rows = [] if rel is None else rel.project(CAST_ALL).fetchall()
        except Exception as e:  # any failure, engine or binding layer, is the statement's error
            return Result(str(e), None, [])
        if rel is None or self._is_change_count(sql, rel):
            return Result(None, None, [])
        return Result(None, len(rel.columns), [["NULL" if v is None else v for v in row] for row in rows])

    def statement(self, sql):
        # Not con.execute(): it returns once the first rows are ready, so an error in a later chunk of a
        # SELECT would go unseen; fetching the whole result runs every statement to its end.
        return self.query(sql).error

    def _is_change_count(self, sql, rel):
        """True for the row-count result of INSERT/UPDATE/DELETE/CREATE...: duckdb 2.0 returns it from
        con.sql() while 1.5 returns None and the CLI prints nothing, so it is dropped for all hosts to agree."""
        if rel.columns != ["Count"] or [str(t) for t in rel.types] != ["BIGINT"]:
            return False
        last = self._duckdb.extract_statements(sql)[-1]
        return any(kind.name == "CHANGED_ROWS" for kind in last.expected_result_type)

    def close(self):
        self.con.close()
        # Dropping the last reference and collecting frees the DatabaseInstance, so the file is
        # checkpointed and unlocked before it is reopened.
        del self.con
        gc.collect()


class _PipeReader(threading.Thread):
    """Collects everything a pipe yields into a buffer guarded by a shared condition."""

    def __init__(self, stream, cond):
        super().__init__(daemon=True)
        self.stream, self.cond = stream, cond
        self.buf = bytearray()
        self.searched = 0  # bytes of buf already known not to start a marker, so big outputs are scanned once
        self.eof = False
        self.start()

    def run(self):
        while True:
            chunk = os.read(self.stream.fileno(), 65536)
            with self.cond:
                if not chunk:
                    self.eof = True
                    self.cond.notify_all()
                    return
                self.buf += chunk
                self.cond.notify_all()

    def take_until(self, marker):
        """Removes and returns the bytes before marker (and the marker), or None if it has not arrived."""
        at = self.buf.find(marker, self.searched)
        if at < 0:
            self.searched = max(0, len(self.buf) - len(marker) + 1)
            return None
        data = bytes(self.buf[:at])
        del self.buf[: at + len(marker)]
        self.searched = 0
        return data


class CliSession:
    """One long-lived `duckdb` CLI process, so that connection state survives between statements.

    Each statement is written to a file and run with `.read FILE`: the CLI executes a file's trailing
    incomplete statement at end of file (an unterminated quote becomes a parser error instead of swallowing
    the following input). After it, `.print TOKEN` marks the end of its output on stdout and the same
    `.print` redirected with `.output /dev/stderr` marks the end of its errors on stderr.
    """

    def __init__(self, cli, db_path, read_only, timeout):
        self.timeout = timeout
        self.workdir = tempfile.mkdtemp(prefix="slt-cli-")
        self.script = os.path.join(self.workdir, "statement.sql")
        self.token = f"__slt_{uuid.uuid4().hex}_"
        self.count = 0
        args = [cli, "-unsigned", "-batch", "-no-init", "-list", "-noheader", "-nullvalue", "NULL",
                "-separator", COL_SEP, "-newline", ROW_SEP]
        if read_only:
            args.append("-readonly")
        if db_path:
            args.append(db_path)
        # A session of its own makes the CLI a process group that _kill() can end whole: the pip `duckdb-cli`
        # launcher is a Python script that runs the real binary as a child, which killing the launcher would miss.
        self.proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     start_new_session=True)
        self.cond = threading.Condition()
        self.out = _PipeReader(self.proc.stdout, self.cond)
        self.err = _PipeReader(self.proc.stderr, self.cond)
        # A first empty exchange surfaces startup failures (bad path, locked file) and any banner output.
        try:
            _, startup_err = self._exchange(b"")
            if startup_err:
                raise SessionLost(f"CLI startup failed: {startup_err}")
        except SessionLost:
            self.close()
            raise

    def _exchange(self, command):
        self.count += 1
        token = f"{self.token}{self.count}__".encode()
        marker = token + b"\n"
        payload = command + b".print " + token + b"\n.output /dev/stderr\n.print " + token + b"\n.output\n"
        try:
            self.proc.stdin.write(payload)
            self.proc.stdin.flush()
        except BrokenPipeError:
            raise SessionLost(self._death_report()) from None
        deadline = time.monotonic() + self.timeout
        out = err = None
        ended = False
        with self.cond:
            while True:
                if out is None:
                    out = self.out.take_until(marker)
                if err is None:
                    err = self.err.take_until(marker)
                if out is not None and err is not None:
                    return out.decode("utf-8", "replace"), err.decode("utf-8", "replace").strip()
                ended = (out is None and self.out.eof) or (err is None and self.err.eof)
                remaining = deadline - time.monotonic()
                if ended or remaining <= 0:
                    break
                self.cond.wait(remaining)
        # Waiting for the process happens outside the lock, so the readers can keep draining its pipes.
        if ended:
            raise SessionLost(self._death_report())
        self._kill()
        raise SessionLost(f"CLI did not answer within {self.timeout}s (killed)")

    def _kill(self):
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait()

    def _death_report(self):
        try:
            code = self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            code = "unknown"
        with self.cond:
            tail = self.err.buf.decode("utf-8", "replace").strip()
        return f"CLI process exited (code {code})" + (f": {tail}" if tail else "")

    def query(self, sql):
        with open(self.script, "w", encoding="utf-8") as f:
            f.write(sql + "\n")
        quoted = self.script.replace("\\", "\\\\").replace('"', '\\"')
        out, err = self._exchange(f'.read "{quoted}"\n'.encode())
        if err:
            return Result(err, None, [])
        rows = out.split(ROW_SEP)
        if rows[-1] == "":
            rows.pop()
        rows = [row.split(COL_SEP) for row in rows]
        return Result(None, len(rows[0]) if rows else None, rows)

    def statement(self, sql):
        return self.query(sql).error

    def close(self):
        # Ending stdin makes the CLI exit normally, which checkpoints and unlocks a database file.
        try:
            self.proc.stdin.close()
        except BrokenPipeError:
            pass
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self._kill()
        self.out.join()
        self.err.join()
        shutil.rmtree(self.workdir, ignore_errors=True)


def session_factory(host, cli=None, timeout=300):
    """Returns open(db_path, read_only) -> session for the chosen host."""
    if host == "python":
        return PythonSession
    return lambda db_path, read_only: CliSession(cli, db_path, read_only, timeout)
