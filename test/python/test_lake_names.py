"""A refresh in a process that remembers a lake's names (after `incremental_models()` or a worker's pass) takes its
lookups of the model's table, its sources and the catalog's kept tables from them while no snapshot since changed
a name. Each step below commits in another process, then refreshes in the remembering one, and compares every
model with its query: data changes go through the remembered names, while a source dropped and created again, a
column added, a table renamed, or a model created that keeps a change log make the refresh look the names up again."""

import pytest

import lakes

pytestmark = pytest.mark.skipif(lakes.lake_host_missing() is not None, reason=str(lakes.lake_host_missing()))

QUERIES = {
    "by_g": "SELECT g, count(*) AS n, sum(v) AS s FROM lake.main.ev GROUP BY g",
    "big": "SELECT g, n FROM lake.main.by_g WHERE n > 3",
}


@pytest.fixture
def lake(pg, tmp_path):
    return lakes.empty_lake("postgres", tmp_path, pg)


def differing(con, model):
    table, query = f"lake.main.{model}", QUERIES[model]
    return con.execute(f"SELECT count(*) FROM ((SELECT * FROM {table} EXCEPT ALL ({query})) UNION ALL "
                       f"(({query}) EXCEPT ALL SELECT * FROM {table}))").fetchone()[0]


def refresh(con, model):
    """Refreshes after a read of all models, so that the refresh starts from what that read remembered."""
    con.execute("SELECT count(*) FROM incremental_models()").fetchall()
    row = con.execute(f"SELECT mode, reason FROM incremental_refresh('lake.main.{model}')").fetchone()
    assert differing(con, model) == 0, (model, row)
    return row


def test_refreshes_from_remembered_names_follow_other_processes(lake):
    con = lakes.open_lake(*lake)
    other = lakes.open_lake(*lake)
    try:
        other.execute("CREATE TABLE lake.main.ev AS SELECT i AS id, i % 7 AS g, i AS v FROM range(500) t(i)")
        other.execute(f"CALL incremental_create('lake.main.by_g', {lakes.lit(QUERIES['by_g'])})")
        assert refresh(con, "by_g")[0] == "full"

        other.execute("INSERT INTO lake.main.ev SELECT i, i % 3, 1 FROM range(500, 520) t(i)")
        assert refresh(con, "by_g")[0] == "incremental"
        other.execute("DELETE FROM lake.main.ev WHERE g = 2")
        other.execute("UPDATE lake.main.ev SET g = 9 WHERE id < 20")
        assert refresh(con, "by_g")[0] == "incremental"

        # a model that reads by_g keeps a change log of it in the catalog schema: by_g's next refresh must find it
        other.execute(f"CALL incremental_create('lake.main.big', {lakes.lit(QUERIES['big'])}, unique_key := 'g', "
                      "sources := {'lake.main.by_g': 'changes'})")
        refresh(con, "big")
        for _ in range(3):
            other.execute("INSERT INTO lake.main.ev SELECT i, i % 11, 2 FROM range(1000, 1040) t(i)")
            other.execute("DELETE FROM lake.main.ev WHERE id % 13 = 0 AND id > 400")
            assert refresh(con, "by_g")[0] == "incremental"
            mode, reason = refresh(con, "big")
            assert mode == "incremental", reason

        # a column added to the source, then the source dropped and created again under its name
        other.execute("ALTER TABLE lake.main.ev ADD COLUMN extra INTEGER")
        other.execute("INSERT INTO lake.main.ev VALUES (2000, 1, 5, 7)")
        refresh(con, "by_g")
        other.execute("DROP TABLE lake.main.ev")
        other.execute("CREATE TABLE lake.main.ev AS SELECT i AS id, i % 4 AS g, 3 AS v FROM range(60) t(i)")
        mode, reason = refresh(con, "by_g")
        assert mode == "full" and "created again" in reason, reason
        refresh(con, "big")

        # the source renamed away and another table renamed to its name
        other.execute("ALTER TABLE lake.main.ev RENAME TO ev_old")
        other.execute("CREATE TABLE lake.main.ev2 AS SELECT i AS id, i % 5 AS g, 4 AS v FROM range(30) t(i)")
        other.execute("ALTER TABLE lake.main.ev2 RENAME TO ev")
        mode, _ = refresh(con, "by_g")
        assert mode == "full"
        refresh(con, "big")
    finally:
        con.close()
        other.close()
