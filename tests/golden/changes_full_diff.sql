-- mode: full
-- strategy: merge
-- reason: full_refresh := true was requested; records the rows it changes for the 1 model(s) reading its changes

-- step 1 (run)
CREATE TABLE "shop"."main"."__incremental_rebuild of stg_orders" AS SELECT q.* FROM (
SELECT order_id, day, amount FROM orders
) AS q;

-- step 2 (check)
SELECT CAST(count(*) AS VARCHAR) FROM "shop"."main"."__incremental_rebuild of stg_orders" WHERE "day" IS NULL HAVING count(*) > 0;

-- step 3 (check)
SELECT 'order_id' || ' = ' || coalesce(CAST("order_id" AS VARCHAR), 'NULL') || ' (' || count(*) || ' rows)' FROM "shop"."main"."__incremental_rebuild of stg_orders" GROUP BY "order_id" HAVING count(*) > 1 LIMIT 1;

-- step 4 (run)
CREATE TEMP TABLE "temp"."main"."__incremental_counted" AS SELECT count(*) FILTER (WHERE t."__incremental_present" IS NULL) AS "inserted", count(*) FILTER (WHERE n."__incremental_present" AND t."__incremental_present" AND ROW(n."day", n."amount") IS DISTINCT FROM ROW(t."day", t."amount")) AS "updated", count(*) FILTER (WHERE n."__incremental_present" IS NULL) AS "deleted" FROM (SELECT *, TRUE AS "__incremental_present" FROM "shop"."main"."__incremental_rebuild of stg_orders") AS n FULL JOIN (SELECT *, TRUE AS "__incremental_present" FROM "shop"."main"."stg_orders") AS t ON n."order_id" IS NOT DISTINCT FROM t."order_id";

-- step 5 (count inserted)
SELECT "inserted" FROM "temp"."main"."__incremental_counted";

-- step 6 (count updated)
SELECT "updated" FROM "temp"."main"."__incremental_counted";

-- step 7 (count deleted)
SELECT "deleted" FROM "temp"."main"."__incremental_counted";

-- step 8 (run)
DROP TABLE "temp"."main"."__incremental_counted";

-- step 9 (run)
CREATE TEMP TABLE "temp"."main"."__incremental_log" AS SELECT "order_id", "day", "amount", CAST(NULL AS TINYINT) AS "__incremental_diff" FROM "shop"."main"."__incremental_rebuild of stg_orders" LIMIT 0;

-- step 10 (run)
INSERT INTO "temp"."main"."__incremental_log" SELECT "order_id", "day", "amount", -1 FROM (SELECT "order_id", "day", "amount" FROM "shop"."main"."stg_orders" EXCEPT ALL SELECT "order_id", "day", "amount" FROM "shop"."main"."__incremental_rebuild of stg_orders") AS r;

-- step 11 (run)
INSERT INTO "temp"."main"."__incremental_log" SELECT "order_id", "day", "amount", 1 FROM (SELECT "order_id", "day", "amount" FROM "shop"."main"."__incremental_rebuild of stg_orders" EXCEPT ALL SELECT "order_id", "day", "amount" FROM "shop"."main"."stg_orders") AS r;

-- step 12 (run)
DROP TABLE "shop"."main"."stg_orders";

-- step 13 (run)
ALTER TABLE "shop"."main"."__incremental_rebuild of stg_orders" RENAME TO "stg_orders";

-- step 14 (run)
COMMENT ON TABLE "shop"."main"."stg_orders" IS 'incremental model stg_orders: built and refreshed by the incremental extension';

-- step 15 (watermark)
SELECT CAST(CAST(max("day") AS DATE) AS VARCHAR) FROM "shop"."main"."stg_orders";

-- step 16 (run)
CREATE TEMP TABLE "temp"."main"."__incremental_net" AS SELECT "order_id", "day", "amount", CAST(sign("__incremental_n") AS TINYINT) AS "__incremental_diff" FROM (SELECT "order_id", "day", "amount", "__incremental_n", unnest(range(abs("__incremental_n"))) FROM (SELECT "order_id", "day", "amount", CAST(sum("__incremental_diff") AS BIGINT) AS "__incremental_n" FROM "temp"."main"."__incremental_log" GROUP BY ALL) AS g WHERE "__incremental_n" <> 0) AS u;

-- step 17 (run)
INSERT INTO "shop"."_incremental"."changes of ""main"".""stg_orders"" for ""main"".""daily""" SELECT * FROM "temp"."main"."__incremental_net";

-- step 18 (run)
DROP TABLE "temp"."main"."__incremental_log";

-- step 19 (run)
DROP TABLE "temp"."main"."__incremental_net";
