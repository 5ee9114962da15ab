-- The README's demo: 90 days of store orders, a staging model and a daily revenue model, then a new day with
-- late rows and corrected orders. Run with `make demo` (the CLI, on the file build/demo.duckdb).
.bail on
.mode box
LOAD 'build/release/incremental.duckdb_extension';

.print '== 90 days of store orders (one row per order version)'
CREATE TABLE raw_orders AS
SELECT i AS order_id,
       DATE '2024-01-01' + (i // 200)::INT AS order_date,
       1 + (i * 7919) % 1000 AS customer_id,
       CAST(5 + (i * 31) % 200 + 0.99 AS DECIMAL(12, 2)) AS revenue,
       (DATE '2024-01-01' + (i // 200)::INT) + INTERVAL 9 HOUR + to_minutes((i % 480)::BIGINT) AS updated_at
FROM range(90 * 200) t(i);
SELECT count(*) AS orders, min(order_date) AS first_day, max(order_date) AS last_day FROM raw_orders;

.print '== define the models'
SELECT name, strategy, strategy_reason
FROM incremental_create('stg_orders',
  'SELECT order_id, order_date, customer_id, revenue, updated_at FROM raw_orders
   QUALIFY row_number() OVER (PARTITION BY order_id ORDER BY updated_at DESC) = 1',
  unique_key := 'order_id', time_column := 'updated_at', lookback := INTERVAL '1 hour');
.print '== a model reading a model: no filter and no lookback, it reads the rows stg_orders changes'
SELECT name, strategy, strategy_reason
FROM incremental_create('daily_revenue',
  'SELECT order_date, SUM(revenue) AS revenue, COUNT(DISTINCT order_id) AS orders FROM stg_orders GROUP BY order_date',
  unique_key := 'order_date');

.print '== the first refresh builds both tables in full, in dependency order'
SELECT model, mode, rows_inserted, reason FROM incremental_refresh_all();

.print '== refresh again with nothing new: nothing changes'
CALL incremental_refresh('stg_orders');
CALL incremental_refresh('daily_revenue');

.print '== next day: 200 new orders, 30 late orders for the last 10 days, 25 corrected orders'
INSERT INTO raw_orders
SELECT 100000 + i, DATE '2024-03-31', 1 + i % 1000, CAST(20 + i % 50 AS DECIMAL(12, 2)),
       TIMESTAMP '2024-03-31 09:00:00' + to_minutes(i::BIGINT)
FROM range(200) t(i);
INSERT INTO raw_orders
SELECT 200000 + i, DATE '2024-03-21' + (i % 10)::INT, 1 + i % 1000, CAST(42.5 AS DECIMAL(12, 2)),
       TIMESTAMP '2024-03-31 12:00:00' + to_minutes(i::BIGINT)
FROM range(30) t(i);
INSERT INTO raw_orders
SELECT order_id, order_date, customer_id, revenue + 10, TIMESTAMP '2024-03-31 13:00:00'
FROM raw_orders WHERE order_date = DATE '2024-03-25' AND order_id % 8 = 0;

CALL incremental_refresh('stg_orders');
CALL incremental_refresh('daily_revenue');

.print '== is each table equal to a full recomputation of its query?'
CALL incremental_verify('stg_orders');
CALL incremental_verify('daily_revenue');

.print '== the run history'
SELECT model, mode, rows_inserted AS ins, rows_updated AS upd, rows_deleted AS del, watermark_before,
       watermark_after, round(elapsed_ms, 1) AS ms
FROM incremental_history();

.print '== what the next refresh of daily_revenue will run'
SELECT step, kind, sql FROM incremental_explain('daily_revenue') WHERE kind <> 'run' OR step = 1;
