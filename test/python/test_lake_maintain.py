"""incremental_maintain on a DuckLake: snapshots are expired only below the oldest one a model reads its feed
from, so every model still refreshes incrementally and exactly afterwards; target_lag and freshness in
incremental_models()."""
import lakes


def models_equal_queries(con, names):
    for name in names:
        query = con.execute("SELECT query FROM incremental_models() WHERE name = ?", [name]).fetchone()[0]
        diff = con.execute(f"SELECT count(*) FROM ((FROM lake.{name} EXCEPT ALL {query}) UNION ALL ({query} EXCEPT ALL FROM lake.{name}))").fetchone()[0]
        assert diff == 0, f"{name} differs from its query in {diff} rows"


def test_maintain_keeps_what_models_read(tmp_path):
    lakes.skip_unless_lake_host()
    con = lakes.open_lake("duckdb", str(tmp_path / "meta.ducklake"), str(tmp_path / "data"))
    con.execute("USE lake")
    con.execute("CREATE TABLE orders AS SELECT i AS id, i % 5 AS cust, i * 1.5 AS amt FROM range(50) t(i)")
    con.execute("CREATE TABLE other (x INTEGER)")
    con.execute("CALL incremental_create('per_cust', 'SELECT cust, count(*) AS n, sum(amt) AS total FROM orders GROUP BY cust', target_lag := INTERVAL '1 hour')")
    con.execute("CALL incremental_refresh('per_cust')")
    needs = con.execute("SELECT needs_snapshot, due, lag_seconds, target_lag FROM incremental_models()").fetchone()
    assert needs[1:] == (False, 0.0, "01:00:00")
    for i in range(6):
        con.execute(f"INSERT INTO other VALUES ({i})")
    con.execute("UPDATE orders SET cust = 9 WHERE id < 3")
    due, lag = con.execute("SELECT due, lag_seconds FROM incremental_models()").fetchone()
    assert due is False and lag > 0, "a change inside the target lag is not due yet"
    kept, expired, merged = con.execute("SELECT kept_from_snapshot, snapshots_expired, files_merged FROM incremental_maintain('lake', older_than := INTERVAL '0 seconds')").fetchone()
    assert kept == needs[0] and expired > 0 and merged
    oldest = con.execute("SELECT min(snapshot_id) FROM lake.snapshots()").fetchone()[0]
    assert oldest == needs[0], "the snapshot the model reads from is kept, and nothing older"
    mode, updated, reason = con.execute("SELECT mode, rows_updated, reason FROM incremental_refresh('per_cust')").fetchone()
    assert mode == "incremental" and updated == 3, reason
    models_equal_queries(con, ["per_cust"])


def test_expired_snapshot_rebuilds_and_says_why(tmp_path):
    lakes.skip_unless_lake_host()
    con = lakes.open_lake("duckdb", str(tmp_path / "meta.ducklake"), str(tmp_path / "data"))
    con.execute("USE lake")
    con.execute("CREATE TABLE orders AS SELECT i AS id, i % 5 AS cust FROM range(20) t(i)")
    con.execute("CALL incremental_create('per_cust', 'SELECT cust, count(*) AS n FROM orders GROUP BY cust')")
    con.execute("CALL incremental_refresh('per_cust')")
    mark = con.execute("SELECT needs_snapshot FROM incremental_models()").fetchone()[0]
    con.execute("DELETE FROM orders WHERE cust = 1")
    con.execute(f"CALL ducklake_expire_snapshots('lake', versions => [{mark}])")
    mode, reason = con.execute("SELECT mode, reason FROM incremental_refresh('per_cust')").fetchone()
    assert mode == "full"
    assert reason == f"snapshot {mark} of the DuckLake, where the last refresh stopped reading orders, was expired, so the changes since are unknown and the model is rebuilt"
    models_equal_queries(con, ["per_cust"])
