"""Runs the records of one test file against a host session and collects its outcome."""

import dataclasses
import os
import re
import shutil
import tempfile
import time
from dataclasses import dataclass

from slt_compare import check_query, check_statement
from slt_hosts import SessionLost
from slt_parse import (Halt, Load, Loop, Mode, ParseError, Query, Require, RequireEnv, Restart, Sleep, Statement,
                       parse)

VARIABLE = re.compile(r"\$\{(\w+)\}")
# `require` of this name without --extension skips the file instead of loading some installed copy.
PROJECT_EXTENSION = "incremental"


class _Skip(Exception):
    """The file needs something this host lacks."""


class _Stop(Exception):
    """Ends the file early: halt, a failure that leaves nothing to continue with, or a failure without --keep-going."""


@dataclass
class Outcome:
    status: str  # PASS, FAIL or SKIP
    details: list[str]  # failure reports, or the skip reason
    executed: int  # statement and query records run


def _indent(text):
    return "\n".join("    " + line for line in text.split("\n"))


def _sql_literal(text):
    return "'" + text.replace("'", "''") + "'"


class FileRun:
    def __init__(self, path, open_session, extension, keep_going, log):
        self.path = path
        self.open_session = open_session
        self.extension = extension  # absolute path or None
        self.extension_name = os.path.basename(extension).split(".")[0] if extension else PROJECT_EXTENSION
        self.keep_going = keep_going
        self.log = log
        self.session = None
        self.db_path = None  # None: in-memory
        self.read_only = False
        self.loads = []  # (line, LOAD statement) replayed on every (re)opened session
        self.skipping = False
        self.labels = {}
        self.failures = []
        self.executed = 0
        self.rec, self.env = None, {}  # the record being run and its loop variables, for reports

    def run(self):
        self.test_dir = tempfile.mkdtemp(prefix="slt-")
        try:
            with open(self.path, encoding="utf-8") as f:
                text = f.read().replace("__TEST_DIR__", self.test_dir)
            try:
                records = parse(text)
            except ParseError as e:
                return Outcome("FAIL", [f"parse error: {e}"], 0)
            try:
                self._run_records(records, {})
            except _Skip as skip:
                if not self.failures:
                    return Outcome("SKIP", [str(skip)], self.executed)
            except _Stop:
                pass
        finally:
            self._close()
            shutil.rmtree(self.test_dir, ignore_errors=True)
        return Outcome("FAIL" if self.failures else "PASS", self.failures, self.executed)

    def _fail(self, message, sql=None, fatal=False):
        """Records a failure of the current record; stops the file unless --keep-going lets it continue."""
        where = f"line {self.rec.line}: {self.rec.directive}"
        if self.env:
            where += " (" + ", ".join(f"{k}={v}" for k, v in self.env.items()) + ")"
        parts = [where] + (["SQL:\n" + _indent(sql)] if sql else []) + [message]
        self.failures.append("\n".join(parts))
        if fatal or not self.keep_going:
            raise _Stop()

    # Sessions -----------------------------------------------------------------------------------------

    def _open(self):
        try:
            self.session = self.open_session(self.db_path, self.read_only)
        except Exception as e:  # SessionLost from the CLI, or duckdb.connect()'s own error
            self._fail(f"cannot open {self.db_path or ':memory:'}: {e}", fatal=True)
        for load_line, sql in self.loads:
            error = self._run_sql(sql)
            if error is not None:
                self._fail(f"reloading the extension required at line {load_line} failed:\n{_indent(error)}",
                           sql, fatal=True)

    def _close(self):
        if self.session is not None:
            session, self.session = self.session, None
            session.close()

    def _call(self, sql, action):
        """Runs a host call, opening the session first if needed; a lost session ends the file."""
        if self.session is None:
            self._open()
        try:
            return action()
        except SessionLost as e:
            self._close()
            self._fail(f"host lost: {e}", sql, fatal=True)

    def _run_sql(self, sql):
        """Runs a statement; returns its error or None."""
        return self._call(sql, lambda: self.session.statement(sql))

    # Records ------------------------------------------------------------------------------------------

    def _run_records(self, records, env):
        for rec in records:
            if self.skipping and not (isinstance(rec, Mode) and rec.mode == "unskip"):
                continue
            self.rec, self.env = rec, env
            self.HANDLERS[type(rec)](self, rec, env)

    @staticmethod
    def _subst(text, env):
        return VARIABLE.sub(lambda m: env.get(m.group(1), m.group(0)), text)

    def _loop(self, rec, env):
        tokens = [self._subst(t, env) for t in rec.tokens]
        if rec.kind == "foreach":
            values = tokens
        else:
            try:
                values = range(int(tokens[0]), int(tokens[1]))
            except ValueError:
                self._fail(f"bad loop bounds {tokens}", fatal=True)
        for value in values:
            self._run_records(rec.body, {**env, rec.var: str(value)})

    def _statement(self, rec, env):
        sql = self._subst(rec.sql, env)
        self.log(f"line {rec.line}: {rec.directive}: {sql.splitlines()[0]}")
        error = self._run_sql(sql)
        self.executed += 1
        message = rec.message and self._subst(rec.message, env)
        problem = check_statement(dataclasses.replace(rec, message=message), error)
        if problem:
            self._fail(problem, sql)

    def _query(self, rec, env):
        rec = dataclasses.replace(
            rec, sql=self._subst(rec.sql, env),
            expected=None if rec.expected is None else [self._subst(line, env) for line in rec.expected])
        self.log(f"line {rec.line}: {rec.directive}: {rec.sql.splitlines()[0]}")
        result = self._call(rec.sql, lambda: self.session.query(rec.sql))
        self.executed += 1
        problem = check_query(rec, result, self.labels)
        if problem:
            self._fail(problem, rec.sql)

    def _require(self, rec, env):
        args = [self._subst(a, env) for a in rec.args]
        if len(args) != 1:
            raise _Skip(f"require {' '.join(args)}: not supported by this runner")
        name = args[0]
        if name == self.extension_name:
            # Never fall back to an installed copy of the project's extension: it could be stale.
            if self.extension is None:
                raise _Skip(f"require {name}: no --extension given")
            sql = f"LOAD {_sql_literal(self.extension)}"
            error = self._run_sql(sql)
            if error is not None:
                self._fail(f"extension failed to load:\n{_indent(error)}", sql, fatal=True)
        else:
            # Only an extension that is already installed counts: turning off auto-install keeps LOAD from
            # trying to download it, so a test run never reaches for the network.
            sql = f"LOAD {_sql_literal(name)}"
            self._run_sql("SET autoinstall_known_extensions = false")
            error = self._run_sql(sql)
            self._run_sql("RESET autoinstall_known_extensions")
            if error is not None:
                raise _Skip(f"require {name}: {error.splitlines()[0]}")
        self.loads.append((rec.line, sql))

    def _requireenv(self, rec, env):
        value = os.environ.get(rec.name)
        if value is None:
            raise _Skip(f"{rec.directive}: {rec.name} is not set")
        if rec.value is not None and value != rec.value:
            raise _Skip(f"{rec.directive}: {rec.name} is {value!r}")

    def _load(self, rec, env):
        self._close()
        path = self._subst(rec.path, env) if rec.path else None
        # Relative paths live in the file's own temporary directory, so tests never write next to the sources.
        self.db_path = os.path.join(self.test_dir, path) if path else None
        self.read_only = rec.read_only
        self._open()

    def _restart(self, rec, env):
        self.log(f"line {rec.line}: restart")
        self._close()
        self._open()

    def _mode(self, rec, env):
        # Other modes (output_result, output_hash, debug...) only change what DuckDB's runner prints.
        if rec.mode in ("skip", "unskip"):
            self.skipping = rec.mode == "skip"

    def _halt(self, rec, env):
        raise _Stop()

    def _sleep(self, rec, env):
        time.sleep(rec.seconds)

    HANDLERS = {
        Statement: _statement, Query: _query, Loop: _loop, Require: _require, RequireEnv: _requireenv,
        Load: _load, Restart: _restart, Mode: _mode, Halt: _halt, Sleep: _sleep,
    }
