"""Hostile and wrong input to every function of the extension: each case runs on a new database file holding user
tables, a view, a schema and a built model m0, and checks the whole error text (or the result, for input that is
legal), and that no user table, view or model changed beyond what the call may change. A case that shows a bug
names it and is reported as an expected failure until the bug is fixed (then it fails, to have the mark removed)."""

import re
import threading

import duckdb
import pytest

from hostile_cases import CASES, OK
from hostile_db import catalog, make_template, message, open_db, relations, runs

# A call that takes longer hangs: every case works on a handful of rows.
TIMEOUT = 30


def call(con, sql):
    """The call's rows, or the error it raised; a call that does not return is interrupted and fails the case."""
    done = {}

    def target():
        try:
            done["rows"] = con.execute(sql).fetchall()
        except Exception as e:  # any error is the case's outcome, checked by the caller
            done["error"] = e

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(TIMEOUT)
    if thread.is_alive():
        con.interrupt()
        thread.join(5)
        pytest.fail(f"{sql} did not return within {TIMEOUT}s")
    return done.get("rows"), done.get("error")


def table_key(table):
    return '"db"."main"."' + table.replace('"', '""') + '"'


def without(model_rows, name):
    return [row for row in model_rows if row[0] != name]


def check_outcome(c, rows, error):
    expect = c["expect"]
    if isinstance(expect, OK):
        assert error is None, f"expected success, got: {message(error)}"
        got = tuple(rows[0][: len(expect.row)]) if rows else ()
        assert len(got) == len(expect.row) and all(
            w.fullmatch(str(g)) if isinstance(w, re.Pattern) else g == w for g, w in zip(got, expect.row)
        ), f"first row {rows[:1]}"
        return
    assert error is not None, f"expected an error, got rows {rows}"
    got = message(error)
    if isinstance(expect, re.Pattern):
        assert expect.fullmatch(got), f"message {got!r} does not match {expect.pattern!r}"
    else:
        assert got == expect, f"message {got!r}"


def check_changes(c, before, after):
    (rel0, cat0, runs0), (rel1, cat1, runs1) = before, after
    kind = c["may"][0]
    if kind == "model":
        _, name, table = c["may"]
        rel0 = {k: v for k, v in rel0.items() if k != table_key(table)}
        rel1 = {k: v for k, v in rel1.items() if k != table_key(table)}
        cat0, cat1 = without(cat0["models"], name), without(cat1["models"], name)
    assert rel1 == rel0, "a user table or view changed"
    if kind in ("nothing", "runs"):
        assert cat1 == cat0, "the models or the extension's tables changed"
    else:
        assert cat1 == cat0, "a model other than the one called changed"
    if kind == "nothing":
        assert runs1 == runs0, "a model's status or history changed"


@pytest.fixture(scope="module")
def template(extension_path, tmp_path_factory):
    path = tmp_path_factory.mktemp("hostile") / "db.duckdb"
    make_template(extension_path, path)
    return path


@pytest.mark.parametrize("c", CASES, ids=[c["id"] for c in CASES])
def test_hostile(c, extension_path, template, tmp_path):
    # Template and copies are all named db.duckdb: the database is called db, as the messages say.
    con = open_db(extension_path, template, tmp_path / "db.duckdb")
    bug = c["bug"] if duckdb.__version__.startswith(c["bug_on"]) else None
    try:
        for statement in c["pre"]:
            con.execute(statement)
        before = (relations(con), catalog(con), runs(con))
        rows, error = call(con, c["call"])
        after = (relations(con), catalog(con), runs(con))
        try:
            check_changes(c, before, after)
            check_outcome(c, rows, error)
        except AssertionError:
            if bug:
                pytest.xfail(bug)
            raise
        if bug:
            pytest.fail(f"the bug no longer shows ({bug}): remove the case's bug and pin its result")
    finally:
        con.close()


def test_enough_cases():
    assert len(CASES) >= 80
