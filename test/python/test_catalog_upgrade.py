"""A database whose catalog has the previous layout (version 1: every model's state in `_incremental.models`, the
sources' shapes in two shared tables, a history without worker and finished_at, sources stored in their flat form)
opened with the current extension: it is upgraded in place, keeps its models, watermarks and history, and the next
refresh goes on incrementally from where the old catalog stopped.

The old catalog is made from one the current extension wrote, rewritten with plain SQL in a connection without the
extension, into exactly the tables and columns version 1 created."""
import gc
import json
import time

import duckdb

from conftest import open_loaded
from sqltext import lit, table_equals_query

MODELS = {
    "daily": ("SELECT day, count(*) AS n, sum(amount) AS total FROM events GROUP BY day",
              "unique_key := 'day', time_column := 'day', lookback := INTERVAL '1 day', strategy := 'delete+insert'"),
    "per_g": ("SELECT g, count(*) AS n, sum(amount) AS total FROM events GROUP BY g",
              "unique_key := 'g', sources := {'events': 'updated_at'}"),
    "per_label": ("SELECT d.label, count(*) AS n, sum(e.amount) AS total FROM events e JOIN dims d ON d.g = e.g "
                  "GROUP BY d.label", "unique_key := 'label', sources := {'events': 'updated_at', 'dims': 'snapshot'}"),
}
OLD_MODELS = ("schema_name VARCHAR, table_name VARCHAR, definition VARCHAR, built BOOLEAN, watermark VARCHAR, "
              "rebuild_reason VARCHAR, created_at TIMESTAMPTZ, updated_at TIMESTAMPTZ, last_refresh_at TIMESTAMPTZ, "
              "last_mode VARCHAR, status VARCHAR")


def released():
    gc.collect()
    time.sleep(0.2)  # the extension lets go of a closed database within 10 ms of its last use


def quoted(name):
    return '"' + name.replace('"', '""') + '"'


def flat_source(source):
    """A source in the form version 1 stored: its kind folded into `column`."""
    kind = source["kind"]
    if kind == "snapshot":
        return {"relation": source["relation"], "column": "snapshot", "type_name": None, "upstream": None}
    if "watermark" in kind:
        w = kind["watermark"]
        return {"relation": source["relation"], "column": w["column"], "type_name": w.get("type_name"), "upstream": None}
    if "changes" in kind:
        return {"relation": source["relation"], "column": "changes", "type_name": None,
                "upstream": kind["changes"].get("upstream")}
    raise AssertionError(f"no version 1 form for source {source}")


def identity_columns(identity):
    """(instance, database_oid, table_oid, lake_table_uuid) of a stored table identity."""
    if identity == "Unknown":
        return None, None, None, None
    if "Attached" in identity:
        a = identity["Attached"]
        return a["instance"], a["database_oid"], a["table_oid"], None
    if "Lake" in identity:
        return None, None, None, identity["Lake"]["table_uuid"]
    raise AssertionError(f"no version 1 form for table identity {identity}")


def to_version_1(con):
    """Rewrites the catalog of `con`'s database (opened without the extension) into the version 1 layout."""
    states = {}
    for (name,) in con.execute("SELECT table_name FROM duckdb_tables() WHERE schema_name = '_incremental' "
                               "AND table_name LIKE 'state of %'").fetchall():
        states[name] = con.execute(f'SELECT watermark, source_marks, source_shapes FROM _incremental.{quoted(name)}').fetchone()
    models = con.execute("SELECT schema_name, table_name, definition FROM _incremental.models").fetchall()
    assert len(states) == len(models) == len(MODELS), (states, models)
    con.execute(f"CREATE TABLE _incremental.models_v1 ({OLD_MODELS})")
    con.execute("CREATE TABLE _incremental.source_tables (schema_name VARCHAR, table_name VARCHAR, source VARCHAR, "
                "instance VARCHAR, database_oid BIGINT, table_oid BIGINT, lake_table_uuid UUID)")
    con.execute("CREATE TABLE _incremental.source_columns (schema_name VARCHAR, table_name VARCHAR, source VARCHAR, "
                "position INTEGER, column_name VARCHAR, column_type VARCHAR)")
    for schema, table, definition in models:
        (state_name,) = [n for n in states if n == f'state of "{schema}"."{table}"' or n == f"state of {schema}.{table}"]
        watermark, marks, shapes = states[state_name]
        d = json.loads(definition)
        d.pop("sources_inferred", None)
        d["sources"] = [flat_source(s) for s in d.get("sources", [])]
        marks = json.loads(marks) if marks else {}
        # version 1 kept the sources' marks, as a JSON object, where a time column's watermark goes
        shown = json.dumps(marks, separators=(",", ":"), sort_keys=True) if d["sources"] else watermark
        con.execute(f"INSERT INTO _incremental.models_v1 SELECT m.schema_name, m.table_name, ?, s.built, ?, "
                    f"s.rebuild_reason, m.created_at, m.updated_at, s.last_refresh_at, s.last_mode, s.status "
                    f'FROM _incremental.models m, _incremental.{quoted(state_name)} s '
                    f"WHERE m.schema_name = ? AND m.table_name = ?", [json.dumps(d), shown, schema, table])
        for shape in json.loads(shapes) if shapes else []:
            con.execute("INSERT INTO _incremental.source_tables VALUES (?, ?, ?, ?, ?, ?, ?)",
                        [schema, table, shape["relation"], *identity_columns(shape["identity"])])
            for position, column in enumerate(shape["columns"]):
                con.execute("INSERT INTO _incremental.source_columns VALUES (?, ?, ?, ?, ?, ?)",
                            [schema, table, shape["relation"], position, column["name"], column["type_name"]])
        con.execute(f"DROP TABLE _incremental.{quoted(state_name)}")
    con.execute("DROP TABLE _incremental.models")
    con.execute("ALTER TABLE _incremental.models_v1 RENAME TO models")
    con.execute("ALTER TABLE _incremental.history DROP COLUMN finished_at")
    con.execute("ALTER TABLE _incremental.history DROP COLUMN worker")
    con.execute("DROP TABLE _incremental.catalog_version")


