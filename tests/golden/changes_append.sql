-- mode: incremental
-- strategy: append
-- reason: strategy 'append' requested; re-reads rows with day >= watermark 2024-03-10 minus lookback 3 days; records the rows it changes for the 1 model(s) reading its changes

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
CREATE TEMP TABLE "temp"."main"."__incremental_log" AS SELECT "order_id", "day", "amount", CAST(NULL AS TINYINT) AS "__incremental_diff" FROM "temp"."main"."__incremental_new" LIMIT 0;

-- step 5 (run)
CREATE TEMP TABLE "temp"."main"."__incremental_changes" AS SELECT n.* FROM "temp"."main"."__incremental_new" AS n WHERE NOT EXISTS (SELECT 1 FROM "shop"."main"."stg_orders" AS t WHERE n."order_id" IS NOT DISTINCT FROM t."order_id");

-- step 6 (run)
INSERT INTO "temp"."main"."__incremental_log" SELECT "order_id", "day", "amount", 1 FROM (SELECT * FROM "temp"."main"."__incremental_changes") AS r;

-- step 7 (insert)
INSERT INTO "shop"."main"."stg_orders" ("order_id", "day", "amount") SELECT "order_id", "day", "amount" FROM "temp"."main"."__incremental_changes";

-- step 8 (watermark)
SELECT CAST(greatest(CAST('2024-03-10' AS DATE), CAST(max("day") AS DATE)) AS VARCHAR) FROM "temp"."main"."__incremental_changes";

-- step 9 (run)
DROP TABLE "temp"."main"."__incremental_changes";

-- step 10 (run)
DROP TABLE "temp"."main"."__incremental_new";

-- step 11 (run)
CREATE TEMP TABLE "temp"."main"."__incremental_net" AS SELECT "order_id", "day", "amount", CAST(sign("__incremental_n") AS TINYINT) AS "__incremental_diff" FROM (SELECT "order_id", "day", "amount", "__incremental_n", unnest(range(abs("__incremental_n"))) FROM (SELECT "order_id", "day", "amount", CAST(sum("__incremental_diff") AS BIGINT) AS "__incremental_n" FROM "temp"."main"."__incremental_log" GROUP BY ALL) AS g WHERE "__incremental_n" <> 0) AS u;

-- step 12 (run)
INSERT INTO "shop"."_incremental"."changes of ""main"".""stg_orders"" for ""main"".""daily""" SELECT * FROM "temp"."main"."__incremental_net";

-- step 13 (run)
DROP TABLE "temp"."main"."__incremental_log";

-- step 14 (run)
DROP TABLE "temp"."main"."__incremental_net";
