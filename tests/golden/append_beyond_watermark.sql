-- mode: incremental
-- strategy: append
-- reason: strategy 'append' requested; re-reads rows with day > watermark 2024-03-10

-- probe (false: no-op)
SELECT EXISTS (SELECT 1 FROM (
SELECT order_id, day, amount FROM orders
) AS q WHERE q."day" > CAST('2024-03-10' AS DATE)) OR EXISTS (SELECT 1 FROM (
SELECT order_id, day, amount FROM orders
) AS q WHERE q."day" IS NULL);

-- step 1 (run)
CREATE TEMP TABLE "temp"."main"."__incremental_new" AS SELECT q.* FROM (
SELECT order_id, day, amount FROM orders
) AS q WHERE q."day" > CAST('2024-03-10' AS DATE);

-- step 2 (check)
SELECT CAST(count(*) AS VARCHAR) FROM (
SELECT order_id, day, amount FROM orders
) AS q WHERE q."day" IS NULL HAVING count(*) > 0;

-- step 3 (insert)
INSERT INTO "shop"."main"."stg_orders" ("order_id", "day", "amount") SELECT "order_id", "day", "amount" FROM "temp"."main"."__incremental_new";

-- step 4 (watermark)
SELECT CAST(greatest(CAST('2024-03-10' AS DATE), CAST(max("day") AS DATE)) AS VARCHAR) FROM "temp"."main"."__incremental_new";

-- step 5 (run)
DROP TABLE "temp"."main"."__incremental_new";