def columns(con, table):
    return [r[0] for r in con.execute(
        "SELECT column_name FROM duckdb_columns() WHERE schema_name = '_incremental' AND table_name = ? "
        "ORDER BY column_index", [table]).fetchall()]


def change(con, at, first_day):
    """New rows from `first_day` on, updates in place of the day before it (within daily's lookback; an updated_at
    source sees only the rows as they are now, so they keep their group) and of the
    dimension."""
    con.execute(f"INSERT INTO events SELECT 1000 + i + {first_day} * 10, DATE '2024-01-01' + ({first_day} + i % 3)::INTEGER, "
                f"i % 6, i, TIMESTAMP '{at}' FROM range(7) t(i)")
    con.execute(f"UPDATE events SET amount = amount + 100, updated_at = TIMESTAMP '{at}' "
                f"WHERE id % 3 = 1 AND day >= DATE '2024-01-01' + {first_day - 1}")
    con.execute("UPDATE dims SET label = 'moved' || g WHERE g = 2")


def test_version_1_catalog_is_upgraded_and_refreshes_go_on(extension_path, tmp_path):
    path = str(tmp_path / "old.duckdb")
    con = open_loaded(extension_path, path)
    con.execute("CREATE TABLE events AS SELECT i AS id, DATE '2024-01-01' + (i % 8)::INTEGER AS day, "
                "(i % 5)::INTEGER AS g, (i * 7 % 23)::INTEGER AS amount, TIMESTAMP '2024-02-01' AS updated_at "
                "FROM range(200) t(i)")
    con.execute("CREATE TABLE dims AS SELECT i::INTEGER AS g, 'label ' || (i % 3) AS label FROM range(6) t(i)")
    for name, (query, options) in MODELS.items():
        con.execute(f"CALL incremental_create({lit(name)}, {lit(query)}, {options})")
    con.execute("CALL incremental_refresh_all()")
    change(con, "2024-02-02 00:00:00", 8)
    assert sorted(con.execute("SELECT model, mode FROM incremental_refresh_all()").fetchall()) == [
        (n, "incremental") for n in sorted(MODELS)]
    listed = ("SELECT name, database, query, strategy, strategy_reason, unique_key, time_column, lookback, watermark, "
              "last_mode, status, last_refresh_at::VARCHAR FROM incremental_models() ORDER BY name")
    before = con.execute(listed).fetchall()
    old_runs = con.execute("SELECT run_id, table_name, mode, watermark_after FROM _incremental.history "
                           "ORDER BY run_id").fetchall()
    assert len(old_runs) == 2 * len(MODELS)
    con.close()
    released()

    con = duckdb.connect(path)
    to_version_1(con)
    assert sorted(r[0] for r in con.execute("SELECT table_name FROM duckdb_tables() "
                                            "WHERE schema_name = '_incremental'").fetchall()) == sorted(
        ["models", "history", "source_tables", "source_columns", "snapshot of dims for main.per_label"])
    con.close()
    released()

    con = open_loaded(extension_path, path)
    assert con.execute(listed).fetchall() == before
    assert con.execute("SELECT version FROM _incremental.catalog_version").fetchall() == [(2,)]
    assert columns(con, "models") == ["schema_name", "table_name", "definition", "created_at", "updated_at"]
    assert columns(con, "history")[-2:] == ["finished_at", "worker"]
    tables = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables() "
                                        "WHERE schema_name = '_incremental'").fetchall()}
    assert not tables & {"source_tables", "source_columns"}, tables
    assert sum(t.startswith("state of ") for t in tables) == len(MODELS), tables

    # Nothing changed since the old catalog's last refresh: the sources' marks came through.
    noop = sorted(con.execute("SELECT model, mode FROM incremental_refresh_all()").fetchall())
    assert noop == [("daily", "incremental"), ("per_g", "noop"), ("per_label", "noop")], noop
    change(con, "2024-02-03 00:00:00", 11)
    got = {r[0]: r[1:] for r in con.execute(
        "SELECT model, mode, reason FROM incremental_refresh_all()").fetchall()}
    assert {n: g[0] for n, g in got.items()} == {n: "incremental" for n in MODELS}, got
    for name, (query, _) in MODELS.items():
        assert table_equals_query(con, name, query), f"{name} differs from its query after the upgrade"
        assert con.execute(f"SELECT ok FROM incremental_verify({lit(name)})").fetchone()[0], name

    runs = con.execute("SELECT run_id, table_name, mode, watermark_after, finished_at IS NULL, worker IS NULL "
                       "FROM _incremental.history ORDER BY run_id").fetchall()
    assert [r[:4] for r in runs[:len(old_runs)]] == old_runs
    assert all(r[4] and r[5] for r in runs[:len(old_runs)]), runs
    new_runs = runs[len(old_runs):]
    assert len(new_runs) >= len(MODELS) and not any(r[4] for r in new_runs), new_runs
    con.close()
