"""What one process remembers of a lake's models between reads of all of them (`incremental_models()`, a worker's
passes) follows every commit other processes make: refreshes, new, redefined and dropped models, source changes,
a catalog table altered and snapshots expired before they were read. Each answer is compared with the answer of a
process that loads the extension afresh and so remembers nothing. Other DuckDB instances here stand for other
processes."""

import pytest

import lakes

pytestmark = pytest.mark.skipif(lakes.lake_host_missing() is not None, reason=str(lakes.lake_host_missing()))

# data_timestamp is left out: for a model with nothing pending it is the time of the call
COLUMNS = "name, query, status, watermark, CAST(last_refresh_at AS VARCHAR), last_mode, pending_rebuild, due, needs_snapshot"


@pytest.fixture
def lake(pg, tmp_path):
    return lakes.empty_lake("postgres", tmp_path, pg)


def models(con):
    return con.execute(f"SELECT {COLUMNS} FROM incremental_models() ORDER BY name").fetchall()


def agrees(remembering, lake):
    """The remembering process's answer, checked against a process that remembers nothing."""
    seen = models(remembering)
    fresh = lakes.open_lake(*lake)
    try:
        assert seen == models(fresh)
    finally:
        fresh.close()
    return {row[0]: row for row in seen}


def test_a_remembered_read_follows_other_processes_commits(lake):
    con = lakes.open_lake(*lake)
    other = lakes.open_lake(*lake)
    try:
        other.execute("CREATE TABLE lake.main.ev AS SELECT i AS id, i % 7 AS g, i AS v FROM range(500) t(i)")
        other.execute("CREATE TABLE lake.main.dim AS SELECT 1 AS x")
        other.execute("CALL incremental_create('lake.main.m', 'SELECT g, count(*) AS n FROM lake.main.ev GROUP BY g')")
        seen = agrees(con, lake)
        assert seen["m"][2] == "defined"

        other.execute("CALL incremental_refresh('lake.main.m')")
        seen = agrees(con, lake)
        assert seen["m"][5] == "full" and seen["m"][7] is False and seen["m"][6] is None

        # a source change makes the model due; an unrelated commit leaves it as it was
        other.execute("INSERT INTO lake.main.ev VALUES (1000, 3, 5)")
        assert agrees(con, lake)["m"][7] is True
        other.execute("INSERT INTO lake.main.dim VALUES (2)")
        assert agrees(con, lake)["m"][7] is True
        other.execute("CALL incremental_refresh('lake.main.m')")
        seen = agrees(con, lake)
        assert seen["m"][5] == "incremental" and seen["m"][7] is False

        # a new model, a redefinition and a drop
        other.execute("CALL incremental_create('lake.main.n', 'SELECT id, v FROM lake.main.ev WHERE v > 10')")
        assert set(agrees(con, lake)) == {"m", "n"}
        other.execute("CALL incremental_create('lake.main.m', 'SELECT g, sum(v) AS s FROM lake.main.ev GROUP BY g', "
                      "replace := true)")
        seen = agrees(con, lake)
        assert "sum(v)" in seen["m"][1] and seen["m"][6] is not None
        other.execute("CALL incremental_drop('lake.main.n')")
        assert set(agrees(con, lake)) == {"m"}

        # a failed refresh's status, written by the other process
        other.execute("CALL incremental_refresh('lake.main.m')")
        other.execute("ALTER TABLE lake.main.ev RENAME COLUMN v TO w")
        with pytest.raises(lakes.duckdb.Error):
            other.execute("CALL incremental_refresh('lake.main.m')")
        assert agrees(con, lake)["m"][2] == "failed"
        other.execute("ALTER TABLE lake.main.ev RENAME COLUMN w TO v")
        other.execute("CALL incremental_refresh('lake.main.m')")
        assert agrees(con, lake)["m"][2] == "ok"

        # snapshots expired before this process read them: it cannot tell what they touched, so it reads again
        other.execute("INSERT INTO lake.main.ev VALUES (1001, 4, 6)")
        other.execute("CALL incremental_refresh('lake.main.m')")
        current = other.execute("SELECT id FROM lake.current_snapshot()").fetchone()[0]
        expirable = [r[0] for r in other.execute(
            "SELECT snapshot_id FROM lake.snapshots() WHERE snapshot_id < ? ORDER BY 1", [current]).fetchall()]
        needed = agrees(con, lake)["m"][8]
        listed = ", ".join(str(s) for s in expirable if s != needed)
        other.execute(f"SELECT count(*) FROM ducklake_expire_snapshots('lake', versions => [{listed}])").fetchall()
        other.execute("INSERT INTO lake.main.ev VALUES (1002, 5, 7)")
        other.execute("CALL incremental_refresh('lake.main.m')")
        agrees(con, lake)

        # a source dropped, then created again under its name: another table to the feed
        other.execute("DROP TABLE lake.main.ev")
        assert "not a table of an attached DuckLake" in agrees(con, lake)["m"][6]
        other.execute("CREATE TABLE lake.main.ev AS SELECT i AS id, i % 5 AS g, i AS v FROM range(50) t(i)")
        assert agrees(con, lake)["m"][7] is True
    finally:
        con.close()
        other.close()
