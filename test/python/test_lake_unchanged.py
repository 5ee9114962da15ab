"""A refresh of a DuckLake model whose last refresh found nothing to do, while the lake is still at that snapshot, is
answered from the snapshot id alone; any commit to the lake, by any process, sends the next refresh the whole way
again. Other DuckDB instances here stand for other processes: each loads the extension afresh and shares nothing
with this one but the lake."""

import pytest

import lakes
from sqltext import table_equals_query

pytestmark = pytest.mark.skipif(lakes.lake_host_missing() is not None, reason=str(lakes.lake_host_missing()))

QUERY = "SELECT g, count(*) AS n, sum(v) AS s FROM lake.main.ev GROUP BY g"
FAST = "nothing to read: lake lake is still at snapshot"


@pytest.fixture
def lake(pg, tmp_path):
    return lakes.empty_lake("postgres", tmp_path, pg)


def refresh(con, name="lake.main.m", **options):
    args = "".join(f", {k} := {v}" for k, v in options.items())
    return con.execute(f"SELECT mode, reason FROM incremental_refresh('{name}'{args})").fetchone()


def settle(con):
    """Refreshes until a no-op, then once more: the answer from the snapshot alone."""
    mode, reason = refresh(con)
    while mode != "noop":
        mode, reason = refresh(con)
    mode, reason = refresh(con)
    assert mode == "noop" and reason.startswith(FAST), reason
    assert table_equals_query(con, "lake.main.m", QUERY)


def test_any_commit_to_the_lake_ends_the_answer_from_the_snapshot(lake):
    con = lakes.open_lake(*lake)
    other = lakes.open_lake(*lake)
    try:
        con.execute("CREATE TABLE lake.main.ev AS SELECT i AS id, i % 7 AS g, i AS v FROM range(500) t(i)")
        con.execute(f"CALL incremental_create('lake.main.m', '{QUERY}')")
        assert refresh(con)[0] == "full"
        mode, reason = refresh(con)
        assert mode == "noop" and not reason.startswith(FAST), reason
        settle(con)

        # another process's insert, update and delete: the next refresh reads them through the feed
        other.execute("INSERT INTO lake.main.ev VALUES (1000, 3, 5), (1001, 9, 6)")
        other.execute("UPDATE lake.main.ev SET v = v + 1 WHERE id % 50 = 1")
        other.execute("DELETE FROM lake.main.ev WHERE id = 7")
        assert refresh(con)[0] == "incremental"
        assert table_equals_query(con, "lake.main.m", QUERY)
        settle(con)

        # a commit that touches another table: the whole way finds nothing, then the snapshot answers again
        other.execute("CREATE TABLE lake.main.unrelated AS SELECT 1 AS x")
        mode, reason = refresh(con)
        assert mode == "noop" and not reason.startswith(FAST), reason
        assert refresh(con)[1].startswith(FAST)

        # a forced full refresh is never answered from the snapshot
        assert refresh(con, full_refresh="true")[0] == "full"
        settle(con)

        # redefined by another process: the next refresh rebuilds with the new query
        other.execute("CALL incremental_create('lake.main.m', 'SELECT g, max(v) AS top FROM lake.main.ev GROUP BY g', "
                      "replace := true)")
        assert refresh(con)[0] == "full"
        assert table_equals_query(con, "lake.main.m", "SELECT g, max(v) AS top FROM lake.main.ev GROUP BY g")

        # dropped by another process: the refresh says so instead of answering from what it remembered
        refresh(con)
        assert refresh(con)[1].startswith(FAST)
        other.execute("CALL incremental_drop('lake.main.m')")
        with pytest.raises(Exception, match="model lake.main.m does not exist"):
            refresh(con)
    finally:
        other.close()
        con.close()


def test_another_lake_attached_under_the_same_name_is_asked_afresh(pg, lake, tmp_path):
    con = lakes.open_lake(*lake)
    try:
        con.execute("CREATE TABLE lake.main.ev AS SELECT i AS id, i % 7 AS g, i AS v FROM range(100) t(i)")
        con.execute(f"CALL incremental_create('lake.main.m', '{QUERY}')")
        settle(con)
        con.execute("DETACH lake")
        _, second, _ = lakes.empty_lake("postgres", tmp_path, pg)
        data = str(tmp_path / "second").rstrip("/") + "/"
        con.execute(f"ATTACH {lakes.lit(lakes.attach_target('postgres', second))} AS lake (DATA_PATH {lakes.lit(data)})")
        con.execute("CREATE TABLE lake.main.ev AS SELECT 1 AS id, 1 AS g, 1 AS v")
        with pytest.raises(Exception, match="model lake.main.m does not exist"):
            refresh(con)
    finally:
        con.close()
