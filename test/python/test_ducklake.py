"""Models whose sources and tables live in a DuckLake catalog (the signed ducklake extension loads into duckdb 1.5.5)."""
import gc
import os
import time

import duckdb
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXTENSION = os.path.abspath(os.path.join(ROOT, os.environ.get("INCREMENTAL_EXTENSION", "build/release/incremental.duckdb_extension")))

ducklake_package = pytest.importorskip("duckdb_extension_ducklake", reason="the ducklake extension package ships for duckdb 1.5.5 only")


def ducklake_file():
    folder = os.path.join(os.path.dirname(ducklake_package.__file__), "extensions", duckdb.__version__ if duckdb.__version__.startswith("v") else "v" + duckdb.__version__)
    return os.path.join(folder, "ducklake.duckdb_extension")


def open_lake(tmp_path):
    con = duckdb.connect(config={"allow_unsigned_extensions": "true"})
    con.execute(f"LOAD '{ducklake_file()}'")
    con.execute(f"LOAD '{EXTENSION}'")
    con.execute(f"ATTACH 'ducklake:{tmp_path / 'meta.ducklake'}' AS lake (DATA_PATH '{tmp_path / 'data'}')")
    con.execute("USE lake")
    return con


def test_models_in_ducklake_refresh_incrementally_and_persist(tmp_path):
    con = open_lake(tmp_path)
    con.execute("CREATE TABLE orders AS SELECT i AS id, DATE '2024-01-01' + (i % 10)::INT AS day, (i % 7)::DECIMAL(10, 2) AS amt FROM range(1000) t(i)")
    created = con.execute(
        "SELECT database, strategy FROM incremental_create('daily', 'SELECT day, sum(amt) AS total FROM orders GROUP BY day', "
        "unique_key := 'day', time_column := 'day', lookback := INTERVAL '2 days', strategy := 'delete+insert')"
    ).fetchall()
    assert created == [("lake", "delete+insert")]
    assert con.execute("SELECT mode, rows_inserted FROM incremental_refresh('daily')").fetchall() == [("full", 10)]
    con.execute("INSERT INTO orders VALUES (5000, DATE '2024-01-10', 3), (5001, DATE '2024-01-11', 4)")
    got = con.execute("SELECT mode, rows_inserted, rows_updated, rows_deleted, watermark_after FROM incremental_refresh('daily')").fetchall()
    assert got == [("incremental", 1, 1, 0, "2024-01-11")]
    assert con.execute("SELECT ok FROM incremental_verify('daily')").fetchall() == [(True,)]

    con.execute("CALL incremental_create('orders_copy', 'SELECT id, day, amt FROM orders', unique_key := 'id')")
    con.execute("CALL incremental_refresh('orders_copy')")
    con.execute("UPDATE orders SET amt = 99 WHERE id < 5")
    got = con.execute("SELECT rows_inserted, rows_updated, rows_deleted FROM incremental_refresh('orders_copy')").fetchall()
    assert got == [(0, 5, 0)]
    full = con.execute("SELECT mode, rows_inserted, rows_updated, rows_deleted FROM incremental_refresh('orders_copy', full_refresh := true)").fetchall()
    assert full == [("full", 0, 0, 0)]
    con.close()
    del con
    gc.collect()
    time.sleep(0.2)  # the extension lets go of a closed database within 10 ms of its last use

    con = open_lake(tmp_path)
    models = con.execute("SELECT name, database, watermark, status FROM incremental_models() ORDER BY name").fetchall()
    # orders_copy reads a DuckLake table with nothing declared: its mark is the lake snapshot it read last
    snapshot = con.execute("SELECT needs_snapshot FROM incremental_models() WHERE name = 'orders_copy'").fetchone()[0]
    assert models == [("daily", "lake", "2024-01-11", "ok"), ("orders_copy", "lake", f'{{"orders":"{snapshot}"}}', "ok")]
    assert con.execute("SELECT rows_inserted, rows_updated, rows_deleted FROM incremental_refresh('daily')").fetchall() == [(0, 0, 0)]


