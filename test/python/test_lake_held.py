"""A refresh called directly on a model of a lake that workers keep fresh takes the model's claim as a worker does:
it waits while a worker holds the model, says who holds it since when once the wait runs out (changing nothing),
leaves the lease table alone on a lake whose workers never ran, and replaces the lease functions where workers of
another version made them."""
import re
import threading
import time

import pytest

import lakes

QUERY = "SELECT g, count(*) AS n FROM src GROUP BY g"


def make_model(pg, tmp_path, name):
    pg.createdb(name)
    con = lakes.open_lake("postgres", pg.dsn(name), tmp_path / "data")
    con.execute("USE lake")
    con.execute("CREATE TABLE src AS SELECT range AS id, range % 4 AS g FROM range(40)")
    con.execute(f"CALL incremental_create('m', {lakes.lit(QUERY)}, unique_key := 'g', sources := {{'src': 'snapshot'}})")
    return con


def counts(con):
    return con.execute("SELECT g, n FROM m ORDER BY g").fetchall()


def test_a_direct_refresh_on_a_lake_without_workers_creates_no_lease_table(pg, tmp_path):
    con = make_model(pg, tmp_path, "held_none")
    assert con.execute("SELECT mode FROM incremental_refresh('m')").fetchone() == ("full",)
    assert pg.psql("SELECT to_regclass('incremental_leases') IS NOT NULL", "held_none") == "f"
    con.close()


def test_a_direct_refresh_replaces_lease_functions_that_workers_of_another_version_left(pg, tmp_path):
    con = make_model(pg, tmp_path, "held_old")
    assert con.execute("SELECT model, mode FROM incremental_work(worker := 'w0')").fetchall()[0] == ("m", "full")
    # The lease table as a worker of another version left it: without the claim function this version calls.
    pg.psql("DROP FUNCTION incremental_take(text, text, double precision)", "held_old")
    con.close()
    lakes.wait_released()
    con = lakes.open_lake("postgres", pg.dsn("held_old"), tmp_path / "data")
    con.execute("USE lake")
    con.execute("INSERT INTO src VALUES (100, 1), (101, 9)")
    assert con.execute("SELECT mode, rows_inserted, rows_updated FROM incremental_refresh('m')").fetchall() == [
        ("incremental", 1, 1)]
    assert counts(con) == con.execute(f"SELECT g, n FROM ({QUERY}) ORDER BY g").fetchall()
    assert pg.psql("SELECT holder IS NULL FROM incremental_leases WHERE model = 'main.m'", "held_old") == "t"
    con.close()


def test_a_direct_refresh_waits_for_the_worker_that_holds_the_model_and_names_it_when_the_wait_runs_out(pg, tmp_path):
    con = make_model(pg, tmp_path, "held_lake")
    # A worker builds the model, which leaves the lease table and the model's row in it.
    assert con.execute("SELECT model, mode FROM incremental_work(worker := 'w0')").fetchall()[0] == ("m", "full")
    before = counts(con)
    con.execute("INSERT INTO src VALUES (100, 1), (101, 9)")
    pg.psql("UPDATE incremental_leases SET holder = 'w7#0123abcd-3', since = now(), expires = now() + interval '1 hour' "
            "WHERE model = 'main.m'", "held_lake")

    with pytest.raises(Exception) as e:
        con.execute("CALL incremental_refresh('m', wait_seconds := 0)")
    message = str(e.value)
    assert re.fullmatch(
        r"Invalid Input Error: incremental: model m was not refreshed: worker w7 has been refreshing it "
        r"since \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC, and it was still at it after a wait of 0\.\d s; nothing was "
        r"changed\. Call incremental_refresh again once that refresh is done, or pass wait_seconds := N to wait longer",
        message), message
    assert counts(con) == before
    assert con.execute("SELECT mode FROM incremental_history(name := 'm') ORDER BY run_id DESC LIMIT 1").fetchone() == (
        "failed",)
    # The holder's claim stands.
    assert pg.psql("SELECT holder FROM incremental_leases WHERE model = 'main.m'", "held_lake") == "w7#0123abcd-3"

    # Let go of the claim while the refresh waits: the refresh then takes it, refreshes and releases it.
    released = {}

    def release():
        time.sleep(1.0)
        released["at"] = pg.psql("UPDATE incremental_leases SET holder = NULL, since = NULL, expires = NULL "
                                 "WHERE model = 'main.m' RETURNING (extract(epoch FROM now()) * 1e6)::bigint",
                                 "held_lake")

    t = threading.Thread(target=release)
    t.start()
    row = con.execute("SELECT mode, rows_inserted, rows_updated FROM incremental_refresh('m', wait_seconds := 60)").fetchone()
    t.join()
    assert row == ("incremental", 1, 1)
    assert counts(con) == con.execute(f"{QUERY} ORDER BY g").fetchall()
    holder, done = pg.psql("SELECT coalesce(holder, ''), (extract(epoch FROM last_done) * 1e6)::bigint "
                           "FROM incremental_leases WHERE model = 'main.m'", "held_lake").split("|")
    assert holder == ""
    # The refresh finished after the release, under a claim of its own, released as done.
    assert int(done) > int(released["at"])
    con.close()

