"""The hostile-input test's database: a few user tables, a view, a schema and a built model, and the snapshots that
show whether a call changed any of them."""

import re
import shutil

import duckdb

SETUP = """
CREATE TABLE important AS SELECT range AS id, 'row ' || range AS v FROM range(5);
CREATE TABLE orders AS SELECT range AS order_id, DATE '2024-01-01' + CAST(range % 4 AS INTEGER) AS order_date,
  range * 10 AS amount, TIMESTAMP '2024-01-01' + INTERVAL (range) HOUR AS updated_at,
  CASE WHEN range % 2 = 0 THEN 'eu' ELSE 'us' END AS region FROM range(12);
CREATE TABLE products AS SELECT range AS product_id, 'p' || range AS name FROM range(4);
CREATE SCHEMA s;
CREATE TABLE s.t AS SELECT range AS k FROM range(3);
CREATE VIEW v_orders AS SELECT order_id, amount FROM orders;
CALL incremental_create('m0', 'SELECT order_date, sum(amount) AS revenue FROM orders GROUP BY order_date',
  unique_key := 'order_date', time_column := 'order_date', lookback := INTERVAL '1 day');
CALL incremental_refresh('m0');
"""

# What DuckDB puts before the extension's text ("Invalid Input Error: ", "Binder Error: ", ...).
PREFIX = re.compile(r"^[A-Za-z ]+ Error: ")


def connect(extension, path):
    con = duckdb.connect(str(path), config={"allow_unsigned_extensions": "true"})
    con.execute(f"LOAD '{extension}'")
    return con


def make_template(extension, path):
    """Builds the user's objects once, in a file each case copies (cheaper than building them per case)."""
    con = connect(extension, path)
    con.execute(SETUP)
    con.execute("CHECKPOINT")
    con.close()


def open_db(extension, template, path):
    """A new database file, a copy of the template, with the extension loaded."""
    shutil.copyfile(template, path)
    return connect(extension, path)


def message(error):
    """The error text after DuckDB's prefix."""
    return PREFIX.sub("", str(error), count=1)


def relations(con):
    """Every table outside `_incremental` with a content hash, and every view with its definition (a view is not
    read: one may call a function with effects)."""
    tables = con.execute(
        "SELECT database_name, schema_name, table_name FROM duckdb_tables() "
        "WHERE schema_name <> '_incremental' AND NOT temporary ORDER BY ALL"
    ).fetchall()
    out = {}
    for db, schema, table in tables:
        name = ".".join('"' + p.replace('"', '""') + '"' for p in (db, schema, table))
        out[name] = con.execute(
            f"SELECT count(*), md5(coalesce(string_agg(CAST(t AS VARCHAR), '|' ORDER BY CAST(t AS VARCHAR)), '')) "
            f"FROM {name} AS t"
        ).fetchone() + tuple(
            con.execute(
                "SELECT list(column_name || ' ' || data_type ORDER BY column_index) FROM duckdb_columns() "
                "WHERE database_name = ? AND schema_name = ? AND table_name = ?",
                [db, schema, table],
            ).fetchone()
        )
    for db, schema, view, sql in con.execute(
        "SELECT database_name, schema_name, view_name, sql FROM duckdb_views() WHERE NOT internal ORDER BY ALL"
    ).fetchall():
        out[f"view {db}.{schema}.{view}"] = sql
    return out


def catalog(con):
    """The models with their definitions and watermarks, the extension's own tables, and the number of past runs."""
    models = con.execute(
        "SELECT name, database, query, strategy, strategy_reason, unique_key, time_column, lookback, start, watermark, "
        "pending_rebuild FROM incremental_models() ORDER BY ALL"
    ).fetchall()
    own = con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE schema_name = '_incremental' ORDER BY ALL"
    ).fetchall()
    return {"models": models, "own tables": own}


def runs(con):
    """Status and history: what a failed refresh is allowed to write."""
    return {
        "status": con.execute("SELECT name, status, last_mode FROM incremental_models() ORDER BY ALL").fetchall(),
        "history": con.execute("SELECT count(*) FROM incremental_history()").fetchone()[0],
    }