def test_ducklake_source_dropped_and_created_again_is_seen_after_reopening(tmp_path):
    # DuckLake gives a table a new oid at every ALTER and every reopen; its table_uuid tells a table created again.
    con = open_lake(tmp_path)
    con.execute("CREATE TABLE ev AS SELECT i AS k, i * 10 AS v, i AS ts FROM range(1, 4) t(i)")
    con.execute("CALL incremental_create('latest', 'SELECT k, max(v) AS v FROM ev GROUP BY k', unique_key := 'k', sources := {'ev': 'ts'})")
    assert con.execute("SELECT mode FROM incremental_refresh('latest')").fetchall() == [("full",)]
    con.execute("ALTER TABLE ev ADD COLUMN note VARCHAR")
    con.execute("INSERT INTO ev VALUES (4, 40, 4, 'x')")
    assert con.execute("SELECT mode, rows_inserted FROM incremental_refresh('latest')").fetchall() == [("incremental", 1)]
    con.close()
    del con
    gc.collect()
    time.sleep(0.2)

    con = open_lake(tmp_path)
    assert con.execute("SELECT mode FROM incremental_refresh('latest')").fetchall() == [("noop",)]
    con.execute("DROP TABLE ev")
    con.execute("CREATE TABLE ev AS SELECT 1::BIGINT AS k, 11::BIGINT AS v, 1::BIGINT AS ts, 'y' AS note")
    con.close()
    del con
    gc.collect()
    time.sleep(0.2)

    con = open_lake(tmp_path)
    got = con.execute("SELECT mode, reason, rows_deleted FROM incremental_refresh('latest')").fetchall()
    assert got == [("full", "source ev changed since the last refresh: it was dropped and created again, so the model is rebuilt", 3)]
    assert con.execute("SELECT ok FROM incremental_verify('latest')").fetchall() == [(True,)]
    con.close()


def test_the_cost_of_insertions_into_files_is_counted_from_the_files(tmp_path):
    """An insert-only range whose rows all went to data files is measured from the files' record counts; inlined
    insertions (a lake that inlines small inserts) are counted from the rows. Either way the share decides the
    same: a batch above incremental_full_fraction rebuilds, one below refreshes by key, and the model equals its
    query after each."""
    con = open_lake(tmp_path)
    con.execute("CREATE TABLE ev AS SELECT i AS id, i % 50 AS g FROM range(200000) t(i)")
    con.execute("CALL incremental_create('by_g', 'SELECT g, count(*) AS n FROM ev GROUP BY g')")
    con.execute("CALL incremental_refresh('by_g')")
    con.execute("SET incremental_full_fraction = 0.3")

    def refresh():
        mode, reason = con.execute("SELECT mode, reason FROM incremental_refresh('by_g')").fetchone()
        diff = con.execute("SELECT count(*) FROM ((SELECT * FROM by_g EXCEPT ALL SELECT g, count(*) FROM ev GROUP BY g) "
                           "UNION ALL (SELECT g, count(*) FROM ev GROUP BY g EXCEPT ALL SELECT * FROM by_g))").fetchone()[0]
        assert diff == 0, reason
        return mode, reason

    con.execute("INSERT INTO ev SELECT i, i % 50 FROM range(200000, 320000) t(i)")
    assert refresh() == ("full", "37.5% of a source's rows changed, more than incremental_full_fraction (30.0%), so a full rebuild is cheaper")
    con.execute("INSERT INTO ev SELECT i, i % 7 FROM range(320000, 330000) t(i)")
    con.execute("INSERT INTO ev SELECT i, i % 9 FROM range(330000, 335000) t(i)")
    assert refresh()[0] == "incremental"
    con.execute("CALL lake.set_option('data_inlining_row_limit', 1000)")
    con.execute("INSERT INTO ev SELECT i, i % 3 FROM range(335000, 335500) t(i)")
    assert refresh()[0] == "incremental"
    con.close()
