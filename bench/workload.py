"""Benchmark workload: data generation SQL (history, next-day batch, sweep batch) and the models of every engine."""

START = "DATE '2025-01-01'"          # first day of history; history covers 365 days
NEXT_DAY = "DATE '2026-01-01'"       # the day of the next-day batch
NEXT_TS = "TIMESTAMP '2026-01-01'"
PRODUCTS = 1000
RENAMED_PRODUCT = 7
ENGINE_SCHEMA = {"full": "fullr", "hand": "hand", "ext": "main", "dbt": "dbt"}

# Money is DECIMAL so sums are exact and incremental results compare exactly with a full recomputation.
PRICE = "CAST(quantity * ((product_id * 37) % 9900 + 100) / 100.0 AS DECIMAL(12,2))"


def history_sql(rows):
    """Orders (an event log: version 1 when placed, a later version when shipped or refunded), customers, products."""
    n1 = max(1000, int(rows / 1.1))   # about 10% of orders get a second version
    customers = max(100, rows // 100)
    return f"""
CREATE TABLE products AS SELECT i::INTEGER AS product_id, 'product ' || i AS product_name,
  (['books','toys','food','garden','tools','music','sport','home'])[i % 8 + 1] AS category,
  TIMESTAMP '2025-01-01' AS updated_at FROM range(1, {PRODUCTS} + 1) t(i);
CREATE TABLE customers AS SELECT i::INTEGER AS customer_id, 'customer ' || i AS customer_name,
  (['north','south','east','west'])[i % 4 + 1] AS region FROM range(1, {customers} + 1) t(i);
CREATE TABLE orders AS
WITH v AS (
  SELECT i AS order_id, {START} + CAST(i * 365 // {n1} AS INTEGER) AS order_date,
    CAST(hash(i * 1000 + 3) % {customers} + 1 AS INTEGER) AS customer_id,
    CAST(1 + (hash(i * 1000 + 4) % {PRODUCTS}) * (hash(i * 1000 + 5) % {PRODUCTS}) // {PRODUCTS} AS INTEGER) AS product_id,
    CAST(1 + hash(i * 1000 + 6) % 5 AS INTEGER) AS quantity,
    CAST(order_date AS TIMESTAMP) + to_seconds(CAST(hash(i * 1000 + 2) % 86400 AS BIGINT)) AS placed_at
  FROM range({n1}) t(i)),
v1 AS (SELECT *, {PRICE} AS amount FROM v),
ev AS (
  SELECT order_id, 1 AS version, order_date, placed_at AS updated_at, customer_id, product_id, quantity, amount,
    'placed' AS status FROM v1
  UNION ALL
  SELECT order_id, 2, order_date, placed_at + to_days(CAST(1 + hash(order_id * 1000 + 8) % 13 AS INTEGER)), customer_id,
    product_id, quantity, CASE WHEN hash(order_id * 1000 + 9) % 4 = 0 THEN -amount ELSE 0 END,
    CASE WHEN hash(order_id * 1000 + 9) % 4 = 0 THEN 'refunded' ELSE 'shipped' END
  FROM v1 WHERE hash(order_id * 1000 + 7) % 10 = 0)
SELECT order_id, version, order_date, updated_at, customer_id, product_id, quantity,
  CAST(amount AS DECIMAL(12,2)) AS amount, status
FROM ev WHERE updated_at < {NEXT_TS} ORDER BY updated_at;
"""


def next_day_sql(rows):
    """One day of new data: new orders (10% of them late, dated up to 14 days back), new versions of about 5% of
    the last 14 days' orders, and a product rename."""
    day = max(10, int(rows / 1.1 / 365))
    customers = max(100, rows // 100)
    return f"""
INSERT INTO orders
WITH v AS (
  SELECT (SELECT max(order_id) FROM orders) + 1 + i AS order_id,
    CASE WHEN hash(i * 1000 + 21) % 10 = 0 THEN {NEXT_DAY} - CAST(1 + hash(i * 1000 + 22) % 14 AS INTEGER) ELSE {NEXT_DAY} END
      AS order_date,
    CAST(hash(i * 1000 + 23) % {customers} + 1 AS INTEGER) AS customer_id,
    CAST(1 + (hash(i * 1000 + 24) % {PRODUCTS}) * (hash(i * 1000 + 25) % {PRODUCTS}) // {PRODUCTS} AS INTEGER) AS product_id,
    CAST(1 + hash(i * 1000 + 26) % 5 AS INTEGER) AS quantity,
    {NEXT_TS} + to_seconds(CAST(hash(i * 1000 + 27) % 86400 AS BIGINT)) AS updated_at
  FROM range({day}) t(i))
SELECT order_id, 1, order_date, updated_at, customer_id, product_id, quantity, {PRICE}, 'placed' FROM v;
INSERT INTO orders
SELECT order_id, max(version) + 1, any_value(order_date), {NEXT_TS} + to_seconds(CAST(hash(order_id * 1000 + 28) % 86400 AS BIGINT)),
  any_value(customer_id), any_value(product_id), any_value(quantity),
  CASE WHEN hash(order_id * 1000 + 29) % 4 = 0 THEN -arg_min(amount, version) ELSE 0 END,
  CASE WHEN hash(order_id * 1000 + 29) % 4 = 0 THEN 'refunded' ELSE 'shipped' END
FROM orders WHERE order_date >= {NEXT_DAY} - 14 AND order_date < {NEXT_DAY} AND updated_at < {NEXT_TS}
  AND hash(order_id * 1000 + 30) % 20 = 0
GROUP BY order_id;
UPDATE products SET product_name = product_name || ' (renamed)', updated_at = {NEXT_TS} + INTERVAL 12 HOUR
WHERE product_id = {RENAMED_PRODUCT};
CHECKPOINT;
"""


def sweep_sql(fraction):
    """New versions of a fraction of all orders, spread over the whole history."""
    ppm = int(round(fraction * 1_000_000))
    return f"""
INSERT INTO orders SELECT order_id, 3, order_date, {NEXT_TS} + to_seconds(CAST(hash(order_id * 1000 + 31) % 86400 AS BIGINT)),
  customer_id, product_id, quantity, 0, 'adjusted'
FROM orders WHERE version = 1 AND hash(order_id * 1000 + 32) % 1000000 < {ppm};
CHECKPOINT;
"""


# The models. `{w}` is where an incremental filter goes (empty for a full build). The same query defines the model
# for every engine; `ext` holds the incremental_create options chosen for the extension.
MODELS = {
    "daily_revenue": {
        "scenario": "1 daily revenue (COUNT DISTINCT, 14-day window)",
        "query": "SELECT order_date, COUNT(*) AS events, COUNT(DISTINCT order_id) AS orders, "
                 "COUNT(DISTINCT customer_id) AS customers, SUM(amount) AS revenue, MAX(updated_at) AS updated_at "
                 "FROM orders {w} GROUP BY order_date",
        "ext": "unique_key := 'order_date', sources := {'orders': 'updated_at'}",
    },
    "orders_latest": {
        "scenario": "2 dedup (latest version per order) by merge",
        # order_date is fixed per order, so partitioning by it too changes nothing; it lets DuckDB push a filter on
        # order_date below the window function, which a window on order_date (time_column) needs.
        "query": "SELECT order_id, version, order_date, updated_at, customer_id, product_id, quantity, amount, status "
                 "FROM orders {w} QUALIFY row_number() OVER (PARTITION BY order_id, order_date ORDER BY version DESC) = 1",
        "ext": "unique_key := 'order_id', sources := {'orders': 'updated_at'}",
    },
    "customer_product": {
        "scenario": "3 customer x product summary joined to the product dimension",
        "query": "SELECT o.customer_id, o.product_id, p.product_name, p.category, COUNT(*) AS events, "
                 "SUM(o.quantity) AS quantity, SUM(o.amount) AS revenue, "
                 "greatest(MAX(o.updated_at), MAX(p.updated_at)) AS updated_at "
                 "FROM orders o JOIN products p ON p.product_id = o.product_id {w} "
                 "GROUP BY o.customer_id, o.product_id, p.product_name, p.category",
        "ext": "unique_key := 'customer_id, product_id', sources := {'orders': 'updated_at', 'products': 'updated_at'}",
    },
    "refunds": {
        "scenario": "4 append-only feed (refund events)",
        "query": "SELECT order_id, version, order_date, updated_at, amount FROM orders WHERE status = 'refunded' {w}",
        "ext": "strategy := 'append', time_column := 'updated_at'",
    },
    # The sweep's model: the dedup with the time column a user would pick when changes can reach any order.
    "orders_latest_u": {
        "scenario": "5 dedup, changes anywhere in history (sweep)",
        "query": "SELECT order_id, version, order_date, updated_at, customer_id, product_id, quantity, amount, status "
                 "FROM orders {w} QUALIFY row_number() OVER (PARTITION BY order_id ORDER BY version DESC) = 1",
        "ext": "unique_key := 'order_id', sources := {'orders': 'updated_at'}",
    },
}
DAILY_MODELS = ["daily_revenue", "orders_latest", "customer_product", "refunds"]
SWEEP_MODEL = "orders_latest_u"


def query(model, where=""):
    return MODELS[model]["query"].format(w=where)


def ext_create_sql(model):
    q = query(model).replace("'", "''")
    return f"CALL incremental_create('{model}', '{q}', {MODELS[model]['ext']});"


def full_sql(model):
    return [f"CREATE OR REPLACE TABLE fullr.{model} AS {query(model)};"]


def hand_sql(model):
    """Hand-written minimal incremental SQL: reads only rows that arrived after the last run (hand.state)."""
    ts, t = "getvariable('ts')", f"hand.{model}"
    s = [f"BEGIN;", f"SET VARIABLE ts = (SELECT ts FROM hand.state WHERE model = '{model}');"]
    if model == "daily_revenue":
        s += [f"SET VARIABLE lo = (SELECT min(order_date) FROM orders WHERE updated_at > {ts});",
              f"DELETE FROM {t} WHERE order_date >= getvariable('lo');",
              f"INSERT INTO {t} " + query(model, "WHERE order_date >= getvariable('lo')") + ";"]
    elif model in ("orders_latest", "orders_latest_u"):
        src = query(model, f"WHERE updated_at > {ts}")
        s += [f"MERGE INTO {t} USING ({src}) s ON {t}.order_id = s.order_id "
              f"WHEN MATCHED AND s.version > {t}.version THEN UPDATE WHEN NOT MATCHED THEN INSERT;"]
    elif model == "customer_product":
        s += [f"CREATE TEMP TABLE k AS SELECT DISTINCT customer_id, product_id FROM orders WHERE updated_at > {ts} "
              f"UNION SELECT customer_id, product_id FROM {t} WHERE product_id IN "
              f"(SELECT product_id FROM products WHERE updated_at > {ts});",
              f"DELETE FROM {t} USING k WHERE {t}.customer_id = k.customer_id AND {t}.product_id = k.product_id;",
              f"INSERT INTO {t} " + query(model).replace(
                  "FROM orders o JOIN", "FROM orders o SEMI JOIN k ON k.customer_id = o.customer_id "
                  "AND k.product_id = o.product_id JOIN") + ";"]
    elif model == "refunds":
        s += [f"INSERT INTO {t} {query(model, f'AND updated_at > {ts}')};"]
    s += [f"UPDATE hand.state SET ts = greatest(ts, coalesce((SELECT max(updated_at) FROM orders WHERE updated_at > {ts}), ts), "
          f"(SELECT max(updated_at) FROM products)) WHERE model = '{model}';", "COMMIT;"]
    return s
