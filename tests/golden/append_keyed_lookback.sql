-- mode: incremental
-- strategy: append
-- reason: strategy 'append' requested; re-reads rows with day >= watermark 2024-03-10 minus lookback 3 days

-- step 1 (run)
CREATE TEMP TABLE "temp"."main"."__incremental_new" AS SELECT q.* FROM (
SELECT order_id, day, amount FROM orders
) AS q WHERE q."day" >= CAST(CAST('2024-03-10' AS DATE) - CAST('3 days' AS INTERVAL) AS DATE);

-- step 2 (check)
SELECT CAST(count(*) AS VARCHAR) FROM (
SELECT order_id, day, amount FROM orders
) AS q WHERE q."day" IS NULL HAVING count(*) > 0;

-- step 3 (check)
SELECT 'order_id' || ' = ' || coalesce(CAST("order_id" AS VARCHAR), 'NULL') || ' (' || count(*) || ' rows)' FROM "temp"."main"."__incremental_new" GROUP BY "order_id" HAVING count(*) > 1 LIMIT 1;

-- step 4 (run)
CREATE TEMP TABLE "temp"."main"."__incremental_changes" AS SELECT n.* FROM "temp"."main"."__incremental_new" AS n WHERE NOT EXISTS (SELECT 1 FROM "shop"."main"."stg_orders" AS t WHERE n."order_id" IS NOT DISTINCT FROM t."order_id");

-- step 5 (insert)
INSERT INTO "shop"."main"."stg_orders" ("order_id", "day", "amount") SELECT "order_id", "day", "amount" FROM "temp"."main"."__incremental_changes";

-- step 6 (watermark)
SELECT CAST(greatest(CAST('2024-03-10' AS DATE), CAST(max("day") AS DATE)) AS VARCHAR) FROM "temp"."main"."__incremental_changes";

-- step 7 (run)
DROP TABLE "temp"."main"."__incremental_changes";

-- step 8 (run)
DROP TABLE "temp"."main"."__incremental_new";
