-- mode: incremental
-- strategy: delete+insert
-- reason: strategy 'delete+insert' requested; re-reads rows with day >= watermark 2024-03-10 minus lookback 3 days (not before start 2024-01-01)

-- share of the table is in the window (over incremental_full_fraction: the full rebuild instead)
SELECT CASE WHEN n < 100000 THEN 0 ELSE CAST(w AS DOUBLE) / n END FROM (SELECT count(*) AS w FROM "shop"."main"."stg_orders" AS t WHERE t."day" >= greatest(CAST('2024-01-01' AS DATE), CAST(CAST('2024-03-10' AS DATE) - CAST('3 days' AS INTERVAL) AS DATE))), (SELECT count(*) AS n FROM "shop"."main"."stg_orders");

-- step 1 (run)
CREATE TEMP TABLE "temp"."main"."__incremental_new" AS SELECT q.* FROM (
SELECT order_id, day, amount FROM orders
) AS q WHERE q."day" >= greatest(CAST('2024-01-01' AS DATE), CAST(CAST('2024-03-10' AS DATE) - CAST('3 days' AS INTERVAL) AS DATE));

-- step 2 (check)
SELECT CAST(count(*) AS VARCHAR) FROM (
SELECT order_id, day, amount FROM orders
) AS q WHERE q."day" IS NULL HAVING count(*) > 0;

-- step 3 (count inserted)
SELECT count(*) FROM (SELECT "order_id", "day", "amount" FROM "temp"."main"."__incremental_new" EXCEPT ALL SELECT "order_id", "day", "amount" FROM "shop"."main"."stg_orders" AS t WHERE t."day" >= greatest(CAST('2024-01-01' AS DATE), CAST(CAST('2024-03-10' AS DATE) - CAST('3 days' AS INTERVAL) AS DATE)));

-- step 4 (count deleted)
SELECT count(*) FROM (SELECT "order_id", "day", "amount" FROM "shop"."main"."stg_orders" AS t WHERE t."day" >= greatest(CAST('2024-01-01' AS DATE), CAST(CAST('2024-03-10' AS DATE) - CAST('3 days' AS INTERVAL) AS DATE)) EXCEPT ALL SELECT "order_id", "day", "amount" FROM "temp"."main"."__incremental_new");

-- step 5 (run)
DELETE FROM "shop"."main"."stg_orders" AS t WHERE t."day" >= greatest(CAST('2024-01-01' AS DATE), CAST(CAST('2024-03-10' AS DATE) - CAST('3 days' AS INTERVAL) AS DATE));

-- step 6 (run)
INSERT INTO "shop"."main"."stg_orders" ("order_id", "day", "amount") SELECT "order_id", "day", "amount" FROM "temp"."main"."__incremental_new";

-- step 7 (watermark)
SELECT CAST(greatest(CAST('2024-03-10' AS DATE), CAST(max("day") AS DATE)) AS VARCHAR) FROM "temp"."main"."__incremental_new";

-- step 8 (run)
DROP TABLE "temp"."main"."__incremental_new";
