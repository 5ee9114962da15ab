-- mode: full
-- strategy: merge
-- reason: full_refresh := true was requested; records the rows it changes for the 1 model(s) reading its changes

-- step 1 (run)
CREATE TEMP TABLE "temp"."main"."__incremental_new" AS SELECT q.* FROM (
SELECT order_id, day, amount FROM orders
) AS q;

-- step 2 (check)
SELECT CAST(count(*) AS VARCHAR) FROM "temp"."main"."__incremental_new" WHERE "day" IS NULL HAVING count(*) > 0;

-- step 3 (check)
SELECT 'order_id' || ' = ' || coalesce(CAST("order_id" AS VARCHAR), 'NULL') || ' (' || count(*) || ' rows)' FROM "temp"."main"."__incremental_new" GROUP BY "order_id" HAVING count(*) > 1 LIMIT 1;

-- step 4 (count inserted)
SELECT count(*) FROM "temp"."main"."__incremental_new" AS n WHERE NOT EXISTS (SELECT 1 FROM "shop"."main"."stg_orders" AS t WHERE n."order_id" IS NOT DISTINCT FROM t."order_id");

-- step 5 (count updated)
SELECT count(*) FROM "temp"."main"."__incremental_new" AS n JOIN "shop"."main"."stg_orders" AS t ON n."order_id" IS NOT DISTINCT FROM t."order_id" WHERE ROW(n."day", n."amount") IS DISTINCT FROM ROW(t."day", t."amount");

-- step 6 (count deleted)
SELECT count(*) FROM "shop"."main"."stg_orders" AS t WHERE TRUE AND NOT EXISTS (SELECT 1 FROM "temp"."main"."__incremental_new" AS n WHERE n."order_id" IS NOT DISTINCT FROM t."order_id");

-- step 7 (run)
CREATE TEMP TABLE "temp"."main"."__incremental_log" AS SELECT "order_id", "day", "amount", CAST(NULL AS TINYINT) AS "__incremental_diff" FROM "temp"."main"."__incremental_new" LIMIT 0;

-- step 8 (run)
INSERT INTO "temp"."main"."__incremental_log" SELECT "order_id", "day", "amount", -1 FROM (SELECT "order_id", "day", "amount" FROM "shop"."main"."stg_orders" EXCEPT ALL SELECT "order_id", "day", "amount" FROM "temp"."main"."__incremental_new") AS r;

-- step 9 (run)
INSERT INTO "temp"."main"."__incremental_log" SELECT "order_id", "day", "amount", 1 FROM (SELECT "order_id", "day", "amount" FROM "temp"."main"."__incremental_new" EXCEPT ALL SELECT "order_id", "day", "amount" FROM "shop"."main"."stg_orders") AS r;

-- step 10 (run)
CREATE OR REPLACE TABLE "shop"."main"."stg_orders" AS SELECT * FROM "temp"."main"."__incremental_new";

-- step 11 (run)
COMMENT ON TABLE "shop"."main"."stg_orders" IS 'incremental model stg_orders: built and refreshed by the incremental extension';

-- step 12 (watermark)
SELECT CAST(CAST(max("day") AS DATE) AS VARCHAR) FROM "shop"."main"."stg_orders";

-- step 13 (run)
DROP TABLE "temp"."main"."__incremental_new";

-- step 14 (run)
CREATE TEMP TABLE "temp"."main"."__incremental_net" AS SELECT "order_id", "day", "amount", CAST(sign("__incremental_n") AS TINYINT) AS "__incremental_diff" FROM (SELECT "order_id", "day", "amount", "__incremental_n", unnest(range(abs("__incremental_n"))) FROM (SELECT "order_id", "day", "amount", CAST(sum("__incremental_diff") AS BIGINT) AS "__incremental_n" FROM "temp"."main"."__incremental_log" GROUP BY ALL) AS g WHERE "__incremental_n" <> 0) AS u;

-- step 15 (run)
INSERT INTO "shop"."_incremental"."changes of ""main"".""stg_orders"" for ""main"".""daily""" SELECT * FROM "temp"."main"."__incremental_net";

-- step 16 (run)
DROP TABLE "temp"."main"."__incremental_log";

-- step 17 (run)
DROP TABLE "temp"."main"."__incremental_net";
